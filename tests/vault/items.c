/* vault_item_*: add, update (history), get, delete (tombstones), list, search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "vtest.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
#define ID_C "00000000000000000000000000000001"

static void expect_item(const vault *v, const char *id, const char *expected)
{
    char *json = vt_get(v, id);
    assert_string_equal(json, expected);
    vault_free(json);
}

static void test_vault_items__add_assigns_random_id_and_defaults(void **state)
{
    (void)state;
    vault *v = vt_new();
    const char *id = vt_add(v, "{\"type\":\"note\",\"title\":\"Shopping\"}");
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    char expected[512];
    snprintf(expected, sizeof expected,
             "{\"id\":\"%s\",\"type\":\"note\",\"title\":\"Shopping\",\"fields\":[],"
             "\"tags\":[],\"created\":1700000000000,\"updated\":1700000000000,\"rev\":1,"
             "\"deleted\":false,\"trashed\":0,\"history\":[]}",
             id);
    expect_item(v, id, expected);
    const char *id2 = vt_add(v, "{\"type\":\"note\",\"title\":\"Shopping\"}");
    assert_string_not_equal(id, id2);
    uint64_t n = 0;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    assert_int_equal(n, 2);
    vault_close(v);
}

static void test_vault_items__add_keeps_id_and_canonical_order(void **state)
{
    (void)state;
    vault *v = vt_new();
    /* Library-kept members in the input are ignored; field members reordered. */
    const char *id = vt_add(v, "{\"tags\":[\"work\"],\"fields\":[{\"hidden\":true,"
                               "\"value\":\"s3cret\",\"name\":\"password\"}],"
                               "\"rev\":99,\"created\":5,\"deleted\":true,\"history\":7,"
                               "\"title\":\"GitHub\",\"id\":\"" ID_A "\",\"type\":\"login\"}");
    assert_string_equal(id, ID_A);
    expect_item(v, ID_A,
                "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"GitHub\",\"fields\":["
                "{\"name\":\"password\",\"value\":\"s3cret\",\"hidden\":true}],"
                "\"tags\":[\"work\"],\"created\":1700000000000,\"updated\":1700000000000,"
                "\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[]}");
    /* id_out may be NULL. */
    assert_int_equal(vault_item_add(v, "{\"type\":\"x\",\"title\":\"\"}", NULL), VAULT_OK);
    vault_close(v);
}

static void test_vault_items__add_rejects_existing_id(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"a\"}");
    char *id = (char *)1;
    vt_expect(vault_item_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"b\"}", &id),
              VAULT_E_EXISTS, "already exists");
    assert_null(id);
    /* A tombstone still owns its id. */
    assert_int_equal(vault_item_delete(v, ID_A), VAULT_OK);
    vt_expect(vault_item_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"b\"}", NULL),
              VAULT_E_EXISTS, NULL);
    vault_close(v);
}

typedef struct bad_case {
    const char *json;
    int code;
    const char *message;
} bad_case;

static char *fields_json(size_t n)
{
    size_t cap = 64 + n * 64;
    char *s = malloc(cap);
    size_t at = (size_t)snprintf(s, cap, "{\"type\":\"login\",\"title\":\"t\",\"fields\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%s{\"name\":\"f%zu\",\"value\":\"\",\"hidden\":false}",
                               i ? "," : "", i);
    snprintf(s + at, cap - at, "]}");
    return s;
}

static char *tags_json(size_t n)
{
    size_t cap = 64 + n * 16;
    char *s = malloc(cap);
    size_t at = (size_t)snprintf(s, cap, "{\"type\":\"login\",\"title\":\"t\",\"tags\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%s\"t%zu\"", i ? "," : "", i);
    snprintf(s + at, cap - at, "]}");
    return s;
}

/* template with its one "%s" replaced by n times 'x'. */
static char *sized_json(const char *template, size_t n)
{
    const char *hole = strstr(template, "%s");
    size_t head = (size_t)(hole - template), tail = strlen(hole + 2);
    char *s = malloc(head + n + tail + 1);
    memcpy(s, template, head);
    memset(s + head, 'x', n);
    memcpy(s + head + n, hole + 2, tail + 1);
    return s;
}

static void expect_add(vault *v, const char *json, int code, const char *message)
{
    vt_expect(vault_item_add(v, json, NULL), code, message);
}

static void test_vault_items__add_rejects_bad_input(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"", VAULT_E_INVALID, "malformed JSON"},
        {"{\"type\":\"login\",", VAULT_E_INVALID, "malformed JSON"},
        {"[1]", VAULT_E_INVALID, "must be a JSON object"},
        {"{\"type\":\"login\",\"title\":\"t\"} x", VAULT_E_INVALID, "trailing data"},
        {"{\"title\":\"t\"}", VAULT_E_INVALID, "missing member \"type\""},
        {"{\"type\":\"login\"}", VAULT_E_INVALID, "missing member \"title\""},
        {"{\"type\":\"login\",\"title\":\"t\",\"colour\":1}", VAULT_E_INVALID,
         "unknown member \"colour\""},
        {"{\"type\":\"login\",\"title\":\"t\",\"title\":\"u\"}", VAULT_E_INVALID,
         "duplicate member \"title\""},
        {"{\"type\":\"Login\",\"title\":\"t\"}", VAULT_E_INVALID, "[a-z0-9_.-]"},
        {"{\"type\":\"a b\",\"title\":\"t\"}", VAULT_E_INVALID, "[a-z0-9_.-]"},
        {"{\"type\":\"\",\"title\":\"t\"}", VAULT_E_INVALID, "1..64"},
        {"{\"type\":7,\"title\":\"t\"}", VAULT_E_INVALID, "\"type\" must be a string"},
        {"{\"type\":\"login\",\"title\":null}", VAULT_E_INVALID, "\"title\" must be a string"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":{}}", VAULT_E_INVALID,
         "\"fields\" must be an array"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[1]}", VAULT_E_INVALID,
         "field 0: must be a JSON object"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"a\",\"value\":\"b\"}]}",
         VAULT_E_INVALID, "field 0: missing member \"hidden\""},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"a\",\"value\":\"b\","
         "\"hidden\":false,\"x\":1}]}", VAULT_E_INVALID, "field 0: unknown member \"x\""},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"a\",\"value\":\"b\","
         "\"hidden\":0}]}", VAULT_E_INVALID, "\"hidden\" must be true or false"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"a\",\"value\":1,"
         "\"hidden\":false}]}", VAULT_E_INVALID, "\"value\" must be a string"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"\",\"value\":\"\","
         "\"hidden\":false}]}", VAULT_E_INVALID, "\"name\" must not be empty"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"a\",\"value\":\"1\","
         "\"hidden\":false},{\"name\":\"a\",\"value\":\"2\",\"hidden\":true}]}",
         VAULT_E_INVALID, "duplicate field name"},
        {"{\"type\":\"login\",\"title\":\"t\",\"tags\":\"work\"}", VAULT_E_INVALID,
         "\"tags\" must be an array"},
        {"{\"type\":\"login\",\"title\":\"t\",\"tags\":[1]}", VAULT_E_INVALID,
         "\"tags\" must be a string"},
        {"{\"type\":\"login\",\"title\":\"t\",\"tags\":[\"\"]}", VAULT_E_INVALID,
         "must not be empty"},
        {"{\"type\":\"login\",\"title\":\"t\",\"tags\":[\"a\",\"a\"]}", VAULT_E_INVALID,
         "duplicate tag"},
        {"{\"type\":\"login\",\"title\":\"\xff\"}", VAULT_E_INVALID, "\"title\" is not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"\xc0\xaf\"}", VAULT_E_INVALID, "not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"\xed\xa0\x80\"}", VAULT_E_INVALID, "not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"\xf4\x90\x80\x80\"}", VAULT_E_INVALID, "not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"\xe2\x82\"}", VAULT_E_INVALID, "not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"t\",\"tags\":[\"\x80\"]}", VAULT_E_INVALID,
         "not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"\xfe\",\"value\":\"\","
         "\"hidden\":false}]}", VAULT_E_INVALID, "\"name\" is not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"n\",\"value\":\"\xc3\","
         "\"hidden\":false}]}", VAULT_E_INVALID, "\"value\" is not valid UTF-8"},
        {"{\"type\":\"login\",\"title\":\"\\ud800\"}", VAULT_E_INVALID, "malformed JSON"},
        {"{\"id\":\"0123456789ABCDEF0123456789abcdef\",\"type\":\"login\",\"title\":\"t\"}",
         VAULT_E_INVALID, "\"id\" must be 32 lowercase hex"},
        {"{\"id\":\"0123\",\"type\":\"login\",\"title\":\"t\"}", VAULT_E_INVALID, "\"id\""},
        {"{\"id\":7,\"type\":\"login\",\"title\":\"t\"}", VAULT_E_INVALID, "\"id\""},
    };
    vault *v = vt_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_add(v, cases[i].json, cases[i].code, cases[i].message);
    uint64_t n = 1;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    assert_int_equal(n, 0);
    /* Valid multi-byte UTF-8 and escapes pass. */
    vt_add(v, "{\"type\":\"a-b.c_9\",\"title\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \\u00e9\"}");
    vt_expect(vault_item_add(NULL, "{}", NULL), VAULT_E_INVALID, "NULL");
    vt_expect(vault_item_add(v, NULL, NULL), VAULT_E_INVALID, "NULL");
    vault_close(v);
}

static void test_vault_items__add_enforces_size_limits(void **state)
{
    (void)state;
    vault *v = vt_new();
    char *s;
    s = sized_json("{\"type\":\"login\",\"title\":\"%s\"}", 1024);
    vt_add(v, s);
    free(s);
    s = sized_json("{\"type\":\"login\",\"title\":\"%s\"}", 1025);
    expect_add(v, s, VAULT_E_LIMIT, "\"title\" is longer than 1024 bytes");
    free(s);
    s = sized_json("{\"type\":\"%s\",\"title\":\"t\"}", 64);
    vt_add(v, s);
    free(s);
    s = sized_json("{\"type\":\"%s\",\"title\":\"t\"}", 65);
    expect_add(v, s, VAULT_E_INVALID, "1..64");
    free(s);
    const char *fname = "{\"type\":\"l\",\"title\":\"t\",\"fields\":[{\"name\":\"%s\",\"value\":\"\",\"hidden\":false}]}";
    s = sized_json(fname, 256);
    vt_add(v, s);
    free(s);
    s = sized_json(fname, 257);
    expect_add(v, s, VAULT_E_LIMIT, "\"name\" is longer than 256 bytes");
    free(s);
    const char *fvalue = "{\"type\":\"l\",\"title\":\"t\",\"fields\":[{\"name\":\"n\",\"value\":\"%s\",\"hidden\":true}]}";
    s = sized_json(fvalue, 65536);
    vt_add(v, s);
    free(s);
    s = sized_json(fvalue, 65537);
    expect_add(v, s, VAULT_E_LIMIT, "\"value\" is longer than 65536 bytes");
    free(s);
    s = sized_json("{\"type\":\"l\",\"title\":\"t\",\"tags\":[\"%s\"]}", 128);
    vt_add(v, s);
    free(s);
    s = sized_json("{\"type\":\"l\",\"title\":\"t\",\"tags\":[\"%s\"]}", 129);
    expect_add(v, s, VAULT_E_LIMIT, "\"tags\" is longer than 128 bytes");
    free(s);
    s = fields_json(256);
    vt_add(v, s);
    free(s);
    s = fields_json(257);
    expect_add(v, s, VAULT_E_LIMIT, "more than 256 entries in \"fields\"");
    free(s);
    s = tags_json(64);
    vt_add(v, s);
    free(s);
    s = tags_json(65);
    expect_add(v, s, VAULT_E_LIMIT, "more than 64 entries in \"tags\"");
    free(s);
    uint64_t n = 0;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    assert_int_equal(n, 7);
    vault_close(v);
}

static void test_vault_items__add_refuses_item_100001(void **state)
{
    (void)state;
    /* Building the full vault through JSON is much faster than 100000 adds. */
    size_t n = 100000, per = 200, cap = n * per + 64, at = 0;
    char *json = malloc(cap);
    at += (size_t)snprintf(json + at, cap - at, "{\"format\":2,\"items\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(json + at, cap - at,
                               "%s{\"id\":\"%032zx\",\"type\":\"note\",\"title\":\"n\","
                               "\"fields\":[],\"tags\":[],\"created\":1,\"updated\":1,"
                               "\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[]}",
                               i ? "," : "", i);
    at += (size_t)snprintf(json + at, cap - at, "],\"devices\":[]}");
    vault *v = NULL;
    assert_int_equal(vault_from_json(&v, json, at), VAULT_OK);
    free(json);
    uint64_t count = 0;
    assert_int_equal(vault_item_count(v, &count), VAULT_OK);
    assert_int_equal(count, 100000);
    expect_add(v, "{\"type\":\"note\",\"title\":\"one too many\"}", VAULT_E_LIMIT,
               "already holds 100000 items");
    /* Deleting one frees a place. */
    assert_int_equal(vault_item_delete(v, "00000000000000000000000000000007"), VAULT_OK);
    vt_add(v, "{\"type\":\"note\",\"title\":\"fits again\"}");
    vault_close(v);
}

static void test_vault_items__update_replaces_content(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"Old\",\"tags\":[\"a\"],"
              "\"fields\":[{\"name\":\"user\",\"value\":\"ada\",\"hidden\":false}]}");
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_update(v, ID_A,
                                       "{\"type\":\"note\",\"title\":\"New\","
                                       "\"fields\":[{\"name\":\"user\",\"value\":\"bob\","
                                       "\"hidden\":false}]}"),
                     VAULT_OK);
    /* Non-hidden change: no history. Omitted tags become empty. */
    expect_item(v, ID_A,
                "{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"New\",\"fields\":["
                "{\"name\":\"user\",\"value\":\"bob\",\"hidden\":false}],\"tags\":[],"
                "\"created\":1700000000000,\"updated\":1700000001000,\"rev\":2,"
                "\"deleted\":false,\"trashed\":0,\"history\":[]}");
    /* The clock going back never makes "updated" go back; the same id in the
     * input is accepted. */
    vault__set_clock_for_tests(T0);
    assert_int_equal(vault_item_update(v, ID_A, "{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"N\"}"),
                     VAULT_OK);
    expect_item(v, ID_A,
                "{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"N\",\"fields\":[],"
                "\"tags\":[],\"created\":1700000000000,\"updated\":1700000001000,\"rev\":3,"
                "\"deleted\":false,\"trashed\":0,\"history\":[]}");
    vault_close(v);
}

static void test_vault_items__replacing_keeps_the_items_array_intact(void **state)
{
    (void)state;
    /* Replace the first, the middle and the last item, then append: the
     * array (a linked list with a tail pointer) must stay whole. */
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"a\",\"title\":\"1\"}");
    vt_add(v, "{\"id\":\"" ID_B "\",\"type\":\"a\",\"title\":\"2\"}");
    vt_add(v, "{\"id\":\"" ID_C "\",\"type\":\"a\",\"title\":\"3\"}");
    assert_int_equal(vault_item_update(v, ID_C, "{\"type\":\"b\",\"title\":\"3\"}"), VAULT_OK);
    assert_int_equal(vault_item_update(v, ID_A, "{\"type\":\"b\",\"title\":\"1\"}"), VAULT_OK);
    assert_int_equal(vault_item_delete(v, ID_B), VAULT_OK);
    assert_int_equal(vault_item_delete(v, ID_C), VAULT_OK);
    vt_add(v, "{\"id\":\"00000000000000000000000000000009\",\"type\":\"a\",\"title\":\"4\"}");
    char *json = NULL;
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    const char *order[] = {ID_A, ID_B, ID_C, "00000000000000000000000000000009"};
    const char *p = json;
    for (size_t i = 0; i < 4; i++) {
        p = strstr(p, order[i]);
        assert_non_null(p);
    }
    vault *w = NULL;
    assert_int_equal(vault_from_json(&w, json, strlen(json)), VAULT_OK);
    uint64_t n = 0;
    assert_int_equal(vault_item_count(w, &n), VAULT_OK);
    assert_int_equal(n, 2);
    vault_free(json);
    vault_close(w);
    vault_close(v);
}

static void test_vault_items__update_records_hidden_history(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"t\",\"fields\":["
              "{\"name\":\"user\",\"value\":\"ada\",\"hidden\":false},"
              "{\"name\":\"password\",\"value\":\"p0\",\"hidden\":true},"
              "{\"name\":\"pin\",\"value\":\"1234\",\"hidden\":true},"
              "{\"name\":\"otp\",\"value\":\"seed\",\"hidden\":true}]}");
    vault__set_clock_for_tests(T1);
    /* password changes, pin is removed, otp unchanged, user changes (not hidden). */
    assert_int_equal(vault_item_update(v, ID_A,
                                       "{\"type\":\"login\",\"title\":\"t\",\"fields\":["
                                       "{\"name\":\"user\",\"value\":\"bob\",\"hidden\":false},"
                                       "{\"name\":\"password\",\"value\":\"p1\",\"hidden\":true},"
                                       "{\"name\":\"otp\",\"value\":\"seed\",\"hidden\":true}]}"),
                     VAULT_OK);
    expect_item(v, ID_A,
                "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"t\",\"fields\":["
                "{\"name\":\"user\",\"value\":\"bob\",\"hidden\":false},"
                "{\"name\":\"password\",\"value\":\"p1\",\"hidden\":true},"
                "{\"name\":\"otp\",\"value\":\"seed\",\"hidden\":true}],\"tags\":[],"
                "\"created\":1700000000000,\"updated\":1700000001000,\"rev\":2,"
                "\"deleted\":false,\"trashed\":0,\"history\":["
                "{\"name\":\"password\",\"value\":\"p0\",\"changed\":1700000001000},"
                "{\"name\":\"pin\",\"value\":\"1234\",\"changed\":1700000001000}]}");
    vault_close(v);
}

static void test_vault_items__history_keeps_last_ten_per_field(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"t\",\"fields\":["
              "{\"name\":\"pin\",\"value\":\"x\",\"hidden\":true},"
              "{\"name\":\"pw\",\"value\":\"v0\",\"hidden\":true}]}");
    vault__set_clock_for_tests(T1);
    /* pin changes once; pw changes 12 times: v0..v11 go to history, the last
     * ten (v2..v11) stay, the pin entry stays. */
    assert_int_equal(vault_item_update(v, ID_A,
                                       "{\"type\":\"login\",\"title\":\"t\",\"fields\":["
                                       "{\"name\":\"pin\",\"value\":\"y\",\"hidden\":true},"
                                       "{\"name\":\"pw\",\"value\":\"v0\",\"hidden\":true}]}"),
                     VAULT_OK);
    for (int i = 1; i <= 12; i++) {
        char json[256];
        vault__set_clock_for_tests(T1 + i);
        snprintf(json, sizeof json,
                 "{\"type\":\"login\",\"title\":\"t\",\"fields\":["
                 "{\"name\":\"pin\",\"value\":\"y\",\"hidden\":true},"
                 "{\"name\":\"pw\",\"value\":\"v%d\",\"hidden\":true}]}", i);
        assert_int_equal(vault_item_update(v, ID_A, json), VAULT_OK);
    }
    char *json = vt_get(v, ID_A);
    char expected[2048];
    size_t at = (size_t)snprintf(expected, sizeof expected,
                                 "\"history\":[{\"name\":\"pin\",\"value\":\"x\",\"changed\":1700000001000}");
    for (int i = 2; i <= 11; i++)
        at += (size_t)snprintf(expected + at, sizeof expected - at,
                               ",{\"name\":\"pw\",\"value\":\"v%d\",\"changed\":%lld}", i,
                               (long long)(T1 + i + 1));
    snprintf(expected + at, sizeof expected - at, "]}");
    assert_non_null(strstr(json, expected));
    assert_non_null(strstr(json, "\"rev\":14"));
    vault_free(json);
    vault_close(v);
}

static void test_vault_items__update_failures_leave_item_unchanged(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"keep\"}");
    vt_add(v, "{\"id\":\"" ID_B "\",\"type\":\"login\",\"title\":\"gone\"}");
    assert_int_equal(vault_item_delete(v, ID_B), VAULT_OK);
    const char *ok = "{\"type\":\"login\",\"title\":\"x\"}";
    vt_expect(vault_item_update(v, ID_C, ok), VAULT_E_NOT_FOUND, "no item");
    vt_expect(vault_item_update(v, "not-an-id", ok), VAULT_E_NOT_FOUND, "no item");
    vt_expect(vault_item_update(v, ID_B, ok), VAULT_E_NOT_FOUND, "deleted");
    vt_expect(vault_item_update(v, ID_A, "{\"type\":\"login\""), VAULT_E_INVALID, "malformed");
    vt_expect(vault_item_update(v, ID_A, "{\"type\":\"login\",\"title\":7}"), VAULT_E_INVALID,
              "\"title\"");
    vt_expect(vault_item_update(v, ID_A, "{\"id\":\"" ID_B "\",\"type\":\"login\",\"title\":\"x\"}"),
              VAULT_E_INVALID, "differs");
    char *big = sized_json("{\"type\":\"login\",\"title\":\"%s\"}", 2000);
    vt_expect(vault_item_update(v, ID_A, big), VAULT_E_LIMIT, "\"title\"");
    free(big);
    vt_expect(vault_item_update(NULL, ID_A, ok), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_update(v, NULL, ok), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_update(v, ID_A, NULL), VAULT_E_INVALID, NULL);
    expect_item(v, ID_A,
                "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"keep\",\"fields\":[],"
                "\"tags\":[],\"created\":1700000000000,\"updated\":1700000000000,\"rev\":1,"
                "\"deleted\":false,\"trashed\":0,\"history\":[]}");
    vault_close(v);
}

static void test_vault_items__delete_leaves_tombstone(void **state)
{
    (void)state;
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"card\",\"title\":\"Visa\",\"tags\":[\"money\"],"
              "\"fields\":[{\"name\":\"number\",\"value\":\"4111\",\"hidden\":true}]}");
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_update(v, ID_A, "{\"type\":\"card\",\"title\":\"Visa\",\"fields\":["
                                                "{\"name\":\"number\",\"value\":\"4222\",\"hidden\":true}]}"),
                     VAULT_OK);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_delete(v, ID_A), VAULT_OK);
    char *json = NULL;
    vt_expect(vault_item_get(v, ID_A, &json), VAULT_E_NOT_FOUND, "deleted");
    assert_null(json);
    vt_expect(vault_item_delete(v, ID_A), VAULT_E_NOT_FOUND, "deleted");
    vt_expect(vault_item_delete(v, ID_B), VAULT_E_NOT_FOUND, "no item");
    vt_expect(vault_item_delete(v, NULL), VAULT_E_INVALID, NULL);
    uint64_t n = 9;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(vault_item_list(v, VAULT_LIST_DELETED, &json), VAULT_OK);
    assert_string_equal(json, "[{\"id\":\"" ID_A "\",\"type\":\"card\",\"title\":\"\","
                              "\"fields\":[],\"tags\":[],\"created\":1700000000000,"
                              "\"updated\":1700000002000,\"rev\":3,\"deleted\":true,\"trashed\":0,"
                              "\"history\":[]}]");
    vault_free(json);
    assert_int_equal(vault_item_list(v, 0, &json), VAULT_OK);
    assert_string_equal(json, "[]");
    vault_free(json);
    /* Nothing of the content is left anywhere in the serialized vault. */
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_null(strstr(json, "Visa"));
    assert_null(strstr(json, "4111"));
    assert_null(strstr(json, "4222"));
    assert_null(strstr(json, "money"));
    vault_free(json);
    vault_close(v);
}

static void test_vault_items__get_errors(void **state)
{
    (void)state;
    vault *v = vt_new();
    char *json = (char *)1;
    vt_expect(vault_item_get(v, ID_A, &json), VAULT_E_NOT_FOUND, "no item");
    assert_null(json);
    vt_expect(vault_item_get(v, "", &json), VAULT_E_NOT_FOUND, NULL);
    vt_expect(vault_item_get(NULL, ID_A, &json), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_get(v, NULL, &json), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_get(v, ID_A, NULL), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_count(v, NULL), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_count(NULL, (uint64_t *)&json), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_list(v, 4, &json), VAULT_E_INVALID, "flags");
    vt_expect(vault_item_list(v, VAULT_LIST_DELETED | VAULT_LIST_TRASH, &json), VAULT_E_INVALID, "flags");
    vt_expect(vault_item_list(NULL, 0, &json), VAULT_E_INVALID, NULL);
    vault_close(v);
    vault_close(NULL);
    vt_expect(vault_new(NULL), VAULT_E_INVALID, NULL);
}

/* The ids (in order) of a list/search result. */
static void expect_ids(const char *json, const char *const *ids, size_t n)
{
    const char *p = json;
    for (size_t i = 0; i < n; i++) {
        p = strstr(p, "{\"id\":\"");
        assert_non_null(p);
        p += 7;
        assert_memory_equal(p, ids[i], 32);
    }
    assert_null(strstr(p, "{\"id\":\""));
}

static void add_with_id(vault *v, const char *id, const char *title, const char *rest)
{
    char json[1024];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"login\",\"title\":\"%s\"%s}", id,
             title, rest);
    vt_add(v, json);
}

static void test_vault_items__list_sorted_by_title_then_id(void **state)
{
    (void)state;
    vault *v = vt_new();
    add_with_id(v, "00000000000000000000000000000003", "beta", "");
    add_with_id(v, "00000000000000000000000000000002", "alpha", "");
    add_with_id(v, "00000000000000000000000000000005", "Alpha", "");
    add_with_id(v, "00000000000000000000000000000001", "alpha", "");
    add_with_id(v, "00000000000000000000000000000004", "Zed", "");
    add_with_id(v, "00000000000000000000000000000006", "doomed", "");
    assert_int_equal(vault_item_delete(v, "00000000000000000000000000000006"), VAULT_OK);
    char *json = NULL;
    assert_int_equal(vault_item_list(v, 0, &json), VAULT_OK);
    /* ASCII case-insensitive, then bytewise ("A" < "a"), then id. */
    static const char *const live[] = {
        "00000000000000000000000000000005", "00000000000000000000000000000001",
        "00000000000000000000000000000002", "00000000000000000000000000000003",
        "00000000000000000000000000000004"};
    expect_ids(json, live, 5);
    vault_free(json);
    assert_int_equal(vault_item_list(v, VAULT_LIST_DELETED, &json), VAULT_OK);
    static const char *const all[] = {
        "00000000000000000000000000000006", "00000000000000000000000000000005",
        "00000000000000000000000000000001", "00000000000000000000000000000002",
        "00000000000000000000000000000003", "00000000000000000000000000000004"};
    expect_ids(json, all, 6);
    vault_free(json);
    vault_close(v);
}

static void expect_search(const vault *v, const char *query, const char *const *ids, size_t n)
{
    char *json = NULL;
    assert_int_equal(vault_item_search(v, query, &json), VAULT_OK);
    expect_ids(json, ids, n);
    vault_free(json);
}

static void test_vault_items__search(void **state)
{
    (void)state;
    vault *v = vt_new();
    const char *a = "0000000000000000000000000000000a", *b = "0000000000000000000000000000000b";
    const char *c = "0000000000000000000000000000000c", *d = "0000000000000000000000000000000d";
    add_with_id(v, a, "GitHub", ",\"tags\":[\"Work\"],\"fields\":[{\"name\":\"user\","
                                "\"value\":\"ada@example.org\",\"hidden\":false},{\"name\":"
                                "\"password\",\"value\":\"hunter2\",\"hidden\":true}]");
    add_with_id(v, b, "Bank", ",\"tags\":[\"money\",\"homework\"]");
    add_with_id(v, c, "\xc3\x9c" "ber", ",\"fields\":[{\"name\":\"github\",\"value\":\"x\","
                                      "\"hidden\":false}]");
    add_with_id(v, d, "old github", "");
    assert_int_equal(vault_item_delete(v, d), VAULT_OK);
    const char *only_a[] = {a}, *only_b[] = {b}, *only_c[] = {c}, *ab[] = {b, a};
    const char *everything[] = {b, a, c};
    expect_search(v, "github", only_a, 1);      /* title; field names and tombstones do not count */
    expect_search(v, "GITHUB", only_a, 1);
    expect_search(v, "EXAMPLE.org", only_a, 1); /* non-hidden value */
    expect_search(v, "hunter", NULL, 0);        /* hidden value */
    expect_search(v, "MONEY", only_b, 1);       /* tag */
    expect_search(v, "work", ab, 2);            /* tag "Work" and tag "homework" */
    expect_search(v, "", everything, 3);
    expect_search(v, "\xc3\x9c" "b", only_c, 1);
    expect_search(v, "\xc3\xbc" "b", only_c, 1); /* Unicode case folding (tests/vault/search.c) */
    expect_search(v, "zzz", NULL, 0);
    char *json = NULL;
    assert_int_equal(vault_item_search(v, "zzz", &json), VAULT_OK);
    assert_string_equal(json, "[]");
    vault_free(json);
    vt_expect(vault_item_search(v, "\xff", &json), VAULT_E_INVALID, "UTF-8");
    assert_null(json);
    vt_expect(vault_item_search(v, NULL, &json), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_search(NULL, "", &json), VAULT_E_INVALID, NULL);
    vault_close(v);
}

int vt_run_items(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_items__add_assigns_random_id_and_defaults),
        cmocka_unit_test(test_vault_items__add_keeps_id_and_canonical_order),
        cmocka_unit_test(test_vault_items__add_rejects_existing_id),
        cmocka_unit_test(test_vault_items__add_rejects_bad_input),
        cmocka_unit_test(test_vault_items__add_enforces_size_limits),
        cmocka_unit_test(test_vault_items__add_refuses_item_100001),
        cmocka_unit_test(test_vault_items__update_replaces_content),
        cmocka_unit_test(test_vault_items__replacing_keeps_the_items_array_intact),
        cmocka_unit_test(test_vault_items__update_records_hidden_history),
        cmocka_unit_test(test_vault_items__history_keeps_last_ten_per_field),
        cmocka_unit_test(test_vault_items__update_failures_leave_item_unchanged),
        cmocka_unit_test(test_vault_items__delete_leaves_tombstone),
        cmocka_unit_test(test_vault_items__get_errors),
        cmocka_unit_test(test_vault_items__list_sorted_by_title_then_id),
        cmocka_unit_test(test_vault_items__search),
    };
    return cmocka_run_group_tests_name("vault items", tests, NULL, NULL);
}

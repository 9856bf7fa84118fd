/* vault_to_json / vault_from_json, the devices accessors, printing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/common.h"
#include "vault/vault.h"
#include "vtest.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

/* A valid stored item with one member replaced by `member` ("" = none). */
#define ITEM_PREFIX "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"t\","

static void test_vault_json__empty_vault(void **state)
{
    (void)state;
    vault *v = NULL;
    char *json = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_string_equal(json, "{\"format\":2,\"items\":[],\"devices\":[]}");
    vault_free(json);
    vt_expect(vault_to_json(NULL, &json), VAULT_E_INVALID, NULL);
    vt_expect(vault_to_json(v, NULL), VAULT_E_INVALID, NULL);
    vault_close(v);
}

static vault *sample_vault(void)
{
    vault *v = vt_new();
    vt_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"first\",\"tags\":[\"a\",\"b\"],\"fields\":["
              "{\"name\":\"password\",\"value\":\"p0\",\"hidden\":true},"
              "{\"name\":\"url\",\"value\":\"https://example.org/\",\"hidden\":false}]}");
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_update(v, ID_A,
                                       "{\"type\":\"login\",\"title\":\"GitHub\",\"fields\":["
                                       "{\"name\":\"password\",\"value\":\"p1\",\"hidden\":true}]}"),
                     VAULT_OK);
    vt_add(v, "{\"id\":\"" ID_B "\",\"type\":\"note\",\"title\":\"gone\"}");
    assert_int_equal(vault_item_delete(v, ID_B), VAULT_OK);
    vt_add(v, "{\"type\":\"app.custom-type_1\",\"title\":\"Quote \\\" back\\\\slash "
              "\\u0001 tab\\t nl\\n caf\xc3\xa9 \\u00e9\\ud83d\\udd11 \x7f/\"}");
    cJSON *dev = cJSON_Parse("{\"id\":\"d1\",\"name\":\"Phone\",\"public_key\":\"pk\","
                             "\"added\":1700000000000}");
    assert_non_null(dev);
    cJSON_AddItemToArray(vault_vault__devices(v), dev);
    return v;
}

static void test_vault_json__roundtrip_is_exact(void **state)
{
    (void)state;
    vault *v = sample_vault(), *w = NULL;
    char *a = NULL, *b = NULL;
    assert_int_equal(vault_to_json(v, &a), VAULT_OK);
    assert_int_equal(vault_from_json(&w, a, strlen(a)), VAULT_OK);
    assert_int_equal(vault_to_json(w, &b), VAULT_OK);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"devices\":[{\"id\":\"d1\",\"name\":\"Phone\","
                              "\"public_key\":\"pk\",\"added\":1700000000000}]"));
    char *item = vt_get(w, ID_A);
    assert_string_equal(item,
                        "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"GitHub\",\"fields\":["
                        "{\"name\":\"password\",\"value\":\"p1\",\"hidden\":true}],\"tags\":[],"
                        "\"created\":1700000000000,\"updated\":1700000001000,\"rev\":2,"
                        "\"deleted\":false,\"trashed\":0,\"history\":[{\"name\":\"password\",\"value\":\"p0\","
                        "\"changed\":1700000001000}]}");
    vault_free(item);
    uint64_t n = 0;
    assert_int_equal(vault_item_count(w, &n), VAULT_OK);
    assert_int_equal(n, 2);
    /* A parsed vault accepts changes like a new one. */
    assert_int_equal(vault_item_delete(w, ID_A), VAULT_OK);
    vt_expect(vault_item_add(w, "{\"id\":\"" ID_B "\",\"type\":\"x\",\"title\":\"\"}", NULL),
              VAULT_E_EXISTS, NULL);
    vault_free(a);
    vault_free(b);
    vault_close(v);
    vault_close(w);
}

static void test_vault_json__print_matches_cjson(void **state)
{
    (void)state;
    vault *v = sample_vault();
    char *ours = NULL;
    assert_int_equal(vault_to_json(v, &ours), VAULT_OK);
    /* Reparse and print with cJSON's own allocating printer. */
    cJSON *tree = cJSON_Parse(ours);
    assert_non_null(tree);
    char *theirs = cJSON_PrintUnformatted(tree);
    assert_string_equal(ours, theirs);
    assert_non_null(strstr(ours, "Quote \\\" back\\\\slash \\u0001 tab\\t nl\\n"));
    cJSON_free(theirs);
    cJSON_Delete(tree);
    vault_free(ours);
    vault_close(v);
}

/* vault_to_json sizes its buffer from the length the vault was parsed from;
 * a vault that grew past that (or was parsed from spaced-out JSON) must print
 * exactly what cJSON prints. */
static void expect_cjson_print(const vault *v)
{
    char *ours = NULL;
    assert_int_equal(vault_to_json(v, &ours), VAULT_OK);
    cJSON *tree = cJSON_Parse(ours);
    assert_non_null(tree);
    char *theirs = cJSON_PrintUnformatted(tree);
    assert_string_equal(ours, theirs);
    cJSON_free(theirs);
    cJSON_Delete(tree);
    vault_free(ours);
}

static void test_vault_json__print_after_parse_grows_or_shrinks(void **state)
{
    (void)state;
    vault *v = sample_vault(), *w = NULL, *spaced = NULL;
    char *json = NULL;
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    size_t parsed_len = strlen(json);
    assert_int_equal(vault_from_json(&w, json, parsed_len), VAULT_OK);

    /* Grow by far more than any slack over the parsed length. */
    static char item[70000];
    static char value[60001];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    snprintf(item, sizeof item,
             "{\"type\":\"note\",\"title\":\"big\",\"fields\":[{\"name\":\"n\",\"value\":\"%s\","
             "\"hidden\":true}]}", value);
    vt_add(w, item);
    char *grown = NULL;
    assert_int_equal(vault_to_json(w, &grown), VAULT_OK);
    assert_true(strlen(grown) > parsed_len + 60000);
    assert_non_null(strstr(grown, value));
    vault_free(grown);
    expect_cjson_print(w);

    /* Parsed from JSON with white space: longer than what it prints. */
    char spaced_json[8192];
    snprintf(spaced_json, sizeof spaced_json, "  %s\n\n%2000s", json, "");
    assert_int_equal(vault_from_json(&spaced, spaced_json, strlen(spaced_json)), VAULT_OK);
    char *compact = NULL;
    assert_int_equal(vault_to_json(spaced, &compact), VAULT_OK);
    assert_string_equal(compact, json);
    vault_free(compact);

    vault_free(json);
    vault_close(spaced);
    vault_close(w);
    vault_close(v);
}

typedef struct bad_vault {
    const char *json;
    int code;
    const char *message;
} bad_vault;

#define GOOD_ITEM                                                                          \
    "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"t\",\"fields\":[],\"tags\":[],"   \
    "\"created\":1,\"updated\":2,\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[]}"
#define VAULT_WITH(items) "{\"format\":2,\"items\":[" items "],\"devices\":[]}"
#define ITEM_WITH(rest)                                                                    \
    "{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,\"updated\":2,\"rev\":1," rest "}"
#define LIVE_REST "\"deleted\":false,\"trashed\":0,\"history\":[],\"title\":\"t\",\"tags\":[]"

static void test_vault_json__from_json_rejects_malformed(void **state)
{
    (void)state;
    static const bad_vault cases[] = {
        {"", VAULT_E_INVALID, "malformed JSON"},
        {"{\"format\":2,\"items\":[", VAULT_E_INVALID, "malformed JSON"},
        {"nul", VAULT_E_INVALID, "malformed JSON"},
        {"[]", VAULT_E_INVALID, "vault: must be a JSON object"},
        {"{\"format\":2,\"items\":[],\"devices\":[]} []", VAULT_E_INVALID, "trailing data"},
        {"{\"format\":2,\"items\":[]}", VAULT_E_INVALID, "missing member \"devices\""},
        {"{\"format\":2,\"devices\":[]}", VAULT_E_INVALID, "missing member \"items\""},
        {"{\"items\":[],\"devices\":[]}", VAULT_E_INVALID, "missing member \"format\""},
        {"{\"format\":2,\"items\":[],\"devices\":[],\"extra\":0}", VAULT_E_INVALID,
         "vault: unknown member \"extra\""},
        {"{\"format\":2,\"format\":2,\"items\":[],\"devices\":[]}", VAULT_E_INVALID,
         "duplicate member \"format\""},
        {"{\"format\":1,\"items\":[],\"devices\":[]}", VAULT_E_VERSION, "unsupported format 1"},
        {"{\"format\":\"1\",\"items\":[],\"devices\":[]}", VAULT_E_INVALID,
         "\"format\" must be a number"},
        {"{\"format\":2,\"items\":{},\"devices\":[]}", VAULT_E_INVALID,
         "\"items\" must be an array"},
        {"{\"format\":2,\"items\":[],\"devices\":{}}", VAULT_E_INVALID,
         "\"devices\" must be an array"},
        {"{\"format\":2,\"items\":[],\"devices\":[1]}", VAULT_E_INVALID,
         "device 0: must be a JSON object"},
        {"{\"format\":2,\"items\":[],\"devices\":[{\"name\":\"x\"}]}", VAULT_E_INVALID,
         "device 0: \"id\" must be a non-empty string"},
        {"{\"format\":2,\"items\":[],\"devices\":[{\"id\":\"a\"},{\"id\":\"a\"}]}",
         VAULT_E_INVALID, "device 1: duplicate \"id\""},
        {"{\"format\":2,\"items\":[],\"devices\":[{\"id\":\"a\",\"name\":\"\xff\"}]}",
         VAULT_E_INVALID, "devices: a string is not valid UTF-8"},
        {VAULT_WITH("1"), VAULT_E_INVALID, "item 0: must be a JSON object"},
        {VAULT_WITH(GOOD_ITEM "," GOOD_ITEM), VAULT_E_INVALID, "item 1: duplicate id"},
        {VAULT_WITH(ITEM_WITH(LIVE_REST)), VAULT_E_INVALID, "item 0: missing member \"fields\""},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[],\"x\":1")), VAULT_E_INVALID,
         "item 0: unknown member \"x\""},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[],\"rev\":2")), VAULT_E_INVALID,
         "item 0: duplicate member \"rev\""},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":{}")), VAULT_E_INVALID,
         "item 0: \"fields\" must be an array"},
        {VAULT_WITH(ITEM_WITH("\"deleted\":0,\"trashed\":0,\"history\":[],\"title\":\"t\",\"tags\":[],\"fields\":[]")),
         VAULT_E_INVALID, "item 0: \"deleted\" must be true or false"},
        {VAULT_WITH(ITEM_WITH("\"deleted\":false,\"history\":[],\"title\":\"t\",\"tags\":[],\"fields\":[]")),
         VAULT_E_INVALID, "item 0: missing member \"trashed\""},
        {VAULT_WITH(ITEM_WITH("\"deleted\":false,\"trashed\":true,\"history\":[],\"title\":\"t\",\"tags\":[],\"fields\":[]")),
         VAULT_E_INVALID, "item 0: \"trashed\" must be a non-negative integer"},
        {VAULT_WITH(ITEM_WITH("\"deleted\":true,\"trashed\":5,\"history\":[],\"title\":\"\",\"tags\":[],\"fields\":[]")),
         VAULT_E_INVALID, "item 0: a deleted item must have no content"},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[{\"name\":\"a\",\"value\":\"\",\"hidden\":true,\"type\":\"pin\"}]")),
         VAULT_E_INVALID, "item 0 field 0: field \"type\" must be \"text\" or \"totp\""},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[{\"name\":\"a\",\"value\":\"JBSW\",\"hidden\":true,\"type\":1}]")),
         VAULT_E_INVALID, "item 0 field 0: \"type\" must be a string"},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[{\"name\":\"a\",\"value\":\"not base32!\",\"hidden\":true,\"type\":\"totp\"}]")),
         VAULT_E_INVALID, "totp: the secret is not base32"},
        {VAULT_WITH(ITEM_WITH("\"deleted\":true,\"trashed\":0,\"history\":[],\"title\":\"t\",\"tags\":[],\"fields\":[]")),
         VAULT_E_INVALID, "item 0: a deleted item must have no content"},
        {VAULT_WITH(ITEM_WITH(LIVE_REST ",\"fields\":[{\"name\":\"a\",\"value\":\"\"}]")),
         VAULT_E_INVALID, "item 0 field 0: missing member \"hidden\""},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":-1,\"updated\":2,"
                    "\"rev\":1," LIVE_REST ",\"fields\":[]}"),
         VAULT_E_INVALID, "item 0: \"created\" must be a non-negative integer"},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,\"updated\":2.5,"
                    "\"rev\":1," LIVE_REST ",\"fields\":[]}"),
         VAULT_E_INVALID, "\"updated\" must be a non-negative integer"},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,\"updated\":2,"
                    "\"rev\":1e300," LIVE_REST ",\"fields\":[]}"),
         VAULT_E_INVALID, "\"rev\" must be a non-negative integer"},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,\"updated\":2,"
                    "\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[{\"name\":\"p\",\"value\":\"v\"}],"
                    "\"title\":\"t\",\"tags\":[],\"fields\":[]}"),
         VAULT_E_INVALID, "item 0 history 0: missing member \"changed\""},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,\"updated\":2,"
                    "\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[],\"title\":\"\xe0\x80\x80\","
                    "\"tags\":[],\"fields\":[]}"),
         VAULT_E_INVALID, "item 0: \"title\" is not valid UTF-8"},
        {VAULT_WITH("{\"id\":\"XYZ\",\"type\":\"login\",\"created\":1,\"updated\":2,"
                    "\"rev\":1," LIVE_REST ",\"fields\":[]}"),
         VAULT_E_INVALID, "item 0: \"id\" must be 32 lowercase hex"},
        {VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"LOGIN\",\"created\":1,\"updated\":2,"
                    "\"rev\":1," LIVE_REST ",\"fields\":[]}"),
         VAULT_E_INVALID, "item 0: \"type\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vault *v = (vault *)1;
        vt_expect(vault_from_json(&v, cases[i].json, strlen(cases[i].json)), cases[i].code,
                  cases[i].message);
        assert_null(v);
    }
    /* The good item itself is fine, and a NUL terminator in the length too. */
    vault *v = NULL;
    const char *good = VAULT_WITH(GOOD_ITEM);
    assert_int_equal(vault_from_json(&v, good, strlen(good) + 1), VAULT_OK);
    vault_close(v);
    vt_expect(vault_from_json(&v, NULL, 0), VAULT_E_INVALID, NULL);
    vt_expect(vault_from_json(NULL, good, strlen(good)), VAULT_E_INVALID, NULL);
    /* The length is checked before anything is read. */
    vt_expect(vault_from_json(&v, good, (size_t)VAULT_BLOB_MAX_PLAINTEXT + 1), VAULT_E_LIMIT,
              "larger than");
}

static void test_vault_json__from_json_enforces_stored_limits(void **state)
{
    (void)state;
    char *title = malloc(1200);
    memset(title, 'x', 1025);
    title[1025] = '\0';
    char *json = malloc(2000);
    snprintf(json, 2000, VAULT_WITH("{\"id\":\"" ID_A "\",\"type\":\"login\",\"created\":1,"
                                    "\"updated\":2,\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[],"
                                    "\"title\":\"%s\",\"tags\":[],\"fields\":[]}"),
             title);
    vault *v = NULL;
    vt_expect(vault_from_json(&v, json, strlen(json)), VAULT_E_LIMIT,
              "item 0: \"title\" is longer than 1024 bytes");
    free(title);
    free(json);
}

static void test_vault_json__devices_accessors(void **state)
{
    (void)state;
    vault *v = NULL;
    char *json = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_true(cJSON_IsArray(vault_vault__devices(v)));
    cJSON *bad = cJSON_Parse("[{\"name\":\"no id\"}]");
    vt_expect(vault_vault__set_devices(v, bad), VAULT_E_INVALID, "\"id\"");
    cJSON_Delete(bad); /* still ours */
    cJSON *good = cJSON_Parse("[{\"id\":\"d1\",\"name\":\"Laptop\",\"public_key\":\"k\","
                              "\"added\":5}]");
    assert_int_equal(vault_vault__set_devices(v, good), VAULT_OK);
    assert_ptr_equal(vault_vault__devices(v), good);
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_string_equal(json, "{\"format\":2,\"items\":[],\"devices\":[{\"id\":\"d1\","
                              "\"name\":\"Laptop\",\"public_key\":\"k\",\"added\":5}]}");
    vault_free(json);
    /* Replacing a parsed array (whose key was allocated) also works. */
    vault *w = NULL;
    const char *text = "{\"format\":2,\"items\":[],\"devices\":[{\"id\":\"x\"}]}";
    assert_int_equal(vault_from_json(&w, text, strlen(text)), VAULT_OK);
    cJSON *other = cJSON_Duplicate(vault_vault__devices(v), 1);
    assert_int_equal(vault_vault__set_devices(w, other), VAULT_OK);
    assert_int_equal(vault_vault__set_devices(w, other), VAULT_OK); /* same array: no-op */
    assert_int_equal(vault_to_json(w, &json), VAULT_OK);
    assert_string_equal(json, "{\"format\":2,\"items\":[],\"devices\":[{\"id\":\"d1\","
                              "\"name\":\"Laptop\",\"public_key\":\"k\",\"added\":5}]}");
    vault_free(json);
    vault_close(w);
    vault_close(v);
}

int vt_run_json(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_json__empty_vault),
        cmocka_unit_test(test_vault_json__roundtrip_is_exact),
        cmocka_unit_test(test_vault_json__print_matches_cjson),
        cmocka_unit_test(test_vault_json__print_after_parse_grows_or_shrinks),
        cmocka_unit_test(test_vault_json__from_json_rejects_malformed),
        cmocka_unit_test(test_vault_json__from_json_enforces_stored_limits),
        cmocka_unit_test(test_vault_json__devices_accessors),
    };
    return cmocka_run_group_tests_name("vault json", tests, NULL, NULL);
}

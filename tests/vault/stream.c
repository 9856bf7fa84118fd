/* The vault read and printed as a stream (src/vault/parse.c, print.c): any
 * split of the text parses to the same vault and fails the same way; the
 * streamed print is cJSON's print, in bounded pieces; vault_seal seals what
 * vault_to_json prints, whatever the size hint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "blob/blob.h"
#include "common/common.h"
#include "vault/vault_int.h"
#include "vtest.h"

#define ACCOUNT "00112233445566778899aabbccddeeff"

/* Strings that contain what the span scanner must not take for structure. */
static vault *tricky_vault(void)
{
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    vt_add(v, "{\"type\":\"login\",\"title\":\"brackets ]}[{ and \\\"quotes\\\" \\\\\",\"fields\":["
              "{\"name\":\"n\\\\\",\"value\":\"\\\\\\\"}]\",\"hidden\":true}],\"tags\":[\"a]\",\"{b\"]}");
    vt_add(v, "{\"type\":\"note\",\"title\":\"caf\xc3\xa9 \\ud83d\\udd11 \\u0000x\"}");
    /* Long runs of escaped quotes and backslashes: each escape swallows the
     * next quote or backslash the scanner would otherwise stop at. */
    char item[4096];
    size_t n = (size_t)snprintf(item, sizeof item, "{\"type\":\"note\",\"title\":\"");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(item + n, sizeof item - n, "%s", i % 3 ? "a\\\"b\\\\" : "\\\\\\\"");
    snprintf(item + n, sizeof item - n, "\"}");
    vt_add(v, item);
    const char *id = vt_add(v, "{\"type\":\"note\",\"title\":\"gone\"}");
    assert_int_equal(vault_item_delete(v, id), VAULT_OK);
    cJSON *dev = cJSON_Parse("{\"id\":\"d]1\",\"name\":\"Phone\"}");
    assert_non_null(dev);
    cJSON_AddItemToArray(vault_vault__devices(v), dev);
    return v;
}

static int parse_in_pieces(vault **out, const char *text, size_t len, size_t piece)
{
    vault_parser *p = NULL;
    int rc = vault_vault__parse_begin(&p);
    assert_int_equal(rc, VAULT_OK);
    for (size_t off = 0; rc == VAULT_OK && off < len; off += piece)
        rc = vault_vault__parse_feed(p, text + off, len - off < piece ? len - off : piece);
    if (rc != VAULT_OK) {
        vault_vault__parse_abort(p);
        *out = NULL;
        return rc;
    }
    return vault_vault__parse_end(p, out);
}

static void expect_same_vault(const vault *w, const char *expected_json)
{
    char *json = NULL;
    assert_int_equal(vault_to_json(w, &json), VAULT_OK);
    assert_string_equal(json, expected_json);
    vault_free(json);
}

static void test_vault_stream__any_split_parses_the_same(void **state)
{
    (void)state;
    vault *v = tricky_vault();
    char *json = NULL;
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    size_t len = strlen(json);
    /* The same document with white space between every token. */
    char *spaced = malloc(4 * len + 8);
    assert_non_null(spaced);
    cJSON *tree = cJSON_Parse(json);
    assert_true(cJSON_PrintPreallocated(tree, spaced, (int)(4 * len + 8), 1));
    cJSON_Delete(tree);
    const char *docs[] = {json, spaced};
    for (size_t d = 0; d < 2; d++) {
        size_t doc_len = strlen(docs[d]);
        for (size_t piece = 1; piece <= doc_len + 1; piece += piece < 40 ? 1 : 97) {
            vault *w = NULL;
            assert_int_equal(parse_in_pieces(&w, docs[d], doc_len, piece), VAULT_OK);
            expect_same_vault(w, json);
            assert_int_equal(w->json_hint, doc_len);
            vault_close(w);
        }
    }
    free(spaced);
    vault_free(json);
    vault_close(v);
}

/* A broken document fails with the same code and message in any split. */
static void test_vault_stream__any_split_fails_the_same(void **state)
{
    (void)state;
#define DOC(text) {text, sizeof text - 1}
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        DOC(""), DOC(" "), DOC("{"), DOC("{\"format\""), DOC("{\"format\":2,"),
        DOC("{\"format\":2,\"items\":[{\"a\":\"]"), DOC("{\"format\":2,\"items\":[{]}"),
        DOC("{\"format\":2,\"items\":[}"), DOC("[1,2]"), DOC("\"str\""), DOC("nul"),
        DOC("{\"format\":2,\"items\":[],\"devices\":[]}x"),
        DOC("{\"format\":2,\"items\":[],\"devices\":[]}\0\0"),
        DOC("{\"format\":2 \"items\":[]}"), DOC("{\"format\":2,\"items\":[] ,,}"),
        DOC("{1:2}"), DOC("{\"format\":2x,\"items\":[],\"devices\":[]}"),
        DOC("{\"format\":2,\"items\":[1]}"), DOC("{\"items\":[1],\"format\":2,\"devices\":[]}"),
        DOC("{\"format\":2,\"items\":[\"\\\"]\"]}"),
        DOC("{\"format\":2,\"items\":[],\"devices\":[],\"format\":2}"),
    };
#undef DOC
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vault *w = (vault *)1;
        int whole = vault_from_json(&w, bad[i].text, bad[i].len);
        assert_null(w);
        assert_int_not_equal(whole, VAULT_OK);
        char message[VAULT_ERRMSG_MAX];
        snprintf(message, sizeof message, "%s", vault_last_error());
        for (size_t piece = 1; piece <= bad[i].len + 1; piece++) {
            assert_int_equal(parse_in_pieces(&w, bad[i].text, bad[i].len, piece), whole);
            assert_null(w);
            assert_string_equal(vault_last_error(), message);
        }
    }
}

typedef struct pieces {
    char *text;
    size_t len, count, largest;
    size_t fail_at;
} pieces;

static int collect_piece(void *ctx, const char *piece, size_t len)
{
    pieces *p = ctx;
    if (++p->count == p->fail_at)
        return vault__fail(VAULT_E_IO, "emit refused");
    p->text = realloc(p->text, p->len + len + 1);
    assert_non_null(p->text);
    memcpy(p->text + p->len, piece, len);
    p->len += len;
    p->text[p->len] = '\0';
    if (len > p->largest)
        p->largest = len;
    return VAULT_OK;
}

static void test_vault_stream__print_is_cjsons_in_bounded_pieces(void **state)
{
    (void)state;
    vault *v = tricky_vault();
    char item[1200];
    for (int i = 0; i < 400; i++) {
        snprintf(item, sizeof item, "{\"type\":\"login\",\"title\":\"item %d\",\"fields\":["
                 "{\"name\":\"notes\",\"value\":\"%s\",\"hidden\":false}]}", i, vt_repeat('n', 900));
        vt_add(v, item);
    }
    /* One item larger than the printer's whole buffer. */
    char *big = malloc(200000);
    assert_non_null(big);
    const char *value = vt_repeat('b', 60000);
    snprintf(big, 200000, "{\"type\":\"note\",\"title\":\"big\",\"fields\":["
             "{\"name\":\"a\",\"value\":\"%s\",\"hidden\":true},"
             "{\"name\":\"b\",\"value\":\"%s\",\"hidden\":true},"
             "{\"name\":\"c\",\"value\":\"%s\",\"hidden\":true}]}", value, value, value);
    vt_add(v, big);
    free(big);

    pieces p = {NULL, 0, 0, 0, 0};
    assert_int_equal(vault_vault__print_stream(v->root, collect_piece, &p), VAULT_OK);
    char *theirs = cJSON_PrintUnformatted(v->root);
    assert_string_equal(p.text, theirs);
    cJSON_free(theirs);
    assert_true(p.count > 5);
    assert_true(p.largest >= 180000); /* the big item went alone */
    free(p.text);

    /* Without the big item every piece stays within the 128 KiB buffer. */
    vault *small = tricky_vault();
    for (int i = 0; i < 400; i++)
        vt_add(small, "{\"type\":\"note\",\"title\":\"a title of some length\"}");
    pieces q = {NULL, 0, 0, 0, 0};
    assert_int_equal(vault_vault__print_stream(small->root, collect_piece, &q), VAULT_OK);
    assert_true(q.count > 1);
    assert_true(q.largest <= 128u * 1024u);
    free(q.text);

    /* An emit error stops the printing and is returned. */
    pieces f = {NULL, 0, 0, 0, 2};
    vt_expect(vault_vault__print_stream(v->root, collect_piece, &f), VAULT_E_IO, "emit refused");
    assert_int_equal(f.count, 2);
    free(f.text);
    vault_close(small);
    vault_close(v);
}

/* vault_seal reserves its output from the length the vault was parsed from:
 * none (a new vault), exact, or far too small after growth, it seals exactly
 * what vault_to_json prints. */
static void test_vault_stream__seal_holds_what_to_json_prints(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 9);
    vault *fresh = tricky_vault(), *parsed = NULL;
    for (int i = 0; i < 300; i++)
        vt_add(fresh, "{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"p\","
                      "\"value\":\"0123456789abcdef\",\"hidden\":true}]}");
    char *json = NULL;
    assert_int_equal(vault_to_json(fresh, &json), VAULT_OK);
    assert_int_equal(vault_from_json(&parsed, json, strlen(json)), VAULT_OK);
    vault_free(json);
    for (int i = 0; i < 3000; i++)
        vt_add(parsed, "{\"type\":\"note\",\"title\":\"grown well past the hint\"}");

    vault *vaults[] = {fresh, parsed};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *blob = NULL, *plain = NULL;
        size_t blob_len = 0, plain_len = 0;
        assert_int_equal(vault_seal(vaults[i], key, ACCOUNT, 4, &blob, &blob_len), VAULT_OK);
        assert_int_equal(vault_blob_open(&plain, &plain_len, key, ACCOUNT, 4, blob, blob_len),
                         VAULT_OK);
        assert_int_equal(vault_to_json(vaults[i], &json), VAULT_OK);
        assert_int_equal(plain_len, strlen(json));
        assert_memory_equal(plain, json, plain_len);
        vault_free(json);
        vault_free(plain);
        vault_free(blob);
    }
    vault_close(fresh);
    vault_close(parsed);
}

int vt_run_stream(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_stream__any_split_parses_the_same),
        cmocka_unit_test(test_vault_stream__any_split_fails_the_same),
        cmocka_unit_test(test_vault_stream__print_is_cjsons_in_bounded_pieces),
        cmocka_unit_test(test_vault_stream__seal_holds_what_to_json_prints),
    };
    return cmocka_run_group_tests_name("vault stream", tests, NULL, NULL);
}

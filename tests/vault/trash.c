/* The trash (vault_item_trash/restore, vault_trash_expire, VAULT_LIST_TRASH),
 * TOTP fields, and Unicode search (NFKC + case folding). */
#include <string.h>

#include "common/common.h"
#include "vtest.h"

#define DAY 86400000LL

static uint64_t count_of(const vault *v)
{
    uint64_t n = 99;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    return n;
}

static int listed(const vault *v, uint32_t flags, const char *id)
{
    char *json = NULL;
    assert_int_equal(vault_item_list(v, flags, &json), VAULT_OK);
    int found = strstr(json, id) != NULL;
    vault_free(json);
    return found;
}

static void test_vault_trash__keeps_content_until_restored(void **state)
{
    (void)state;
    vault *v = vt_new();
    const char *id = vt_add(v, "{\"type\":\"login\",\"title\":\"Mail\",\"fields\":[{\"name\":"
                               "\"password\",\"value\":\"s3cret\",\"hidden\":true}]}");
    char keep[33];
    memcpy(keep, id, 33);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(v, keep), VAULT_OK);
    assert_int_equal(count_of(v), 0);
    assert_false(listed(v, 0, keep));
    assert_true(listed(v, VAULT_LIST_TRASH, keep));
    assert_true(listed(v, VAULT_LIST_DELETED, keep));
    char *json = NULL;
    assert_int_equal(vault_item_search(v, "mail", &json), VAULT_OK);
    assert_string_equal(json, "[]");
    vault_free(json);
    /* get still shows it, content and all, marked with the trash time. */
    json = vt_get(v, keep);
    assert_non_null(strstr(json, "\"s3cret\""));
    assert_non_null(strstr(json, "\"rev\":2,\"deleted\":false,\"trashed\":1700000001000"));
    vault_free(json);
    vt_expect(vault_item_update(v, keep, "{\"type\":\"login\",\"title\":\"x\"}"),
              VAULT_E_NOT_FOUND, "in the trash");
    vt_expect(vault_item_trash(v, keep), VAULT_E_NOT_FOUND, "in the trash");
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_restore(v, keep), VAULT_OK);
    vt_expect(vault_item_restore(v, keep), VAULT_E_NOT_FOUND, "not in the trash");
    assert_int_equal(count_of(v), 1);
    assert_false(listed(v, VAULT_LIST_TRASH, keep));
    json = vt_get(v, keep);
    assert_non_null(strstr(json, "\"s3cret\""));
    assert_non_null(strstr(json, "\"updated\":1700000002000,\"rev\":3,\"deleted\":false,"
                                 "\"trashed\":0"));
    vault_free(json);
    /* A purge from the trash leaves an empty tombstone. */
    assert_int_equal(vault_item_trash(v, keep), VAULT_OK);
    assert_int_equal(vault_item_delete(v, keep), VAULT_OK);
    vt_expect(vault_item_restore(v, keep), VAULT_E_NOT_FOUND, "deleted");
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_null(strstr(json, "s3cret"));
    assert_null(strstr(json, "Mail"));
    vault_free(json);
    vt_expect(vault_item_trash(v, "0123456789abcdef0123456789abcdef"), VAULT_E_NOT_FOUND, NULL);
    vt_expect(vault_item_trash(NULL, keep), VAULT_E_INVALID, NULL);
    vt_expect(vault_item_restore(v, NULL), VAULT_E_INVALID, NULL);
    vault_close(v);
    vault__set_clock_for_tests(0);
}

static void test_vault_trash__survives_json_round_trip(void **state)
{
    (void)state;
    vault *v = vt_new(), *w = NULL;
    const char *id = vt_add(v, "{\"type\":\"note\",\"title\":\"n\"}");
    char keep[33];
    memcpy(keep, id, 33);
    assert_int_equal(vault_item_trash(v, keep), VAULT_OK);
    char *json = NULL;
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_int_equal(vault_from_json(&w, json, strlen(json)), VAULT_OK);
    vault_free(json);
    assert_true(listed(w, VAULT_LIST_TRASH, keep));
    assert_int_equal(count_of(w), 0);
    assert_int_equal(vault_item_restore(w, keep), VAULT_OK);
    assert_int_equal(count_of(w), 1);
    vault_close(v);
    vault_close(w);
    vault__set_clock_for_tests(0);
}

static void test_vault_trash__expire_by_age(void **state)
{
    (void)state;
    vault *v = vt_new();
    char old_id[33], new_id[33], live_id[33], future_id[33];
    memcpy(old_id, vt_add(v, "{\"type\":\"note\",\"title\":\"old\"}"), 33);
    memcpy(new_id, vt_add(v, "{\"type\":\"note\",\"title\":\"new\"}"), 33);
    memcpy(live_id, vt_add(v, "{\"type\":\"note\",\"title\":\"live\"}"), 33);
    memcpy(future_id, vt_add(v, "{\"type\":\"note\",\"title\":\"future\"}"), 33);
    assert_int_equal(vault_item_trash(v, old_id), VAULT_OK);          /* at T0 */
    vault__set_clock_for_tests(T0 + 20 * DAY);
    assert_int_equal(vault_item_trash(v, new_id), VAULT_OK);          /* at T0 + 20 d */
    vault__set_clock_for_tests(T0 + 90 * DAY);
    assert_int_equal(vault_item_trash(v, future_id), VAULT_OK);       /* "another clock" */
    vault__set_clock_for_tests(T0 + 30 * DAY);
    uint64_t purged = 99;
    assert_int_equal(vault_trash_expire(v, 30, &purged), VAULT_OK);
    assert_int_equal(purged, 1);
    vt_expect(vault_item_restore(v, old_id), VAULT_E_NOT_FOUND, "deleted");
    assert_true(listed(v, VAULT_LIST_TRASH, new_id));
    assert_true(listed(v, VAULT_LIST_TRASH, future_id)); /* trashed "in the future": kept */
    assert_int_equal(vault_trash_expire(v, 30, NULL), VAULT_OK);
    assert_true(listed(v, VAULT_LIST_TRASH, new_id));
    /* 0 days empties the trash (what is in the future stays); live items stay. */
    assert_int_equal(vault_trash_expire(v, 0, &purged), VAULT_OK);
    assert_int_equal(purged, 1);
    assert_false(listed(v, VAULT_LIST_TRASH, new_id));
    assert_true(listed(v, 0, live_id));
    assert_int_equal(count_of(v), 1);
    vt_expect(vault_trash_expire(NULL, 0, &purged), VAULT_E_INVALID, NULL);
    vault_close(v);
    vault__set_clock_for_tests(0);
}

static void test_vault_trash__totp_field_gives_codes(void **state)
{
    (void)state;
    vault *v = vt_new();
    /* "12345678901234567890" in base32: the RFC 6238 SHA-1 seed. */
    char id[33];
    memcpy(id, vt_add(v, "{\"type\":\"login\",\"title\":\"t\",\"fields\":[{\"name\":\"otp\","
                         "\"value\":\"otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                         "&digits=8\",\"hidden\":true,\"type\":\"totp\"},{\"name\":\"u\","
                         "\"value\":\"a\",\"hidden\":false,\"type\":\"text\"}]}"), 33);
    char *code = NULL, *json = vt_get(v, id);
    /* "totp" is kept, the default "text" is not written out. */
    assert_non_null(strstr(json, "\"hidden\":true,\"type\":\"totp\"}"));
    assert_non_null(strstr(json, "{\"name\":\"u\",\"value\":\"a\",\"hidden\":false}"));
    vault_free(json);
    uint32_t left = 0;
    assert_int_equal(vault_item_totp(v, id, 1111111109u, &code, &left), VAULT_OK);
    assert_string_equal(code, "07081804");
    assert_int_equal(left, 1);
    vault_free(code);
    char plain[33];
    memcpy(plain, vt_add(v, "{\"type\":\"login\",\"title\":\"p\",\"fields\":[{\"name\":\"otp\","
                            "\"value\":\"GEZDGNBV\",\"hidden\":true}]}"), 33);
    vt_expect(vault_item_totp(v, plain, 59, &code, &left), VAULT_E_NOT_FOUND, "no TOTP field");
    assert_null(code);
    vt_expect(vault_item_add(v, "{\"type\":\"login\",\"title\":\"b\",\"fields\":[{\"name\":"
                                "\"otp\",\"value\":\"0000\",\"hidden\":true,\"type\":\"totp\"}]}",
                             NULL),
              VAULT_E_INVALID, "not base32");
    assert_int_equal(vault_item_trash(v, id), VAULT_OK);
    vt_expect(vault_item_totp(v, id, 59, &code, &left), VAULT_E_NOT_FOUND, "trash");
    vt_expect(vault_item_totp(v, NULL, 59, &code, &left), VAULT_E_INVALID, NULL);
    vault_close(v);
    vault__set_clock_for_tests(0);
}

static void expect_found(const vault *v, const char *query, const char *id, int found)
{
    char *json = NULL;
    assert_int_equal(vault_item_search(v, query, &json), VAULT_OK);
    if ((strstr(json, id) != NULL) != found)
        print_error("query \"%s\": expected %s\n", query, found ? "a match" : "none");
    assert_int_equal(strstr(json, id) != NULL, found);
    vault_free(json);
}

static void test_vault_search__unicode_folding(void **state)
{
    (void)state;
    vault *v = vt_new();
    char arzte[33], strasse[33], file[33], decomposed[33];
    memcpy(arzte, vt_add(v, "{\"type\":\"note\",\"title\":\"\xc3\x84rzte Berlin\"}"), 33);
    memcpy(strasse, vt_add(v, "{\"type\":\"note\",\"title\":\"x\",\"tags\":[\"Stra\xc3\x9f" "e\"]}"), 33);
    memcpy(file, vt_add(v, "{\"type\":\"note\",\"title\":\"x\",\"fields\":[{\"name\":\"n\","
                           "\"value\":\"\xef\xac\x81le server\",\"hidden\":false}]}"), 33);
    /* "Ö" as O + COMBINING DIAERESIS (NFD, as macOS file names come). */
    memcpy(decomposed, vt_add(v, "{\"type\":\"note\",\"title\":\"O\xcc\x88l\"}"), 33);
    expect_found(v, "\xc3\xa4rzte", arzte, 1);       /* ärzte */
    expect_found(v, "\xc3\x84RZTE", arzte, 1);       /* ÄRZTE */
    expect_found(v, "a\xcc\x88rzte", arzte, 1);      /* a + combining diaeresis */
    expect_found(v, "arzte", arzte, 0);              /* folding is not accent stripping */
    expect_found(v, "STRASSE", strasse, 1);          /* ß folds to ss */
    expect_found(v, "stra\xc3\x9f" "e", strasse, 1);
    expect_found(v, "FILE", file, 1);                /* the ligature ﬁ is NFKC "fi" */
    expect_found(v, "\xef\xac\x81le", file, 1);
    expect_found(v, "\xc3\xb6l", decomposed, 1);     /* composed query, decomposed title */
    expect_found(v, "\xc3\x96L", decomposed, 1);
    expect_found(v, "zz\xc3\xa4", arzte, 0);
    vault_close(v);
    vault__set_clock_for_tests(0);
}

int vt_run_trash(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_trash__keeps_content_until_restored),
        cmocka_unit_test(test_vault_trash__survives_json_round_trip),
        cmocka_unit_test(test_vault_trash__expire_by_age),
        cmocka_unit_test(test_vault_trash__totp_field_gives_codes),
        cmocka_unit_test(test_vault_search__unicode_folding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Exports, each read back by the import; the encrypted export; allocation
 * failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "itest.h"

/* A vault with every kind of item of the Bitwarden sample, plus an item
 * with password history made by an edit. */
static vault *sample_vault(void)
{
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON_Delete(it_import(v, "bitwarden-json", "bitwarden.json", VAULT_OK));
    char *id = NULL;
    const char *a = "{\"type\":\"login\",\"title\":\"Bank <&> \\\"Co\\\"\",\"tags\":[\"money\"],"
                    "\"fields\":[{\"name\":\"username\",\"value\":\"ädä\",\"hidden\":false},"
                    "{\"name\":\"password\",\"value\":\"first\",\"hidden\":true},"
                    "{\"name\":\"branch\",\"value\":\"Main st, 1\\n2nd floor\",\"hidden\":false}]}";
    const char *b = "{\"type\":\"login\",\"title\":\"Bank <&> \\\"Co\\\"\",\"tags\":[\"money\"],"
                    "\"fields\":[{\"name\":\"username\",\"value\":\"ädä\",\"hidden\":false},"
                    "{\"name\":\"password\",\"value\":\"second\",\"hidden\":true},"
                    "{\"name\":\"branch\",\"value\":\"Main st, 1\\n2nd floor\",\"hidden\":false}]}";
    assert_int_equal(vault_item_add(v, a, &id), VAULT_OK);
    assert_int_equal(vault_item_update(v, id, b), VAULT_OK);
    vault_free(id);
    return v;
}

static vault *reimport(const uint8_t *data, size_t len, const char *format)
{
    vault *w = NULL;
    assert_int_equal(vault_new(&w), VAULT_OK);
    cJSON *r = it_import_data(w, format, data, len, 0, VAULT_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "problems")), 0);
    cJSON_Delete(r);
    return w;
}

static void round_trip(const char *format, int with_type, int with_hidden, int with_history)
{
    vault *v = sample_vault();
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(vault_export(v, format, NULL, 0, 0, &out, &len), VAULT_OK);
    assert_int_equal(strlen((const char *)out), len);
    vault *w = reimport(out, len, format);
    cJSON *a = it_items(v), *b = it_items(w);
    if (!with_history) {
        const cJSON *it;
        cJSON_ArrayForEach(it, a)
            cJSON_ReplaceItemInObject((cJSON *)it, "history", cJSON_CreateArray());
    }
    it_same_items(a, b, with_type, with_hidden);
    cJSON_Delete(a);
    cJSON_Delete(b);
    vault_free(out);
    vault_close(v);
    vault_close(w);
}

static void test_interop_export__zkvault_json_round_trip_keeps_everything(void **state)
{
    (void)state;
    vault *v = sample_vault();
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(vault_export(v, "zkvault", NULL, 0, 0, &out, &len), VAULT_OK);
    vault *w = reimport(out, len, "zkvault");
    char *x = NULL, *y = NULL;
    assert_int_equal(vault_item_list(v, 0, &x), VAULT_OK);
    assert_int_equal(vault_item_list(w, 0, &y), VAULT_OK);
    assert_string_equal(x, y); /* ids, times, history: byte for byte */
    /* Importing it again adds nothing: the ids are there. */
    cJSON *r = it_import_data(w, "zkvault", out, len, 0, VAULT_OK);
    assert_int_equal((int)it_num(r, "imported"), 0);
    cJSON_Delete(r);
    vault_free(x);
    vault_free(y);
    vault_free(out);
    vault_close(v);
    vault_close(w);
}

static void test_interop_export__bitwarden_json_round_trip(void **state)
{
    (void)state;
    round_trip("bitwarden-json", 1, 1, 1);
}

static void test_interop_export__csv_round_trip(void **state)
{
    (void)state;
    /* CSV has no hidden flags (guessed from names) and no history. */
    round_trip("csv", 1, 0, 0);
}

static void test_interop_export__keepass_xml_round_trip(void **state)
{
    (void)state;
    /* KeePass has no item types: login or note comes back. */
    round_trip("keepass-xml", 0, 0, 1);
}

static void test_interop_export__keepass_xml_refuses_control_characters(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"bell\\u0007\"}", NULL),
                     VAULT_OK);
    uint8_t *out = (uint8_t *)"x";
    size_t len = 0;
    assert_int_equal(vault_export(v, "keepass-xml", NULL, 0, 0, &out, &len), VAULT_E_INVALID);
    assert_null(out);
    it_error_has("control character");
    assert_null(strstr(vault_last_error(), "bell"));
    vault_close(v);
}

static void test_interop_export__encrypted_needs_its_password(void **state)
{
    (void)state;
    vault *v = sample_vault();
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(vault_export(v, "zkvault-encrypted", NULL, TEST_OPS, TEST_MEM, &out, &len),
                     VAULT_E_INVALID);
    assert_int_equal(vault_export(v, "zkvault-encrypted", "export pw", 1, TEST_MEM, &out, &len),
                     VAULT_E_WEAK_KDF);
    assert_int_equal(
        vault_export(v, "zkvault-encrypted", "export pw", TEST_OPS, TEST_MEM, &out, &len),
        VAULT_OK);
    /* Nothing of the content is readable. */
    assert_false(test_contains(out, len, "correct horse", 13));
    assert_false(test_contains(out, len, "GitHub", 6));
    vault *w = NULL;
    assert_int_equal(vault_new(&w), VAULT_OK);
    char *report = NULL;
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, len, "wrong", 0, &report),
                     VAULT_E_AUTH);
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, len, NULL, 0, &report),
                     VAULT_E_INVALID);
    out[len - 5] ^= 1;
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, len, "export pw", 0, &report),
                     VAULT_E_AUTH);
    out[len - 5] ^= 1;
    out[4] = 2;
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, len, "export pw", 0, &report),
                     VAULT_E_VERSION);
    out[4] = 1;
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, 20, "export pw", 0, &report),
                     VAULT_E_FORMAT);
    assert_int_equal(it_count(w), 0);
    assert_int_equal(vault_import(w, "zkvault-encrypted", out, len, "export pw", 0, &report),
                     VAULT_OK);
    vault_free(report);
    cJSON *a = it_items(v), *b = it_items(w);
    it_same_items(a, b, 1, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    vault_free(out);
    vault_close(v);
    vault_close(w);
}

static void test_interop_export__unknown_format(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(vault_export(v, "chrome-csv", NULL, 0, 0, &out, &len), VAULT_E_INVALID);
    assert_int_equal(vault_export(v, "nope", NULL, 0, 0, &out, &len), VAULT_E_INVALID);
    assert_int_equal(vault_export(NULL, "csv", NULL, 0, 0, &out, &len), VAULT_E_INVALID);
    vault_close(v);
}

/* Every allocation of an import may fail: the result is VAULT_E_NOMEM and
 * an untouched vault, or success. */
static void import_under_failures(const char *format, const char *sample)
{
    size_t len;
    uint8_t *data = it_sample(sample, &len);
    for (uint64_t n = 1;; n++) {
        vault *v = NULL;
        assert_int_equal(vault_new(&v), VAULT_OK);
        char *report = NULL;
        vault__alloc_fail_after(n);
        int rc = vault_import(v, format, data, len, NULL, 0, &report);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (rc != VAULT_OK && rc != VAULT_E_NOMEM)
            fprintf(stderr, "%s allocation %llu: %d %s\n", format, (unsigned long long)n, rc,
                    vault_last_error());
        assert_true(rc == VAULT_OK || rc == VAULT_E_NOMEM);
        if (rc == VAULT_E_NOMEM) {
            assert_null(report);
            assert_int_equal(it_count(v), 0);
        }
        vault_free(report);
        vault_close(v);
        if (seen < n) {
            assert_int_equal(rc, VAULT_OK);
            break;
        }
    }
    free(data);
}

static void test_interop_import__allocation_failures(void **state)
{
    (void)state;
    import_under_failures("bitwarden-json", "bitwarden.json");
    import_under_failures("bitwarden-csv", "bitwarden.csv");
    import_under_failures("1password-csv", "1password.csv");
}

static void test_interop_export__allocation_failures(void **state)
{
    (void)state;
    static const char *const formats[] = {"zkvault", "bitwarden-json", "csv", "keepass-xml"};
    vault *v = sample_vault();
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        for (uint64_t n = 1;; n++) {
            uint8_t *out = NULL;
            size_t len = 0;
            vault__alloc_fail_after(n);
            int rc = vault_export(v, formats[i], NULL, 0, 0, &out, &len);
            uint64_t seen = vault__alloc_count();
            vault__alloc_fail_after(0);
            if (rc != VAULT_OK && rc != VAULT_E_NOMEM)
                fprintf(stderr, "%s allocation %llu: %d %s\n", formats[i],
                        (unsigned long long)n, rc, vault_last_error());
            assert_true(rc == VAULT_OK || rc == VAULT_E_NOMEM);
            if (rc == VAULT_E_NOMEM)
                assert_null(out);
            vault_free(out);
            if (seen < n) {
                assert_int_equal(rc, VAULT_OK);
                break;
            }
        }
    vault_close(v);
}

int it_run_export(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interop_export__zkvault_json_round_trip_keeps_everything),
        cmocka_unit_test(test_interop_export__bitwarden_json_round_trip),
        cmocka_unit_test(test_interop_export__csv_round_trip),
        cmocka_unit_test(test_interop_export__keepass_xml_round_trip),
        cmocka_unit_test(test_interop_export__keepass_xml_refuses_control_characters),
        cmocka_unit_test(test_interop_export__encrypted_needs_its_password),
        cmocka_unit_test(test_interop_export__unknown_format),
        cmocka_unit_test(test_interop_import__allocation_failures),
        cmocka_unit_test(test_interop_export__allocation_failures),
    };
    return cmocka_run_group_tests_name("interop_export", tests, NULL, NULL);
}

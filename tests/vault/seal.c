/* vault_seal / vault_open: the vault through the blob layer. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "vtest.h"

#define ACCOUNT "00112233445566778899aabbccddeeff"
#define OTHER "ffeeddccbbaa99887766554433221100"

static vault *sample(void)
{
    vault *v = vt_new();
    vt_add(v, "{\"type\":\"login\",\"title\":\"VerySecretTitle\",\"fields\":["
              "{\"name\":\"password\",\"value\":\"hunter2hunter2\",\"hidden\":true}]}");
    const char *id = vt_add(v, "{\"type\":\"note\",\"title\":\"gone\"}");
    assert_int_equal(vault_item_delete(v, id), VAULT_OK);
    return v;
}

static void test_vault_seal__roundtrip(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 1);
    vault *v = sample(), *w = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    assert_int_equal(vault_seal(v, key, ACCOUNT, 7, &blob, &blob_len), VAULT_OK);
    assert_non_null(blob);
    assert_false(test_contains(blob, blob_len, "VerySecretTitle", 15));
    assert_false(test_contains(blob, blob_len, "hunter2hunter2", 14));
    assert_int_equal(vault_open(&w, key, ACCOUNT, 7, blob, blob_len), VAULT_OK);
    test_assert_same_vault(v, w);
    vault_free(blob);
    vault_close(v);
    vault_close(w);
}

static void test_vault_seal__open_failures(void **state)
{
    (void)state;
    uint8_t key[32], wrong[32];
    test_key(key, 1);
    test_key(wrong, 2);
    vault *v = sample(), *w = (vault *)1;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    assert_int_equal(vault_seal(v, key, ACCOUNT, 7, &blob, &blob_len), VAULT_OK);
    assert_int_equal(vault_open(&w, wrong, ACCOUNT, 7, blob, blob_len), VAULT_E_AUTH);
    assert_null(w);
    assert_int_equal(vault_open(&w, key, OTHER, 7, blob, blob_len), VAULT_E_MISMATCH);
    assert_int_equal(vault_open(&w, key, ACCOUNT, 8, blob, blob_len), VAULT_E_MISMATCH);
    blob[blob_len - 1] ^= 1;
    assert_int_equal(vault_open(&w, key, ACCOUNT, 7, blob, blob_len), VAULT_E_AUTH);
    assert_null(w);
    vt_expect(vault_open(NULL, key, ACCOUNT, 7, blob, blob_len), VAULT_E_INVALID, NULL);
    vault_free(blob);
    /* A blob that opens but does not hold a vault. */
    const char *not_vault = "{\"format\":2,\"items\":[]}";
    assert_int_equal(vault_blob_seal(&blob, &blob_len, key, ACCOUNT, 7,
                                     (const uint8_t *)not_vault, strlen(not_vault)),
                     VAULT_OK);
    vt_expect(vault_open(&w, key, ACCOUNT, 7, blob, blob_len), VAULT_E_INVALID,
              "missing member \"devices\"");
    assert_null(w);
    vault_free(blob);
    vt_expect(vault_seal(NULL, key, ACCOUNT, 7, &blob, &blob_len), VAULT_E_INVALID, NULL);
    assert_null(blob);
    vt_expect(vault_seal(v, key, ACCOUNT, 7, NULL, &blob_len), VAULT_E_INVALID, NULL);
    assert_int_equal(vault_seal(v, key, "not-hex", 7, &blob, &blob_len), VAULT_E_INVALID);
    assert_null(blob);
    vault_close(v);
}

static void test_vault_seal__allocation_failures(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 1);
    vault *v = sample();
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    assert_int_equal(vault_seal(v, key, ACCOUNT, 7, &sealed, &sealed_len), VAULT_OK);
    for (int op = 0; op < 2; op++) {
        for (uint64_t n = 1;; n++) {
            uint8_t *blob = NULL;
            size_t blob_len = 0;
            vault *w = NULL;
            vault__alloc_fail_after(n);
            int rc = op == 0 ? vault_seal(v, key, ACCOUNT, 7, &blob, &blob_len)
                             : vault_open(&w, key, ACCOUNT, 7, sealed, sealed_len);
            uint64_t seen = vault__alloc_count();
            vault__alloc_fail_after(0);
            if (rc != VAULT_OK && rc != VAULT_E_NOMEM)
                fprintf(stderr, "op %d allocation %llu: %d %s\n", op, (unsigned long long)n,
                        rc, vault_last_error());
            assert_true(rc == VAULT_OK || rc == VAULT_E_NOMEM);
            if (rc != VAULT_OK) {
                assert_null(blob);
                assert_null(w);
            }
            vault_free(blob);
            vault_close(w);
            if (seen < n) {
                assert_int_equal(rc, VAULT_OK);
                break;
            }
        }
    }
    vault_free(sealed);
    vault_close(v);
}

int vt_run_seal(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_seal__roundtrip),
        cmocka_unit_test(test_vault_seal__open_failures),
        cmocka_unit_test(test_vault_seal__allocation_failures),
    };
    return cmocka_run_group_tests_name("vault seal", tests, NULL, NULL);
}

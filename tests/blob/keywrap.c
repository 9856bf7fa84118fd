/* The protected vault key: round trip, wrong KEK, every bit flip, lengths. */
#include <string.h>

#include "blob/blob.h"
#include "blob_tests.h"
#include "common/common.h"

static void test_blob_keywrap__roundtrip_with_fresh_nonces(void **state)
{
    (void)state;
    uint8_t kek[32], key[32], out[32], w1[VAULT_PROTECTED_KEY_BYTES], w2[VAULT_PROTECTED_KEY_BYTES];
    test_key(kek, 10);
    test_key(key, 50);
    assert_int_equal(vault_blob__wrap_key(w1, kek, key), VAULT_OK);
    assert_int_equal(vault_blob__wrap_key(w2, kek, key), VAULT_OK);
    assert_memory_equal(w1, "ZKVK\x01\x00\x00\x00", 8);
    assert_memory_not_equal(w1 + 8, w2 + 8, 24);
    assert_false(test_contains(w1, sizeof w1, key, 8));
    assert_int_equal(vault_blob__unwrap_key(out, kek, w1, sizeof w1), VAULT_OK);
    assert_memory_equal(out, key, 32);
    memset(out, 0, sizeof out);
    assert_int_equal(vault_blob__unwrap_key(out, kek, w2, sizeof w2), VAULT_OK);
    assert_memory_equal(out, key, 32);
}

static void test_blob_keywrap__rejects_wrong_kek(void **state)
{
    (void)state;
    uint8_t kek[32], other[32], key[32], out[32], w[VAULT_PROTECTED_KEY_BYTES];
    test_key(kek, 10);
    test_key(other, 11);
    test_key(key, 50);
    memset(out, 0x5a, sizeof out);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_OK);
    assert_int_equal(vault_blob__unwrap_key(out, other, w, sizeof w), VAULT_E_AUTH);
    for (unsigned i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0x5a); /* nothing written on failure */
}

static void test_blob_keywrap__rejects_every_bit_flip(void **state)
{
    (void)state;
    uint8_t kek[32], key[32], out[32], w[VAULT_PROTECTED_KEY_BYTES];
    test_key(kek, 10);
    test_key(key, 50);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_OK);
    for (size_t pos = 0; pos < sizeof w; pos++) {
        int expect = pos < 4 ? VAULT_E_CORRUPT
                     : pos == 4 ? VAULT_E_VERSION
                     : pos < 8  ? VAULT_E_CORRUPT
                                : VAULT_E_AUTH;
        for (int bit = 0; bit < 8; bit++) {
            w[pos] ^= (uint8_t)(1u << bit);
            int rc = vault_blob__unwrap_key(out, kek, w, sizeof w);
            if (rc != expect)
                fail_msg("flip of byte %zu bit %d gave %d", pos, bit, rc);
            w[pos] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(vault_blob__unwrap_key(out, kek, w, sizeof w), VAULT_OK);
}

static void test_blob_keywrap__rejects_bad_lengths_and_arguments(void **state)
{
    (void)state;
    uint8_t kek[32], key[32], out[32], w[VAULT_PROTECTED_KEY_BYTES + 1] = {0};
    test_key(kek, 10);
    test_key(key, 50);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_OK);
    for (size_t len = 0; len < VAULT_PROTECTED_KEY_BYTES; len++)
        assert_int_equal(vault_blob__unwrap_key(out, kek, w, len), VAULT_E_CORRUPT);
    assert_int_equal(vault_blob__unwrap_key(out, kek, w, sizeof w), VAULT_E_CORRUPT);
    assert_int_equal(vault_blob__unwrap_key(NULL, kek, w, VAULT_PROTECTED_KEY_BYTES),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob__unwrap_key(out, NULL, w, VAULT_PROTECTED_KEY_BYTES),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob__unwrap_key(out, kek, NULL, VAULT_PROTECTED_KEY_BYTES),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob__wrap_key(NULL, kek, key), VAULT_E_INVALID);
    assert_int_equal(vault_blob__wrap_key(w, NULL, key), VAULT_E_INVALID);
    assert_int_equal(vault_blob__wrap_key(w, kek, NULL), VAULT_E_INVALID);
}

/* A wrapped key is not a blob and a blob key does not open a wrap: the two
 * formats use distinct magics and distinct subkey contexts. */
static void test_blob_keywrap__not_confusable_with_blob(void **state)
{
    (void)state;
    uint8_t kek[32], key[32], out[32], w[VAULT_PROTECTED_KEY_BYTES];
    test_key(kek, 10);
    test_key(key, 50);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_OK);
    char *account = NULL;
    uint64_t rev;
    assert_int_equal(vault_blob_peek(w, sizeof w, &account, &rev), VAULT_E_CORRUPT);
    memcpy(w, "ZKVB", 4);
    assert_int_equal(vault_blob__unwrap_key(out, kek, w, sizeof w), VAULT_E_CORRUPT);
}

static void test_blob_keywrap__allocation_failure_is_clean(void **state)
{
    (void)state;
    uint8_t kek[32], key[32], out[32], w[VAULT_PROTECTED_KEY_BYTES];
    test_key(kek, 10);
    test_key(key, 50);
    vault__alloc_fail_after(1);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
    assert_int_equal(vault_blob__wrap_key(w, kek, key), VAULT_OK);
    vault__alloc_fail_after(1);
    assert_int_equal(vault_blob__unwrap_key(out, kek, w, sizeof w), VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
}

int blob_keywrap_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_keywrap__roundtrip_with_fresh_nonces),
        cmocka_unit_test(test_blob_keywrap__rejects_wrong_kek),
        cmocka_unit_test(test_blob_keywrap__rejects_every_bit_flip),
        cmocka_unit_test(test_blob_keywrap__rejects_bad_lengths_and_arguments),
        cmocka_unit_test(test_blob_keywrap__not_confusable_with_blob),
        cmocka_unit_test(test_blob_keywrap__allocation_failure_is_clean),
    };
    return cmocka_run_group_tests_name("blob_keywrap", tests, NULL, NULL);
}

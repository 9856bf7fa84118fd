/* Argon2id derivation and the parameter policy. */
#include <string.h>

#include "common/common.h"
#include "kdf/kdf.h"
#include "testutil.h"

/* Known answer (docs/format.md §5): Argon2id v1.3, t=2, m=19 MiB, p=1, 64 bytes.
 * Cross-checked with the reference implementation (Debian libargon2-1,
 * argon2id_hash_raw(2, 19456, 1, ...)). */
static const char KAT_PASSWORD[] = "correct horse battery staple";
static const char KAT_AUTH[] = "c948a1912c7c128e9156e3a94722a5366e6c62f33a082f77f46eb57bc1bad034";
static const char KAT_ENC[] = "420feff9f780f2b13b889f7a6dcf263da5a4310898aa51ff4de932e6a0adcd11";

static void kat_salt(uint8_t salt[VAULT_SALT_BYTES])
{
    for (unsigned i = 0; i < VAULT_SALT_BYTES; i++)
        salt[i] = (uint8_t)i;
}

static int derive(uint8_t *auth, uint8_t *enc, const char *pw, const uint8_t *salt)
{
    return vault_kdf_derive(auth, enc, pw, strlen(pw), salt, TEST_OPS, TEST_MEM);
}

static void test_kdf_derive__known_answer(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES], auth[32], enc[32];
    char hex[65];
    kat_salt(salt);
    assert_int_equal(derive(auth, enc, KAT_PASSWORD, salt), VAULT_OK);
    vault__bin2hex(hex, auth, 32);
    assert_string_equal(hex, KAT_AUTH);
    vault__bin2hex(hex, enc, 32);
    assert_string_equal(hex, KAT_ENC);
}

static void test_kdf_derive__either_output_alone(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES], auth[32], enc[32];
    char hex[65];
    kat_salt(salt);
    assert_int_equal(derive(auth, NULL, KAT_PASSWORD, salt), VAULT_OK);
    vault__bin2hex(hex, auth, 32);
    assert_string_equal(hex, KAT_AUTH);
    assert_int_equal(derive(NULL, enc, KAT_PASSWORD, salt), VAULT_OK);
    vault__bin2hex(hex, enc, 32);
    assert_string_equal(hex, KAT_ENC);
}

static void test_kdf_derive__deterministic_and_salted(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES], a1[32], e1[32], a2[32], e2[32];
    assert_int_equal(vault_kdf_salt(salt), VAULT_OK);
    assert_int_equal(derive(a1, e1, "pw", salt), VAULT_OK);
    assert_int_equal(derive(a2, e2, "pw", salt), VAULT_OK);
    assert_memory_equal(a1, a2, 32);
    assert_memory_equal(e1, e2, 32);
    assert_memory_not_equal(a1, e1, 32);

    salt[0] ^= 1;
    assert_int_equal(derive(a2, e2, "pw", salt), VAULT_OK);
    assert_memory_not_equal(a1, a2, 32);
    assert_memory_not_equal(e1, e2, 32);

    salt[0] ^= 1;
    assert_int_equal(derive(a2, e2, "pW", salt), VAULT_OK);
    assert_memory_not_equal(a1, a2, 32);
    assert_memory_not_equal(e1, e2, 32);
}

static void test_kdf_derive__refuses_weak_and_huge_params(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES] = {0}, auth[32];
    memset(auth, 0xaa, sizeof auth);
    assert_int_equal(vault_kdf_derive(auth, NULL, "pw", 2, salt, TEST_OPS - 1, TEST_MEM),
                     VAULT_E_WEAK_KDF);
    assert_int_equal(vault_kdf_derive(auth, NULL, "pw", 2, salt, TEST_OPS, TEST_MEM - 1),
                     VAULT_E_WEAK_KDF);
    assert_non_null(strstr(vault_last_error(), "memlimit"));
    assert_int_equal(vault_kdf_derive(auth, NULL, "pw", 2, salt, VAULT_KDF_OPSLIMIT_MAX + 1,
                                      TEST_MEM),
                     VAULT_E_LIMIT);
    assert_int_equal(vault_kdf_derive(auth, NULL, "pw", 2, salt, TEST_OPS,
                                      VAULT_KDF_MEMLIMIT_MAX + 1),
                     VAULT_E_LIMIT);
    for (unsigned i = 0; i < sizeof auth; i++)
        assert_int_equal(auth[i], 0xaa); /* outputs untouched on failure */
}

static void test_kdf_check_params__bounds(void **state)
{
    (void)state;
    assert_int_equal(vault_kdf_check_params(2, 19u << 20), VAULT_OK);
    assert_int_equal(vault_kdf_check_params(VAULT_KDF_OPSLIMIT_DEFAULT,
                                            VAULT_KDF_MEMLIMIT_DEFAULT), VAULT_OK);
    assert_int_equal(vault_kdf_check_params(64, UINT64_C(4) << 30), VAULT_OK);
    assert_int_equal(vault_kdf_check_params(1, 64u << 20), VAULT_E_WEAK_KDF);
    assert_int_equal(vault_kdf_check_params(0, 0), VAULT_E_WEAK_KDF);
    assert_int_equal(vault_kdf_check_params(3, (19u << 20) - 1), VAULT_E_WEAK_KDF);
    assert_int_equal(vault_kdf_check_params(65, 64u << 20), VAULT_E_LIMIT);
    assert_int_equal(vault_kdf_check_params(3, (UINT64_C(4) << 30) + 1), VAULT_E_LIMIT);
    assert_int_equal(vault_kdf_check_params(3, UINT64_MAX), VAULT_E_LIMIT);
    assert_int_equal(vault_kdf_check_params(UINT64_MAX, 64u << 20), VAULT_E_LIMIT);
}

static void test_kdf_derive__refuses_bad_arguments(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES] = {0}, key[32];
    static char long_pw[VAULT_PASSWORD_MAX_BYTES + 1];
    memset(long_pw, 'a', sizeof long_pw);
    assert_int_equal(vault_kdf_derive(key, NULL, "", 0, salt, TEST_OPS, TEST_MEM),
                     VAULT_E_INVALID);
    assert_int_equal(vault_kdf_derive(key, NULL, NULL, 3, salt, TEST_OPS, TEST_MEM),
                     VAULT_E_INVALID);
    assert_int_equal(vault_kdf_derive(key, NULL, "pw", 2, NULL, TEST_OPS, TEST_MEM),
                     VAULT_E_INVALID);
    assert_int_equal(vault_kdf_derive(NULL, NULL, "pw", 2, salt, TEST_OPS, TEST_MEM),
                     VAULT_E_INVALID);
    assert_int_equal(vault_kdf_derive(key, NULL, long_pw, sizeof long_pw, salt, TEST_OPS,
                                      TEST_MEM),
                     VAULT_E_LIMIT);
    /* The longest allowed password works, and every byte of it counts. */
    uint8_t k1[32], k2[32];
    assert_int_equal(vault_kdf_derive(k1, NULL, long_pw, VAULT_PASSWORD_MAX_BYTES, salt,
                                      TEST_OPS, TEST_MEM),
                     VAULT_OK);
    long_pw[VAULT_PASSWORD_MAX_BYTES - 1] = 'b';
    assert_int_equal(vault_kdf_derive(k2, NULL, long_pw, VAULT_PASSWORD_MAX_BYTES, salt,
                                      TEST_OPS, TEST_MEM),
                     VAULT_OK);
    assert_memory_not_equal(k1, k2, 32);
}

static void test_kdf_derive__nomem_is_reported(void **state)
{
    (void)state;
    uint8_t salt[VAULT_SALT_BYTES] = {0}, key[32];
    vault__alloc_fail_after(1);
    int rc = vault_kdf_derive(key, NULL, "pw", 2, salt, TEST_OPS, TEST_MEM);
    vault__alloc_fail_after(0);
    assert_int_equal(rc, VAULT_E_NOMEM);
}

static void test_kdf_is_weaker__either_dimension(void **state)
{
    (void)state;
    assert_false(vault_kdf__is_weaker(3, 64u << 20, 3, 64u << 20));
    assert_false(vault_kdf__is_weaker(4, 128u << 20, 3, 64u << 20));
    assert_true(vault_kdf__is_weaker(2, 128u << 20, 3, 64u << 20));
    assert_true(vault_kdf__is_weaker(4, 32u << 20, 3, 64u << 20));
    assert_true(vault_kdf__is_weaker(2, 19u << 20, 3, 64u << 20));
}

static void test_kdf_salt__random_and_checked(void **state)
{
    (void)state;
    uint8_t a[VAULT_SALT_BYTES], b[VAULT_SALT_BYTES];
    assert_int_equal(vault_kdf_salt(a), VAULT_OK);
    assert_int_equal(vault_kdf_salt(b), VAULT_OK);
    assert_memory_not_equal(a, b, VAULT_SALT_BYTES);
    assert_int_equal(vault_kdf_salt(NULL), VAULT_E_INVALID);
}

static void test_kdf_constants__match_macros(void **state)
{
    (void)state;
    assert_int_equal(vault_key_bytes(), VAULT_KEY_BYTES);
    assert_int_equal(vault_salt_bytes(), VAULT_SALT_BYTES);
    assert_int_equal(vault_kdf_opslimit_default(), 3);
    assert_int_equal(vault_kdf_memlimit_default(), 64u << 20);
    assert_int_equal(vault_kdf_opslimit_min(), 2);
    assert_int_equal(vault_kdf_memlimit_min(), 19u << 20);
    assert_true(VAULT_KDF_MEMLIMIT_MAX == UINT64_C(4294967296));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf_derive__known_answer),
        cmocka_unit_test(test_kdf_derive__either_output_alone),
        cmocka_unit_test(test_kdf_derive__deterministic_and_salted),
        cmocka_unit_test(test_kdf_derive__refuses_weak_and_huge_params),
        cmocka_unit_test(test_kdf_check_params__bounds),
        cmocka_unit_test(test_kdf_derive__refuses_bad_arguments),
        cmocka_unit_test(test_kdf_derive__nomem_is_reported),
        cmocka_unit_test(test_kdf_is_weaker__either_dimension),
        cmocka_unit_test(test_kdf_salt__random_and_checked),
        cmocka_unit_test(test_kdf_constants__match_macros),
    };
    if (vault_init() != VAULT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Sealing and opening through the public API: round trips, binding to
 * account and revision, wrong keys, every bit flip and truncation, peek,
 * arguments, and allocation failure on every path. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "blob_tests.h"
#include "common/common.h"

static const char SMALL[] = "{\"items\":[{\"title\":\"hello\"}]}";

static uint8_t *seal(size_t *len, const uint8_t *key, const char *account, uint64_t rev,
                     const void *pt, size_t pt_len)
{
    uint8_t *blob = NULL;
    assert_int_equal(vault_blob_seal(&blob, len, key, account, rev, pt, pt_len), VAULT_OK);
    assert_non_null(blob);
    return blob;
}

static int try_open(const uint8_t *key, const char *account, uint64_t rev, const uint8_t *blob,
                    size_t len)
{
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 12345;
    int rc = vault_blob_open(&out, &out_len, key, account, rev, blob, len);
    if (rc == VAULT_OK) {
        vault_free(out);
    } else {
        assert_null(out);
        assert_int_equal(out_len, 12345); /* outputs written only on success */
    }
    return rc;
}

static void roundtrip(const uint8_t *pt, size_t pt_len)
{
    uint8_t key[32], *out = NULL;
    size_t len = 0, out_len = 0;
    test_key(key, 1);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 7, pt, pt_len);
    assert_true(len >= 104 + 512);
    assert_int_equal(vault_blob__padded_len(len - 104), len - 104);
    assert_int_equal(vault_blob_open(&out, &out_len, key, TEST_ACCOUNT, 7, blob, len), VAULT_OK);
    assert_int_equal(out_len, pt_len);
    if (pt_len > 0)
        assert_memory_equal(out, pt, pt_len);
    assert_int_equal(out[pt_len], 0);
    vault_free(out);
    vault_free(blob);
}

static void test_blob_seal__roundtrip_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 1000, 1000000};
    uint8_t *buf = malloc(1000000);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        randombytes_buf(buf, sizes[i]); /* incompressible */
        roundtrip(buf, sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++) /* compressible, JSON-like */
            buf[j] = (uint8_t)"{\"title\":\"x\",\"v\":1},"[j % 20];
        roundtrip(buf, sizes[i]);
    }
    free(buf);
}

static void test_blob_seal__hides_content_and_uses_fresh_nonces(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t l1, l2;
    test_key(key, 1);
    uint8_t *b1 = seal(&l1, key, TEST_ACCOUNT, 1, SMALL, strlen(SMALL));
    uint8_t *b2 = seal(&l2, key, TEST_ACCOUNT, 1, SMALL, strlen(SMALL));
    assert_int_equal(l1, 616);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, 32);                /* same clear header */
    assert_memory_not_equal(b1 + 32, b2 + 32, 24);  /* different nonce */
    assert_memory_not_equal(b1 + 56, b2 + 56, 32);  /* hence different tag */
    assert_false(test_contains(b1, l1, "hello", 5));
    assert_false(test_contains(b1, l1, "items", 5));
    vault_free(b1);
    vault_free(b2);
}

static void test_blob_open__rejects_wrong_key(void **state)
{
    (void)state;
    uint8_t key[32], other[32];
    size_t len;
    test_key(key, 1);
    test_key(other, 2);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 1, SMALL, strlen(SMALL));
    assert_int_equal(try_open(other, TEST_ACCOUNT, 1, blob, len), VAULT_E_AUTH);
    assert_non_null(strstr(vault_last_error(), "commitment"));
    vault_free(blob);
}

/* A genuine blob of the same key but another revision or account is
 * MISMATCH (authenticated, so the claim is true); another user's blob under
 * another key is AUTH; a forged clear header is AUTH. */
static void test_blob_open__binds_account_and_revision(void **state)
{
    (void)state;
    uint8_t key[32], other[32];
    size_t len, len2;
    test_key(key, 1);
    test_key(other, 9);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 5, SMALL, strlen(SMALL));
    assert_int_equal(try_open(key, TEST_ACCOUNT, 5, blob, len), VAULT_OK);
    assert_int_equal(try_open(key, TEST_ACCOUNT, 4, blob, len), VAULT_E_MISMATCH);
    assert_non_null(strstr(vault_last_error(), "revision 5, expected 4"));
    assert_int_equal(try_open(key, TEST_ACCOUNT, 6, blob, len), VAULT_E_MISMATCH);
    assert_int_equal(try_open(key, OTHER_ACCOUNT, 5, blob, len), VAULT_E_MISMATCH);
    assert_non_null(strstr(vault_last_error(), "another account"));

    uint8_t *theirs = seal(&len2, other, OTHER_ACCOUNT, 5, SMALL, strlen(SMALL));
    assert_int_equal(try_open(key, TEST_ACCOUNT, 5, theirs, len2), VAULT_E_AUTH);

    /* The server rewrites the clear revision to what the client expects. */
    vault__store64_be(blob + 24, 6);
    assert_int_equal(try_open(key, TEST_ACCOUNT, 6, blob, len), VAULT_E_AUTH);
    vault_free(blob);
    vault_free(theirs);
}

/* The code each byte position yields when one of its bits flips. */
static int expected_flip_code(size_t pos, int bit)
{
    if (pos < 4)
        return VAULT_E_CORRUPT; /* magic */
    if (pos == 4 || pos == 5)
        return VAULT_E_VERSION; /* version, algorithm */
    if (pos < 8)
        return VAULT_E_CORRUPT; /* reserved */
    (void)bit;
    return VAULT_E_AUTH; /* account, revision, nonce, tag, MAC, ciphertext */
}

static void test_blob_open__rejects_every_bit_flip(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    test_key(key, 1);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 3, SMALL, strlen(SMALL));
    for (size_t pos = 0; pos < len; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            blob[pos] ^= (uint8_t)(1u << bit);
            int rc = try_open(key, TEST_ACCOUNT, 3, blob, len);
            if (rc != expected_flip_code(pos, bit))
                fail_msg("flip of byte %zu bit %d gave %d", pos, bit, rc);
            blob[pos] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(try_open(key, TEST_ACCOUNT, 3, blob, len), VAULT_OK);
    vault_free(blob);
}

static void test_blob_open__rejects_every_truncation_and_extension(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    test_key(key, 1);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 3, SMALL, strlen(SMALL));
    for (size_t cut = 0; cut < len; cut++) {
        int rc = try_open(key, TEST_ACCOUNT, 3, blob, cut);
        if (rc != (cut < 616 ? VAULT_E_CORRUPT : VAULT_E_AUTH))
            fail_msg("truncation to %zu bytes gave %d", cut, rc);
    }
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, blob, len);
    longer[len] = 0;
    assert_int_equal(try_open(key, TEST_ACCOUNT, 3, longer, len + 1), VAULT_E_AUTH);
    free(longer);
    vault_free(blob);
}

static void test_blob_peek__reads_clear_header(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    char *account = (char *)1;
    uint64_t rev = 0;
    test_key(key, 1);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, UINT64_MAX, SMALL, strlen(SMALL));
    assert_int_equal(vault_blob_peek(blob, len, &account, &rev), VAULT_OK);
    assert_string_equal(account, TEST_ACCOUNT);
    assert_int_equal(rev, UINT64_MAX);
    vault_free(account);
    assert_int_equal(try_open(key, TEST_ACCOUNT, UINT64_MAX, blob, len), VAULT_OK);

    assert_int_equal(vault_blob_peek(blob, 100, &account, &rev), VAULT_E_CORRUPT);
    assert_null(account);
    blob[4] = 1; /* the format before the chain: refused, never read as version 2 */
    assert_int_equal(vault_blob_peek(blob, len, &account, &rev), VAULT_E_VERSION);
    assert_non_null(strstr(vault_last_error(), "version 1"));
    assert_int_equal(try_open(key, TEST_ACCOUNT, UINT64_MAX, blob, len), VAULT_E_VERSION);
    blob[4] = 3;
    assert_int_equal(vault_blob_peek(blob, len, &account, &rev), VAULT_E_VERSION);
    assert_non_null(strstr(vault_last_error(), "version 3"));
    blob[4] = 2;
    blob[0] = 'X';
    assert_int_equal(vault_blob_peek(blob, len, &account, &rev), VAULT_E_CORRUPT);
    assert_int_equal(vault_blob_peek(NULL, len, &account, &rev), VAULT_E_INVALID);
    assert_int_equal(vault_blob_peek(blob, len, NULL, &rev), VAULT_E_INVALID);
    vault_free(blob);
}

static void test_blob_seal__refuses_bad_arguments(void **state)
{
    (void)state;
    uint8_t key[32], *blob = (uint8_t *)1;
    size_t len = 0;
    test_key(key, 1);
    assert_int_equal(vault_blob_seal(&blob, &len, key, "0011", 1, (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_null(blob);
    assert_int_equal(vault_blob_seal(&blob, &len, key, NULL, 1, (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_seal(&blob, &len, key, "zz112233445566778899aabbccddeeff", 1,
                                     (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_seal(&blob, &len, NULL, TEST_ACCOUNT, 1, (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_seal(NULL, &len, key, TEST_ACCOUNT, 1, (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_seal(&blob, NULL, key, TEST_ACCOUNT, 1, (const uint8_t *)"x", 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_seal(&blob, &len, key, TEST_ACCOUNT, 1, NULL, 1), VAULT_E_INVALID);
    /* The size is checked before the plaintext is read. */
    assert_int_equal(vault_blob_seal(&blob, &len, key, TEST_ACCOUNT, 1, (const uint8_t *)"x",
                                     (size_t)VAULT_BLOB_MAX_PLAINTEXT + 1),
                     VAULT_E_LIMIT);
    assert_null(blob);
}

static void test_blob_open__refuses_bad_arguments(void **state)
{
    (void)state;
    uint8_t key[32], *out = NULL;
    size_t len, out_len;
    test_key(key, 1);
    uint8_t *blob = seal(&len, key, TEST_ACCOUNT, 1, SMALL, strlen(SMALL));
    assert_int_equal(vault_blob_open(&out, &out_len, key, "00", 1, blob, len), VAULT_E_INVALID);
    assert_int_equal(vault_blob_open(&out, &out_len, NULL, TEST_ACCOUNT, 1, blob, len),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_open(&out, &out_len, key, TEST_ACCOUNT, 1, NULL, len),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_open(NULL, &out_len, key, TEST_ACCOUNT, 1, blob, len),
                     VAULT_E_INVALID);
    assert_int_equal(vault_blob_open(&out, NULL, key, TEST_ACCOUNT, 1, blob, len),
                     VAULT_E_INVALID);
    /* Over the blob size limit: refused from the header alone, before any
     * byte past it is read (so the short buffer is never overrun). */
    assert_int_equal(vault_blob_open(&out, &out_len, key, TEST_ACCOUNT, 1, blob,
                                     (size_t)VAULT_BLOB_MAX_BYTES + 1),
                     VAULT_E_LIMIT);
    assert_null(out);
    vault_free(blob);
}

/* Every allocation on the seal and open paths (subkeys, work buffer, zlib
 * state, output) fails in turn: each call reports VAULT_E_NOMEM and frees
 * everything (the sanitizer build checks for leaks). */
static void test_blob_seal__every_allocation_failure_is_clean(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 1);
    size_t n = 1, len = 0;
    uint8_t *blob = NULL;
    for (;; n++) {
        vault__alloc_fail_after(n);
        int rc = vault_blob_seal(&blob, &len, key, TEST_ACCOUNT, 1, (const uint8_t *)SMALL,
                                 strlen(SMALL));
        vault__alloc_fail_after(0);
        if (rc == VAULT_OK)
            break;
        assert_int_equal(rc, VAULT_E_NOMEM);
        assert_null(blob);
    }
    assert_true(n > 4); /* work buffer, zlib state, subkeys, output at least */

    uint8_t *out = NULL;
    size_t out_len = 0;
    for (n = 1;; n++) {
        vault__alloc_fail_after(n);
        int rc = vault_blob_open(&out, &out_len, key, TEST_ACCOUNT, 1, blob, len);
        vault__alloc_fail_after(0);
        if (rc == VAULT_OK)
            break;
        assert_int_equal(rc, VAULT_E_NOMEM);
        assert_null(out);
    }
    assert_true(n > 3); /* subkeys, inner buffer, output, zlib state */
    assert_int_equal(out_len, strlen(SMALL));
    assert_memory_equal(out, SMALL, out_len);
    vault_free(out);

    char *account = NULL;
    uint64_t rev;
    vault__alloc_fail_after(1);
    assert_int_equal(vault_blob_peek(blob, len, &account, &rev), VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
    assert_null(account);
    vault_free(blob);
}

int blob_seal_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_seal__roundtrip_sizes),
        cmocka_unit_test(test_blob_seal__hides_content_and_uses_fresh_nonces),
        cmocka_unit_test(test_blob_open__rejects_wrong_key),
        cmocka_unit_test(test_blob_open__binds_account_and_revision),
        cmocka_unit_test(test_blob_open__rejects_every_bit_flip),
        cmocka_unit_test(test_blob_open__rejects_every_truncation_and_extension),
        cmocka_unit_test(test_blob_peek__reads_clear_header),
        cmocka_unit_test(test_blob_seal__refuses_bad_arguments),
        cmocka_unit_test(test_blob_open__refuses_bad_arguments),
        cmocka_unit_test(test_blob_seal__every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests_name("blob_seal", tests, NULL, NULL);
}

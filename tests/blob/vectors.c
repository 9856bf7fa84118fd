/* Known-answer vectors in tests/vectors/ (one .txt per vector) (documented in docs/format.md;
 * independently recomputed by tests/vectors/check_vectors.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "blob/blob_int.h"
#include "blob_tests.h"
#include "common/common.h"

typedef struct hexbuf {
    uint8_t *data;
    size_t len;
} hexbuf;

static hexbuf field_bytes(const char *text, const char *name)
{
    const char *hex = blobtest_vector_field(text, name);
    assert_non_null(hex);
    hexbuf b = {NULL, strlen(hex) / 2};
    assert_int_equal(strlen(hex) % 2, 0);
    b.data = malloc(b.len + 1);
    assert_non_null(b.data);
    assert_int_equal(vault__hex2bin(b.data, b.len, hex), VAULT_OK);
    return b;
}

static char *read_vector(const char *file)
{
    char path[1024];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", VAULT_TEST_VECTORS, file);
    char *text = (char *)test_read_file(path, &len);
    assert_non_null(text);
    return text;
}

/* The vector's "ancestors = rev:hash,rev:hash" (absent: none). */
static void vector_chain(const char *text, vault_chain *chain)
{
    const char *list = blobtest_vector_field(text, "ancestors");
    chain->count = 0;
    while (list != NULL && *list != '\0') {
        char *end = NULL;
        chain->revision[chain->count] = strtoull(list, &end, 10);
        assert_int_equal(*end, ':');
        char hex[2 * VAULT_CHAIN_HASH_BYTES + 1];
        memcpy(hex, end + 1, sizeof hex - 1);
        hex[sizeof hex - 1] = '\0';
        assert_int_equal(vault__hex2bin(chain->hash[chain->count], VAULT_CHAIN_HASH_BYTES, hex),
                         VAULT_OK);
        chain->count++;
        list = end + 1 + 2 * VAULT_CHAIN_HASH_BYTES;
        if (*list == ',')
            list++;
    }
}

static int collect_nothing(void *ctx, const uint8_t *piece, size_t len, size_t total)
{
    (void)ctx, (void)piece, (void)len, (void)total;
    return VAULT_OK;
}

/* The chain a vector states comes back from opening it, and its name is the
 * vector's "hash" when given. */
static void check_vector_chain(const char *text, const uint8_t *key, const char *account,
                               uint64_t revision, const uint8_t *blob, size_t len,
                               const vault_chain *want)
{
    vault_chain got;
    assert_int_equal(vault_blob__open_chain(key, account, revision, blob, len, &got,
                                            collect_nothing, NULL),
                     VAULT_OK);
    assert_int_equal(got.count, want->count);
    for (uint32_t i = 0; i < want->count; i++) {
        assert_int_equal(got.revision[i], want->revision[i]);
        assert_memory_equal(got.hash[i], want->hash[i], VAULT_CHAIN_HASH_BYTES);
    }
    const char *hash_hex = blobtest_vector_field(text, "hash");
    if (hash_hex != NULL) {
        uint8_t hash[VAULT_CHAIN_HASH_BYTES], expect[VAULT_CHAIN_HASH_BYTES];
        assert_int_equal(vault__hex2bin(expect, sizeof expect, hash_hex), VAULT_OK);
        vault_chain__hash(hash, blob, len);
        assert_memory_equal(hash, expect, sizeof hash);
    }
}

/* Seals the vector's plaintext with its nonce and chain. */
static uint8_t *seal_vector(size_t *blob_len, const uint8_t *key, const char *account,
                            uint64_t revision, const vault_chain *chain, const uint8_t *plain,
                            size_t plain_len, const uint8_t *nonce)
{
    vault_blob__sealer *s = NULL;
    uint8_t *blob = NULL;
    assert_int_equal(vault_blob__seal_begin_chain(&s, key, account, revision, chain, plain_len,
                                                  nonce),
                     VAULT_OK);
    assert_int_equal(vault_blob__seal_write(s, plain, plain_len), VAULT_OK);
    assert_int_equal(vault_blob__seal_end(s, &blob, blob_len), VAULT_OK);
    return blob;
}

static void check_blob_vector(const char *file)
{
    char *text = read_vector(file);
    hexbuf key = field_bytes(text, "key"), nonce = field_bytes(text, "nonce");
    hexbuf plain = field_bytes(text, "plaintext"), expect = field_bytes(text, "blob");
    char account[40];
    snprintf(account, sizeof account, "%s", blobtest_vector_field(text, "account_id"));
    uint64_t revision = strtoull(blobtest_vector_field(text, "revision"), NULL, 10);
    assert_int_equal(key.len, 32);
    assert_int_equal(nonce.len, 24);

    /* Opening is the portable check: it holds with any zlib. */
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(vault_blob_open(&out, &out_len, key.data, account, revision, expect.data,
                                     expect.len),
                     VAULT_OK);
    assert_int_equal(out_len, plain.len);
    assert_memory_equal(out, plain.data, plain.len);
    vault_free(out);

    /* Sealing must reproduce every byte (depends on zlib's level-1 output). */
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    vault_chain chain;
    vector_chain(text, &chain);
    if (chain.count == 0)
        assert_int_equal(vault_blob__seal_with_nonce(&blob, &blob_len, key.data, account,
                                                     revision, plain.data, plain.len, nonce.data),
                         VAULT_OK);
    else
        blob = seal_vector(&blob_len, key.data, account, revision, &chain, plain.data, plain.len,
                           nonce.data);
    assert_int_equal(blob_len, expect.len);
    assert_memory_equal(blob, expect.data, expect.len);
    vault_free(blob);
    check_vector_chain(text, key.data, account, revision, expect.data, expect.len, &chain);

    char *peek_account = NULL;
    uint64_t peek_revision = 0;
    assert_int_equal(vault_blob_peek(expect.data, expect.len, &peek_account, &peek_revision),
                     VAULT_OK);
    assert_string_equal(peek_account, account);
    assert_int_equal(peek_revision, revision);
    vault_free(peek_account);

    free(key.data);
    free(nonce.data);
    free(plain.data);
    free(expect.data);
    free(text);
}

static void test_blob_vectors__empty(void **state)
{
    (void)state;
    check_blob_vector("blob-v2-empty.txt");
}

static void test_blob_vectors__json(void **state)
{
    (void)state;
    check_blob_vector("blob-v2-json.txt");
}

static void test_blob_vectors__padded_above_floor(void **state)
{
    (void)state;
    check_blob_vector("blob-v2-padme.txt");
}

static void test_blob_vectors__chain_of_two_ancestors(void **state)
{
    (void)state;
    check_blob_vector("blob-v2-chain.txt");
}

/* The test's own sealer (written from docs/format.md: compress2 at level 1,
 * lengths, zero padding to the vector's size, hand-made subkeys and tag)
 * reproduces the vector, so the document, the library and the vectors agree. */
static void test_blob_vectors__match_independent_sealer(void **state)
{
    (void)state;
    char *text = read_vector("blob-v2-json.txt");
    hexbuf key = field_bytes(text, "key"), nonce = field_bytes(text, "nonce");
    hexbuf plain = field_bytes(text, "plaintext"), expect = field_bytes(text, "blob");
    uint8_t header[32], z[512];
    uLongf zlen = sizeof z;
    blobtest_header(header, TEST_ACCOUNT, 42);
    assert_int_equal(compress2(z, &zlen, plain.data, plain.len, 1), Z_OK);
    size_t padded = expect.len - 104;
    assert_int_equal(padded, vault_blob__padded_len(BLOBTEST_DATA_OFF + zlen));
    uint8_t *inner = blobtest_inner(header, (uint32_t)zlen, (uint32_t)plain.len, z, zlen, padded);
    size_t ref_len = 0;
    uint8_t *ref = blobtest_hand_seal(&ref_len, key.data, nonce.data, header, inner, padded);
    assert_int_equal(ref_len, expect.len);
    assert_memory_equal(ref, expect.data, expect.len);
    free(ref);
    free(inner);
    free(key.data);
    free(nonce.data);
    free(plain.data);
    free(expect.data);
    free(text);
}

static void test_blob_vectors__protected_key(void **state)
{
    (void)state;
    char *text = read_vector("protected-key-v1.txt");
    hexbuf kek = field_bytes(text, "kek"), key = field_bytes(text, "key");
    hexbuf nonce = field_bytes(text, "nonce"), expect = field_bytes(text, "protected");
    uint8_t out[VAULT_PROTECTED_KEY_BYTES], unwrapped[32];
    assert_int_equal(expect.len, VAULT_PROTECTED_KEY_BYTES);
    assert_int_equal(vault_blob__wrap_key_with_nonce(out, kek.data, key.data, nonce.data),
                     VAULT_OK);
    assert_memory_equal(out, expect.data, VAULT_PROTECTED_KEY_BYTES);
    assert_int_equal(vault_blob__unwrap_key(unwrapped, kek.data, expect.data, expect.len),
                     VAULT_OK);
    assert_memory_equal(unwrapped, key.data, 32);
    free(kek.data);
    free(key.data);
    free(nonce.data);
    free(expect.data);
    free(text);
}

int blob_vector_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_vectors__empty),
        cmocka_unit_test(test_blob_vectors__json),
        cmocka_unit_test(test_blob_vectors__padded_above_floor),
        cmocka_unit_test(test_blob_vectors__chain_of_two_ancestors),
        cmocka_unit_test(test_blob_vectors__match_independent_sealer),
        cmocka_unit_test(test_blob_vectors__protected_key),
    };
    return cmocka_run_group_tests_name("blob_vectors", tests, NULL, NULL);
}

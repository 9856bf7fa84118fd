/* Authentic but malformed blobs, made with the test's own sealer from
 * docs/format.md: only a key holder can make these, and the library must
 * still refuse each with the right code and never over-allocate. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "blob/blob.h"
#include "blob_tests.h"
#include "common/common.h"

static const uint8_t NONCE[24] = {1, 2, 3};

typedef struct crafted {
    uint8_t key[32];
    uint8_t header[32];
    uint8_t *z;
    size_t zlen;
} crafted;

static void compress_text(crafted *c, const char *text)
{
    uLongf zlen = compressBound(strlen(text));
    c->z = malloc(zlen);
    assert_non_null(c->z);
    assert_int_equal(compress2(c->z, &zlen, (const Bytef *)text, strlen(text), 1), Z_OK);
    c->zlen = zlen;
}

/* Seals an inner plaintext with explicit length fields and padded length and
 * returns the code vault_blob_open gives for (TEST_ACCOUNT, revision 9). */
static int open_crafted(const crafted *c, const uint8_t *inner_header, uint32_t clen,
                        uint32_t ilen, size_t padded)
{
    uint8_t *inner = blobtest_inner(inner_header, clen, ilen, c->z, c->zlen, padded);
    size_t blob_len = 0;
    uint8_t *blob = blobtest_hand_seal(&blob_len, c->key, NONCE, c->header, inner, padded);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = vault_blob_open(&out, &out_len, c->key, TEST_ACCOUNT, 9, blob, blob_len);
    if (rc == VAULT_OK)
        vault_free(out);
    else
        assert_null(out);
    free(blob);
    free(inner);
    return rc;
}

static crafted make(const char *text)
{
    crafted c;
    test_key(c.key, 3);
    blobtest_header(c.header, TEST_ACCOUNT, 9);
    compress_text(&c, text);
    return c;
}

static const char TEXT[] = "{\"items\":[{\"title\":\"a\"},{\"title\":\"b\"}]}";

static void test_blob_malformed__well_formed_control_opens(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT), padded),
                     VAULT_OK);
    free(c.z);
}

static void test_blob_malformed__rejects_nonzero_padding(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    uint8_t *inner = blobtest_inner(c.header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT), c.z,
                                    c.zlen, padded);
    inner[padded - 1] = 1;
    size_t blob_len;
    uint8_t *blob = blobtest_hand_seal(&blob_len, c.key, NONCE, c.header, inner, padded);
    uint8_t *out = NULL;
    size_t out_len;
    assert_int_equal(vault_blob_open(&out, &out_len, c.key, TEST_ACCOUNT, 9, blob, blob_len),
                     VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "padding is not zero"));
    free(blob);
    free(inner);
    free(c.z);
}

/* The crafted blob (revision 9) with its chain record edited by edit. */
static int open_with_chain(crafted *c, void (*edit)(uint8_t *inner))
{
    uint8_t ancestors[2 * 40];
    memset(ancestors, 0, sizeof ancestors);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + sizeof ancestors + c->zlen);
    uint8_t *inner = blobtest_inner(c->header, (uint32_t)c->zlen, (uint32_t)strlen(TEXT), NULL,
                                    0, padded);
    /* two ancestors, revisions 8 and 7, then the stream */
    inner[40] = 2;
    vault__store64_be(inner + 48, 8);
    vault__store64_be(inner + 88, 7);
    memset(inner + 56, 0xa8, 32);
    memset(inner + 96, 0xa7, 32);
    memcpy(inner + 128, c->z, c->zlen);
    edit(inner);
    size_t blob_len;
    uint8_t *blob = blobtest_hand_seal(&blob_len, c->key, NONCE, c->header, inner, padded);
    uint8_t *out = NULL;
    size_t out_len;
    int rc = vault_blob_open(&out, &out_len, c->key, TEST_ACCOUNT, 9, blob, blob_len);
    vault_free(out);
    free(blob);
    free(inner);
    return rc;
}

static void chain_as_is(uint8_t *inner) { (void)inner; }
static void chain_count_too_high(uint8_t *inner) { inner[40] = 33; }
static void chain_count_past_data(uint8_t *inner) { inner[40] = 3; }
static void chain_reserved_set(uint8_t *inner) { inner[47] = 1; }
static void chain_out_of_order(uint8_t *inner) { vault__store64_be(inner + 88, 6); }
static void chain_not_parent(uint8_t *inner) { vault__store64_be(inner + 48, 9); }

static void test_blob_malformed__chain_record_is_checked(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    assert_int_equal(open_with_chain(&c, chain_as_is), VAULT_OK);
    assert_int_equal(open_with_chain(&c, chain_count_too_high), VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "33 ancestors"));
    /* a third "ancestor" would be the stream's bytes: not revision 6 */
    assert_int_equal(open_with_chain(&c, chain_count_past_data), VAULT_E_CORRUPT);
    assert_int_equal(open_with_chain(&c, chain_reserved_set), VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "reserved chain bytes"));
    assert_int_equal(open_with_chain(&c, chain_out_of_order), VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "ancestor 1 is revision 6"));
    assert_int_equal(open_with_chain(&c, chain_not_parent), VAULT_E_CORRUPT);
    free(c.z);
}

static void test_blob_malformed__rejects_inconsistent_lengths(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    uint32_t clen = (uint32_t)c.zlen, ilen = (uint32_t)strlen(TEXT);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    /* More padding than Padmé gives (the next bucket). */
    assert_int_equal(open_crafted(&c, c.header, clen, ilen, vault_blob__padded_len(padded + 1)),
                     VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "padding length"));
    /* Compressed length past the end of the inner plaintext, or huge. */
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)(padded - 39), ilen, padded),
                     VAULT_E_CORRUPT);
    assert_int_equal(open_crafted(&c, c.header, UINT32_MAX, ilen, padded), VAULT_E_CORRUPT);
    /* Compressed length too short: the stream is cut (the rest reads as padding
     * that is not zero, or as a truncated stream). */
    assert_int_equal(open_crafted(&c, c.header, clen - 1, ilen, padded), VAULT_E_CORRUPT);
    /* Inflated length one too small, one too large, zero. */
    assert_int_equal(open_crafted(&c, c.header, clen, ilen - 1, padded), VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "longer than announced"));
    assert_int_equal(open_crafted(&c, c.header, clen, ilen + 1, padded), VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "shorter than announced"));
    assert_int_equal(open_crafted(&c, c.header, clen, 0, padded), VAULT_E_CORRUPT);
    free(c.z);
}

static void test_blob_malformed__rejects_trailing_garbage_in_stream(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    uint8_t *z = realloc(c.z, c.zlen + 3);
    assert_non_null(z);
    memcpy(z + c.zlen, "\x01\x02\x03", 3);
    c.z = z;
    c.zlen += 3;
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT), padded),
                     VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "trailing"));
    free(c.z);
}

static void test_blob_malformed__rejects_broken_stream(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    c.z[c.zlen - 1] ^= 0xff; /* adler32 */
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT), padded),
                     VAULT_E_CORRUPT);
    c.z[0] = 0x00; /* not a zlib header */
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT), padded),
                     VAULT_E_CORRUPT);
    free(c.z);
}

/* Inner header must repeat the clear one byte for byte. */
static void test_blob_malformed__rejects_inner_header_mismatch(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    uint8_t inner_header[32];
    blobtest_header(inner_header, TEST_ACCOUNT, 10);
    assert_int_equal(open_crafted(&c, inner_header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT),
                                  padded),
                     VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "inner header"));
    blobtest_header(inner_header, OTHER_ACCOUNT, 9);
    assert_int_equal(open_crafted(&c, inner_header, (uint32_t)c.zlen, (uint32_t)strlen(TEXT),
                                  padded),
                     VAULT_E_CORRUPT);
    free(c.z);
}

/* A zlib stream of 300 MiB of zeros (about 300 KiB at level 9), made in chunks. */
static void make_bomb(crafted *c)
{
    static uint8_t zeros[1 << 20];
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit(&s, 9), Z_OK);
    size_t cap = 4u << 20;
    c->z = malloc(cap);
    assert_non_null(c->z);
    int zrc = Z_OK;
    for (int i = 0; i < 300; i++) {
        s.next_in = zeros;
        s.avail_in = sizeof zeros;
        s.next_out = c->z + s.total_out;
        s.avail_out = (uInt)(cap - s.total_out);
        zrc = deflate(&s, i == 299 ? Z_FINISH : Z_NO_FLUSH);
        assert_true(zrc == Z_OK || zrc == Z_STREAM_END);
        assert_int_equal(s.avail_in, 0);
    }
    assert_int_equal(zrc, Z_STREAM_END);
    c->zlen = s.total_out;
    assert_true(c->zlen < (1u << 20));
    deflateEnd(&s);
}

/* The announced size is checked against the cap before anything is allocated
 * for it; a stream that inflates past its announced size stops there. */
static void test_blob_malformed__refuses_decompression_bomb(void **state)
{
    (void)state;
    crafted c;
    test_key(c.key, 3);
    blobtest_header(c.header, TEST_ACCOUNT, 9);
    make_bomb(&c);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);

    /* Announced honestly (300 MiB > cap): refused with only the subkeys and
     * the inner buffer allocated, so neither 300 MiB nor zlib state. */
    vault__alloc_fail_after(0);
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, 300u << 20, padded),
                     VAULT_E_LIMIT);
    assert_int_equal(vault__alloc_count(), 2);
    assert_non_null(strstr(vault_last_error(), "over the"));
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, UINT32_MAX, padded),
                     VAULT_E_LIMIT);
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, VAULT_BLOB_MAX_PLAINTEXT + 1,
                                  padded),
                     VAULT_E_LIMIT);

    /* Announced small: inflation stops at the announced size. */
    assert_int_equal(open_crafted(&c, c.header, (uint32_t)c.zlen, 4096, padded),
                     VAULT_E_CORRUPT);
    assert_non_null(strstr(vault_last_error(), "longer than announced"));
    free(c.z);
}

static void test_blob_malformed__refuses_unknown_version_and_reserved(void **state)
{
    (void)state;
    crafted c = make(TEXT);
    size_t padded = vault_blob__padded_len(BLOBTEST_DATA_OFF + c.zlen);
    static const struct {
        size_t pos;
        uint8_t value;
        int code;
    } cases[] = {
        {4, 0, VAULT_E_VERSION},   {4, 1, VAULT_E_VERSION},   {4, 3, VAULT_E_VERSION},
        {4, 255, VAULT_E_VERSION},
        {5, 0, VAULT_E_VERSION},   {5, 2, VAULT_E_VERSION},   {6, 1, VAULT_E_CORRUPT},
        {7, 0x80, VAULT_E_CORRUPT}, {0, 'z', VAULT_E_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Correctly tagged and sealed with the odd header, so only the
         * structural check can refuse it. */
        crafted odd = c;
        odd.header[cases[i].pos] = cases[i].value;
        assert_int_equal(open_crafted(&odd, odd.header, (uint32_t)c.zlen,
                                      (uint32_t)strlen(TEXT), padded),
                         cases[i].code);
    }
    /* A future version may be shorter: the version is still what is reported. */
    uint8_t tiny[8] = {'Z', 'K', 'V', 'B', 3, 1, 0, 0};
    uint8_t *out = NULL;
    size_t out_len;
    assert_int_equal(vault_blob_open(&out, &out_len, c.key, TEST_ACCOUNT, 9, tiny, sizeof tiny),
                     VAULT_E_VERSION);
    free(c.z);
}

int blob_malformed_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_malformed__well_formed_control_opens),
        cmocka_unit_test(test_blob_malformed__rejects_nonzero_padding),
        cmocka_unit_test(test_blob_malformed__rejects_inconsistent_lengths),
        cmocka_unit_test(test_blob_malformed__chain_record_is_checked),
        cmocka_unit_test(test_blob_malformed__rejects_trailing_garbage_in_stream),
        cmocka_unit_test(test_blob_malformed__rejects_broken_stream),
        cmocka_unit_test(test_blob_malformed__rejects_inner_header_mismatch),
        cmocka_unit_test(test_blob_malformed__refuses_decompression_bomb),
        cmocka_unit_test(test_blob_malformed__refuses_unknown_version_and_reserved),
    };
    return cmocka_run_group_tests_name("blob_malformed", tests, NULL, NULL);
}

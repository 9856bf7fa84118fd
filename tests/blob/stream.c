/* The streaming seal and open (vault_blob__seal_begin/write/end,
 * vault_blob__open_stream): byte-identical to the one-shot calls whatever the
 * pieces and the size hint, pieces bounded, writer errors passed on, limits. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "blob_tests.h"
#include "common/common.h"

/* Compressible but not trivially: words with a counter. */
static uint8_t *make_text(size_t len)
{
    uint8_t *t = malloc(len + 1);
    assert_non_null(t);
    size_t i = 0;
    for (unsigned n = 0; i < len; n++) {
        char word[32];
        int w = snprintf(word, sizeof word, "item%u,", (n * 2654435761u) % 100003u);
        for (int k = 0; k < w && i < len; k++)
            t[i++] = (uint8_t)word[k];
    }
    return t;
}

static uint8_t *seal_in_pieces(size_t *blob_len, const uint8_t *key, const uint8_t *nonce,
                               const uint8_t *pt, size_t len, size_t piece, size_t hint)
{
    vault_blob__sealer *s = NULL;
    uint8_t *blob = NULL;
    assert_int_equal(vault_blob__seal_begin(&s, key, TEST_ACCOUNT, 9, hint, nonce), VAULT_OK);
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal(vault_blob__seal_write(s, pt + off, n), VAULT_OK);
    }
    assert_int_equal(vault_blob__seal_end(s, &blob, blob_len), VAULT_OK);
    return blob;
}

static void test_blob_stream__pieces_and_hints_give_the_same_blob(void **state)
{
    (void)state;
    uint8_t key[32], nonce[24];
    test_key(key, 3);
    memset(nonce, 0x5a, sizeof nonce);
    static const size_t lens[] = {0, 1, 600, 70000, 3u << 20};
    static const size_t pieces[] = {1, 7, 4096, 65536, SIZE_MAX};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        size_t len = lens[l], one_len = 0;
        uint8_t *pt = make_text(len), *one = NULL;
        assert_int_equal(vault_blob__seal_with_nonce(&one, &one_len, key, TEST_ACCOUNT, 9, pt,
                                                     len, nonce),
                         VAULT_OK);
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            if (pieces[p] == 1 && len > 70000)
                continue; /* a byte at a time over megabytes only costs time */
            /* hint: none (grows from the minimum), far too small, exact, far too large */
            size_t hints[] = {0, len / 16, len, 4 * len + 100000};
            for (size_t h = 0; h < 4; h++) {
                size_t blob_len = 0;
                uint8_t *blob = seal_in_pieces(&blob_len, key, nonce, pt, len, pieces[p],
                                               hints[h]);
                assert_int_equal(blob_len, one_len);
                assert_memory_equal(blob, one, one_len);
                vault_free(blob);
            }
        }
        vault_free(one);
        free(pt);
    }
}

typedef struct collected {
    uint8_t *buf;
    size_t len, pieces, max_piece, total;
    size_t fail_at; /* piece number that returns an error; 0 = never */
} collected;

static int collect(void *ctx, const uint8_t *piece, size_t len, size_t total)
{
    collected *c = ctx;
    if (++c->pieces == c->fail_at)
        return vault__fail(VAULT_E_NOMEM, "writer refused");
    assert_true(len > 0);
    assert_true(c->len + len <= total);
    memcpy(c->buf + c->len, piece, len);
    c->len += len;
    c->total = total;
    if (len > c->max_piece)
        c->max_piece = len;
    return VAULT_OK;
}

static void test_blob_stream__open_hands_over_bounded_pieces(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 4);
    size_t len = 1000000, blob_len = 0;
    uint8_t *pt = make_text(len), *blob = NULL;
    assert_int_equal(vault_blob_seal(&blob, &blob_len, key, TEST_ACCOUNT, 2, pt, len), VAULT_OK);

    collected c = {malloc(len), 0, 0, 0, 0, 0};
    assert_int_equal(vault_blob__open_stream(key, TEST_ACCOUNT, 2, blob, blob_len, collect, &c),
                     VAULT_OK);
    assert_int_equal(c.len, len);
    assert_int_equal(c.total, len);
    assert_memory_equal(c.buf, pt, len);
    assert_int_equal(c.max_piece, VAULT_BLOB_PIECE);
    assert_true(c.pieces >= len / VAULT_BLOB_PIECE);

    /* A writer's error stops the open at that piece and is returned. */
    collected f = {c.buf, 0, 0, 0, 0, 3};
    assert_int_equal(vault_blob__open_stream(key, TEST_ACCOUNT, 2, blob, blob_len, collect, &f),
                     VAULT_E_NOMEM);
    assert_int_equal(f.pieces, 3);
    assert_string_equal(vault_last_error(), "writer refused");

    /* Every check happens before the first piece: a wrong key or revision
     * never reaches the writer. */
    collected none = {c.buf, 0, 0, 0, 0, 1};
    uint8_t wrong[32];
    test_key(wrong, 5);
    assert_int_equal(vault_blob__open_stream(wrong, TEST_ACCOUNT, 2, blob, blob_len, collect,
                                             &none),
                     VAULT_E_AUTH);
    assert_int_equal(vault_blob__open_stream(key, TEST_ACCOUNT, 3, blob, blob_len, collect,
                                             &none),
                     VAULT_E_MISMATCH);
    assert_int_equal(none.pieces, 0);
    assert_int_equal(vault_blob__open_stream(key, TEST_ACCOUNT, 2, blob, blob_len, NULL, NULL),
                     VAULT_E_INVALID);
    free(c.buf);
    free(pt);
    vault_free(blob);
}

static void test_blob_stream__limits_and_arguments(void **state)
{
    (void)state;
    uint8_t key[32], *blob = (uint8_t *)1;
    size_t blob_len = 0;
    test_key(key, 6);
    vault_blob__sealer *s = NULL;
    assert_int_equal(vault_blob__seal_begin(&s, NULL, TEST_ACCOUNT, 1, 0, NULL), VAULT_E_INVALID);
    assert_int_equal(vault_blob__seal_begin(&s, key, "not hex", 1, 0, NULL), VAULT_E_INVALID);
    assert_null(s);

    /* Over the plaintext limit: refused before a byte is read. */
    assert_int_equal(vault_blob__seal_begin(&s, key, TEST_ACCOUNT, 1, 0, NULL), VAULT_OK);
    assert_int_equal(vault_blob__seal_write(s, "x", 1), VAULT_OK);
    assert_int_equal(vault_blob__seal_write(s, "x", VAULT_BLOB_MAX_PLAINTEXT), VAULT_E_LIMIT);
    assert_int_equal(vault_blob__seal_write(s, NULL, 1), VAULT_E_INVALID);
    vault_blob__seal_abort(s);
    vault_blob__seal_abort(NULL);

    /* seal_end without outputs frees the sealer and refuses. */
    assert_int_equal(vault_blob__seal_begin(&s, key, TEST_ACCOUNT, 1, 0, NULL), VAULT_OK);
    assert_int_equal(vault_blob__seal_end(s, NULL, &blob_len), VAULT_E_INVALID);
    assert_int_equal(vault_blob__seal_begin(&s, key, TEST_ACCOUNT, 1, 0, NULL), VAULT_OK);
    assert_int_equal(vault_blob__seal_end(s, &blob, NULL), VAULT_E_INVALID);
    assert_null(blob);
}

/* Growing the output (hint 0) and every allocation on the way can fail. */
static void test_blob_stream__every_allocation_failure_is_clean(void **state)
{
    (void)state;
    uint8_t key[32];
    test_key(key, 7);
    size_t len = 300000, n;
    uint8_t *pt = make_text(len);
    for (n = 1;; n++) {
        vault_blob__sealer *s = NULL;
        uint8_t *blob = NULL;
        size_t blob_len = 0;
        vault__alloc_fail_after(n);
        int rc = vault_blob__seal_begin(&s, key, TEST_ACCOUNT, 1, 0, NULL);
        for (size_t off = 0; rc == VAULT_OK && off < len; off += 50000)
            rc = vault_blob__seal_write(s, pt + off, 50000);
        if (rc == VAULT_OK)
            rc = vault_blob__seal_end(s, &blob, &blob_len);
        else
            vault_blob__seal_abort(s);
        vault__alloc_fail_after(0);
        if (rc == VAULT_OK) {
            vault_free(blob);
            break;
        }
        assert_int_equal(rc, VAULT_E_NOMEM);
        assert_null(blob);
    }
    assert_true(n > 8); /* sealer, subkeys, output, zlib state, several growths */
    free(pt);
}

int blob_stream_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_stream__pieces_and_hints_give_the_same_blob),
        cmocka_unit_test(test_blob_stream__open_hands_over_bounded_pieces),
        cmocka_unit_test(test_blob_stream__limits_and_arguments),
        cmocka_unit_test(test_blob_stream__every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests_name("blob_stream", tests, NULL, NULL);
}

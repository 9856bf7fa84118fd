/*
 * Sealing a vault blob from a plaintext given in pieces (the vault prints
 * itself item by item): the zlib stream is written straight into the output
 * blob, after its clear part and the inner header, then padded and encrypted
 * in place, so the blob is the only large buffer. The layout is in blob.c
 * and docs/format.md.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob_int.h"
#include "common/common.h"

#define SEAL_MAX_CAP ((size_t)VAULT_BLOB_MAX_BYTES)
#define SEAL_SLICE (1u << 30) /* zlib counts in uInt */

struct vault_blob__sealer {
    z_stream z;
    int z_ready;
    uint8_t *out;  /* output memory (vault__out_alloc) of cap bytes */
    size_t cap;
    size_t data_off; /* where the zlib stream starts in out: after the ancestors */
    size_t in_len; /* plaintext so far */
    uint8_t header[BLOB_HEADER_BYTES];
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    vault_blob__keys *keys;
};

static size_t compressed_so_far(const vault_blob__sealer *s)
{
    return (size_t)(s->z.next_out - (s->out + s->data_off));
}

static void point_output(vault_blob__sealer *s, size_t produced)
{
    size_t room = s->cap - s->data_off - produced;
    s->z.next_out = s->out + s->data_off + produced;
    s->z.avail_out = (uInt)(room < SEAL_SLICE ? room : SEAL_SLICE);
}

/* Moves the output to a buffer of at least need bytes (doubling); the old
 * one held compressed plaintext and is wiped. */
static int grow_output(vault_blob__sealer *s, size_t need)
{
    size_t produced = compressed_so_far(s);
    size_t cap = s->cap * 2 > need ? s->cap * 2 : need;
    if (need > SEAL_MAX_CAP)
        return vault__fail(VAULT_E_LIMIT, "sealed vault would be over the %u-byte blob limit",
                           VAULT_BLOB_MAX_BYTES);
    if (cap > SEAL_MAX_CAP)
        cap = SEAL_MAX_CAP;
    uint8_t *out = vault__out_grow(s->out, s->data_off + produced, cap);
    if (out == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory for a %zu-byte blob", cap);
    s->out = out;
    s->cap = cap;
    point_output(s, produced);
    return VAULT_OK;
}

/* Runs deflate until it has taken all input (Z_NO_FLUSH) or ended the stream
 * (Z_FINISH), growing the output whenever it fills. */
static int run_deflate(vault_blob__sealer *s, int flush)
{
    for (;;) {
        if (s->z.avail_out == 0) {
            int rc = grow_output(s, s->cap + 1);
            if (rc != VAULT_OK)
                return rc;
        }
        int zrc = deflate(&s->z, flush);
        if (zrc == Z_STREAM_END || (flush == Z_NO_FLUSH && zrc == Z_OK && s->z.avail_in == 0))
            return VAULT_OK;
        if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && s->z.avail_out == 0))
            return vault__fail(VAULT_E_INTERNAL, "zlib deflate failed (%d)", zrc);
    }
}

/* Room for the hinted plaintext even if it does not compress: only the
 * pages the stream reaches are ever touched. */
static size_t initial_capacity(size_t data_off, size_t size_hint)
{
    size_t hint = size_hint < VAULT_BLOB_MAX_PLAINTEXT ? size_hint : VAULT_BLOB_MAX_PLAINTEXT;
    size_t cap = BLOB_INNER_OFF + vault_blob__padded_len(data_off - BLOB_INNER_OFF +
                                                         vault_blob__deflate_bound(hint));
    return cap < SEAL_MAX_CAP ? cap : SEAL_MAX_CAP;
}

int vault_blob__seal_begin(vault_blob__sealer **out, const uint8_t *key,
                           const char *account_id, uint64_t revision, size_t size_hint,
                           const uint8_t *nonce)
{
    return vault_blob__seal_begin_chain(out, key, account_id, revision, NULL, size_hint, nonce);
}

/* A chain is only stated as the blob's own: ancestors revision-1, -2, ... */
static int check_chain(const vault_chain *chain, uint64_t revision)
{
    if (chain == NULL)
        return VAULT_OK;
    if (chain->count > VAULT_CHAIN_MAX || (chain->count > 0 && chain->count >= revision))
        return vault__fail(VAULT_E_INVALID, "blob seal: %u ancestors for revision %llu",
                           (unsigned)chain->count, (unsigned long long)revision);
    for (uint32_t i = 0; i < chain->count; i++)
        if (chain->revision[i] != revision - 1 - i)
            return vault__fail(VAULT_E_INVALID, "blob seal: ancestors out of order");
    return VAULT_OK;
}

int vault_blob__seal_begin_chain(vault_blob__sealer **out, const uint8_t *key,
                                 const char *account_id, uint64_t revision,
                                 const vault_chain *chain, size_t size_hint,
                                 const uint8_t *nonce)
{
    uint8_t account[VAULT_ACCOUNT_ID_BYTES];
    if (out == NULL || key == NULL)
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    *out = NULL;
    int rc = vault_blob__parse_account(account, account_id);
    if (rc == VAULT_OK)
        rc = check_chain(chain, revision);
    if (rc != VAULT_OK)
        return rc;
    vault_blob__sealer *s = vault__calloc(1, sizeof *s);
    if (s == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory to seal a vault");
    vault_blob__write_header(s->header, account, revision);
    if (nonce != NULL)
        memcpy(s->nonce, nonce, sizeof s->nonce);
    else
        randombytes_buf(s->nonce, sizeof s->nonce);
    rc = vault_blob__derive_keys(&s->keys, key, BLOB_KDF_CONTEXT);
    if (rc != VAULT_OK)
        goto fail;
    s->data_off = BLOB_INNER_OFF + INNER_DATA_OFF(chain != NULL ? chain->count : 0);
    s->cap = initial_capacity(s->data_off, size_hint);
    s->out = vault__out_alloc(s->cap);
    if (s->out == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "no memory for a %zu-byte blob", s->cap);
        goto fail;
    }
    vault_blob__write_chain(s->out + BLOB_INNER_OFF, chain);
    rc = vault_blob__deflate_init(&s->z);
    if (rc != VAULT_OK)
        goto fail;
    s->z_ready = 1;
    point_output(s, 0);
    *out = s;
    return VAULT_OK;
fail:
    vault_blob__seal_abort(s);
    return rc;
}

int vault_blob__seal_write(vault_blob__sealer *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (s == NULL || (p == NULL && len > 0))
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    if (len > VAULT_BLOB_MAX_PLAINTEXT - s->in_len)
        return vault__fail(VAULT_E_LIMIT, "vault is over the %u-byte limit",
                           VAULT_BLOB_MAX_PLAINTEXT);
    s->in_len += len;
    while (len > 0) {
        size_t slice = len < SEAL_SLICE ? len : SEAL_SLICE;
        /* zlib only reads through next_in, but its API type is not const. */
        s->z.next_in = (Bytef *)(uintptr_t)p;
        s->z.avail_in = (uInt)slice;
        int rc = run_deflate(s, Z_NO_FLUSH);
        if (rc != VAULT_OK)
            return rc;
        p += slice;
        len -= slice;
    }
    return VAULT_OK;
}

/* Inner plaintext in place: header copy, lengths, (the chain is there from
 * the start), the stream, zero padding. */
static int pad_inner(vault_blob__sealer *s, size_t *inner_len)
{
    size_t clen = compressed_so_far(s);
    size_t data = s->data_off - BLOB_INNER_OFF;
    size_t padded = vault_blob__padded_len(data + clen);
    if (padded > VAULT_BLOB_MAX_BYTES - BLOB_INNER_OFF)
        return vault__fail(VAULT_E_LIMIT, "sealed vault would be over the %u-byte blob limit",
                           VAULT_BLOB_MAX_BYTES);
    if (BLOB_INNER_OFF + padded > s->cap) {
        int rc = grow_output(s, BLOB_INNER_OFF + padded);
        if (rc != VAULT_OK)
            return rc;
    }
    uint8_t *inner = s->out + BLOB_INNER_OFF;
    memcpy(inner, s->header, BLOB_HEADER_BYTES);
    vault__store32_be(inner + INNER_CLEN_OFF, (uint32_t)clen);
    vault__store32_be(inner + INNER_ILEN_OFF, (uint32_t)s->in_len);
    memset(inner + data + clen, 0, padded - data - clen);
    *inner_len = padded;
    return VAULT_OK;
}

void vault_blob__seal_abort(vault_blob__sealer *s)
{
    if (s == NULL)
        return;
    if (s->z_ready)
        deflateEnd(&s->z);
    vault_free(s->out); /* wipes the compressed plaintext */
    vault_blob__free_keys(s->keys);
    sodium_memzero(s, sizeof *s);
    vault__free(s);
}

int vault_blob__seal_end(vault_blob__sealer *s, uint8_t **blob, size_t *blob_len)
{
    size_t inner_len = 0;
    int rc;
    if (blob != NULL)
        *blob = NULL;
    if (s == NULL || blob == NULL || blob_len == NULL) {
        vault_blob__seal_abort(s);
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    }
    rc = run_deflate(s, Z_FINISH);
    if (rc == VAULT_OK)
        rc = pad_inner(s, &inner_len);
    if (rc != VAULT_OK)
        goto done;
    uint8_t *out = s->out;
    memcpy(out, s->header, BLOB_HEADER_BYTES);
    memcpy(out + BLOB_NONCE_OFF, s->nonce, sizeof s->nonce);
    vault_blob__commit_tag(out + BLOB_TAG_OFF, s->keys, s->nonce, s->header, BLOB_HEADER_BYTES);
    crypto_secretbox_detached(out + BLOB_INNER_OFF, out + BLOB_MAC_OFF, out + BLOB_INNER_OFF,
                              inner_len, s->nonce, s->keys->encrypt);
    /* The reserved tail past the blob was never written. */
    *blob = vault__out_trim(out, BLOB_INNER_OFF + inner_len);
    *blob_len = BLOB_INNER_OFF + inner_len;
    s->out = NULL;
done:
    vault_blob__seal_abort(s);
    return rc;
}

static int seal_whole(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                      const char *account_id, uint64_t revision, const uint8_t *plaintext,
                      size_t plaintext_len, const uint8_t *nonce)
{
    vault_blob__sealer *s = NULL;
    if (blob != NULL)
        *blob = NULL;
    if (blob == NULL || blob_len == NULL || key == NULL ||
        (plaintext == NULL && plaintext_len > 0))
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    if (plaintext_len > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "vault of %zu bytes is over the %u-byte limit",
                           plaintext_len, VAULT_BLOB_MAX_PLAINTEXT);
    int rc = vault_blob__seal_begin(&s, key, account_id, revision, plaintext_len, nonce);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_blob__seal_write(s, plaintext, plaintext_len);
    if (rc != VAULT_OK) {
        vault_blob__seal_abort(s);
        return rc;
    }
    return vault_blob__seal_end(s, blob, blob_len);
}

int vault_blob__seal_with_nonce(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                                const char *account_id, uint64_t revision,
                                const uint8_t *plaintext, size_t plaintext_len,
                                const uint8_t *nonce)
{
    if (nonce == NULL) {
        if (blob != NULL)
            *blob = NULL;
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    }
    return seal_whole(blob, blob_len, key, account_id, revision, plaintext, plaintext_len,
                      nonce);
}

int vault_blob_seal(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                    const char *account_id, uint64_t revision, const uint8_t *plaintext,
                    size_t plaintext_len)
{
    return seal_whole(blob, blob_len, key, account_id, revision, plaintext, plaintext_len,
                      NULL);
}

/*
 * The sealed vault blob: clear header, nonce, key-commitment tag, then
 * crypto_secretbox of the padded inner plaintext (a copy of the header, the
 * two lengths, the chain of ancestors, the zlib stream, zero padding). Layout and reasoning in
 * docs/format.md.
 *
 * This file: the header, opening and peeking; sealing is in seal.c. Opening
 * costs one MAC, one decryption and one inflate pass; the plaintext leaves
 * in 64 KiB pieces, so a caller that parses as it goes (vault_open) never
 * holds the whole text.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob_int.h"
#include "common/common.h"

/* A parsed clear header. */
typedef struct blob_header {
    uint8_t account[VAULT_ACCOUNT_ID_BYTES];
    uint64_t revision;
} blob_header;

void vault_blob__write_header(uint8_t *out, const uint8_t *account, uint64_t revision)
{
    memcpy(out, BLOB_MAGIC, 4);
    out[4] = BLOB_VERSION;
    out[5] = BLOB_ALG_ZLIB_PADME_SECRETBOX;
    out[6] = out[7] = 0;
    memcpy(out + BLOB_ACCOUNT_OFF, account, VAULT_ACCOUNT_ID_BYTES);
    vault__store64_be(out + BLOB_REVISION_OFF, revision);
}

/* Structure only, no key: magic, version and algorithm first (so that a
 * future, shorter format is reported as a version problem), then reserved
 * bytes and the minimum length. */
static int parse_header(blob_header *h, const uint8_t *blob, size_t blob_len)
{
    if (blob_len < 8)
        return vault__fail(VAULT_E_CORRUPT, "not a vault blob (%zu bytes)", blob_len);
    if (memcmp(blob, BLOB_MAGIC, 4) != 0)
        return vault__fail(VAULT_E_CORRUPT, "not a vault blob (bad magic)");
    if (blob[4] != BLOB_VERSION)
        return vault__fail(VAULT_E_VERSION, "vault blob format version %u is not supported",
                           (unsigned)blob[4]);
    if (blob[5] != BLOB_ALG_ZLIB_PADME_SECRETBOX)
        return vault__fail(VAULT_E_VERSION, "vault blob algorithm %u is not supported",
                           (unsigned)blob[5]);
    if (blob[6] != 0 || blob[7] != 0)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: reserved header bytes are not zero");
    if (blob_len < BLOB_MIN_BYTES)
        return vault__fail(VAULT_E_CORRUPT, "vault blob truncated (%zu bytes, minimum %u)",
                           blob_len, BLOB_MIN_BYTES);
    memcpy(h->account, blob + BLOB_ACCOUNT_OFF, VAULT_ACCOUNT_ID_BYTES);
    h->revision = vault__load64_be(blob + BLOB_REVISION_OFF);
    return VAULT_OK;
}

int vault_blob__parse_account(uint8_t *account, const char *account_id)
{
    if (vault__hex2bin(account, VAULT_ACCOUNT_ID_BYTES, account_id) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "account id must be %u hex characters",
                           2 * VAULT_ACCOUNT_ID_BYTES);
    return VAULT_OK;
}

/* Decrypts the inner plaintext after checking the commitment tag. */
static int decrypt_inner(uint8_t **inner, size_t *inner_len, const uint8_t *key,
                         const uint8_t *blob, size_t blob_len)
{
    vault_blob__keys *keys = NULL;
    size_t len = blob_len - BLOB_INNER_OFF;
    uint8_t *buf = NULL;
    *inner = NULL;
    int rc = vault_blob__derive_keys(&keys, key, BLOB_KDF_CONTEXT);
    if (rc != VAULT_OK)
        return rc;
    const uint8_t *nonce = blob + BLOB_NONCE_OFF;
    rc = vault_blob__check_tag(blob + BLOB_TAG_OFF, keys, nonce, blob, BLOB_HEADER_BYTES);
    if (rc != VAULT_OK)
        goto done;
    buf = vault__malloc(len);
    if (buf == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "no memory to open a %zu-byte blob", blob_len);
        goto done;
    }
    /* Verifies the MAC before decrypting anything into buf. */
    if (crypto_secretbox_open_detached(buf, blob + BLOB_INNER_OFF, blob + BLOB_MAC_OFF, len,
                                       nonce, keys->encrypt) != 0) {
        rc = vault__fail(VAULT_E_AUTH, "vault blob failed authentication: tampered data");
        goto done;
    }
    *inner = buf;
    *inner_len = len;
    buf = NULL;
done:
    vault__free(buf); /* never held plaintext */
    vault_blob__free_keys(keys);
    return rc;
}

/* The authenticated inner header must repeat the clear one; only then is the
 * (now authenticated) account and revision compared with the expected ones. */
static int check_binding(const uint8_t *inner, const uint8_t *blob, const blob_header *h,
                         const uint8_t *account, uint64_t revision)
{
    if (sodium_memcmp(inner, blob, BLOB_HEADER_BYTES) != 0)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: inner header differs from clear header");
    if (sodium_memcmp(h->account, account, VAULT_ACCOUNT_ID_BYTES) != 0)
        return vault__fail(VAULT_E_MISMATCH, "vault blob belongs to another account");
    if (h->revision != revision)
        return vault__fail(VAULT_E_MISMATCH, "vault blob is revision %llu, expected %llu",
                           (unsigned long long)h->revision, (unsigned long long)revision);
    return VAULT_OK;
}

/* Lengths must be exactly consistent: the padded length is a function of the
 * compressed length, and every padding byte is zero. */
static int check_lengths(size_t *clen, size_t *ilen, const uint8_t *inner, size_t inner_len,
                         size_t data_off)
{
    size_t c = vault__load32_be(inner + INNER_CLEN_OFF);
    size_t i = vault__load32_be(inner + INNER_ILEN_OFF);
    if (c > inner_len - data_off)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: compressed length out of range");
    if (vault_blob__padded_len(data_off + c) != inner_len)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: padding length is inconsistent");
    if (!sodium_is_zero(inner + data_off + c, inner_len - data_off - c))
        return vault__fail(VAULT_E_CORRUPT, "vault blob: padding is not zero");
    if (i > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "vault blob inflates to %zu bytes, over the %u limit",
                           i, VAULT_BLOB_MAX_PLAINTEXT);
    *clen = c;
    *ilen = i;
    return VAULT_OK;
}

/* Inflates the checked zlib stream in pieces into write. The announced
 * length bounds the output: a stream that would inflate further is refused
 * before its excess reaches the writer, so no decompression bomb gets far. */
static int inflate_to(const uint8_t *stream, size_t clen, size_t ilen, vault_blob__writer write,
                      void *ctx)
{
    z_stream z;
    size_t done = 0;
    uint8_t *piece = vault__malloc(VAULT_BLOB_PIECE);
    if (piece == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory to open a vault");
    int rc = vault_blob__inflate_init(&z);
    if (rc != VAULT_OK) {
        vault__free(piece);
        return rc;
    }
    z.next_in = (Bytef *)(uintptr_t)stream;
    z.avail_in = (uInt)clen; /* clen < 4 GiB: stored in 32 bits */
    for (;;) {
        z.next_out = piece;
        z.avail_out = VAULT_BLOB_PIECE;
        int zrc = inflate(&z, Z_NO_FLUSH);
        size_t got = VAULT_BLOB_PIECE - z.avail_out;
        if (zrc == Z_MEM_ERROR) {
            rc = vault__fail(VAULT_E_NOMEM, "no memory for zlib decompression");
        } else if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT || zrc == Z_STREAM_ERROR) {
            rc = vault__fail(VAULT_E_CORRUPT, "compressed data is not a valid zlib stream");
        } else if (got > ilen - done) {
            rc = vault__fail(VAULT_E_CORRUPT, "inflated data longer than announced");
        } else if (got > 0) {
            done += got;
            rc = write(ctx, piece, got, ilen);
        } else if (zrc != Z_STREAM_END) {
            rc = vault__fail(VAULT_E_CORRUPT, "compressed data truncated");
        }
        if (rc != VAULT_OK || zrc == Z_STREAM_END)
            break;
    }
    if (rc == VAULT_OK && done != ilen)
        rc = vault__fail(VAULT_E_CORRUPT, "inflated data shorter than announced");
    if (rc == VAULT_OK && z.avail_in != 0)
        rc = vault__fail(VAULT_E_CORRUPT, "trailing bytes after the compressed data");
    inflateEnd(&z);
    vault__wipe_free(piece, VAULT_BLOB_PIECE);
    return rc;
}

int vault_blob__open_stream(const uint8_t *key, const char *account_id, uint64_t revision,
                            const uint8_t *blob, size_t blob_len, vault_blob__writer write,
                            void *ctx)
{
    if (write == NULL)
        return vault__fail(VAULT_E_INVALID, "blob open: NULL argument");
    return vault_blob__open_chain(key, account_id, revision, blob, blob_len, NULL, write, ctx);
}

int vault_blob__open_chain(const uint8_t *key, const char *account_id, uint64_t revision,
                           const uint8_t *blob, size_t blob_len, vault_chain *chain,
                           vault_blob__writer write, void *ctx)
{
    uint8_t account[VAULT_ACCOUNT_ID_BYTES];
    uint8_t *inner = NULL;
    size_t inner_len = 0, clen = 0, ilen = 0;
    blob_header h;
    vault_chain own;
    int rc;

    if (key == NULL || blob == NULL)
        return vault__fail(VAULT_E_INVALID, "blob open: NULL argument");
    rc = vault_blob__parse_account(account, account_id);
    if (rc != VAULT_OK)
        return rc;
    rc = parse_header(&h, blob, blob_len);
    if (rc != VAULT_OK)
        return rc;
    if (blob_len > VAULT_BLOB_MAX_BYTES)
        return vault__fail(VAULT_E_LIMIT, "vault blob of %zu bytes is over the %u-byte limit",
                           blob_len, VAULT_BLOB_MAX_BYTES);

    rc = decrypt_inner(&inner, &inner_len, key, blob, blob_len);
    if (rc == VAULT_OK)
        rc = check_binding(inner, blob, &h, account, revision);
    if (rc == VAULT_OK)
        rc = vault_blob__read_chain(&own, inner, inner_len, revision);
    if (rc == VAULT_OK)
        rc = check_lengths(&clen, &ilen, inner, inner_len, INNER_DATA_OFF(own.count));
    if (rc == VAULT_OK && write != NULL)
        rc = inflate_to(inner + INNER_DATA_OFF(own.count), clen, ilen, write, ctx);
    if (rc == VAULT_OK && chain != NULL)
        *chain = own;
    vault__wipe_free(inner, inner_len);
    return rc;
}

/* vault_blob_open's writer: the pieces into one output buffer. */
typedef struct whole_plaintext {
    uint8_t *buf;
    size_t len;
} whole_plaintext;

static int collect_piece(void *ctx, const uint8_t *piece, size_t len, size_t total)
{
    whole_plaintext *w = ctx;
    if (w->buf == NULL) {
        w->buf = vault__out_alloc(total);
        if (w->buf == NULL)
            return vault__fail(VAULT_E_NOMEM, "no memory for a %zu-byte vault", total);
    }
    memcpy(w->buf + w->len, piece, len); /* the blob layer keeps len within total */
    w->len += len;
    return VAULT_OK;
}

int vault_blob_open(uint8_t **plaintext, size_t *plaintext_len, const uint8_t *key,
                    const char *account_id, uint64_t revision, const uint8_t *blob,
                    size_t blob_len)
{
    whole_plaintext w = {NULL, 0};
    if (plaintext != NULL)
        *plaintext = NULL;
    if (plaintext == NULL || plaintext_len == NULL)
        return vault__fail(VAULT_E_INVALID, "blob open: NULL argument");
    int rc = vault_blob__open_stream(key, account_id, revision, blob, blob_len, collect_piece,
                                     &w);
    if (rc == VAULT_OK && w.buf == NULL) {
        w.buf = vault__out_alloc(0); /* an empty plaintext: no piece came */
        if (w.buf == NULL)
            rc = vault__fail(VAULT_E_NOMEM, "no memory for an empty vault");
    }
    if (rc != VAULT_OK) {
        vault_free(w.buf); /* wipes */
        return rc;
    }
    *plaintext = w.buf;
    *plaintext_len = w.len;
    return VAULT_OK;
}

int vault_blob_peek(const uint8_t *blob, size_t blob_len, char **account_id,
                    uint64_t *revision)
{
    blob_header h;
    if (account_id != NULL)
        *account_id = NULL;
    if (blob == NULL || account_id == NULL || revision == NULL)
        return vault__fail(VAULT_E_INVALID, "blob peek: NULL argument");
    int rc = parse_header(&h, blob, blob_len);
    if (rc != VAULT_OK)
        return rc;
    char *hex = vault__out_alloc(2 * VAULT_ACCOUNT_ID_BYTES);
    if (hex == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory for the account id");
    vault__bin2hex(hex, h.account, VAULT_ACCOUNT_ID_BYTES);
    *account_id = hex;
    *revision = h.revision;
    return VAULT_OK;
}

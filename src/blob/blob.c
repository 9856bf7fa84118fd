/*
 * The sealed vault blob: clear header, nonce, key-commitment tag, then
 * crypto_secretbox of the padded inner plaintext (a copy of the header, the
 * two lengths, the zlib stream, zero padding). Layout and reasoning in
 * docs/format.md.
 *
 * Costs for a large vault are one deflate pass, one encryption pass and one
 * MAC pass on seal; one MAC, one decryption and one inflate pass on open.
 * deflate writes straight into the buffer that becomes the padded inner
 * plaintext and inflate straight into the caller's output buffer.
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

static void write_header(uint8_t *out, const uint8_t *account, uint64_t revision)
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

static int parse_account(uint8_t *account, const char *account_id)
{
    if (vault__hex2bin(account, VAULT_ACCOUNT_ID_BYTES, account_id) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "account id must be %u hex characters",
                           2 * VAULT_ACCOUNT_ID_BYTES);
    return VAULT_OK;
}

/* Builds the padded inner plaintext in a fresh heap buffer: header copy,
 * lengths, the zlib stream deflated in place, zero padding. The buffer is
 * sized for the worst case (incompressible input) but only *inner_len bytes
 * are ever written, which is what the caller wipes. */
static int build_inner(uint8_t **inner, size_t *inner_len, const uint8_t *header,
                       const uint8_t *plaintext, size_t plaintext_len)
{
    size_t bound = vault_blob__deflate_bound(plaintext_len);
    size_t cap = vault_blob__padded_len(INNER_DATA_OFF + bound);
    size_t clen = bound;
    int rc = VAULT_OK;
    *inner = NULL;
    *inner_len = 0;
    uint8_t *buf = vault__malloc(cap);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory to seal %zu bytes", plaintext_len);
    rc = vault_blob__deflate(buf + INNER_DATA_OFF, &clen, plaintext, plaintext_len);
    if (rc != VAULT_OK)
        goto done;
    size_t padded = vault_blob__padded_len(INNER_DATA_OFF + clen);
    memcpy(buf, header, BLOB_HEADER_BYTES);
    vault__store32_be(buf + INNER_CLEN_OFF, (uint32_t)clen);
    vault__store32_be(buf + INNER_ILEN_OFF, (uint32_t)plaintext_len);
    memset(buf + INNER_DATA_OFF + clen, 0, padded - INNER_DATA_OFF - clen);
    *inner = buf;
    *inner_len = padded;
    buf = NULL;
done:
    /* Only on failure: deflate may have written anywhere up to the bound. */
    vault__wipe_free(buf, INNER_DATA_OFF + bound);
    return rc;
}

int vault_blob__seal_with_nonce(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                                const char *account_id, uint64_t revision,
                                const uint8_t *plaintext, size_t plaintext_len,
                                const uint8_t *nonce)
{
    uint8_t account[VAULT_ACCOUNT_ID_BYTES], header[BLOB_HEADER_BYTES];
    uint8_t *inner = NULL, *out = NULL;
    size_t inner_len = 0;
    vault_blob__keys *keys = NULL;
    int rc;

    if (blob != NULL)
        *blob = NULL;
    if (blob == NULL || blob_len == NULL || key == NULL || nonce == NULL ||
        (plaintext == NULL && plaintext_len > 0))
        return vault__fail(VAULT_E_INVALID, "blob seal: NULL argument");
    if (plaintext_len > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "vault of %zu bytes is over the %u-byte limit",
                           plaintext_len, VAULT_BLOB_MAX_PLAINTEXT);
    rc = parse_account(account, account_id);
    if (rc != VAULT_OK)
        return rc;
    write_header(header, account, revision);

    rc = build_inner(&inner, &inner_len, header, plaintext, plaintext_len);
    if (rc != VAULT_OK)
        goto done;
    if (inner_len > VAULT_BLOB_MAX_BYTES - BLOB_INNER_OFF) {
        rc = vault__fail(VAULT_E_LIMIT, "sealed vault would be over the %u-byte blob limit",
                         VAULT_BLOB_MAX_BYTES);
        goto done;
    }
    rc = vault_blob__derive_keys(&keys, key, BLOB_KDF_CONTEXT);
    if (rc != VAULT_OK)
        goto done;
    out = vault__out_alloc(BLOB_INNER_OFF + inner_len);
    if (out == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "no memory for a %zu-byte blob", inner_len);
        goto done;
    }
    memcpy(out, header, BLOB_HEADER_BYTES);
    memcpy(out + BLOB_NONCE_OFF, nonce, crypto_secretbox_NONCEBYTES);
    vault_blob__commit_tag(out + BLOB_TAG_OFF, keys, nonce, header, BLOB_HEADER_BYTES);
    crypto_secretbox_detached(out + BLOB_INNER_OFF, out + BLOB_MAC_OFF, inner, inner_len,
                              nonce, keys->encrypt);
    *blob = out;
    *blob_len = BLOB_INNER_OFF + inner_len;
    out = NULL;
done:
    vault_blob__free_keys(keys);
    vault__wipe_free(inner, inner_len);
    vault_free(out);
    return rc;
}

int vault_blob_seal(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                    const char *account_id, uint64_t revision, const uint8_t *plaintext,
                    size_t plaintext_len)
{
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    randombytes_buf(nonce, sizeof nonce);
    return vault_blob__seal_with_nonce(blob, blob_len, key, account_id, revision, plaintext,
                                       plaintext_len, nonce);
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
static int check_lengths(size_t *clen, size_t *ilen, const uint8_t *inner, size_t inner_len)
{
    size_t c = vault__load32_be(inner + INNER_CLEN_OFF);
    size_t i = vault__load32_be(inner + INNER_ILEN_OFF);
    if (c > inner_len - INNER_DATA_OFF)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: compressed length out of range");
    if (vault_blob__padded_len(INNER_DATA_OFF + c) != inner_len)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: padding length is inconsistent");
    if (!sodium_is_zero(inner + INNER_DATA_OFF + c, inner_len - INNER_DATA_OFF - c))
        return vault__fail(VAULT_E_CORRUPT, "vault blob: padding is not zero");
    if (i > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "vault blob inflates to %zu bytes, over the %u limit",
                           i, VAULT_BLOB_MAX_PLAINTEXT);
    *clen = c;
    *ilen = i;
    return VAULT_OK;
}

int vault_blob_open(uint8_t **plaintext, size_t *plaintext_len, const uint8_t *key,
                    const char *account_id, uint64_t revision, const uint8_t *blob,
                    size_t blob_len)
{
    uint8_t account[VAULT_ACCOUNT_ID_BYTES];
    uint8_t *inner = NULL, *out = NULL;
    size_t inner_len = 0, clen = 0, ilen = 0;
    blob_header h;
    int rc;

    if (plaintext != NULL)
        *plaintext = NULL;
    if (plaintext == NULL || plaintext_len == NULL || key == NULL || blob == NULL)
        return vault__fail(VAULT_E_INVALID, "blob open: NULL argument");
    rc = parse_account(account, account_id);
    if (rc != VAULT_OK)
        return rc;
    rc = parse_header(&h, blob, blob_len);
    if (rc != VAULT_OK)
        return rc;
    if (blob_len > VAULT_BLOB_MAX_BYTES)
        return vault__fail(VAULT_E_LIMIT, "vault blob of %zu bytes is over the %u-byte limit",
                           blob_len, VAULT_BLOB_MAX_BYTES);

    rc = decrypt_inner(&inner, &inner_len, key, blob, blob_len);
    if (rc != VAULT_OK)
        goto done;
    rc = check_binding(inner, blob, &h, account, revision);
    if (rc != VAULT_OK)
        goto done;
    rc = check_lengths(&clen, &ilen, inner, inner_len);
    if (rc != VAULT_OK)
        goto done;
    out = vault__out_alloc(ilen);
    if (out == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "no memory for a %zu-byte vault", ilen);
        goto done;
    }
    rc = vault_blob__inflate(out, ilen, inner + INNER_DATA_OFF, clen);
    if (rc != VAULT_OK)
        goto done;
    out[ilen] = 0;
    *plaintext = out;
    *plaintext_len = ilen;
    out = NULL;
done:
    vault__wipe_free(inner, inner_len);
    vault_free(out);
    return rc;
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

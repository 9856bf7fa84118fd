/*
 * The protected vault key: the 32-byte vault key sealed under a key-encryption
 * key (the Argon2id encryption key, or a device's local key). Same
 * construction as the blob, with subkeys under the context "zkvwrap1" so that
 * a wrap tag can never be confused with a blob tag. Layout in docs/format.md.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob_int.h"
#include "common/common.h"

static void wrap_header(uint8_t *out)
{
    memcpy(out, WRAP_MAGIC, 4);
    out[4] = WRAP_VERSION;
    out[5] = out[6] = out[7] = 0;
}

int vault_blob__wrap_key_with_nonce(uint8_t *out, const uint8_t *kek, const uint8_t *key,
                                    const uint8_t *nonce)
{
    if (out == NULL || kek == NULL || key == NULL || nonce == NULL)
        return vault__fail(VAULT_E_INVALID, "key wrap: NULL argument");
    vault_blob__keys *keys = NULL;
    int rc = vault_blob__derive_keys(&keys, kek, WRAP_KDF_CONTEXT);
    if (rc != VAULT_OK)
        return rc;
    wrap_header(out);
    memcpy(out + WRAP_NONCE_OFF, nonce, crypto_secretbox_NONCEBYTES);
    vault_blob__commit_tag(out + WRAP_TAG_OFF, keys, nonce, out, WRAP_HEADER_BYTES);
    crypto_secretbox_detached(out + WRAP_CT_OFF, out + WRAP_MAC_OFF, key, VAULT_KEY_BYTES,
                              nonce, keys->encrypt);
    vault_blob__free_keys(keys);
    return VAULT_OK;
}

int vault_blob__wrap_key(uint8_t *out, const uint8_t *kek, const uint8_t *key)
{
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    randombytes_buf(nonce, sizeof nonce);
    return vault_blob__wrap_key_with_nonce(out, kek, key, nonce);
}

static int check_wrap_header(const uint8_t *in, size_t in_len)
{
    if (in_len < WRAP_HEADER_BYTES || memcmp(in, WRAP_MAGIC, 4) != 0)
        return vault__fail(VAULT_E_CORRUPT, "not a protected key (bad magic)");
    if (in[4] != WRAP_VERSION)
        return vault__fail(VAULT_E_VERSION, "protected key format version %u is not supported",
                           (unsigned)in[4]);
    if (in[5] != 0 || in[6] != 0 || in[7] != 0)
        return vault__fail(VAULT_E_CORRUPT, "protected key: reserved bytes are not zero");
    if (in_len != VAULT_PROTECTED_KEY_BYTES)
        return vault__fail(VAULT_E_CORRUPT, "protected key must be %u bytes, got %zu",
                           VAULT_PROTECTED_KEY_BYTES, in_len);
    return VAULT_OK;
}

/* secretbox_open_detached writes key only once the MAC has verified, so a
 * failed unwrap never leaves a half-decrypted key in the caller's buffer. */
int vault_blob__unwrap_key(uint8_t *key, const uint8_t *kek, const uint8_t *in, size_t in_len)
{
    if (key == NULL || kek == NULL || in == NULL)
        return vault__fail(VAULT_E_INVALID, "key unwrap: NULL argument");
    int rc = check_wrap_header(in, in_len);
    if (rc != VAULT_OK)
        return rc;
    vault_blob__keys *keys = NULL;
    rc = vault_blob__derive_keys(&keys, kek, WRAP_KDF_CONTEXT);
    if (rc != VAULT_OK)
        return rc;
    const uint8_t *nonce = in + WRAP_NONCE_OFF;
    rc = vault_blob__check_tag(in + WRAP_TAG_OFF, keys, nonce, in, WRAP_HEADER_BYTES);
    if (rc != VAULT_OK)
        goto done;
    if (crypto_secretbox_open_detached(key, in + WRAP_CT_OFF, in + WRAP_MAC_OFF,
                                       VAULT_KEY_BYTES, nonce, keys->encrypt) != 0)
        rc = vault__fail(VAULT_E_AUTH, "protected key failed authentication");
done:
    vault_blob__free_keys(keys);
    return rc;
}

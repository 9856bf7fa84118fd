/*
 * Key commitment. crypto_secretbox (XSalsa20-Poly1305) is not key-committing:
 * one ciphertext can be made to open under several keys, which enables
 * partitioning-oracle attacks (Len, Grubbs, Ristenpart 2021). Every sealed
 * object therefore carries tag = BLAKE2b-256 keyed by a commitment subkey,
 * over the nonce and the clear header, checked before decryption. Finding a
 * second key with the same tag means a BLAKE2b collision. Because the tag is
 * keyed, it also authenticates the clear header before anything is decrypted.
 */
#include <sodium.h>

#include "blob/blob_int.h"
#include "common/common.h"

int vault_blob__derive_keys(vault_blob__keys **out, const uint8_t *key, const char *context)
{
    vault_blob__keys *keys = vault__secure_alloc(sizeof *keys);
    *out = NULL;
    if (keys == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory for subkeys");
    crypto_kdf_derive_from_key(keys->encrypt, sizeof keys->encrypt, BLOB_SUBKEY_ENCRYPT,
                               context, key);
    crypto_kdf_derive_from_key(keys->commit, sizeof keys->commit, BLOB_SUBKEY_COMMIT,
                               context, key);
    *out = keys;
    return VAULT_OK;
}

void vault_blob__free_keys(vault_blob__keys *keys)
{
    vault__secure_free(keys);
}

void vault_blob__commit_tag(uint8_t tag[BLOB_TAG_BYTES], const vault_blob__keys *keys,
                            const uint8_t *nonce, const uint8_t *header, size_t header_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, keys->commit, sizeof keys->commit, BLOB_TAG_BYTES);
    crypto_generichash_update(&st, nonce, crypto_secretbox_NONCEBYTES);
    crypto_generichash_update(&st, header, header_len);
    crypto_generichash_final(&st, tag, BLOB_TAG_BYTES);
    sodium_memzero(&st, sizeof st);
}

int vault_blob__check_tag(const uint8_t *tag, const vault_blob__keys *keys,
                          const uint8_t *nonce, const uint8_t *header, size_t header_len)
{
    uint8_t expect[BLOB_TAG_BYTES];
    vault_blob__commit_tag(expect, keys, nonce, header, header_len);
    int ok = crypto_verify_32(expect, tag) == 0;
    sodium_memzero(expect, sizeof expect);
    if (!ok)
        return vault__fail(VAULT_E_AUTH, "key commitment check failed: wrong key or tampered data");
    return VAULT_OK;
}

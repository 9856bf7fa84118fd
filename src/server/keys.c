/*
 * The server's secrets and keyed hashes. The pepper comes from the server's
 * configuration, never from the database; every server secret derives from
 * it, so none is ever stored in the database: the email hash key, the mask
 * of protected keys at rest, the OPAQUE OPRF seed and AKE key pair, and the
 * key that seals the login state between login_start and login_finish.
 *
 * Key schedule: master = BLAKE2b-256(pepper); subkeys are
 * crypto_kdf_derive_from_key(master, id, "zkvsrvr1") with id 1 = email hash,
 * 4 = protected keys at rest, 5 and 6 = the two halves of the 64-byte OPRF
 * seed, 7 = the seed of the AKE key pair (DeriveDiffieHellmanKeyPair),
 * 8 = login state (ids 2 and 3 were protocol 1's fake salt and verifier).
 * Only the subkeys are kept, in sodium_malloc memory that is read-only after
 * derivation.
 */
#include <sodium.h>
#include <string.h>

#include "server/server.h"

#define KDF_CONTEXT "zkvsrvr1"
enum {
    SUBKEY_EMAIL = 1,
    SUBKEY_AT_REST = 4,
    SUBKEY_OPRF_LOW = 5,
    SUBKEY_OPRF_HIGH = 6,
    SUBKEY_AKE = 7,
    SUBKEY_LOGIN_STATE = 8
};

int vault_server__keys_derive(vault_server_keys **out, const uint8_t *pepper, size_t len)
{
    uint8_t master[crypto_kdf_KEYBYTES], seed[VAULT_OPAQUE_NSEED];
    *out = NULL;
    vault_server_keys *keys = vault__secure_alloc(sizeof *keys);
    if (keys == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of secure memory for the server keys");
    crypto_generichash(master, sizeof master, pepper, len, NULL, 0);
    crypto_kdf_derive_from_key(keys->email, sizeof keys->email, SUBKEY_EMAIL, KDF_CONTEXT,
                               master);
    crypto_kdf_derive_from_key(keys->at_rest, sizeof keys->at_rest, SUBKEY_AT_REST, KDF_CONTEXT,
                               master);
    crypto_kdf_derive_from_key(keys->login_state, sizeof keys->login_state, SUBKEY_LOGIN_STATE,
                               KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(keys->opaque.oprf_seed, 32, SUBKEY_OPRF_LOW, KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(keys->opaque.oprf_seed + 32, 32, SUBKEY_OPRF_HIGH, KDF_CONTEXT,
                               master);
    crypto_kdf_derive_from_key(seed, sizeof seed, SUBKEY_AKE, KDF_CONTEXT, master);
    int rc = vault__opaque_derive_keypair(keys->opaque.private_key, keys->opaque.public_key, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(master, sizeof master);
    if (rc != VAULT_OK) {
        vault__secure_free(keys);
        return rc;
    }
    sodium_mprotect_readonly(keys);
    *out = keys;
    return VAULT_OK;
}

void vault_server__keys_free(vault_server_keys *keys)
{
    if (keys == NULL)
        return;
    sodium_mprotect_readwrite(keys);
    vault__secure_free(keys);
}

void vault_server__email_hash(const vault_server *s, const char *email, size_t len,
                              uint8_t out[VAULT_SERVER_HASH_BYTES])
{
    crypto_generichash(out, VAULT_SERVER_HASH_BYTES, (const uint8_t *)email, len,
                       s->keys->email, sizeof s->keys->email);
}

/* The protected vault key is the client's secretbox under its password's
 * encryption key, with a commitment tag: stored as is, it would let a thief of
 * the database alone test password guesses (derive, then check the tag). So
 * the tag and ciphertext (bytes 32..111) are kept XORed with an XChaCha20
 * stream under a pepper subkey. The nonce is a hash of the account id and the
 * protected key's own random nonce (bytes 8..31, left in clear): unique per
 * wrap, and the operation is its own inverse, so it runs on write and on read.
 * Integrity is the client's business: a changed byte still fails its tag. */
void vault_server__mask_protected_key(const vault_server *s,
                                      const uint8_t account_id[VAULT_ACCOUNT_ID_BYTES],
                                      uint8_t key[VAULT_PROTECTED_KEY_BYTES])
{
    enum { CLEAR = 32 };
    uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof nonce);
    crypto_generichash_update(&st, account_id, VAULT_ACCOUNT_ID_BYTES);
    crypto_generichash_update(&st, key + 8, CLEAR - 8);
    crypto_generichash_final(&st, nonce, sizeof nonce);
    crypto_stream_xchacha20_xor(key + CLEAR, key + CLEAR, VAULT_PROTECTED_KEY_BYTES - CLEAR, nonce,
                                s->keys->at_rest);
}

void vault_server__opaque_cfg(vault_opaque_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg->context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
}

void vault_server__token_hash(const uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                              uint8_t out[VAULT_SERVER_HASH_BYTES])
{
    crypto_generichash(out, VAULT_SERVER_HASH_BYTES, token, VAULT_SERVER_TOKEN_BYTES, NULL, 0);
}

void vault_server__proof_session(const vault_server_call *call, const uint8_t *device_id,
                                 const char *device_name,
                                 const uint8_t session_key[VAULT_OPAQUE_NX],
                                 vault_store_new_session *out)
{
    uint8_t token[VAULT_SERVER_TOKEN_BYTES];
    vault__opaque_session_token(token, session_key);
    vault_server__token_hash(token, out->token_hash);
    sodium_memzero(token, sizeof token);
    memcpy(out->device_id, device_id, VAULT_STORE_ID_BYTES);
    out->device_name = device_name;
    out->expires_ms = call->now_ms + call->server->session_ttl_s * 1000;
}

void vault_server__new_session(const vault_server_call *call, const uint8_t *device_id,
                               const char *device_name,
                               uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                               vault_store_new_session *out)
{
    randombytes_buf(token, VAULT_SERVER_TOKEN_BYTES);
    vault_server__token_hash(token, out->token_hash);
    memcpy(out->device_id, device_id, VAULT_STORE_ID_BYTES);
    out->device_name = device_name;
    out->expires_ms = call->now_ms + call->server->session_ttl_s * 1000;
}

int vault_server__session_status(int status)
{
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_AUTH, "unknown session");
    return status;
}

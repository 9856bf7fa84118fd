/*
 * Argon2id key derivation (libsodium crypto_pwhash, ALG_ARGON2ID13) and the
 * parameter policy: a floor every client enforces, a ceiling that stops a
 * malicious server from making a client allocate unbounded memory, and the
 * "never weaker than seen before" rule used against KDF downgrades.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "kdf/kdf.h"

#define KDF_OUTPUT_BYTES (2u * VAULT_KEY_BYTES)

size_t vault_key_bytes(void)
{
    return VAULT_KEY_BYTES;
}

size_t vault_salt_bytes(void)
{
    return VAULT_SALT_BYTES;
}

uint64_t vault_kdf_opslimit_default(void)
{
    return VAULT_KDF_OPSLIMIT_DEFAULT;
}

uint64_t vault_kdf_memlimit_default(void)
{
    return VAULT_KDF_MEMLIMIT_DEFAULT;
}

uint64_t vault_kdf_opslimit_min(void)
{
    return VAULT_KDF_OPSLIMIT_MIN;
}

uint64_t vault_kdf_memlimit_min(void)
{
    return VAULT_KDF_MEMLIMIT_MIN;
}

int vault_kdf_check_params(uint64_t opslimit, uint64_t memlimit)
{
    if (opslimit < VAULT_KDF_OPSLIMIT_MIN)
        return vault__fail(VAULT_E_WEAK_KDF, "Argon2id opslimit %llu is below the floor %u",
                           (unsigned long long)opslimit, VAULT_KDF_OPSLIMIT_MIN);
    if (memlimit < VAULT_KDF_MEMLIMIT_MIN)
        return vault__fail(VAULT_E_WEAK_KDF, "Argon2id memlimit %llu is below the floor %u",
                           (unsigned long long)memlimit, VAULT_KDF_MEMLIMIT_MIN);
    if (opslimit > VAULT_KDF_OPSLIMIT_MAX)
        return vault__fail(VAULT_E_LIMIT, "Argon2id opslimit %llu is above the maximum %u",
                           (unsigned long long)opslimit, VAULT_KDF_OPSLIMIT_MAX);
    /* The second test matters only where size_t is 32 bits. */
    if (memlimit > VAULT_KDF_MEMLIMIT_MAX || memlimit > SIZE_MAX)
        return vault__fail(VAULT_E_LIMIT, "Argon2id memlimit %llu is above the maximum",
                           (unsigned long long)memlimit);
    return VAULT_OK;
}

int vault_kdf__is_weaker(uint64_t ops, uint64_t mem, uint64_t ref_ops, uint64_t ref_mem)
{
    return ops < ref_ops || mem < ref_mem;
}

static int check_derive_args(const uint8_t *auth_key, const uint8_t *enc_key,
                             const char *password, size_t password_len, const uint8_t *salt)
{
    if (auth_key == NULL && enc_key == NULL)
        return vault__fail(VAULT_E_INVALID, "no output key requested");
    if (password == NULL || password_len == 0)
        return vault__fail(VAULT_E_INVALID, "the password is empty");
    if (password_len > VAULT_PASSWORD_MAX_BYTES)
        return vault__fail(VAULT_E_LIMIT, "the password is longer than %u bytes",
                           VAULT_PASSWORD_MAX_BYTES);
    if (salt == NULL)
        return vault__fail(VAULT_E_INVALID, "salt is NULL");
    return VAULT_OK;
}

/* One Argon2id call yields both keys, so the server-side auth key and the
 * client-only encryption key are independent halves of one output: knowing the
 * auth key reveals nothing about the encryption key. */
int vault_kdf_derive(uint8_t *auth_key, uint8_t *enc_key, const char *password,
                     size_t password_len, const uint8_t *salt, uint64_t opslimit,
                     uint64_t memlimit)
{
    int rc = check_derive_args(auth_key, enc_key, password, password_len, salt);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_kdf_check_params(opslimit, memlimit);
    if (rc != VAULT_OK)
        return rc;

    uint8_t *out = vault__secure_alloc(KDF_OUTPUT_BYTES);
    if (out == NULL)
        return vault__fail(VAULT_E_NOMEM, "no memory for the derived keys");
    if (crypto_pwhash(out, KDF_OUTPUT_BYTES, password, (unsigned long long)password_len, salt,
                      (unsigned long long)opslimit, (size_t)memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        rc = vault__fail(VAULT_E_NOMEM, "Argon2id could not allocate %llu bytes",
                         (unsigned long long)memlimit);
        goto done;
    }
    if (auth_key != NULL)
        memcpy(auth_key, out, VAULT_KEY_BYTES);
    if (enc_key != NULL)
        memcpy(enc_key, out + VAULT_KEY_BYTES, VAULT_KEY_BYTES);
done:
    vault__secure_free(out); /* sodium_free wipes */
    return rc;
}

int vault_kdf_salt(uint8_t *salt)
{
    if (salt == NULL)
        return vault__fail(VAULT_E_INVALID, "salt is NULL");
    randombytes_buf(salt, VAULT_SALT_BYTES);
    return VAULT_OK;
}

/*
 * Picking up a rotated vault key. Revoking a device (on another device) makes
 * a new vault key, wraps it under the password's encryption key and stores
 * that on the server; a password device learns it at its next login. Its
 * local blobs are still sealed under the old key, which the old local
 * protected key yields: they are opened with it and re-sealed under the new
 * one, in one transaction, so unsynced local edits survive. A linked device
 * learns the key in the middle of a session (src/devicelink/device.c) and
 * re-seals with vault_client__stage_rekey.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"

int vault_client__local_vault_key(vault_client *c, const vault_client__keys *k, uint8_t *out)
{
    uint8_t *protected_key = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, "protected_key", &protected_key, &len);
    if (rc == VAULT_OK)
        rc = vault_blob__unwrap_key(out, k->enc_key, protected_key, len);
    vault_free(protected_key);
    return rc;
}

/* Re-seals the stored base blob (if any) from old_key to new_key. */
static int reseal_base(vault_client *c, const uint8_t *old_key, const uint8_t *new_key,
                       uint8_t **out, size_t *out_len)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    vault *base = NULL;
    *out = NULL;
    if (c->base_revision == 0)
        return VAULT_OK;
    int rc = vault_client__store_get(c, "base_blob", &blob, &len);
    if (rc == VAULT_OK)
        rc = vault_open(&base, old_key, c->account_id, c->base_revision, blob, len);
    if (rc == VAULT_OK)
        rc = vault_seal(base, new_key, c->account_id, c->base_revision, out, out_len);
    vault_close(base);
    vault_free(blob);
    return rc;
}

int vault_client__stage_rekey(vault_client *c, const uint8_t *old_key, const uint8_t *new_key)
{
    uint8_t *base = NULL, *local = NULL;
    size_t base_len = 0, local_len = 0;
    int rc = reseal_base(c, old_key, new_key, &base, &base_len);
    if (rc == VAULT_OK)
        rc = vault_seal(c->v, new_key, c->account_id, c->base_revision + 1, &local, &local_len);
    if (rc == VAULT_OK && base != NULL)
        rc = vault_client__store_put(c, "base_blob", base, base_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "local_blob", local, local_len);
    vault_free(base);
    vault_free(local);
    return rc;
}

int vault_client__open_local_rekeyed(vault_client *c, const vault_client__keys *k,
                                     const uint8_t *old_key, vault **out)
{
    vault_client__keys *old_k = NULL;
    uint8_t *base = NULL, *local = NULL;
    size_t base_len = 0, local_len = 0;
    int rc = vault_client__open_local(c, k, out);
    if (rc != VAULT_E_AUTH || old_key == NULL ||
        sodium_memcmp(old_key, k->vault_key, VAULT_KEY_BYTES) == 0)
        return rc;
    vault__clear_error();
    rc = vault_client__keys_new(&old_k);
    if (rc != VAULT_OK)
        return rc;
    memcpy(old_k->vault_key, old_key, VAULT_KEY_BYTES);
    rc = vault_client__open_local(c, old_k, out);
    if (rc == VAULT_OK)
        rc = reseal_base(c, old_key, k->vault_key, &base, &base_len);
    if (rc == VAULT_OK)
        rc = vault_seal(*out, k->vault_key, c->account_id, c->base_revision + 1, &local, &local_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_blobs(c, base, base_len, local, local_len);
    if (rc != VAULT_OK) {
        vault_close(*out);
        *out = NULL;
    }
    vault_client__keys_free(old_k);
    vault_free(base);
    vault_free(local);
    return rc;
}

/*
 * Picking up a rotated vault key. Revoking a device (on another device) makes
 * a new vault key, wraps it under the password's encryption key and stores
 * that on the server; a password device learns it at its next login. Its
 * local blobs are still sealed under the old key, which the old local
 * protected key (or the unlocked client) yields: they are opened with it and
 * re-sealed under the new one, in one transaction with the new protected
 * key, so unsynced local edits survive. A linked device
 * learns the key in the middle of a session (src/devicelink/device.c) and
 * re-seals with vault_client__stage_rekey.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "vault/vault.h"

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

/* Re-seals the stored blob `name` of revision (if any) from old_key to
 * new_key, keeping the chain it states; its name (the hash the server knows
 * it by) stays as stored. *out NULL if there is none. */
static int reseal(vault_client *c, const char *name, uint64_t revision, const uint8_t *old_key,
                  const uint8_t *new_key, uint8_t **out, size_t *out_len)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    vault *v = NULL;
    vault_chain chain;
    *out = NULL;
    int rc = vault_client__store_get(c, name, &blob, &len);
    if (rc == VAULT_E_NOT_FOUND) {
        vault__clear_error();
        return VAULT_OK;
    }
    if (rc == VAULT_OK)
        rc = vault_vault__open_chain(&v, old_key, c->account_id, revision, blob, len, &chain);
    if (rc == VAULT_OK)
        rc = vault_vault__seal_chain(v, new_key, c->account_id, revision, &chain, out, out_len);
    vault_close(v);
    vault_free(blob);
    return rc;
}

/* Stages the base and pending blobs re-sealed from old_key to new_key. */
static int stage_resealed(vault_client *c, const uint8_t *old_key, const uint8_t *new_key)
{
    static const char *const names[2] = {"base_blob", "pending_blob"};
    int rc = VAULT_OK;
    for (int i = 0; i < 2 && rc == VAULT_OK; i++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        rc = reseal(c, names[i], c->base_revision + (uint64_t)i, old_key, new_key, &blob, &len);
        if (rc == VAULT_OK && blob != NULL)
            rc = vault_client__store_put(c, names[i], blob, len);
        vault_free(blob);
    }
    return rc;
}

int vault_client__stage_rekey(vault_client *c, const uint8_t *old_key, const uint8_t *new_key)
{
    uint8_t *local = NULL;
    size_t local_len = 0;
    int rc = stage_resealed(c, old_key, new_key);
    if (rc == VAULT_OK)
        rc = vault_seal(c->v, new_key, c->account_id, c->base_revision + 1, &local, &local_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "local_blob", local, local_len);
    vault_free(local);
    return rc;
}

int vault_client__open_local_any(vault_client *c, const vault_client__keys *k,
                                 const uint8_t *old_key, vault **out, int *used_old)
{
    vault_client__keys *old_k = NULL;
    *used_old = 0;
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
    *used_old = rc == VAULT_OK;
    vault_client__keys_free(old_k);
    return rc;
}

/*
 * vault_seal / vault_open: the vault's JSON through the blob layer. Kept apart
 * from vault.c so that the item layer links without the blob module.
 */
#include "vault/vault_int.h"

int vault_seal(const vault *v, const uint8_t *key, const char *account_id,
               uint64_t revision, uint8_t **blob, size_t *blob_len)
{
    char *json = NULL;
    size_t len = 0;
    if (blob != NULL)
        *blob = NULL;
    if (v == NULL || blob == NULL || blob_len == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_seal: NULL argument");
    int rc = vault_vault__print_hinted(v->root, v->json_hint, &json, &len);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_blob_seal(blob, blob_len, key, account_id, revision, (const uint8_t *)json, len);
    vault_free(json); /* wipes */
    return rc;
}

int vault_open(vault **out, const uint8_t *key, const char *account_id, uint64_t revision,
               const uint8_t *blob, size_t blob_len)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    if (out == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_open: out is NULL");
    *out = NULL;
    int rc = vault_blob_open(&plain, &plain_len, key, account_id, revision, blob, blob_len);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_from_json(out, (const char *)plain, plain_len);
    vault_free(plain); /* wipes */
    return rc;
}


/*
 * The project's own formats: the vault JSON ("zkvault") and the encrypted
 * export ("zkvault-encrypted"), which is that JSON sealed under a key derived
 * from a password of its own:
 *
 *   "ZKVX" | version 1 | 3 zero bytes | opslimit u64 BE | memlimit u64 BE |
 *   salt (16) | blob
 *
 * The key is Argon2id(password, salt, opslimit, memlimit)'s encryption half
 * (vault_kdf_derive); the blob is vault_blob_seal's, bound to the account id
 * hex(salt) and revision 0, so the header's salt is authenticated; changed
 * Argon2id parameters derive another key and fail as VAULT_E_AUTH.
 */
#include <string.h>

#include "common/common.h"
#include "interop/interop_int.h"
#include "vault/vault.h"

#define SEALED_MAGIC "ZKVX"
#define SEALED_VERSION 1u
#define SEALED_HEADER (8u + 8u + 8u + VAULT_SALT_BYTES)

/* ---- plaintext JSON ------------------------------------------------------------ */

int vault_interop__write_native(const vault *v, uint8_t **out, size_t *out_len)
{
    cJSON *items = vault_interop__live_items(v);
    cJSON *root = cJSON_CreateObject();
    int ok = items != NULL && root != NULL && cJSON_AddNumberToObject(root, "format", vault_vault__format()) != NULL &&
             cJSON_AddItemToObjectCS(root, "items", items);
    if (ok)
        items = NULL; /* the root's now */
    ok = ok && cJSON_AddArrayToObject(root, "devices") != NULL;
    int rc = ok ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory writing the export");
    if (rc == VAULT_OK)
        rc = vault_interop__json_out(root, 0, out, out_len);
    cJSON_Delete(items);
    cJSON_Delete(root); /* references only: the vault's items stay */
    return rc;
}

int vault_interop__read_native(interop_import *s, const uint8_t *data, size_t len)
{
    vault *src = NULL;
    int rc = vault_from_json(&src, (const char *)data, len);
    if (rc == VAULT_E_INVALID)
        return vault__fail(VAULT_E_FORMAT, "not a zkvault JSON file: %s", vault_last_error());
    if (rc != VAULT_OK)
        return rc;
    long index = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vault_vault__items_const(src)) {
        interop_pos pos = {0, ++index};
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "deleted"))) {
            rc = vault_interop__skip(s, pos, "", "deleted item (tombstone)");
        } else if (!vault_interop__is_live(it)) {
            rc = vault_interop__skip(s, pos, cJSON_GetObjectItemCaseSensitive(it, "title")->valuestring,
                                     "in the trash");
        } else {
            cJSON *copy = cJSON_Duplicate(it, 1);
            rc = vault_interop__accept(s, copy, pos, NULL);
        }
        if (rc != VAULT_OK)
            break;
    }
    vault_close(src);
    return rc;
}

/* ---- sealed ------------------------------------------------------------------- */

static int derive(uint8_t *key, const char *password, const uint8_t *salt, uint64_t ops,
                  uint64_t mem)
{
    if (password == NULL || password[0] == '\0')
        return vault__fail(VAULT_E_INVALID, "the encrypted export needs a password");
    return vault_kdf_derive(NULL, key, password, strlen(password), salt, ops, mem);
}

int vault_interop__write_sealed(const vault *v, const char *password, uint64_t ops,
                                uint64_t mem, uint8_t **out, size_t *out_len)
{
    if (ops == 0 && mem == 0) {
        ops = VAULT_KDF_OPSLIMIT_DEFAULT;
        mem = VAULT_KDF_MEMLIMIT_DEFAULT;
    }
    uint8_t header[SEALED_HEADER] = SEALED_MAGIC;
    header[4] = SEALED_VERSION;
    vault__store64_be(header + 8, ops);
    vault__store64_be(header + 16, mem);
    vault_kdf_salt(header + 24);
    char account[2 * VAULT_SALT_BYTES + 1];
    vault__bin2hex(account, header + 24, VAULT_SALT_BYTES);
    uint8_t *key = vault__secure_alloc(VAULT_KEY_BYTES), *json = NULL, *blob = NULL;
    size_t json_len = 0, blob_len = 0;
    int rc = key == NULL ? vault__fail(VAULT_E_NOMEM, "out of memory for a key")
                         : derive(key, password, header + 24, ops, mem);
    if (rc == VAULT_OK)
        rc = vault_interop__write_native(v, &json, &json_len);
    if (rc == VAULT_OK)
        rc = vault_blob_seal(&blob, &blob_len, key, account, 0, json, json_len);
    if (rc == VAULT_OK && (*out = vault__out_alloc(SEALED_HEADER + blob_len)) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory writing the export");
    if (rc == VAULT_OK) {
        memcpy(*out, header, SEALED_HEADER);
        memcpy(*out + SEALED_HEADER, blob, blob_len);
        *out_len = SEALED_HEADER + blob_len;
    }
    vault__secure_free(key);
    vault_free(json);
    vault_free(blob);
    return rc;
}

int vault_interop__read_sealed(interop_import *s, const uint8_t *data, size_t len,
                               const char *password)
{
    if (len < SEALED_HEADER || memcmp(data, SEALED_MAGIC, 4) != 0)
        return vault__fail(VAULT_E_FORMAT, "not a zkvault encrypted export");
    if (data[4] != SEALED_VERSION || data[5] != 0 || data[6] != 0 || data[7] != 0)
        return vault__fail(VAULT_E_VERSION, "unsupported encrypted export version %u", data[4]);
    uint64_t ops = vault__load64_be(data + 8), mem = vault__load64_be(data + 16);
    int rc = vault_kdf_check_params(ops, mem);
    if (rc != VAULT_OK)
        return rc;
    char account[2 * VAULT_SALT_BYTES + 1];
    vault__bin2hex(account, data + 24, VAULT_SALT_BYTES);
    uint8_t *key = vault__secure_alloc(VAULT_KEY_BYTES), *json = NULL;
    size_t json_len = 0;
    rc = key == NULL ? vault__fail(VAULT_E_NOMEM, "out of memory for a key")
                     : derive(key, password, data + 24, ops, mem);
    if (rc == VAULT_OK)
        rc = vault_blob_open(&json, &json_len, key, account, 0, data + SEALED_HEADER,
                             len - SEALED_HEADER);
    if (rc == VAULT_E_CORRUPT || rc == VAULT_E_MISMATCH)
        rc = vault__fail(VAULT_E_FORMAT, "the encrypted export is damaged");
    if (rc == VAULT_OK)
        rc = vault_interop__read_native(s, json, json_len);
    vault__secure_free(key);
    vault_free(json);
    return rc;
}

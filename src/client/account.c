/*
 * Account-level calls: password change (re-wraps the vault key; the blob is
 * not re-encrypted) and account deletion. Both prove the current password to
 * the server with its auth key.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "kdf/kdf.h"


/* Derives the keys of password under the current salt and checks them
 * against the locally stored protected key: VAULT_E_AUTH if wrong. */
static int verify_password(vault_client *c, const char *password, vault_client__keys *k)
{
    uint8_t *protected_key = NULL;
    size_t len = 0;
    uint8_t vk[VAULT_KEY_BYTES];
    int rc = vault_client__check_password(password);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_kdf_derive(k->auth_key, k->enc_key, password, strlen(password), c->salt,
                              c->opslimit, c->memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__store_get(c, "protected_key", &protected_key, &len);
    if (rc == VAULT_OK && vault_blob__unwrap_key(vk, k->enc_key, protected_key, len) != VAULT_OK)
        rc = vault__fail(VAULT_E_AUTH, "wrong password");
    sodium_memzero(vk, sizeof vk);
    vault_free(protected_key);
    return rc;
}

static int check_new_params(const vault_client *c, uint64_t *ops, uint64_t *mem)
{
    if (*ops == 0 && *mem == 0) {
        *ops = c->opslimit;
        *mem = c->memlimit;
    }
    int rc = vault_kdf_check_params(*ops, *mem);
    if (rc == VAULT_OK && vault_kdf__is_weaker(*ops, *mem, c->opslimit, c->memlimit))
        rc = vault__fail(VAULT_E_WEAK_KDF, "KDF parameters may only grow: other devices "
                                           "refuse weaker ones");
    return rc;
}

static int send_change(vault_client *c, const vault_client__keys *old_k,
                       const vault_client__keys *new_k, const uint8_t *salt, uint64_t ops,
                       uint64_t mem, const uint8_t *protected_key)
{
    cJSON *req = NULL, *resp = NULL;
    const char *token = NULL;
    int rc = vault_client__request_new(&req, "change_password");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "old_auth_key", old_k->auth_key, VAULT_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "new_auth_key", new_k->auth_key, VAULT_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "salt", salt, VAULT_SALT_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "protected_key", protected_key, VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK && (cJSON_AddNumberToObject(req, "opslimit", (double)ops) == NULL ||
                           cJSON_AddNumberToObject(req, "memlimit", (double)mem) == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK && (vault__json_string(resp, "session", "change_password", &token) !=
                               VAULT_OK ||
                           strlen(token) != VAULT_SESSION_HEX - 1))
        rc = vault__fail(VAULT_E_SERVER, "malformed change_password answer");
    if (rc == VAULT_OK)
        memcpy(c->session, token, VAULT_SESSION_HEX);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_client_change_password(vault_client *c, const char *old_password,
                                 const char *new_password, uint64_t opslimit, uint64_t memlimit)
{
    vault_client__keys *old_k = NULL, *new_k = NULL;
    uint8_t salt[VAULT_SALT_BYTES], protected_key[VAULT_PROTECTED_KEY_BYTES];
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = c->keys == NULL ? vault__fail(VAULT_E_LOCKED, "the client is locked") : VAULT_OK;
    if (rc == VAULT_OK)
        rc = vault_client__check_password(new_password);
    if (rc == VAULT_OK)
        rc = check_new_params(c, &opslimit, &memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&old_k);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&new_k);
    if (rc == VAULT_OK)
        rc = verify_password(c, old_password, old_k);
    if (rc != VAULT_OK)
        goto done;
    randombytes_buf(salt, sizeof salt);
    rc = vault_kdf_derive(new_k->auth_key, new_k->enc_key, new_password, strlen(new_password),
                          salt, opslimit, memlimit);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(protected_key, new_k->enc_key, c->keys->vault_key);
    if (rc == VAULT_OK)
        rc = send_change(c, old_k, new_k, salt, opslimit, memlimit, protected_key);
    if (rc != VAULT_OK)
        goto done;

    memcpy(c->salt, salt, sizeof salt);
    c->opslimit = opslimit;
    c->memlimit = memlimit;
    memcpy(c->keys->auth_key, new_k->auth_key, VAULT_KEY_BYTES);
    memcpy(c->keys->enc_key, new_k->enc_key, VAULT_KEY_BYTES);
    c->keys->has_password_keys = 1;
    rc = vault_client__store_account(c, protected_key, 0);
done:
    vault_client__keys_free(old_k);
    vault_client__keys_free(new_k);
    return vault_client__done(c, rc);
}

int vault_client_delete_account(vault_client *c, const char *password)
{
    vault_client__keys *k = NULL;
    cJSON *req = NULL, *resp = NULL;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = c->has_account ? VAULT_OK : vault__fail(VAULT_E_NOT_FOUND, "no vault in this store");
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = verify_password(c, password, k);
    if (rc == VAULT_OK)
        rc = vault_client__request_new(&req, "delete_account");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "auth_key", k->auth_key, VAULT_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        vault_client__forget_account(c);
    vault_client__keys_free(k);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return vault_client__done(c, rc);
}

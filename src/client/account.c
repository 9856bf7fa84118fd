/*
 * Account-level calls: password change (OPAQUE re-registration; the vault
 * key is re-wrapped, the blob is not re-encrypted) and account deletion.
 * Both carry a fresh OPAQUE proof of the current password (auth.c): the
 * server refuses them on a session alone.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "kdf/kdf.h"
#include "opaque/opaque.h"

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

/* The new credentials: an OPAQUE record and the vault key wrapped for the
 * server under the new KEK. */
typedef struct new_credentials {
    uint8_t record[VAULT_OPAQUE_RECORD_BYTES];
    uint8_t server_protected[VAULT_PROTECTED_KEY_BYTES];
    uint64_t ops, mem;
} new_credentials;

static int send_change(vault_client *c, const vault_client__keys *old_k,
                       const new_credentials *n, vault_client__proof *proof)
{
    cJSON *req = NULL, *resp = NULL;
    int rc = vault_client__request_new(&req, "change_password");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "record", n->record, sizeof n->record);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "protected_key", n->server_protected,
                                   sizeof n->server_protected);
    if (rc == VAULT_OK && (cJSON_AddNumberToObject(req, "opslimit", (double)n->ops) == NULL ||
                           cJSON_AddNumberToObject(req, "memlimit", (double)n->mem) == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__prove(c, NULL, old_k->password_key, req, proof);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        vault_client__take_proof_session(c, proof);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_client_change_password(vault_client *c, const char *old_password,
                                 const char *new_password, uint64_t opslimit, uint64_t memlimit)
{
    vault_client__keys *old_k = NULL, *new_k = NULL;
    vault_client__proof proof;
    new_credentials n;
    uint8_t kek[VAULT_KEY_BYTES], local_protected[VAULT_PROTECTED_KEY_BYTES];
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    memset(&proof, 0, sizeof proof);
    int rc = c->keys == NULL ? vault__fail(VAULT_E_LOCKED, "the client is locked") : VAULT_OK;
    if (rc == VAULT_OK)
        rc = vault_client__check_password(old_password);
    if (rc == VAULT_OK)
        rc = vault_client__check_password(new_password);
    if (rc == VAULT_OK)
        rc = check_new_params(c, &opslimit, &memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&old_k);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&new_k);
    if (rc == VAULT_OK)
        rc = vault_client__password_key(c, old_k, old_password);
    if (rc == VAULT_OK)
        rc = vault_client__password_key(c, new_k, new_password);
    n.ops = opslimit;
    n.mem = memlimit;
    if (rc == VAULT_OK)
        rc = vault_client__opaque_register(c, NULL, new_k->password_key, opslimit, memlimit,
                                           n.record, kek);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(n.server_protected, kek, c->keys->vault_key);
    if (rc == VAULT_OK)
        rc = send_change(c, old_k, &n, &proof);
    if (rc != VAULT_OK)
        goto done;

    /* The server switched: the local KEK follows the new password and costs. */
    c->opslimit = opslimit;
    c->memlimit = memlimit;
    randombytes_buf(c->salt, sizeof c->salt);
    rc = vault_client__local_key(c, new_k);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(local_protected, new_k->enc_key, c->keys->vault_key);
    if (rc == VAULT_OK)
        rc = vault_client__store_keys(c, local_protected, n.server_protected);
    if (rc == VAULT_OK) {
        memcpy(c->keys->password_key, new_k->password_key, VAULT_PASSWORD_KEY_BYTES);
        memcpy(c->keys->enc_key, new_k->enc_key, VAULT_KEY_BYTES);
        c->keys->has_password_keys = c->keys->has_enc_key = 1;
    }
done:
    sodium_memzero(kek, sizeof kek);
    sodium_memzero(&proof, sizeof proof);
    vault_client__keys_free(old_k);
    vault_client__keys_free(new_k);
    return vault_client__done(c, rc);
}

int vault_client_delete_account(vault_client *c, const char *password)
{
    vault_client__keys *k = NULL;
    vault_client__proof proof;
    cJSON *req = NULL, *resp = NULL;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    memset(&proof, 0, sizeof proof);
    int rc = c->has_account ? VAULT_OK : vault__fail(VAULT_E_NOT_FOUND, "no vault in this store");
    if (rc == VAULT_OK)
        rc = vault_client__check_password(password);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = vault_client__password_key(c, k, password);
    if (rc == VAULT_OK)
        rc = vault_client__request_new(&req, "delete_account");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__prove(c, NULL, k->password_key, req, &proof);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        vault_client__forget_account(c);
    sodium_memzero(&proof, sizeof proof);
    vault_client__keys_free(k);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return vault_client__done(c, rc);
}

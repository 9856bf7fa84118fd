/*
 * Device operations (docs/devicelink.md): device_list, device_revoke (with the
 * key-rotation push), device_key, device_login.
 *
 * The server's device list is for session management only; clients trust the
 * list inside the encrypted vault. A linked device logs in with the 32-byte
 * credential it received in its link envelope; the server keeps only a hash
 * of it and rate-limits failures exactly like password logins.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "devicelink/devicelink.h"
#include "server/server.h"

#define WRONG_DEVICE_CREDENTIAL "wrong account, device or credential"
#define MAX_SEALED_KEYS 256u

static vault_store *store_of(const vault_server_call *call)
{
    return call->server->store;
}

static int add_device(cJSON *list, const vault_store_device *d, const uint8_t *current)
{
    char id[2 * VAULT_STORE_ID_BYTES + 1];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToArray(list, o))
        return (cJSON_Delete(o), VAULT_E_NOMEM);
    vault__bin2hex(id, d->id, sizeof d->id);
    if (cJSON_AddStringToObject(o, "device_id", id) == NULL ||
        cJSON_AddStringToObject(o, "name", d->name) == NULL ||
        cJSON_AddNumberToObject(o, "added_ms", (double)d->added_ms) == NULL ||
        cJSON_AddNumberToObject(o, "last_seen_ms", (double)d->last_seen_ms) == NULL ||
        cJSON_AddBoolToObject(o, "revoked", d->revoked_ms != 0) == NULL ||
        cJSON_AddBoolToObject(o, "linked", d->linked) == NULL ||
        cJSON_AddBoolToObject(o, "current",
                              memcmp(d->id, current, VAULT_STORE_ID_BYTES) == 0) == NULL)
        return VAULT_E_NOMEM;
    return VAULT_OK;
}

int vault_server__op_device_list(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_device *devices = NULL;
    size_t count = 0;
    int status = st->ops->device_list(st, call->session.account_id, &devices, &count);
    if (status != VAULT_OK)
        return status;
    cJSON *list = cJSON_AddArrayToObject(call->reply, "devices");
    status = list == NULL ? VAULT_E_NOMEM : VAULT_OK;
    for (size_t i = 0; i < count && status == VAULT_OK; i++)
        status = add_device(list, &devices[i], call->session.device_id);
    vault__free(devices);
    if (status == VAULT_E_NOMEM)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a reply");
    return status;
}

/* "sealed_keys": [{"device_id": hex, "sealed_key": hex}, ...], each entry
 * exactly these two members. *out from vault__malloc. */
static int read_sealed_keys(const vault_server_call *call, vault_store_sealed_key **out,
                            size_t *count)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(call->req, "sealed_keys");
    *out = NULL;
    *count = 0;
    if (!cJSON_IsArray(arr))
        return vault__fail(VAULT_E_INVALID, "%s: \"sealed_keys\" must be an array", call->op);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > MAX_SEALED_KEYS)
        return vault__fail(VAULT_E_LIMIT, "%s: more than %u sealed keys", call->op,
                           MAX_SEALED_KEYS);
    vault_store_sealed_key *keys = vault__calloc(n, sizeof *keys);
    if (keys == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory reading sealed keys");
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "device_id");
        const cJSON *sk = cJSON_GetObjectItemCaseSensitive(e, "sealed_key");
        if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(id) ||
            !cJSON_IsString(sk) ||
            vault__hex2bin(keys[i].device_id, VAULT_STORE_ID_BYTES, id->valuestring) != VAULT_OK ||
            vault__hex2bin(keys[i].sealed, VAULT_STORE_SEALED_KEY_BYTES, sk->valuestring) !=
                VAULT_OK) {
            vault__free(keys);
            return vault__fail(VAULT_E_INVALID, "%s: sealed key %zu is malformed", call->op, i);
        }
    }
    *out = keys;
    *count = n;
    return VAULT_OK;
}

int vault_server__op_device_revoke(vault_server_call *call)
{
    vault_store *st = store_of(call);
    uint8_t device_id[VAULT_STORE_ID_BYTES], protected_key[VAULT_PROTECTED_KEY_BYTES];
    vault_store_sealed_key *keys = NULL;
    uint8_t *blob = NULL, session_key[VAULT_OPAQUE_NX];
    vault_server_login_state ls;
    size_t nkeys = 0, blob_len = 0;
    uint64_t base = 0;
    int status;
    memset(&ls, 0, sizeof ls);
    memset(session_key, 0, sizeof session_key);
    if ((status = vault_server__req_hex(call, "device_id", device_id, sizeof device_id)) ||
        (status = vault_server__req_u64(call, "base_revision", &base)) ||
        (status = vault_server__req_hex(call, "protected_key", protected_key,
                                        sizeof protected_key)) ||
        (status = read_sealed_keys(call, &keys, &nkeys)) ||
        (status = vault_server__req_blob(call, "blob", &blob, &blob_len)) ||
        (status = vault_server__check_blob(blob, blob_len, call->session.account_id, base + 1)))
        goto done;
    /* Revoking rewrites the protected key: a session alone is not enough, the
     * same request must carry a fresh proof of the password. */
    if ((status = vault_server__step_up(call, &ls, session_key)) != VAULT_OK)
        goto done;
    if (memcmp(device_id, call->session.device_id, sizeof device_id) == 0) {
        status = vault__fail(VAULT_E_INVALID, "a device cannot revoke itself");
        goto done;
    }
    for (size_t i = 0; i < nkeys; i++)
        if (memcmp(keys[i].device_id, device_id, sizeof device_id) == 0) {
            status = vault__fail(VAULT_E_INVALID, "a key sealed to the revoked device");
            goto done;
        }
    vault_server__mask_protected_key(call->server, call->session.account_id, protected_key);
    status = st->ops->device_revoke_rotate(st, call->session.account_id, device_id, base, blob,
                                           blob_len, protected_key, keys, nkeys, call->now_ms,
                                           &call->current_revision);
    if (status == VAULT_OK)
        status = vault_server__reply_u64(call, "revision", base + 1);
done:
    sodium_memzero(session_key, sizeof session_key);
    sodium_memzero(&ls, sizeof ls);
    vault__free(keys);
    vault_free(blob);
    return status;
}

int vault_server__op_device_key(vault_server_call *call)
{
    vault_store *st = store_of(call);
    uint8_t sealed[VAULT_STORE_SEALED_KEY_BYTES];
    int status = st->ops->device_sealed_key(st, call->session.account_id,
                                            call->session.device_id, sealed);
    if (status == VAULT_OK)
        status = vault_server__reply_hex(call, "sealed_key", sealed, sizeof sealed);
    return status;
}

/* Failures are counted per (account, device) under a hash of both, in the
 * same table and with the same delays as password logins. */
static void rate_key(uint8_t out[VAULT_SERVER_HASH_BYTES], const uint8_t *account_id,
                     const uint8_t *device_id)
{
    static const char label[] = "zkvault device login";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, VAULT_SERVER_HASH_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)label, sizeof label - 1);
    crypto_generichash_update(&h, account_id, VAULT_STORE_ID_BYTES);
    crypto_generichash_update(&h, device_id, VAULT_STORE_ID_BYTES);
    crypto_generichash_final(&h, out, VAULT_SERVER_HASH_BYTES);
}

static int check_device_credential(vault_server_call *call, const uint8_t *account_id,
                                   const uint8_t *device_id, const uint8_t *credential)
{
    vault_store *st = store_of(call);
    uint8_t stored[VAULT_STORE_HASH_BYTES] = {0}, given[VAULT_STORE_HASH_BYTES];
    int status = st->ops->device_credential(st, account_id, device_id, stored);
    if (status != VAULT_OK && status != VAULT_E_NOT_FOUND)
        return status;
    vault_devicelink__token_hash(given, credential);
    int same = sodium_memcmp(given, stored, sizeof given) == 0;
    if (status == VAULT_E_NOT_FOUND || !same)
        return vault__fail(VAULT_E_AUTH, WRONG_DEVICE_CREDENTIAL);
    return VAULT_OK;
}

static int device_login_reply(vault_server_call *call, const vault_store_account *acct,
                              const uint8_t *token, const vault_store_new_session *sess)
{
    int status = vault_server__reply_session(call, token, sess);
    if (status != VAULT_OK)
        return status;
    return vault_server__reply_account_keys(call, acct);
}

int vault_server__op_device_login(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_account acct;
    vault_store_new_session sess;
    uint8_t account_id[VAULT_STORE_ID_BYTES], device_id[VAULT_STORE_ID_BYTES];
    uint8_t credential[VAULT_DEVICELINK_CREDENTIAL_BYTES], key[VAULT_SERVER_HASH_BYTES];
    uint8_t token[VAULT_SERVER_TOKEN_BYTES] = {0};
    int status;
    memset(&acct, 0, sizeof acct);
    if ((status = vault_server__req_hex(call, "account_id", account_id, sizeof account_id)) ||
        (status = vault_server__req_hex(call, "device_id", device_id, sizeof device_id)) ||
        (status = vault_server__req_hex(call, "credential", credential, sizeof credential)))
        goto done;
    rate_key(key, account_id, device_id);
    if ((status = st->ops->login_attempt_begin(st, key, call->now_ms,
                                               (uint32_t)call->server->login_free,
                                               &call->retry_after_ms)) != VAULT_OK ||
        (status = check_device_credential(call, account_id, device_id, credential)) != VAULT_OK)
        goto done;
    if ((status = st->ops->get_account(st, account_id, &acct)) != VAULT_OK) {
        if (status == VAULT_E_NOT_FOUND)
            status = vault__fail(VAULT_E_AUTH, WRONG_DEVICE_CREDENTIAL);
        goto done;
    }
    vault_server__new_session(call, device_id, NULL, token, &sess);
    if ((status = st->ops->login_succeeded(st, account_id, key, &sess, call->now_ms)) ==
        VAULT_OK)
        status = device_login_reply(call, &acct, token, &sess);
    else if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, WRONG_DEVICE_CREDENTIAL);
done:
    sodium_memzero(credential, sizeof credential);
    sodium_memzero(token, sizeof token);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

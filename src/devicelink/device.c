/*
 * Linked devices (docs/devicelink.md, "Devices"): adopting a grant, unlocking
 * with the local device key, listing the trusted devices, and revocation with
 * vault-key rotation.
 *
 * A linked device keeps in its local store, each wrapped (vault_blob__wrap_key:
 * secretbox + key commitment) under the 32-byte local key the app provides:
 * the vault key, its server credential and its long-term X25519 secret key.
 * Its public key is listed in the vault's "devices" array, inside the
 * encryption, so the list of trusted keys never rests on the server's word.
 * When a device is revoked, the new vault key is sealed (crypto_box_seal) to
 * every remaining listed key; a linked device picks it up when a pull finds
 * the server's vault sealed under a key it does not hold, in the same session
 * (vault_devicelink__adopt_rotated_key, which vault_client_pull calls through
 * the key block's hook: the client never calls up into this module).
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "devicelink/devicelink.h"
#include "vault/vault.h"

#define DONE(c, rc) vault__capture((c)->errmsg, (rc))
#define REVOKE_ATTEMPTS 3

#define ST_LINKED_VK "linked_vault_key"
#define ST_LINKED_CREDENTIAL "linked_credential"
#define ST_LINKED_SK "linked_device_sk"

/* Secrets of a linked device while they are in use. */
typedef struct device_secrets {
    uint8_t vault_key[VAULT_KEY_BYTES];
    uint8_t credential[VAULT_DEVICELINK_CREDENTIAL_BYTES];
    uint8_t sk[crypto_box_SECRETKEYBYTES];
    uint8_t pk[crypto_box_PUBLICKEYBYTES];
} device_secrets;

static int secrets_new(device_secrets **out)
{
    *out = vault__secure_alloc(sizeof **out);
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of secure memory");
    sodium_memzero(*out, sizeof **out);
    return VAULT_OK;
}

static int put_wrapped(vault_client *c, const char *name, const uint8_t *local_key,
                       const uint8_t *secret)
{
    uint8_t wrapped[VAULT_PROTECTED_KEY_BYTES];
    int rc = vault_blob__wrap_key(wrapped, local_key, secret);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, name, wrapped, sizeof wrapped);
    return rc;
}

static int get_wrapped(vault_client *c, const char *name, const uint8_t *local_key,
                       uint8_t *secret)
{
    uint8_t *wrapped = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, name, &wrapped, &len);
    if (rc == VAULT_E_NOT_FOUND)
        rc = vault__fail(VAULT_E_NOT_FOUND, "this store holds no linked device");
    if (rc == VAULT_OK) {
        rc = vault_blob__unwrap_key(secret, local_key, wrapped, len);
        if (rc == VAULT_E_AUTH)
            rc = vault__fail(VAULT_E_AUTH, "wrong local device key");
    }
    vault_free(wrapped);
    return rc;
}

static int load_secrets(vault_client *c, const uint8_t *local_key, device_secrets *d)
{
    int rc = get_wrapped(c, ST_LINKED_VK, local_key, d->vault_key);
    if (rc == VAULT_OK)
        rc = get_wrapped(c, ST_LINKED_CREDENTIAL, local_key, d->credential);
    if (rc == VAULT_OK)
        rc = get_wrapped(c, ST_LINKED_SK, local_key, d->sk);
    if (rc == VAULT_OK)
        crypto_scalarmult_base(d->pk, d->sk);
    return rc;
}

static int store_secrets(vault_client *c, const uint8_t *local_key, const device_secrets *d)
{
    int rc = put_wrapped(c, ST_LINKED_VK, local_key, d->vault_key);
    if (rc == VAULT_OK)
        rc = put_wrapped(c, ST_LINKED_CREDENTIAL, local_key, d->credential);
    if (rc == VAULT_OK)
        rc = put_wrapped(c, ST_LINKED_SK, local_key, d->sk);
    return rc;
}

/* Keeps the device's own secrets in the session's key block (see
 * vault_devicelink__adopt_rotated_key). */
static void keep_device_keys(vault_client__keys *k, const device_secrets *d,
                             const uint8_t *local_key)
{
    memcpy(k->vault_key, d->vault_key, sizeof k->vault_key);
    memcpy(k->device_sk, d->sk, sizeof k->device_sk);
    memcpy(k->local_key, local_key, sizeof k->local_key);
    k->has_device_keys = 1;
    k->adopt_rotated_key = vault_devicelink__adopt_rotated_key;
}

/* ---- server calls -------------------------------------------------------------- */

/* device_login: opens a session with the credential. *protected_key is the
 * account's vault key as the server keeps it (wrapped under the KEK of the
 * password and the Secret Key). */
static int device_login(vault_client *c, const uint8_t *credential, uint8_t *protected_key)
{
    cJSON *req = NULL, *resp = NULL;
    uint8_t token[32];
    int rc = vault_client__request_new(&req, "device_login");
    if (rc == VAULT_OK && (cJSON_AddStringToObject(req, "account_id", c->account_id) == NULL ||
                           cJSON_AddStringToObject(req, "device_id", c->device_id) == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "credential", credential,
                                   VAULT_DEVICELINK_CREDENTIAL_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "session", token, sizeof token);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "protected_key", protected_key,
                                            VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK)
        vault__bin2hex(c->session, token, sizeof token);
    sodium_memzero(token, sizeof token);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

/* The vault key sealed to this device by the last rotation, if any:
 * VAULT_E_NOT_FOUND when there was none. */
static int fetch_rotated_key(vault_client *c, const device_secrets *d, uint8_t *vault_key)
{
    cJSON *req = NULL, *resp = NULL;
    uint8_t sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
    int rc = vault_client__request_new(&req, "device_key");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "sealed_key", sealed, sizeof sealed);
    if (rc == VAULT_OK && crypto_box_seal_open(vault_key, sealed, sizeof sealed, d->pk, d->sk) != 0)
        rc = vault__fail(VAULT_E_AUTH, "the rotated vault key does not open with this device's key");
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

/* ---- adopting a grant (new device) ------------------------------------------- */

/* This device's entry in the vault's trusted list. */
static int add_self_to_vault(vault_client *c, const device_secrets *d, const char *name)
{
    char pk_hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    cJSON *devices = vault_vault__devices(c->v);
    cJSON *entry = cJSON_CreateObject();
    vault__bin2hex(pk_hex, d->pk, sizeof d->pk);
    if (entry == NULL || cJSON_AddStringToObject(entry, "id", c->device_id) == NULL ||
        cJSON_AddStringToObject(entry, "name", name) == NULL ||
        cJSON_AddStringToObject(entry, "public_key", pk_hex) == NULL ||
        cJSON_AddNumberToObject(entry, "added", (double)vault__now_ms()) == NULL ||
        !cJSON_AddItemToArray(devices, entry)) {
        cJSON_Delete(entry);
        return vault__fail(VAULT_E_NOMEM, "out of memory adding this device");
    }
    return VAULT_OK;
}

/* Writes the account state and the wrapped secrets in one transaction. */
static int store_new_account(vault_client *c, const uint8_t *local_key, const device_secrets *d,
                             const uint8_t *head)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "device_id", c->device_id, 2 * VAULT_ACCOUNT_ID_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "grant_head_hash", head, 32);
    if (rc == VAULT_OK)
        rc = store_secrets(c, local_key, d);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return rc;
}

int vault_devicelink__adopt_grant(vault_client *c, const vault_devicelink_grant *g,
                                  const uint8_t *local_key)
{
    device_secrets *d = NULL;
    vault_client__keys *k = NULL;
    vault *v = NULL;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    int rc = secrets_new(&d);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = vault_new(&v);
    if (rc != VAULT_OK)
        goto done;
    memcpy(d->vault_key, g->vault_key, sizeof d->vault_key);
    memcpy(d->credential, g->credential, sizeof d->credential);
    crypto_box_keypair(d->pk, d->sk);
    keep_device_keys(k, d, local_key);

    memcpy(c->account_id, g->account_id, sizeof c->account_id);
    memcpy(c->device_id, g->device_id, sizeof c->device_id);
    randombytes_buf(c->salt, sizeof c->salt); /* this device's own, for a later password login */
    memcpy(c->secret_key, g->secret_key, sizeof c->secret_key);
    c->has_secret_key = 1;
    memcpy(c->email, g->email, strlen(g->email) + 1);
    c->opslimit = g->opslimit;
    c->memlimit = g->memlimit;
    c->base_revision = 0;
    c->highest_revision = g->revision; /* never accept anything older than A saw */
    if ((rc = store_new_account(c, local_key, d, g->head)) != VAULT_OK)
        goto done;
    c->has_account = 1;
    vault_client__set_unlocked(c, k, v);
    k = NULL;
    v = NULL;
    rc = device_login(c, d->credential, protected_key);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "server_protected_key", protected_key,
                                     sizeof protected_key);
    if (rc == VAULT_OK)
        rc = vault_client_pull(c);
    if (rc == VAULT_OK)
        rc = add_self_to_vault(c, d, g->device_name);
    if (rc == VAULT_OK)
        rc = vault_client_sync(c);
    if (rc != VAULT_OK) {
        char msg[VAULT_ERRMSG_MAX];
        vault__capture(msg, rc);
        vault_client__forget_account(c);
        vault__fail(rc, "%s", msg);
    }
done:
    vault__secure_free(d);
    vault_client__keys_free(k);
    vault_close(v);
    return rc;
}

/* ---- catching up with a rotation ---------------------------------------------- */

/* Whether v lists device_id with the public key pk: a genuine rotation seals
 * the new key only to the devices its vault lists. */
static int lists_device(const vault *v, const char *device_id, const uint8_t *pk)
{
    char pk_hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    vault__bin2hex(pk_hex, pk, crypto_box_PUBLICKEYBYTES);
    for (const cJSON *e = vault_vault__devices_const(v)->child; e != NULL; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *listed = cJSON_GetObjectItemCaseSensitive(e, "public_key");
        if (cJSON_IsString(id) && strcmp(id->valuestring, device_id) == 0)
            return cJSON_IsString(listed) && strcmp(listed->valuestring, pk_hex) == 0;
    }
    return 0;
}

/* Re-seals the local blobs under new_key and keeps it under the local key, in
 * one transaction; only then does the session switch to it. */
static int commit_rotated_key(vault_client *c, const uint8_t *new_key)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__stage_rekey(c, c->keys->vault_key, new_key);
    if (rc == VAULT_OK)
        rc = put_wrapped(c, ST_LINKED_VK, c->keys->local_key, new_key);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    if (rc == VAULT_OK)
        memcpy(c->keys->vault_key, new_key, VAULT_KEY_BYTES);
    return rc;
}

/* The server's latest blob (already vetted by the pull: this account, the
 * claimed revision, not older than seen) does not open under this device's
 * key. The only key this device adopts is one sealed to its own X25519 key
 * that opens exactly that blob, whose vault lists this device: an older
 * rotation's key, another account's key or any key of the server's choosing
 * fails the blob's key commitment and MAC (VAULT_E_AUTH), and nothing local
 * changes. */
int vault_devicelink__adopt_rotated_key(vault_client *c, uint64_t revision, const uint8_t *blob,
                                        size_t len, vault **remote)
{
    device_secrets *d = NULL;
    *remote = NULL;
    int rc = secrets_new(&d);
    if (rc != VAULT_OK)
        return rc;
    memcpy(d->sk, c->keys->device_sk, sizeof d->sk);
    crypto_scalarmult_base(d->pk, d->sk);
    rc = fetch_rotated_key(c, d, d->vault_key);
    if (rc == VAULT_E_NOT_FOUND)
        rc = vault__fail(VAULT_E_AUTH, "the server's vault does not open with this device's "
                                       "key and no rotated key was sealed to it");
    if (rc == VAULT_OK && sodium_memcmp(d->vault_key, c->keys->vault_key, VAULT_KEY_BYTES) == 0)
        rc = vault__fail(VAULT_E_AUTH, "the server's vault does not open with this device's "
                                       "key (tampered, or a rotation not sealed to it)");
    if (rc == VAULT_OK) {
        rc = vault_open(remote, d->vault_key, c->account_id, revision, blob, len);
        if (rc != VAULT_OK && rc != VAULT_E_NOMEM)
            rc = vault__fail(VAULT_E_AUTH, "the rotated vault key the server sent does not "
                                           "open its vault: %s", vault_last_error());
    }
    if (rc == VAULT_OK && !lists_device(*remote, c->device_id, d->pk))
        rc = vault__fail(VAULT_E_AUTH, "the vault under the rotated key does not list this "
                                       "device");
    if (rc == VAULT_OK)
        rc = commit_rotated_key(c, d->vault_key);
    if (rc != VAULT_OK) {
        vault_close(*remote);
        *remote = NULL;
    }
    vault__secure_free(d);
    return rc;
}

/* ---- unlock with the device key ----------------------------------------------- */

/* With a server: logs in with the credential. A rotated key is picked up by
 * the next pull, where it can be checked against the server's blob. The
 * server's protected key is not kept: it is wrapped under a key that only a
 * password proof yields, and the local one is made by a password login. */
static int login_if_online(vault_client *c, const device_secrets *d)
{
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    int rc = device_login(c, d->credential, protected_key);
    if (rc == VAULT_E_NETWORK) {
        /* Offline: the local copy opens; the next unlock online logs in. */
        vault__clear_error();
        return VAULT_OK;
    }
    return rc;
}

int vault_client_unlock_device(vault_client *c, const uint8_t *local_key)
{
    device_secrets *d = NULL;
    vault_client__keys *k = NULL;
    vault *v = NULL;
    if (c == NULL || local_key == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_unlock_device: NULL argument");
    int rc = c->has_account ? VAULT_OK : vault__fail(VAULT_E_NOT_FOUND, "no vault in this store");
    if (rc == VAULT_OK)
        rc = secrets_new(&d);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = load_secrets(c, local_key, d);
    if (rc != VAULT_OK)
        goto done;
    keep_device_keys(k, d, local_key);
    if ((rc = vault_client__open_local(c, k, &v)) != VAULT_OK)
        goto done;
    if (c->transport != NULL && (rc = login_if_online(c, d)) != VAULT_OK)
        goto done;
    vault_client__set_unlocked(c, k, v);
    k = NULL;
    v = NULL;
done:
    if (rc != VAULT_OK)
        sodium_memzero(c->session, sizeof c->session);
    vault__secure_free(d);
    vault_client__keys_free(k);
    vault_close(v);
    return DONE(c, rc);
}

/* ---- listing and revoking ------------------------------------------------------ */

int vault_client_devices(vault_client *c, char **json)
{
    if (json != NULL)
        *json = NULL;
    if (c == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_devices: NULL argument");
    if (c->v == NULL)
        return DONE(c, vault__fail(VAULT_E_LOCKED, "the client is locked"));
    cJSON *list = cJSON_Duplicate(vault_vault__devices_const(c->v), 1);
    if (list == NULL)
        return DONE(c, vault__fail(VAULT_E_NOMEM, "out of memory listing devices"));
    int rc = VAULT_OK;
    for (cJSON *e = list->child; e != NULL && rc == VAULT_OK; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        int current = cJSON_IsString(id) && strcmp(id->valuestring, c->device_id) == 0;
        cJSON_DeleteItemFromObjectCaseSensitive(e, "current");
        if (cJSON_AddBoolToObject(e, "current", current) == NULL)
            rc = vault__fail(VAULT_E_NOMEM, "out of memory listing devices");
    }
    if (rc == VAULT_OK)
        rc = vault__json_print(list, json);
    cJSON_Delete(list);
    return DONE(c, rc);
}

/* The entry of device_id in the vault's list, or NULL. */
static cJSON *find_device(cJSON *devices, const char *device_id)
{
    for (cJSON *e = devices->child; e != NULL; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, device_id) == 0)
            return e;
    }
    return NULL;
}

/* The new vault key sealed to every remaining listed device with a public key. */
static int seal_to_devices(cJSON *req, const cJSON *devices, const char *self_id,
                           const uint8_t *new_key)
{
    cJSON *arr = cJSON_AddArrayToObject(req, "sealed_keys");
    if (arr == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    for (const cJSON *e = devices->child; e != NULL; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *pk_hex = cJSON_GetObjectItemCaseSensitive(e, "public_key");
        uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
        if (!cJSON_IsString(id) || strcmp(id->valuestring, self_id) == 0 ||
            !cJSON_IsString(pk_hex) || vault__hex2bin(pk, sizeof pk, pk_hex->valuestring) != 0)
            continue; /* password-only devices recover with the protected key */
        if (crypto_box_seal(sealed, new_key, VAULT_KEY_BYTES, pk) != 0)
            return vault__fail(VAULT_E_INVALID, "device %s has an invalid public key",
                               id->valuestring);
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "device_id", id->valuestring) == NULL ||
            vault_client__add_hex(o, "sealed_key", sealed, sizeof sealed) != VAULT_OK)
            return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    }
    return VAULT_OK;
}

/* The rotated state: new vault without the device, new key, its blob. */
typedef struct rotation {
    vault *v;
    uint8_t *blob;
    size_t blob_len;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];        /* under the local KEK */
    uint8_t server_protected_key[VAULT_PROTECTED_KEY_BYTES]; /* under the server KEK */
    uint64_t revision;
} rotation;

static int send_revoke(vault_client *c, const char *device_id, const uint8_t *new_key,
                       rotation *r)
{
    cJSON *req = NULL, *resp = NULL;
    vault_client__proof proof;
    int rc = vault_client__request_new(&req, "device_revoke");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK && (cJSON_AddStringToObject(req, "device_id", device_id) == NULL ||
                           cJSON_AddNumberToObject(req, "base_revision",
                                                   (double)c->base_revision) == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__add_blob(req, "blob", r->blob, r->blob_len);
    if (rc == VAULT_OK)
        rc = seal_to_devices(req, vault_vault__devices_const(r->v), c->device_id, new_key);
    /* The server wants a fresh proof of the password with a revocation, and
     * the new key's server copy is wrapped under that proof's KEK. */
    if (rc == VAULT_OK)
        rc = vault_client__prove(c, NULL, c->keys->password_key, req, &proof);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(r->server_protected_key, proof.kek, new_key);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "protected_key", r->server_protected_key,
                                   sizeof r->server_protected_key);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK && (vault__json_u64(resp, "revision", "device_revoke", &r->revision) !=
                               VAULT_OK ||
                           r->revision != c->base_revision + 1))
        rc = vault__fail(VAULT_E_SERVER, "malformed device_revoke answer");
    sodium_memzero(&proof, sizeof proof);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

/* Builds the rotated vault (a copy without the device) sealed under new_key. */
static int prepare_rotation(vault_client *c, const char *device_id, const uint8_t *new_key,
                            rotation *r)
{
    char *json = NULL;
    int rc = vault_to_json(c->v, &json);
    if (rc == VAULT_OK)
        rc = vault_from_json(&r->v, json, strlen(json));
    vault_free(json);
    if (rc != VAULT_OK)
        return rc;
    cJSON *devices = vault_vault__devices(r->v);
    cJSON *entry = find_device(devices, device_id);
    if (entry == NULL)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device in this vault");
    cJSON_Delete(cJSON_DetachItemViaPointer(devices, entry));
    if (!c->keys->has_enc_key)
        rc = vault_client__local_key(c, c->keys);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(r->protected_key, c->keys->enc_key, new_key);
    if (rc == VAULT_OK)
        rc = vault_client__seal_next(c, r->v, new_key, &r->blob, &r->blob_len);
    return rc;
}

/* Adopts the accepted rotation locally in one transaction. */
static int commit_rotation(vault_client *c, const uint8_t *new_key, rotation *r)
{
    uint64_t old_base = c->base_revision, old_highest = c->highest_revision;
    uint8_t old_key[VAULT_KEY_BYTES];
    memcpy(old_key, c->keys->vault_key, sizeof old_key);
    memcpy(c->keys->vault_key, new_key, VAULT_KEY_BYTES);
    vault *old_v = c->v;
    c->v = r->v;
    c->base_revision = c->highest_revision = r->revision;
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__stage_point(c, "base_blob", r->blob, r->blob_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "protected_key", r->protected_key,
                                     sizeof r->protected_key);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "server_protected_key", r->server_protected_key,
                                     sizeof r->server_protected_key);
    if (rc == VAULT_OK)
        rc = vault_client__put_local_blob(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    if (rc == VAULT_OK) {
        r->v = old_v; /* freed by the caller */
    } else {
        vault_client__store_rollback(c);
        memcpy(c->keys->vault_key, old_key, sizeof old_key);
        c->v = old_v;
        c->base_revision = old_base;
        c->highest_revision = old_highest;
    }
    sodium_memzero(old_key, sizeof old_key);
    return rc;
}

static int revoke_once(vault_client *c, const char *device_id)
{
    rotation r;
    uint8_t *new_key = vault__secure_alloc(VAULT_KEY_BYTES);
    memset(&r, 0, sizeof r);
    if (new_key == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of secure memory");
    randombytes_buf(new_key, VAULT_KEY_BYTES);
    int rc = vault_client_sync(c);
    if (rc == VAULT_OK)
        rc = prepare_rotation(c, device_id, new_key, &r);
    if (rc == VAULT_OK)
        rc = send_revoke(c, device_id, new_key, &r);
    if (rc == VAULT_OK)
        rc = commit_rotation(c, new_key, &r);
    vault_close(r.v);
    vault_free(r.blob);
    sodium_memzero(&r, sizeof r);
    vault__secure_free(new_key);
    return rc;
}

int vault_client_revoke(vault_client *c, const char *device_id)
{
    if (c == NULL || device_id == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_revoke: NULL argument");
    if (c->keys == NULL)
        return DONE(c, vault__fail(VAULT_E_LOCKED, "the client is locked"));
    if (!c->keys->has_password_keys)
        return DONE(c, vault__fail(VAULT_E_STATE, "revoking rotates the vault key, which needs "
                                                  "this device unlocked with the master password"));
    if (strcmp(device_id, c->device_id) == 0)
        return DONE(c, vault__fail(VAULT_E_INVALID, "a device cannot revoke itself"));
    if (find_device(vault_vault__devices(c->v), device_id) == NULL)
        return DONE(c, vault__fail(VAULT_E_NOT_FOUND, "no such device in this vault"));
    int rc = VAULT_E_CONFLICT;
    for (int i = 0; i < REVOKE_ATTEMPTS && rc == VAULT_E_CONFLICT; i++)
        rc = revoke_once(c, device_id);
    return DONE(c, rc);
}

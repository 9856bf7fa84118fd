/*
 * Sync: pull (verify, roll-back check, three-way merge), push (compare and
 * swap on the server's revision) and sync (both, retried on conflicts).
 *
 * The server is untrusted. A pulled blob is accepted only if it opens under
 * the vault key, belongs to this account, is sealed for exactly the revision
 * the server claims, and that revision is not lower than the highest this
 * device ever accepted. Nothing local changes unless every check passed.
 * A linked device that finds a newer blob under a key it does not hold picks
 * up the rotated key sealed to it through the key block's adopt_rotated_key
 * hook (set by the device-link module, src/devicelink/device.c) and goes on.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "client/client.h"

#define SYNC_ATTEMPTS 5

static int require_session(vault_client *c)
{
    if (c->v == NULL)
        return vault__fail(VAULT_E_LOCKED, "the client is locked");
    if (c->session[0] == '\0')
        return vault__fail(VAULT_E_STATE, "not logged in");
    return VAULT_OK;
}

/* Checks a pulled blob's binding before any key is used on it. */
static int vet_pulled_blob(const vault_client *c, uint64_t revision, const uint8_t *blob,
                           size_t len)
{
    char *account = NULL;
    uint64_t sealed_revision = 0;
    if (revision < c->highest_revision)
        return vault__fail(VAULT_E_ROLLBACK,
                           "server offered revision %llu, older than %llu already seen",
                           (unsigned long long)revision,
                           (unsigned long long)c->highest_revision);
    int rc = vault_blob_peek(blob, len, &account, &sealed_revision);
    if (rc == VAULT_OK && strcmp(account, c->account_id) != 0)
        rc = vault__fail(VAULT_E_MISMATCH, "server sent another account's vault");
    else if (rc == VAULT_OK && sealed_revision != revision)
        rc = vault__fail(VAULT_E_ROLLBACK,
                         "server claims revision %llu for a blob sealed as revision %llu",
                         (unsigned long long)revision, (unsigned long long)sealed_revision);
    vault_free(account);
    return rc;
}

static int fetch_remote(vault_client *c, uint64_t *revision, uint8_t **blob, size_t *len)
{
    cJSON *req = NULL, *resp = NULL;
    const char *b64 = NULL;
    int rc = vault_client__request_new(&req, "pull");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK && (vault__json_u64(resp, "revision", "pull", revision) != VAULT_OK ||
                           vault__json_string(resp, "blob", "pull", &b64) != VAULT_OK))
        rc = vault__fail(VAULT_E_SERVER, "malformed pull answer: %s", vault_last_error());
    if (rc == VAULT_OK && vault__base64_decode(b64, VAULT_BLOB_MAX_BYTES, blob, len) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "malformed pull answer: bad blob");
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

static int open_base(vault_client *c, vault **base)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    if (c->base_revision == 0)
        return vault_new(base);
    int rc = vault_client__store_get(c, "base_blob", &blob, &len);
    if (rc == VAULT_OK)
        rc = vault_open(base, c->keys->vault_key, c->account_id, c->base_revision, blob, len);
    vault_free(blob);
    return rc;
}

/* Stores a new synced base (its blob at revision) and the local vault v,
 * sealed for revision + 1, in one transaction. */
static int store_synced(vault_client *c, uint64_t revision, const uint8_t *blob, size_t len,
                        const vault *v)
{
    uint8_t *local = NULL;
    size_t local_len = 0;
    uint64_t old_base = c->base_revision, old_highest = c->highest_revision;
    int rc = vault_seal(v, c->keys->vault_key, c->account_id, revision + 1, &local, &local_len);
    if (rc != VAULT_OK)
        return rc;
    c->base_revision = c->highest_revision = revision;
    rc = vault_client__store_blobs(c, blob, len, local, local_len);
    if (rc != VAULT_OK) {
        c->base_revision = old_base;
        c->highest_revision = old_highest;
    }
    vault_free(local);
    return rc;
}

int vault_client__store_blobs(vault_client *c, const uint8_t *base, size_t base_len,
                              const uint8_t *local, size_t local_len)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK && base != NULL)
        rc = vault_client__store_put(c, "base_blob", base, base_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "local_blob", local, local_len);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return rc;
}

int vault_client_pull(vault_client *c)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t revision = 0;
    vault *remote = NULL, *base = NULL, *merged = NULL;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = require_session(c);
    if (rc == VAULT_OK)
        rc = fetch_remote(c, &revision, &blob, &len);
    if (rc == VAULT_OK)
        rc = vet_pulled_blob(c, revision, blob, len);
    if (rc == VAULT_OK) {
        rc = vault_open(&remote, c->keys->vault_key, c->account_id, revision, blob, len);
        /* A newer revision under another key: a rotation this linked device
         * missed, if the key sealed to it checks out against this blob. */
        if (rc == VAULT_E_AUTH && c->keys->adopt_rotated_key != NULL &&
            revision > c->base_revision)
            rc = c->keys->adopt_rotated_key(c, revision, blob, len, &remote);
        if (rc == VAULT_E_MISMATCH)
            rc = vault__fail(VAULT_E_ROLLBACK, "server blob is bound to another revision");
    }
    if (rc != VAULT_OK || revision == c->base_revision)
        goto done;
    rc = open_base(c, &base);
    if (rc == VAULT_OK)
        rc = vault_merge(&merged, base, c->v, remote);
    if (rc == VAULT_OK)
        rc = store_synced(c, revision, blob, len, merged);
    if (rc == VAULT_OK) {
        vault_close(c->v);
        c->v = merged;
        merged = NULL;
    }
done:
    vault_close(remote);
    vault_close(base);
    vault_close(merged);
    vault_free(blob);
    return vault_client__done(c, rc);
}

static int push_blob(vault_client *c, const uint8_t *blob, size_t len, uint64_t *revision)
{
    cJSON *req = NULL, *resp = NULL;
    int rc = vault_client__request_new(&req, "push");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK && cJSON_AddNumberToObject(req, "base_revision",
                                                  (double)c->base_revision) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__add_blob(req, "blob", blob, len);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK && vault__json_u64(resp, "revision", "push", revision) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "malformed push answer");
    if (rc == VAULT_OK && *revision != c->base_revision + 1)
        rc = vault__fail(VAULT_E_SERVER, "server acknowledged the push as revision %llu",
                         (unsigned long long)*revision);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_client_push(vault_client *c)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t revision = 0;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = require_session(c);
    if (rc == VAULT_OK)
        rc = vault_seal(c->v, c->keys->vault_key, c->account_id, c->base_revision + 1, &blob,
                        &len);
    if (rc == VAULT_OK)
        rc = push_blob(c, blob, len, &revision);
    if (rc == VAULT_OK)
        rc = store_synced(c, revision, blob, len, c->v);
    vault_free(blob);
    return vault_client__done(c, rc);
}

/* Whether the local vault has changes the last-synced base does not. */
static int local_differs_from_base(vault_client *c, int *differs)
{
    vault *base = NULL;
    char *a = NULL, *b = NULL;
    int rc = open_base(c, &base);
    if (rc == VAULT_OK)
        rc = vault_to_json(base, &a);
    if (rc == VAULT_OK)
        rc = vault_to_json(c->v, &b);
    if (rc == VAULT_OK)
        *differs = strcmp(a, b) != 0;
    vault_free(a);
    vault_free(b);
    vault_close(base);
    return rc;
}

int vault_client_sync(vault_client *c)
{
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = VAULT_E_CONFLICT;
    for (int attempt = 0; attempt < SYNC_ATTEMPTS && rc == VAULT_E_CONFLICT; attempt++) {
        int differs = 0;
        rc = vault_client_pull(c);
        if (rc == VAULT_OK)
            rc = local_differs_from_base(c, &differs);
        if (rc == VAULT_OK && differs)
            rc = vault_client_push(c);
    }
    if (rc == VAULT_E_CONFLICT)
        vault__fail(rc, "gave up after %d conflicting attempts", SYNC_ATTEMPTS);
    return vault_client__done(c, rc);
}

int vault_client_revision(const vault_client *c, uint64_t *revision)
{
    if (c == NULL || revision == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_revision: NULL argument");
    *revision = c->highest_revision;
    return VAULT_OK;
}

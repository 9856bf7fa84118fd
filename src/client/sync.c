/*
 * Sync: pull (verify, roll-back and history checks, three-way merge), push
 * (compare and swap on the server's revision) and sync (both, retried on
 * conflicts); recovery from a fork. docs/sync.md explains the rules.
 *
 * The server is untrusted. A pulled blob is accepted only if it opens under
 * the vault key, belongs to this account, is sealed for exactly the revision
 * the server claims, that revision is not lower than the highest this device
 * ever accepted, and its history (the chain it states, inside what is
 * authenticated) contains what this device last confirmed. Nothing local
 * changes unless every check passed. A linked device that finds a newer blob
 * under a key it does not hold picks up the rotated key sealed to it through
 * the key block's adopt_rotated_key hook (set by the device-link module) and
 * goes on.
 *
 * The device keeps three things: the base (the last blob it received from
 * the server: the merge base), the pending push (the blob the server last
 * acknowledged, until the server shows it), and the local vault. A push
 * counts as confirmed only once a pull shows it or a descendant of it; an
 * unconfirmed push is never a merge base, so a push the server lost cannot
 * make the next merge treat this device's edits as deleted elsewhere.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "vault/vault.h"

#define SYNC_ATTEMPTS 5

/* What the server showed: vetted, opened, named. */
typedef struct pulled {
    uint64_t revision;
    uint8_t *blob;
    size_t len;
    uint8_t hash[VAULT_CHAIN_HASH_BYTES];
    vault *v;
    vault_chain chain;
} pulled;

static void pulled_free(pulled *p)
{
    vault_close(p->v);
    vault_free(p->blob);
}

static int require_session(vault_client *c)
{
    if (c->v == NULL)
        return vault__fail(VAULT_E_LOCKED, "the client is locked");
    if (c->session[0] == '\0')
        return vault__fail(VAULT_E_STATE, "not logged in");
    return VAULT_OK;
}

/* Checks a pulled blob's binding before any key is used on it. A fork
 * recovery takes whatever revision the server holds (allow_older). */
static int vet_pulled_blob(const vault_client *c, const pulled *p, int allow_older)
{
    char *account = NULL;
    uint64_t sealed_revision = 0;
    if (!allow_older && p->revision < c->highest_revision)
        return vault__fail(VAULT_E_ROLLBACK,
                           "server offered revision %llu, older than %llu already seen",
                           (unsigned long long)p->revision,
                           (unsigned long long)c->highest_revision);
    int rc = vault_blob_peek(p->blob, p->len, &account, &sealed_revision);
    if (rc == VAULT_OK && strcmp(account, c->account_id) != 0)
        rc = vault__fail(VAULT_E_MISMATCH, "server sent another account's vault");
    else if (rc == VAULT_OK && sealed_revision != p->revision)
        rc = vault__fail(VAULT_E_ROLLBACK,
                         "server claims revision %llu for a blob sealed as revision %llu",
                         (unsigned long long)p->revision, (unsigned long long)sealed_revision);
    vault_free(account);
    return rc;
}

static int fetch_remote(vault_client *c, pulled *p)
{
    cJSON *req = NULL, *resp = NULL;
    const char *b64 = NULL;
    int rc = vault_client__request_new(&req, "pull");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK && (vault__json_u64(resp, "revision", "pull", &p->revision) != VAULT_OK ||
                           vault__json_string(resp, "blob", "pull", &b64) != VAULT_OK))
        rc = vault__fail(VAULT_E_SERVER, "malformed pull answer: %s", vault_last_error());
    if (rc == VAULT_OK &&
        vault__base64_decode(b64, VAULT_BLOB_MAX_BYTES, &p->blob, &p->len) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "malformed pull answer: bad blob");
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

/* Fetches, vets and opens the server's current revision. */
static int pull_remote(vault_client *c, pulled *p, int allow_older)
{
    int rc = fetch_remote(c, p);
    if (rc == VAULT_OK)
        rc = vet_pulled_blob(c, p, allow_older);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_vault__open_chain(&p->v, c->keys->vault_key, c->account_id, p->revision, p->blob,
                                 p->len, &p->chain);
    /* A newer revision under another key: a rotation this linked device
     * missed, if the key sealed to it checks out against this blob. */
    if (rc == VAULT_E_AUTH && c->keys->adopt_rotated_key != NULL &&
        p->revision > c->base_revision) {
        rc = c->keys->adopt_rotated_key(c, p->revision, p->blob, p->len, &p->v);
        vault_close(p->v);
        p->v = NULL;
        if (rc == VAULT_OK)
            rc = vault_vault__open_chain(&p->v, c->keys->vault_key, c->account_id, p->revision,
                                         p->blob, p->len, &p->chain);
    }
    if (rc == VAULT_E_MISMATCH)
        rc = vault__fail(VAULT_E_ROLLBACK, "server blob is bound to another revision");
    if (rc == VAULT_OK)
        vault_chain__hash(p->hash, p->blob, p->len);
    return rc;
}

/* ---- what the device holds ------------------------------------------------ */

/* A stored blob (base_blob or pending_blob) and the hash it was named by when
 * it came from or went to the server (a re-seal under a rotated key changes
 * its bytes, not its name). VAULT_E_NOT_FOUND if absent. */
static int load_point(vault_client *c, const char *name, uint8_t **blob, size_t *len,
                      uint8_t hash[VAULT_CHAIN_HASH_BYTES])
{
    char key[32];
    uint8_t *h = NULL;
    size_t hlen = 0;
    snprintf(key, sizeof key, "%s_hash", name);
    int rc = vault_client__store_get(c, name, blob, len);
    if (rc == VAULT_OK)
        rc = vault_client__store_get(c, key, &h, &hlen);
    if (rc == VAULT_OK && hlen != VAULT_CHAIN_HASH_BYTES)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: bad %s", key);
    if (rc == VAULT_OK)
        memcpy(hash, h, VAULT_CHAIN_HASH_BYTES);
    if (rc != VAULT_OK) {
        vault_free(*blob);
        *blob = NULL;
    }
    vault_free(h);
    return rc;
}

int vault_client__stage_point(vault_client *c, const char *name, const uint8_t *blob,
                              size_t len)
{
    char key[32];
    uint8_t hash[VAULT_CHAIN_HASH_BYTES];
    snprintf(key, sizeof key, "%s_hash", name);
    vault_chain__hash(hash, blob, len);
    int rc = vault_client__store_put(c, name, blob, len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, key, hash, sizeof hash);
    return rc;
}

int vault_client__head(vault_client *c, uint8_t hash[VAULT_CHAIN_HASH_BYTES])
{
    /* highest_revision is the acknowledged pending push, else the base. */
    const char *name = c->highest_revision > c->base_revision ? "pending_blob_hash"
                       : c->base_revision > 0                ? "base_blob_hash"
                                                             : "grant_head_hash";
    uint8_t *h = NULL;
    size_t len = 0;
    memset(hash, 0, VAULT_CHAIN_HASH_BYTES);
    int rc = vault_client__store_get(c, name, &h, &len);
    if (rc == VAULT_OK && len == VAULT_CHAIN_HASH_BYTES)
        memcpy(hash, h, len);
    vault_free(h);
    if (rc == VAULT_E_NOT_FOUND) {
        vault__clear_error();
        rc = VAULT_OK;
    }
    return rc;
}

static int drop_pending(vault_client *c)
{
    int rc = vault_client__store_delete(c, "pending_blob");
    if (rc == VAULT_OK)
        rc = vault_client__store_delete(c, "pending_blob_hash");
    return rc;
}

/* The base: its vault (if vault is not NULL), chain and name; an empty vault
 * and no history before the first sync. */
static int open_base(vault_client *c, vault **v, vault_chain *chain,
                     uint8_t hash[VAULT_CHAIN_HASH_BYTES])
{
    uint8_t *blob = NULL;
    size_t len = 0;
    chain->count = 0;
    memset(hash, 0, VAULT_CHAIN_HASH_BYTES);
    if (c->base_revision == 0)
        return v != NULL ? vault_new(v) : VAULT_OK;
    int rc = load_point(c, "base_blob", &blob, &len, hash);
    if (rc == VAULT_E_NOT_FOUND)
        rc = vault__fail(VAULT_E_CORRUPT, "local store has no base blob");
    if (rc == VAULT_OK && v != NULL)
        rc = vault_vault__open_chain(v, c->keys->vault_key, c->account_id, c->base_revision, blob,
                                     len, chain);
    else if (rc == VAULT_OK)
        rc = vault_blob__open_chain(c->keys->vault_key, c->account_id, c->base_revision, blob,
                                    len, chain, NULL, NULL);
    vault_free(blob);
    return rc;
}

int vault_client__seal_next(vault_client *c, const vault *v, const uint8_t *key, uint8_t **blob,
                            size_t *len)
{
    vault_chain chain;
    uint8_t hash[VAULT_CHAIN_HASH_BYTES];
    int rc = open_base(c, NULL, &chain, hash);
    if (rc == VAULT_OK && c->base_revision > 0)
        vault_chain__extend(&chain, &chain, c->base_revision, hash);
    if (rc == VAULT_OK)
        rc = vault_vault__seal_chain(v, key, c->account_id, c->base_revision + 1, &chain, blob,
                                     len);
    return rc;
}

/* Stores, in one transaction, the server's blob as the new base, the local
 * vault v sealed for the revision after it, and either no pending push (it
 * was confirmed or superseded) or the given one (pushed on this base). */
static int store_synced(vault_client *c, const pulled *p, vault *v, const uint8_t *pending,
                        size_t pending_len)
{
    uint64_t old_base = c->base_revision, old_highest = c->highest_revision;
    c->base_revision = p->revision;
    if (pending != NULL)
        c->highest_revision = p->revision + 1; /* also below the old one: a resolved fork */
    else if (c->highest_revision < p->revision)
        c->highest_revision = p->revision;
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__stage_point(c, "base_blob", p->blob, p->len);
    if (rc == VAULT_OK)
        rc = pending != NULL ? vault_client__stage_point(c, "pending_blob", pending, pending_len)
                             : drop_pending(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_delete(c, "grant_head_hash");
    if (rc == VAULT_OK) {
        vault *keep = c->v; /* put_local_blob seals c->v */
        c->v = v;
        rc = vault_client__put_local_blob(c);
        c->v = keep;
    }
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    if (rc != VAULT_OK) {
        c->base_revision = old_base;
        c->highest_revision = old_highest;
    }
    return rc;
}

/* ---- the merge-base rule ---------------------------------------------------- */

/* A linked device's first pull: the grant named the old device's blob at
 * the revision it saw; the server must show it or a descendant of it. */
static int check_grant_head(vault_client *c, const pulled *p)
{
    uint8_t *head = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, "grant_head_hash", &head, &len);
    if (rc == VAULT_E_NOT_FOUND) {
        vault__clear_error();
        return VAULT_OK;
    }
    if (rc == VAULT_OK && len == VAULT_CHAIN_HASH_BYTES && !sodium_is_zero(head, len)) {
        int same = p->revision == c->highest_revision &&
                   sodium_memcmp(p->hash, head, VAULT_CHAIN_HASH_BYTES) == 0;
        if (!same && (p->revision == c->highest_revision ||
                      vault_chain__says(&p->chain, c->highest_revision, head) ==
                          VAULT_CHAIN_OTHER))
            rc = vault__fail(VAULT_E_FORK, "the server's history holds another revision %llu "
                                           "than the device that linked this one had",
                             (unsigned long long)c->highest_revision);
    }
    vault_free(head);
    return rc;
}

/* Where the server's revision stands relative to what this device confirmed
 * (its base) and pushed (pending): *base receives the vault to merge from,
 * or stays NULL when the server shows nothing new; VAULT_E_FORK when its
 * history lacks either. */
static int choose_base(vault_client *c, const pulled *p, vault **base)
{
    vault_chain base_chain, pending_chain;
    uint8_t base_hash[VAULT_CHAIN_HASH_BYTES], pending_hash[VAULT_CHAIN_HASH_BYTES];
    uint8_t *pending = NULL;
    size_t pending_len = 0;
    uint64_t pending_rev = c->base_revision + 1;
    *base = NULL;
    int rc = load_point(c, "pending_blob", &pending, &pending_len, pending_hash);
    if (rc == VAULT_OK) {
        /* Acknowledged (the floor counts it), or only sent: its answer was lost. */
        int acked = c->highest_revision > c->base_revision;
        int says = vault_chain__says(&p->chain, pending_rev, pending_hash);
        int exact = p->revision == pending_rev &&
                    sodium_memcmp(p->hash, pending_hash, sizeof pending_hash) == 0;
        int other = p->revision == pending_rev || says == VAULT_CHAIN_OTHER;
        if (exact || says == VAULT_CHAIN_SAME || (acked && !other))
            /* ours, or in its history (or beyond what a chain lists: docs/sync.md) */
            rc = vault_vault__open_chain(base, c->keys->vault_key, c->account_id, pending_rev,
                                         pending, pending_len, &pending_chain);
        else if (acked)
            rc = vault__fail(VAULT_E_FORK, "the server acknowledged revision %llu from this "
                                           "device but its history holds another revision %llu "
                                           "(a lost push or a restored backup)",
                             (unsigned long long)pending_rev, (unsigned long long)pending_rev);
        vault_free(pending);
        if (rc != VAULT_OK || *base != NULL)
            return rc;
        /* A push whose answer was lost and that the server does not hold:
         * merge from the base as if it had never been sent. */
    }
    if (rc != VAULT_OK && rc != VAULT_E_NOT_FOUND)
        return rc;
    vault__clear_error();
    rc = open_base(c, base, &base_chain, base_hash);
    if (rc == VAULT_OK && c->base_revision == 0)
        rc = check_grant_head(c, p);
    if (rc != VAULT_OK || c->base_revision == 0)
        return rc;
    int same = p->revision == c->base_revision &&
               sodium_memcmp(p->hash, base_hash, sizeof base_hash) == 0;
    if (!same && (p->revision == c->base_revision ||
                  vault_chain__says(&p->chain, c->base_revision, base_hash) == VAULT_CHAIN_OTHER))
        rc = vault__fail(VAULT_E_FORK, "the server's history holds another revision %llu than "
                                       "the one this device received (a restored backup, or "
                                       "two histories)",
                         (unsigned long long)c->base_revision);
    if (rc != VAULT_OK || same) {
        vault_close(*base);
        *base = NULL;
    }
    return rc;
}

int vault_client_pull(vault_client *c)
{
    pulled p;
    vault *base = NULL, *merged = NULL;
    memset(&p, 0, sizeof p);
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = require_session(c);
    if (rc == VAULT_OK)
        rc = pull_remote(c, &p, 0);
    if (rc == VAULT_OK)
        rc = choose_base(c, &p, &base);
    if (rc != VAULT_OK || base == NULL)
        goto done;
    rc = vault_merge(&merged, base, c->v, p.v);
    if (rc == VAULT_OK)
        rc = store_synced(c, &p, merged, NULL, 0);
    if (rc == VAULT_OK) {
        vault_close(c->v);
        c->v = merged;
        merged = NULL;
    }
done:
    pulled_free(&p);
    vault_close(base);
    vault_close(merged);
    return vault_client__done(c, rc);
}

/* ---- push ------------------------------------------------------------------- */

static int push_blob(vault_client *c, const uint8_t *blob, size_t len)
{
    cJSON *req = NULL, *resp = NULL;
    uint64_t revision = 0;
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
    if (rc == VAULT_OK && vault__json_u64(resp, "revision", "push", &revision) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "malformed push answer");
    if (rc == VAULT_OK && revision != c->base_revision + 1)
        rc = vault__fail(VAULT_E_SERVER, "server acknowledged the push as revision %llu",
                         (unsigned long long)revision);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

/* A push: pending until the server shows it, and saved as the local vault.
 * Acknowledged, its revision counts as seen (the server said it holds it:
 * showing less later is a roll-back); only sent (the answer was lost), it
 * does not. */
static int store_pending(vault_client *c, const uint8_t *blob, size_t len, int acked)
{
    uint64_t old_highest = c->highest_revision;
    if (acked)
        c->highest_revision = c->base_revision + 1;
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__stage_point(c, "pending_blob", blob, len);
    if (rc == VAULT_OK)
        rc = vault_client__put_local_blob(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    if (rc != VAULT_OK)
        c->highest_revision = old_highest;
    return rc;
}

int vault_client_push(vault_client *c)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = require_session(c);
    if (rc == VAULT_OK)
        rc = vault_client__seal_next(c, c->v, c->keys->vault_key, &blob, &len);
    if (rc == VAULT_OK)
        rc = push_blob(c, blob, len);
    if (rc == VAULT_OK) {
        rc = store_pending(c, blob, len, 1);
    } else if (rc == VAULT_E_NETWORK && blob != NULL) {
        /* The server may have stored it before the answer was lost: keep it
         * as a possible pending push, confirmed if a pull shows it. */
        char msg[VAULT_ERRMSG_MAX];
        vault__capture(msg, rc);
        store_pending(c, blob, len, 0);
        rc = vault__fail(VAULT_E_NETWORK, "%s", msg);
    }
    vault_free(blob);
    return vault_client__done(c, rc);
}

/* Whether the local vault's content differs from the base's. */
static int local_differs_from_base(vault_client *c, int *differs)
{
    vault *base = NULL;
    vault_chain chain;
    uint8_t hash[VAULT_CHAIN_HASH_BYTES];
    int32_t equal = 0;
    int rc = open_base(c, &base, &chain, hash);
    if (rc == VAULT_OK)
        rc = vault_compare(base, c->v, &equal);
    if (rc == VAULT_OK)
        *differs = !equal;
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

/* ---- fork recovery ------------------------------------------------------------ */

/* The newest common ancestor of the server's revision and this device's
 * history whose content the device holds, or none (*base NULL): its pending
 * push or its base if the server descends from it, the server's revision
 * itself if that is an ancestor of the base (the server went back). */
static int fork_base(vault_client *c, const pulled *p, vault **base, int *server_is_base)
{
    vault_chain chain;
    uint8_t hash[VAULT_CHAIN_HASH_BYTES];
    *base = NULL;
    *server_is_base = 0;
    uint8_t *pending = NULL;
    size_t pending_len = 0;
    uint64_t pending_rev = c->base_revision + 1;
    int rc = load_point(c, "pending_blob", &pending, &pending_len, hash);
    int ours = rc == VAULT_OK &&
               ((p->revision == pending_rev && sodium_memcmp(p->hash, hash, sizeof hash) == 0) ||
                vault_chain__says(&p->chain, pending_rev, hash) == VAULT_CHAIN_SAME);
    if (ours) /* the server descends from our push */
        rc = vault_vault__open_chain(base, c->keys->vault_key, c->account_id, pending_rev,
                                     pending, pending_len, &chain);
    vault_free(pending);
    if (ours || (rc != VAULT_OK && rc != VAULT_E_NOT_FOUND))
        return rc;
    vault__clear_error();
    rc = open_base(c, base, &chain, hash);
    if (rc != VAULT_OK || c->base_revision == 0)
        return rc;
    if ((p->revision == c->base_revision && sodium_memcmp(p->hash, hash, sizeof hash) == 0) ||
        vault_chain__says(&p->chain, c->base_revision, hash) == VAULT_CHAIN_SAME)
        return VAULT_OK;
    vault_close(*base);
    *base = NULL;
    *server_is_base = vault_chain__says(&chain, p->revision, p->hash) == VAULT_CHAIN_SAME;
    return VAULT_OK;
}

/* Pushes the merged vault on the server's revision; once acknowledged,
 * stores that revision as the base and the push as pending, in one
 * transaction. */
static int push_on(vault_client *c, const pulled *p, vault *merged)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t old_base = c->base_revision;
    vault_chain chain;
    vault_chain__extend(&chain, &p->chain, p->revision, p->hash);
    int rc = vault_vault__seal_chain(merged, c->keys->vault_key, c->account_id, p->revision + 1,
                                     &chain, &blob, &len);
    c->base_revision = p->revision; /* the push's compare-and-swap base */
    if (rc == VAULT_OK)
        rc = push_blob(c, blob, len);
    c->base_revision = old_base;
    if (rc == VAULT_OK)
        rc = store_synced(c, p, merged, blob, len);
    vault_free(blob);
    return rc;
}

int vault_client_resolve_fork(vault_client *c)
{
    pulled p;
    vault *base = NULL, *merged = NULL;
    memset(&p, 0, sizeof p);
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = require_session(c);
    if (rc == VAULT_OK)
        rc = pull_remote(c, &p, 1);
    int server_is_base = 0;
    if (rc == VAULT_OK)
        rc = fork_base(c, &p, &base, &server_is_base);
    if (rc == VAULT_OK && (base != NULL || server_is_base))
        rc = vault_merge(&merged, base != NULL ? base : p.v, c->v, p.v);
    else if (rc == VAULT_OK)
        rc = vault_vault__merge_fork(&merged, c->v, p.v);
    if (rc == VAULT_OK)
        rc = push_on(c, &p, merged);
    if (rc == VAULT_OK) {
        vault_close(c->v);
        c->v = merged;
        merged = NULL;
    }
    pulled_free(&p);
    vault_close(base);
    vault_close(merged);
    return vault_client__done(c, rc);
}

int vault_client_revision(const vault_client *c, uint64_t *revision)
{
    if (c == NULL || revision == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_revision: NULL argument");
    *revision = c->highest_revision;
    return VAULT_OK;
}

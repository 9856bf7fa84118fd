/*
 * The operations of the server store (store.h), written once for every
 * backend: which rows each operation reads and writes, in which transaction,
 * and the decisions it takes on them — login throttling, the compare-and-swap
 * of a push, session, device and device-link rules, quotas. A backend
 * (store_backend.h) only runs primitives; it takes no decision, so SQLite and
 * PostgreSQL cannot drift apart. Messages are worded here, once.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "server/store_backend.h"

#define LOGIN_WAIT_CAP_MS (15 * 60 * 1000LL)

/* A primitive's bare VAULT_E_NOT_FOUND (no such row) gets its message here. */
static int named(int status, const char *message)
{
    return status == VAULT_E_NOT_FOUND ? vault__fail(VAULT_E_NOT_FOUND, "%s", message) : status;
}

static int transact(vault_store *st, int mode, vault_store_body body, void *ctx)
{
    return st->db->transact(st, mode, body, ctx);
}

static void op_close(vault_store *st)
{
    if (st != NULL)
        st->db->close(st);
}

/* ---- rules on rows already read ------------------------------------------------ */

/* How long a caller with `failures` consecutive failed attempts must wait
 * after the last one: 0 while failures < free_failures, then
 * min(2^(failures - free_failures) s, 15 min). */
static int64_t login_wait_ms(uint64_t failures, uint32_t free_failures)
{
    if (failures < free_failures)
        return 0;
    uint64_t doublings = failures - free_failures;
    if (doublings >= 10) /* 2^10 s is past the cap already */
        return LOGIN_WAIT_CAP_MS;
    int64_t wait = (int64_t)1000 << doublings;
    return wait < LOGIN_WAIT_CAP_MS ? wait : LOGIN_WAIT_CAP_MS;
}

static int login_throttle(uint64_t failures, int64_t last_ms, int64_t now_ms,
                          uint32_t free_failures, int64_t *retry_after_ms)
{
    int64_t allowed_at = last_ms + login_wait_ms(failures, free_failures);
    if (failures > 0 && now_ms < allowed_at) {
        *retry_after_ms = allowed_at - now_ms;
        return vault__fail(VAULT_E_RATE_LIMITED, "too many failed attempts");
    }
    return VAULT_OK;
}

static int session_check(int revoked, int64_t expires_ms, int64_t now_ms)
{
    if (revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (expires_ms <= now_ms)
        return vault__fail(VAULT_E_EXPIRED, "session expired");
    return VAULT_OK;
}

static int link_check_quota(uint32_t role, int64_t live)
{
    if (role == VAULT_STORE_LINK_REVERSE)
        return live >= VAULT_STORE_LINKS_UNBOUND_MAX
                   ? vault__fail(VAULT_E_LIMIT, "too many pending device links; retry later")
                   : VAULT_OK;
    return live >= VAULT_STORE_LINKS_MAX
               ? vault__fail(VAULT_E_LIMIT,
                             "too many open device links; wait for them to expire")
               : VAULT_OK;
}

static int link_check_postable(const vault_store_link *link, uint32_t role, int64_t now_ms)
{
    if (link->role != role)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (now_ms >= link->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    return VAULT_OK;
}

static int link_check_deliverable(const vault_store_link *link, const uint8_t *account_id,
                                  int64_t now_ms)
{
    if (sodium_memcmp(link->account_id, account_id, VAULT_STORE_ID_BYTES) != 0)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (now_ms >= link->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    if (link->extra_posts > 0)
        return vault__fail(VAULT_E_STATE, "another device also tried this link code");
    if (link->state != VAULT_STORE_LINK_POSTED)
        return vault__fail(VAULT_E_STATE, "this device link is not waiting for an envelope");
    return VAULT_OK;
}

static int link_is_live(uint32_t state)
{
    return state == VAULT_STORE_LINK_OPEN || state == VAULT_STORE_LINK_POSTED ||
           state == VAULT_STORE_LINK_DELIVERED;
}

static int link_check_transition(const vault_store_link *link, uint32_t expect)
{
    int expected = expect == VAULT_STORE_LINK_ANY_LIVE ? link_is_live(link->state)
                                                       : link->state == expect;
    if (expected)
        return VAULT_OK;
    return vault__fail(VAULT_E_STATE, link->state == VAULT_STORE_LINK_DONE
                                          ? "this device link was already used"
                                          : "this device link is not in that step");
}

/* A finished link (DONE, ABORTED) no longer needs its envelope. */
static int link_state_is_final(uint32_t state)
{
    return state == VAULT_STORE_LINK_DONE || state == VAULT_STORE_LINK_ABORTED;
}

/* ---- steps shared by several operations ------------------------------------------ */

/* Expired sessions are pruned whenever one opens; a named device is recorded
 * (or renamed) with it. */
static int open_session(vault_store_tx *tx, const uint8_t *account_id,
                        const vault_store_new_session *sess, int64_t now_ms)
{
    int status = tx->db->sessions_prune(tx, now_ms);
    if (status == VAULT_OK && sess->device_name != NULL)
        status = tx->db->device_upsert(tx, account_id, sess->device_id, sess->device_name,
                                       now_ms);
    if (status == VAULT_OK)
        status = tx->db->session_insert(tx, sess->token_hash, account_id, sess->device_id,
                                        now_ms, sess->expires_ms);
    return status;
}

typedef struct push {
    const uint8_t *account_id;
    uint64_t base_revision;
    const uint8_t *blob;
    size_t blob_len;
    int64_t now_ms;
    uint64_t *current;
} push;

/* The compare-and-swap is one conditional write of the backend, so two
 * pushes on the same base cannot both win; a lost one tells the caller which
 * revision won. Only the last VAULT_STORE_KEEP_REVISIONS revisions stay. */
static int push_blob(vault_store_tx *tx, const push *x)
{
    uint64_t next = x->base_revision + 1;
    uint64_t prune = next > VAULT_STORE_KEEP_REVISIONS ? next - VAULT_STORE_KEEP_REVISIONS : 0;
    int status = tx->db->blob_push(tx, x->account_id, x->base_revision, x->blob, x->blob_len,
                                   x->now_ms, prune);
    if (status != VAULT_E_CONFLICT)
        return status;
    status = named(tx->db->account_revision(tx, x->account_id, x->current),
                   "the account no longer exists");
    if (status != VAULT_OK)
        return status;
    return vault__fail(VAULT_E_CONFLICT, "the server holds revision %llu",
                       (unsigned long long)*x->current);
}

/* ---- accounts, blobs, sessions ---------------------------------------------------- */

typedef struct account_args {
    const uint8_t *account_id;
    const uint8_t *email_hash;
    const vault_store_account *acct;
    const vault_store_credentials *cred;
    const vault_store_new_session *sess;
    const uint8_t *blob;
    size_t blob_len;
    int64_t now_ms;
    vault_store_account *out;
} account_args;

static int create_account_body(vault_store_tx *tx, void *ctx)
{
    const account_args *x = ctx;
    const vault_store_account *a = x->acct;
    int status = tx->db->account_insert(tx, a, x->now_ms);
    if (status == VAULT_OK)
        status = tx->db->blob_insert(tx, a->id, 1, x->blob, x->blob_len, x->now_ms);
    if (status == VAULT_OK)
        status = open_session(tx, a->id, x->sess, x->now_ms);
    return status;
}

static int op_create_account(vault_store *st, const vault_store_account *acct,
                             const uint8_t *blob, size_t blob_len,
                             const vault_store_new_session *sess, int64_t now_ms)
{
    account_args x = {.acct = acct, .blob = blob, .blob_len = blob_len, .sess = sess,
                      .now_ms = now_ms};
    return transact(st, VAULT_STORE_WRITE, create_account_body, &x);
}

static int get_account_body(vault_store_tx *tx, void *ctx)
{
    const account_args *x = ctx;
    return tx->db->account_get(tx, x->account_id, x->email_hash, x->out);
}

static int op_get_account(vault_store *st, const uint8_t *account_id, vault_store_account *out)
{
    account_args x = {.account_id = account_id, .out = out};
    return transact(st, VAULT_STORE_READ, get_account_body, &x);
}

static int op_get_account_by_email_hash(vault_store *st, const uint8_t *email_hash,
                                        vault_store_account *out)
{
    account_args x = {.email_hash = email_hash, .out = out};
    return transact(st, VAULT_STORE_READ, get_account_body, &x);
}

typedef struct blob_args {
    const uint8_t *account_id;
    uint64_t *revision;
    uint8_t **blob;
    size_t *blob_len;
} blob_args;

static int get_blob_body(vault_store_tx *tx, void *ctx)
{
    const blob_args *x = ctx;
    return tx->db->blob_current(tx, x->account_id, x->revision, x->blob, x->blob_len);
}

static int op_get_blob(vault_store *st, const uint8_t *account_id, uint64_t *revision,
                       uint8_t **blob, size_t *blob_len)
{
    blob_args x = {account_id, revision, blob, blob_len};
    return transact(st, VAULT_STORE_READ, get_blob_body, &x);
}

static int put_blob_body(vault_store_tx *tx, void *ctx)
{
    return push_blob(tx, ctx);
}

static int op_put_blob_cas(vault_store *st, const uint8_t *account_id, uint64_t base_revision,
                           const uint8_t *blob, size_t blob_len, int64_t now_ms,
                           uint64_t *current)
{
    push x = {account_id, base_revision, blob, blob_len, now_ms, current};
    return transact(st, VAULT_STORE_WRITE, put_blob_body, &x);
}

typedef struct attempt_args {
    const uint8_t *email_hash;
    int64_t now_ms;
    uint32_t free_failures;
    int64_t *retry_after_ms;
} attempt_args;

/* The attempt is counted as a failure before the credential is checked
 * (failures_get locks the counter), so parallel guesses queue here and each
 * sees the one before. */
static int login_attempt_body(vault_store_tx *tx, void *ctx)
{
    const attempt_args *x = ctx;
    uint64_t failures = 0;
    int64_t last_ms = 0;
    int status = tx->db->failures_prune(tx, x->now_ms - VAULT_STORE_FAILURE_MEMORY_MS);
    if (status == VAULT_OK)
        status = tx->db->failures_get(tx, x->email_hash, &failures, &last_ms);
    if (status == VAULT_OK)
        status = login_throttle(failures, last_ms, x->now_ms, x->free_failures,
                                x->retry_after_ms);
    if (status == VAULT_OK)
        status = tx->db->failures_bump(tx, x->email_hash, x->now_ms);
    return status;
}

/* RELAXED: the counter need not wait for a flush of its own; the login's
 * next (durable) commit flushes it. This halves the flushes of a login. */
static int op_login_attempt_begin(vault_store *st, const uint8_t *email_hash, int64_t now_ms,
                                  uint32_t free_failures, int64_t *retry_after_ms)
{
    attempt_args x = {email_hash, now_ms, free_failures, retry_after_ms};
    return transact(st, VAULT_STORE_WRITE_RELAXED, login_attempt_body, &x);
}

static int login_succeeded_body(vault_store_tx *tx, void *ctx)
{
    const account_args *x = ctx;
    vault_store_device_row dev;
    /* An unknown device is a new one: it is recorded with the session. */
    int status = tx->db->device_get(tx, x->account_id, x->sess->device_id, &dev);
    if (status == VAULT_OK && dev.revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (status != VAULT_OK && status != VAULT_E_NOT_FOUND)
        return status;
    status = tx->db->failures_clear(tx, x->email_hash);
    if (status == VAULT_OK)
        status = open_session(tx, x->account_id, x->sess, x->now_ms);
    return status;
}

static int op_login_succeeded(vault_store *st, const uint8_t *account_id,
                              const uint8_t *email_hash, const vault_store_new_session *sess,
                              int64_t now_ms)
{
    account_args x = {.account_id = account_id, .email_hash = email_hash, .sess = sess,
                      .now_ms = now_ms};
    return transact(st, VAULT_STORE_WRITE, login_succeeded_body, &x);
}

static int update_credentials_body(vault_store_tx *tx, void *ctx)
{
    const account_args *x = ctx;
    int status = named(tx->db->account_set_credentials(tx, x->account_id, x->cred),
                       "the account no longer exists");
    if (status == VAULT_OK)
        status = tx->db->failures_clear(tx, x->email_hash);
    if (status == VAULT_OK)
        status = tx->db->sessions_delete_account(tx, x->account_id);
    if (status == VAULT_OK)
        status = open_session(tx, x->account_id, x->sess, x->now_ms);
    return status;
}

static int op_update_credentials(vault_store *st, const uint8_t *account_id,
                                 const uint8_t *email_hash, const vault_store_credentials *cred,
                                 const vault_store_new_session *sess, int64_t now_ms)
{
    account_args x = {.account_id = account_id, .email_hash = email_hash, .cred = cred,
                      .sess = sess, .now_ms = now_ms};
    return transact(st, VAULT_STORE_WRITE, update_credentials_body, &x);
}

static int delete_account_body(vault_store_tx *tx, void *ctx)
{
    const account_args *x = ctx;
    int status = named(tx->db->account_delete(tx, x->account_id),
                       "the account no longer exists");
    if (status == VAULT_OK)
        status = tx->db->failures_clear(tx, x->email_hash);
    return status;
}

static int op_delete_account(vault_store *st, const uint8_t *account_id,
                             const uint8_t *email_hash)
{
    account_args x = {.account_id = account_id, .email_hash = email_hash};
    return transact(st, VAULT_STORE_WRITE, delete_account_body, &x);
}

typedef struct session_args {
    const uint8_t *token_hash;
    int64_t now_ms;
    vault_store_session *out;
} session_args;

static int session_lookup_body(vault_store_tx *tx, void *ctx)
{
    const session_args *x = ctx;
    int revoked = 0;
    int status = tx->db->session_get(tx, x->token_hash, x->out, &revoked);
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_AUTH, "unknown session");
    if (status != VAULT_OK)
        return status;
    return session_check(revoked, x->out->expires_ms, x->now_ms);
}

static int session_delete_body(vault_store_tx *tx, void *ctx)
{
    const session_args *x = ctx;
    return tx->db->session_delete(tx, x->token_hash);
}

/* An expired session is deleted as it is found, in a write of its own. */
static int op_session_lookup(vault_store *st, const uint8_t *token_hash, int64_t now_ms,
                             vault_store_session *out)
{
    session_args x = {token_hash, now_ms, out};
    int status = transact(st, VAULT_STORE_READ, session_lookup_body, &x);
    if (status != VAULT_E_EXPIRED)
        return status;
    int deleted = transact(st, VAULT_STORE_WRITE_ONE, session_delete_body, &x);
    return deleted == VAULT_OK ? status : deleted;
}

static int op_session_delete(vault_store *st, const uint8_t *token_hash)
{
    session_args x = {token_hash, 0, NULL};
    return transact(st, VAULT_STORE_WRITE_ONE, session_delete_body, &x);
}

/* ---- device links (docs/devicelink.md) ------------------------------------------ */

typedef struct link_args {
    vault_store_link link; /* a copy: link_create and link_request set its role */
    const uint8_t *link_id;
    const uint8_t *account_id;
    const uint8_t *envelope;
    size_t envelope_len;
    const vault_store_new_device *dev;
    uint32_t expect, state;
    int64_t now_ms;
    int already_used;
    vault_store_link *out;
    uint8_t **envelope_out;
    size_t *envelope_out_len;
} link_args;

/* A link opens in one of two ways: offered by a logged-in device (bound to
 * its account, counted against that account's quota) or requested by a new
 * device (bound to no account yet, counted against one server-wide quota).
 * The count locks what keeps it true until the insert. Links expired long
 * enough ago are forgotten here. */
static int open_link_body(vault_store_tx *tx, void *ctx)
{
    const link_args *x = ctx;
    int64_t live = 0;
    int status = tx->db->links_count_live(tx, x->link.role, x->link.account_id, x->now_ms,
                                          &live);
    if (status == VAULT_OK)
        status = link_check_quota(x->link.role, live);
    if (status == VAULT_OK)
        status = tx->db->links_prune(tx, x->now_ms - VAULT_STORE_LINK_MEMORY_MS);
    if (status == VAULT_OK)
        status = tx->db->link_insert(tx, &x->link, x->now_ms);
    return status;
}

static int open_link(vault_store *st, const vault_store_link *link, uint32_t role,
                     int64_t now_ms)
{
    link_args x = {.link = *link, .now_ms = now_ms};
    x.link.role = role;
    return transact(st, VAULT_STORE_WRITE, open_link_body, &x);
}

static int op_link_create(vault_store *st, const vault_store_link *link, int64_t now_ms)
{
    return open_link(st, link, VAULT_STORE_LINK_OFFER, now_ms);
}

static int op_link_request(vault_store *st, const vault_store_link *link, int64_t now_ms)
{
    return open_link(st, link, VAULT_STORE_LINK_REVERSE, now_ms);
}

/* Reads a link inside the caller's transaction; for_update locks it. */
static int load_link(vault_store_tx *tx, const uint8_t *link_id, int for_update,
                     vault_store_link *out, uint8_t **envelope, size_t *envelope_len)
{
    return named(tx->db->link_get(tx, link_id, for_update, out, envelope, envelope_len),
                 "no such device link");
}

static int link_get_body(vault_store_tx *tx, void *ctx)
{
    const link_args *x = ctx;
    return load_link(tx, x->link_id, 0, x->out, x->envelope_out, x->envelope_out_len);
}

static int op_link_get(vault_store *st, const uint8_t *link_id, vault_store_link *out,
                       uint8_t **envelope, size_t *envelope_len)
{
    link_args x = {.link_id = link_id, .out = out, .envelope_out = envelope,
                   .envelope_out_len = envelope_len};
    return transact(st, VAULT_STORE_READ, link_get_body, &x);
}

/* A second post on a link is counted and committed on purpose: the link's
 * owner must see that another device tried this code (a copied QR code).
 * The operation still fails, after the commit. */
static int link_post_key_body(vault_store_tx *tx, void *ctx)
{
    link_args *x = ctx;
    vault_store_link link;
    x->already_used = 0;
    int status = load_link(tx, x->link.id, 1, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = link_check_postable(&link, x->link.role, x->now_ms);
    if (status != VAULT_OK)
        return status;
    if (link.state == VAULT_STORE_LINK_OPEN)
        return tx->db->link_put_key(tx, &x->link);
    x->already_used = 1;
    return tx->db->link_count_extra_post(tx, x->link.id);
}

static int op_link_post_key(vault_store *st, const vault_store_link *posted, int64_t now_ms)
{
    link_args x = {.link = *posted, .now_ms = now_ms};
    int status = transact(st, VAULT_STORE_WRITE, link_post_key_body, &x);
    if (status == VAULT_OK && x.already_used)
        return vault__fail(VAULT_E_STATE, "this link code was already used by another device");
    return status;
}

static int link_deliver_body(vault_store_tx *tx, void *ctx)
{
    const link_args *x = ctx;
    vault_store_link link;
    int status = load_link(tx, x->link_id, 1, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = link_check_deliverable(&link, x->account_id, x->now_ms);
    if (status == VAULT_OK)
        status = tx->db->link_set_state(tx, x->link_id, VAULT_STORE_LINK_DELIVERED,
                                        VAULT_STORE_ENVELOPE_SET, x->envelope,
                                        x->envelope_len);
    if (status == VAULT_OK)
        status = tx->db->device_insert_linked(tx, x->account_id, x->dev, x->now_ms);
    return status;
}

static int op_link_deliver(vault_store *st, const uint8_t *link_id, const uint8_t *account_id,
                           const uint8_t *envelope, size_t envelope_len,
                           const vault_store_new_device *dev, int64_t now_ms)
{
    link_args x = {.link_id = link_id, .account_id = account_id, .envelope = envelope,
                   .envelope_len = envelope_len, .dev = dev, .now_ms = now_ms};
    return transact(st, VAULT_STORE_WRITE, link_deliver_body, &x);
}

static int link_set_state_body(vault_store_tx *tx, void *ctx)
{
    const link_args *x = ctx;
    vault_store_link link;
    int status = load_link(tx, x->link_id, 1, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = link_check_transition(&link, x->expect);
    /* A link another device also posted to is never handed out: in the
     * reverse direction the first poster may be a stranger's account. */
    if (status == VAULT_OK && x->state == VAULT_STORE_LINK_DONE && link.extra_posts > 0)
        status = vault__fail(VAULT_E_STATE, "another device also tried this link code");
    if (status != VAULT_OK)
        return status;
    return tx->db->link_set_state(tx, x->link_id, x->state,
                                  link_state_is_final(x->state) ? VAULT_STORE_ENVELOPE_DROP
                                                                : VAULT_STORE_ENVELOPE_KEEP,
                                  NULL, 0);
}

static int op_link_set_state(vault_store *st, const uint8_t *link_id, uint32_t expect,
                             uint32_t state)
{
    link_args x = {.link_id = link_id, .expect = expect, .state = state};
    return transact(st, VAULT_STORE_WRITE, link_set_state_body, &x);
}

/* ---- devices ------------------------------------------------------------------------ */

typedef struct device_args {
    const uint8_t *account_id;
    const uint8_t *device_id;
    uint8_t *bytes; /* a credential hash or a sealed key out */
    vault_store_device **list;
    size_t *count;
} device_args;

static int device_list_body(vault_store_tx *tx, void *ctx)
{
    const device_args *x = ctx;
    return tx->db->device_list(tx, x->account_id, x->list, x->count);
}

static int op_device_list(vault_store *st, const uint8_t *account_id, vault_store_device **out,
                          size_t *count)
{
    device_args x = {.account_id = account_id, .list = out, .count = count};
    *out = NULL;
    *count = 0;
    return transact(st, VAULT_STORE_READ, device_list_body, &x);
}

static int device_credential_body(vault_store_tx *tx, void *ctx)
{
    const device_args *x = ctx;
    vault_store_device_row dev;
    int status = named(tx->db->device_get(tx, x->account_id, x->device_id, &dev),
                       "no such linked device");
    if (status != VAULT_OK)
        return status;
    if (dev.revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (!dev.has_credential)
        return vault__fail(VAULT_E_NOT_FOUND, "no such linked device");
    memcpy(x->bytes, dev.credential_hash, VAULT_STORE_HASH_BYTES);
    return VAULT_OK;
}

static int op_device_credential(vault_store *st, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *credential_hash)
{
    device_args x = {.account_id = account_id, .device_id = device_id,
                     .bytes = credential_hash};
    return transact(st, VAULT_STORE_READ, device_credential_body, &x);
}

typedef struct revoke_args {
    push push;
    const uint8_t *revoked_device_id;
    const uint8_t *protected_key;
    const vault_store_sealed_key *keys;
    size_t nkeys;
} revoke_args;

/* Revoked, its credential and sealed key dropped. Its sessions stay until
 * they expire, but session_lookup refuses them (VAULT_E_REVOKED), which tells
 * the revoked device what happened. The push, the new protected key and
 * every remaining device's sealed key land together or not at all. */
static int revoke_rotate_body(vault_store_tx *tx, void *ctx)
{
    const revoke_args *x = ctx;
    const uint8_t *account_id = x->push.account_id;
    int status = named(tx->db->device_revoke(tx, account_id, x->revoked_device_id,
                                             x->push.now_ms), "no such device");
    if (status == VAULT_OK)
        status = push_blob(tx, &x->push);
    if (status == VAULT_OK)
        status = tx->db->account_set_protected_key(tx, account_id, x->protected_key);
    for (size_t i = 0; i < x->nkeys && status == VAULT_OK; i++)
        status = named(tx->db->device_set_sealed_key(tx, account_id, &x->keys[i]),
                       "no such device");
    return status;
}

static int op_device_revoke_rotate(vault_store *st, const uint8_t *account_id,
                                   const uint8_t *revoked_device_id, uint64_t base_revision,
                                   const uint8_t *blob, size_t blob_len,
                                   const uint8_t *protected_key,
                                   const vault_store_sealed_key *keys, size_t nkeys,
                                   int64_t now_ms, uint64_t *current)
{
    revoke_args x = {{account_id, base_revision, blob, blob_len, now_ms, current},
                     revoked_device_id, protected_key, keys, nkeys};
    return transact(st, VAULT_STORE_WRITE, revoke_rotate_body, &x);
}

static int device_sealed_key_body(vault_store_tx *tx, void *ctx)
{
    const device_args *x = ctx;
    vault_store_device_row dev;
    int status = tx->db->device_get(tx, x->account_id, x->device_id, &dev);
    if (status == VAULT_OK && (dev.revoked || !dev.has_sealed_key))
        status = VAULT_E_NOT_FOUND;
    if (status != VAULT_OK)
        return named(status, "no rotated key for this device");
    memcpy(x->bytes, dev.sealed_key, VAULT_STORE_SEALED_KEY_BYTES);
    return VAULT_OK;
}

static int op_device_sealed_key(vault_store *st, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *sealed)
{
    device_args x = {.account_id = account_id, .device_id = device_id, .bytes = sealed};
    return transact(st, VAULT_STORE_READ, device_sealed_key_body, &x);
}

const vault_store_ops vault_server__store_ops = {
    .close = op_close,
    .create_account = op_create_account,
    .get_account = op_get_account,
    .get_account_by_email_hash = op_get_account_by_email_hash,
    .get_blob = op_get_blob,
    .put_blob_cas = op_put_blob_cas,
    .login_attempt_begin = op_login_attempt_begin,
    .login_succeeded = op_login_succeeded,
    .update_credentials = op_update_credentials,
    .delete_account = op_delete_account,
    .session_lookup = op_session_lookup,
    .session_delete = op_session_delete,
    .link_create = op_link_create,
    .link_request = op_link_request,
    .link_get = op_link_get,
    .link_post_key = op_link_post_key,
    .link_deliver = op_link_deliver,
    .link_set_state = op_link_set_state,
    .device_list = op_device_list,
    .device_credential = op_device_credential,
    .device_revoke_rotate = op_device_revoke_rotate,
    .device_sealed_key = op_device_sealed_key,
};

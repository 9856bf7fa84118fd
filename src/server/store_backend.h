/*
 * The storage backends' interface: primitive reads and writes of single rows
 * (or one conditional statement), run inside transactions the backend opens.
 * The operations of store.h are written once, in store_rules.c, out of these
 * primitives; a backend (store_sqlite.c, store_pg.c) only translates each
 * primitive into a prepared statement of its dialect. The model is libgit2's
 * object database: odb.c holds the logic, each odb_*.c backend fills a table
 * of function pointers.
 *
 * Contract of every primitive:
 *   - It runs inside the transaction of the body that calls it (see
 *     transact) and touches only the rows it names.
 *   - VAULT_E_NOT_FOUND without a message when the row it reads or must
 *     change does not exist (the caller words the message); other failures
 *     come with a message: VAULT_E_IO (a storage failure), VAULT_E_NOMEM,
 *     VAULT_E_EXISTS (a taken key), VAULT_E_NOT_FOUND with a message (a row
 *     the write refers to vanished: the account was deleted meanwhile).
 *   - "locks" means: the rows read stay as read until the transaction ends
 *     (SQLite: the transaction holds the database's write lock from its
 *     start, so this costs nothing; PostgreSQL: a row lock).
 *   - Outputs that are allocated come from vault__malloc, and only on
 *     success.
 *
 * Adding an operation: its rule in store_rules.c; a primitive per backend
 * only if no existing one reads or writes what it needs.
 */
#ifndef VAULT_SERVER_STORE_BACKEND_H
#define VAULT_SERVER_STORE_BACKEND_H

#include "server/store.h"

/* A transaction (or, in VAULT_STORE_READ mode, a connection) of a backend;
 * each backend's connection starts with this. */
typedef struct vault_store_tx {
    const struct vault_store_backend *db;
} vault_store_tx;

/* A device row as the rules need it (device_get). */
typedef struct vault_store_device_row {
    int revoked;
    int has_credential;
    int has_sealed_key;
    uint8_t credential_hash[VAULT_STORE_HASH_BYTES];
    uint8_t sealed_key[VAULT_STORE_SEALED_KEY_BYTES];
} vault_store_device_row;

/* One value of a statement, in order ($1 or ?1 first). The backends list a
 * primitive's values as data, so that each primitive reads as its SQL and
 * its values. Blobs and text are borrowed: they outlive the statement. */
typedef struct vault_store_param {
    enum { VAULT_STORE_P_BLOB, VAULT_STORE_P_INT, VAULT_STORE_P_TEXT } kind;
    const void *p;
    size_t n;
    int64_t v;
} vault_store_param;

#define P_BLOB(ptr, len) ((vault_store_param){VAULT_STORE_P_BLOB, (ptr), (len), 0})
#define P_ID(ptr) P_BLOB((ptr), VAULT_STORE_ID_BYTES)
#define P_HASH(ptr) P_BLOB((ptr), VAULT_STORE_HASH_BYTES)
#define P_INT(x) ((vault_store_param){VAULT_STORE_P_INT, NULL, 0, (int64_t)(x)})
#define P_TEXT(s) ((vault_store_param){VAULT_STORE_P_TEXT, (s), 0, 0})
#define NPARAMS(a) (sizeof(a) / sizeof(a)[0])

/* How transact runs a body. */
enum {
    /* Reads only: no transaction, each statement sees a consistent snapshot. */
    VAULT_STORE_READ,
    /* One transaction, durable when COMMIT returns. */
    VAULT_STORE_WRITE,
    /* One transaction, atomic but flushed by the next durable commit (the
     * login failure counter, bumped before the credential is checked). */
    VAULT_STORE_WRITE_RELAXED,
    /* A single write statement: durable, and the backend may run it without
     * an explicit transaction. */
    VAULT_STORE_WRITE_ONE,
};

/* The body of an operation; it may run more than once (a backend retries a
 * body whose transaction failed on a deadlock or a lost connection), so it
 * must set its outputs from scratch on each run. */
typedef int (*vault_store_body)(vault_store_tx *tx, void *ctx);

/* Which envelope link_set_state leaves on the link. */
enum { VAULT_STORE_ENVELOPE_KEEP, VAULT_STORE_ENVELOPE_DROP, VAULT_STORE_ENVELOPE_SET };

typedef struct vault_store_backend {
    /* Closes the store and frees it. */
    void (*close)(vault_store *st);

    /* Runs body(tx, ctx) in mode (VAULT_STORE_*): commits if it returns
     * VAULT_OK, rolls back otherwise, and returns its status (or the
     * commit's failure). */
    int (*transact)(vault_store *st, int mode, vault_store_body body, void *ctx);

    /* ---- accounts ---- */
    /* Inserts the account at revision 1. VAULT_E_EXISTS. */
    int (*account_insert)(vault_store_tx *tx, const vault_store_account *a, int64_t now_ms);
    /* Reads the account with this id, or (id NULL) this email hash. */
    int (*account_get)(vault_store_tx *tx, const uint8_t *id, const uint8_t *email_hash,
                       vault_store_account *out);
    int (*account_revision)(vault_store_tx *tx, const uint8_t *id, uint64_t *revision);
    int (*account_set_credentials)(vault_store_tx *tx, const uint8_t *id,
                                   const vault_store_credentials *cred);
    int (*account_set_protected_key)(vault_store_tx *tx, const uint8_t *id,
                                     const uint8_t *protected_key);
    /* Deletes the account; everything that hangs off it goes with it. */
    int (*account_delete)(vault_store_tx *tx, const uint8_t *id);

    /* ---- blobs ---- */
    int (*blob_insert)(vault_store_tx *tx, const uint8_t *account_id, uint64_t revision,
                       const uint8_t *blob, size_t blob_len, int64_t now_ms);
    /* The current revision and its blob. */
    int (*blob_current)(vault_store_tx *tx, const uint8_t *account_id, uint64_t *revision,
                        uint8_t **blob, size_t *blob_len);
    /* The compare-and-swap: only if the account is at base_revision, moves it
     * to base_revision + 1, stores blob as that revision and deletes the
     * revisions <= prune_upto (none if 0). VAULT_E_CONFLICT without a
     * message if the account is not at base_revision (or is gone). */
    int (*blob_push)(vault_store_tx *tx, const uint8_t *account_id, uint64_t base_revision,
                     const uint8_t *blob, size_t blob_len, int64_t now_ms, uint64_t prune_upto);

    /* ---- devices ---- */
    /* Records the device, or renames it and updates its last-seen time. */
    int (*device_upsert)(vault_store_tx *tx, const uint8_t *account_id,
                         const uint8_t *device_id, const char *name, int64_t now_ms);
    /* Records a linked device with its credential hash. VAULT_E_EXISTS. */
    int (*device_insert_linked)(vault_store_tx *tx, const uint8_t *account_id,
                                const vault_store_new_device *dev, int64_t now_ms);
    int (*device_get)(vault_store_tx *tx, const uint8_t *account_id, const uint8_t *device_id,
                      vault_store_device_row *out);
    /* Every device of the account, oldest first (*out NULL when none). */
    int (*device_list)(vault_store_tx *tx, const uint8_t *account_id,
                       vault_store_device **out, size_t *count);
    /* Marks it revoked (keeping the first revocation time) and drops its
     * credential and sealed key. */
    int (*device_revoke)(vault_store_tx *tx, const uint8_t *account_id,
                         const uint8_t *device_id, int64_t now_ms);
    /* Replaces the sealed key of an unrevoked device. */
    int (*device_set_sealed_key)(vault_store_tx *tx, const uint8_t *account_id,
                                 const vault_store_sealed_key *key);

    /* ---- sessions ---- */
    int (*session_insert)(vault_store_tx *tx, const uint8_t *token_hash,
                          const uint8_t *account_id, const uint8_t *device_id, int64_t now_ms,
                          int64_t expires_ms);
    /* The session and whether its device is revoked. */
    int (*session_get)(vault_store_tx *tx, const uint8_t *token_hash, vault_store_session *out,
                       int *revoked);
    /* No error if it is already gone. */
    int (*session_delete)(vault_store_tx *tx, const uint8_t *token_hash);
    int (*sessions_delete_account)(vault_store_tx *tx, const uint8_t *account_id);
    /* Deletes the sessions that expired at or before now_ms. */
    int (*sessions_prune)(vault_store_tx *tx, int64_t now_ms);

    /* ---- login failure counters ---- */
    /* Reads (and locks) the counter: 0 and 0 when there is none. */
    int (*failures_get)(vault_store_tx *tx, const uint8_t *email_hash, uint64_t *failures,
                        int64_t *last_ms);
    /* Adds one failure at now_ms, creating the counter if needed. */
    int (*failures_bump)(vault_store_tx *tx, const uint8_t *email_hash, int64_t now_ms);
    int (*failures_clear)(vault_store_tx *tx, const uint8_t *email_hash);
    /* Deletes the counters whose last failure is before before_ms. */
    int (*failures_prune)(vault_store_tx *tx, int64_t before_ms);

    /* ---- device links ---- */
    /* Counts the live links (unexpired at now_ms, not DONE or ABORTED) that
     * share a quota with a new link of this role: the account's for an
     * offer, all unbound ones for a request. Locks what keeps the count true
     * until the insert. VAULT_E_NOT_FOUND with a message if the account is
     * gone. */
    int (*links_count_live)(vault_store_tx *tx, uint32_t role, const uint8_t *account_id,
                            int64_t now_ms, int64_t *live);
    /* Inserts the link in state OPEN: an offer with its account and device,
     * a request with its fetch hash and no account. VAULT_E_EXISTS. */
    int (*link_insert)(vault_store_tx *tx, const vault_store_link *link, int64_t now_ms);
    /* Reads a link, locked with for_update; with envelope non-NULL also its
     * envelope (NULL if none). */
    int (*link_get)(vault_store_tx *tx, const uint8_t *link_id, int for_update,
                    vault_store_link *out, uint8_t **envelope, size_t *envelope_len);
    /* Stores a posted key (state POSTED): peer_pk, post_mac, confirm_tag and,
     * for an offer, fetch_hash, for a request account_id and device_id. */
    int (*link_put_key)(vault_store_tx *tx, const vault_store_link *posted);
    int (*link_count_extra_post)(vault_store_tx *tx, const uint8_t *link_id);
    /* Sets the state; envelope_op says whether the envelope stays, goes or
     * becomes envelope. */
    int (*link_set_state)(vault_store_tx *tx, const uint8_t *link_id, uint32_t state,
                          int envelope_op, const uint8_t *envelope, size_t envelope_len);
    /* Deletes the links that expired before before_ms. */
    int (*links_prune)(vault_store_tx *tx, int64_t before_ms);
} vault_store_backend;

/* The operations of store.h, written once over a backend (store_rules.c):
 * every backend's store handle has ops = &vault_server__store_ops. */
extern const vault_store_ops vault_server__store_ops;

#endif

/*
 * The server's storage interface. The handler (server.c and the ops files)
 * never talks to a database: it calls these operations through a small table
 * of function pointers, so that a backend is one file that fills the table
 * (store_sqlite.c today; a PostgreSQL backend later).
 *
 * Rules every backend follows:
 *   - Each operation is atomic: it either happens completely or not at all,
 *     and is durable when it returns VAULT_OK (SQLite: one transaction in WAL
 *     mode with synchronous=FULL).
 *   - Each operation is safe to call from many threads and many processes on
 *     the same database at once.
 *   - Only fixed-width binary values cross the interface: ids are 16 bytes,
 *     hashes 32 bytes. No backend type appears here.
 *   - Failures: VAULT_E_IO for a storage failure (detail in vault_last_error(),
 *     never containing a secret), VAULT_E_NOMEM, or the operation's own codes
 *     listed with it.
 *
 * Adding a table (device links, for example) is: a migration in the backend,
 * a few operations below, and their implementation in each backend.
 */
#ifndef VAULT_SERVER_STORE_H
#define VAULT_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

#define VAULT_STORE_ID_BYTES VAULT_ACCOUNT_ID_BYTES
#define VAULT_STORE_HASH_BYTES 32u
#define VAULT_STORE_DEVICE_NAME_MAX 64u
#define VAULT_STORE_KEEP_REVISIONS 10u
/* A failure count is forgotten this long after the last failure, so that the
 * table of counters (which also holds unknown emails) does not grow forever. */
#define VAULT_STORE_FAILURE_MEMORY_MS (24 * 3600 * 1000LL)

typedef struct vault_store vault_store;

/* What the server keeps per account. The email is only a keyed hash. */
typedef struct vault_store_account {
    uint8_t id[VAULT_STORE_ID_BYTES];
    uint8_t email_hash[VAULT_STORE_HASH_BYTES];
    uint8_t verifier[VAULT_STORE_HASH_BYTES];
    uint8_t salt[VAULT_SALT_BYTES];
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    uint64_t revision; /* current blob revision */
} vault_store_account;

/* The replaceable part of an account (change_password). */
typedef struct vault_store_credentials {
    uint8_t verifier[VAULT_STORE_HASH_BYTES];
    uint8_t salt[VAULT_SALT_BYTES];
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
} vault_store_credentials;

/* A session to create: only the hash of the token is stored. */
typedef struct vault_store_new_session {
    uint8_t token_hash[VAULT_STORE_HASH_BYTES];
    uint8_t device_id[VAULT_STORE_ID_BYTES];
    /* UTF-8, 1..VAULT_STORE_DEVICE_NAME_MAX bytes: the device is recorded (or
     * renamed, and its last-seen time updated). NULL: the device must exist. */
    const char *device_name;
    int64_t expires_ms;
} vault_store_new_session;

/* A live session, as session_lookup finds it. */
typedef struct vault_store_session {
    uint8_t account_id[VAULT_STORE_ID_BYTES];
    uint8_t device_id[VAULT_STORE_ID_BYTES];
    int64_t expires_ms;
} vault_store_session;

typedef struct vault_store_ops {
    /* Closes the store and frees it. */
    void (*close)(vault_store *st);

    /* Creates the account at revision 1 with its first blob, records the
     * device and opens the session, all at once.
     * VAULT_E_EXISTS if the account id or the email hash is taken. */
    int (*create_account)(vault_store *st, const vault_store_account *acct,
                          const uint8_t *blob, size_t blob_len,
                          const vault_store_new_session *sess, int64_t now_ms);

    /* Reads an account. VAULT_E_NOT_FOUND if there is none. */
    int (*get_account)(vault_store *st, const uint8_t *account_id,
                       vault_store_account *out);
    int (*get_account_by_email_hash)(vault_store *st, const uint8_t *email_hash,
                                     vault_store_account *out);

    /* The current revision and its blob; *blob comes from vault__malloc and
     * is released with vault__free. VAULT_E_NOT_FOUND without an account. */
    int (*get_blob)(vault_store *st, const uint8_t *account_id, uint64_t *revision,
                    uint8_t **blob, size_t *blob_len);

    /* Compare-and-swap: stores blob as revision base_revision + 1 only if the
     * current revision is base_revision, and forgets revisions older than the
     * last VAULT_STORE_KEEP_REVISIONS. VAULT_E_CONFLICT with *current set
     * otherwise; VAULT_E_NOT_FOUND without an account. */
    int (*put_blob_cas)(vault_store *st, const uint8_t *account_id,
                        uint64_t base_revision, const uint8_t *blob, size_t blob_len,
                        int64_t now_ms, uint64_t *current);

    /* Rate limiting of credential checks, keyed by email hash so that known
     * and unknown emails behave alike. Refuses with VAULT_E_RATE_LIMITED and
     * *retry_after_ms if the last failure is too recent (see
     * vault_server__login_wait_ms); otherwise counts this attempt as a failure
     * *before* the caller checks the credential, so that parallel guesses
     * cannot slip through together. A success clears the count (the success
     * operations below do it). */
    int (*login_attempt_begin)(vault_store *st, const uint8_t *email_hash,
                               int64_t now_ms, uint32_t free_failures,
                               int64_t *retry_after_ms);

    /* After a correct credential: clears the failure count, records the
     * device (name, last seen) and opens the session. VAULT_E_REVOKED if the
     * device was revoked (no session is made); VAULT_E_NOT_FOUND if the
     * account is gone. */
    int (*login_succeeded)(vault_store *st, const uint8_t *account_id,
                           const uint8_t *email_hash,
                           const vault_store_new_session *sess, int64_t now_ms);

    /* Replaces verifier, salt, KDF parameters and protected key, clears the
     * failure count, ends every session of the account and opens sess.
     * VAULT_E_NOT_FOUND if the account is gone. */
    int (*update_credentials)(vault_store *st, const uint8_t *account_id,
                              const uint8_t *email_hash,
                              const vault_store_credentials *cred,
                              const vault_store_new_session *sess, int64_t now_ms);

    /* Deletes the account with its blobs, sessions, devices (and everything
     * else that hangs off it) and its failure count. VAULT_E_NOT_FOUND. */
    int (*delete_account)(vault_store *st, const uint8_t *account_id,
                          const uint8_t *email_hash);

    /* Finds a session by token hash. VAULT_E_AUTH if unknown, VAULT_E_EXPIRED
     * if past its expiry (it is deleted then), VAULT_E_REVOKED if its device
     * was revoked. */
    int (*session_lookup)(vault_store *st, const uint8_t *token_hash, int64_t now_ms,
                          vault_store_session *out);

    /* Deletes a session (no error if it is already gone). */
    int (*session_delete)(vault_store *st, const uint8_t *token_hash);
} vault_store_ops;

/* Every backend's handle starts with this. */
struct vault_store {
    const vault_store_ops *ops;
};

/* Opens (creating and migrating if needed) the SQLite store at path.
 * VAULT_E_IO (with detail), VAULT_E_INVALID, VAULT_E_NOMEM. */
int vault_server__store_open_sqlite(vault_store **out, const char *path);

/* How long a caller with failures consecutive failed attempts must wait
 * after the last one: 0 while failures < free_failures, then
 * min(2^(failures - free_failures) s, 15 min). Shared by all backends. */
int64_t vault_server__login_wait_ms(uint64_t failures, uint32_t free_failures);

#endif

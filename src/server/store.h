/*
 * The server's storage interface. The handler (server.c and the ops files)
 * never talks to a database: it calls these operations through a small table
 * of function pointers. The operations are written once, in store_rules.c,
 * over a backend's primitive reads and writes (store_backend.h); a backend is
 * one file that implements the primitives in its dialect (store_sqlite.c,
 * store_pg.c); vault_server_open picks one by the shape of its db argument.
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
 * Adding an operation is: its entry below, its rule in store_rules.c, and a
 * primitive in each backend only if no existing one reads or writes what it
 * needs (store_backend.h). Adding a table is a migration in each backend too.
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
#define VAULT_STORE_RECORD_BYTES 192u /* an OPAQUE registration record (RFC 9807) */
/* A failure count is forgotten this long after the last failure, so that the
 * table of counters (which also holds unknown emails) does not grow forever. */
#define VAULT_STORE_FAILURE_MEMORY_MS (24 * 3600 * 1000LL)

typedef struct vault_store vault_store;

/* What the server keeps per account. The email is only a keyed hash. */
typedef struct vault_store_account {
    uint8_t id[VAULT_STORE_ID_BYTES];
    uint8_t email_hash[VAULT_STORE_HASH_BYTES];
    /* The client's OPAQUE record; all zero for an account of protocol 1,
     * which therefore cannot log in. */
    uint8_t record[VAULT_STORE_RECORD_BYTES];
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    uint64_t revision; /* current blob revision */
} vault_store_account;

/* The replaceable part of an account (change_password). */
typedef struct vault_store_credentials {
    uint8_t record[VAULT_STORE_RECORD_BYTES];
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


/* ---- device links and linked devices (docs/devicelink.md) -------------------- */

#define VAULT_STORE_LINK_OPEN 0u      /* waiting for the new device's key */
#define VAULT_STORE_LINK_POSTED 1u    /* key posted; waiting for the envelope */
#define VAULT_STORE_LINK_DELIVERED 2u /* envelope waiting to be fetched */
#define VAULT_STORE_LINK_DONE 3u      /* envelope fetched: the link is used up */
#define VAULT_STORE_LINK_ABORTED 4u   /* cancelled by either side or by the server */
#define VAULT_STORE_LINK_ANY_LIVE 0xffffffffu /* link_set_state: open, posted or delivered */
#define VAULT_STORE_LINK_KEY_BYTES 32u
#define VAULT_STORE_SEALED_KEY_BYTES 80u /* crypto_box_seal of a 32-byte key */
/* Links are kept this long past their expiry, so that a late call still gets
 * "expired" rather than "not found"; then they are deleted. */
#define VAULT_STORE_LINK_MEMORY_MS (3600 * 1000LL)
#define VAULT_STORE_LINKS_MAX 16 /* live (unexpired, unused) links per account */
#define VAULT_STORE_LINKS_UNBOUND_MAX 10000 /* live links requested by new devices, in all */
#define VAULT_STORE_LINK_OFFER 'o'
#define VAULT_STORE_LINK_REVERSE 'n'

/* A device-link relay record. The server never sees the link secret or the
 * vault key: it relays public keys, MACs it cannot check, and an envelope it
 * cannot open. */
typedef struct vault_store_link {
    uint8_t id[VAULT_STORE_ID_BYTES];
    uint32_t role; /* 'o': the logged-in device made it; 'n': a new device did */
    /* The logged-in account and device: the creator for role 'o', the
     * accepting device for role 'n' (all zero until then). */
    uint8_t account_id[VAULT_STORE_ID_BYTES];
    uint8_t device_id[VAULT_STORE_ID_BYTES];
    uint32_t state;                           /* VAULT_STORE_LINK_* */
    int64_t expires_ms;
    uint32_t extra_posts; /* posts refused because a key was already there */
    /* Set once the state is POSTED or later: */
    uint8_t peer_pk[VAULT_STORE_LINK_KEY_BYTES];
    uint8_t post_mac[VAULT_STORE_LINK_KEY_BYTES];
    uint8_t confirm_tag[VAULT_STORE_LINK_KEY_BYTES];
    /* Hash of the new device's fetch token: set by its post (role 'o') or
     * when it requested the link (role 'n'). */
    uint8_t fetch_hash[VAULT_STORE_HASH_BYTES];
} vault_store_link;

/* The device a link creates, recorded when its envelope is delivered. */
typedef struct vault_store_new_device {
    uint8_t id[VAULT_STORE_ID_BYTES];
    const char *name; /* UTF-8, 1..VAULT_STORE_DEVICE_NAME_MAX bytes */
    uint8_t credential_hash[VAULT_STORE_HASH_BYTES];
} vault_store_new_device;

/* A device as the server knows it (not trusted by clients: the trusted list
 * is inside the encrypted vault). */
typedef struct vault_store_device {
    uint8_t id[VAULT_STORE_ID_BYTES];
    char name[VAULT_STORE_DEVICE_NAME_MAX + 1];
    int64_t added_ms;
    int64_t last_seen_ms;
    int64_t revoked_ms; /* 0 if not revoked */
    int linked;         /* 1 if it logs in with a device credential */
} vault_store_device;

/* The rotated vault key sealed to one remaining device. */
typedef struct vault_store_sealed_key {
    uint8_t device_id[VAULT_STORE_ID_BYTES];
    uint8_t sealed[VAULT_STORE_SEALED_KEY_BYTES];
} vault_store_sealed_key;

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

    /* Replaces the OPAQUE record, KDF parameters and protected key, clears the
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

    /* ---- device links (docs/devicelink.md) ---- */

    /* Records a new link in state OPEN (and forgets links expired more than
     * VAULT_STORE_LINK_MEMORY_MS ago). VAULT_E_EXISTS if the id is taken;
     * VAULT_E_LIMIT if the account already has VAULT_STORE_LINKS_MAX
     * unexpired links. */
    int (*link_create)(vault_store *st, const vault_store_link *link, int64_t now_ms);

    /* Records a link requested by a new device (role 'n', state OPEN, no
     * account yet, link->fetch_hash kept). VAULT_E_LIMIT beyond
     * VAULT_STORE_LINKS_UNBOUND_MAX live ones. VAULT_E_EXISTS. */
    int (*link_request)(vault_store *st, const vault_store_link *link, int64_t now_ms);

    /* Reads a link; with envelope non-NULL also its envelope (*envelope from
     * vault__malloc, NULL if none). VAULT_E_NOT_FOUND. */
    int (*link_get)(vault_store *st, const uint8_t *link_id, vault_store_link *out,
                    uint8_t **envelope, size_t *envelope_len);

    /* Stores the poster's key fields (peer_pk, post_mac, confirm_tag, and
     * fetch_hash for role 'o' or account_id and device_id for role 'n', of
     * `posted`, whose id and role name the link) and moves the link
     * OPEN → POSTED. A link in any other state counts the attempt in
     * extra_posts (committed) and gives VAULT_E_STATE. VAULT_E_NOT_FOUND
     * (also for a role mismatch), VAULT_E_EXPIRED. */
    int (*link_post_key)(vault_store *st, const vault_store_link *posted, int64_t now_ms);

    /* Stores the envelope, POSTED → DELIVERED, and records the new device
     * with its credential hash, at once. VAULT_E_NOT_FOUND (no such link for
     * this account), VAULT_E_EXPIRED, VAULT_E_STATE (not POSTED, or
     * extra_posts > 0: someone else also tried this code), VAULT_E_EXISTS
     * (device id taken). */
    int (*link_deliver)(vault_store *st, const uint8_t *link_id, const uint8_t *account_id,
                        const uint8_t *envelope, size_t envelope_len,
                        const vault_store_new_device *dev, int64_t now_ms);

    /* Compare-and-set of a link's state (expect may be
     * VAULT_STORE_LINK_ANY_LIVE); DONE and ABORTED also drop the envelope.
     * VAULT_E_STATE if the state was not the expected one. VAULT_E_NOT_FOUND. */
    int (*link_set_state)(vault_store *st, const uint8_t *link_id, uint32_t expect,
                          uint32_t state);

    /* ---- devices ---- */

    /* Every device of the account, oldest first; *out from vault__malloc
     * (NULL when *count is 0). */
    int (*device_list)(vault_store *st, const uint8_t *account_id,
                       vault_store_device **out, size_t *count);

    /* The credential hash of a linked device. VAULT_E_NOT_FOUND (no such
     * device, or one without a credential), VAULT_E_REVOKED. */
    int (*device_credential)(vault_store *st, const uint8_t *account_id,
                             const uint8_t *device_id, uint8_t *credential_hash);

    /* Revocation with key rotation, all at once: compare-and-swap push of
     * blob as base_revision + 1 (VAULT_E_CONFLICT with *current otherwise),
     * new protected key, the device revoked (credential and sealed key
     * dropped, sessions ended), and each listed device's sealed key
     * replaced. VAULT_E_NOT_FOUND if the revoked or a listed device is
     * unknown. */
    int (*device_revoke_rotate)(vault_store *st, const uint8_t *account_id,
                                const uint8_t *revoked_device_id, uint64_t base_revision,
                                const uint8_t *blob, size_t blob_len,
                                const uint8_t *protected_key,
                                const vault_store_sealed_key *keys, size_t nkeys,
                                int64_t now_ms, uint64_t *current);

    /* The vault key sealed to this device at the last rotation.
     * VAULT_E_NOT_FOUND if there is none. */
    int (*device_sealed_key)(vault_store *st, const uint8_t *account_id,
                             const uint8_t *device_id, uint8_t *sealed);
} vault_store_ops;

/* Every backend's handle starts with this. ops are the operations of
 * store_rules.c (the same for every backend), db the backend's primitives
 * they run on (store_backend.h). */
struct vault_store {
    const vault_store_ops *ops;
    const struct vault_store_backend *db;
};

/* Opens (creating and migrating if needed) the SQLite store at path.
 * VAULT_E_IO (with detail), VAULT_E_INVALID, VAULT_E_NOMEM. */
int vault_server__store_open_sqlite(vault_store **out, const char *path);

/* Opens (creating and migrating if needed) the PostgreSQL store that the
 * libpq connection URI names (postgresql://... or postgres://...); needs the
 * database to be reachable. VAULT_E_IO (with detail), VAULT_E_INVALID (a
 * malformed URI), VAULT_E_NOMEM. */
int vault_server__store_open_pg(vault_store **out, const char *uri);

/* Whether db names a PostgreSQL database (a postgresql:// or postgres://
 * URI) rather than a SQLite file. */
int vault_server__store_is_pg(const char *db);

#endif

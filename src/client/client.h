/*
 * Client module: one device. Internal interface, also used by the device-link
 * module. The struct is here (not in vault.h) so that sibling modules can reach
 * the session and keys without widening the public API.
 */
#ifndef VAULT_CLIENT_H
#define VAULT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "vault.h"

struct cJSON;
struct sqlite3;
typedef struct vault_transport__http vault_transport__http;
typedef struct vault_client__keys vault_client__keys;

#define VAULT_ID_HEX (2 * VAULT_ACCOUNT_ID_BYTES + 1)
#define VAULT_SESSION_HEX 65
#define VAULT_EMAIL_MAX 254u
#define VAULT_SECRET_KEY_BYTES 16u
#define VAULT_SECRET_KEY_TEXT_BYTES 40u /* "ZK1-" + 7 groups of 4 + 6 dashes + NUL */
#define VAULT_PASSWORD_KEY_BYTES 64u

/* Picks up a vault key rotated elsewhere, for a pull whose (vetted) server
 * blob at revision does not open under the session's vault key. On VAULT_OK,
 * *remote is the opened server vault and the session and the local store use
 * the new key; on failure nothing local changes and *remote is NULL.
 *
 * The client owns this interface so that it never calls up into the module
 * that implements it: the device-link module (above the client) sets it in
 * the key block together with a linked device's secrets. */
typedef int (*vault_client__rotation_fn)(vault_client *c, uint64_t revision,
                                         const uint8_t *blob, size_t len, vault **remote);

/* Keys held while unlocked, in one sodium_malloc block (guard pages, wiped). */
struct vault_client__keys {
    uint8_t vault_key[VAULT_KEY_BYTES]; /* VK: seals the blob */
    /* The OPAQUE password: HKDF-Extract(Secret Key, password) (auth.c). It
     * lets this device prove the password to the server again (step-up)
     * without keeping the password itself. */
    uint8_t password_key[VAULT_PASSWORD_KEY_BYTES];
    int has_password_keys;
    /* The local KEK: Argon2id(password_key, local salt), wrapping the vault
     * key in this device's store. Computed when first needed. */
    uint8_t enc_key[VAULT_KEY_BYTES];
    int has_enc_key;
    /* A linked device's own secrets, kept while unlocked so that a vault key
     * rotated elsewhere can be picked up in the middle of a session. */
    uint8_t device_sk[VAULT_KEY_BYTES]; /* X25519 secret key rotations are sealed to */
    uint8_t local_key[VAULT_KEY_BYTES]; /* the app's key wrapping the stored secrets */
    int has_device_keys;
    vault_client__rotation_fn adopt_rotated_key; /* set with the device keys, else NULL */
};

struct vault_client {
    struct sqlite3 *db;
    char errmsg[VAULT_ERRMSG_MAX];

    /* Account state mirrored from the store (public or ciphertext only). */
    int has_account;
    char account_id[VAULT_ID_HEX];
    char device_id[VAULT_ID_HEX];
    char email[VAULT_EMAIL_MAX + 1]; /* "" until registered or logged in */
    uint8_t salt[VAULT_SALT_BYTES];  /* this device's own salt for the local KEK */
    uint64_t opslimit, memlimit;     /* the account's Argon2id costs */
    /* The account's Secret Key: made with the account, kept in this store,
     * never sent (secretkey.c). */
    uint8_t secret_key[VAULT_SECRET_KEY_BYTES];
    int has_secret_key;
    uint64_t base_revision;    /* revision of the base: the last blob received from the
                                  server (0: never synced); a pending push is base + 1 */
    uint64_t highest_revision; /* highest revision the server showed or acknowledged */
    /* The local blob is always sealed for base_revision + 1: the revision it
     * would become if pushed. */

    /* Unlocked state. */
    vault_client__keys *keys; /* NULL while locked */
    vault *v;                 /* NULL while locked */

    /* Server connection. */
    vault_transport_fn transport;
    void *transport_ctx;
    vault_transport__http *http; /* owned when connected over HTTP */
    char session[VAULT_SESSION_HEX]; /* "" when logged out */
};

/* Ends a public call: keeps the thread's detail message in the handle too
 * (bindings may run consecutive calls on different threads) and returns rc. */
static inline int vault_client__done(vault_client *c, int rc)
{
    return vault__capture(c->errmsg, rc);
}

/* Sends one protocol request (the "v" member is added) and parses the answer.
 * A server error answer is mapped to its VAULT_E_* code with the server's
 * message; *response (a cJSON object, free with cJSON_Delete) is set only on
 * success. Requests carrying secrets are wiped after sending. */
int vault_client__call(vault_client *c, struct cJSON *request, struct cJSON **response);

/* A hex member of an answer, exactly len bytes: VAULT_E_SERVER otherwise. */
int vault_client__response_hex(const struct cJSON *resp, const char *key, uint8_t *out,
                               size_t len);

/* Adds "session" to a request; VAULT_E_STATE if not logged in. */
int vault_client__add_session(vault_client *c, struct cJSON *request);

/* Local store: a key/value table of public data and ciphertext.
 * put_* stage values inside a transaction opened with store_begin. */
int vault_client__store_open(vault_client *c, const char *path);
void vault_client__store_close(vault_client *c);
int vault_client__store_begin(vault_client *c);
int vault_client__store_commit(vault_client *c);
void vault_client__store_rollback(vault_client *c);
int vault_client__store_put(vault_client *c, const char *name, const void *value, size_t len);
int vault_client__store_put_u64(vault_client *c, const char *name, uint64_t value);
int vault_client__store_delete(vault_client *c, const char *name);
/* *value is vault_free-able; VAULT_E_NOT_FOUND if absent. */
int vault_client__store_get(vault_client *c, const char *name, uint8_t **value, size_t *len);
int vault_client__store_get_u64(vault_client *c, const char *name, uint64_t *value);
/* Wipes every row (delete account, or a reset). */
int vault_client__store_clear(vault_client *c);

/* VAULT_E_INVALID unless password is 1..VAULT_PASSWORD_MAX_BYTES bytes. */
int vault_client__check_password(const char *password);

/* Stores the account state and the protected key (and, with with_local, the
 * local blob) in one transaction. */
int vault_client__store_account(vault_client *c, const uint8_t *protected_key, int with_local);

/* Stages (inside a transaction) a blob that came from or went to the
 * server under name ("base_blob", "pending_blob") and its chain name (the
 * BLAKE2b-256 of its bytes) under name + "_hash". A later re-seal under a
 * rotated key replaces the blob but keeps the name. */
int vault_client__stage_point(vault_client *c, const char *name, const uint8_t *blob,
                              size_t len);

/* The chain name of this device's blob at highest_revision, for a link
 * grant: its acknowledged pending push, else its base, else the head its own
 * grant named; all zero if none. */
int vault_client__head(vault_client *c, uint8_t hash[32]);

/* Seals v under key for base_revision + 1, stating its chain: the base as
 * parent, then the base's own ancestors (*blob freed with vault_free). */
int vault_client__seal_next(vault_client *c, const vault *v, const uint8_t *key,
                            uint8_t **blob, size_t *len);

/* Stores the account state, the vault key wrapped under the local KEK and
 * the server's protected key as last seen (either may be NULL: kept), in
 * one transaction (remote.c). */
int vault_client__store_keys(vault_client *c, const uint8_t *local_protected,
                             const uint8_t *server_protected);

/* Reloads the public account state (ids, salt, params, revisions) from the store. */
int vault_client__load_state(vault_client *c);

/* Persists the public account state fields of c (inside a transaction). */
int vault_client__put_state(vault_client *c);

/* Seals c->v for local_revision and stores it (inside a transaction). */
int vault_client__put_local_blob(vault_client *c);

/* Takes ownership of keys and vault as the unlocked state. */
void vault_client__set_unlocked(vault_client *c, vault_client__keys *keys, vault *v);

/* Opens the sealed local blob (revision base_revision + 1) with k's vault key. */
int vault_client__open_local(vault_client *c, const vault_client__keys *k, vault **out);

/* The vault key the locally stored protected key yields under k's
 * encryption key (VAULT_E_AUTH if the password changed since). */
int vault_client__local_vault_key(vault_client *c, const vault_client__keys *k, uint8_t *out);

/* Opens the local blob under k's vault key or, if it was sealed under
 * old_key (a rotation happened elsewhere), under that (*used_old = 1). Writes
 * nothing: the caller re-seals with vault_client__stage_rekey. old_key may
 * be NULL. */
int vault_client__open_local_any(vault_client *c, const vault_client__keys *k,
                                 const uint8_t *old_key, vault **out, int *used_old);

/* Stages, inside an open transaction, the base and pending blobs (if any)
 * re-sealed from old_key to new_key and the unlocked vault c->v sealed under
 * new_key as the local blob. */
int vault_client__stage_rekey(vault_client *c, const uint8_t *old_key, const uint8_t *new_key);

/* Locks, ends the session and removes the account from the store (the device
 * id stays). */
void vault_client__forget_account(vault_client *c);

/* Request building: a new {"op": op} object, hex and base64 members. */
int vault_client__request_new(struct cJSON **out, const char *op);
int vault_client__add_hex(struct cJSON *obj, const char *key, const uint8_t *bin, size_t len);
int vault_client__add_blob(struct cJSON *obj, const char *key, const uint8_t *blob, size_t len);

/* ---- Secret Key (secretkey.c) ---- */
void vault_client__secret_key_format(char out[VAULT_SECRET_KEY_TEXT_BYTES],
                                     const uint8_t key[VAULT_SECRET_KEY_BYTES]);
/* VAULT_E_INVALID for a malformed text or a wrong checksum. */
int vault_client__secret_key_parse(uint8_t key[VAULT_SECRET_KEY_BYTES], const char *text);

/* ---- OPAQUE with the Secret Key (auth.c) ---- */

/* k->password_key from the password and c's Secret Key (VAULT_E_STATE
 * without one: a password login on a new device needs it). */
int vault_client__password_key(vault_client *c, vault_client__keys *k, const char *password);

/* k->enc_key = Argon2id(k->password_key, c->salt, c's costs), the local KEK. */
int vault_client__local_key(vault_client *c, vault_client__keys *k);

/* What a completed OPAQUE login gives the client. */
typedef struct vault_client__proof {
    uint8_t kek[VAULT_KEY_BYTES];       /* wraps the vault key on the server */
    uint8_t session_key[64];            /* the 3DH session key */
    uint64_t opslimit, memlimit;        /* the costs the server announced (vetted) */
} vault_client__proof;

/* Runs login_start for c->email (or email) with password_key and adds the
 * proof ("login_state", "ke3") to req, which the caller sends: the fresh
 * password proof that login_finish and every step-up operation need.
 * Errors: VAULT_E_AUTH (wrong password, or a server that does not hold the
 * account), VAULT_E_WEAK_KDF, VAULT_E_RATE_LIMITED, network codes. */
int vault_client__prove(vault_client *c, const char *email,
                        const uint8_t password_key[VAULT_PASSWORD_KEY_BYTES],
                        struct cJSON *req, vault_client__proof *out);

/* OPAQUE registration for email (register_start round trip): the record to
 * upload and the KEK for the given costs. */
int vault_client__opaque_register(vault_client *c, const char *email,
                                  const uint8_t password_key[VAULT_PASSWORD_KEY_BYTES],
                                  uint64_t opslimit, uint64_t memlimit, uint8_t *record,
                                  uint8_t kek[VAULT_KEY_BYTES]);

/* Adopts the session derived from a proof's session key. */
void vault_client__take_proof_session(vault_client *c, const vault_client__proof *p);

/* Allocates a zeroed key block in secure memory. */
int vault_client__keys_new(vault_client__keys **out);
void vault_client__keys_free(vault_client__keys *k);

#endif

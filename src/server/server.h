/*
 * Server module, internal interface: the handle, the table of operations,
 * request parsing and reply helpers, and the keyed hashes. The wire protocol
 * is docs/protocol.md; storage is behind store.h.
 *
 * Adding an operation (the device-link relay, device management) is:
 *   1. a function `int vault_server__op_<name>(vault_server_call *call)`,
 *      declared below and defined in its own file (e.g. src/server/ops_link.c);
 *   2. one entry in the table in server.c: name, exact member list, and
 *      VAULT_SERVER_OP_SESSION if it needs a logged-in session (the dispatcher
 *      then checks "session" and fills call->session before calling it);
 *   3. store operations for its tables (store.h), if it keeps state.
 * The op reads members with the vault_server__req_* helpers (which enforce
 * types, lengths and encodings), returns VAULT_OK after adding its reply
 * members to call->reply, or a VAULT_E_* code after vault__fail(); the
 * dispatcher turns that code into the protocol's error object.
 */
#ifndef VAULT_SERVER_H
#define VAULT_SERVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "opaque/opaque.h"
#include "server/store.h"

struct cJSON;

#define VAULT_SERVER_TOKEN_BYTES 32u
#define VAULT_SERVER_EMAIL_MAX 254u
#define VAULT_SERVER_EMAIL_MIN 3u
#define VAULT_SERVER_HASH_BYTES 32u

/* Subkeys of the pepper, kept in sodium_malloc memory, read-only. */
typedef struct vault_server_keys {
    uint8_t email[32];       /* keys the email hash */
    uint8_t at_rest[32];     /* masks stored protected keys (keys.c) */
    uint8_t login_state[32]; /* seals the OPAQUE state between login_start and _finish */
    vault_opaque_server_keys opaque; /* OPRF seed and the AKE key pair */
} vault_server_keys;

/* ---- per-address and global limits (limiter.c; docs/security.md A4, A5) ---- */
typedef struct vault_server_limiter vault_server_limiter;
struct vault_server_call;

#define VAULT_SERVER_LIMIT_RELAY 0         /* unauthenticated relay records, per address */
#define VAULT_SERVER_LIMIT_GUESS_ADDRESS 1 /* failed password proofs, per address */
#define VAULT_SERVER_LIMIT_GUESS_GLOBAL 2  /* failed password proofs, all clients */
#define VAULT_SERVER_LIMIT_KINDS 3
/* Defaults of the allowances (vault_server_set_option changes them). */
#define VAULT_SERVER_RELAY_PER_ADDRESS 20     /* per 5 minutes (the link lifetime) */
#define VAULT_SERVER_GUESSES_PER_ADDRESS 30   /* per 15 minutes */
#define VAULT_SERVER_GUESSES_GLOBAL 10000     /* per minute */

int vault_server__limiter_new(vault_server_limiter **out);
void vault_server__limiter_free(vault_server_limiter *l);
/* Counts one event of kind for peer; VAULT_E_RATE_LIMITED (with
 * call->retry_after_ms) if the window's allowance is used up. */
int vault_server__limit_take(struct vault_server_call *call, int kind, const char *peer);
/* Gives back an event taken but not spent (the guess was right). */
void vault_server__limit_refund(struct vault_server_call *call, int kind, const char *peer);

struct vault_server {
    vault_store *store;
    vault_server_limiter *limiter;
    vault_server_keys *keys;
    _Atomic int64_t session_ttl_s;
    _Atomic int64_t link_ttl_s;
    _Atomic int64_t login_free;
    _Atomic int64_t max_blob;
    _Atomic int64_t clock_skew_s;
    _Atomic int64_t limit_max[VAULT_SERVER_LIMIT_KINDS]; /* by VAULT_SERVER_LIMIT_* */
    pthread_mutex_t err_lock;
    char errmsg[VAULT_ERRMSG_MAX];
    vault_server_event_fn event_fn; /* operator events, or NULL */
    void *event_ctx;
    _Atomic int store_failing; /* the last store outcome was an error */
};

/* One request being handled. */
typedef struct vault_server_call {
    vault_server *server;
    const struct cJSON *req;  /* the request object, members already checked */
    const char *op;           /* its operation name, for messages */
    const char *peer;         /* the client's address key from the front end, or NULL */
    int64_t now_ms;           /* the server clock (with skew) for this call */
    vault_store_session session; /* filled for VAULT_SERVER_OP_SESSION ops */
    uint8_t session_hash[VAULT_SERVER_HASH_BYTES];
    struct cJSON *reply;      /* {"ok":true}; the op adds its members */
    char *raw_reply;          /* or a whole response text in output memory */
    int64_t retry_after_ms;   /* with VAULT_E_RATE_LIMITED */
    uint64_t current_revision; /* with VAULT_E_CONFLICT */
} vault_server_call;

typedef int (*vault_server_op_fn)(vault_server_call *call);

#define VAULT_SERVER_OP_SESSION 1u /* "session" is checked by the dispatcher */
#define VAULT_SERVER_OP_BLOB 2u    /* carries a blob: VAULT_SERVER_MAX_REQUEST, not the
                                      small cap (vault_server_request_limit) */
#define VAULT_SERVER_OP_RELAY 4u   /* unauthenticated, leaves a relay record: counted per
                                      address (VAULT_SERVER_LIMIT_RELAY) */
#define VAULT_SERVER_OP_GUESS 8u   /* checks a password proof: a VAULT_E_AUTH answer counts
                                      per address and globally (..._LIMIT_GUESS_*) */
#define VAULT_SERVER_OP_GUESS_KEPT 16u /* login_start: an OPAQUE client learns from KE2
                                      alone whether its guess was right, so the guess taken
                                      is kept until a proof succeeds (proof.c gives it back) */

typedef struct vault_server_op {
    const char *name;
    uint32_t flags;
    const char *const *members; /* exact member set besides "v" and "op"; NULL-ended */
    vault_server_op_fn run;
} vault_server_op;

/* ---- operations (ops_account.c, ops_sync.c) ---------------------------------- */
int vault_server__op_register_start(vault_server_call *call);
int vault_server__op_register(vault_server_call *call);
int vault_server__op_login_start(vault_server_call *call);
int vault_server__op_login_finish(vault_server_call *call);
int vault_server__op_logout(vault_server_call *call);
int vault_server__op_pull(vault_server_call *call);
int vault_server__op_push(vault_server_call *call);
int vault_server__op_change_password(vault_server_call *call);
int vault_server__op_delete_account(vault_server_call *call);

/* ---- device linking and devices (ops_link.c, ops_device.c; docs/devicelink.md) ---- */
int vault_server__op_link_create(vault_server_call *call);
int vault_server__op_link_post_key(vault_server_call *call);
int vault_server__op_link_poll(vault_server_call *call);
int vault_server__op_link_deliver(vault_server_call *call);
int vault_server__op_link_fetch(vault_server_call *call);
int vault_server__op_link_cancel(vault_server_call *call);
int vault_server__op_link_abort(vault_server_call *call);
int vault_server__op_link_request(vault_server_call *call);
int vault_server__op_link_accept(vault_server_call *call);
int vault_server__op_link_wait(vault_server_call *call);
int vault_server__op_device_list(vault_server_call *call);
int vault_server__op_device_revoke(vault_server_call *call);
int vault_server__op_device_key(vault_server_call *call);
int vault_server__op_device_login(vault_server_call *call);

/* ---- request members (request.c) --------------------------------------------- */

/* Refuses text that a JSON parser would silently truncate: NUL bytes (one
 * trailing NUL is allowed), raw control characters and \u0000 inside strings. */
int vault_server__check_text(const char *text, size_t len);

/* Length of the strict UTF-8 character at s (n > 0 bytes left), 0 if s
 * does not start one (overlong, surrogate, above U+10FFFF, cut short). */
size_t vault_server__utf8_char(const unsigned char *s, size_t n);

/* A client-chosen name (op, member) as an error message may show it: valid
 * UTF-8 without control characters, cut at a character boundary with "...",
 * or a fixed text instead of a name that is not UTF-8 text. */
#define VAULT_SERVER_SHOWN_NAME 44u
void vault_server__shown_name(char out[VAULT_SERVER_SHOWN_NAME], const char *name);

/* Checks that obj has exactly "v", "op" and the members of op, once each. */
int vault_server__check_members(const struct cJSON *obj, const vault_server_op *op);

/* Member `name` as exactly len bytes of lowercase hex. VAULT_E_INVALID. */
int vault_server__req_hex(const vault_server_call *call, const char *name, uint8_t *out,
                          size_t len);
/* A non-negative integer (at most 2^53). VAULT_E_INVALID. */
int vault_server__req_u64(const vault_server_call *call, const char *name, uint64_t *out);
/* "opslimit" and "memlimit": VAULT_E_INVALID below the floor, VAULT_E_LIMIT
 * above the maximum. */
int vault_server__req_kdf(const vault_server_call *call, uint64_t *opslimit,
                          uint64_t *memlimit);
/* "email", normalised (trimmed, ASCII-lowercased) into out
 * (VAULT_SERVER_EMAIL_MAX + 1 bytes, NUL-terminated). VAULT_E_INVALID,
 * VAULT_E_LIMIT. */
int vault_server__req_email(const vault_server_call *call, char *out, size_t *out_len);
/* A UTF-8 name of 1..max bytes without control characters. */
int vault_server__req_name(const vault_server_call *call, const char *name, size_t max,
                           const char **out);
/* A base64 blob of at most the server's MAX_BLOB bytes once decoded; *out
 * is released with vault_free. VAULT_E_INVALID, VAULT_E_LIMIT, VAULT_E_NOMEM. */
int vault_server__req_blob(const vault_server_call *call, const char *name, uint8_t **out,
                           size_t *out_len);
/* Checks the clear header of a blob: sealed for account_id at revision.
 * VAULT_E_INVALID otherwise. */
int vault_server__check_blob(const uint8_t *blob, size_t blob_len, const uint8_t *account_id,
                             uint64_t revision);

/* ---- reply members (response.c; it uses keys.c, never the reverse) ------------ */
int vault_server__reply_hex(vault_server_call *call, const char *name, const uint8_t *bytes,
                            size_t len);
int vault_server__reply_u64(vault_server_call *call, const char *name, uint64_t value);
/* Adds "session" and "expires_ms" to the reply. */
int vault_server__reply_session(vault_server_call *call,
                                const uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                                const vault_store_new_session *sess);
/* Adds what a logging-in device needs to open its keys (the protected key
 * unmasked): "protected_key", "opslimit", "memlimit", "revision". */
int vault_server__reply_account_keys(vault_server_call *call, const vault_store_account *acct);
/* The protocol's error code name for a status ("invalid", "auth", ...). */
const char *vault_server__error_code(int status);
/* {"ok":false,"error":{...}} for status, with message and the extra members
 * of rate_limited and conflict, in output memory. VAULT_E_NOMEM only. */
int vault_server__error_response(const vault_server_call *call, int status,
                                 const char *message, char **out);

/* ---- secrets (keys.c) ----------------------------------------------------------- */
int vault_server__keys_derive(vault_server_keys **out, const uint8_t *pepper, size_t len);
void vault_server__keys_free(vault_server_keys *keys);
/* Masks a protected key for storage, or unmasks a stored one (the same call). */
void vault_server__mask_protected_key(const vault_server *s,
                                      const uint8_t account_id[VAULT_ACCOUNT_ID_BYTES],
                                      uint8_t key[VAULT_PROTECTED_KEY_BYTES]);
void vault_server__email_hash(const vault_server *s, const char *email, size_t len,
                              uint8_t out[VAULT_SERVER_HASH_BYTES]);
/* The OPAQUE configuration both sides use (context of protocol 2). */
void vault_server__opaque_cfg(vault_opaque_cfg *cfg);
void vault_server__token_hash(const uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                              uint8_t out[VAULT_SERVER_HASH_BYTES]);
/* A fresh session for device_id: random token (returned to the caller, to be
 * wiped) and the record to store, expiring SESSION_TTL from now. */
void vault_server__new_session(const vault_server_call *call, const uint8_t *device_id,
                               const char *device_name,
                               uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                               vault_store_new_session *out);
/* A session whose token is derived from an OPAQUE session key (the token is
 * never sent: the client derives it too). */
void vault_server__proof_session(const vault_server_call *call, const uint8_t *device_id,
                                 const char *device_name,
                                 const uint8_t session_key[VAULT_OPAQUE_NX],
                                 vault_store_new_session *out);

/* ---- password proofs (proof.c) ------------------------------------------------ */

/* What login_start sealed for login_finish (or a step-up operation). */
typedef struct vault_server_login_state {
    int64_t expires_ms;
    uint8_t email_hash[VAULT_SERVER_HASH_BYTES];
    uint8_t account_id[VAULT_STORE_ID_BYTES];
    uint8_t known; /* 0: the email has no account (a fake record answered) */
    vault_opaque_server opaque;
} vault_server_login_state;

/* Seals st (with a fresh expiry) into the reply's "login_state". */
int vault_server__reply_login_state(vault_server_call *call, vault_server_login_state *st);

/* Checks the request's "login_state" and "ke3": sealed by this server, not
 * expired, for an existing account, and a valid OPAQUE KE3 (the password).
 * Fills st (wipe it) and the session key. VAULT_E_INVALID (malformed),
 * VAULT_E_EXPIRED, VAULT_E_AUTH. */
int vault_server__check_proof(vault_server_call *call, vault_server_login_state *st,
                              uint8_t session_key[VAULT_OPAQUE_NX]);

/* Step-up: the fresh proof above, for the session's own account. A session
 * alone never suffices for device_revoke, change_password, delete_account. */
int vault_server__step_up(vault_server_call *call, vault_server_login_state *st,
                          uint8_t session_key[VAULT_OPAQUE_NX]);

/* A store status for the session's own account: VAULT_E_NOT_FOUND means the
 * account was deleted under the session, which the client learns as
 * VAULT_E_AUTH "unknown session". Other statuses pass through. */
int vault_server__session_status(int status);

#endif

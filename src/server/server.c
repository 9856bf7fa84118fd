/*
 * The server handle and the request dispatcher: one JSON request in, one
 * JSON response out (docs/protocol.md). The dispatcher owns everything that
 * is common to all operations — size limit, strict JSON, envelope, exact
 * member set, session check, turning a status into an error object — and
 * hands each operation to its function through the table below.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

#define DEFAULT_SESSION_TTL_S 3600
#define DEFAULT_LINK_TTL_S 300
#define DEFAULT_LOGIN_FREE 5
#define DEFAULT_MAX_BLOB (64 * 1024 * 1024)

/* ---- the table of operations --------------------------------------------------- */

static const char *const m_register_start[] = {"email", "request", NULL};
static const char *const m_register[] = {"email", "account_id", "record", "opslimit",
                                         "memlimit", "protected_key", "blob", "device_id",
                                         "device_name", NULL};
static const char *const m_login_start[] = {"email", "ke1", NULL};
static const char *const m_login_finish[] = {"login_state", "ke3", "device_id", "device_name",
                                             NULL};
static const char *const m_session[] = {"session", NULL};
static const char *const m_push[] = {"session", "base_revision", "blob", NULL};
static const char *const m_change_password[] = {"session", "login_state", "ke3", "record",
                                                "opslimit", "memlimit", "protected_key",
                                                NULL};
static const char *const m_delete_account[] = {"session", "login_state", "ke3", NULL};

static const char *const m_link[] = {"session", "link_id", NULL};
static const char *const m_link_post_key[] = {"link_id", "public_key", "mac", "confirm",
                                              "fetch_hash", NULL};
static const char *const m_link_deliver[] = {"session", "link_id", "envelope", "device_id",
                                             "device_name", "credential_hash", NULL};
static const char *const m_link_fetch[] = {"link_id", "fetch_token", NULL};
static const char *const m_device_revoke[] = {"session", "login_state", "ke3", "device_id",
                                              "base_revision", "blob", "protected_key",
                                              "sealed_keys", NULL};
static const char *const m_link_request[] = {"fetch_hash", NULL};
static const char *const m_link_accept[] = {"session", "link_id", "public_key", "mac", "confirm",
                                            NULL};
static const char *const m_device_login[] = {"account_id", "device_id", "credential", NULL};

static const vault_server_op ops[] = {
    {"register_start", 0, m_register_start, vault_server__op_register_start},
    {"register", VAULT_SERVER_OP_BLOB, m_register, vault_server__op_register},
    {"login_start", VAULT_SERVER_OP_GUESS | VAULT_SERVER_OP_GUESS_KEPT, m_login_start,
     vault_server__op_login_start},
    {"login_finish", 0, m_login_finish, vault_server__op_login_finish},
    {"logout", VAULT_SERVER_OP_SESSION, m_session, vault_server__op_logout},
    {"pull", VAULT_SERVER_OP_SESSION, m_session, vault_server__op_pull},
    {"push", VAULT_SERVER_OP_SESSION | VAULT_SERVER_OP_BLOB, m_push, vault_server__op_push},
    {"change_password", VAULT_SERVER_OP_SESSION, m_change_password,
     vault_server__op_change_password},
    {"delete_account", VAULT_SERVER_OP_SESSION, m_delete_account,
     vault_server__op_delete_account},
    /* device linking and devices: docs/devicelink.md */
    {"link_create", VAULT_SERVER_OP_SESSION, m_session, vault_server__op_link_create},
    {"link_post_key", 0, m_link_post_key, vault_server__op_link_post_key},
    {"link_poll", VAULT_SERVER_OP_SESSION, m_link, vault_server__op_link_poll},
    {"link_deliver", VAULT_SERVER_OP_SESSION, m_link_deliver, vault_server__op_link_deliver},
    {"link_fetch", 0, m_link_fetch, vault_server__op_link_fetch},
    {"link_cancel", VAULT_SERVER_OP_SESSION, m_link, vault_server__op_link_cancel},
    {"link_abort", 0, m_link_fetch, vault_server__op_link_abort},
    {"link_request", VAULT_SERVER_OP_RELAY, m_link_request, vault_server__op_link_request},
    {"link_accept", VAULT_SERVER_OP_SESSION, m_link_accept, vault_server__op_link_accept},
    {"link_wait", 0, m_link_fetch, vault_server__op_link_wait},
    {"device_list", VAULT_SERVER_OP_SESSION, m_session, vault_server__op_device_list},
    {"device_revoke", VAULT_SERVER_OP_SESSION | VAULT_SERVER_OP_BLOB, m_device_revoke,
     vault_server__op_device_revoke},
    {"device_key", VAULT_SERVER_OP_SESSION, m_session, vault_server__op_device_key},
    {"device_login", 0, m_device_login, vault_server__op_device_login},
};

static const vault_server_op *find_op(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

/* Only the ops that carry a blob may be large; everything else, including a
 * name that is no op at all, gets the small cap. */
static size_t op_limit(const vault_server_op *op)
{
    return op != NULL && (op->flags & VAULT_SERVER_OP_BLOB) ? VAULT_SERVER_MAX_REQUEST
                                                            : VAULT_SERVER_SMALL_REQUEST;
}

size_t vault_server_request_limit(const char *op)
{
    return op_limit(find_op(op));
}

int vault_server__store_is_pg(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

/* ---- handle ----------------------------------------------------------------------- */

static void remember_error(vault_server *s, int status)
{
    pthread_mutex_lock(&s->err_lock);
    vault__capture(s->errmsg, status);
    pthread_mutex_unlock(&s->err_lock);
}

int vault_server_open(vault_server **out, const char *db_path, const uint8_t *pepper,
                      size_t pepper_len, uint32_t flags)
{
    vault_server *s = NULL;
    int status;
    if (out == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_server_open: out is NULL");
    *out = NULL;
    if ((status = vault_init()) != VAULT_OK)
        return status;
    if (db_path == NULL || pepper == NULL || flags != 0)
        return vault__fail(VAULT_E_INVALID, "vault_server_open: NULL path or pepper, or "
                           "unknown flags");
    if (pepper_len < VAULT_PEPPER_MIN_BYTES)
        return vault__fail(VAULT_E_INVALID, "vault_server_open: the pepper must be at least "
                           "%u bytes", VAULT_PEPPER_MIN_BYTES);
    s = vault__calloc(1, sizeof *s);
    if (s == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory opening the server");
    pthread_mutex_init(&s->err_lock, NULL);
    s->session_ttl_s = DEFAULT_SESSION_TTL_S;
    s->link_ttl_s = DEFAULT_LINK_TTL_S;
    s->login_free = DEFAULT_LOGIN_FREE;
    s->max_blob = DEFAULT_MAX_BLOB;
    s->limit_max[VAULT_SERVER_LIMIT_RELAY] = VAULT_SERVER_RELAY_PER_ADDRESS;
    s->limit_max[VAULT_SERVER_LIMIT_GUESS_ADDRESS] = VAULT_SERVER_GUESSES_PER_ADDRESS;
    s->limit_max[VAULT_SERVER_LIMIT_GUESS_GLOBAL] = VAULT_SERVER_GUESSES_GLOBAL;
    if ((status = vault_server__keys_derive(&s->keys, pepper, pepper_len)) != VAULT_OK ||
        (status = vault_server__limiter_new(&s->limiter)) != VAULT_OK ||
        (status = vault_server__store_is_pg(db_path)
                      ? vault_server__store_open_pg(&s->store, db_path)
                      : vault_server__store_open_sqlite(&s->store, db_path)) != VAULT_OK) {
        vault_server_close(s);
        return status;
    }
    *out = s;
    return VAULT_OK;
}

void vault_server_close(vault_server *s)
{
    if (s == NULL)
        return;
    if (s->store != NULL)
        s->store->ops->close(s->store);
    vault_server__keys_free(s->keys);
    vault_server__limiter_free(s->limiter);
    pthread_mutex_destroy(&s->err_lock);
    vault__free(s);
}

const char *vault_server_errmsg(const vault_server *s)
{
    /* Copied under the lock into a per-thread buffer: other threads may be
     * writing the handle's message at the same time. */
    static _Thread_local char copy[VAULT_ERRMSG_MAX];
    if (s == NULL)
        return "no server handle";
    vault_server *m = (vault_server *)(uintptr_t)s; /* the lock is not part of the value */
    pthread_mutex_lock(&m->err_lock);
    memcpy(copy, s->errmsg, sizeof copy);
    pthread_mutex_unlock(&m->err_lock);
    return copy;
}

static int option_range(int option, int64_t *lo, int64_t *hi)
{
    switch (option) {
    case VAULT_SERVER_SESSION_TTL: *lo = 1, *hi = 366LL * 24 * 3600; return VAULT_OK;
    case VAULT_SERVER_LINK_TTL: *lo = 1, *hi = 24 * 3600; return VAULT_OK;
    case VAULT_SERVER_LOGIN_FREE: *lo = 0, *hi = 1000; return VAULT_OK;
    case VAULT_SERVER_MAX_BLOB: *lo = 1, *hi = VAULT_BLOB_MAX_BYTES; return VAULT_OK;
    case VAULT_SERVER_CLOCK_SKEW: *lo = -100LL * 366 * 24 * 3600, *hi = -*lo; return VAULT_OK;
    case VAULT_SERVER_GUESS_LIMIT_ADDRESS:
    case VAULT_SERVER_GUESS_LIMIT_GLOBAL:
    case VAULT_SERVER_RELAY_LIMIT_ADDRESS: *lo = 1, *hi = 1000000; return VAULT_OK;
    default: return vault__fail(VAULT_E_INVALID, "unknown server option %d", option);
    }
}

int vault_server_set_option(vault_server *s, int option, int64_t value)
{
    int64_t lo = 0, hi = 0;
    if (s == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_server_set_option: NULL server");
    int status = option_range(option, &lo, &hi);
    if (status == VAULT_OK && (value < lo || value > hi))
        status = vault__fail(VAULT_E_INVALID, "server option %d: %" PRId64 " is outside "
                             "%" PRId64 "..%" PRId64, option, value, lo, hi);
    if (status != VAULT_OK) {
        remember_error(s, status);
        return status;
    }
    switch (option) {
    case VAULT_SERVER_SESSION_TTL: s->session_ttl_s = value; break;
    case VAULT_SERVER_LINK_TTL: s->link_ttl_s = value; break;
    case VAULT_SERVER_LOGIN_FREE: s->login_free = value; break;
    case VAULT_SERVER_MAX_BLOB: s->max_blob = value; break;
    case VAULT_SERVER_GUESS_LIMIT_ADDRESS:
        s->limit_max[VAULT_SERVER_LIMIT_GUESS_ADDRESS] = value;
        break;
    case VAULT_SERVER_GUESS_LIMIT_GLOBAL:
        s->limit_max[VAULT_SERVER_LIMIT_GUESS_GLOBAL] = value;
        break;
    case VAULT_SERVER_RELAY_LIMIT_ADDRESS:
        s->limit_max[VAULT_SERVER_LIMIT_RELAY] = value;
        break;
    default: s->clock_skew_s = value; break;
    }
    return VAULT_OK;
}

int vault_server_set_event_handler(vault_server *s, vault_server_event_fn fn, void *ctx)
{
    if (s == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_server_set_event_handler: NULL server");
    s->event_fn = fn;
    s->event_ctx = ctx;
    return VAULT_OK;
}

/* Tells the operator about a request's outcome when it matters: a store
 * failure (with the detail the client never sees), the first success after
 * failures, a rate-limit refusal. The line names the operation only: no
 * email, token or key is ever part of it. */
static void report_event(vault_server *s, const vault_server_call *call, int status)
{
    char line[VAULT_ERRMSG_MAX + 96];
    int event = 0;
    if (s->event_fn == NULL)
        return;
    if (status != VAULT_OK && status != VAULT_E_NOMEM &&
        strcmp(vault_server__error_code(status), "internal") == 0) {
        event = VAULT_SERVER_EVENT_STORE_ERROR;
        atomic_store(&s->store_failing, 1);
        snprintf(line, sizeof line, "%s: %s", call->op, vault_last_error());
    } else if (status == VAULT_OK && atomic_exchange(&s->store_failing, 0)) {
        event = VAULT_SERVER_EVENT_STORE_RECOVERED;
        snprintf(line, sizeof line, "%s: the store answers again", call->op);
    } else if (status == VAULT_E_RATE_LIMITED) {
        event = VAULT_SERVER_EVENT_RATE_LIMITED;
        snprintf(line, sizeof line, "%s: refused after too many failed attempts "
                 "(retry in %" PRId64 " s)", call->op, (call->retry_after_ms + 999) / 1000);
    }
    if (event != 0)
        s->event_fn(event, line, s->event_ctx);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static int check_version(const cJSON *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "v");
    if (!cJSON_IsNumber(v) || v->valuedouble != 2.0)
        return vault__fail(VAULT_E_VERSION, "unsupported protocol version (this server "
                           "speaks \"v\": 2)");
    return VAULT_OK;
}

static int check_session(vault_server_call *call)
{
    uint8_t token[VAULT_SERVER_TOKEN_BYTES];
    int status = vault_server__req_hex(call, "session", token, sizeof token);
    if (status != VAULT_OK)
        return status;
    vault_server__token_hash(token, call->session_hash);
    sodium_memzero(token, sizeof token);
    vault_store *st = call->server->store;
    return st->ops->session_lookup(st, call->session_hash, call->now_ms, &call->session);
}

/* The per-address and global limits of the op's kind, around its function.
 * A guess is taken before the check and given back unless it failed, so
 * guesses sent in parallel cannot all pass. In-process callers (no peer)
 * are not limited per address. */
static int run_limited(vault_server_call *call, const vault_server_op *op)
{
    const char *peer = call->peer;
    int status;
    if ((op->flags & VAULT_SERVER_OP_RELAY) && peer != NULL &&
        (status = vault_server__limit_take(call, VAULT_SERVER_LIMIT_RELAY, peer)) != VAULT_OK)
        return vault__fail(status, "%s: too many from this address; retry later", op->name);
    if (!(op->flags & VAULT_SERVER_OP_GUESS))
        return op->run(call);
    if ((status = vault_server__limit_take(call, VAULT_SERVER_LIMIT_GUESS_GLOBAL, "")) !=
        VAULT_OK)
        return vault__fail(status, "%s: too many failed attempts; retry later", op->name);
    if (peer != NULL &&
        (status = vault_server__limit_take(call, VAULT_SERVER_LIMIT_GUESS_ADDRESS, peer)) !=
            VAULT_OK) {
        vault_server__limit_refund(call, VAULT_SERVER_LIMIT_GUESS_GLOBAL, "");
        return vault__fail(status, "%s: too many failed attempts from this address; retry "
                           "later", op->name);
    }
    status = op->run(call);
    int kept = status == VAULT_OK && (op->flags & VAULT_SERVER_OP_GUESS_KEPT);
    if (status != VAULT_E_AUTH && !kept) {
        vault_server__limit_refund(call, VAULT_SERVER_LIMIT_GUESS_GLOBAL, "");
        if (peer != NULL)
            vault_server__limit_refund(call, VAULT_SERVER_LIMIT_GUESS_ADDRESS, peer);
    }
    return status;
}

/* Everything between the raw bytes and the op's function. *parsed receives
 * the request tree (the caller frees it). */
static int dispatch(vault_server_call *call, const char *path_op, const char *request,
                    size_t len, cJSON **parsed)
{
    cJSON *req = NULL;
    const char *name = NULL;
    int status;
    if (len > VAULT_SERVER_MAX_REQUEST)
        return vault__fail(VAULT_E_LIMIT, "request larger than %u bytes",
                           VAULT_SERVER_MAX_REQUEST);
    if (request == NULL || len == 0)
        return vault__fail(VAULT_E_INVALID, "empty request");
    if ((status = vault_server__check_text(request, len)) != VAULT_OK ||
        (status = vault__json_parse(request, len, &req)) != VAULT_OK)
        return status;
    *parsed = req;
    call->req = req;
    if (!cJSON_IsObject(req))
        return vault__fail(VAULT_E_INVALID, "the request must be a JSON object");
    if ((status = check_version(req)) != VAULT_OK ||
        (status = vault__json_string(req, "op", "request", &name)) != VAULT_OK)
        return status;
    const vault_server_op *op = find_op(name);
    if (op == NULL) {
        char shown[VAULT_SERVER_SHOWN_NAME];
        vault_server__shown_name(shown, name);
        return vault__fail(VAULT_E_INVALID, "unknown op \"%s\"", shown);
    }
    call->op = op->name;
    /* The front end sized its buffer by the op it was told; a body naming
     * another op would get another op's cap. */
    if (path_op != NULL && strcmp(path_op, op->name) != 0)
        return vault__fail(VAULT_E_INVALID, "%s: the request was sent as another op", op->name);
    if (len > op_limit(op))
        return vault__fail(VAULT_E_LIMIT, "%s: request larger than %zu bytes", op->name,
                           op_limit(op));
    if ((status = vault_server__check_members(req, op)) != VAULT_OK)
        return status;
    if ((op->flags & VAULT_SERVER_OP_SESSION) && (status = check_session(call)) != VAULT_OK)
        return status;
    call->reply = cJSON_CreateObject();
    if (call->reply == NULL || cJSON_AddTrueToObject(call->reply, "ok") == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a reply");
    return run_limited(call, op);
}

/* What the client may read for a failure. Storage failures and bugs get a
 * fixed message (the detail goes to vault_server_errmsg() for the operator). */
static const char *public_message(vault_server *s, int status)
{
    if (status == VAULT_E_NOMEM)
        return "the server is out of memory";
    if (strcmp(vault_server__error_code(status), "internal") == 0) {
        remember_error(s, status);
        return "internal server error";
    }
    const char *detail = vault_last_error();
    return detail[0] != '\0' ? detail : vault_strerror(status);
}

int vault_server_handle(vault_server *s, const char *request, size_t request_len,
                        char **response)
{
    return vault_server_handle_from(s, NULL, NULL, request, request_len, response);
}

int vault_server_handle_from(vault_server *s, const char *peer, const char *op,
                             const char *request, size_t request_len, char **response)
{
    vault_server_call call;
    cJSON *parsed = NULL;
    if (response == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_server_handle: response is NULL");
    *response = NULL;
    if (s == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_server_handle: NULL server");
    vault__clear_error();
    memset(&call, 0, sizeof call);
    call.server = s;
    call.op = "request";
    call.now_ms = vault__now_ms() + s->clock_skew_s * 1000;
    call.peer = peer;
    int status = dispatch(&call, op, request, request_len, &parsed);
    if (status == VAULT_OK && call.raw_reply != NULL) {
        *response = call.raw_reply;
        call.raw_reply = NULL;
    } else if (status == VAULT_OK) {
        status = vault__json_print(call.reply, response);
    }
    report_event(s, &call, status);
    int result = VAULT_OK;
    if (status != VAULT_OK &&
        vault_server__error_response(&call, status, public_message(s, status), response) !=
            VAULT_OK) {
        result = vault__fail(VAULT_E_NOMEM, "out of memory building a response");
        remember_error(s, result);
    }
    vault_free(call.raw_reply);
    cJSON_Delete(call.reply);
    cJSON_Delete(parsed);
    return result;
}

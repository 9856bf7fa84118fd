/*
 * The reference HTTP daemon: vault_server_handle() served as POST /v1/api on
 * libmicrohttpd, with an internal thread pool (docs/vaultd.md).
 *
 * The HTTP layer only moves bytes: every protocol decision is the handler's,
 * which answers 200 with {"ok":false,...} for requests it rejects. The daemon
 * itself answers non-200 only for what never reaches the handler:
 *
 *   404 wrong path, 405 wrong method, 415 wrong Content-Type,
 *   413 body over its op's cap (vault_server_request_limit: the op is the
 *       URL's last segment, known before any body byte is read),
 *   503 the in-flight memory budget is spent (with Retry-After),
 *   500 the handler produced nothing.
 *
 * Limits a hostile client cannot exhaust (docs/vaultd.md, "Limits"): the
 * body cap is checked against Content-Length before anything is allocated
 * and again while reading; every request is charged against one memory
 * budget; connections per address are capped by libmicrohttpd; and a reaper
 * thread cuts connections past an absolute deadline for their headers or
 * body, which libmicrohttpd's idle timeout alone does not give (a client
 * sending one byte every few seconds is never idle).
 *
 * Each of those carries a protocol error body ({"ok":false,"error":{...}}) so
 * a client can read it like any other answer. Request bodies carry auth keys
 * and responses carry session tokens: every buffer of ours that held one is
 * wiped before it is freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/common.h"

#define API_PATH "/v1/api"
#define OP_NAME_MAX 40u
#define MAX_THREADS 256u
#define CONNECTION_TIMEOUT_S 30u /* idle; the absolute deadlines are the reaper's */
#define PEM_MAX_BYTES (1024u * 1024u)
#define BODY_INITIAL_MAX (1024u * 1024u) /* never trust Content-Length for more */
#define DISCARD_MAX (16u * 1024u * 1024u)
#define CHARGE_FACTOR 3u   /* body + parsed tree + decoded blob */
#define BODY_RATE_MIN (64u * 1024u) /* bytes per second a body deadline allows for */
#define REAPER_TICK_MS 200
#define RETRY_AFTER_S "1"
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* One TCP connection, from accept to close, known to the reaper. The fd is
 * only shut down (never closed) by the reaper, under the lock, and the entry
 * leaves the list before libmicrohttpd closes the fd. */
typedef struct conn_entry {
    struct conn_entry *prev, *next;
    int fd;
    int64_t deadline_ms; /* 0: none (the handler is running) */
} conn_entry;

struct vault_httpd {
    struct MHD_Daemon *daemon;
    vault_server *server;
    uint16_t port;
    vault_httpd_options opt;
    _Atomic int64_t stats[6]; /* by VAULT_HTTPD_STAT_* */
    pthread_mutex_t lock;     /* conns, stopping */
    pthread_cond_t wake;
    conn_entry *conns;
    int stopping;
    int reaper_started;
    pthread_t reaper;
};

/* Per-request state, owned by MHD's con_cls slot and freed (wiped) in
 * request_completed() whatever way the request ends. */
typedef struct {
    vault_httpd *h;
    uint8_t *body;
    size_t len;
    size_t cap;
    size_t limit;     /* the op's cap */
    uint64_t charged; /* bytes charged to the memory budget */
    char op[OP_NAME_MAX + 1]; /* "" when the URL names none */
    int too_large;  /* the body passed the cap: the rest is discarded */
    int no_memory;  /* growing the body failed: the rest is discarded */
    int busy;       /* over the memory budget: the rest is discarded */
    size_t discarded; /* bytes read and dropped after too_large / no_memory / busy */
} http_request;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(vault_httpd *h, int stat)
{
    atomic_fetch_add(&h->stats[stat], 1);
}

/* ------------------------------------------------------------ memory budget */

/* Charges the request up to total bytes; 0 and nothing charged if that
 * would pass the budget. */
static int charge(http_request *req, uint64_t total)
{
    vault_httpd *h = req->h;
    if (total <= req->charged)
        return 1;
    int64_t delta = (int64_t)(total - req->charged);
    int64_t now = atomic_fetch_add(&h->stats[VAULT_HTTPD_STAT_INFLIGHT_BYTES], delta) + delta;
    if ((uint64_t)now > h->opt.memory_budget) {
        atomic_fetch_sub(&h->stats[VAULT_HTTPD_STAT_INFLIGHT_BYTES], delta);
        return 0;
    }
    req->charged = total;
    int64_t peak = atomic_load(&h->stats[VAULT_HTTPD_STAT_INFLIGHT_PEAK]);
    while (now > peak &&
           !atomic_compare_exchange_weak(&h->stats[VAULT_HTTPD_STAT_INFLIGHT_PEAK], &peak, now))
        ;
    return 1;
}

static void uncharge(http_request *req)
{
    atomic_fetch_sub(&req->h->stats[VAULT_HTTPD_STAT_INFLIGHT_BYTES], (int64_t)req->charged);
    req->charged = 0;
}

/* ---------------------------------------------------------------- deadlines */

static conn_entry *entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

static void set_deadline(vault_httpd *h, struct MHD_Connection *conn, int64_t deadline_ms)
{
    conn_entry *e = entry_of(conn);
    if (e == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    e->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&h->lock);
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    vault_httpd *h = cls;
    conn_entry *e = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info == NULL || (e = vault__calloc(1, sizeof *e)) == NULL)
            return; /* no deadline for this one: the idle timeout still applies */
        e->fd = info->connect_fd;
        e->deadline_ms = now_ms() + h->opt.header_timeout_ms;
        pthread_mutex_lock(&h->lock);
        e->next = h->conns;
        if (h->conns != NULL)
            h->conns->prev = e;
        h->conns = e;
        pthread_mutex_unlock(&h->lock);
        *socket_context = e;
        return;
    }
    if (e == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        h->conns = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&h->lock);
    vault__free(e);
    *socket_context = NULL;
}

/* Shutting the socket down makes libmicrohttpd's next read fail, and it
 * closes the connection itself (through notify_connection). */
static void *reaper_main(void *arg)
{
    vault_httpd *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int64_t now = now_ms();
        for (conn_entry *e = h->conns; e != NULL; e = e->next) {
            if (e->deadline_ms != 0 && now > e->deadline_ms) {
                shutdown(e->fd, SHUT_RDWR);
                e->deadline_ms = 0;
                count(h, VAULT_HTTPD_STAT_DEADLINE_CLOSED);
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAPER_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---------------------------------------------------------------- responses */

static void add_common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

/* code and message are fixed strings of this file: no JSON escaping needed. */
static enum MHD_Result queue_error(struct MHD_Connection *conn, unsigned int status,
                                   const char *code, const char *message)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                     code, message);
    if (n < 0 || (size_t)n >= sizeof body)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    add_common_headers(r);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_POST);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_S);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void free_handler_response(void *response)
{
    vault_free(response); /* wipes: the answer may hold a session token */
}

/* Hands the handler's buffer to MHD without a copy; MHD frees it through
 * free_handler_response() once sent. */
static enum MHD_Result queue_handler_response(struct MHD_Connection *conn, char *response)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(
        strlen(response), response, free_handler_response);
    if (r == NULL) {
        vault_free(response);
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "out of memory");
    }
    add_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------- request body */

/* The body's allocation is cap + 1 bytes: room for a NUL after the JSON. */
static void drop_body(http_request *req)
{
    vault__wipe_free(req->body, req->cap + 1);
    req->body = NULL;
    req->len = req->cap = 0;
}

static void request_free(http_request *req)
{
    if (req == NULL)
        return;
    drop_body(req);
    uncharge(req);
    vault__free(req);
}

/* Grows by copying rather than realloc so that no unwiped copy of an auth
 * key is left behind in freed memory. need is at most req->limit. */
static int body_reserve(http_request *req, size_t need)
{
    if (need <= req->cap)
        return VAULT_OK;
    size_t cap = req->cap < 4096u ? 4096u : 2 * req->cap; /* amortised for a stream */
    if (cap > req->limit)
        cap = req->limit;
    if (cap < need)
        cap = need; /* a declared length: exactly that */
    if (!charge(req, (uint64_t)CHARGE_FACTOR * cap)) {
        req->busy = 1;
        return VAULT_E_LIMIT;
    }
    uint8_t *grown = vault__malloc(cap + 1);
    if (grown == NULL)
        return VAULT_E_NOMEM;
    if (req->len > 0)
        memcpy(grown, req->body, req->len);
    size_t len = req->len;
    drop_body(req);
    req->body = grown;
    req->len = len;
    req->cap = cap;
    return VAULT_OK;
}

/* libmicrohttpd (0.9.75) cannot queue an answer while it is handing us body
 * data, so a body that grows past the cap (chunked: no Content-Length to
 * refuse up front) or past the budget is read to its end without being
 * stored and answered then; past DISCARD_MAX more bytes the connection is
 * simply closed. */
static enum MHD_Result body_append(http_request *req, const char *data, size_t size)
{
    if (req->too_large || req->no_memory || req->busy) {
        if (size > DISCARD_MAX - req->discarded)
            return MHD_NO; /* a client that does not stop: close without an answer */
        req->discarded += size;
        return MHD_YES;
    }
    if (size > req->limit - req->len) {
        req->too_large = 1;
        count(req->h, VAULT_HTTPD_STAT_REFUSED_LARGE);
    } else if (body_reserve(req, req->len + size) != VAULT_OK) {
        req->no_memory = !req->busy;
    } else {
        memcpy(req->body + req->len, data, size);
        req->len += size;
        return MHD_YES;
    }
    drop_body(req);
    uncharge(req);
    return MHD_YES;
}

/* ------------------------------------------------------------ request start */

static int is_json_content_type(const char *value)
{
    static const char want[] = "application/json";
    if (value == NULL || strncasecmp(value, want, sizeof want - 1) != 0)
        return 0;
    char next = value[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* 0 if absent; SIZE_MAX if it cannot fit (MHD already refused malformed ones). */
static size_t declared_length(struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL)
        return 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || n > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)n;
}

/* The op the URL names: API_PATH alone gives "" (the small cap), API_PATH
 * "/" name gives name. 0 for any other path. */
static int op_from_url(const char *url, char op[OP_NAME_MAX + 1])
{
    size_t base = sizeof API_PATH - 1;
    op[0] = '\0';
    if (strncmp(url, API_PATH, base) != 0)
        return 0;
    if (url[base] == '\0')
        return 1;
    const char *name = url + base + 1;
    size_t n = strlen(name);
    if (url[base] != '/' || n == 0 || n > OP_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return 0;
    memcpy(op, name, n + 1);
    return 1;
}

/* A status the reaper, the budget and the cap decide before the body. */
static enum MHD_Result refuse_early(vault_httpd *h, struct MHD_Connection *conn, int stat)
{
    count(h, stat);
    if (stat == VAULT_HTTPD_STAT_REFUSED_LARGE)
        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "limit", "request body too large");
    return queue_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                       "the server is busy: retry later");
}

/* The first call for a request sees only its headers: refuse what is wrong
 * before a single body byte is read or a byte allocated for it. */
static enum MHD_Result begin_request(vault_httpd *h, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    char op[OP_NAME_MAX + 1];
    if (!op_from_url(url, op))
        return queue_error(conn, MHD_HTTP_NOT_FOUND, "invalid",
                           "no such endpoint: use POST " API_PATH "/<op>");
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return queue_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid",
                           "method not allowed: use POST " API_PATH "/<op>");
    if (!is_json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_TYPE)))
        return queue_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "invalid",
                           "Content-Type must be application/json");
    size_t limit = vault_server_request_limit(op[0] != '\0' ? op : NULL);
    size_t declared = declared_length(conn);
    if (declared > limit)
        return refuse_early(h, conn, VAULT_HTTPD_STAT_REFUSED_LARGE);

    http_request *req = vault__calloc(1, sizeof *req);
    if (req == NULL)
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "out of memory");
    req->h = h;
    req->limit = limit;
    memcpy(req->op, op, sizeof op);
    if (!charge(req, (uint64_t)CHARGE_FACTOR * declared)) {
        vault__free(req);
        return refuse_early(h, conn, VAULT_HTTPD_STAT_REFUSED_BUSY);
    }
    *con_cls = req;
    uint64_t body_ms = h->opt.body_timeout_ms + (uint64_t)limit * 1000u / BODY_RATE_MIN;
    set_deadline(h, conn, now_ms() + (int64_t)body_ms);
    if (declared > 0 &&
        body_reserve(req, declared < BODY_INITIAL_MAX ? declared : BODY_INITIAL_MAX) != VAULT_OK)
        req->no_memory = !req->busy;
    return MHD_YES;
}

/* The client address as the server's per-address limits group clients:
 * an IPv4 address (also when IPv4-mapped), or an IPv6 /64 — one host
 * usually holds a whole /64. */
static void peer_key(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;
    snprintf(out, size, "unknown");
    if (sa != NULL && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, a.s6_addr + 12, out, (socklen_t)size);
            return;
        }
        memset(a.s6_addr + 8, 0, 8);
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a, text, sizeof text) != NULL)
            snprintf(out, size, "%s/64", text);
    }
}

static enum MHD_Result finish_request(vault_httpd *h, struct MHD_Connection *conn,
                                      http_request *req)
{
    set_deadline(h, conn, 0); /* the body is in: the rest is our own time */
    if (req->too_large)
        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "limit",
                           "request body too large");
    if (req->busy)
        return refuse_early(h, conn, VAULT_HTTPD_STAT_REFUSED_BUSY);
    if (req->no_memory)
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "out of memory");
    static const char empty[] = "";
    const char *body = req->body != NULL ? (const char *)req->body : empty;
    if (req->body != NULL)
        req->body[req->len] = '\0';
    char peer[INET6_ADDRSTRLEN + 8];
    peer_key(conn, peer, sizeof peer);
    char *response = NULL;
    int rc = vault_server_handle_from(h->server, peer, req->op[0] != '\0' ? req->op : NULL,
                                      body, req->len, &response);
    drop_body(req); /* the auth key in it is not needed any more */
    if (rc != VAULT_OK || response == NULL) {
        vault_free(response);
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "the server could not produce an answer");
    }
    return queue_handler_response(conn, response);
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn,
                                      const char *url, const char *method,
                                      const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_request *req = *con_cls;
    if (req == NULL)
        return begin_request(cls, conn, url, method, con_cls);
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return body_append(req, upload_data, size);
    }
    return finish_request(cls, conn, req);
}

/* The connection may carry another request (keep-alive): its headers get a
 * fresh deadline from now. */
static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    vault_httpd *h = cls;
    (void)toe;
    request_free(*con_cls);
    *con_cls = NULL;
    set_deadline(h, conn, now_ms() + h->opt.header_timeout_ms);
}

/* ------------------------------------------------------------------- set-up */

static int parse_bind_addr(const char *bind_addr, uint16_t port,
                           struct sockaddr_storage *ss, int *is_v6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *is_v6 = 0;
        return VAULT_OK;
    }
    if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *is_v6 = 1;
        return VAULT_OK;
    }
    return vault__fail(VAULT_E_INVALID,
                       "bind address is not a numeric IPv4 or IPv6 address");
}

/* Reads a whole PEM file, NUL-terminated. The key goes to guarded memory. */
static int read_pem(const char *path, int secret, char **out)
{
    int rc = VAULT_OK;
    char *buf = NULL;
    size_t size = PEM_MAX_BYTES + 1, got = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        rc = vault__fail(VAULT_E_IO, "cannot open the TLS %s file",
                         secret ? "key" : "certificate");
        goto done;
    }
    buf = secret ? vault__secure_alloc(size) : vault__malloc(size);
    if (buf == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    got = fread(buf, 1, size - 1, f);
    if (ferror(f) || got == 0 || got == size - 1 || fgetc(f) != EOF) {
        rc = vault__fail(VAULT_E_IO, "cannot read the TLS %s file (empty, over %u bytes, "
                         "or unreadable)", secret ? "key" : "certificate", PEM_MAX_BYTES);
        goto done;
    }
    buf[got] = '\0';
    *out = buf;
    buf = NULL;
done:
    if (f != NULL)
        fclose(f);
    if (buf != NULL) {
        if (secret)
            vault__secure_free(buf);
        else
            vault__free(buf);
    }
    return rc;
}

void vault_httpd_options_init(vault_httpd_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->version = VAULT_HTTPD_OPTIONS_VERSION;
    o->threads = 4;
    o->max_connections = 1024;
    o->max_per_address = 64;
    o->header_timeout_ms = 10000;
    o->body_timeout_ms = 30000;
    o->memory_budget = 1024ull * 1024u * 1024u;
}

/* o with every 0 replaced by its default. */
static int resolve_options(const vault_httpd_options *o, vault_httpd_options *out)
{
    vault_httpd_options d;
    vault_httpd_options_init(&d);
    if (o == NULL) {
        *out = d;
        return VAULT_OK;
    }
    if (o->version != VAULT_HTTPD_OPTIONS_VERSION)
        return vault__fail(VAULT_E_INVALID, "vault_httpd_options: unknown version %u",
                           (unsigned)o->version);
    *out = *o;
#define DEFAULT(field) if (out->field == 0) out->field = d.field
    DEFAULT(threads);
    DEFAULT(max_connections);
    DEFAULT(max_per_address);
    DEFAULT(header_timeout_ms);
    DEFAULT(body_timeout_ms);
    DEFAULT(memory_budget);
#undef DEFAULT
    if (out->threads > MAX_THREADS)
        return vault__fail(VAULT_E_INVALID, "at most %u threads", MAX_THREADS);
    return VAULT_OK;
}

static int check_start_args(vault_httpd **out, vault_server *s, const char *bind_addr,
                            const char *cert_pem, const char *key_pem)
{
    if (out == NULL || s == NULL || bind_addr == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_httpd_start: NULL argument");
    if ((cert_pem == NULL) != (key_pem == NULL))
        return vault__fail(VAULT_E_INVALID, "TLS needs both a certificate and a key");
    if (cert_pem != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return vault__fail(VAULT_E_INVALID, "libmicrohttpd was built without TLS");
    return VAULT_OK;
}

static struct MHD_Daemon *start_daemon(vault_httpd *h, const struct sockaddr_storage *ss,
                                       int is_v6, const char *cert, const char *key)
{
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (is_v6)
        flags |= MHD_USE_IPv6; /* without DUAL_STACK: "::" listens on IPv6 only */
    if (cert != NULL)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h,
                            MHD_OPTION_SOCK_ADDR, ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)h->opt.threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)h->opt.max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned int)h->opt.max_per_address,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_COMPLETED, request_completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
                            MHD_OPTION_ARRAY, cert != NULL ? tls : tls + 3,
                            MHD_OPTION_END);
}

static void httpd_free(vault_httpd *h)
{
    if (h == NULL)
        return;
    if (h->reaper_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->reaper, NULL);
    }
    /* Joins the pool: a request inside vault_server_handle() finishes first,
     * and every open connection's state is freed through request_completed
     * and notify_connection. */
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    vault__free(h);
}

int vault_httpd_start_v2(vault_httpd **out, vault_server *s, const char *bind_addr,
                         uint16_t port, const char *cert_pem, const char *key_pem,
                         const vault_httpd_options *o)
{
    int rc = check_start_args(out, s, bind_addr, cert_pem, key_pem);
    if (rc != VAULT_OK)
        return rc;
    *out = NULL;
    vault_httpd *h = NULL;
    char *cert = NULL, *key = NULL;
    struct sockaddr_storage ss;
    int is_v6 = 0;
    vault_httpd_options opt;
    if ((rc = resolve_options(o, &opt)) != VAULT_OK ||
        (rc = parse_bind_addr(bind_addr, port, &ss, &is_v6)) != VAULT_OK)
        goto done;
    if (cert_pem != NULL && ((rc = read_pem(cert_pem, 0, &cert)) != VAULT_OK ||
                             (rc = read_pem(key_pem, 1, &key)) != VAULT_OK))
        goto done;
    if ((h = vault__calloc(1, sizeof *h)) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->server = s;
    h->opt = opt;
    h->daemon = start_daemon(h, &ss, is_v6, cert, key);
    if (h->daemon == NULL) {
        rc = vault__fail(VAULT_E_IO, "cannot start the HTTP daemon on %s port %u (address "
                         "in use, no permission, or a bad TLS certificate or key)",
                         bind_addr, (unsigned)port);
        goto done;
    }
    if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
        rc = vault__fail(VAULT_E_NOMEM, "cannot start the deadline thread");
        goto done;
    }
    h->reaper_started = 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : port;
    *out = h;
    h = NULL;
done:
    vault__secure_free(key); /* wipes: GnuTLS holds its own copy from here on */
    vault__free(cert);
    httpd_free(h);
    return rc;
}

int vault_httpd_start(vault_httpd **out, vault_server *s, const char *bind_addr,
                      uint16_t port, const char *cert_pem, const char *key_pem,
                      uint32_t threads)
{
    vault_httpd_options o;
    vault_httpd_options_init(&o);
    o.threads = threads;
    return vault_httpd_start_v2(out, s, bind_addr, port, cert_pem, key_pem, &o);
}

uint16_t vault_httpd_port(const vault_httpd *h)
{
    return h != NULL ? h->port : 0;
}

int64_t vault_httpd_stat(const vault_httpd *h, int stat)
{
    if (h == NULL || stat < VAULT_HTTPD_STAT_INFLIGHT_BYTES ||
        stat > VAULT_HTTPD_STAT_DEADLINE_CLOSED)
        return 0;
    return atomic_load(&((vault_httpd *)(uintptr_t)h)->stats[stat]);
}

void vault_httpd_stop(vault_httpd *h)
{
    httpd_free(h);
}

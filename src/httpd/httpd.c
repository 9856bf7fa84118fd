/*
 * The reference HTTP daemon: vault_server_handle() served as POST /v1/api on
 * libmicrohttpd, with an internal thread pool (docs/vaultd.md).
 *
 * The HTTP layer only moves bytes: every protocol decision is the handler's,
 * which answers 200 with {"ok":false,...} for requests it rejects. The daemon
 * itself answers non-200 only for what never reaches the handler:
 *
 *   404 wrong path, 405 wrong method, 415 wrong Content-Type,
 *   413 body over VAULT_SERVER_MAX_REQUEST, 500 the handler produced nothing.
 *
 * Each of those carries a protocol error body ({"ok":false,"error":{...}}) so
 * a client can read it like any other answer. Request bodies carry auth keys
 * and responses carry session tokens: every buffer of ours that held one is
 * wiped before it is freed.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/common.h"

#define API_PATH "/v1/api"
#define DEFAULT_THREADS 4u
#define MAX_THREADS 256u
#define CONNECTION_LIMIT 1024u
#define CONNECTION_TIMEOUT_S 30u
#define PEM_MAX_BYTES (1024u * 1024u)
#define BODY_INITIAL_MAX (1024u * 1024u) /* never trust Content-Length for more */
#define DISCARD_MAX (16u * 1024u * 1024u)
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct vault_httpd {
    struct MHD_Daemon *daemon;
    vault_server *server;
    uint16_t port;
};

/* Per-request state, owned by MHD's con_cls slot and freed (wiped) in
 * request_completed() whatever way the request ends. */
typedef struct {
    uint8_t *body;
    size_t len;
    size_t cap;
    int too_large;  /* the body passed the cap: the rest is discarded */
    int no_memory;  /* growing the body failed: the rest is discarded */
    size_t discarded; /* bytes read and dropped after too_large / no_memory */
} http_request;

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
    vault__free(req);
}

/* Grows by copying rather than realloc so that no unwiped copy of an auth
 * key is left behind in freed memory. */
static int body_reserve(http_request *req, size_t need)
{
    if (need <= req->cap)
        return VAULT_OK;
    size_t cap = req->cap < 4096u ? 4096u : req->cap;
    while (cap < need)
        cap = cap > VAULT_SERVER_MAX_REQUEST / 2 ? VAULT_SERVER_MAX_REQUEST : 2 * cap;
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
 * refuse up front) is read to its end without being stored and answered 413
 * then; past DISCARD_MAX more bytes the connection is simply closed. */
static enum MHD_Result body_append(http_request *req, const char *data, size_t size)
{
    if (req->too_large || req->no_memory) {
        if (size > DISCARD_MAX - req->discarded)
            return MHD_NO; /* a client that does not stop: close without an answer */
        req->discarded += size;
        return MHD_YES;
    }
    if (size > VAULT_SERVER_MAX_REQUEST - req->len) {
        req->too_large = 1;
        drop_body(req);
        return MHD_YES;
    }
    if (body_reserve(req, req->len + size) != VAULT_OK) {
        req->no_memory = 1;
        drop_body(req);
        return MHD_YES;
    }
    memcpy(req->body + req->len, data, size);
    req->len += size;
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

/* The first call for a request sees only its headers: refuse what is wrong
 * before a single body byte is read. */
static enum MHD_Result begin_request(struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls)
{
    if (strcmp(url, API_PATH) != 0)
        return queue_error(conn, MHD_HTTP_NOT_FOUND, "invalid",
                           "no such endpoint: use POST " API_PATH);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return queue_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid",
                           "method not allowed: use POST " API_PATH);
    if (!is_json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_TYPE)))
        return queue_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "invalid",
                           "Content-Type must be application/json");
    size_t declared = declared_length(conn);
    if (declared > VAULT_SERVER_MAX_REQUEST)
        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "limit",
                           "request body too large");

    http_request *req = vault__calloc(1, sizeof *req);
    if (req == NULL)
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "out of memory");
    *con_cls = req;
    if (declared > 0 &&
        body_reserve(req, declared < BODY_INITIAL_MAX ? declared : BODY_INITIAL_MAX) != VAULT_OK)
        req->no_memory = 1;
    return MHD_YES;
}

static enum MHD_Result finish_request(vault_httpd *h, struct MHD_Connection *conn,
                                      http_request *req)
{
    if (req->too_large)
        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "limit",
                           "request body too large");
    if (req->no_memory)
        return queue_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "out of memory");
    static const char empty[] = "";
    const char *body = req->body != NULL ? (const char *)req->body : empty;
    if (req->body != NULL)
        req->body[req->len] = '\0';
    char *response = NULL;
    int rc = vault_server_handle(h->server, body, req->len, &response);
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
        return begin_request(conn, url, method, con_cls);
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return body_append(req, upload_data, size);
    }
    return finish_request(cls, conn, req);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_free(*con_cls);
    *con_cls = NULL;
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

static int check_start_args(vault_httpd **out, vault_server *s, const char *bind_addr,
                            const char *cert_pem, const char *key_pem, uint32_t threads)
{
    if (out == NULL || s == NULL || bind_addr == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_httpd_start: NULL argument");
    if ((cert_pem == NULL) != (key_pem == NULL))
        return vault__fail(VAULT_E_INVALID, "TLS needs both a certificate and a key");
    if (threads > MAX_THREADS)
        return vault__fail(VAULT_E_INVALID, "at most %u threads", MAX_THREADS);
    if (cert_pem != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return vault__fail(VAULT_E_INVALID, "libmicrohttpd was built without TLS");
    return VAULT_OK;
}

static struct MHD_Daemon *start_daemon(vault_httpd *h, const struct sockaddr_storage *ss,
                                       int is_v6, uint32_t threads, const char *cert,
                                       const char *key)
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
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
                            MHD_OPTION_ARRAY, cert != NULL ? tls : tls + 3,
                            MHD_OPTION_END);
}

int vault_httpd_start(vault_httpd **out, vault_server *s, const char *bind_addr,
                      uint16_t port, const char *cert_pem, const char *key_pem,
                      uint32_t threads)
{
    int rc = check_start_args(out, s, bind_addr, cert_pem, key_pem, threads);
    if (rc != VAULT_OK)
        return rc;
    *out = NULL;
    vault_httpd *h = NULL;
    char *cert = NULL, *key = NULL;
    struct sockaddr_storage ss;
    int is_v6 = 0;
    if ((rc = parse_bind_addr(bind_addr, port, &ss, &is_v6)) != VAULT_OK)
        goto done;
    if (cert_pem != NULL && ((rc = read_pem(cert_pem, 0, &cert)) != VAULT_OK ||
                             (rc = read_pem(key_pem, 1, &key)) != VAULT_OK))
        goto done;
    if ((h = vault__calloc(1, sizeof *h)) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    h->server = s;
    h->daemon = start_daemon(h, &ss, is_v6, threads == 0 ? DEFAULT_THREADS : threads,
                             cert, key);
    if (h->daemon == NULL) {
        rc = vault__fail(VAULT_E_IO, "cannot start the HTTP daemon on %s port %u (address "
                         "in use, no permission, or a bad TLS certificate or key)",
                         bind_addr, (unsigned)port);
        goto done;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : port;
    *out = h;
    h = NULL;
done:
    vault__secure_free(key); /* wipes: GnuTLS holds its own copy from here on */
    vault__free(cert);
    vault__free(h);
    return rc;
}

uint16_t vault_httpd_port(const vault_httpd *h)
{
    return h != NULL ? h->port : 0;
}

void vault_httpd_stop(vault_httpd *h)
{
    if (h == NULL)
        return;
    /* Joins the pool: a request inside vault_server_handle() finishes first,
     * and every open connection's state is freed through request_completed. */
    MHD_stop_daemon(h->daemon);
    vault__free(h);
}

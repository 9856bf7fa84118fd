/*
 * The HTTP(S) client transport on libcurl (docs/vaultd.md, "Client transport").
 *
 * One easy handle per transport object, reused between calls so that the
 * connection (and its TLS session) stays open. The URL is checked once, at
 * creation, with libcurl's own parser: plain http:// is refused unless the
 * host is loopback or the caller explicitly allowed it, because requests
 * carry auth keys and answers carry session tokens.
 *
 * HTTP status handling: 200 is the protocol's answer (which may itself be
 * {"ok":false,...}). vaultd answers 400, 413 and 415 with a protocol error body
 * for requests it refused before the handler saw them (the body is malformed,
 * too large, or not JSON); such a body is returned like any answer, so the
 * client reports e.g. VAULT_E_LIMIT rather than a bare network failure. 503
 * (over the server's memory budget) is VAULT_E_NETWORK "busy". Every
 * other status (404/405: wrong URL; 5xx; a proxy's error page) is
 * VAULT_E_NETWORK with the status in the message.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/common.h"
#include "transport/transport.h"

#define API_PATH "/v1/api"
#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 120000L
#define RESPONSE_INITIAL 4096u

struct vault_transport__http {
    CURL *easy;
    struct curl_slist *headers;
    char *url; /* <base_url>/v1/api */
    char errbuf[CURL_ERROR_SIZE];
};

/* The answer being received; grown by copying into fresh output buffers so
 * that no unwiped copy of a session token is left in freed memory. */
typedef struct {
    char *buf; /* vault__out_alloc'ed, cap bytes */
    size_t len;
    size_t cap;
    int too_large;
} response_buffer;

/* ------------------------------------------------------------ global set-up */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_FAILED_INIT;

static void init_curl(void)
{
    curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int ensure_curl(void)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_status != CURLE_OK)
        return vault__fail(VAULT_E_INTERNAL, "libcurl failed to initialise");
    return VAULT_OK;
}

/* --------------------------------------------------------------- URL checks */

/* host as libcurl's parser returns it: IPv6 literals keep their brackets and
 * IPv4 literals are normalised ("127.1" → "127.0.0.1"). Anything that is not
 * plainly loopback is treated as remote: the check fails closed. */
static int is_loopback_host(const char *host)
{
    size_t n = strlen(host);
    if (strcasecmp(host, "localhost") == 0)
        return 1; /* libcurl resolves it to loopback itself, never through DNS */
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127u;
    if (n < 3 || n > INET6_ADDRSTRLEN + 1 || host[0] != '[' || host[n - 1] != ']')
        return 0;
    char inner[INET6_ADDRSTRLEN + 2];
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    struct in6_addr v6;
    if (inet_pton(AF_INET6, inner, &v6) != 1)
        return 0;
    if (IN6_IS_ADDR_LOOPBACK(&v6))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127u;
}

static int url_has_part(CURLU *u, CURLUPart part)
{
    char *value = NULL;
    CURLUcode uc = curl_url_get(u, part, &value, 0);
    int has = uc == CURLUE_OK && value != NULL && value[0] != '\0';
    curl_free(value);
    return has;
}

/* Checks scheme, host and the parts that cannot be there, then sets the path
 * to <prefix>/v1/api. */
static int check_and_rewrite(CURLU *u, uint32_t flags, int *loopback)
{
    int rc = VAULT_OK;
    char *scheme = NULL, *host = NULL, *path = NULL, *api_path = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        rc = vault__fail(VAULT_E_INVALID, "server URL needs a scheme and a host");
        goto done;
    }
    int https = strcasecmp(scheme, "https") == 0;
    if (!https && strcasecmp(scheme, "http") != 0) {
        rc = vault__fail(VAULT_E_INVALID, "server URL must be https:// (or http:// to loopback)");
        goto done;
    }
    if (url_has_part(u, CURLUPART_QUERY) || url_has_part(u, CURLUPART_FRAGMENT) ||
        url_has_part(u, CURLUPART_USER) || url_has_part(u, CURLUPART_PASSWORD)) {
        rc = vault__fail(VAULT_E_INVALID,
                         "server URL must not carry a query, a fragment or credentials");
        goto done;
    }
    *loopback = is_loopback_host(host);
    if (!https && !*loopback && !(flags & VAULT_HTTP_ALLOW_INSECURE)) {
        rc = vault__fail(VAULT_E_INSECURE, "plain http:// is only allowed to a loopback "
                         "host; use https:// (or VAULT_HTTP_ALLOW_INSECURE)");
        goto done;
    }
    size_t keep = strlen(path);
    while (keep > 0 && path[keep - 1] == '/')
        keep--;
    if ((api_path = vault__malloc(keep + sizeof API_PATH)) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(api_path, path, keep);
    memcpy(api_path + keep, API_PATH, sizeof API_PATH);
    if (curl_url_set(u, CURLUPART_PATH, api_path, 0) != CURLUE_OK)
        rc = vault__fail(VAULT_E_INVALID, "server URL path is not valid");
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    vault__free(api_path);
    return rc;
}

int vault_transport__check_url(const char *base_url, uint32_t flags, char **api_url,
                               int *loopback)
{
    if (api_url == NULL || loopback == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    *api_url = NULL;
    if (base_url == NULL)
        return vault__fail(VAULT_E_INVALID, "server URL is NULL");
    if (flags & ~(VAULT_HTTP_ALLOW_INSECURE | VAULT_HTTP_INSECURE_TLS))
        return vault__fail(VAULT_E_INVALID, "unknown HTTP transport flags");
    int rc = ensure_curl();
    if (rc != VAULT_OK)
        return rc;
    char *full = NULL;
    CURLU *u = curl_url();
    if (u == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK) {
        rc = vault__fail(VAULT_E_INVALID, "server URL is not a valid absolute URL");
        goto done;
    }
    if ((rc = check_and_rewrite(u, flags, loopback)) != VAULT_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
        (*api_url = vault__strdup(full)) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
done:
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

/* ------------------------------------------------------------ the transport */

static size_t on_response_data(char *data, size_t size, size_t nmemb, void *ctx)
{
    response_buffer *rb = ctx;
    size_t n = size * nmemb;
    if (n > VAULT_TRANSPORT__MAX_RESPONSE - rb->len) {
        rb->too_large = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (rb->len + n > rb->cap) {
        size_t cap = rb->cap < RESPONSE_INITIAL ? RESPONSE_INITIAL : rb->cap;
        while (cap < rb->len + n)
            cap = cap > VAULT_TRANSPORT__MAX_RESPONSE / 2 ? VAULT_TRANSPORT__MAX_RESPONSE
                                                          : 2 * cap;
        char *grown = vault__out_alloc(cap);
        if (grown == NULL)
            return 0;
        if (rb->len > 0)
            memcpy(grown, rb->buf, rb->len);
        vault_free(rb->buf); /* wipes */
        rb->buf = grown;
        rb->cap = cap;
    }
    memcpy(rb->buf + rb->len, data, n);
    rb->len += n;
    return n;
}

/* The CA bundle to trust: the caller's file, else $ZKVAULT_CA_FILE, else the
 * variables other TLS tools read ($SSL_CERT_FILE, $CURL_CA_BUNDLE; libcurl
 * itself ignores them), else NULL for libcurl's system store. An empty
 * variable counts as unset. */
static const char *ca_bundle(const char *ca_file)
{
    static const char *const vars[] = {"ZKVAULT_CA_FILE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"};
    if (ca_file != NULL)
        return ca_file;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0')
            return v;
    }
    return NULL;
}

/* A CA file that cannot be read is the caller's mistake: say so now rather
 * than as a TLS failure at the first request. */
static int use_ca_file(CURL *e, const char *ca)
{
    FILE *f = fopen(ca, "r");
    if (f == NULL)
        return vault__fail(VAULT_E_IO, "cannot read the CA file %.200s", ca);
    fclose(f);
    if (curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK)
        return vault__fail(VAULT_E_INTERNAL, "libcurl refused the CA file");
    return VAULT_OK;
}

static int set_options(vault_transport__http *t, uint32_t flags, int loopback)
{
    CURL *e = t->easy;
    int insecure_tls = (flags & VAULT_HTTP_INSECURE_TLS) != 0;
    CURLcode c = CURLE_OK;
#define SET(opt, val) \
    if (c == CURLE_OK) \
        c = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, t->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could leave https or the host */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VAULT_TRANSPORT__MAX_RESPONSE);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, insecure_tls ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, insecure_tls ? 0L : 2L);
    SET(CURLOPT_USERAGENT, "zkvault/" VAULT_VERSION_STRING);
    SET(CURLOPT_HTTPHEADER, t->headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_response_data);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    /* Loopback never needs a proxy, and cleartext must not be handed to one. */
    if (loopback || strncasecmp(t->url, "http:", 5) == 0)
        SET(CURLOPT_NOPROXY, "*");
#undef SET
    if (c != CURLE_OK)
        return vault__fail(VAULT_E_INTERNAL, "libcurl refused an option: %s",
                           curl_easy_strerror(c));
    return VAULT_OK;
}

int vault_transport__http_new(vault_transport__http **out, const char *base_url, uint32_t flags)
{
    return vault_transport__http_new_ca(out, base_url, flags, NULL);
}

int vault_transport__http_new_ca(vault_transport__http **out, const char *base_url,
                                 uint32_t flags, const char *ca_file)
{
    if (out == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    *out = NULL;
    int loopback = 0;
    vault_transport__http *t = vault__calloc(1, sizeof *t);
    if (t == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory");
    int rc = vault_transport__check_url(base_url, flags, &t->url, &loopback);
    if (rc != VAULT_OK)
        goto done;
    struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h1 != NULL ? curl_slist_append(h1, "Accept: application/json")
                                       : NULL;
    t->headers = h2 != NULL ? h2 : h1;
    if (h2 == NULL || (t->easy = curl_easy_init()) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = set_options(t, flags, loopback)) != VAULT_OK)
        goto done;
    const char *ca = ca_bundle(ca_file);
    if (ca != NULL && (rc = use_ca_file(t->easy, ca)) != VAULT_OK)
        goto done;
    *out = t;
    t = NULL;
done:
    vault_transport__http_free(t);
    return rc;
}

void vault_transport__http_free(vault_transport__http *t)
{
    if (t == NULL)
        return;
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    vault__free(t->url);
    vault__free(t);
}

/* Whether body is {"ok":false,"error":{"code":"...",...}}: vaultd's answer to
 * a request it refused before the handler. */
static int is_protocol_error(const char *body, size_t len)
{
    struct cJSON *json = NULL;
    if (vault__json_parse(body, len, &json) != VAULT_OK)
        return 0;
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(json, "ok");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(json, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    int yes = cJSON_IsFalse(ok) && cJSON_IsObject(err) && cJSON_IsString(code);
    cJSON_Delete(json);
    return yes;
}

/* The op goes into the URL (POST /v1/api/<op>) so that the server knows
 * the body's cap before reading it (docs/protocol.md). The client writes "op"
 * as the request's first member; a request that does not start so (a custom
 * caller's) is posted to /v1/api and gets the small cap. */
static void op_url(const vault_transport__http *t, const char *request, size_t len,
                   char *out, size_t size)
{
    static const char prefix[] = "{\"op\":\"";
    size_t n = 0, p = sizeof prefix - 1;
    if (len > p && memcmp(request, prefix, p) == 0)
        while (p + n < len && n <= 40 && request[p + n] != '"' &&
               strchr("abcdefghijklmnopqrstuvwxyz0123456789_", request[p + n]) != NULL)
            n++;
    if (n == 0 || n > 40 || p + n >= len || request[p + n] != '"')
        n = 0;
    snprintf(out, size, "%s%s%.*s", t->url, n > 0 ? "/" : "", (int)n, request + p);
}

static int perform(vault_transport__http *t, const char *request, size_t request_len,
                   response_buffer *rb)
{
    CURL *e = t->easy;
    t->errbuf[0] = '\0';
    char *url = vault__malloc(strlen(t->url) + 48);
    if (url == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory");
    op_url(t, request, request_len, url, strlen(t->url) + 48);
    curl_easy_setopt(e, CURLOPT_URL, url); /* libcurl copies it */
    vault__free(url);
    /* libcurl reads the caller's buffer in place; it is not copied here. */
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request_len);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, rb);
    CURLcode c = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    if (rb->too_large || c == CURLE_FILESIZE_EXCEEDED)
        return vault__fail(VAULT_E_LIMIT, "server answer over %u bytes",
                           VAULT_TRANSPORT__MAX_RESPONSE);
    if (c == CURLE_WRITE_ERROR)
        return vault__fail(VAULT_E_NOMEM, "out of memory receiving the answer");
    if (c != CURLE_OK)
        return vault__fail(VAULT_E_NETWORK, "HTTP request failed: %s",
                           t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(c));
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        return VAULT_OK;
    if (status == 503)
        return vault__fail(VAULT_E_NETWORK, "the server is busy (HTTP 503): retry later");
    if ((status == 400 || status == 413 || status == 415) && rb->buf != NULL &&
        is_protocol_error(rb->buf, rb->len))
        return VAULT_OK;
    return vault__fail(VAULT_E_NETWORK, "server answered HTTP status %ld", status);
}

int vault_transport__http_call(const char *request, size_t request_len, char **response,
                               size_t *response_len, void *ctx)
{
    vault_transport__http *t = ctx;
    if (response == NULL || response_len == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    *response = NULL;
    *response_len = 0;
    if (t == NULL || request == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    if (request_len > VAULT_SERVER_MAX_REQUEST)
        return vault__fail(VAULT_E_LIMIT, "request over %u bytes", VAULT_SERVER_MAX_REQUEST);
    response_buffer rb = {NULL, 0, 0, 0};
    int rc = perform(t, request, request_len, &rb);
    if (rc == VAULT_OK && rb.buf == NULL && (rb.buf = vault__out_alloc(0)) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory");
    if (rc != VAULT_OK) {
        vault_free(rb.buf);
        return rc;
    }
    *response = vault__out_shrink(rb.buf, rb.len);
    *response_len = rb.len;
    return VAULT_OK;
}

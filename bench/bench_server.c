/*
 * bench_server: requests per second and p50/p99 latency of login_start, login
 * (login_start + login_finish: the OPAQUE exchange; the client side with the
 * identity KSF, as Argon2id runs on clients),
 * pull and push through vault_httpd on loopback, at 1, 8 and 64 concurrent
 * clients (threads, one libcurl easy handle each, keep-alive), each for a
 * bounded time, next to an empty libmicrohttpd handler started in the same
 * process with the same threading as the ceiling.
 *
 * Logins use auth keys made up front: Argon2id runs on the client, and the
 * server side of a login only hashes the key it receives, which is what is
 * measured here. Each client thread has its own account, so pushes never
 * conflict; a push carries the same sealed blob with its clear revision field
 * rewritten to base+1 (the server checks only the clear header; it cannot
 * read the rest), so the client side costs no compression per request.
 *
 * Loopback only (127.0.0.1), every loop bounded by --seconds.
 *
 * Usage: bench_server [--seconds S] [--clients 1,8,64] [--threads N]
 *                     [--items N] [--ops login-start,login,pull,push,empty]
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>

#include "bench.h"
#include "items.h"
#include "opaque/opaque.h"
#include "vault.h"

#define MAX_CLIENTS 256
#define MAX_LEVELS 8
#define PEPPER "zkvault-bench-pepper-0123456789abcdef"

typedef enum op_kind {
    OP_EMPTY, OP_EMPTY_LARGE, OP_LOGIN_START, OP_LOGIN, OP_PULL, OP_PUSH, OP_COUNT
} op_kind;
static const char *const op_names[OP_COUNT] = {"empty", "empty-large", "login-start", "login",
                                               "pull", "push"};

typedef struct account {
    char email[64];
    char ke1[2 * VAULT_OPAQUE_KE1_BYTES + 1]; /* a fixed KE1 for login-start */
    char device_id[33];
    char session[65];
    uint64_t revision;
    uint8_t *blob;  /* the shared sealed blob with this account's id */
    char *blob_b64; /* its base64; the revision is rewritten per push */
    size_t blob_b64_len;
} account;

typedef struct bench {
    double seconds;
    unsigned threads;
    size_t items;
    size_t clients[MAX_LEVELS];
    size_t nclients;
    int ops[OP_COUNT];
    uint16_t vault_port, empty_port;
    vault_server *server;
    account accounts[MAX_CLIENTS];
    char *blob_b64;   /* the sealed blob, base64 */
    size_t blob_b64_len;
    size_t rev_b64_off; /* where the 3-byte groups holding the revision start */
    size_t rev_byte_off; /* the revision's offset in the binary blob */
    uint8_t *blob;
    size_t blob_len;
    char *large_body; /* the empty handler's pull-sized answer */
    size_t large_len;
    char dir[64];
} bench;

/* ---- growable buffer -------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static size_t curl_sink(char *data, size_t size, size_t nmemb, void *ctx)
{
    buf *b = ctx;
    size_t n = size * nmemb;
    if (buf_reserve(b, n) != 0)
        return 0;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

static void fail(const char *what) __attribute__((noreturn));
static void fail(const char *what)
{
    fprintf(stderr, "bench_server: %s (%s)\n", what, vault_last_error());
    exit(1);
}

/* ---- the empty handler: the ceiling ----------------------------------------- */

typedef struct empty_req {
    size_t received;
} empty_req;

static enum MHD_Result empty_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload, size_t *upload_size, void **con_cls)
{
    (void)method;
    (void)version;
    const bench *b = cls;
    if (*con_cls == NULL) {
        empty_req *r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    empty_req *r = *con_cls;
    if (*upload_size != 0) {
        (void)upload;
        r->received += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    static const char small[] = "{\"ok\":true}";
    int large = strcmp(url, "/large") == 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        large ? b->large_len : sizeof small - 1,
        large ? (void *)b->large_body : (void *)(uintptr_t)small, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void empty_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

/* The same daemon flags and thread pool as src/httpd (vault_httpd_start). */
static struct MHD_Daemon *start_empty(bench *b)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, empty_handler, b,
        MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, b->threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_NOTIFY_COMPLETED, empty_completed, NULL, MHD_OPTION_END);
    if (d == NULL)
        fail("cannot start the empty libmicrohttpd daemon");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL)
        fail("cannot read the empty daemon's port");
    b->empty_port = info->port;
    return d;
}

/* ---- set-up: accounts and the blob ------------------------------------------ */

static void hex_random(char *out, size_t bytes)
{
    uint8_t raw[128];
    randombytes_buf(raw, bytes);
    sodium_bin2hex(out, 2 * bytes + 1, raw, bytes);
}

/* noinline: gcc 12 takes the address of resp passed to the library for a
 * pointer into this frame (-Wdangling-pointer false positive). */
__attribute__((noinline)) static char *handle(bench *b, const char *req)
{
    char *resp = NULL;
    if (vault_server_handle(b->server, req, strlen(req), &resp) != VAULT_OK)
        fail("vault_server_handle");
    if (strstr(resp, "\"ok\":true") == NULL) {
        fprintf(stderr, "bench_server: request refused: %s\n", resp);
        exit(1);
    }
    return resp;
}

/* Seals a vault of b->items generated items for revision 1. */
static void make_blob(bench *b, const char *account_id)
{
    vault *v = NULL;
    char json[4096];
    if (vault_new(&v) != VAULT_OK)
        fail("vault_new");
    for (size_t i = 0; i < b->items; i++) {
        bench_item it;
        bench_make_item(&it, i, 0);
        if (bench_item_json(json, sizeof json, &it) == 0 ||
            vault_item_add(v, json, NULL) != VAULT_OK)
            fail("vault_item_add");
    }
    uint8_t key[VAULT_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    if (vault_seal(v, key, account_id, 1, &b->blob, &b->blob_len) != VAULT_OK)
        fail("vault_seal");
    vault_close(v);
}

static void store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Finds the clear revision field of the blob: the offset where writing a
 * big-endian 2 makes vault_blob_peek() read revision 2. */
static void find_revision_offset(bench *b)
{
    for (size_t off = 0; off + 8 <= 128 && off + 8 <= b->blob_len; off++) {
        uint8_t saved[8];
        memcpy(saved, b->blob + off, 8);
        store_be64(b->blob + off, 2);
        char *acct = NULL;
        uint64_t rev = 0;
        int ok = vault_blob_peek(b->blob, b->blob_len, &acct, &rev) == VAULT_OK && rev == 2;
        vault_free(acct);
        memcpy(b->blob + off, saved, 8);
        if (ok) {
            b->rev_byte_off = off;
            b->rev_b64_off = off / 3 * 4;
            return;
        }
    }
    fail("cannot find the blob's clear revision field");
}

static char *b64(const uint8_t *bin, size_t len, size_t *out_len)
{
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    if (s == NULL)
        fail("malloc");
    sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
    *out_len = strlen(s);
    return s;
}

/* Rewrites the revision inside a copy of the base64 blob: only the 3-byte
 * groups that hold the 8 revision bytes are re-encoded. */
static void patch_revision(const bench *b, account *a, uint64_t revision)
{
    size_t g0 = b->rev_byte_off / 3 * 3, g1 = (b->rev_byte_off + 8 + 2) / 3 * 3;
    if (g1 > b->blob_len)
        g1 = b->blob_len;
    uint8_t bytes[16];
    memcpy(bytes, a->blob + g0, g1 - g0);
    store_be64(bytes + (b->rev_byte_off - g0), revision);
    char enc[32];
    sodium_bin2base64(enc, sizeof enc, bytes, g1 - g0, sodium_base64_VARIANT_ORIGINAL);
    memcpy(a->blob_b64 + b->rev_b64_off, enc, strlen(enc));
}

/* Copies the 64-hex-character "session" member of a response. */
static int copy_session(char out[65], const char *resp)
{
    static const char key[] = "\"session\":\"";
    const char *p = strstr(resp, key);
    if (p == NULL || strlen(p) < sizeof key - 1 + 64)
        return 0;
    memcpy(out, p + sizeof key - 1, 64);
    out[64] = '\0';
    return 1;
}

/* Finds where the blob's clear header holds the account id (its 16 bytes). */
static size_t find_account_offset(const bench *b, const char *account_id)
{
    uint8_t id[16];
    if (sodium_hex2bin(id, sizeof id, account_id, 32, NULL, NULL, NULL) != 0)
        fail("bad account id");
    for (size_t off = 0; off + 16 <= b->rev_byte_off; off++)
        if (memcmp(b->blob + off, id, 16) == 0)
            return off;
    fail("cannot find the blob's clear account id");
    return 0;
}

/* ---- OPAQUE for the bench's clients (identity KSF: Argon2id is client work) ---- */

#define BENCH_PASSWORD "bench password"

static void opaque_cfg(vault_opaque_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg->context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
}

/* The hex member name of a JSON answer into out (at most cap bytes). */
static int member_hex(const char *resp, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = resp != NULL ? strstr(resp, key) : NULL;
    if (p == NULL)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static void opaque_register(bench *b, const char *email, char record_hex[])
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    uint8_t request[32], response[64], record[VAULT_OPAQUE_RECORD_BYTES], export_key[64];
    char req[256], hex[2 * 64 + 1];
    opaque_cfg(&cfg);
    if (vault__opaque_reg_start(&st, request, (const uint8_t *)BENCH_PASSWORD,
                                strlen(BENCH_PASSWORD), NULL) != VAULT_OK)
        fail("OPAQUE registration");
    sodium_bin2hex(hex, sizeof hex, request, sizeof request);
    snprintf(req, sizeof req,
             "{\"v\":2,\"op\":\"register_start\",\"email\":\"%s\",\"request\":\"%s\"}", email,
             hex);
    char *resp = handle(b, req);
    if (member_hex(resp, "response", hex, sizeof hex) != 0 ||
        sodium_hex2bin(response, sizeof response, hex, strlen(hex), NULL, NULL, NULL) != 0 ||
        vault__opaque_reg_finish(record, export_key, &st, (const uint8_t *)BENCH_PASSWORD,
                                 strlen(BENCH_PASSWORD), response, &cfg, NULL) != VAULT_OK)
        fail("OPAQUE registration");
    vault_free(resp);
    sodium_bin2hex(record_hex, 2 * sizeof record + 1, record, sizeof record);
}

static void fixed_ke1(char hex[2 * VAULT_OPAQUE_KE1_BYTES + 1])
{
    vault_opaque_client st;
    uint8_t ke1[VAULT_OPAQUE_KE1_BYTES];
    if (vault__opaque_ke1(&st, ke1, (const uint8_t *)BENCH_PASSWORD, strlen(BENCH_PASSWORD), NULL,
                          NULL, NULL) != VAULT_OK)
        fail("OPAQUE KE1");
    sodium_bin2hex(hex, 2 * sizeof ke1 + 1, ke1, sizeof ke1);
}

/* The client's half of a login: KE1 now (the login_start request), then
 * from login_start's answer the login_finish request. */
static void login_start_request(vault_opaque_client *st, const account *a, buf *req)
{
    uint8_t ke1[VAULT_OPAQUE_KE1_BYTES];
    char hex[2 * sizeof ke1 + 1];
    if (vault__opaque_ke1(st, ke1, (const uint8_t *)BENCH_PASSWORD, strlen(BENCH_PASSWORD), NULL,
                          NULL, NULL) != VAULT_OK)
        fail("OPAQUE KE1");
    sodium_bin2hex(hex, sizeof hex, ke1, sizeof ke1);
    buf_reserve(req, 512);
    req->len = (size_t)snprintf(req->p, req->cap,
                                "{\"v\":2,\"op\":\"login_start\",\"email\":\"%s\",\"ke1\":\"%s\"}",
                                a->email, hex);
}

static int login_finish_request(vault_opaque_client *st, const account *a, const char *resp,
                                buf *req)
{
    vault_opaque_cfg cfg;
    uint8_t ke2[VAULT_OPAQUE_KE2_BYTES], ke3[VAULT_OPAQUE_KE3_BYTES], sk[64], ek[64];
    char hex[2 * VAULT_OPAQUE_KE2_BYTES + 1], state[1024], ke3_hex[2 * sizeof ke3 + 1];
    opaque_cfg(&cfg);
    if (member_hex(resp, "ke2", hex, sizeof hex) != 0 ||
        member_hex(resp, "login_state", state, sizeof state) != 0 ||
        sodium_hex2bin(ke2, sizeof ke2, hex, strlen(hex), NULL, NULL, NULL) != 0 ||
        vault__opaque_ke3(ke3, sk, ek, st, (const uint8_t *)BENCH_PASSWORD,
                          strlen(BENCH_PASSWORD), ke2, &cfg) != VAULT_OK)
        return -1;
    sodium_bin2hex(ke3_hex, sizeof ke3_hex, ke3, sizeof ke3);
    buf_reserve(req, 1024);
    req->len = (size_t)snprintf(req->p, req->cap,
                                "{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"%s\","
                                "\"ke3\":\"%s\",\"device_id\":\"%s\",\"device_name\":\"bench\"}",
                                state, ke3_hex, a->device_id);
    return 0;
}

/* Registers count accounts (in-process, untimed). Each gets the same sealed
 * blob with its own account id written into the clear header. */
static void register_accounts(bench *b, size_t count, const char *first_id)
{
    size_t id_off = find_account_offset(b, first_id);
    size_t req_cap = b->blob_b64_len + 2048;
    char *req = malloc(req_cap);
    if (req == NULL)
        fail("malloc");
    for (size_t i = 0; i < count; i++) {
        account *a = &b->accounts[i];
        char account_id[33], record[2 * VAULT_OPAQUE_RECORD_BYTES + 1];
        char pk[2 * VAULT_PROTECTED_KEY_BYTES + 1];
        snprintf(a->email, sizeof a->email, "bench%zu@example.org", i);
        opaque_register(b, a->email, record);
        fixed_ke1(a->ke1);
        hex_random(a->device_id, 16);
        hex_random(pk, VAULT_PROTECTED_KEY_BYTES);
        hex_random(account_id, 16);
        a->blob = malloc(b->blob_len);
        if (a->blob == NULL)
            fail("malloc");
        memcpy(a->blob, b->blob, b->blob_len);
        sodium_hex2bin(a->blob + id_off, 16, account_id, 32, NULL, NULL, NULL);
        a->blob_b64 = b64(a->blob, b->blob_len, &a->blob_b64_len);
        snprintf(req, req_cap,
                 "{\"v\":2,\"op\":\"register\",\"email\":\"%s\",\"account_id\":\"%s\","
                 "\"record\":\"%s\",\"opslimit\":%u,\"memlimit\":%u,"
                 "\"protected_key\":\"%s\",\"blob\":\"%s\",\"device_id\":\"%s\","
                 "\"device_name\":\"bench\"}",
                 a->email, account_id, record, VAULT_KDF_OPSLIMIT_DEFAULT,
                 VAULT_KDF_MEMLIMIT_DEFAULT, pk, a->blob_b64, a->device_id);
        char *resp = handle(b, req);
        int found = copy_session(a->session, resp);
        vault_free(resp);
        if (!found)
            fail("register answered without a session");
        a->revision = 1;
    }
    free(req);
}

/* ---- client threads ----------------------------------------------------------- */

typedef struct client {
    bench *b;
    op_kind op;
    size_t index;
    pthread_barrier_t *ready, *start;
    double deadline;
    double *lat;
    size_t nlat, cap;
    size_t errors;
    char first_error[160];
    vault_opaque_client opaque; /* OP_LOGIN: between login_start and login_finish */
    size_t probes;              /* OP_LOGIN_START: emails used so far */
} client;

static void build_request(client *c, buf *req)
{
    account *a = &c->b->accounts[c->index];
    req->len = 0;
    switch (c->op) {
    case OP_EMPTY:
    case OP_EMPTY_LARGE:
    case OP_LOGIN_START:
        /* A new unknown email each time (a fake record answers): every
         * login_start counts an attempt for its email, so one email would
         * soon be rate-limited. */
        buf_reserve(req, 512);
        req->len = (size_t)snprintf(req->p, req->cap,
                                    "{\"v\":2,\"op\":\"login_start\",\"email\":\"probe%zu-%zu@"
                                    "example.org\",\"ke1\":\"%s\"}",
                                    c->index, c->probes++, a->ke1);
        break;
    case OP_LOGIN:
        login_start_request(&c->opaque, a, req);
        break;
    case OP_PULL:
        buf_reserve(req, 160);
        req->len = (size_t)snprintf(req->p, req->cap,
                                    "{\"v\":2,\"op\":\"pull\",\"session\":\"%s\"}",
                                    a->session);
        break;
    case OP_PUSH: {
        patch_revision(c->b, a, a->revision + 1);
        buf_reserve(req, a->blob_b64_len + 256);
        int n = snprintf(req->p, req->cap,
                         "{\"v\":2,\"op\":\"push\",\"session\":\"%s\",\"base_revision\":%llu,"
                         "\"blob\":\"",
                         a->session, (unsigned long long)a->revision);
        req->len = (size_t)n;
        memcpy(req->p + req->len, a->blob_b64, a->blob_b64_len);
        req->len += a->blob_b64_len;
        memcpy(req->p + req->len, "\"}", 3);
        req->len += 2;
        break;
    }
    default:
        break;
    }
}

static int perform(client *c, CURL *h, buf *req, buf *resp)
{
    resp->len = 0;
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->p);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || resp->p == NULL || strstr(resp->p, "\"ok\":true") == NULL) {
        if (c->first_error[0] == '\0')
            snprintf(c->first_error, sizeof c->first_error, "curl %d, HTTP %ld: %.100s", (int)rc,
                     status, resp->p != NULL ? resp->p : "");
        return -1;
    }
    return 0;
}

/* One unit of work: one request, or for OP_LOGIN the login_start and
 * login_finish pair (with the client's OPAQUE steps in between). */
static int one_request(client *c, CURL *h, buf *req, buf *resp)
{
    build_request(c, req);
    if (perform(c, h, req, resp) != 0)
        return -1;
    if (c->op == OP_LOGIN) {
        if (login_finish_request(&c->opaque, &c->b->accounts[c->index], resp->p, req) != 0 ||
            perform(c, h, req, resp) != 0)
            return -1;
    }
    if (c->op == OP_PUSH)
        c->b->accounts[c->index].revision++;
    return 0;
}

static void record(client *c, double seconds)
{
    if (c->nlat == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        double *p = realloc(c->lat, cap * sizeof *p);
        if (p == NULL)
            return;
        c->lat = p;
        c->cap = cap;
    }
    c->lat[c->nlat++] = seconds;
}

static void *client_main(void *arg)
{
    client *c = arg;
    bench *b = c->b;
    CURL *h = curl_easy_init();
    buf req = {0}, resp = {0};
    char url[96];
    uint16_t port = (c->op == OP_EMPTY || c->op == OP_EMPTY_LARGE) ? b->empty_port : b->vault_port;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port,
             c->op == OP_EMPTY ? "/small" : c->op == OP_EMPTY_LARGE ? "/large" : "/v1/api");
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (h == NULL || headers == NULL)
        fail("curl_easy_init");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    /* One untimed request opens the keep-alive connection. */
    if (one_request(c, h, &req, &resp) != 0)
        c->errors++;
    pthread_barrier_wait(c->ready); /* every client connected and warmed up */
    pthread_barrier_wait(c->start); /* the deadline is set */
    while (bench_now() < c->deadline) {
        double t0 = bench_now();
        int rc = one_request(c, h, &req, &resp);
        double t1 = bench_now();
        if (rc != 0)
            c->errors++;
        else
            record(c, t1 - t0);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(req.p);
    free(resp.p);
    return NULL;
}

typedef struct cell {
    double rps, p50, p99;
    size_t requests, errors;
} cell;

static cell run_cell(bench *b, op_kind op, size_t nclients)
{
    static client clients[MAX_CLIENTS];
    pthread_t tids[MAX_CLIENTS];
    pthread_barrier_t ready, start;
    pthread_barrier_init(&ready, NULL, (unsigned)nclients + 1);
    pthread_barrier_init(&start, NULL, (unsigned)nclients + 1);
    for (size_t i = 0; i < nclients; i++) {
        memset(&clients[i], 0, sizeof clients[i]);
        clients[i].b = b;
        clients[i].op = op;
        clients[i].index = i;
        clients[i].ready = &ready;
        clients[i].start = &start;
        if (pthread_create(&tids[i], NULL, client_main, &clients[i]) != 0)
            fail("pthread_create");
    }
    /* Clients read their deadline only after the start barrier, which orders
     * these writes before those reads. */
    pthread_barrier_wait(&ready);
    double t0 = bench_now();
    for (size_t i = 0; i < nclients; i++)
        clients[i].deadline = t0 + b->seconds;
    pthread_barrier_wait(&start);
    for (size_t i = 0; i < nclients; i++)
        pthread_join(tids[i], NULL);
    double elapsed = bench_now() - t0;
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&start);

    cell r = {0};
    size_t total = 0;
    for (size_t i = 0; i < nclients; i++)
        total += clients[i].nlat;
    double *all = malloc((total ? total : 1) * sizeof *all);
    if (all == NULL)
        fail("malloc");
    size_t k = 0;
    for (size_t i = 0; i < nclients; i++) {
        memcpy(all + k, clients[i].lat, clients[i].nlat * sizeof *all);
        k += clients[i].nlat;
        r.errors += clients[i].errors;
        if (clients[i].first_error[0] != '\0' && r.errors == clients[i].errors)
            fprintf(stderr, "bench_server: %s: first error: %s\n", op_names[op],
                    clients[i].first_error);
        free(clients[i].lat);
    }
    r.requests = total;
    r.rps = (double)total / elapsed;
    r.p50 = bench_quantile(all, total, 0.50);
    r.p99 = bench_quantile(all, total, 0.99);
    free(all);
    return r;
}

/* The server's own cost per request: vault_server_handle() called directly on
 * this thread, no HTTP, for the same requests as the HTTP cells. */
static cell run_inproc(bench *b, op_kind op)
{
    client c;
    memset(&c, 0, sizeof c);
    c.b = b;
    c.op = op;
    buf req = {0};
    double t_start = bench_now(), deadline = t_start + b->seconds;
    while (bench_now() < deadline) {
        build_request(&c, &req);
        char *resp = NULL;
        double t0 = bench_now();
        int rc = vault_server_handle(b->server, req.p, req.len, &resp);
        double t1 = bench_now();
        if (op == OP_LOGIN && rc == VAULT_OK) {
            /* the client's KE3 is not server time: only the two calls count */
            rc = login_finish_request(&c.opaque, &b->accounts[0], resp, &req) == 0 ? VAULT_OK
                                                                                  : VAULT_E_AUTH;
            vault_free(resp);
            resp = NULL;
            double t2 = bench_now();
            if (rc == VAULT_OK)
                rc = vault_server_handle(b->server, req.p, req.len, &resp);
            t1 += bench_now() - t2;
        }
        if (rc != VAULT_OK || resp == NULL || strstr(resp, "\"ok\":true") == NULL) {
            c.errors++;
        } else {
            record(&c, t1 - t0);
            if (op == OP_PUSH)
                b->accounts[0].revision++;
        }
        vault_free(resp);
    }
    double elapsed = bench_now() - t_start;
    if (op == OP_LOGIN) {
        /* the rate of the server's own time: the loop also ran the client's
         * OPAQUE steps, which are not server work */
        elapsed = 0;
        for (size_t i = 0; i < c.nlat; i++)
            elapsed += c.lat[i];
    }
    cell r = {0};
    r.requests = c.nlat;
    r.errors = c.errors;
    r.rps = (double)c.nlat / elapsed;
    r.p50 = bench_quantile(c.lat, c.nlat, 0.50);
    r.p99 = bench_quantile(c.lat, c.nlat, 0.99);
    free(c.lat);
    free(req.p);
    return r;
}

/* Context for the numbers: the fsync latency of the database's file system
 * (every login and push commits with synchronous=FULL) and libsodium's
 * constant-time base64 on the blob (pull encodes it, push decodes it). */
static void print_context(const bench *b)
{
    char path[128];
    snprintf(path, sizeof path, "%s/fsync.probe", b->dir);
    FILE *f = fopen(path, "w");
    double t[32];
    size_t n = 0;
    if (f != NULL) {
        char block[4096];
        memset(block, 'x', sizeof block);
        for (; n < 32; n++) {
            if (fwrite(block, 1, sizeof block, f) != sizeof block || fflush(f) != 0)
                break;
            double t0 = bench_now();
            if (fsync(fileno(f)) != 0)
                break;
            t[n] = bench_now() - t0;
        }
        fclose(f);
        unlink(path);
    }
    size_t cap = b->blob_b64_len + 1;
    char *enc = malloc(cap);
    uint8_t *dec = malloc(b->blob_len);
    if (enc == NULL || dec == NULL)
        fail("malloc");
    double e[5], d[5];
    for (int k = 0; k < 5; k++) {
        size_t bin_len = 0;
        double t0 = bench_now();
        sodium_bin2base64(enc, cap, b->blob, b->blob_len, sodium_base64_VARIANT_ORIGINAL);
        double t1 = bench_now();
        if (sodium_base642bin(dec, b->blob_len, enc, b->blob_b64_len, NULL, &bin_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            fail("sodium_base642bin");
        double t2 = bench_now();
        e[k] = t1 - t0;
        d[k] = t2 - t1;
    }
    double em = bench_median(e, 5), dm = bench_median(d, 5);
    printf("fsync of 4 KiB on the database's file system: p50 %.2f ms (%zu samples); "
           "libsodium base64 of the %zu-byte blob: encode %.2f ms (%.0f MB/s), decode %.2f ms "
           "(%.0f MB/s)\n\n",
           n > 0 ? bench_median(t, n) * 1e3 : -1.0, n, b->blob_len, em * 1e3,
           (double)b->blob_len / em / 1e6, dm * 1e3, (double)b->blob_len / dm / 1e6);
    free(enc);
    free(dec);
}

/* ---- options and main ----------------------------------------------------------- */

static int parse_list(bench *b, const char *s)
{
    b->nclients = 0;
    while (*s != '\0' && b->nclients < MAX_LEVELS) {
        char *end = NULL;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0 || v > MAX_CLIENTS)
            return -1;
        b->clients[b->nclients++] = (size_t)v;
        if (*end != ',' && *end != '\0')
            return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return b->nclients > 0 ? 0 : -1;
}

static int parse_ops(bench *b, const char *s)
{
    memset(b->ops, 0, sizeof b->ops);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", s);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int k = 0; k < OP_COUNT; k++)
            if (strcmp(t, op_names[k]) == 0)
                found = b->ops[k] = 1;
        if (!found)
            return -1;
    }
    return 0;
}

static int parse_args(bench *b, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        char *end = NULL;
        if (strcmp(a, "--seconds") == 0) {
            b->seconds = strtod(v, &end);
            if (end == v || b->seconds <= 0 || b->seconds > 60)
                return -1;
        } else if (strcmp(a, "--threads") == 0) {
            unsigned long t = strtoul(v, &end, 10);
            if (end == v || t == 0 || t > 64)
                return -1;
            b->threads = (unsigned)t;
        } else if (strcmp(a, "--items") == 0) {
            unsigned long n = strtoul(v, &end, 10);
            if (end == v || n == 0 || n > 100000)
                return -1;
            b->items = (size_t)n;
        } else if (strcmp(a, "--clients") == 0) {
            if (parse_list(b, v) != 0)
                return -1;
        } else if (strcmp(a, "--ops") == 0) {
            if (parse_ops(b, v) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return argc % 2 == 1 ? 0 : -1;
}

static void setup(bench *b)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/zkvault-bench-server-XXXXXX");
    if (mkdtemp(b->dir) == NULL)
        fail("mkdtemp");
    char db[128];
    snprintf(db, sizeof db, "%s/server.db", b->dir);
    if (vault_server_open(&b->server, db, (const uint8_t *)PEPPER, sizeof PEPPER - 1, 0) !=
        VAULT_OK)
        fail("vault_server_open");
    /* Every login_start counts as a failed attempt until its login_finish. */
    if (vault_server_set_option(b->server, VAULT_SERVER_LOGIN_FREE, 1000) != VAULT_OK)
        fail("vault_server_set_option");
    char account_id[33];
    hex_random(account_id, 16);
    make_blob(b, account_id);
    find_revision_offset(b);
    b->blob_b64 = b64(b->blob, b->blob_len, &b->blob_b64_len);
    size_t max = 0;
    for (size_t i = 0; i < b->nclients; i++)
        max = b->clients[i] > max ? b->clients[i] : max;
    register_accounts(b, max, account_id);
    /* The pull answer's size, for the large empty answer. */
    b->large_len = b->blob_b64_len + 40;
    b->large_body = malloc(b->large_len);
    if (b->large_body == NULL)
        fail("malloc");
    memset(b->large_body, 'A', b->large_len);
    memcpy(b->large_body, "{\"ok\":true,\"revision\":1,\"blob\":\"", 32);
    memcpy(b->large_body + b->large_len - 2, "\"}", 2);
}

static void teardown(bench *b)
{
    char path[160];
    vault_server_close(b->server);
    const char *suffix[] = {"server.db", "server.db-wal", "server.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", b->dir, suffix[i]);
        unlink(path);
    }
    rmdir(b->dir);
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        free(b->accounts[i].blob);
        free(b->accounts[i].blob_b64);
    }
    free(b->blob_b64);
    vault_free(b->blob);
    free(b->large_body);
}

int main(int argc, char **argv)
{
    static bench b;
    b.seconds = 2.0;
    b.threads = 4; /* vault_httpd's default pool */
    b.items = 1000;
    parse_list(&b, "1,8,64");
    parse_ops(&b, "empty,empty-large,login-start,login,pull,push");
    if (parse_args(&b, argc, argv) != 0) {
        fprintf(stderr, "usage: bench_server [--seconds S] [--clients 1,8,64] [--threads N]\n"
                        "                    [--items N] [--ops empty,empty-large,login-start,"
                        "login,pull,push]\n");
        return 2;
    }
    if (vault_init() != VAULT_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        fail("initialisation");
    bench_print_machine();
    bench_print_load("at start");
    setup(&b);
    vault_httpd *h = NULL;
    if (vault_httpd_start(&h, b.server, "127.0.0.1", 0, NULL, NULL, b.threads) != VAULT_OK)
        fail("vault_httpd_start");
    b.vault_port = vault_httpd_port(h);
    struct MHD_Daemon *empty = start_empty(&b);
    printf("vault_httpd and the empty libmicrohttpd handler: %u server threads each, on "
           "127.0.0.1; %.1f s per cell; pull/push blob: %zu items, %zu bytes sealed, %zu bytes "
           "base64; %s\n\n",
           b.threads, b.seconds, b.items, b.blob_len, b.blob_b64_len, curl_version());
    print_context(&b);
    printf("### In process: vault_server_handle() on one thread, no HTTP (login: "
           "login_start + login_finish, server time only)\n\n"
           "| op | calls/s | p50 ms | p99 ms | calls | errors |\n|---|---|---|---|---|---|\n");
    for (int op = OP_LOGIN_START; op < OP_COUNT; op++) {
        if (!b.ops[op])
            continue;
        cell r = run_inproc(&b, (op_kind)op);
        printf("| %s | %.0f | %.3f | %.3f | %zu | %zu |\n", op_names[op], r.rps, r.p50 * 1e3,
               r.p99 * 1e3, r.requests, r.errors);
        fflush(stdout);
    }
    printf("\n### Through vault_httpd on loopback (libcurl clients, keep-alive)\n\n"
           "| op | clients | req/s | p50 ms | p99 ms | requests | errors | vs empty handler |\n"
           "|---|---|---|---|---|---|---|---|\n");
    double ceiling[MAX_LEVELS] = {0};
    for (int op = 0; op < OP_COUNT; op++) {
        if (!b.ops[op])
            continue;
        for (size_t i = 0; i < b.nclients; i++) {
            cell r = run_cell(&b, (op_kind)op, b.clients[i]);
            if (op == OP_EMPTY)
                ceiling[i] = r.rps;
            char vs[32] = "-";
            if (op != OP_EMPTY && ceiling[i] > 0)
                snprintf(vs, sizeof vs, "%.3fx", r.rps / ceiling[i]);
            printf("| %s | %zu | %.0f | %.3f | %.3f | %zu | %zu | %s |\n", op_names[op],
                   b.clients[i], r.rps, r.p50 * 1e3, r.p99 * 1e3, r.requests, r.errors, vs);
            fflush(stdout);
        }
    }
    bench_print_load("at end");
    MHD_stop_daemon(empty);
    vault_httpd_stop(h);
    teardown(&b);
    curl_global_cleanup();
    return 0;
}

/* Limits a hostile client cannot exhaust, at the HTTP daemon
 * (docs/security.md, "Abuse cases"; docs/vaultd.md, "Limits"). Each test
 * names its abuse case. Memory is measured with the daemon's own counters
 * (vault_httpd_stat), never with time; all traffic stays on loopback and
 * every wait is bounded. */
#include "http_tests.h"
#include "world.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define EMAIL "trickle@example.com"

static vault_httpd *start(vault_server *s, const vault_httpd_options *o, char *url,
                          size_t size)
{
    vault_httpd *h = NULL;
    assert_int_equal(vault_httpd_start_v2(&h, s, "127.0.0.1", 0, NULL, NULL, o), VAULT_OK);
    snprintf(url, size, "http://127.0.0.1:%u", (unsigned)vault_httpd_port(h));
    return h;
}

/* A TCP connection to the daemon from the loopback address `from`
 * ("127.0.0.1" when NULL): every 127/8 address is this host, which lets one
 * test play many clients. -1 if the connection failed. */
static int connect_from(const vault_httpd *h, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (from != NULL) {
        assert_int_equal(inet_pton(AF_INET, from, &a.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons(vault_httpd_port(h));
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_text(int fd, const char *text)
{
    (void)!send(fd, text, strlen(text), MSG_NOSIGNAL);
}

/* The HTTP status of the answer on fd, read within 10 s; -1 if the
 * connection closed first. The Retry-After value goes to retry (if any). */
static int read_status(int fd, char *retry, size_t retry_size)
{
    char buf[4096];
    size_t len = 0;
    while (len + 1 < sizeof buf) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    buf[len] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    const char *r = strstr(buf, "Retry-After: ");
    if (retry != NULL)
        snprintf(retry, retry_size, "%.*s", r != NULL ? (int)strcspn(r + 13, "\r") : 0,
                 r != NULL ? r + 13 : "");
    return status;
}

static void post_headers(int fd, const char *op, size_t content_length)
{
    char head[256];
    snprintf(head, sizeof head, "POST /v1/api/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", op,
             content_length);
    send_text(fd, head);
}

/* Abuse case A1: an unauthenticated 32 MiB register_start. Declared, it is
 * refused 413 from its headers with not one byte charged or allocated for
 * it; streamed without a length, it is cut at the small cap, so the daemon
 * never holds more than 3x that cap (the counters' peak). */
static void test_http_limits__a1_large_register_start_refused_without_the_memory(void **state)
{
    (void)state;
    char url[64], path[96];
    vault_server *s = http_server_open("limits-a1.db");
    vault_httpd *h = start(s, NULL, url, sizeof url);
    int fd = connect_from(h, NULL);
    assert_true(fd >= 0);
    post_headers(fd, "register_start", 32u * 1024u * 1024u);
    char block[64 * 1024];
    memset(block, ' ', sizeof block);
    send_text(fd, "{"); /* the body begins; the answer needs no more of it */
    assert_int_equal(read_status(fd, NULL, 0), 413);
    close(fd);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_PEAK), 0);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_REFUSED_LARGE), 1);

    snprintf(path, sizeof path, "%s/v1/api/register_start", url);
    http_raw_request chunked = {.stream_len = 32u * 1024u * 1024u, .chunked = 1};
    char *answer = NULL;
    uint64_t sent = 0;
    long status = http_raw(path, &chunked, &answer, &sent);
    free(answer);
    assert_true(status == 413 || status == -1); /* -1: cut off past the discard cap */
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_REFUSED_LARGE), 2);
    assert_true(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_PEAK) > 0);
    assert_true(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_PEAK) <=
                3 * (int64_t)VAULT_SERVER_SMALL_REQUEST);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_BYTES), 0);
    vault_httpd_stop(h);
    vault_server_close(s);
}

/* Abuse case A2: requests over the in-flight memory budget are answered
 * 503 with Retry-After, and the daemon goes on serving; once the request
 * holding the budget ends, the same request is accepted. */
static void test_http_limits__a2_memory_budget_answers_503(void **state)
{
    (void)state;
    char url[64];
    vault_server *s = http_server_open("limits-a2.db");
    vault_httpd_options o;
    vault_httpd_options_init(&o);
    o.memory_budget = 1024u * 1024u; /* 1 MiB: one 300 KiB push (charged 900 KiB) */
    vault_httpd *h = start(s, &o, url, sizeof url);
    size_t body = 300u * 1024u;

    int holder = connect_from(h, NULL);
    assert_true(holder >= 0);
    post_headers(holder, "push", body);
    send_text(holder, "{"); /* and then nothing: it holds its charge */
    for (int i = 0; i < 500 && vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_BYTES) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_BYTES), 3 * (int64_t)body);

    int second = connect_from(h, NULL);
    assert_true(second >= 0);
    post_headers(second, "push", body);
    char retry[16] = "";
    assert_int_equal(read_status(second, retry, sizeof retry), 503);
    assert_string_equal(retry, "1");
    close(second);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_REFUSED_BUSY), 1);

    /* Small requests still fit, and the daemon answers them. */
    char req[256];
    http_probe_request(req, sizeof req, EMAIL);
    http_raw_request small = {.body = req, .body_len = strlen(req)};
    char probe_url[96];
    snprintf(probe_url, sizeof probe_url, "%s/v1/api/register_start", url);
    char *answer = NULL;
    assert_int_equal(http_raw(probe_url, &small, &answer, NULL), 200);
    free(answer);

    close(holder);
    for (int i = 0; i < 500 && vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_BYTES) != 0; i++)
        usleep(10 * 1000);
    assert_int_equal(vault_httpd_stat(h, VAULT_HTTPD_STAT_INFLIGHT_BYTES), 0);
    int third = connect_from(h, NULL);
    assert_true(third >= 0);
    post_headers(third, "push", body);
    char *junk = malloc(body);
    assert_non_null(junk);
    memset(junk, ' ', body);
    junk[0] = '{';
    assert_int_equal(send(third, junk, body, MSG_NOSIGNAL), (ssize_t)body);
    assert_int_equal(read_status(third, NULL, 0), 200); /* parsed: a protocol error */
    free(junk);
    close(third);
    vault_httpd_stop(h);
    vault_server_close(s);
}

/* ---- A3: 1,000 trickling connections ------------------------------------------ */

#define TRICKLERS 1000
#define TRICKLE_ADDRS 20 /* 50 connections per address, under max_per_address */
#define TRICKLE_WINDOW_S 12

typedef struct {
    const vault_httpd *h;
    int fds[TRICKLERS];
    int opened;
    _Atomic int done; /* the window is over: the test failed if the login was not in */
    _Atomic int stop;
} trickle;

/* Opens TRICKLERS connections, each sending a request line and then one
 * header line a second, for at most TRICKLE_WINDOW_S (or until told to stop). */
static void *trickle_main(void *arg)
{
    trickle *t = arg;
    for (int i = 0; i < TRICKLERS; i++) {
        char from[32];
        snprintf(from, sizeof from, "127.0.%d.%d", 10 + i % TRICKLE_ADDRS, 1 + i / 256);
        t->fds[i] = connect_from(t->h, from);
        if (t->fds[i] >= 0)
            send_text(t->fds[i], "POST /v1/api/register_start HTTP/1.1\r\n");
    }
    t->opened = TRICKLERS;
    for (int sec = 0; sec < TRICKLE_WINDOW_S && !t->stop; sec++) {
        for (int i = 0; i < TRICKLERS; i++)
            if (t->fds[i] >= 0 &&
                send(t->fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                errno != EAGAIN) {
                close(t->fds[i]);
                t->fds[i] = -1;
            }
        for (int ms = 0; ms < 1000 && !t->stop; ms += 50)
            usleep(50 * 1000);
    }
    t->done = 1;
    return NULL;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 4 * TRICKLERS) {
        rl.rlim_cur = rl.rlim_max < 4 * TRICKLERS ? rl.rlim_max : 4 * TRICKLERS;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    assert_true(rl.rlim_cur >= 3 * TRICKLERS); /* the daemon's ends are in this process */
}

/* Abuse case A3: 1,000 connections, as many as the daemon takes, each
 * trickling one header line a second so the idle timeout never fires. The
 * absolute header deadline cuts them, and a legitimate login (Argon2id at the
 * floor, over the real transport) completes while they still trickle. */
static void test_http_limits__a3_login_succeeds_while_1000_connections_trickle(void **state)
{
    (void)state;
    raise_fd_limit();
    tw_world *w = tw_new("limits-a3", NULL);
    w->direct = 1;
    tw_registered(w, "owner", EMAIL, TW_PASSWORD);
    vault_httpd_options o;
    vault_httpd_options_init(&o);
    o.max_connections = TRICKLERS; /* the tricklers alone fill the daemon */
    o.header_timeout_ms = 2000;
    w->httpd = start(w->server, &o, w->url, sizeof w->url);
    w->direct = 0;

    trickle *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->h = w->httpd;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, trickle_main, t), 0);
    while (t->opened == 0)
        usleep(10 * 1000);
    vault_client *c = tw_device_open(w, "newcomer")->c;
    assert_int_equal(vault_client_set_secret_key(c, tw_secret_key(w, EMAIL)), VAULT_OK);
    int rc = VAULT_E_NETWORK;
    while (rc == VAULT_E_NETWORK && !t->done) {
        rc = vault_client_login(c, EMAIL, TW_PASSWORD);
        if (rc == VAULT_E_NETWORK)
            usleep(100 * 1000);
    }
    int in_window = !t->done;
    t->stop = 1;
    pthread_join(thread, NULL);
    int64_t cut = vault_httpd_stat(w->httpd, VAULT_HTTPD_STAT_DEADLINE_CLOSED);
    print_message("A3: the login got in after the deadline cut %lld connections\n",
                  (long long)cut);
    for (int i = 0; i < TRICKLERS; i++)
        if (t->fds[i] >= 0)
            close(t->fds[i]);
    if (rc != VAULT_OK)
        print_error("login: %s\n", vault_client_errmsg(c));
    assert_int_equal(rc, VAULT_OK);
    assert_true(in_window);
    /* The tricklers filled the daemon: the login got in only once the
     * deadline (not the idle timeout, which trickling never reaches) cut some. */
    assert_true(cut >= 1);
    free(t);
    tw_free(w);
}

int http_run_limits_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_limits__a1_large_register_start_refused_without_the_memory),
        cmocka_unit_test(test_http_limits__a2_memory_budget_answers_503),
        cmocka_unit_test(test_http_limits__a3_login_succeeds_while_1000_connections_trickle),
    };
    return cmocka_run_group_tests_name("http_limits", tests, NULL, NULL);
}

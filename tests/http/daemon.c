/* vault_httpd over a real server, reached through the curl transport and raw
 * HTTP: answers, refusals, limits, start errors, concurrency. */
#include "http_tests.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"
#include "transport/transport.h"

#define EMAIL "ada@example.com"

static void url_for(char *buf, size_t size, const char *path)
{
    snprintf(buf, size, "%s%s", http_fx.base_url, path);
}

/* Sends request through a fresh transport and checks the answer is exactly
 * what the server gives in-process. */
static void expect_same_answer(const char *base_url, uint32_t flags, const char *request)
{
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, base_url, flags), VAULT_OK);
    char *answer = NULL;
    size_t answer_len = 0;
    int rc = vault_transport__http_call(request, strlen(request), &answer, &answer_len, t);
    if (rc != VAULT_OK)
        print_error("call failed: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    char *local = http_local_answer(http_fx.server, request);
    assert_int_equal(answer_len, strlen(local));
    assert_string_equal(answer, local);
    vault_free(local);
    vault_free(answer);
    vault_transport__http_free(t);
}

static void expect_probe_works(void)
{
    char req[256];
    http_probe_request(req, sizeof req, EMAIL);
    expect_same_answer(http_fx.base_url, 0, req);
}

static void test_http_daemon__register_start_round_trip(void **state)
{
    (void)state;
    char req[256];
    http_probe_request(req, sizeof req, EMAIL);
    char *local = http_local_answer(http_fx.server, req);
    assert_non_null(strstr(local, "\"ok\":true"));
    assert_non_null(strstr(local, "\"response\":\""));
    vault_free(local);
    expect_same_answer(http_fx.base_url, 0, req);
    char url[96];
    snprintf(url, sizeof url, "http://localhost:%u/", (unsigned)vault_httpd_port(http_fx.httpd));
    expect_same_answer(url, 0, req);
}

static void test_http_daemon__one_transport_serves_many_calls(void **state)
{
    (void)state;
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, http_fx.base_url, 0), VAULT_OK);
    for (int i = 0; i < 20; i++) {
        char email[64], req[256];
        snprintf(email, sizeof email, "user%d@example.com", i);
        http_probe_request(req, sizeof req, email);
        char *answer = NULL;
        size_t len = 0;
        assert_int_equal(vault_transport__http_call(req, strlen(req), &answer, &len, t),
                         VAULT_OK);
        char *local = http_local_answer(http_fx.server, req);
        assert_string_equal(answer, local);
        vault_free(local);
        vault_free(answer);
    }
    vault_transport__http_free(t);
}

static void test_http_daemon__protocol_errors_come_back_as_answers(void **state)
{
    (void)state;
    expect_same_answer(http_fx.base_url, 0, "{\"v\":2,\"op\":\"no_such_op\"}");
    expect_same_answer(http_fx.base_url, 0, "{\"v\":1,\"op\":\"register_start\",\"email\":\"a@b.c\"}");
    expect_same_answer(http_fx.base_url, 0, "not json at all");
    expect_same_answer(http_fx.base_url, 0, "");
    char url[96];
    url_for(url, sizeof url, "/v1/api");
    char *answer = NULL;
    http_raw_request raw = {.body = "{", .body_len = 1};
    assert_int_equal(http_raw(url, &raw, &answer, NULL), 200);
    assert_true(http_is_error(answer, "invalid"));
    free(answer);
}

static void test_http_daemon__wrong_path_is_404(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/v1", "/v1/api/", "/v1/api/Push", "/v1/api/push/x",
                           "/v1/api/register-start", "/v2/api", "/V1/API"};
    char req[256];
    http_probe_request(req, sizeof req, EMAIL);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char url[128];
        url_for(url, sizeof url, paths[i]);
        char *answer = NULL;
        http_raw_request raw = {.body = req, .body_len = strlen(req)};
        assert_int_equal(http_raw(url, &raw, &answer, NULL), 404);
        assert_true(http_is_error(answer, "invalid"));
        assert_string_equal(http_raw_last_header("Content-Type"), "application/json");
        free(answer);
    }
    /* Through the transport a wrong prefix is a network error naming the status. */
    char base[96];
    url_for(base, sizeof base, "/nope");
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, base, 0), VAULT_OK);
    char *answer = (char *)"untouched";
    size_t len = 7;
    assert_int_equal(vault_transport__http_call(req, strlen(req), &answer, &len, t),
                     VAULT_E_NETWORK);
    assert_null(answer);
    assert_int_equal(len, 0);
    assert_non_null(strstr(vault_last_error(), "404"));
    vault_transport__http_free(t);
}

static void test_http_daemon__wrong_method_is_405(void **state)
{
    (void)state;
    const char *methods[] = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS"};
    char url[96];
    url_for(url, sizeof url, "/v1/api");
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char *answer = NULL;
        http_raw_request raw = {.method = methods[i]};
        assert_int_equal(http_raw(url, &raw, &answer, NULL), 405);
        assert_true(http_is_error(answer, "invalid"));
        assert_string_equal(http_raw_last_header("Allow"), "POST");
        free(answer);
    }
}

static void test_http_daemon__wrong_content_type_is_415(void **state)
{
    (void)state;
    char url[96], req[256];
    url_for(url, sizeof url, "/v1/api");
    http_probe_request(req, sizeof req, EMAIL);
    const char *types[] = {"text/plain", "application/x-www-form-urlencoded",
                           "application/jsonp", ""};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char *answer = NULL;
        http_raw_request raw = {.content_type = types[i], .body = req, .body_len = strlen(req)};
        assert_int_equal(http_raw(url, &raw, &answer, NULL), 415);
        assert_true(http_is_error(answer, "invalid"));
        free(answer);
    }
    /* Parameters and case do not matter. */
    char *answer = NULL;
    http_raw_request raw = {.content_type = "Application/JSON; charset=utf-8", .body = req,
                            .body_len = strlen(req)};
    assert_int_equal(http_raw(url, &raw, &answer, NULL), 200);
    char *local = http_local_answer(http_fx.server, req);
    assert_string_equal(answer, local);
    vault_free(local);
    free(answer);
}

static void test_http_daemon__large_body_arrives_whole(void **state)
{
    (void)state;
    /* A push (an op that may be large) followed by 3 MiB of JSON white
     * space: the answer ("unknown session") can only match if every byte
     * arrived (trailing white space is valid JSON). */
    char head[256];
    snprintf(head, sizeof head, "{\"op\":\"push\",\"v\":%d,\"session\":\"%064d\","
             "\"base_revision\":0,\"blob\":\"AAAA\"}", http_protocol_version(), 0);
    size_t pad = 3u * 1024u * 1024u + 7u, head_len = strlen(head);
    char *req = malloc(head_len + pad + 1);
    assert_non_null(req);
    memcpy(req, head, head_len);
    memset(req + head_len, ' ', pad);
    req[head_len + pad] = '\0';
    expect_same_answer(http_fx.base_url, 0, req);
    req[head_len + pad - 1] = 'x'; /* now broken at the very end */
    expect_same_answer(http_fx.base_url, 0, req);
    char *answer = NULL;
    size_t len = 0;
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, http_fx.base_url, 0), VAULT_OK);
    assert_int_equal(vault_transport__http_call(req, strlen(req), &answer, &len, t), VAULT_OK);
    assert_true(http_is_error(answer, "invalid"));
    vault_free(answer);
    vault_transport__http_free(t);
    free(req);
}

static void test_http_daemon__declared_body_over_cap_is_413_before_reading(void **state)
{
    (void)state;
    char url[96];
    url_for(url, sizeof url, "/v1/api/push"); /* an op with the large cap */
    char *answer = NULL;
    uint64_t sent = 0;
    http_raw_request raw = {.stream_len = (uint64_t)VAULT_SERVER_MAX_REQUEST + 1};
    assert_int_equal(http_raw(url, &raw, &answer, &sent), 413);
    assert_true(http_is_error(answer, "limit"));
    assert_true(sent < 1024u * 1024u); /* answered before the body was sent */
    free(answer);
    expect_probe_works();
}

static void test_http_daemon__streamed_body_over_cap_is_413(void **state)
{
    (void)state;
    char url[96];
    url_for(url, sizeof url, "/v1/api/push"); /* an op with the large cap */
    char *answer = NULL;
    uint64_t sent = 0;
    uint64_t offered = (uint64_t)VAULT_SERVER_MAX_REQUEST + 8u * 1024u * 1024u;
    http_raw_request raw = {.stream_len = offered, .chunked = 1};
    assert_int_equal(http_raw(url, &raw, &answer, &sent), 413);
    assert_true(http_is_error(answer, "limit"));
    assert_int_equal(sent, offered); /* read to its end, but not stored */
    free(answer);
    expect_probe_works();
    /* A client that goes on and on is cut off without an answer. */
    answer = NULL;
    http_raw_request endless = {.stream_len = (uint64_t)VAULT_SERVER_MAX_REQUEST +
                                              64u * 1024u * 1024u, .chunked = 1};
    assert_int_equal(http_raw(url, &endless, &answer, &sent), -1);
    assert_true(sent < endless.stream_len);
    free(answer);
    expect_probe_works();
    /* Exactly at the cap is not refused by the HTTP layer. */
    answer = NULL;
    http_raw_request at_cap = {.stream_len = VAULT_SERVER_MAX_REQUEST, .chunked = 1};
    assert_int_equal(http_raw(url, &at_cap, &answer, &sent), 200);
    assert_int_equal(sent, VAULT_SERVER_MAX_REQUEST);
    assert_true(http_is_error(answer, "invalid") || http_is_error(answer, "limit"));
    free(answer);
    expect_probe_works();
}

static void test_http_daemon__request_over_cap_is_refused_by_transport(void **state)
{
    (void)state;
    size_t len = (size_t)VAULT_SERVER_MAX_REQUEST + 1;
    char *big = calloc(1, len); /* never touched: refused before sending */
    assert_non_null(big);
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, http_fx.base_url, 0), VAULT_OK);
    char *answer = NULL;
    size_t answer_len = 0;
    assert_int_equal(vault_transport__http_call(big, len, &answer, &answer_len, t),
                     VAULT_E_LIMIT);
    assert_null(answer);
    vault_transport__http_free(t);
    free(big);
}

static void test_http_daemon__closed_port_is_network_error(void **state)
{
    (void)state;
    vault_httpd *h = NULL;
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", 0, NULL, NULL, 1), VAULT_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)vault_httpd_port(h));
    vault_httpd_stop(h);
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, url, 0), VAULT_OK);
    char req[256];
    http_probe_request(req, sizeof req, EMAIL);
    char *answer = NULL;
    size_t len = 0;
    assert_int_equal(vault_transport__http_call(req, strlen(req), &answer, &len, t),
                     VAULT_E_NETWORK);
    assert_null(answer);
    assert_non_null(strstr(vault_last_error(), "HTTP request failed"));
    vault_transport__http_free(t);
}

static void test_http_daemon__start_rejects_bad_arguments(void **state)
{
    (void)state;
    vault_httpd *h = (vault_httpd *)&http_fx;
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "localhost", 0, NULL, NULL, 0),
                     VAULT_E_INVALID);
    assert_null(h);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.256", 0, NULL, NULL, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "", 0, NULL, NULL, 0), VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, NULL, "127.0.0.1", 0, NULL, NULL, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, NULL, 0, NULL, NULL, 0), VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(NULL, http_fx.server, "127.0.0.1", 0, NULL, NULL, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", 0, NULL, NULL, 257),
                     VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", 0, "cert.pem", NULL, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", 0, NULL, "key.pem", 0),
                     VAULT_E_INVALID);
    assert_null(h);
    /* The port is taken by the fixture's daemon. */
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", vault_httpd_port(http_fx.httpd),
                                       NULL, NULL, 1), VAULT_E_IO);
    assert_null(h);
    assert_int_equal(vault_httpd_port(NULL), 0);
    vault_httpd_stop(NULL);
}

static int ipv6_loopback_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_http_daemon__serves_ipv6(void **state)
{
    (void)state;
    if (!ipv6_loopback_available()) {
        fprintf(stderr, "*** SKIPPED: no IPv6 loopback on this machine\n");
        skip();
    }
    vault_httpd *h = NULL;
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "::1", 0, NULL, NULL, 2), VAULT_OK);
    char url[64], req[256];
    snprintf(url, sizeof url, "http://[::1]:%u", (unsigned)vault_httpd_port(h));
    http_probe_request(req, sizeof req, EMAIL);
    expect_same_answer(url, 0, req);
    /* An IPv6-only socket: the same port on IPv4 loopback is not this daemon. */
    vault_httpd_stop(h);
}

/* Connects and sends half a request, then leaves it hanging. */
static int half_request(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char head[] = "POST /v1/api HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                               "{\"v\":2,\"op\":";
    assert_int_equal(send(fd, head, sizeof head - 1, 0), (ssize_t)(sizeof head - 1));
    return fd;
}

static void test_http_daemon__stop_frees_requests_in_flight(void **state)
{
    (void)state;
    vault_httpd *h = NULL;
    assert_int_equal(vault_httpd_start(&h, http_fx.server, "127.0.0.1", 0, NULL, NULL, 2), VAULT_OK);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = half_request(vault_httpd_port(h));
    usleep(100 * 1000); /* let the daemon read the partial bodies (not asserted on) */
    vault_httpd_stop(h); /* must return, and the sanitizer sees no leak */
    for (int i = 0; i < 4; i++) {
        char c;
        assert_true(recv(fds[i], &c, 1, 0) <= 0); /* the daemon closed it */
        close(fds[i]);
    }
}

/* ------------------------------------------------------------- concurrency */

#define CLIENT_THREADS 8
#define CALLS_PER_THREAD 25

typedef struct {
    int index;
    int answered;
    int correct;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    vault_transport__http *t = NULL;
    if (vault_transport__http_new(&t, http_fx.base_url, 0) != VAULT_OK)
        return NULL;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        char email[64], req[256];
        snprintf(email, sizeof email, "t%d-%d@example.com", w->index, i);
        http_probe_request(req, sizeof req, email);
        char *answer = NULL, *local = NULL;
        size_t len = 0;
        if (vault_transport__http_call(req, strlen(req), &answer, &len, t) != VAULT_OK)
            continue;
        w->answered++;
        if (vault_server_handle(http_fx.server, req, strlen(req), &local) == VAULT_OK &&
            strcmp(local, answer) == 0)
            w->correct++;
        vault_free(local);
        vault_free(answer);
    }
    vault_transport__http_free(t);
    return NULL;
}

static void test_http_daemon__many_clients_at_once_are_all_answered(void **state)
{
    (void)state;
    pthread_t threads[CLIENT_THREADS];
    worker workers[CLIENT_THREADS];
    for (int i = 0; i < CLIENT_THREADS; i++) {
        workers[i] = (worker){i, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, hammer, &workers[i]), 0);
    }
    int answered = 0, correct = 0;
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(threads[i], NULL);
        answered += workers[i].answered;
        correct += workers[i].correct;
    }
    assert_int_equal(answered, CLIENT_THREADS * CALLS_PER_THREAD);
    assert_int_equal(correct, CLIENT_THREADS * CALLS_PER_THREAD);
}

int http_run_daemon_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_daemon__register_start_round_trip),
        cmocka_unit_test(test_http_daemon__one_transport_serves_many_calls),
        cmocka_unit_test(test_http_daemon__protocol_errors_come_back_as_answers),
        cmocka_unit_test(test_http_daemon__wrong_path_is_404),
        cmocka_unit_test(test_http_daemon__wrong_method_is_405),
        cmocka_unit_test(test_http_daemon__wrong_content_type_is_415),
        cmocka_unit_test(test_http_daemon__large_body_arrives_whole),
        cmocka_unit_test(test_http_daemon__declared_body_over_cap_is_413_before_reading),
        cmocka_unit_test(test_http_daemon__streamed_body_over_cap_is_413),
        cmocka_unit_test(test_http_daemon__request_over_cap_is_refused_by_transport),
        cmocka_unit_test(test_http_daemon__closed_port_is_network_error),
        cmocka_unit_test(test_http_daemon__start_rejects_bad_arguments),
        cmocka_unit_test(test_http_daemon__serves_ipv6),
        cmocka_unit_test(test_http_daemon__stop_frees_requests_in_flight),
        cmocka_unit_test(test_http_daemon__many_clients_at_once_are_all_answered),
    };
    return cmocka_run_group_tests_name("http_daemon", tests, http_setup, http_teardown);
}

/* HTTPS: a self-signed certificate made at test time with the openssl tool
 * (skipped loudly when it is missing). */
#include "http_tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "transport/transport.h"

static int have_cert;
static char cert_path[768], key_path[768];

static int make_certificate(void **state)
{
    (void)state;
    snprintf(cert_path, sizeof cert_path, "%s", test_path("cert.pem"));
    snprintf(key_path, sizeof key_path, "%s", test_path("key.pem"));
    if (system("openssl version >/dev/null 2>&1") != 0)
        return 0;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
             key_path, cert_path);
    have_cert = system(cmd) == 0;
    return have_cert ? 0 : -1; /* the tool is there but failed: that is a failure */
}

static void require_cert(void)
{
    if (!have_cert) {
        fprintf(stderr, "\n*** SKIPPED: the openssl binary is not installed, so no HTTPS "
                        "test ran ***\n\n");
        skip();
    }
}

static void start_tls(http_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->server = http_server_open("tls.db");
    int rc = vault_httpd_start(&f->httpd, f->server, "127.0.0.1", 0, cert_path, key_path, 2);
    if (rc != VAULT_OK)
        print_error("TLS start failed: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    snprintf(f->base_url, sizeof f->base_url, "https://127.0.0.1:%u",
             (unsigned)vault_httpd_port(f->httpd));
}

/* One request over a fresh transport; ca_file as for vault_transport__http_new_ca. */
static int call_ca(const char *base_url, uint32_t flags, const char *ca_file, const char *req,
                   char **answer)
{
    vault_transport__http *t = NULL;
    int rc = vault_transport__http_new_ca(&t, base_url, flags, ca_file);
    size_t len = 0;
    if (rc == VAULT_OK)
        rc = vault_transport__http_call(req, strlen(req), answer, &len, t);
    vault_transport__http_free(t);
    return rc;
}

static int call(const char *base_url, uint32_t flags, const char *req, char **answer)
{
    return call_ca(base_url, flags, NULL, req, answer);
}

static void test_http_tls__round_trip_with_insecure_tls_flag(void **state)
{
    (void)state;
    require_cert();
    http_fixture f;
    start_tls(&f);
    char req[256];
    http_probe_request(req, sizeof req, "ada@example.com");
    char *answer = NULL;
    int rc = call(f.base_url, VAULT_HTTP_INSECURE_TLS, req, &answer);
    if (rc != VAULT_OK)
        print_error("HTTPS call failed: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    char *local = http_local_answer(f.server, req);
    assert_string_equal(answer, local);
    vault_free(local);
    vault_free(answer);
    http_fixture_stop(&f);
}

static void test_http_tls__self_signed_certificate_is_refused_by_default(void **state)
{
    (void)state;
    require_cert();
    http_fixture f;
    start_tls(&f);
    char req[256];
    http_probe_request(req, sizeof req, "ada@example.com");
    char *answer = (char *)"untouched";
    assert_int_equal(call(f.base_url, 0, req, &answer), VAULT_E_NETWORK);
    assert_null(answer);
    assert_non_null(strstr(vault_last_error(), "certificate"));
    /* Plain HTTP to the TLS port gets nothing usable either. */
    char plain[64];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%u", (unsigned)vault_httpd_port(f.httpd));
    answer = (char *)"untouched";
    assert_int_equal(call(plain, 0, req, &answer), VAULT_E_NETWORK);
    assert_null(answer);
    http_fixture_stop(&f);
}

/* A private CA: given as a file, or by ZKVAULT_CA_FILE / SSL_CERT_FILE /
 * CURL_CA_BUNDLE (the self-signed certificate is its own CA). */
static void test_http_tls__private_ca_is_trusted_from_a_file_or_the_environment(void **state)
{
    (void)state;
    require_cert();
    http_fixture f;
    start_tls(&f);
    char req[256];
    http_probe_request(req, sizeof req, "ada@example.com");
    char *answer = NULL;
    assert_int_equal(call_ca(f.base_url, 0, cert_path, req, &answer), VAULT_OK);
    vault_free(answer);
    static const char *const vars[] = {"ZKVAULT_CA_FILE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        assert_int_equal(setenv(vars[i], cert_path, 1), 0);
        answer = NULL;
        assert_int_equal(call_ca(f.base_url, 0, NULL, req, &answer), VAULT_OK);
        vault_free(answer);
        assert_int_equal(unsetenv(vars[i]), 0);
    }
    /* ZKVAULT_CA_FILE comes first; an explicit file beats every variable. */
    assert_int_equal(setenv("ZKVAULT_CA_FILE", key_path, 1), 0);
    assert_int_equal(setenv("SSL_CERT_FILE", cert_path, 1), 0);
    answer = (char *)"untouched";
    assert_int_equal(call_ca(f.base_url, 0, NULL, req, &answer), VAULT_E_NETWORK);
    assert_null(answer);
    answer = NULL;
    assert_int_equal(call_ca(f.base_url, 0, cert_path, req, &answer), VAULT_OK);
    vault_free(answer);
    unsetenv("ZKVAULT_CA_FILE");
    unsetenv("SSL_CERT_FILE");
    http_fixture_stop(&f);
}

static void test_http_tls__unreadable_ca_file_fails_at_connect(void **state)
{
    (void)state;
    vault_transport__http *t = NULL;
    const char *missing = test_path("no-such-ca.pem");
    assert_int_equal(vault_transport__http_new_ca(&t, "https://127.0.0.1:1", 0, missing),
                     VAULT_E_IO);
    assert_null(t);
    assert_non_null(strstr(vault_last_error(), "CA file"));
    vault_client *c = NULL;
    assert_int_equal(vault_client_open(&c, test_path("ca-client.db"), 0), VAULT_OK);
    assert_int_equal(vault_client_connect_http_ca(c, "https://127.0.0.1:1", 0, missing),
                     VAULT_E_IO);
    assert_int_equal(setenv("ZKVAULT_CA_FILE", missing, 1), 0);
    assert_int_equal(vault_client_connect_http(c, "https://127.0.0.1:1", 0), VAULT_E_IO);
    unsetenv("ZKVAULT_CA_FILE");
    vault_client_close(c);
}

static void test_http_tls__bad_certificate_files_fail_to_start(void **state)
{
    (void)state;
    vault_server *s = http_server_open("tls-bad.db");
    vault_httpd *h = NULL;
    const char *missing = test_path("missing.pem");
    assert_int_equal(vault_httpd_start(&h, s, "127.0.0.1", 0, missing, missing, 1), VAULT_E_IO);
    assert_null(h);
    const char *garbage = test_path("garbage.pem");
    FILE *g = fopen(garbage, "w");
    assert_non_null(g);
    fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", g);
    fclose(g);
    const char *empty = test_path("empty.pem");
    g = fopen(empty, "w");
    assert_non_null(g);
    fclose(g);
    assert_int_equal(vault_httpd_start(&h, s, "127.0.0.1", 0, empty, empty, 1), VAULT_E_IO);
    if (have_cert) {
        assert_int_equal(vault_httpd_start(&h, s, "127.0.0.1", 0, cert_path, garbage, 1),
                         VAULT_E_IO);
        assert_int_equal(vault_httpd_start(&h, s, "127.0.0.1", 0, garbage, key_path, 1),
                         VAULT_E_IO);
        assert_int_equal(vault_httpd_start(&h, s, "127.0.0.1", 0, key_path, cert_path, 1),
                         VAULT_E_IO);
    }
    assert_null(h);
    vault_server_close(s);
}

int http_run_tls_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_tls__round_trip_with_insecure_tls_flag),
        cmocka_unit_test(test_http_tls__self_signed_certificate_is_refused_by_default),
        cmocka_unit_test(test_http_tls__bad_certificate_files_fail_to_start),
        cmocka_unit_test(test_http_tls__private_ca_is_trusted_from_a_file_or_the_environment),
        cmocka_unit_test(test_http_tls__unreadable_ca_file_fails_at_connect),
    };
    return cmocka_run_group_tests_name("http_tls", tests, make_certificate, NULL);
}

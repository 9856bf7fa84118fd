/* The transport's URL rules, checked without any network traffic: a URL that
 * is refused never gets a transport, so nothing can be sent to it. */
#include "http_tests.h"

#include <string.h>

#include "common/common.h"
#include "transport/transport.h"

static void expect_url(const char *base, uint32_t flags, const char *want, int want_loopback)
{
    char *api = NULL;
    int loopback = -1;
    int rc = vault_transport__check_url(base, flags, &api, &loopback);
    if (rc != VAULT_OK)
        print_error("URL %s refused: %s\n", base, vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    assert_non_null(api);
    assert_string_equal(api, want);
    assert_int_equal(loopback, want_loopback);
    vault__free(api);
}

static void expect_refused(const char *base, uint32_t flags, int want_rc)
{
    char *api = (char *)"untouched";
    int loopback = 0;
    int rc = vault_transport__check_url(base, flags, &api, &loopback);
    if (rc != want_rc)
        print_error("URL %s: got %d, want %d\n", base ? base : "(null)", rc, want_rc);
    assert_int_equal(rc, want_rc);
    assert_null(api);
    assert_true(vault_last_error()[0] != '\0');
    vault_transport__http *t = (vault_transport__http *)&api;
    assert_int_equal(vault_transport__http_new(&t, base, flags), want_rc);
    assert_null(t);
}

static void test_http_url__loopback_http_is_allowed(void **state)
{
    (void)state;
    expect_url("http://127.0.0.1:8080", 0, "http://127.0.0.1:8080/v1/api", 1);
    expect_url("http://127.1.2.3/", 0, "http://127.1.2.3/v1/api", 1);
    expect_url("http://[::1]:8443", 0, "http://[::1]:8443/v1/api", 1);
    expect_url("http://[::ffff:127.0.0.1]:1", 0, "http://[::ffff:127.0.0.1]:1/v1/api", 1);
    expect_url("http://localhost:9", 0, "http://localhost:9/v1/api", 1);
    expect_url("HTTP://LocalHost:9/", 0, "http://LocalHost:9/v1/api", 1);
}

static void test_http_url__remote_http_is_refused(void **state)
{
    (void)state;
    expect_refused("http://example.com", 0, VAULT_E_INSECURE);
    expect_refused("http://example.com:80/", 0, VAULT_E_INSECURE);
    expect_refused("http://128.0.0.1", 0, VAULT_E_INSECURE);
    expect_refused("http://126.255.255.255", 0, VAULT_E_INSECURE);
    expect_refused("http://10.0.0.1:8443", 0, VAULT_E_INSECURE);
    expect_refused("http://[::2]", 0, VAULT_E_INSECURE);
    expect_refused("http://[::]", 0, VAULT_E_INSECURE);
    expect_refused("http://0.0.0.0", 0, VAULT_E_INSECURE);
    expect_refused("http://localhost.example.com", 0, VAULT_E_INSECURE);
    expect_refused("http://127.0.0.1.example.com", 0, VAULT_E_INSECURE);
    expect_refused("http://mylocalhost", 0, VAULT_E_INSECURE);
    expect_refused("http://example.com", VAULT_HTTP_INSECURE_TLS, VAULT_E_INSECURE);
}

static void test_http_url__allow_insecure_flag_lets_remote_http_pass(void **state)
{
    (void)state;
    expect_url("http://example.com", VAULT_HTTP_ALLOW_INSECURE, "http://example.com/v1/api", 0);
    expect_url("http://10.0.0.1:8443/vault/", VAULT_HTTP_ALLOW_INSECURE,
               "http://10.0.0.1:8443/vault/v1/api", 0);
    /* A transport is made, but nothing is sent until a call. */
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, "http://example.com",
                                               VAULT_HTTP_ALLOW_INSECURE), VAULT_OK);
    assert_non_null(t);
    vault_transport__http_free(t);
    vault_transport__http_free(NULL);
}

static void test_http_url__https_anywhere_with_prefix(void **state)
{
    (void)state;
    expect_url("https://vault.example.com", 0, "https://vault.example.com/v1/api", 0);
    expect_url("https://vault.example.com:8443/", 0, "https://vault.example.com:8443/v1/api", 0);
    expect_url("https://example.com/a/b//", 0, "https://example.com/a/b/v1/api", 0);
    expect_url("https://127.0.0.1:1", 0, "https://127.0.0.1:1/v1/api", 1);
}

static void test_http_url__garbage_is_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "not a url", "example.com", "127.0.0.1:8443", "//example.com",
        "ftp://example.com", "file:///etc/passwd", "gopher://example.com",
        "javascript:alert(1)", "https://", "http://",
        "https://example.com/?q=1", "https://example.com/#top",
        "https://user:pw@example.com", "https://user@example.com",
        "https://exa mple.com", "https://[::1", "http://[zz::1]",
        "https://example.com:99999", "https://example.com:port",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i], 0, VAULT_E_INVALID);
    expect_refused(NULL, 0, VAULT_E_INVALID);
    expect_refused("https://example.com", 4u, VAULT_E_INVALID);
    int loopback = 0;
    assert_int_equal(vault_transport__check_url("https://example.com", 0, NULL, &loopback),
                     VAULT_E_INVALID);
    assert_int_equal(vault_transport__http_new(NULL, "https://example.com", 0),
                     VAULT_E_INVALID);
}

static void test_http_url__allocation_failures_are_reported(void **state)
{
    (void)state;
    /* Every allocation of http_new fails in turn: each gives NOMEM (or a
     * libcurl failure reported as such) and leaks nothing. */
    for (uint64_t n = 1; n < 64; n++) {
        vault_transport__http *t = NULL;
        vault__alloc_fail_after(n);
        int rc = vault_transport__http_new(&t, "http://127.0.0.1:1/x", 0);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (rc == VAULT_OK) {
            assert_non_null(t);
            vault_transport__http_free(t);
            assert_true(seen < n); /* the failure point was past the last allocation */
            return;
        }
        assert_int_equal(rc, VAULT_E_NOMEM);
        assert_null(t);
    }
    fail_msg("http_new still failing after 63 allocations");
}

int http_run_url_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_url__loopback_http_is_allowed),
        cmocka_unit_test(test_http_url__remote_http_is_refused),
        cmocka_unit_test(test_http_url__allow_insecure_flag_lets_remote_http_pass),
        cmocka_unit_test(test_http_url__https_anywhere_with_prefix),
        cmocka_unit_test(test_http_url__garbage_is_invalid),
        cmocka_unit_test(test_http_url__allocation_failures_are_reported),
    };
    return cmocka_run_group_tests_name("http_url", tests, NULL, NULL);
}

/* Failed credential checks are rate-limited per account (and per unknown
 * email alike), persistently, without sleeping: the clock skew option moves
 * time. */
#include <pthread.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

static void expect_login(vault_server *s, const ts_account *a, const char *password,
                         const char *code, int64_t retry_after_ms)
{
    cJSON *resp = ts_login(s, a, password);
    if (code == NULL) {
        ts_assert_ok(resp);
    } else {
        ts_assert_error(resp, code);
        if (retry_after_ms >= 0)
            assert_int_equal(ts_u64(cJSON_GetObjectItemCaseSensitive(resp, "error"),
                                    "retry_after_ms"), retry_after_ms);
    }
    cJSON_Delete(resp);
}

static void skew(vault_server *s, int64_t seconds)
{
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, seconds), VAULT_OK);
}

static const char bad[] = "a wrong guess";

void test_server_ratelimit__delays_after_free_failures(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("ratelimit", &a);
    for (int i = 0; i < 5; i++)
        expect_login(s, &a, bad, "auth", -1);
    /* Sixth attempt at once: refused unchecked, even with the right key. */
    expect_login(s, &a, bad, "rate_limited", 1000);
    expect_login(s, &a, a.password, "rate_limited", 1000);
    /* Survives a restart (the counter is in the store). */
    vault_server_close(s);
    s = ts_reopen("ratelimit", 1);
    expect_login(s, &a, a.password, "rate_limited", 1000);
    /* 999 ms later still waiting; 1 s later one more try, then 2 s. */
    vault__set_clock_for_tests(TS_NOW_MS + 999);
    expect_login(s, &a, a.password, "rate_limited", 1);
    skew(s, 1);
    vault__set_clock_for_tests(TS_NOW_MS);
    expect_login(s, &a, bad, "auth", -1);
    expect_login(s, &a, bad, "rate_limited", 2000);
    skew(s, 3);
    expect_login(s, &a, bad, "auth", -1);
    expect_login(s, &a, a.password, "rate_limited", 4000);
    /* After the wait, the right key works and resets the count. */
    skew(s, 7);
    expect_login(s, &a, a.password, NULL, 0);
    for (int i = 0; i < 5; i++)
        expect_login(s, &a, bad, "auth", -1);
    expect_login(s, &a, bad, "rate_limited", 1000);
    vault_server_close(s);
}

void test_server_ratelimit__unknown_email_alike(void **state)
{
    (void)state;
    vault_server *s = ts_open("ratelimit_unknown", 1);
    ts_account ghost;
    ts_account_init(&ghost, 3);
    for (int i = 0; i < 5; i++)
        expect_login(s, &ghost, ghost.password, "auth", -1);
    expect_login(s, &ghost, ghost.password, "rate_limited", 1000);
    vault_server_close(s);
}

void test_server_ratelimit__delay_is_capped(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("ratelimit_cap", &a);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LOGIN_FREE, 2), VAULT_OK);
    int64_t t = 0;
    for (int i = 0; i < 2; i++)
        expect_login(s, &a, bad, "auth", -1);
    /* Waits 1, 2, 4, ... s, never more than 15 min. */
    int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000,
                          512000, 900000, 900000, 900000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        expect_login(s, &a, bad, "rate_limited", expected[i]);
        t += expected[i] / 1000;
        skew(s, t);
        expect_login(s, &a, bad, "auth", -1);
    }
    vault_server_close(s);
}

void test_server_ratelimit__change_password_counts(void **state)
{
    (void)state;
    vault_server *s = ts_open("ratelimit_change", 1);
    ts_account a, next;
    ts_account_init(&a, 1);
    ts_account_init(&next, 2);
    ts_register(s, &a);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LOGIN_FREE, 1), VAULT_OK);
    /* The proof a step-up operation carries starts with login_start, which
     * counts like a login: a wrong old password is a failed attempt. */
    cJSON *req = ts_session_request("change_password", a.session);
    ts_add_proof(s, req, &a, bad);
    test_opaque_record_for(s, a.email, next.password, next.record);
    cJSON_AddStringToObject(req, "record", next.record);
    cJSON_AddNumberToObject(req, "opslimit", 3);
    cJSON_AddNumberToObject(req, "memlimit", 64 * 1024 * 1024);
    ts_add_hex(req, "protected_key", next.protected_key, VAULT_PROTECTED_KEY_BYTES);
    ts_expect_error(ts_call(s, req), "auth");
    /* The next proof, for delete_account too, waits like a login. */
    test_proof p;
    assert_int_equal(test_opaque_prove(s, a.email, a.password, &p), VAULT_E_RATE_LIMITED);
    expect_login(s, &a, a.password, "rate_limited", 1000);
    vault_server_close(s);
}

typedef struct guess_ctx {
    vault_server *s;
    const ts_account *a;
    int auth, limited;
} guess_ctx;

static void *guess(void *arg)
{
    guess_ctx *g = arg;
    for (int i = 0; i < 10; i++) {
        cJSON *resp = ts_login(g->s, g->a, bad);
        const char *code = ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "code");
        g->auth += strcmp(code, "auth") == 0;
        g->limited += strcmp(code, "rate_limited") == 0;
        cJSON_Delete(resp);
    }
    return NULL;
}

/* Attempts are counted before the key is checked: guesses sent in parallel
 * cannot all pass the limit before the first failure is recorded. */
void test_server_ratelimit__parallel_guesses_do_not_slip(void **state)
{
    (void)state;
    enum { THREADS = 6 };
    ts_account a;
    vault_server *s = ts_open_registered("ratelimit_parallel", &a);
    pthread_t threads[THREADS];
    guess_ctx ctx[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&ctx[i], 0, sizeof ctx[i]);
        ctx[i].s = s;
        ctx[i].a = &a;
        assert_int_equal(pthread_create(&threads[i], NULL, guess, &ctx[i]), 0);
    }
    int auth = 0, limited = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        auth += ctx[i].auth;
        limited += ctx[i].limited;
    }
    assert_int_equal(auth, 5);
    assert_int_equal(limited, THREADS * 10 - 5);
    vault_server_close(s);
}

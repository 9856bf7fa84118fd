/* Out of memory at every allocation of a request, one after the other:
 * never a crash or a leak, always a response or VAULT_E_NOMEM. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

typedef cJSON *(*make_request_fn)(vault_server *s, ts_account *a, unsigned attempt);

/* Runs the request with the nth allocation failing, n = 1, 2, ... until a
 * run in which no injected failure happened; that run must succeed. */
static void fail_each_allocation(vault_server *s, ts_account *a, make_request_fn make)
{
    int succeeded = 0;
    for (uint64_t n = 1; n < 5000 && !succeeded; n++) {
        cJSON *req = make(s, a, (unsigned)n);
        char *text = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
        assert_non_null(text);
        char *response = NULL;
        vault__alloc_fail_after(n);
        int rc = vault_server_handle(s, text, strlen(text), &response);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        cJSON_free(text);
        if (rc == VAULT_E_NOMEM) {
            assert_null(response);
            assert_true(seen >= n);
            continue;
        }
        assert_int_equal(rc, VAULT_OK);
        cJSON *resp = cJSON_Parse(response);
        vault_free(response);
        assert_non_null(resp);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok"))) {
            succeeded = 1;
        } else {
            /* A failed allocation surfaces as "internal" (out of memory), or
             * as "invalid" when it hit the JSON parser, which cannot tell. */
            assert_true(seen >= n);
            const char *code = ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "code");
            if (strcmp(code, "internal") != 0 && strcmp(code, "invalid") != 0)
                fail_msg("allocation %llu failing gave \"%s\"", (unsigned long long)n, code);
        }
        cJSON_Delete(resp);
    }
    assert_true(succeeded);
}

static cJSON *make_login_start(vault_server *s, ts_account *a, unsigned attempt)
{
    (void)s, (void)attempt;
    static const char ke1[] =
        "c4dedb0ba6ed5d965d6f250fbe554cd45cba5dfcce3ce836e4aee778aa3cd44dda7e07376d6d6f034cfa9"
        "bb537d11b8c6b4238c334333d1f0aebb380cae6a6cc6e29bee50701498605b2c085d7b241ca15ba5c3202"
        "7dd21ba420b94ce60da326"; /* RFC 9807's first KE1 */
    cJSON *req = ts_request("login_start");
    cJSON_AddStringToObject(req, "email", a->email);
    cJSON_AddStringToObject(req, "ke1", ke1);
    return req;
}

static cJSON *make_register(vault_server *s, ts_account *a, unsigned attempt)
{
    (void)s;
    ts_account fresh;
    ts_account_init(&fresh, 1000 + attempt); /* a run may fail after its commit */
    (void)a;
    return ts_register_request(&fresh);
}

static cJSON *make_login(vault_server *s, ts_account *a, unsigned attempt)
{
    (void)s, (void)attempt;
    return ts_login_request(s, a, a->password);
}

static cJSON *make_pull(vault_server *s, ts_account *a, unsigned attempt)
{
    (void)s, (void)attempt;
    return ts_session_request("pull", a->session);
}

static cJSON *make_push(vault_server *s, ts_account *a, unsigned attempt)
{
    (void)attempt;
    return ts_push_request(a, ts_revision(s, a), "pushed under memory pressure");
}

void test_server_alloc__every_failure_answers(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("alloc", &a);
    /* Failures after the attempt was counted would lock the account out. */
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LOGIN_FREE, 1000), VAULT_OK);
    fail_each_allocation(s, &a, make_login_start);
    fail_each_allocation(s, &a, make_register);
    fail_each_allocation(s, &a, make_login);
    fail_each_allocation(s, &a, make_pull);
    fail_each_allocation(s, &a, make_push);
    /* An empty request is refused without allocating; then the error
     * response is the first allocation, and without it there is only NOMEM. */
    char *response = NULL;
    vault__alloc_fail_after(1);
    int rc = vault_server_handle(s, "", 0, &response);
    vault__alloc_fail_after(0);
    assert_int_equal(rc, VAULT_E_NOMEM);
    assert_null(response);
    assert_true(strlen(vault_server_errmsg(s)) > 0);
    vault_server_close(s);
}

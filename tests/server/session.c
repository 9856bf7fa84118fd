/* Session lifetime and server options. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

void test_server_session__expires(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("session", &a);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, 3599), VAULT_OK);
    assert_int_equal(ts_revision(s, &a), 1);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, 3600), VAULT_OK);
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "expired");
    /* An expired session is forgotten: afterwards it is simply unknown. */
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "auth");
    /* A shorter lifetime applies to new sessions. */
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_SESSION_TTL, 60), VAULT_OK);
    cJSON *resp = ts_login(s, &a, a.password);
    ts_assert_ok(resp);
    assert_int_equal(ts_u64(resp, "expires_ms"), TS_NOW_MS + 3600 * 1000 + 60 * 1000);
    snprintf(a.session, sizeof a.session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, 3660), VAULT_OK);
    resp = ts_call(s, ts_session_request("push", a.session));
    /* push without its members is invalid before the session is even looked at */
    ts_assert_error(resp, "invalid");
    cJSON_Delete(resp);
    ts_expect_error(ts_push(s, &a, 1, "late"), "expired");
    vault_server_close(s);
}

void test_server_options__validated(void **state)
{
    (void)state;
    vault_server *s = ts_open("options", 1);
    assert_string_equal(vault_server_errmsg(s), "");
    assert_int_equal(vault_server_set_option(s, 99, 1), VAULT_E_INVALID);
    assert_true(strlen(vault_server_errmsg(s)) > 0);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_SESSION_TTL, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LINK_TTL, -1), VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LOGIN_FREE, -1), VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_MAX_BLOB, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_MAX_BLOB,
                                             (int64_t)VAULT_BLOB_MAX_BYTES + 1),
                     VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, INT64_MAX),
                     VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LINK_TTL, 600), VAULT_OK);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_LOGIN_FREE, 0), VAULT_OK);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_CLOCK_SKEW, -60), VAULT_OK);
    assert_int_equal(vault_server_set_option(NULL, VAULT_SERVER_LINK_TTL, 1), VAULT_E_INVALID);
    vault_server_close(s);

    /* Opening checks its arguments. */
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    test_key(pepper, 1);
    const char *path = ts_db("options_open");
    assert_int_equal(vault_server_open(NULL, path, pepper, sizeof pepper, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, path, pepper, sizeof pepper - 1, 0),
                     VAULT_E_INVALID);
    assert_null(s);
    assert_int_equal(vault_server_open(&s, path, NULL, 32, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, path, pepper, sizeof pepper, 1), VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, NULL, pepper, sizeof pepper, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, "", pepper, sizeof pepper, 0), VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, ":memory:", pepper, sizeof pepper, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_server_open(&s, "/nonexistent-dir/x.db", pepper, sizeof pepper, 0),
                     VAULT_E_IO);
    assert_true(strlen(vault_last_error()) > 0);
    assert_null(s);
    vault_server_close(NULL);
    assert_string_equal(vault_server_errmsg(NULL), "no server handle");
}

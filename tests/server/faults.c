/* Storage failures: the client gets "internal" without detail, the operator
 * gets the detail, and the server keeps serving. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "server/server.h"
#include "server_test.h"

/* A store whose every operation fails as a broken disk would. */
typedef struct broken_store {
    vault_store base;
} broken_store;

static int broken(void)
{
    return vault__fail(VAULT_E_IO, "store: disk I/O error (simulated)");
}

static int b_session_lookup(vault_store *st, const uint8_t *token_hash, int64_t now_ms,
                            vault_store_session *out)
{
    (void)st, (void)token_hash, (void)now_ms, (void)out;
    return broken();
}

static int b_get_account_by_email_hash(vault_store *st, const uint8_t *email_hash,
                                       vault_store_account *out)
{
    (void)st, (void)email_hash, (void)out;
    return broken();
}

static const vault_store_ops broken_ops = {
    .session_lookup = b_session_lookup,
    .get_account_by_email_hash = b_get_account_by_email_hash,
};

void test_server_faults__storage_failure_is_internal(void **state)
{
    (void)state;
    vault_server *s = ts_open("faults", 1);
    ts_account a;
    ts_account_init(&a, 1);
    ts_register(s, &a);
    broken_store bad = {{&broken_ops}};
    vault_store *real = s->store;
    s->store = &bad.base;
    cJSON *resp = ts_call(s, ts_session_request("pull", a.session));
    ts_assert_error(resp, "internal");
    assert_string_equal(ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "message"),
                        "internal server error");
    cJSON_Delete(resp);
    assert_non_null(strstr(vault_server_errmsg(s), "disk I/O error"));
    resp = ts_login(s, &a, a.auth_key);
    ts_assert_error(resp, "internal");
    cJSON_Delete(resp);
    s->store = real;
    assert_int_equal(ts_revision(s, &a), 1);
    vault_server_close(s);
}

void test_server_faults__newer_schema_is_refused(void **state)
{
    (void)state;
    vault_server *s = ts_open("faults_schema", 1);
    vault_server_close(s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ts_db_path("faults_schema"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    test_key(pepper, 1);
    s = (vault_server *)1;
    assert_int_equal(vault_server_open(&s, ts_db_path("faults_schema"), pepper, sizeof pepper,
                                       0), VAULT_E_IO);
    assert_null(s);
    assert_non_null(strstr(vault_last_error(), "newer"));
}

/* Two handles on one file stand for two server processes: the failure
 * count one records stops guesses through the other. */
void test_server_faults__rate_limit_shared_by_processes(void **state)
{
    (void)state;
    vault_server *s = ts_open("faults_shared", 1);
    vault_server *other = ts_reopen("faults_shared", 1);
    ts_account a;
    ts_account_init(&a, 1);
    ts_register(s, &a);
    uint8_t bad[32];
    memcpy(bad, a.auth_key, sizeof bad);
    bad[5] ^= 1;
    for (int i = 0; i < 5; i++) {
        cJSON *resp = ts_login(i % 2 ? other : s, &a, bad);
        ts_assert_error(resp, "auth");
        cJSON_Delete(resp);
    }
    cJSON *resp = ts_login(other, &a, a.auth_key);
    ts_assert_error(resp, "rate_limited");
    cJSON_Delete(resp);
    resp = ts_login(s, &a, a.auth_key);
    ts_assert_error(resp, "rate_limited");
    cJSON_Delete(resp);
    vault_server_close(other);
    vault_server_close(s);
}

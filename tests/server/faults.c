/* Storage failures: the client gets "internal" without detail, the operator
 * gets the detail, and the server keeps serving. */
#include <libpq-fe.h>
#include <pthread.h>
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

static int b_login_attempt_begin(vault_store *st, const uint8_t *email_hash, int64_t now_ms,
                                 uint32_t free_failures, int64_t *retry_after_ms)
{
    (void)st, (void)email_hash, (void)now_ms, (void)free_failures, (void)retry_after_ms;
    return broken();
}

static const vault_store_ops broken_ops = {
    .session_lookup = b_session_lookup,
    .get_account_by_email_hash = b_get_account_by_email_hash,
    .login_attempt_begin = b_login_attempt_begin,
};

void test_server_faults__storage_failure_is_internal(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("faults", &a);
    broken_store bad = {{&broken_ops, NULL}};
    vault_store *real = s->store;
    s->store = &bad.base;
    cJSON *resp = ts_call(s, ts_session_request("pull", a.session));
    ts_assert_error(resp, "internal");
    assert_string_equal(ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "message"),
                        "internal server error");
    cJSON_Delete(resp);
    assert_non_null(strstr(vault_server_errmsg(s), "disk I/O error"));
    ts_expect_error(ts_login(s, &a, a.password), "internal");
    s->store = real;
    assert_int_equal(ts_revision(s, &a), 1);
    vault_server_close(s);
}

/* What an operator's log receives (vault_server_set_event_handler). */
typedef struct events {
    pthread_mutex_t lock;
    int count[4];
    char last[4][512];
} events;

static void on_event(int event, const char *message, void *ctx)
{
    events *e = ctx;
    assert_true(event >= 1 && event <= 3);
    pthread_mutex_lock(&e->lock);
    e->count[event]++;
    snprintf(e->last[event], sizeof e->last[event], "%s", message);
    pthread_mutex_unlock(&e->lock);
}

void test_server_faults__store_errors_and_recovery_are_reported(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("faults_events", &a);
    events e = {.lock = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(vault_server_set_event_handler(NULL, on_event, &e), VAULT_E_INVALID);
    assert_int_equal(vault_server_set_event_handler(s, on_event, &e), VAULT_OK);
    assert_int_equal(ts_revision(s, &a), 1);
    assert_int_equal(e.count[VAULT_SERVER_EVENT_STORE_RECOVERED], 0); /* nothing failed yet */
    broken_store bad = {{&broken_ops, NULL}};
    vault_store *real = s->store;
    s->store = &bad.base;
    cJSON *resp = ts_call(s, ts_session_request("pull", a.session));
    ts_assert_error(resp, "internal");
    cJSON_Delete(resp);
    assert_int_equal(e.count[VAULT_SERVER_EVENT_STORE_ERROR], 1); /* one per failed request */
    ts_expect_error(ts_login(s, &a, a.password), "internal");
    assert_true(e.count[VAULT_SERVER_EVENT_STORE_ERROR] > 1);
    assert_non_null(strstr(e.last[VAULT_SERVER_EVENT_STORE_ERROR], "disk I/O error"));
    /* No secret in the line: neither the session token nor the email. */
    assert_null(strstr(e.last[VAULT_SERVER_EVENT_STORE_ERROR], a.email));
    s->store = real;
    assert_int_equal(ts_revision(s, &a), 1);
    assert_int_equal(ts_revision(s, &a), 1);
    assert_int_equal(e.count[VAULT_SERVER_EVENT_STORE_RECOVERED], 1); /* once, not per request */
    /* Rate-limit trips. */
    for (int i = 0; i < 5; i++)
        ts_expect_error(ts_login(s, &a, "a wrong guess"), "auth");
    assert_int_equal(e.count[VAULT_SERVER_EVENT_RATE_LIMITED], 0);
    ts_expect_error(ts_login(s, &a, a.password), "rate_limited");
    assert_int_equal(e.count[VAULT_SERVER_EVENT_RATE_LIMITED], 1);
    assert_non_null(strstr(e.last[VAULT_SERVER_EVENT_RATE_LIMITED], "retry in"));
    assert_null(strstr(e.last[VAULT_SERVER_EVENT_RATE_LIMITED], a.email));
    vault_server_close(s);
}

void test_server_faults__newer_schema_is_refused(void **state)
{
    (void)state;
    vault_server *s = ts_open("faults_schema", 1);
    vault_server_close(s);
    if (ts_backend_is_pg())
        assert_int_equal(ts_db_run("faults_schema", "UPDATE schema_version SET version = 99"), 1);
    else
        ts_db_run("faults_schema", "PRAGMA user_version = 99");
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    test_key(pepper, 1);
    s = (vault_server *)1;
    assert_int_equal(vault_server_open(&s, ts_db("faults_schema"), pepper, sizeof pepper,
                                       0), VAULT_E_IO);
    assert_null(s);
    assert_non_null(strstr(vault_last_error(), "newer"));
}

/* Two handles on one file stand for two server processes: the failure
 * count one records stops guesses through the other. */
void test_server_faults__rate_limit_shared_by_processes(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("faults_shared", &a);
    vault_server *other = ts_reopen("faults_shared", 1);
    const char *bad = "a wrong guess";
    for (int i = 0; i < 5; i++) {
        ts_expect_error(ts_login(i % 2 ? other : s, &a, bad), "auth");
    }
    ts_expect_error(ts_login(other, &a, a.password), "rate_limited");
    ts_expect_error(ts_login(s, &a, a.password), "rate_limited");
    vault_server_close(other);
    vault_server_close(s);
}

/* A postgresql:// or postgres:// db argument selects PostgreSQL. A database
 * that cannot be reached is VAULT_E_IO with the cause; a malformed URI is
 * VAULT_E_INVALID. Neither message repeats the URI, which may hold a
 * password. */
void test_server_faults__unreachable_database_is_io(void **state)
{
    (void)state;
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    test_key(pepper, 1);
    vault_server *s = (vault_server *)1;
    /* Nothing listens on port 1 of the loopback: refused at once. */
    assert_int_equal(vault_server_open(&s, "postgresql://vault:Secret-pw@127.0.0.1:1/vault",
                                       pepper, sizeof pepper, 0),
                     VAULT_E_IO);
    assert_null(s);
    assert_non_null(strstr(vault_last_error(), "cannot connect to PostgreSQL"));
    assert_null(strstr(vault_last_error(), "Secret-pw"));
    assert_int_equal(vault_server_open(&s, "postgres://127.0.0.1:1/vault?connect_timeout=2",
                                       pepper, sizeof pepper, 0),
                     VAULT_E_IO);
    assert_non_null(strstr(vault_last_error(), "PostgreSQL"));
    assert_int_equal(vault_server_open(&s, "postgresql://vault:Secret-pw@host/db?nosuch=1",
                                       pepper, sizeof pepper, 0),
                     VAULT_E_INVALID);
    assert_null(s);
    assert_non_null(strstr(vault_last_error(), "malformed PostgreSQL URI"));
    assert_null(strstr(vault_last_error(), "Secret-pw"));
}

/* The database the test closed, and a connection to another database of
 * the cluster that can open it again. */
static char closed_db[128];
static struct pg_conn *closed_by;

/* Kills every connection the servers hold, as a database restart does, and
 * waits until they are gone. */
static void terminate_server_connections(struct pg_conn *admin)
{
    ts_pg_exec(admin, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                      " WHERE datname = current_database() AND application_name = 'vaultd'");
}

static void allow_connections(int allow)
{
    char sql[200];
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS %s", closed_db,
             allow ? "true" : "false");
    ts_pg_exec(closed_by, sql);
}

/* Whatever happened in the test, the database opens again. */
int ts_reopen_database(void **state)
{
    (void)state;
    if (closed_by != NULL) {
        allow_connections(1);
        ts_pg_finish(closed_by);
        closed_by = NULL;
    }
    return 0;
}

static void expect_internal(vault_server *s, cJSON *request)
{
    cJSON *resp = ts_call(s, request);
    ts_assert_error(resp, "internal");
    assert_string_equal(ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "message"),
                        "internal server error");
    cJSON_Delete(resp);
    assert_non_null(strstr(vault_server_errmsg(s), "PostgreSQL"));
}

/* PostgreSQL only: the server's connections are cut (a restart) and then the
 * database refuses new ones (down). Requests fail as "internal" while it is
 * down, with the cause for the operator, and succeed as soon as it is back;
 * nothing accepted is lost. */
void test_server_faults__connection_loss_survived(void **state)
{
    (void)state;
    if (!ts_backend_is_pg())
        skip();
    ts_account a;
    vault_server *s = ts_open_registered("faults_conn", &a);
    ts_expect_ok(ts_push(s, &a, 1, "two"));
    struct pg_conn *admin = ts_pg_admin();
    snprintf(closed_db, sizeof closed_db, "%s", PQdb(admin));
    closed_by = ts_pg_admin_elsewhere();

    terminate_server_connections(admin);
    assert_int_equal(ts_revision(s, &a), 2);
    terminate_server_connections(admin);
    ts_expect_ok(ts_push(s, &a, 2, "three"));

    cJSON *login = ts_login_request(s, &a, a.password); /* its login_start runs now */
    allow_connections(0);
    terminate_server_connections(admin);
    expect_internal(s, ts_session_request("pull", a.session));
    expect_internal(s, ts_push_request(&a, 3, "lost"));
    expect_internal(s, login);

    allow_connections(1);
    assert_int_equal(ts_revision(s, &a), 3);
    ts_expect_ok(ts_push(s, &a, 3, "four"));
    ts_expect_ok(ts_login(s, &a, a.password));
    ts_pg_finish(admin);
    ts_reopen_database(NULL);
    vault_server_close(s);
}

/* PostgreSQL only: a database left at version 2 (before reverse links) is
 * upgraded in place when a server opens it, keeping its data. */
void test_server_faults__schema_upgrade_in_place(void **state)
{
    (void)state;
    if (!ts_backend_is_pg())
        skip();
    ts_account a;
    vault_server *s = ts_open_registered("faults_upgrade", &a);
    vault_server_close(s);
    /* Undo migrations 4 and 3 by hand: the account is one of protocol 1. */
    ts_db_run("faults_upgrade", "ALTER TABLE accounts DROP COLUMN record");
    ts_db_run("faults_upgrade", "ALTER TABLE accounts ADD COLUMN verifier bytea,"
                                " ADD COLUMN salt bytea");
    ts_db_run("faults_upgrade", "ALTER TABLE links DROP COLUMN role");
    ts_db_run("faults_upgrade", "ALTER TABLE links ALTER COLUMN account_id SET NOT NULL");
    ts_db_run("faults_upgrade", "ALTER TABLE links ALTER COLUMN device_id SET NOT NULL");
    assert_int_equal(ts_db_run("faults_upgrade", "UPDATE schema_version SET version = 2"), 1);

    s = ts_reopen("faults_upgrade", 1);
    assert_int_equal(ts_db_run("faults_upgrade", "SELECT version FROM schema_version"), 4);
    /* No legacy login path: the protocol 1 account keeps its data and open
     * session but has no OPAQUE record, so no password logs in to it. */
    ts_expect_error(ts_login(s, &a, a.password), "auth");
    assert_int_equal(ts_db_run("faults_upgrade", "SELECT count(*) FROM information_schema.columns"
                                                 " WHERE table_schema = current_schema()"
                                                 " AND table_name = 'links'"
                                                 " AND column_name = 'role'"),
                     1);
    assert_int_equal(ts_revision(s, &a), 1);
    vault_store_link link;
    memset(&link, 0, sizeof link);
    link.role = VAULT_STORE_LINK_REVERSE;
    link.id[0] = 1;
    link.expires_ms = TS_NOW_MS + 1000;
    assert_int_equal(s->store->ops->link_request(s->store, &link, TS_NOW_MS), VAULT_OK);
    vault_server_close(s);
}

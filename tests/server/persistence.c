/* State survives a restart; the database holds no email and no key. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

void test_server_persistence__survives_reopen(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("persist", &a);
    ts_expect_ok(ts_push(s, &a, 1, "two"));
    vault_server_close(s);

    s = ts_reopen("persist", 1);
    assert_int_equal(ts_revision(s, &a), 2); /* the session survived too */
    cJSON *resp = ts_login(s, &a, a.password);
    ts_assert_ok(resp);
    assert_int_equal(ts_u64(resp, "revision"), 2);
    cJSON_Delete(resp);
    ts_expect_ok(ts_push(s, &a, 2, "three"));
    vault_server_close(s);

    /* Another pepper cannot check the key: verifiers and email hashes are keyed. */
    s = ts_reopen("persist", 2);
    ts_expect_error(ts_login(s, &a, a.password), "auth");
    vault_server_close(s);
}

static void assert_absent(const uint8_t *data, size_t len, const void *needle, size_t n,
                          const char *what)
{
    if (test_contains(data, len, needle, n))
        fail_msg("the database contains %s", what);
}

static void check_bytes(const uint8_t *data, size_t len, const ts_account *a,
                        const char *session)
{
    uint8_t token[32];
    assert_absent(data, len, a->email, strlen(a->email), "the email");
    assert_absent(data, len, "user1@", 6, "the email's local part");
    assert_absent(data, len, "USER1@", 6, "the email's local part");
    assert_absent(data, len, a->password, strlen(a->password), "the password");
    assert_int_equal(vault__hex2bin(token, sizeof token, session), VAULT_OK);
    assert_absent(data, len, token, sizeof token, "a session token");
    assert_absent(data, len, session, strlen(session), "a session token in hex");
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    test_key(pepper, 1);
    assert_absent(data, len, pepper, sizeof pepper, "the pepper");
}

static void check_file(const char *path, const ts_account *a, const char *session)
{
    size_t len = 0;
    uint8_t *data = test_read_file(path, &len);
    if (data == NULL)
        return; /* -wal and -shm may be gone after a clean close */
    check_bytes(data, len, a, session);
    free(data);
}

/* What the server stored, and on SQLite also its write-ahead log. */
static void check_database(const char *name, const ts_account *a, const char *session)
{
    size_t len = 0;
    uint8_t *data = ts_db_contents(name, &len);
    assert_non_null(data);
    assert_true(len > 0);
    check_bytes(data, len, a, session);
    free(data);
    if (!ts_backend_is_pg()) {
        char side[1100];
        snprintf(side, sizeof side, "%s-wal", ts_db(name));
        check_file(side, a, session);
    }
}

void test_server_breach__no_email_or_key_in_database(void **state)
{
    (void)state;
    vault_server *s = ts_open("breach", 1);
    ts_account a;
    ts_account_init(&a, 1);
    snprintf(a.email, sizeof a.email, "User1@Example.com");
    ts_register(s, &a);
    cJSON *resp = ts_login(s, &a, a.password);
    ts_assert_ok(resp);
    char session[65];
    snprintf(session, sizeof session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
    ts_expect_ok(ts_push(s, &a, 1, "two"));
    /* While open (SQLite: data in the WAL) and after closing (checkpointed). */
    for (int closed = 0; closed < 2; closed++) {
        check_database("breach", &a, session);
        check_database("breach", &a, a.session);
        if (!closed)
            vault_server_close(s);
    }
}

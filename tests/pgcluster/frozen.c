/* A frozen database (every PostgreSQL process SIGSTOPped: connections stay
 * open, nothing answers) makes requests fail as "internal" within the store
 * deadline instead of hanging, the operator's event handler hears of it, and
 * the first request after the thaw succeeds and is reported as a recovery.
 * The test has no timing assertion: a hang is caught by ctest's timeout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcluster.h"
#include "proof.h"

typedef struct events {
    pthread_mutex_t lock;
    int errors, recoveries;
    char last_error[512];
} events;

static void on_event(int event, const char *message, void *ctx)
{
    events *e = ctx;
    pthread_mutex_lock(&e->lock);
    if (event == VAULT_SERVER_EVENT_STORE_ERROR) {
        e->errors++;
        snprintf(e->last_error, sizeof e->last_error, "%s", message);
    } else if (event == VAULT_SERVER_EVENT_STORE_RECOVERED) {
        e->recoveries++;
    }
    pthread_mutex_unlock(&e->lock);
}

/* A login_start reads the store (the account by its email hash; an unknown
 * one is answered from a fake record, so the client's KE3 fails as "auth"). */
static int prelogin_ok(vault_server *s)
{
    test_proof p;
    cJSON *error = NULL;
    int rc = test_opaque_prove_ex(s, "frozen@example.com", "frozen password", &p, &error);
    if (error != NULL) {
        char *text = cJSON_PrintUnformatted(error);
        assert_non_null(strstr(text, "\"internal\""));
        cJSON_free(text);
        cJSON_Delete(error);
        return 0;
    }
    assert_int_equal(rc, VAULT_E_AUTH);
    return 1;
}

static void shell(const char *env)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s >/dev/null", getenv(env));
    if (system(cmd) != 0)
        fail_msg("%s failed: %s", env, cmd);
}

void test_pgcluster__frozen_database_is_an_error_not_a_hang(void **state)
{
    (void)state;
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    memset(pepper, 0x46, sizeof pepper);
    vault_server *s = NULL;
    assert_int_equal(vault_server_open(&s, getenv("VAULT_TEST_PG_URI"), pepper, sizeof pepper,
                                       0), VAULT_OK);
    events e = {.lock = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(vault_server_set_event_handler(s, on_event, &e), VAULT_OK);
    assert_true(prelogin_ok(s)); /* a pooled connection is open now */
    shell("VAULT_TEST_PG_FREEZE");
    int ok = prelogin_ok(s);
    shell("VAULT_TEST_PG_THAW");
    assert_false(ok);
    assert_int_equal(e.errors, 1);
    assert_non_null(strstr(e.last_error, "did not answer"));
    assert_true(prelogin_ok(s));
    assert_int_equal(e.recoveries, 1);
    printf("pgcluster: frozen database: \"%s\", then recovered\n", e.last_error);
    vault_server_close(s);
}

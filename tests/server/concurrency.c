/* Many threads pushing to one server: no accepted push is ever lost. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

enum { PUSHERS = 6, ATTEMPTS = 25 };

typedef struct pusher {
    vault_server *s;
    ts_account a; /* own copy: its own session */
    uint64_t accepted[ATTEMPTS];
    int n_accepted;
    int failures;
} pusher;

/* Each thread pushes on the revision it last heard of; a conflict tells it
 * the current one. Every answer must be ok or conflict. */
static void *push_loop(void *arg)
{
    pusher *p = arg;
    uint64_t base = 1;
    for (int i = 0; i < ATTEMPTS; i++) {
        cJSON *resp = ts_call(p->s, ts_push_request(&p->a, base, "concurrent"));
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
        if (cJSON_IsTrue(ok)) {
            p->accepted[p->n_accepted++] = (uint64_t)cJSON_GetObjectItemCaseSensitive(
                resp, "revision")->valuedouble;
            base++;
        } else if (err != NULL && strcmp(cJSON_GetObjectItemCaseSensitive(err, "code")
                                             ->valuestring, "conflict") == 0) {
            base = (uint64_t)cJSON_GetObjectItemCaseSensitive(err, "current_revision")
                       ->valuedouble;
        } else {
            p->failures++;
        }
        cJSON_Delete(resp);
    }
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

void test_server_concurrency__pushes_never_lost(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("concurrency", &a);
    /* A second handle on the same file stands for a second server process:
     * its writers meet the first one's in SQLite's locks, not in our mutex. */
    vault_server *other = ts_reopen("concurrency", 1);
    pusher *p = calloc(PUSHERS, sizeof *p);
    pthread_t threads[PUSHERS];
    for (int i = 0; i < PUSHERS; i++) {
        p[i].s = i % 2 == 0 ? s : other;
        /* Each pusher logs in: its own session (and connection traffic). */
        cJSON *resp = ts_login(s, &a, a.password);
        ts_assert_ok(resp);
        p[i].a = a;
        snprintf(p[i].a.session, sizeof p[i].a.session, "%s", ts_str(resp, "session"));
        cJSON_Delete(resp);
    }
    for (int i = 0; i < PUSHERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, push_loop, &p[i]), 0);
    uint64_t all[PUSHERS * ATTEMPTS];
    size_t n = 0;
    for (int i = 0; i < PUSHERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(p[i].failures, 0);
        for (int k = 0; k < p[i].n_accepted; k++)
            all[n++] = p[i].accepted[k];
    }
    assert_true(n > 0);
    qsort(all, n, sizeof all[0], cmp_u64);
    /* Distinct, and exactly 2..n+1: nothing accepted was overwritten. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(all[i], i + 2);
    assert_int_equal(ts_revision(s, &a), n + 1);
    assert_int_equal(ts_revision(other, &a), n + 1);
    free(p);
    vault_server_close(other);
    vault_server_close(s);
}

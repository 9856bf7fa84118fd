/* Allocation-failure injection through whole client operations (the
 * per-module tests cover seal, open, items and single server requests):
 * unlock, save, a pull that merges, a push, a full sync, and a merge. For
 * N = 1, 2, ... the Nth allocation fails — in the client or in the
 * in-process server it talks to — until a run sees no injected failure.
 * Each failing run must return a clean status and leave the client able to
 * retry; the ASan build checks that nothing leaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breach.h"
#include "common/common.h"
#include "world.h"

#define PASSWORD "alloc failure password"
#define MAX_RUNS 20000

typedef struct alloc_world {
    tw_world *tw;
    vault_client *a, *b;
} alloc_world;

static void add_note(vault_client *c, const char *title)
{
    vault *v = NULL;
    char json[128];
    snprintf(json, sizeof json, "{\"type\":\"note\",\"title\":\"%s\",\"fields\":[{\"name\":"
                                "\"body\",\"value\":\"text of %s\",\"hidden\":true}]}",
             title, title);
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, json, NULL), VAULT_OK);
}

/* A and B share an account at revision 2 (one item each way). */
static int alloc_setup(void **state)
{
    alloc_world *w = tw_state_new(sizeof *w, "alloc");
    w->tw->direct = 1; /* no liar in between: its parsing would meet the failures */
    w->a = tw_registered(w->tw, "a", "alloc@example.org", PASSWORD)->c;
    add_note(w->a, "first");
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    w->b = tw_logged_in(w->tw, "b", "alloc@example.org", PASSWORD)->c;
    *state = w;
    return 0;
}

static int alloc_teardown(void **state)
{
    vault__alloc_fail_after(0);
    return tw_teardown(state);
}

typedef int (*client_op)(vault_client *c);

/* The statuses an operation may give when an allocation fails: out of
 * memory, or — when the failure hit the in-process server or a JSON parser
 * that cannot tell "no memory" from "bad input" — the server's "internal"
 * answer or a malformed-answer error, both VAULT_E_SERVER. */
static int clean_failure(int rc)
{
    return rc == VAULT_E_NOMEM || rc == VAULT_E_SERVER;
}

/* Runs op with the Nth allocation failing for N = 1, 2, ... until a run
 * sees no injected failure; returns the number of runs. */
static uint64_t fail_each_allocation(vault_client *c, client_op op)
{
    for (uint64_t n = 1; n < MAX_RUNS; n++) {
        vault__alloc_fail_after(n);
        int rc = op(c);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (seen < n) {
            if (rc != VAULT_OK)
                fail_msg("run %llu (no failure injected) gave %d: %s", (unsigned long long)n, rc,
                         vault_client_errmsg(c));
            return n;
        }
        if (rc != VAULT_OK && !clean_failure(rc))
            fail_msg("allocation %llu failing gave %d: %s", (unsigned long long)n, rc,
                     vault_client_errmsg(c));
    }
    fail_msg("no run without an injected failure after %d runs", MAX_RUNS);
    return 0;
}

static int do_save(vault_client *c)
{
    return vault_client_save(c);
}

static int do_pull(vault_client *c)
{
    return vault_client_pull(c);
}

static int do_push(vault_client *c)
{
    return vault_client_push(c);
}

static int do_sync(vault_client *c)
{
    return vault_client_sync(c);
}

static int do_unlock(vault_client *c)
{
    vault_client_lock(c);
    return vault_client_unlock(c, PASSWORD);
}

static void test_breach_alloc__save(void **state)
{
    alloc_world *w = *state;
    add_note(w->a, "unsaved");
    uint64_t runs = fail_each_allocation(w->a, do_save);
    printf("save: %llu runs\n", (unsigned long long)runs);
    vault_client_lock(w->a);
    assert_int_equal(vault_client_unlock(w->a, PASSWORD), VAULT_OK);
    assert_int_equal(tw_count(w->a), 2);
}

static void test_breach_alloc__unlock(void **state)
{
    alloc_world *w = *state;
    uint64_t runs = fail_each_allocation(w->a, do_unlock);
    printf("unlock: %llu runs\n", (unsigned long long)runs);
    assert_int_equal(tw_count(w->a), 1);
}

/* B pushed an item; A edited offline: A's pull merges both. */
static void test_breach_alloc__pull_with_merge(void **state)
{
    alloc_world *w = *state;
    add_note(w->b, "from b");
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    add_note(w->a, "from a");
    uint64_t runs = fail_each_allocation(w->a, do_pull);
    printf("pull with merge: %llu runs\n", (unsigned long long)runs);
    assert_int_equal(tw_count(w->a), 3);
    uint64_t rev = 0;
    assert_int_equal(vault_client_revision(w->a, &rev), VAULT_OK);
    assert_int_equal(rev, 3);
}

/* A push whose answer was lost to a failure is pushed again by the next
 * run, which the server refuses (it moved on): that run is a conflict, a
 * clean error too. The final state must agree with the server. */
static void test_breach_alloc__push(void **state)
{
    alloc_world *w = *state;
    add_note(w->a, "pushed");
    for (uint64_t n = 1; n < MAX_RUNS; n++) {
        vault__alloc_fail_after(n);
        int rc = do_push(w->a);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (rc == VAULT_E_CONFLICT)
            rc = vault_client_sync(w->a);
        if (seen < n || rc == VAULT_OK) {
            assert_int_equal(rc, VAULT_OK);
            printf("push: %llu runs\n", (unsigned long long)n);
            break;
        }
        if (!clean_failure(rc))
            fail_msg("allocation %llu failing gave %d: %s", (unsigned long long)n, rc,
                     vault_client_errmsg(w->a));
    }
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(tw_count(w->b), 2);
}

static void test_breach_alloc__full_sync(void **state)
{
    alloc_world *w = *state;
    add_note(w->b, "b side");
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    add_note(w->a, "a side");
    uint64_t runs = fail_each_allocation(w->a, do_sync);
    printf("sync: %llu runs\n", (unsigned long long)runs);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(tw_count(w->a), 3);
    assert_int_equal(tw_count(w->b), 3);
}

/* The merge itself, on vaults that exercise every rule (field conflict with
 * history, tags, delete versus edit, creations on both sides). */
static void test_breach_alloc__merge(void **state)
{
    (void)state;
    vault *base = NULL, *local = NULL, *remote = NULL;
    char *id = NULL, *del = NULL, *json = NULL;
    assert_int_equal(vault_new(&base), VAULT_OK);
    assert_int_equal(vault_item_add(base, "{\"type\":\"login\",\"title\":\"t\",\"fields\":[{"
                                          "\"name\":\"p\",\"value\":\"0\",\"hidden\":true}],"
                                          "\"tags\":[\"a\",\"b\"]}",
                                    &id),
                     VAULT_OK);
    assert_int_equal(vault_item_add(base, "{\"type\":\"note\",\"title\":\"gone\"}", &del),
                     VAULT_OK);
    assert_int_equal(vault_to_json(base, &json), VAULT_OK);
    assert_int_equal(vault_from_json(&local, json, strlen(json)), VAULT_OK);
    assert_int_equal(vault_from_json(&remote, json, strlen(json)), VAULT_OK);
    vault__set_clock_for_tests(1800000000000);
    assert_int_equal(vault_item_update(local, id, "{\"type\":\"login\",\"title\":\"L\",\"fields\":"
                                                  "[{\"name\":\"p\",\"value\":\"1\",\"hidden\":"
                                                  "true}],\"tags\":[\"a\",\"c\"]}"),
                     VAULT_OK);
    assert_int_equal(vault_item_delete(local, del), VAULT_OK);
    assert_int_equal(vault_item_add(local, "{\"type\":\"note\",\"title\":\"new L\"}", NULL),
                     VAULT_OK);
    vault__set_clock_for_tests(1800000001000);
    assert_int_equal(vault_item_update(remote, id, "{\"type\":\"login\",\"title\":\"R\",\"fields\":"
                                                   "[{\"name\":\"p\",\"value\":\"2\",\"hidden\":"
                                                   "true}],\"tags\":[\"b\",\"d\"]}"),
                     VAULT_OK);
    assert_int_equal(vault_item_update(remote, del, "{\"type\":\"note\",\"title\":\"kept\"}"),
                     VAULT_OK);
    vault__set_clock_for_tests(0);
    uint64_t n = 1;
    for (; n < MAX_RUNS; n++) {
        vault *out = NULL;
        vault__alloc_fail_after(n);
        int rc = vault_merge(&out, base, local, remote);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (seen < n) {
            uint64_t count = 0;
            assert_int_equal(rc, VAULT_OK);
            assert_int_equal(vault_item_count(out, &count), VAULT_OK);
            assert_int_equal(count, 3);
            vault_close(out);
            break;
        }
        if (rc != VAULT_E_NOMEM)
            fail_msg("allocation %llu failing gave %d", (unsigned long long)n, rc);
        assert_null(out);
    }
    printf("merge: %llu runs\n", (unsigned long long)n);
    vault_free(id);
    vault_free(del);
    vault_free(json);
    vault_close(base);
    vault_close(local);
    vault_close(remote);
}

int breach_run_alloc_tests(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, alloc_setup, alloc_teardown)
    const struct CMUnitTest tests[] = {
        T(test_breach_alloc__save),      T(test_breach_alloc__unlock),
        T(test_breach_alloc__pull_with_merge), T(test_breach_alloc__push),
        T(test_breach_alloc__full_sync), cmocka_unit_test(test_breach_alloc__merge),
    };
#undef T
    return cmocka_run_group_tests_name("breach_alloc", tests, NULL, NULL);
}

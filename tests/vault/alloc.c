/* Allocation failures: the Nth allocation fails, for N = 1, 2, ... until the
 * call succeeds without hitting it. Every call returns VAULT_E_NOMEM or
 * succeeds, leaves the vault as it was on failure, and (under ASan) leaks
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "vtest.h"

#define ID_A "0123456789abcdef0123456789abcdef"

static const char *const item_json =
    "{\"type\":\"login\",\"title\":\"GitHub\",\"tags\":[\"work\",\"dev\"],\"fields\":["
    "{\"name\":\"user\",\"value\":\"ada\",\"hidden\":false},"
    "{\"name\":\"password\",\"value\":\"p0\",\"hidden\":true}]}";

static vault *base_vault(void)
{
    vault *v = vt_new();
    char json[512];
    snprintf(json, sizeof json, "{\"id\":\"" ID_A "\",%s", item_json + 1);
    vt_add(v, json);
    vt_add(v, "{\"type\":\"note\",\"title\":\"n\"}");
    return v;
}

typedef int (*op_fn)(vault *v, char **out);

static int op_add(vault *v, char **out)
{
    return vault_item_add(v, item_json, out);
}

static int op_update(vault *v, char **out)
{
    (void)out;
    return vault_item_update(v, ID_A,
                             "{\"type\":\"login\",\"title\":\"G\",\"fields\":["
                             "{\"name\":\"password\",\"value\":\"p1\",\"hidden\":true}]}");
}

static int op_delete(vault *v, char **out)
{
    (void)out;
    return vault_item_delete(v, ID_A);
}

static int op_to_json(vault *v, char **out)
{
    return vault_to_json(v, out);
}

static int op_get(vault *v, char **out)
{
    return vault_item_get(v, ID_A, out);
}

static int op_list(vault *v, char **out)
{
    return vault_item_list(v, VAULT_LIST_DELETED, out);
}

static int op_search(vault *v, char **out)
{
    return vault_item_search(v, "git", out);
}

/* The serialized base vault, made before the failures are armed. */
static char *base_json;

static int op_from_json(vault *v, char **out)
{
    vault *w = NULL;
    (void)v;
    (void)out;
    int rc = vault_from_json(&w, base_json, strlen(base_json));
    assert_true(rc == VAULT_OK ? w != NULL : w == NULL);
    vault_close(w);
    return rc;
}

/* Runs op with the nth allocation failing, for every n until it succeeds
 * untouched; on failure the vault must serialize exactly as before. */
static void fail_each_allocation(op_fn op)
{
    for (uint64_t n = 1;; n++) {
        vault *v = base_vault();
        char *before = NULL, *out = NULL, *after = NULL;
        assert_int_equal(vault_to_json(v, &before), VAULT_OK);
        vault__alloc_fail_after(n);
        int rc = op(v, &out);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        if (rc != VAULT_OK && rc != VAULT_E_NOMEM)
            fprintf(stderr, "allocation %llu: %d %s\n", (unsigned long long)n, rc,
                    vault_last_error());
        assert_true(rc == VAULT_OK || rc == VAULT_E_NOMEM);
        if (rc == VAULT_E_NOMEM) {
            assert_null(out);
            assert_int_equal(vault_to_json(v, &after), VAULT_OK);
            assert_string_equal(before, after);
        }
        vault_free(out);
        vault_free(before);
        vault_free(after);
        vault_close(v);
        if (seen < n) { /* the failure was never reached */
            assert_int_equal(rc, VAULT_OK);
            return;
        }
    }
}

static void test_vault_alloc__add(void **state)
{
    (void)state;
    fail_each_allocation(op_add);
}

static void test_vault_alloc__update(void **state)
{
    (void)state;
    fail_each_allocation(op_update);
}

static void test_vault_alloc__delete(void **state)
{
    (void)state;
    fail_each_allocation(op_delete);
}

static void test_vault_alloc__to_json(void **state)
{
    (void)state;
    fail_each_allocation(op_to_json);
}

static void test_vault_alloc__get_list_search(void **state)
{
    (void)state;
    fail_each_allocation(op_get);
    fail_each_allocation(op_list);
    fail_each_allocation(op_search);
}

static void test_vault_alloc__from_json(void **state)
{
    (void)state;
    vault *v = base_vault();
    assert_int_equal(vault_to_json(v, &base_json), VAULT_OK);
    vault_close(v);
    fail_each_allocation(op_from_json);
    vault_free(base_json);
    base_json = NULL;
}

int vt_run_alloc(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_alloc__add),
        cmocka_unit_test(test_vault_alloc__update),
        cmocka_unit_test(test_vault_alloc__delete),
        cmocka_unit_test(test_vault_alloc__to_json),
        cmocka_unit_test(test_vault_alloc__get_list_search),
        cmocka_unit_test(test_vault_alloc__from_json),
    };
    return cmocka_run_group_tests_name("vault allocation failures", tests, NULL, NULL);
}

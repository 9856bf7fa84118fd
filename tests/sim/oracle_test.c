/*
 * The oracle's own tests: it must flag a loss and accept what the merge
 * rules allow, or a passing simulation would prove nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "testutil.h"

#define SEED 7

typedef struct fixture {
    sim_oracle o;
    vault *v;
    sim_set none;
    sim_trace t;
} fixture;

static void add_item(fixture *f, int dev)
{
    char id[33], json[512];
    int e = f->o.nedits;
    sim_item_id(id, SEED, f->o.nitems);
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"type\":\"login\",\"title\":\"t\",\"fields\":["
             "{\"name\":\"f0\",\"value\":\"e%d\",\"hidden\":true},"
             "{\"name\":\"f1\",\"value\":\"e%d\",\"hidden\":true},"
             "{\"name\":\"f2\",\"value\":\"e%d\",\"hidden\":true}]}",
             id, e, e + 1, e + 2);
    assert_int_equal(vault_item_add(f->v, json, NULL), VAULT_OK);
    for (int field = 0; field < SIM_FIELDS; field++)
        sim_oracle_edit(&f->o, dev, f->o.nitems, field);
    f->o.nitems++;
}

/* Sets field f0 of item 0 in the vault to value e<value> (history as the
 * library keeps it), without telling the oracle. */
static void set_f0(fixture *f, int value)
{
    char id[33], json[512];
    sim_item_id(id, SEED, 0);
    snprintf(json, sizeof json,
             "{\"type\":\"login\",\"title\":\"t\",\"fields\":["
             "{\"name\":\"f0\",\"value\":\"e%d\",\"hidden\":true},"
             "{\"name\":\"f1\",\"value\":\"e1\",\"hidden\":true},"
             "{\"name\":\"f2\",\"value\":\"e2\",\"hidden\":true}]}",
             value);
    assert_int_equal(vault_item_update(f->v, id, json), VAULT_OK);
}

static int check(fixture *f)
{
    return sim_oracle_check(&f->o, 0, f->v, &f->none, &f->t);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->o.seed = SEED;
    assert_int_equal(vault_new(&f->v), VAULT_OK);
    add_item(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vault_close(f->v);
    sim_trace_free(&f->t);
    free(f);
    return 0;
}

static void test_sim_oracle__accepts_every_edit_in_place(void **state)
{
    fixture *f = *state;
    assert_int_equal(check(f), 0);
}

static void test_sim_oracle__accepts_a_later_edit_with_the_loser_in_history(void **state)
{
    fixture *f = *state;
    sim_oracle_edit(&f->o, 0, 0, 0); /* e3 by d0, which had seen e0 */
    set_f0(f, 3);                    /* e0 goes to the history */
    assert_int_equal(check(f), 0);
}

static void test_sim_oracle__flags_a_field_reverted_to_a_replaced_value(void **state)
{
    fixture *f = *state;
    sim_oracle_edit(&f->o, 0, 0, 0); /* e3 replaces e0 */
    set_f0(f, 3);
    set_f0(f, 0); /* ... and the vault goes back to e0 */
    assert_true(check(f) > 0);
    assert_non_null(strstr(f->t.text, "went back"));
}

static void test_sim_oracle__flags_an_overwrite_without_history(void **state)
{
    fixture *f = *state;
    char id[33], json[512];
    sim_oracle_edit(&f->o, 1, 0, 0); /* e3 by d1, which had seen nothing */
    sim_oracle_edit(&f->o, 2, 0, 0); /* e4 by d2, concurrent with it */
    /* A vault whose f0 holds e4, with no history at all. */
    sim_item_id(id, SEED, 0);
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"type\":\"login\",\"title\":\"t\",\"fields\":["
             "{\"name\":\"f0\",\"value\":\"e4\",\"hidden\":true},"
             "{\"name\":\"f1\",\"value\":\"e1\",\"hidden\":true},"
             "{\"name\":\"f2\",\"value\":\"e2\",\"hidden\":true}]}",
             id);
    vault_close(f->v);
    assert_int_equal(vault_new(&f->v), VAULT_OK);
    assert_int_equal(vault_item_add(f->v, json, NULL), VAULT_OK);
    assert_true(check(f) > 0);
    assert_non_null(strstr(f->t.text, "e3 (item 0 f0, made by d1): overwritten"));
}

static void test_sim_oracle__accepts_a_delete_that_saw_the_edit(void **state)
{
    fixture *f = *state;
    char id[33];
    sim_item_id(id, SEED, 0);
    assert_int_equal(vault_item_delete(f->v, id), VAULT_OK);
    assert_true(check(f) > 0); /* no delete recorded yet: a loss */
    sim_trace_free(&f->t);
    sim_oracle_delete(&f->o, 0, 0); /* d0 had seen e0..e2 */
    assert_int_equal(check(f), 0);
}

static void test_sim_oracle__flags_a_delete_that_did_not_see_the_edit(void **state)
{
    fixture *f = *state;
    char id[33];
    sim_item_id(id, SEED, 0);
    sim_oracle_delete(&f->o, 1, 0); /* d1 never saw the item's edits */
    assert_int_equal(vault_item_delete(f->v, id), VAULT_OK);
    assert_true(check(f) > 0);
    assert_non_null(strstr(f->t.text, "deleted"));
}

static void test_sim_oracle__flags_a_missing_item_and_a_stranger(void **state)
{
    fixture *f = *state;
    add_item(f, 0); /* the oracle knows item 1 ... */
    vault_close(f->v);
    assert_int_equal(vault_new(&f->v), VAULT_OK);
    assert_int_equal(vault_item_add(f->v, "{\"type\":\"note\",\"title\":\"x\"}", NULL),
                     VAULT_OK); /* ... the vault has neither, and a stranger */
    assert_true(check(f) > 0);
    assert_non_null(strstr(f->t.text, "missing"));
    assert_non_null(strstr(f->t.text, "no device made"));
}

static void test_sim_oracle__observe_learns_the_causal_past(void **state)
{
    fixture *f = *state;
    sim_oracle_edit(&f->o, 0, 0, 0); /* e3 by d0: its past holds e0..e2 */
    set_f0(f, 3);
    assert_false(sim_set_has(&f->o.know[1], 0));
    assert_int_equal(sim_oracle_observe(&f->o, 1, f->v), 0);
    for (int e = 0; e <= 3; e++)
        assert_true(sim_set_has(&f->o.know[1], e));
}

int sim_oracle_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_oracle__accepts_every_edit_in_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_sim_oracle__accepts_a_later_edit_with_the_loser_in_history, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sim_oracle__flags_a_field_reverted_to_a_replaced_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_oracle__flags_an_overwrite_without_history,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_oracle__accepts_a_delete_that_saw_the_edit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sim_oracle__flags_a_delete_that_did_not_see_the_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_oracle__flags_a_missing_item_and_a_stranger,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_oracle__observe_learns_the_causal_past, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("sim_oracle", tests, NULL, NULL);
}

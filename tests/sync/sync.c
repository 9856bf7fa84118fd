/* Client ↔ server sync through the in-process server: registration, login on
 * a second device, three-way merges with exact results, and a lying server
 * (rollback, revision mismatch, tampering, KDF downgrade, swapped key,
 * dropped push, broken answers). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "sync.h"

/* Device A registers; device B logs in on an empty store. Both go through a
 * liar (honest until a test says otherwise). */
int setup_world(void **state)
{
    world *w = tw_state_new(sizeof *w, "sync");
    tw_device *a = tw_registered(w->tw, "a", EMAIL, PASSWORD);
    tw_device *b = tw_device_open(w->tw, "b");
    /* b is a new device of the same account: it has the Secret Key (as from
     * the Emergency Kit) and logs in with the password in each test. */
    assert_int_equal(vault_client_set_secret_key(b->c, tw_secret_key(w->tw, EMAIL)), VAULT_OK);
    w->a = a->c;
    w->b = b->c;
    w->lie_a = &a->lie;
    w->lie_b = &b->lie;
    *state = w;
    return 0;
}

/* The value of field `name` of item id on client c, as a new string. */
char *field(vault_client *c, const char *id, const char *name)
{
    char *json = NULL;
    if (vault_item_get(tw_vault(c), id, &json) != VAULT_OK)
        return NULL;
    cJSON *item = cJSON_Parse(json);
    vault_free(json);
    char *value = NULL;
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields"))
    {
        const cJSON *fname = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (strcmp(fname->valuestring, name) == 0)
            value = strdup(cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring);
    }
    cJSON_Delete(item);
    return value;
}

void assert_field(vault_client *c, const char *id, const char *name, const char *want)
{
    char *got = field(c, id, name);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

const char *login_item(const char *user, const char *password)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"type\":\"login\",\"title\":\"Mail\",\"fields\":["
             "{\"name\":\"username\",\"value\":\"%s\",\"hidden\":false},"
             "{\"name\":\"password\",\"value\":\"%s\",\"hidden\":true}]}",
             user, password);
    return buf;
}

static void test_sync_login__second_device_receives_the_vault(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw-1"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(tw_revision(w->a), 2);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(tw_revision(w->b), 2);
    assert_field(w->b, id, "password", "pw-1");
    char *acct_a = NULL, *acct_b = NULL;
    assert_int_equal(vault_client_account_id(w->a, &acct_a), VAULT_OK);
    assert_int_equal(vault_client_account_id(w->b, &acct_b), VAULT_OK);
    assert_string_equal(acct_a, acct_b);
    vault_free(acct_a);
    vault_free(acct_b);
    vault_free(id);
}

static void test_sync_login__wrong_password_and_unknown_email(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, "wrong password"), VAULT_E_AUTH);
    assert_int_equal(vault_client_login(w->b, "nobody@example.org", PASSWORD), VAULT_E_AUTH);
    /* Nothing was adopted: the store is still empty. */
    char *acct = NULL;
    assert_int_equal(vault_client_account_id(w->b, &acct), VAULT_E_NOT_FOUND);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
}

static void test_sync_merge__disjoint_field_edits_both_survive(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw-1"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);

    vault__set_clock_for_tests(1800000000000);
    assert_int_equal(vault_item_update(tw_vault(w->a), id, login_item("ada.l", "pw-1")), VAULT_OK);
    vault__set_clock_for_tests(1800000001000);
    assert_int_equal(vault_item_update(tw_vault(w->b), id, login_item("ada", "pw-2")), VAULT_OK);
    vault__set_clock_for_tests(0);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK); /* conflict → pull, merge, push */
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    for (int i = 0; i < 2; i++) {
        vault_client *c = i == 0 ? w->a : w->b;
        assert_field(c, id, "username", "ada.l");
        assert_field(c, id, "password", "pw-2");
    }
    assert_int_equal(tw_revision(w->a), tw_revision(w->b));
    vault_free(id);
}

static void test_sync_merge__same_field_newer_wins_older_in_history(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw-1"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);

    vault__set_clock_for_tests(1800000005000); /* B edits later... */
    assert_int_equal(vault_item_update(tw_vault(w->b), id, login_item("ada", "pw-B")), VAULT_OK);
    vault__set_clock_for_tests(1800000001000); /* ...than A, but A syncs first */
    assert_int_equal(vault_item_update(tw_vault(w->a), id, login_item("ada", "pw-A")), VAULT_OK);
    vault__set_clock_for_tests(0);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_field(w->a, id, "password", "pw-B");
    assert_field(w->b, id, "password", "pw-B");
    char *json = NULL;
    assert_int_equal(vault_item_get(tw_vault(w->a), id, &json), VAULT_OK);
    assert_non_null(strstr(json, "pw-A")); /* the losing edit is kept in history */
    vault_free(json);
    vault_free(id);
}

static void test_sync_merge__delete_versus_edit_keeps_the_edit(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw-1"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_item_delete(tw_vault(w->a), id), VAULT_OK);
    assert_int_equal(vault_item_update(tw_vault(w->b), id, login_item("ada", "pw-edit")), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_field(w->a, id, "password", "pw-edit");
    assert_field(w->b, id, "password", "pw-edit");
    vault_free(id);
}

static void test_sync_merge__offline_creates_on_both_sides_all_survive(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *ids[4] = {tw_add(w->a, login_item("a1", "x")), tw_add(w->a, login_item("a2", "x")),
                    tw_add(w->b, login_item("b1", "x")), tw_add(w->b, login_item("b2", "x"))};
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    for (int i = 0; i < 4; i++) {
        for (int side = 0; side < 2; side++) {
            char *v = field(side == 0 ? w->a : w->b, ids[i], "username");
            assert_non_null(v);
            free(v);
        }
        vault_free(ids[i]);
    }
    uint64_t ca = 0, cb = 0;
    vault_item_count(tw_vault(w->a), &ca);
    vault_item_count(tw_vault(w->b), &cb);
    assert_int_equal(ca, 4);
    assert_int_equal(cb, 4);
}

static void test_sync_push__conflict_is_reported_then_sync_resolves(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *ia = tw_add(w->a, login_item("a", "x")), *ib = tw_add(w->b, login_item("b", "x"));
    assert_int_equal(vault_client_push(w->a), VAULT_OK);
    assert_int_equal(vault_client_push(w->b), VAULT_E_CONFLICT);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(tw_revision(w->b), 3);
    vault_free(ia);
    vault_free(ib);
}

static void test_sync_password__change_keeps_vault_and_retires_old_password(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw-1"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_change_password(w->a, "not it", "new pass", 0, 0), VAULT_E_AUTH);
    assert_int_equal(vault_client_change_password(w->a, PASSWORD, "new pass", 1, TEST_MEM),
                     VAULT_E_WEAK_KDF);
    assert_int_equal(vault_client_change_password(w->a, PASSWORD, "new pass", 0, 0), VAULT_OK);
    /* The old password no longer logs in anywhere; the new one does and reads the vault. */
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_E_AUTH);
    assert_int_equal(vault_client_login(w->b, EMAIL, "new pass"), VAULT_OK);
    assert_field(w->b, id, "password", "pw-1");
    /* Locally too. */
    vault_client_lock(w->a);
    assert_int_equal(vault_client_unlock(w->a, PASSWORD), VAULT_E_AUTH);
    assert_int_equal(vault_client_unlock(w->a, "new pass"), VAULT_OK);
    vault_free(id);
}

static void test_sync_account__delete_removes_server_and_local(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_delete_account(w->a, "wrong"), VAULT_E_AUTH);
    assert_int_equal(vault_client_delete_account(w->a, PASSWORD), VAULT_OK);
    char *acct = NULL;
    assert_int_equal(vault_client_account_id(w->a, &acct), VAULT_E_NOT_FOUND);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_E_AUTH);
}

static void test_sync_state__calls_need_unlock_session_and_transport(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_logout(w->a), VAULT_OK);
    assert_int_equal(vault_client_pull(w->a), VAULT_E_STATE);
    assert_int_equal(vault_client_push(w->a), VAULT_E_STATE);
    vault_client_lock(w->a);
    assert_int_equal(vault_client_pull(w->a), VAULT_E_LOCKED);
    assert_int_equal(vault_client_register(w->a, EMAIL), VAULT_E_STATE);
    vault_client_connect_custom(w->b, NULL, NULL);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_E_STATE);
    assert_int_equal(vault_client_register(w->a, "no-at-sign"), VAULT_E_INVALID);
}

/* ---- a lying server ---------------------------------------------------- */

/* Snapshot of what a client stores, to prove an attack changed nothing. */
char *snapshot(vault_client *c)
{
    char *json = NULL;
    assert_int_equal(vault_to_json(tw_vault(c), &json), VAULT_OK);
    return json;
}

void assert_unchanged(vault_client *c, char *before, uint64_t revision)
{
    char *after = snapshot(c);
    assert_string_equal(before, after);
    assert_int_equal(tw_revision(c), revision);
    vault_free(after);
    vault_free(before);
}

static void test_sync_liar__rollback_to_older_revision_refused(void **state)
{
    world *w = *state;
    w->lie_a->mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(w->a), VAULT_OK); /* records revision 1 */
    w->lie_a->mode = LIAR_HONEST;
    char *id = tw_add(w->a, login_item("ada", "pw"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK); /* revision 2 */
    char *before = snapshot(w->a);
    w->lie_a->mode = LIAR_REPLAY_PULL;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_ROLLBACK);
    assert_unchanged(w->a, before, 2);
    /* A new device that never saw revision 2 cannot tell; documented limit. */
    vault_free(id);
}

static void test_sync_liar__claimed_revision_differs_from_sealed(void **state)
{
    world *w = *state;
    char *before = snapshot(w->a);
    w->lie_a->mode = LIAR_CLAIM_NEXT_REVISION;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_ROLLBACK);
    assert_unchanged(w->a, before, 1);
}

static void test_sync_liar__every_flipped_blob_bit_refused(void **state)
{
    world *w = *state;
    char *before = snapshot(w->a);
    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    size_t bits = 8 * w->lie_a->last_blob_len;
    assert_true(bits > 0);
    w->lie_a->mode = LIAR_FLIP_BLOB_BIT;
    for (size_t bit = 0; bit < bits; bit++) {
        w->lie_a->arg = bit;
        int rc = vault_client_pull(w->a);
        assert_true(rc == VAULT_E_AUTH || rc == VAULT_E_CORRUPT || rc == VAULT_E_ROLLBACK ||
                    rc == VAULT_E_MISMATCH || rc == VAULT_E_VERSION);
    }
    w->lie_a->mode = LIAR_HONEST;
    assert_unchanged(w->a, before, 1);
}

static void test_sync_liar__kdf_downgrade_refused(void **state)
{
    world *w = *state;
    /* Below the floor: refused even by a fresh device. */
    w->lie_b->mode = LIAR_WEAK_KDF;
    w->lie_b->arg = 1;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_E_WEAK_KDF);
    /* Weaker than this device accepted before (A created it with opslimit 3). */
    tw_world *other = tw_new("sync-s2", NULL);
    tw_device *strong = tw_device_open(other, "strong");
    vault_client *c = strong->c;
    liar *l2 = &strong->lie;
    assert_int_equal(vault_client_create(c, PASSWORD, 3, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(c, "strong@example.org"), VAULT_OK);
    l2->mode = LIAR_WEAK_KDF;
    l2->arg = 2;
    assert_int_equal(vault_client_login(c, "strong@example.org", PASSWORD), VAULT_E_WEAK_KDF);
    l2->mode = LIAR_HONEST;
    assert_int_equal(vault_client_login(c, "strong@example.org", PASSWORD), VAULT_OK);
    tw_free(other);
}

static void test_sync_liar__swapped_protected_key_refused(void **state)
{
    world *w = *state;
    /* The server serves another account's (perfectly valid) protected key. */
    tw_device *eve_device = tw_device_open(w->tw, "eve");
    vault_client *eve = eve_device->c;
    liar *rec = &eve_device->lie;
    rec->mode = LIAR_RECORD_KEY;
    assert_int_equal(vault_client_create(eve, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(eve, "eve@example.org"), VAULT_OK);
    assert_int_equal(vault_client_login(eve, "eve@example.org", PASSWORD), VAULT_OK);
    assert_non_null(rec->recorded);

    w->lie_b->recorded = rec->recorded;
    rec->recorded = NULL;
    w->lie_b->mode = LIAR_SWAP_PROTECTED_KEY;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_E_AUTH);
    char *acct = NULL;
    assert_int_equal(vault_client_account_id(w->b, &acct), VAULT_E_NOT_FOUND);
}

static void test_sync_liar__dropped_push_caught_at_next_sync(void **state)
{
    world *w = *state;
    char *id = tw_add(w->a, login_item("ada", "pw"));
    w->lie_a->mode = LIAR_DROP_PUSH;
    assert_int_equal(vault_client_sync(w->a), VAULT_OK); /* the liar says "stored" */
    assert_int_equal(w->lie_a->dropped_pushes, 1);
    assert_int_equal(tw_revision(w->a), 2);
    w->lie_a->mode = LIAR_HONEST;
    assert_int_equal(vault_client_sync(w->a), VAULT_E_ROLLBACK); /* server is still at 1 */
    vault_free(id);
}

static void test_sync_liar__broken_answers_are_server_errors(void **state)
{
    world *w = *state;
    char *before = snapshot(w->a);
    w->lie_a->mode = LIAR_GARBAGE;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    w->lie_a->mode = LIAR_TRUNCATE;
    for (size_t cut = 0; cut < 64; cut += 5) {
        w->lie_a->arg = cut;
        assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    }
    w->lie_a->mode = LIAR_HONEST;
    assert_unchanged(w->a, before, 1);
}

int main(void)
{
    vault_init();
#define T(f) cmocka_unit_test_setup_teardown(f, setup_world, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_sync_login__second_device_receives_the_vault),
        T(test_sync_login__wrong_password_and_unknown_email),
        T(test_sync_merge__disjoint_field_edits_both_survive),
        T(test_sync_merge__same_field_newer_wins_older_in_history),
        T(test_sync_merge__delete_versus_edit_keeps_the_edit),
        T(test_sync_merge__offline_creates_on_both_sides_all_survive),
        T(test_sync_push__conflict_is_reported_then_sync_resolves),
        T(test_sync_password__change_keeps_vault_and_retires_old_password),
        T(test_sync_account__delete_removes_server_and_local),
        T(test_sync_state__calls_need_unlock_session_and_transport),
        T(test_sync_liar__rollback_to_older_revision_refused),
        T(test_sync_liar__claimed_revision_differs_from_sealed),
        T(test_sync_liar__every_flipped_blob_bit_refused),
        T(test_sync_liar__kdf_downgrade_refused),
        T(test_sync_liar__swapped_protected_key_refused),
        T(test_sync_liar__dropped_push_caught_at_next_sync),
        T(test_sync_liar__broken_answers_are_server_errors),
        T(test_sync_settle__quiet_rounds_push_nothing),
        T(test_sync_fork__acknowledged_then_lost_push_is_detected_and_kept),
        T(test_sync_fork__linked_device_inherits_the_chain_head),
        T(test_sync_push__lost_answer_is_recognised_later),
        T(test_sync_fork__recovery_merges_from_a_confirmed_pending_push),
        T(test_sync_password__changed_elsewhere_new_password_recovers),
        T(test_sync_password__changed_elsewhere_old_password_unlocks_and_says_so),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}

/* Issue 13's review findings as regression tests, each of which failed on the
 * version-1 sync:
 *  1. two devices that sync alternately with nothing new kept pushing a new
 *     revision every time (the vaults were compared as JSON text);
 *  2. a push the server acknowledged but lost, followed by another device's
 *     pushes, silently reverted the edit on every device (the lost revision
 *     became the merge base);
 *  3. after a password change on one device, another could neither sync with
 *     the old password nor unlock with the new one. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "sync.h"

static int32_t is_unlocked(vault_client *c)
{
    int32_t unlocked = -1;
    assert_int_equal(vault_client_is_unlocked(c, &unlocked), VAULT_OK);
    return unlocked;
}

void test_sync_settle__quiet_rounds_push_nothing(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *ia = tw_add(w->a, login_item("from-a", "x")), *ib = tw_add(w->b, login_item("from-b", "y"));
    /* One round to exchange the edits, one quiet round to settle. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(vault_client_sync(w->a), VAULT_OK);
        assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    }
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    uint64_t settled = tw_revision(w->a);
    assert_int_equal(tw_revision(w->b), settled);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(vault_client_sync(w->a), VAULT_OK);
        assert_int_equal(vault_client_sync(w->b), VAULT_OK);
        assert_int_equal(tw_revision(w->a), settled);
        assert_int_equal(tw_revision(w->b), settled);
    }
    assert_field(w->a, ib, "username", "from-b");
    assert_field(w->b, ia, "username", "from-a");
    vault_free(ia);
    vault_free(ib);
}

void test_sync_fork__acknowledged_then_lost_push_is_detected_and_kept(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *x = tw_add(w->a, login_item("edit-x", "x"));
    w->lie_a->mode = LIAR_DROP_PUSH;
    assert_int_equal(vault_client_sync(w->a), VAULT_OK); /* "stored as revision 2" */
    assert_int_equal(w->lie_a->dropped_pushes, 1);
    w->lie_a->mode = LIAR_HONEST;
    /* Another device writes its own revisions 2 and 3. */
    char *y = tw_add(w->b, login_item("edit-y", "y"));
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    char *z = tw_add(w->b, login_item("edit-z", "z"));
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(tw_revision(w->b), 3);

    /* A's history (revision 2 = its edit) is not the server's: it says so and
     * changes nothing. */
    char *before = snapshot(w->a);
    assert_int_equal(vault_client_sync(w->a), VAULT_E_FORK);
    assert_non_null(strstr(vault_client_errmsg(w->a), "revision 2"));
    assert_int_equal(vault_client_pull(w->a), VAULT_E_FORK);
    assert_unchanged(w->a, before, 2);
    /* Signing in again meets the fork too, and keeps the session to resolve it. */
    vault_client_lock(w->a);
    assert_int_equal(vault_client_sign_in(w->a, EMAIL, PASSWORD), VAULT_E_FORK);

    /* Recovery keeps every edit, everywhere. */
    assert_int_equal(vault_client_resolve_fork(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    for (int side = 0; side < 2; side++) {
        vault_client *c = side == 0 ? w->a : w->b;
        assert_field(c, x, "username", "edit-x");
        assert_field(c, y, "username", "edit-y");
        assert_field(c, z, "username", "edit-z");
        assert_int_equal(tw_revision(c), 4);
    }
    vault_free(x);
    vault_free(y);
    vault_free(z);
}

/* B logged in with the password; A changes it; B edits offline and locks. */
static char *password_changed_elsewhere(world *w)
{
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_change_password(w->a, PASSWORD, "new pass", 0, 0), VAULT_OK);
    char *id = tw_add(w->b, login_item("offline", "edit"));
    assert_int_equal(vault_client_save(w->b), VAULT_OK);
    vault_client_lock(w->b);
    vault_client_logout(w->b);
    return id;
}

void test_sync_password__changed_elsewhere_new_password_recovers(void **state)
{
    world *w = *state;
    char *id = password_changed_elsewhere(w);
    assert_int_equal(vault_client_unlock(w->b, "new pass"), VAULT_E_AUTH); /* local: old one */
    assert_int_equal(vault_client_sign_in(w->b, EMAIL, "new pass"), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_field(w->a, id, "username", "offline");
    /* The store is wrapped under the new password now, and only under it. */
    vault_client_lock(w->b);
    assert_int_equal(vault_client_unlock(w->b, PASSWORD), VAULT_E_AUTH);
    assert_int_equal(vault_client_unlock(w->b, "new pass"), VAULT_OK);
    assert_field(w->b, id, "username", "offline");
    vault_free(id);
}

void test_sync_password__changed_elsewhere_old_password_unlocks_and_says_so(void **state)
{
    world *w = *state;
    char *id = password_changed_elsewhere(w);
    assert_int_equal(vault_client_sign_in(w->b, EMAIL, PASSWORD), VAULT_E_AUTH);
    assert_non_null(strstr(vault_client_errmsg(w->b), "changed on another device"));
    assert_int_equal(is_unlocked(w->b), 1); /* for local use */
    assert_field(w->b, id, "username", "offline");
    assert_int_equal(vault_client_pull(w->b), VAULT_E_STATE); /* but no session */
    /* A wrong password is still just that. */
    vault_client_lock(w->b);
    assert_int_equal(vault_client_sign_in(w->b, EMAIL, "neither"), VAULT_E_AUTH);
    assert_null(strstr(vault_client_errmsg(w->b), "changed on another device"));
    assert_int_equal(is_unlocked(w->b), 0);
    vault_free(id);
}

/* Runs the QR link flow from `from` to the empty device `to` up to the new
 * device's completion and returns what that gave. */
static int link_outcome(vault_client *from, vault_client *to, const uint8_t *key)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    assert_int_equal(vault_link_offer(&offer, from), VAULT_OK);
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    assert_int_equal(vault_link_join(&join, to, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_complete(join, key), VAULT_E_PENDING);
    assert_int_equal(vault_link_confirm(offer, "phone"), VAULT_OK);
    int rc = vault_link_complete(join, key);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return rc;
}

void test_sync_fork__linked_device_inherits_the_chain_head(void **state)
{
    world *w = *state;
    uint8_t key[32];
    test_key(key, 0x21);
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *x = tw_add(w->a, login_item("edit-x", "x"));
    w->lie_a->mode = LIAR_DROP_PUSH;
    assert_int_equal(vault_client_sync(w->a), VAULT_OK); /* acknowledged as 2, lost */
    w->lie_a->mode = LIAR_HONEST;
    char *y = tw_add(w->b, login_item("edit-y", "y"));
    assert_int_equal(vault_client_sync(w->b), VAULT_OK); /* another revision 2 */

    /* The grant names A's revision 2; the server shows another one. */
    tw_device *c = tw_device_open(w->tw, "c");
    assert_int_equal(link_outcome(w->a, c->c, key), VAULT_E_FORK);

    /* Once A resolved the fork, a new device links and holds every edit. */
    assert_int_equal(vault_client_sync(w->a), VAULT_E_FORK);
    assert_int_equal(vault_client_resolve_fork(w->a), VAULT_OK);
    tw_device *d = tw_device_open(w->tw, "d");
    assert_int_equal(link_outcome(w->a, d->c, key), VAULT_OK);
    assert_field(d->c, x, "username", "edit-x");
    assert_field(d->c, y, "username", "edit-y");
    vault_free(x);
    vault_free(y);
}

/* A push the server stored but whose answer was lost is this device's own:
 * when a later revision lists it, it is the merge base, so the device's later
 * edit of the same field is not undone by its own earlier value. */
void test_sync_push__lost_answer_is_recognised_later(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    char *x = tw_add(w->a, login_item("first", "x"));
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    /* Two edits of A at the same instant; the later one has the smaller
     * bytes, so a conflict between them would undo it. */
    vault__set_clock_for_tests(1800000002000);
    assert_int_equal(vault_item_update(tw_vault(w->a), x, login_item("zz-second", "x")),
                     VAULT_OK);
    vault__set_clock_for_tests(0);
    w->lie_a->mode = LIAR_LOSE_PUSH_ANSWER;
    assert_int_equal(vault_client_sync(w->a), VAULT_E_NETWORK); /* stored as 3 */
    w->lie_a->mode = LIAR_HONEST;
    assert_int_equal(tw_revision(w->a), 2);
    vault__set_clock_for_tests(1800000002000);
    assert_int_equal(vault_item_update(tw_vault(w->a), x, login_item("a-third", "x")), VAULT_OK);
    vault__set_clock_for_tests(0);
    /* B builds revision 4 on A's 3. */
    vault_free(tw_add(w->b, login_item("from-b", "y")));
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_field(w->a, x, "username", "a-third");
    assert_field(w->b, x, "username", "a-third");
    vault_free(x);
}

/* A pending push that the server's history lists is the merge base of a
 * fork recovery too: another device's later edit on top of it survives,
 * whatever the clocks say. */
void test_sync_fork__recovery_merges_from_a_confirmed_pending_push(void **state)
{
    world *w = *state;
    assert_int_equal(vault_client_login(w->b, EMAIL, PASSWORD), VAULT_OK);
    vault__set_clock_for_tests(1800000009000); /* A's clock runs ahead */
    char *x = tw_add(w->a, login_item("from-a", "x"));
    vault__set_clock_for_tests(0);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK); /* pending 2 */
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    vault__set_clock_for_tests(1800000001000);
    assert_int_equal(vault_item_update(tw_vault(w->b), x, login_item("b-replaced", "x")),
                     VAULT_OK);
    vault__set_clock_for_tests(0);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK); /* 3, on A's 2 */
    assert_int_equal(vault_client_resolve_fork(w->a), VAULT_OK);
    assert_int_equal(vault_client_sync(w->b), VAULT_OK);
    assert_field(w->a, x, "username", "b-replaced");
    assert_field(w->b, x, "username", "b-replaced");
    vault_free(x);
}

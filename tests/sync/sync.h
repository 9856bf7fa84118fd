/* The sync tests' world (tests/support/world.h): one in-process server,
 * device A registered, device B an empty store; both talk through a liar
 * (honest until a test says otherwise). Fixtures are in sync.c. */
#ifndef VAULT_TEST_SYNC_H
#define VAULT_TEST_SYNC_H

#include "world.h"

#define EMAIL "ada@example.org"
#define PASSWORD TW_PASSWORD

typedef struct world {
    tw_world *tw;
    vault_client *a, *b;
    liar *lie_a, *lie_b;
} world;

int setup_world(void **state);
/* The value of field `name` of item id on client c (free()), NULL if none. */
char *field(vault_client *c, const char *id, const char *name);
void assert_field(vault_client *c, const char *id, const char *name, const char *want);
/* A login item's JSON in a static buffer. */
const char *login_item(const char *user, const char *password);
/* The vault's JSON (vault_free), and a check that it and the revision did not change. */
char *snapshot(vault_client *c);
void assert_unchanged(vault_client *c, char *before, uint64_t revision);

/* findings.c: the review's findings 1-3 (issue 13) as regression tests. */
void test_sync_settle__quiet_rounds_push_nothing(void **state);
void test_sync_fork__acknowledged_then_lost_push_is_detected_and_kept(void **state);
void test_sync_fork__linked_device_inherits_the_chain_head(void **state);
void test_sync_push__lost_answer_is_recognised_later(void **state);
void test_sync_fork__recovery_merges_from_a_confirmed_pending_push(void **state);
void test_sync_password__changed_elsewhere_new_password_recovers(void **state);
void test_sync_password__changed_elsewhere_old_password_unlocks_and_says_so(void **state);

#endif

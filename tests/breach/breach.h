/* The server-breach simulation: a realistic scenario run once, then the
 * server's files read as a thief would. Shared by the test files of
 * tests/breach. */
#ifndef VAULT_TEST_BREACH_H
#define VAULT_TEST_BREACH_H

#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

/* The pepper lives in the server's configuration, not in its database: the
 * thief of the database alone does not have it. */
extern const uint8_t breach_pepper[32];

/* The victim with a deliberately weak password, at the floor parameters. */
#define BREACH_VICTIM_EMAIL "carol.weak@breach.example"
#define BREACH_VICTIM_PASSWORD "sunshine"

/* A file a thief copied: its path and its bytes (NULL if it did not exist). */
typedef struct breach_file {
    char path[768];
    uint8_t *data;
    size_t len;
} breach_file;

#define BREACH_MAX_FILES 16
#define BREACH_MAX_KEYS 32

typedef struct breach_world {
    /* Server database, -wal and -shm copied while the server ran, then the
     * database again after it closed; and every device's local store. */
    breach_file files[BREACH_MAX_FILES];
    size_t nfiles;
    char server_db[768];
    /* Every secret the scenario used: item texts, emails, master passwords
     * (old and new). NULL-terminated. */
    const char *const *secrets;
    /* Every vault key, auth key and encryption key the devices held. */
    uint8_t keys[BREACH_MAX_KEYS][32];
    size_t nkeys;
    /* The victim's Secret Key: it lives on her devices only. The thief of the
     * server never has it; the tests use it to show what it protects. */
    uint8_t victim_secret_key[16];
    /* Accounts whose vaults hold different item counts, for the size test. */
    char small_account_a[33], small_account_b[33];
    uint64_t small_items_a, small_items_b;
} breach_world;

/* The group setup/teardown: runs the scenario once (*state = breach_world). */
int breach_scenario_setup(void **state);
int breach_scenario_teardown(void **state);

/* The items' secrets and the emails/passwords, for the thief's scan. */
int breach_contains_any_encoding(const uint8_t *hay, size_t hay_len, const char *secret,
                                 const char **encoding);

/* The malicious-server tests (malicious.c), a group of their own. */
int breach_run_liar_tests(void);
/* The allocation-failure tests (alloc.c). */
int breach_run_alloc_tests(void);

void test_breach_leak__scanner_finds_every_encoding(void **state);
void test_breach_leak__server_files_hold_no_known_plaintext(void **state);
void test_breach_leak__device_stores_hold_no_known_plaintext(void **state);
void test_breach_leak__server_files_hold_no_key_material(void **state);
void test_breach_size__every_stored_blob_is_a_padme_bucket(void **state);
void test_breach_size__small_vaults_of_different_counts_look_alike(void **state);
void test_breach_size__larger_vaults_share_buckets_across_counts(void **state);
void test_breach_guess__db_alone_cannot_check_the_record(void **state);
void test_breach_guess__db_alone_cannot_reverse_the_email_hash(void **state);
void test_breach_guess__db_alone_protected_key_is_no_guess_oracle(void **state);
void test_breach_guess__db_and_every_server_secret_find_no_password(void **state);

#endif

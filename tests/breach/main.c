/* The server-breach simulation (one scenario, then the thief's view) and the
 * malicious-server tests. */
#include "breach.h"

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breach_leak__scanner_finds_every_encoding),
        cmocka_unit_test(test_breach_leak__server_files_hold_no_known_plaintext),
        cmocka_unit_test(test_breach_leak__device_stores_hold_no_known_plaintext),
        cmocka_unit_test(test_breach_leak__server_files_hold_no_key_material),
        cmocka_unit_test(test_breach_size__every_stored_blob_is_a_padme_bucket),
        cmocka_unit_test(test_breach_size__small_vaults_of_different_counts_look_alike),
        cmocka_unit_test(test_breach_size__larger_vaults_share_buckets_across_counts),
        cmocka_unit_test(test_breach_guess__db_alone_cannot_check_the_record),
        cmocka_unit_test(test_breach_guess__db_alone_cannot_reverse_the_email_hash),
        cmocka_unit_test(test_breach_guess__db_alone_protected_key_is_no_guess_oracle),
        cmocka_unit_test(test_breach_guess__db_and_every_server_secret_find_no_password),
    };
    int failed = cmocka_run_group_tests_name("breach", tests, breach_scenario_setup,
                                             breach_scenario_teardown);
    failed += breach_run_liar_tests();
    failed += breach_run_alloc_tests();
    return failed;
}

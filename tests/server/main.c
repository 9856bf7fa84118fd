/* The server test suite: one CMocka group over every area file, run once per
 * store backend (backend.c): the same tests, not copies. */
#include <stdio.h>

#include "common/common.h"
#include "server_test.h"

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_register__answers_session),
        cmocka_unit_test(test_server_register__refuses_taken_email_and_id),
        cmocka_unit_test(test_server_register__checks_params_and_blob),
        cmocka_unit_test(test_server_login__answers_account),
        cmocka_unit_test(test_server_login__wrong_key_is_auth),
        cmocka_unit_test(test_server_logout__ends_session),
        cmocka_unit_test(test_server_pull__returns_current_blob),
        cmocka_unit_test(test_server_push__compare_and_swap),
        cmocka_unit_test(test_server_push__checks_blob_header),
        cmocka_unit_test(test_server_push__keeps_last_revisions),
        cmocka_unit_test(test_server_change_password__replaces_credentials),
        cmocka_unit_test(test_server_delete_account__removes_everything),
        cmocka_unit_test(test_server_device__revoked_is_refused),
        cmocka_unit_test(test_server_login_start__known_and_unknown_look_alike),
        cmocka_unit_test(test_server_login_start__fake_record_is_deterministic),
        cmocka_unit_test(test_server_step_up__session_alone_is_refused),
        cmocka_unit_test(test_server_ratelimit__delays_after_free_failures),
        cmocka_unit_test(test_server_ratelimit__unknown_email_alike),
        cmocka_unit_test(test_server_ratelimit__delay_is_capped),
        cmocka_unit_test(test_server_ratelimit__change_password_counts),
        cmocka_unit_test(test_server_ratelimit__parallel_guesses_do_not_slip),
        cmocka_unit_test(test_server_session__expires),
        cmocka_unit_test(test_server_options__validated),
        cmocka_unit_test(test_server_malformed__corpus),
        cmocka_unit_test(test_server_malformed__oversized_request),
        cmocka_unit_test(test_server_malformed__bad_arguments),
        cmocka_unit_test(test_server_concurrency__pushes_never_lost),
        cmocka_unit_test(test_server_persistence__survives_reopen),
        cmocka_unit_test(test_server_breach__no_email_or_key_in_database),
        cmocka_unit_test(test_server_alloc__every_failure_answers),
        cmocka_unit_test(test_server_faults__storage_failure_is_internal),
        cmocka_unit_test(test_server_faults__newer_schema_is_refused),
        cmocka_unit_test(test_server_faults__store_errors_and_recovery_are_reported),
        cmocka_unit_test(test_server_faults__rate_limit_shared_by_processes),
        cmocka_unit_test(test_server_faults__unreachable_database_is_io),
        cmocka_unit_test_teardown(test_server_faults__connection_loss_survived,
                                  ts_reopen_database),
        cmocka_unit_test(test_server_faults__schema_upgrade_in_place),
        cmocka_unit_test(test_server_links__relay_lifecycle),
        cmocka_unit_test(test_server_links__quota_and_states),
        cmocka_unit_test(test_server_links__reverse_request),
        cmocka_unit_test(test_server_devices__list_revoke_rotate),
        cmocka_unit_test(test_server_limits__a6_names_echoed_only_as_valid_utf8),
        cmocka_unit_test(test_server_limits__a1_small_ops_have_the_small_cap),
        cmocka_unit_test(test_server_limits__a5_second_address_links_while_one_floods),
        cmocka_unit_test(test_server_limits__a4_guesses_over_many_accounts_limited_per_address),
        cmocka_unit_test(test_server_limits__a4_guesses_from_many_addresses_limited_globally),
    };
    static const char *const backends[] = {"sqlite", "postgresql"};
    int failed = 0;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        char group[64];
        int ready = ts_backend_begin(backends[i]);
        if (ready < 0)
            failed++;
        if (ready <= 0)
            continue;
        snprintf(group, sizeof group, "server on %s", backends[i]);
        failed += cmocka_run_group_tests_name(group, tests, NULL, NULL);
        ts_backend_end();
    }
    vault__set_clock_for_tests(0);
    return failed;
}

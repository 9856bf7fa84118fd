/* The opaque test suite: RFC vectors, then behaviour. */
#include "opaque_test.h"

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opaque_oprf__rfc9497_vector1),
        cmocka_unit_test(test_opaque_oprf__rfc9497_vector2),
        cmocka_unit_test(test_opaque_rfc9807__real_vector1),
        cmocka_unit_test(test_opaque_rfc9807__real_vector2_identities),
        cmocka_unit_test(test_opaque_rfc9807__fake_vector1),
        cmocka_unit_test(test_opaque_hkdf__matches_hmac_definition),
        cmocka_unit_test(test_opaque_flow__argon2id_roundtrip),
        cmocka_unit_test(test_opaque_flow__wrong_password_is_auth),
        cmocka_unit_test(test_opaque_flow__unknown_account_looks_real),
        cmocka_unit_test(test_opaque_flow__tampered_messages_refused),
        cmocka_unit_test(test_opaque_flow__invalid_elements_refused),
        cmocka_unit_test(test_opaque_flow__ksf_params_checked),
        cmocka_unit_test(test_opaque_flow__other_server_secrets_fail),
    };
    if (vault_init() != VAULT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

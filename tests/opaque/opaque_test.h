/* The opaque test suite: the area files' tests, listed once in main.c. */
#ifndef OPAQUE_TEST_H
#define OPAQUE_TEST_H

#include "testutil.h"

/* vectors.c: RFC 9497 / RFC 9807 known answers */
void test_opaque_oprf__rfc9497_vector1(void **state);
void test_opaque_oprf__rfc9497_vector2(void **state);
void test_opaque_rfc9807__real_vector1(void **state);
void test_opaque_rfc9807__real_vector2_identities(void **state);
void test_opaque_rfc9807__fake_vector1(void **state);
void test_opaque_hkdf__matches_hmac_definition(void **state);

/* flow.c: behaviour with fresh randomness and the Argon2id KSF */
void test_opaque_flow__argon2id_roundtrip(void **state);
void test_opaque_flow__wrong_password_is_auth(void **state);
void test_opaque_flow__unknown_account_looks_real(void **state);
void test_opaque_flow__tampered_messages_refused(void **state);
void test_opaque_flow__invalid_elements_refused(void **state);
void test_opaque_flow__ksf_params_checked(void **state);
void test_opaque_flow__other_server_secrets_fail(void **state);

#endif

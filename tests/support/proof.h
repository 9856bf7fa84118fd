/* OPAQUE by hand, for the tests that speak the protocol in raw JSON: a
 * registration record for an email and password, and a fresh password proof
 * (login_state + ke3) to put into login_finish or a step-up request. The KSF
 * is the identity (the server never runs it), so no Argon2id is spent. */
#ifndef VAULT_TEST_PROOF_H
#define VAULT_TEST_PROOF_H

#include "testutil.h"

struct cJSON;

typedef struct test_proof {
    char state[2 * 226 + 1]; /* "login_state" as the server sealed it */
    char ke3[2 * 64 + 1];
    char session[2 * 32 + 1]; /* the session token login_finish would open */
} test_proof;

/* register_start for email, then the record (hex) the client would upload. */
void test_opaque_record_for(vault_server *s, const char *email, const char *password,
                            char record[2 * 192 + 1]);

/* login_start for email, then KE3: VAULT_OK with *out filled, or the status
 * the client would see (VAULT_E_AUTH for a wrong password, or the server's
 * error mapped to its code: "rate_limited" → VAULT_E_RATE_LIMITED, ...).
 * After a wrong password, out->state is the server's and out->ke3 random
 * (what a guesser would send on). */
int test_opaque_prove(vault_server *s, const char *email, const char *password, test_proof *out);

/* The same; when login_start itself failed, *error is its answer (the
 * caller deletes it), else NULL. */
int test_opaque_prove_ex(vault_server *s, const char *email, const char *password,
                         test_proof *out, struct cJSON **error);
/* The same from a client address (vault_server_handle_from; NULL: none). */
int test_opaque_prove_from(vault_server *s, const char *peer, const char *email,
                           const char *password, test_proof *out, struct cJSON **error);

#endif

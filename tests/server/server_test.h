/* Shared fixtures of the server tests: open a server on a fresh database,
 * build requests with cJSON, send them, check responses. */
#ifndef SERVER_TEST_H
#define SERVER_TEST_H

#include <cjson/cJSON.h>

#include "proof.h"
#include "testutil.h"

#define TS_NOW_MS 1700000000000LL /* the pinned test clock */

typedef struct ts_account {
    char email[64];
    char account_id[33];
    char password[32];
    char record[2 * 192 + 1]; /* its OPAQUE record (hex): "" until ts_register makes it */
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    uint64_t opslimit, memlimit;
    char device_id[33];
    char session[65];
    uint8_t vault_key[32];
} ts_account;

/* ---- backends (backend.c) ----------------------------------------------------
 * main.c runs the whole group once per backend in its list. Each test names
 * its database; ts_db() turns the name into what vault_server_open takes on
 * the current backend (a SQLite file, or a PostgreSQL URI with a schema of
 * its own). */

/* Selects "sqlite" or "postgresql" for the next run of the group: 1 when it
 * can run, 0 when it is skipped (said loudly: PostgreSQL without
 * VAULT_TEST_PG_URI), -1 when the skip must fail the suite (the same with
 * CI=true). */
int ts_backend_begin(const char *backend);
void ts_backend_end(void); /* drops what the run left in the database */
int ts_backend_is_pg(void);
const char *ts_db(const char *name);
void ts_db_reset(const char *name); /* a fresh, empty database */
/* Runs one SQL statement on name's database: the first column of the first
 * row as an integer, or the number of rows it changed. */
int64_t ts_db_run(const char *name, const char *sql);
/* Every byte the database holds for the server (SQLite: the main file;
 * PostgreSQL: every value of every table); free() it. */
uint8_t *ts_db_contents(const char *name, size_t *len);
/* PostgreSQL only: a connection to VAULT_TEST_PG_URI itself, and a
 * statement on it that must succeed. */
struct pg_conn *ts_pg_admin(void);
/* The same, to the cluster's "postgres" database: a database cannot be
 * closed from a connection to itself. */
struct pg_conn *ts_pg_admin_elsewhere(void);
void ts_pg_exec(struct pg_conn *pg, const char *sql);
void ts_pg_finish(struct pg_conn *pg);
void ts_pg_ignore_notice(void *arg, const char *message);
/* Teardown of the connection-loss test: opens the database again if the
 * test closed it and failed before opening it. */
int ts_reopen_database(void **state);

/* A fresh server (pepper byte pepper_base) on a fresh database "name";
 * pins the clock at TS_NOW_MS. */
vault_server *ts_open(const char *name, uint8_t pepper_base);
vault_server *ts_reopen(const char *name, uint8_t pepper_base); /* keeps the data */
/* The usual start: ts_open(name, 1) with account 1 (ts_account_init) registered. */
vault_server *ts_open_registered(const char *name, ts_account *a);

/* Sends request (deleted afterwards) and returns the parsed response. */
cJSON *ts_call(vault_server *s, cJSON *request);
cJSON *ts_call_text(vault_server *s, const char *text, size_t len);

/* Checks an error response: ok false, error {code, message[, extra]}. */
void ts_assert_error(const cJSON *resp, const char *code);
void ts_assert_ok(const cJSON *resp);
/* The same two checks, then cJSON_Delete(resp). */
void ts_expect_error(cJSON *resp, const char *code);
void ts_expect_ok(cJSON *resp);
/* Exactly these members (NULL-ended list), in any order. */
void ts_assert_members(const cJSON *obj, const char *const *names);
const char *ts_str(const cJSON *obj, const char *name);
uint64_t ts_u64(const cJSON *obj, const char *name);

/* A new account description (deterministic from n) with KDF defaults. */
void ts_account_init(ts_account *a, unsigned n);
cJSON *ts_request(const char *op);
void ts_add_hex(cJSON *req, const char *name, const uint8_t *bytes, size_t len);
/* Base64 of a blob sealed for account_id at revision (malloc'ed). */
char *ts_blob_b64(const ts_account *a, uint64_t revision, const char *content);
/* A register request; an account without a record gets a random valid one
 * (it registers, but cannot log in: ts_register makes a real one). */
cJSON *ts_register_request(const ts_account *a);
/* login_finish for a's email and device, with an OPAQUE proof of password
 * (garbage after a wrong password, as a guesser sends). */
cJSON *ts_login_request(vault_server *s, const ts_account *a, const char *password);
/* Adds a fresh OPAQUE proof of password for a's email ("login_state",
 * "ke3") to a step-up request. */
void ts_add_proof(vault_server *s, cJSON *req, const ts_account *a, const char *password);
cJSON *ts_session_request(const char *op, const char *session);
cJSON *ts_push_request(const ts_account *a, uint64_t base, const char *content);

/* Registers a with a real OPAQUE record for a->password (stores the session
 * in a->session); asserts success. */
void ts_register(vault_server *s, ts_account *a);
/* Logs in (login_start, login_finish) with password; returns login_finish's
 * response, or login_start's if that failed (caller deletes). On success the
 * response also holds "session": the token the client derives from the key
 * exchange (the server never sends it). */
cJSON *ts_login(vault_server *s, const ts_account *a, const char *password);
/* Pushes base+1; returns the response. */
cJSON *ts_push(vault_server *s, const ts_account *a, uint64_t base, const char *content);
/* The account's current revision, by pull. */
uint64_t ts_revision(vault_server *s, const ts_account *a);

/* Area tests, listed in main.c. */
#define TS_AREA(name) void name(void **state)
TS_AREA(test_server_register__answers_session);
TS_AREA(test_server_register__refuses_taken_email_and_id);
TS_AREA(test_server_register__checks_params_and_blob);
TS_AREA(test_server_login__answers_account);
TS_AREA(test_server_login__wrong_key_is_auth);
TS_AREA(test_server_logout__ends_session);
TS_AREA(test_server_pull__returns_current_blob);
TS_AREA(test_server_push__compare_and_swap);
TS_AREA(test_server_push__checks_blob_header);
TS_AREA(test_server_push__keeps_last_revisions);
TS_AREA(test_server_change_password__replaces_credentials);
TS_AREA(test_server_delete_account__removes_everything);
TS_AREA(test_server_device__revoked_is_refused);
TS_AREA(test_server_login_start__known_and_unknown_look_alike);
TS_AREA(test_server_login_start__fake_record_is_deterministic);
TS_AREA(test_server_step_up__session_alone_is_refused);
TS_AREA(test_server_ratelimit__delays_after_free_failures);
TS_AREA(test_server_ratelimit__unknown_email_alike);
TS_AREA(test_server_ratelimit__delay_is_capped);
TS_AREA(test_server_ratelimit__change_password_counts);
TS_AREA(test_server_ratelimit__parallel_guesses_do_not_slip);
TS_AREA(test_server_session__expires);
TS_AREA(test_server_options__validated);
TS_AREA(test_server_malformed__corpus);
TS_AREA(test_server_malformed__oversized_request);
TS_AREA(test_server_malformed__bad_arguments);
TS_AREA(test_server_concurrency__pushes_never_lost);
TS_AREA(test_server_persistence__survives_reopen);
TS_AREA(test_server_breach__no_email_or_key_in_database);
TS_AREA(test_server_alloc__every_failure_answers);
TS_AREA(test_server_faults__storage_failure_is_internal);
TS_AREA(test_server_faults__newer_schema_is_refused);
TS_AREA(test_server_faults__store_errors_and_recovery_are_reported);
TS_AREA(test_server_faults__rate_limit_shared_by_processes);
TS_AREA(test_server_faults__unreachable_database_is_io);
TS_AREA(test_server_faults__connection_loss_survived);
TS_AREA(test_server_faults__schema_upgrade_in_place);
TS_AREA(test_server_links__relay_lifecycle);
TS_AREA(test_server_links__quota_and_states);
TS_AREA(test_server_links__reverse_request);
TS_AREA(test_server_devices__list_revoke_rotate);
TS_AREA(test_server_limits__a6_names_echoed_only_as_valid_utf8);
TS_AREA(test_server_limits__a1_small_ops_have_the_small_cap);
TS_AREA(test_server_limits__a5_second_address_links_while_one_floods);
TS_AREA(test_server_limits__a4_guesses_over_many_accounts_limited_per_address);
TS_AREA(test_server_limits__a4_guesses_from_many_addresses_limited_globally);

#endif

/* login_start must not reveal whether an email is registered (a fake record
 * answers an unknown one), and step-up operations need a fresh password
 * proof: a session alone is refused. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "opaque/opaque.h"
#include "server_test.h"

/* A fixed KE1 (the blinded element decides the OPRF part of KE2). */
static void fixed_ke1(char hex[2 * 96 + 1])
{
    vault_opaque_client st;
    uint8_t ke1[96], blind[32] = {7}, nonce[32] = {1}, seed[32] = {2};
    assert_int_equal(vault__opaque_ke1(&st, ke1, (const uint8_t *)"pw", 2, blind, nonce, seed),
                     VAULT_OK);
    vault__bin2hex(hex, ke1, sizeof ke1);
}

static cJSON *login_start(vault_server *s, const char *email)
{
    char ke1[2 * 96 + 1];
    fixed_ke1(ke1);
    cJSON *req = ts_request("login_start");
    cJSON_AddStringToObject(req, "email", email);
    cJSON_AddStringToObject(req, "ke1", ke1);
    cJSON *resp = ts_call(s, req);
    ts_assert_ok(resp);
    return resp;
}

void test_server_login_start__known_and_unknown_look_alike(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", "ke2", "opslimit", "memlimit", "login_state",
                                          NULL};
    ts_account a;
    vault_server *s = ts_open_registered("login_start", &a);
    cJSON *known = login_start(s, a.email);
    cJSON *unknown = login_start(s, "nobody@example.com");
    ts_assert_members(known, members);
    ts_assert_members(unknown, members);
    assert_int_equal(strlen(ts_str(known, "ke2")), 2 * 320);
    assert_int_equal(strlen(ts_str(unknown, "ke2")), 2 * 320);
    assert_int_equal(strlen(ts_str(known, "login_state")), strlen(ts_str(unknown, "login_state")));
    assert_int_equal(ts_u64(known, "opslimit"), VAULT_KDF_OPSLIMIT_DEFAULT);
    assert_int_equal(ts_u64(unknown, "opslimit"), VAULT_KDF_OPSLIMIT_DEFAULT);
    assert_int_equal(ts_u64(known, "memlimit"), VAULT_KDF_MEMLIMIT_DEFAULT);
    assert_int_equal(ts_u64(unknown, "memlimit"), VAULT_KDF_MEMLIMIT_DEFAULT);
    /* Same byte length of the whole answer, too. */
    char *k = cJSON_PrintUnformatted(known), *u = cJSON_PrintUnformatted(unknown);
    assert_int_equal(strlen(k), strlen(u));
    cJSON_free(k);
    cJSON_free(u);
    cJSON_Delete(known);
    cJSON_Delete(unknown);
    /* A login attempt on the unknown email fails exactly like a wrong
     * password on the known one. */
    ts_account ghost;
    ts_account_init(&ghost, 9);
    cJSON *r1 = ts_login(s, &a, "not the password");
    cJSON *r2 = ts_login(s, &ghost, ghost.password);
    ts_assert_error(r1, "auth");
    ts_assert_error(r2, "auth");
    assert_string_equal(ts_str(cJSON_GetObjectItemCaseSensitive(r1, "error"), "message"),
                        ts_str(cJSON_GetObjectItemCaseSensitive(r2, "error"), "message"));
    cJSON_Delete(r1);
    cJSON_Delete(r2);
    vault_server_close(s);
}

/* The fake record's OPRF key is derived like a real one: the same email (as
 * normalised) and KE1 get the same evaluated element, across restarts, and
 * another pepper or email another one. */
void test_server_login_start__fake_record_is_deterministic(void **state)
{
    (void)state;
    vault_server *s = ts_open("login_start_fake", 1);
    cJSON *one = login_start(s, "ghost@example.com");
    cJSON *again = login_start(s, "  Ghost@EXAMPLE.com\n");
    cJSON *other = login_start(s, "ghost2@example.com");
    char first[65];
    snprintf(first, sizeof first, "%.64s", ts_str(one, "ke2"));
    assert_memory_equal(ts_str(again, "ke2"), first, 64);
    assert_memory_not_equal(ts_str(other, "ke2"), first, 64);
    /* the rest is fresh every time: masked with a new nonce, new key share */
    assert_string_not_equal(ts_str(one, "ke2") + 64, ts_str(again, "ke2") + 64);
    cJSON_Delete(one);
    cJSON_Delete(again);
    cJSON_Delete(other);
    vault_server_close(s);
    s = ts_reopen("login_start_fake", 1);
    one = login_start(s, "ghost@example.com");
    assert_memory_equal(ts_str(one, "ke2"), first, 64);
    cJSON_Delete(one);
    vault_server_close(s);
    s = ts_reopen("login_start_fake", 2);
    one = login_start(s, "ghost@example.com");
    assert_memory_not_equal(ts_str(one, "ke2"), first, 64);
    cJSON_Delete(one);
    vault_server_close(s);
}

/* change_password, delete_account and device_revoke refuse a session alone
 * (the proof members are required), a proof of a wrong password, and an
 * expired proof; the account is untouched afterwards. */
void test_server_step_up__session_alone_is_refused(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("step_up", &a);
    ts_expect_error(ts_call(s, ts_session_request("delete_account", a.session)), "invalid");
    cJSON *req = ts_session_request("delete_account", a.session);
    ts_add_proof(s, req, &a, "a guess");
    ts_expect_error(ts_call(s, req), "auth");
    req = ts_session_request("delete_account", a.session);
    ts_add_proof(s, req, &a, a.password);
    vault__set_clock_for_tests(TS_NOW_MS + 5 * 60 * 1000);
    ts_expect_error(ts_call(s, req), "expired");
    vault__set_clock_for_tests(TS_NOW_MS);
    assert_int_equal(ts_revision(s, &a), 1);
    ts_expect_ok(ts_login(s, &a, a.password));
    vault_server_close(s);
}

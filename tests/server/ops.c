/* The operations of docs/protocol.md, one by one: exact answers. */
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

static const char *const session_members[] = {"ok", "session", "expires_ms", NULL};

static int is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

void test_server_register__answers_session(void **state)
{
    (void)state;
    vault_server *s = ts_open("register", 1);
    ts_account a;
    ts_account_init(&a, 1);
    cJSON *resp = ts_call(s, ts_register_request(&a));
    ts_assert_ok(resp);
    ts_assert_members(resp, session_members);
    assert_true(is_lower_hex(ts_str(resp, "session"), 64));
    assert_int_equal(ts_u64(resp, "expires_ms"), TS_NOW_MS + 3600 * 1000);
    snprintf(a.session, sizeof a.session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
    assert_int_equal(ts_revision(s, &a), 1);
    vault_server_close(s);
}

void test_server_register__refuses_taken_email_and_id(void **state)
{
    (void)state;
    vault_server *s = ts_open("register_taken", 1);
    ts_account a, b;
    ts_account_init(&a, 1);
    ts_register(s, &a);
    ts_expect_error(ts_call(s, ts_register_request(&a)), "exists");
    /* Same email in another case and with spaces: the same account. */
    ts_account_init(&b, 2);
    snprintf(b.email, sizeof b.email, "  USER1@Example.COM ");
    ts_expect_error(ts_call(s, ts_register_request(&b)), "exists");
    /* Same account id, other email. */
    ts_account_init(&b, 2);
    memcpy(b.account_id, a.account_id, sizeof b.account_id);
    ts_expect_error(ts_call(s, ts_register_request(&b)), "exists");
    ts_account_init(&b, 2);
    ts_register(s, &b);
    vault_server_close(s);
}

static void expect_register_error(vault_server *s, const ts_account *a, const char *member,
                                  cJSON *value, const char *code)
{
    cJSON *req = ts_register_request(a);
    cJSON_ReplaceItemInObjectCaseSensitive(req, member, value);
    cJSON *resp = ts_call(s, req);
    ts_assert_error(resp, code);
    cJSON_Delete(resp);
}

void test_server_register__checks_params_and_blob(void **state)
{
    (void)state;
    vault_server *s = ts_open("register_params", 1);
    ts_account a, other;
    ts_account_init(&a, 1);
    ts_account_init(&other, 2);
    expect_register_error(s, &a, "opslimit", cJSON_CreateNumber(VAULT_KDF_OPSLIMIT_MIN - 1),
                          "invalid");
    expect_register_error(s, &a, "memlimit", cJSON_CreateNumber(VAULT_KDF_MEMLIMIT_MIN - 1),
                          "invalid");
    expect_register_error(s, &a, "opslimit", cJSON_CreateNumber(VAULT_KDF_OPSLIMIT_MAX + 1),
                          "limit");
    expect_register_error(s, &a, "protected_key", cJSON_CreateString("00"), "invalid");
    /* The first blob must be revision 1 of this very account. */
    char *b64 = ts_blob_b64(&a, 2, "x");
    expect_register_error(s, &a, "blob", cJSON_CreateString(b64), "invalid");
    free(b64);
    b64 = ts_blob_b64(&other, 1, "x");
    expect_register_error(s, &a, "blob", cJSON_CreateString(b64), "invalid");
    free(b64);
    expect_register_error(s, &a, "blob", cJSON_CreateString("AAAA"), "invalid");
    /* Nothing was created by the refusals. */
    ts_register(s, &a);
    vault_server_close(s);
}

void test_server_login__answers_account(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", "session", "expires_ms", "account_id",
                                          "protected_key", "opslimit", "memlimit",
                                          "revision", NULL};
    char hex[2 * VAULT_PROTECTED_KEY_BYTES + 1];
    vault_server *s = ts_open("login", 1);
    ts_account a;
    ts_account_init(&a, 1);
    a.opslimit = TEST_OPS;
    a.memlimit = TEST_MEM;
    ts_register(s, &a);
    cJSON *resp = ts_login(s, &a, a.password);
    ts_assert_ok(resp);
    ts_assert_members(resp, members);
    assert_true(is_lower_hex(ts_str(resp, "session"), 64));
    assert_string_not_equal(ts_str(resp, "session"), a.session);
    assert_int_equal(ts_u64(resp, "expires_ms"), TS_NOW_MS + 3600 * 1000);
    assert_string_equal(ts_str(resp, "account_id"), a.account_id);
    vault__bin2hex(hex, a.protected_key, sizeof a.protected_key);
    assert_string_equal(ts_str(resp, "protected_key"), hex);
    assert_int_equal(ts_u64(resp, "opslimit"), TEST_OPS);
    assert_int_equal(ts_u64(resp, "memlimit"), TEST_MEM);
    assert_int_equal(ts_u64(resp, "revision"), 1);
    /* The new session works, and so does the register one. */
    ts_account b = a;
    snprintf(b.session, sizeof b.session, "%s", ts_str(resp, "session"));
    assert_int_equal(ts_revision(s, &b), 1);
    assert_int_equal(ts_revision(s, &a), 1);
    cJSON_Delete(resp);
    /* The email is normalised. */
    snprintf(a.email, sizeof a.email, "\tUser1@EXAMPLE.com  ");
    ts_expect_ok(ts_login(s, &a, a.password));
    vault_server_close(s);
}

void test_server_login__wrong_key_is_auth(void **state)
{
    (void)state;
    vault_server *s = ts_open("login_wrong", 1);
    ts_account a, unknown;
    ts_account_init(&a, 1);
    ts_account_init(&unknown, 9);
    ts_register(s, &a);
    cJSON *resp = ts_login(s, &a, "password of user 1!");
    ts_assert_error(resp, "auth");
    char message[256];
    snprintf(message, sizeof message, "%s",
             ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "message"));
    cJSON_Delete(resp);
    /* An unknown email gets the very same answer. */
    resp = ts_login(s, &unknown, unknown.password);
    ts_assert_error(resp, "auth");
    assert_string_equal(ts_str(cJSON_GetObjectItemCaseSensitive(resp, "error"), "message"),
                        message);
    cJSON_Delete(resp);
    /* Another account's key does not open this one. */
    ts_expect_error(ts_login(s, &a, unknown.password), "auth");
    vault_server_close(s);
}

void test_server_logout__ends_session(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", NULL};
    ts_account a;
    vault_server *s = ts_open_registered("logout", &a);
    cJSON *resp = ts_call(s, ts_session_request("logout", a.session));
    ts_assert_ok(resp);
    ts_assert_members(resp, members);
    cJSON_Delete(resp);
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "auth");
    ts_expect_error(ts_call(s, ts_session_request("logout", a.session)), "auth");
    vault_server_close(s);
}

void test_server_pull__returns_current_blob(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", "revision", "blob", NULL};
    ts_account a;
    vault_server *s = ts_open_registered("pull", &a);
    cJSON *req = ts_push_request(&a, 1, "second revision");
    char *sent = vault__strdup(ts_str(req, "blob"));
    ts_expect_ok(ts_call(s, req));
    cJSON *resp = ts_call(s, ts_session_request("pull", a.session));
    ts_assert_ok(resp);
    ts_assert_members(resp, members);
    assert_int_equal(ts_u64(resp, "revision"), 2);
    assert_string_equal(ts_str(resp, "blob"), sent);
    /* And it opens (real blobs) with the account's key at that revision. */
    size_t bin_len = 0;
    const char *b64 = ts_str(resp, "blob");
    uint8_t *bin = malloc(strlen(b64));
    assert_int_equal(sodium_base642bin(bin, strlen(b64), b64, strlen(b64), NULL, &bin_len,
                                       NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    char *owner = NULL;
    uint64_t rev = 0;
    assert_int_equal(vault_blob_peek(bin, bin_len, &owner, &rev), VAULT_OK);
    assert_string_equal(owner, a.account_id);
    assert_int_equal(rev, 2);
    vault_free(owner);
    free(bin);
    vault__free(sent);
    cJSON_Delete(resp);
    vault_server_close(s);
}

void test_server_push__compare_and_swap(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", "revision", NULL};
    ts_account a;
    vault_server *s = ts_open_registered("push", &a);
    cJSON *resp = ts_push(s, &a, 1, "two");
    ts_assert_ok(resp);
    ts_assert_members(resp, members);
    assert_int_equal(ts_u64(resp, "revision"), 2);
    cJSON_Delete(resp);
    /* A second push on the same base loses. */
    resp = ts_push(s, &a, 1, "two, again");
    ts_assert_error(resp, "conflict");
    assert_int_equal(ts_u64(cJSON_GetObjectItemCaseSensitive(resp, "error"),
                            "current_revision"), 2);
    cJSON_Delete(resp);
    /* A base from the future too. */
    resp = ts_push(s, &a, 7, "eight");
    ts_assert_error(resp, "conflict");
    assert_int_equal(ts_u64(cJSON_GetObjectItemCaseSensitive(resp, "error"),
                            "current_revision"), 2);
    cJSON_Delete(resp);
    resp = ts_push(s, &a, 2, "three");
    ts_assert_ok(resp);
    assert_int_equal(ts_u64(resp, "revision"), 3);
    cJSON_Delete(resp);
    assert_int_equal(ts_revision(s, &a), 3);
    vault_server_close(s);
}

void test_server_push__checks_blob_header(void **state)
{
    (void)state;
    vault_server *s = ts_open("push_header", 1);
    ts_account a, b;
    ts_account_init(&a, 1);
    ts_account_init(&b, 2);
    ts_register(s, &a);
    ts_register(s, &b);
    /* Sealed for revision 3 but pushed as 2. */
    cJSON *req = ts_push_request(&a, 1, "x");
    char *b64 = ts_blob_b64(&a, 3, "x");
    cJSON_ReplaceItemInObjectCaseSensitive(req, "blob", cJSON_CreateString(b64));
    free(b64);
    ts_expect_error(ts_call(s, req), "invalid");
    /* b's blob in a's session: refused, a's vault unchanged. */
    req = ts_push_request(&a, 1, "x");
    b64 = ts_blob_b64(&b, 2, "x");
    cJSON_ReplaceItemInObjectCaseSensitive(req, "blob", cJSON_CreateString(b64));
    free(b64);
    ts_expect_error(ts_call(s, req), "invalid");
    assert_int_equal(ts_revision(s, &a), 1);
    assert_int_equal(ts_revision(s, &b), 1);
    vault_server_close(s);
}

void test_server_push__keeps_last_revisions(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("keep", &a);
    for (uint64_t base = 1; base < 15; base++) {
        ts_expect_ok(ts_push(s, &a, base, "content"));
    }
    assert_int_equal(ts_db_run("keep", "SELECT count(*) FROM blobs"), 10);
    assert_int_equal(ts_db_run("keep", "SELECT min(revision) FROM blobs"), 6);
    assert_int_equal(ts_db_run("keep", "SELECT max(revision) FROM blobs"), 15);
    assert_int_equal(ts_revision(s, &a), 15);
    vault_server_close(s);
}

static cJSON *change_password_request(vault_server *s, const ts_account *a,
                                      const char *old_password, const ts_account *next)
{
    cJSON *req = ts_session_request("change_password", a->session);
    ts_add_proof(s, req, a, old_password);
    cJSON_AddStringToObject(req, "record", next->record);
    cJSON_AddNumberToObject(req, "opslimit", (double)next->opslimit);
    cJSON_AddNumberToObject(req, "memlimit", (double)next->memlimit);
    ts_add_hex(req, "protected_key", next->protected_key, sizeof next->protected_key);
    return req;
}

void test_server_change_password__replaces_credentials(void **state)
{
    (void)state;
    vault_server *s = ts_open("change_password", 1);
    ts_account a, next, second;
    ts_account_init(&a, 1);
    ts_register(s, &a);
    cJSON *resp = ts_login(s, &a, a.password);
    ts_assert_ok(resp);
    second = a;
    snprintf(second.session, sizeof second.session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
    /* New record (new password), parameters and wrapped key. */
    ts_account_init(&next, 50);
    next.opslimit = 4;
    next.memlimit = 128u * 1024u * 1024u;
    test_opaque_record_for(s, a.email, next.password, next.record);
    ts_expect_error(ts_call(s, change_password_request(s, &a, next.password, &next)), "auth");
    cJSON *req = ts_session_request("change_password", a.session);
    test_proof proof;
    assert_int_equal(test_opaque_prove(s, a.email, a.password, &proof), VAULT_OK);
    cJSON_AddStringToObject(req, "login_state", proof.state);
    cJSON_AddStringToObject(req, "ke3", proof.ke3);
    cJSON_AddStringToObject(req, "record", next.record);
    cJSON_AddNumberToObject(req, "opslimit", (double)next.opslimit);
    cJSON_AddNumberToObject(req, "memlimit", (double)next.memlimit);
    ts_add_hex(req, "protected_key", next.protected_key, sizeof next.protected_key);
    resp = ts_call(s, req);
    ts_assert_ok(resp);
    static const char *const change_members[] = {"ok", "expires_ms", NULL};
    ts_assert_members(resp, change_members);
    char fresh[65]; /* the session derived from the proof's key exchange */
    snprintf(fresh, sizeof fresh, "%s", proof.session);
    cJSON_Delete(resp);
    /* Every earlier session is over, the fresh one works. */
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "auth");
    ts_expect_error(ts_call(s, ts_session_request("pull", second.session)), "auth");
    snprintf(a.session, sizeof a.session, "%s", fresh);
    assert_int_equal(ts_revision(s, &a), 1);
    /* The old password is refused, the new one answers the new parameters. */
    ts_expect_error(ts_login(s, &a, a.password), "auth");
    resp = ts_login(s, &a, next.password);
    ts_assert_ok(resp);
    char hex[2 * VAULT_PROTECTED_KEY_BYTES + 1];
    vault__bin2hex(hex, next.protected_key, sizeof next.protected_key);
    assert_string_equal(ts_str(resp, "protected_key"), hex);
    assert_int_equal(ts_u64(resp, "opslimit"), 4);
    assert_int_equal(ts_u64(resp, "memlimit"), 128u * 1024u * 1024u);
    /* Weak new parameters are refused. */
    next.opslimit = 1;
    snprintf(a.session, sizeof a.session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
    ts_expect_error(ts_call(s, change_password_request(s, &a, next.password, &next)), "invalid");
    vault_server_close(s);
}

void test_server_delete_account__removes_everything(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", NULL};
    vault_server *s = ts_open("delete", 1);
    ts_account a, b;
    ts_account_init(&a, 1);
    ts_account_init(&b, 2);
    ts_register(s, &a);
    ts_register(s, &b);
    ts_expect_ok(ts_push(s, &a, 1, "two"));
    cJSON *req = ts_session_request("delete_account", a.session);
    ts_add_proof(s, req, &b, b.password); /* b's password proof: not for this account */
    ts_expect_error(ts_call(s, req), "auth");
    req = ts_session_request("delete_account", a.session);
    ts_add_proof(s, req, &a, b.password);
    ts_expect_error(ts_call(s, req), "auth");
    req = ts_session_request("delete_account", a.session);
    ts_add_proof(s, req, &a, a.password);
    cJSON *resp = ts_call(s, req);
    ts_assert_ok(resp);
    ts_assert_members(resp, members);
    cJSON_Delete(resp);
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "auth");
    ts_expect_error(ts_login(s, &a, a.password), "auth");
    assert_int_equal(ts_db_run("delete", "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(ts_db_run("delete", "SELECT count(*) FROM blobs"), 1);
    assert_int_equal(ts_db_run("delete", "SELECT count(*) FROM devices"), 1);
    assert_int_equal(ts_db_run("delete", "SELECT count(*) FROM sessions"), 1);
    /* b is untouched, and the email can register again. */
    assert_int_equal(ts_revision(s, &b), 1);
    ts_register(s, &a);
    vault_server_close(s);
}

static void revoke_device(const char *name, const char *device_hex)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             ts_backend_is_pg() ? "UPDATE devices SET revoked_ms = 1 WHERE id = '\\x%s'"
                                : "UPDATE devices SET revoked_ms = 1 WHERE id = x'%s'",
             device_hex);
    assert_int_equal(ts_db_run(name, sql), 1);
}

/* Revocation itself belongs to the device calls; the store already refuses
 * a revoked device at login and its sessions. */
void test_server_device__revoked_is_refused(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("revoked", &a);
    revoke_device("revoked", a.device_id);
    ts_expect_error(ts_call(s, ts_session_request("pull", a.session)), "revoked");
    ts_expect_error(ts_login(s, &a, a.password), "revoked");
    /* Another device of the same account still logs in. */
    ts_account other = a;
    snprintf(other.device_id, sizeof other.device_id, "%032x", 77);
    ts_expect_ok(ts_login(s, &other, a.password));
    vault_server_close(s);
}

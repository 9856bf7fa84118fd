/* prelogin must not reveal whether an email is registered. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

static cJSON *prelogin(vault_server *s, const char *email)
{
    cJSON *req = ts_request("prelogin");
    cJSON_AddStringToObject(req, "email", email);
    cJSON *resp = ts_call(s, req);
    ts_assert_ok(resp);
    return resp;
}

void test_server_prelogin__known_and_unknown_look_alike(void **state)
{
    (void)state;
    static const char *const members[] = {"ok", "salt", "opslimit", "memlimit", NULL};
    char hex[33];
    ts_account a;
    vault_server *s = ts_open_registered("prelogin", &a);
    cJSON *known = prelogin(s, a.email);
    cJSON *unknown = prelogin(s, "nobody@example.com");
    ts_assert_members(known, members);
    ts_assert_members(unknown, members);
    vault__bin2hex(hex, a.salt, sizeof a.salt);
    assert_string_equal(ts_str(known, "salt"), hex);
    assert_int_equal(strlen(ts_str(unknown, "salt")), 32);
    assert_string_not_equal(ts_str(unknown, "salt"), hex);
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
    vault_server_close(s);
}

void test_server_prelogin__fake_salt_is_deterministic(void **state)
{
    (void)state;
    vault_server *s = ts_open("prelogin_fake", 1);
    cJSON *one = prelogin(s, "ghost@example.com");
    cJSON *again = prelogin(s, "  Ghost@EXAMPLE.com\n");
    cJSON *other = prelogin(s, "ghost2@example.com");
    assert_string_equal(ts_str(one, "salt"), ts_str(again, "salt"));
    assert_string_not_equal(ts_str(one, "salt"), ts_str(other, "salt"));
    char first[33];
    snprintf(first, sizeof first, "%s", ts_str(one, "salt"));
    cJSON_Delete(one);
    cJSON_Delete(again);
    cJSON_Delete(other);
    /* Stable across restarts, and keyed by the pepper. */
    vault_server_close(s);
    s = ts_reopen("prelogin_fake", 1);
    one = prelogin(s, "ghost@example.com");
    assert_string_equal(ts_str(one, "salt"), first);
    cJSON_Delete(one);
    vault_server_close(s);
    s = ts_reopen("prelogin_fake", 2);
    one = prelogin(s, "ghost@example.com");
    assert_string_not_equal(ts_str(one, "salt"), first);
    cJSON_Delete(one);
    vault_server_close(s);
}

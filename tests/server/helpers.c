/* Fixtures shared by the server tests. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "server_test.h"

vault_server *ts_reopen(const char *name, uint8_t pepper_base)
{
    uint8_t pepper[VAULT_PEPPER_MIN_BYTES];
    vault_server *s = NULL;
    test_key(pepper, pepper_base);
    vault__set_clock_for_tests(TS_NOW_MS);
    if (vault_server_open(&s, ts_db(name), pepper, sizeof pepper, 0) != VAULT_OK)
        fail_msg("vault_server_open(%s): %s", name, vault_last_error());
    assert_non_null(s);
    return s;
}

vault_server *ts_open(const char *name, uint8_t pepper_base)
{
    ts_db_reset(name);
    return ts_reopen(name, pepper_base);
}

vault_server *ts_open_registered(const char *name, ts_account *a)
{
    vault_server *s = ts_open(name, 1);
    ts_account_init(a, 1);
    ts_register(s, a);
    return s;
}

cJSON *ts_call_text(vault_server *s, const char *text, size_t len)
{
    char *response = NULL;
    assert_int_equal(vault_server_handle(s, text, len, &response), VAULT_OK);
    assert_non_null(response);
    cJSON *parsed = cJSON_Parse(response);
    assert_non_null(parsed);
    vault_free(response);
    return parsed;
}

cJSON *ts_call(vault_server *s, cJSON *request)
{
    char *text = cJSON_PrintUnformatted(request);
    assert_non_null(text);
    cJSON *resp = ts_call_text(s, text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(request);
    return resp;
}

void ts_assert_members(const cJSON *obj, const char *const *names)
{
    int expected = 0, found = 0;
    assert_true(cJSON_IsObject(obj));
    for (; names[expected] != NULL; expected++) {
        if (cJSON_GetObjectItemCaseSensitive(obj, names[expected]) == NULL)
            fail_msg("member \"%s\" missing", names[expected]);
    }
    for (const cJSON *m = obj->child; m != NULL; m = m->next)
        found++;
    assert_int_equal(found, expected);
}

void ts_assert_error(const cJSON *resp, const char *code)
{
    static const char *const top[] = {"ok", "error", NULL};
    static const char *const plain[] = {"code", "message", NULL};
    static const char *const rate[] = {"code", "message", "retry_after_ms", NULL};
    static const char *const conflict[] = {"code", "message", "current_revision", NULL};
    ts_assert_members(resp, top);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp, "ok")));
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const char *got = ts_str(err, "code");
    if (strcmp(got, code) != 0)
        fail_msg("expected error \"%s\", got \"%s\" (%s)", code, got, ts_str(err, "message"));
    assert_true(strlen(ts_str(err, "message")) > 0);
    if (strcmp(code, "rate_limited") == 0)
        ts_assert_members(err, rate);
    else if (strcmp(code, "conflict") == 0)
        ts_assert_members(err, conflict);
    else
        ts_assert_members(err, plain);
}

void ts_assert_ok(const cJSON *resp)
{
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
    if (!cJSON_IsTrue(ok)) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
        fail_msg("request failed: %s: %s", ts_str(err, "code"), ts_str(err, "message"));
    }
}

void ts_expect_error(cJSON *resp, const char *code)
{
    ts_assert_error(resp, code);
    cJSON_Delete(resp);
}

void ts_expect_ok(cJSON *resp)
{
    ts_assert_ok(resp);
    cJSON_Delete(resp);
}

const char *ts_str(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item))
        fail_msg("member \"%s\" is not a string", name);
    return item->valuestring;
}

uint64_t ts_u64(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item) || item->valuedouble < 0)
        fail_msg("member \"%s\" is not a non-negative number", name);
    return (uint64_t)item->valuedouble;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

void ts_account_init(ts_account *a, unsigned n)
{
    uint8_t id[16];
    memset(a, 0, sizeof *a);
    snprintf(a->email, sizeof a->email, "user%u@example.com", n);
    fill(id, sizeof id, n);
    vault__bin2hex(a->account_id, id, sizeof id);
    snprintf(a->password, sizeof a->password, "password of user %u", n);
    fill(a->protected_key, sizeof a->protected_key, n + 3000);
    fill(id, sizeof id, n + 4000);
    vault__bin2hex(a->device_id, id, sizeof id);
    fill(a->vault_key, sizeof a->vault_key, n + 5000);
    a->opslimit = VAULT_KDF_OPSLIMIT_DEFAULT;
    a->memlimit = VAULT_KDF_MEMLIMIT_DEFAULT;
}

cJSON *ts_request(const char *op)
{
    cJSON *req = cJSON_CreateObject();
    assert_non_null(req);
    cJSON_AddNumberToObject(req, "v", 2);
    cJSON_AddStringToObject(req, "op", op);
    return req;
}

void ts_add_hex(cJSON *req, const char *name, const uint8_t *bytes, size_t len)
{
    char hex[2 * 256 + 1];
    assert_true(len <= 256);
    vault__bin2hex(hex, bytes, len);
    assert_non_null(cJSON_AddStringToObject(req, name, hex));
}

char *ts_blob_b64(const ts_account *a, uint64_t revision, const char *content)
{
    return test_blob_b64(a->vault_key, a->account_id, revision, content);
}

cJSON *ts_register_request(const ts_account *a)
{
    cJSON *req = ts_request("register");
    char *blob = ts_blob_b64(a, 1, "{\"items\":[]}");
    cJSON_AddStringToObject(req, "email", a->email);
    cJSON_AddStringToObject(req, "account_id", a->account_id);
    char record[2 * 192 + 1];
    if (a->record[0] == '\0')
        test_opaque_record_hex(record);
    else
        snprintf(record, sizeof record, "%s", a->record);
    cJSON_AddStringToObject(req, "record", record);
    cJSON_AddNumberToObject(req, "opslimit", (double)a->opslimit);
    cJSON_AddNumberToObject(req, "memlimit", (double)a->memlimit);
    ts_add_hex(req, "protected_key", a->protected_key, sizeof a->protected_key);
    cJSON_AddStringToObject(req, "blob", blob);
    cJSON_AddStringToObject(req, "device_id", a->device_id);
    cJSON_AddStringToObject(req, "device_name", "test laptop");
    free(blob);
    return req;
}

cJSON *ts_login_request(vault_server *s, const ts_account *a, const char *password)
{
    cJSON *req = ts_request("login_finish");
    ts_add_proof(s, req, a, password);
    cJSON_AddStringToObject(req, "device_id", a->device_id);
    cJSON_AddStringToObject(req, "device_name", "test laptop");
    return req;
}

void ts_add_proof(vault_server *s, cJSON *req, const ts_account *a, const char *password)
{
    test_proof p;
    cJSON *error = NULL;
    int rc = test_opaque_prove_ex(s, a->email, password, &p, &error);
    if (error != NULL) {
        char *t = cJSON_PrintUnformatted(error);
        fail_msg("login_start failed: %s", t);
    }
    assert_true(rc == VAULT_OK || rc == VAULT_E_AUTH);
    cJSON_AddStringToObject(req, "login_state", p.state);
    cJSON_AddStringToObject(req, "ke3", p.ke3);
}

cJSON *ts_session_request(const char *op, const char *session)
{
    cJSON *req = ts_request(op);
    cJSON_AddStringToObject(req, "session", session);
    return req;
}

cJSON *ts_push_request(const ts_account *a, uint64_t base, const char *content)
{
    cJSON *req = ts_session_request("push", a->session);
    char *blob = ts_blob_b64(a, base + 1, content);
    cJSON_AddNumberToObject(req, "base_revision", (double)base);
    cJSON_AddStringToObject(req, "blob", blob);
    free(blob);
    return req;
}

void ts_register(vault_server *s, ts_account *a)
{
    test_opaque_record_for(s, a->email, a->password, a->record);
    cJSON *resp = ts_call(s, ts_register_request(a));
    ts_assert_ok(resp);
    snprintf(a->session, sizeof a->session, "%s", ts_str(resp, "session"));
    cJSON_Delete(resp);
}

cJSON *ts_login(vault_server *s, const ts_account *a, const char *password)
{
    test_proof p;
    cJSON *error = NULL;
    int rc = test_opaque_prove_ex(s, a->email, password, &p, &error);
    if (error != NULL)
        return error;
    assert_true(rc == VAULT_OK || rc == VAULT_E_AUTH);
    cJSON *req = ts_request("login_finish");
    cJSON_AddStringToObject(req, "login_state", p.state);
    cJSON_AddStringToObject(req, "ke3", p.ke3);
    cJSON_AddStringToObject(req, "device_id", a->device_id);
    cJSON_AddStringToObject(req, "device_name", "test laptop");
    cJSON *resp = ts_call(s, req);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")))
        cJSON_AddStringToObject(resp, "session", p.session);
    return resp;
}

cJSON *ts_push(vault_server *s, const ts_account *a, uint64_t base, const char *content)
{
    return ts_call(s, ts_push_request(a, base, content));
}

uint64_t ts_revision(vault_server *s, const ts_account *a)
{
    cJSON *resp = ts_call(s, ts_session_request("pull", a->session));
    ts_assert_ok(resp);
    uint64_t rev = ts_u64(resp, "revision");
    cJSON_Delete(resp);
    return rev;
}

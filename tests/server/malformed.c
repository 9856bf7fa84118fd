/* Malformed requests: every one gets the right error code, and the server
 * keeps serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server_test.h"

/* A valid blinded element (RFC 9807's first registration request). */
#define REQ0 "5059ff249eb1551b7ce4991f3336205bde44a105a032e747d21bf382e75f7a71"

/* A login state of the right length that this server never sealed. */
#define STATE0                                                                          \
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "000000000000000000000000000000000000000000"

typedef struct bad_case {
    const char *text;
    const char *code;
} bad_case;

static const bad_case corpus[] = {
    {"{", "invalid"},
    {"[]", "invalid"},
    {"null", "invalid"},
    {"1", "invalid"},
    {"\"register_start\"", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"} x", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}{}", "invalid"},
    {"{}", "version"},
    {"{\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}", "version"},
    {"{\"v\":1,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}", "version"},
    {"{\"v\":\"2\",\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}", "version"},
    {"{\"v\":2.5,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}", "version"},
    {"{\"v\":1,\"op\":\"no_such_op\"}", "version"},
    {"{\"v\":2}", "invalid"},
    {"{\"v\":2,\"op\":5}", "invalid"},
    {"{\"v\":2,\"op\":null}", "invalid"},
    {"{\"v\":2,\"op\":\"no_such_op\"}", "invalid"},
    {"{\"v\":2,\"op\":\"Register_start\",\"email\":\"a@b.c\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\",\"extra\":1}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\",\"email\":\"d@e.f\"}", "invalid"},
    {"{\"v\":2,\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":5}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":null}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":[\"a@b.c\"]}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"no-at-sign\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"@\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"   \"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\\u0000.evil\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\\u0001c\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\tc\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\xff\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\xc0\xaf\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b\xed\xa0\x80\"}", "invalid"},
    {"{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\\\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"device_id\":"
     "\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"x\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"x\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"0A000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"x\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"0g000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"x\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"0123456789012345678901234567890123456789012345678901234567890123X\"}", "limit"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e\",\"device_name\":\"x\"}", "invalid"},
    {"{\"v\":2,\"op\":\"login_finish\",\"login_state\":\"" STATE0 "\",\"ke3\":"
     "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\","
     "\"device_id\":\"000102030405060708090a0b0c0d0e0f\",\"device_name\":\"x\"}", "auth"},
    {"{\"v\":2,\"op\":\"pull\"}", "invalid"},
    {"{\"v\":2,\"op\":\"pull\",\"session\":\"abc\"}", "invalid"},
    {"{\"v\":2,\"op\":\"pull\",\"session\":1}", "invalid"},
    {"{\"v\":2,\"op\":\"pull\",\"session\":"
     "\"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\"}", "auth"},
    {"{\"v\":2,\"op\":\"register\",\"email\":\"a@b.c\"}", "invalid"},
};

/* A register_start that must still succeed after each bad request. */
static void still_serving(vault_server *s)
{
    const char *ok = "{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"alive@example.com\"}";
    ts_expect_ok(ts_call_text(s, ok, strlen(ok)));
}

static void expect_text(vault_server *s, const char *text, size_t len, const char *code)
{
    cJSON *resp = ts_call_text(s, text, len);
    ts_assert_error(resp, code);
    cJSON_Delete(resp);
    still_serving(s);
}

static void expect_request(vault_server *s, cJSON *req, const char *code)
{
    cJSON *resp = ts_call(s, req);
    ts_assert_error(resp, code);
    cJSON_Delete(resp);
    still_serving(s);
}

/* A push request of a with one member replaced (value NULL: removed). */
static cJSON *push_with(const ts_account *a, const char *member, cJSON *value)
{
    cJSON *req = ts_push_request(a, 1, "x");
    if (value == NULL)
        cJSON_DeleteItemFromObjectCaseSensitive(req, member);
    else if (cJSON_GetObjectItemCaseSensitive(req, member) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(req, member, value);
    else
        cJSON_AddItemToObject(req, member, value);
    return req;
}

void test_server_malformed__corpus(void **state)
{
    (void)state;
    vault_server *s = ts_open("malformed", 1);
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        cJSON *resp = ts_call_text(s, corpus[i].text, strlen(corpus[i].text));
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
        if (err == NULL || strcmp(ts_str(err, "code"), corpus[i].code) != 0)
            fail_msg("case %zu (%s): expected %s", i, corpus[i].text, corpus[i].code);
        ts_assert_error(resp, corpus[i].code);
        cJSON_Delete(resp);
        still_serving(s);
    }
    /* Empty input, NUL bytes, a NULL request. */
    expect_text(s, "", 0, "invalid");
    expect_text(s, NULL, 0, "invalid");
    const char nul_inside[] = "{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\0x\"}";
    expect_text(s, nul_inside, sizeof nul_inside - 1, "invalid");
    const char nul_outside[] = "{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}\0 ";
    expect_text(s, nul_outside, sizeof nul_outside - 1, "invalid");
    /* One trailing NUL (a C string passed with its terminator) is fine. */
    const char with_nul[] = "{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":\"a@b.c\"}";
    ts_expect_ok(ts_call_text(s, with_nul, sizeof with_nul));
    vault_server_close(s);
}

void test_server_malformed__oversized_request(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("malformed_big", &a);
    /* A request over the cap is refused before it is read. */
    size_t big = VAULT_SERVER_MAX_REQUEST + 1u;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    expect_text(s, text, big, "limit");
    free(text);
    /* A 1 MiB email, and a 300-byte one. */
    size_t n = 1024 * 1024;
    char *email = malloc(n + 1);
    memset(email, 'a', n);
    email[0] = '@';
    email[n] = '\0';
    cJSON *req = ts_request("register_start");
    cJSON_AddStringToObject(req, "email", email);
    cJSON_AddStringToObject(req, "request", REQ0);
    expect_request(s, req, "limit");
    email[300] = '\0';
    req = ts_request("register_start");
    cJSON_AddStringToObject(req, "email", email);
    cJSON_AddStringToObject(req, "request", REQ0);
    expect_request(s, req, "limit");
    free(email);
    /* Deep nesting. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 256);
    size_t len = (size_t)sprintf(deep, "{\"v\":2,\"op\":\"register_start\",\"request\":\"" REQ0 "\",\"email\":");
    for (size_t i = 0; i < depth; i++)
        deep[len++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[len++] = ']';
    deep[len++] = '}';
    expect_text(s, deep, len, "invalid");
    free(deep);
    /* A blob over MAX_BLOB is "limit", whether or not it is valid base64. */
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_MAX_BLOB, 100), VAULT_OK);
    expect_request(s, ts_push_request(&a, 1, "x"), "limit");
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_MAX_BLOB, 64 * 1024 * 1024),
                     VAULT_OK);
    ts_expect_ok(ts_push(s, &a, 1, "x"));
    vault_server_close(s);
}

void test_server_malformed__bad_arguments(void **state)
{
    (void)state;
    ts_account a;
    vault_server *s = ts_open_registered("malformed_args", &a);
    expect_request(s, push_with(&a, "base_revision", cJSON_CreateNumber(-1)), "invalid");
    expect_request(s, push_with(&a, "base_revision", cJSON_CreateNumber(1.5)), "invalid");
    expect_request(s, push_with(&a, "base_revision", cJSON_CreateNumber(1e300)), "invalid");
    expect_request(s, push_with(&a, "base_revision", cJSON_CreateString("1")), "invalid");
    expect_request(s, push_with(&a, "base_revision", cJSON_CreateTrue()), "invalid");
    expect_request(s, push_with(&a, "base_revision", NULL), "invalid");
    expect_request(s, push_with(&a, "blob", NULL), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("AAA")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("AA==AAAA")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("AAA*")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("AAAA\nAAA")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("AB==")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateString("YWJj")), "invalid");
    expect_request(s, push_with(&a, "blob", cJSON_CreateNumber(1)), "invalid");
    expect_request(s, push_with(&a, "extra", cJSON_CreateNull()), "invalid");
    expect_request(s, push_with(&a, "session", cJSON_CreateString(a.account_id)), "invalid");
    /* A garbage blob of a plausible size: not a vault blob. */
    char junk[2001];
    memset(junk, 'Q', sizeof junk - 1);
    junk[sizeof junk - 1] = '\0';
    expect_request(s, push_with(&a, "blob", cJSON_CreateString(junk)), "invalid");
    assert_int_equal(ts_revision(s, &a), 1);

    /* The API itself. */
    char *response = (char *)1;
    assert_int_equal(vault_server_handle(NULL, "{}", 2, &response), VAULT_E_INVALID);
    assert_null(response);
    assert_int_equal(vault_server_handle(s, "{}", 2, NULL), VAULT_E_INVALID);
    vault_server_close(s);
}

/* Limits a hostile client cannot exhaust, at the handler (docs/security.md,
 * "Abuse cases"): each test names its abuse case number. The HTTP side
 * (body caps, memory budget, deadlines) is tests/http/limits.c. */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server/server.h"
#include "server_test.h"

/* Valid UTF-8 by glibc's own decoder (not the server's): converting UTF-8 to
 * UTF-8 fails on any invalid sequence. */
static int valid_utf8(const char *text)
{
    iconv_t cd = iconv_open("UTF-8", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t in_left = strlen(text), out_left = 4 * in_left + 4;
    char *out = malloc(out_left), *in = (char *)(uintptr_t)text, *o = out;
    assert_non_null(out);
    size_t r = iconv(cd, &in, &in_left, &o, &out_left);
    iconv_close(cd);
    free(out);
    return r != (size_t)-1 && in_left == 0;
}

/* The request's "v", as the shared helper writes it. */
static int protocol_version(void)
{
    cJSON *req = ts_request("x");
    int v = cJSON_GetObjectItemCaseSensitive(req, "v")->valueint;
    cJSON_Delete(req);
    return v;
}

/* Sends text raw; the answer must be valid UTF-8 and parse as an error
 * object with a string message, which is returned (free()). */
static char *error_message(vault_server *s, const char *text)
{
    char *response = NULL;
    assert_int_equal(vault_server_handle(s, text, strlen(text), &response), VAULT_OK);
    assert_non_null(response);
    assert_true(valid_utf8(response));
    cJSON *resp = NULL;
    assert_int_equal(vault__json_parse(response, strlen(response), &resp), VAULT_OK);
    ts_assert_error(resp, "invalid");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
    char *message = strdup(ts_str(err, "message"));
    cJSON_Delete(resp);
    vault_free(response);
    return message;
}

/* Abuse case A6: op and member names that are not UTF-8, hold escaped
 * control characters or lone surrogates, or are long enough to be cut
 * inside a character. Every answer is valid UTF-8 JSON; a valid name is
 * shown cut at a character boundary; an invalid one is not shown at all. */
void test_server_limits__a6_names_echoed_only_as_valid_utf8(void **state)
{
    (void)state;
    vault_server *s = ts_open("limits_names", 1);
    char long_e[2 * 60 + 1] = "x"; /* "x" then 59 "é": a cut at 40 bytes splits one */
    for (int i = 0; i < 59; i++)
        strcat(long_e, "\xc3\xa9");
    const char *names[] = {
        "\xff\xfe",         "a\xc3",          "\xc0\xaf",       "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\\ud800",        "\\udfff\\ud800", "a\\u0001b",
        "a\\u007fb",        "\\\"quoted\\\"", long_e,
    };
    int v = protocol_version();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"v\":%d,\"op\":\"%s\"}", v, names[i]);
        free(error_message(s, text));
        snprintf(text, sizeof text,
                 "{\"v\":%d,\"op\":\"link_request\",\"fetch_hash\":\"00\",\"%s\":1}", v,
                 names[i]);
        free(error_message(s, text));
    }
    /* A long valid name: shown, cut after whole characters, marked "...". */
    char text[512];
    snprintf(text, sizeof text, "{\"v\":%d,\"op\":\"%s\"}", v, long_e);
    char *message = error_message(s, text);
    const char *shown = strstr(message, "x\xc3\xa9");
    assert_non_null(shown);
    assert_non_null(strstr(shown, "\xc3\xa9...\""));
    free(message);
    /* Invalid bytes are never shown, not even replaced. */
    snprintf(text, sizeof text, "{\"v\":%d,\"op\":\"ab\xff\"}", v);
    message = error_message(s, text);
    assert_null(strstr(message, "ab"));
    free(message);
    vault_server_close(s);
}

/* Abuse case A1 at the handler: only the ops that carry a blob may be
 * large, whoever calls; the op a front end read before the body (the URL)
 * must be the body's op, so a small op cannot borrow a large op's cap. */
void test_server_limits__a1_small_ops_have_the_small_cap(void **state)
{
    (void)state;
    assert_int_equal(vault_server_request_limit("push"), VAULT_SERVER_MAX_REQUEST);
    assert_int_equal(vault_server_request_limit("register"), VAULT_SERVER_MAX_REQUEST);
    assert_int_equal(vault_server_request_limit("device_revoke"), VAULT_SERVER_MAX_REQUEST);
    assert_int_equal(vault_server_request_limit("link_request"), VAULT_SERVER_SMALL_REQUEST);
    assert_int_equal(vault_server_request_limit("no_such_op"), VAULT_SERVER_SMALL_REQUEST);
    assert_int_equal(vault_server_request_limit(NULL), VAULT_SERVER_SMALL_REQUEST);

    vault_server *s = ts_open("limits_cap", 1);
    int v = protocol_version();
    size_t big = VAULT_SERVER_SMALL_REQUEST + 1;
    char *text = malloc(big + 1);
    assert_non_null(text);
    int n = snprintf(text, big + 1, "{\"v\":%d,\"op\":\"link_request\",\"fetch_hash\":\"%064d\"}",
                     v, 0);
    memset(text + n, ' ', big - (size_t)n); /* valid JSON, one byte over the cap */
    text[big] = '\0';
    char *response = NULL;
    assert_int_equal(vault_server_handle(s, text, big, &response), VAULT_OK);
    cJSON *resp = NULL;
    assert_int_equal(vault__json_parse(response, strlen(response), &resp), VAULT_OK);
    ts_expect_error(resp, "limit");
    vault_free(response);
    text[n] = '\0';
    assert_int_equal(vault_server_handle_from(s, "192.0.2.1", "push", text, (size_t)n,
                                              &response), VAULT_OK);
    assert_int_equal(vault__json_parse(response, strlen(response), &resp), VAULT_OK);
    ts_expect_error(resp, "invalid");
    vault_free(response);
    free(text);
    vault_server_close(s);
}

/* request (deleted) handled as if from peer; the parsed answer. */
static cJSON *call_from(vault_server *s, const char *peer, cJSON *request)
{
    char *text = cJSON_PrintUnformatted(request);
    assert_non_null(text);
    cJSON_Delete(request);
    char *response = NULL;
    assert_int_equal(vault_server_handle_from(s, peer, NULL, text, strlen(text), &response),
                     VAULT_OK);
    free(text);
    cJSON *resp = NULL;
    assert_int_equal(vault__json_parse(response, strlen(response), &resp), VAULT_OK);
    vault_free(response);
    return resp;
}

/* A whole login from peer, as a client runs it: login_start, then (only
 * if the password is right: a client learns that from KE2) login_finish.
 * NULL after a wrong password, else the answer that ended it. */
static cJSON *login_from(vault_server *s, const char *peer, const ts_account *a,
                         const char *password)
{
    test_proof p;
    cJSON *error = NULL;
    int rc = test_opaque_prove_from(s, peer, a->email, password, &p, &error);
    if (error != NULL)
        return error;
    if (rc == VAULT_E_AUTH)
        return NULL;
    assert_int_equal(rc, VAULT_OK);
    cJSON *req = ts_request("login_finish");
    cJSON_AddStringToObject(req, "login_state", p.state);
    cJSON_AddStringToObject(req, "ke3", p.ke3);
    cJSON_AddStringToObject(req, "device_id", a->device_id);
    cJSON_AddStringToObject(req, "device_name", "test laptop");
    return call_from(s, peer, req);
}

static cJSON *link_request(int n)
{
    uint8_t fetch_hash[32] = {0};
    memcpy(fetch_hash, &n, sizeof n);
    cJSON *req = ts_request("link_request");
    ts_add_hex(req, "fetch_hash", fetch_hash, sizeof fetch_hash);
    return req;
}

/* Abuse case A5: one address floods link_request (unauthenticated relay
 * records). It is refused after its per-address quota, long before the
 * global cap of live unbound links, so a second address can still link. */
void test_server_limits__a5_second_address_links_while_one_floods(void **state)
{
    (void)state;
    vault_server *s = ts_open("limits_relay", 1);
    int accepted = 0;
    cJSON *resp = NULL;
    for (int i = 0; i <= VAULT_STORE_LINKS_UNBOUND_MAX; i++) {
        resp = call_from(s, "198.51.100.7", link_request(i));
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")))
            break;
        accepted++;
        cJSON_Delete(resp);
        resp = NULL;
    }
    assert_non_null(resp);
    ts_assert_error(resp, "rate_limited");
    assert_true(ts_u64(cJSON_GetObjectItemCaseSensitive(resp, "error"), "retry_after_ms") > 0);
    cJSON_Delete(resp);
    assert_int_equal(accepted, VAULT_SERVER_RELAY_PER_ADDRESS);
    ts_expect_ok(call_from(s, "198.51.100.8", link_request(-1)));
    ts_expect_ok(call_from(s, "2001:db8:1:2::/64", link_request(-2)));
    vault_server_close(s);
}

/* Abuse case A4 (per address and global): wrong passwords spread over many
 * accounts from one address are limited per address, even though no
 * account reaches its own lockout; another address is not affected, and
 * right passwords do not count. Protocol 2: a guess is counted at
 * login_start (the guesser learns its answer from KE2 and sends nothing
 * more) and given back only when a login_finish proves the password. */
void test_server_limits__a4_guesses_over_many_accounts_limited_per_address(void **state)
{
    (void)state;
    ts_account owner;
    vault_server *s = ts_open_registered("limits_guess", &owner);
    for (unsigned i = 0; i < VAULT_SERVER_GUESSES_PER_ADDRESS; i++) {
        ts_account stranger;
        ts_account_init(&stranger, 100 + i); /* never registered: one guess each */
        assert_null(login_from(s, "203.0.113.5", &stranger, stranger.password));
    }
    cJSON *resp = login_from(s, "203.0.113.5", &owner, owner.password);
    ts_assert_error(resp, "rate_limited");
    assert_true(ts_u64(cJSON_GetObjectItemCaseSensitive(resp, "error"), "retry_after_ms") > 0);
    cJSON_Delete(resp);
    ts_expect_ok(login_from(s, "203.0.113.6", &owner, owner.password));
    for (unsigned i = 0; i < 2 * VAULT_SERVER_GUESSES_PER_ADDRESS; i++)
        ts_expect_ok(login_from(s, "203.0.113.7", &owner, owner.password));
    vault_server_close(s);
}

/* Abuse case A4 (globally): guesses spread over many addresses meet the
 * global allowance (set low here through its option); then every address
 * waits, even with the right password. */
void test_server_limits__a4_guesses_from_many_addresses_limited_globally(void **state)
{
    (void)state;
    ts_account owner;
    vault_server *s = ts_open_registered("limits_global", &owner);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_GUESS_LIMIT_GLOBAL, 0),
                     VAULT_E_INVALID);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_GUESS_LIMIT_GLOBAL, 5), VAULT_OK);
    for (unsigned i = 0; i < 5; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "198.18.0.%u", i + 1);
        ts_account stranger;
        ts_account_init(&stranger, 200 + i);
        assert_null(login_from(s, peer, &stranger, stranger.password));
    }
    cJSON *resp = login_from(s, "198.18.1.1", &owner, owner.password);
    ts_assert_error(resp, "rate_limited");
    cJSON_Delete(resp);
    assert_int_equal(vault_server_set_option(s, VAULT_SERVER_GUESS_LIMIT_GLOBAL, 6), VAULT_OK);
    ts_expect_ok(login_from(s, "198.18.1.1", &owner, owner.password));
    vault_server_close(s);
}

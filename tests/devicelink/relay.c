/* The server's device-link relay and device operations, through
 * vault_server_handle(): the happy path, and every failure path (expired,
 * reused, replayed, unknown, oversize, a racer with a copied code, a wrong
 * fetch token, another account's link), plus device login and revocation. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "devicelink/devicelink.h"
#include "suites.h"
#include "proof.h"
#include "testutil.h"

#define NOW_MS 1700000000000LL

#define RELAY_PASSWORD "relay password"

typedef struct account {
    char id[33];
    char device_id[33];
    char session[65];
} account;

typedef struct relay {
    vault_server *s;
    account a, other;
} relay;

/* Sends a request made with printf-style formatting; returns the response. */
static cJSON *send_fmt(vault_server *s, const char *fmt, ...) VAULT_PRINTF(2, 3);
static cJSON *send_fmt(vault_server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n > 0);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *response = NULL;
    assert_int_equal(vault_server_handle(s, text, (size_t)n, &response), VAULT_OK);
    free(text);
    cJSON *parsed = cJSON_Parse(response);
    vault_free(response);
    assert_non_null(parsed);
    return parsed;
}

static void expect_ok(cJSON *resp)
{
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
    if (!cJSON_IsTrue(ok)) {
        char *t = cJSON_PrintUnformatted(resp);
        fail_msg("expected ok, got %s", t);
    }
}

/* expect_ok, then frees resp (as expect_error does). */
static void expect_ok_free(cJSON *resp)
{
    expect_ok(resp);
    cJSON_Delete(resp);
}

static void expect_error(cJSON *resp, const char *code)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
    if (!cJSON_IsString(c) || strcmp(c->valuestring, code) != 0) {
        char *t = cJSON_PrintUnformatted(resp);
        fail_msg("expected error %s, got %s", code, t);
    }
    cJSON_Delete(resp);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static void hex_random(char *out, size_t bytes)
{
    uint8_t raw[128];
    randombytes_buf(raw, bytes);
    vault__bin2hex(out, raw, bytes);
}

static char *blob_b64(const char *account_id, uint64_t revision)
{
    uint8_t key[32];
    test_key(key, 7);
    return test_blob_b64(key, account_id, revision, "{}");
}

static void register_account(vault_server *s, account *a, const char *email)
{
    char record[2 * 192 + 1], pk[2 * VAULT_PROTECTED_KEY_BYTES + 1];
    vault__random_id(a->id);
    vault__random_id(a->device_id);
    test_opaque_record_for(s, email, RELAY_PASSWORD, record);
    hex_random(pk, VAULT_PROTECTED_KEY_BYTES);
    char *blob = blob_b64(a->id, 1);
    cJSON *r = send_fmt(s, "{\"v\":2,\"op\":\"register\",\"email\":\"%s\",\"account_id\":\"%s\","
                           "\"record\":\"%s\",\"opslimit\":3,"
                           "\"memlimit\":67108864,\"protected_key\":\"%s\",\"blob\":\"%s\","
                           "\"device_id\":\"%s\",\"device_name\":\"phone\"}",
                        email, a->id, record, pk, blob, a->device_id);
    free(blob);
    expect_ok(r);
    snprintf(a->session, sizeof a->session, "%s", str(r, "session"));
    cJSON_Delete(r);
}

static int relay_setup(void **state)
{
    relay *r = calloc(1, sizeof *r);
    uint8_t pepper[32];
    char path[600];
    test_key(pepper, 3);
    vault__set_clock_for_tests(NOW_MS);
    snprintf(path, sizeof path, "%s", test_path("relay.db"));
    unlink(path);
    if (r == NULL || vault_server_open(&r->s, path, pepper, sizeof pepper, 0) != VAULT_OK)
        return -1;
    register_account(r->s, &r->a, "ada@example.com");
    register_account(r->s, &r->other, "bob@example.com");
    *state = r;
    return 0;
}

static int relay_teardown(void **state)
{
    relay *r = *state;
    vault_server_close(r->s);
    free(r);
    vault__set_clock_for_tests(0);
    return 0;
}

static void create_link(relay *r, char link_id[33])
{
    cJSON *resp = send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\",\"session\":\"%s\"}",
                           r->a.session);
    expect_ok(resp);
    snprintf(link_id, 33, "%s", str(resp, "link_id"));
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(resp, "expires_ms");
    assert_true(cJSON_IsNumber(exp));
    assert_true((int64_t)exp->valuedouble == NOW_MS + 300 * 1000);
    cJSON_Delete(resp);
}

/* A poster's key: public key, MAC, confirmation tag, fetch token (hex). */
typedef struct post {
    char pk[65], mac[65], confirm[65], token[65], token_hash[65];
} post;

static void make_post(post *p)
{
    uint8_t token[32], hash[32];
    hex_random(p->pk, 32);
    hex_random(p->mac, 32);
    hex_random(p->confirm, 32);
    randombytes_buf(token, sizeof token);
    vault_devicelink__token_hash(hash, token);
    vault__bin2hex(p->token, token, 32);
    vault__bin2hex(p->token_hash, hash, 32);
}

static cJSON *post_key(relay *r, const char *link_id, const post *p)
{
    return send_fmt(r->s, "{\"v\":2,\"op\":\"link_post_key\",\"link_id\":\"%s\","
                          "\"public_key\":\"%s\",\"mac\":\"%s\",\"confirm\":\"%s\","
                          "\"fetch_hash\":\"%s\"}",
                    link_id, p->pk, p->mac, p->confirm, p->token_hash);
}

static cJSON *poll_link(relay *r, const account *a, const char *link_id)
{
    return send_fmt(r->s, "{\"v\":2,\"op\":\"link_poll\",\"session\":\"%s\",\"link_id\":\"%s\"}",
                    a->session, link_id);
}

static cJSON *deliver(relay *r, const char *link_id, const char *envelope_b64,
                      const char *device_id, const char *credential_hash)
{
    return send_fmt(r->s, "{\"v\":2,\"op\":\"link_deliver\",\"session\":\"%s\","
                          "\"link_id\":\"%s\",\"envelope\":\"%s\",\"device_id\":\"%s\","
                          "\"device_name\":\"laptop\",\"credential_hash\":\"%s\"}",
                    r->a.session, link_id, envelope_b64, device_id, credential_hash);
}

static cJSON *fetch(relay *r, const char *link_id, const char *token)
{
    return send_fmt(r->s, "{\"v\":2,\"op\":\"link_fetch\",\"link_id\":\"%s\","
                          "\"fetch_token\":\"%s\"}",
                    link_id, token);
}

/* 100 bytes of envelope, base64 (the relay only checks size and encoding). */
static void small_envelope(char out[200])
{
    uint8_t env[100];
    randombytes_buf(env, sizeof env);
    env[0] = 1;
    sodium_bin2base64(out, 200, env, sizeof env, sodium_base64_VARIANT_ORIGINAL);
}

static void test_devicelink_relay__full_exchange_then_single_use(void **state)
{
    relay *r = *state;
    char link_id[33], env[200], dev[33], cred_hash[65];
    post p;
    create_link(r, link_id);
    make_post(&p);
    cJSON *resp = poll_link(r, &r->a, link_id);
    expect_ok(resp);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp, "ready")));
    cJSON_Delete(resp);

    expect_ok_free(post_key(r, link_id, &p));
    resp = poll_link(r, &r->a, link_id);
    expect_ok(resp);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ready")));
    assert_string_equal(str(resp, "public_key"), p.pk);
    assert_string_equal(str(resp, "mac"), p.mac);
    assert_string_equal(str(resp, "confirm"), p.confirm);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "extra_posts")->valueint, 0);
    cJSON_Delete(resp);

    resp = fetch(r, link_id, p.token); /* before delivery: not ready */
    expect_ok(resp);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp, "ready")));
    cJSON_Delete(resp);

    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_ok_free(deliver(r, link_id, env, dev, cred_hash));
    /* replayed delivery */
    expect_error(deliver(r, link_id, env, dev, cred_hash), "state");

    resp = fetch(r, link_id, p.token);
    expect_ok(resp);
    assert_string_equal(str(resp, "envelope"), env);
    cJSON_Delete(resp);
    /* reused: the envelope is gone, every later call is refused */
    expect_error(fetch(r, link_id, p.token), "state");
    expect_error(post_key(r, link_id, &p), "state");
    expect_error(poll_link(r, &r->a, link_id), "state");
}

static void test_devicelink_relay__expired_link(void **state)
{
    relay *r = *state;
    char link_id[33];
    post p;
    create_link(r, link_id);
    make_post(&p);
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 301), VAULT_OK);
    expect_error(post_key(r, link_id, &p), "expired");
    expect_error(poll_link(r, &r->a, link_id), "expired");
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 0), VAULT_OK);

    /* posted in time, delivered too late */
    char env[200], dev[33], cred_hash[65];
    create_link(r, link_id);
    expect_ok_free(post_key(r, link_id, &p));
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 301), VAULT_OK);
    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_error(deliver(r, link_id, env, dev, cred_hash), "expired");
    expect_error(fetch(r, link_id, p.token), "expired");
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 0), VAULT_OK);
}

static void test_devicelink_relay__racer_is_counted_and_blocks_delivery(void **state)
{
    relay *r = *state;
    char link_id[33], env[200], dev[33], cred_hash[65];
    post racer, real;
    create_link(r, link_id);
    make_post(&racer);
    make_post(&real);
    expect_ok_free(post_key(r, link_id, &racer));
    /* the real new device is refused: its user is told the code was used */
    expect_error(post_key(r, link_id, &real), "state");
    cJSON *resp = poll_link(r, &r->a, link_id);
    expect_ok(resp);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "extra_posts")->valueint, 1);
    assert_string_equal(str(resp, "public_key"), racer.pk);
    cJSON_Delete(resp);
    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_error(deliver(r, link_id, env, dev, cred_hash), "state");
}

static void test_devicelink_relay__unknown_and_foreign_links(void **state)
{
    relay *r = *state;
    char unknown[33], link_id[33], env[200], dev[33], cred_hash[65];
    post p;
    make_post(&p);
    vault__random_id(unknown);
    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_error(post_key(r, unknown, &p), "not_found");
    expect_error(poll_link(r, &r->a, unknown), "not_found");
    expect_error(fetch(r, unknown, p.token), "not_found");
    expect_error(deliver(r, unknown, env, dev, cred_hash), "not_found");
    /* another account cannot see or use A's link */
    create_link(r, link_id);
    expect_error(poll_link(r, &r->other, link_id), "not_found");
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_cancel\",\"session\":\"%s\","
                                "\"link_id\":\"%s\"}", r->other.session, link_id),
                 "not_found");
    /* no session, bad session */
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\"}"), "invalid");
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\",\"session\":\"%064d\"}", 0),
                 "auth");
}

static void test_devicelink_relay__oversize_and_malformed(void **state)
{
    relay *r = *state;
    char link_id[33], dev[33], cred_hash[65];
    post p;
    create_link(r, link_id);
    make_post(&p);
    expect_ok_free(post_key(r, link_id, &p));
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    static uint8_t big[VAULT_DEVICELINK_ENVELOPE_MAX + 1];
    static char big64[sodium_base64_ENCODED_LEN(sizeof big, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(big64, sizeof big64, big, sizeof big, sodium_base64_VARIANT_ORIGINAL);
    expect_error(deliver(r, link_id, big64, dev, cred_hash), "limit");
    expect_error(deliver(r, link_id, "AAAA", dev, cred_hash), "invalid"); /* too short */
    expect_error(deliver(r, link_id, "not base64!", dev, cred_hash), "invalid");
    /* malformed post members */
    post bad = p;
    bad.pk[10] = 'G';
    expect_error(post_key(r, link_id, &bad), "invalid");
    bad = p;
    bad.mac[63] = '\0';
    expect_error(post_key(r, link_id, &bad), "invalid");
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_post_key\",\"link_id\":\"%s\"}", link_id),
                 "invalid");
    /* the exact-size envelope is accepted */
    sodium_bin2base64(big64, sizeof big64, big, sizeof big - 1, sodium_base64_VARIANT_ORIGINAL);
    expect_ok_free(deliver(r, link_id, big64, dev, cred_hash));
}

static void test_devicelink_relay__wrong_fetch_token_cancels(void **state)
{
    relay *r = *state;
    char link_id[33], env[200], dev[33], cred_hash[65];
    post p, thief;
    create_link(r, link_id);
    make_post(&p);
    make_post(&thief);
    expect_ok_free(post_key(r, link_id, &p));
    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_ok_free(deliver(r, link_id, env, dev, cred_hash));
    expect_error(fetch(r, link_id, thief.token), "auth");
    expect_error(fetch(r, link_id, p.token), "state"); /* cancelled: the envelope is gone */
}

static void test_devicelink_relay__cancel_and_abort(void **state)
{
    relay *r = *state;
    char link_id[33];
    post p;
    create_link(r, link_id);
    make_post(&p);
    expect_ok_free(send_fmt(r->s, "{\"v\":2,\"op\":\"link_cancel\",\"session\":\"%s\","
                                 "\"link_id\":\"%s\"}", r->a.session, link_id));
    expect_error(post_key(r, link_id, &p), "state");
    expect_error(poll_link(r, &r->a, link_id), "state");

    create_link(r, link_id);
    expect_ok_free(post_key(r, link_id, &p));
    expect_ok_free(send_fmt(r->s, "{\"v\":2,\"op\":\"link_abort\",\"link_id\":\"%s\","
                          "\"fetch_token\":\"%s\"}", link_id, p.token));
    expect_error(poll_link(r, &r->a, link_id), "state");
}

#define LOGIN_FMT                                                                      \
    "{\"v\":2,\"op\":\"device_login\",\"account_id\":\"%s\",\"device_id\":\"%s\","          \
    "\"credential\":\"%s\"}"
#define REVOKE_FMT                                                                     \
    "{\"v\":2,\"op\":\"device_revoke\",\"session\":\"%s\",\"device_id\":\"%s\","            \
    "\"base_revision\":%llu,\"blob\":\"%s\",\"protected_key\":\"%s\",\"sealed_keys\":[%s],"   \
    "\"login_state\":\"%s\",\"ke3\":\"%s\"}"
#define REVOKE_NO_PROOF_FMT                                                            \
    "{\"v\":2,\"op\":\"device_revoke\",\"session\":\"%s\",\"device_id\":\"%s\","            \
    "\"base_revision\":%llu,\"blob\":\"%s\",\"protected_key\":\"%s\",\"sealed_keys\":[%s]}"

/* A delivered link records the device; it logs in with its credential (the
 * server keeps only the hash), is listed, and revocation stops it. */
static void test_devicelink_relay__device_login_list_revoke(void **state)
{
    relay *r = *state;
    char link_id[33], env[200], dev[33], cred[65], cred_hash[65], wrong[65];
    uint8_t credential[32], hash[32];
    post p;
    create_link(r, link_id);
    make_post(&p);
    expect_ok_free(post_key(r, link_id, &p));
    randombytes_buf(credential, sizeof credential);
    vault_devicelink__token_hash(hash, credential);
    vault__bin2hex(cred, credential, 32);
    vault__bin2hex(cred_hash, hash, 32);
    hex_random(wrong, 32);
    small_envelope(env);
    vault__random_id(dev);
    expect_ok_free(deliver(r, link_id, env, dev, cred_hash));

    expect_error(send_fmt(r->s, LOGIN_FMT, r->a.id, dev, wrong), "auth");
    expect_error(send_fmt(r->s, LOGIN_FMT, r->other.id, dev, cred), "auth");
    expect_error(send_fmt(r->s, LOGIN_FMT, r->a.id, r->a.device_id, cred), "auth");
    cJSON *resp = send_fmt(r->s, LOGIN_FMT, r->a.id, dev, cred);
    expect_ok(resp);
    char dev_session[65];
    snprintf(dev_session, sizeof dev_session, "%s", str(resp, "session"));
    assert_int_equal(strlen(str(resp, "protected_key")), 2 * VAULT_PROTECTED_KEY_BYTES);
    cJSON_Delete(resp);

    resp = send_fmt(r->s, "{\"v\":2,\"op\":\"device_list\",\"session\":\"%s\"}", dev_session);
    expect_ok(resp);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(resp, "devices");
    int found = 0;
    for (const cJSON *d = list->child; d != NULL; d = d->next)
        if (strcmp(str(d, "device_id"), dev) == 0) {
            found = 1;
            assert_string_equal(str(d, "name"), "laptop");
            assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "linked")));
            assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "current")));
            assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, "revoked")));
        }
    assert_true(found);
    cJSON_Delete(resp);
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"device_key\",\"session\":\"%s\"}",
                          dev_session), "not_found");

    /* revoke with rotation: current revision from a pull */
    resp = send_fmt(r->s, "{\"v\":2,\"op\":\"pull\",\"session\":\"%s\"}", r->a.session);
    expect_ok(resp);
    uint64_t rev = (uint64_t)cJSON_GetObjectItemCaseSensitive(resp, "revision")->valuedouble;
    cJSON_Delete(resp);
    char *blob = blob_b64(r->a.id, rev + 1);
    char pk[2 * VAULT_PROTECTED_KEY_BYTES + 1], sealed[161];
    hex_random(pk, VAULT_PROTECTED_KEY_BYTES);
    hex_random(sealed, 80);
    char entry[300];
    snprintf(entry, sizeof entry, "{\"device_id\":\"%s\",\"sealed_key\":\"%s\"}",
             r->a.device_id, sealed);
    test_proof proof, mallory;
    assert_int_equal(test_opaque_prove(r->s, "ada@example.com", RELAY_PASSWORD, &proof),
                     VAULT_OK);
    expect_error(send_fmt(r->s, REVOKE_FMT, r->a.session, r->a.device_id,
                          (unsigned long long)rev, blob, pk, entry, proof.state, proof.ke3),
                 "invalid"); /* itself */
    expect_error(send_fmt(r->s, REVOKE_FMT, r->a.session, dev, (unsigned long long)rev - 1, blob,
                          pk, entry, proof.state, proof.ke3),
                 "invalid"); /* blob sealed for another revision */
    expect_error(send_fmt(r->s, REVOKE_FMT, r->a.session, dev, (unsigned long long)rev, blob, pk,
                          "{\"device_id\":\"00\"}", proof.state, proof.ke3),
                 "invalid");
    /* Step-up: the linked device's session alone cannot revoke the owner and
     * plant a junk protected key, with no proof or with a proof of a wrong
     * password or of another account. */
    char owner_entry[300];
    snprintf(owner_entry, sizeof owner_entry, "{\"device_id\":\"%s\",\"sealed_key\":\"%s\"}",
             dev, sealed);
    expect_error(send_fmt(r->s, REVOKE_NO_PROOF_FMT, dev_session, r->a.device_id,
                          (unsigned long long)rev, blob, pk, owner_entry),
                 "invalid");
    assert_int_equal(test_opaque_prove(r->s, "ada@example.com", "guess", &mallory), VAULT_E_AUTH);
    expect_error(send_fmt(r->s, REVOKE_FMT, dev_session, r->a.device_id, (unsigned long long)rev,
                          blob, pk, owner_entry, mallory.state, proof.ke3),
                 "auth");
    assert_int_equal(test_opaque_prove(r->s, "bob@example.com", RELAY_PASSWORD, &mallory),
                     VAULT_OK);
    expect_error(send_fmt(r->s, REVOKE_FMT, dev_session, r->a.device_id, (unsigned long long)rev,
                          blob, pk, owner_entry, mallory.state, mallory.ke3),
                 "auth");
    resp = send_fmt(r->s, "{\"v\":2,\"op\":\"pull\",\"session\":\"%s\"}", r->a.session);
    expect_ok(resp); /* the owner's session still works: nothing was revoked */
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "revision")->valuedouble, (double)rev);
    cJSON_Delete(resp);
    resp = send_fmt(r->s, REVOKE_FMT, r->a.session, dev, (unsigned long long)rev, blob, pk, entry,
                    proof.state, proof.ke3);
    free(blob);
    expect_ok(resp);
    cJSON_Delete(resp);

    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"pull\",\"session\":\"%s\"}", dev_session),
                 "revoked");
    expect_error(send_fmt(r->s, LOGIN_FMT, r->a.id, dev, cred), "revoked");
    resp = send_fmt(r->s, "{\"v\":2,\"op\":\"device_key\",\"session\":\"%s\"}", r->a.session);
    expect_ok(resp);
    assert_string_equal(str(resp, "sealed_key"), sealed);
    cJSON_Delete(resp);
}

static void test_devicelink_relay__open_links_are_capped(void **state)
{
    relay *r = *state;
    char link_id[33];
    for (int i = 0; i < 16; i++)
        create_link(r, link_id);
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\",\"session\":\"%s\"}",
                          r->a.session), "limit");
    /* another account is not affected; expired links stop counting */
    expect_ok_free(send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\",\"session\":\"%s\"}",
                           r->other.session));
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 301), VAULT_OK);
    cJSON *resp = send_fmt(r->s, "{\"v\":2,\"op\":\"link_create\",\"session\":\"%s\"}",
                    r->a.session);
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 0), VAULT_OK);
    expect_ok(resp);
    cJSON_Delete(resp);
}

/* Reverse direction: the new device requests the link (with its fetch hash),
 * a logged-in device accepts it, the new device waits with its token. */
static void test_devicelink_relay__reverse_ops_and_their_failures(void **state)
{
    relay *r = *state;
    char link_id[33], offer_id[33], env[200], dev[33], cred_hash[65];
    post nd, a_key, x_key;
    make_post(&nd);
    make_post(&a_key);
    make_post(&x_key);
    cJSON *resp = send_fmt(r->s, "{\"v\":2,\"op\":\"link_request\",\"fetch_hash\":\"%s\"}",
                           nd.token_hash);
    expect_ok(resp);
    snprintf(link_id, sizeof link_id, "%s", str(resp, "link_id"));
    cJSON_Delete(resp);
#define WAIT_FMT "{\"v\":2,\"op\":\"link_wait\",\"link_id\":\"%s\",\"fetch_token\":\"%s\"}"
#define ACCEPT_FMT                                                                       \
    "{\"v\":2,\"op\":\"link_accept\",\"session\":\"%s\",\"link_id\":\"%s\","                \
    "\"public_key\":\"%s\",\"mac\":\"%s\",\"confirm\":\"%s\"}"
    resp = send_fmt(r->s, WAIT_FMT, link_id, nd.token);
    expect_ok(resp);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp, "ready")));
    cJSON_Delete(resp);
    /* the other direction's calls do not apply to this link, and vice versa */
    expect_error(post_key(r, link_id, &a_key), "not_found");
    expect_error(poll_link(r, &r->a, link_id), "not_found");
    create_link(r, offer_id);
    expect_error(send_fmt(r->s, ACCEPT_FMT, r->a.session, offer_id, a_key.pk, a_key.mac,
                          a_key.confirm), "not_found");
    expect_error(send_fmt(r->s, WAIT_FMT, offer_id, nd.token), "not_found");

    expect_ok_free(send_fmt(r->s, ACCEPT_FMT, r->a.session, link_id, a_key.pk, a_key.mac, a_key.confirm));
    expect_error(send_fmt(r->s, ACCEPT_FMT, r->other.session, link_id, x_key.pk, x_key.mac,
                          x_key.confirm), "state");
    resp = send_fmt(r->s, WAIT_FMT, link_id, nd.token);
    expect_ok(resp);
    assert_string_equal(str(resp, "public_key"), a_key.pk);
    assert_string_equal(str(resp, "mac"), a_key.mac);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "extra_posts")->valueint, 1);
    cJSON_Delete(resp);
    /* bound to A's account: nobody else may deliver; A may not either after
     * a second accept attempt */
    small_envelope(env);
    vault__random_id(dev);
    hex_random(cred_hash, 32);
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_deliver\",\"session\":\"%s\","
                                "\"link_id\":\"%s\",\"envelope\":\"%s\",\"device_id\":\"%s\","
                                "\"device_name\":\"x\",\"credential_hash\":\"%s\"}",
                          r->other.session, link_id, env, dev, cred_hash), "not_found");
    expect_error(deliver(r, link_id, env, dev, cred_hash), "state");
    /* a wrong token cancels */
    expect_error(send_fmt(r->s, WAIT_FMT, link_id, x_key.token), "auth");
    expect_error(send_fmt(r->s, WAIT_FMT, link_id, nd.token), "state");

    /* expiry */
    resp = send_fmt(r->s, "{\"v\":2,\"op\":\"link_request\",\"fetch_hash\":\"%s\"}",
                    nd.token_hash);
    expect_ok(resp);
    snprintf(link_id, sizeof link_id, "%s", str(resp, "link_id"));
    cJSON_Delete(resp);
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 301), VAULT_OK);
    expect_error(send_fmt(r->s, ACCEPT_FMT, r->a.session, link_id, a_key.pk, a_key.mac,
                          a_key.confirm), "expired");
    expect_error(send_fmt(r->s, WAIT_FMT, link_id, nd.token), "expired");
    assert_int_equal(vault_server_set_option(r->s, VAULT_SERVER_CLOCK_SKEW, 0), VAULT_OK);
    expect_error(send_fmt(r->s, "{\"v\":2,\"op\":\"link_request\",\"fetch_hash\":\"00\"}"),
                 "invalid");
}

int test_devicelink_relay_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devicelink_relay__full_exchange_then_single_use,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__expired_link, relay_setup,
                                        relay_teardown),
        cmocka_unit_test_setup_teardown(
            test_devicelink_relay__racer_is_counted_and_blocks_delivery, relay_setup,
            relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__unknown_and_foreign_links,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__oversize_and_malformed,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__wrong_fetch_token_cancels,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__cancel_and_abort, relay_setup,
                                        relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__device_login_list_revoke,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__open_links_are_capped,
                                        relay_setup, relay_teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_relay__reverse_ops_and_their_failures,
                                        relay_setup, relay_teardown),
    };
    return cmocka_run_group_tests_name("devicelink_relay", tests, NULL, NULL);
}

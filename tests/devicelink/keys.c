/* The key schedule, MAC, SAS and envelope: both sides agree, substitution is
 * caught, tampering is refused, and known-answer vectors computed by an
 * independent implementation (tests/vectors/devicelink_kat.py) match. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"
#include "suites.h"
#include "testutil.h"

typedef struct party {
    uint8_t pk[32];
    uint8_t sk[32];
} party;

static void make_party(party *p)
{
    crypto_box_keypair(p->pk, p->sk);
}

static void make_transcript(vault_devicelink_transcript *t, uint8_t role, const party *shower,
                            const party *scanner)
{
    t->role = role;
    randombytes_buf(t->link_id, sizeof t->link_id);
    memcpy(t->shower_pk, shower->pk, 32);
    memcpy(t->scanner_pk, scanner->pk, 32);
}

static void test_devicelink_keys__both_sides_derive_the_same(void **state)
{
    (void)state;
    const uint8_t roles[2] = {VAULT_DEVICELINK_OFFER, VAULT_DEVICELINK_REVERSE};
    for (size_t r = 0; r < 2; r++) {
        party a, b;
        uint8_t s[32], mac[32], tag[32];
        vault_devicelink_transcript t;
        vault_devicelink_keys ka, kb;
        make_party(&a);
        make_party(&b);
        randombytes_buf(s, sizeof s);
        make_transcript(&t, roles[r], &a, &b);
        assert_int_equal(vault_devicelink__derive(&ka, s, a.sk, &t, 1), VAULT_OK);
        assert_int_equal(vault_devicelink__derive(&kb, s, b.sk, &t, 0), VAULT_OK);
        assert_memory_equal(&ka, &kb, sizeof ka);
        assert_int_equal(strlen(ka.sas), 6);
        assert_int_equal(vault_devicelink__sas_equal(ka.sas, kb.sas), VAULT_OK);
        vault_devicelink__post_mac(mac, s, &t);
        assert_int_equal(vault_devicelink__check_post_mac(mac, s, &t), VAULT_OK);
        vault_devicelink__confirm_tag(tag, &kb, &t);
        assert_int_equal(vault_devicelink__check_confirm_tag(tag, &ka, &t), VAULT_OK);
        assert_memory_not_equal(ka.session, ka.confirm, 32);
    }
}

/* The relay swaps the new device's key for its own: without the link secret
 * it cannot make a MAC that A accepts, and even with a MAC copied from B the
 * MAC no longer matches; the SAS differs too. */
static void fixed_party(party *p, uint8_t base)
{
    test_key(p->sk, base);
    crypto_scalarmult_base(p->pk, p->sk);
}

static void test_devicelink_keys__substituted_key_fails_mac_and_changes_sas(void **state)
{
    (void)state;
    party a, b, relay;
    uint8_t s[32], mac_b[32], mac_relay[32], wrong_s[32], tag[32];
    vault_devicelink_transcript real, seen_by_a;
    vault_devicelink_keys ka, kb, krelay;
    /* Fixed keys: the outcome, SAS values included, is deterministic. */
    fixed_party(&a, 0x01);
    fixed_party(&b, 0x41);
    fixed_party(&relay, 0x61);
    test_key(s, 0x81);
    test_key(wrong_s, 0x91);
    make_transcript(&real, VAULT_DEVICELINK_OFFER, &a, &b);
    memset(real.link_id, 0xa5, sizeof real.link_id);
    seen_by_a = real;
    memcpy(seen_by_a.scanner_pk, relay.pk, 32);

    vault_devicelink__post_mac(mac_b, s, &real);
    assert_int_equal(vault_devicelink__check_post_mac(mac_b, s, &seen_by_a), VAULT_E_AUTH);
    vault_devicelink__post_mac(mac_relay, wrong_s, &seen_by_a);
    assert_int_equal(vault_devicelink__check_post_mac(mac_relay, s, &seen_by_a), VAULT_E_AUTH);
    assert_non_null(strstr(vault_last_error(), "MAC"));

    /* Had A gone on anyway, its keys and code would differ from B's. */
    assert_int_equal(vault_devicelink__derive(&ka, s, a.sk, &seen_by_a, 1), VAULT_OK);
    assert_int_equal(vault_devicelink__derive(&kb, s, b.sk, &real, 0), VAULT_OK);
    assert_int_equal(vault_devicelink__derive(&krelay, wrong_s, relay.sk, &seen_by_a, 0), VAULT_OK);
    assert_memory_not_equal(ka.session, kb.session, 32);
    assert_memory_not_equal(ka.session, krelay.session, 32);
    assert_int_equal(vault_devicelink__sas_equal(ka.sas, kb.sas), VAULT_E_SAS);
    vault_devicelink__confirm_tag(tag, &kb, &real);
    assert_int_equal(vault_devicelink__check_confirm_tag(tag, &ka, &seen_by_a), VAULT_E_AUTH);
    vault_devicelink__confirm_tag(tag, &krelay, &seen_by_a);
    assert_int_equal(vault_devicelink__check_confirm_tag(tag, &ka, &seen_by_a), VAULT_E_AUTH);
}

/* Each transcript field and the link secret change every derived value. */
static void test_devicelink_keys__every_input_matters(void **state)
{
    (void)state;
    party a, b;
    uint8_t s[32];
    vault_devicelink_transcript t, t2;
    vault_devicelink_keys base, k;
    make_party(&a);
    make_party(&b);
    randombytes_buf(s, sizeof s);
    make_transcript(&t, VAULT_DEVICELINK_OFFER, &a, &b);
    assert_int_equal(vault_devicelink__derive(&base, s, a.sk, &t, 1), VAULT_OK);

    t2 = t;
    t2.role = VAULT_DEVICELINK_REVERSE;
    assert_int_equal(vault_devicelink__derive(&k, s, a.sk, &t2, 1), VAULT_OK);
    assert_memory_not_equal(k.session, base.session, 32);
    t2 = t;
    t2.link_id[7] ^= 1;
    assert_int_equal(vault_devicelink__derive(&k, s, a.sk, &t2, 1), VAULT_OK);
    assert_memory_not_equal(k.session, base.session, 32);
    t2 = t;
    t2.shower_pk[0] ^= 1; /* A's own key as B saw it in a forged QR */
    assert_int_equal(vault_devicelink__derive(&k, s, b.sk, &t2, 0), VAULT_OK);
    assert_memory_not_equal(k.session, base.session, 32);
    uint8_t s2[32];
    memcpy(s2, s, 32);
    s2[31] ^= 0x80;
    assert_int_equal(vault_devicelink__derive(&k, s2, a.sk, &t, 1), VAULT_OK);
    assert_memory_not_equal(k.session, base.session, 32);
    assert_memory_not_equal(k.confirm, base.confirm, 32);
}

static void test_devicelink_keys__low_order_peer_is_refused(void **state)
{
    (void)state;
    party a, b;
    uint8_t s[32];
    vault_devicelink_transcript t;
    vault_devicelink_keys k;
    make_party(&a);
    make_party(&b);
    randombytes_buf(s, sizeof s);
    make_transcript(&t, VAULT_DEVICELINK_OFFER, &a, &b);
    memset(t.scanner_pk, 0, 32); /* the identity point: X25519 gives all zeros */
    assert_int_equal(vault_devicelink__derive(&k, s, a.sk, &t, 1), VAULT_E_AUTH);
    memset(t.scanner_pk, 0, 32);
    t.scanner_pk[0] = 1; /* order 1 as well */
    assert_int_equal(vault_devicelink__derive(&k, s, a.sk, &t, 1), VAULT_E_AUTH);
}

/* SAS values are 6 digits and look uniform: over 20000 random transcripts
 * every leading digit appears (expected 2000 each; 1500 is > 11 sigma away). */
static void test_devicelink_keys__sas_digits_are_spread(void **state)
{
    (void)state;
    unsigned first[10] = {0};
    party a, b;
    uint8_t s[32];
    vault_devicelink_transcript t;
    vault_devicelink_keys k;
    make_party(&a);
    make_party(&b);
    randombytes_buf(s, sizeof s);
    for (int i = 0; i < 20000; i++) {
        make_transcript(&t, VAULT_DEVICELINK_OFFER, &a, &b);
        assert_int_equal(vault_devicelink__derive(&k, s, a.sk, &t, 1), VAULT_OK);
        for (int d = 0; d < 6; d++)
            assert_true(k.sas[d] >= '0' && k.sas[d] <= '9');
        first[k.sas[0] - '0']++;
    }
    for (int d = 0; d < 10; d++)
        assert_true(first[d] > 1500 && first[d] < 2500);
}

static void test_devicelink_keys__sas_equal_is_strict(void **state)
{
    (void)state;
    assert_int_equal(vault_devicelink__sas_equal("123456", "123456"), VAULT_OK);
    assert_int_equal(vault_devicelink__sas_equal("123456", "123457"), VAULT_E_SAS);
    assert_int_equal(vault_devicelink__sas_equal("123456", "12345"), VAULT_E_SAS);
    assert_int_equal(vault_devicelink__sas_equal("1234567", "1234567"), VAULT_E_SAS);
    assert_int_equal(vault_devicelink__sas_equal(NULL, "123456"), VAULT_E_SAS);
}

/* ---- envelope ---------------------------------------------------------- */

typedef struct linked {
    vault_devicelink_transcript t;
    vault_devicelink_keys k;
} linked;

static void make_linked(linked *l)
{
    party a, b;
    uint8_t s[32];
    make_party(&a);
    make_party(&b);
    randombytes_buf(s, sizeof s);
    make_transcript(&l->t, VAULT_DEVICELINK_OFFER, &a, &b);
    assert_int_equal(vault_devicelink__derive(&l->k, s, a.sk, &l->t, 1), VAULT_OK);
}

static void test_devicelink_envelope__roundtrip(void **state)
{
    (void)state;
    linked l;
    uint8_t *env = NULL, *pt = NULL;
    size_t env_len = 0, pt_len = 0;
    const char msg[] = "{\"vault_key\":\"secret\"}";
    make_linked(&l);
    assert_int_equal(vault_devicelink__envelope_seal(&env, &env_len, &l.k, &l.t,
                                                     (const uint8_t *)msg, strlen(msg)),
                     VAULT_OK);
    assert_int_equal(env_len, strlen(msg) + VAULT_DEVICELINK_ENVELOPE_OVERHEAD);
    assert_false(test_contains(env, env_len, "secret", 6));
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env, env_len),
                     VAULT_OK);
    assert_int_equal(pt_len, strlen(msg));
    assert_string_equal((char *)pt, msg);
    vault_free(pt);
    vault_free(env);
}

/* Flipping any bit of the envelope, or opening it under another transcript
 * (another link id, swapped keys, other role), is VAULT_E_AUTH. */
static void test_devicelink_envelope__tamper_is_auth_error(void **state)
{
    (void)state;
    linked l;
    uint8_t *env = NULL, *pt = NULL;
    size_t env_len = 0, pt_len = 0;
    make_linked(&l);
    assert_int_equal(vault_devicelink__envelope_seal(&env, &env_len, &l.k, &l.t,
                                                     (const uint8_t *)"hello", 5),
                     VAULT_OK);
    for (size_t i = 1; i < env_len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            env[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env,
                                                             env_len),
                             VAULT_E_AUTH);
            assert_null(pt);
            env[i] ^= (uint8_t)(1u << bit);
        }
    }
    vault_devicelink_transcript other = l.t;
    other.link_id[0] ^= 1;
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &other, env, env_len),
                     VAULT_E_AUTH);
    other = l.t;
    memcpy(other.shower_pk, l.t.scanner_pk, 32);
    memcpy(other.scanner_pk, l.t.shower_pk, 32);
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &other, env, env_len),
                     VAULT_E_AUTH);
    other = l.t;
    other.role = VAULT_DEVICELINK_REVERSE;
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &other, env, env_len),
                     VAULT_E_AUTH);
    vault_devicelink_keys wrong = l.k;
    wrong.session[3] ^= 1;
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &wrong, &l.t, env, env_len),
                     VAULT_E_AUTH);
    /* Version byte, truncation, oversize. */
    env[0] = 2;
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env, env_len),
                     VAULT_E_VERSION);
    env[0] = 1;
    for (size_t n = 0; n < VAULT_DEVICELINK_ENVELOPE_OVERHEAD; n++)
        assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env, n),
                         VAULT_E_CORRUPT);
    for (size_t n = VAULT_DEVICELINK_ENVELOPE_OVERHEAD; n < env_len; n++)
        assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env, n),
                         VAULT_E_AUTH);
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env,
                                                     VAULT_DEVICELINK_ENVELOPE_MAX + 1),
                     VAULT_E_LIMIT);
    vault_free(env);
}

static void test_devicelink_envelope__size_limit_and_nomem(void **state)
{
    (void)state;
    linked l;
    uint8_t *env = NULL, *pt = NULL;
    size_t env_len = 0, pt_len = 0;
    static uint8_t big[VAULT_DEVICELINK_PLAINTEXT_MAX + 1];
    make_linked(&l);
    assert_int_equal(vault_devicelink__envelope_seal(&env, &env_len, &l.k, &l.t, big, sizeof big),
                     VAULT_E_LIMIT);
    assert_null(env);
    assert_int_equal(vault_devicelink__envelope_seal(&env, &env_len, &l.k, &l.t, big,
                                                     sizeof big - 1),
                     VAULT_OK);
    assert_int_equal(env_len, VAULT_DEVICELINK_ENVELOPE_MAX);
    vault__alloc_fail_after(1);
    assert_int_equal(vault_devicelink__envelope_open(&pt, &pt_len, &l.k, &l.t, env, env_len),
                     VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
    assert_null(pt);
    vault_free(env);
}

/* ---- grant --------------------------------------------------------------- */

static void sample_grant(vault_devicelink_grant *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->account_id, "00112233445566778899aabbccddeeff");
    strcpy(g->device_id, "ffeeddccbbaa99887766554433221100");
    test_key(g->vault_key, 0x30);
    test_key(g->credential, 0x50);
    memcpy(g->secret_key, "0123456789abcdef", 16);
    strcpy(g->email, "owner@example.com");
    g->opslimit = 3;
    g->memlimit = 64u * 1024u * 1024u;
    g->revision = 7;
    test_key(g->head, 0x70);
    strcpy(g->device_name, "laptop");
}

static void test_devicelink_grant__roundtrip(void **state)
{
    (void)state;
    vault_devicelink_grant in, out;
    char *json = NULL;
    sample_grant(&in);
    assert_int_equal(vault_devicelink__grant_encode(&json, &in), VAULT_OK);
    assert_int_equal(vault_devicelink__grant_decode(&out, json, strlen(json)), VAULT_OK);
    assert_memory_equal(&in, &out, sizeof in);
    vault_free(json);
}

static void test_devicelink_grant__strict_decode(void **state)
{
    (void)state;
    vault_devicelink_grant g;
    char *json = NULL;
    sample_grant(&g);
    assert_int_equal(vault_devicelink__grant_encode(&json, &g), VAULT_OK);
    cJSON *base = cJSON_Parse(json);
    vault_free(json);
    assert_non_null(base);
    struct {
        const char *member;
        const char *value; /* JSON text, or NULL to delete the member */
        int expect;
    } cases[] = {
        {"v", "1", VAULT_E_VERSION}, /* before the chain head */
        {"v", "2", VAULT_E_VERSION}, /* before the Secret Key */
        {"v", "4", VAULT_E_VERSION},
        {"v", NULL, VAULT_E_INVALID},
        {"vault_key", "\"00\"", VAULT_E_INVALID},
        {"vault_key", "\"3031323334353637383930313233343536373839303132333435363738393A3B\"",
         VAULT_E_INVALID},
        {"account_id", "\"0011223344556677\"", VAULT_E_INVALID},
        {"device_id", "7", VAULT_E_INVALID},
        {"secret_key", NULL, VAULT_E_INVALID},
        {"secret_key", "\"00\"", VAULT_E_INVALID},
        {"email", "\"no-at-sign\"", VAULT_E_INVALID},
        {"email", NULL, VAULT_E_INVALID},
        {"opslimit", "1", VAULT_E_WEAK_KDF},
        {"memlimit", "1024", VAULT_E_WEAK_KDF},
        {"opslimit", "1000", VAULT_E_LIMIT},
        {"revision", "-1", VAULT_E_INVALID},
        {"head", NULL, VAULT_E_INVALID},
        {"head", "\"00\"", VAULT_E_INVALID},
        {"extra", "1", VAULT_E_INVALID},
        {"device_name", "\"\"", VAULT_E_INVALID},
        {"device_name", "\"a\\u0001b\"", VAULT_E_INVALID},
        {"device_name", NULL, VAULT_E_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Duplicate(base, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(j, cases[i].member);
        if (cases[i].value != NULL)
            cJSON_AddItemToObject(j, cases[i].member, cJSON_Parse(cases[i].value));
        char *text = cJSON_PrintUnformatted(j);
        int rc = vault_devicelink__grant_decode(&g, text, strlen(text));
        if (rc != cases[i].expect)
            fail_msg("case %zu (%s): got %d, want %d", i, cases[i].member, rc, cases[i].expect);
        cJSON_free(text);
        cJSON_Delete(j);
    }
    const char *broken[] = {"", "[]", "{", "null", "{\"v\":3}"};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        assert_int_equal(vault_devicelink__grant_decode(&g, broken[i], strlen(broken[i])),
                         VAULT_E_INVALID);
    cJSON_Delete(base);
}

/* ---- known answers --------------------------------------------------------- */

static void hex_member(const cJSON *kat, const char *name, uint8_t *out, size_t len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(kat, name);
    assert_true(cJSON_IsString(item));
    assert_int_equal(vault__hex2bin(out, len, item->valuestring), VAULT_OK);
}

static const char *str_member(const cJSON *kat, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(kat, name);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static void test_devicelink_keys__known_answer_vectors(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *text = test_read_file(VAULT_TEST_VECTORS "/devicelink_kat.json", &len);
    assert_non_null(text);
    cJSON *kat = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    assert_non_null(kat);

    uint8_t shower_sk[32], scanner_sk[32], secret[32], nonce[24], pk[32], mac[32], want[32];
    uint8_t env_want[256];
    vault_devicelink_transcript t;
    vault_devicelink_keys ka, kb;
    hex_member(kat, "shower_sk", shower_sk, 32);
    hex_member(kat, "scanner_sk", scanner_sk, 32);
    hex_member(kat, "secret", secret, 32);
    hex_member(kat, "nonce", nonce, 24);
    hex_member(kat, "link_id", t.link_id, 16);
    t.role = (uint8_t)str_member(kat, "role")[0];
    crypto_scalarmult_base(t.shower_pk, shower_sk);
    crypto_scalarmult_base(t.scanner_pk, scanner_sk);
    hex_member(kat, "shower_pk", pk, 32);
    assert_memory_equal(pk, t.shower_pk, 32);
    hex_member(kat, "scanner_pk", pk, 32);
    assert_memory_equal(pk, t.scanner_pk, 32);

    vault_devicelink_payload p = {t.role, {0}, {0}, {0}};
    memcpy(p.link_id, t.link_id, 16);
    memcpy(p.shower_pk, t.shower_pk, 32);
    memcpy(p.secret, secret, 32);
    char *uri = NULL;
    assert_int_equal(vault_devicelink__payload_format(&uri, &p), VAULT_OK);
    assert_string_equal(uri, str_member(kat, "uri"));
    vault_free(uri);

    vault_devicelink__post_mac(mac, secret, &t);
    hex_member(kat, "post_mac", want, 32);
    assert_memory_equal(mac, want, 32);

    assert_int_equal(vault_devicelink__derive(&ka, secret, shower_sk, &t, 1), VAULT_OK);
    assert_int_equal(vault_devicelink__derive(&kb, secret, scanner_sk, &t, 0), VAULT_OK);
    assert_memory_equal(&ka, &kb, sizeof ka);
    hex_member(kat, "session", want, 32);
    assert_memory_equal(ka.session, want, 32);
    hex_member(kat, "confirm", want, 32);
    assert_memory_equal(ka.confirm, want, 32);
    assert_string_equal(ka.sas, str_member(kat, "sas"));
    vault_devicelink__confirm_tag(mac, &kb, &t);
    hex_member(kat, "confirm_tag", want, 32);
    assert_memory_equal(mac, want, 32);

    const char *plain = str_member(kat, "plaintext");
    const char *env_hex = str_member(kat, "envelope");
    size_t env_len = strlen(env_hex) / 2;
    assert_true(env_len <= sizeof env_want);
    assert_int_equal(vault__hex2bin(env_want, env_len, env_hex), VAULT_OK);
    uint8_t *env = NULL;
    size_t got_len = 0;
    assert_int_equal(vault_devicelink__envelope_seal_with_nonce(
                         &env, &got_len, &ka, &t, (const uint8_t *)plain, strlen(plain), nonce),
                     VAULT_OK);
    assert_int_equal(got_len, env_len);
    assert_memory_equal(env, env_want, env_len);
    vault_free(env);

    uint8_t token[32];
    hex_member(kat, "token", token, 32);
    hex_member(kat, "token_hash", want, 32);
    vault_devicelink__token_hash(mac, token);
    assert_memory_equal(mac, want, 32);
    cJSON_Delete(kat);
}

int test_devicelink_keys_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devicelink_keys__both_sides_derive_the_same),
        cmocka_unit_test(test_devicelink_keys__substituted_key_fails_mac_and_changes_sas),
        cmocka_unit_test(test_devicelink_keys__every_input_matters),
        cmocka_unit_test(test_devicelink_keys__low_order_peer_is_refused),
        cmocka_unit_test(test_devicelink_keys__sas_digits_are_spread),
        cmocka_unit_test(test_devicelink_keys__sas_equal_is_strict),
        cmocka_unit_test(test_devicelink_keys__known_answer_vectors),
        cmocka_unit_test(test_devicelink_envelope__roundtrip),
        cmocka_unit_test(test_devicelink_envelope__tamper_is_auth_error),
        cmocka_unit_test(test_devicelink_envelope__size_limit_and_nomem),
        cmocka_unit_test(test_devicelink_grant__roundtrip),
        cmocka_unit_test(test_devicelink_grant__strict_decode),
    };
    return cmocka_run_group_tests_name("devicelink_keys", tests, NULL, NULL);
}

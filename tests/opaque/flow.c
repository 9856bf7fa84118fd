/* OPAQUE behaviour with fresh randomness: the product's Argon2id KSF, wrong
 * passwords, unknown accounts, tampering and malformed group elements. */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "opaque/opaque.h"
#include "opaque_test.h"

static const uint8_t CTX[] = "zkvault-test";
static const uint8_t EMAIL[] = "alice@example.com";
#define PW "correct horse battery staple"

typedef struct fixture {
    vault_opaque_cfg cfg;
    vault_opaque_server_keys keys;
    uint8_t record[VAULT_OPAQUE_RECORD_BYTES];
    uint8_t export_key[VAULT_OPAQUE_NH];
} fixture;

static void setup(fixture *f, vault_opaque_ksf_fn ksf, void *ksf_ctx)
{
    uint8_t seed[32];
    memset(f, 0, sizeof *f);
    f->cfg.context = CTX;
    f->cfg.context_len = sizeof CTX - 1;
    f->cfg.client_id = EMAIL;
    f->cfg.client_id_len = sizeof EMAIL - 1;
    f->cfg.ksf = ksf;
    f->cfg.ksf_ctx = ksf_ctx;
    randombytes_buf(f->keys.oprf_seed, sizeof f->keys.oprf_seed);
    randombytes_buf(seed, sizeof seed);
    assert_int_equal(vault__opaque_derive_keypair(f->keys.private_key, f->keys.public_key, seed),
                     VAULT_OK);
}

static int do_register(fixture *f, const char *pw)
{
    vault_opaque_client st;
    uint8_t req[32], resp[64];
    int rc = vault__opaque_reg_start(&st, req, (const uint8_t *)pw, strlen(pw), NULL);
    if (rc == VAULT_OK)
        rc = vault__opaque_reg_respond(resp, req, &f->keys, EMAIL, sizeof EMAIL - 1);
    if (rc == VAULT_OK)
        rc = vault__opaque_reg_finish(f->record, f->export_key, &st, (const uint8_t *)pw,
                                      strlen(pw), resp, &f->cfg, NULL);
    return rc;
}

/* One login; record NULL = unknown account. Returns the client's verdict
 * (KE3) and, when it succeeds, the server's. */
static int do_login(const fixture *f, const uint8_t *record, const char *pw,
                    uint8_t export_key[64], uint8_t *ke2_out)
{
    vault_opaque_client cst;
    vault_opaque_server sst;
    uint8_t ke1[96], ke2[320], ke3[64], csk[64], ssk[64];
    int rc = vault__opaque_ke1(&cst, ke1, (const uint8_t *)pw, strlen(pw), NULL, NULL, NULL);
    assert_int_equal(rc, VAULT_OK);
    assert_int_equal(vault__opaque_ke2(&sst, ke2, &f->keys, record, EMAIL, sizeof EMAIL - 1, ke1,
                                       &f->cfg, NULL, NULL, NULL),
                     VAULT_OK);
    if (ke2_out)
        memcpy(ke2_out, ke2, sizeof ke2);
    rc = vault__opaque_ke3(ke3, csk, export_key, &cst, (const uint8_t *)pw, strlen(pw), ke2,
                           &f->cfg);
    if (rc != VAULT_OK)
        return rc;
    rc = vault__opaque_server_finish(ssk, &sst, ke3);
    if (rc == VAULT_OK)
        assert_memory_equal(csk, ssk, 64);
    return rc;
}

void test_opaque_flow__argon2id_roundtrip(void **state)
{
    (void)state;
    fixture f;
    vault_opaque_argon2 params = {TEST_OPS, TEST_MEM};
    uint8_t exp[64];
    setup(&f, vault__opaque_ksf_argon2id, &params);
    assert_int_equal(do_register(&f, PW), VAULT_OK);
    assert_int_equal(vault__opaque_record_check(f.record), VAULT_OK);
    assert_int_equal(do_login(&f, f.record, PW, exp, NULL), VAULT_OK);
    assert_memory_equal(exp, f.export_key, 64);
    /* Other Argon2id costs derive another key: the login fails. */
    params.opslimit = TEST_OPS + 1;
    assert_int_equal(do_login(&f, f.record, PW, exp, NULL), VAULT_E_AUTH);
}

void test_opaque_flow__wrong_password_is_auth(void **state)
{
    (void)state;
    fixture f;
    uint8_t exp[64];
    setup(&f, NULL, NULL);
    assert_int_equal(do_register(&f, PW), VAULT_OK);
    assert_int_equal(do_login(&f, f.record, "correct horse battery stapler", exp, NULL),
                     VAULT_E_AUTH);
    assert_int_equal(do_login(&f, f.record, "", exp, NULL), VAULT_E_AUTH);
    assert_int_equal(do_login(&f, f.record, PW, exp, NULL), VAULT_OK);
}

/* An unknown account answers a KE2 of the same size and shape; its OPRF
 * part is the same for the same identifier (as for a real account), and the
 * client can only fail with the wrong-password code. */
void test_opaque_flow__unknown_account_looks_real(void **state)
{
    (void)state;
    fixture f;
    vault_opaque_client cst;
    vault_opaque_server s1, s2;
    uint8_t ke1[96], a[320], b[320], exp[64];
    const uint8_t n[32] = {1}, sn[32] = {2}, ks[32] = {3};
    setup(&f, NULL, NULL);
    assert_int_equal(do_login(&f, NULL, PW, exp, NULL), VAULT_E_AUTH);
    assert_int_equal(vault__opaque_ke1(&cst, ke1, (const uint8_t *)PW, strlen(PW), NULL, NULL,
                                       NULL),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke2(&s1, a, &f.keys, NULL, EMAIL, sizeof EMAIL - 1, ke1, &f.cfg,
                                       n, sn, ks),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke2(&s2, b, &f.keys, NULL, EMAIL, sizeof EMAIL - 1, ke1, &f.cfg,
                                       n, sn, ks),
                     VAULT_OK);
    assert_memory_equal(a, b, sizeof a); /* a stable stand-in, not fresh noise */
    assert_int_equal(vault__opaque_ke2(&s2, b, &f.keys, NULL, (const uint8_t *)"bob", 3, ke1,
                                       &f.cfg, n, sn, ks),
                     VAULT_OK);
    assert_memory_not_equal(a, b, 32);        /* another identifier, another OPRF key */
    assert_memory_not_equal(a + 64, b + 64, 128); /* and another masked response */
    sodium_memzero(&cst, sizeof cst);
}

void test_opaque_flow__tampered_messages_refused(void **state)
{
    (void)state;
    fixture f;
    vault_opaque_client cst;
    vault_opaque_server sst;
    uint8_t ke1[96], ke2[320], ke3[64], csk[64], ssk[64], exp[64];
    setup(&f, NULL, NULL);
    assert_int_equal(do_register(&f, PW), VAULT_OK);
    /* every byte region of KE2 the client checks: masked response, nonce, MAC */
    const size_t flips[] = {70, 200, 319};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        assert_int_equal(vault__opaque_ke1(&cst, ke1, (const uint8_t *)PW, strlen(PW), NULL, NULL,
                                           NULL),
                         VAULT_OK);
        assert_int_equal(vault__opaque_ke2(&sst, ke2, &f.keys, f.record, EMAIL, sizeof EMAIL - 1,
                                           ke1, &f.cfg, NULL, NULL, NULL),
                         VAULT_OK);
        ke2[flips[i]] ^= 1;
        assert_int_equal(vault__opaque_ke3(ke3, csk, exp, &cst, (const uint8_t *)PW, strlen(PW),
                                           ke2, &f.cfg),
                         VAULT_E_AUTH);
    }
    /* a KE3 one bit off is refused by the server */
    assert_int_equal(vault__opaque_ke1(&cst, ke1, (const uint8_t *)PW, strlen(PW), NULL, NULL,
                                       NULL),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke2(&sst, ke2, &f.keys, f.record, EMAIL, sizeof EMAIL - 1, ke1,
                                       &f.cfg, NULL, NULL, NULL),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke3(ke3, csk, exp, &cst, (const uint8_t *)PW, strlen(PW), ke2,
                                       &f.cfg),
                     VAULT_OK);
    ke3[5] ^= 0x80;
    assert_int_equal(vault__opaque_server_finish(ssk, &sst, ke3), VAULT_E_AUTH);
    /* a server speaking another context (protocol version) does not authenticate */
    vault_opaque_cfg other = f.cfg;
    other.context = (const uint8_t *)"zkvault-other";
    assert_int_equal(vault__opaque_ke1(&cst, ke1, (const uint8_t *)PW, strlen(PW), NULL, NULL,
                                       NULL),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke2(&sst, ke2, &f.keys, f.record, EMAIL, sizeof EMAIL - 1, ke1,
                                       &other, NULL, NULL, NULL),
                     VAULT_OK);
    assert_int_equal(vault__opaque_ke3(ke3, csk, exp, &cst, (const uint8_t *)PW, strlen(PW), ke2,
                                       &f.cfg),
                     VAULT_E_AUTH);
}

void test_opaque_flow__invalid_elements_refused(void **state)
{
    (void)state;
    fixture f;
    vault_opaque_client cst;
    vault_opaque_server sst;
    uint8_t ke1[96], ke2[320], ke3[64], csk[64], exp[64], resp[64], bad[32];
    setup(&f, NULL, NULL);
    assert_int_equal(do_register(&f, PW), VAULT_OK);
    memset(bad, 0, sizeof bad); /* the identity element */
    assert_int_equal(vault__opaque_reg_respond(resp, bad, &f.keys, EMAIL, 5), VAULT_E_INVALID);
    memset(bad, 0xff, sizeof bad); /* not a canonical encoding */
    assert_int_equal(vault__opaque_reg_respond(resp, bad, &f.keys, EMAIL, 5), VAULT_E_INVALID);
    memcpy(ke2, f.record, VAULT_OPAQUE_RECORD_BYTES);
    memcpy(ke2, bad, sizeof bad);
    assert_int_equal(vault__opaque_record_check(ke2), VAULT_E_INVALID);

    assert_int_equal(vault__opaque_ke1(&cst, ke1, (const uint8_t *)PW, strlen(PW), NULL, NULL,
                                       NULL),
                     VAULT_OK);
    memcpy(ke2, ke1, sizeof ke1);
    memset(ke1 + 64, 0, 32); /* identity key share */
    assert_int_equal(vault__opaque_ke2(&sst, ke2, &f.keys, f.record, EMAIL, sizeof EMAIL - 1, ke1,
                                       &f.cfg, NULL, NULL, NULL),
                     VAULT_E_INVALID);
    memcpy(ke1, ke2, sizeof ke1);
    memset(ke1, 0, 32); /* identity blinded element */
    assert_int_equal(vault__opaque_ke2(&sst, ke2, &f.keys, f.record, EMAIL, sizeof EMAIL - 1, ke1,
                                       &f.cfg, NULL, NULL, NULL),
                     VAULT_E_INVALID);
    /* a KE2 whose evaluated element or key share is the identity */
    memset(ke2, 0x11, sizeof ke2);
    memset(ke2, 0, 32);
    assert_int_equal(vault__opaque_ke3(ke3, csk, exp, &cst, (const uint8_t *)PW, strlen(PW), ke2,
                                       &f.cfg),
                     VAULT_E_INVALID);
}

void test_opaque_flow__ksf_params_checked(void **state)
{
    (void)state;
    fixture f;
    vault_opaque_argon2 weak = {TEST_OPS - 1, TEST_MEM};
    vault_opaque_argon2 huge = {TEST_OPS, VAULT_KDF_MEMLIMIT_MAX + 1};
    uint8_t out[64], in[64] = {0};
    assert_int_equal(vault__opaque_ksf_argon2id(out, in, &weak), VAULT_E_WEAK_KDF);
    assert_int_equal(vault__opaque_ksf_argon2id(out, in, &huge), VAULT_E_LIMIT);
    setup(&f, vault__opaque_ksf_argon2id, &weak);
    assert_int_equal(do_register(&f, PW), VAULT_E_WEAK_KDF);
}

/* A server that lost (or never had) the oprf seed or AKE key cannot run a
 * login that the client accepts. */
void test_opaque_flow__other_server_secrets_fail(void **state)
{
    (void)state;
    fixture f;
    uint8_t exp[64], seed[32];
    setup(&f, NULL, NULL);
    assert_int_equal(do_register(&f, PW), VAULT_OK);
    f.keys.oprf_seed[0] ^= 1;
    assert_int_equal(do_login(&f, f.record, PW, exp, NULL), VAULT_E_AUTH);
    f.keys.oprf_seed[0] ^= 1;
    randombytes_buf(seed, sizeof seed);
    assert_int_equal(vault__opaque_derive_keypair(f.keys.private_key, f.keys.public_key, seed),
                     VAULT_OK);
    assert_int_equal(do_login(&f, f.record, PW, exp, NULL), VAULT_E_AUTH);
}

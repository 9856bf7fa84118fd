/*
 * OPAQUE-3DH (RFC 9807): envelope Store/Recover (§4), registration (§5),
 * credential retrieval with masking and fake records (§6.3), and the 3DH
 * key exchange with its preamble and key schedule (§6.4). The wire layouts
 * are the RFC's, so the test vectors of Appendix C apply byte for byte.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "kdf/kdf.h"
#include "opaque/opaque.h"
#include "opaque/opaque_int.h"

#define CRED_ID_MAX 1024u
#define DH_INFO "OPAQUE-DeriveDiffieHellmanKeyPair"
#define MASKED_BYTES (VAULT_OPAQUE_NPK + VAULT_OPAQUE_ENVELOPE_BYTES)

/* Expand(prk, concat(prefix, label), len): prefix is a nonce or the
 * credential identifier. */
static int expand_labeled(uint8_t *out, size_t len, const uint8_t prk[VAULT_OPAQUE_NX],
                          const uint8_t *prefix, size_t prefix_len, const char *label)
{
    uint8_t info[CRED_ID_MAX + 32];
    size_t label_len = strlen(label);
    int rc;
    if (prefix_len > CRED_ID_MAX)
        return vault__fail(VAULT_E_INVALID, "credential identifier too long");
    if (prefix_len)
        memcpy(info, prefix, prefix_len);
    memcpy(info + prefix_len, label, label_len);
    rc = vault__hkdf_expand(out, len, prk, info, prefix_len + label_len);
    sodium_memzero(info, sizeof info);
    return rc;
}

int vault__opaque_derive_keypair(uint8_t sk[VAULT_OPAQUE_NSK], uint8_t pk[VAULT_OPAQUE_NPK],
                                 const uint8_t seed[VAULT_OPAQUE_NSEED])
{
    return vault__oprf_derive_keypair(sk, pk, seed, (const uint8_t *)DH_INFO,
                                      sizeof DH_INFO - 1u);
}

int vault__opaque_ksf_argon2id(uint8_t out[VAULT_OPAQUE_NH], const uint8_t in[VAULT_OPAQUE_NH],
                               void *ctx)
{
    static const uint8_t salt[crypto_pwhash_SALTBYTES];
    const vault_opaque_argon2 *p = ctx;
    int rc = vault_kdf_check_params(p->opslimit, p->memlimit);
    if (rc != VAULT_OK)
        return rc;
    if (crypto_pwhash(out, VAULT_OPAQUE_NH, (const char *)in, VAULT_OPAQUE_NH, salt,
                      p->opslimit, (size_t)p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return vault__fail(VAULT_E_NOMEM, "Argon2id could not allocate its memory");
    return VAULT_OK;
}

/* The server's per-credential OPRF key: DeriveKeyPair(Expand(oprf_seed,
 * credential_identifier || "OprfKey", Nok), "OPAQUE-DeriveKeyPair"). */
static int oprf_key(uint8_t sk[VAULT_OPAQUE_NSK], const uint8_t seed[VAULT_OPAQUE_SEED_BYTES],
                    const uint8_t *cred_id, size_t cred_id_len)
{
    static const char info[] = "OPAQUE-DeriveKeyPair";
    uint8_t kseed[VAULT_OPAQUE_NSK];
    int rc = expand_labeled(kseed, sizeof kseed, seed, cred_id, cred_id_len, "OprfKey");
    if (rc == VAULT_OK)
        rc = vault__oprf_derive_keypair(sk, NULL, kseed, (const uint8_t *)info, sizeof info - 1u);
    sodium_memzero(kseed, sizeof kseed);
    return rc;
}

/* randomized_password = Extract("", oprf_output || Stretch(oprf_output)). */
static int randomized_password(uint8_t rpwd[VAULT_OPAQUE_NX], const uint8_t *pwd, size_t pwd_len,
                               const uint8_t blind[VAULT_OPAQUE_NSK],
                               const uint8_t evaluated[VAULT_OPAQUE_NOE],
                               const vault_opaque_cfg *cfg)
{
    uint8_t both[2 * VAULT_OPAQUE_NH];
    int rc = vault__oprf_finalize(both, pwd, pwd_len, blind, evaluated);
    if (rc != VAULT_OK)
        goto done;
    if (cfg->ksf)
        rc = cfg->ksf(both + VAULT_OPAQUE_NH, both, cfg->ksf_ctx);
    else
        memcpy(both + VAULT_OPAQUE_NH, both, VAULT_OPAQUE_NH);
    if (rc == VAULT_OK)
        vault__hkdf_extract(rpwd, NULL, 0, both, sizeof both);
done:
    sodium_memzero(both, sizeof both);
    return rc;
}

static void mac_len16(crypto_auth_hmacsha512_state *st, const uint8_t *p, size_t n)
{
    const uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    crypto_auth_hmacsha512_update(st, len, 2);
    crypto_auth_hmacsha512_update(st, p, n);
}

/* The key material of an envelope (Store and Recover share it): the client
 * key pair, the export key and the expected auth_tag over the nonce and the
 * CleartextCredentials. */
static int envelope_keys(uint8_t client_sk[VAULT_OPAQUE_NSK], uint8_t client_pk[VAULT_OPAQUE_NPK],
                         uint8_t export_key[VAULT_OPAQUE_NH], uint8_t tag[VAULT_OPAQUE_NM],
                         const uint8_t rpwd[VAULT_OPAQUE_NX], const uint8_t nonce[VAULT_OPAQUE_NN],
                         const uint8_t server_pk[VAULT_OPAQUE_NPK], const vault_opaque_cfg *cfg)
{
    uint8_t auth_key[VAULT_OPAQUE_NH], seed[VAULT_OPAQUE_NSEED];
    crypto_auth_hmacsha512_state st;
    int rc = expand_labeled(auth_key, sizeof auth_key, rpwd, nonce, VAULT_OPAQUE_NN, "AuthKey");
    if (rc == VAULT_OK)
        rc = expand_labeled(export_key, VAULT_OPAQUE_NH, rpwd, nonce, VAULT_OPAQUE_NN, "ExportKey");
    if (rc == VAULT_OK)
        rc = expand_labeled(seed, sizeof seed, rpwd, nonce, VAULT_OPAQUE_NN, "PrivateKey");
    if (rc == VAULT_OK)
        rc = vault__opaque_derive_keypair(client_sk, client_pk, seed);
    if (rc != VAULT_OK)
        goto done;
    crypto_auth_hmacsha512_init(&st, auth_key, sizeof auth_key);
    crypto_auth_hmacsha512_update(&st, nonce, VAULT_OPAQUE_NN);
    crypto_auth_hmacsha512_update(&st, server_pk, VAULT_OPAQUE_NPK);
    if (cfg->server_id)
        mac_len16(&st, cfg->server_id, cfg->server_id_len);
    else
        mac_len16(&st, server_pk, VAULT_OPAQUE_NPK);
    if (cfg->client_id)
        mac_len16(&st, cfg->client_id, cfg->client_id_len);
    else
        mac_len16(&st, client_pk, VAULT_OPAQUE_NPK);
    crypto_auth_hmacsha512_final(&st, tag);
    sodium_memzero(&st, sizeof st);
done:
    sodium_memzero(auth_key, sizeof auth_key);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

static int cfg_check(const vault_opaque_cfg *cfg)
{
    if (!cfg || cfg->context_len > 0xffffu || cfg->client_id_len > 0xffffu ||
        cfg->server_id_len > 0xffffu)
        return vault__fail(VAULT_E_INVALID, "OPAQUE configuration missing or too long");
    return VAULT_OK;
}

/* ---- registration ------------------------------------------------------- */

int vault__opaque_reg_start(vault_opaque_client *st,
                            uint8_t request[VAULT_OPAQUE_REG_REQUEST_BYTES], const uint8_t *pwd,
                            size_t pwd_len, const uint8_t *blind)
{
    if (!st || !request || (!pwd && pwd_len))
        return vault__fail(VAULT_E_INVALID, "missing argument");
    sodium_memzero(st, sizeof *st);
    return vault__oprf_blind(request, st->blind, pwd, pwd_len, blind);
}

int vault__opaque_reg_respond(uint8_t response[VAULT_OPAQUE_REG_RESPONSE_BYTES],
                              const uint8_t request[VAULT_OPAQUE_REG_REQUEST_BYTES],
                              const vault_opaque_server_keys *keys, const uint8_t *cred_id,
                              size_t cred_id_len)
{
    uint8_t k[VAULT_OPAQUE_NSK];
    int rc;
    if (!response || !request || !keys || (!cred_id && cred_id_len))
        return vault__fail(VAULT_E_INVALID, "missing argument");
    rc = oprf_key(k, keys->oprf_seed, cred_id, cred_id_len);
    if (rc == VAULT_OK)
        rc = vault__oprf_blind_evaluate(response, k, request);
    if (rc == VAULT_OK)
        memcpy(response + VAULT_OPAQUE_NOE, keys->public_key, VAULT_OPAQUE_NPK);
    sodium_memzero(k, sizeof k);
    return rc;
}

int vault__opaque_reg_finish(uint8_t record[VAULT_OPAQUE_RECORD_BYTES],
                             uint8_t export_key[VAULT_OPAQUE_NH], vault_opaque_client *st,
                             const uint8_t *pwd, size_t pwd_len,
                             const uint8_t response[VAULT_OPAQUE_REG_RESPONSE_BYTES],
                             const vault_opaque_cfg *cfg, const uint8_t *envelope_nonce)
{
    uint8_t rpwd[VAULT_OPAQUE_NX], sk[VAULT_OPAQUE_NSK], exp[VAULT_OPAQUE_NH];
    uint8_t *pk = record, *masking_key = record + VAULT_OPAQUE_NPK;
    uint8_t *nonce = masking_key + VAULT_OPAQUE_NH, *tag = nonce + VAULT_OPAQUE_NN;
    const uint8_t *server_pk = response + VAULT_OPAQUE_NOE;
    int rc;
    if (!record || !export_key || !st || (!pwd && pwd_len) || !response)
        return vault__fail(VAULT_E_INVALID, "missing argument");
    if ((rc = cfg_check(cfg)) != VAULT_OK)
        goto done;
    if (vault__opaque_element_check(server_pk) != VAULT_OK) {
        rc = vault__fail(VAULT_E_INVALID, "server public key is not a valid group element");
        goto done;
    }
    rc = randomized_password(rpwd, pwd, pwd_len, st->blind, response, cfg);
    if (rc != VAULT_OK)
        goto done;
    if (envelope_nonce)
        memcpy(nonce, envelope_nonce, VAULT_OPAQUE_NN);
    else
        randombytes_buf(nonce, VAULT_OPAQUE_NN);
    rc = vault__hkdf_expand(masking_key, VAULT_OPAQUE_NH, rpwd, (const uint8_t *)"MaskingKey", 10);
    if (rc == VAULT_OK)
        rc = envelope_keys(sk, pk, exp, tag, rpwd, nonce, server_pk, cfg);
    if (rc == VAULT_OK)
        memcpy(export_key, exp, sizeof exp);
    else
        sodium_memzero(record, VAULT_OPAQUE_RECORD_BYTES);
done:
    sodium_memzero(rpwd, sizeof rpwd);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(exp, sizeof exp);
    sodium_memzero(st, sizeof *st);
    return rc;
}

int vault__opaque_record_check(const uint8_t record[VAULT_OPAQUE_RECORD_BYTES])
{
    if (!record || vault__opaque_element_check(record) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "OPAQUE record holds no valid client public key");
    return VAULT_OK;
}

/* ---- 3DH key schedule --------------------------------------------------- */

/* Expand-Label(secret, label, context, Nx) with "OPAQUE-" prefixed labels. */
static int expand_label(uint8_t out[VAULT_OPAQUE_NX], const uint8_t secret[VAULT_OPAQUE_NX],
                        const char *label, const uint8_t *ctx, size_t ctx_len)
{
    uint8_t info[2 + 1 + 32 + 1 + VAULT_OPAQUE_NH];
    size_t label_len = strlen(label), n = 0;
    info[n++] = 0;
    info[n++] = VAULT_OPAQUE_NX;
    info[n++] = (uint8_t)(7u + label_len);
    memcpy(info + n, "OPAQUE-", 7);
    n += 7;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)ctx_len;
    if (ctx_len)
        memcpy(info + n, ctx, ctx_len);
    n += ctx_len;
    return vault__hkdf_expand(out, VAULT_OPAQUE_NX, secret, info, n);
}

typedef struct ake_keys {
    uint8_t km2[VAULT_OPAQUE_NX];
    uint8_t km3[VAULT_OPAQUE_NX];
    uint8_t session_key[VAULT_OPAQUE_NX];
    uint8_t server_mac[VAULT_OPAQUE_NM];
    uint8_t client_mac[VAULT_OPAQUE_NM];
} ake_keys;

static void hash_len16(crypto_hash_sha512_state *st, const uint8_t *p, size_t n)
{
    const uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    crypto_hash_sha512_update(st, len, 2);
    crypto_hash_sha512_update(st, p, n);
}

/* DeriveKeys plus both MACs. The preamble is hashed as it is built:
 * "OPAQUEv1-" || context || client_identity || ke1 || server_identity ||
 * credential_response || server_nonce || server_public_keyshare, each
 * variable field with its 2-byte length; ke2_head is the KE2 up to (not
 * including) the server MAC. */
static int ake_derive(ake_keys *k, const uint8_t ikm[3 * VAULT_OPAQUE_NOE],
                      const vault_opaque_cfg *cfg, const uint8_t client_pk[VAULT_OPAQUE_NPK],
                      const uint8_t server_pk[VAULT_OPAQUE_NPK],
                      const uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], const uint8_t *ke2_head)
{
    crypto_hash_sha512_state st, st2;
    crypto_auth_hmacsha512_state mac;
    uint8_t th[VAULT_OPAQUE_NH], prk[VAULT_OPAQUE_NX], hs[VAULT_OPAQUE_NX];
    int rc;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, (const uint8_t *)"OPAQUEv1-", 9);
    hash_len16(&st, cfg->context, cfg->context_len);
    if (cfg->client_id)
        hash_len16(&st, cfg->client_id, cfg->client_id_len);
    else
        hash_len16(&st, client_pk, VAULT_OPAQUE_NPK);
    crypto_hash_sha512_update(&st, ke1, VAULT_OPAQUE_KE1_BYTES);
    if (cfg->server_id)
        hash_len16(&st, cfg->server_id, cfg->server_id_len);
    else
        hash_len16(&st, server_pk, VAULT_OPAQUE_NPK);
    crypto_hash_sha512_update(&st, ke2_head, VAULT_OPAQUE_KE2_BYTES - VAULT_OPAQUE_NM);
    st2 = st;
    crypto_hash_sha512_final(&st, th);

    vault__hkdf_extract(prk, NULL, 0, ikm, 3 * VAULT_OPAQUE_NOE);
    rc = expand_label(hs, prk, "HandshakeSecret", th, sizeof th);
    if (rc == VAULT_OK)
        rc = expand_label(k->session_key, prk, "SessionKey", th, sizeof th);
    if (rc == VAULT_OK)
        rc = expand_label(k->km2, hs, "ServerMAC", NULL, 0);
    if (rc == VAULT_OK)
        rc = expand_label(k->km3, hs, "ClientMAC", NULL, 0);
    if (rc != VAULT_OK)
        goto done;
    /* Not crypto_auth_hmacsha512(): that one takes a 32-byte key. */
    crypto_auth_hmacsha512_init(&mac, k->km2, sizeof k->km2);
    crypto_auth_hmacsha512_update(&mac, th, sizeof th);
    crypto_auth_hmacsha512_final(&mac, k->server_mac);
    crypto_hash_sha512_update(&st2, k->server_mac, sizeof k->server_mac);
    crypto_hash_sha512_final(&st2, th);
    crypto_auth_hmacsha512_init(&mac, k->km3, sizeof k->km3);
    crypto_auth_hmacsha512_update(&mac, th, sizeof th);
    crypto_auth_hmacsha512_final(&mac, k->client_mac);
done:
    sodium_memzero(&st, sizeof st);
    sodium_memzero(&st2, sizeof st2);
    sodium_memzero(&mac, sizeof mac);
    sodium_memzero(th, sizeof th);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(hs, sizeof hs);
    return rc;
}

/* ikm = dh1 || dh2 || dh3, each a scalar multiplication; any failure
 * (identity result) is a malformed peer message. */
static int three_dh(uint8_t ikm[3 * VAULT_OPAQUE_NOE], const uint8_t *k1, const uint8_t *p1,
                    const uint8_t *k2, const uint8_t *p2, const uint8_t *k3, const uint8_t *p3)
{
    if (crypto_scalarmult_ristretto255(ikm, k1, p1) != 0 ||
        crypto_scalarmult_ristretto255(ikm + VAULT_OPAQUE_NOE, k2, p2) != 0 ||
        crypto_scalarmult_ristretto255(ikm + 2 * VAULT_OPAQUE_NOE, k3, p3) != 0) {
        sodium_memzero(ikm, 3 * VAULT_OPAQUE_NOE);
        return vault__fail(VAULT_E_INVALID, "3DH produced the identity element");
    }
    return VAULT_OK;
}

static void fresh(uint8_t *out, const uint8_t *fixed, size_t n)
{
    if (fixed)
        memcpy(out, fixed, n);
    else
        randombytes_buf(out, n);
}

/* ---- login -------------------------------------------------------------- */

int vault__opaque_ke1(vault_opaque_client *st, uint8_t ke1[VAULT_OPAQUE_KE1_BYTES],
                      const uint8_t *pwd, size_t pwd_len, const uint8_t *blind,
                      const uint8_t *nonce, const uint8_t *keyshare_seed)
{
    uint8_t seed[VAULT_OPAQUE_NSEED];
    int rc;
    if (!st || !ke1 || (!pwd && pwd_len))
        return vault__fail(VAULT_E_INVALID, "missing argument");
    sodium_memzero(st, sizeof *st);
    rc = vault__oprf_blind(st->ke1, st->blind, pwd, pwd_len, blind);
    if (rc != VAULT_OK)
        goto done;
    fresh(st->ke1 + VAULT_OPAQUE_NOE, nonce, VAULT_OPAQUE_NN);
    fresh(seed, keyshare_seed, sizeof seed);
    rc = vault__opaque_derive_keypair(st->secret, st->ke1 + VAULT_OPAQUE_NOE + VAULT_OPAQUE_NN,
                                      seed);
    if (rc == VAULT_OK)
        memcpy(ke1, st->ke1, VAULT_OPAQUE_KE1_BYTES);
done:
    if (rc != VAULT_OK)
        sodium_memzero(st, sizeof *st);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

/* The stand-in for an unknown account: a client public key and masking key
 * derived from the oprf seed and the identifier (so repeated probes see a
 * consistent account) and an all-zero envelope, as RFC 9807 §6.3.2.2 says. */
static int fake_record(uint8_t record[VAULT_OPAQUE_RECORD_BYTES],
                       const uint8_t seed[VAULT_OPAQUE_SEED_BYTES], const uint8_t *cred_id,
                       size_t cred_id_len)
{
    uint8_t material[VAULT_OPAQUE_NSEED + VAULT_OPAQUE_NH], sk[VAULT_OPAQUE_NSK];
    int rc = expand_labeled(material, sizeof material, seed, cred_id, cred_id_len,
                            "zkvault-FakeRecord");
    if (rc == VAULT_OK)
        rc = vault__opaque_derive_keypair(sk, record, material);
    memcpy(record + VAULT_OPAQUE_NPK, material + VAULT_OPAQUE_NSEED, VAULT_OPAQUE_NH);
    memset(record + VAULT_OPAQUE_NPK + VAULT_OPAQUE_NH, 0, VAULT_OPAQUE_ENVELOPE_BYTES);
    sodium_memzero(material, sizeof material);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* CreateCredentialResponse: evaluated || masking_nonce || masked_response. */
static int credential_response(uint8_t out[VAULT_OPAQUE_CRED_RESPONSE_BYTES],
                               const vault_opaque_server_keys *keys, const uint8_t *record,
                               const uint8_t *cred_id, size_t cred_id_len,
                               const uint8_t ke1[VAULT_OPAQUE_KE1_BYTES],
                               const uint8_t *masking_nonce)
{
    uint8_t k[VAULT_OPAQUE_NSK], pad[MASKED_BYTES];
    uint8_t *nonce = out + VAULT_OPAQUE_NOE, *masked = nonce + VAULT_OPAQUE_NN;
    int rc = oprf_key(k, keys->oprf_seed, cred_id, cred_id_len);
    if (rc == VAULT_OK)
        rc = vault__oprf_blind_evaluate(out, k, ke1);
    if (rc != VAULT_OK)
        goto done;
    fresh(nonce, masking_nonce, VAULT_OPAQUE_NN);
    rc = expand_labeled(pad, sizeof pad, record + VAULT_OPAQUE_NPK, nonce, VAULT_OPAQUE_NN,
                        "CredentialResponsePad");
    if (rc != VAULT_OK)
        goto done;
    memcpy(masked, keys->public_key, VAULT_OPAQUE_NPK);
    memcpy(masked + VAULT_OPAQUE_NPK, record + VAULT_OPAQUE_NPK + VAULT_OPAQUE_NH,
           VAULT_OPAQUE_ENVELOPE_BYTES);
    for (size_t i = 0; i < sizeof pad; i++)
        masked[i] ^= pad[i];
done:
    sodium_memzero(k, sizeof k);
    sodium_memzero(pad, sizeof pad);
    return rc;
}

int vault__opaque_ke2(vault_opaque_server *st, uint8_t ke2[VAULT_OPAQUE_KE2_BYTES],
                      const vault_opaque_server_keys *keys, const uint8_t *record,
                      const uint8_t *cred_id, size_t cred_id_len,
                      const uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], const vault_opaque_cfg *cfg,
                      const uint8_t *masking_nonce, const uint8_t *server_nonce,
                      const uint8_t *keyshare_seed)
{
    uint8_t fake[VAULT_OPAQUE_RECORD_BYTES], seed[VAULT_OPAQUE_NSEED], esk[VAULT_OPAQUE_NSK];
    uint8_t ikm[3 * VAULT_OPAQUE_NOE];
    uint8_t *auth = ke2 + VAULT_OPAQUE_CRED_RESPONSE_BYTES;
    const uint8_t *client_share = ke1 + VAULT_OPAQUE_NOE + VAULT_OPAQUE_NN;
    ake_keys k;
    int rc;
    if (!st || !ke2 || !keys || (!cred_id && cred_id_len) || !ke1)
        return vault__fail(VAULT_E_INVALID, "missing argument");
    sodium_memzero(st, sizeof *st);
    if ((rc = cfg_check(cfg)) != VAULT_OK)
        return rc;
    if (vault__opaque_element_check(client_share) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "KE1 key share is not a valid group element");
    if (!record) {
        if ((rc = fake_record(fake, keys->oprf_seed, cred_id, cred_id_len)) != VAULT_OK)
            goto done;
        record = fake;
    }
    rc = credential_response(ke2, keys, record, cred_id, cred_id_len, ke1, masking_nonce);
    if (rc != VAULT_OK)
        goto done;
    fresh(auth, server_nonce, VAULT_OPAQUE_NN);
    fresh(seed, keyshare_seed, sizeof seed);
    rc = vault__opaque_derive_keypair(esk, auth + VAULT_OPAQUE_NN, seed);
    if (rc == VAULT_OK)
        rc = three_dh(ikm, esk, client_share, keys->private_key, client_share, esk, record);
    if (rc == VAULT_OK)
        rc = ake_derive(&k, ikm, cfg, record, keys->public_key, ke1, ke2);
    if (rc != VAULT_OK)
        goto done;
    memcpy(auth + VAULT_OPAQUE_NN + VAULT_OPAQUE_NPK, k.server_mac, VAULT_OPAQUE_NM);
    memcpy(st->expected_client_mac, k.client_mac, VAULT_OPAQUE_NM);
    memcpy(st->session_key, k.session_key, VAULT_OPAQUE_NX);
done:
    sodium_memzero(&k, sizeof k);
    sodium_memzero(fake, sizeof fake);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(esk, sizeof esk);
    sodium_memzero(ikm, sizeof ikm);
    if (rc != VAULT_OK)
        sodium_memzero(ke2, VAULT_OPAQUE_KE2_BYTES);
    return rc;
}

/* RecoverCredentials: unmask the server key and envelope, then Recover.
 * A wrong password shows up as an invalid server key or a bad auth_tag;
 * both are VAULT_E_AUTH so that neither says more than the other. */
static int recover(uint8_t client_sk[VAULT_OPAQUE_NSK], uint8_t client_pk[VAULT_OPAQUE_NPK],
                   uint8_t server_pk[VAULT_OPAQUE_NPK], uint8_t export_key[VAULT_OPAQUE_NH],
                   const uint8_t rpwd[VAULT_OPAQUE_NX], const uint8_t *cred_resp,
                   const vault_opaque_cfg *cfg)
{
    uint8_t masking_key[VAULT_OPAQUE_NH], plain[MASKED_BYTES], tag[VAULT_OPAQUE_NM];
    const uint8_t *nonce = cred_resp + VAULT_OPAQUE_NOE, *masked = nonce + VAULT_OPAQUE_NN;
    const uint8_t *env = plain + VAULT_OPAQUE_NPK;
    int rc = vault__hkdf_expand(masking_key, sizeof masking_key, rpwd,
                                (const uint8_t *)"MaskingKey", 10);
    if (rc == VAULT_OK)
        rc = expand_labeled(plain, sizeof plain, masking_key, nonce, VAULT_OPAQUE_NN,
                            "CredentialResponsePad");
    if (rc != VAULT_OK)
        goto done;
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] ^= masked[i];
    memcpy(server_pk, plain, VAULT_OPAQUE_NPK);
    if (vault__opaque_element_check(server_pk) != VAULT_OK) {
        rc = vault__fail(VAULT_E_AUTH, "wrong password or unknown account");
        goto done;
    }
    rc = envelope_keys(client_sk, client_pk, export_key, tag, rpwd, env, server_pk, cfg);
    if (rc == VAULT_OK && sodium_memcmp(tag, env + VAULT_OPAQUE_NN, VAULT_OPAQUE_NM) != 0)
        rc = vault__fail(VAULT_E_AUTH, "wrong password or unknown account");
done:
    sodium_memzero(masking_key, sizeof masking_key);
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(tag, sizeof tag);
    return rc;
}

int vault__opaque_ke3(uint8_t ke3[VAULT_OPAQUE_KE3_BYTES], uint8_t session_key[VAULT_OPAQUE_NX],
                      uint8_t export_key[VAULT_OPAQUE_NH], vault_opaque_client *st,
                      const uint8_t *pwd, size_t pwd_len,
                      const uint8_t ke2[VAULT_OPAQUE_KE2_BYTES], const vault_opaque_cfg *cfg)
{
    uint8_t rpwd[VAULT_OPAQUE_NX], csk[VAULT_OPAQUE_NSK], cpk[VAULT_OPAQUE_NPK];
    uint8_t spk[VAULT_OPAQUE_NPK], exp[VAULT_OPAQUE_NH], ikm[3 * VAULT_OPAQUE_NOE];
    const uint8_t *auth = ke2 + VAULT_OPAQUE_CRED_RESPONSE_BYTES;
    const uint8_t *server_share = auth + VAULT_OPAQUE_NN;
    ake_keys k;
    int rc;
    sodium_memzero(&k, sizeof k);
    if (!ke3 || !session_key || !export_key || !st || (!pwd && pwd_len) || !ke2)
        return vault__fail(VAULT_E_INVALID, "missing argument");
    if ((rc = cfg_check(cfg)) != VAULT_OK)
        goto done;
    if (vault__opaque_element_check(server_share) != VAULT_OK) {
        rc = vault__fail(VAULT_E_INVALID, "KE2 key share is not a valid group element");
        goto done;
    }
    rc = randomized_password(rpwd, pwd, pwd_len, st->blind, ke2, cfg);
    if (rc == VAULT_OK)
        rc = recover(csk, cpk, spk, exp, rpwd, ke2, cfg);
    if (rc == VAULT_OK)
        rc = three_dh(ikm, st->secret, server_share, st->secret, spk, csk, server_share);
    if (rc == VAULT_OK)
        rc = ake_derive(&k, ikm, cfg, cpk, spk, st->ke1, ke2);
    if (rc != VAULT_OK)
        goto done;
    if (sodium_memcmp(k.server_mac, server_share + VAULT_OPAQUE_NPK, VAULT_OPAQUE_NM) != 0) {
        rc = vault__fail(VAULT_E_AUTH, "the server failed to authenticate");
        goto done;
    }
    memcpy(ke3, k.client_mac, VAULT_OPAQUE_NM);
    memcpy(session_key, k.session_key, VAULT_OPAQUE_NX);
    memcpy(export_key, exp, VAULT_OPAQUE_NH);
done:
    sodium_memzero(&k, sizeof k);
    sodium_memzero(rpwd, sizeof rpwd);
    sodium_memzero(csk, sizeof csk);
    sodium_memzero(exp, sizeof exp);
    sodium_memzero(ikm, sizeof ikm);
    sodium_memzero(st, sizeof *st);
    return rc;
}

int vault__opaque_server_finish(uint8_t session_key[VAULT_OPAQUE_NX], vault_opaque_server *st,
                                const uint8_t ke3[VAULT_OPAQUE_KE3_BYTES])
{
    int rc = VAULT_OK;
    if (!session_key || !st || !ke3)
        return vault__fail(VAULT_E_INVALID, "missing argument");
    if (sodium_memcmp(ke3, st->expected_client_mac, VAULT_OPAQUE_NM) != 0)
        rc = vault__fail(VAULT_E_AUTH, "wrong password");
    else
        memcpy(session_key, st->session_key, VAULT_OPAQUE_NX);
    sodium_memzero(st, sizeof *st);
    return rc;
}

void vault__opaque_session_token(uint8_t token[32], const uint8_t session_key[VAULT_OPAQUE_NX])
{
    static const char label[] = "zkvault-v2 session token";
    vault__hkdf_expand(token, 32, session_key, (const uint8_t *)label, sizeof label - 1);
}

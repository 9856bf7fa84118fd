/*
 * The device-link key schedule (docs/devicelink.md, "Key schedule"):
 *
 *   mac_key  = crypto_kdf(s, id 1, "zkvlink1")                    link secret alone
 *   post_mac = HMAC-SHA-512-256(mac_key, "zkvlink1/post" ‖ role ‖ link id ‖ scanner pk ‖ shower pk)
 *   dh       = X25519(own secret key, peer public key)            refused if all zero
 *   prk      = BLAKE2b-256(key = s, "zkvlink1/keys" ‖ role ‖ link id ‖ shower pk ‖ scanner pk ‖ dh)
 *   session  = crypto_kdf(prk, id 2, "zkvlink1")                  envelope key
 *   confirm  = crypto_kdf(prk, id 3, "zkvlink1")                  key-confirmation key
 *   sas      = first of eight big-endian 64-bit words of crypto_kdf(prk, id 4, 64 bytes)
 *              below 10^6 * floor(2^64 / 10^6), mod 10^6, as 6 digits
 *   confirm_tag = HMAC-SHA-512-256(confirm, "zkvlink1/confirm" ‖ role ‖ link id ‖ shower pk ‖ scanner pk)
 *
 * The public keys always enter in role order (shower, scanner) so both sides
 * hash the same bytes. Only libsodium primitives are composed here.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"

#define KDF_CONTEXT "zkvlink1"
#define KDF_ID_MAC 1u
#define KDF_ID_SESSION 2u
#define KDF_ID_CONFIRM 3u
#define KDF_ID_SAS 4u
#define SAS_MODULUS 1000000u
#define SAS_WORDS 8u

static const char LABEL_POST[] = "zkvlink1/post";
static const char LABEL_KEYS[] = "zkvlink1/keys";
static const char LABEL_CONFIRM[] = "zkvlink1/confirm";
static const char LABEL_ENVELOPE[] = "zkvlink1/envelope";

/* label ‖ role ‖ link id ‖ first pk ‖ second pk, the common MAC input. */
#define TRANSCRIPT_MAX (32u + 1u + VAULT_DEVICELINK_ID_BYTES + 2u * VAULT_DEVICELINK_PK_BYTES)

static size_t transcript_bytes(uint8_t *buf, const char *label, const vault_devicelink_transcript *t,
                               int scanner_first)
{
    size_t at = strlen(label);
    memcpy(buf, label, at);
    buf[at++] = t->role;
    memcpy(buf + at, t->link_id, sizeof t->link_id);
    at += sizeof t->link_id;
    memcpy(buf + at, scanner_first ? t->scanner_pk : t->shower_pk, VAULT_DEVICELINK_PK_BYTES);
    at += VAULT_DEVICELINK_PK_BYTES;
    memcpy(buf + at, scanner_first ? t->shower_pk : t->scanner_pk, VAULT_DEVICELINK_PK_BYTES);
    at += VAULT_DEVICELINK_PK_BYTES;
    return at;
}

static void post_mac_with(uint8_t mac[VAULT_DEVICELINK_MAC_BYTES],
                          const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                          const vault_devicelink_transcript *t)
{
    uint8_t mac_key[crypto_auth_KEYBYTES];
    uint8_t msg[TRANSCRIPT_MAX];
    size_t len = transcript_bytes(msg, LABEL_POST, t, 1);
    crypto_kdf_derive_from_key(mac_key, sizeof mac_key, KDF_ID_MAC, KDF_CONTEXT, secret);
    crypto_auth(mac, msg, len, mac_key);
    sodium_memzero(mac_key, sizeof mac_key);
}

void vault_devicelink__post_mac(uint8_t mac[VAULT_DEVICELINK_MAC_BYTES],
                                const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                                const vault_devicelink_transcript *t)
{
    post_mac_with(mac, secret, t);
}

int vault_devicelink__check_post_mac(const uint8_t mac[VAULT_DEVICELINK_MAC_BYTES],
                                     const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                                     const vault_devicelink_transcript *t)
{
    uint8_t expect[VAULT_DEVICELINK_MAC_BYTES];
    int same;
    post_mac_with(expect, secret, t);
    same = crypto_verify_32(expect, mac) == 0;
    sodium_memzero(expect, sizeof expect);
    if (!same)
        return vault__fail(VAULT_E_AUTH, "device link: the new device's key failed its MAC "
                                         "(substituted by the relay?); link aborted");
    return VAULT_OK;
}

/* Uniform 6-digit code: reject the top sliver of 64-bit values that would
 * bias the reduction; eight candidates make running out (p < 2^-350)
 * unreachable, and the last word is then reduced anyway. */
static void sas_from(char sas[VAULT_DEVICELINK_SAS_DIGITS + 1], const uint8_t words[8 * SAS_WORDS])
{
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % SAS_MODULUS) - 1u;
    uint64_t v = 0;
    for (size_t i = 0; i < SAS_WORDS; i++) {
        v = vault__load64_be(words + 8 * i);
        if (v <= limit)
            break;
    }
    uint32_t code = (uint32_t)(v % SAS_MODULUS);
    for (size_t i = VAULT_DEVICELINK_SAS_DIGITS; i-- > 0;) {
        sas[i] = (char)('0' + code % 10u);
        code /= 10u;
    }
    sas[VAULT_DEVICELINK_SAS_DIGITS] = '\0';
}

int vault_devicelink__derive(vault_devicelink_keys *out,
                             const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                             const uint8_t my_sk[VAULT_DEVICELINK_SK_BYTES],
                             const vault_devicelink_transcript *t, int i_am_shower)
{
    uint8_t dh[crypto_scalarmult_BYTES];
    uint8_t prk[crypto_kdf_KEYBYTES];
    uint8_t sas_words[8 * SAS_WORDS];
    uint8_t head[TRANSCRIPT_MAX];
    crypto_generichash_state st;
    int rc = VAULT_OK;
    const uint8_t *peer = i_am_shower ? t->scanner_pk : t->shower_pk;

    sodium_memzero(out, sizeof *out);
    if (crypto_scalarmult(dh, my_sk, peer) != 0) {
        rc = vault__fail(VAULT_E_AUTH, "device link: the peer's public key is invalid "
                                       "(low-order point); link aborted");
        goto done;
    }
    size_t head_len = transcript_bytes(head, LABEL_KEYS, t, 0);
    crypto_generichash_init(&st, secret, VAULT_DEVICELINK_SECRET_BYTES, sizeof prk);
    crypto_generichash_update(&st, head, head_len);
    crypto_generichash_update(&st, dh, sizeof dh);
    crypto_generichash_final(&st, prk, sizeof prk);

    crypto_kdf_derive_from_key(out->session, sizeof out->session, KDF_ID_SESSION, KDF_CONTEXT, prk);
    crypto_kdf_derive_from_key(out->confirm, sizeof out->confirm, KDF_ID_CONFIRM, KDF_CONTEXT, prk);
    crypto_kdf_derive_from_key(sas_words, sizeof sas_words, KDF_ID_SAS, KDF_CONTEXT, prk);
    sas_from(out->sas, sas_words);
done:
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(sas_words, sizeof sas_words);
    sodium_memzero(&st, sizeof st);
    return rc;
}

void vault_devicelink__confirm_tag(uint8_t tag[VAULT_DEVICELINK_MAC_BYTES],
                                   const vault_devicelink_keys *k,
                                   const vault_devicelink_transcript *t)
{
    uint8_t msg[TRANSCRIPT_MAX];
    size_t len = transcript_bytes(msg, LABEL_CONFIRM, t, 0);
    crypto_auth(tag, msg, len, k->confirm);
}

int vault_devicelink__check_confirm_tag(const uint8_t tag[VAULT_DEVICELINK_MAC_BYTES],
                                        const vault_devicelink_keys *k,
                                        const vault_devicelink_transcript *t)
{
    uint8_t msg[TRANSCRIPT_MAX];
    size_t len = transcript_bytes(msg, LABEL_CONFIRM, t, 0);
    if (crypto_auth_verify(tag, msg, len, k->confirm) != 0)
        return vault__fail(VAULT_E_AUTH, "device link: key confirmation failed; link aborted");
    return VAULT_OK;
}

int vault_devicelink__sas_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL || strlen(a) != VAULT_DEVICELINK_SAS_DIGITS ||
        strlen(b) != VAULT_DEVICELINK_SAS_DIGITS ||
        sodium_memcmp(a, b, VAULT_DEVICELINK_SAS_DIGITS) != 0)
        return vault__fail(VAULT_E_SAS, "device link: the codes on the two screens differ; "
                                        "link aborted");
    return VAULT_OK;
}

void vault_devicelink__token_hash(uint8_t out[32], const uint8_t token[32])
{
    static const char label[] = "zkvlink1/token";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label - 1);
    crypto_generichash_update(&st, token, 32);
    crypto_generichash_final(&st, out, 32);
}

/* ---- envelope ----------------------------------------------------------- */

static size_t envelope_ad(uint8_t *ad, const vault_devicelink_transcript *t)
{
    size_t at = sizeof LABEL_ENVELOPE - 1;
    memcpy(ad, LABEL_ENVELOPE, at);
    ad[at++] = (uint8_t)VAULT_DEVICELINK_VERSION;
    ad[at++] = t->role;
    memcpy(ad + at, t->link_id, sizeof t->link_id);
    at += sizeof t->link_id;
    memcpy(ad + at, t->shower_pk, sizeof t->shower_pk);
    at += sizeof t->shower_pk;
    memcpy(ad + at, t->scanner_pk, sizeof t->scanner_pk);
    at += sizeof t->scanner_pk;
    return at;
}

int vault_devicelink__envelope_seal_with_nonce(uint8_t **out, size_t *out_len,
                                               const vault_devicelink_keys *k,
                                               const vault_devicelink_transcript *t,
                                               const uint8_t *plaintext,
                                               size_t plaintext_len, const uint8_t *nonce)
{
    uint8_t ad[TRANSCRIPT_MAX + 2];
    unsigned long long ct_len = 0;
    if (out == NULL || out_len == NULL)
        return vault__fail(VAULT_E_INVALID, "device link envelope: NULL output");
    *out = NULL;
    if (k == NULL || t == NULL || nonce == NULL || (plaintext == NULL && plaintext_len > 0))
        return vault__fail(VAULT_E_INVALID, "device link envelope: NULL argument");
    if (plaintext_len > VAULT_DEVICELINK_PLAINTEXT_MAX)
        return vault__fail(VAULT_E_LIMIT, "device link envelope: content over %u bytes",
                           VAULT_DEVICELINK_PLAINTEXT_MAX);
    size_t total = VAULT_DEVICELINK_ENVELOPE_OVERHEAD + plaintext_len;
    uint8_t *env = vault__out_alloc(total);
    if (env == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory sealing the link envelope");
    env[0] = (uint8_t)VAULT_DEVICELINK_VERSION;
    memcpy(env + 1, nonce, VAULT_DEVICELINK_NONCE_BYTES);
    size_t ad_len = envelope_ad(ad, t);
    crypto_aead_xchacha20poly1305_ietf_encrypt(env + 1 + VAULT_DEVICELINK_NONCE_BYTES, &ct_len,
                                               plaintext, plaintext_len, ad, ad_len, NULL,
                                               env + 1, k->session);
    *out = env;
    *out_len = total;
    return VAULT_OK;
}

int vault_devicelink__envelope_seal(uint8_t **out, size_t *out_len,
                                    const vault_devicelink_keys *k,
                                    const vault_devicelink_transcript *t,
                                    const uint8_t *plaintext, size_t plaintext_len)
{
    uint8_t nonce[VAULT_DEVICELINK_NONCE_BYTES];
    randombytes_buf(nonce, sizeof nonce);
    return vault_devicelink__envelope_seal_with_nonce(out, out_len, k, t, plaintext,
                                                      plaintext_len, nonce);
}

int vault_devicelink__envelope_open(uint8_t **plaintext, size_t *plaintext_len,
                                    const vault_devicelink_keys *k,
                                    const vault_devicelink_transcript *t,
                                    const uint8_t *env, size_t env_len)
{
    uint8_t ad[TRANSCRIPT_MAX + 2];
    unsigned long long pt_len = 0;
    if (plaintext == NULL || plaintext_len == NULL)
        return vault__fail(VAULT_E_INVALID, "device link envelope: NULL output");
    *plaintext = NULL;
    if (k == NULL || t == NULL || env == NULL)
        return vault__fail(VAULT_E_INVALID, "device link envelope: NULL argument");
    if (env_len < VAULT_DEVICELINK_ENVELOPE_OVERHEAD)
        return vault__fail(VAULT_E_CORRUPT, "device link envelope: truncated");
    if (env_len > VAULT_DEVICELINK_ENVELOPE_MAX)
        return vault__fail(VAULT_E_LIMIT, "device link envelope: over %u bytes",
                           VAULT_DEVICELINK_ENVELOPE_MAX);
    if (env[0] != VAULT_DEVICELINK_VERSION)
        return vault__fail(VAULT_E_VERSION, "device link envelope: version %u not supported",
                           (unsigned)env[0]);
    size_t len = env_len - VAULT_DEVICELINK_ENVELOPE_OVERHEAD;
    uint8_t *pt = vault__out_alloc(len);
    if (pt == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory opening the link envelope");
    size_t ad_len = envelope_ad(ad, t);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &pt_len, NULL, env + 1 + VAULT_DEVICELINK_NONCE_BYTES,
            env_len - 1 - VAULT_DEVICELINK_NONCE_BYTES, ad, ad_len, env + 1, k->session) != 0) {
        vault_free(pt);
        return vault__fail(VAULT_E_AUTH, "device link envelope failed authentication "
                                         "(tampered, or another link's keys)");
    }
    *plaintext = pt;
    *plaintext_len = (size_t)pt_len;
    return VAULT_OK;
}

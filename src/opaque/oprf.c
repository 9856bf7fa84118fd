/*
 * The primitives under OPAQUE: HKDF-SHA512 (RFC 5869) on libsodium's
 * HMAC-SHA512, expand_message_xmd with SHA-512 (RFC 9380 §5.3.1), and the
 * OPRF ristretto255-SHA512 in modeOPRF (RFC 9497): HashToGroup,
 * HashToScalar, DeriveKeyPair, Blind, BlindEvaluate, Finalize.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "opaque/opaque.h"
#include "opaque/opaque_int.h"

/* contextString = "OPRFV1-" || I2OSP(mode = 0, 1) || "-" || "ristretto255-SHA512" */
static const uint8_t OPRF_CONTEXT[] = "OPRFV1-\x00-ristretto255-SHA512";
#define OPRF_CONTEXT_LEN (sizeof OPRF_CONTEXT - 1u)

void vault__hkdf_extract(uint8_t prk[VAULT_OPAQUE_NX], const uint8_t *salt, size_t salt_len,
                         const uint8_t *ikm, size_t ikm_len)
{
    static const uint8_t none[1] = {0};
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, salt_len ? salt : none, salt_len);
    crypto_auth_hmacsha512_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha512_final(&st, prk);
    sodium_memzero(&st, sizeof st);
}

/* T(i) = HMAC(prk, T(i-1) || info || i), out = T(1) || T(2) || ... */
int vault__hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[VAULT_OPAQUE_NX],
                       const uint8_t *info, size_t info_len)
{
    uint8_t t[VAULT_OPAQUE_NX];
    crypto_auth_hmacsha512_state st;
    size_t done = 0;
    if (out_len > 255u * VAULT_OPAQUE_NX)
        return vault__fail(VAULT_E_INVALID, "HKDF-Expand length %zu too large", out_len);
    for (uint8_t i = 1; done < out_len; i++) {
        size_t n = out_len - done < sizeof t ? out_len - done : sizeof t;
        crypto_auth_hmacsha512_init(&st, prk, VAULT_OPAQUE_NX);
        if (i > 1)
            crypto_auth_hmacsha512_update(&st, t, sizeof t);
        crypto_auth_hmacsha512_update(&st, info, info_len);
        crypto_auth_hmacsha512_update(&st, &i, 1);
        crypto_auth_hmacsha512_final(&st, t);
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(t, sizeof t);
    sodium_memzero(&st, sizeof st);
    return VAULT_OK;
}

/* expand_message_xmd(msg, DST, 64) with SHA-512: one output block (ell = 1)
 * is all that ristretto255 hashing needs. DST = prefix || OPRF context. */
static void xmd_sha512_64(uint8_t out[64], const uint8_t *msg, size_t msg_len,
                          const char *dst_prefix)
{
    static const uint8_t z_pad[128];
    const uint8_t len_and_zero[3] = {0, 64, 0}; /* I2OSP(64, 2) || I2OSP(0, 1) */
    const uint8_t one = 1;
    size_t prefix_len = strlen(dst_prefix);
    uint8_t dst_len = (uint8_t)(prefix_len + OPRF_CONTEXT_LEN);
    uint8_t b0[64];
    crypto_hash_sha512_state st;

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, z_pad, sizeof z_pad);
    crypto_hash_sha512_update(&st, msg, msg_len);
    crypto_hash_sha512_update(&st, len_and_zero, sizeof len_and_zero);
    crypto_hash_sha512_update(&st, (const uint8_t *)dst_prefix, prefix_len);
    crypto_hash_sha512_update(&st, OPRF_CONTEXT, OPRF_CONTEXT_LEN);
    crypto_hash_sha512_update(&st, &dst_len, 1);
    crypto_hash_sha512_final(&st, b0);

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, b0, sizeof b0);
    crypto_hash_sha512_update(&st, &one, 1);
    crypto_hash_sha512_update(&st, (const uint8_t *)dst_prefix, prefix_len);
    crypto_hash_sha512_update(&st, OPRF_CONTEXT, OPRF_CONTEXT_LEN);
    crypto_hash_sha512_update(&st, &dst_len, 1);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(b0, sizeof b0);
    sodium_memzero(&st, sizeof st);
}

/* DeserializeElement: a canonical ristretto255 encoding, not the identity. */
int vault__opaque_element_check(const uint8_t e[VAULT_OPAQUE_NOE])
{
    if (sodium_is_zero(e, VAULT_OPAQUE_NOE) || !crypto_core_ristretto255_is_valid_point(e))
        return VAULT_E_INVALID;
    return VAULT_OK;
}

/* DeriveKeyPair (RFC 9497 §3.2.1): skS = HashToScalar(seed || I2OSP(len(info), 2)
 * || info || I2OSP(counter, 1)) for the first counter giving a non-zero scalar. */
int vault__oprf_derive_keypair(uint8_t sk[VAULT_OPAQUE_NSK], uint8_t pk[VAULT_OPAQUE_NPK],
                               const uint8_t seed[32], const uint8_t *info, size_t info_len)
{
    uint8_t input[32 + 2 + 255 + 1], wide[64];
    size_t n = 0;
    int rc = VAULT_E_INTERNAL;
    if (info_len > 255)
        return vault__fail(VAULT_E_INVALID, "DeriveKeyPair info too long");
    memcpy(input, seed, 32);
    n = 32;
    input[n++] = (uint8_t)(info_len >> 8);
    input[n++] = (uint8_t)info_len;
    memcpy(input + n, info, info_len);
    n += info_len;
    for (unsigned counter = 0; counter < 256; counter++) {
        input[n] = (uint8_t)counter;
        xmd_sha512_64(wide, input, n + 1, "DeriveKeyPair");
        crypto_core_ristretto255_scalar_reduce(sk, wide);
        if (!sodium_is_zero(sk, VAULT_OPAQUE_NSK)) {
            rc = pk == NULL || crypto_scalarmult_ristretto255_base(pk, sk) == 0 ? VAULT_OK
                                                                                : VAULT_E_INTERNAL;
            break;
        }
    }
    sodium_memzero(input, sizeof input);
    sodium_memzero(wide, sizeof wide);
    if (rc != VAULT_OK)
        return vault__fail(rc, "DeriveKeyPair found no valid scalar");
    return VAULT_OK;
}

/* Blind: blinded = blind * HashToGroup(input). */
int vault__oprf_blind(uint8_t blinded[VAULT_OPAQUE_NOE], uint8_t blind[VAULT_OPAQUE_NSK],
                      const uint8_t *input, size_t input_len, const uint8_t *fixed_blind)
{
    uint8_t wide[64], element[VAULT_OPAQUE_NOE];
    int rc = VAULT_OK;
    if (fixed_blind)
        memcpy(blind, fixed_blind, VAULT_OPAQUE_NSK);
    else
        crypto_core_ristretto255_scalar_random(blind);
    xmd_sha512_64(wide, input, input_len, "HashToGroup-");
    crypto_core_ristretto255_from_hash(element, wide);
    if (sodium_is_zero(blind, VAULT_OPAQUE_NSK) ||
        crypto_scalarmult_ristretto255(blinded, blind, element) != 0)
        rc = vault__fail(VAULT_E_INVALID, "OPRF input maps to the identity element");
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(element, sizeof element);
    return rc;
}

int vault__oprf_blind_evaluate(uint8_t evaluated[VAULT_OPAQUE_NOE],
                               const uint8_t sk[VAULT_OPAQUE_NSK],
                               const uint8_t blinded[VAULT_OPAQUE_NOE])
{
    if (vault__opaque_element_check(blinded) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "blinded element is not a valid group element");
    if (crypto_scalarmult_ristretto255(evaluated, sk, blinded) != 0)
        return vault__fail(VAULT_E_INVALID, "OPRF evaluation gave the identity element");
    return VAULT_OK;
}

/* Finalize: Hash(I2OSP(len(input), 2) || input || I2OSP(32, 2) ||
 * (blind^-1 * evaluated) || "Finalize"). */
int vault__oprf_finalize(uint8_t out[VAULT_OPAQUE_NH], const uint8_t *input, size_t input_len,
                         const uint8_t blind[VAULT_OPAQUE_NSK],
                         const uint8_t evaluated[VAULT_OPAQUE_NOE])
{
    uint8_t inv[VAULT_OPAQUE_NSK], unblinded[VAULT_OPAQUE_NOE], len2[2];
    crypto_hash_sha512_state st;
    int rc = VAULT_OK;
    if (input_len > 0xffffu)
        return vault__fail(VAULT_E_INVALID, "OPRF input too long");
    if (vault__opaque_element_check(evaluated) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "evaluated element is not a valid group element");
    if (crypto_core_ristretto255_scalar_invert(inv, blind) != 0 ||
        crypto_scalarmult_ristretto255(unblinded, inv, evaluated) != 0) {
        rc = vault__fail(VAULT_E_INVALID, "OPRF unblinding failed");
        goto done;
    }
    crypto_hash_sha512_init(&st);
    len2[0] = (uint8_t)(input_len >> 8);
    len2[1] = (uint8_t)input_len;
    crypto_hash_sha512_update(&st, len2, 2);
    crypto_hash_sha512_update(&st, input, input_len);
    len2[0] = 0;
    len2[1] = VAULT_OPAQUE_NOE;
    crypto_hash_sha512_update(&st, len2, 2);
    crypto_hash_sha512_update(&st, unblinded, sizeof unblinded);
    crypto_hash_sha512_update(&st, (const uint8_t *)"Finalize", 8);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
done:
    sodium_memzero(inv, sizeof inv);
    sodium_memzero(unblinded, sizeof unblinded);
    return rc;
}

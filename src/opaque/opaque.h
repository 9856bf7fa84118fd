/*
 * OPAQUE-3DH (RFC 9807) in the ristretto255-SHA512 configuration: OPRF
 * ristretto255-SHA512 (RFC 9497, modeOPRF), HKDF-SHA512, HMAC-SHA512,
 * SHA-512, group ristretto255. Written on libsodium's primitives only.
 *
 * The key-stretching function (KSF) is a parameter: the RFC's test vectors
 * use the identity; the product uses Argon2id (vault__opaque_ksf_argon2id).
 *
 * Randomness: every function that the RFC defines with a random draw takes
 * that value as an optional input. NULL draws it fresh from the system;
 * the test vectors pass the RFC's fixed values. Internal interface.
 */
#ifndef VAULT_OPAQUE_H
#define VAULT_OPAQUE_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_OPAQUE_NOE 32u  /* serialized group element */
#define VAULT_OPAQUE_NSK 32u  /* scalar / private key */
#define VAULT_OPAQUE_NPK 32u  /* public key */
#define VAULT_OPAQUE_NN 32u   /* nonce */
#define VAULT_OPAQUE_NSEED 32u
#define VAULT_OPAQUE_NH 64u   /* hash, KDF and MAC outputs */
#define VAULT_OPAQUE_NM 64u
#define VAULT_OPAQUE_NX 64u

#define VAULT_OPAQUE_ENVELOPE_BYTES (VAULT_OPAQUE_NN + VAULT_OPAQUE_NM)
#define VAULT_OPAQUE_RECORD_BYTES \
    (VAULT_OPAQUE_NPK + VAULT_OPAQUE_NH + VAULT_OPAQUE_ENVELOPE_BYTES) /* 192 */
#define VAULT_OPAQUE_REG_REQUEST_BYTES VAULT_OPAQUE_NOE                          /* 32 */
#define VAULT_OPAQUE_REG_RESPONSE_BYTES (VAULT_OPAQUE_NOE + VAULT_OPAQUE_NPK)    /* 64 */
#define VAULT_OPAQUE_KE1_BYTES (VAULT_OPAQUE_NOE + VAULT_OPAQUE_NN + VAULT_OPAQUE_NPK) /* 96 */
#define VAULT_OPAQUE_CRED_RESPONSE_BYTES \
    (VAULT_OPAQUE_NOE + VAULT_OPAQUE_NN + VAULT_OPAQUE_NPK + VAULT_OPAQUE_ENVELOPE_BYTES)
#define VAULT_OPAQUE_KE2_BYTES \
    (VAULT_OPAQUE_CRED_RESPONSE_BYTES + VAULT_OPAQUE_NN + VAULT_OPAQUE_NPK + VAULT_OPAQUE_NM)
#define VAULT_OPAQUE_KE3_BYTES VAULT_OPAQUE_NM
#define VAULT_OPAQUE_SEED_BYTES VAULT_OPAQUE_NH /* the server's oprf_seed */

/* zkvault's OPAQUE context (the 3DH preamble's): names the protocol version,
 * so that a login of another version cannot authenticate. */
#define VAULT_OPAQUE_APP_CONTEXT "zkvault protocol 2"

/* Stretch(msg): writes NH bytes to out. Returns VAULT_OK or a VAULT_E_* code. */
typedef int (*vault_opaque_ksf_fn)(uint8_t out[VAULT_OPAQUE_NH],
                                   const uint8_t in[VAULT_OPAQUE_NH], void *ctx);

/* What both sides must agree on. context goes into the 3DH preamble; a NULL
 * identity defaults to the party's public key (RFC 9807 §4). ksf is only
 * used by the client; NULL means the identity function. */
typedef struct vault_opaque_cfg {
    const uint8_t *context;
    size_t context_len;
    const uint8_t *client_id;
    size_t client_id_len;
    const uint8_t *server_id;
    size_t server_id_len;
    vault_opaque_ksf_fn ksf;
    void *ksf_ctx;
} vault_opaque_cfg;

/* The server's long-term material: never stored in the database. */
typedef struct vault_opaque_server_keys {
    uint8_t oprf_seed[VAULT_OPAQUE_SEED_BYTES];
    uint8_t private_key[VAULT_OPAQUE_NSK];
    uint8_t public_key[VAULT_OPAQUE_NPK];
} vault_opaque_server_keys;

/* Client state between the two halves of registration or login. Wipe it
 * (sodium_memzero) when done; the finishing calls wipe it themselves. */
typedef struct vault_opaque_client {
    uint8_t blind[VAULT_OPAQUE_NSK];
    uint8_t secret[VAULT_OPAQUE_NSK]; /* ephemeral 3DH key share */
    uint8_t ke1[VAULT_OPAQUE_KE1_BYTES];
} vault_opaque_client;

/* Server state between KE2 and KE3. */
typedef struct vault_opaque_server {
    uint8_t expected_client_mac[VAULT_OPAQUE_NM];
    uint8_t session_key[VAULT_OPAQUE_NX];
} vault_opaque_server;

/* Argon2id as the KSF: ctx points to these limits (checked against the
 * floor and ceiling of kdf.c); the salt is fixed (zeroes), as in RFC 9807
 * §7, because the OPRF output it stretches is already unique per account. */
typedef struct vault_opaque_argon2 {
    uint64_t opslimit;
    uint64_t memlimit;
} vault_opaque_argon2;
int vault__opaque_ksf_argon2id(uint8_t out[VAULT_OPAQUE_NH], const uint8_t in[VAULT_OPAQUE_NH],
                               void *ctx);

/* DeriveDiffieHellmanKeyPair(seed): the server derives its AKE key pair
 * from a secret seed of its configuration. VAULT_E_INTERNAL if no valid
 * scalar exists for the seed (probability ~2^-252·256). */
int vault__opaque_derive_keypair(uint8_t sk[VAULT_OPAQUE_NSK], uint8_t pk[VAULT_OPAQUE_NPK],
                                 const uint8_t seed[VAULT_OPAQUE_NSEED]);

/* ---- registration (RFC 9807 §5) ---------------------------------------- */

/* CreateRegistrationRequest. blind: NULL = random. */
int vault__opaque_reg_start(vault_opaque_client *st,
                            uint8_t request[VAULT_OPAQUE_REG_REQUEST_BYTES], const uint8_t *pwd,
                            size_t pwd_len, const uint8_t *blind);

/* CreateRegistrationResponse. VAULT_E_INVALID for a request that is not a
 * valid non-identity ristretto255 element. */
int vault__opaque_reg_respond(uint8_t response[VAULT_OPAQUE_REG_RESPONSE_BYTES],
                              const uint8_t request[VAULT_OPAQUE_REG_REQUEST_BYTES],
                              const vault_opaque_server_keys *keys, const uint8_t *cred_id,
                              size_t cred_id_len);

/* FinalizeRegistrationRequest: the record to upload and the export key.
 * envelope_nonce: NULL = random. Wipes st. */
int vault__opaque_reg_finish(uint8_t record[VAULT_OPAQUE_RECORD_BYTES],
                             uint8_t export_key[VAULT_OPAQUE_NH], vault_opaque_client *st,
                             const uint8_t *pwd, size_t pwd_len,
                             const uint8_t response[VAULT_OPAQUE_REG_RESPONSE_BYTES],
                             const vault_opaque_cfg *cfg, const uint8_t *envelope_nonce);

/* Checks that an uploaded record holds a valid client public key
 * (VAULT_E_INVALID otherwise): the server calls it before storing. */
int vault__opaque_record_check(const uint8_t record[VAULT_OPAQUE_RECORD_BYTES]);

/* ---- login (RFC 9807 §6, 3DH) ------------------------------------------- */

/* GenerateKE1. blind, nonce, keyshare_seed: NULL = random. */
int vault__opaque_ke1(vault_opaque_client *st, uint8_t ke1[VAULT_OPAQUE_KE1_BYTES],
                      const uint8_t *pwd, size_t pwd_len, const uint8_t *blind,
                      const uint8_t *nonce, const uint8_t *keyshare_seed);

/* GenerateKE2. record NULL = the account does not exist: a fake record
 * derived from the oprf seed and cred_id is used instead, so the answer
 * looks like a real one (RFC 9807 §6.3.2.2). masking_nonce, server_nonce,
 * keyshare_seed: NULL = random. VAULT_E_INVALID for a malformed KE1. */
int vault__opaque_ke2(vault_opaque_server *st, uint8_t ke2[VAULT_OPAQUE_KE2_BYTES],
                      const vault_opaque_server_keys *keys, const uint8_t *record,
                      const uint8_t *cred_id, size_t cred_id_len,
                      const uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], const vault_opaque_cfg *cfg,
                      const uint8_t *masking_nonce, const uint8_t *server_nonce,
                      const uint8_t *keyshare_seed);

/* GenerateKE3: recovers the credentials, authenticates the server and
 * yields KE3, the session key and the export key. VAULT_E_AUTH for a wrong
 * password or a server that does not hold the record (the two cannot be
 * told apart), VAULT_E_INVALID for a malformed KE2, or the KSF's error.
 * Wipes st; on error nothing is written to the outputs. */
int vault__opaque_ke3(uint8_t ke3[VAULT_OPAQUE_KE3_BYTES], uint8_t session_key[VAULT_OPAQUE_NX],
                      uint8_t export_key[VAULT_OPAQUE_NH], vault_opaque_client *st,
                      const uint8_t *pwd, size_t pwd_len,
                      const uint8_t ke2[VAULT_OPAQUE_KE2_BYTES], const vault_opaque_cfg *cfg);

/* ServerFinish: VAULT_OK and the session key iff KE3 is valid, else
 * VAULT_E_AUTH. Wipes st. */
int vault__opaque_server_finish(uint8_t session_key[VAULT_OPAQUE_NX], vault_opaque_server *st,
                                const uint8_t ke3[VAULT_OPAQUE_KE3_BYTES]);

/* The session token both sides derive from the 3DH session key: the server
 * never sends it, so only the party that ran the key exchange holds it. */
void vault__opaque_session_token(uint8_t token[32], const uint8_t session_key[VAULT_OPAQUE_NX]);

/* ---- primitives shared with the tests and the Secret Key code ----------- */

/* HKDF-SHA512 (RFC 5869) on crypto_auth_hmacsha512. */
void vault__hkdf_extract(uint8_t prk[VAULT_OPAQUE_NX], const uint8_t *salt, size_t salt_len,
                         const uint8_t *ikm, size_t ikm_len);
/* out_len <= 255 * 64, else VAULT_E_INVALID. */
int vault__hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[VAULT_OPAQUE_NX],
                       const uint8_t *info, size_t info_len);

/* RFC 9497 OPRF(ristretto255, SHA-512), modeOPRF. derive_keypair's pk may be
 * NULL when only the private key is needed (the server's per-login OPRF key). */
int vault__oprf_derive_keypair(uint8_t sk[VAULT_OPAQUE_NSK], uint8_t pk[VAULT_OPAQUE_NPK],
                               const uint8_t seed[32], const uint8_t *info, size_t info_len);
int vault__oprf_blind(uint8_t blinded[VAULT_OPAQUE_NOE], uint8_t blind[VAULT_OPAQUE_NSK],
                      const uint8_t *input, size_t input_len, const uint8_t *fixed_blind);
int vault__oprf_blind_evaluate(uint8_t evaluated[VAULT_OPAQUE_NOE],
                               const uint8_t sk[VAULT_OPAQUE_NSK],
                               const uint8_t blinded[VAULT_OPAQUE_NOE]);
int vault__oprf_finalize(uint8_t out[VAULT_OPAQUE_NH], const uint8_t *input, size_t input_len,
                         const uint8_t blind[VAULT_OPAQUE_NSK],
                         const uint8_t evaluated[VAULT_OPAQUE_NOE]);

#endif

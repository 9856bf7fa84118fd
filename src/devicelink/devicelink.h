/*
 * Device linking: the protocol core (docs/devicelink.md). Pure functions, no
 * client or server: the QR payload URI, the key schedule (X25519 + link secret
 * + both public keys), the scanner's MAC and key-confirmation tag, the short
 * authentication code (SAS), and the envelope that carries the vault key.
 *
 * Roles are named after the QR code, so that both directions share one schedule:
 *   - the SHOWER displays the QR code (its ephemeral public key, the link id and
 *     the link secret travel through the camera, never through the relay);
 *   - the SCANNER reads it and posts its own ephemeral public key to the relay
 *     with a MAC under a key derived from the link secret.
 * Direction 'o' (VAULT_DEVICELINK_OFFER): the logged-in device shows, the new
 * device scans. Direction 'n' (VAULT_DEVICELINK_REVERSE): the new device shows,
 * the logged-in device scans (Signal-style, for a device without a camera).
 * In both, the envelope travels from the logged-in device to the new one.
 */
#ifndef VAULT_DEVICELINK_H
#define VAULT_DEVICELINK_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

struct cJSON;

#define VAULT_DEVICELINK_VERSION 1u
/* The grant's own "v": 2 added the chain head, 3 the Secret Key and the email
 * (protocol 2); an older grant is refused. */
#define VAULT_DEVICELINK_GRANT_VERSION 3u
#define VAULT_DEVICELINK_OFFER ((uint8_t)'o')   /* logged-in device shows the QR */
#define VAULT_DEVICELINK_REVERSE ((uint8_t)'n') /* new device shows the QR */

#define VAULT_DEVICELINK_ID_BYTES 16u
#define VAULT_DEVICELINK_PK_BYTES 32u     /* X25519 public key */
#define VAULT_DEVICELINK_SK_BYTES 32u     /* X25519 secret key */
#define VAULT_DEVICELINK_SECRET_BYTES 32u /* one-time link secret s */
#define VAULT_DEVICELINK_KEY_BYTES 32u
#define VAULT_DEVICELINK_MAC_BYTES 32u /* HMAC-SHA-512-256 */
#define VAULT_DEVICELINK_SAS_DIGITS 6u
#define VAULT_DEVICELINK_NONCE_BYTES 24u
#define VAULT_DEVICELINK_ENVELOPE_OVERHEAD (1u + 24u + 16u)
#define VAULT_DEVICELINK_ENVELOPE_MAX 4096u /* sealed bytes, relay limit too */
#define VAULT_DEVICELINK_PLAINTEXT_MAX \
    (VAULT_DEVICELINK_ENVELOPE_MAX - VAULT_DEVICELINK_ENVELOPE_OVERHEAD)
#define VAULT_DEVICELINK_CREDENTIAL_BYTES 32u
#define VAULT_DEVICELINK_NAME_MAX 64u /* device names, as the server's limit */

/* "zkvlink:1/o/<32 hex>/<43 base64url>/<43 base64url>" */
#define VAULT_DEVICELINK_URI_LEN 132u

/* What the QR code carries. Holds the link secret: keep it in secure memory. */
typedef struct vault_devicelink_payload {
    uint8_t role; /* VAULT_DEVICELINK_OFFER or VAULT_DEVICELINK_REVERSE */
    uint8_t link_id[VAULT_DEVICELINK_ID_BYTES];
    uint8_t shower_pk[VAULT_DEVICELINK_PK_BYTES];
    uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES];
} vault_devicelink_payload;

/* The public transcript both sides agree on once the scanner's key is known. */
typedef struct vault_devicelink_transcript {
    uint8_t role;
    uint8_t link_id[VAULT_DEVICELINK_ID_BYTES];
    uint8_t shower_pk[VAULT_DEVICELINK_PK_BYTES];
    uint8_t scanner_pk[VAULT_DEVICELINK_PK_BYTES];
} vault_devicelink_transcript;

/* Session keys from the schedule. Secret: secure memory, wiped after use. */
typedef struct vault_devicelink_keys {
    uint8_t session[VAULT_DEVICELINK_KEY_BYTES]; /* seals the envelope */
    uint8_t confirm[VAULT_DEVICELINK_KEY_BYTES]; /* scanner's key-confirmation tag */
    char sas[VAULT_DEVICELINK_SAS_DIGITS + 1];   /* "004217" */
} vault_devicelink_keys;

/* The envelope's content: everything a new device needs to join the account.
 * Secret (vault key, credential): secure memory. */
typedef struct vault_devicelink_grant {
    char account_id[2 * VAULT_ACCOUNT_ID_BYTES + 1];
    uint8_t vault_key[VAULT_KEY_BYTES];
    char device_id[2 * VAULT_ACCOUNT_ID_BYTES + 1];
    uint8_t credential[VAULT_DEVICELINK_CREDENTIAL_BYTES];
    uint8_t secret_key[16]; /* the account's Secret Key: a linked device never asks for it */
    char email[255];        /* the account's email, for later password proofs */
    uint64_t opslimit;
    uint64_t memlimit;
    uint64_t revision; /* the revision the old device last saw: a rollback floor */
    /* the chain name (BLAKE2b-256) of the old device's blob at `revision`;
     * all zero if it holds none. The new device's first pull must show it or
     * descend from it (docs/sync.md). */
    uint8_t head[32];
    char device_name[VAULT_DEVICELINK_NAME_MAX + 1]; /* the name the old device gave it */
} vault_devicelink_grant;

/* ---- QR payload URI ------------------------------------------------------ */

/* Formats the payload as the URI (*uri: output memory, vault_free()). */
int vault_devicelink__payload_format(char **uri, const vault_devicelink_payload *p);

/* Parses a scanned URI strictly: exact length, lowercase hex, canonical
 * unpadded base64url. VAULT_E_VERSION for a well-formed URI of another
 * version; VAULT_E_INVALID with a message naming the problem otherwise. */
int vault_devicelink__payload_parse(vault_devicelink_payload *p, const char *uri);

/* ---- key schedule --------------------------------------------------------- */

/* The scanner's MAC over (role, link id, scanner pk, shower pk) under a key
 * derived from the link secret alone: the relay cannot forge it. */
void vault_devicelink__post_mac(uint8_t mac[VAULT_DEVICELINK_MAC_BYTES],
                                const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                                const vault_devicelink_transcript *t);

/* Constant-time check of a posted MAC: VAULT_OK or VAULT_E_AUTH. */
int vault_devicelink__check_post_mac(const uint8_t mac[VAULT_DEVICELINK_MAC_BYTES],
                                     const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                                     const vault_devicelink_transcript *t);

/* Derives session key, confirmation key and SAS. my_sk is the caller's
 * ephemeral secret key; the peer's public key is taken from the transcript
 * (scanner_pk if i_am_shower, else shower_pk). VAULT_E_AUTH if the peer key
 * is a low-order point (X25519 gives zero). */
int vault_devicelink__derive(vault_devicelink_keys *out,
                             const uint8_t secret[VAULT_DEVICELINK_SECRET_BYTES],
                             const uint8_t my_sk[VAULT_DEVICELINK_SK_BYTES],
                             const vault_devicelink_transcript *t, int i_am_shower);

/* The scanner's key-confirmation tag (proves it derived the same keys). */
void vault_devicelink__confirm_tag(uint8_t tag[VAULT_DEVICELINK_MAC_BYTES],
                                   const vault_devicelink_keys *k,
                                   const vault_devicelink_transcript *t);
int vault_devicelink__check_confirm_tag(const uint8_t tag[VAULT_DEVICELINK_MAC_BYTES],
                                        const vault_devicelink_keys *k,
                                        const vault_devicelink_transcript *t);

/* Compares two SAS strings in constant time: VAULT_OK or VAULT_E_SAS. */
int vault_devicelink__sas_equal(const char *a, const char *b);

/* The hash under which the relay keeps a bearer secret it must recognise
 * (the poster's fetch token, a linked device's credential): BLAKE2b-256 with
 * a label. The secrets are 32 random bytes, so no pepper or slow hash is
 * needed. */
void vault_devicelink__token_hash(uint8_t out[32], const uint8_t token[32]);

/* ---- envelope ------------------------------------------------------------- */

/* Seals plaintext with XChaCha20-Poly1305 under the session key; the
 * associated data binds version, role, link id and both public keys.
 * Layout: version (1) ‖ nonce (24) ‖ ciphertext+tag. *out is output memory.
 * VAULT_E_LIMIT above VAULT_DEVICELINK_PLAINTEXT_MAX. */
int vault_devicelink__envelope_seal(uint8_t **out, size_t *out_len,
                                    const vault_devicelink_keys *k,
                                    const vault_devicelink_transcript *t,
                                    const uint8_t *plaintext, size_t plaintext_len);

/* The same with a caller-chosen nonce: only for known-answer tests. */
int vault_devicelink__envelope_seal_with_nonce(uint8_t **out, size_t *out_len,
                                               const vault_devicelink_keys *k,
                                               const vault_devicelink_transcript *t,
                                               const uint8_t *plaintext,
                                               size_t plaintext_len,
                                               const uint8_t *nonce);

/* Opens an envelope. *plaintext is output memory (wiped by vault_free()),
 * NUL-terminated. VAULT_E_AUTH on any tampered byte or wrong key,
 * VAULT_E_VERSION for another version byte, VAULT_E_CORRUPT if too short,
 * VAULT_E_LIMIT if too long. */
int vault_devicelink__envelope_open(uint8_t **plaintext, size_t *plaintext_len,
                                    const vault_devicelink_keys *k,
                                    const vault_devicelink_transcript *t,
                                    const uint8_t *env, size_t env_len);

/* The grant as JSON ({"v":1,"account_id",...}; *json output memory, wiped
 * by vault_free()) and back (strict: every member required, no unknown ones,
 * exact hex lengths, KDF parameters checked against the floor). */
int vault_devicelink__grant_encode(char **json, const vault_devicelink_grant *g);
int vault_devicelink__grant_decode(vault_devicelink_grant *g, const char *json,
                                   size_t json_len);

/* ---- client side (link.c, device.c) ----------------------------------------- */

/* New device: turns an opened grant into a local account (device id, vault
 * key, credential and a fresh long-term device key pair, all wrapped under
 * local_key), logs in with the credential, pulls the vault, adds itself to
 * the vault's device list and pushes. On failure the store is left empty. */
int vault_devicelink__adopt_grant(vault_client *c, const vault_devicelink_grant *g,
                                  const uint8_t *local_key);

/* Linked device, in a pull whose (vetted) server blob at revision does not
 * open under the session's vault key: fetches the key the last rotation
 * sealed to this device (device_key), adopts it only if it opens exactly that
 * blob and the vault lists this device with its public key, re-seals the
 * local blobs under it and keeps it under the local key (one transaction).
 * *remote is the opened server vault. VAULT_E_AUTH if no key was sealed to
 * this device or the key fails a check (nothing local changes),
 * VAULT_E_REVOKED, VAULT_E_NETWORK, VAULT_E_IO. A vault_client__rotation_fn:
 * unlocking as a linked device installs it in the client's key block, and
 * vault_client_pull calls it through that hook. */
int vault_devicelink__adopt_rotated_key(vault_client *c, uint64_t revision, const uint8_t *blob,
                                        size_t len, vault **remote);

/* Reads the hex member name of a relay answer into exactly len bytes;
 * VAULT_E_SERVER if it is missing or malformed. */
int vault_devicelink__response_hex(const struct cJSON *resp, const char *name, uint8_t *out,
                                   size_t len);

#endif

/*
 * Blob module, private: byte layouts shared by the blob and the protected key,
 * the key-commitment construction and the wiping zlib streams. Not for other
 * modules (they use blob.h). Layouts are documented in docs/format.md.
 */
#ifndef VAULT_BLOB_INT_H
#define VAULT_BLOB_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "blob/blob.h"

/* ---- the vault blob ------------------------------------------------------ */
#define BLOB_MAGIC "ZKVB"
#define BLOB_VERSION 2u
#define BLOB_ALG_ZLIB_PADME_SECRETBOX 1u
#define BLOB_KDF_CONTEXT "zkvblob1"

#define BLOB_HEADER_BYTES 32u  /* magic 4, version 1, alg 1, reserved 2, account 16, rev 8 */
#define BLOB_ACCOUNT_OFF 8u
#define BLOB_REVISION_OFF 24u
#define BLOB_NONCE_OFF 32u
#define BLOB_TAG_OFF 56u
#define BLOB_MAC_OFF 88u
#define BLOB_INNER_OFF 104u    /* the secretbox ciphertext of the padded inner plaintext */

#define INNER_CLEN_OFF 32u     /* after the copy of the clear header */
#define INNER_ILEN_OFF 36u
#define INNER_CHAIN_OFF 40u    /* ancestor count (1 byte), 7 reserved zero bytes */
#define INNER_ANCESTORS_OFF 48u /* count x (revision 8, hash 32), newest first */
#define INNER_ANCESTOR_BYTES (8u + VAULT_CHAIN_HASH_BYTES)
/* The zlib stream follows the ancestors, then zero padding. */
#define INNER_DATA_OFF(count) (INNER_ANCESTORS_OFF + (size_t)(count)*INNER_ANCESTOR_BYTES)
#define INNER_MIN_BYTES 512u   /* padding floor */
#define BLOB_MIN_BYTES (BLOB_INNER_OFF + INNER_MIN_BYTES)

/* zlib level: 1 (fastest). Compression dominates the cost of a save; vault
 * JSON is repetitive enough that level 1 already shrinks it several times. */
#define BLOB_ZLIB_LEVEL 1

/* Writes the chain record (count, reserved, ancestors) at inner + INNER_CHAIN_OFF. */
void vault_blob__write_chain(uint8_t *inner, const vault_chain *chain);
/* Reads and checks the chain record of an authenticated inner plaintext of
 * inner_len bytes for a blob of revision: VAULT_E_CORRUPT unless the count is
 * at most VAULT_CHAIN_MAX, the reserved bytes are zero, the ancestors fit and
 * are revisions revision-1, revision-2, ... in order. chain may be NULL. */
int vault_blob__read_chain(vault_chain *chain, const uint8_t *inner, size_t inner_len,
                           uint64_t revision);

/* Writes the 32-byte clear header. */
void vault_blob__write_header(uint8_t *out, const uint8_t *account, uint64_t revision);
/* An account id (hex) to its bytes; VAULT_E_INVALID naming the expected form. */
int vault_blob__parse_account(uint8_t *account, const char *account_id);

/* ---- the protected (wrapped) key ------------------------------------------ */
#define WRAP_MAGIC "ZKVK"
#define WRAP_VERSION 1u
#define WRAP_KDF_CONTEXT "zkvwrap1"
#define WRAP_HEADER_BYTES 8u   /* magic 4, version 1, reserved 3 */
#define WRAP_NONCE_OFF 8u
#define WRAP_TAG_OFF 32u
#define WRAP_MAC_OFF 64u
#define WRAP_CT_OFF 80u

/* ---- key commitment ------------------------------------------------------- */
#define BLOB_SUBKEY_ENCRYPT 1u
#define BLOB_SUBKEY_COMMIT 2u
#define BLOB_TAG_BYTES 32u

typedef struct vault_blob__keys {
    uint8_t encrypt[32]; /* crypto_secretbox key */
    uint8_t commit[32];  /* BLAKE2b key of the commitment tag */
} vault_blob__keys;

/* Derives both subkeys of key under an 8-byte context into sodium_malloc
 * memory. VAULT_E_NOMEM on failure; free with vault_blob__free_keys. */
int vault_blob__derive_keys(vault_blob__keys **out, const uint8_t *key, const char *context);
void vault_blob__free_keys(vault_blob__keys *keys);

/* tag = BLAKE2b-256(key = commit subkey, message = nonce (24) || header). */
void vault_blob__commit_tag(uint8_t tag[BLOB_TAG_BYTES], const vault_blob__keys *keys,
                            const uint8_t *nonce, const uint8_t *header, size_t header_len);

/* Constant-time check of a stored tag: VAULT_OK or VAULT_E_AUTH. */
int vault_blob__check_tag(const uint8_t *tag, const vault_blob__keys *keys,
                          const uint8_t *nonce, const uint8_t *header, size_t header_len);

/* vault_blob__wrap_key with a caller-chosen nonce: for known-answer tests. */
int vault_blob__wrap_key_with_nonce(uint8_t *out, const uint8_t *kek, const uint8_t *key,
                                    const uint8_t *nonce);

/* ---- zlib with library allocation --------------------------------------- */

/* Set s up for deflate at BLOB_ZLIB_LEVEL, or for inflate, with zlib's memory
 * from vault__malloc, wiped when zlib frees it. End with deflateEnd /
 * inflateEnd as usual. VAULT_E_NOMEM or VAULT_E_INTERNAL. */
int vault_blob__deflate_init(z_stream *s);
int vault_blob__inflate_init(z_stream *s);
/* An upper bound of the stream length for src_len bytes at BLOB_ZLIB_LEVEL. */
size_t vault_blob__deflate_bound(size_t src_len);

#endif

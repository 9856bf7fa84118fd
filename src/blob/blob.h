/*
 * Blob module: the sealed vault blob and the protected (wrapped) vault key.
 * Layouts are in docs/format.md. Internal interface for other modules.
 */
#ifndef VAULT_BLOB_H
#define VAULT_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

/* Wraps a 32-byte key under a 32-byte key-encryption key: secretbox with a
 * random nonce plus a key-commitment tag. out is VAULT_PROTECTED_KEY_BYTES. */
int vault_blob__wrap_key(uint8_t *out, const uint8_t *kek, const uint8_t *key);

/* Unwraps; VAULT_E_AUTH if kek is wrong or any byte was changed,
 * VAULT_E_CORRUPT / VAULT_E_VERSION for a malformed input. */
int vault_blob__unwrap_key(uint8_t *key, const uint8_t *kek, const uint8_t *in,
                           size_t in_len);

/* vault_blob_seal with a caller-chosen nonce: only for known-answer tests. */
int vault_blob__seal_with_nonce(uint8_t **blob, size_t *blob_len, const uint8_t *key,
                                const char *account_id, uint64_t revision,
                                const uint8_t *plaintext, size_t plaintext_len,
                                const uint8_t *nonce);

/* The padded length for an inner payload of len bytes (Padmé with a floor). */
size_t vault_blob__padded_len(size_t len);

#endif

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

/* ---- streaming: the vault never holds its whole JSON text ---------------- */

/* A blob being sealed from a plaintext given in pieces. The result is byte
 * for byte what vault_blob_seal makes of the pieces joined. */
typedef struct vault_blob__sealer vault_blob__sealer;

/* Starts a sealing. size_hint is the expected plaintext length (0 if
 * unknown): the output is reserved once for it, and grows only if the
 * plaintext turns out longer. nonce is NULL for a random one; a fixed one is
 * only for known-answer tests. VAULT_E_INVALID, VAULT_E_NOMEM. */
int vault_blob__seal_begin(vault_blob__sealer **out, const uint8_t *key,
                           const char *account_id, uint64_t revision, size_t size_hint,
                           const uint8_t *nonce);
/* Compresses the next piece. VAULT_E_LIMIT once the plaintext exceeds
 * VAULT_BLOB_MAX_PLAINTEXT, VAULT_E_NOMEM. On error the sealer can only be
 * aborted. */
int vault_blob__seal_write(vault_blob__sealer *s, const void *data, size_t len);
/* Pads, encrypts and returns the blob (vault_free). Frees s in every case. */
int vault_blob__seal_end(vault_blob__sealer *s, uint8_t **blob, size_t *blob_len);
/* Abandons a sealing, wiping what it held. NULL is a no-op. */
void vault_blob__seal_abort(vault_blob__sealer *s);

/* Receives the plaintext of an opened blob in order, in pieces of at most
 * VAULT_BLOB_PIECE bytes that are wiped after the call; total is the whole
 * plaintext's length (the same in every call). A non-VAULT_OK return stops
 * the open and is passed on. */
typedef int (*vault_blob__writer)(void *ctx, const uint8_t *piece, size_t len, size_t total);
#define VAULT_BLOB_PIECE (64u * 1024u)

/* vault_blob_open handing the plaintext to write instead of returning it:
 * the same checks in the same order, all done before the first piece, except
 * the zlib stream's own integrity, which is only known at its end: the writer
 * may have seen pieces of a stream that then fails with VAULT_E_CORRUPT
 * (only possible for a blob made with the right key). */
int vault_blob__open_stream(const uint8_t *key, const char *account_id, uint64_t revision,
                            const uint8_t *blob, size_t blob_len, vault_blob__writer write,
                            void *ctx);

/* The padded length for an inner payload of len bytes (Padmé with a floor). */
size_t vault_blob__padded_len(size_t len);

#endif

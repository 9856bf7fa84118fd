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

/* ---- the chain: what a sealed revision says about its history ------------- */

/* Every blob names, inside what is authenticated, the blobs it descends from:
 * its parent (the blob it was built on, revision - 1) and the ones before
 * it, newest first, at most VAULT_CHAIN_MAX of them. A blob is named by the
 * BLAKE2b-256 hash of all its bytes. A device compares the chain of what the
 * server shows with the blob it last confirmed (docs/sync.md). */
#define VAULT_CHAIN_MAX 32u
#define VAULT_CHAIN_HASH_BYTES 32u

typedef struct vault_chain {
    uint32_t count; /* ancestors listed: 0..VAULT_CHAIN_MAX */
    uint64_t revision[VAULT_CHAIN_MAX]; /* revision[i] = the blob's revision - 1 - i */
    uint8_t hash[VAULT_CHAIN_MAX][VAULT_CHAIN_HASH_BYTES];
} vault_chain;

/* The name of a blob: BLAKE2b-256 of its bytes. */
void vault_chain__hash(uint8_t hash[VAULT_CHAIN_HASH_BYTES], const uint8_t *blob, size_t len);

/* The chain of a blob built on parent (revision parent_revision, chain
 * parent_chain, bytes hashed to parent_hash): the parent, then its own
 * ancestors, cut to VAULT_CHAIN_MAX. parent_chain NULL = it listed none. */
void vault_chain__extend(vault_chain *child, const vault_chain *parent_chain,
                         uint64_t parent_revision,
                         const uint8_t parent_hash[VAULT_CHAIN_HASH_BYTES]);

/* What chain says about revision: VAULT_CHAIN_SAME (it lists it with this
 * hash), VAULT_CHAIN_OTHER (it lists another blob for that revision) or
 * VAULT_CHAIN_UNKNOWN (the revision is outside the list). */
#define VAULT_CHAIN_SAME 1
#define VAULT_CHAIN_OTHER 0
#define VAULT_CHAIN_UNKNOWN (-1)
int vault_chain__says(const vault_chain *chain, uint64_t revision,
                      const uint8_t hash[VAULT_CHAIN_HASH_BYTES]);

/* vault_blob__seal_begin for a blob that states chain (NULL: no ancestors). */
int vault_blob__seal_begin_chain(vault_blob__sealer **out, const uint8_t *key,
                                 const char *account_id, uint64_t revision,
                                 const vault_chain *chain, size_t size_hint,
                                 const uint8_t *nonce);

/* vault_blob__open_stream that also returns the blob's chain (chain may be
 * NULL); the chain is checked before the first piece is written. With write
 * NULL the blob is authenticated and its chain read, but nothing inflated. */
int vault_blob__open_chain(const uint8_t *key, const char *account_id, uint64_t revision,
                           const uint8_t *blob, size_t blob_len, vault_chain *chain,
                           vault_blob__writer write, void *ctx);

#endif

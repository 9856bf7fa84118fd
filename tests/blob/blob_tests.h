/* Blob test suite: one executable, one group per file, helpers in handmade.c. */
#ifndef BLOB_TESTS_H
#define BLOB_TESTS_H

#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

#define TEST_ACCOUNT "00112233445566778899aabbccddeeff"
#define OTHER_ACCOUNT "ffeeddccbbaa99887766554433221100"

int blob_seal_tests(void);
int blob_vector_tests(void);
int blob_malformed_tests(void);
int blob_pad_tests(void);
int blob_keywrap_tests(void);
int blob_stream_tests(void);

/* An independent sealer written from docs/format.md with libsodium and zlib
 * directly (not the library's code): seals an arbitrary inner plaintext.
 * Returns a malloc'ed blob. */
uint8_t *blobtest_hand_seal(size_t *blob_len, const uint8_t key[32], const uint8_t nonce[24],
                            const uint8_t header[32], const uint8_t *inner, size_t inner_len);

/* The 32-byte clear header for (version 2, algorithm 1, account hex, revision). */
void blobtest_header(uint8_t header[32], const char *account_hex, uint64_t revision);

/* Where the zlib stream starts in an inner plaintext that lists no ancestors:
 * header copy 32, lengths 8, chain record 8 (count 0, reserved). */
#define BLOBTEST_DATA_OFF 48u

/* An inner plaintext: header copy, the two length fields as given, an empty
 * chain record, z (zlen bytes), then zero padding up to padded_len. Returns
 * malloc'ed memory. */
uint8_t *blobtest_inner(const uint8_t header[32], uint32_t clen_field, uint32_t ilen_field,
                        const uint8_t *z, size_t zlen, size_t padded_len);

/* Reads "name = value" from a vector file's text; value copied into a static
 * rotation buffer. NULL if absent. */
const char *blobtest_vector_field(const char *text, const char *name);

#endif

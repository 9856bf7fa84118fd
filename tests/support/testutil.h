/* Shared test fixtures. Tests link the static library and may use internal
 * headers, but prefer the public API. */
#ifndef VAULT_TESTUTIL_H
#define VAULT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the three above first. */
#include <cmocka.h>

#include "vault.h"

/* Argon2id at the floor: tests never go below it, and never need more. */
#define TEST_OPS VAULT_KDF_OPSLIMIT_MIN
#define TEST_MEM VAULT_KDF_MEMLIMIT_MIN

/* A fresh, empty directory for this test process (under $VAULT_TEST_TMP or
 * /tmp); returns a path "<dir>/<name>" in a static buffer rotation of 8. */
const char *test_path(const char *name);

/* Reads a whole file (NULL on error); *len receives its size. free() it. */
uint8_t *test_read_file(const char *path, size_t *len);

/* Whether needle occurs anywhere in the haystack bytes. */
int test_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t needle_len);

/* A well-formed OPAQUE record (a valid public key, random rest) as hex, for
 * tests that register through raw requests and never log in. */
void test_opaque_record_hex(char out[2 * 192 + 1]);
/* A module's test executable: vault_init(), then each group in order (a
 * group function runs its CMocka group and returns how many tests failed).
 * 0 when every group passed, else 1. */
typedef int (*test_group_fn)(void);
int test_run_groups(const test_group_fn *groups, size_t n);

/* A growing, NUL-terminated byte buffer (malloc'ed data: free() it), and
 * a libcurl CURLOPT_WRITEFUNCTION that appends to one (its ctx). */
typedef struct test_buffer {
    char *data;
    size_t len;
} test_buffer;
size_t test_buffer_write(char *data, size_t size, size_t nmemb, void *ctx);

/* Asserts that a and b print the same JSON (vault_to_json). */
void test_assert_same_vault(const vault *a, const vault *b);

/* Fixed 32-byte key with bytes base, base+1, ... */
void test_key(uint8_t key[32], uint8_t base);

/* content sealed (vault_blob_seal) for account_id at revision under key, as
 * standard base64 (malloc'ed: free() it). */
char *test_blob_b64(const uint8_t key[32], const char *account_id, uint64_t revision,
                    const char *content);

#endif

/*
 * Shared helpers for every module: error state, output memory, hex, clock,
 * strict JSON access, secure cJSON allocation. Internal: not installed.
 */
#ifndef VAULT_COMMON_H
#define VAULT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

struct cJSON;

#define VAULT_ERRMSG_MAX 256

#if defined(__GNUC__)
#define VAULT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VAULT_PRINTF(a, b)
#endif

/* Records a detail message for the calling thread and returns code, so that a
 * failure reads `return vault__fail(VAULT_E_CORRUPT, "blob truncated");`.
 * The message must never contain a secret. */
int vault__fail(int code, const char *fmt, ...) VAULT_PRINTF(2, 3);

/* Copies the thread's last message into a handle's own buffer (for
 * vault_client_errmsg() and friends) and returns code unchanged. */
int vault__capture(char buf[VAULT_ERRMSG_MAX], int code);

/* Clears this thread's last message. */
void vault__clear_error(void);

/* Output memory: a buffer that vault_free() can release and wipe. It carries
 * its size in a hidden header. */
void *vault__out_alloc(size_t size);
/* Like vault__out_alloc but copies size bytes of src and adds a NUL after. */
char *vault__out_dup(const void *src, size_t size);
/* Shrinks an output buffer to new_size bytes (wiping the tail). */
void *vault__out_shrink(void *ptr, size_t new_size);
/* Shrinks an output buffer whose bytes past new_size were never written:
 * unlike vault__out_shrink it does not wipe (touch) the tail, so a generous
 * reservation costs only the pages actually used. Returns ptr. */
void *vault__out_trim(void *ptr, size_t new_size);
/* Moves an output buffer to a new one of size bytes, copying its first keep
 * bytes and wiping the old one. NULL (old one untouched) if out of memory. */
void *vault__out_grow(void *ptr, size_t keep, size_t size);

/* Plain heap memory for plaintext: free with vault__wipe_free(p, size). */
void vault__wipe_free(void *ptr, size_t size);

/* Lowercase hex. bin2hex writes 2*len+1 bytes; hex2bin demands exactly
 * 2*bin_len hex chars and returns VAULT_E_INVALID otherwise. */
void vault__bin2hex(char *hex, const uint8_t *bin, size_t len);
int vault__hex2bin(uint8_t *bin, size_t bin_len, const char *hex);

/* A fresh random id: VAULT_ACCOUNT_ID_BYTES random bytes as 32 hex chars + NUL. */
void vault__random_id(char out[2 * VAULT_ACCOUNT_ID_BYTES + 1]);

/* Milliseconds since the Unix epoch. Tests may pin the clock. */
int64_t vault__now_ms(void);
void vault__set_clock_for_tests(int64_t fixed_ms); /* 0 = real clock */

/* Big-endian integer encoding for binary formats. */
void vault__store64_be(uint8_t *p, uint64_t v);
uint64_t vault__load64_be(const uint8_t *p);
void vault__store32_be(uint8_t *p, uint32_t v);
uint32_t vault__load32_be(const uint8_t *p);

/* Strict JSON accessors: they return VAULT_E_INVALID with a message naming
 * `what` when the member is missing or has the wrong type. */
int vault__json_string(const struct cJSON *obj, const char *key, const char *what,
                       const char **out);
int vault__json_u64(const struct cJSON *obj, const char *key, const char *what,
                    uint64_t *out);
int vault__json_bool(const struct cJSON *obj, const char *key, const char *what,
                     int *out);

/* cJSON_PrintUnformatted into output memory (vault_free-able), wiping the
 * intermediate buffer. */
int vault__json_print(const struct cJSON *json, char **out);

/* Parses at most len bytes as JSON; VAULT_E_INVALID with a message if broken. */
int vault__json_parse(const char *text, size_t len, struct cJSON **out);

#endif

/* Every heap allocation of the library goes through these, so that tests can
 * make the Nth allocation fail (vault__alloc_fail_after) and check that each
 * error path returns VAULT_E_NOMEM without leaking. */
void *vault__malloc(size_t size);
void *vault__calloc(size_t n, size_t size);
void *vault__realloc(void *ptr, size_t size);
void vault__free(void *ptr);
char *vault__strdup(const char *s);
/* Keys: sodium_malloc'ed (guard pages, mlock), wiped by sodium_free. */
void *vault__secure_alloc(size_t size);
void vault__secure_free(void *ptr);
/* Test hook: the nth allocation from now fails (n >= 1), and every later one
 * succeeds; 0 disarms. Returns how many allocations happened since arming. */
void vault__alloc_fail_after(uint64_t n);
uint64_t vault__alloc_count(void);
/* How many allocations have failed on this thread so far (injected or real):
 * lets a caller of a library that only returns NULL (cJSON's parser) tell an
 * allocation failure from bad input. */
uint64_t vault__alloc_failures(void);

/* Standard base64 with padding (sodium_base64_VARIANT_ORIGINAL), as the wire
 * protocol uses for blobs. encode returns a vault_free-able string; decode
 * returns a vault_free-able buffer of at most max_len bytes (VAULT_E_LIMIT
 * beyond, VAULT_E_INVALID for bad characters or padding). */
int vault__base64_encode(const uint8_t *bin, size_t len, char **out);
int vault__base64_decode(const char *b64, size_t max_len, uint8_t **out, size_t *out_len);

/*
 * Memory. Output buffers carry a 16-byte hidden header holding their size so
 * that the single public vault_free() can wipe them without the caller
 * passing a length. Plaintext lives on the normal heap (sodium_malloc costs
 * pages per call) and is wiped before it is freed; keys live in
 * sodium_malloc memory.
 */
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define OUT_HEADER 16u
#define OUT_MAGIC 0x7a6b764f75744d31ull /* "zkvOutM1" */

static atomic_uint_fast64_t fail_at;   /* 0 = disarmed */
static atomic_uint_fast64_t alloc_seen;
/* Per thread, so that a parser can tell "out of memory" from "bad input". */
static _Thread_local uint64_t failed_allocs;

uint64_t vault__alloc_failures(void)
{
    return failed_allocs;
}

void vault__alloc_fail_after(uint64_t n)
{
    atomic_store(&alloc_seen, 0);
    atomic_store(&fail_at, n);
}

uint64_t vault__alloc_count(void)
{
    return atomic_load(&alloc_seen);
}

static int injected_failure(void)
{
    uint64_t target = atomic_load(&fail_at);
    uint64_t seen = atomic_fetch_add(&alloc_seen, 1) + 1;
    if (target != 0 && seen == target) {
        failed_allocs++;
        return 1;
    }
    return 0;
}

static void *counted(void *p)
{
    if (p == NULL)
        failed_allocs++;
    return p;
}

void *vault__malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return counted(malloc(size == 0 ? 1 : size));
}

void *vault__calloc(size_t n, size_t size)
{
    if (injected_failure())
        return NULL;
    return counted(calloc(n == 0 ? 1 : n, size == 0 ? 1 : size));
}

void *vault__realloc(void *ptr, size_t size)
{
    if (injected_failure())
        return NULL;
    return counted(realloc(ptr, size == 0 ? 1 : size));
}

void vault__free(void *ptr)
{
    free(ptr);
}

char *vault__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = vault__malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void *vault__secure_alloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return counted(sodium_malloc(size));
}

void vault__secure_free(void *ptr)
{
    sodium_free(ptr); /* wipes; NULL is a no-op */
}

void vault__wipe_free(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    sodium_memzero(ptr, size);
    free(ptr);
}

void *vault__out_alloc(size_t size)
{
    if (size > SIZE_MAX - OUT_HEADER - 1)
        return NULL;
    uint8_t *base = vault__malloc(OUT_HEADER + size + 1);
    if (base == NULL)
        return NULL;
    uint64_t magic = OUT_MAGIC, len = size;
    memcpy(base, &len, 8);
    memcpy(base + 8, &magic, 8);
    base[OUT_HEADER + size] = 0;
    return base + OUT_HEADER;
}

char *vault__out_dup(const void *src, size_t size)
{
    char *p = vault__out_alloc(size);
    if (p != NULL && size > 0)
        memcpy(p, src, size);
    return p;
}

void *vault__out_shrink(void *ptr, size_t new_size)
{
    uint8_t *base = (uint8_t *)ptr - OUT_HEADER;
    uint64_t len;
    memcpy(&len, base, 8);
    if (new_size < len) {
        sodium_memzero((uint8_t *)ptr + new_size, (size_t)len - new_size);
        len = new_size;
        memcpy(base, &len, 8);
    }
    return ptr;
}

void *vault__out_trim(void *ptr, size_t new_size)
{
    uint8_t *base = (uint8_t *)ptr - OUT_HEADER;
    uint64_t len;
    memcpy(&len, base, 8);
    if (new_size < len) {
        /* No realloc: giving the tail back would make malloc return the
         * reservation to the system, and the next one would fault in fresh
         * pages again. vault_free frees the whole block. */
        len = new_size;
        memcpy(base, &len, 8);
        base[OUT_HEADER + new_size] = 0;
    }
    return ptr;
}

void *vault__out_grow(void *ptr, size_t keep, size_t size)
{
    uint8_t *grown = vault__out_alloc(size);
    if (grown == NULL)
        return NULL;
    memcpy(grown, ptr, keep);
    vault_free(ptr); /* wipes */
    return grown;
}

void *vault_malloc(size_t size)
{
    return vault__out_alloc(size);
}

void vault_free(void *ptr)
{
    if (ptr == NULL)
        return;
    uint8_t *base = (uint8_t *)ptr - OUT_HEADER;
    uint64_t len, magic;
    memcpy(&len, base, 8);
    memcpy(&magic, base + 8, 8);
    if (magic != OUT_MAGIC)
        abort(); /* not ours: freeing it would corrupt the heap */
    sodium_memzero(base, OUT_HEADER + (size_t)len + 1);
    free(base);
}

#include "testutil.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/common.h"
#include "opaque/opaque.h"

static char test_dir[512];

static const char *ensure_dir(void)
{
    if (test_dir[0] != '\0')
        return test_dir;
    const char *base = getenv("VAULT_TEST_TMP");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(test_dir, sizeof test_dir, "%s/run-%ld", base, (long)getpid());
    mkdir(test_dir, 0700);
    return test_dir;
}

const char *test_path(const char *name)
{
    static char paths[8][768];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", ensure_dir(), name);
    return p;
}

uint8_t *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[size] = 0;
        *len = (size_t)size;
    }
    return buf;
}

int test_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t needle_len)
{
    if (needle_len == 0 || needle_len > hay_len)
        return 0;
    for (size_t i = 0; i + needle_len <= hay_len; i++)
        if (memcmp(hay + i, needle, needle_len) == 0)
            return 1;
    return 0;
}

void test_key(uint8_t key[32], uint8_t base)
{
    for (unsigned i = 0; i < 32; i++)
        key[i] = (uint8_t)(base + i);
}

void test_opaque_record_hex(char out[2 * 192 + 1])
{
    uint8_t record[192], seed[32], sk[32];
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(record, sizeof record);
    assert_int_equal(vault__opaque_derive_keypair(sk, record, seed), VAULT_OK);
    vault__bin2hex(out, record, sizeof record);
}

int test_run_groups(const test_group_fn *groups, size_t n)
{
    int failed = 0;
    if (vault_init() != VAULT_OK)
        return 1;
    for (size_t i = 0; i < n; i++)
        failed += groups[i]();
    return failed == 0 ? 0 : 1;
}

char *test_blob_b64(const uint8_t key[32], const char *account_id, uint64_t revision,
                    const char *content)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(vault_blob_seal(&blob, &len, key, account_id, revision,
                                     (const uint8_t *)content, strlen(content)),
                     VAULT_OK);
    size_t b64_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_len);
    assert_non_null(b64);
    sodium_bin2base64(b64, b64_len, blob, len, sodium_base64_VARIANT_ORIGINAL);
    vault_free(blob);
    return b64;
}

size_t test_buffer_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    test_buffer *b = ctx;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, data, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

void test_assert_same_vault(const vault *a, const vault *b)
{
    char *x = NULL, *y = NULL;
    assert_int_equal(vault_to_json(a, &x), VAULT_OK);
    assert_int_equal(vault_to_json(b, &y), VAULT_OK);
    assert_string_equal(x, y);
    vault_free(x);
    vault_free(y);
}

#include "testutil.h"

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

/* The reference sealer the tests use to craft malformed but authentic blobs.
 * Written from docs/format.md: subkeys are BLAKE2b with salt = LE64(id) and
 * personal = context, exactly as crypto_kdf_derive_from_key specifies. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "blob_tests.h"
#include "common/common.h"

static void subkey(uint8_t out[32], const uint8_t key[32], uint64_t id, const char *ctx)
{
    uint8_t salt[16] = {0}, personal[16] = {0};
    for (unsigned i = 0; i < 8; i++)
        salt[i] = (uint8_t)(id >> (8 * i));
    memcpy(personal, ctx, 8);
    crypto_generichash_blake2b_salt_personal(out, 32, NULL, 0, key, 32, salt, personal);
}

uint8_t *blobtest_hand_seal(size_t *blob_len, const uint8_t key[32], const uint8_t nonce[24],
                            const uint8_t header[32], const uint8_t *inner, size_t inner_len)
{
    uint8_t ke[32], kc[32], msg[24 + 32];
    uint8_t *blob = malloc(104 + inner_len);
    assert_non_null(blob);
    subkey(ke, key, 1, "zkvblob1");
    subkey(kc, key, 2, "zkvblob1");
    memcpy(blob, header, 32);
    memcpy(blob + 32, nonce, 24);
    memcpy(msg, nonce, 24);
    memcpy(msg + 24, header, 32);
    crypto_generichash(blob + 56, 32, msg, sizeof msg, kc, sizeof kc);
    crypto_secretbox_easy(blob + 88, inner, inner_len, nonce, ke);
    *blob_len = 104 + inner_len;
    return blob;
}

void blobtest_header(uint8_t header[32], const char *account_hex, uint64_t revision)
{
    memcpy(header, "ZKVB\x02\x01\x00\x00", 8);
    assert_int_equal(vault__hex2bin(header + 8, 16, account_hex), VAULT_OK);
    vault__store64_be(header + 24, revision);
}

uint8_t *blobtest_inner(const uint8_t header[32], uint32_t clen_field, uint32_t ilen_field,
                        const uint8_t *z, size_t zlen, size_t padded_len)
{
    assert_true(padded_len >= BLOBTEST_DATA_OFF + zlen);
    uint8_t *inner = calloc(1, padded_len);
    assert_non_null(inner);
    memcpy(inner, header, 32);
    vault__store32_be(inner + 32, clen_field);
    vault__store32_be(inner + 36, ilen_field);
    if (zlen > 0)
        memcpy(inner + BLOBTEST_DATA_OFF, z, zlen);
    return inner;
}

const char *blobtest_vector_field(const char *text, const char *name)
{
    static char values[4][8192];
    static unsigned next;
    size_t name_len = strlen(name);
    const char *line = text;
    while (line != NULL && *line != '\0') {
        if (strncmp(line, name, name_len) == 0 && strncmp(line + name_len, " =", 2) == 0) {
            const char *v = line + name_len + 2;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r\n");
            char *out = values[next++ % 4];
            assert_true(n < sizeof values[0]);
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return NULL;
}

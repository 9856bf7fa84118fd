/* Fuzzes the blob parser. The first byte picks the mode:
 *   even: the rest is a whole blob → vault_blob_peek and vault_blob_open
 *         under a fixed key (only the clear-header checks are reachable:
 *         the fuzzer cannot forge a MAC);
 *   odd:  the rest is the inner plaintext, which the harness seals
 *         authentically (docs/format.md, as tests/blob/handmade.c does) so
 *         that the parser behind the MAC is reached: lengths, padding,
 *         zlib. */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "fuzz.h"

#define ACCOUNT "00112233445566778899aabbccddeeff"
#define REVISION 7u

static void subkey(uint8_t out[32], const uint8_t key[32], uint64_t id)
{
    uint8_t salt[16] = {0}, personal[16] = {0};
    for (unsigned i = 0; i < 8; i++)
        salt[i] = (uint8_t)(id >> (8 * i));
    memcpy(personal, "zkvblob1", 8);
    crypto_generichash_blake2b_salt_personal(out, 32, NULL, 0, key, 32, salt, personal);
}

/* header ‖ nonce ‖ tag ‖ secretbox(inner); the inner's first 32 bytes are
 * forced to the header copy half of the time so both branches are reached. */
static uint8_t *seal_inner(const uint8_t key[32], const uint8_t *inner, size_t len,
                           size_t *out_len)
{
    uint8_t ke[32], kc[32], msg[56], nonce[24] = {1, 2, 3};
    uint8_t *blob = malloc(104 + len);
    if (blob == NULL)
        return NULL;
    memcpy(blob, "ZKVB\x01\x01\x00\x00", 8);
    vault__hex2bin(blob + 8, 16, ACCOUNT);
    vault__store64_be(blob + 24, REVISION);
    subkey(ke, key, 1);
    subkey(kc, key, 2);
    memcpy(blob + 32, nonce, 24);
    memcpy(msg, nonce, 24);
    memcpy(msg + 24, blob, 32);
    crypto_generichash(blob + 56, 32, msg, sizeof msg, kc, sizeof kc);
    crypto_secretbox_easy(blob + 88, inner, len, nonce, ke);
    *out_len = 104 + len;
    return blob;
}

static void open_and_check(const uint8_t key[32], const uint8_t *blob, size_t len)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    char *account = NULL;
    uint64_t revision = 0;
    int rc = vault_blob_peek(blob, len, &account, &revision);
    FUZZ_CHECK_STATUS(rc);
    FUZZ_CHECK((rc == VAULT_OK) == (account != NULL));
    vault_free(account);
    rc = vault_blob_open(&plain, &plain_len, key, ACCOUNT, REVISION, blob, len);
    FUZZ_CHECK_STATUS(rc);
    FUZZ_CHECK((rc == VAULT_OK) == (plain != NULL));
    if (rc == VAULT_OK) {
        FUZZ_CHECK(plain[plain_len] == '\0');
        /* What opens must seal and open back to the same bytes. */
        uint8_t *again = NULL, *back = NULL;
        size_t again_len = 0, back_len = 0;
        FUZZ_CHECK(vault_blob_seal(&again, &again_len, key, ACCOUNT, REVISION, plain,
                                   plain_len) == VAULT_OK);
        FUZZ_CHECK(vault_blob_open(&back, &back_len, key, ACCOUNT, REVISION, again,
                                   again_len) == VAULT_OK);
        FUZZ_CHECK(back_len == plain_len && memcmp(back, plain, plain_len) == 0);
        vault_free(again);
        vault_free(back);
    }
    vault_free(plain);
}

FUZZ_ENTRY(blob_open)
{
    uint8_t key[32];
    vault_init();
    for (unsigned i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x40 + i);
    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0) {
        open_and_check(key, data + 1, size - 1);
        return 0;
    }
    size_t inner_len = size - 1;
    uint8_t *inner = malloc(inner_len + 32);
    if (inner == NULL)
        return 0;
    memcpy(inner, data + 1, inner_len);
    if ((data[0] & 2) != 0 && inner_len >= 32) {
        memcpy(inner, "ZKVB\x01\x01\x00\x00", 8);
        vault__hex2bin(inner + 8, 16, ACCOUNT);
        vault__store64_be(inner + 24, REVISION);
    }
    size_t blob_len = 0;
    uint8_t *blob = seal_inner(key, inner, inner_len, &blob_len);
    if (blob != NULL)
        open_and_check(key, blob, blob_len);
    free(blob);
    free(inner);
    return 0;
}

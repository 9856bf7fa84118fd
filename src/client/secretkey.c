/*
 * The Secret Key: 128 random bits made with the account on its first device
 * and never sent to the server. It is mixed into the password before OPAQUE
 * and into the key that wraps the vault key (auth.c), so that a thief of the
 * server's database and every server secret still cannot test a password
 * guess offline: each guess would also need these 128 bits.
 *
 * Text form (the Emergency Kit): "ZK1-" then 28 Crockford base32 symbols in
 * groups of 4: 26 for the key (130 bits, the last 2 zero) and 2 for a 10-bit
 * checksum (BLAKE2b of the key), so that most typos are caught before a
 * login is even tried. Parsing ignores case, dashes and spaces, and reads
 * O as 0 and I, L as 1.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"

static const char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define SYMBOLS 28u
#define KEY_SYMBOLS 26u
#define PREFIX "ZK1-"

static unsigned checksum(const uint8_t key[VAULT_SECRET_KEY_BYTES])
{
    static const uint8_t label[] = "zkvault Secret Key checksum v1";
    uint8_t h[16];
    crypto_generichash(h, sizeof h, key, VAULT_SECRET_KEY_BYTES, label, sizeof label - 1);
    return ((unsigned)h[0] << 2) | ((unsigned)h[1] >> 6);
}

/* The 5-bit symbol values of the key and its checksum. */
static void to_symbols(uint8_t sym[SYMBOLS], const uint8_t key[VAULT_SECRET_KEY_BYTES])
{
    unsigned acc = 0, bits = 0, n = 0, sum = checksum(key);
    for (unsigned i = 0; i < VAULT_SECRET_KEY_BYTES; i++) {
        acc = (acc << 8) | key[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            sym[n++] = (uint8_t)((acc >> bits) & 31u);
        }
    }
    sym[n++] = (uint8_t)((acc << (5 - bits)) & 31u); /* 3 bits left, 2 zero bits */
    sym[n++] = (uint8_t)(sum >> 5);
    sym[n] = (uint8_t)(sum & 31u);
    sodium_memzero(&acc, sizeof acc);
}

void vault_client__secret_key_format(char out[VAULT_SECRET_KEY_TEXT_BYTES],
                                     const uint8_t key[VAULT_SECRET_KEY_BYTES])
{
    uint8_t sym[SYMBOLS];
    size_t n = strlen(PREFIX);
    to_symbols(sym, key);
    memcpy(out, PREFIX, n);
    for (unsigned i = 0; i < SYMBOLS; i++) {
        if (i > 0 && i % 4 == 0)
            out[n++] = '-';
        out[n++] = ALPHABET[sym[i]];
    }
    out[n] = '\0';
    sodium_memzero(sym, sizeof sym);
}

static int symbol_value(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    if (ch == 'O')
        ch = '0';
    if (ch == 'I' || ch == 'L')
        ch = '1';
    const char *p = strchr(ALPHABET, ch);
    return (p != NULL && ch != '\0') ? (int)(p - ALPHABET) : -1;
}

int vault_client__secret_key_parse(uint8_t key[VAULT_SECRET_KEY_BYTES], const char *text)
{
    uint8_t sym[SYMBOLS];
    unsigned n = 0, acc = 0, bits = 0, k = 0;
    int rc = VAULT_OK;
    if (text == NULL)
        return vault__fail(VAULT_E_INVALID, "Secret Key is NULL");
    while (*text == ' ')
        text++;
    if ((text[0] | 0x20) != 'z' || (text[1] | 0x20) != 'k' || text[2] != '1')
        return vault__fail(VAULT_E_INVALID, "a Secret Key starts with ZK1-");
    for (const char *p = text + 3; *p != '\0'; p++) {
        if (*p == '-' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            continue;
        int v = symbol_value(*p);
        if (v < 0 || n == SYMBOLS) {
            rc = vault__fail(VAULT_E_INVALID, "a Secret Key has %u letters and digits after ZK1-",
                             SYMBOLS);
            goto done;
        }
        sym[n++] = (uint8_t)v;
    }
    if (n != SYMBOLS) {
        rc = vault__fail(VAULT_E_INVALID, "a Secret Key has %u letters and digits after ZK1-",
                         SYMBOLS);
        goto done;
    }
    for (unsigned i = 0; i < KEY_SYMBOLS; i++) {
        acc = (acc << 5) | sym[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k < VAULT_SECRET_KEY_BYTES)
                key[k++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1u)) != 0 ||
        checksum(key) != ((unsigned)sym[KEY_SYMBOLS] << 5 | sym[KEY_SYMBOLS + 1]))
        rc = vault__fail(VAULT_E_INVALID, "the Secret Key's checksum does not match: a typo?");
done:
    if (rc != VAULT_OK)
        sodium_memzero(key, VAULT_SECRET_KEY_BYTES);
    sodium_memzero(sym, sizeof sym);
    sodium_memzero(&acc, sizeof acc);
    return rc;
}

int vault_client_set_secret_key(vault_client *c, const char *secret_key)
{
    uint8_t key[VAULT_SECRET_KEY_BYTES];
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = vault_client__secret_key_parse(key, secret_key);
    if (rc == VAULT_OK && c->has_secret_key && sodium_memcmp(key, c->secret_key, sizeof key) != 0)
        rc = vault__fail(VAULT_E_MISMATCH, "this store already holds another Secret Key");
    if (rc == VAULT_OK) {
        memcpy(c->secret_key, key, sizeof key);
        c->has_secret_key = 1;
    }
    sodium_memzero(key, sizeof key);
    return vault_client__done(c, rc);
}

/* The QR payload: one line a scanner can hand back to a login prompt. */
static int kit_uri(const vault_client *c, char **out)
{
    char sk[VAULT_SECRET_KEY_TEXT_BYTES];
    char *buf = vault__out_alloc(512);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory");
    vault_client__secret_key_format(sk, c->secret_key);
    snprintf(buf, 512, "zkvault-kit:1:%s:%s:%s", c->account_id, sk, c->email);
    sodium_memzero(sk, sizeof sk);
    *out = buf;
    return VAULT_OK;
}

static int kit_ready(const vault_client *c)
{
    if (!c->has_account || !c->has_secret_key)
        return vault__fail(VAULT_E_NOT_FOUND, "no account with a Secret Key in this store");
    if (c->email[0] == '\0')
        return vault__fail(VAULT_E_STATE, "register or log in first: the kit names the email");
    return VAULT_OK;
}

int vault_client_emergency_kit(vault_client *c, char **text)
{
    char sk[VAULT_SECRET_KEY_TEXT_BYTES];
    if (text != NULL)
        *text = NULL;
    if (c == NULL || text == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_emergency_kit: NULL argument");
    int rc = kit_ready(c);
    if (rc != VAULT_OK)
        return vault_client__done(c, rc);
    char *buf = vault__out_alloc(1024);
    if (buf == NULL)
        return vault_client__done(c, vault__fail(VAULT_E_NOMEM, "out of memory"));
    vault_client__secret_key_format(sk, c->secret_key);
    snprintf(buf, 1024,
             "zkvault Emergency Kit\n"
             "\n"
             "Email:      %s\n"
             "Account:    %s\n"
             "Secret Key: %s\n"
             "\n"
             "A new device asks for the Secret Key once, with your master password.\n"
             "The server never has it: without this kit and your password nobody,\n"
             "not even the server's operator, can open the vault. Print it, keep it\n"
             "offline and away from the password.\n",
             c->email, c->account_id, sk);
    sodium_memzero(sk, sizeof sk);
    *text = vault__out_shrink(buf, strlen(buf) + 1);
    return VAULT_OK;
}

int vault_client_emergency_kit_qr(vault_client *c, uint32_t format, uint8_t **out,
                                  size_t *out_len)
{
    char *uri = NULL;
    if (out != NULL)
        *out = NULL;
    if (c == NULL || out == NULL || out_len == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_emergency_kit_qr: NULL argument");
    int rc = kit_ready(c);
    if (rc == VAULT_OK)
        rc = kit_uri(c, &uri);
    if (rc == VAULT_OK)
        rc = vault_qr_render(uri, format, out, out_len);
    vault_free(uri);
    return vault_client__done(c, rc);
}

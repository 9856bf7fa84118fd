/*
 * TOTP codes (RFC 6238) from an otpauth://totp/ URI or a bare base32 secret.
 *
 * The HMAC and the dynamic truncation are liboath's (oath_totp_generate2);
 * this file only reads the parameters. The base32 text and the decoded
 * secret are wiped before they are freed.
 */
#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "totp/totp.h"

#define TOTP_SECRET_MAX_CHARS 1024u /* base32 characters (640 bytes): far above any real key */
#define TOTP_PERIOD_MAX 86400u

typedef struct totp_params {
    char b32[TOTP_SECRET_MAX_CHARS + 8]; /* upper case, '='-padded to a multiple of 8 */
    size_t b32_len;
    unsigned digits; /* 6..8 */
    unsigned period; /* 1..86400 seconds */
    int flags;       /* OATH_TOTP_HMAC_SHA256/512, 0 = SHA-1 */
    int have_secret, have_algorithm, have_digits, have_period;
} totp_params;

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* 1 if s[0..len) equals word, ASCII case-insensitively. */
static int equal_ci(const char *s, size_t len, const char *word)
{
    if (strlen(word) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
            return 0;
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* The next byte of a URI value at s[*i], %XX decoded (-1: bad escape). */
static int next_byte(const char *s, size_t len, size_t *i, int escapes)
{
    int c = (unsigned char)s[(*i)++];
    if (!escapes || c != '%')
        return c;
    if (*i + 2 > len)
        return -1;
    int hi = hexval((unsigned char)s[*i]), lo = hexval((unsigned char)s[*i + 1]);
    *i += 2;
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Reads the secret into p->b32: spaces, '-' and '=' are dropped (authenticator
 * apps print secrets in groups), lower case is raised, anything else that is
 * not base32 is refused. */
static int read_secret(totp_params *p, const char *s, size_t len, int escapes)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int c = next_byte(s, len, &i, escapes);
        if (c == ' ' || c == '-' || c == '=')
            continue;
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
            return vault__fail(VAULT_E_INVALID, "totp: the secret is not base32");
        if (n == TOTP_SECRET_MAX_CHARS)
            return vault__fail(VAULT_E_LIMIT, "totp: the secret is longer than %u characters",
                               TOTP_SECRET_MAX_CHARS);
        p->b32[n++] = (char)c;
    }
    if (n < 2) /* one base32 character is not even a byte */
        return vault__fail(VAULT_E_INVALID, "totp: the secret is empty");
    while (n % 8 != 0)
        p->b32[n++] = '=';
    p->b32_len = n;
    return VAULT_OK;
}

/* A decimal in [min, max] spelled without sign or leading junk. */
static int read_uint(const char *s, size_t len, unsigned min, unsigned max, unsigned *out,
                     const char *key)
{
    unsigned long v = 0;
    if (len == 0 || len > 6)
        return vault__fail(VAULT_E_INVALID, "totp: \"%s\" must be %u..%u", key, min, max);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return vault__fail(VAULT_E_INVALID, "totp: \"%s\" must be %u..%u", key, min, max);
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < min || v > max)
        return vault__fail(VAULT_E_INVALID, "totp: \"%s\" must be %u..%u", key, min, max);
    *out = (unsigned)v;
    return VAULT_OK;
}

static int read_algorithm(totp_params *p, const char *s, size_t len)
{
    if (equal_ci(s, len, "SHA1"))
        p->flags = 0;
    else if (equal_ci(s, len, "SHA256"))
        p->flags = OATH_TOTP_HMAC_SHA256;
    else if (equal_ci(s, len, "SHA512"))
        p->flags = OATH_TOTP_HMAC_SHA512;
    else
        return vault__fail(VAULT_E_INVALID, "totp: \"algorithm\" must be SHA1, SHA256 or SHA512");
    return VAULT_OK;
}

/* One key=value of the query. Keys other than the four that shape the code
 * (issuer, image, ...) are ignored; those four may appear once each. */
static int read_param(totp_params *p, const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    size_t klen = eq != NULL ? (size_t)(eq - s) : len;
    const char *val = eq != NULL ? eq + 1 : s + len;
    size_t vlen = len - klen - (eq != NULL);
    static const char *const keys[] = {"secret", "algorithm", "digits", "period"};
    int *seen[] = {&p->have_secret, &p->have_algorithm, &p->have_digits, &p->have_period};
    for (size_t k = 0; k < 4; k++) {
        if (!equal_ci(s, klen, keys[k]))
            continue;
        if (*seen[k])
            return vault__fail(VAULT_E_INVALID, "totp: \"%s\" given twice", keys[k]);
        *seen[k] = 1;
        switch (k) {
        case 0: return read_secret(p, val, vlen, 1);
        case 1: return read_algorithm(p, val, vlen);
        case 2: return read_uint(val, vlen, 6, 8, &p->digits, "digits");
        default: return read_uint(val, vlen, 1, TOTP_PERIOD_MAX, &p->period, "period");
        }
    }
    return VAULT_OK;
}

static int read_uri(totp_params *p, const char *text)
{
    static const char prefix[] = "otpauth://totp/";
    if (strlen(text) < sizeof prefix - 1 || !equal_ci(text, sizeof prefix - 1, prefix))
        return vault__fail(VAULT_E_INVALID, "totp: only otpauth://totp/ URIs are supported");
    const char *q = strchr(text, '?');
    if (q == NULL)
        return vault__fail(VAULT_E_INVALID, "totp: the URI has no \"secret\"");
    for (const char *s = q + 1; *s != '\0';) {
        size_t len = strcspn(s, "&");
        int rc = read_param(p, s, len);
        if (rc != VAULT_OK)
            return rc;
        s += len + (s[len] == '&');
    }
    if (!p->have_secret)
        return vault__fail(VAULT_E_INVALID, "totp: the URI has no \"secret\"");
    return VAULT_OK;
}

static int parse(const char *text, totp_params *p)
{
    memset(p, 0, sizeof *p);
    p->digits = 6;
    p->period = 30;
    if (text == NULL)
        return vault__fail(VAULT_E_INVALID, "totp: NULL secret");
    if (strlen(text) >= 8 && equal_ci(text, 8, "otpauth:"))
        return read_uri(p, text);
    return read_secret(p, text, strlen(text), 0);
}

int vault_totp__check(const char *text)
{
    totp_params p;
    int rc = parse(text, &p);
    sodium_memzero(&p, sizeof p);
    return rc;
}

/* ---- public ------------------------------------------------------------------- */

int vault_totp_check(const char *totp)
{
    return vault_totp__check(totp);
}

int vault_totp_code(const char *totp, uint64_t unix_time, char **code, uint32_t *seconds_left)
{
    totp_params p;
    char *key = NULL, otp[16] = {0};
    size_t key_len = 0;
    if (code != NULL)
        *code = NULL;
    if (code == NULL || seconds_left == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_totp_code: NULL argument");
    if (unix_time > (uint64_t)INT64_MAX)
        return vault__fail(VAULT_E_INVALID, "vault_totp_code: time out of range");
    int rc = parse(totp, &p);
    if (rc != VAULT_OK)
        goto done;
    if (oath_init() != OATH_OK ||
        oath_base32_decode(p.b32, p.b32_len, &key, &key_len) != OATH_OK) {
        rc = vault__fail(VAULT_E_INVALID, "totp: the secret is not valid base32");
        goto done;
    }
    if (oath_totp_generate2(key, key_len, (time_t)unix_time, p.period, 0, p.digits, p.flags,
                            otp) != OATH_OK) {
        rc = vault__fail(VAULT_E_INTERNAL, "totp: liboath could not compute the code");
        goto done;
    }
    if ((*code = vault__out_dup(otp, strlen(otp))) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory computing a code");
        goto done;
    }
    *seconds_left = p.period - (uint32_t)(unix_time % p.period);
done:
    if (key != NULL) {
        sodium_memzero(key, key_len);
        free(key); /* liboath's malloc */
    }
    sodium_memzero(otp, sizeof otp);
    sodium_memzero(&p, sizeof p);
    return rc;
}

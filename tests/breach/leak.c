/* The thief's scan: every known secret, in every encoding the code could
 * plausibly have used to store it (UTF-8, UTF-16 both ways, hex both cases,
 * base64 standard and URL-safe at each of the three alignments a substring
 * can have inside a longer base64 text, JSON \u escapes), must be absent from
 * every file the thief took. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breach.h"

#define NEEDLE_MAX 2048

typedef struct needle {
    char name[32];
    uint8_t bytes[NEEDLE_MAX];
    size_t len;
} needle;

/* Decodes one UTF-8 sequence (the secrets are valid UTF-8). */
static uint32_t next_code_point(const uint8_t **p)
{
    const uint8_t *s = *p;
    uint32_t cp;
    size_t n;
    if (s[0] < 0x80) {
        cp = s[0];
        n = 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        cp = s[0] & 0x1fu;
        n = 2;
    } else if ((s[0] & 0xf0) == 0xe0) {
        cp = s[0] & 0x0fu;
        n = 3;
    } else {
        cp = s[0] & 0x07u;
        n = 4;
    }
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (s[i] & 0x3fu);
    *p = s + n;
    return cp;
}

static void put_unit(needle *n, uint16_t unit, int big_endian)
{
    n->bytes[n->len++] = (uint8_t)(big_endian ? unit >> 8 : unit & 0xff);
    n->bytes[n->len++] = (uint8_t)(big_endian ? unit & 0xff : unit >> 8);
}

static void utf16(needle *n, const char *s, int big_endian)
{
    const uint8_t *p = (const uint8_t *)s;
    snprintf(n->name, sizeof n->name, "UTF-16%s", big_endian ? "BE" : "LE");
    n->len = 0;
    while (*p != '\0') {
        uint32_t cp = next_code_point(&p);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_unit(n, (uint16_t)(0xd800 + (cp >> 10)), big_endian);
            put_unit(n, (uint16_t)(0xdc00 + (cp & 0x3ff)), big_endian);
        } else {
            put_unit(n, (uint16_t)cp, big_endian);
        }
    }
}

/* JSON with every non-ASCII character escaped as \uXXXX (what cJSON or
 * another printer could emit with an "ASCII only" option). */
static void json_escaped(needle *n, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    snprintf(n->name, sizeof n->name, "JSON \\u escapes");
    n->len = 0;
    while (*p != '\0') {
        uint32_t cp = next_code_point(&p);
        char buf[16];
        if (cp < 0x80)
            snprintf(buf, sizeof buf, "%c", (char)cp);
        else
            snprintf(buf, sizeof buf, "\\u%04x", (unsigned)cp);
        memcpy(n->bytes + n->len, buf, strlen(buf));
        n->len += strlen(buf);
    }
}

static void hex(needle *n, const char *s, int upper)
{
    size_t len = strlen(s);
    snprintf(n->name, sizeof n->name, "hex (%s)", upper ? "upper" : "lower");
    sodium_bin2hex((char *)n->bytes, sizeof n->bytes, (const uint8_t *)s, len);
    n->len = 2 * len;
    for (size_t i = 0; upper && i < n->len; i++)
        n->bytes[i] = (uint8_t)toupper(n->bytes[i]);
}

/* Inside a longer base64 text, a substring starting at any byte offset shows
 * up as the base64 of its bytes from the first 3-byte boundary on, for
 * whole groups only: one of three forms, depending on the offset mod 3. */
static void base64_aligned(needle *n, const char *s, size_t skip, int variant)
{
    size_t len = strlen(s);
    size_t whole = len > skip ? (len - skip) / 3 * 3 : 0;
    snprintf(n->name, sizeof n->name, "base64%s +%zu",
             variant == sodium_base64_VARIANT_URLSAFE ? "url" : "", skip);
    n->len = 0;
    if (whole == 0)
        return;
    sodium_bin2base64((char *)n->bytes, sizeof n->bytes, (const uint8_t *)s + skip, whole,
                      variant);
    n->len = strlen((const char *)n->bytes);
}

/* All encodings of secret; returns how many were written. */
static size_t encodings_of(const char *secret, needle *out)
{
    size_t k = 0;
    snprintf(out[k].name, sizeof out[k].name, "UTF-8");
    out[k].len = strlen(secret);
    memcpy(out[k++].bytes, secret, strlen(secret));
    utf16(&out[k++], secret, 0);
    utf16(&out[k++], secret, 1);
    json_escaped(&out[k++], secret);
    hex(&out[k++], secret, 0);
    hex(&out[k++], secret, 1);
    for (size_t skip = 0; skip < 3; skip++) {
        base64_aligned(&out[k++], secret, skip, sodium_base64_VARIANT_ORIGINAL);
        base64_aligned(&out[k++], secret, skip, sodium_base64_VARIANT_URLSAFE);
    }
    return k;
}

#define MAX_ENCODINGS 12

int breach_contains_any_encoding(const uint8_t *hay, size_t hay_len, const char *secret,
                                 const char **encoding)
{
    static needle needles[MAX_ENCODINGS];
    size_t k = encodings_of(secret, needles);
    assert_true(strlen(secret) * 2 < NEEDLE_MAX / 2);
    for (size_t i = 0; i < k; i++) {
        /* An 8-byte needle (e.g. a short password's UTF-8) matches random
         * ciphertext with probability ~2^-64 per offset: no false alarms. */
        assert_true(needles[i].len >= 8);
        if (test_contains(hay, hay_len, needles[i].bytes, needles[i].len)) {
            *encoding = needles[i].name;
            return 1;
        }
    }
    *encoding = NULL;
    return 0;
}

/* Positive control: the scanner finds a secret in each encoding when it is
 * embedded at an arbitrary offset, so a clean scan means something. */
void test_breach_leak__scanner_finds_every_encoding(void **state)
{
    (void)state;
    const char *secret = "J\xc3\xb6rmungandr Caf\xc3\xa9 Wi-Fi \xf0\x9f\x94\x91"; /* 🔑 */
    static needle needles[MAX_ENCODINGS];
    size_t k = encodings_of(secret, needles);
    assert_int_equal(k, MAX_ENCODINGS);
    for (size_t i = 0; i < k; i++) {
        for (size_t offset = 0; offset < 3; offset++) {
            uint8_t hay[4096];
            const char *found = NULL;
            memset(hay, 0x5a, sizeof hay);
            memcpy(hay + 100 + offset, needles[i].bytes, needles[i].len);
            assert_true(breach_contains_any_encoding(hay, sizeof hay, secret, &found));
        }
    }
    /* A base64 text of a longer message that contains the secret at each
     * offset mod 3 is found too. */
    for (size_t offset = 0; offset < 3; offset++) {
        uint8_t msg[256];
        char b64[512];
        const char *found = NULL;
        memset(msg, 'x', sizeof msg);
        memcpy(msg + 17 + offset, secret, strlen(secret));
        sodium_bin2base64(b64, sizeof b64, msg, sizeof msg, sodium_base64_VARIANT_ORIGINAL);
        assert_true(breach_contains_any_encoding((const uint8_t *)b64, strlen(b64), secret,
                                                 &found));
    }
}

static void assert_clean(const breach_file *f, const char *const *secrets)
{
    for (size_t i = 0; secrets[i] != NULL; i++) {
        const char *encoding = NULL;
        if (breach_contains_any_encoding(f->data, f->len, secrets[i], &encoding))
            fail_msg("%s holds secret #%zu in %s", f->path, i, encoding);
    }
}

static int is_server_file(const breach_world *w, const breach_file *f)
{
    return strncmp(f->path, w->server_db, strlen(w->server_db)) == 0;
}

void test_breach_leak__server_files_hold_no_known_plaintext(void **state)
{
    breach_world *w = *state;
    size_t scanned = 0, bytes = 0;
    for (size_t i = 0; i < w->nfiles; i++) {
        const breach_file *f = &w->files[i];
        if (!is_server_file(w, f) || f->data == NULL)
            continue;
        assert_clean(f, w->secrets);
        scanned++;
        bytes += f->len;
    }
    /* The database and its WAL at least (the -shm may be absent). */
    assert_true(scanned >= 3);
    assert_true(bytes > 10000);
    printf("thief scanned %zu server files, %zu bytes: no known plaintext\n", scanned, bytes);
}

void test_breach_leak__device_stores_hold_no_known_plaintext(void **state)
{
    breach_world *w = *state;
    size_t scanned = 0;
    for (size_t i = 0; i < w->nfiles; i++) {
        const breach_file *f = &w->files[i];
        if (is_server_file(w, f))
            continue;
        assert_non_null(f->data);
        assert_clean(f, w->secrets);
        scanned++;
    }
    assert_int_equal(scanned, 6);
}

/* No vault key, auth key or encryption key of any device, raw or as hex:
 * the server keeps only keyed hashes of auth keys and wrapped vault keys. */
void test_breach_leak__server_files_hold_no_key_material(void **state)
{
    breach_world *w = *state;
    char hex[65];
    assert_true(w->nkeys >= 10);
    for (size_t i = 0; i < w->nfiles; i++) {
        const breach_file *f = &w->files[i];
        if (!is_server_file(w, f) || f->data == NULL)
            continue;
        for (size_t k = 0; k < w->nkeys; k++) {
            sodium_bin2hex(hex, sizeof hex, w->keys[k], 32);
            if (test_contains(f->data, f->len, w->keys[k], 32) ||
                test_contains(f->data, f->len, hex, 64))
                fail_msg("%s holds key #%zu", f->path, k);
        }
    }
}

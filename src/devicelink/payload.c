/*
 * The QR payload URI:
 *
 *   zkvlink:1/<role>/<link id: 32 lowercase hex>/<shower pk: 43 base64url>/<secret: 43 base64url>
 *
 * 132 ASCII characters. role is 'o' (the logged-in device shows the code) or
 * 'n' (the new device shows it). It carries the link secret, never the vault
 * key. The parser is strict so that one payload has exactly one spelling: a
 * scanned code either parses to the bytes that were encoded or is refused.
 */
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"

#define URI_SCHEME "zkvlink:"
#define URI_SCHEME_LEN 8u
#define B64_KEY_LEN 43u /* 32 bytes, unpadded base64url */
#define MAX_VERSION_DIGITS 4u

static void append(char *dst, size_t *at, const char *src, size_t len)
{
    memcpy(dst + *at, src, len);
    *at += len;
}

static void append_b64(char *dst, size_t *at, const uint8_t *bin, size_t bin_len)
{
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, bin, bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    append(dst, at, b64, strlen(b64));
    sodium_memzero(b64, sizeof b64);
}

int vault_devicelink__payload_format(char **uri, const vault_devicelink_payload *p)
{
    char hex[2 * VAULT_DEVICELINK_ID_BYTES + 1];
    char *out = NULL;
    size_t at = 0;
    if (uri == NULL)
        return vault__fail(VAULT_E_INVALID, "link payload: NULL output");
    *uri = NULL;
    if (p == NULL || (p->role != VAULT_DEVICELINK_OFFER && p->role != VAULT_DEVICELINK_REVERSE))
        return vault__fail(VAULT_E_INVALID, "link payload: bad role");
    out = vault__out_alloc(VAULT_DEVICELINK_URI_LEN);
    if (out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory formatting the link payload");
    append(out, &at, URI_SCHEME "1/", URI_SCHEME_LEN + 2);
    out[at++] = (char)p->role;
    out[at++] = '/';
    vault__bin2hex(hex, p->link_id, sizeof p->link_id);
    append(out, &at, hex, 2 * VAULT_DEVICELINK_ID_BYTES);
    out[at++] = '/';
    append_b64(out, &at, p->shower_pk, sizeof p->shower_pk);
    out[at++] = '/';
    append_b64(out, &at, p->secret, sizeof p->secret);
    out[at] = '\0';
    *uri = out;
    return VAULT_OK;
}

/* Reads the version field ("1/") after the scheme. A well-formed number other
 * than 1 is a version problem, anything else a malformed payload. */
static int parse_version(const char *uri, size_t len, size_t *after)
{
    size_t i = URI_SCHEME_LEN, digits = 0;
    uint32_t version = 0;
    while (i < len && uri[i] >= '0' && uri[i] <= '9' && digits < MAX_VERSION_DIGITS + 1) {
        version = version * 10u + (uint32_t)(uri[i] - '0');
        i++;
        digits++;
    }
    if (digits == 0 || digits > MAX_VERSION_DIGITS || i >= len || uri[i] != '/' ||
        (digits > 1 && uri[URI_SCHEME_LEN] == '0'))
        return vault__fail(VAULT_E_INVALID, "link payload: malformed version field");
    if (version != VAULT_DEVICELINK_VERSION)
        return vault__fail(VAULT_E_VERSION,
                           "link payload version %u is not supported (this app speaks %u)",
                           version, VAULT_DEVICELINK_VERSION);
    *after = i + 1;
    return VAULT_OK;
}

static int parse_hex_id(uint8_t *out, const char *field)
{
    char copy[2 * VAULT_DEVICELINK_ID_BYTES + 1];
    memcpy(copy, field, 2 * VAULT_DEVICELINK_ID_BYTES);
    copy[2 * VAULT_DEVICELINK_ID_BYTES] = '\0';
    for (size_t i = 0; i < 2 * VAULT_DEVICELINK_ID_BYTES; i++)
        if (!((copy[i] >= '0' && copy[i] <= '9') || (copy[i] >= 'a' && copy[i] <= 'f')))
            return vault__fail(VAULT_E_INVALID,
                               "link payload: link id must be 32 lowercase hex characters");
    if (vault__hex2bin(out, VAULT_DEVICELINK_ID_BYTES, copy) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "link payload: bad link id");
    return VAULT_OK;
}

/* Decodes exactly 43 base64url characters to 32 bytes, then re-encodes and
 * compares, which refuses the non-canonical spellings (stray low bits). */
static int parse_b64_key(uint8_t out[32], const char *field, const char *what)
{
    char again[64];
    size_t got = 0;
    const char *end = NULL;
    int rc = VAULT_OK;
    if (sodium_base642bin(out, 32, field, B64_KEY_LEN, NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != 32 || end != field + B64_KEY_LEN) {
        rc = vault__fail(VAULT_E_INVALID, "link payload: %s is not 43 base64url characters",
                         what);
        goto done;
    }
    sodium_bin2base64(again, sizeof again, out, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(again, field, B64_KEY_LEN) != 0)
        rc = vault__fail(VAULT_E_INVALID, "link payload: %s is not canonical base64url", what);
done:
    sodium_memzero(again, sizeof again);
    if (rc != VAULT_OK)
        sodium_memzero(out, 32);
    return rc;
}

int vault_devicelink__payload_parse(vault_devicelink_payload *p, const char *uri)
{
    size_t len, at = 0;
    int rc;
    if (p == NULL || uri == NULL)
        return vault__fail(VAULT_E_INVALID, "link payload: NULL argument");
    sodium_memzero(p, sizeof *p);
    len = strnlen(uri, VAULT_DEVICELINK_URI_LEN + 1);
    if (len < URI_SCHEME_LEN || memcmp(uri, URI_SCHEME, URI_SCHEME_LEN) != 0)
        return vault__fail(VAULT_E_INVALID, "not a device-link code (expected \"%s\")",
                           URI_SCHEME);
    if ((rc = parse_version(uri, len, &at)) != VAULT_OK)
        return rc;
    if (len != VAULT_DEVICELINK_URI_LEN)
        return vault__fail(VAULT_E_INVALID, "link payload: wrong length (truncated or padded?)");
    if ((uri[at] != (char)VAULT_DEVICELINK_OFFER && uri[at] != (char)VAULT_DEVICELINK_REVERSE) ||
        uri[at + 1] != '/')
        return vault__fail(VAULT_E_INVALID, "link payload: unknown direction");
    p->role = (uint8_t)uri[at];
    at += 2;
    if (uri[at + 2 * VAULT_DEVICELINK_ID_BYTES] != '/' ||
        uri[at + 2 * VAULT_DEVICELINK_ID_BYTES + 1 + B64_KEY_LEN] != '/') {
        rc = vault__fail(VAULT_E_INVALID, "link payload: misplaced separators");
        goto done;
    }
    if ((rc = parse_hex_id(p->link_id, uri + at)) != VAULT_OK)
        goto done;
    at += 2 * VAULT_DEVICELINK_ID_BYTES + 1;
    if ((rc = parse_b64_key(p->shower_pk, uri + at, "public key")) != VAULT_OK)
        goto done;
    at += B64_KEY_LEN + 1;
    rc = parse_b64_key(p->secret, uri + at, "link secret");
done:
    if (rc != VAULT_OK)
        sodium_memzero(p, sizeof *p);
    return rc;
}

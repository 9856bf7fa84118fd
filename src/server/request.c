/*
 * Strict reading of request members. Every member is checked for type,
 * length and encoding before anything acts on it; messages name the member,
 * never its value.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "server/server.h"

int vault_server__check_text(const char *text, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\0' && i + 1 != len)
            return vault__fail(VAULT_E_INVALID, "NUL byte in the request");
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c == '"') {
            in_string = 0;
        } else if (c < 0x20) {
            return vault__fail(VAULT_E_INVALID, "control character in a string");
        } else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                return vault__fail(VAULT_E_INVALID, "\\u0000 in a string");
            i++; /* the escaped character cannot end the string */
        }
    }
    return VAULT_OK;
}

static int member_index(const vault_server_op *op, const char *name)
{
    for (int i = 0; op->members[i] != NULL; i++)
        if (strcmp(op->members[i], name) == 0)
            return i;
    return -1;
}

int vault_server__check_members(const cJSON *obj, const vault_server_op *op)
{
    unsigned seen[32] = {0};
    int count = 0, envelope = 0;
    while (op->members[count] != NULL)
        count++;
    if (count > 32)
        return vault__fail(VAULT_E_INTERNAL, "%s: too many members in the op table", op->name);
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        if (m->string == NULL)
            return vault__fail(VAULT_E_INVALID, "%s: member without a name", op->name);
        if (strcmp(m->string, "v") == 0 || strcmp(m->string, "op") == 0) {
            envelope++;
            continue;
        }
        int i = member_index(op, m->string);
        if (i < 0) {
            char shown[VAULT_SERVER_SHOWN_NAME];
            vault_server__shown_name(shown, m->string);
            return vault__fail(VAULT_E_INVALID, "%s: unknown member \"%s\"", op->name, shown);
        }
        if (seen[i]++ > 0)
            return vault__fail(VAULT_E_INVALID, "%s: member \"%s\" given twice", op->name,
                               op->members[i]);
    }
    if (envelope != 2)
        return vault__fail(VAULT_E_INVALID, "%s: \"v\" or \"op\" given twice", op->name);
    for (int i = 0; i < count; i++)
        if (seen[i] == 0)
            return vault__fail(VAULT_E_INVALID, "%s: missing member \"%s\"", op->name,
                               op->members[i]);
    return VAULT_OK;
}

static int req_string(const vault_server_call *call, const char *name, const char **out)
{
    return vault__json_string(call->req, name, call->op, out);
}

static int is_lower_hex(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

int vault_server__req_hex(const vault_server_call *call, const char *name, uint8_t *out,
                          size_t len)
{
    const char *hex = NULL;
    int status = req_string(call, name, &hex);
    if (status != VAULT_OK)
        return status;
    if (strlen(hex) != 2 * len || !is_lower_hex(hex) || vault__hex2bin(out, len, hex) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be %zu lowercase hex characters",
                           call->op, name, 2 * len);
    return VAULT_OK;
}

int vault_server__req_u64(const vault_server_call *call, const char *name, uint64_t *out)
{
    return vault__json_u64(call->req, name, call->op, out);
}

int vault_server__req_kdf(const vault_server_call *call, uint64_t *opslimit,
                          uint64_t *memlimit)
{
    int status = vault_server__req_u64(call, "opslimit", opslimit);
    if (status == VAULT_OK)
        status = vault_server__req_u64(call, "memlimit", memlimit);
    if (status != VAULT_OK)
        return status;
    status = vault_kdf_check_params(*opslimit, *memlimit);
    if (status == VAULT_E_WEAK_KDF)
        return vault__fail(VAULT_E_INVALID, "%s: KDF parameters below the floor", call->op);
    if (status != VAULT_OK)
        return vault__fail(VAULT_E_LIMIT, "%s: KDF parameters above the maximum", call->op);
    return VAULT_OK;
}

static int has_control(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* Length of the strict UTF-8 character at s (n > 0 bytes left): no overlong
 * forms, no surrogates, nothing above U+10FFFF. 0 if it is not one. */
size_t vault_server__utf8_char(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t extra;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        extra = 1, cp = c & 0x1fu, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        extra = 2, cp = c & 0x0fu, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        extra = 3, cp = c & 0x07u, min = 0x10000;
    else
        return 0;
    if (n <= extra)
        return 0;
    for (size_t k = 1; k <= extra; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return extra + 1;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = vault_server__utf8_char(s + i, n - i)) == 0)
            return 0;
    return 1;
}

void vault_server__shown_name(char out[VAULT_SERVER_SHOWN_NAME], const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name), keep = 0, k;
    if (!utf8_valid(s, len) || has_control(s, len)) {
        snprintf(out, VAULT_SERVER_SHOWN_NAME, "(a name that is not UTF-8 text)");
        return;
    }
    /* Cut at a character boundary, leaving room for "..." and the NUL. */
    while (keep < len && (k = vault_server__utf8_char(s + keep, len - keep)) > 0 &&
           keep + k <= VAULT_SERVER_SHOWN_NAME - 4)
        keep += k;
    snprintf(out, VAULT_SERVER_SHOWN_NAME, "%.*s%s", (int)keep, name, keep < len ? "..." : "");
}


static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int vault_server__req_email(const vault_server_call *call, char *out, size_t *out_len)
{
    const char *raw = NULL;
    int status = req_string(call, "email", &raw);
    if (status != VAULT_OK)
        return status;
    size_t len = strlen(raw);
    if (len > VAULT_SERVER_EMAIL_MAX)
        return vault__fail(VAULT_E_LIMIT, "%s: \"email\" is longer than %u bytes", call->op,
                           VAULT_SERVER_EMAIL_MAX);
    while (len > 0 && is_space(raw[0]))
        raw++, len--;
    while (len > 0 && is_space(raw[len - 1]))
        len--;
    if (len < VAULT_SERVER_EMAIL_MIN || memchr(raw, '@', len) == NULL ||
        has_control((const unsigned char *)raw, len) ||
        !utf8_valid((const unsigned char *)raw, len))
        return vault__fail(VAULT_E_INVALID, "%s: \"email\" is not a valid address", call->op);
    for (size_t i = 0; i < len; i++)
        out[i] = (raw[i] >= 'A' && raw[i] <= 'Z') ? (char)(raw[i] - 'A' + 'a') : raw[i];
    out[len] = '\0';
    *out_len = len;
    return VAULT_OK;
}

int vault_server__req_name(const vault_server_call *call, const char *name, size_t max,
                           const char **out)
{
    const char *s = NULL;
    int status = req_string(call, name, &s);
    if (status != VAULT_OK)
        return status;
    size_t len = strlen(s);
    if (len > max)
        return vault__fail(VAULT_E_LIMIT, "%s: \"%s\" is longer than %zu bytes", call->op,
                           name, max);
    if (len == 0 || has_control((const unsigned char *)s, len) ||
        !utf8_valid((const unsigned char *)s, len))
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be 1..%zu bytes of UTF-8 text",
                           call->op, name, max);
    *out = s;
    return VAULT_OK;
}

int vault_server__req_blob(const vault_server_call *call, const char *name, uint8_t **out,
                           size_t *out_len)
{
    const char *b64 = NULL;
    size_t max = (size_t)call->server->max_blob;
    *out = NULL;
    int status = req_string(call, name, &b64);
    if (status != VAULT_OK)
        return status;
    if (b64[0] == '\0')
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" is empty", call->op, name);
    status = vault__base64_decode(b64, max, out, out_len);
    if (status == VAULT_E_LIMIT)
        return vault__fail(status, "%s: \"%s\" is larger than %zu bytes", call->op, name, max);
    if (status == VAULT_E_INVALID)
        return vault__fail(status, "%s: \"%s\" is not padded base64", call->op, name);
    return status;
}

int vault_server__check_blob(const uint8_t *blob, size_t blob_len, const uint8_t *account_id,
                             uint64_t revision)
{
    char expected[2 * VAULT_ACCOUNT_ID_BYTES + 1];
    char *sealed_for = NULL;
    uint64_t sealed_rev = 0;
    int status = vault_blob_peek(blob, blob_len, &sealed_for, &sealed_rev);
    if (status == VAULT_E_NOMEM)
        return status;
    if (status != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "blob: not a vault blob (%s)",
                           vault_strerror(status));
    vault__bin2hex(expected, account_id, VAULT_ACCOUNT_ID_BYTES);
    if (strcmp(sealed_for, expected) != 0)
        status = vault__fail(VAULT_E_INVALID, "blob: sealed for another account");
    else if (sealed_rev != revision)
        status = vault__fail(VAULT_E_INVALID, "blob: sealed for revision %llu, expected %llu",
                             (unsigned long long)sealed_rev, (unsigned long long)revision);
    vault_free(sealed_for);
    return status;
}

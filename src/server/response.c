/*
 * Building responses. Error responses are written with snprintf into one
 * output allocation, without cJSON, so that the server can still answer
 * "out of memory" when most allocations fail.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

#define REPLY_HEX_MAX 320u /* an OPAQUE KE2 */

int vault_server__reply_hex(vault_server_call *call, const char *name, const uint8_t *bytes,
                            size_t len)
{
    char hex[2 * REPLY_HEX_MAX + 1];
    if (len > REPLY_HEX_MAX)
        return vault__fail(VAULT_E_INTERNAL, "reply member \"%s\" too long", name);
    vault__bin2hex(hex, bytes, len);
    const cJSON *item = cJSON_AddStringToObject(call->reply, name, hex);
    sodium_memzero(hex, sizeof hex); /* session tokens pass through here */
    return item == NULL ? vault__fail(VAULT_E_NOMEM, "out of memory building a reply")
                        : VAULT_OK;
}

/* JSON numbers are doubles: every value we send (revisions, times, limits)
 * stays below 2^53 and is exact. */
int vault_server__reply_u64(vault_server_call *call, const char *name, uint64_t value)
{
    if (cJSON_AddNumberToObject(call->reply, name, (double)value) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a reply");
    return VAULT_OK;
}

const char *vault_server__error_code(int status)
{
    switch (status) {
    case VAULT_E_INVALID: return "invalid";
    case VAULT_E_VERSION: return "version";
    case VAULT_E_LIMIT: return "limit";
    case VAULT_E_AUTH: return "auth";
    case VAULT_E_EXPIRED: return "expired";
    case VAULT_E_RATE_LIMITED: return "rate_limited";
    case VAULT_E_EXISTS: return "exists";
    case VAULT_E_NOT_FOUND: return "not_found";
    case VAULT_E_CONFLICT: return "conflict";
    case VAULT_E_REVOKED: return "revoked";
    case VAULT_E_STATE: return "state";
    default: return "internal";
    }
}

int vault_server__reply_session(vault_server_call *call,
                                const uint8_t token[VAULT_SERVER_TOKEN_BYTES],
                                const vault_store_new_session *sess)
{
    int status = vault_server__reply_hex(call, "session", token, VAULT_SERVER_TOKEN_BYTES);
    if (status == VAULT_OK)
        status = vault_server__reply_u64(call, "expires_ms", (uint64_t)sess->expires_ms);
    return status;
}

/* The stored protected key is masked under a server subkey (keys.c): the
 * client gets it unmasked, and the unmasked copy is wiped. */
int vault_server__reply_account_keys(vault_server_call *call, const vault_store_account *acct)
{
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    memcpy(protected_key, acct->protected_key, sizeof protected_key);
    vault_server__mask_protected_key(call->server, acct->id, protected_key);
    int status = vault_server__reply_hex(call, "protected_key", protected_key,
                                         sizeof protected_key);
    sodium_memzero(protected_key, sizeof protected_key);
    if (status || (status = vault_server__reply_u64(call, "opslimit", acct->opslimit)) ||
        (status = vault_server__reply_u64(call, "memlimit", acct->memlimit)))
        return status;
    return vault_server__reply_u64(call, "revision", acct->revision);
}

/* Copies message as the inside of a JSON string: quotes, backslashes and
 * control bytes escaped, valid UTF-8 kept, and every byte that does not
 * start a valid UTF-8 character (a message cut mid-character, a name from
 * the request) replaced by U+FFFD, so every answer is valid UTF-8 JSON. */
static void json_escape(char *out, size_t cap, const char *message)
{
    const unsigned char *p = (const unsigned char *)message;
    size_t n = 0, left = strlen(message);
    while (left > 0 && n + 7 < cap) {
        size_t k = vault_server__utf8_char(p, left);
        if (k == 0) {
            n += (size_t)snprintf(out + n, cap - n, "\\ufffd");
            k = 1;
        } else if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", *p);
        } else {
            memcpy(out + n, p, k);
            n += k;
        }
        p += k;
        left -= k;
    }
    out[n] = '\0';
}

int vault_server__error_response(const vault_server_call *call, int status,
                                 const char *message, char **out)
{
    char escaped[6 * VAULT_ERRMSG_MAX + 1];
    char extra[64] = "";
    char text[sizeof escaped + 192];
    json_escape(escaped, sizeof escaped, message);
    if (status == VAULT_E_RATE_LIMITED)
        snprintf(extra, sizeof extra, ",\"retry_after_ms\":%" PRId64, call->retry_after_ms);
    else if (status == VAULT_E_CONFLICT)
        snprintf(extra, sizeof extra, ",\"current_revision\":%" PRIu64,
                 call->current_revision);
    int n = snprintf(text, sizeof text,
                     "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"%s\"%s}}",
                     vault_server__error_code(status), escaped, extra);
    *out = vault__out_dup(text, (size_t)n);
    return *out == NULL ? VAULT_E_NOMEM : VAULT_OK;
}

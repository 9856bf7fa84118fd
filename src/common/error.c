/*
 * Error state. Every failing call records a short detail message for its
 * thread; handles copy it into their own buffer because bindings such as
 * Node's koffi may run consecutive calls on different worker threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static _Thread_local char last_error[VAULT_ERRMSG_MAX];

/* Formats into a local buffer first: callers often quote the previous
 * message (`vault__fail(rc, "context: %s", vault_last_error())`), and
 * formatting a buffer into itself is undefined behaviour (found by valgrind:
 * overlapping mempcpy inside vsnprintf). */
int vault__fail(int code, const char *fmt, ...)
{
    char message[VAULT_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof last_error);
    return code;
}

int vault__capture(char buf[VAULT_ERRMSG_MAX], int code)
{
    if (code == VAULT_OK) {
        buf[0] = '\0';
    } else if (last_error[0] != '\0') {
        memcpy(buf, last_error, VAULT_ERRMSG_MAX);
    } else {
        snprintf(buf, VAULT_ERRMSG_MAX, "%s", vault_strerror(code));
    }
    return code;
}

void vault__clear_error(void)
{
    last_error[0] = '\0';
}

const char *vault_last_error(void)
{
    return last_error;
}

const char *vault_strerror(int code)
{
    switch (code) {
    case VAULT_OK: return "ok";
    case VAULT_E_INVALID: return "invalid argument or malformed input";
    case VAULT_E_NOMEM: return "out of memory";
    case VAULT_E_AUTH: return "wrong password or key, or tampered data";
    case VAULT_E_CORRUPT: return "corrupt data";
    case VAULT_E_WEAK_KDF: return "key derivation parameters too weak";
    case VAULT_E_LIMIT: return "size or count limit exceeded";
    case VAULT_E_IO: return "storage error";
    case VAULT_E_NOT_FOUND: return "not found";
    case VAULT_E_VERSION: return "unsupported format or protocol version";
    case VAULT_E_LOCKED: return "vault is locked";
    case VAULT_E_EXISTS: return "already exists";
    case VAULT_E_ROLLBACK: return "server rolled back to an older revision";
    case VAULT_E_CONFLICT: return "server holds a newer revision";
    case VAULT_E_NETWORK: return "network or transport failure";
    case VAULT_E_SERVER: return "server error or malformed server answer";
    case VAULT_E_RATE_LIMITED: return "too many attempts; retry later";
    case VAULT_E_STATE: return "operation not valid in the current state";
    case VAULT_E_EXPIRED: return "expired";
    case VAULT_E_MISMATCH: return "data belongs to another account or revision";
    case VAULT_E_REVOKED: return "device revoked";
    case VAULT_E_INSECURE: return "refused insecure connection";
    case VAULT_E_PENDING: return "not ready yet";
    case VAULT_E_SAS: return "short authentication codes do not match";
    case VAULT_E_INTERNAL: return "internal error";
    case VAULT_E_FORK: return "the server's history forked from this device's";
    case VAULT_E_FORMAT: return "malformed file or not in the named format";
    case VAULT_E_UNSUPPORTED: return "not supported by this build";
    default: return "unknown error";
    }
}

/*
 * Errors and exit codes: the mapping of library status codes to the small set
 * of exit codes scripts branch on (docs/cli.md), and the messages on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_exit_code(int status)
{
    switch (status) {
    case VAULT_OK: return CLI_EXIT_OK;
    case VAULT_E_AUTH:
    case VAULT_E_RATE_LIMITED:
    case VAULT_E_REVOKED:
    case VAULT_E_SAS: return CLI_EXIT_AUTH;
    case VAULT_E_NOT_FOUND: return CLI_EXIT_NOT_FOUND;
    case VAULT_E_EXISTS: return CLI_EXIT_EXISTS;
    case VAULT_E_NETWORK:
    case VAULT_E_SERVER:
    case VAULT_E_INSECURE:
    case VAULT_E_EXPIRED:
    case VAULT_E_CONFLICT: return CLI_EXIT_NETWORK;
    case VAULT_E_ROLLBACK:
    case VAULT_E_MISMATCH:
    case VAULT_E_CORRUPT:
    case VAULT_E_WEAK_KDF:
    case VAULT_E_VERSION: return CLI_EXIT_REFUSED;
    case VAULT_E_FORMAT: return CLI_EXIT_INPUT;
    default: return CLI_EXIT_ERROR;
    }
}

int cli_fail(cli *c, int status, const char *what)
{
    const char *detail = vault_last_error();
    if (c != NULL && c->client != NULL && vault_client_errmsg(c->client)[0] != '\0')
        detail = vault_client_errmsg(c->client);
    if (detail[0] == '\0' || strcmp(detail, vault_strerror(status)) == 0)
        fprintf(stderr, "zkvault: %s: %s\n", what, vault_strerror(status));
    else
        fprintf(stderr, "zkvault: %s: %s (%s)\n", what, detail, vault_strerror(status));
    return cli_exit_code(status);
}

int cli_check(cli *c, int status, const char *what)
{
    return status == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, status, what);
}

CLI_PRINTF(1, 0) static void vprint_error(const char *fmt, va_list ap)
{
    fputs("zkvault: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    fputs("Try `zkvault --help`.\n", stderr);
    return CLI_EXIT_USAGE;
}

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    return code;
}


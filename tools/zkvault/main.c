/*
 * zkvault — the command-line app. Entry point: global options, command
 * dispatch, help, and the mapping of library status codes to exit codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

static const char usage_text[] =
    "usage: zkvault [global options] <command> [options] [arguments]\n"
    "\n"
    "Vault on this device:\n"
    "  init                     create a new vault in the local store\n"
    "  add TITLE                add an item (see `zkvault add --help`)\n"
    "  get ITEM                 show an item (ITEM: id, unique id prefix, or title)\n"
    "  list                     list items\n"
    "  search QUERY             items whose title, tags or visible fields match\n"
    "  edit ITEM                change an item\n"
    "  rm ITEM                  delete an item (a tombstone syncs the delete)\n"
    "  history ITEM             earlier values of an item's hidden fields\n"
    "  generate                 print a random password or passphrase (no vault needed)\n"
    "  export [FILE]            write the whole vault as the library's JSON (PLAINTEXT)\n"
    "  import FILE              add the items of an exported JSON vault\n"
    "\n"
    "Account and sync:\n"
    "  register EMAIL           create an account on the server with this vault\n"
    "  login EMAIL              fetch an account into an empty store, or sign in again\n"
    "  sync                     pull, merge and push\n"
    "  passwd                   change the master password (here and on the server)\n"
    "  devices                  list the account's linked devices\n"
    "  revoke DEVICE_ID         revoke a linked device (rotates the vault key)\n"
    "  link show | join PAYLOAD link a new device by QR code (the new device joins)\n"
    "  link request | accept PAYLOAD   the same, the new device showing the code\n"
      "\n"
    "Global options (before or after the command):\n"
    "  --store PATH             local store (default ~/.local/share/zkvault/device.db)\n"
    "  --server URL             vaultd base URL (https://host:port; http only to loopback)\n"
    "  --server-db PATH         embedded server in this SQLite file (local use);\n"
    "                           its pepper is PATH.pepper (created on first use)\n"
    "  --insecure               allow plain http:// to a non-loopback host\n"
    "  --email EMAIL            account email (default: the one remembered at login)\n"
    "  --password-fd N          read the master password from file descriptor N,\n"
    "                           one per line (passwd: old, then new)\n"
    "  --kdf-ops N --kdf-mem BYTES   Argon2id parameters for init and passwd\n"
    "                           (default 3 and 67108864; floor 2 and 19922944)\n"
    "  -h, --help               this help;  --version  the version\n"
    "\n"
    "The master password is never taken from the command line: it is read from\n"
    "--password-fd if given, else from the ZKVAULT_PASSWORD environment variable\n"
    "(ZKVAULT_NEW_PASSWORD for passwd), else from the terminal without echo.\n"
    "The Secret Key likewise: --secret-key-fd, else ZKVAULT_SECRET_KEY, else the\n"
    "terminal.\n"
    "\n"
    "Exit codes:\n"
    "  0 success             1 other error          2 bad command line\n"
    "  3 authentication failed (wrong password, rate limited, device revoked,\n"
    "    link codes differ)\n"
    "  4 not found           5 already exists       6 network or server error\n"
    "  7 refused for integrity (rollback, tampered or foreign data, weak KDF,\n"
    "    unsupported version)\n";

const struct option cli_global_options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"server", required_argument, NULL, OPT_SERVER},
    {"server-db", required_argument, NULL, OPT_SERVER_DB},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"password-fd", required_argument, NULL, OPT_PASSWORD_FD},
    {"secret-key-fd", required_argument, NULL, OPT_SECRET_KEY_FD},
    {"kdf-ops", required_argument, NULL, OPT_KDF_OPS},
    {"kdf-mem", required_argument, NULL, OPT_KDF_MEM},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const struct option cli_version_option[] = {
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

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

static int parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_size(const char *text, size_t min, size_t max, size_t *out)
{
    uint64_t v = 0;
    if (parse_u64(text, &v) != 0 || v < min || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Handles a global option wherever it appears. 1: handled, 0: not global,
 * -1: bad value (message printed). */
static int cli_global_option(cli *c, int opt, const char *arg)
{
    uint64_t v = 0;
    switch (opt) {
    case OPT_STORE: c->store = arg; return 1;
    case OPT_SERVER: c->server_url = arg; return 1;
    case OPT_SERVER_DB: c->server_db = arg; return 1;
    case OPT_INSECURE: c->insecure = 1; return 1;
    case OPT_EMAIL: c->email = arg; return 1;
    case OPT_PASSWORD_FD:
        if (parse_u64(arg, &v) != 0 || v > 1024) {
            cli_usage("--password-fd needs a file descriptor number");
            return -1;
        }
        c->password_fd = (int)v;
        return 1;
    case OPT_SECRET_KEY_FD:
        if (parse_u64(arg, &v) != 0 || v > 1024) {
            cli_usage("--secret-key-fd needs a file descriptor number");
            return -1;
        }
        c->secret_key_fd = (int)v;
        return 1;
    case OPT_KDF_OPS:
        if (parse_u64(arg, &c->kdf_ops) != 0) {
            cli_usage("--kdf-ops needs a number");
            return -1;
        }
        return 1;
    case OPT_KDF_MEM:
        if (parse_u64(arg, &c->kdf_mem) != 0) {
            cli_usage("--kdf-mem needs a number of bytes");
            return -1;
        }
        return 1;
    default: return 0;
    }
}

int cli_getopt(cli *c, int argc, char **argv, const char *shortopts,
               const struct option *cmd_opts, const char *help)
{
    static struct option merged[64];
    size_t n = 0;
    for (size_t i = 0; cmd_opts != NULL && cmd_opts[i].name != NULL && n < 40; i++)
        merged[n++] = cmd_opts[i];
    for (size_t i = 0; cli_global_options[i].name != NULL; i++)
        merged[n++] = cli_global_options[i];
    memset(&merged[n], 0, sizeof merged[n]);

    for (;;) {
        int opt = getopt_long(argc, argv, shortopts, merged, NULL);
        if (opt == -1)
            return OPT_END;
        if (opt == 'h' || opt == OPT_HELP) {
            fputs(help, stdout);
            return OPT_HELP;
        }
        if (opt == '?' || opt == ':')
            return OPT_BAD;
        int g = cli_global_option(c, opt, optarg);
        if (g < 0)
            return OPT_BAD;
        if (g == 0)
            return opt;
    }
}

static const struct command {
    const char *name;
    cli_command_fn fn;
} commands[] = {
    {"init", cli_cmd_init},         {"add", cli_cmd_add},
    {"get", cli_cmd_get},           {"list", cli_cmd_list},
    {"ls", cli_cmd_list},           {"search", cli_cmd_search},
    {"edit", cli_cmd_edit},         {"rm", cli_cmd_rm},
    {"history", cli_cmd_history},   {"generate", cli_cmd_generate},
    {"export", cli_cmd_export},     {"import", cli_cmd_import},
    {"register", cli_cmd_register}, {"login", cli_cmd_login},
    {"kit", cli_cmd_kit},
    {"sync", cli_cmd_sync},         {"passwd", cli_cmd_passwd},
    {"devices", cli_cmd_devices},   {"revoke", cli_cmd_revoke},
    {"link", cli_cmd_link},
};

static int run(cli *c, int argc, char **argv)
{
    /* Global options before the command; "+" stops at the first non-option. */
    optind = 0;
    int rc = cli_getopt(c, argc, argv, "+hV", cli_version_option, usage_text);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    if (rc == 'V') {
        printf("zkvault %s\n", vault_version());
        return CLI_EXIT_OK;
    }
    if (rc != OPT_END)
        return CLI_EXIT_USAGE;
    if (optind >= argc)
        return cli_usage("no command given");
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0;
            return commands[i].fn(c, sub_argc, sub_argv);
        }
    }
    return cli_usage("unknown command '%s'", name);
}

int main(int argc, char **argv)
{
    if (vault_init() != VAULT_OK) {
        fprintf(stderr, "zkvault: the library could not start: %s\n", vault_last_error());
        return CLI_EXIT_ERROR;
    }
    cli c;
    memset(&c, 0, sizeof c);
    c.password_fd = -1;
    c.secret_key_fd = -1;
    c.tty_out = isatty(STDOUT_FILENO);
    int rc = run(&c, argc, argv);
    cli_close(&c);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = cli_error(CLI_EXIT_ERROR, "could not write the output");
    return rc;
}

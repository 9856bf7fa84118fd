/*
 * zkvault — the command-line app. The dispatcher: global options, the
 * command table, help. Every command lives in a cmd_*.c file that uses only
 * the shared helpers (cli.h); only this file knows them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

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
    "  export [FILE]            export the items (encrypted by default; --format for\n"
    "                           KeePass XML, Bitwarden JSON, CSV: PLAINTEXT)\n"
    "  import --format F FILE   add the items of another manager's export or ours\n"
    "\n"
    "Account and sync:\n"
    "  register EMAIL           create an account on the server with this vault\n"
    "  kit [--qr]               print the Emergency Kit (email, account, Secret Key)\n"
    "  login EMAIL              fetch an account into an empty store (asks for the\n"
    "                           Secret Key from the Emergency Kit), or sign in again\n"
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
    "  --cacert FILE            trust the CA certificates in this PEM file for\n"
    "                           https:// (default: $ZKVAULT_CA_FILE, $SSL_CERT_FILE,\n"
    "                           $CURL_CA_BUNDLE, else the system's store)\n"
    "  --email EMAIL            account email (default: the one remembered at login)\n"
    "  --password-fd N          read the master password from file descriptor N,\n"
    "                           one per line (passwd: old, then new)\n"
    "  --secret-key-fd N        read the Secret Key (login on a new device) from\n"
    "                           file descriptor N\n"
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
    "    unsupported version)\n"
    "  8 import refused: the file is malformed or not in the given format\n";

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
    /* Before any key exists: a crash must not write one to a core file. */
    if (vault_process_harden() != VAULT_OK || vault_init() != VAULT_OK) {
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

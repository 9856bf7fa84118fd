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

static const char usage_commands[] =
    "usage: zkvault [global options] <command> [options] [arguments]\n"
    "\n"
    "Vault on this device:\n"
    "  init                     create a new vault in the local store\n"
    "  add TITLE                add an item (see `zkvault add --help`)\n"
    "  get ITEM                 show an item (ITEM: id, unique id prefix, or title)\n"
    "  list                     list items\n"
    "  search QUERY             items whose title, tags or visible fields match\n"
    "  edit ITEM                change an item\n"
    "  rm ITEM [--purge]        move an item to the trash (--purge: delete it now)\n"
    "  restore ITEM             take an item out of the trash (`list --trash` shows it)\n"
    "  totp ITEM                the current code of the item's TOTP field\n"
    "  clip ITEM [FIELD]        copy a value to the clipboard, cleared after a timeout\n"
    "  audit                    weak, reused, old and breached passwords\n"
    "  shell                    unlock once, then run commands line by line\n"
    "  history ITEM             earlier values of an item's hidden fields\n"
    "  generate                 print a random password or passphrase (no vault needed)\n"
    "  export [FILE]            export the items (encrypted by default; --format for\n"
    "                           KeePass XML, Bitwarden JSON, CSV: PLAINTEXT)\n"
    "  import --format F FILE   add the items of another manager's export or ours\n"
    "\n"
    "Account and sync:\n"
    "  register EMAIL           create an account on the server with this vault\n"
    "  kit [--qr]               print the Emergency Kit (it holds the Secret Key)\n"
    "  login EMAIL              fetch an account into an empty store, or sign in again\n"
    "  sync                     pull, merge and push\n"
    "  passwd                   change the master password (here and on the server)\n"
    "  logout                   forget the account's email and server here\n"
    "  delete-account           delete the account on the server and this vault\n"
    "  devices                  list the account's linked devices\n"
    "  revoke DEVICE_ID         revoke a linked device (rotates the vault key)\n"
    "  link show | join PAYLOAD link a new device by QR code (the new device joins)\n"
    "  link request | accept PAYLOAD   the same, the new device showing the code\n"
    "\n";
/* The rest of the help (one literal would pass C99's 4095-character limit);
 * run() joins the two into usage_text. */
static const char usage_options[] =
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
    "  --secret-key-fd N        read the Secret Key from file descriptor N\n"
    "  --kdf-ops N --kdf-mem BYTES   Argon2id parameters for init and passwd\n"
    "                           (default 3 and 67108864; floor 2 and 19922944)\n"
    "  --trash-days N           purge items in the trash for N days when saving\n"
    "                           (default 30, or \"trash_days\" in STORE.conf; 0: never)\n"
    "  -h, --help               this help;  --version  the version\n"
    "\n"
    "The master password is never taken from the command line: it is read from\n"
    "--password-fd if given, else from the ZKVAULT_PASSWORD environment variable\n"
    "(ZKVAULT_NEW_PASSWORD for passwd), else from the terminal without echo; the\n"
    "Secret Key (login on a new device) likewise, from ZKVAULT_SECRET_KEY.\n"
    "\n"
    "Exit codes:\n"
    "  0 success             1 other error          2 bad command line\n"
    "  3 authentication failed (wrong password, rate limited, device revoked,\n"
    "    link codes differ)\n"
    "  4 not found           5 already exists       6 network or server error\n"
    "  7 refused for integrity (rollback, tampered or foreign data, weak KDF,\n"
    "    unsupported version)\n"
    "  8 import refused: the file is malformed or not in the given format\n"
    "  9 no clipboard (clip: no wl-copy, xclip or xsel, or no display)\n";

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
    {"link", cli_cmd_link},         {"restore", cli_cmd_restore},
    {"totp", cli_cmd_totp},         {"clip", cli_cmd_clip},
    {"audit", cli_cmd_audit},       {"shell", cli_cmd_shell},
    {"logout", cli_cmd_logout},     {"delete-account", cli_cmd_delete_account},
};

/* Runs the command argv[0] (the shell's hook, and the end of run()). */
static int dispatch(cli *c, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, argv[0]) == 0) {
            optind = 0;
            return commands[i].fn(c, argc, argv);
        }
    }
    return cli_usage("unknown command '%s'", argv[0]);
}

static char usage_text[sizeof usage_commands + sizeof usage_options];

static int run(cli *c, int argc, char **argv)
{
    if (usage_text[0] == '\0') {
        memcpy(usage_text, usage_commands, sizeof usage_commands - 1);
        memcpy(usage_text + sizeof usage_commands - 1, usage_options, sizeof usage_options);
    }
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
    return dispatch(c, argc - optind, argv + optind);
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
    c.trash_days = -1;
    c.conf_trash_days = -1;
    c.run = dispatch;
    c.tty_out = isatty(STDOUT_FILENO);
    int rc = run(&c, argc, argv);
    cli_close(&c);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = cli_error(CLI_EXIT_ERROR, "could not write the output");
    return rc;
}

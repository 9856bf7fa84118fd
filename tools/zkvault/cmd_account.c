/*
 * Account commands: init, register, kit, login, sync, passwd, logout,
 * delete-account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

/* Commands without options of their own: parses, checks the operand count.
 * Returns an exit code, or OPT_HELP when the help was printed. */
static int simple_args(cli *c, int argc, char **argv, const char *help, int operands)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, help)) != OPT_END)
        return opt == OPT_HELP ? OPT_HELP : CLI_EXIT_USAGE;
    if (argc - optind != operands)
        return cli_usage("%s takes %d argument%s (see `zkvault %s --help`)", argv[0], operands,
                         operands == 1 ? "" : "s", argv[0]);
    return CLI_EXIT_OK;
}

static void print_summary(cli *c)
{
    vault *v = NULL;
    uint64_t count = 0, revision = 0;
    char *account = NULL;
    if (vault_client_vault(c->client, &v) == VAULT_OK)
        vault_item_count(v, &count);
    vault_client_revision(c->client, &revision);
    vault_client_account_id(c->client, &account);
    printf("account %s: %llu item%s, server revision %llu\n", account != NULL ? account : "?",
           (unsigned long long)count, count == 1 ? "" : "s", (unsigned long long)revision);
    vault_free(account);
}

/* After register or login: remembers the email and the server, and says so. */
static int remember_and_report(cli *c, int rc, const char *done, const char *email)
{
    if (rc == CLI_EXIT_OK)
        rc = cli_remember(c, email);
    if (rc == CLI_EXIT_OK) {
        printf("%s %s\n", done, email);
        print_summary(c);
    }
    return rc;
}

static const char init_help[] =
    "usage: zkvault init [--kdf-ops N --kdf-mem BYTES]\n"
    "\n"
    "Creates a new, empty vault in the local store, protected by a new master\n"
    "password (asked twice on a terminal). Argon2id parameters default to\n"
    "opslimit 3 and 64 MiB; the floor is 2 and 19 MiB (19922944 bytes).\n";

int cli_cmd_init(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, init_help, 0);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    char *password = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_open_client(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_read_password(c, "New master password: ", "ZKVAULT_PASSWORD", 1, &password);
    if (rc == CLI_EXIT_OK) {
        cli_progress_begin(c, "deriving key");
        int st = vault_client_create(c->client, password, c->kdf_ops, c->kdf_mem);
        cli_progress_end(c);
        if (st == VAULT_E_EXISTS)
            rc = cli_error(CLI_EXIT_EXISTS, "%s already holds a vault", c->store);
        else
            rc = cli_check(c, st, "cannot create the vault");
    }
    if (rc == CLI_EXIT_OK) {
        char *account = NULL;
        vault_client_account_id(c->client, &account);
        printf("created vault %s in %s\n", account != NULL ? account : "?", c->store);
        vault_free(account);
    }
    cli_secret_free(password);
    return rc;
}

static const char register_help[] =
    "usage: zkvault register EMAIL [--server URL | --server-db PATH]\n"
    "\n"
    "Creates an account for this vault on the server and pushes it. The email\n"
    "and the server are remembered next to the store for later commands.\n";

int cli_cmd_register(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, register_help, 1);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    const char *email = rc == CLI_EXIT_OK ? argv[optind] : NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_unlock(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_connect(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_client_register(c->client, email), "cannot register");
    rc = remember_and_report(c, rc, "registered", email);
    if (rc == CLI_EXIT_OK)
        printf("Print your Emergency Kit now (`zkvault kit`): a new device needs its Secret "
               "Key,\nand the server cannot give it back.\n");
    return rc;
}

static const char kit_help[] =
    "usage: zkvault kit [--qr]\n"
    "\n"
    "Prints the Emergency Kit: the account's email, id and Secret Key. A new\n"
    "device asks for the Secret Key once, with the master password; the server\n"
    "never has it. Print it and keep it offline. --qr adds the kit as a QR code.\n";

int cli_cmd_kit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"qr", no_argument, NULL, OPT_CMD}, {NULL, 0, NULL, 0}};
    int qr = 0, opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, kit_help)) != OPT_END) {
        if (opt != OPT_CMD)
            return CLI_OPT_RETURN(opt);
        qr = 1;
    }
    if (argc - optind != 0)
        return cli_usage("kit takes no arguments (see `zkvault kit --help`)");
    char *text = NULL;
    uint8_t *code = NULL;
    size_t code_len = 0;
    int rc = cli_unlock(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_client_emergency_kit(c->client, &text), "no Emergency Kit");
    if (rc == CLI_EXIT_OK && qr)
        rc = cli_check(c, vault_client_emergency_kit_qr(c->client, VAULT_QR_TEXT, &code,
                                                         &code_len),
                       "cannot draw the QR code");
    if (rc == CLI_EXIT_OK) {
        fputs(text, stdout);
        if (code != NULL)
            printf("\n%s", (const char *)code);
    }
    vault_free(text);
    vault_free(code);
    return rc;
}

static const char login_help[] =
    "usage: zkvault login EMAIL [--server URL | --server-db PATH]\n"
    "\n"
    "On an empty store: fetches the account from the server and unlocks it; a\n"
    "new device asks for the account's Secret Key (from the Emergency Kit) once:\n"
    "--secret-key-fd N, else ZKVAULT_SECRET_KEY, else the terminal.\n"
    "On a store that holds the account: checks the password with the server.\n"
    "The email and the server are remembered for later commands.\n";

int cli_cmd_login(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, login_help, 1);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    const char *email = rc == CLI_EXIT_OK ? argv[optind] : NULL;
    char *password = NULL, *account = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_open_client(c);
    if (rc == CLI_EXIT_OK && vault_client_account_id(c->client, &account) == VAULT_OK) {
        /* The store already holds an account: unlock it locally first, so a
         * wrong password fails before anything reaches the server. */
        vault_free(account);
        c->email = email;
        rc = cli_unlock_and_login(c, NULL);
    } else if (rc == CLI_EXIT_OK) {
        char *secret_key = NULL;
        rc = cli_connect(c);
        if (rc == CLI_EXIT_OK)
            rc = cli_read_secret_key(c, &secret_key);
        if (rc == CLI_EXIT_OK)
            rc = cli_check(c, vault_client_set_secret_key(c->client, secret_key),
                           "not a valid Secret Key");
        cli_secret_free(secret_key);
        if (rc == CLI_EXIT_OK)
            rc = cli_read_password(c, "Master password: ", "ZKVAULT_PASSWORD", 0, &password);
        if (rc == CLI_EXIT_OK) {
            cli_progress_begin(c, "deriving key");
            int st = vault_client_login(c->client, email, password);
            cli_progress_end(c);
            rc = cli_check(c, st, "login failed");
        }
    }
    cli_secret_free(password);
    return remember_and_report(c, rc, "logged in as", email);
}

static const char sync_help[] =
    "usage: zkvault sync\n"
    "\n"
    "Pulls the server's latest revision, merges it with local changes (three-way:\n"
    "no edit is lost), and pushes the result. If the server lost what this device\n"
    "last received or pushed (a fork: a lost push, a restored backup), says so and\n"
    "merges both histories. If the master password was changed on another device,\n"
    "give the new one: this device then uses it too.\n";

/* A fork (the server lost what this device confirmed or pushed) is said,
 * then resolved: both branches merged, nothing lost (docs/sync.md). */
static int sync_or_resolve(cli *c)
{
    int st = vault_client_sync(c->client);
    if (st != VAULT_E_FORK)
        return st;
    fprintf(stderr, "zkvault: %s\nzkvault: merging this device's vault into the server's "
                    "history (no edit is lost)\n", vault_client_errmsg(c->client));
    return vault_client_resolve_fork(c->client);
}

int cli_cmd_sync(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, sync_help, 0);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK)
        rc = cli_unlock_and_login(c, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, sync_or_resolve(c), "sync failed");
    if (rc == CLI_EXIT_OK) {
        printf("synced: ");
        print_summary(c);
    }
    return rc;
}

static const char passwd_help[] =
    "usage: zkvault passwd [--kdf-ops N --kdf-mem BYTES]\n"
    "\n"
    "Changes the master password, here and on the server (the account must be\n"
    "registered). The vault key is re-wrapped; the vault is not re-encrypted.\n"
    "Argon2id parameters may only grow. Scripts: --password-fd N gives the old\n"
    "password on the first line and the new one on the second; or\n"
    "ZKVAULT_PASSWORD and ZKVAULT_NEW_PASSWORD.\n";

int cli_cmd_passwd(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, passwd_help, 0);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    char *old_pw = NULL, *new_pw = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_unlock_and_login(c, &old_pw);
    if (rc == CLI_EXIT_OK)
        rc = cli_read_password(c, "New master password: ", "ZKVAULT_NEW_PASSWORD", 1, &new_pw);
    if (rc == CLI_EXIT_OK) {
        cli_progress_begin(c, "deriving key");
        int st = vault_client_change_password(c->client, old_pw, new_pw, c->kdf_ops, c->kdf_mem);
        cli_progress_end(c);
        rc = cli_check(c, st, "cannot change the password");
    }
    if (rc == CLI_EXIT_OK)
        puts("master password changed");
    cli_secret_free(old_pw);
    cli_secret_free(new_pw);
    return rc;
}

static const char logout_help[] =
    "usage: zkvault logout\n"
    "\n"
    "Signs out of the account on this store: ends the server session (inside\n"
    "`zkvault shell`) and forgets the remembered email and server (STORE.conf),\n"
    "so that `sync` needs `zkvault login EMAIL` again. The local vault stays.\n";

int cli_cmd_logout(cli *c, int argc, char **argv)
{
    int rc = simple_args(c, argc, argv, logout_help, 0);
    if (rc == OPT_HELP)
        return CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK)
        rc = cli_open_existing(c);
    if (rc == CLI_EXIT_OK && c->connected)
        vault_client_logout(c->client); /* best effort: the session expires anyway */
    if (rc == CLI_EXIT_OK)
        rc = cli_forget_account(c);
    if (rc == CLI_EXIT_OK)
        printf("logged out of %s: the local vault stays\n", c->store);
    return rc;
}

static const char delete_help[] =
    "usage: zkvault delete-account [--yes]\n"
    "\n"
    "Deletes the account on the server (every device loses it) and the vault in\n"
    "this store, after checking the master password. Asks for confirmation on\n"
    "the terminal (or one line \"yes\" on standard input) unless --yes. There is\n"
    "no undo: export first if in doubt.\n";

int cli_cmd_delete_account(cli *c, int argc, char **argv)
{
    int yes = 0;
    int rc = cli_parse_flag(c, argc, argv, delete_help, "yes", &yes);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc)
        return cli_usage("delete-account takes no arguments");
    if ((rc = cli_open_existing(c)) != CLI_EXIT_OK)
        return rc;
    if (cli_is_linked(c))
        return cli_usage("delete-account needs the master password: run it on a device that "
                         "logged in with it");
    char *password = NULL;
    rc = cli_unlock_and_login(c, &password);
    if (rc == CLI_EXIT_OK && !yes &&
        !cli_confirm("Delete the account on the server and this vault, for good? [y/N] "))
        rc = cli_error(CLI_EXIT_AUTH, "not confirmed: nothing was deleted");
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_client_delete_account(c->client, password),
                       "cannot delete the account");
    if (rc == CLI_EXIT_OK)
        rc = cli_forget_account(c);
    if (rc == CLI_EXIT_OK)
        puts("account deleted, here and on the server");
    cli_secret_free(password);
    return rc;
}

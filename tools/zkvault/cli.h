/*
 * The `vault` command-line app: shared declarations. The app uses only the
 * public API (vault.h) plus libsodium (random numbers, wiping) and cJSON (to
 * read and build item JSON).
 */
#ifndef VAULT_CLI_H
#define VAULT_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "vault.h"

/* Exit codes: a small set that scripts can branch on (docs/cli.md). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1     /* any other failure */
#define CLI_EXIT_USAGE 2     /* bad command line */
#define CLI_EXIT_AUTH 3      /* wrong password, rate limited, revoked, codes differ */
#define CLI_EXIT_NOT_FOUND 4 /* no such item, vault, account or device */
#define CLI_EXIT_EXISTS 5    /* the vault, account or item already exists */
#define CLI_EXIT_NETWORK 6   /* server unreachable, server error, expired session */
#define CLI_EXIT_REFUSED 7   /* integrity refusal: rollback, tampering, weak KDF, version */

#define CLI_WORD_COUNT 1024u
extern const char *const cli_words[CLI_WORD_COUNT];

/* Global options and the open handles of one run. */
typedef struct cli {
    const char *store;     /* local store path */
    char *store_owned;     /* default path, when --store was not given */
    const char *server_url;
    const char *server_db;
    const char *email;     /* --email, else the one remembered in the config */
    int password_fd;       /* -1: not given */
    int secret_key_fd;     /* -1: not given */
    int insecure;          /* --insecure: plain http to a non-loopback host */
    uint64_t kdf_ops, kdf_mem; /* 0: library defaults */
    int tty_out;           /* stdout is a terminal */

    vault_client *client;
    vault_server *server;  /* embedded server (--server-db) */
    int connected;         /* the client has a transport */

    /* Remembered from the config file next to the store (plaintext, 0600). */
    char *conf_email;
    char *conf_server_url;
    char *conf_server_db;
} cli;

/* A command: argc/argv start at the command name. Returns an exit code. */
typedef int (*cli_command_fn)(cli *c, int argc, char **argv);

/* ---- command-line options (main.c) ---- */
/* Long-only option values; global options are accepted before or after the
 * command, so every command's parser merges cli_global_options. */
enum {
    OPT_STORE = 1000, OPT_SERVER, OPT_SERVER_DB, OPT_INSECURE, OPT_EMAIL,
    OPT_PASSWORD_FD, OPT_KDF_OPS, OPT_KDF_MEM, OPT_SECRET_KEY_FD,
    OPT_CMD = 2000, /* first value for command-specific long options */
    OPT_END = -1, OPT_HELP = -2, OPT_BAD = -3
};
extern const struct option cli_global_options[];
extern const struct option cli_version_option[];
/* getopt_long over a command's options plus the global ones. Returns the
 * next command option, OPT_END (optind is at the first operand), OPT_HELP
 * (help printed) or OPT_BAD (message printed). */
int cli_getopt(cli *c, int argc, char **argv, const char *shortopts,
               const struct option *cmd_opts, const char *help);
/* Ends a command's parsing: OPT_HELP → exit 0, OPT_BAD → usage exit. */
#define CLI_OPT_RETURN(rc) ((rc) == OPT_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE)
/* A decimal number in [min, max]; -1 if not. */
int cli_parse_size(const char *text, size_t min, size_t max, size_t *out);

/* ---- errors and output (main.c) ---- */
/* Prints "zkvault: what: detail (name)" for a library status and returns the exit
 * code for it. detail comes from the client handle when there is one. */
int cli_fail(cli *c, int status, const char *what);
/* CLI_EXIT_OK for VAULT_OK, otherwise cli_fail(c, status, what). */
int cli_check(cli *c, int status, const char *what);
/* Prints "zkvault: message" and returns CLI_EXIT_USAGE or the given code. */
#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif
int cli_usage(const char *fmt, ...) CLI_PRINTF(1, 2);
int cli_error(int code, const char *fmt, ...) CLI_PRINTF(2, 3);
int cli_exit_code(int status);

/* ---- secrets from the terminal, a file descriptor or the environment (term.c) ---- */
#define CLI_SECRET_MAX (VAULT_PASSWORD_MAX_BYTES + 1)
/* A NUL-terminated secret in sodium_malloc memory; free with cli_secret_free. */
char *cli_secret_new(void);
void cli_secret_free(char *secret);
/* Reads the master password (--password-fd if given, else the environment
 * variable env, else a prompt on the terminal without echo). confirm: ask twice on a terminal.
 * env: the environment variable to use. Returns an exit code. */
int cli_read_password(cli *c, const char *prompt, const char *env, int confirm,
                      char **out);
/* Reads the account's Secret Key (--secret-key-fd if given, else the
 * ZKVAULT_SECRET_KEY environment variable, else a prompt on the terminal),
 * never from the command line. Returns an exit code. */
int cli_read_secret_key(cli *c, char **out);
/* Reads one secret value (e.g. an item's hidden field): terminal without echo,
 * else one line of standard input. */
int cli_read_secret_value(const char *prompt, char **out);
/* "deriving key…" while Argon2id runs, only when stdout is a terminal. */
void cli_progress_begin(const cli *c, const char *what);
void cli_progress_end(const cli *c);

/* ---- session: store, config, server, unlock (session.c) ---- */
int cli_open_client(cli *c);
/* Opens the store only if it exists (exit 4 otherwise: nothing is created). */
int cli_open_existing(cli *c);
/* Opens the client and unlocks it with the master password. */
int cli_unlock(cli *c);
/* Connects to --server / --server-db or the remembered server (once). */
int cli_connect(cli *c);
/* Whether any server is given or remembered. */
int cli_has_server(const cli *c);
/* unlock + connect + login with the remembered email and the password. */
int cli_unlock_and_login(cli *c, char **password_out);
int cli_save(cli *c);
/* Remembers the email (NULL: keep the remembered one) and the server in the
 * config next to the store. */
int cli_remember(cli *c, const char *email);
void cli_close(cli *c);

/* ---- linked devices (devices.c) ---- */
/* Whether the store belongs to a linked device (STORE.devkey exists). */
int cli_is_linked(const cli *c);
/* Unlocks a linked device with the key derived from its device password. */
int cli_unlock_device(cli *c, const char *password);

/* ---- random passwords and passphrases (generate.c) ---- */
#define CLI_CLASS_LOWER 1u
#define CLI_CLASS_UPPER 2u
#define CLI_CLASS_DIGITS 4u
#define CLI_CLASS_SYMBOLS 8u
#define CLI_GEN_MIN_LENGTH 4u
#define CLI_GEN_MAX_LENGTH 1024u
#define CLI_GEN_MAX_WORDS 64u
/* A random password of length characters drawn uniformly from the union of
 * the classes, with at least one character of each class (whole passwords
 * are redrawn until they have one). *out is sodium_malloc'ed (cli_secret_free).
 * Returns VAULT_OK or VAULT_E_INVALID (no class, length out of range). */
int cli_generate_password(uint32_t classes, size_t length, char **out);
/* words random words from cli_words joined by sep. */
int cli_generate_passphrase(size_t words, const char *sep, char **out);
/* Parses "lower,upper,digits,symbols" into class bits; 0 if malformed. */
uint32_t cli_parse_classes(const char *text);

/* ---- commands ---- */
int cli_cmd_generate(cli *c, int argc, char **argv);
int cli_cmd_init(cli *c, int argc, char **argv);
int cli_cmd_add(cli *c, int argc, char **argv);
int cli_cmd_get(cli *c, int argc, char **argv);
int cli_cmd_list(cli *c, int argc, char **argv);
int cli_cmd_search(cli *c, int argc, char **argv);
int cli_cmd_edit(cli *c, int argc, char **argv);
int cli_cmd_rm(cli *c, int argc, char **argv);
int cli_cmd_history(cli *c, int argc, char **argv);
int cli_cmd_export(cli *c, int argc, char **argv);
int cli_cmd_import(cli *c, int argc, char **argv);
int cli_cmd_register(cli *c, int argc, char **argv);
int cli_cmd_login(cli *c, int argc, char **argv);
int cli_cmd_kit(cli *c, int argc, char **argv);
int cli_cmd_sync(cli *c, int argc, char **argv);
int cli_cmd_passwd(cli *c, int argc, char **argv);
int cli_cmd_devices(cli *c, int argc, char **argv);
int cli_cmd_revoke(cli *c, int argc, char **argv);
int cli_cmd_link(cli *c, int argc, char **argv);

#endif

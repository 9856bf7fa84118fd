/*
 * The `zkvault` command-line app: the shared helpers every command file may
 * use (errors.c, options.c, term.c, devkey.c, session.c, generate.c,
 * words.c; item helpers in items.h). Helpers never call commands; the
 * commands (commands.h) are known only to the dispatcher, main.c. The app
 * uses only the public API (vault.h) plus libsodium and cJSON.
 *
 * Layers, each using only those below it:
 *   main.c (dispatcher)  →  cmd_*.c  →  items.c  →  session.c  →  devkey.c
 *   →  term.c, options.c, generate.c/words.c  →  errors.c
 */
#ifndef VAULT_CLI_H
#define VAULT_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
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
#define CLI_EXIT_INPUT 8     /* import: the file is malformed or not in the given format */
#define CLI_EXIT_NO_CLIPBOARD 9 /* clip: no clipboard tool or no display */

#define CLI_TRASH_DAYS 30 /* items stay this long in the trash by default */

#define CLI_WORD_COUNT 7776u /* the EFF long list (words.c) */
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
    const char *ca_file;   /* --cacert: PEM bundle of a private CA (else the library's rule) */
    uint64_t kdf_ops, kdf_mem; /* 0: library defaults */
    int tty_out;           /* stdout is a terminal */
    long trash_days;       /* --trash-days; -1: the config's, else CLI_TRASH_DAYS */

    vault_client *client;
    vault_server *server;  /* embedded server (--server-db) */
    int connected;         /* the client has a transport */

    /* Remembered from the config file next to the store (plaintext, 0600). */
    char *conf_email;
    char *conf_server_url;
    char *conf_server_db;
    long conf_trash_days;  /* -1: not set */

    /* Runs one command line (argv[0] = the command) through the dispatcher:
     * set by main.c so that `shell` can run commands without knowing them. */
    int (*run)(struct cli *c, int argc, char **argv);
    int in_shell; /* inside `zkvault shell`: the vault stays unlocked between commands */
} cli;

/* A command: argc/argv start at the command name. Returns an exit code. */
typedef int (*cli_command_fn)(cli *c, int argc, char **argv);

/* ---- command-line options (options.c) ---- */
/* Long-only option values; global options are accepted before or after the
 * command, so every command's parser merges cli_global_options. */
enum {
    OPT_STORE = 1000, OPT_SERVER, OPT_SERVER_DB, OPT_INSECURE, OPT_EMAIL,
    OPT_PASSWORD_FD, OPT_KDF_OPS, OPT_KDF_MEM, OPT_SECRET_KEY_FD, OPT_CACERT,
    OPT_TRASH_DAYS,
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
/* Parses the options of a command whose only option is the flag --name
 * (--json, --show, --replace), which sets *flag. Returns CLI_EXIT_OK, or
 * OPT_HELP after the help or CLI_EXIT_USAGE after a bad option (for
 * CLI_OPT_RETURN). */
int cli_parse_flag(cli *c, int argc, char **argv, const char *help, const char *name,
                   int *flag);

/* ---- errors and output (errors.c) ---- */
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
/* Reads a whole stream of at most max bytes into a NUL-terminated buffer
 * (*len without the NUL); NULL if unreadable or too long. Free with
 * cli_free_text(text, len + 1), which wipes. */
char *cli_read_stream(FILE *f, size_t max, size_t *len);
void cli_free_text(char *text, size_t len);
/* Asks a question on the terminal (else reads one line of standard input):
 * 1 if the answer is "y" or "yes". */
int cli_confirm(const char *question);

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
/* Forgets the remembered email and server (the config keeps other settings). */
int cli_forget_account(cli *c);
void cli_close(cli *c);

/* ---- the device key of linked devices (devkey.c) ---- */
/* STORE.devkey (malloc'ed; NULL if out of memory). */
char *cli_devkey_path(const cli *c);
/* Whether the store belongs to a linked device (STORE.devkey exists). */
int cli_is_linked(const cli *c);
/* The local device key from the device password: create makes STORE.devkey
 * with a fresh salt (a new link), else it is read. Returns an exit code. */
int cli_device_key(cli *c, const char *password, int create, uint8_t key[VAULT_KEY_BYTES]);
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

#endif

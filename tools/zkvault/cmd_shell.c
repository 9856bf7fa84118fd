/*
 * shell: unlock once, then run commands read line by line (the same command
 * set, through the dispatcher's cli.run hook). After --lock-after idle time
 * the vault is locked (keys wiped); the next command unlocks it again. On
 * exit the client is closed, which wipes the keys.
 *
 * No history file is written: a line may hold what a user typed by mistake,
 * and secrets are only ever read at prompts, never from a command line. Each
 * line is wiped once run.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "commands.h"

#define SHELL_LINE_MAX 4096
#define SHELL_ARGS_MAX 64

/* Splits line in place into words: white space separates, '…' and "…"
 * quote, a backslash escapes the next character. -1 on an open quote or
 * too many words. */
static int split(char *line, char **argv, int *argc)
{
    char *in = line, *out = line;
    *argc = 0;
    for (;;) {
        while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
            in++;
        if (*in == '\0')
            return 0;
        if (*argc == SHELL_ARGS_MAX - 1)
            return -1;
        argv[(*argc)++] = out;
        char quote = 0;
        for (; *in != '\0'; in++) {
            if (quote != 0 && *in == quote) {
                quote = 0;
            } else if (quote == 0 && (*in == '\'' || *in == '"')) {
                quote = *in;
            } else if (quote != '\'' && *in == '\\' && in[1] != '\0') {
                *out++ = *++in;
            } else if (quote == 0 && (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')) {
                break;
            } else {
                *out++ = *in;
            }
        }
        if (quote != 0)
            return -1;
        if (*in != '\0')
            in++;
        *out++ = '\0';
        argv[*argc] = NULL;
    }
}

/* Reads one line byte by byte (no stdio buffer: a command that then reads a
 * secret or an answer from standard input gets the very next line). Returns
 * its length, -1 at the end of input, -2 if longer than the buffer. */
static long read_command(char *line)
{
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 && n == 0 && !too_long)
            return -1;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 < SHELL_LINE_MAX)
            line[n++] = ch;
        else
            too_long = 1;
    }
    line[n] = '\0';
    return too_long ? -2 : (long)n;
}

/* Waits for input; 0 when idle_ms passed first (idle_ms 0: wait forever). */
static int wait_input(long idle_ms)
{
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    int n;
    do
        n = poll(&p, 1, idle_ms > 0 ? (int)idle_ms : -1);
    while (n < 0 && errno == EINTR);
    return n != 0;
}

/* "N" minutes, or "Ns" seconds (for tests); 0 disables. -1 if malformed. */
static long parse_idle(const char *text)
{
    size_t v = 0, len = strlen(text);
    char buf[32];
    int seconds = len > 1 && text[len - 1] == 's';
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len + 1);
    if (seconds)
        buf[len - 1] = '\0';
    if (cli_parse_size(buf, 0, seconds ? 86400 : 1440, &v) != 0)
        return -1;
    return (long)v * (seconds ? 1000L : 60000L);
}

static void lock_now(cli *c, const char *why)
{
    if (c->client != NULL && vault_client_lock(c->client) == VAULT_OK)
        fprintf(stderr, "zkvault: locked (%s): the next command asks for the password\n", why);
}

/* Runs one line; returns 1 when the shell should end. */
static int run_line(cli *c, char *line)
{
    char *argv[SHELL_ARGS_MAX];
    int argc = 0;
    if (split(line, argv, &argc) != 0) {
        cli_usage("unbalanced quotes or too many words");
        return 0;
    }
    if (argc == 0)
        return 0;
    if (strcmp(argv[0], "exit") == 0 || strcmp(argv[0], "quit") == 0)
        return 1;
    if (strcmp(argv[0], "lock") == 0) {
        lock_now(c, "asked");
        return 0;
    }
    if (strcmp(argv[0], "shell") == 0) {
        cli_usage("already in the shell");
        return 0;
    }
    optind = 0;
    int rc = c->run(c, argc, argv);
    if (rc != CLI_EXIT_OK)
        fprintf(stderr, "zkvault: [exit %d]\n", rc);
    fflush(stdout);
    return 0;
}

enum { OPT_LOCK_AFTER = OPT_CMD };

static const char shell_help[] =
    "usage: zkvault shell [--lock-after MINUTES]\n"
    "\n"
    "Unlocks the vault once, then reads commands line by line from standard\n"
    "input (the same commands, without `zkvault`; quotes and backslashes work as\n"
    "in a shell): `list`, `get github --show`, `sync`, ... Also `lock` (wipe the\n"
    "keys now), `exit` or `quit` (or end of input). Global options are fixed\n"
    "when the shell starts. No history file is written.\n"
    "      --lock-after N     lock after N idle minutes (default 5; 0: never;\n"
    "                         \"Ns\": seconds); the next command unlocks again\n";

int cli_cmd_shell(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"lock-after", required_argument, NULL, OPT_LOCK_AFTER},
        {NULL, 0, NULL, 0},
    };
    long idle_ms = 5 * 60000L;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, shell_help)) != OPT_END) {
        if (opt != OPT_LOCK_AFTER)
            return CLI_OPT_RETURN(opt);
        if ((idle_ms = parse_idle(optarg)) < 0)
            return cli_usage("--lock-after takes minutes (0..1440) or seconds as \"Ns\"");
    }
    if (optind != argc)
        return cli_usage("shell takes no arguments");
    if (c->run == NULL)
        return cli_error(CLI_EXIT_ERROR, "no dispatcher");
    int rc = cli_unlock(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    c->in_shell = 1;
    int tty = isatty(STDIN_FILENO);
    char *line = sodium_malloc(SHELL_LINE_MAX);
    if (line == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    for (int done = 0; !done;) {
        if (tty)
            fputs("zkvault> ", stdout);
        fflush(stdout);
        if (!wait_input(idle_ms)) {
            lock_now(c, "idle");
            if (!wait_input(0))
                break;
        }
        long len = read_command(line);
        if (len == -1)
            break;
        if (len == -2)
            cli_usage("line longer than %d bytes: ignored", SHELL_LINE_MAX - 1);
        else
            done = run_line(c, line);
        sodium_memzero(line, SHELL_LINE_MAX);
    }
    sodium_free(line);
    c->in_shell = 0;
    return CLI_EXIT_OK; /* the dispatcher's caller closes the client: keys wiped */
}

/*
 * Secrets in and progress out. The master password comes from the terminal
 * (echo off), from a file descriptor the caller passed, or from the
 * environment — never from argv, which every user of the machine can read in
 * /proc. Every buffer that held a secret lives in sodium_malloc memory and is
 * wiped when freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

char *cli_secret_new(void)
{
    char *s = sodium_malloc(CLI_SECRET_MAX + 1);
    if (s != NULL)
        memset(s, 0, CLI_SECRET_MAX + 1);
    return s;
}

void cli_secret_free(char *secret)
{
    sodium_free(secret); /* wipes first */
}

/* Reads one line from fd into buf (at most CLI_SECRET_MAX - 1 bytes), byte by
 * byte so that nothing after the newline is consumed: the next password on
 * the same descriptor stays there. A trailing "\r\n" or "\n" is dropped.
 * Returns the length, -1 on a read error, -2 if the line is too long. */
static long read_line(int fd, char *buf)
{
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || ch == '\n')
            break;
        if (n + 1 >= CLI_SECRET_MAX)
            too_long = 1;
        else
            buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (too_long) {
        sodium_memzero(buf, CLI_SECRET_MAX);
        return -2;
    }
    return (long)n;
}

/* The terminal settings to restore if a signal ends the program while echo
 * is off (Ctrl-C at the password prompt must not leave a mute terminal). */
static struct termios echo_saved;
static volatile sig_atomic_t echo_tty = -1;

static void restore_echo_and_reraise(int sig)
{
    if (echo_tty >= 0)
        tcsetattr(echo_tty, TCSAFLUSH, &echo_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads a line from the terminal with echo off, restoring the terminal even
 * when the read fails or a signal interrupts it. */
static long read_tty_noecho(int tty, const char *prompt, char *buf)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP};
    struct sigaction on_signal, previous[sizeof sigs / sizeof sigs[0]];
    struct termios quiet;
    if (tcgetattr(tty, &echo_saved) != 0)
        return -1;
    quiet = echo_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    memset(&on_signal, 0, sizeof on_signal);
    on_signal.sa_handler = restore_echo_and_reraise;
    sigemptyset(&on_signal.sa_mask);
    echo_tty = tty;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &on_signal, &previous[i]);
    long n = -1;
    if (write(tty, prompt, strlen(prompt)) >= 0 && tcsetattr(tty, TCSAFLUSH, &quiet) == 0)
        n = read_line(tty, buf);
    tcsetattr(tty, TCSAFLUSH, &echo_saved);
    echo_tty = -1;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &previous[i], NULL);
    if (write(tty, "\n", 1) < 0 && n >= 0)
        n = -1;
    return n;
}

static int tty_secret(const char *prompt, int confirm, char *out)
{
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0)
        return -1;
    int rc = CLI_EXIT_OK;
    char *again = confirm ? cli_secret_new() : NULL;
    long n = read_tty_noecho(tty, prompt, out);
    if (n == -2)
        rc = cli_error(CLI_EXIT_USAGE, "password too long (at most %u bytes)",
                       VAULT_PASSWORD_MAX_BYTES);
    else if (n < 0)
        rc = cli_error(CLI_EXIT_ERROR, "could not read from the terminal");
    if (rc == CLI_EXIT_OK && confirm) {
        if (again == NULL)
            rc = cli_error(CLI_EXIT_ERROR, "out of secure memory");
        else if (read_tty_noecho(tty, "Repeat: ", again) < 0)
            rc = cli_error(CLI_EXIT_ERROR, "could not read from the terminal");
        else if (strlen(again) != strlen(out) ||
                 sodium_memcmp(again, out, strlen(out)) != 0)
            rc = cli_error(CLI_EXIT_USAGE, "the two passwords differ");
    }
    cli_secret_free(again);
    close(tty);
    return rc;
}

/* Takes the variable's value, then wipes it from this process's environment
 * so that nothing later (a child process, a crash dump) sees it. */
static int env_secret(const char *env, char *out)
{
    char *value = getenv(env);
    if (value == NULL)
        return -1;
    size_t len = strlen(value);
    int rc = CLI_EXIT_OK;
    if (len >= CLI_SECRET_MAX)
        rc = cli_error(CLI_EXIT_USAGE, "%s is too long (at most %u bytes)", env,
                       VAULT_PASSWORD_MAX_BYTES);
    else
        memcpy(out, value, len + 1);
    sodium_memzero(value, len);
    unsetenv(env);
    return rc;
}

int cli_read_password(cli *c, const char *prompt, const char *env, int confirm, char **out)
{
    *out = NULL;
    char *buf = cli_secret_new();
    if (buf == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of secure memory");
    int rc;
    if (c->password_fd >= 0) {
        long n = read_line(c->password_fd, buf);
        if (n == -2)
            rc = cli_error(CLI_EXIT_USAGE, "password too long (at most %u bytes)",
                           VAULT_PASSWORD_MAX_BYTES);
        else if (n < 0)
            rc = cli_error(CLI_EXIT_ERROR, "could not read the password from fd %d",
                           c->password_fd);
        else
            rc = CLI_EXIT_OK;
    } else {
        rc = env_secret(env, buf);
        if (rc < 0)
            rc = tty_secret(prompt, confirm, buf);
        if (rc < 0)
            rc = cli_error(CLI_EXIT_USAGE, "no terminal to read the password from: use "
                                           "--password-fd N or %s", env);
    }
    if (rc == CLI_EXIT_OK && buf[0] == '\0')
        rc = cli_error(CLI_EXIT_USAGE, "the password is empty");
    if (rc != CLI_EXIT_OK) {
        cli_secret_free(buf);
        return rc;
    }
    *out = buf;
    return CLI_EXIT_OK;
}

int cli_read_secret_key(cli *c, char **out)
{
    static const char env[] = "ZKVAULT_SECRET_KEY";
    *out = NULL;
    char *buf = cli_secret_new();
    if (buf == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of secure memory");
    int rc;
    if (c->secret_key_fd >= 0) {
        rc = read_line(c->secret_key_fd, buf) < 0
                 ? cli_error(CLI_EXIT_ERROR, "could not read the Secret Key from fd %d",
                             c->secret_key_fd)
                 : CLI_EXIT_OK;
    } else {
        rc = env_secret(env, buf);
        if (rc < 0)
            rc = tty_secret("Secret Key (from the Emergency Kit): ", 0, buf);
        if (rc < 0)
            rc = cli_error(CLI_EXIT_USAGE, "this device needs the account's Secret Key: give "
                                           "--secret-key-fd N or %s", env);
    }
    if (rc != CLI_EXIT_OK) {
        cli_secret_free(buf);
        return rc;
    }
    *out = buf;
    return CLI_EXIT_OK;
}

int cli_read_secret_value(const char *prompt, char **out)
{
    *out = NULL;
    char *buf = cli_secret_new();
    if (buf == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of secure memory");
    int rc = CLI_EXIT_OK;
    if (isatty(STDIN_FILENO)) {
        rc = tty_secret(prompt, 0, buf);
        if (rc < 0)
            rc = cli_error(CLI_EXIT_ERROR, "could not read from the terminal");
    } else {
        long n = read_line(STDIN_FILENO, buf);
        if (n == -2)
            rc = cli_error(CLI_EXIT_USAGE, "value too long (at most %u bytes)",
                           VAULT_PASSWORD_MAX_BYTES);
        else if (n < 0)
            rc = cli_error(CLI_EXIT_ERROR, "could not read standard input");
    }
    if (rc != CLI_EXIT_OK) {
        cli_secret_free(buf);
        return rc;
    }
    *out = buf;
    return CLI_EXIT_OK;
}

void cli_progress_begin(const cli *c, const char *what)
{
    if (!c->tty_out)
        return;
    fprintf(stdout, "%s\xe2\x80\xa6", what); /* U+2026 HORIZONTAL ELLIPSIS */
    fflush(stdout);
}

void cli_progress_end(const cli *c)
{
    if (!c->tty_out)
        return;
    fputs("\r\033[K", stdout); /* erase the progress line */
    fflush(stdout);
}

/* Asks a yes/no question on the terminal, or reads one line of standard input
 * when there is none: 1 only for "y" or "yes". */
int cli_confirm(const char *question)
{
    char answer[16] = {0};
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int fd = tty >= 0 ? tty : STDIN_FILENO;
    if (tty >= 0) {
        if (write(tty, question, strlen(question)) < 0)
            answer[0] = '\0';
    } else {
        fputs(question, stdout);
        fflush(stdout);
    }
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof answer && read(fd, &ch, 1) == 1 && ch != '\n')
        answer[n++] = ch;
    if (tty >= 0)
        close(tty);
    if (tty < 0)
        putchar('\n');
    return strcmp(answer, "y") == 0 || strcmp(answer, "yes") == 0;
}

char *cli_read_stream(FILE *f, size_t max, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            size_t new_cap = cap * 2;
            char *bigger = new_cap > max + 1 ? NULL : malloc(new_cap);
            if (bigger != NULL)
                memcpy(bigger, buf, n);
            sodium_memzero(buf, cap);
            free(buf);
            buf = bigger;
            cap = new_cap;
            if (buf == NULL)
                break;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                cli_free_text(buf, cap);
                buf = NULL;
            }
            break;
        }
    }
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

void cli_free_text(char *text, size_t len)
{
    if (text != NULL)
        sodium_memzero(text, len);
    free(text);
}

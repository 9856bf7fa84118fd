/*
 * clip: copies a field's value (or a TOTP field's current code) to the
 * clipboard and clears it after a timeout, only if it still holds the value.
 *
 * The clipboard is an external tool: $ZKVAULT_CLIPBOARD (a shell command
 * that reads the value on standard input) with $ZKVAULT_CLIPBOARD_PASTE
 * (prints the clipboard), else wl-copy/wl-paste under Wayland, else xclip or
 * xsel under X11. The vault is locked (keys wiped) before the wait; only the
 * copied value stays, in sodium_malloc memory, to compare with at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

#define CLIP_MAX (64u * 1024u + 1u)

typedef struct clip_tool {
    const char *name;           /* for messages */
    const char *const *copy;    /* argv; NULL: the shell command copy_sh */
    const char *const *paste;
    const char *copy_sh, *paste_sh;
} clip_tool;

static const char *const wl_copy[] = {"wl-copy", NULL};
static const char *const wl_paste[] = {"wl-paste", "--no-newline", NULL};
static const char *const xclip_copy[] = {"xclip", "-selection", "clipboard", "-in", NULL};
static const char *const xclip_paste[] = {"xclip", "-selection", "clipboard", "-out", NULL};
static const char *const xsel_copy[] = {"xsel", "--clipboard", "--input", NULL};
static const char *const xsel_paste[] = {"xsel", "--clipboard", "--output", NULL};

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path != NULL ? path : ""; *p != '\0';) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
        if (len > 0 && access(buf, X_OK) == 0)
            return 1;
        p += len + (p[len] == ':');
    }
    return 0;
}

static int has_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0';
}

/* The clipboard tool to use, or 0 when there is none. */
static int find_tool(clip_tool *t)
{
    memset(t, 0, sizeof *t);
    if (has_env("ZKVAULT_CLIPBOARD")) {
        t->name = "$ZKVAULT_CLIPBOARD";
        t->copy_sh = getenv("ZKVAULT_CLIPBOARD");
        t->paste_sh = has_env("ZKVAULT_CLIPBOARD_PASTE") ? getenv("ZKVAULT_CLIPBOARD_PASTE") : NULL;
        return 1;
    }
    if (has_env("WAYLAND_DISPLAY") && on_path("wl-copy") && on_path("wl-paste")) {
        *t = (clip_tool){"wl-copy", wl_copy, wl_paste, NULL, NULL};
        return 1;
    }
    if (has_env("DISPLAY") && on_path("xclip")) {
        *t = (clip_tool){"xclip", xclip_copy, xclip_paste, NULL, NULL};
        return 1;
    }
    if (has_env("DISPLAY") && on_path("xsel")) {
        *t = (clip_tool){"xsel", xsel_copy, xsel_paste, NULL, NULL};
        return 1;
    }
    return 0;
}

/* Runs argv (or sh -c sh) with `in` on its standard input and, when out is
 * given, collects its standard output (at most CLIP_MAX bytes). 0 on exit
 * status 0. */
static int run_tool(const char *const *argv, const char *sh, const char *in, size_t in_len,
                    char *out, size_t *out_len)
{
    int to[2], from[2] = {-1, -1};
    if (pipe(to) != 0 || (out != NULL && pipe(from) != 0))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to[0], STDIN_FILENO);
        if (out != NULL)
            dup2(from[1], STDOUT_FILENO);
        else /* a clipboard owner (xclip) lives on: keep it off our output */
            dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
        close(to[0]), close(to[1]);
        if (out != NULL)
            close(from[0]), close(from[1]);
        if (sh != NULL)
            execl("/bin/sh", "sh", "-c", sh, (char *)NULL);
        else
            execvp(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(to[0]);
    if (out != NULL)
        close(from[1]);
    int ok = pid > 0;
    signal(SIGPIPE, SIG_IGN);
    if (ok && in_len > 0 && write(to[1], in, in_len) != (ssize_t)in_len)
        ok = 0;
    close(to[1]);
    size_t n = 0;
    ssize_t r = 0;
    while (out != NULL && n < CLIP_MAX && (r = read(from[0], out + n, CLIP_MAX - n)) > 0)
        n += (size_t)r;
    if (out != NULL) {
        close(from[0]);
        *out_len = n;
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) != pid)
        ok = 0;
    return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Waits `seconds` (Ctrl-C ends the wait early), then clears the clipboard
 * if it still holds value: something copied since is left alone. */
static int wait_and_clear(const clip_tool *t, const char *value, size_t len, size_t seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (size_t i = 0; i < 10 * seconds && !interrupted; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char *now = sodium_malloc(CLIP_MAX);
    size_t now_len = 0;
    if (now == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    int rc = CLI_EXIT_OK;
    if (run_tool(t->paste, t->paste_sh, NULL, 0, now, &now_len) != 0) {
        rc = cli_error(CLI_EXIT_NO_CLIPBOARD, "cannot read the clipboard to clear it");
    } else if (now_len == len && sodium_memcmp(now, value, len) == 0) {
        if (run_tool(t->copy, t->copy_sh, "", 0, NULL, NULL) != 0)
            rc = cli_error(CLI_EXIT_NO_CLIPBOARD, "cannot clear the clipboard");
        else
            fputs("clipboard cleared\n", stderr);
    } else {
        fputs("the clipboard changed since: left as it is\n", stderr);
    }
    sodium_free(now); /* wipes */
    return rc;
}

/* The value to copy: FIELD's value, or for a TOTP field its current code. */
static int field_value(cli *c, vault *v, const char *id, const char *field, char **value)
{
    cJSON *item = NULL;
    int rc = cli_get_item(c, v, id, &item);
    const cJSON *f, *match = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring, field) == 0)
            match = f;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(match, "type");
    if (rc == CLI_EXIT_OK && match == NULL) {
        rc = cli_error(CLI_EXIT_NOT_FOUND, "the item has no field '%s'", field);
    } else if (rc == CLI_EXIT_OK && cJSON_IsString(type) &&
               strcmp(type->valuestring, "totp") == 0) {
        char *code = NULL;
        uint32_t left = 0;
        rc = cli_check(NULL, vault_totp_code(cJSON_GetObjectItemCaseSensitive(match, "value")
                                                 ->valuestring,
                                             (uint64_t)time(NULL), &code, &left),
                       "no code");
        if (rc == CLI_EXIT_OK && (*value = cli_secret_new()) != NULL)
            snprintf(*value, CLI_SECRET_MAX, "%s", code);
        vault_free(code);
    } else if (rc == CLI_EXIT_OK) {
        const char *text = cJSON_GetObjectItemCaseSensitive(match, "value")->valuestring;
        if (strlen(text) + 1 > CLI_SECRET_MAX)
            rc = cli_error(CLI_EXIT_ERROR, "the value is too long for the clipboard");
        else if ((*value = cli_secret_new()) != NULL)
            memcpy(*value, text, strlen(text) + 1);
    }
    if (rc == CLI_EXIT_OK && *value == NULL)
        rc = cli_error(CLI_EXIT_ERROR, "out of memory");
    cJSON_Delete(item); /* wiped by the cJSON hooks */
    return rc;
}

enum { OPT_TIMEOUT = OPT_CMD };

static const char clip_help[] =
    "usage: zkvault clip ITEM [FIELD] [--timeout SECONDS]\n"
    "\n"
    "Copies FIELD's value (default \"password\"; for a TOTP field, its current\n"
    "code) to the clipboard, then waits and clears the clipboard, unless\n"
    "something else was copied since. The vault is locked during the wait;\n"
    "Ctrl-C clears at once.\n"
    "      --timeout S        seconds before clearing (default 30; 0: never clear)\n"
    "Clipboard: $ZKVAULT_CLIPBOARD (a shell command reading the value on its\n"
    "standard input) with $ZKVAULT_CLIPBOARD_PASTE (printing the clipboard), else\n"
    "wl-copy/wl-paste (Wayland), xclip or xsel (X11). None: exit 9.\n";

int cli_cmd_clip(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    size_t timeout = 30;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, clip_help)) != OPT_END) {
        if (opt != OPT_TIMEOUT)
            return CLI_OPT_RETURN(opt);
        if (cli_parse_size(optarg, 0, 86400, &timeout) != 0)
            return cli_usage("--timeout needs seconds (0..86400)");
    }
    if (optind != argc - 1 && optind != argc - 2)
        return cli_usage("clip takes ITEM and an optional FIELD");
    const char *field = optind == argc - 2 ? argv[optind + 1] : "password";
    clip_tool tool;
    if (!find_tool(&tool))
        return cli_error(CLI_EXIT_NO_CLIPBOARD,
                         "no clipboard: needs wl-copy and wl-paste (Wayland), or xclip or xsel "
                         "with a DISPLAY (X11), or ZKVAULT_CLIPBOARD");
    if (timeout > 0 && tool.copy == NULL && tool.paste_sh == NULL)
        return cli_usage("ZKVAULT_CLIPBOARD needs ZKVAULT_CLIPBOARD_PASTE to clear safely "
                         "(or --timeout 0)");
    vault *v = NULL;
    char *id = NULL, *value = NULL;
    int rc = cli_open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = field_value(c, v, id, field, &value);
    if (!c->in_shell)
        cli_close(c); /* locks: the keys are wiped before the wait */
    size_t len = value != NULL ? strlen(value) : 0;
    if (rc == CLI_EXIT_OK && run_tool(tool.copy, tool.copy_sh, value, len, NULL, NULL) != 0)
        rc = cli_error(CLI_EXIT_NO_CLIPBOARD, "%s could not set the clipboard", tool.name);
    if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "copied %s of %.8s to the clipboard%s\n", field, id,
                timeout > 0 ? "; clearing it in a moment (Ctrl-C: now)" : "");
        if (timeout > 0)
            rc = wait_and_clear(&tool, value, len, timeout);
    }
    cli_secret_free(value);
    free(id);
    return rc;
}

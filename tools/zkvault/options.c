/*
 * Command-line options: the global options (accepted before or after the
 * command) merged into each command's own, and small value parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct option cli_global_options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"server", required_argument, NULL, OPT_SERVER},
    {"server-db", required_argument, NULL, OPT_SERVER_DB},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"password-fd", required_argument, NULL, OPT_PASSWORD_FD},
    {"secret-key-fd", required_argument, NULL, OPT_SECRET_KEY_FD},
    {"kdf-ops", required_argument, NULL, OPT_KDF_OPS},
    {"kdf-mem", required_argument, NULL, OPT_KDF_MEM},
    {"trash-days", required_argument, NULL, OPT_TRASH_DAYS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const struct option cli_version_option[] = {
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

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
    if (c->in_shell && ((opt >= OPT_STORE && opt <= OPT_PASSWORD_FD) || opt == OPT_CACERT)) {
        cli_usage("in the shell, the store, server, email and password source are those "
                  "given to `zkvault shell`");
        return -1;
    }
    switch (opt) {
    case OPT_STORE: c->store = arg; return 1;
    case OPT_SERVER: c->server_url = arg; return 1;
    case OPT_SERVER_DB: c->server_db = arg; return 1;
    case OPT_INSECURE: c->insecure = 1; return 1;
    case OPT_CACERT: c->ca_file = arg; return 1;
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
    case OPT_TRASH_DAYS:
        if (parse_u64(arg, &v) != 0 || v > 36500) {
            cli_usage("--trash-days needs a number of days (0..36500; 0 keeps the trash)");
            return -1;
        }
        c->trash_days = (long)v;
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


/* Parses the options of a command whose only option is the flag --name
 * (--json, --show, --replace), which sets *flag. Returns CLI_EXIT_OK, or
 * OPT_HELP after the help or CLI_EXIT_USAGE after a bad option (for
 * CLI_OPT_RETURN). */
int cli_parse_flag(cli *c, int argc, char **argv, const char *help, const char *name,
                      int *flag)
{
    const struct option opts[] = {{name, no_argument, NULL, OPT_CMD}, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, help)) != OPT_END) {
        if (opt != OPT_CMD)
            return opt == OPT_HELP ? OPT_HELP : CLI_EXIT_USAGE;
        *flag = 1;
    }
    return CLI_EXIT_OK;
}

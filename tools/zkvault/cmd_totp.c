/* totp: the current one-time code of an item's TOTP field. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

enum { OPT_TIME = OPT_CMD };

static const char totp_help[] =
    "usage: zkvault totp ITEM [--time UNIX_SECONDS]\n"
    "\n"
    "Prints the current code of the item's TOTP field (RFC 6238; added with\n"
    "`zkvault add/edit --totp`) on standard output, and how many seconds it\n"
    "stays valid on standard error.\n"
    "      --time T           the code at T (seconds since 1970) instead of now\n";

int cli_cmd_totp(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"time", required_argument, NULL, OPT_TIME},
        {NULL, 0, NULL, 0},
    };
    uint64_t when = (uint64_t)time(NULL);
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, totp_help)) != OPT_END) {
        size_t t = 0;
        if (opt != OPT_TIME)
            return CLI_OPT_RETURN(opt);
        if (cli_parse_size(optarg, 0, (size_t)INT64_MAX, &t) != 0)
            return cli_usage("--time needs seconds since 1970");
        when = (uint64_t)t;
    }
    if (optind != argc - 1)
        return cli_usage("totp takes one ITEM");
    vault *v = NULL;
    char *id = NULL, *code = NULL;
    uint32_t left = 0;
    int rc = cli_open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(NULL, vault_item_totp(v, id, when, &code, &left), "no code");
    if (rc == CLI_EXIT_OK) {
        puts(code);
        fprintf(stderr, "valid for %u more second%s\n", left, left == 1 ? "" : "s");
    }
    vault_free(code);
    free(id);
    return rc;
}

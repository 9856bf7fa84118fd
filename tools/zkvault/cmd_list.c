/* list and search. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

enum { OPT_JSON = OPT_CMD, OPT_DELETED, OPT_TRASH, OPT_REVEAL };

static const struct option list_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"reveal", no_argument, NULL, OPT_REVEAL},
    {"deleted", no_argument, NULL, OPT_DELETED},
    {"trash", no_argument, NULL, OPT_TRASH},
    {NULL, 0, NULL, 0},
};

/* list and search share their output: text lines, or JSON without secrets
 * unless --reveal. */
static int print_items(cli *c, int st, char *json, int as_json, int reveal)
{
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot list items");
    cJSON *list = NULL;
    int rc = cli_parse_owned(json, &list);
    if (rc == CLI_EXIT_OK && as_json)
        rc = cli_print_json(list, reveal);
    else if (rc == CLI_EXIT_OK)
        cli_print_list(list);
    cJSON_Delete(list);
    return rc;
}

typedef struct list_args {
    int as_json, reveal;
    uint32_t flags;
} list_args;

static int parse_list(cli *c, int argc, char **argv, const char *help, int listing,
                      list_args *a)
{
    int opt;
    memset(a, 0, sizeof *a);
    while ((opt = cli_getopt(c, argc, argv, "h", list_options, help)) != OPT_END) {
        if (opt == OPT_JSON)
            a->as_json = 1;
        else if (opt == OPT_REVEAL)
            a->reveal = 1;
        else if (listing && opt == OPT_DELETED && a->flags == 0)
            a->flags = VAULT_LIST_DELETED;
        else if (listing && opt == OPT_TRASH && a->flags == 0)
            a->flags = VAULT_LIST_TRASH;
        else if (opt == OPT_DELETED || opt == OPT_TRASH)
            return listing ? cli_usage("give --deleted or --trash, not both")
                           : cli_usage("search takes no --deleted or --trash");
        else
            return opt == OPT_HELP ? OPT_HELP : CLI_EXIT_USAGE;
    }
    if (a->reveal && !a->as_json)
        return cli_usage("--reveal goes with --json");
    return CLI_EXIT_OK;
}

static const char list_help[] =
    "usage: zkvault list [--trash | --deleted] [--json [--reveal]]\n"
    "\n"
    "Lists items ordered by title: short id, type, title.\n"
    "      --trash            only the items in the trash\n"
    "      --deleted          every item: those in the trash and the tombstones too\n"
    "      --json             the library's JSON array, without hidden values and\n"
    "                         history\n"
    "      --reveal           with --json: include hidden values and history\n";

static const char search_help[] =
    "usage: zkvault search QUERY [--json [--reveal]]\n"
    "\n"
    "Items whose title, tags or visible field values contain QUERY, compared\n"
    "after Unicode normalisation (NFKC) and case folding: \"arzte\" does not find\n"
    "\"\xc3\x84rzte\", \"\xc3\xa4rzte\" and \"\xc3\x84RZTE\" do. Hidden values and the trash\n"
    "are never searched. --json and --reveal as for `zkvault list`.\n";

/* list and search differ only in their operand and the library call. */
static int list_or_search(cli *c, int argc, char **argv, const char *help, int listing)
{
    list_args a;
    int rc = parse_list(c, argc, argv, help, listing, &a);
    if (rc != CLI_EXIT_OK)
        return rc == OPT_HELP ? CLI_EXIT_OK : rc;
    if (optind != argc - !listing)
        return cli_usage(listing ? "list takes no arguments" : "search takes one QUERY");
    vault *v = NULL;
    if ((rc = cli_open_vault(c, &v)) != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    int st = listing ? vault_item_list(v, a.flags, &json)
                     : vault_item_search(v, argv[optind], &json);
    return print_items(c, st, json, a.as_json, a.reveal);
}

int cli_cmd_list(cli *c, int argc, char **argv)
{
    return list_or_search(c, argc, argv, list_help, 1);
}

int cli_cmd_search(cli *c, int argc, char **argv)
{
    return list_or_search(c, argc, argv, search_help, 0);
}

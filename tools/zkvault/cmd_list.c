/* list and search. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

enum { OPT_JSON = OPT_CMD, OPT_DELETED, OPT_TRASH, OPT_REVEAL };

/* list and search share their output. */
static int print_items(cli *c, int st, char *json, int as_json)
{
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot list items");
    if (as_json) {
        cli_print_json_owned(json);
        return CLI_EXIT_OK;
    }
    cJSON *list = NULL;
    int rc = cli_parse_owned(json, &list);
    if (rc == CLI_EXIT_OK)
        cli_print_list(list);
    cJSON_Delete(list);
    return rc;
}

static const char list_help[] =
    "usage: zkvault list [--json] [--deleted]\n"
    "\n"
    "Lists items ordered by title: short id, type, title.\n"
    "      --json             the library's JSON array (full items, hidden values too)\n"
    "      --deleted          include tombstones of deleted items\n";

int cli_cmd_list(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"deleted", no_argument, NULL, OPT_DELETED},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, opt;
    uint32_t flags = 0;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, list_help)) != OPT_END) {
        if (opt == OPT_JSON)
            as_json = 1;
        else if (opt == OPT_DELETED)
            flags |= VAULT_LIST_DELETED;
        else
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc)
        return cli_usage("list takes no arguments");
    vault *v = NULL;
    int rc = cli_open_vault(c, &v);
    if (rc != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    int st = vault_item_list(v, flags, &json);
    return print_items(c, st, json, as_json);
}

static const char search_help[] =
    "usage: zkvault search QUERY [--json]\n"
    "\n"
    "Items whose title, tags or visible field values contain QUERY (ASCII\n"
    "case-insensitive). Hidden values are never searched.\n";

int cli_cmd_search(cli *c, int argc, char **argv)
{
    int as_json = 0;
    int rc = cli_parse_flag(c, argc, argv, search_help, "json", &as_json);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("search takes one QUERY");
    vault *v = NULL;
    if ((rc = cli_open_vault(c, &v)) != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    int st = vault_item_search(v, argv[optind], &json);
    return print_items(c, st, json, as_json);
}


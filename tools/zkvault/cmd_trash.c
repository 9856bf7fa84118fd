/* rm, restore: the trash. */
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

static const char rm_help[] =
    "usage: zkvault rm ITEM\n"
    "\n"
    "Deletes an item: its content is wiped and a tombstone syncs the delete.\n";

int cli_cmd_rm(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, rm_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind != argc - 1)
        return cli_usage("rm takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    int rc = cli_open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_item_delete(v, id), "cannot delete");
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK)
        printf("deleted %s\n", id);
    free(id);
    return rc;
}


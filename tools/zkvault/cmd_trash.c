/* rm and restore: the trash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

static const char rm_help[] =
    "usage: zkvault rm ITEM [--purge]\n"
    "\n"
    "Moves an item to the trash: it leaves `list` and `search`, keeps its content\n"
    "(and syncs so), and comes back with `zkvault restore ITEM`. Items stay in\n"
    "the trash for --trash-days days (default 30), then are purged when the\n"
    "vault is next saved. `zkvault list --trash` shows the trash.\n"
    "      --purge            delete now, from the trash or not: the content is\n"
    "                         wiped and a tombstone syncs the delete\n";

int cli_cmd_rm(cli *c, int argc, char **argv)
{
    int purge = 0;
    int rc = cli_parse_flag(c, argc, argv, rm_help, "purge", &purge);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("rm takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    rc = cli_open_vault(c, &v);
    /* A purge also reaches what is already in the trash. */
    if (rc == CLI_EXIT_OK)
        rc = cli_resolve_in(c, v, argv[optind], purge ? VAULT_LIST_DELETED : 0, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(NULL, purge ? vault_item_delete(v, id) : vault_item_trash(v, id),
                       purge ? "cannot delete" : "cannot move to the trash");
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK && purge)
        printf("deleted %s\n", id);
    else if (rc == CLI_EXIT_OK)
        printf("moved %s to the trash (`zkvault restore %.8s` brings it back)\n", id, id);
    free(id);
    return rc;
}

static const char restore_help[] =
    "usage: zkvault restore ITEM\n"
    "\n"
    "Takes an item out of the trash (ITEM: id, unique id prefix or title among\n"
    "the items in the trash; see `zkvault list --trash`).\n";

int cli_cmd_restore(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, restore_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind != argc - 1)
        return cli_usage("restore takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    int rc = cli_open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = cli_resolve_in(c, v, argv[optind], VAULT_LIST_TRASH, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(NULL, vault_item_restore(v, id), "cannot restore");
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK)
        printf("restored %s\n", id);
    free(id);
    return rc;
}

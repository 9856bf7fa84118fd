/* get and history: show one item, or the earlier values of its hidden fields. */
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

enum { OPT_SHOW = OPT_CMD, OPT_FIELD_ONLY, OPT_JSON, OPT_REVEAL };

static const char get_help[] =
    "usage: zkvault get ITEM [--show] [--field NAME] [--json [--reveal]]\n"
    "\n"
    "Shows an item (ITEM: id, unique id prefix or title). Hidden fields are\n"
    "masked unless --show.\n"
    "      --show             reveal hidden fields\n"
    "      --field NAME       print only that field's value (for scripts)\n"
    "      --json             print the item as the library's JSON, without hidden\n"
    "                         values and history\n"
    "      --reveal           with --json: include hidden values and history\n";

int cli_cmd_get(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"show", no_argument, NULL, OPT_SHOW},
        {"field", required_argument, NULL, OPT_FIELD_ONLY},
        {"json", no_argument, NULL, OPT_JSON},
        {"reveal", no_argument, NULL, OPT_REVEAL},
        {NULL, 0, NULL, 0},
    };
    int show = 0, as_json = 0, reveal = 0, opt;
    const char *field = NULL;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, get_help)) != OPT_END) {
        if (opt == OPT_SHOW)
            show = 1;
        else if (opt == OPT_FIELD_ONLY)
            field = optarg;
        else if (opt == OPT_JSON)
            as_json = 1;
        else if (opt == OPT_REVEAL)
            reveal = 1;
        else
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc - 1)
        return cli_usage("get takes one ITEM");
    if (reveal && !as_json)
        return cli_usage("--reveal goes with --json");
    vault *v = NULL;
    char *id = NULL;
    cJSON *item = NULL;
    int rc = cli_open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_get_item(c, v, id, &item);
    if (rc == CLI_EXIT_OK && field != NULL) {
        const cJSON *f = NULL, *match = NULL;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, field) == 0)
                match = f;
        }
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(match, "value");
        if (cJSON_IsString(value))
            puts(value->valuestring);
        else
            rc = cli_error(CLI_EXIT_NOT_FOUND, "the item has no field '%s'", field);
    } else if (rc == CLI_EXIT_OK && as_json) {
        rc = cli_print_json(item, reveal);
    } else if (rc == CLI_EXIT_OK) {
        cli_print_item(item, show);
    }
    free(id);
    cJSON_Delete(item);
    return rc;
}

static const char history_help[] =
    "usage: zkvault history ITEM [--show]\n"
    "\n"
    "Earlier values of the item's hidden fields (the last 10 per field), newest\n"
    "first: when it changed, the field, the old value (masked unless --show).\n";

int cli_cmd_history(cli *c, int argc, char **argv)
{
    int show = 0;
    int rc = cli_parse_flag(c, argc, argv, history_help, "show", &show);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("history takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    cJSON *item = NULL;
    rc = cli_open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_get_item(c, v, id, &item);
    if (rc == CLI_EXIT_OK) {
        const cJSON *history = cJSON_GetObjectItemCaseSensitive(item, "history");
        int n = cJSON_GetArraySize(history);
        if (n == 0)
            printf("no history for %s\n", id);
        for (int i = n - 1; i >= 0; i--) {
            const cJSON *h = cJSON_GetArrayItem(history, i);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(h, "value");
            const cJSON *changed = cJSON_GetObjectItemCaseSensitive(h, "changed");
            char when[32];
            cli_format_time(cJSON_IsNumber(changed) ? changed->valuedouble : 0, when, sizeof when);
            printf("%s  %s: %s\n", when, cJSON_IsString(name) ? name->valuestring : "?",
                   !show ? "********" : cJSON_IsString(value) ? value->valuestring : "");
        }
    }
    free(id);
    cJSON_Delete(item);
    return rc;
}


/* export and import of the library's own vault JSON. */
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

static const char export_help[] =
    "usage: zkvault export [FILE]\n"
    "\n"
    "Writes the whole vault (items, tombstones, history, devices) as the\n"
    "library's JSON to FILE (created with mode 0600) or to standard output.\n"
    "The export is PLAINTEXT: every password in it is readable.\n";

int cli_cmd_export(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, export_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind < argc - 1)
        return cli_usage("export takes at most one FILE");
    const char *path = optind < argc && strcmp(argv[optind], "-") != 0 ? argv[optind] : NULL;
    vault *v = NULL;
    char *json = NULL;
    int rc = cli_open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_to_json(v, &json), "cannot export");
    if (rc == CLI_EXIT_OK && path == NULL) {
        puts(json);
    } else if (rc == CLI_EXIT_OK) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        size_t len = strlen(json);
        if (fd < 0)
            rc = cli_error(CLI_EXIT_ERROR, "cannot create %s: %s (it must not exist yet)", path,
                           strerror(errno));
        else if (write(fd, json, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
            rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0 && close(fd) != 0 && rc == CLI_EXIT_OK)
            rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
        if (rc == CLI_EXIT_OK)
            fprintf(stderr, "zkvault: exported to %s (plaintext: keep it safe, delete it after use)\n",
                    path);
    }
    vault_free(json);
    return rc;
}

static const char import_help[] =
    "usage: zkvault import FILE [--replace]\n"
    "\n"
    "Adds the live items of an export (the library's vault JSON; FILE \"-\" reads\n"
    "standard input). Items whose id already exists are skipped, or replaced\n"
    "with --replace.\n";

/* Adds (or replaces) each live item of the parsed export into v. */
static int import_items(cli *c, vault *v, const vault *src, int replace)
{
    char *json = NULL;
    cJSON *list = NULL;
    int st = vault_item_list(src, 0, &json);
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot read the export");
    int rc = cli_parse_owned(json, &list);
    size_t added = 0, replaced = 0, skipped = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        if (rc != CLI_EXIT_OK)
            break;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        char *probe = NULL;
        int exists = cJSON_IsString(id) && vault_item_get(v, id->valuestring, &probe) == VAULT_OK;
        vault_free(probe);
        if (exists && !replace) {
            skipped++;
            continue;
        }
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (copy == NULL) {
            rc = cli_error(CLI_EXIT_ERROR, "out of memory");
            break;
        }
        if (exists)
            cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
        rc = cli_store_item(c, v, exists ? id->valuestring : NULL, copy, NULL);
        cJSON_Delete(copy);
        if (exists)
            replaced++;
        else
            added++;
    }
    cJSON_Delete(list);
    if (rc == CLI_EXIT_OK)
        printf("imported %zu new, replaced %zu, skipped %zu existing\n", added, replaced, skipped);
    return rc;
}

int cli_cmd_import(cli *c, int argc, char **argv)
{
    int replace = 0;
    int rc = cli_parse_flag(c, argc, argv, import_help, "replace", &replace);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("import takes one FILE");
    const char *path = argv[optind];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_error(CLI_EXIT_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    size_t len = 0;
    char *text = cli_read_stream(f, VAULT_BLOB_MAX_PLAINTEXT, &len);
    if (f != stdin)
        fclose(f);
    if (text == NULL)
        return cli_error(CLI_EXIT_ERROR, "cannot read %s (or it is over %u bytes)", path,
                         VAULT_BLOB_MAX_PLAINTEXT);
    vault *src = NULL, *v = NULL;
    rc = cli_check(NULL, vault_from_json(&src, text, len), path);
    cli_free_text(text, len + 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = import_items(c, v, src, replace);
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    vault_close(src);
    return rc;
}

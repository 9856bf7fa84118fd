/*
 * Helpers for item commands: finding an item by id, id prefix or title,
 * building item JSON from options, and printing items.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "items.h"

int cli_vault(cli *c, vault **v)
{
    int st = vault_client_vault(c->client, v);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, "vault");
}

/* Parses a JSON string the library returned, then frees (wipes) the text. */
int cli_parse_owned(char *text, cJSON **out)
{
    *out = cJSON_Parse(text);
    vault_free(text);
    if (*out == NULL)
        return cli_error(CLI_EXIT_ERROR, "the library returned malformed JSON");
    return CLI_EXIT_OK;
}

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(m) ? m->valuestring : "";
}

static int is_hex(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

int cli_resolve_item(cli *c, const vault *v, const char *ref, char **id_out)
{
    return cli_resolve_in(c, v, ref, 0, id_out);
}

int cli_resolve_in(cli *c, const vault *v, const char *ref, uint32_t list_flags, char **id_out)
{
    char *json = NULL;
    cJSON *list = NULL;
    *id_out = NULL;
    int st = vault_item_list(v, list_flags, &json);
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot list items");
    int rc = cli_parse_owned(json, &list);
    if (rc != CLI_EXIT_OK)
        return rc;
    const cJSON *by_id = NULL, *by_title = NULL;
    size_t id_hits = 0, title_hits = 0;
    size_t ref_len = strlen(ref);
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        const char *id = str_member(item, "id");
        if (ref_len >= 4 && is_hex(ref) && strncmp(id, ref, ref_len) == 0) {
            by_id = item;
            id_hits++;
        }
        if (strcasecmp(str_member(item, "title"), ref) == 0) {
            by_title = item;
            title_hits++;
        }
    }
    const cJSON *found = id_hits == 1 ? by_id : (id_hits == 0 && title_hits == 1 ? by_title : NULL);
    if (found != NULL) {
        *id_out = strdup(str_member(found, "id"));
        rc = *id_out == NULL ? cli_error(CLI_EXIT_ERROR, "out of memory") : CLI_EXIT_OK;
    } else if (id_hits > 1 || title_hits > 1) {
        rc = cli_error(CLI_EXIT_USAGE, "'%s' matches %zu items: give more of the id "
                                       "(see `zkvault list`)", ref, id_hits > 1 ? id_hits : title_hits);
    } else {
        rc = cli_error(CLI_EXIT_NOT_FOUND, list_flags == VAULT_LIST_TRASH
                                               ? "no item '%s' in the trash"
                                               : "no item '%s'", ref);
    }
    cJSON_Delete(list);
    return rc;
}

int cli_get_item(cli *c, const vault *v, const char *id, cJSON **out)
{
    char *json = NULL;
    int st = vault_item_get(v, id, &json);
    if (st != VAULT_OK)
        return cli_fail(c, st, id);
    return cli_parse_owned(json, out);
}

/* ---- building items from options ---- */

cJSON *cli_item_fields(cJSON *item)
{
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(item, "fields");
    if (cJSON_IsArray(fields))
        return fields;
    cJSON_DeleteItemFromObjectCaseSensitive(item, "fields");
    return cJSON_AddArrayToObject(item, "fields");
}

static cJSON *find_field(cJSON *fields, const char *name)
{
    cJSON *f;
    cJSON_ArrayForEach(f, fields) {
        if (strcmp(str_member(f, "name"), name) == 0)
            return f;
    }
    return NULL;
}

int cli_set_field(cJSON *item, const char *name, const char *value, int hidden)
{
    return cli_set_typed_field(item, name, value, hidden, NULL);
}

int cli_set_typed_field(cJSON *item, const char *name, const char *value, int hidden,
                        const char *type)
{
    cJSON *fields = cli_item_fields(item);
    if (fields == NULL)
        return -1;
    cJSON *f = find_field(fields, name);
    if (f == NULL) {
        f = cJSON_CreateObject();
        if (f == NULL || !cJSON_AddItemToArray(fields, f))
            return -1;
        if (cJSON_AddStringToObject(f, "name", name) == NULL)
            return -1;
    }
    cJSON *val = cJSON_CreateString(value);
    cJSON *hid = cJSON_CreateBool(hidden);
    if (val == NULL || hid == NULL) {
        cJSON_Delete(val);
        cJSON_Delete(hid);
        return -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(f, "value") != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(f, "value", val);
    else
        cJSON_AddItemToObject(f, "value", val);
    if (cJSON_GetObjectItemCaseSensitive(f, "hidden") != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(f, "hidden", hid);
    else
        cJSON_AddItemToObject(f, "hidden", hid);
    /* A new value without a type is plain text again. */
    cJSON_DeleteItemFromObjectCaseSensitive(f, "type");
    if (type != NULL && cJSON_AddStringToObject(f, "type", type) == NULL)
        return -1;
    return 0;
}

int cli_remove_field(cJSON *item, const char *name)
{
    cJSON *fields = cli_item_fields(item);
    int i = 0;
    cJSON *f;
    cJSON_ArrayForEach(f, fields) {
        if (strcmp(str_member(f, "name"), name) == 0) {
            cJSON_DeleteItemFromArray(fields, i);
            return 0;
        }
        i++;
    }
    return -1;
}

int cli_set_string(cJSON *item, const char *name, const char *value)
{
    cJSON *s = cJSON_CreateString(value);
    if (s == NULL)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(item, name) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(item, name, s);
    else
        cJSON_AddItemToObject(item, name, s);
    return 0;
}

int cli_add_tag(cJSON *item, const char *tag)
{
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
    if (!cJSON_IsArray(tags)) {
        cJSON_DeleteItemFromObjectCaseSensitive(item, "tags");
        tags = cJSON_AddArrayToObject(item, "tags");
    }
    if (tags == NULL)
        return -1;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        if (cJSON_IsString(t) && strcmp(t->valuestring, tag) == 0)
            return 0;
    }
    cJSON *s = cJSON_CreateString(tag);
    return s != NULL && cJSON_AddItemToArray(tags, s) ? 0 : -1;
}

int cli_remove_tag(cJSON *item, const char *tag)
{
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        if (cJSON_IsString(t) && strcmp(t->valuestring, tag) == 0) {
            cJSON_DeleteItemFromArray(tags, i);
            return 0;
        }
        i++;
    }
    return -1;
}

/* Keeps only the members the library reads on input. */
cJSON *cli_item_input(const cJSON *item)
{
    static const char *const keep[] = {"id", "type", "title", "fields", "tags"};
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; out != NULL && i < sizeof keep / sizeof keep[0]; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(item, keep[i]);
        if (m == NULL)
            continue;
        cJSON *copy = cJSON_Duplicate(m, 1);
        if (copy == NULL || !cJSON_AddItemToObject(out, keep[i], copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

/* ---- printing ---- */

void cli_format_time(double ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000.0);
    struct tm tm;
    if (ms <= 0 || localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, len, "-");
}

static double num_member(const cJSON *obj, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(m) ? m->valuedouble : 0;
}

void cli_print_item(const cJSON *item, int show_hidden)
{
    char created[32], updated[32];
    cli_format_time(num_member(item, "created"), created, sizeof created);
    cli_format_time(num_member(item, "updated"), updated, sizeof updated);
    printf("%s\n", str_member(item, "title"));
    printf("  id:      %s\n", str_member(item, "id"));
    printf("  type:    %s\n", str_member(item, "type"));
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
    if (cJSON_GetArraySize(tags) > 0) {
        printf("  tags:   ");
        const cJSON *t;
        cJSON_ArrayForEach(t, tags) {
            printf(" %s", cJSON_IsString(t) ? t->valuestring : "?");
        }
        putchar('\n');
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        int hidden = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden"));
        int totp = strcmp(str_member(f, "type"), "totp") == 0;
        printf("  %s: %s%s\n", str_member(f, "name"),
               hidden && !show_hidden ? "******** (hidden; --show reveals it)"
                                      : str_member(f, "value"),
               totp ? " (TOTP: `zkvault totp ITEM` prints the code)" : "");
    }
    if (num_member(item, "trashed") > 0) {
        char trashed[32];
        cli_format_time(num_member(item, "trashed"), trashed, sizeof trashed);
        printf("  in the trash since %s (`zkvault restore` brings it back)\n", trashed);
    }
    printf("  created: %s   updated: %s   rev: %.0f\n", created, updated,
           num_member(item, "rev"));
}

void cli_print_list(const cJSON *list)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        int deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "deleted"));
        int trashed = num_member(item, "trashed") > 0;
        printf("%.8s  %-8s  %s%s\n", str_member(item, "id"), str_member(item, "type"),
               str_member(item, "title"),
               deleted ? "(deleted)" : trashed ? " (in the trash)" : "");
    }
}

/* Without --reveal, JSON output carries no secret: hidden fields lose their
 * value and items lose their history (old values of hidden fields). */
static void redact(cJSON *item)
{
    cJSON_DeleteItemFromObjectCaseSensitive(item, "history");
    cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")))
            cJSON_DeleteItemFromObjectCaseSensitive(f, "value");
    }
}

int cli_print_json(cJSON *items, int reveal)
{
    if (!reveal && cJSON_IsArray(items)) {
        cJSON *item;
        cJSON_ArrayForEach(item, items) {
            redact(item);
        }
    } else if (!reveal) {
        redact(items);
    }
    char *text = cJSON_PrintUnformatted(items);
    if (text == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    puts(text);
    cJSON_free(text); /* wiped by the cJSON hooks */
    return CLI_EXIT_OK;
}

/* Unlocks the local vault. */
int cli_open_vault(cli *c, vault **v)
{
    int rc = cli_unlock(c);
    return rc == CLI_EXIT_OK ? cli_vault(c, v) : rc;
}

/* Unlocks the local vault and finds the item ref names in it (id, unique id
 * prefix or title); *id is released with free(). */
int cli_open_item(cli *c, const char *ref, vault **v, char **id)
{
    int rc = cli_open_vault(c, v);
    return rc == CLI_EXIT_OK ? cli_resolve_item(c, *v, ref, id) : rc;
}

/* Sends item (only the input members) to add or update. */
int cli_store_item(cli *c, vault *v, const char *id, const cJSON *item, char **new_id)
{
    cJSON *input = cli_item_input(item);
    char *json = input == NULL ? NULL : cJSON_PrintUnformatted(input);
    cJSON_Delete(input);
    if (json == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    int st = id == NULL ? vault_item_add(v, json, new_id) : vault_item_update(v, id, json);
    cJSON_free(json); /* the cJSON hooks wipe it */
    if (st != VAULT_OK)
        return cli_fail(c, st, id == NULL ? "cannot add the item" : "cannot change the item");
    return CLI_EXIT_OK;
}

/* Item helpers shared by the item commands (items.c). */
#ifndef VAULT_CLI_ITEMS_H
#define VAULT_CLI_ITEMS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_vault(cli *c, vault **v);
int cli_parse_owned(char *text, cJSON **out);
/* Finds a live item by full id, unique id prefix (4+ hex chars) or unique
 * title (ASCII case-insensitive). *id_out is malloc'ed. */
int cli_resolve_item(cli *c, const vault *v, const char *ref, char **id_out);
int cli_get_item(cli *c, const vault *v, const char *id, cJSON **out);

/* Editing item JSON; each returns 0, or -1 (out of memory / not present). */
cJSON *cli_item_fields(cJSON *item);
int cli_set_field(cJSON *item, const char *name, const char *value, int hidden);
int cli_remove_field(cJSON *item, const char *name);
int cli_set_string(cJSON *item, const char *name, const char *value);
int cli_add_tag(cJSON *item, const char *tag);
int cli_remove_tag(cJSON *item, const char *tag);
cJSON *cli_item_input(const cJSON *item);

void cli_format_time(double ms, char *buf, size_t len);
void cli_print_item(const cJSON *item, int show_hidden);
void cli_print_list(const cJSON *list);
void cli_print_json_owned(char *json);

char *cli_read_stream(FILE *f, size_t max, size_t *len);
void cli_free_text(char *text, size_t len);

#endif

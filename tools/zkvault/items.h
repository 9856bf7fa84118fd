/* Item helpers shared by the item commands (items.c); below the commands,
 * above session.c. */
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
/* The same among the items vault_item_list(list_flags) gives, e.g.
 * VAULT_LIST_TRASH to find an item in the trash. */
int cli_resolve_in(cli *c, const vault *v, const char *ref, uint32_t list_flags, char **id_out);
int cli_get_item(cli *c, const vault *v, const char *id, cJSON **out);

/* Editing item JSON; each returns 0, or -1 (out of memory / not present). */
cJSON *cli_item_fields(cJSON *item);
int cli_set_field(cJSON *item, const char *name, const char *value, int hidden);
/* The same with a field type ("totp"; NULL: plain text). */
int cli_set_typed_field(cJSON *item, const char *name, const char *value, int hidden,
                        const char *type);
int cli_remove_field(cJSON *item, const char *name);
int cli_set_string(cJSON *item, const char *name, const char *value);
int cli_add_tag(cJSON *item, const char *tag);
int cli_remove_tag(cJSON *item, const char *tag);
cJSON *cli_item_input(const cJSON *item);

void cli_format_time(double ms, char *buf, size_t len);
void cli_print_item(const cJSON *item, int show_hidden);
void cli_print_list(const cJSON *list);
/* Prints an item or an array of items as one line of JSON. Unless reveal,
 * hidden field values and history are removed first (the tree is changed). */
int cli_print_json(cJSON *items, int reveal);

/* Unlocks the local vault (or, in the shell, uses the unlocked one). */
int cli_open_vault(cli *c, vault **v);
/* Unlocks the local vault and finds the item ref names in it (id, unique id
 * prefix or title); *id is released with free(). */
int cli_open_item(cli *c, const char *ref, vault **v, char **id);
/* Sends item (only its input members) to vault_item_add (id NULL; *new_id
 * receives the id, vault_free) or vault_item_update. */
int cli_store_item(cli *c, vault *v, const char *id, const cJSON *item, char **new_id);

#endif

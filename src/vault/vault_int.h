/*
 * Private to src/vault: the vault struct, the id index, item validation and
 * printing. Other modules use src/vault/vault.h instead.
 *
 * Representation: the whole vault is one cJSON tree
 *   {"format":2,"items":[item, ...],"devices":[...]}
 * printed and parsed item by item as a stream (print.c, parse.c), so that the
 * whole text never sits beside the tree, plus an open-addressing hash table
 * id -> item node so that lookups are O(1). Member names of the format are
 * static strings, not per-node copies.
 * Tombstones stay in the tree, so entries are never removed from the index.
 */
#ifndef VAULT_VAULT_INT_H
#define VAULT_VAULT_INT_H

#include <cjson/cJSON.h>
#include <sodium.h>

#include "common/common.h"
#include "vault/vault.h"

/* Limits on what one add/update may carry (include/vault.h). */
#define VAULT_TITLE_MAX 1024u
#define VAULT_TYPE_MAX 64u
#define VAULT_FIELD_NAME_MAX 256u
#define VAULT_FIELD_VALUE_MAX 65536u
#define VAULT_FIELDS_MAX 256u
#define VAULT_TAGS_MAX 64u
#define VAULT_TAG_MAX 128u
#define VAULT_ITEMS_MAX 100000u
#define VAULT_HISTORY_PER_NAME 10u
#define VAULT_ITEM_JSON_MAX (64u * 1024u * 1024u)

/* Limits on what a stored vault may hold. A merge unions the fields and tags
 * of two edited copies, so a stored item may exceed what one edit can make;
 * these caps only bound memory and parsing work (docs/items.md). */
#define VAULT_STORED_FIELDS_MAX 1024u
#define VAULT_STORED_TAGS_MAX 256u
#define VAULT_HISTORY_MAX 1000u
#define VAULT_STORED_ITEMS_MAX 1000000u

#define VAULT_ID_CHARS 32u
#define VAULT_FORMAT 2 /* 2: items carry "trashed", fields may carry "type" */

typedef struct vault_slot {
    const char *id; /* points into item's "id" string; NULL = empty slot */
    cJSON *item;
} vault_slot;

struct vault {
    cJSON *root;    /* {"format":2,"items":[...],"devices":[...]} */
    cJSON *items;   /* borrowed from root */
    cJSON *devices; /* borrowed from root */
    vault_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* entries, tombstones included */
    uint64_t live;    /* items that are not tombstones (those in the trash included) */
    uint64_t trashed; /* items in the trash */
    size_t json_hint; /* length of the JSON last parsed into this vault, or 0 */
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

/* An item's members, found in one pass over its children. */
typedef struct vault_item_view {
    cJSON *id, *type, *title, *fields, *tags, *created, *updated, *rev, *deleted, *trashed,
        *history;
} vault_item_view;

/* ---- vault.c: the struct, the index, printing ----------------------------- */

/* A vault around root (taken over; must already be a valid vault object with
 * "items" and "devices" arrays) with an empty index. On failure root is freed. */
int vault_vault__wrap(vault **out, cJSON *root);
/* An empty vault with no items: {"format":2,"items":[],"devices":[]}. */
int vault_vault__empty(vault **out);

cJSON *vault_vault__find(const vault *v, const char *id);
/* Makes room for n more index entries (VAULT_E_NOMEM). */
int vault_vault__reserve(vault *v, size_t n);
/* Indexes item (already validated, id not present); room must be reserved. */
void vault_vault__index_put(vault *v, cJSON *item);
/* Appends a validated item to the tree and the index; room must be reserved. */
void vault_vault__append(vault *v, cJSON *item);
/* Replaces old by item (same id) in the tree and the index; frees old. */
void vault_vault__replace(vault *v, cJSON *old, cJSON *item);

/* ---- print.c ------------------------------------------------------------- */

/* Prints node into output memory (vault_free) with one exact-size buffer: no
 * intermediate copies. *out_len may be NULL. For items, not whole vaults. */
int vault_vault__print(const cJSON *node, char **out, size_t *out_len);

/* Receives the printed vault in order, in pieces of about 64 KiB that are
 * wiped after the call. A non-VAULT_OK return stops the printing. */
typedef int (*vault_vault__emit)(void *ctx, const char *piece, size_t len);
/* Prints the vault root exactly as cJSON_PrintUnformatted would, but item by
 * item into emit: the whole text never exists at once. */
int vault_vault__print_stream(const cJSON *root, vault_vault__emit emit, void *ctx);

/* ---- parse.c: the vault read as its text arrives -------------------------- */

typedef struct vault_parser vault_parser;
/* Starts reading a vault; feed it the text in pieces of any size, then end.
 * VAULT_E_NOMEM. */
int vault_vault__parse_begin(vault_parser **out);
/* Reads a piece: every item complete in it is parsed, checked and indexed.
 * VAULT_E_INVALID / VAULT_E_VERSION / VAULT_E_LIMIT / VAULT_E_NOMEM, after
 * which the parser can only be aborted. */
int vault_vault__parse_feed(vault_parser *p, const char *text, size_t len);
/* Checks the text is complete and returns the vault. Frees p in every case. */
int vault_vault__parse_end(vault_parser *p, vault **out);
/* Abandons a parse, wiping what it held. NULL is a no-op. */
void vault_vault__parse_abort(vault_parser *p);

/* ---- check.c: validation ------------------------------------------------- */

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int vault_vault__utf8_valid(const char *s, size_t len);
/* 1 if s is exactly 32 lowercase hex characters. */
int vault_vault__is_id(const char *s);

/* Fills view from item's children, refusing unknown or duplicate members
 * (VAULT_E_INVALID naming `what`). Absent members are NULL. */
int vault_vault__view(const cJSON *item, vault_item_view *view, const char *what);

/* An item given to vault_item_add/update: type and title required, fields and
 * tags optional, the library-kept members ignored, limits of one edit. */
int vault_vault__check_input(const cJSON *item, vault_item_view *view, const char *what);

/* A stored item (from vault_from_json or a merge): every member present and
 * typed, stored limits, tombstones empty. */
int vault_vault__check_stored(const cJSON *item, vault_item_view *view, const char *what);

/* The devices array: objects with a unique string "id", all strings UTF-8. */
int vault_vault__check_devices(const cJSON *devices);

/* The integer value of a validated number member. */
uint64_t vault_vault__u64(const cJSON *number);

/* History trimming: keeps the last VAULT_HISTORY_PER_NAME entries per name
 * and at most VAULT_HISTORY_MAX in all (the oldest go first). */
void vault_vault__trim_history(cJSON *history);

/* A deep copy of node like cJSON_Duplicate, but member names of the vault
 * format become static strings instead of allocated copies: a third fewer
 * allocations and less memory for every copied item. NULL if out of memory. */
cJSON *vault_vault__dup(const cJSON *node);
/* Swaps node's member names of the vault format (at any depth) for static
 * strings, freeing the parsed copies. */
void vault_vault__intern_keys(cJSON *node);

/* ---- cJSON building helpers (NULL value → 0, so calls chain with &&) ------ */

/* Adds value under a static key (no key allocation). 0 if value is NULL. */
int vault_vault__put(cJSON *obj, const char *static_key, cJSON *value);
/* A new history entry {"name","value","changed"}, or NULL. */
cJSON *vault_vault__history_entry(const char *name, const char *value, uint64_t changed);

#endif

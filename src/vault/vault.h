/*
 * Vault module: the unlocked in-memory vault (items, devices, merge).
 * Internal interface for other modules (client, device linking). The public
 * item API is in include/vault.h; docs/items.md and docs/sync.md describe the
 * JSON and the merge rules.
 */
#ifndef VAULT_VAULT_MODULE_H
#define VAULT_VAULT_MODULE_H

#include "blob/blob.h"
#include "common/common.h"

struct cJSON;

/* vault_merge of two branches whose common ancestor is not known (a fork,
 * docs/sync.md): every difference is a conflict (newer value wins, the other
 * goes to history; an edit beats a delete), and a device that either side no
 * longer lists is dropped. Errors as vault_merge's. */
int vault_vault__merge_fork(vault **out, const vault *local, const vault *remote);

/* vault_seal stating the blob's chain (NULL: none), and vault_open returning
 * it (chain may be NULL). Errors as those calls'. */
int vault_vault__seal_chain(const vault *v, const uint8_t *key, const char *account_id,
                            uint64_t revision, const vault_chain *chain, uint8_t **blob,
                            size_t *blob_len);
int vault_vault__open_chain(vault **out, const uint8_t *key, const char *account_id,
                            uint64_t revision, const uint8_t *blob, size_t blob_len,
                            vault_chain *chain);

/* The vault's trusted-devices array (a cJSON array of objects
 * {"id","name","public_key","added"}), owned by the vault: read it or modify
 * it in place (add, remove, edit entries). Whatever is left in it must stay an
 * array of objects, each with a unique string "id" and only UTF-8 strings, or
 * the next vault_from_json() of the serialized vault refuses it. Never NULL
 * for a valid vault. */
struct cJSON *vault_vault__devices(vault *v);
const struct cJSON *vault_vault__devices_const(const vault *v);

/* Replaces the devices array with `devices` (a cJSON array), after checking
 * it as vault_from_json() would. On VAULT_OK the vault owns `devices` and the
 * old array is freed (wiped); on failure (VAULT_E_INVALID with a message) the
 * caller still owns it and the vault is unchanged. */
int vault_vault__set_devices(vault *v, struct cJSON *devices);

/* ---- batches of complete items (imports) ----------------------------------- */

/* The vault's items array (live items and tombstones, in stored form), read
 * only: for exports and duplicate checks. Never NULL for a valid vault. */
const struct cJSON *vault_vault__items_const(const vault *v);

/* The vault JSON's "format" number this library writes. */
int vault_vault__format(void);

/* 1 if v has an item (live or tombstone) with this id, else 0. */
int vault_vault__has_id(const vault *v, const char *id);

/* Checks a complete, live item built outside this module (an import) as
 * vault_from_json() would check a stored one, and within the limits of one
 * vault_item_add (docs/items.md). Members must be in the stored order.
 * VAULT_E_INVALID / VAULT_E_LIMIT with a message naming `what`. */
int vault_vault__check_new(const struct cJSON *item, const char *what);

/* Adds every item of the cJSON array `items`, each already accepted by
 * vault_vault__check_new, all or nothing. VAULT_E_EXISTS if an id is already
 * in v (tombstones included) or twice in items, VAULT_E_LIMIT if the vault
 * would hold more than 100000 live items, VAULT_E_NOMEM. On VAULT_OK the
 * items have moved into the vault and `items` is empty; on failure both are
 * unchanged. */
int vault_vault__add_all(vault *v, struct cJSON *items);

#endif

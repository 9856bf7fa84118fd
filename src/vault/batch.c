/*
 * Batches of complete items from outside the vault module (imports): checked
 * one by one first, so a caller can name the bad one, then added all or
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

const cJSON *vault_vault__items_const(const vault *v)
{
    return v->items;
}

int vault_vault__format(void)
{
    return VAULT_FORMAT;
}

int vault_vault__has_id(const vault *v, const char *id)
{
    return vault_vault__find(v, id) != NULL;
}

int vault_vault__check_new(const cJSON *item, const char *what)
{
    vault_item_view view;
    int rc = vault_vault__check_input(item, &view, what);
    if (rc == VAULT_OK)
        rc = vault_vault__check_stored(item, &view, what);
    if (rc == VAULT_OK && cJSON_IsTrue(view.deleted))
        rc = vault__fail(VAULT_E_INVALID, "%s: an imported item cannot be deleted", what);
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every id is new to v and appears once in items (sorted copies of the id
 * pointers: a batch may hold 100000 items). */
static int check_ids(const vault *v, const cJSON *items, size_t n)
{
    const char **ids = vault__malloc((n + 1) * sizeof *ids);
    if (ids == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory checking ids");
    int rc = VAULT_OK;
    size_t i = 0;
    for (const cJSON *it = items->child; it != NULL; it = it->next) {
        ids[i] = cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring;
        if (vault_vault__find(v, ids[i++]) != NULL)
            rc = vault__fail(VAULT_E_EXISTS, "an item with this id already exists");
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    for (i = 1; rc == VAULT_OK && i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            rc = vault__fail(VAULT_E_EXISTS, "the same id twice in one batch");
    vault__free(ids); /* pointers only */
    return rc;
}

int vault_vault__add_all(vault *v, cJSON *items)
{
    if (v == NULL || !cJSON_IsArray(items))
        return vault__fail(VAULT_E_INVALID, "add_all: bad argument");
    size_t n = (size_t)cJSON_GetArraySize(items);
    if (n > VAULT_ITEMS_MAX || v->live + n > VAULT_ITEMS_MAX)
        return vault__fail(VAULT_E_LIMIT, "a vault holds at most %u items", VAULT_ITEMS_MAX);
    int rc = check_ids(v, items, n);
    if (rc == VAULT_OK)
        rc = vault_vault__reserve(v, n);
    if (rc != VAULT_OK)
        return rc;
    cJSON *it;
    while ((it = items->child) != NULL) {
        cJSON_DetachItemViaPointer(items, it);
        vault_vault__intern_keys(it);
        vault_vault__append(v, it);
    }
    return VAULT_OK;
}

/*
 * The vault as a whole: creation, the id index, JSON in and out, sealing.
 *
 * Every plaintext byte lives in the cJSON tree, whose free hook wipes each
 * block (vault_init), so vault_close() wipes by deleting the tree.
 */
#include <string.h>

#include "vault/vault_int.h"

/* ---- construction ----------------------------------------------------------- */

int vault_vault__wrap(vault **out, cJSON *root)
{
    *out = NULL;
    vault *v = vault__calloc(1, sizeof *v);
    if (v == NULL) {
        cJSON_Delete(root);
        return vault__fail(VAULT_E_NOMEM, "out of memory creating a vault");
    }
    v->root = root;
    v->items = cJSON_GetObjectItemCaseSensitive(root, "items");
    v->devices = cJSON_GetObjectItemCaseSensitive(root, "devices");
    /* A keyed hash: ids come from other devices and apps; no flooding. */
    crypto_shorthash_keygen(v->hash_key);
    *out = v;
    return VAULT_OK;
}

int vault_vault__empty(vault **out)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (root == NULL ||
        !vault_vault__put(root, "format", cJSON_CreateNumber(VAULT_FORMAT)) ||
        !vault_vault__put(root, "items", cJSON_CreateArray()) ||
        !vault_vault__put(root, "devices", cJSON_CreateArray())) {
        cJSON_Delete(root);
        return vault__fail(VAULT_E_NOMEM, "out of memory creating a vault");
    }
    return vault_vault__wrap(out, root);
}

int vault_new(vault **out)
{
    if (out == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_new: out is NULL");
    return vault_vault__empty(out);
}

void vault_close(vault *v)
{
    if (v == NULL)
        return;
    cJSON_Delete(v->root); /* wipes every block through the free hook */
    vault__wipe_free(v->slots, v->cap * sizeof *v->slots);
    sodium_memzero(v, sizeof *v);
    vault__free(v);
}

/* ---- index ------------------------------------------------------------------ */

static size_t slot_of(const vault *v, const char *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t x;
    crypto_shorthash(h, (const uint8_t *)id, VAULT_ID_CHARS, v->hash_key);
    memcpy(&x, h, sizeof x);
    return (size_t)x & (v->cap - 1);
}

static vault_slot *lookup(const vault *v, const char *id)
{
    if (v->cap == 0 || id == NULL || !vault_vault__is_id(id))
        return NULL;
    for (size_t i = slot_of(v, id);; i = (i + 1) & (v->cap - 1)) {
        vault_slot *s = &v->slots[i];
        if (s->id == NULL)
            return NULL;
        if (memcmp(s->id, id, VAULT_ID_CHARS) == 0)
            return s;
    }
}

cJSON *vault_vault__find(const vault *v, const char *id)
{
    vault_slot *s = lookup(v, id);
    return s != NULL ? s->item : NULL;
}

static void insert_slot(vault *v, const char *id, cJSON *item)
{
    size_t i = slot_of(v, id);
    while (v->slots[i].id != NULL)
        i = (i + 1) & (v->cap - 1);
    v->slots[i].id = id;
    v->slots[i].item = item;
    v->used++;
}

int vault_vault__reserve(vault *v, size_t n)
{
    /* Load factor at most 1/2 keeps linear probing short. */
    if (n > SIZE_MAX / 4 - v->used)
        return vault__fail(VAULT_E_LIMIT, "too many items");
    size_t need = 2 * (v->used + n);
    if (need <= v->cap)
        return VAULT_OK;
    size_t cap = 64;
    while (cap < need)
        cap *= 2;
    vault_slot *slots = vault__calloc(cap, sizeof *slots);
    if (slots == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory growing the item index");
    vault_slot *old = v->slots;
    size_t old_cap = v->cap;
    v->slots = slots;
    v->cap = cap;
    v->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].id != NULL)
            insert_slot(v, old[i].id, old[i].item);
    vault__wipe_free(old, old_cap * sizeof *old);
    return VAULT_OK;
}

static const char *item_id(const cJSON *item)
{
    return cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
}

static int is_deleted(const cJSON *item)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "deleted"));
}

static int is_trashed(const cJSON *item)
{
    return cJSON_GetObjectItemCaseSensitive(item, "trashed")->valuedouble != 0;
}

void vault_vault__index_put(vault *v, cJSON *item)
{
    insert_slot(v, item_id(item), item);
    if (!is_deleted(item))
        v->live++;
    if (is_trashed(item))
        v->trashed++;
}

void vault_vault__append(vault *v, cJSON *item)
{
    cJSON_AddItemToArray(v->items, item);
    vault_vault__index_put(v, item);
}

void vault_vault__replace(vault *v, cJSON *old, cJSON *item)
{
    vault_slot *s = lookup(v, item_id(old));
    v->live -= !is_deleted(old);
    v->live += !is_deleted(item);
    v->trashed -= (uint64_t)is_trashed(old);
    v->trashed += (uint64_t)is_trashed(item);
    cJSON_ReplaceItemViaPointer(v->items, old, item); /* frees (wipes) old */
    s->id = item_id(item);
    s->item = item;
}

/* ---- copying ---------------------------------------------------------------- */

static const char *static_key(const char *k)
{
    static const char *const keys[] = {"id", "type", "title", "fields", "tags", "created",
                                       "updated", "rev", "deleted", "trashed", "history",
                                       "name", "value", "hidden", "changed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (k[0] == keys[i][0] && strcmp(k, keys[i]) == 0)
            return keys[i];
    return NULL;
}

void vault_vault__intern_keys(cJSON *node)
{
    int object = cJSON_IsObject(node);
    for (cJSON *c = node->child; c != NULL; c = c->next) {
        const char *key = object ? static_key(c->string) : NULL;
        if (key != NULL && !(c->type & cJSON_StringIsConst)) {
            cJSON_free(c->string);
            c->string = (char *)(uintptr_t)key;
            c->type |= cJSON_StringIsConst;
        }
        if (c->child != NULL)
            vault_vault__intern_keys(c);
    }
}

static cJSON *dup_scalar(const cJSON *n)
{
    switch (n->type & 0xff) {
    case cJSON_String: return cJSON_CreateString(n->valuestring != NULL ? n->valuestring : "");
    case cJSON_Number: return cJSON_CreateNumber(n->valuedouble);
    case cJSON_True: return cJSON_CreateTrue();
    case cJSON_False: return cJSON_CreateFalse();
    case cJSON_Raw: return cJSON_CreateRaw(n->valuestring != NULL ? n->valuestring : "");
    default: return cJSON_CreateNull();
    }
}

cJSON *vault_vault__dup(const cJSON *n)
{
    int object = cJSON_IsObject(n);
    if (!object && !cJSON_IsArray(n))
        return dup_scalar(n);
    cJSON *copy = object ? cJSON_CreateObject() : cJSON_CreateArray();
    if (copy == NULL)
        return NULL;
    for (const cJSON *c = n->child; c != NULL; c = c->next) {
        cJSON *child = vault_vault__dup(c);
        if (child == NULL)
            goto fail;
        const char *key = object ? static_key(c->string) : NULL;
        if (!object) {
            cJSON_AddItemToArray(copy, child);
        } else if (key != NULL) {
            cJSON_AddItemToObjectCS(copy, key, child);
        } else if (!cJSON_AddItemToObject(copy, c->string, child)) {
            cJSON_Delete(child);
            goto fail;
        }
    }
    return copy;
fail:
    cJSON_Delete(copy);
    return NULL;
}

/* ---- devices (src/vault/vault.h) -------------------------------------------- */

cJSON *vault_vault__devices(vault *v)
{
    return v->devices;
}

const cJSON *vault_vault__devices_const(const vault *v)
{
    return v->devices;
}

int vault_vault__set_devices(vault *v, cJSON *devices)
{
    if (v == NULL || devices == NULL)
        return vault__fail(VAULT_E_INVALID, "set_devices: NULL argument");
    if (devices == v->devices)
        return VAULT_OK;
    int rc = vault_vault__check_devices(devices);
    if (rc != VAULT_OK)
        return rc;
    /* ReplaceItemViaPointer keeps the replacement's own key: name it. */
    if (!(devices->type & cJSON_StringIsConst) && devices->string != NULL)
        cJSON_free(devices->string);
    devices->string = (char *)"devices";
    devices->type |= cJSON_StringIsConst;
    cJSON_ReplaceItemViaPointer(v->root, v->devices, devices);
    v->devices = devices;
    return VAULT_OK;
}

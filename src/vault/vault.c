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
        !vault_vault__put(root, "format", cJSON_CreateNumber(1)) ||
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

void vault_vault__index_put(vault *v, cJSON *item)
{
    insert_slot(v, item_id(item), item);
    if (!is_deleted(item))
        v->live++;
}

void vault_vault__append(vault *v, cJSON *item)
{
    cJSON_AddItemToArray(v->items, item);
    vault_vault__index_put(v, item);
}

void vault_vault__replace(vault *v, cJSON *old, cJSON *item)
{
    vault_slot *s = lookup(v, item_id(old));
    if (!is_deleted(old))
        v->live--;
    if (!is_deleted(item))
        v->live++;
    cJSON_ReplaceItemViaPointer(v->items, old, item); /* frees (wipes) old */
    s->id = item_id(item);
    s->item = item;
}

/* ---- copying ---------------------------------------------------------------- */

static const char *static_key(const char *k)
{
    static const char *const keys[] = {"id", "type", "title", "fields", "tags", "created",
                                       "updated", "rev", "deleted", "history", "name",
                                       "value", "hidden", "changed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (k[0] == keys[i][0] && strcmp(k, keys[i]) == 0)
            return keys[i];
    return NULL;
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

/* ---- printing --------------------------------------------------------------- */

/* Upper bounds of cJSON's unformatted output, so that one buffer of the right
 * size can be handed to cJSON_PrintPreallocated: cJSON_Print would grow its
 * buffer by doubling and copy the result once more (3x the document). */
static size_t string_bound(const char *s)
{
    size_t n = 2; /* quotes */
    if (s == NULL)
        return n;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
            n += 2;
            break;
        default:
            n += *p < 32 ? 6 : 1;
        }
    }
    return n;
}

static size_t number_bound(double d)
{
    /* Integers up to 2^53 print as at most their decimal digits (cJSON may
     * pick a shorter exponent form); anything else fits cJSON's 26 bytes. */
    double a = d < 0 ? -d : d;
    if (a <= 9007199254740992.0 && a == (double)(uint64_t)a) {
        uint64_t x = (uint64_t)a;
        size_t digits = 1;
        while (x >= 10) {
            x /= 10;
            digits++;
        }
        return digits + (d < 0);
    }
    return 26;
}

static size_t json_bound(const cJSON *n)
{
    switch (n->type & 0xff) {
    case cJSON_NULL: return 4;
    case cJSON_False: return 5;
    case cJSON_True: return 4;
    case cJSON_Number: return number_bound(n->valuedouble);
    case cJSON_String: return string_bound(n->valuestring);
    case cJSON_Raw: return n->valuestring != NULL ? strlen(n->valuestring) : 0;
    case cJSON_Array:
    case cJSON_Object: {
        size_t total = 2;
        for (const cJSON *c = n->child; c != NULL; c = c->next) {
            total += json_bound(c) + 1; /* comma */
            if ((n->type & 0xff) == cJSON_Object)
                total += string_bound(c->string) + 1; /* key and colon */
        }
        return total;
    }
    default: return 0;
    }
}

/* Prints node into a new output buffer of size bytes. VAULT_OK with *out set,
 * VAULT_E_NOMEM, or VAULT_E_LIMIT when the text does not fit (the partial
 * output is wiped with the buffer). */
static int print_into(const cJSON *node, size_t size, char **out)
{
    *out = NULL;
    char *buf = vault__out_alloc(size);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory serializing the vault");
    if (!cJSON_PrintPreallocated((cJSON *)node, buf, (int)size, 0)) {
        vault_free(buf); /* wipes */
        return VAULT_E_LIMIT;
    }
    *out = buf;
    return VAULT_OK;
}

static void finish_print(char *buf, char **out, size_t *out_len)
{
    size_t len = strlen(buf);
    *out = vault__out_shrink(buf, len);
    if (out_len != NULL)
        *out_len = len;
}

int vault_vault__print(const cJSON *node, char **out, size_t *out_len)
{
    char *buf = NULL;
    *out = NULL;
    size_t bound = json_bound(node) + 64;
    if (bound > (size_t)INT32_MAX)
        return vault__fail(VAULT_E_LIMIT, "vault too large to serialize");
    int rc = print_into(node, bound, &buf);
    if (rc == VAULT_E_LIMIT) {
        /* Cannot happen if the bound is right; fall back rather than fail. */
        rc = vault__json_print(node, &buf);
    }
    if (rc != VAULT_OK)
        return rc;
    finish_print(buf, out, out_len);
    return VAULT_OK;
}

/* Room for a few edits since the hint was taken; larger growth (a bulk
 * import) pays one wasted partial print and then the exact bound. */
#define PRINT_HINT_SLACK(hint) ((hint) / 64 + 16384u)

int vault_vault__print_hinted(const cJSON *node, size_t hint, char **out, size_t *out_len)
{
    char *buf = NULL;
    *out = NULL;
    if (hint == 0 || hint > (size_t)INT32_MAX - PRINT_HINT_SLACK((size_t)INT32_MAX))
        return vault_vault__print(node, out, out_len);
    int rc = print_into(node, hint + PRINT_HINT_SLACK(hint), &buf);
    if (rc == VAULT_E_LIMIT)
        return vault_vault__print(node, out, out_len);
    if (rc != VAULT_OK)
        return rc;
    finish_print(buf, out, out_len);
    return VAULT_OK;
}

/* ---- JSON in and out -------------------------------------------------------- */

int vault_to_json(const vault *v, char **json)
{
    if (json != NULL)
        *json = NULL;
    if (v == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_to_json: NULL argument");
    return vault_vault__print_hinted(v->root, v->json_hint, json, NULL);
}

static const char *const top_keys[] = {"format", "items", "devices"};

static int check_top(const cJSON *root, const cJSON **items, const cJSON **devices)
{
    const cJSON *m[3] = {NULL, NULL, NULL};
    if (!cJSON_IsObject(root))
        return vault__fail(VAULT_E_INVALID, "vault: must be a JSON object");
    for (const cJSON *c = root->child; c != NULL; c = c->next) {
        size_t i = 0;
        while (i < 3 && strcmp(c->string, top_keys[i]) != 0)
            i++;
        if (i == 3)
            return vault__fail(VAULT_E_INVALID, "vault: unknown member \"%.40s\"", c->string);
        if (m[i] != NULL)
            return vault__fail(VAULT_E_INVALID, "vault: duplicate member \"%s\"", c->string);
        m[i] = c;
    }
    for (size_t i = 0; i < 3; i++)
        if (m[i] == NULL)
            return vault__fail(VAULT_E_INVALID, "vault: missing member \"%s\"", top_keys[i]);
    if (!cJSON_IsNumber(m[0]))
        return vault__fail(VAULT_E_INVALID, "vault: \"format\" must be a number");
    if (m[0]->valuedouble != 1.0)
        return vault__fail(VAULT_E_VERSION, "vault: unsupported format %g", m[0]->valuedouble);
    if (!cJSON_IsArray(m[1]))
        return vault__fail(VAULT_E_INVALID, "vault: \"items\" must be an array");
    *items = m[1];
    *devices = m[2];
    return vault_vault__check_devices(m[2]);
}

static int index_items(vault *v)
{
    size_t n = 0;
    for (const cJSON *it = v->items->child; it != NULL; it = it->next)
        if (++n > VAULT_STORED_ITEMS_MAX)
            return vault__fail(VAULT_E_LIMIT, "vault: more than %u items",
                               VAULT_STORED_ITEMS_MAX);
    int rc = vault_vault__reserve(v, n);
    if (rc != VAULT_OK)
        return rc;
    size_t i = 0;
    for (cJSON *it = v->items->child; it != NULL; it = it->next, i++) {
        char what[40];
        vault_item_view view;
        if (vault_vault__check_stored(it, &view, "item") != VAULT_OK) {
            /* Checked again only to name the item's index in the message. */
            snprintf(what, sizeof what, "item %zu", i);
            return vault_vault__check_stored(it, &view, what);
        }
        if (lookup(v, view.id->valuestring) != NULL)
            return vault__fail(VAULT_E_INVALID, "item %zu: duplicate id", i);
        vault_vault__index_put(v, it);
    }
    return VAULT_OK;
}

int vault_from_json(vault **out, const char *json, size_t json_len)
{
    cJSON *root = NULL;
    const cJSON *items, *devices;
    vault *v = NULL;
    int rc;
    if (out == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_from_json: NULL argument");
    *out = NULL;
    if (json_len > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "vault JSON larger than %u bytes",
                           VAULT_BLOB_MAX_PLAINTEXT);
    if ((rc = vault__json_parse(json, json_len, &root)) != VAULT_OK)
        return rc;
    if ((rc = check_top(root, &items, &devices)) != VAULT_OK) {
        cJSON_Delete(root);
        return rc;
    }
    if ((rc = vault_vault__wrap(&v, root)) != VAULT_OK)
        return rc;
    if ((rc = index_items(v)) != VAULT_OK) {
        vault_close(v);
        return rc;
    }
    v->json_hint = json_len;
    *out = v;
    return VAULT_OK;
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

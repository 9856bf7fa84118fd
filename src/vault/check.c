/*
 * Validation of items and devices. Every string is checked for length and
 * UTF-8; every object for unknown and duplicate members (cJSON keeps duplicate
 * keys, and a lookup would silently take the first). Messages name the member
 * and never contain a value.
 */
#include <string.h>

#include "totp/totp.h"
#include "vault/vault_int.h"

int vault_vault__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* Fast path: eight ASCII bytes at a time. */
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            unsigned d = s[i + k];
            if ((d & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

int vault_vault__is_id(const char *s)
{
    size_t i;
    for (i = 0; i < VAULT_ID_CHARS; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return s[i] == '\0';
}

uint64_t vault_vault__u64(const cJSON *number)
{
    return (uint64_t)number->valuedouble;
}

/* ---- members ---------------------------------------------------------------- */

static cJSON **item_slot(vault_item_view *v, const char *key)
{
    switch (key[0]) {
    case 'i': return strcmp(key, "id") == 0 ? &v->id : NULL;
    case 't':
        if (strcmp(key, "type") == 0)
            return &v->type;
        if (strcmp(key, "title") == 0)
            return &v->title;
        if (strcmp(key, "trashed") == 0)
            return &v->trashed;
        return strcmp(key, "tags") == 0 ? &v->tags : NULL;
    case 'f': return strcmp(key, "fields") == 0 ? &v->fields : NULL;
    case 'c': return strcmp(key, "created") == 0 ? &v->created : NULL;
    case 'u': return strcmp(key, "updated") == 0 ? &v->updated : NULL;
    case 'r': return strcmp(key, "rev") == 0 ? &v->rev : NULL;
    case 'd': return strcmp(key, "deleted") == 0 ? &v->deleted : NULL;
    case 'h': return strcmp(key, "history") == 0 ? &v->history : NULL;
    default: return NULL;
    }
}

int vault_vault__view(const cJSON *item, vault_item_view *view, const char *what)
{
    memset(view, 0, sizeof *view);
    if (!cJSON_IsObject(item))
        return vault__fail(VAULT_E_INVALID, "%s: must be a JSON object", what);
    for (cJSON *m = item->child; m != NULL; m = m->next) {
        cJSON **slot = item_slot(view, m->string);
        if (slot == NULL)
            return vault__fail(VAULT_E_INVALID, "%s: unknown member \"%.40s\"", what,
                               m->string);
        if (*slot != NULL)
            return vault__fail(VAULT_E_INVALID, "%s: duplicate member \"%s\"", what,
                               m->string);
        *slot = m;
    }
    return VAULT_OK;
}

/* Fills found[i] with the member named keys[i]; every member must be one of
 * keys, once, and the first nrequired keys present (the others may be absent:
 * found[i] NULL). */
static int exact_members(const cJSON *obj, const char *const *keys, const cJSON **found,
                         size_t nkeys, size_t nrequired, const char *what)
{
    if (!cJSON_IsObject(obj))
        return vault__fail(VAULT_E_INVALID, "%s: must be a JSON object", what);
    for (size_t i = 0; i < nkeys; i++)
        found[i] = NULL;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        size_t i = 0;
        while (i < nkeys && strcmp(m->string, keys[i]) != 0)
            i++;
        if (i == nkeys)
            return vault__fail(VAULT_E_INVALID, "%s: unknown member \"%.40s\"", what,
                               m->string);
        if (found[i] != NULL)
            return vault__fail(VAULT_E_INVALID, "%s: duplicate member \"%s\"", what,
                               m->string);
        found[i] = m;
    }
    for (size_t i = 0; i < nrequired; i++)
        if (found[i] == NULL)
            return vault__fail(VAULT_E_INVALID, "%s: missing member \"%s\"", what, keys[i]);
    return VAULT_OK;
}

/* ---- values ----------------------------------------------------------------- */

static int check_string(const cJSON *s, const char *what, const char *key, size_t min,
                        size_t max)
{
    if (!cJSON_IsString(s) || s->valuestring == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be a string", what, key);
    size_t len = strlen(s->valuestring);
    if (len < min)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must not be empty", what, key);
    if (len > max)
        return vault__fail(VAULT_E_LIMIT, "%s: \"%s\" is longer than %zu bytes", what, key,
                           max);
    if (!vault_vault__utf8_valid(s->valuestring, len))
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" is not valid UTF-8", what, key);
    return VAULT_OK;
}

static int check_u64(const cJSON *n, const char *what, const char *key)
{
    /* JSON numbers are doubles: integers are exact only up to 2^53. */
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0) ||
        n->valuedouble > 9007199254740992.0 ||
        n->valuedouble != (double)(uint64_t)n->valuedouble)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be a non-negative integer",
                           what, key);
    return VAULT_OK;
}

static int check_bool(const cJSON *b, const char *what, const char *key)
{
    if (!cJSON_IsBool(b))
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be true or false", what, key);
    return VAULT_OK;
}

static int check_id(const cJSON *id, const char *what)
{
    if (!cJSON_IsString(id) || id->valuestring == NULL || !vault_vault__is_id(id->valuestring))
        return vault__fail(VAULT_E_INVALID, "%s: \"id\" must be 32 lowercase hex characters",
                           what);
    return VAULT_OK;
}

static int check_type(const cJSON *t, const char *what)
{
    if (!cJSON_IsString(t) || t->valuestring == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: \"type\" must be a string", what);
    const char *s = t->valuestring;
    size_t len = strlen(s);
    if (len == 0 || len > VAULT_TYPE_MAX)
        return vault__fail(VAULT_E_INVALID, "%s: \"type\" must be 1..64 characters", what);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return vault__fail(VAULT_E_INVALID,
                               "%s: \"type\" may only hold the characters [a-z0-9_.-]", what);
    }
    return VAULT_OK;
}

static int array_count(const cJSON *a, size_t max, const char *what, const char *key,
                       size_t *count)
{
    if (!cJSON_IsArray(a))
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be an array", what, key);
    size_t n = 0;
    for (const cJSON *e = a->child; e != NULL; e = e->next)
        n++;
    if (n > max)
        return vault__fail(VAULT_E_LIMIT, "%s: more than %zu entries in \"%s\"", what, max,
                           key);
    *count = n;
    return VAULT_OK;
}

static const char *const field_keys[] = {"name", "value", "hidden", "type"};

/* A field's optional "type": "text" (the default) or "totp", whose value
 * must be a TOTP secret the library can turn into codes. */
static int check_field_type(const cJSON *type, const cJSON *value, const char *where)
{
    if (type == NULL)
        return VAULT_OK;
    if (!cJSON_IsString(type) || type->valuestring == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: \"type\" must be a string", where);
    if (strcmp(type->valuestring, "text") == 0)
        return VAULT_OK;
    if (strcmp(type->valuestring, "totp") != 0)
        return vault__fail(VAULT_E_INVALID, "%s: field \"type\" must be \"text\" or \"totp\"",
                           where);
    return vault_totp__check(value->valuestring);
}

static int check_field(const cJSON *f, const char *where)
{
    const cJSON *m[4];
    int rc;
    if ((rc = exact_members(f, field_keys, m, 4, 3, where)) != VAULT_OK ||
        (rc = check_string(m[0], where, "name", 1, VAULT_FIELD_NAME_MAX)) != VAULT_OK ||
        (rc = check_string(m[1], where, "value", 0, VAULT_FIELD_VALUE_MAX)) != VAULT_OK ||
        (rc = check_bool(m[2], where, "hidden")) != VAULT_OK ||
        (rc = check_field_type(m[3], m[1], where)) != VAULT_OK)
        return rc;
    return VAULT_OK;
}

/* Field names must be unique: merges and history match fields by name. */
static int check_fields(const cJSON *fields, size_t max, const char *what)
{
    size_t n;
    int rc = array_count(fields, max, what, "fields", &n);
    if (rc != VAULT_OK)
        return rc;
    size_t i = 0;
    for (const cJSON *f = fields->child; f != NULL; f = f->next, i++) {
        /* The indexed label is only formatted when there is an error to name. */
        if (check_field(f, what) == VAULT_OK)
            continue;
        char where[96];
        snprintf(where, sizeof where, "%s field %zu", what, i);
        return check_field(f, where);
    }
    for (const cJSON *f = fields->child; f != NULL; f = f->next) {
        const char *name = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        for (const cJSON *g = f->next; g != NULL; g = g->next)
            if (strcmp(name, cJSON_GetObjectItemCaseSensitive(g, "name")->valuestring) == 0)
                return vault__fail(VAULT_E_INVALID, "%s: duplicate field name", what);
    }
    return VAULT_OK;
}

static int check_tags(const cJSON *tags, size_t max, const char *what)
{
    size_t n;
    int rc = array_count(tags, max, what, "tags", &n);
    if (rc != VAULT_OK)
        return rc;
    for (const cJSON *t = tags->child; t != NULL; t = t->next) {
        if ((rc = check_string(t, what, "tags", 1, VAULT_TAG_MAX)) != VAULT_OK)
            return rc;
        for (const cJSON *u = tags->child; u != t; u = u->next)
            if (strcmp(u->valuestring, t->valuestring) == 0)
                return vault__fail(VAULT_E_INVALID, "%s: duplicate tag", what);
    }
    return VAULT_OK;
}

static const char *const history_keys[] = {"name", "value", "changed"};

static int check_history_entry(const cJSON *h, const char *where)
{
    const cJSON *m[3];
    int rc;
    if ((rc = exact_members(h, history_keys, m, 3, 3, where)) != VAULT_OK ||
        (rc = check_string(m[0], where, "name", 1, VAULT_FIELD_NAME_MAX)) != VAULT_OK ||
        (rc = check_string(m[1], where, "value", 0, VAULT_FIELD_VALUE_MAX)) != VAULT_OK ||
        (rc = check_u64(m[2], where, "changed")) != VAULT_OK)
        return rc;
    return VAULT_OK;
}

static int check_history(const cJSON *history, const char *what)
{
    size_t n;
    int rc = array_count(history, VAULT_HISTORY_MAX, what, "history", &n);
    if (rc != VAULT_OK)
        return rc;
    size_t i = 0;
    for (const cJSON *h = history->child; h != NULL; h = h->next, i++) {
        if (check_history_entry(h, what) == VAULT_OK)
            continue;
        char where[96];
        snprintf(where, sizeof where, "%s history %zu", what, i);
        return check_history_entry(h, where);
    }
    return VAULT_OK;
}

/* ---- items ------------------------------------------------------------------ */

int vault_vault__check_input(const cJSON *item, vault_item_view *view, const char *what)
{
    int rc = vault_vault__view(item, view, what);
    if (rc != VAULT_OK)
        return rc;
    if (view->id != NULL && (rc = check_id(view->id, what)) != VAULT_OK)
        return rc;
    if (view->type == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: missing member \"type\"", what);
    if (view->title == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: missing member \"title\"", what);
    if ((rc = check_type(view->type, what)) != VAULT_OK ||
        (rc = check_string(view->title, what, "title", 0, VAULT_TITLE_MAX)) != VAULT_OK)
        return rc;
    if (view->fields != NULL &&
        (rc = check_fields(view->fields, VAULT_FIELDS_MAX, what)) != VAULT_OK)
        return rc;
    if (view->tags != NULL && (rc = check_tags(view->tags, VAULT_TAGS_MAX, what)) != VAULT_OK)
        return rc;
    return VAULT_OK;
}

static int check_tombstone(const vault_item_view *v, const char *what)
{
    if (v->title->valuestring[0] != '\0' || v->fields->child != NULL ||
        v->trashed->valuedouble != 0 ||
        v->tags->child != NULL || v->history->child != NULL)
        return vault__fail(VAULT_E_INVALID, "%s: a deleted item must have no content", what);
    return VAULT_OK;
}

int vault_vault__check_stored(const cJSON *item, vault_item_view *v, const char *what)
{
    int rc = vault_vault__view(item, v, what);
    if (rc != VAULT_OK)
        return rc;
    static const char *const names[] = {"id", "type", "title", "fields", "tags",
                                        "created", "updated", "rev", "deleted", "trashed",
                                        "history"};
    const cJSON *all[] = {v->id,      v->type, v->title,   v->fields,  v->tags,   v->created,
                          v->updated, v->rev,  v->deleted, v->trashed, v->history};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] == NULL)
            return vault__fail(VAULT_E_INVALID, "%s: missing member \"%s\"", what, names[i]);
    if ((rc = check_id(v->id, what)) != VAULT_OK || (rc = check_type(v->type, what)) != VAULT_OK ||
        (rc = check_string(v->title, what, "title", 0, VAULT_TITLE_MAX)) != VAULT_OK ||
        (rc = check_fields(v->fields, VAULT_STORED_FIELDS_MAX, what)) != VAULT_OK ||
        (rc = check_tags(v->tags, VAULT_STORED_TAGS_MAX, what)) != VAULT_OK ||
        (rc = check_u64(v->created, what, "created")) != VAULT_OK ||
        (rc = check_u64(v->updated, what, "updated")) != VAULT_OK ||
        (rc = check_u64(v->rev, what, "rev")) != VAULT_OK ||
        (rc = check_bool(v->deleted, what, "deleted")) != VAULT_OK ||
        (rc = check_u64(v->trashed, what, "trashed")) != VAULT_OK ||
        (rc = check_history(v->history, what)) != VAULT_OK)
        return rc;
    if (cJSON_IsTrue(v->deleted))
        return check_tombstone(v, what);
    return VAULT_OK;
}

/* ---- devices ---------------------------------------------------------------- */

/* Device entries belong to the device-linking module; only what the vault
 * relies on is checked (an id to merge by) plus UTF-8 everywhere. */
static int check_json_utf8(const cJSON *node, int depth)
{
    if (depth > 16)
        return vault__fail(VAULT_E_INVALID, "devices: nested too deeply");
    if (node->string != NULL && !vault_vault__utf8_valid(node->string, strlen(node->string)))
        return vault__fail(VAULT_E_INVALID, "devices: a member name is not valid UTF-8");
    if (cJSON_IsString(node) && node->valuestring != NULL &&
        !vault_vault__utf8_valid(node->valuestring, strlen(node->valuestring)))
        return vault__fail(VAULT_E_INVALID, "devices: a string is not valid UTF-8");
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        int rc = check_json_utf8(c, depth + 1);
        if (rc != VAULT_OK)
            return rc;
    }
    return VAULT_OK;
}

int vault_vault__check_devices(const cJSON *devices)
{
    if (!cJSON_IsArray(devices))
        return vault__fail(VAULT_E_INVALID, "vault: \"devices\" must be an array");
    size_t i = 0;
    for (const cJSON *d = devices->child; d != NULL; d = d->next, i++) {
        if (!cJSON_IsObject(d))
            return vault__fail(VAULT_E_INVALID, "device %zu: must be a JSON object", i);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
        if (!cJSON_IsString(id) || id->valuestring == NULL || id->valuestring[0] == '\0')
            return vault__fail(VAULT_E_INVALID, "device %zu: \"id\" must be a non-empty string",
                               i);
        for (const cJSON *e = devices->child; e != d; e = e->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring,
                       id->valuestring) == 0)
                return vault__fail(VAULT_E_INVALID, "device %zu: duplicate \"id\"", i);
        int rc = check_json_utf8(d, 0);
        if (rc != VAULT_OK)
            return rc;
    }
    return VAULT_OK;
}

/* ---- history ---------------------------------------------------------------- */

static const char *entry_name(const cJSON *entry)
{
    return cJSON_GetObjectItemCaseSensitive(entry, "name")->valuestring;
}

void vault_vault__trim_history(cJSON *history)
{
    size_t total = 0;
    for (cJSON *h = history->child; h != NULL; h = h->next)
        total++;
    cJSON *h = history->child;
    while (h != NULL) {
        cJSON *next = h->next;
        size_t newer_same = 0;
        for (cJSON *g = next; g != NULL && newer_same < VAULT_HISTORY_PER_NAME; g = g->next)
            if (strcmp(entry_name(g), entry_name(h)) == 0)
                newer_same++;
        if (newer_same >= VAULT_HISTORY_PER_NAME || total > VAULT_HISTORY_MAX) {
            cJSON_Delete(cJSON_DetachItemViaPointer(history, h));
            total--;
        }
        h = next;
    }
}

/* ---- building --------------------------------------------------------------- */

int vault_vault__put(cJSON *obj, const char *static_key, cJSON *value)
{
    if (value == NULL)
        return 0;
    cJSON_AddItemToObjectCS(obj, static_key, value);
    return 1;
}

cJSON *vault_vault__history_entry(const char *name, const char *value, uint64_t changed)
{
    cJSON *e = cJSON_CreateObject();
    if (e == NULL)
        return NULL;
    if (!vault_vault__put(e, "name", cJSON_CreateString(name)) ||
        !vault_vault__put(e, "value", cJSON_CreateString(value)) ||
        !vault_vault__put(e, "changed", cJSON_CreateNumber((double)changed))) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

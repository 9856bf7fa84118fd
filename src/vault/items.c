/*
 * Items: add, update, get, delete (tombstones), list and search.
 *
 * Every change builds the new item completely before touching the vault, so a
 * failure (bad input, out of memory) leaves the vault as it was.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "vault/vault_int.h"

static uint64_t now_ms(void)
{
    int64_t t = vault__now_ms();
    return t > 0 ? (uint64_t)t : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static int parse_input(const char *item_json, cJSON **input, vault_item_view *view)
{
    *input = NULL;
    size_t len = strlen(item_json);
    if (len > VAULT_ITEM_JSON_MAX)
        return vault__fail(VAULT_E_LIMIT, "item JSON larger than %u bytes",
                           VAULT_ITEM_JSON_MAX);
    int rc = vault__json_parse(item_json, len, input);
    if (rc != VAULT_OK)
        return rc;
    if ((rc = vault_vault__check_input(*input, view, "item")) != VAULT_OK) {
        cJSON_Delete(*input);
        *input = NULL;
    }
    return rc;
}

/* Rebuilds a validated field object in canonical member order, without
 * allocating: members are moved, and their keys become static strings. A
 * "type" is kept only when it is not the default "text". */
static void canonical_field(cJSON *field)
{
    cJSON *name = cJSON_DetachItemFromObjectCaseSensitive(field, "name");
    cJSON *value = cJSON_DetachItemFromObjectCaseSensitive(field, "value");
    cJSON *hidden = cJSON_DetachItemFromObjectCaseSensitive(field, "hidden");
    cJSON *type = cJSON_DetachItemFromObjectCaseSensitive(field, "type");
    vault_vault__put(field, "name", name);
    vault_vault__put(field, "value", value);
    vault_vault__put(field, "hidden", hidden);
    if (type != NULL && strcmp(type->valuestring, "text") != 0)
        vault_vault__put(field, "type", type);
    else
        cJSON_Delete(type);
}

static cJSON *take_or_empty(cJSON *input, cJSON *member)
{
    return member != NULL ? cJSON_DetachItemViaPointer(input, member) : cJSON_CreateArray();
}

/* A new item from the validated input (its content members are moved out of
 * input) with the library-kept members given. Takes history (even on
 * failure). NULL when out of memory. */
static cJSON *build_item(cJSON *input, const vault_item_view *in, const char *id,
                         uint64_t created, uint64_t updated, uint64_t rev, cJSON *history)
{
    cJSON *item = cJSON_CreateObject();
    if (item == NULL || history == NULL)
        goto fail;
    if (!vault_vault__put(item, "id", cJSON_CreateString(id)) ||
        !vault_vault__put(item, "type", cJSON_DetachItemViaPointer(input, in->type)) ||
        !vault_vault__put(item, "title", cJSON_DetachItemViaPointer(input, in->title)))
        goto fail;
    cJSON *fields = take_or_empty(input, in->fields);
    if (!vault_vault__put(item, "fields", fields))
        goto fail;
    for (cJSON *f = fields->child; f != NULL; f = f->next)
        canonical_field(f);
    if (!vault_vault__put(item, "tags", take_or_empty(input, in->tags)) ||
        !vault_vault__put(item, "created", cJSON_CreateNumber((double)created)) ||
        !vault_vault__put(item, "updated", cJSON_CreateNumber((double)updated)) ||
        !vault_vault__put(item, "rev", cJSON_CreateNumber((double)rev)) ||
        !vault_vault__put(item, "deleted", cJSON_CreateFalse()) ||
        !vault_vault__put(item, "trashed", cJSON_CreateNumber(0)))
        goto fail;
    vault_vault__put(item, "history", history);
    return item;
fail:
    cJSON_Delete(history);
    cJSON_Delete(item);
    return NULL;
}

/* ---- add -------------------------------------------------------------------- */

int vault_item_add(vault *v, const char *item_json, char **id_out)
{
    cJSON *input = NULL, *item = NULL;
    vault_item_view in;
    char id[VAULT_ID_CHARS + 1];
    char *id_copy = NULL;
    int rc;
    if (id_out != NULL)
        *id_out = NULL;
    if (v == NULL || item_json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_add: NULL argument");
    if ((rc = parse_input(item_json, &input, &in)) != VAULT_OK)
        return rc;
    if (in.id != NULL) {
        memcpy(id, in.id->valuestring, sizeof id);
        if (vault_vault__find(v, id) != NULL) {
            rc = vault__fail(VAULT_E_EXISTS, "an item with this id already exists");
            goto done;
        }
    } else {
        do
            vault__random_id(id);
        while (vault_vault__find(v, id) != NULL);
    }
    if (v->live >= VAULT_ITEMS_MAX) {
        rc = vault__fail(VAULT_E_LIMIT, "the vault already holds %u items", VAULT_ITEMS_MAX);
        goto done;
    }
    if ((rc = vault_vault__reserve(v, 1)) != VAULT_OK)
        goto done;
    if (id_out != NULL && (id_copy = vault__out_dup(id, VAULT_ID_CHARS)) == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory adding an item");
        goto done;
    }
    uint64_t now = now_ms();
    item = build_item(input, &in, id, now, now, 1, cJSON_CreateArray());
    if (item == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory adding an item");
        goto done;
    }
    vault_vault__append(v, item);
    if (id_out != NULL) {
        *id_out = id_copy;
        id_copy = NULL;
    }
done:
    vault_free(id_copy);
    cJSON_Delete(input);
    return rc;
}

/* ---- update ----------------------------------------------------------------- */

static const cJSON *field_named(const cJSON *fields, const char *name)
{
    for (const cJSON *f = fields != NULL ? fields->child : NULL; f != NULL; f = f->next)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring, name) == 0)
            return f;
    return NULL;
}

/* A hidden field whose value changes, or that disappears, leaves its old
 * value in the history: a replaced password must stay recoverable. */
static cJSON *updated_history(const vault_item_view *old, const cJSON *new_fields,
                              uint64_t now)
{
    cJSON *history = vault_vault__dup(old->history);
    if (history == NULL)
        return NULL;
    for (const cJSON *f = old->fields->child; f != NULL; f = f->next) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")))
            continue;
        const char *name = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *value = cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
        const cJSON *g = field_named(new_fields, name);
        if (g != NULL &&
            strcmp(cJSON_GetObjectItemCaseSensitive(g, "value")->valuestring, value) == 0)
            continue;
        cJSON *entry = vault_vault__history_entry(name, value, now);
        if (entry == NULL) {
            cJSON_Delete(history);
            return NULL;
        }
        cJSON_AddItemToArray(history, entry);
    }
    vault_vault__trim_history(history);
    return history;
}

/* The item id in one of the states in `want` (ITEM_LIVE: not in the trash,
 * ITEM_TRASHED: in the trash; tombstones are never wanted). */
enum { ITEM_LIVE = 1, ITEM_TRASHED = 2 };
static int find_item(const vault *v, const char *id, int want, cJSON **item,
                     vault_item_view *view)
{
    *item = vault_vault__find(v, id);
    if (*item == NULL)
        return vault__fail(VAULT_E_NOT_FOUND, "no item with this id");
    vault_vault__view(*item, view, "item");
    if (cJSON_IsTrue(view->deleted))
        return vault__fail(VAULT_E_NOT_FOUND, "the item was deleted");
    int trashed = view->trashed->valuedouble != 0;
    if (trashed && !(want & ITEM_TRASHED))
        return vault__fail(VAULT_E_NOT_FOUND, "the item is in the trash");
    if (!trashed && !(want & ITEM_LIVE))
        return vault__fail(VAULT_E_NOT_FOUND, "the item is not in the trash");
    return VAULT_OK;
}

static int live_item(const vault *v, const char *id, cJSON **item, vault_item_view *view)
{
    return find_item(v, id, ITEM_LIVE, item, view);
}

int vault_item_update(vault *v, const char *id, const char *item_json)
{
    cJSON *input = NULL, *old, *item;
    vault_item_view in, cur;
    int rc;
    if (v == NULL || id == NULL || item_json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_update: NULL argument");
    if ((rc = live_item(v, id, &old, &cur)) != VAULT_OK)
        return rc;
    if ((rc = parse_input(item_json, &input, &in)) != VAULT_OK)
        return rc;
    if (in.id != NULL && strcmp(in.id->valuestring, id) != 0) {
        rc = vault__fail(VAULT_E_INVALID, "item: \"id\" differs from the item updated");
        goto done;
    }
    uint64_t now = max_u64(now_ms(), vault_vault__u64(cur.updated));
    item = build_item(input, &in, id, vault_vault__u64(cur.created), now,
                      vault_vault__u64(cur.rev) + 1, updated_history(&cur, in.fields, now));
    if (item == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory updating an item");
        goto done;
    }
    vault_vault__replace(v, old, item);
done:
    cJSON_Delete(input);
    return rc;
}

/* ---- get, delete, count ----------------------------------------------------- */

int vault_item_get(const vault *v, const char *id, char **json)
{
    cJSON *item;
    vault_item_view view;
    if (json != NULL)
        *json = NULL;
    if (v == NULL || id == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_get: NULL argument");
    int rc = find_item(v, id, ITEM_LIVE | ITEM_TRASHED, &item, &view);
    if (rc != VAULT_OK)
        return rc;
    return vault_vault__print(item, json, NULL);
}

/* The tombstone keeps what a merge needs (id, type, times, rev) and nothing
 * the user wrote. */
static cJSON *tombstone(const vault_item_view *old, uint64_t now)
{
    cJSON *t = cJSON_CreateObject();
    if (t == NULL ||
        !vault_vault__put(t, "id", cJSON_CreateString(old->id->valuestring)) ||
        !vault_vault__put(t, "type", cJSON_CreateString(old->type->valuestring)) ||
        !vault_vault__put(t, "title", cJSON_CreateString("")) ||
        !vault_vault__put(t, "fields", cJSON_CreateArray()) ||
        !vault_vault__put(t, "tags", cJSON_CreateArray()) ||
        !vault_vault__put(t, "created", cJSON_CreateNumber(old->created->valuedouble)) ||
        !vault_vault__put(t, "updated", cJSON_CreateNumber((double)now)) ||
        !vault_vault__put(t, "rev", cJSON_CreateNumber((double)(vault_vault__u64(old->rev) + 1))) ||
        !vault_vault__put(t, "deleted", cJSON_CreateTrue()) ||
        !vault_vault__put(t, "trashed", cJSON_CreateNumber(0)) ||
        !vault_vault__put(t, "history", cJSON_CreateArray())) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

int vault_item_delete(vault *v, const char *id)
{
    cJSON *old;
    vault_item_view cur;
    if (v == NULL || id == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_delete: NULL argument");
    int rc = find_item(v, id, ITEM_LIVE | ITEM_TRASHED, &old, &cur);
    if (rc != VAULT_OK)
        return rc;
    cJSON *t = tombstone(&cur, max_u64(now_ms(), vault_vault__u64(cur.updated)));
    if (t == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory deleting an item");
    vault_vault__replace(v, old, t); /* the old content is wiped as it is freed */
    return VAULT_OK;
}

int vault_item_count(const vault *v, uint64_t *count)
{
    if (v == NULL || count == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_count: NULL argument");
    *count = v->live - v->trashed;
    return VAULT_OK;
}

/* ---- trash ------------------------------------------------------------------ */

/* A copy of the item with "trashed" set to `trashed`, "rev" bumped and
 * "updated" moved on: a change like any other, so it syncs and merges. */
static int set_trashed(vault *v, cJSON *old, const vault_item_view *cur, uint64_t trashed)
{
    cJSON *item = vault_vault__dup(old);
    if (item == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory moving an item");
    uint64_t now = max_u64(now_ms(), vault_vault__u64(cur->updated));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, "trashed"), (double)trashed);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, "updated"), (double)now);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, "rev"),
                         (double)(vault_vault__u64(cur->rev) + 1));
    vault_vault__replace(v, old, item);
    return VAULT_OK;
}

int vault_item_trash(vault *v, const char *id)
{
    cJSON *old;
    vault_item_view cur;
    if (v == NULL || id == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_trash: NULL argument");
    int rc = live_item(v, id, &old, &cur);
    if (rc != VAULT_OK)
        return rc;
    /* "trashed" 0 means "not in the trash": a clock at 0 still marks it. */
    return set_trashed(v, old, &cur, max_u64(now_ms(), 1));
}

int vault_item_restore(vault *v, const char *id)
{
    cJSON *old;
    vault_item_view cur;
    if (v == NULL || id == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_restore: NULL argument");
    int rc = find_item(v, id, ITEM_TRASHED, &old, &cur);
    if (rc != VAULT_OK)
        return rc;
    return set_trashed(v, old, &cur, 0);
}

int vault_trash_expire(vault *v, uint32_t days, uint64_t *purged)
{
    if (purged != NULL)
        *purged = 0;
    if (v == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_trash_expire: NULL argument");
    uint64_t now = now_ms(), age = (uint64_t)days * 86400000u;
    for (cJSON *it = v->items->child; it != NULL && v->trashed > 0;) {
        cJSON *next = it->next; /* the delete replaces `it` */
        vault_item_view iv;
        vault_vault__view(it, &iv, "item");
        uint64_t when = vault_vault__u64(iv.trashed);
        if (when != 0 && now >= when && now - when >= age) {
            int rc = vault_item_delete(v, iv.id->valuestring);
            if (rc != VAULT_OK)
                return rc;
            if (purged != NULL)
                (*purged)++;
        }
        it = next;
    }
    return VAULT_OK;
}

/* ---- list and search -------------------------------------------------------- */

typedef struct entry {
    const char *title;
    const char *id;
    cJSON *item;
} entry;

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Titles sort case-insensitively (ASCII), then bytewise, then by id, so the
 * order is total and the same on every device. */
static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    const unsigned char *s = (const unsigned char *)a->title;
    const unsigned char *t = (const unsigned char *)b->title;
    for (;; s++, t++) {
        int x = ascii_lower(*s), y = ascii_lower(*t);
        if (x != y)
            return x < y ? -1 : 1;
        if (*s == '\0')
            break;
    }
    int c = strcmp(a->title, b->title);
    return c != 0 ? c : strcmp(a->id, b->id);
}

/* ---- Unicode search: NFKC + case folding (utf8proc) --------------------------- */

/* A search query in the form values are compared in: NFKC, case-folded. */
typedef struct search_query {
    char *text; /* utf8proc's malloc */
    size_t len;
    int ascii; /* the folded query is ASCII */
} search_query;

static int is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* NFKC with case folding, so that "Ärzte", "ÄRZTE" and "ärzte" (composed or
 * not) and compatibility forms such as the ligature "ﬁ" compare equal. *out is
 * utf8proc's malloc: free it with fold_free. */
static int fold(const char *s, char **out, size_t *len)
{
    /* Set first: on failure the caller's fold_free is then a no-op. */
    *out = NULL;
    *len = 0;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &dst,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                          UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);
    if (n < 0)
        return n == UTF8PROC_ERROR_NOMEM
                   ? vault__fail(VAULT_E_NOMEM, "out of memory normalising text")
                   : vault__fail(VAULT_E_INVALID, "text is not valid UTF-8");
    *out = (char *)dst;
    *len = (size_t)n;
    return VAULT_OK;
}

/* Folded text may be a user's data: wiped before it goes back to the heap. */
static void fold_free(char *s, size_t len)
{
    if (s != NULL) {
        sodium_memzero(s, len);
        free(s); /* utf8proc's malloc */
    }
}

static int query_prepare(search_query *q, const char *query)
{
    int rc = fold(query, &q->text, &q->len);
    q->ascii = rc == VAULT_OK && is_ascii(q->text, q->len);
    return rc;
}

static void query_free(search_query *q)
{
    fold_free(q->text, q->len);
}

static int contains_ci(const char *hay, const char *needle, size_t nlen)
{
    if (nlen == 0)
        return 1;
    int first = ascii_lower((unsigned char)needle[0]);
    for (const char *h = hay; *h != '\0'; h++) {
        if (ascii_lower((unsigned char)*h) != first)
            continue;
        size_t k = 1;
        while (k < nlen && h[k] != '\0' &&
               ascii_lower((unsigned char)h[k]) == ascii_lower((unsigned char)needle[k]))
            k++;
        if (k == nlen)
            return 1;
    }
    return 0;
}

/* Whether hay contains the query once both are folded. ASCII text folds to
 * its ASCII lower case, so the common case needs no allocation. */
static int text_matches(const char *hay, const search_query *q, int *match)
{
    size_t hlen = strlen(hay);
    if (is_ascii(hay, hlen)) {
        *match = q->ascii && contains_ci(hay, q->text, q->len);
        return VAULT_OK;
    }
    char *folded;
    size_t flen;
    int rc = fold(hay, &folded, &flen);
    if (rc != VAULT_OK)
        return rc;
    /* Valid UTF-8 is self-synchronising: a byte match starts on a character. */
    *match = q->len == 0 || strstr(folded, q->text) != NULL;
    fold_free(folded, flen);
    return VAULT_OK;
}

static int item_matches(const vault_item_view *iv, const search_query *q, int *match)
{
    int rc = text_matches(iv->title->valuestring, q, match);
    for (const cJSON *t = iv->tags->child; t != NULL && rc == VAULT_OK && !*match; t = t->next)
        rc = text_matches(t->valuestring, q, match);
    for (const cJSON *f = iv->fields->child; f != NULL && rc == VAULT_OK && !*match;
         f = f->next)
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")))
            rc = text_matches(cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring, q,
                              match);
    return rc;
}

/* Sorts the chosen items and prints them as one array of references (the
 * items are not copied). */
static int print_sorted(entry *list, size_t n, char **json)
{
    qsort(list, n, sizeof *list, entry_cmp);
    cJSON *array = cJSON_CreateArray();
    if (array == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory listing items");
    for (size_t i = 0; i < n; i++)
        if (!cJSON_AddItemReferenceToArray(array, list[i].item)) {
            cJSON_Delete(array);
            return vault__fail(VAULT_E_NOMEM, "out of memory listing items");
        }
    int rc = vault_vault__print(array, json, NULL);
    cJSON_Delete(array); /* references only: the items stay */
    return rc;
}

/* Which items a listing shows: bits of the three states an item can be in. */
enum { SHOW_LIVE = 1, SHOW_TRASH = 2, SHOW_DELETED = 4 };

static int item_state(const vault_item_view *iv)
{
    if (cJSON_IsTrue(iv->deleted))
        return SHOW_DELETED;
    return iv->trashed->valuedouble != 0 ? SHOW_TRASH : SHOW_LIVE;
}

/* The items in the states `show`; with a (normalised) query only matches. */
static int select_items(const vault *v, int show, const search_query *query, char **json)
{
    size_t n = 0;
    int rc = VAULT_OK;
    entry *list = vault__malloc((v->used + 1) * sizeof *list);
    if (list == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory listing items");
    for (cJSON *it = v->items->child; it != NULL; it = it->next) {
        vault_item_view iv;
        vault_vault__view(it, &iv, "item");
        if (!(item_state(&iv) & show))
            continue;
        if (query != NULL) {
            int match = 0;
            if ((rc = item_matches(&iv, query, &match)) != VAULT_OK)
                goto done;
            if (!match)
                continue;
        }
        list[n++] = (entry){iv.title->valuestring, iv.id->valuestring, it};
    }
    rc = print_sorted(list, n, json);
done:
    vault__free(list); /* pointers only */
    return rc;
}

int vault_item_list(const vault *v, uint32_t flags, char **json)
{
    if (json != NULL)
        *json = NULL;
    if (v == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_list: NULL argument");
    if (flags == VAULT_LIST_DELETED)
        return select_items(v, SHOW_LIVE | SHOW_TRASH | SHOW_DELETED, NULL, json);
    if (flags == VAULT_LIST_TRASH)
        return select_items(v, SHOW_TRASH, NULL, json);
    if (flags != 0)
        return vault__fail(VAULT_E_INVALID, "vault_item_list: unknown flags");
    return select_items(v, SHOW_LIVE, NULL, json);
}

int vault_item_search(const vault *v, const char *query, char **json)
{
    if (json != NULL)
        *json = NULL;
    if (v == NULL || query == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_search: NULL argument");
    if (!vault_vault__utf8_valid(query, strlen(query)))
        return vault__fail(VAULT_E_INVALID, "search query is not valid UTF-8");
    search_query q;
    int rc = query_prepare(&q, query);
    if (rc != VAULT_OK)
        return rc;
    rc = select_items(v, SHOW_LIVE, &q, json);
    query_free(&q);
    return rc;
}

/* ---- TOTP ------------------------------------------------------------------- */

int vault_item_totp(const vault *v, const char *id, uint64_t unix_time, char **code,
                    uint32_t *seconds_left)
{
    cJSON *item;
    vault_item_view iv;
    if (code != NULL)
        *code = NULL;
    if (v == NULL || id == NULL || code == NULL || seconds_left == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_item_totp: NULL argument");
    int rc = live_item(v, id, &item, &iv);
    if (rc != VAULT_OK)
        return rc;
    for (const cJSON *f = iv.fields->child; f != NULL; f = f->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
        if (type != NULL && strcmp(type->valuestring, "totp") == 0)
            return vault_totp_code(cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring,
                                   unix_time, code, seconds_left);
    }
    return vault__fail(VAULT_E_NOT_FOUND, "the item has no TOTP field");
}

/*
 * Three-way merge of vaults (docs/sync.md has the rules with examples).
 *
 * Per item id, base/local/remote are compared; an item changed on one side
 * only takes that side, an item changed on both is merged member by member
 * and field by field (by field name). Conflicts on the same value are decided
 * by the item's "updated" time, ties by the larger value bytes, so that the
 * result does not depend on which side is "local": two devices merging the
 * same pair get the same vault. The merge never reads the clock.
 *
 * Cost: one pass over local and one over remote, O(1) index lookups, a cheap
 * structural comparison against base, and a copy of every surviving item.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

static const char *member_str(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key)->valuestring;
}

static int member_true(const cJSON *obj, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* ---- equality ---------------------------------------------------------------- */

/* A field's type; absent means "text". */
static const char *field_type(const cJSON *f)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
    return t != NULL ? t->valuestring : "text";
}

/* Fields compared by value, hidden flag and type; NULL means "absent". */
static int field_equal(const cJSON *a, const cJSON *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(member_str(a, "value"), member_str(b, "value")) == 0 &&
           member_true(a, "hidden") == member_true(b, "hidden") &&
           strcmp(field_type(a), field_type(b)) == 0;
}

static int fields_equal(const cJSON *a, const cJSON *b)
{
    for (a = a->child, b = b->child; a != NULL && b != NULL; a = a->next, b = b->next)
        if (strcmp(member_str(a, "name"), member_str(b, "name")) != 0 || !field_equal(a, b))
            return 0;
    return a == b;
}

static int strings_equal(const cJSON *a, const cJSON *b)
{
    for (a = a->child, b = b->child; a != NULL && b != NULL; a = a->next, b = b->next)
        if (strcmp(a->valuestring, b->valuestring) != 0)
            return 0;
    return a == b;
}

static int history_entry_equal(const cJSON *a, const cJSON *b)
{
    return strcmp(member_str(a, "name"), member_str(b, "name")) == 0 &&
           strcmp(member_str(a, "value"), member_str(b, "value")) == 0 &&
           cJSON_GetObjectItemCaseSensitive(a, "changed")->valuedouble ==
               cJSON_GetObjectItemCaseSensitive(b, "changed")->valuedouble;
}

static int histories_equal(const cJSON *a, const cJSON *b)
{
    for (a = a->child, b = b->child; a != NULL && b != NULL; a = a->next, b = b->next)
        if (!history_entry_equal(a, b))
            return 0;
    return a == b;
}

/* Cheap members first: almost every unchanged item differs in none. */
static int items_equal(const vault_item_view *a, const vault_item_view *b)
{
    return a->rev->valuedouble == b->rev->valuedouble &&
           a->updated->valuedouble == b->updated->valuedouble &&
           a->created->valuedouble == b->created->valuedouble &&
           cJSON_IsTrue(a->deleted) == cJSON_IsTrue(b->deleted) &&
           a->trashed->valuedouble == b->trashed->valuedouble &&
           strcmp(a->type->valuestring, b->type->valuestring) == 0 &&
           strcmp(a->title->valuestring, b->title->valuestring) == 0 &&
           fields_equal(a->fields, b->fields) && strings_equal(a->tags, b->tags) &&
           histories_equal(a->history, b->history);
}

/* ---- conflict rule -------------------------------------------------------------- */

/* 1 if local's value wins a conflict: newer "updated", else the larger bytes.
 * Symmetric: swapping the sides swaps the answer (for different values). */
static int local_wins(uint64_t lu, uint64_t ru, const char *lval, const char *rval)
{
    if (lu != ru)
        return lu > ru;
    return strcmp(lval, rval) > 0;
}

/* Three-way choice of a string member; *lost receives the losing value of a
 * real conflict (else NULL). */
static const char *merge_string(const cJSON *b, const cJSON *l, const cJSON *r, uint64_t lu,
                                uint64_t ru, const char **lost)
{
    const char *lv = l->valuestring, *rv = r->valuestring;
    *lost = NULL;
    if (b != NULL && strcmp(lv, b->valuestring) == 0)
        return rv;
    if ((b != NULL && strcmp(rv, b->valuestring) == 0) || strcmp(lv, rv) == 0)
        return lv;
    int local = local_wins(lu, ru, lv, rv);
    *lost = local ? rv : lv;
    return local ? lv : rv;
}

/* ---- fields -------------------------------------------------------------------- */

static const cJSON *field_named(const cJSON *fields, const char *name)
{
    for (const cJSON *f = fields != NULL ? fields->child : NULL; f != NULL; f = f->next)
        if (strcmp(member_str(f, "name"), name) == 0)
            return f;
    return NULL;
}

typedef struct merge_ctx {
    const vault_item_view *b; /* NULL when the item is new on both sides */
    const vault_item_view *l, *r;
    uint64_t lu, ru;  /* "updated" of each side */
    uint64_t changed; /* the merged item's "updated", stamped on lost values */
    int fields_local_first; /* whose order the merged fields follow */
    int tags_local_first;   /* and the merged tags */
    cJSON *lost;      /* history entries for values that lost a conflict */
} merge_ctx;

static int add_lost(merge_ctx *m, const char *name, const char *value)
{
    cJSON *e = vault_vault__history_entry(name, value, m->changed);
    if (e == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory merging");
    cJSON_AddItemToArray(m->lost, e);
    return VAULT_OK;
}

static int in_history(const cJSON *history, const char *name, const char *value)
{
    for (const cJSON *e = history->child; e != NULL; e = e->next)
        if (strcmp(member_str(e, "name"), name) == 0 && strcmp(member_str(e, "value"), value) == 0)
            return 1;
    return 0;
}

/* A side whose history holds the other side's value of the field saw that
 * value and replaced it: its value is the later one, whatever the clocks say
 * (this matters when the base does not hold the field: no common base, or a
 * tombstone that two branches brought back). 1 if remote replaced local's
 * value, -1 if local replaced remote's, 0 if neither (or both: then the
 * conflict rule decides). */
static int replaced_side(const merge_ctx *m, const char *name, const char *lv, const char *rv)
{
    int remote_saw = in_history(m->r->history, name, lv);
    int local_saw = in_history(m->l->history, name, rv);
    return remote_saw - local_saw;
}

/* The merged field for one name (NULL = absent), recording a losing value. */
static int merge_field(merge_ctx *m, const char *name, const cJSON **chosen)
{
    const cJSON *bf = m->b != NULL ? field_named(m->b->fields, name) : NULL;
    const cJSON *lf = field_named(m->l->fields, name);
    const cJSON *rf = field_named(m->r->fields, name);
    if (field_equal(lf, bf)) {
        *chosen = rf;
    } else if (field_equal(rf, bf) || field_equal(lf, rf)) {
        *chosen = lf;
    } else if (lf == NULL || rf == NULL) {
        *chosen = lf != NULL ? lf : rf; /* an edit beats a removal */
    } else {
        const char *lv = member_str(lf, "value"), *rv = member_str(rf, "value");
        if (strcmp(lv, rv) == 0) {
            /* Only the hidden flag or the type differs: hiding is the safe
             * choice, then the newer side's type. */
            if (member_true(lf, "hidden") != member_true(rf, "hidden"))
                *chosen = member_true(lf, "hidden") ? lf : rf;
            else
                *chosen = local_wins(m->lu, m->ru, field_type(lf), field_type(rf)) ? lf : rf;
            return VAULT_OK;
        }
        int replaced = replaced_side(m, name, lv, rv);
        if (replaced != 0) {
            *chosen = replaced > 0 ? rf : lf; /* the old value is in history already */
            return VAULT_OK;
        }
        int local = local_wins(m->lu, m->ru, lv, rv);
        *chosen = local ? lf : rf;
        return add_lost(m, name, local ? rv : lv);
    }
    return VAULT_OK;
}

static int merge_fields(merge_ctx *m, cJSON *out)
{
    const cJSON *first = m->fields_local_first ? m->l->fields : m->r->fields;
    const cJSON *second = m->fields_local_first ? m->r->fields : m->l->fields;
    const cJSON *lists[2] = {first, second};
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *f = lists[pass]->child; f != NULL; f = f->next) {
            const char *name = member_str(f, "name");
            if (pass == 1 && field_named(first, name) != NULL)
                continue;
            const cJSON *chosen = NULL;
            int rc = merge_field(m, name, &chosen);
            if (rc != VAULT_OK)
                return rc;
            if (chosen == NULL)
                continue;
            if (++count > VAULT_STORED_FIELDS_MAX)
                return vault__fail(VAULT_E_LIMIT, "merged item has more than %u fields",
                                   VAULT_STORED_FIELDS_MAX);
            cJSON *copy = vault_vault__dup(chosen);
            if (copy == NULL)
                return vault__fail(VAULT_E_NOMEM, "out of memory merging");
            cJSON_AddItemToArray(out, copy);
        }
    }
    return VAULT_OK;
}

/* ---- tags ---------------------------------------------------------------------- */

static int has_tag(const cJSON *tags, const char *tag)
{
    for (const cJSON *t = tags != NULL ? tags->child : NULL; t != NULL; t = t->next)
        if (strcmp(t->valuestring, tag) == 0)
            return 1;
    return 0;
}

/* Tags are a set: a tag added on either side is kept, a tag removed on either
 * side is removed. */
static int merge_tags(const merge_ctx *m, cJSON *out)
{
    const cJSON *b = m->b != NULL ? m->b->tags : NULL;
    const cJSON *first = m->tags_local_first ? m->l->tags : m->r->tags;
    const cJSON *second = m->tags_local_first ? m->r->tags : m->l->tags;
    const cJSON *lists[2] = {first, second};
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *t = lists[pass]->child; t != NULL; t = t->next) {
            const char *tag = t->valuestring;
            if (pass == 1 && has_tag(first, tag))
                continue;
            int in_base = has_tag(b, tag);
            if (in_base && (!has_tag(m->l->tags, tag) || !has_tag(m->r->tags, tag)))
                continue;
            if (++count > VAULT_STORED_TAGS_MAX)
                return vault__fail(VAULT_E_LIMIT, "merged item has more than %u tags",
                                   VAULT_STORED_TAGS_MAX);
            cJSON *copy = cJSON_CreateString(tag);
            if (copy == NULL)
                return vault__fail(VAULT_E_NOMEM, "out of memory merging");
            cJSON_AddItemToArray(out, copy);
        }
    }
    return VAULT_OK;
}

/* ---- history ------------------------------------------------------------------- */

static int history_cmp(const void *pa, const void *pb)
{
    const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
    double ca = cJSON_GetObjectItemCaseSensitive(a, "changed")->valuedouble;
    double cb = cJSON_GetObjectItemCaseSensitive(b, "changed")->valuedouble;
    if (ca != cb)
        return ca < cb ? -1 : 1;
    int c = strcmp(member_str(a, "name"), member_str(b, "name"));
    return c != 0 ? c : strcmp(member_str(a, "value"), member_str(b, "value"));
}

/* Both histories and the lost values, without duplicates, oldest first (a
 * total order, so both devices agree), then trimmed like any history. */
static int merge_history(const merge_ctx *m, cJSON *out)
{
    const cJSON *sources[3] = {m->l->history, m->r->history, m->lost};
    size_t n = 0, total = 0;
    for (int s = 0; s < 3; s++)
        total += (size_t)cJSON_GetArraySize(sources[s]);
    const cJSON **all = vault__malloc((total + 1) * sizeof *all);
    if (all == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory merging");
    for (int s = 0; s < 3; s++)
        for (const cJSON *h = sources[s]->child; h != NULL; h = h->next) {
            size_t k = 0;
            while (k < n && !history_entry_equal(all[k], h))
                k++;
            if (k == n)
                all[n++] = h;
        }
    qsort(all, n, sizeof *all, history_cmp);
    int rc = VAULT_OK;
    for (size_t i = 0; i < n && rc == VAULT_OK; i++) {
        cJSON *copy = vault_vault__dup(all[i]);
        if (copy == NULL)
            rc = vault__fail(VAULT_E_NOMEM, "out of memory merging");
        else
            cJSON_AddItemToArray(out, copy);
    }
    vault__free(all); /* pointers only */
    if (rc == VAULT_OK)
        vault_vault__trim_history(out);
    return rc;
}

/* ---- items ------------------------------------------------------------------------ */

static void set_number(cJSON *item, const char *key, uint64_t value)
{
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, key), (double)value);
}

/* A copy of one side's item carrying the merged revision and times. */
static int copy_with_times(const cJSON *src, const vault_item_view *l,
                           const vault_item_view *r, cJSON **out)
{
    *out = vault_vault__dup(src);
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory merging");
    set_number(*out, "rev", max_u64(vault_vault__u64(l->rev), vault_vault__u64(r->rev)) + 1);
    set_number(*out, "updated",
               max_u64(vault_vault__u64(l->updated), vault_vault__u64(r->updated)));
    set_number(*out, "created",
               min_u64(vault_vault__u64(l->created), vault_vault__u64(r->created)));
    return VAULT_OK;
}

static int copy_item(const cJSON *src, cJSON **out)
{
    *out = vault_vault__dup(src);
    return *out != NULL ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory merging");
}

/* Orders two lists of strings (or of objects' `key` members) by content. */
static int sequence_cmp(const cJSON *a, const cJSON *b, const char *key)
{
    for (a = a->child, b = b->child; a != NULL && b != NULL; a = a->next, b = b->next) {
        int c = key != NULL ? strcmp(member_str(a, key), member_str(b, key))
                            : strcmp(a->valuestring, b->valuestring);
        if (c != 0)
            return c;
    }
    return (a != NULL) - (b != NULL);
}

/* Whether a merged list follows local's order: the newer side's, then the
 * higher rev's, then the larger list's; equal lists make the choice moot. So
 * swapping the sides never changes the result. */
static int local_first(const vault_item_view *l, const vault_item_view *r, const cJSON *ll,
                       const cJSON *rl, const char *key)
{
    uint64_t lu = vault_vault__u64(l->updated), ru = vault_vault__u64(r->updated);
    uint64_t lr = vault_vault__u64(l->rev), rr = vault_vault__u64(r->rev);
    if (lu != ru)
        return lu > ru;
    if (lr != rr)
        return lr > rr;
    return sequence_cmp(ll, rl, key) >= 0;
}

/* The trash state, three-way like a value: a side that moved the item into
 * or out of the trash wins over one that left it; if both changed it
 * differently, the newer side wins. The content merges independently, so
 * an edit made on one device to an item trashed on another is kept, in the
 * trash, and comes back with it on restore. */
static uint64_t merge_trashed(const merge_ctx *m)
{
    uint64_t l = vault_vault__u64(m->l->trashed), r = vault_vault__u64(m->r->trashed);
    if (m->b != NULL && l == vault_vault__u64(m->b->trashed))
        return r;
    if ((m->b != NULL && r == vault_vault__u64(m->b->trashed)) || l == r)
        return l;
    if (m->lu != m->ru)
        return m->lu > m->ru ? l : r;
    return max_u64(l, r);
}

/* Both sides edited a live item: merge member by member. */
static int merge_content(merge_ctx *m, cJSON **out)
{
    const vault_item_view *b = m->b, *l = m->l, *r = m->r;
    const char *type_lost, *title_lost;
    const char *type = merge_string(b ? b->type : NULL, l->type, r->type, m->lu, m->ru,
                                    &type_lost);
    const char *title = merge_string(b ? b->title : NULL, l->title, r->title, m->lu, m->ru,
                                     &title_lost);
    cJSON *item = cJSON_CreateObject(), *fields = cJSON_CreateArray();
    cJSON *tags = cJSON_CreateArray(), *history = cJSON_CreateArray();
    int rc;
    if (item == NULL || fields == NULL || tags == NULL || history == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory merging");
        goto done;
    }
    /* A losing title is kept in the history under the name "title". */
    if ((title_lost != NULL && (rc = add_lost(m, "title", title_lost)) != VAULT_OK) ||
        (rc = merge_fields(m, fields)) != VAULT_OK || (rc = merge_tags(m, tags)) != VAULT_OK ||
        (rc = merge_history(m, history)) != VAULT_OK)
        goto done;
    uint64_t rev = max_u64(vault_vault__u64(l->rev), vault_vault__u64(r->rev)) + 1;
    uint64_t created = min_u64(vault_vault__u64(l->created), vault_vault__u64(r->created));
    int built = vault_vault__put(item, "id", cJSON_CreateString(l->id->valuestring)) &&
                vault_vault__put(item, "type", cJSON_CreateString(type)) &&
                vault_vault__put(item, "title", cJSON_CreateString(title)) &&
                vault_vault__put(item, "fields", fields) && vault_vault__put(item, "tags", tags);
    if (built) {
        fields = tags = NULL; /* owned by item now */
        built = vault_vault__put(item, "created", cJSON_CreateNumber((double)created)) &&
                vault_vault__put(item, "updated", cJSON_CreateNumber((double)m->changed)) &&
                vault_vault__put(item, "rev", cJSON_CreateNumber((double)rev)) &&
                vault_vault__put(item, "deleted", cJSON_CreateFalse()) &&
                vault_vault__put(item, "trashed", cJSON_CreateNumber((double)merge_trashed(m))) &&
                vault_vault__put(item, "history", history);
    }
    if (!built) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory merging");
        goto done;
    }
    history = NULL;
    *out = item;
    item = NULL;
    rc = VAULT_OK;
done:
    cJSON_Delete(item);
    cJSON_Delete(fields);
    cJSON_Delete(tags);
    cJSON_Delete(history);
    return rc;
}

static int merge_both_changed(const vault_item_view *b, const vault_item_view *l,
                              const vault_item_view *r, const cJSON *litem,
                              const cJSON *ritem, cJSON **out)
{
    int ldel = cJSON_IsTrue(l->deleted), rdel = cJSON_IsTrue(r->deleted);
    uint64_t lu = vault_vault__u64(l->updated), ru = vault_vault__u64(r->updated);
    if (ldel && rdel) /* both tombstones: only the type can differ */
        return copy_with_times(local_wins(lu, ru, l->type->valuestring, r->type->valuestring)
                                   ? litem : ritem, l, r, out);
    if (ldel || rdel) /* delete versus edit: the edit survives (undelete) */
        return copy_with_times(ldel ? ritem : litem, l, r, out);
    merge_ctx m = {b, l, r, lu, ru, max_u64(lu, ru), 0, 0, cJSON_CreateArray()};
    if (m.lost == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory merging");
    m.fields_local_first = local_first(l, r, l->fields, r->fields, "name");
    m.tags_local_first = local_first(l, r, l->tags, r->tags, NULL);
    int rc = merge_content(&m, out);
    cJSON_Delete(m.lost);
    return rc;
}

/* The merged item for one id, or *out = NULL when it is gone. */
static int merge_item(const cJSON *bitem, const cJSON *litem, const cJSON *ritem, cJSON **out)
{
    vault_item_view b, l, r;
    *out = NULL;
    if (bitem != NULL)
        vault_vault__view(bitem, &b, "item");
    if (litem == NULL || ritem == NULL) {
        /* Present on one side only: new there, or dropped on the other side
         * (kept if this side changed it: an edit is never lost). */
        const cJSON *only = litem != NULL ? litem : ritem;
        if (only == NULL)
            return VAULT_OK;
        vault_vault__view(only, &l, "item");
        if (bitem != NULL && items_equal(&l, &b))
            return VAULT_OK;
        return copy_item(only, out);
    }
    vault_vault__view(litem, &l, "item");
    vault_vault__view(ritem, &r, "item");
    if (bitem != NULL && items_equal(&l, &b))
        return copy_item(ritem, out);
    if ((bitem != NULL && items_equal(&r, &b)) || items_equal(&l, &r))
        return copy_item(litem, out);
    return merge_both_changed(bitem != NULL ? &b : NULL, &l, &r, litem, ritem, out);
}

/* ---- devices ---------------------------------------------------------------------- */

static const cJSON *device_named(const cJSON *devices, const char *id)
{
    for (const cJSON *d = devices->child; d != NULL; d = d->next)
        if (strcmp(member_str(d, "id"), id) == 0)
            return d;
    return NULL;
}

static const char *device_str(const cJSON *d, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, key);
    return cJSON_IsString(n) && n->valuestring != NULL ? n->valuestring : "";
}

/* A deterministic choice between two different entries for one device. */
static int device_cmp(const cJSON *a, const cJSON *b)
{
    int c = strcmp(device_str(a, "name"), device_str(b, "name"));
    if (c == 0)
        c = strcmp(device_str(a, "public_key"), device_str(b, "public_key"));
    if (c == 0) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, "added");
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, "added");
        double dx = cJSON_IsNumber(x) ? x->valuedouble : 0, dy = cJSON_IsNumber(y) ? y->valuedouble : 0;
        c = (dx > dy) - (dx < dy);
    }
    return c;
}

/* The merged entry for one device id (NULL = gone). A device in base that one
 * side no longer lists was revoked there: the removal wins over anything. */
static const cJSON *merge_device(const cJSON *bd, const cJSON *ld, const cJSON *rd)
{
    if (ld == NULL || rd == NULL)
        return bd != NULL ? NULL : (ld != NULL ? ld : rd);
    if (bd != NULL && cJSON_Compare(ld, bd, 1))
        return rd;
    if ((bd != NULL && cJSON_Compare(rd, bd, 1)) || cJSON_Compare(ld, rd, 1))
        return ld;
    /* Changed on both sides (a rename): the larger name, then key, then time. */
    return device_cmp(ld, rd) >= 0 ? ld : rd;
}

/* fork: no common base is known, so a device only one side lists may have
 * been revoked on the other: it is dropped (a revocation must never be
 * undone; a device linked on one branch only links again). */
static int merge_devices(const cJSON *b, const cJSON *l, const cJSON *r, int fork, cJSON **out)
{
    *out = cJSON_CreateArray();
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory merging");
    const cJSON *lists[2] = {l, r};
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *d = lists[pass]->child; d != NULL; d = d->next) {
            const char *id = member_str(d, "id");
            if (pass == 1 && device_named(l, id) != NULL)
                continue;
            const cJSON *ld = device_named(l, id), *rd = device_named(r, id);
            const cJSON *chosen = fork && (ld == NULL || rd == NULL)
                                      ? NULL
                                      : merge_device(device_named(b, id), ld, rd);
            if (chosen == NULL)
                continue;
            cJSON *copy = vault_vault__dup(chosen);
            if (copy == NULL) {
                cJSON_Delete(*out);
                *out = NULL;
                return vault__fail(VAULT_E_NOMEM, "out of memory merging");
            }
            cJSON_AddItemToArray(*out, copy);
        }
    }
    return VAULT_OK;
}

/* ---- the vault -------------------------------------------------------------------- */

static int merge_one(vault *m, const vault *base, const cJSON *litem, const cJSON *ritem)
{
    const cJSON *any = litem != NULL ? litem : ritem;
    const char *id = member_str(any, "id");
    cJSON *merged = NULL;
    int rc = merge_item(base != NULL ? vault_vault__find(base, id) : NULL, litem, ritem,
                        &merged);
    if (rc == VAULT_OK && merged != NULL)
        vault_vault__append(m, merged);
    return rc;
}

static int merge_vaults(vault **out, const vault *base, const vault *local, const vault *remote,
                        int fork)
{
    vault *m = NULL;
    cJSON *devices = NULL;
    int rc;
    if (out == NULL || local == NULL || remote == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_merge: NULL argument");
    *out = NULL;
    /* Other modules edit devices in place: check before relying on ids. */
    if ((base != NULL && (rc = vault_vault__check_devices(base->devices)) != VAULT_OK) ||
        (rc = vault_vault__check_devices(local->devices)) != VAULT_OK ||
        (rc = vault_vault__check_devices(remote->devices)) != VAULT_OK)
        return rc;
    if ((rc = vault_vault__empty(&m)) != VAULT_OK ||
        (rc = vault_vault__reserve(m, local->used + remote->used)) != VAULT_OK)
        goto done;
    for (const cJSON *it = local->items->child; it != NULL && rc == VAULT_OK; it = it->next)
        rc = merge_one(m, base, it, vault_vault__find(remote, member_str(it, "id")));
    for (const cJSON *it = remote->items->child; it != NULL && rc == VAULT_OK; it = it->next)
        if (vault_vault__find(local, member_str(it, "id")) == NULL)
            rc = merge_one(m, base, NULL, it);
    if (rc != VAULT_OK)
        goto done;
    static const cJSON no_devices = {NULL, NULL, NULL, cJSON_Array, NULL, 0, 0, NULL};
    if ((rc = merge_devices(base != NULL ? base->devices : &no_devices, local->devices,
                            remote->devices, fork, &devices)) != VAULT_OK ||
        (rc = vault_vault__set_devices(m, devices)) != VAULT_OK)
        goto done;
    devices = NULL;
    *out = m;
    m = NULL;
done:
    cJSON_Delete(devices);
    vault_close(m);
    return rc;
}

int vault_merge(vault **out, const vault *base, const vault *local, const vault *remote)
{
    return merge_vaults(out, base, local, remote, 0);
}

int vault_vault__merge_fork(vault **out, const vault *local, const vault *remote)
{
    return merge_vaults(out, NULL, local, remote, 1);
}

/* ---- comparing by content ------------------------------------------------------- */

/* Every item of a equals b's item of the same id (all members, history
 * included, tombstones too); b has no item a lacks (same count). */
static int items_same(const vault *a, const vault *b)
{
    if (a->used != b->used)
        return 0;
    for (const cJSON *it = a->items->child; it != NULL; it = it->next) {
        const cJSON *other = vault_vault__find(b, member_str(it, "id"));
        vault_item_view x, y;
        if (other == NULL)
            return 0;
        vault_vault__view(it, &x, "item");
        vault_vault__view(other, &y, "item");
        if (!items_equal(&x, &y))
            return 0;
    }
    return 1;
}

static int devices_same(const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return 0;
    for (const cJSON *d = a->child; d != NULL; d = d->next) {
        const cJSON *other = device_named(b, member_str(d, "id"));
        if (other == NULL || !cJSON_Compare(d, other, 1))
            return 0;
    }
    return 1;
}

int vault_compare(const vault *a, const vault *b, int32_t *equal)
{
    if (a == NULL || b == NULL || equal == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_compare: NULL argument");
    int rc = vault_vault__check_devices(a->devices);
    if (rc == VAULT_OK)
        rc = vault_vault__check_devices(b->devices);
    if (rc == VAULT_OK)
        *equal = items_same(a, b) && devices_same(a->devices, b->devices);
    return rc;
}

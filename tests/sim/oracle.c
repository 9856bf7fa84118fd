/*
 * The oracle: a model of every edit and delete the devices made, with the
 * causal past of each (what its device had seen), and the check of a
 * device's vault against it.
 *
 * Every value written is unique ("e<index>"), so a value names the edit that
 * wrote it. An edit E of field f of item i is kept on a device when one of:
 *   - the field holds E's value;
 *   - a delete of i was made by a device that had seen E (a later delete);
 *   - the field holds the value of an edit that E had not seen (a later or a
 *     concurrent edit: the conflict rule may pick either), and E's value is
 *     in the item's history under f (the loser is kept).
 * Anything else is a loss: the item missing, a tombstone no delete explains,
 * the field reverted to a value E had already seen, or overwritten without
 * history.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_item_id(char out[33], uint64_t seed, int item)
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)seed,
             (unsigned long long)0x5100000000000000ull + (unsigned long long)item);
}

int sim_set_has(const sim_set *s, int i)
{
    return (s->w[i / 64] >> (i % 64)) & 1u;
}

void sim_set_add(sim_set *s, int i)
{
    s->w[i / 64] |= (uint64_t)1 << (i % 64);
}

static void set_union(sim_set *s, const sim_set *t)
{
    for (size_t i = 0; i < sizeof s->w / sizeof s->w[0]; i++)
        s->w[i] |= t->w[i];
}

int sim_oracle_edit(sim_oracle *o, int dev, int item, int field)
{
    if (o->nedits == SIM_MAX_EDITS)
        return -1;
    int e = o->nedits++;
    o->edits[e] = (sim_edit){.item = item, .field = field, .dev = dev, .past = o->know[dev]};
    sim_set_add(&o->know[dev], e);
    o->field_edits[item][field]++;
    return e;
}

int sim_oracle_delete(sim_oracle *o, int dev, int item)
{
    if (o->ndeletes == SIM_MAX_DELETES)
        return -1;
    o->deletes[o->ndeletes] = (sim_delete){.item = item, .dev = dev, .past = o->know[dev]};
    return o->ndeletes++;
}

/* The edit a value names, or -1 if it is not one of ours. */
static int edit_of(const sim_oracle *o, const cJSON *value)
{
    char *end = NULL;
    if (!cJSON_IsString(value) || value->valuestring[0] != 'e')
        return -1;
    long e = strtol(value->valuestring + 1, &end, 10);
    if (*end != '\0' || e < 0 || e >= o->nedits)
        return -1;
    return (int)e;
}

/* The item index of an id made by sim_item_id for this seed, or -1. */
static int item_of(const sim_oracle *o, const char *id)
{
    char want[33];
    for (int i = 0; i < o->nitems; i++) {
        sim_item_id(want, o->seed, i);
        if (strcmp(want, id) == 0)
            return i;
    }
    return -1;
}

static cJSON *list_of(const vault *v)
{
    char *json = NULL;
    if (vault_item_list(v, VAULT_LIST_DELETED, &json) != VAULT_OK)
        return NULL;
    cJSON *list = cJSON_Parse(json);
    vault_free(json);
    return list;
}

static void learn(sim_oracle *o, int dev, int e)
{
    if (e < 0 || sim_set_has(&o->know[dev], e))
        return;
    sim_set_add(&o->know[dev], e);
    set_union(&o->know[dev], &o->edits[e].past);
}

int sim_oracle_observe(sim_oracle *o, int dev, const vault *v)
{
    cJSON *list = list_of(v);
    const cJSON *item = NULL, *f = NULL;
    if (list == NULL)
        return -1;
    cJSON_ArrayForEach(item, list)
    {
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields"))
            learn(o, dev, edit_of(o, cJSON_GetObjectItemCaseSensitive(f, "value")));
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "history"))
            learn(o, dev, edit_of(o, cJSON_GetObjectItemCaseSensitive(f, "value")));
    }
    cJSON_Delete(list);
    return 0;
}

static const cJSON *find_item(const cJSON *list, const char *id)
{
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0)
            return item;
    }
    return NULL;
}

/* The member named `name` of an array of {"name","value"} objects whose value
 * is `want` (want NULL: any), or NULL. */
static const cJSON *named(const cJSON *array, const char *name, const char *want)
{
    const cJSON *x = NULL;
    cJSON_ArrayForEach(x, array)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(x, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 &&
            (want == NULL || (cJSON_IsString(v) && strcmp(v->valuestring, want) == 0)))
            return x;
    }
    return NULL;
}

static int deleted_after(const sim_oracle *o, int e)
{
    for (int d = 0; d < o->ndeletes; d++)
        if (o->deletes[d].item == o->edits[e].item && sim_set_has(&o->deletes[d].past, e))
            return 1;
    return 0;
}

/* Why edit e is not kept in item (NULL when it is). */
static const char *verdict(const sim_oracle *o, int e, const cJSON *item)
{
    char field[16], value[16];
    const sim_edit *E = &o->edits[e];
    if (item == NULL)
        return "the item is missing";
    if (deleted_after(o, e))
        return NULL;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "deleted")))
        return "the item is deleted, by no delete that saw this edit";
    snprintf(field, sizeof field, "f%d", E->field);
    snprintf(value, sizeof value, "e%d", e);
    const cJSON *f = named(cJSON_GetObjectItemCaseSensitive(item, "fields"), field, NULL);
    if (f == NULL)
        return "the field is missing";
    int now = edit_of(o, cJSON_GetObjectItemCaseSensitive(f, "value"));
    if (now == e)
        return NULL;
    if (now < 0 || o->edits[now].item != E->item || o->edits[now].field != E->field)
        return "the field holds a value no edit of it wrote";
    int kept = named(cJSON_GetObjectItemCaseSensitive(item, "history"), field, value) != NULL;
    if (sim_set_has(&E->past, now))
        return kept ? "the field went back to a value this edit had replaced (this edit is "
                      "only in the history)"
                    : "the field went back to a value this edit had replaced, and this edit "
                      "is not in the history";
    if (!kept)
        return "overwritten by a later edit, but not kept in the history";
    return NULL;
}

/* The item as the device holds it (fields and history), for the trace. */
static void print_item(sim_trace *t, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    size_t len = text != NULL ? strlen(text) : 0;
    for (size_t at = 0; at < len; at += 400)
        sim_trace_add(t, "    %.400s\n", text + at);
    cJSON_free(text);
}

int sim_oracle_check(const sim_oracle *o, int dev, const vault *v, const sim_set *exempt,
                     sim_trace *t)
{
    char id[33];
    int bad = 0;
    cJSON *list = list_of(v);
    if (list == NULL) {
        sim_trace_add(t, "  d%d: cannot list the vault\n", dev);
        return 1;
    }
    for (int e = 0; e < o->nedits; e++) {
        if (sim_set_has(exempt, e))
            continue;
        sim_item_id(id, o->seed, o->edits[e].item);
        const cJSON *item = find_item(list, id);
        const char *why = verdict(o, e, item);
        if (why != NULL) {
            if (bad < 8)
                sim_trace_add(t, "  LOST on d%d: e%d (item %d f%d, made by d%d): %s\n", dev, e,
                              o->edits[e].item, o->edits[e].field, o->edits[e].dev, why);
            if (bad == 0 && item != NULL)
                print_item(t, item);
            bad++;
        }
    }
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (!cJSON_IsString(i) || item_of(o, i->valuestring) < 0) {
            sim_trace_add(t, "  d%d holds an item no device made\n", dev);
            bad++;
        }
    }
    cJSON_Delete(list);
    return bad;
}

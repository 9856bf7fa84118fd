/*
 * One seeded schedule: random edits, conflicts, deletes, syncs, offline
 * periods and server lies on 3..5 devices, then quiet rounds and the checks.
 *
 * A device reacts to a failed sync as an app would: an expired or unknown
 * session, or (password device) a vault key it cannot open, is answered by
 * logging in again with the current password; every other error is left for
 * the next sync. At the end the server stops lying, every device syncs in two
 * quiet rounds, and then:
 *   - every edit is kept on every device (oracle.c), except the unconfirmed
 *     edits of a revoked device, which went with it;
 *   - every device ends on VAULT_OK with the same content (items, fields,
 *     history, tombstones, times);
 *   - a third round pushes nothing (nothing is left to say);
 *   - no device is stranded: each logs in with the current password.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "sim.h"

/* The fork and password-change recovery of issue 13, once vault.h has it. */
#ifdef VAULT_E_FORK
#define SIM_HAVE_SIGN_IN 1
#define SIM_HAVE_RESOLVE_FORK 1
#else
#define VAULT_E_FORK (-25)
#endif

typedef struct run {
    sim_world *w;
    sim_net net;
    sim_oracle *o;
    sim_rng rng;
    sim_trace *t;
    int ndev, step, pw_gen, split_steps, keep_split;
    int64_t clock;
    int detected; /* syncs that ended in an error naming a lie */
    unsigned fail;
} run;

static vault *vault_of(sim_device *d)
{
    vault *v = NULL;
    return vault_client_vault(d->c, &v) == VAULT_OK ? v : NULL;
}

static int usable(const run *r, int d)
{
    return d < r->ndev && !r->w->dev[d].revoked && !r->w->dev[d].stranded;
}

static int pick_device(run *r)
{
    for (int tries = 0; tries < 16; tries++) {
        int d = (int)sim_rng_below(&r->rng, (uint32_t)r->ndev);
        if (usable(r, d))
            return d;
    }
    return -1;
}

static void observe(run *r, int d)
{
    vault *v = vault_of(&r->w->dev[d]);
    if (v != NULL)
        sim_oracle_observe(r->o, d, v);
}

static void unexpected(run *r, int d, const char *what, int rc)
{
    sim_trace_add(r->t, "  UNEXPECTED: d%d %s: %s (%s)\n", d, what, vault_strerror(rc),
                  vault_client_errmsg(r->w->dev[d].c));
    r->fail |= SIM_F_ERROR;
}

/* Errors that name a lie of the server. */
static int is_detection(int rc)
{
    return rc == VAULT_E_ROLLBACK || rc == VAULT_E_FORK || rc == VAULT_E_MISMATCH ||
           rc == VAULT_E_SERVER || rc == VAULT_E_AUTH || rc == VAULT_E_CONFLICT;
}

/* ---- signing in ---- */

/* A password device signs in as an app does: one password, the current one,
 * for both the local store and the server (the CLI's unlock + login). */
static int password_sign_in(run *r, int d)
{
    sim_device *dev = &r->w->dev[d];
    const char *now = sim_passwords[r->pw_gen];
    vault_client_lock(dev->c);
#ifdef SIM_HAVE_SIGN_IN
    int rc = vault_client_sign_in(dev->c, SIM_EMAIL, now);
    sim_trace_add(r->t, "      sign in with the current password: %s%s%s\n", vault_strerror(rc),
                  rc ? ": " : "", rc ? vault_client_errmsg(dev->c) : "");
#else
    /* Before vault_client_sign_in: unlock, then log in, with the same
     * password; the user tries the current one, then the one before. */
    int rc = vault_client_unlock(dev->c, now);
    if (rc == VAULT_OK)
        rc = vault_client_login(dev->c, SIM_EMAIL, now);
    sim_trace_add(r->t, "      unlock + login with the current password: %s%s%s\n",
                  vault_strerror(rc), rc ? ": " : "", rc ? vault_client_errmsg(dev->c) : "");
    if (rc == VAULT_E_AUTH && dev->pw_gen != r->pw_gen) {
        const char *old = sim_passwords[dev->pw_gen];
        rc = vault_client_unlock(dev->c, old);
        if (rc == VAULT_OK)
            rc = vault_client_login(dev->c, SIM_EMAIL, old);
        sim_trace_add(r->t, "      unlock + login with the old password: %s%s%s\n",
                      vault_strerror(rc), rc ? ": " : "", rc ? vault_client_errmsg(dev->c) : "");
        if (rc == VAULT_OK)
            return rc; /* the store's password still works: keep pw_gen */
    }
#endif
    if (rc == VAULT_OK)
        dev->pw_gen = r->pw_gen;
    return rc;
}

/* Signs in again (an app restart, or a session the server forgot): the
 * current password on a password device, the device key on a linked one.
 * A password device that cannot is stranded (finding 3). */
static int sign_in(run *r, int d)
{
    sim_device *dev = &r->w->dev[d];
    int rc;
    if (dev->is_password) {
        rc = password_sign_in(r, d);
        dev->stranded = rc == VAULT_E_AUTH;
        if (dev->stranded)
            sim_trace_add(r->t, "      d%d is STRANDED\n", d);
    } else {
        vault_client_lock(dev->c);
        rc = vault_client_unlock_device(dev->c, dev->local_key);
        sim_trace_add(r->t, "      unlock with the device key: %s\n", vault_strerror(rc));
    }
    if (rc == VAULT_E_REVOKED && !dev->revoked)
        unexpected(r, d, "sign in", rc);
    else if (rc != VAULT_OK && rc != VAULT_E_AUTH && rc != VAULT_E_NETWORK &&
             rc != VAULT_E_REVOKED && !is_detection(rc))
        unexpected(r, d, "sign in", rc);
    observe(r, d);
    return rc;
}

/* ---- sync, with the app's reactions ---- */

static int traced(run *r, int d, const char *what, int rc)
{
    uint64_t rev = 0;
    vault_client_revision(r->w->dev[d].c, &rev);
    sim_trace_add(r->t, "      %s: %s%s%s (r%llu)\n", what, vault_strerror(rc), rc ? ": " : "",
                  rc ? vault_client_errmsg(r->w->dev[d].c) : "", (unsigned long long)rev);
    return rc;
}

/* A sync and the app's reactions to its errors: sign in again when the
 * session is gone ("unknown session" after a restored or split server is
 * VAULT_E_AUTH too) and, once the library can, resolve a fork or a
 * rollback. */
static int device_sync(run *r, int d)
{
    sim_device *dev = &r->w->dev[d];
    int rc = traced(r, d, "sync", vault_client_sync(dev->c));
    int again = rc == VAULT_E_STATE || rc == VAULT_E_EXPIRED || rc == VAULT_E_AUTH;
    if (again) {
        int in = sign_in(r, d);
        if (in == VAULT_OK)
            rc = traced(r, d, "sync", vault_client_sync(dev->c));
        else if (in == VAULT_E_FORK || in == VAULT_E_ROLLBACK)
            rc = in; /* signed in, but its catch-up pull found a fork */
    }
#ifdef SIM_HAVE_RESOLVE_FORK
    /* The app tells the user and continues from the server's history. A
     * rollback too: once the server is honest again, the history it shows
     * is all there is (a restored backup). */
    if (rc == VAULT_E_FORK || rc == VAULT_E_ROLLBACK) {
        r->detected++;
        rc = traced(r, d, "resolve fork", vault_client_resolve_fork(dev->c));
        if (rc == VAULT_E_CONFLICT)
            rc = traced(r, d, "sync", vault_client_sync(dev->c));
    }
#endif
    if (rc == VAULT_E_REVOKED && dev->revoked)
        return rc;
    if (is_detection(rc))
        r->detected++;
    else if (rc != VAULT_OK && rc != VAULT_E_NETWORK && rc != VAULT_E_STATE &&
             rc != VAULT_E_EXPIRED)
        unexpected(r, d, "sync", rc);
    observe(r, d);
    return rc;
}

/* ---- edits ---- */

static const char *item_json(run *r, int item, int first_edit)
{
    static char buf[512];
    char id[33];
    sim_item_id(id, r->o->seed, item);
    snprintf(buf, sizeof buf,
             "{\"id\":\"%s\",\"type\":\"login\",\"title\":\"item %d\",\"fields\":["
             "{\"name\":\"f0\",\"value\":\"e%d\",\"hidden\":true},"
             "{\"name\":\"f1\",\"value\":\"e%d\",\"hidden\":true},"
             "{\"name\":\"f2\",\"value\":\"e%d\",\"hidden\":true}]}",
             id, item, first_edit, first_edit + 1, first_edit + 2);
    return buf;
}

static void add_item(run *r, int d)
{
    sim_oracle *o = r->o;
    if (o->nitems == SIM_MAX_ITEMS || o->nedits + SIM_FIELDS > SIM_MAX_EDITS)
        return;
    int item = o->nitems, first = o->nedits;
    sim_trace_add(r->t, "%3d d%d add item %d (e%d..e%d)\n", r->step, d, item, first,
                  first + 2);
    int rc = vault_item_add(vault_of(&r->w->dev[d]), item_json(r, item, first), NULL);
    if (rc == VAULT_OK)
        rc = vault_client_save(r->w->dev[d].c);
    if (rc != VAULT_OK) {
        unexpected(r, d, "add", rc);
        return;
    }
    o->nitems++;
    for (int f = 0; f < SIM_FIELDS; f++)
        sim_oracle_edit(o, d, item, f);
}

static int is_live(run *r, int d, int item)
{
    char id[33], *json = NULL;
    sim_item_id(id, r->o->seed, item);
    int rc = vault_item_get(vault_of(&r->w->dev[d]), id, &json);
    vault_free(json);
    return rc == VAULT_OK;
}

/* A field of an item live on d (and on d2 if >= 0) that may take `room` more
 * edits; item < 0 if none. */
static void pick_field(run *r, int d, int d2, int room, int *item, int *field)
{
    int n = r->o->nitems;
    *item = -1;
    if (n == 0)
        return;
    int start = (int)sim_rng_below(&r->rng, (uint32_t)n);
    int fstart = (int)sim_rng_below(&r->rng, SIM_FIELDS);
    for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        if (!is_live(r, d, i) || (d2 >= 0 && !is_live(r, d2, i)))
            continue;
        for (int j = 0; j < SIM_FIELDS; j++) {
            int f = (fstart + j) % SIM_FIELDS;
            if (r->o->field_edits[i][f] + room <= SIM_FIELD_EDITS) {
                *item = i;
                *field = f;
                return;
            }
        }
    }
}

/* Sets one field of the device's current copy of the item to a new value. */
static void edit_field(run *r, int d, int item, int field)
{
    char id[33], name[8], value[16], *json = NULL, *out = NULL;
    if (r->o->nedits == SIM_MAX_EDITS)
        return;
    sim_item_id(id, r->o->seed, item);
    snprintf(name, sizeof name, "f%d", field);
    snprintf(value, sizeof value, "e%d", r->o->nedits);
    sim_trace_add(r->t, "%3d d%d edit item %d %s = %s\n", r->step, d, item, name, value);
    vault *v = vault_of(&r->w->dev[d]);
    int rc = vault_item_get(v, id, &json);
    cJSON *it = rc == VAULT_OK ? cJSON_Parse(json) : NULL;
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(it, "fields"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(f, "value"), value);
    }
    out = it != NULL ? cJSON_PrintUnformatted(it) : NULL;
    if (rc == VAULT_OK)
        rc = out != NULL ? vault_item_update(v, id, out) : VAULT_E_NOMEM;
    if (rc == VAULT_OK)
        rc = vault_client_save(r->w->dev[d].c);
    if (rc == VAULT_OK)
        sim_oracle_edit(r->o, d, item, field);
    else
        unexpected(r, d, "edit", rc);
    cJSON_free(out);
    cJSON_Delete(it);
    vault_free(json);
}

static void edit(run *r, int d)
{
    int item, field;
    pick_field(r, d, -1, 1, &item, &field);
    if (item < 0)
        add_item(r, d);
    else
        edit_field(r, d, item, field);
}

/* Two devices edit the same field before either syncs. */
static void conflict(run *r, int d)
{
    int d2 = pick_device(r), item, field;
    if (d2 < 0 || d2 == d)
        return;
    pick_field(r, d, d2, 2, &item, &field);
    if (item < 0)
        return;
    sim_trace_add(r->t, "%3d conflict on item %d f%d:\n", r->step, item, field);
    edit_field(r, d, item, field);
    edit_field(r, d2, item, field);
}

static void delete_item(run *r, int d)
{
    char id[33];
    int n = r->o->nitems;
    if (n == 0 || r->o->ndeletes == SIM_MAX_DELETES)
        return;
    int item = (int)sim_rng_below(&r->rng, (uint32_t)n);
    if (!is_live(r, d, item))
        return;
    sim_item_id(id, r->o->seed, item);
    sim_trace_add(r->t, "%3d d%d delete item %d\n", r->step, d, item);
    int rc = vault_item_delete(vault_of(&r->w->dev[d]), id);
    if (rc == VAULT_OK)
        rc = vault_client_save(r->w->dev[d].c);
    if (rc == VAULT_OK)
        sim_oracle_delete(r->o, d, item);
    else
        unexpected(r, d, "delete", rc);
}

/* ---- account events ---- */

static void change_password(run *r, int d)
{
    sim_device *dev = &r->w->dev[d];
    if (!dev->is_password || dev->pw_gen != r->pw_gen || r->pw_gen + 1 >= 4 ||
        r->net.split != NULL)
        return;
    sim_trace_add(r->t, "%3d d%d changes the password (%d -> %d)\n", r->step, d, r->pw_gen,
                  r->pw_gen + 1);
    int rc = vault_client_change_password(dev->c, sim_passwords[r->pw_gen],
                                          sim_passwords[r->pw_gen + 1], 0, 0);
    sim_trace_add(r->t, "      %s\n", vault_strerror(rc));
    if (rc == VAULT_OK) {
        dev->pw_gen = ++r->pw_gen;
        /* A backup from before the change would bring the old password back:
         * the simulation does not restore across it. */
        sim_net_forget_backups(&r->net);
    } else if (rc != VAULT_E_NETWORK && rc != VAULT_E_STATE && rc != VAULT_E_EXPIRED &&
               rc != VAULT_E_AUTH) {
        unexpected(r, d, "change_password", rc);
    }
}

static void revoke_device(run *r, int d)
{
    sim_device *dev = &r->w->dev[d];
    int target = 2 + (int)sim_rng_below(&r->rng, SIM_DEVICES - 2);
    int live = 0;
    for (int i = 0; i < r->ndev; i++)
        live += !r->w->dev[i].revoked;
    if (!dev->is_password || target >= r->ndev || r->w->dev[target].revoked || live <= 3 ||
        r->net.split != NULL)
        return;
    sim_trace_add(r->t, "%3d d%d revokes d%d\n", r->step, d, target);
    int rc = vault_client_revoke(dev->c, r->w->dev[target].device_id);
    sim_trace_add(r->t, "      %s%s%s\n", vault_strerror(rc), rc ? ": " : "",
                  rc ? vault_client_errmsg(dev->c) : "");
    if (rc == VAULT_OK) {
        r->w->dev[target].revoked = 1;
        sim_net_forget_backups(&r->net);
        observe(r, d);
    } else if (!is_detection(rc) && rc != VAULT_E_NETWORK && rc != VAULT_E_STATE &&
               rc != VAULT_E_EXPIRED) {
        unexpected(r, d, "revoke", rc);
    }
}

/* ---- server lies ---- */

static void set_fault(run *r, int d, sim_fault f, const char *what)
{
    r->w->dev[d].link.fault = f;
    r->w->dev[d].link.fault_arg = sim_rng_below(&r->rng, 1000);
    sim_trace_add(r->t, "%3d server will %s d%d\n", r->step, what, d);
}

static void split(run *r)
{
    if (r->net.split != NULL)
        return;
    uint32_t mask = 1 + sim_rng_below(&r->rng, (1u << r->ndev) - 2);
    r->split_steps = 3 + (int)sim_rng_below(&r->rng, 12);
    r->keep_split = (int)sim_rng_below(&r->rng, 2);
    if (sim_net_split(&r->net) != VAULT_OK) {
        sim_trace_add(r->t, "  harness: split failed\n");
        r->fail |= SIM_F_ERROR;
        return;
    }
    sim_trace_add(r->t, "%3d server splits: history B shown to", r->step);
    for (int d = 0; d < r->ndev; d++) {
        r->w->dev[d].link.on_split = (mask >> d) & 1u;
        if (r->w->dev[d].link.on_split)
            sim_trace_add(r->t, " d%d", d);
    }
    sim_trace_add(r->t, " for %d steps, then keeps %s\n", r->split_steps,
                  r->keep_split ? "B" : "A");
}

static void heal(run *r)
{
    if (r->net.split == NULL)
        return;
    sim_trace_add(r->t, "%3d server heals: keeps history %s\n", r->step,
                  r->keep_split ? "B" : "A");
    for (int d = 0; d < SIM_DEVICES; d++)
        r->w->dev[d].link.on_split = 0;
    if (sim_net_heal(&r->net, r->keep_split) != VAULT_OK) {
        sim_trace_add(r->t, "  harness: heal failed\n");
        r->fail |= SIM_F_ERROR;
    }
    r->split_steps = 0;
}

static void backup_or_restore(run *r)
{
    sim_net *n = &r->net;
    if (n->split != NULL)
        return;
    if (n->nbackups > 0 && sim_rng_below(&r->rng, 2) == 0) {
        int which = (int)sim_rng_below(&r->rng, (uint32_t)n->nbackups);
        sim_trace_add(r->t, "%3d server restores the backup of step %d\n", r->step,
                      n->backup[which].step);
        if (sim_net_restore(n, which) != VAULT_OK)
            r->fail |= SIM_F_ERROR;
    } else {
        sim_trace_add(r->t, "%3d server takes a backup\n", r->step);
        if (sim_net_backup(n, r->step) != VAULT_OK)
            r->fail |= SIM_F_ERROR;
    }
}

/* ---- the schedule ---- */

static void one_step(run *r)
{
    int d = pick_device(r);
    uint32_t x = sim_rng_below(&r->rng, 10000);
    if (d < 0)
        return;
    if (x < 2600) {
        edit(r, d);
    } else if (x < 3400) {
        add_item(r, d);
    } else if (x < 4100) {
        conflict(r, d);
    } else if (x < 4400) {
        delete_item(r, d);
    } else if (x < 7500) {
        sim_trace_add(r->t, "%3d d%d sync%s\n", r->step, d,
                      r->w->dev[d].link.offline ? " (offline)" : "");
        device_sync(r, d);
    } else if (x < 7900) {
        r->w->dev[d].link.offline = 3 + (int)sim_rng_below(&r->rng, 8);
        sim_trace_add(r->t, "%3d d%d goes offline for %d steps\n", r->step, d,
                      r->w->dev[d].link.offline);
    } else if (x < 8300) {
        set_fault(r, d, SIM_FAULT_DROP_PUSH, "drop the next push of");
    } else if (x < 8700) {
        set_fault(r, d, SIM_FAULT_REPLAY_PULL, "replay an old pull answer to");
    } else if (x < 9000) {
        set_fault(r, d, sim_rng_below(&r->rng, 2) ? SIM_FAULT_CRASH_AFTER
                                                  : SIM_FAULT_CRASH_BEFORE,
                  "crash in the next push of");
    } else if (x < 9500) {
        backup_or_restore(r);
    } else if (x < 9865) {
        split(r);
    } else if (x < 9895) {
        /* Password events cost Argon2id: under one per schedule in all. */
        sim_trace_add(r->t, "%3d d%d restarts\n", r->step, d);
        sign_in(r, d);
    } else if (x < 9907) {
        change_password(r, d);
    } else if (x < 9950) {
        revoke_device(r, d);
    } else {
        sim_trace_add(r->t, "%3d d%d sync\n", r->step, d);
        device_sync(r, d);
    }
}

static void tick(run *r)
{
    r->clock += 1000 + sim_rng_below(&r->rng, 2000);
    vault__set_clock_for_tests(r->clock);
    for (int d = 0; d < SIM_DEVICES; d++)
        if (r->w->dev[d].link.offline > 0)
            r->w->dev[d].link.offline--;
    if (r->split_steps > 0 && --r->split_steps == 0)
        heal(r);
}

/* ---- the end: quiet rounds and checks ---- */

static char *content_of(run *r, int d)
{
    char *json = NULL;
    vault *v = vault_of(&r->w->dev[d]);
    if (v == NULL || vault_item_list(v, VAULT_LIST_DELETED, &json) != VAULT_OK)
        return NULL;
    return json;
}

/* Compares every usable device's content with the first one's. */
static int all_equal(run *r, const char *when)
{
    char *first = NULL;
    int first_dev = -1, same = 1;
    for (int d = 0; d < r->ndev; d++) {
        if (!usable(r, d))
            continue;
        char *c = content_of(r, d);
        if (first == NULL) {
            first = c;
            first_dev = d;
            continue;
        }
        if (c == NULL || strcmp(c, first) != 0) {
            sim_trace_add(r->t, "  DIVERGED %s: d%d differs from d%d\n", when, d, first_dev);
            same = 0;
        }
        vault_free(c);
    }
    vault_free(first);
    return same;
}

static void quiet_rounds(run *r)
{
    int rc[SIM_DEVICES] = {0};
    heal(r);
    for (int d = 0; d < SIM_DEVICES; d++) {
        r->w->dev[d].link.offline = 0;
        r->w->dev[d].link.fault = SIM_FAULT_NONE;
    }
    sim_trace_add(r->t, "--- quiet rounds (the server stops lying)\n");
    for (int d = 0; d < r->ndev; d++) {
        if (r->w->dev[d].stranded && !r->w->dev[d].revoked) {
            sim_trace_add(r->t, "    d%d signs in again\n", d);
            sign_in(r, d);
        }
    }
    for (int round = 1; round <= 2; round++) {
        tick(r);
        for (int d = 0; d < r->ndev; d++) {
            if (!usable(r, d))
                continue;
            sim_trace_add(r->t, "    round %d d%d sync\n", round, d);
            rc[d] = device_sync(r, d);
        }
    }
    for (int d = 0; d < r->ndev; d++) {
        if (usable(r, d) && rc[d] != VAULT_OK) {
            sim_trace_add(r->t, "  DIVERGED: d%d still fails after two quiet rounds: %s\n", d,
                          vault_strerror(rc[d]));
            r->fail |= SIM_F_DIVERGE;
        }
    }
    if (!all_equal(r, "after two quiet rounds"))
        r->fail |= SIM_F_DIVERGE;
}

static void settle_round(run *r)
{
    tick(r);
    for (int d = 0; d < r->ndev; d++) {
        if (!usable(r, d))
            continue;
        uint64_t before = r->w->dev[d].link.pushes;
        sim_trace_add(r->t, "    round 3 d%d sync\n", d);
        device_sync(r, d);
        if (r->w->dev[d].link.pushes != before) {
            sim_trace_add(r->t, "  NOT SETTLED: d%d pushed with nothing to say\n", d);
            r->fail |= SIM_F_SETTLE;
        }
    }
}

/* Edits that went with a revoked or stranded device: made by it and seen by
 * no device that is still in use. */
static void exempt_edits(const run *r, sim_set *exempt)
{
    memset(exempt, 0, sizeof *exempt);
    for (int e = 0; e < r->o->nedits; e++) {
        int maker = r->o->edits[e].dev, seen = 0;
        if (usable(r, maker))
            continue;
        for (int d = 0; d < r->ndev; d++)
            seen |= usable(r, d) && sim_set_has(&r->o->know[d], e);
        if (!seen)
            sim_set_add(exempt, e);
    }
}

static void check_all(run *r)
{
    sim_set exempt;
    exempt_edits(r, &exempt);
    for (int d = 0; d < r->ndev; d++) {
        if (r->w->dev[d].stranded && !r->w->dev[d].revoked) {
            sim_trace_add(r->t, "  STRANDED: d%d cannot sync with the current password\n", d);
            r->fail |= SIM_F_STRANDED;
        }
        vault *v = usable(r, d) ? vault_of(&r->w->dev[d]) : NULL;
        if (v != NULL && sim_oracle_check(r->o, d, v, &exempt, r->t) > 0)
            r->fail |= SIM_F_LOSS;
    }
}

unsigned sim_run(sim_world *w, uint64_t seed, sim_trace *trace)
{
    char path[600];
    run r = {.w = w, .t = trace, .rng = {seed * 0x2545f4914f6cdd1dull + 1}};
    r.o = calloc(1, sizeof *r.o);
    if (r.o == NULL)
        return SIM_F_ERROR;
    r.o->seed = seed;
    r.clock = SIM_T0 + 60000;
    snprintf(path, sizeof path, "%s/server-%ld.db", w->dir, (long)getpid());
    if (sim_net_open(&r.net, w->template_path, path) != VAULT_OK) {
        free(r.o);
        sim_trace_add(trace, "harness: cannot open the server copy\n");
        return SIM_F_ERROR;
    }
    r.net.trace = trace;
    r.ndev = 3 + (int)sim_rng_below(&r.rng, 3);
    for (int d = 0; d < SIM_DEVICES; d++)
        w->dev[d].link.net = &r.net;
    int steps = 20 + (int)sim_rng_below(&r.rng, 40);
    sim_trace_add(trace, "seed %llu: %d devices (d0, d1 password; d2.. linked), %d steps\n",
                  (unsigned long long)seed, r.ndev, steps);
    for (r.step = 1; r.step <= steps; r.step++) {
        tick(&r);
        one_step(&r);
    }
    quiet_rounds(&r);
    settle_round(&r);
    if (!all_equal(&r, "after the third round"))
        r.fail |= SIM_F_DIVERGE;
    check_all(&r);
    sim_trace_add(trace, "verdict: %s%s%s%s%s%s (lies told %d, detected by an error %d)\n",
                  r.fail ? "FAIL" : "ok", r.fail & SIM_F_SETTLE ? " F1-never-settles" : "",
                  r.fail & SIM_F_LOSS ? " F2-lost-edit" : "",
                  r.fail & SIM_F_STRANDED ? " F3-stranded" : "",
                  r.fail & SIM_F_DIVERGE ? " diverged" : "",
                  r.fail & SIM_F_ERROR ? " unexpected-error" : "", r.net.lies, r.detected);
    for (int d = 0; d < SIM_DEVICES; d++)
        w->dev[d].link.net = NULL;
    sim_net_close(&r.net);
    free(r.o);
    return r.fail;
}

/*
 * The template world every schedule starts from, and the small helpers the
 * schedules share (generator, trace).
 *
 * Built once per process, with the clock pinned: d0 creates the account with
 * the first password and registers it, d1 logs in with the password, d2..d4
 * are linked to d0 by QR code (they unlock with a device key: no Argon2id).
 * Every device then syncs once, so a schedule starts from one agreed vault.
 * The client stores are in memory, so a forked child gets its own copy of each.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "sim.h"
#include "testutil.h"

const char *const sim_passwords[] = {"sim password zero", "sim password one",
                                     "sim password two", "sim password three"};

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t sim_rng_below(sim_rng *r, uint32_t n)
{
    return n == 0 ? 0 : (uint32_t)(sim_rng_next(r) % n);
}

void sim_trace_add(sim_trace *t, const char *fmt, ...)
{
    va_list ap;
    char line[512];
    if (t == NULL)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap < t->len + len + 1)
            cap *= 2;
        char *p = realloc(t->text, cap);
        if (p == NULL)
            return;
        t->text = p;
        t->cap = cap;
    }
    memcpy(t->text + t->len, line, len);
    t->len += len;
    t->text[t->len] = '\0';
}

void sim_trace_free(sim_trace *t)
{
    free(t->text);
    memset(t, 0, sizeof *t);
}

#define CHECK(call)                                                                       \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_ != VAULT_OK) {                                                            \
            fprintf(stderr, "sim: template world: %s failed: %s (%s)\n", #call,           \
                    vault_strerror(rc_), vault_last_error());                             \
            return rc_;                                                                   \
        }                                                                                 \
    } while (0)

static int link_device(sim_world *w, int i)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL, name[16];
    sim_device *d = &w->dev[i];
    test_key(d->local_key, (uint8_t)(0x40 + 16 * i));
    snprintf(name, sizeof name, "d%d", i);
    CHECK(vault_link_offer(&offer, w->dev[0].c));
    CHECK(vault_link_payload(offer, &uri));
    CHECK(vault_link_join(&join, d->c, uri));
    CHECK(vault_link_poll(offer));
    CHECK(vault_link_confirm(offer, name));
    CHECK(vault_link_complete(join, d->local_key));
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return VAULT_OK;
}

/* The device's own id, from the vault's device list. */
static int own_device_id(sim_device *d)
{
    char *json = NULL;
    CHECK(vault_client_devices(d->c, &json));
    const char *cur = strstr(json, "\"current\":true");
    const char *id = NULL;
    for (const char *p = json; p != NULL && p < cur; p = strstr(p + 1, "\"id\":\""))
        if (strncmp(p, "\"id\":\"", 6) == 0)
            id = p + 6;
    if (cur != NULL && id != NULL)
        snprintf(d->device_id, sizeof d->device_id, "%.32s", id);
    vault_free(json);
    return cur != NULL && id != NULL ? VAULT_OK : VAULT_E_NOT_FOUND;
}

int sim_world_build(sim_world *w, const char *dir)
{
    static const uint8_t pepper[32] = "sim-pepper-0123456789abcdef-0123";
    vault_server *s = NULL;
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    snprintf(w->template_path, sizeof w->template_path, "%s/template-%ld.db", dir,
             (long)getpid());
    unlink(w->template_path);
    vault__set_clock_for_tests(SIM_T0);
    CHECK(vault_server_open(&s, w->template_path, pepper, sizeof pepper, 0));
    static sim_net setup_net;
    setup_net.server = s;
    for (int i = 0; i < SIM_DEVICES; i++) {
        sim_device *d = &w->dev[i];
        d->link.dev = i;
        d->link.net = &setup_net;
        CHECK(vault_client_open(&d->c, ":memory:", 0));
        CHECK(vault_client_connect_custom(d->c, sim_transport, &d->link));
        d->is_password = i < 2;
    }
    CHECK(vault_client_create(w->dev[0].c, sim_passwords[0], VAULT_KDF_OPSLIMIT_MIN,
                              VAULT_KDF_MEMLIMIT_MIN));
    CHECK(vault_client_register(w->dev[0].c, SIM_EMAIL));
    /* Device 1 signs in with the password, given the Secret Key from the kit. */
    char *kit = NULL, secret_key[40] = "";
    CHECK(vault_client_emergency_kit(w->dev[0].c, &kit));
    sscanf(strstr(kit, "ZK1-"), "%39s", secret_key);
    vault_free(kit);
    CHECK(vault_client_set_secret_key(w->dev[1].c, secret_key));
    CHECK(vault_client_login(w->dev[1].c, SIM_EMAIL, sim_passwords[0]));
    for (int i = 2; i < SIM_DEVICES; i++) {
        CHECK(link_device(w, i));
        CHECK(own_device_id(&w->dev[i]));
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < SIM_DEVICES; i++)
            CHECK(vault_client_sync(w->dev[i].c));
    /* The template file is complete once the server is closed (WAL checkpointed). */
    vault_server_close(s);
    for (int i = 0; i < SIM_DEVICES; i++)
        w->dev[i].link.net = NULL;
    return VAULT_OK;
}

void sim_world_free(sim_world *w)
{
    for (int i = 0; i < SIM_DEVICES; i++)
        vault_client_close(w->dev[i].c);
    unlink(w->template_path);
    memset(w, 0, sizeof *w);
}

/*
 * The multi-device sync simulation (docs/sync.md, "The simulation").
 *
 * One process builds a template world once: a server, a password device that
 * created and registered the account, a second device that logged in with the
 * password, and three devices linked by QR code. Each schedule runs in a
 * forked child, on in-memory client stores and a copy of the server file, so
 * no schedule pays for Argon2id unless it changes the password or restarts a
 * password device. The child drives the devices through the public API with a
 * seeded generator, lies to them through a fault-injecting transport (net.c),
 * keeps a model of every edit (oracle.c) and checks it at the end.
 */
#ifndef VAULT_TEST_SIM_H
#define VAULT_TEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

#define SIM_DEVICES 5
#define SIM_FIELDS 3
#define SIM_MAX_ITEMS 48
#define SIM_MAX_EDITS 512
#define SIM_MAX_DELETES 64
#define SIM_FIELD_EDITS 4 /* per field: the history (10 per field) never trims */

/* Finding classes a failing schedule reports (bits of the child's exit code). */
#define SIM_F_SETTLE 1u   /* finding 1: a sync with nothing to say pushed */
#define SIM_F_LOSS 2u     /* finding 2: an edit lost, reverted or overwritten without history */
#define SIM_F_STRANDED 4u /* finding 3: a device cannot sync with the current password */
#define SIM_F_DIVERGE 8u  /* devices differ, or stay on an error, after the quiet rounds */
#define SIM_F_ERROR 16u   /* an unexpected status code, or the harness itself failed */
#define SIM_F_CRASH 32u   /* the schedule crashed (signal) */

/* ---- deterministic generator ---- */
typedef struct sim_rng {
    uint64_t s;
} sim_rng;
uint64_t sim_rng_next(sim_rng *r);
uint32_t sim_rng_below(sim_rng *r, uint32_t n); /* uniform in [0, n) */

/* ---- trace: the step list a failing seed prints ---- */
typedef struct sim_trace {
    char *text;
    size_t len, cap;
} sim_trace;
void sim_trace_add(sim_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace_free(sim_trace *t);

/* ---- the server and the lying transport (net.c) ---- */
typedef enum {
    SIM_FAULT_NONE,
    SIM_FAULT_DROP_PUSH,    /* acknowledge the next push without storing it */
    SIM_FAULT_REPLAY_PULL,  /* answer the next pull with an old recorded answer */
    SIM_FAULT_CRASH_BEFORE, /* the server dies before the next push is written */
    SIM_FAULT_CRASH_AFTER,  /* ... after it is written, before it answers */
} sim_fault;

#define SIM_BACKUPS 4
#define SIM_RECORDED 16

typedef struct sim_net {
    vault_server *server; /* the main history */
    vault_server *split;  /* a second history shown to some devices, or NULL */
    char path[512], split_path[512];
    struct {
        uint8_t *bytes;
        size_t len;
        int step;
    } backup[SIM_BACKUPS];
    int nbackups;
    char *recorded[SIM_RECORDED]; /* honest pull answers, for replays */
    int nrecorded;
    sim_trace *trace;
    int lies; /* lies told so far */
} sim_net;

/* One device's end of the transport (the ctx of vault_client_connect_custom). */
typedef struct sim_link {
    sim_net *net;
    int dev;
    int offline;     /* steps left offline; every request fails with VAULT_E_NETWORK */
    int on_split;    /* routed to the split history */
    sim_fault fault; /* one-shot fault for this device's next matching request */
    uint32_t fault_arg;
    uint64_t pushes; /* push requests sent (faked or not) */
} sim_link;

int sim_transport(const char *request, size_t request_len, char **response,
                  size_t *response_len, void *ctx);
int sim_net_open(sim_net *n, const char *template_path, const char *path);
void sim_net_close(sim_net *n);
int sim_net_backup(sim_net *n, int step);
int sim_net_restore(sim_net *n, int which);
int sim_net_split(sim_net *n);
int sim_net_heal(sim_net *n, int keep_split);
void sim_net_forget_backups(sim_net *n);

/* ---- the model of every edit (oracle.c) ---- */
typedef struct sim_set {
    uint64_t w[SIM_MAX_EDITS / 64];
} sim_set;

typedef struct sim_edit {
    int item, field, dev;
    sim_set past; /* the edits its device had seen when it made it */
} sim_edit;

typedef struct sim_delete {
    int item, dev;
    sim_set past;
} sim_delete;

typedef struct sim_oracle {
    sim_edit edits[SIM_MAX_EDITS];
    int nedits;
    sim_delete deletes[SIM_MAX_DELETES];
    int ndeletes;
    int nitems;
    int field_edits[SIM_MAX_ITEMS][SIM_FIELDS];
    sim_set know[SIM_DEVICES]; /* what each device has seen (its own edits and synced ones) */
    uint64_t seed;
} sim_oracle;

void sim_item_id(char out[33], uint64_t seed, int item);
int sim_set_has(const sim_set *s, int i);
void sim_set_add(sim_set *s, int i);
int sim_oracle_edit(sim_oracle *o, int dev, int item, int field);
int sim_oracle_delete(sim_oracle *o, int dev, int item);
/* Learns from a device's vault which edits it has seen. */
int sim_oracle_observe(sim_oracle *o, int dev, const vault *v);
/* Checks one device's vault against every edit; exempt[e] skips edit e.
 * Returns the number of violations, each described in the trace. */
int sim_oracle_check(const sim_oracle *o, int dev, const vault *v, const sim_set *exempt,
                     sim_trace *t);

/* ---- devices and schedules (world.c, schedule.c) ---- */
typedef struct sim_device {
    vault_client *c;
    sim_link link;
    int is_password; /* logged in with the password; otherwise linked by QR code */
    uint8_t local_key[32];
    char device_id[33];
    int pw_gen; /* the password generation this device last unlocked with */
    int revoked, stranded, locked;
} sim_device;

typedef struct sim_world {
    sim_device dev[SIM_DEVICES];
    char template_path[512];
    char dir[512];
} sim_world;

int sim_world_build(sim_world *w, const char *dir);
void sim_world_free(sim_world *w);
extern const char *const sim_passwords[];
#define SIM_EMAIL "sim@example.org"
#define SIM_T0 1750000000000LL

/* Runs one schedule on w (which it changes: run it in a child process, or
 * once); returns the SIM_F_* bits of what failed, 0 if every check held.
 * The trace (steps and verdicts) goes to *trace. */
unsigned sim_run(sim_world *w, uint64_t seed, sim_trace *trace);

#endif

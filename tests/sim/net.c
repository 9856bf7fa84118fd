/*
 * The simulated server and the lying transport between it and each device.
 *
 * The server is a real vault_server on a file (tmpfs where available). Its
 * lies are of two kinds: per device and one-shot (drop an acknowledged push,
 * replay an old pull answer, crash before or after writing a push), set by the
 * schedule in sim_link.fault; and world-wide (restore an older backup of the
 * database file, split into two histories shown to two groups of devices, then
 * heal by keeping one of them). Every lie is written to the trace.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"
#include "testutil.h"

static const uint8_t pepper[32] = "sim-pepper-0123456789abcdef-0123";

static char *out_string(const char *text)
{
    size_t n = strlen(text);
    char *p = vault_malloc(n + 1);
    if (p != NULL)
        memcpy(p, text, n + 1);
    return p;
}

static void op_of(const char *request, size_t len, char op[32], double *base)
{
    cJSON *req = cJSON_ParseWithLength(request, len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(req, "op");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, "base_revision");
    snprintf(op, 32, "%s", cJSON_IsString(o) ? o->valuestring : "");
    *base = cJSON_IsNumber(b) ? b->valuedouble : 0;
    cJSON_Delete(req);
}

static int answer_ok(const char *answer)
{
    cJSON *a = cJSON_Parse(answer);
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok"));
    cJSON_Delete(a);
    return ok;
}

static void record_pull(sim_net *n, const char *answer)
{
    if (!answer_ok(answer))
        return;
    int slot = n->nrecorded % SIM_RECORDED;
    vault_free(n->recorded[slot]);
    n->recorded[slot] = out_string(answer);
    n->nrecorded++;
}

/* The recorded answer `arg` steps back (modulo what is kept), or NULL. */
static const char *old_pull(const sim_net *n, uint32_t arg)
{
    int kept = n->nrecorded < SIM_RECORDED ? n->nrecorded : SIM_RECORDED;
    if (kept == 0)
        return NULL;
    int back = 1 + (int)(arg % (uint32_t)kept);
    return n->recorded[(n->nrecorded - back) % SIM_RECORDED];
}

static int restart(vault_server **s, const char *path)
{
    vault_server_close(*s);
    *s = NULL;
    return vault_server_open(s, path, pepper, sizeof pepper, 0);
}

/* Applies the device's pending one-shot lie if this request is the one it
 * waits for: *answer is set (possibly NULL for "no answer at all"). */
static int apply_fault(sim_link *l, vault_server **s, const char *path, const char *op,
                       double base, const char *request, size_t len, char **answer, int *done)
{
    sim_net *n = l->net;
    char text[64];
    *done = 0;
    if (l->fault == SIM_FAULT_REPLAY_PULL && strcmp(op, "pull") == 0) {
        const char *old = old_pull(n, l->fault_arg);
        l->fault = SIM_FAULT_NONE;
        if (old == NULL)
            return VAULT_OK;
        sim_trace_add(n->trace, "      lie: d%d's pull answered with an old answer\n", l->dev);
        n->lies++;
        *answer = out_string(old);
        *done = 1;
        return *answer != NULL ? VAULT_OK : VAULT_E_NOMEM;
    }
    if (strcmp(op, "push") != 0 || l->fault == SIM_FAULT_NONE)
        return VAULT_OK;
    sim_fault f = l->fault;
    l->fault = SIM_FAULT_NONE;
    n->lies++;
    *done = 1;
    if (f == SIM_FAULT_DROP_PUSH) {
        snprintf(text, sizeof text, "{\"ok\":true,\"revision\":%.0f}", base + 1);
        sim_trace_add(n->trace, "      lie: d%d's push acknowledged as r%.0f, not stored\n",
                      l->dev, base + 1);
        *answer = out_string(text);
        return *answer != NULL ? VAULT_OK : VAULT_E_NOMEM;
    }
    if (f == SIM_FAULT_CRASH_AFTER) {
        char *lost = NULL;
        int rc = vault_server_handle(*s, request, len, &lost);
        sim_trace_add(n->trace, "      fault: server crashed after writing d%d's push (%s)\n",
                      l->dev, lost != NULL && answer_ok(lost) ? "stored" : "refused");
        vault_free(lost);
        if (rc != VAULT_OK)
            return rc;
    } else {
        sim_trace_add(n->trace, "      fault: server crashed before writing d%d's push\n",
                      l->dev);
    }
    int rc = restart(s, path);
    return rc != VAULT_OK ? rc : VAULT_E_NETWORK;
}

int sim_transport(const char *request, size_t request_len, char **response,
                  size_t *response_len, void *ctx)
{
    sim_link *l = ctx;
    sim_net *n = l->net;
    char op[32], *answer = NULL;
    double base = 0;
    int done = 0;
    if (l->offline > 0 || n == NULL || n->server == NULL)
        return VAULT_E_NETWORK;
    int split = l->on_split && n->split != NULL;
    vault_server **s = split ? &n->split : &n->server;
    const char *path = split ? n->split_path : n->path;
    op_of(request, request_len, op, &base);
    if (strcmp(op, "push") == 0)
        l->pushes++;
    int rc = apply_fault(l, s, path, op, base, request, request_len, &answer, &done);
    if (rc != VAULT_OK)
        return rc;
    if (!done) {
        rc = vault_server_handle(*s, request, request_len, &answer);
        if (rc != VAULT_OK)
            return rc;
        if (strcmp(op, "pull") == 0)
            record_pull(n, answer);
    }
    *response = answer;
    *response_len = strlen(answer);
    return VAULT_OK;
}

/* ---- the database file: backups, restores, splits ---- */

static int write_file(const char *path, const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return VAULT_E_IO;
    int ok = fwrite(bytes, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    return ok ? VAULT_OK : VAULT_E_IO;
}

static void remove_db(const char *path)
{
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* A closed server leaves no WAL behind (it was checkpointed into the file);
 * a copy of a file with a live WAL would miss the latest writes. */
static int checkpointed(const char *path)
{
    char wal[600];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &st) == 0 && st.st_size > 0) {
        fprintf(stderr, "sim: %s still has a WAL after close\n", path);
        return VAULT_E_IO;
    }
    return VAULT_OK;
}

static int copy_file(const char *from, const char *to)
{
    size_t len = 0;
    if (checkpointed(from) != VAULT_OK)
        return VAULT_E_IO;
    uint8_t *bytes = test_read_file(from, &len);
    if (bytes == NULL)
        return VAULT_E_IO;
    remove_db(to);
    int rc = write_file(to, bytes, len);
    free(bytes);
    return rc;
}

int sim_net_open(sim_net *n, const char *template_path, const char *path)
{
    memset(n, 0, sizeof *n);
    snprintf(n->path, sizeof n->path, "%s", path);
    snprintf(n->split_path, sizeof n->split_path, "%s.split", path);
    int rc = copy_file(template_path, n->path);
    if (rc == VAULT_OK)
        rc = vault_server_open(&n->server, n->path, pepper, sizeof pepper, 0);
    return rc;
}

void sim_net_forget_backups(sim_net *n)
{
    for (int i = 0; i < n->nbackups; i++)
        free(n->backup[i].bytes);
    n->nbackups = 0;
}

void sim_net_close(sim_net *n)
{
    vault_server_close(n->server);
    vault_server_close(n->split);
    n->server = n->split = NULL;
    remove_db(n->path);
    remove_db(n->split_path);
    sim_net_forget_backups(n);
    for (int i = 0; i < SIM_RECORDED; i++) {
        vault_free(n->recorded[i]);
        n->recorded[i] = NULL;
    }
}

/* Closing the server checkpoints the WAL into the main file, so the file
 * alone is the whole database. */
int sim_net_backup(sim_net *n, int step)
{
    if (n->nbackups == SIM_BACKUPS) {
        free(n->backup[0].bytes);
        memmove(&n->backup[0], &n->backup[1], sizeof n->backup[0] * (SIM_BACKUPS - 1));
        n->nbackups--;
    }
    vault_server_close(n->server);
    n->server = NULL;
    size_t len = 0;
    uint8_t *bytes = checkpointed(n->path) == VAULT_OK ? test_read_file(n->path, &len) : NULL;
    if (bytes != NULL) {
        n->backup[n->nbackups].bytes = bytes;
        n->backup[n->nbackups].len = len;
        n->backup[n->nbackups].step = step;
        n->nbackups++;
    }
    int rc = vault_server_open(&n->server, n->path, pepper, sizeof pepper, 0);
    return bytes == NULL ? VAULT_E_IO : rc;
}

int sim_net_restore(sim_net *n, int which)
{
    vault_server_close(n->server);
    n->server = NULL;
    remove_db(n->path);
    int rc = write_file(n->path, n->backup[which].bytes, n->backup[which].len);
    if (rc == VAULT_OK)
        rc = vault_server_open(&n->server, n->path, pepper, sizeof pepper, 0);
    n->lies++;
    return rc;
}

int sim_net_split(sim_net *n)
{
    vault_server_close(n->server);
    n->server = NULL;
    int rc = copy_file(n->path, n->split_path);
    if (rc == VAULT_OK)
        rc = vault_server_open(&n->split, n->split_path, pepper, sizeof pepper, 0);
    int rc2 = vault_server_open(&n->server, n->path, pepper, sizeof pepper, 0);
    n->lies++;
    return rc != VAULT_OK ? rc : rc2;
}

int sim_net_heal(sim_net *n, int keep_split)
{
    int rc = VAULT_OK;
    vault_server_close(n->split);
    n->split = NULL;
    if (keep_split) {
        vault_server_close(n->server);
        n->server = NULL;
        rc = copy_file(n->split_path, n->path);
        if (rc == VAULT_OK)
            rc = vault_server_open(&n->server, n->path, pepper, sizeof pepper, 0);
    }
    remove_db(n->split_path);
    return rc;
}

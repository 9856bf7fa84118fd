/* Many clients pushing to one vault through two vaultd instances for a
 * bounded time, as real clients do: pull, add their own entry to what they
 * pulled, push on that revision, and on a conflict start over.
 *
 * Each accepted push adds exactly one entry (a tag unique to the client and
 * attempt) to the content of the revision it replaced, so the final vault
 * must hold every accepted tag, its entry count must be its revision - 1,
 * and no two accepted pushes may share a revision. A push whose answer was
 * lost (the database went down) may or may not have happened: the client
 * finds out from its next pull, as a real client does. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "opaque/opaque.h"
#include "pgcluster.h"

#define CLIENTS 8
#define TAG_BYTES 12 /* "c03-0000042" and a NUL */
#define TAGS_MAX 8192
#define HEADER "vault entries\n"
#define NAP_MS 20

typedef struct account {
    char email[64];
    char id[33];
    uint8_t vault_key[32];
} account;

#define LOAD_PASSWORD "load test password"

typedef struct phase {
    atomic_int stop;
    atomic_int restarted; /* set once the database is back */
} phase;

typedef struct tag_rec {
    char tag[TAG_BYTES];
    uint64_t revision;
} tag_rec;

typedef struct client {
    int index;
    const account *acct;
    phase *ph;
    pgc_http http;
    char session[65];
    char device_id[33];
    tag_rec *accepted; /* answered ok */
    size_t n_accepted;
    tag_rec *late; /* answer lost, found in a later pull */
    size_t n_late;
    char unknown[TAG_BYTES]; /* answer lost, not seen since */
    size_t accepted_after_restart;
    size_t internal_errors, transport_errors, conflicts;
    char problem[160]; /* the first thing that must fail the test */
} client;

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void problem(client *c, const char *what, const char *detail)
{
    if (c->problem[0] == '\0')
        snprintf(c->problem, sizeof c->problem, "client %d: %s %s", c->index, what, detail);
}

/* ---- requests --------------------------------------------------------------- */

static cJSON *request(const char *op)
{
    cJSON *req = cJSON_CreateObject();
    assert_non_null(req);
    cJSON_AddNumberToObject(req, "v", 2);
    cJSON_AddStringToObject(req, "op", op);
    return req;
}

static void add_hex(cJSON *req, const char *name, const uint8_t *bytes, size_t len)
{
    char hex[2 * VAULT_OPAQUE_RECORD_BYTES + 1];
    assert_true(len <= VAULT_OPAQUE_RECORD_BYTES);
    vault__bin2hex(hex, bytes, len);
    cJSON_AddStringToObject(req, name, hex);
}

/* Base64 of content sealed for the account at revision; NULL on failure. */
static char *seal_b64(const account *a, uint64_t revision, const char *content)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    char *b64 = NULL;
    if (vault_blob_seal(&blob, &len, a->vault_key, a->id, revision, (const uint8_t *)content,
                        strlen(content)) != VAULT_OK)
        return NULL;
    if (vault__base64_encode(blob, len, &b64) != VAULT_OK)
        b64 = NULL;
    vault_free(blob);
    return b64;
}

/* A hex member of an ok answer, decoded. */
static void answer_hex(pgc_http *h, cJSON *req, const char *name, uint8_t *out, size_t len,
                       cJSON **keep)
{
    cJSON *resp = pgc_call(h, req);
    assert_non_null(resp);
    assert_string_equal(pgc_error_code(resp), "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(resp, name);
    assert_true(cJSON_IsString(m));
    assert_int_equal(vault__hex2bin(out, len, m->valuestring), VAULT_OK);
    if (keep != NULL)
        *keep = resp;
    else
        cJSON_Delete(resp);
}

static void opaque_cfg(vault_opaque_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg->context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
}

/* OPAQUE registration over HTTP (the KSF is the client's business: the
 * identity here, so the load test spends no Argon2id). */
static void opaque_record(pgc_http *h, const char *email, uint8_t record[VAULT_OPAQUE_RECORD_BYTES])
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    uint8_t request_[32], response[64], export_key[64];
    opaque_cfg(&cfg);
    assert_int_equal(vault__opaque_reg_start(&st, request_, (const uint8_t *)LOAD_PASSWORD,
                                             strlen(LOAD_PASSWORD), NULL),
                     VAULT_OK);
    cJSON *req = request("register_start");
    cJSON_AddStringToObject(req, "email", email);
    add_hex(req, "request", request_, sizeof request_);
    answer_hex(h, req, "response", response, sizeof response, NULL);
    assert_int_equal(vault__opaque_reg_finish(record, export_key, &st,
                                              (const uint8_t *)LOAD_PASSWORD,
                                              strlen(LOAD_PASSWORD), response, &cfg, NULL),
                     VAULT_OK);
}

static void register_account(account *a, pgc_http *h, const char *email)
{
    uint8_t id[16], record[VAULT_OPAQUE_RECORD_BYTES], protected_key[VAULT_PROTECTED_KEY_BYTES];
    uint8_t device[16];
    randombytes_buf(id, sizeof id);
    randombytes_buf(a->vault_key, sizeof a->vault_key);
    opaque_record(h, email, record);
    randombytes_buf(protected_key, sizeof protected_key);
    randombytes_buf(device, sizeof device);
    vault__bin2hex(a->id, id, sizeof id);
    snprintf(a->email, sizeof a->email, "%s", email);
    char *blob = seal_b64(a, 1, HEADER);
    assert_non_null(blob);
    cJSON *req = request("register");
    cJSON_AddStringToObject(req, "email", a->email);
    cJSON_AddStringToObject(req, "account_id", a->id);
    add_hex(req, "record", record, sizeof record);
    cJSON_AddNumberToObject(req, "opslimit", VAULT_KDF_OPSLIMIT_DEFAULT);
    cJSON_AddNumberToObject(req, "memlimit", VAULT_KDF_MEMLIMIT_DEFAULT);
    add_hex(req, "protected_key", protected_key, sizeof protected_key);
    cJSON_AddStringToObject(req, "blob", blob);
    add_hex(req, "device_id", device, sizeof device);
    cJSON_AddStringToObject(req, "device_name", "registering device");
    vault_free(blob);
    cJSON *resp = pgc_call(h, req);
    assert_non_null(resp);
    assert_string_equal(pgc_error_code(resp), "");
    cJSON_Delete(resp);
}

/* login_start + login_finish over HTTP; the session is the token derived
 * from the key exchange. */
static void login(client *c)
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    uint8_t device[16], ke1[96], ke2[320], ke3[64], session_key[64], export_key[64], token[32];
    randombytes_buf(device, sizeof device);
    vault__bin2hex(c->device_id, device, sizeof device);
    opaque_cfg(&cfg);
    assert_int_equal(vault__opaque_ke1(&st, ke1, (const uint8_t *)LOAD_PASSWORD,
                                       strlen(LOAD_PASSWORD), NULL, NULL, NULL),
                     VAULT_OK);
    cJSON *req = request("login_start"), *start = NULL;
    cJSON_AddStringToObject(req, "email", c->acct->email);
    add_hex(req, "ke1", ke1, sizeof ke1);
    answer_hex(&c->http, req, "ke2", ke2, sizeof ke2, &start);
    assert_int_equal(vault__opaque_ke3(ke3, session_key, export_key, &st,
                                       (const uint8_t *)LOAD_PASSWORD, strlen(LOAD_PASSWORD), ke2,
                                       &cfg),
                     VAULT_OK);
    req = request("login_finish");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(start, "login_state");
    cJSON_AddItemToObject(req, "login_state", cJSON_Duplicate(state, 1));
    cJSON_Delete(start);
    add_hex(req, "ke3", ke3, sizeof ke3);
    cJSON_AddStringToObject(req, "device_id", c->device_id);
    cJSON_AddStringToObject(req, "device_name", "load client");
    cJSON *resp = pgc_call(&c->http, req);
    assert_non_null(resp);
    assert_string_equal(pgc_error_code(resp), "");
    cJSON_Delete(resp);
    vault__opaque_session_token(token, session_key);
    vault__bin2hex(c->session, token, sizeof token);
}

/* Counts a failed request. Only "internal" (the database is down) and no
 * answer at all are expected; the message must be the fixed one. */
static void note_failure(client *c, const cJSON *resp)
{
    if (resp == NULL) {
        c->transport_errors++;
        return;
    }
    const char *code = pgc_error_code(resp);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(resp, "error"), "message");
    if (strcmp(code, "internal") != 0)
        problem(c, "unexpected error", code);
    else if (!cJSON_IsString(msg) || strcmp(msg->valuestring, "internal server error") != 0)
        problem(c, "unclear internal error", cJSON_IsString(msg) ? msg->valuestring : "");
    c->internal_errors++;
}

/* Pulls the current revision and its content (a string, free()). 0 on
 * success; otherwise the failure is counted. */
static int pull(client *c, uint64_t *revision, char **content)
{
    cJSON *req = request("pull");
    cJSON_AddStringToObject(req, "session", c->session);
    cJSON *resp = pgc_call(&c->http, req);
    if (resp == NULL || pgc_error_code(resp)[0] != '\0') {
        note_failure(c, resp);
        cJSON_Delete(resp);
        return -1;
    }
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(resp, "revision");
    const cJSON *blob = cJSON_GetObjectItemCaseSensitive(resp, "blob");
    uint8_t *raw = NULL, *plain = NULL;
    size_t raw_len = 0, plain_len = 0;
    int rc = -1;
    if (cJSON_IsNumber(rev) && cJSON_IsString(blob) &&
        vault__base64_decode(blob->valuestring, 1u << 24, &raw, &raw_len) == VAULT_OK &&
        vault_blob_open(&plain, &plain_len, c->acct->vault_key, c->acct->id,
                        (uint64_t)rev->valuedouble, raw, raw_len) == VAULT_OK) {
        *revision = (uint64_t)rev->valuedouble;
        *content = strdup((const char *)plain);
        rc = *content != NULL ? 0 : -1;
    }
    if (rc != 0)
        problem(c, "pulled a blob that does not open", "");
    vault_free(plain);
    vault_free(raw);
    cJSON_Delete(resp);
    return rc;
}

/* The push's answer: 1 accepted, 0 conflict, -1 failed (outcome unknown). */
static int push(client *c, uint64_t base, const char *content)
{
    char *blob = seal_b64(c->acct, base + 1, content);
    if (blob == NULL) {
        problem(c, "cannot seal", "");
        return 0;
    }
    cJSON *req = request("push");
    cJSON_AddStringToObject(req, "session", c->session);
    cJSON_AddNumberToObject(req, "base_revision", (double)base);
    cJSON_AddStringToObject(req, "blob", blob);
    vault_free(blob);
    cJSON *resp = pgc_call(&c->http, req);
    const char *code = resp != NULL ? pgc_error_code(resp) : "none";
    int result = -1;
    if (code[0] == '\0') {
        const cJSON *rev = cJSON_GetObjectItemCaseSensitive(resp, "revision");
        if (!cJSON_IsNumber(rev) || (uint64_t)rev->valuedouble != base + 1)
            problem(c, "push accepted with a wrong revision", "");
        result = 1;
    } else if (strcmp(code, "conflict") == 0) {
        c->conflicts++;
        result = 0;
    } else {
        note_failure(c, resp);
    }
    cJSON_Delete(resp);
    return result;
}

static void record(client *c, tag_rec *list, size_t *n, const char *tag, uint64_t revision)
{
    if (*n == TAGS_MAX) {
        problem(c, "more pushes than", "TAGS_MAX");
        return;
    }
    snprintf(list[*n].tag, TAG_BYTES, "%s", tag);
    list[*n].revision = revision;
    (*n)++;
}

/* ---- the client loop ---------------------------------------------------------- */

static void *client_main(void *arg)
{
    client *c = arg;
    char pending[TAG_BYTES] = "";
    int pending_unknown = 0; /* a push of pending got no answer */
    unsigned seq = 0;
    while (!atomic_load(&c->ph->stop) && c->problem[0] == '\0') {
        uint64_t rev = 0;
        char *content = NULL;
        if (pull(c, &rev, &content) != 0) {
            nap(NAP_MS);
            continue;
        }
        /* Every revision holds its predecessor's entries: what the pull
         * shows is what happened to an unanswered push. */
        if (pending[0] != '\0' && strstr(content, pending) != NULL) {
            if (!pending_unknown)
                problem(c, "a refused push is in the vault:", pending);
            record(c, c->late, &c->n_late, pending, 0);
            pending[0] = '\0';
        }
        pending_unknown = 0;
        if (pending[0] == '\0')
            snprintf(pending, sizeof pending, "c%02d-%07u", c->index, seq++);
        size_t len = strlen(content);
        char *next = malloc(len + TAG_BYTES + 1);
        if (next == NULL) {
            problem(c, "out of memory", "");
            free(content);
            break;
        }
        snprintf(next, len + TAG_BYTES + 1, "%s%s\n", content, pending);
        int result = push(c, rev, next);
        if (result == 1) {
            record(c, c->accepted, &c->n_accepted, pending, rev + 1);
            if (atomic_load(&c->ph->restarted))
                c->accepted_after_restart++;
            pending[0] = '\0';
        } else if (result < 0) {
            pending_unknown = 1;
            nap(NAP_MS);
        }
        free(next);
        free(content);
    }
    if (pending[0] != '\0' && pending_unknown)
        snprintf(c->unknown, sizeof c->unknown, "%s", pending);
    return NULL;
}

/* ---- one load run -------------------------------------------------------------- */

typedef struct run {
    account acct;
    phase ph;
    client clients[CLIENTS];
    pthread_t threads[CLIENTS];
} run;

static run *run_start(const pgc_daemon *daemons, const char *email)
{
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pgc_http h;
    pgc_http_init(&h, daemons[0].port);
    register_account(&r->acct, &h, email);
    pgc_http_free(&h);
    for (int i = 0; i < CLIENTS; i++) {
        client *c = &r->clients[i];
        c->index = i;
        c->acct = &r->acct;
        c->ph = &r->ph;
        c->accepted = calloc(TAGS_MAX, sizeof *c->accepted);
        c->late = calloc(TAGS_MAX, sizeof *c->late);
        assert_true(c->accepted != NULL && c->late != NULL);
        pgc_http_init(&c->http, daemons[i % PGC_INSTANCES].port);
        login(c);
    }
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&r->threads[i], NULL, client_main, &r->clients[i]), 0);
    return r;
}

static void run_stop(run *r)
{
    atomic_store(&r->ph.stop, 1);
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(r->threads[i], NULL);
        if (r->clients[i].problem[0] != '\0')
            fail_msg("%s", r->clients[i].problem);
    }
}

static void run_free(run *r)
{
    for (int i = 0; i < CLIENTS; i++) {
        pgc_http_free(&r->clients[i].http);
        free(r->clients[i].accepted);
        free(r->clients[i].late);
    }
    free(r);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

typedef struct totals {
    size_t accepted, late, unknown_applied, internal, transport, conflicts;
    uint64_t final_revision;
} totals;

/* The final vault, read through every instance, against what the clients
 * were told. */
static totals verify(run *r, const pgc_daemon *daemons)
{
    totals t;
    memset(&t, 0, sizeof t);
    char *final = NULL;
    for (int i = 0; i < PGC_INSTANCES; i++) {
        uint64_t rev = 0;
        char *content = NULL;
        client *c = &r->clients[i]; /* client i talks to instance i */
        pgc_http_free(&c->http);
        pgc_http_init(&c->http, daemons[i].port);
        assert_int_equal(pull(c, &rev, &content), 0);
        if (final == NULL) {
            final = content;
            t.final_revision = rev;
        } else {
            assert_int_equal(rev, t.final_revision);
            assert_string_equal(content, final);
            free(content);
        }
    }
    uint64_t *revs = calloc((size_t)CLIENTS * TAGS_MAX, sizeof *revs);
    assert_non_null(revs);
    for (int i = 0; i < CLIENTS; i++) {
        const client *c = &r->clients[i];
        for (size_t k = 0; k < c->n_accepted; k++) {
            if (strstr(final, c->accepted[k].tag) == NULL)
                fail_msg("accepted push %s (revision %llu) is not in the final vault",
                         c->accepted[k].tag, (unsigned long long)c->accepted[k].revision);
            revs[t.accepted++] = c->accepted[k].revision;
        }
        for (size_t k = 0; k < c->n_late; k++)
            assert_non_null(strstr(final, c->late[k].tag));
        t.late += c->n_late;
        t.unknown_applied += c->unknown[0] != '\0' && strstr(final, c->unknown) != NULL;
        t.internal += c->internal_errors;
        t.transport += c->transport_errors;
        t.conflicts += c->conflicts;
    }
    qsort(revs, t.accepted, sizeof *revs, cmp_u64);
    for (size_t k = 1; k < t.accepted; k++)
        if (revs[k] == revs[k - 1])
            fail_msg("two accepted pushes share revision %llu", (unsigned long long)revs[k]);
    /* One entry per revision after the first, and each of them one the
     * clients pushed: accepted, or unanswered but applied. */
    size_t entries = count_lines(final) - count_lines(HEADER);
    assert_int_equal(entries, t.final_revision - 1);
    assert_int_equal(entries, t.accepted + t.late + t.unknown_applied);
    free(revs);
    free(final);
    return t;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the tests -------------------------------------------------------------------- */

void test_pgcluster__two_instances_one_database(void **state)
{
    const pgc_daemon *daemons = *state;
    struct timespec t0;
    run *r = run_start(daemons, "two-instances@example.com");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nap(4000);
    run_stop(r);
    double took = seconds_since(&t0);
    totals t = verify(r, daemons);
    /* Nothing went down: every push was answered, and answered right. */
    assert_int_equal(t.internal, 0);
    assert_int_equal(t.transport, 0);
    assert_int_equal(t.late + t.unknown_applied, 0);
    assert_true(t.accepted > 0);
    assert_int_equal(t.final_revision, t.accepted + 1);
    printf("pgcluster: %d clients on %d instances, %.1f s: %zu pushes accepted "
           "(%.0f/s), %zu conflicts\n",
           CLIENTS, PGC_INSTANCES, took, t.accepted, (double)t.accepted / took, t.conflicts);
    run_free(r);
}

static void run_command(const char *env)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s >/dev/null", getenv(env));
    if (system(cmd) != 0)
        fail_msg("%s failed: %s", env, cmd);
}

void test_pgcluster__database_restart_under_load(void **state)
{
    const pgc_daemon *daemons = *state;
    run *r = run_start(daemons, "restart@example.com");
    nap(1500);
    run_command("VAULT_TEST_PG_STOP");
    nap(1500);
    run_command("VAULT_TEST_PG_START");
    atomic_store(&r->ph.restarted, 1);
    nap(2500);
    run_stop(r);
    totals t = verify(r, daemons);
    /* While it was down, requests failed as "internal" (note_failure checked
     * the message), never as a dropped HTTP connection; once it was back,
     * pushes were accepted again. */
    assert_true(t.internal > 0);
    assert_int_equal(t.transport, 0);
    size_t after = 0;
    for (int i = 0; i < CLIENTS; i++)
        after += r->clients[i].accepted_after_restart;
    assert_true(after > 0);
    printf("pgcluster: restart under load: %zu pushes accepted (%zu after the restart), "
           "%zu internal errors while down, %zu unanswered pushes found applied\n",
           t.accepted, after, t.internal, t.late + t.unknown_applied);
    run_free(r);
}

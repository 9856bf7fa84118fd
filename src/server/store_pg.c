/*
 * The PostgreSQL backend of the server store, through libpq: the primitives
 * of store_backend.h in PostgreSQL's dialect, and the transactions they run
 * in (the operations and their rules are store_rules.c's). The only file of
 * the server that talks to PostgreSQL. Several vaultd processes
 * may share one database (docs/deploy.md): every rule of store.h holds across
 * processes because PostgreSQL's row locks, not a mutex of ours, order the
 * writers.
 *
 * Concurrency: transactions run at READ COMMITTED, and no operation acts on a
 * value it read without holding that row's lock. The compare-and-swap of a
 * push is a conditional `UPDATE ... WHERE revision = $base`: a concurrent push
 * on the same base waits for the row lock, then re-checks the condition
 * against the committed revision and matches nothing. Other read-decide-write
 * steps lock their row first (SELECT ... FOR UPDATE, or an upsert). A deadlock
 * or serialization failure rolls back and runs the operation again.
 *
 * Connections: a pool of up to POOL_MAX, each used by one thread at a time,
 * opened on first use. A connection that broke (the database restarted) is
 * reopened when next handed out, and an operation whose connection broke
 * before its COMMIT was sent runs again on a fresh one, so the first request
 * after a restart succeeds. A COMMIT whose answer was lost is a failure
 * (VAULT_E_IO) and never retried: it may or may not have happened, and the
 * client's next pull tells which.
 *
 * Values: every statement is parameterised and prepared once per connection
 * (PQprepare, PQexecPrepared); ids, hashes and blobs travel as binary bytea,
 * integers as text; results come back binary.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "server/store_backend.h"

#define POOL_MAX 8
#define TX_ATTEMPTS 5
#define PARAMS_MAX 8
#define PREPARED_MAX 64 /* statements kept prepared per connection */
/* Used unless the URI says otherwise: a request while the database host is
 * unreachable fails after this long instead of hanging a worker. */
#define CONNECT_TIMEOUT_S "5"
/* The deadline of every store call: PostgreSQL cancels a statement that runs
 * longer (statement_timeout, lock waits included), and vaultd stops waiting
 * for an answer a little later, since a frozen or unreachable server answers
 * nothing at all. Either way the request fails with VAULT_E_IO instead of
 * holding a worker thread forever. */
#define STATEMENT_TIMEOUT "-c statement_timeout=10000"
#define ANSWER_WAIT_MS 15000
/* pg_advisory_xact_lock keys: schema migrations ("zkvault"), and the count
 * of links that no account owns yet ("zklinks"). */
#define MIGRATION_LOCK "7a6b7661756c74"
#define UNBOUND_LINKS_LOCK "7a6b6c696e6b73"

/* Built-in type OIDs (pg_type.h is a server header). */
#define OID_BYTEA 17u
#define OID_INT8 20u
#define OID_TEXT 25u

/* Schema migrations: entry i takes version i to i + 1. Append only. The
 * tables mirror the SQLite backend's, column for column. */
static const char *const migrations[] = {
    /* 1: accounts, blobs, devices, sessions, login failure counters */
    "CREATE TABLE accounts ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  email_hash bytea NOT NULL UNIQUE CHECK (octet_length(email_hash) = 32),"
    "  verifier bytea NOT NULL CHECK (octet_length(verifier) = 32),"
    "  salt bytea NOT NULL CHECK (octet_length(salt) = 16),"
    "  opslimit bigint NOT NULL,"
    "  memlimit bigint NOT NULL,"
    "  protected_key bytea NOT NULL,"
    "  revision bigint NOT NULL,"
    "  created_ms bigint NOT NULL);"
    "CREATE TABLE blobs ("
    "  account_id bytea NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  revision bigint NOT NULL,"
    "  data bytea NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  PRIMARY KEY (account_id, revision));"
    /* Ciphertext does not compress: skip TOAST's attempt. */
    "ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE TABLE devices ("
    "  account_id bytea NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  id bytea NOT NULL CHECK (octet_length(id) = 16),"
    "  name text NOT NULL,"
    "  added_ms bigint NOT NULL,"
    "  last_seen_ms bigint NOT NULL,"
    "  revoked_ms bigint,"
    "  PRIMARY KEY (account_id, id));"
    "CREATE TABLE sessions ("
    "  token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),"
    "  account_id bytea NOT NULL,"
    "  device_id bytea NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  expires_ms bigint NOT NULL,"
    "  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, id)"
    "    ON DELETE CASCADE);"
    "CREATE INDEX sessions_by_account ON sessions(account_id, device_id);"
    "CREATE INDEX sessions_by_expiry ON sessions(expires_ms);"
    "CREATE TABLE login_failures ("
    "  email_hash bytea PRIMARY KEY CHECK (octet_length(email_hash) = 32),"
    "  failures bigint NOT NULL,"
    "  last_ms bigint NOT NULL);"
    "CREATE INDEX login_failures_by_time ON login_failures(last_ms);",
    /* 2: device links (docs/devicelink.md); linked devices' credential hash and
     * the vault key sealed to each device at the last rotation */
    "ALTER TABLE devices ADD COLUMN credential_hash bytea"
    "  CHECK (credential_hash IS NULL OR octet_length(credential_hash) = 32);"
    "ALTER TABLE devices ADD COLUMN sealed_key bytea;"
    "CREATE TABLE links ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  account_id bytea NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  device_id bytea NOT NULL,"
    "  state bigint NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  expires_ms bigint NOT NULL,"
    "  extra_posts bigint NOT NULL DEFAULT 0,"
    "  peer_pk bytea, post_mac bytea, confirm_tag bytea, fetch_hash bytea,"
    "  envelope bytea);"
    "CREATE INDEX links_by_expiry ON links(expires_ms);"
    "CREATE INDEX links_by_account ON links(account_id);",
    /* 3: links requested by a new device (reverse direction): a role, and no
     * account until a logged-in device accepts the link */
    "ALTER TABLE links ADD COLUMN role bigint NOT NULL DEFAULT 111;"
    "ALTER TABLE links ALTER COLUMN account_id DROP NOT NULL;"
    "ALTER TABLE links ALTER COLUMN device_id DROP NOT NULL;",
    /* 4: protocol 2 (OPAQUE): the record replaces the verifier and the salt.
     * Accounts of protocol 1 keep their data but no record: they cannot log
     * in (there is no legacy login path). */
    ("ALTER TABLE accounts DROP COLUMN verifier, DROP COLUMN salt,"
     "  ADD COLUMN record bytea CHECK (record IS NULL OR octet_length(record) = 192);"),
};
#define SCHEMA_VERSION ((int64_t)(sizeof migrations / sizeof migrations[0]))

typedef struct conn {
    vault_store_tx tx; /* first: a body's tx is its connection */
    PGconn *pg;
    int busy;
    /* Set by the failure of the current attempt: */
    int broken;      /* the connection is gone */
    int retry;       /* running the operation again is safe and may succeed */
    int commit_sent; /* a lost connection now leaves the outcome unknown */
    int timed_out;   /* no answer within ANSWER_WAIT_MS: the connection was dropped */
    int64_t changes; /* rows the last statement touched */
    /* The statements prepared on this connection, by the address of their
     * text (a string literal of a primitive): statement i is named "z<i>". */
    const char *prepared[PREPARED_MAX];
    int nprepared;
} conn;

#define CONN(tx) ((conn *)(tx))

typedef struct pg_store {
    vault_store base;
    char *uri; /* may hold a password: wiped when freed */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_freed;
    conn conns[POOL_MAX];
} pg_store;

#define STORE(b) ((pg_store *)(b))

/* ---- parameters ------------------------------------------------------------------ */

typedef struct params {
    int n;
    int too_long;
    Oid types[PARAMS_MAX];
    const char *values[PARAMS_MAX];
    int lengths[PARAMS_MAX];
    int formats[PARAMS_MAX];
    char digits[PARAMS_MAX][24];
} params;

static void p_bytes(params *p, const uint8_t *bytes, size_t len)
{
    int i = p->n++;
    if (len > INT_MAX)
        p->too_long = 1;
    p->types[i] = OID_BYTEA;
    /* NULL would mean SQL NULL; an empty value is "". */
    p->values[i] = len > 0 ? (const char *)bytes : "";
    p->lengths[i] = len > INT_MAX ? 0 : (int)len;
    p->formats[i] = 1;
}

static void p_i64(params *p, int64_t v)
{
    int i = p->n++;
    snprintf(p->digits[i], sizeof p->digits[i], "%lld", (long long)v);
    p->types[i] = OID_INT8;
    p->values[i] = p->digits[i];
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

static void p_text(params *p, const char *s)
{
    int i = p->n++;
    p->types[i] = OID_TEXT;
    p->values[i] = s;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

typedef vault_store_param param;

/* libpq's arrays for a primitive's values. */
static int params_of(params *p, const param *ps, size_t n, const char *what)
{
    p->n = 0;
    p->too_long = 0;
    if (n > PARAMS_MAX)
        return vault__fail(VAULT_E_INTERNAL, "store: %s: too many values", what);
    for (size_t i = 0; i < n; i++) {
        if (ps[i].kind == VAULT_STORE_P_BLOB)
            p_bytes(p, ps[i].p, ps[i].n);
        else if (ps[i].kind == VAULT_STORE_P_INT)
            p_i64(p, ps[i].v);
        else
            p_text(p, ps[i].p);
    }
    if (p->too_long)
        return vault__fail(VAULT_E_LIMIT, "store: %s: value too large", what);
    return VAULT_OK;
}

/* ---- statements and errors -------------------------------------------------------- */

/* libpq's messages end in newlines and continue with hints: keep line one. */
static int first_line_len(const char *msg)
{
    size_t n = strcspn(msg, "\n");
    return n > 200 ? 200 : (int)n;
}

/* Maps a failed statement to a status. Constraint violations are answers,
 * not failures: a taken key is VAULT_E_EXISTS, a vanished parent row (the
 * account was deleted meanwhile) VAULT_E_NOT_FOUND. Only the primary message
 * is kept: PostgreSQL's detail lines quote the row's values. */
static int fail_result(conn *c, const PGresult *r, const char *what)
{
    if (c->timed_out) {
        c->timed_out = 0;
        c->broken = 1;
        return vault__fail(VAULT_E_IO, "store: %s: PostgreSQL did not answer within %d s",
                           what, ANSWER_WAIT_MS / 1000);
    }
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (state == NULL)
        state = "";
    /* Class 08: connection exception; 57P01-03: shutdown, crash, starting up. */
    if (PQstatus(c->pg) == CONNECTION_BAD || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P0", 4) == 0) {
        const char *why = msg != NULL ? msg : PQerrorMessage(c->pg);
        c->broken = 1;
        c->retry = !c->commit_sent;
        return vault__fail(VAULT_E_IO, "store: %s: lost the connection to PostgreSQL%s (%.*s)",
                           what, c->commit_sent ? " during COMMIT: outcome unknown" : "",
                           first_line_len(why), why);
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        c->retry = 1;
    if (strcmp(state, "23505") == 0)
        return vault__fail(VAULT_E_EXISTS, "%s: already exists", what);
    if (strcmp(state, "23503") == 0)
        return vault__fail(VAULT_E_NOT_FOUND, "%s: the account no longer exists", what);
    if (msg == NULL)
        msg = PQerrorMessage(c->pg);
    return vault__fail(VAULT_E_IO, "store: %s: %.*s", what, first_line_len(msg), msg);
}

static void conn_drop(conn *c);

/* The answer to the statement just sent (sent: the PQsend* result), as
 * PQexec would give it (the last result), waiting at most ANSWER_WAIT_MS.
 * NULL when nothing could be sent, or, with c->timed_out set and the
 * connection dropped (its state is unknown), when the deadline passed. */
static PGresult *answer(conn *c, int sent)
{
    PGresult *last = NULL;
    if (!sent)
        return NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t deadline = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + ANSWER_WAIT_MS;
    for (;;) {
        while (!PQisBusy(c->pg)) {
            PGresult *r = PQgetResult(c->pg);
            if (r == NULL)
                return last;
            PQclear(last);
            last = r;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = deadline - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        struct pollfd pfd = {PQsocket(c->pg), POLLIN, 0};
        int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (ready == 0 || (ready < 0 && errno != EINTR)) {
            PQclear(last);
            conn_drop(c);
            c->timed_out = 1;
            return NULL;
        }
        if (ready > 0 && !PQconsumeInput(c->pg)) {
            PQclear(last);
            return NULL;
        }
    }
}

/* Prepares sql on c the first time it runs there, so that PostgreSQL parses
 * and plans each primitive's statement once per connection. *slot is its
 * index, or -1 once PREPARED_MAX are prepared (it then runs unnamed). */
static int prepare(conn *c, const char *sql, const params *p, const char *what, int *slot)
{
    char name[16];
    for (*slot = 0; *slot < c->nprepared; (*slot)++)
        if (c->prepared[*slot] == sql)
            return VAULT_OK;
    *slot = -1;
    if (c->nprepared == PREPARED_MAX)
        return VAULT_OK;
    snprintf(name, sizeof name, "z%d", c->nprepared);
    PGresult *r = answer(c, PQsendPrepare(c->pg, name, sql, p->n, p->types));
    int status = PQresultStatus(r) == PGRES_COMMAND_OK ? VAULT_OK : fail_result(c, r, what);
    PQclear(r);
    if (status == VAULT_OK) {
        *slot = c->nprepared;
        c->prepared[c->nprepared++] = sql;
    }
    return status;
}

/* Runs one parameterised statement (prepared); VAULT_OK with *out (the caller
 * clears it) when it succeeded. c->changes gets the number of rows it touched. */
static int exec_params(conn *c, const char *sql, const param *ps, size_t n, PGresult **out,
                       const char *what)
{
    params p;
    char name[16];
    int slot = -1;
    int status = params_of(&p, ps, n, what);
    if (status == VAULT_OK)
        status = prepare(c, sql, &p, what, &slot);
    if (status != VAULT_OK)
        return status;
    snprintf(name, sizeof name, "z%d", slot);
    PGresult *r = answer(c, slot >= 0 ? PQsendQueryPrepared(c->pg, name, p.n, p.values,
                                                            p.lengths, p.formats, 1)
                                      : PQsendQueryParams(c->pg, sql, p.n, p.types, p.values,
                                                          p.lengths, p.formats, 1));
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        status = fail_result(c, r, what);
        PQclear(r);
        return status;
    }
    const char *tuples = PQcmdTuples(r);
    c->changes = tuples[0] != '\0' ? strtoll(tuples, NULL, 10) : 0;
    *out = r;
    return VAULT_OK;
}

/* A statement whose rows (if any) are not needed. */
static int run(conn *c, const char *sql, const param *ps, size_t n, const char *what)
{
    PGresult *r = NULL;
    int status = exec_params(c, sql, ps, n, &r, what);
    PQclear(r);
    return status;
}

/* An UPDATE or DELETE that must hit exactly one row: one that hit none (a
 * row deleted meanwhile) is a bare VAULT_E_NOT_FOUND. */
static int one_row(const conn *c, int status)
{
    if (status == VAULT_OK && c->changes != 1)
        return VAULT_E_NOT_FOUND;
    return status;
}

/* A query: VAULT_OK with at least one row in *out (the caller clears it), or
 * VAULT_E_NOT_FOUND (no message) without one. */
static int fetch(conn *c, const char *sql, const param *ps, size_t n, PGresult **out,
                 const char *what)
{
    PGresult *r = NULL;
    int status = exec_params(c, sql, ps, n, &r, what);
    if (status != VAULT_OK)
        return status;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return VAULT_E_NOT_FOUND;
    }
    *out = r;
    return VAULT_OK;
}

/* A statement text without parameters, through the simple protocol (which
 * allows several statements in one round trip). */
static int simple(conn *c, const char *sql, const char *what)
{
    PGresult *r = answer(c, PQsendQuery(c->pg, sql));
    ExecStatusType rs = PQresultStatus(r);
    int status = VAULT_OK;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
        status = fail_result(c, r, what);
    PQclear(r);
    return status;
}

/* ---- reading result rows ------------------------------------------------------------
 * A row reader keeps the first failure, so that a row's columns read in a
 * straight line and are checked once. */

typedef struct row {
    const PGresult *res;
    int i;
    int status;
} row;

static int col_null(const row *r, int col)
{
    return PQgetisnull(r->res, r->i, col);
}

static int col_wrong(row *r, int col, size_t n)
{
    if (r->status != VAULT_OK)
        return 1;
    if (col_null(r, col) || (size_t)PQgetlength(r->res, r->i, col) != n) {
        r->status = vault__fail(VAULT_E_IO, "store: column %d has a wrong length", col);
        return 1;
    }
    return 0;
}

/* A bytea column of exactly n bytes; anything else means a damaged database. */
static void col_bytes(row *r, int col, uint8_t *dst, size_t n)
{
    if (!col_wrong(r, col, n))
        memcpy(dst, PQgetvalue(r->res, r->i, col), n);
}

static void col_optional(row *r, int col, uint8_t *dst, size_t n)
{
    if (col_null(r, col))
        memset(dst, 0, n);
    else
        col_bytes(r, col, dst, n);
}

static int64_t col_i64(row *r, int col)
{
    if (col_wrong(r, col, 8))
        return 0;
    return (int64_t)vault__load64_be((const uint8_t *)PQgetvalue(r->res, r->i, col));
}

static uint64_t col_u64(row *r, int col)
{
    int64_t v = col_i64(r, col);
    return v < 0 ? 0 : (uint64_t)v;
}

static int col_bool(row *r, int col)
{
    if (col_wrong(r, col, 1))
        return 0;
    return PQgetvalue(r->res, r->i, col)[0] != 0;
}

/* A copy of a bytea column in vault__malloc memory (NULL for SQL NULL). */
static void col_dup(row *r, int col, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (r->status != VAULT_OK || col_null(r, col))
        return;
    size_t n = (size_t)PQgetlength(r->res, r->i, col);
    uint8_t *copy = vault__malloc(n > 0 ? n : 1);
    if (copy == NULL) {
        r->status = vault__fail(VAULT_E_NOMEM, "out of memory reading from the store");
        return;
    }
    memcpy(copy, PQgetvalue(r->res, r->i, col), n);
    *out = copy;
    *len = n;
}

/* Reads the columns of a row into out; a failure stays in r->status. */
typedef void (*row_reader)(row *r, void *out);

/* A query whose first row `read` takes: VAULT_E_NOT_FOUND (no message)
 * without a row, otherwise the statement's or the reader's first failure. */
static int query(conn *c, const char *sql, const param *ps, size_t n, const char *what,
                 row_reader read, void *out)
{
    PGresult *res = NULL;
    int status = fetch(c, sql, ps, n, &res, what);
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    read(&r, out);
    PQclear(res);
    return r.status;
}

static void read_i64(row *r, void *out)
{
    *(int64_t *)out = col_i64(r, 0);
}

static void read_u64(row *r, void *out)
{
    *(uint64_t *)out = col_u64(r, 0);
}

static void read_bool(row *r, void *out)
{
    *(int *)out = col_bool(r, 0);
}

/* ---- connections ----------------------------------------------------------------------- */

static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

static void conn_drop(conn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
    c->nprepared = 0; /* prepared statements live and die with the session */
}

/* Opens c's connection. Defaults first, so that the URI's own settings
 * override them. */
static int conn_connect(pg_store *st, conn *c)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name",
                                       "client_encoding", "options", "dbname", NULL};
    const char *values[] = {CONNECT_TIMEOUT_S, "vaultd", "UTF8", STATEMENT_TIMEOUT, st->uri,
                            NULL};
    conn_drop(c);
    c->pg = PQconnectdbParams(keys, values, 1);
    if (c->pg == NULL)
        return vault__fail(VAULT_E_NOMEM, "store: out of memory connecting to PostgreSQL");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        const char *why = PQerrorMessage(c->pg);
        int status = vault__fail(VAULT_E_IO, "store: cannot connect to PostgreSQL (%.*s)",
                                 first_line_len(why), why);
        conn_drop(c);
        return status;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    return VAULT_OK;
}

/* Hands out a free connection (preferring one that is already open), or
 * waits for one to come back; opens it if needed, outside the pool lock. */
static int acquire(pg_store *st, conn **out)
{
    conn *c = NULL;
    pthread_mutex_lock(&st->pool_lock);
    while (c == NULL) {
        for (int i = 0; i < POOL_MAX; i++) {
            conn *k = &st->conns[i];
            if (!k->busy && (c == NULL || (c->pg == NULL && k->pg != NULL)))
                c = k;
        }
        if (c == NULL)
            pthread_cond_wait(&st->pool_freed, &st->pool_lock);
    }
    c->busy = 1;
    pthread_mutex_unlock(&st->pool_lock);
    int status = VAULT_OK;
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        status = conn_connect(st, c);
    if (status != VAULT_OK) {
        pthread_mutex_lock(&st->pool_lock);
        c->busy = 0;
        pthread_cond_signal(&st->pool_freed);
        pthread_mutex_unlock(&st->pool_lock);
        return status;
    }
    *out = c;
    return VAULT_OK;
}

static void release(pg_store *st, conn *c)
{
    /* A connection left inside a transaction (a failed ROLLBACK) is unusable. */
    if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        conn_drop(c);
    pthread_mutex_lock(&st->pool_lock);
    c->busy = 0;
    pthread_cond_signal(&st->pool_freed);
    pthread_mutex_unlock(&st->pool_lock);
}

/* ---- transactions ------------------------------------------------------------------------ */

enum {
    READ,    /* no transaction: the body runs single, self-contained statements */
    DURABLE, /* one transaction; COMMIT returns once the WAL is flushed */
    RELAXED, /* one transaction, synchronous_commit off (VAULT_STORE_WRITE_RELAXED) */
};

/* Quietly: the failure being reported is the one before. */
static void rollback(conn *c)
{
    if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(answer(c, PQsendQuery(c->pg, "ROLLBACK")));
}

static int commit(conn *c)
{
    c->commit_sent = 1;
    PGresult *r = answer(c, PQsendQuery(c->pg, "COMMIT"));
    int status = VAULT_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        status = fail_result(c, r, "commit");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) /* the transaction had failed */
        status = vault__fail(VAULT_E_IO, "store: commit: the transaction was rolled back");
    PQclear(r);
    return status;
}

static int in_transaction(conn *c, int mode, vault_store_body body, void *arg)
{
    int status = simple(c, mode == RELAXED ? "BEGIN; SET LOCAL synchronous_commit = off"
                                           : "BEGIN", "begin");
    if (status == VAULT_OK)
        status = body(&c->tx, arg);
    if (status == VAULT_OK)
        status = commit(c);
    else
        rollback(c);
    return status;
}

/* Runs body on a pooled connection, again (up to TX_ATTEMPTS) while its
 * failure says that doing so is safe and may succeed: a deadlock, or a
 * connection lost before COMMIT (then on a fresh connection). */
static int transact(pg_store *st, int mode, vault_store_body body, void *arg)
{
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    for (int attempt = 1;; attempt++) {
        c->broken = c->retry = c->commit_sent = 0;
        status = mode == READ ? body(&c->tx, arg) : in_transaction(c, mode, body, arg);
        if (status == VAULT_OK || !c->retry || attempt == TX_ATTEMPTS)
            break;
        if (c->broken && (status = conn_connect(st, c)) != VAULT_OK)
            break;
    }
    release(st, c);
    return status;
}

/* Reads, and a single write statement, run without a transaction of their
 * own (each statement is one). */
static int pg_transact(vault_store *base, int mode, vault_store_body body, void *ctx)
{
    static const int modes[] = {[VAULT_STORE_READ] = READ, [VAULT_STORE_WRITE] = DURABLE,
                                [VAULT_STORE_WRITE_RELAXED] = RELAXED,
                                [VAULT_STORE_WRITE_ONE] = READ};
    return transact(STORE(base), modes[mode], body, ctx);
}

/* ---- schema ---------------------------------------------------------------------------------- */

static int read_version(conn *c, int64_t *version)
{
    *version = 0;
    int status = query(c, "SELECT version FROM schema_version", NULL, 0, "schema version",
                       read_i64, version);
    return status == VAULT_E_NOT_FOUND ? VAULT_OK : status;
}

/* Brings the schema to SCHEMA_VERSION in one transaction; processes opening
 * a new database at once queue on the advisory lock. A schema already at the
 * version sees no DDL at all, so that a role without CREATE rights can serve
 * a database its administrator set up. */
static int migrate(vault_store_tx *tx, void *arg)
{
    conn *c = CONN(tx);
    int64_t version = 0;
    int exists = 0;
    (void)arg;
    int status = simple(c, "SELECT pg_advisory_xact_lock(x'" MIGRATION_LOCK "'::bigint)",
                        "migrate");
    if (status == VAULT_OK)
        status = query(c, "SELECT to_regclass('schema_version') IS NOT NULL", NULL, 0, "migrate",
                       read_bool, &exists);
    if (status == VAULT_OK && exists)
        status = read_version(c, &version);
    if (status != VAULT_OK)
        return status;
    if (version > SCHEMA_VERSION)
        return vault__fail(VAULT_E_IO, "store: schema version %lld is newer than this "
                           "library (%lld)", (long long)version, (long long)SCHEMA_VERSION);
    if (version == SCHEMA_VERSION)
        return VAULT_OK;
    if (!exists && (status = simple(c, "CREATE TABLE schema_version ("
                                       "  one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                                       "  version bigint NOT NULL)", "migrate")) != VAULT_OK)
        return status;
    for (int64_t v = version; v < SCHEMA_VERSION; v++)
        if ((status = simple(c, migrations[v], "migrate")) != VAULT_OK)
            return status;
    const param ps[] = {P_INT(SCHEMA_VERSION)};
    return run(c, "INSERT INTO schema_version (version) VALUES ($1)"
                  " ON CONFLICT (one) DO UPDATE SET version = excluded.version", ps, NPARAMS(ps),
               "migrate");
}

/* ---- accounts, blobs ------------------------------------------------------------------------- */

static int pg_account_insert(vault_store_tx *tx, const vault_store_account *a, int64_t now_ms)
{
    const param ps[] = {P_ID(a->id), P_HASH(a->email_hash),
                        P_BLOB(a->record, sizeof a->record), P_INT(a->opslimit), P_INT(a->memlimit),
                        P_BLOB(a->protected_key, sizeof a->protected_key), P_INT(now_ms)};
    return run(CONN(tx), "INSERT INTO accounts (id, email_hash, record, opslimit,"
                         " memlimit, protected_key, revision, created_ms)"
                         " VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
               ps, NPARAMS(ps), "create account");
}

#define ACCOUNT_COLUMNS \
    "id, email_hash, record, opslimit, memlimit, protected_key, revision"

static void read_account_row(row *r, void *out)
{
    vault_store_account *a = out;
    col_bytes(r, 0, a->id, sizeof a->id);
    col_bytes(r, 1, a->email_hash, sizeof a->email_hash);
    col_optional(r, 2, a->record, sizeof a->record);
    a->opslimit = col_u64(r, 3);
    a->memlimit = col_u64(r, 4);
    col_bytes(r, 5, a->protected_key, sizeof a->protected_key);
    a->revision = col_u64(r, 6);
}

static int pg_account_get(vault_store_tx *tx, const uint8_t *id, const uint8_t *email_hash,
                          vault_store_account *out)
{
    const param ps[] = {id != NULL ? P_ID(id) : P_HASH(email_hash)};
    return query(CONN(tx), id != NULL
                               ? "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = $1"
                               : "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email_hash = $1",
                 ps, NPARAMS(ps), "read account", read_account_row, out);
}

/* A fresh statement, so (at READ COMMITTED) a fresh snapshot. */
static int pg_account_revision(vault_store_tx *tx, const uint8_t *id, uint64_t *revision)
{
    const param ps[] = {P_ID(id)};
    return query(CONN(tx), "SELECT revision FROM accounts WHERE id = $1", ps, NPARAMS(ps),
                 "read revision", read_u64, revision);
}

static int pg_account_set_credentials(vault_store_tx *tx, const uint8_t *id,
                                      const vault_store_credentials *cred)
{
    const param ps[] = {P_ID(id), P_BLOB(cred->record, sizeof cred->record),
                        P_INT(cred->opslimit), P_INT(cred->memlimit),
                        P_BLOB(cred->protected_key, sizeof cred->protected_key)};
    return one_row(CONN(tx), run(CONN(tx), "UPDATE accounts SET record = $2,"
                                           " opslimit = $3, memlimit = $4, protected_key = $5"
                                           " WHERE id = $1",
                                 ps, NPARAMS(ps), "update credentials"));
}

static int pg_account_set_protected_key(vault_store_tx *tx, const uint8_t *id,
                                        const uint8_t *protected_key)
{
    const param ps[] = {P_ID(id), P_BLOB(protected_key, VAULT_PROTECTED_KEY_BYTES)};
    return run(CONN(tx), "UPDATE accounts SET protected_key = $2 WHERE id = $1", ps, NPARAMS(ps),
               "replace protected key");
}

/* The primitives whose one parameter is a key or a time. */
static int run_key(vault_store_tx *tx, const char *sql, const uint8_t *key, size_t key_len,
                   const char *what)
{
    const param ps[] = {P_BLOB(key, key_len)};
    return run(CONN(tx), sql, ps, NPARAMS(ps), what);
}

static int run_time(vault_store_tx *tx, const char *sql, int64_t ms, const char *what)
{
    const param ps[] = {P_INT(ms)};
    return run(CONN(tx), sql, ps, NPARAMS(ps), what);
}

static int pg_account_delete(vault_store_tx *tx, const uint8_t *id)
{
    return one_row(CONN(tx), run_key(tx, "DELETE FROM accounts WHERE id = $1", id,
                                     VAULT_STORE_ID_BYTES, "delete account"));
}

static int pg_blob_insert(vault_store_tx *tx, const uint8_t *account_id, uint64_t revision,
                          const uint8_t *blob, size_t blob_len, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_INT(revision), P_BLOB(blob, blob_len), P_INT(now_ms)};
    return run(CONN(tx), "INSERT INTO blobs (account_id, revision, data, created_ms)"
                         " VALUES ($1, $2, $3, $4)", ps, NPARAMS(ps), "store blob");
}

typedef struct blob_row {
    uint64_t revision;
    uint8_t *data;
    size_t len;
} blob_row;

static void read_blob_row(row *r, void *out)
{
    blob_row *b = out;
    b->revision = col_u64(r, 0);
    if (r->status == VAULT_OK && col_null(r, 1))
        r->status = vault__fail(VAULT_E_IO, "store: a blob is NULL");
    col_dup(r, 1, &b->data, &b->len);
}

static int pg_blob_current(vault_store_tx *tx, const uint8_t *account_id, uint64_t *revision,
                           uint8_t **blob, size_t *blob_len)
{
    blob_row b = {0, NULL, 0};
    const param ps[] = {P_ID(account_id)};
    int status = query(CONN(tx), "SELECT a.revision, b.data FROM accounts a JOIN blobs b"
                                 " ON b.account_id = a.id AND b.revision = a.revision"
                                 " WHERE a.id = $1",
                       ps, NPARAMS(ps), "read blob", read_blob_row, &b);
    if (status != VAULT_OK)
        return status;
    *revision = b.revision;
    *blob = b.data;
    *blob_len = b.len;
    return VAULT_OK;
}

/* One statement (one round trip): the conditional UPDATE takes the account
 * row's lock and matches only while the revision is still base_revision (a
 * concurrent push waits for the lock, then re-checks against the committed
 * row); the blob is stored, and old ones pruned, only if it matched. */
static int pg_blob_push(vault_store_tx *tx, const uint8_t *account_id, uint64_t base_revision,
                        const uint8_t *blob, size_t blob_len, int64_t now_ms,
                        uint64_t prune_upto)
{
    PGresult *res = NULL;
    const param ps[] = {P_ID(account_id), P_INT(base_revision), P_BLOB(blob, blob_len),
                        P_INT(now_ms), P_INT(prune_upto)};
    int status = fetch(CONN(tx),
                       "WITH bumped AS (UPDATE accounts SET revision = revision + 1"
                       "   WHERE id = $1 AND revision = $2 RETURNING id, revision),"
                       " stored AS (INSERT INTO blobs (account_id, revision, data, created_ms)"
                       "   SELECT id, revision, $3, $4 FROM bumped RETURNING revision),"
                       " pruned AS (DELETE FROM blobs WHERE account_id = $1 AND revision <= $5"
                       "   AND EXISTS (SELECT 1 FROM bumped))"
                       " SELECT revision FROM stored", ps, NPARAMS(ps), &res, "store blob");
    PQclear(res);
    return status == VAULT_E_NOT_FOUND ? VAULT_E_CONFLICT : status;
}

/* ---- devices ------------------------------------------------------------------------------ */

static int pg_device_upsert(vault_store_tx *tx, const uint8_t *account_id,
                            const uint8_t *device_id, const char *name, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id), P_TEXT(name), P_INT(now_ms)};
    return run(CONN(tx), "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms)"
                         " VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, id)"
                         " DO UPDATE SET name = excluded.name,"
                         " last_seen_ms = excluded.last_seen_ms", ps, NPARAMS(ps), "record device");
}

static int pg_device_insert_linked(vault_store_tx *tx, const uint8_t *account_id,
                                   const vault_store_new_device *dev, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(dev->id), P_TEXT(dev->name), P_INT(now_ms),
                        P_HASH(dev->credential_hash)};
    return run(CONN(tx), "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms,"
                         " credential_hash) VALUES ($1, $2, $3, $4, $4, $5)", ps, NPARAMS(ps),
               "record linked device");
}

static void read_device_get_row(row *r, void *out)
{
    vault_store_device_row *d = out;
    memset(d, 0, sizeof *d);
    d->revoked = col_bool(r, 0);
    d->has_credential = !col_null(r, 1);
    d->has_sealed_key = !col_null(r, 2);
    if (d->has_credential)
        col_bytes(r, 1, d->credential_hash, sizeof d->credential_hash);
    if (d->has_sealed_key)
        col_bytes(r, 2, d->sealed_key, sizeof d->sealed_key);
}

static int pg_device_get(vault_store_tx *tx, const uint8_t *account_id, const uint8_t *device_id,
                         vault_store_device_row *out)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id)};
    return query(CONN(tx), "SELECT revoked_ms IS NOT NULL, credential_hash, sealed_key"
                           " FROM devices WHERE account_id = $1 AND id = $2",
                 ps, NPARAMS(ps), "read device", read_device_get_row, out);
}

static void read_device_row(row *r, vault_store_device *d)
{
    memset(d, 0, sizeof *d);
    col_bytes(r, 0, d->id, sizeof d->id);
    if (r->status == VAULT_OK) {
        size_t n = (size_t)PQgetlength(r->res, r->i, 1);
        if (col_null(r, 1) || n > VAULT_STORE_DEVICE_NAME_MAX)
            r->status = vault__fail(VAULT_E_IO, "store: bad device name");
        else
            memcpy(d->name, PQgetvalue(r->res, r->i, 1), n);
    }
    d->added_ms = col_i64(r, 2);
    d->last_seen_ms = col_i64(r, 3);
    d->revoked_ms = col_null(r, 4) ? 0 : col_i64(r, 4);
    d->linked = col_bool(r, 5);
}

static int pg_device_list(vault_store_tx *tx, const uint8_t *account_id,
                          vault_store_device **out, size_t *count)
{
    PGresult *res = NULL;
    const param ps[] = {P_ID(account_id)};
    int status = exec_params(CONN(tx), "SELECT id, name, added_ms, last_seen_ms, revoked_ms,"
                                       " credential_hash IS NOT NULL FROM devices"
                                       " WHERE account_id = $1 ORDER BY added_ms, id",
                             ps, NPARAMS(ps), &res, "list devices");
    if (status != VAULT_OK)
        return status;
    size_t n = (size_t)PQntuples(res);
    vault_store_device *list = NULL;
    row r = {res, 0, VAULT_OK};
    if (n > 0 && (list = vault__calloc(n, sizeof *list)) == NULL)
        r.status = vault__fail(VAULT_E_NOMEM, "out of memory listing devices");
    for (size_t i = 0; i < n && r.status == VAULT_OK; i++) {
        r.i = (int)i;
        read_device_row(&r, &list[i]);
    }
    PQclear(res);
    if (r.status != VAULT_OK) {
        vault__free(list);
        return r.status;
    }
    *out = list;
    *count = n;
    return VAULT_OK;
}

static int pg_device_revoke(vault_store_tx *tx, const uint8_t *account_id,
                            const uint8_t *device_id, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id), P_INT(now_ms)};
    return one_row(CONN(tx), run(CONN(tx), "UPDATE devices SET revoked_ms ="
                                           " coalesce(revoked_ms, $3), credential_hash = NULL,"
                                           " sealed_key = NULL WHERE account_id = $1 AND id = $2",
                                 ps, NPARAMS(ps), "revoke device"));
}

static int pg_device_set_sealed_key(vault_store_tx *tx, const uint8_t *account_id,
                                    const vault_store_sealed_key *key)
{
    const param ps[] = {P_ID(account_id), P_ID(key->device_id),
                        P_BLOB(key->sealed, sizeof key->sealed)};
    return one_row(CONN(tx), run(CONN(tx), "UPDATE devices SET sealed_key = $3 WHERE"
                                           " account_id = $1 AND id = $2 AND revoked_ms IS NULL",
                                 ps, NPARAMS(ps), "store sealed key"));
}

/* ---- sessions, login failures ---------------------------------------------------------------- */

static int pg_session_insert(vault_store_tx *tx, const uint8_t *token_hash,
                             const uint8_t *account_id, const uint8_t *device_id,
                             int64_t now_ms, int64_t expires_ms)
{
    const param ps[] = {P_HASH(token_hash), P_ID(account_id), P_ID(device_id), P_INT(now_ms),
                        P_INT(expires_ms)};
    return run(CONN(tx), "INSERT INTO sessions (token_hash, account_id, device_id, created_ms,"
                         " expires_ms) VALUES ($1, $2, $3, $4, $5)",
               ps, NPARAMS(ps), "create session");
}

typedef struct session_row {
    vault_store_session *out;
    int *revoked;
} session_row;

static void read_session_row(row *r, void *out)
{
    session_row *s = out;
    col_bytes(r, 0, s->out->account_id, sizeof s->out->account_id);
    col_bytes(r, 1, s->out->device_id, sizeof s->out->device_id);
    s->out->expires_ms = col_i64(r, 2);
    *s->revoked = col_bool(r, 3);
}

static int pg_session_get(vault_store_tx *tx, const uint8_t *token_hash,
                          vault_store_session *out, int *revoked)
{
    session_row s = {out, revoked};
    const param ps[] = {P_HASH(token_hash)};
    return query(CONN(tx), "SELECT s.account_id, s.device_id, s.expires_ms,"
                           " d.revoked_ms IS NOT NULL FROM sessions s JOIN devices d"
                           " ON d.account_id = s.account_id AND d.id = s.device_id"
                           " WHERE s.token_hash = $1",
                 ps, NPARAMS(ps), "read session", read_session_row, &s);
}

static int pg_session_delete(vault_store_tx *tx, const uint8_t *token_hash)
{
    return run_key(tx, "DELETE FROM sessions WHERE token_hash = $1", token_hash,
                   VAULT_STORE_HASH_BYTES, "delete session");
}

static int pg_sessions_delete_account(vault_store_tx *tx, const uint8_t *account_id)
{
    return run_key(tx, "DELETE FROM sessions WHERE account_id = $1", account_id,
                   VAULT_STORE_ID_BYTES, "end sessions");
}

static int pg_sessions_prune(vault_store_tx *tx, int64_t now_ms)
{
    return run_time(tx, "DELETE FROM sessions WHERE expires_ms <= $1", now_ms, "prune sessions");
}

typedef struct failure_row {
    uint64_t *failures;
    int64_t *last_ms;
} failure_row;

static void read_failure_row(row *r, void *out)
{
    failure_row *f = out;
    *f->failures = col_u64(r, 0);
    *f->last_ms = col_i64(r, 1);
}

/* The upsert takes the counter's row lock before the count is read, so that
 * parallel guesses at one email queue here and each sees the one before. */
static int pg_failures_get(vault_store_tx *tx, const uint8_t *email_hash, uint64_t *failures,
                           int64_t *last_ms)
{
    failure_row f = {failures, last_ms};
    const param ps[] = {P_HASH(email_hash)};
    int status = query(CONN(tx), "INSERT INTO login_failures (email_hash, failures, last_ms)"
                                 " VALUES ($1, 0, 0) ON CONFLICT (email_hash)"
                                 " DO UPDATE SET failures = login_failures.failures"
                                 " RETURNING failures, last_ms", ps, NPARAMS(ps), "read failures",
                       read_failure_row, &f);
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_IO, "store: read failures: no row");
    return status;
}

static int pg_failures_bump(vault_store_tx *tx, const uint8_t *email_hash, int64_t now_ms)
{
    const param ps[] = {P_HASH(email_hash), P_INT(now_ms)};
    return run(CONN(tx), "INSERT INTO login_failures (email_hash, failures, last_ms)"
                         " VALUES ($1, 1, $2) ON CONFLICT (email_hash) DO UPDATE SET"
                         " failures = login_failures.failures + 1, last_ms = excluded.last_ms",
               ps, NPARAMS(ps), "count attempt");
}

static int pg_failures_clear(vault_store_tx *tx, const uint8_t *email_hash)
{
    return run_key(tx, "DELETE FROM login_failures WHERE email_hash = $1", email_hash,
                   VAULT_STORE_HASH_BYTES, "clear failures");
}

static int pg_failures_prune(vault_store_tx *tx, int64_t before_ms)
{
    return run_time(tx, "DELETE FROM login_failures WHERE last_ms < $1", before_ms,
                    "prune failures");
}

/* ---- device links (docs/devicelink.md) --------------------------------------------------- */

/* An offer locks its account's row, so that the count and the insert do not
 * interleave with another link_create of the same account. The count of
 * links no account owns yet is global: an advisory lock stands for a lock on
 * "all of them". */
static int lock_link_quota(conn *c, uint32_t role, const uint8_t *account_id)
{
    PGresult *res = NULL;
    const param ps[] = {P_ID(account_id)};
    if (role == VAULT_STORE_LINK_REVERSE)
        return simple(c, "SELECT pg_advisory_xact_lock(x'" UNBOUND_LINKS_LOCK "'::bigint)",
                      "lock links");
    int status = fetch(c, "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE", ps,
                       NPARAMS(ps), &res, "lock account");
    PQclear(res);
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
    return status;
}

static int pg_links_count_live(vault_store_tx *tx, uint32_t role, const uint8_t *account_id,
                               int64_t now_ms, int64_t *live)
{
    const param ps[] = {P_ID(account_id), P_INT(now_ms)};
    int status = lock_link_quota(CONN(tx), role, account_id);
    if (status != VAULT_OK)
        return status;
    return query(CONN(tx), role == VAULT_STORE_LINK_REVERSE
                               ? "SELECT count(*) FROM links WHERE account_id IS NULL"
                                 " AND expires_ms > $2 AND state <= 2"
                               : "SELECT count(*) FROM links WHERE account_id = $1"
                                 " AND expires_ms > $2 AND state <= 2",
                 ps, NPARAMS(ps), "count links", read_i64, live);
}

/* Both kinds bind the same parameters; each one's SQL uses those it needs. */
static int pg_link_insert(vault_store_tx *tx, const vault_store_link *link, int64_t now_ms)
{
    int offer = link->role == VAULT_STORE_LINK_OFFER;
    const param ps[] = {P_ID(link->id), P_ID(link->account_id), P_ID(link->device_id),
                        P_INT(VAULT_STORE_LINK_OPEN), P_INT(now_ms), P_INT(link->expires_ms),
                        P_INT(link->role), P_HASH(link->fetch_hash)};
    return run(CONN(tx), offer ? "INSERT INTO links (id, account_id, device_id, state,"
                                 " created_ms, expires_ms, role)"
                                 " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                               : "INSERT INTO links (id, role, state, created_ms, expires_ms,"
                                 " fetch_hash) VALUES ($1, $7, $4, $5, $6, $8)",
               ps, NPARAMS(ps), offer ? "create link" : "request link");
}

#define LINK_COLUMNS                                                                  \
    "id, account_id, device_id, state, expires_ms, extra_posts, peer_pk, post_mac,"  \
    " confirm_tag, fetch_hash, role, envelope"

typedef struct link_row {
    vault_store_link *out;
    uint8_t **envelope; /* NULL: not wanted */
    size_t *envelope_len;
} link_row;

static void read_link_row(row *r, void *out)
{
    const link_row *l = out;
    vault_store_link *link = l->out;
    memset(link, 0, sizeof *link);
    col_bytes(r, 0, link->id, sizeof link->id);
    col_optional(r, 1, link->account_id, sizeof link->account_id);
    col_optional(r, 2, link->device_id, sizeof link->device_id);
    link->state = (uint32_t)col_u64(r, 3);
    link->expires_ms = col_i64(r, 4);
    link->extra_posts = (uint32_t)col_u64(r, 5);
    col_optional(r, 6, link->peer_pk, sizeof link->peer_pk);
    col_optional(r, 7, link->post_mac, sizeof link->post_mac);
    col_optional(r, 8, link->confirm_tag, sizeof link->confirm_tag);
    col_optional(r, 9, link->fetch_hash, sizeof link->fetch_hash);
    link->role = (uint32_t)col_u64(r, 10);
    if (l->envelope != NULL)
        col_dup(r, 11, l->envelope, l->envelope_len);
}

static int pg_link_get(vault_store_tx *tx, const uint8_t *link_id, int for_update,
                       vault_store_link *out, uint8_t **envelope, size_t *envelope_len)
{
    link_row l = {out, envelope, envelope_len};
    const param ps[] = {P_ID(link_id)};
    return query(CONN(tx), for_update
                               ? "SELECT " LINK_COLUMNS " FROM links WHERE id = $1 FOR UPDATE"
                               : "SELECT " LINK_COLUMNS " FROM links WHERE id = $1",
                 ps, NPARAMS(ps), "read link", read_link_row, &l);
}

#define LINK_KEY_SET "UPDATE links SET state = $2, peer_pk = $3, post_mac = $4, confirm_tag = $5,"

static int pg_link_put_key(vault_store_tx *tx, const vault_store_link *posted)
{
    int offer = posted->role == VAULT_STORE_LINK_OFFER;
    const param ps[] = {P_ID(posted->id), P_INT(VAULT_STORE_LINK_POSTED),
                        P_BLOB(posted->peer_pk, sizeof posted->peer_pk),
                        P_BLOB(posted->post_mac, sizeof posted->post_mac),
                        P_BLOB(posted->confirm_tag, sizeof posted->confirm_tag),
                        offer ? P_HASH(posted->fetch_hash) : P_ID(posted->account_id),
                        P_ID(posted->device_id)};
    return run(CONN(tx), offer ? LINK_KEY_SET " fetch_hash = $6 WHERE id = $1"
                               : LINK_KEY_SET " account_id = $6, device_id = $7 WHERE id = $1",
               ps, offer ? 6 : 7, "post link key");
}

static int pg_link_count_extra_post(vault_store_tx *tx, const uint8_t *link_id)
{
    return run_key(tx, "UPDATE links SET extra_posts = extra_posts + 1 WHERE id = $1", link_id,
                   VAULT_STORE_ID_BYTES, "count post");
}

static int pg_link_set_state(vault_store_tx *tx, const uint8_t *link_id, uint32_t state,
                             int envelope_op, const uint8_t *envelope, size_t envelope_len)
{
    static const char *const sql[] = {
        [VAULT_STORE_ENVELOPE_KEEP] = "UPDATE links SET state = $2 WHERE id = $1",
        [VAULT_STORE_ENVELOPE_DROP] = "UPDATE links SET state = $2, envelope = NULL WHERE id = $1",
        [VAULT_STORE_ENVELOPE_SET] = "UPDATE links SET state = $2, envelope = $3 WHERE id = $1",
    };
    const param ps[] = {P_ID(link_id), P_INT(state), P_BLOB(envelope, envelope_len)};
    int set = envelope_op == VAULT_STORE_ENVELOPE_SET;
    return run(CONN(tx), sql[envelope_op], ps, set ? 3 : 2, "update link");
}

static int pg_links_prune(vault_store_tx *tx, int64_t before_ms)
{
    return run_time(tx, "DELETE FROM links WHERE expires_ms < $1", before_ms, "prune links");
}

/* ---- open, close ----------------------------------------------------------------------------- */

static void pg_close(vault_store *base)
{
    pg_store *st = STORE(base);
    if (st == NULL)
        return;
    for (int i = 0; i < POOL_MAX; i++)
        conn_drop(&st->conns[i]);
    pthread_cond_destroy(&st->pool_freed);
    pthread_mutex_destroy(&st->pool_lock);
    if (st->uri != NULL)
        vault__wipe_free(st->uri, strlen(st->uri) + 1);
    vault__free(st);
}

static const vault_store_backend pg_backend = {
    .close = pg_close,
    .transact = pg_transact,
    .account_insert = pg_account_insert,
    .account_get = pg_account_get,
    .account_revision = pg_account_revision,
    .account_set_credentials = pg_account_set_credentials,
    .account_set_protected_key = pg_account_set_protected_key,
    .account_delete = pg_account_delete,
    .blob_insert = pg_blob_insert,
    .blob_current = pg_blob_current,
    .blob_push = pg_blob_push,
    .device_upsert = pg_device_upsert,
    .device_insert_linked = pg_device_insert_linked,
    .device_get = pg_device_get,
    .device_list = pg_device_list,
    .device_revoke = pg_device_revoke,
    .device_set_sealed_key = pg_device_set_sealed_key,
    .session_insert = pg_session_insert,
    .session_get = pg_session_get,
    .session_delete = pg_session_delete,
    .sessions_delete_account = pg_sessions_delete_account,
    .sessions_prune = pg_sessions_prune,
    .failures_get = pg_failures_get,
    .failures_bump = pg_failures_bump,
    .failures_clear = pg_failures_clear,
    .failures_prune = pg_failures_prune,
    .links_count_live = pg_links_count_live,
    .link_insert = pg_link_insert,
    .link_get = pg_link_get,
    .link_put_key = pg_link_put_key,
    .link_count_extra_post = pg_link_count_extra_post,
    .link_set_state = pg_link_set_state,
    .links_prune = pg_links_prune,
};

/* libpq's parse errors may quote parts of the URI, which can hold a
 * password: the message stays generic. */
static int check_uri(const char *uri)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &err);
    if (opts == NULL) {
        PQfreemem(err);
        return vault__fail(VAULT_E_INVALID, "store: malformed PostgreSQL URI (see libpq's "
                           "\"Connection URIs\")");
    }
    PQconninfoFree(opts);
    return VAULT_OK;
}

int vault_server__store_open_pg(vault_store **out, const char *uri)
{
    pg_store *st = NULL;
    *out = NULL;
    if (!PQisthreadsafe())
        return vault__fail(VAULT_E_IO, "store: libpq was built without thread support");
    int status = check_uri(uri);
    if (status != VAULT_OK)
        return status;
    st = vault__calloc(1, sizeof *st);
    if (st == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory opening the store");
    st->base.ops = &vault_server__store_ops;
    st->base.db = &pg_backend;
    for (int i = 0; i < POOL_MAX; i++)
        st->conns[i].tx.db = &pg_backend;
    pthread_mutex_init(&st->pool_lock, NULL);
    pthread_cond_init(&st->pool_freed, NULL);
    if ((st->uri = vault__strdup(uri)) == NULL) {
        status = vault__fail(VAULT_E_NOMEM, "out of memory opening the store");
        goto done;
    }
    status = transact(st, DURABLE, migrate, NULL);
done:
    if (status != VAULT_OK)
        pg_close(&st->base);
    else
        *out = &st->base;
    return status;
}

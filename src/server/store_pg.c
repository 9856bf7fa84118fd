/*
 * The PostgreSQL backend of the server store (store.h), through libpq. The
 * only file of the server that talks to PostgreSQL. Several vaultd processes
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
 * Values: every statement is parameterised (PQexecParams); ids, hashes and
 * blobs travel as binary bytea, integers as text; results come back binary.
 */
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server/store.h"

#define POOL_MAX 8
#define TX_ATTEMPTS 5
#define PARAMS_MAX 8
/* Used unless the URI says otherwise: a request while the database host is
 * unreachable fails after this long instead of hanging a worker. */
#define CONNECT_TIMEOUT_S "5"
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
};
#define SCHEMA_VERSION ((int64_t)(sizeof migrations / sizeof migrations[0]))

typedef struct conn {
    PGconn *pg;
    int busy;
    /* Set by the failure of the current attempt: */
    int broken;      /* the connection is gone */
    int retry;       /* running the operation again is safe and may succeed */
    int commit_sent; /* a lost connection now leaves the outcome unknown */
    int64_t changes; /* rows the last statement touched */
    int then;        /* a status to return after committing anyway */
} conn;

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

/* Runs one parameterised statement; VAULT_OK with *out (the caller clears it)
 * when it succeeded. c->changes gets the number of rows it touched. */
static int exec_params(conn *c, const char *sql, const params *p, PGresult **out,
                       const char *what)
{
    if (p != NULL && p->too_long)
        return vault__fail(VAULT_E_LIMIT, "store: %s: value too large", what);
    PGresult *r = PQexecParams(c->pg, sql, p != NULL ? p->n : 0, p != NULL ? p->types : NULL,
                               p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
                               p != NULL ? p->formats : NULL, 1);
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        int status = fail_result(c, r, what);
        PQclear(r);
        return status;
    }
    const char *tuples = PQcmdTuples(r);
    c->changes = tuples[0] != '\0' ? strtoll(tuples, NULL, 10) : 0;
    *out = r;
    return VAULT_OK;
}

/* A statement whose rows (if any) are not needed. */
static int run(conn *c, const char *sql, const params *p, const char *what)
{
    PGresult *r = NULL;
    int status = exec_params(c, sql, p, &r, what);
    PQclear(r);
    return status;
}

/* A query: VAULT_OK with at least one row in *out (the caller clears it), or
 * VAULT_E_NOT_FOUND (no message) without one. */
static int fetch(conn *c, const char *sql, const params *p, PGresult **out, const char *what)
{
    PGresult *r = NULL;
    int status = exec_params(c, sql, p, &r, what);
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
    PGresult *r = PQexec(c->pg, sql);
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

/* ---- connections ----------------------------------------------------------------------- */

static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

static void conn_drop(conn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
}

/* Opens c's connection. Defaults first, so that the URI's own settings
 * override them. */
static int conn_connect(pg_store *st, conn *c)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name",
                                       "client_encoding", "dbname", NULL};
    const char *values[] = {CONNECT_TIMEOUT_S, "vaultd", "UTF8", st->uri, NULL};
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

typedef int (*tx_body)(conn *c, void *arg);

enum {
    READ,    /* no transaction: the body runs single, self-contained statements */
    DURABLE, /* one transaction; COMMIT returns once the WAL is flushed */
    RELAXED, /* one transaction, synchronous_commit off (see login_attempt_begin) */
};

/* Quietly: the failure being reported is the one before. */
static void rollback(conn *c)
{
    if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

static int commit(conn *c)
{
    c->commit_sent = 1;
    PGresult *r = PQexec(c->pg, "COMMIT");
    int status = VAULT_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        status = fail_result(c, r, "commit");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) /* the transaction had failed */
        status = vault__fail(VAULT_E_IO, "store: commit: the transaction was rolled back");
    PQclear(r);
    return status;
}

static int in_transaction(conn *c, int mode, tx_body body, void *arg)
{
    int status = simple(c, mode == RELAXED ? "BEGIN; SET LOCAL synchronous_commit = off"
                                           : "BEGIN", "begin");
    if (status == VAULT_OK)
        status = body(c, arg);
    if (status == VAULT_OK)
        status = commit(c);
    else
        rollback(c);
    return status;
}

/* Runs body on a pooled connection, again (up to TX_ATTEMPTS) while its
 * failure says that doing so is safe and may succeed: a deadlock, or a
 * connection lost before COMMIT (then on a fresh connection). */
static int transact(pg_store *st, int mode, tx_body body, void *arg)
{
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    for (int attempt = 1;; attempt++) {
        c->broken = c->retry = c->commit_sent = 0;
        c->then = VAULT_OK;
        status = mode == READ ? body(c, arg) : in_transaction(c, mode, body, arg);
        if (status == VAULT_OK || !c->retry || attempt == TX_ATTEMPTS)
            break;
        if (c->broken && (status = conn_connect(st, c)) != VAULT_OK)
            break;
    }
    int then = c->then;
    release(st, c);
    /* A body that fails but must keep its writes commits and leaves its
     * status (and message) here. */
    return status == VAULT_OK ? then : status;
}

/* ---- schema ---------------------------------------------------------------------------------- */

static int read_version(conn *c, int64_t *version)
{
    PGresult *res = NULL;
    int status = fetch(c, "SELECT version FROM schema_version", NULL, &res, "schema version");
    *version = 0;
    if (status == VAULT_E_NOT_FOUND)
        return VAULT_OK;
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    *version = col_i64(&r, 0);
    PQclear(res);
    return r.status;
}

/* Brings the schema to SCHEMA_VERSION in one transaction; processes opening
 * a new database at once queue on the advisory lock. A schema already at the
 * version sees no DDL at all, so that a role without CREATE rights can serve
 * a database its administrator set up. */
static int migrate(conn *c, void *arg)
{
    PGresult *res = NULL;
    int64_t version = 0;
    (void)arg;
    int status = simple(c, "SELECT pg_advisory_xact_lock(x'" MIGRATION_LOCK "'::bigint)",
                        "migrate");
    if (status != VAULT_OK ||
        (status = fetch(c, "SELECT to_regclass('schema_version') IS NOT NULL", NULL, &res,
                        "migrate")) != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    int exists = col_bool(&r, 0);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    if (exists && (status = read_version(c, &version)) != VAULT_OK)
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
    params p = {.n = 0};
    p_i64(&p, SCHEMA_VERSION);
    return run(c, "INSERT INTO schema_version (version) VALUES ($1)"
                  " ON CONFLICT (one) DO UPDATE SET version = excluded.version", &p,
               "migrate");
}

/* ---- statements shared by several operations -------------------------------------------- */

static int insert_blob(conn *c, const uint8_t *account_id, uint64_t revision,
                       const uint8_t *blob, size_t blob_len, int64_t now_ms)
{
    params p = {.n = 0};
    p_bytes(&p, account_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, (int64_t)revision);
    p_bytes(&p, blob, blob_len);
    p_i64(&p, now_ms);
    return run(c, "INSERT INTO blobs (account_id, revision, data, created_ms)"
                  " VALUES ($1, $2, $3, $4)", &p, "store blob");
}

static int insert_session(conn *c, const uint8_t *account_id,
                          const vault_store_new_session *sess, int64_t now_ms)
{
    params p = {.n = 0};
    p_i64(&p, now_ms);
    int status = run(c, "DELETE FROM sessions WHERE expires_ms <= $1", &p, "prune sessions");
    if (status != VAULT_OK)
        return status;
    if (sess->device_name != NULL) {
        p.n = 0;
        p_bytes(&p, account_id, VAULT_STORE_ID_BYTES);
        p_bytes(&p, sess->device_id, VAULT_STORE_ID_BYTES);
        p_text(&p, sess->device_name);
        p_i64(&p, now_ms);
        if ((status = run(c, "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms)"
                             " VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, id)"
                             " DO UPDATE SET name = excluded.name,"
                             " last_seen_ms = excluded.last_seen_ms",
                          &p, "record device")) != VAULT_OK)
            return status;
    }
    p.n = 0;
    p_bytes(&p, sess->token_hash, VAULT_STORE_HASH_BYTES);
    p_bytes(&p, account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, sess->device_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, now_ms);
    p_i64(&p, sess->expires_ms);
    return run(c, "INSERT INTO sessions (token_hash, account_id, device_id, created_ms,"
                  " expires_ms) VALUES ($1, $2, $3, $4, $5)", &p, "create session");
}

/* Runs a statement whose only parameter is key. */
static int run_with_key(conn *c, const char *sql, const uint8_t *key, size_t key_len,
                        const char *what)
{
    params p = {.n = 0};
    p_bytes(&p, key, key_len);
    return run(c, sql, &p, what);
}

static int clear_failures(conn *c, const uint8_t *email_hash)
{
    return run_with_key(c, "DELETE FROM login_failures WHERE email_hash = $1", email_hash,
                        VAULT_STORE_HASH_BYTES, "clear failures");
}

/* The compare-and-swap part of a push, inside the caller's transaction, as
 * one statement (one round trip): the conditional UPDATE takes the account
 * row's lock and matches only while the revision is still base_revision
 * (a concurrent push waits for the lock, then re-checks against the
 * committed row); the blob is stored, and old ones pruned, only if it
 * matched. */
static int cas_blob(conn *c, const uint8_t *account_id, uint64_t base_revision,
                    const uint8_t *blob, size_t blob_len, int64_t now_ms, uint64_t *current)
{
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, account_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, (int64_t)base_revision);
    p_bytes(&p, blob, blob_len);
    p_i64(&p, now_ms);
    p_i64(&p, (int64_t)base_revision + 1 - (int64_t)VAULT_STORE_KEEP_REVISIONS);
    int status = fetch(c, "WITH bumped AS (UPDATE accounts SET revision = revision + 1"
                          "   WHERE id = $1 AND revision = $2 RETURNING id, revision),"
                          " stored AS (INSERT INTO blobs (account_id, revision, data, created_ms)"
                          "   SELECT id, revision, $3, $4 FROM bumped RETURNING revision),"
                          " pruned AS (DELETE FROM blobs WHERE account_id = $1 AND revision <= $5"
                          "   AND EXISTS (SELECT 1 FROM bumped))"
                          " SELECT revision FROM stored", &p, &res, "store blob");
    if (status == VAULT_OK)
        PQclear(res);
    if (status != VAULT_E_NOT_FOUND)
        return status;
    /* A fresh statement, so a fresh snapshot: the revision that won. */
    p.n = 1;
    status = fetch(c, "SELECT revision FROM accounts WHERE id = $1", &p, &res, "read revision");
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    *current = col_u64(&r, 0);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    return vault__fail(VAULT_E_CONFLICT, "the server holds revision %llu",
                       (unsigned long long)*current);
}

#define ACCOUNT_COLUMNS \
    "id, email_hash, verifier, salt, opslimit, memlimit, protected_key, revision"

/* sql selects ACCOUNT_COLUMNS of the account whose key is $1. */
static int read_account(conn *c, const char *sql, const uint8_t *key, size_t key_len,
                        vault_store_account *out)
{
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, key, key_len);
    int status = fetch(c, sql, &p, &res, "read account");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    col_bytes(&r, 0, out->id, sizeof out->id);
    col_bytes(&r, 1, out->email_hash, sizeof out->email_hash);
    col_bytes(&r, 2, out->verifier, sizeof out->verifier);
    col_bytes(&r, 3, out->salt, sizeof out->salt);
    out->opslimit = col_u64(&r, 4);
    out->memlimit = col_u64(&r, 5);
    col_bytes(&r, 6, out->protected_key, sizeof out->protected_key);
    out->revision = col_u64(&r, 7);
    PQclear(res);
    return r.status;
}

/* ---- accounts, blobs, sessions --------------------------------------------------------------- */

typedef struct create_args {
    const vault_store_account *a;
    const uint8_t *blob;
    size_t blob_len;
    const vault_store_new_session *sess;
    int64_t now_ms;
} create_args;

static int create_account_tx(conn *c, void *arg)
{
    const create_args *x = arg;
    const vault_store_account *a = x->a;
    params p = {.n = 0};
    p_bytes(&p, a->id, sizeof a->id);
    p_bytes(&p, a->email_hash, sizeof a->email_hash);
    p_bytes(&p, a->verifier, sizeof a->verifier);
    p_bytes(&p, a->salt, sizeof a->salt);
    p_i64(&p, (int64_t)a->opslimit);
    p_i64(&p, (int64_t)a->memlimit);
    p_bytes(&p, a->protected_key, sizeof a->protected_key);
    p_i64(&p, x->now_ms);
    int status = run(c, "INSERT INTO accounts (id, email_hash, verifier, salt, opslimit,"
                        " memlimit, protected_key, revision, created_ms)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)", &p, "create account");
    if (status != VAULT_OK ||
        (status = insert_blob(c, a->id, 1, x->blob, x->blob_len, x->now_ms)) != VAULT_OK)
        return status;
    return insert_session(c, a->id, x->sess, x->now_ms);
}

static int pg_create_account(vault_store *base, const vault_store_account *acct,
                             const uint8_t *blob, size_t blob_len,
                             const vault_store_new_session *sess, int64_t now_ms)
{
    create_args x = {acct, blob, blob_len, sess, now_ms};
    return transact(STORE(base), DURABLE, create_account_tx, &x);
}

typedef struct account_args {
    const char *sql;
    const uint8_t *key;
    size_t key_len;
    vault_store_account *out;
} account_args;

static int get_account_tx(conn *c, void *arg)
{
    const account_args *x = arg;
    return read_account(c, x->sql, x->key, x->key_len, x->out);
}

static int pg_get_account(vault_store *base, const uint8_t *account_id,
                          vault_store_account *out)
{
    account_args x = {"SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = $1", account_id,
                      VAULT_STORE_ID_BYTES, out};
    return transact(STORE(base), READ, get_account_tx, &x);
}

static int pg_get_account_by_email_hash(vault_store *base, const uint8_t *email_hash,
                                        vault_store_account *out)
{
    account_args x = {"SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email_hash = $1",
                      email_hash, VAULT_STORE_HASH_BYTES, out};
    return transact(STORE(base), READ, get_account_tx, &x);
}

typedef struct blob_args {
    const uint8_t *account_id;
    uint64_t *revision;
    uint8_t **blob;
    size_t *blob_len;
} blob_args;

static int get_blob_tx(conn *c, void *arg)
{
    const blob_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, "SELECT a.revision, b.data FROM accounts a JOIN blobs b"
                          " ON b.account_id = a.id AND b.revision = a.revision WHERE a.id = $1",
                       &p, &res, "read blob");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    uint64_t revision = col_u64(&r, 0);
    uint8_t *copy = NULL;
    size_t len = 0;
    if (r.status == VAULT_OK && col_null(&r, 1))
        r.status = vault__fail(VAULT_E_IO, "store: a blob is NULL");
    col_dup(&r, 1, &copy, &len);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    *x->revision = revision;
    *x->blob = copy;
    *x->blob_len = len;
    return VAULT_OK;
}

static int pg_get_blob(vault_store *base, const uint8_t *account_id, uint64_t *revision,
                       uint8_t **blob, size_t *blob_len)
{
    blob_args x = {account_id, revision, blob, blob_len};
    return transact(STORE(base), READ, get_blob_tx, &x);
}

typedef struct cas_args {
    const uint8_t *account_id;
    uint64_t base_revision;
    const uint8_t *blob;
    size_t blob_len;
    int64_t now_ms;
    uint64_t *current;
} cas_args;

static int put_blob_cas_tx(conn *c, void *arg)
{
    const cas_args *x = arg;
    return cas_blob(c, x->account_id, x->base_revision, x->blob, x->blob_len, x->now_ms,
                    x->current);
}

static int pg_put_blob_cas(vault_store *base, const uint8_t *account_id,
                           uint64_t base_revision, const uint8_t *blob, size_t blob_len,
                           int64_t now_ms, uint64_t *current)
{
    cas_args x = {account_id, base_revision, blob, blob_len, now_ms, current};
    return transact(STORE(base), DURABLE, put_blob_cas_tx, &x);
}

typedef struct attempt_args {
    const uint8_t *email_hash;
    int64_t now_ms;
    uint32_t free_failures;
    int64_t *retry_after_ms;
} attempt_args;

/* The upsert takes the counter's row lock before the count is read, so that
 * parallel guesses at one email queue here and each sees the one before. */
static int login_attempt_tx(conn *c, void *arg)
{
    const attempt_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_i64(&p, x->now_ms - VAULT_STORE_FAILURE_MEMORY_MS);
    int status = run(c, "DELETE FROM login_failures WHERE last_ms < $1", &p, "prune failures");
    if (status != VAULT_OK)
        return status;
    p.n = 0;
    p_bytes(&p, x->email_hash, VAULT_STORE_HASH_BYTES);
    status = fetch(c, "INSERT INTO login_failures (email_hash, failures, last_ms)"
                      " VALUES ($1, 0, 0) ON CONFLICT (email_hash)"
                      " DO UPDATE SET failures = login_failures.failures"
                      " RETURNING failures, last_ms", &p, &res, "read failures");
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_IO, "store: read failures: no row");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    uint64_t failures = col_u64(&r, 0);
    int64_t last_ms = col_i64(&r, 1);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    int64_t allowed_at = last_ms + vault_server__login_wait_ms(failures, x->free_failures);
    if (failures > 0 && x->now_ms < allowed_at) {
        *x->retry_after_ms = allowed_at - x->now_ms;
        return vault__fail(VAULT_E_RATE_LIMITED, "too many failed attempts");
    }
    p_i64(&p, x->now_ms);
    return run(c, "UPDATE login_failures SET failures = failures + 1, last_ms = $2"
                  " WHERE email_hash = $1", &p, "count attempt");
}

/* RELAXED: the counter a login bumps before checking its key need not wait
 * for the WAL flush; the login's next (durable) commit flushes it, as with
 * the SQLite backend. */
static int pg_login_attempt_begin(vault_store *base, const uint8_t *email_hash,
                                  int64_t now_ms, uint32_t free_failures,
                                  int64_t *retry_after_ms)
{
    attempt_args x = {email_hash, now_ms, free_failures, retry_after_ms};
    return transact(STORE(base), RELAXED, login_attempt_tx, &x);
}

typedef struct login_args {
    const uint8_t *account_id;
    const uint8_t *email_hash;
    const vault_store_credentials *cred;
    const vault_store_new_session *sess;
    int64_t now_ms;
} login_args;

static int device_revoked(conn *c, const uint8_t *account_id, const uint8_t *device_id)
{
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, device_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, "SELECT revoked_ms IS NOT NULL FROM devices"
                          " WHERE account_id = $1 AND id = $2", &p, &res, "read device");
    if (status == VAULT_E_NOT_FOUND)
        return VAULT_OK;
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    int revoked = col_bool(&r, 0);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    return revoked ? vault__fail(VAULT_E_REVOKED, "this device was revoked") : VAULT_OK;
}

static int login_succeeded_tx(conn *c, void *arg)
{
    const login_args *x = arg;
    int status = device_revoked(c, x->account_id, x->sess->device_id);
    if (status != VAULT_OK || (status = clear_failures(c, x->email_hash)) != VAULT_OK)
        return status;
    return insert_session(c, x->account_id, x->sess, x->now_ms);
}

static int pg_login_succeeded(vault_store *base, const uint8_t *account_id,
                              const uint8_t *email_hash,
                              const vault_store_new_session *sess, int64_t now_ms)
{
    login_args x = {account_id, email_hash, NULL, sess, now_ms};
    return transact(STORE(base), DURABLE, login_succeeded_tx, &x);
}

static int update_credentials_tx(conn *c, void *arg)
{
    const login_args *x = arg;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->cred->verifier, sizeof x->cred->verifier);
    p_bytes(&p, x->cred->salt, sizeof x->cred->salt);
    p_i64(&p, (int64_t)x->cred->opslimit);
    p_i64(&p, (int64_t)x->cred->memlimit);
    p_bytes(&p, x->cred->protected_key, sizeof x->cred->protected_key);
    int status = run(c, "UPDATE accounts SET verifier = $2, salt = $3, opslimit = $4,"
                        " memlimit = $5, protected_key = $6 WHERE id = $1", &p,
                     "update credentials");
    if (status != VAULT_OK)
        return status;
    if (c->changes != 1)
        return vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
    if ((status = clear_failures(c, x->email_hash)) != VAULT_OK ||
        (status = run_with_key(c, "DELETE FROM sessions WHERE account_id = $1", x->account_id,
                               VAULT_STORE_ID_BYTES, "end sessions")) != VAULT_OK)
        return status;
    return insert_session(c, x->account_id, x->sess, x->now_ms);
}

static int pg_update_credentials(vault_store *base, const uint8_t *account_id,
                                 const uint8_t *email_hash,
                                 const vault_store_credentials *cred,
                                 const vault_store_new_session *sess, int64_t now_ms)
{
    login_args x = {account_id, email_hash, cred, sess, now_ms};
    return transact(STORE(base), DURABLE, update_credentials_tx, &x);
}

static int delete_account_tx(conn *c, void *arg)
{
    const login_args *x = arg;
    int status = run_with_key(c, "DELETE FROM accounts WHERE id = $1", x->account_id,
                              VAULT_STORE_ID_BYTES, "delete account");
    if (status != VAULT_OK)
        return status;
    if (c->changes != 1)
        return vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
    return clear_failures(c, x->email_hash);
}

static int pg_delete_account(vault_store *base, const uint8_t *account_id,
                             const uint8_t *email_hash)
{
    login_args x = {account_id, email_hash, NULL, NULL, 0};
    return transact(STORE(base), DURABLE, delete_account_tx, &x);
}

typedef struct session_args {
    const uint8_t *token_hash;
    int64_t now_ms;
    vault_store_session *out;
} session_args;

static int delete_session(conn *c, const uint8_t *token_hash)
{
    return run_with_key(c, "DELETE FROM sessions WHERE token_hash = $1", token_hash,
                        VAULT_STORE_HASH_BYTES, "delete session");
}

static int session_lookup_tx(conn *c, void *arg)
{
    const session_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, x->token_hash, VAULT_STORE_HASH_BYTES);
    int status = fetch(c, "SELECT s.account_id, s.device_id, s.expires_ms,"
                          " d.revoked_ms IS NOT NULL FROM sessions s JOIN devices d"
                          " ON d.account_id = s.account_id AND d.id = s.device_id"
                          " WHERE s.token_hash = $1", &p, &res, "read session");
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_AUTH, "unknown session");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    col_bytes(&r, 0, x->out->account_id, sizeof x->out->account_id);
    col_bytes(&r, 1, x->out->device_id, sizeof x->out->device_id);
    x->out->expires_ms = col_i64(&r, 2);
    int revoked = col_bool(&r, 3);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    if (revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (x->out->expires_ms <= x->now_ms) {
        if ((status = delete_session(c, x->token_hash)) != VAULT_OK)
            return status;
        return vault__fail(VAULT_E_EXPIRED, "session expired");
    }
    return VAULT_OK;
}

static int pg_session_lookup(vault_store *base, const uint8_t *token_hash, int64_t now_ms,
                             vault_store_session *out)
{
    session_args x = {token_hash, now_ms, out};
    return transact(STORE(base), READ, session_lookup_tx, &x);
}

static int session_delete_tx(conn *c, void *arg)
{
    const session_args *x = arg;
    return delete_session(c, x->token_hash);
}

static int pg_session_delete(vault_store *base, const uint8_t *token_hash)
{
    session_args x = {token_hash, 0, NULL};
    return transact(STORE(base), READ, session_delete_tx, &x);
}

/* ---- device links (docs/devicelink.md) --------------------------------------------------- */

#define LINK_COLUMNS                                                                  \
    "id, account_id, device_id, state, expires_ms, extra_posts, peer_pk, post_mac,"  \
    " confirm_tag, fetch_hash, role, envelope"

/* Reads a link; with lock, also takes its row lock for the caller's
 * transaction. envelope may be NULL. */
static int load_link(conn *c, const uint8_t *link_id, int lock, vault_store_link *out,
                     uint8_t **envelope, size_t *envelope_len)
{
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, link_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, lock ? "SELECT " LINK_COLUMNS " FROM links WHERE id = $1 FOR UPDATE"
                               : "SELECT " LINK_COLUMNS " FROM links WHERE id = $1",
                       &p, &res, "read link");
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    memset(out, 0, sizeof *out);
    col_bytes(&r, 0, out->id, sizeof out->id);
    col_optional(&r, 1, out->account_id, sizeof out->account_id);
    col_optional(&r, 2, out->device_id, sizeof out->device_id);
    out->state = (uint32_t)col_u64(&r, 3);
    out->expires_ms = col_i64(&r, 4);
    out->extra_posts = (uint32_t)col_u64(&r, 5);
    col_optional(&r, 6, out->peer_pk, sizeof out->peer_pk);
    col_optional(&r, 7, out->post_mac, sizeof out->post_mac);
    col_optional(&r, 8, out->confirm_tag, sizeof out->confirm_tag);
    col_optional(&r, 9, out->fetch_hash, sizeof out->fetch_hash);
    out->role = (uint32_t)col_u64(&r, 10);
    if (envelope != NULL)
        col_dup(&r, 11, envelope, envelope_len);
    PQclear(res);
    return r.status;
}

typedef struct link_args {
    const vault_store_link *link;
    const uint8_t *link_id;
    const uint8_t *account_id;
    const uint8_t *envelope;
    size_t envelope_len;
    const vault_store_new_device *dev;
    uint32_t expect, state;
    int64_t now_ms;
    vault_store_link *out;
    uint8_t **envelope_out;
    size_t *envelope_out_len;
} link_args;

/* Locks the account row first: the quota count and the insert must not
 * interleave with another link_create of the same account. */
static int link_create_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    const vault_store_link *link = x->link;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, link->account_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE", &p, &res,
                       "lock account");
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
    if (status != VAULT_OK)
        return status;
    PQclear(res);
    p_i64(&p, x->now_ms);
    if ((status = fetch(c, "SELECT count(*) FROM links WHERE account_id = $1"
                           " AND expires_ms > $2 AND state <= 2", &p, &res, "count links")) !=
        VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    int64_t live = col_i64(&r, 0);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    if (live >= VAULT_STORE_LINKS_MAX)
        return vault__fail(VAULT_E_LIMIT, "too many open device links; wait for them to expire");
    p.n = 0;
    p_i64(&p, x->now_ms - VAULT_STORE_LINK_MEMORY_MS);
    if ((status = run(c, "DELETE FROM links WHERE expires_ms < $1", &p, "prune links")) !=
        VAULT_OK)
        return status;
    p.n = 0;
    p_bytes(&p, link->id, sizeof link->id);
    p_bytes(&p, link->account_id, sizeof link->account_id);
    p_bytes(&p, link->device_id, sizeof link->device_id);
    p_i64(&p, VAULT_STORE_LINK_OPEN);
    p_i64(&p, x->now_ms);
    p_i64(&p, link->expires_ms);
    p_i64(&p, VAULT_STORE_LINK_OFFER);
    return run(c, "INSERT INTO links (id, account_id, device_id, state, created_ms, expires_ms,"
                  " role) VALUES ($1, $2, $3, $4, $5, $6, $7)", &p, "create link");
}

static int pg_link_create(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    link_args x = {.link = link, .now_ms = now_ms};
    return transact(STORE(base), DURABLE, link_create_tx, &x);
}

/* The count of links no account owns yet is global: the advisory lock
 * stands for a lock on "all of them". */
static int link_request_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    const vault_store_link *link = x->link;
    PGresult *res = NULL;
    params p = {.n = 0};
    int status = simple(c, "SELECT pg_advisory_xact_lock(x'" UNBOUND_LINKS_LOCK "'::bigint)",
                        "lock links");
    if (status != VAULT_OK)
        return status;
    p_i64(&p, x->now_ms - VAULT_STORE_LINK_MEMORY_MS);
    if ((status = run(c, "DELETE FROM links WHERE expires_ms < $1", &p, "prune links")) !=
        VAULT_OK)
        return status;
    p.n = 0;
    p_i64(&p, x->now_ms);
    if ((status = fetch(c, "SELECT count(*) FROM links WHERE account_id IS NULL"
                           " AND expires_ms > $1 AND state <= 2", &p, &res, "count links")) !=
        VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    int64_t live = col_i64(&r, 0);
    PQclear(res);
    if (r.status != VAULT_OK)
        return r.status;
    if (live >= VAULT_STORE_LINKS_UNBOUND_MAX)
        return vault__fail(VAULT_E_LIMIT, "too many pending device links; retry later");
    p.n = 0;
    p_bytes(&p, link->id, sizeof link->id);
    p_i64(&p, VAULT_STORE_LINK_REVERSE);
    p_i64(&p, VAULT_STORE_LINK_OPEN);
    p_i64(&p, x->now_ms);
    p_i64(&p, link->expires_ms);
    p_bytes(&p, link->fetch_hash, sizeof link->fetch_hash);
    return run(c, "INSERT INTO links (id, role, state, created_ms, expires_ms, fetch_hash)"
                  " VALUES ($1, $2, $3, $4, $5, $6)", &p, "request link");
}

static int pg_link_request(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    link_args x = {.link = link, .now_ms = now_ms};
    return transact(STORE(base), DURABLE, link_request_tx, &x);
}

static int link_get_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    return load_link(c, x->link_id, 0, x->out, x->envelope_out, x->envelope_out_len);
}

static int pg_link_get(vault_store *base, const uint8_t *link_id, vault_store_link *out,
                       uint8_t **envelope, size_t *envelope_len)
{
    link_args x = {.link_id = link_id, .out = out, .envelope_out = envelope,
                   .envelope_out_len = envelope_len};
    return transact(STORE(base), READ, link_get_tx, &x);
}

static int link_post_key_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    const vault_store_link *posted = x->link;
    vault_store_link link;
    int status = load_link(c, posted->id, 1, &link, NULL, NULL);
    if (status != VAULT_OK)
        return status;
    if (link.role != posted->role)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (x->now_ms >= link.expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    params p = {.n = 0};
    p_bytes(&p, posted->id, sizeof posted->id);
    if (link.state != VAULT_STORE_LINK_OPEN) {
        /* Committed on purpose: the link's owner must see that a second
         * device tried this code (a copied QR code). */
        if ((status = run(c, "UPDATE links SET extra_posts = extra_posts + 1 WHERE id = $1",
                          &p, "count post")) != VAULT_OK)
            return status;
        c->then = vault__fail(VAULT_E_STATE, "this link code was already used by another "
                              "device");
        return VAULT_OK;
    }
    p_i64(&p, VAULT_STORE_LINK_POSTED);
    p_bytes(&p, posted->peer_pk, sizeof posted->peer_pk);
    p_bytes(&p, posted->post_mac, sizeof posted->post_mac);
    p_bytes(&p, posted->confirm_tag, sizeof posted->confirm_tag);
    if (posted->role == VAULT_STORE_LINK_OFFER) {
        p_bytes(&p, posted->fetch_hash, sizeof posted->fetch_hash);
        return run(c, "UPDATE links SET state = $2, peer_pk = $3, post_mac = $4,"
                      " confirm_tag = $5, fetch_hash = $6 WHERE id = $1", &p, "post link key");
    }
    p_bytes(&p, posted->account_id, sizeof posted->account_id);
    p_bytes(&p, posted->device_id, sizeof posted->device_id);
    return run(c, "UPDATE links SET state = $2, peer_pk = $3, post_mac = $4, confirm_tag = $5,"
                  " account_id = $6, device_id = $7 WHERE id = $1", &p, "post link key");
}

static int pg_link_post_key(vault_store *base, const vault_store_link *posted, int64_t now_ms)
{
    link_args x = {.link = posted, .now_ms = now_ms};
    return transact(STORE(base), DURABLE, link_post_key_tx, &x);
}

static int check_deliverable(const vault_store_link *link, const uint8_t *account_id,
                             int64_t now_ms)
{
    if (sodium_memcmp(link->account_id, account_id, VAULT_STORE_ID_BYTES) != 0)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (now_ms >= link->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    if (link->extra_posts > 0)
        return vault__fail(VAULT_E_STATE, "another device also tried this link code");
    if (link->state != VAULT_STORE_LINK_POSTED)
        return vault__fail(VAULT_E_STATE, "this device link is not waiting for an envelope");
    return VAULT_OK;
}

static int link_deliver_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    vault_store_link link;
    int status = load_link(c, x->link_id, 1, &link, NULL, NULL);
    if (status != VAULT_OK || (status = check_deliverable(&link, x->account_id, x->now_ms)) !=
                                  VAULT_OK)
        return status;
    params p = {.n = 0};
    p_bytes(&p, x->link_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, VAULT_STORE_LINK_DELIVERED);
    p_bytes(&p, x->envelope, x->envelope_len);
    if ((status = run(c, "UPDATE links SET state = $2, envelope = $3 WHERE id = $1", &p,
                      "deliver envelope")) != VAULT_OK)
        return status;
    p.n = 0;
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->dev->id, sizeof x->dev->id);
    p_text(&p, x->dev->name);
    p_i64(&p, x->now_ms);
    p_bytes(&p, x->dev->credential_hash, sizeof x->dev->credential_hash);
    return run(c, "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms,"
                  " credential_hash) VALUES ($1, $2, $3, $4, $4, $5)", &p,
               "record linked device");
}

static int pg_link_deliver(vault_store *base, const uint8_t *link_id, const uint8_t *account_id,
                           const uint8_t *envelope, size_t envelope_len,
                           const vault_store_new_device *dev, int64_t now_ms)
{
    link_args x = {.link_id = link_id, .account_id = account_id, .envelope = envelope,
                   .envelope_len = envelope_len, .dev = dev, .now_ms = now_ms};
    return transact(STORE(base), DURABLE, link_deliver_tx, &x);
}

static int link_set_state_tx(conn *c, void *arg)
{
    const link_args *x = arg;
    vault_store_link link;
    int status = load_link(c, x->link_id, 1, &link, NULL, NULL);
    if (status != VAULT_OK)
        return status;
    int live = link.state == VAULT_STORE_LINK_OPEN || link.state == VAULT_STORE_LINK_POSTED ||
               link.state == VAULT_STORE_LINK_DELIVERED;
    if (x->expect == VAULT_STORE_LINK_ANY_LIVE ? !live : link.state != x->expect)
        return vault__fail(VAULT_E_STATE, link.state == VAULT_STORE_LINK_DONE
                                              ? "this device link was already used"
                                              : "this device link is not in that step");
    int final = x->state == VAULT_STORE_LINK_DONE || x->state == VAULT_STORE_LINK_ABORTED;
    params p = {.n = 0};
    p_bytes(&p, x->link_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, x->state);
    return run(c, final ? "UPDATE links SET state = $2, envelope = NULL WHERE id = $1"
                        : "UPDATE links SET state = $2 WHERE id = $1",
               &p, "update link");
}

static int pg_link_set_state(vault_store *base, const uint8_t *link_id, uint32_t expect,
                             uint32_t state)
{
    link_args x = {.link_id = link_id, .expect = expect, .state = state};
    return transact(STORE(base), DURABLE, link_set_state_tx, &x);
}

/* ---- devices ------------------------------------------------------------------------------ */

typedef struct device_args {
    const uint8_t *account_id;
    const uint8_t *device_id;
    uint8_t *bytes; /* credential hash or sealed key out */
    vault_store_device **list;
    size_t *count;
} device_args;

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

static int device_list_tx(conn *c, void *arg)
{
    const device_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    int status = exec_params(c, "SELECT id, name, added_ms, last_seen_ms, revoked_ms,"
                                " credential_hash IS NOT NULL FROM devices WHERE account_id = $1"
                                " ORDER BY added_ms, id", &p, &res, "list devices");
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
    *x->list = list;
    *x->count = n;
    return VAULT_OK;
}

static int pg_device_list(vault_store *base, const uint8_t *account_id,
                          vault_store_device **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    device_args x = {.account_id = account_id, .list = out, .count = count};
    return transact(STORE(base), READ, device_list_tx, &x);
}

static int device_credential_tx(conn *c, void *arg)
{
    const device_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->device_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, "SELECT revoked_ms IS NOT NULL, credential_hash FROM devices"
                          " WHERE account_id = $1 AND id = $2", &p, &res, "read device");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    if (col_bool(&r, 0))
        status = vault__fail(VAULT_E_REVOKED, "this device was revoked");
    else if (r.status == VAULT_OK && col_null(&r, 1))
        status = vault__fail(VAULT_E_NOT_FOUND, "no such linked device");
    else
        col_bytes(&r, 1, x->bytes, VAULT_STORE_HASH_BYTES);
    PQclear(res);
    return status != VAULT_OK ? status : r.status;
}

static int pg_device_credential(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *credential_hash)
{
    device_args x = {.account_id = account_id, .device_id = device_id,
                     .bytes = credential_hash};
    return transact(STORE(base), READ, device_credential_tx, &x);
}

/* Runs an UPDATE on one device row ($1 account, $2 device, then extra);
 * VAULT_E_NOT_FOUND if no row matched. */
static int update_device(conn *c, const char *sql, params *p, const char *what)
{
    int status = run(c, sql, p, what);
    if (status == VAULT_OK && c->changes != 1)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device");
    return status;
}

typedef struct revoke_args {
    const uint8_t *account_id;
    const uint8_t *revoked_device_id;
    uint64_t base_revision;
    const uint8_t *blob;
    size_t blob_len;
    const uint8_t *protected_key;
    const vault_store_sealed_key *keys;
    size_t nkeys;
    int64_t now_ms;
    uint64_t *current;
} revoke_args;

/* Revoked, its credential and sealed key dropped. Its sessions stay until
 * they expire, but session_lookup refuses them (VAULT_E_REVOKED), which
 * tells the revoked device what happened. */
static int device_revoke_tx(conn *c, void *arg)
{
    const revoke_args *x = arg;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->revoked_device_id, VAULT_STORE_ID_BYTES);
    p_i64(&p, x->now_ms);
    int status = update_device(c, "UPDATE devices SET revoked_ms = coalesce(revoked_ms, $3),"
                                  " credential_hash = NULL, sealed_key = NULL"
                                  " WHERE account_id = $1 AND id = $2", &p, "revoke device");
    if (status != VAULT_OK ||
        (status = cas_blob(c, x->account_id, x->base_revision, x->blob, x->blob_len,
                           x->now_ms, x->current)) != VAULT_OK)
        return status;
    p.n = 0;
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->protected_key, VAULT_PROTECTED_KEY_BYTES);
    if ((status = run(c, "UPDATE accounts SET protected_key = $2 WHERE id = $1", &p,
                      "replace protected key")) != VAULT_OK)
        return status;
    for (size_t i = 0; i < x->nkeys && status == VAULT_OK; i++) {
        p.n = 0;
        p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
        p_bytes(&p, x->keys[i].device_id, VAULT_STORE_ID_BYTES);
        p_bytes(&p, x->keys[i].sealed, sizeof x->keys[i].sealed);
        status = update_device(c, "UPDATE devices SET sealed_key = $3"
                                  " WHERE account_id = $1 AND id = $2 AND revoked_ms IS NULL",
                               &p, "store sealed key");
    }
    return status;
}

static int pg_device_revoke_rotate(vault_store *base, const uint8_t *account_id,
                                   const uint8_t *revoked_device_id, uint64_t base_revision,
                                   const uint8_t *blob, size_t blob_len,
                                   const uint8_t *protected_key,
                                   const vault_store_sealed_key *keys, size_t nkeys,
                                   int64_t now_ms, uint64_t *current)
{
    revoke_args x = {account_id, revoked_device_id, base_revision, blob, blob_len,
                     protected_key, keys, nkeys, now_ms, current};
    return transact(STORE(base), DURABLE, device_revoke_tx, &x);
}

static int device_sealed_key_tx(conn *c, void *arg)
{
    const device_args *x = arg;
    PGresult *res = NULL;
    params p = {.n = 0};
    p_bytes(&p, x->account_id, VAULT_STORE_ID_BYTES);
    p_bytes(&p, x->device_id, VAULT_STORE_ID_BYTES);
    int status = fetch(c, "SELECT sealed_key FROM devices WHERE account_id = $1 AND id = $2"
                          " AND revoked_ms IS NULL AND sealed_key IS NOT NULL", &p, &res,
                       "read sealed key");
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_NOT_FOUND, "no rotated key for this device");
    if (status != VAULT_OK)
        return status;
    row r = {res, 0, VAULT_OK};
    col_bytes(&r, 0, x->bytes, VAULT_STORE_SEALED_KEY_BYTES);
    PQclear(res);
    return r.status;
}

static int pg_device_sealed_key(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *sealed)
{
    device_args x = {.account_id = account_id, .device_id = device_id, .bytes = sealed};
    return transact(STORE(base), READ, device_sealed_key_tx, &x);
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

static const vault_store_ops pg_ops = {
    .close = pg_close,
    .create_account = pg_create_account,
    .get_account = pg_get_account,
    .get_account_by_email_hash = pg_get_account_by_email_hash,
    .get_blob = pg_get_blob,
    .put_blob_cas = pg_put_blob_cas,
    .login_attempt_begin = pg_login_attempt_begin,
    .login_succeeded = pg_login_succeeded,
    .update_credentials = pg_update_credentials,
    .delete_account = pg_delete_account,
    .session_lookup = pg_session_lookup,
    .session_delete = pg_session_delete,
    .link_create = pg_link_create,
    .link_request = pg_link_request,
    .link_get = pg_link_get,
    .link_post_key = pg_link_post_key,
    .link_deliver = pg_link_deliver,
    .link_set_state = pg_link_set_state,
    .device_list = pg_device_list,
    .device_credential = pg_device_credential,
    .device_revoke_rotate = pg_device_revoke_rotate,
    .device_sealed_key = pg_device_sealed_key,
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
    st->base.ops = &pg_ops;
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

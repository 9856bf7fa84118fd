/*
 * The SQLite backend of the server store (store.h). The only file of the
 * server that talks to SQLite.
 *
 * Concurrency: a small pool of connections, each used by one thread at a
 * time, so that reads run in parallel (WAL lets readers proceed while one
 * writer commits). Every write is one `BEGIN IMMEDIATE` transaction, which
 * takes SQLite's write lock before anything is read, so a compare-and-swap
 * can never act on a stale read. Inside one process writers also queue on a
 * mutex first: SQLite's busy handler sleeps in steps of milliseconds, a mutex
 * hands over at once. Across processes the busy timeout does the queueing.
 *
 * Durability: WAL with synchronous=FULL, so a commit that returned is on disk
 * and an accepted push survives a crash or power loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "server/store.h"

#define POOL_MAX 8
#define BUSY_TIMEOUT_MS 10000

/* Schema migrations: entry i takes user_version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 1: accounts, blobs, devices, sessions, login failure counters */
    "CREATE TABLE accounts ("
    "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    "  email_hash BLOB NOT NULL UNIQUE CHECK (length(email_hash) = 32),"
    "  verifier BLOB NOT NULL CHECK (length(verifier) = 32),"
    "  salt BLOB NOT NULL CHECK (length(salt) = 16),"
    "  opslimit INTEGER NOT NULL,"
    "  memlimit INTEGER NOT NULL,"
    "  protected_key BLOB NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE blobs ("
    "  account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  revision INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (account_id, revision));"
    "CREATE TABLE devices ("
    "  account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  id BLOB NOT NULL CHECK (length(id) = 16),"
    "  name TEXT NOT NULL,"
    "  added_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER,"
    "  PRIMARY KEY (account_id, id));"
    "CREATE TABLE sessions ("
    "  token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),"
    "  account_id BLOB NOT NULL,"
    "  device_id BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, id)"
    "    ON DELETE CASCADE);"
    "CREATE INDEX sessions_by_account ON sessions(account_id, device_id);"
    "CREATE INDEX sessions_by_expiry ON sessions(expires_ms);"
    "CREATE TABLE login_failures ("
    "  email_hash BLOB PRIMARY KEY NOT NULL CHECK (length(email_hash) = 32),"
    "  failures INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL);"
    "CREATE INDEX login_failures_by_time ON login_failures(last_ms);",
    /* 2: device links (docs/devicelink.md); linked devices' credential hash and
     * the vault key sealed to each device at the last rotation */
    "ALTER TABLE devices ADD COLUMN credential_hash BLOB"
    "  CHECK (credential_hash IS NULL OR length(credential_hash) = 32);"
    "ALTER TABLE devices ADD COLUMN sealed_key BLOB;"
    "CREATE TABLE links ("
    "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    "  account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  device_id BLOB NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  extra_posts INTEGER NOT NULL DEFAULT 0,"
    "  peer_pk BLOB, post_mac BLOB, confirm_tag BLOB, fetch_hash BLOB,"
    "  envelope BLOB);"
    "CREATE INDEX links_by_expiry ON links(expires_ms);",
    /* 3: links requested by a new device (reverse direction): a role, and no
     * account until a logged-in device accepts the link */
    "CREATE TABLE links3 ("
    "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    "  role INTEGER NOT NULL DEFAULT 111,"
    "  account_id BLOB REFERENCES accounts(id) ON DELETE CASCADE,"
    "  device_id BLOB,"
    "  state INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  extra_posts INTEGER NOT NULL DEFAULT 0,"
    "  peer_pk BLOB, post_mac BLOB, confirm_tag BLOB, fetch_hash BLOB,"
    "  envelope BLOB);"
    "INSERT INTO links3 (id, account_id, device_id, state, created_ms, expires_ms, extra_posts,"
    "  peer_pk, post_mac, confirm_tag, fetch_hash, envelope)"
    "  SELECT id, account_id, device_id, state, created_ms, expires_ms, extra_posts, peer_pk,"
    "  post_mac, confirm_tag, fetch_hash, envelope FROM links;"
    "DROP TABLE links;"
    "ALTER TABLE links3 RENAME TO links;"
    "CREATE INDEX links_by_expiry ON links(expires_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_ACCOUNT_INSERT,
    S_ACCOUNT_BY_ID,
    S_ACCOUNT_BY_EMAIL,
    S_ACCOUNT_DELETE,
    S_CREDENTIALS_UPDATE,
    S_BLOB_INSERT,
    S_BLOB_CURRENT,
    S_BLOB_PRUNE,
    S_REVISION_BUMP,
    S_REVISION_GET,
    S_DEVICE_UPSERT,
    S_DEVICE_REVOKED,
    S_SESSION_INSERT,
    S_SESSION_GET,
    S_SESSION_DELETE,
    S_SESSIONS_PRUNE,
    S_SESSIONS_OF_ACCOUNT_DELETE,
    S_FAILURES_PRUNE,
    S_FAILURES_GET,
    S_FAILURES_BUMP,
    S_FAILURES_CLEAR,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ACCOUNT_INSERT] =
        "INSERT INTO accounts (id, email_hash, verifier, salt, opslimit, memlimit,"
        " protected_key, revision, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)",
    [S_ACCOUNT_BY_ID] =
        "SELECT id, email_hash, verifier, salt, opslimit, memlimit, protected_key,"
        " revision FROM accounts WHERE id = ?1",
    [S_ACCOUNT_BY_EMAIL] =
        "SELECT id, email_hash, verifier, salt, opslimit, memlimit, protected_key,"
        " revision FROM accounts WHERE email_hash = ?1",
    [S_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE id = ?1",
    [S_CREDENTIALS_UPDATE] =
        "UPDATE accounts SET verifier = ?2, salt = ?3, opslimit = ?4, memlimit = ?5,"
        " protected_key = ?6 WHERE id = ?1",
    [S_BLOB_INSERT] =
        "INSERT INTO blobs (account_id, revision, data, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [S_BLOB_CURRENT] =
        "SELECT a.revision, b.data FROM accounts a JOIN blobs b"
        " ON b.account_id = a.id AND b.revision = a.revision WHERE a.id = ?1",
    [S_BLOB_PRUNE] = "DELETE FROM blobs WHERE account_id = ?1 AND revision <= ?2",
    [S_REVISION_BUMP] =
        "UPDATE accounts SET revision = revision + 1 WHERE id = ?1 AND revision = ?2",
    [S_REVISION_GET] = "SELECT revision FROM accounts WHERE id = ?1",
    [S_DEVICE_UPSERT] =
        "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (account_id, id)"
        " DO UPDATE SET name = excluded.name, last_seen_ms = excluded.last_seen_ms",
    [S_DEVICE_REVOKED] =
        "SELECT revoked_ms IS NOT NULL FROM devices WHERE account_id = ?1 AND id = ?2",
    [S_SESSION_INSERT] =
        "INSERT INTO sessions (token_hash, account_id, device_id, created_ms, expires_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_SESSION_GET] =
        "SELECT s.account_id, s.device_id, s.expires_ms, d.revoked_ms IS NOT NULL"
        " FROM sessions s JOIN devices d ON d.account_id = s.account_id"
        " AND d.id = s.device_id WHERE s.token_hash = ?1",
    [S_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
    [S_SESSIONS_PRUNE] = "DELETE FROM sessions WHERE expires_ms <= ?1",
    [S_SESSIONS_OF_ACCOUNT_DELETE] = "DELETE FROM sessions WHERE account_id = ?1",
    [S_FAILURES_PRUNE] = "DELETE FROM login_failures WHERE last_ms < ?1",
    [S_FAILURES_GET] = "SELECT failures, last_ms FROM login_failures WHERE email_hash = ?1",
    [S_FAILURES_BUMP] =
        "INSERT INTO login_failures (email_hash, failures, last_ms) VALUES (?1, 1, ?2)"
        " ON CONFLICT (email_hash) DO UPDATE SET failures = failures + 1,"
        " last_ms = excluded.last_ms",
    [S_FAILURES_CLEAR] = "DELETE FROM login_failures WHERE email_hash = ?1",
};

typedef struct sqlite_store sqlite_store;

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    sqlite_store *st; /* the owner, whose write_lock a transaction takes */
    int busy;
    int durable; /* synchronous = FULL (1) or NORMAL (0) */
} conn;

enum { RELAXED = 0, DURABLE = 1 };

struct sqlite_store {
    vault_store base;
    char *path;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_freed;
    pthread_mutex_t write_lock;
    conn conns[POOL_MAX];
    int nconns;
};

/* ---- errors, statements ----------------------------------------------------- */

/* Maps a failed SQLite call to a status. Constraint violations are answers,
 * not failures: a taken key is VAULT_E_EXISTS, a vanished parent row (the
 * account was deleted meanwhile) VAULT_E_NOT_FOUND. */
static int sql_fail(const conn *c, int rc, const char *what)
{
    int ext = sqlite3_extended_errcode(c->db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
        return vault__fail(VAULT_E_EXISTS, "%s: already exists", what);
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        return vault__fail(VAULT_E_NOT_FOUND, "%s: the account no longer exists", what);
    if ((rc & 0xff) == SQLITE_NOMEM)
        return vault__fail(VAULT_E_NOMEM, "%s: SQLite out of memory", what);
    return vault__fail(VAULT_E_IO, "store: %s: %s", what, sqlite3_errmsg(c->db));
}

static int prep(conn *c, int id, sqlite3_stmt **out)
{
    if (c->stmt[id] == NULL) {
        int rc = sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return sql_fail(c, rc, "prepare");
    }
    *out = c->stmt[id];
    return VAULT_OK;
}

/* For statements outside the cached table; the caller finalizes *q (NULL on
 * failure). */
static int prep_once(conn *c, const char *text, sqlite3_stmt **q)
{
    int rc = sqlite3_prepare_v2(c->db, text, -1, q, NULL);
    if (rc != SQLITE_OK) {
        *q = NULL;
        return sql_fail(c, rc, "prepare");
    }
    return VAULT_OK;
}

static void finish(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Steps a statement that returns no row and resets it. */
static int step_done(conn *c, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    int status = rc == SQLITE_DONE ? VAULT_OK : sql_fail(c, rc, what);
    finish(q);
    return status;
}

/* Steps a query: VAULT_OK with a row ready (the caller reads and finishes),
 * VAULT_E_NOT_FOUND (finished) without one. */
static int step_row(conn *c, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return VAULT_OK;
    int status = rc == SQLITE_DONE ? VAULT_E_NOT_FOUND : sql_fail(c, rc, what);
    finish(q);
    return status;
}

/* One parameter of a statement. Operations list their parameters in order
 * (?1, ?2, ...) as data, so that each reads as its SQL and its values. Blobs
 * and text are borrowed (SQLITE_STATIC): they outlive the statement's step. */
typedef struct param {
    enum { PK_BLOB, PK_INT, PK_TEXT } kind;
    const void *p;
    size_t n;
    int64_t v;
} param;

#define P_BLOB(ptr, len) ((param){PK_BLOB, (ptr), (len), 0})
#define P_ID(ptr) P_BLOB((ptr), VAULT_STORE_ID_BYTES)
#define P_HASH(ptr) P_BLOB((ptr), VAULT_STORE_HASH_BYTES)
#define P_INT(x) ((param){PK_INT, NULL, 0, (int64_t)(x)})
#define P_TEXT(s) ((param){PK_TEXT, (s), 0, 0})
#define NPARAMS(a) (sizeof(a) / sizeof(a)[0])

static void bind_params(sqlite3_stmt *q, const param *ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int at = (int)i + 1;
        if (ps[i].kind == PK_BLOB)
            sqlite3_bind_blob64(q, at, ps[i].p, (sqlite3_uint64)ps[i].n, SQLITE_STATIC);
        else if (ps[i].kind == PK_INT)
            sqlite3_bind_int64(q, at, (sqlite3_int64)ps[i].v);
        else
            sqlite3_bind_text(q, at, ps[i].p, -1, SQLITE_STATIC);
    }
}

/* Runs a cached statement that returns no row. */
static int run(conn *c, int id, const char *what, const param *ps, size_t n)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, id, &q);
    if (status != VAULT_OK)
        return status;
    bind_params(q, ps, n);
    return step_done(c, q, what);
}

/* Runs a cached query as step_row does: on VAULT_OK the caller reads the row
 * and finishes *q. */
static int query(conn *c, int id, const char *what, const param *ps, size_t n,
                 sqlite3_stmt **q)
{
    int status = prep(c, id, q);
    if (status != VAULT_OK)
        return status;
    bind_params(*q, ps, n);
    return step_row(c, *q, what);
}

/* Runs a statement prepared for this call that returns no row. */
static int run_once(conn *c, const char *text, const char *what, const param *ps, size_t n)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, text, &q);
    if (status != VAULT_OK)
        return status;
    bind_params(q, ps, n);
    status = step_done(c, q, what);
    sqlite3_finalize(q);
    return status;
}

/* Runs a query prepared for this call as step_row does; the caller finalizes
 * *q whatever the status. */
static int query_once(conn *c, const char *text, const char *what, const param *ps,
                      size_t n, sqlite3_stmt **q)
{
    int status = prep_once(c, text, q);
    if (status != VAULT_OK)
        return status;
    bind_params(*q, ps, n);
    return step_row(c, *q, what);
}

static int run_with_key(conn *c, int id, const uint8_t *key, size_t key_len,
                        const char *what)
{
    const param ps[] = {P_BLOB(key, key_len)};
    return run(c, id, what, ps, NPARAMS(ps));
}

/* An UPDATE or DELETE that must hit exactly one row: one that hit none (a
 * row deleted meanwhile) is VAULT_E_NOT_FOUND with this message. */
static int one_row(conn *c, int status, const char *message)
{
    if (status == VAULT_OK && sqlite3_changes(c->db) != 1)
        return vault__fail(VAULT_E_NOT_FOUND, "%s", message);
    return status;
}

/* A blob column of exactly n bytes; anything else means a damaged database. */
static int column_exact(sqlite3_stmt *q, int i, uint8_t *dst, size_t n)
{
    const void *p = sqlite3_column_blob(q, i);
    if (p == NULL || (size_t)sqlite3_column_bytes(q, i) != n)
        return vault__fail(VAULT_E_IO, "store: column %d has a wrong length", i);
    memcpy(dst, p, n);
    return VAULT_OK;
}

static int column_optional(sqlite3_stmt *q, int i, uint8_t *dst, size_t n)
{
    if (sqlite3_column_type(q, i) == SQLITE_NULL) {
        memset(dst, 0, n);
        return VAULT_OK;
    }
    return column_exact(q, i, dst, n);
}

static uint64_t column_u64(sqlite3_stmt *q, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(q, i);
    return v < 0 ? 0 : (uint64_t)v;
}

/* ---- connections -------------------------------------------------------------- */

static void conn_close(conn *c)
{
    for (int i = 0; i < S_COUNT; i++) {
        sqlite3_finalize(c->stmt[i]);
        c->stmt[i] = NULL;
    }
    sqlite3_close_v2(c->db);
    c->db = NULL;
}

static int exec(sqlite3 *db, const char *text)
{
    return sqlite3_exec(db, text, NULL, NULL, NULL);
}

/* Settings that live with the connection, not the file. */
static int conn_open(conn *c, sqlite_store *st)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    memset(c, 0, sizeof *c);
    c->st = st;
    int rc = sqlite3_open_v2(st->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int status = c->db != NULL ? sql_fail(c, rc, "open")
                                   : vault__fail(VAULT_E_NOMEM, "store: SQLite out of memory");
        conn_close(c);
        return status;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* secure_delete: deleted accounts and old revisions are overwritten, not
     * left in free pages of the file. */
    rc = exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                     " PRAGMA secure_delete = ON; PRAGMA trusted_schema = OFF;");
    if (rc != SQLITE_OK) {
        int status = sql_fail(c, rc, "configure");
        conn_close(c);
        return status;
    }
    c->durable = DURABLE;
    return VAULT_OK;
}

static int read_user_version(conn *c, int *version)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sql_fail(c, rc, "schema version");
    rc = sqlite3_step(q);
    int status = rc == SQLITE_ROW ? VAULT_OK : sql_fail(c, rc, "schema version");
    if (status == VAULT_OK)
        *version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return status;
}

/* Brings the file to SCHEMA_VERSION in one transaction; two processes opening
 * a new file at once are serialised by BEGIN IMMEDIATE. */
static int migrate(conn *c)
{
    int version = 0, status = VAULT_OK;
    /* WAL is a property of the file and cannot change inside a transaction. */
    int rc = exec(c->db, "PRAGMA journal_mode = WAL");
    if (rc != SQLITE_OK)
        return sql_fail(c, rc, "enable WAL");
    rc = exec(c->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return sql_fail(c, rc, "migrate");
    if ((status = read_user_version(c, &version)) != VAULT_OK)
        goto done;
    if (version > SCHEMA_VERSION) {
        status = vault__fail(VAULT_E_IO, "store: schema version %d is newer than this "
                             "library (%d)", version, SCHEMA_VERSION);
        goto done;
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        if ((rc = exec(c->db, migrations[v])) != SQLITE_OK) {
            status = sql_fail(c, rc, "migrate");
            goto done;
        }
    }
    char pragma[48];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", SCHEMA_VERSION);
    if ((rc = exec(c->db, pragma)) != SQLITE_OK || (rc = exec(c->db, "COMMIT")) != SQLITE_OK)
        status = sql_fail(c, rc, "migrate");
done:
    if (!sqlite3_get_autocommit(c->db))
        exec(c->db, "ROLLBACK");
    return status;
}

/* Hands out a free connection, opening one more while under POOL_MAX, or
 * waits for one to come back. */
static int acquire(sqlite_store *st, conn **out)
{
    int status = VAULT_OK;
    pthread_mutex_lock(&st->pool_lock);
    for (;;) {
        for (int i = 0; i < st->nconns; i++) {
            if (!st->conns[i].busy) {
                st->conns[i].busy = 1;
                *out = &st->conns[i];
                goto done;
            }
        }
        if (st->nconns < POOL_MAX) {
            conn *c = &st->conns[st->nconns];
            if ((status = conn_open(c, st)) == VAULT_OK) {
                c->busy = 1;
                st->nconns++;
                *out = c;
            }
            goto done;
        }
        pthread_cond_wait(&st->pool_freed, &st->pool_lock);
    }
done:
    pthread_mutex_unlock(&st->pool_lock);
    return status;
}

static void release(sqlite_store *st, conn *c)
{
    pthread_mutex_lock(&st->pool_lock);
    c->busy = 0;
    pthread_cond_signal(&st->pool_freed);
    pthread_mutex_unlock(&st->pool_lock);
}


/* ---- transactions on pooled connections --------------------------------------- */

/* Durability per transaction. Everything a client is told was stored (push,
 * register, sessions, credentials) commits DURABLE: synchronous=FULL, the WAL
 * is fsync'ed before the commit returns. Only the failure counter that a
 * login bumps before checking its key commits RELAXED: it is still atomic,
 * and the login's next (durable) commit flushes it; losing it would take a
 * power cut at that instant. This halves the fsyncs of a login. */
static int set_durability(conn *c, int durable)
{
    if (c->durable == durable)
        return VAULT_OK;
    int rc = exec(c->db, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    if (rc != SQLITE_OK)
        return sql_fail(c, rc, "set durability");
    c->durable = durable;
    return VAULT_OK;
}

static int write_begin(conn *c, int durable)
{
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&c->st->write_lock);
    int status = set_durability(c, durable);
    if (status == VAULT_OK)
        status = prep(c, S_BEGIN, &q);
    if (status == VAULT_OK)
        status = step_done(c, q, "begin");
    if (status != VAULT_OK)
        pthread_mutex_unlock(&c->st->write_lock);
    return status;
}

/* Commits if status is VAULT_OK, otherwise rolls back; returns the final
 * status (a failed commit is a failure: the caller must not report success). */
static int write_end(conn *c, int status)
{
    sqlite3_stmt *q = NULL;
    if (status == VAULT_OK) {
        status = prep(c, S_COMMIT, &q);
        if (status == VAULT_OK)
            status = step_done(c, q, "commit");
    }
    if (!sqlite3_get_autocommit(c->db) && prep(c, S_ROLLBACK, &q) == VAULT_OK)
        step_done(c, q, "rollback");
    pthread_mutex_unlock(&c->st->write_lock);
    return status;
}

/* The body of an operation: its arguments come in one struct, ctx. */
typedef int (*conn_fn)(conn *c, const void *ctx);

static int write_on(conn *c, int durable, conn_fn fn, const void *ctx)
{
    int status = write_begin(c, durable);
    if (status != VAULT_OK)
        return status;
    return write_end(c, fn(c, ctx));
}

#define STORE(base) ((sqlite_store *)(base))

/* Reads run on a pooled connection outside any transaction: WAL gives each
 * statement a consistent snapshot. */
static int on_conn(vault_store *base, conn_fn fn, const void *ctx)
{
    conn *c = NULL;
    int status = acquire(STORE(base), &c);
    if (status != VAULT_OK)
        return status;
    status = fn(c, ctx);
    release(STORE(base), c);
    return status;
}

/* A write runs fn inside one BEGIN IMMEDIATE transaction on a pooled
 * connection, committed if fn returns VAULT_OK and rolled back otherwise. */
static int in_write_as(vault_store *base, int durable, conn_fn fn, const void *ctx)
{
    conn *c = NULL;
    int status = acquire(STORE(base), &c);
    if (status != VAULT_OK)
        return status;
    status = write_on(c, durable, fn, ctx);
    release(STORE(base), c);
    return status;
}

static int in_write(vault_store *base, conn_fn fn, const void *ctx)
{
    return in_write_as(base, DURABLE, fn, ctx);
}

/* ---- accounts, blobs, sessions -------------------------------------------------- */

static int insert_session(conn *c, const uint8_t *account_id,
                          const vault_store_new_session *sess, int64_t now_ms)
{
    const param prune[] = {P_INT(now_ms)};
    const param device[] = {P_ID(account_id), P_ID(sess->device_id), P_TEXT(sess->device_name),
                            P_INT(now_ms)};
    const param session[] = {P_HASH(sess->token_hash), P_ID(account_id), P_ID(sess->device_id),
                             P_INT(now_ms), P_INT(sess->expires_ms)};
    int status = run(c, S_SESSIONS_PRUNE, "prune sessions", prune, NPARAMS(prune));
    if (status == VAULT_OK && sess->device_name != NULL)
        status = run(c, S_DEVICE_UPSERT, "record device", device, NPARAMS(device));
    if (status == VAULT_OK)
        status = run(c, S_SESSION_INSERT, "create session", session, NPARAMS(session));
    return status;
}

static int insert_blob(conn *c, const uint8_t *account_id, uint64_t revision,
                       const uint8_t *blob, size_t blob_len, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_INT(revision), P_BLOB(blob, blob_len), P_INT(now_ms)};
    return run(c, S_BLOB_INSERT, "store blob", ps, NPARAMS(ps));
}

typedef struct account_query {
    int stmt; /* S_ACCOUNT_BY_ID or S_ACCOUNT_BY_EMAIL */
    const uint8_t *key;
    size_t key_len;
    vault_store_account *out;
} account_query;

static int read_account(conn *c, const void *ctx)
{
    const account_query *x = ctx;
    vault_store_account *out = x->out;
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_BLOB(x->key, x->key_len)};
    int status = query(c, x->stmt, "read account", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    if ((status = column_exact(q, 0, out->id, sizeof out->id)) == VAULT_OK &&
        (status = column_exact(q, 1, out->email_hash, sizeof out->email_hash)) == VAULT_OK &&
        (status = column_exact(q, 2, out->verifier, sizeof out->verifier)) == VAULT_OK &&
        (status = column_exact(q, 3, out->salt, sizeof out->salt)) == VAULT_OK &&
        (status = column_exact(q, 6, out->protected_key, sizeof out->protected_key)) ==
            VAULT_OK) {
        out->opslimit = column_u64(q, 4);
        out->memlimit = column_u64(q, 5);
        out->revision = column_u64(q, 7);
    }
    finish(q);
    return status;
}

typedef struct new_account {
    const vault_store_account *a;
    const uint8_t *blob;
    size_t blob_len;
    const vault_store_new_session *sess;
    int64_t now_ms;
} new_account;

static int create_account(conn *c, const void *ctx)
{
    const new_account *x = ctx;
    const vault_store_account *a = x->a;
    const param ps[] = {P_BLOB(a->id, sizeof a->id),
                        P_BLOB(a->email_hash, sizeof a->email_hash),
                        P_BLOB(a->verifier, sizeof a->verifier),
                        P_BLOB(a->salt, sizeof a->salt),
                        P_INT(a->opslimit),
                        P_INT(a->memlimit),
                        P_BLOB(a->protected_key, sizeof a->protected_key),
                        P_INT(x->now_ms)};
    int status = run(c, S_ACCOUNT_INSERT, "create account", ps, NPARAMS(ps));
    if (status == VAULT_OK)
        status = insert_blob(c, a->id, 1, x->blob, x->blob_len, x->now_ms);
    if (status == VAULT_OK)
        status = insert_session(c, a->id, x->sess, x->now_ms);
    return status;
}

static int sq_create_account(vault_store *base, const vault_store_account *a,
                             const uint8_t *blob, size_t blob_len,
                             const vault_store_new_session *sess, int64_t now_ms)
{
    const new_account x = {a, blob, blob_len, sess, now_ms};
    return in_write(base, create_account, &x);
}

static int sq_get_account(vault_store *base, const uint8_t *account_id,
                          vault_store_account *out)
{
    const account_query x = {S_ACCOUNT_BY_ID, account_id, VAULT_STORE_ID_BYTES, out};
    return on_conn(base, read_account, &x);
}

static int sq_get_account_by_email_hash(vault_store *base, const uint8_t *email_hash,
                                        vault_store_account *out)
{
    const account_query x = {S_ACCOUNT_BY_EMAIL, email_hash, VAULT_STORE_HASH_BYTES, out};
    return on_conn(base, read_account, &x);
}

typedef struct blob_query {
    const uint8_t *account_id;
    uint64_t *revision;
    uint8_t **blob;
    size_t *blob_len;
} blob_query;

static int read_blob(conn *c, const void *ctx)
{
    const blob_query *x = ctx;
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(x->account_id)};
    int status = query(c, S_BLOB_CURRENT, "read blob", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    const void *data = sqlite3_column_blob(q, 1);
    size_t len = (size_t)sqlite3_column_bytes(q, 1);
    uint8_t *copy = vault__malloc(len);
    if (copy == NULL) {
        status = vault__fail(VAULT_E_NOMEM, "out of memory reading a blob");
    } else {
        if (len > 0)
            memcpy(copy, data, len);
        *x->revision = column_u64(q, 0);
        *x->blob = copy;
        *x->blob_len = len;
    }
    finish(q);
    return status;
}

static int sq_get_blob(vault_store *base, const uint8_t *account_id, uint64_t *revision,
                       uint8_t **blob, size_t *blob_len)
{
    const blob_query x = {account_id, revision, blob, blob_len};
    return on_conn(base, read_blob, &x);
}

typedef struct push {
    const uint8_t *account_id;
    uint64_t base_revision;
    const uint8_t *blob;
    size_t blob_len;
    int64_t now_ms;
    uint64_t *current;
} push;

/* A lost compare-and-swap: tells the caller which revision won. */
static int revision_conflict(conn *c, const uint8_t *account_id, uint64_t *current)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(account_id)};
    int status = query(c, S_REVISION_GET, "read revision", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    *current = column_u64(q, 0);
    finish(q);
    return vault__fail(VAULT_E_CONFLICT, "the server holds revision %llu",
                       (unsigned long long)*current);
}

/* The revision check is a conditional UPDATE inside the caller's IMMEDIATE
 * transaction: two pushes on the same base cannot both win. */
static int cas_blob(conn *c, const void *ctx)
{
    const push *x = ctx;
    uint64_t next = x->base_revision + 1;
    const param bump[] = {P_ID(x->account_id), P_INT(x->base_revision)};
    int status = run(c, S_REVISION_BUMP, "bump revision", bump, NPARAMS(bump));
    if (status != VAULT_OK)
        return status;
    if (sqlite3_changes(c->db) != 1)
        return revision_conflict(c, x->account_id, x->current);
    status = insert_blob(c, x->account_id, next, x->blob, x->blob_len, x->now_ms);
    if (status != VAULT_OK || next <= VAULT_STORE_KEEP_REVISIONS)
        return status;
    const param prune[] = {P_ID(x->account_id), P_INT(next - VAULT_STORE_KEEP_REVISIONS)};
    return run(c, S_BLOB_PRUNE, "prune blobs", prune, NPARAMS(prune));
}

static int sq_put_blob_cas(vault_store *base, const uint8_t *account_id,
                           uint64_t base_revision, const uint8_t *blob, size_t blob_len,
                           int64_t now_ms, uint64_t *current)
{
    const push x = {account_id, base_revision, blob, blob_len, now_ms, current};
    return in_write(base, cas_blob, &x);
}

static int read_failures(conn *c, const uint8_t *email_hash, uint64_t *failures,
                         int64_t *last_ms)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_HASH(email_hash)};
    int status = query(c, S_FAILURES_GET, "read failures", ps, NPARAMS(ps), &q);
    if (status == VAULT_E_NOT_FOUND) {
        *failures = 0;
        *last_ms = 0;
        return VAULT_OK;
    }
    if (status != VAULT_OK)
        return status;
    *failures = column_u64(q, 0);
    *last_ms = sqlite3_column_int64(q, 1);
    finish(q);
    return VAULT_OK;
}

typedef struct attempt {
    const uint8_t *email_hash;
    int64_t now_ms;
    uint32_t free_failures;
    int64_t *retry_after_ms;
} attempt;

static int begin_attempt(conn *c, const void *ctx)
{
    const attempt *x = ctx;
    uint64_t failures = 0;
    int64_t last_ms = 0;
    const param prune[] = {P_INT(x->now_ms - VAULT_STORE_FAILURE_MEMORY_MS)};
    int status = run(c, S_FAILURES_PRUNE, "prune failures", prune, NPARAMS(prune));
    if (status == VAULT_OK)
        status = read_failures(c, x->email_hash, &failures, &last_ms);
    if (status == VAULT_OK)
        status = vault_server__login_throttle(failures, last_ms, x->now_ms, x->free_failures,
                                              x->retry_after_ms);
    if (status != VAULT_OK)
        return status;
    const param bump[] = {P_HASH(x->email_hash), P_INT(x->now_ms)};
    return run(c, S_FAILURES_BUMP, "count attempt", bump, NPARAMS(bump));
}

static int sq_login_attempt_begin(vault_store *base, const uint8_t *email_hash,
                                  int64_t now_ms, uint32_t free_failures,
                                  int64_t *retry_after_ms)
{
    const attempt x = {email_hash, now_ms, free_failures, retry_after_ms};
    return in_write_as(base, RELAXED, begin_attempt, &x);
}

static int device_revoked(conn *c, const uint8_t *account_id, const uint8_t *device_id)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(account_id), P_ID(device_id)};
    int status = query(c, S_DEVICE_REVOKED, "read device", ps, NPARAMS(ps), &q);
    if (status == VAULT_E_NOT_FOUND)
        return VAULT_OK;
    if (status != VAULT_OK)
        return status;
    int revoked = sqlite3_column_int(q, 0);
    finish(q);
    return vault_server__device_check_revoked(revoked);
}

/* The arguments of the writes that change an account's login state. */
typedef struct account_change {
    const uint8_t *account_id;
    const uint8_t *email_hash;
    const vault_store_credentials *cred;
    const vault_store_new_session *sess;
    int64_t now_ms;
} account_change;

static int clear_failures(conn *c, const uint8_t *email_hash)
{
    return run_with_key(c, S_FAILURES_CLEAR, email_hash, VAULT_STORE_HASH_BYTES,
                        "clear failures");
}

static int login_succeeded(conn *c, const void *ctx)
{
    const account_change *x = ctx;
    int status = device_revoked(c, x->account_id, x->sess->device_id);
    if (status == VAULT_OK)
        status = clear_failures(c, x->email_hash);
    if (status == VAULT_OK)
        status = insert_session(c, x->account_id, x->sess, x->now_ms);
    return status;
}

static int sq_login_succeeded(vault_store *base, const uint8_t *account_id,
                              const uint8_t *email_hash,
                              const vault_store_new_session *sess, int64_t now_ms)
{
    const account_change x = {account_id, email_hash, NULL, sess, now_ms};
    return in_write(base, login_succeeded, &x);
}

static int update_credentials(conn *c, const void *ctx)
{
    const account_change *x = ctx;
    const vault_store_credentials *cred = x->cred;
    const param ps[] = {P_ID(x->account_id),
                        P_BLOB(cred->verifier, sizeof cred->verifier),
                        P_BLOB(cred->salt, sizeof cred->salt),
                        P_INT(cred->opslimit),
                        P_INT(cred->memlimit),
                        P_BLOB(cred->protected_key, sizeof cred->protected_key)};
    int status = run(c, S_CREDENTIALS_UPDATE, "update credentials", ps, NPARAMS(ps));
    status = one_row(c, status, "the account no longer exists");
    if (status == VAULT_OK)
        status = clear_failures(c, x->email_hash);
    if (status == VAULT_OK)
        status = run_with_key(c, S_SESSIONS_OF_ACCOUNT_DELETE, x->account_id,
                              VAULT_STORE_ID_BYTES, "end sessions");
    if (status == VAULT_OK)
        status = insert_session(c, x->account_id, x->sess, x->now_ms);
    return status;
}

static int sq_update_credentials(vault_store *base, const uint8_t *account_id,
                                 const uint8_t *email_hash,
                                 const vault_store_credentials *cred,
                                 const vault_store_new_session *sess, int64_t now_ms)
{
    const account_change x = {account_id, email_hash, cred, sess, now_ms};
    return in_write(base, update_credentials, &x);
}

static int delete_account(conn *c, const void *ctx)
{
    const account_change *x = ctx;
    int status = run_with_key(c, S_ACCOUNT_DELETE, x->account_id, VAULT_STORE_ID_BYTES,
                              "delete account");
    status = one_row(c, status, "the account no longer exists");
    if (status == VAULT_OK)
        status = clear_failures(c, x->email_hash);
    return status;
}

static int sq_delete_account(vault_store *base, const uint8_t *account_id,
                             const uint8_t *email_hash)
{
    const account_change x = {account_id, email_hash, NULL, NULL, 0};
    return in_write(base, delete_account, &x);
}

/* ctx is the token hash. */
static int delete_session(conn *c, const void *ctx)
{
    return run_with_key(c, S_SESSION_DELETE, ctx, VAULT_STORE_HASH_BYTES, "delete session");
}

typedef struct session_query {
    const uint8_t *token_hash;
    int64_t now_ms;
    vault_store_session *out;
} session_query;

static int read_session(conn *c, const session_query *x, int *revoked)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_HASH(x->token_hash)};
    int status = query(c, S_SESSION_GET, "read session", ps, NPARAMS(ps), &q);
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_AUTH, "unknown session");
    if (status != VAULT_OK)
        return status;
    if ((status = column_exact(q, 0, x->out->account_id, sizeof x->out->account_id)) ==
            VAULT_OK &&
        (status = column_exact(q, 1, x->out->device_id, sizeof x->out->device_id)) == VAULT_OK) {
        x->out->expires_ms = sqlite3_column_int64(q, 2);
        *revoked = sqlite3_column_int(q, 3);
    }
    finish(q);
    return status;
}

/* An expired session is deleted as it is found, in a write of its own. */
static int lookup_session(conn *c, const void *ctx)
{
    const session_query *x = ctx;
    int revoked = 0;
    int status = read_session(c, x, &revoked);
    if (status == VAULT_OK)
        status = vault_server__session_check(revoked, x->out->expires_ms, x->now_ms);
    if (status != VAULT_E_EXPIRED)
        return status;
    int deleted = write_on(c, DURABLE, delete_session, x->token_hash);
    return deleted == VAULT_OK ? status : deleted;
}

static int sq_session_lookup(vault_store *base, const uint8_t *token_hash, int64_t now_ms,
                             vault_store_session *out)
{
    const session_query x = {token_hash, now_ms, out};
    return on_conn(base, lookup_session, &x);
}

static int sq_session_delete(vault_store *base, const uint8_t *token_hash)
{
    return in_write(base, delete_session, token_hash);
}

static void sq_close(vault_store *base)
{
    sqlite_store *st = STORE(base);
    if (st == NULL)
        return;
    for (int i = 0; i < st->nconns; i++)
        conn_close(&st->conns[i]);
    pthread_cond_destroy(&st->pool_freed);
    pthread_mutex_destroy(&st->pool_lock);
    pthread_mutex_destroy(&st->write_lock);
    vault__free(st->path);
    vault__free(st);
}

/* ---- device links and linked devices (docs/devicelink.md) ----------------------
 * These statements are prepared per call (links are rare next to pulls and
 * pushes), which keeps this block apart from the cached statement table. */

#define LINK_COLUMNS                                                                  \
    "id, account_id, device_id, state, expires_ms, extra_posts, peer_pk, post_mac,"  \
    " confirm_tag, fetch_hash, role"

static int read_link_row(sqlite3_stmt *q, vault_store_link *out)
{
    int status;
    memset(out, 0, sizeof *out);
    if ((status = column_exact(q, 0, out->id, sizeof out->id)) != VAULT_OK ||
        (status = column_optional(q, 1, out->account_id, sizeof out->account_id)) != VAULT_OK ||
        (status = column_optional(q, 2, out->device_id, sizeof out->device_id)) != VAULT_OK ||
        (status = column_optional(q, 6, out->peer_pk, sizeof out->peer_pk)) != VAULT_OK ||
        (status = column_optional(q, 7, out->post_mac, sizeof out->post_mac)) != VAULT_OK ||
        (status = column_optional(q, 8, out->confirm_tag, sizeof out->confirm_tag)) !=
            VAULT_OK ||
        (status = column_optional(q, 9, out->fetch_hash, sizeof out->fetch_hash)) != VAULT_OK)
        return status;
    out->state = (uint32_t)column_u64(q, 3);
    out->expires_ms = sqlite3_column_int64(q, 4);
    out->extra_posts = (uint32_t)column_u64(q, 5);
    out->role = (uint32_t)column_u64(q, 10);
    return VAULT_OK;
}

/* A copy of a nullable blob column: NULL and 0 for SQL NULL. */
static int column_dup(sqlite3_stmt *q, int i, uint8_t **out, size_t *out_len)
{
    const void *p = sqlite3_column_blob(q, i);
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    *out = NULL;
    *out_len = 0;
    if (p == NULL)
        return VAULT_OK;
    if ((*out = vault__malloc(n)) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory reading a link");
    memcpy(*out, p, n);
    *out_len = n;
    return VAULT_OK;
}

/* Reads a link inside the caller's transaction (or plain read). */
static int load_link(conn *c, const uint8_t *link_id, vault_store_link *out,
                     uint8_t **envelope, size_t *envelope_len)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(link_id)};
    int status = query_once(c, "SELECT " LINK_COLUMNS ", envelope FROM links WHERE id = ?1",
                            "read link", ps, NPARAMS(ps), &q);
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (status == VAULT_OK)
        status = read_link_row(q, out);
    if (status == VAULT_OK && envelope != NULL)
        status = column_dup(q, 11, envelope, envelope_len);
    sqlite3_finalize(q);
    return status;
}

/* VAULT_E_LIMIT once the query counts as many live links as role's quota. */
static int check_quota(conn *c, uint32_t role, const char *count, const param *ps, size_t n)
{
    sqlite3_stmt *q = NULL;
    int status = query_once(c, count, "count links", ps, n, &q);
    if (status == VAULT_OK)
        status = vault_server__link_check_quota(role, sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
    return status;
}

static int prune_links(conn *c, int64_t now_ms)
{
    const param ps[] = {P_INT(now_ms - VAULT_STORE_LINK_MEMORY_MS)};
    return run_once(c, "DELETE FROM links WHERE expires_ms < ?1", "prune links", ps,
                    NPARAMS(ps));
}

/* The two ways a link opens: offered by a logged-in device (bound to its
 * account, counted against that account's quota) or requested by a new
 * device (bound to no account yet, counted against one server-wide quota).
 * Both bind the same parameters; each kind's SQL uses the ones it needs. */
typedef struct link_kind {
    uint32_t role;
    const char *count;
    const char *insert;
    const char *what;
} link_kind;

static const link_kind offered = {
    VAULT_STORE_LINK_OFFER,
    "SELECT count(*) FROM links WHERE account_id = ?1 AND expires_ms > ?2 AND state <= 2",
    "INSERT INTO links (id, account_id, device_id, state, created_ms, expires_ms, role)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "create link",
};

static const link_kind requested = {
    VAULT_STORE_LINK_REVERSE,
    "SELECT count(*) FROM links WHERE account_id IS NULL AND expires_ms > ?2 AND state <= 2",
    "INSERT INTO links (id, role, state, created_ms, expires_ms, fetch_hash)"
    " VALUES (?1, ?7, ?4, ?5, ?6, ?8)",
    "request link",
};

typedef struct new_link {
    const link_kind *kind;
    const vault_store_link *link;
    int64_t now_ms;
} new_link;

static int open_link(conn *c, const void *ctx)
{
    const new_link *x = ctx;
    const vault_store_link *link = x->link;
    const param quota[] = {P_ID(link->account_id), P_INT(x->now_ms)};
    const param ps[] = {P_BLOB(link->id, sizeof link->id),
                        P_BLOB(link->account_id, sizeof link->account_id),
                        P_BLOB(link->device_id, sizeof link->device_id),
                        P_INT(VAULT_STORE_LINK_OPEN),
                        P_INT(x->now_ms),
                        P_INT(link->expires_ms),
                        P_INT(x->kind->role),
                        P_BLOB(link->fetch_hash, sizeof link->fetch_hash)};
    int status = prune_links(c, x->now_ms);
    if (status == VAULT_OK)
        status = check_quota(c, x->kind->role, x->kind->count, quota, NPARAMS(quota));
    if (status == VAULT_OK)
        status = run_once(c, x->kind->insert, x->kind->what, ps, NPARAMS(ps));
    return status;
}

static int sq_link_create(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    const new_link x = {&offered, link, now_ms};
    return in_write(base, open_link, &x);
}

static int sq_link_request(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    const new_link x = {&requested, link, now_ms};
    return in_write(base, open_link, &x);
}

typedef struct link_query {
    const uint8_t *link_id;
    vault_store_link *out;
    uint8_t **envelope;
    size_t *envelope_len;
} link_query;

static int get_link(conn *c, const void *ctx)
{
    const link_query *x = ctx;
    return load_link(c, x->link_id, x->out, x->envelope, x->envelope_len);
}

static int sq_link_get(vault_store *base, const uint8_t *link_id, vault_store_link *out,
                       uint8_t **envelope, size_t *envelope_len)
{
    const link_query x = {link_id, out, envelope, envelope_len};
    return on_conn(base, get_link, &x);
}

static int write_posted_key(conn *c, const vault_store_link *posted)
{
    int offer = posted->role == VAULT_STORE_LINK_OFFER;
    /* An offer's new device leaves its fetch hash; a reverse link's owner
     * binds the link to its account and device. */
    const param ps[] = {P_BLOB(posted->id, sizeof posted->id),
                        P_INT(VAULT_STORE_LINK_POSTED),
                        P_BLOB(posted->peer_pk, sizeof posted->peer_pk),
                        P_BLOB(posted->post_mac, sizeof posted->post_mac),
                        P_BLOB(posted->confirm_tag, sizeof posted->confirm_tag),
                        offer ? P_BLOB(posted->fetch_hash, sizeof posted->fetch_hash)
                              : P_BLOB(posted->account_id, sizeof posted->account_id),
                        P_BLOB(posted->device_id, sizeof posted->device_id)};
    return run_once(c, offer ? "UPDATE links SET state = ?2, peer_pk = ?3, post_mac = ?4,"
                               " confirm_tag = ?5, fetch_hash = ?6 WHERE id = ?1"
                             : "UPDATE links SET state = ?2, peer_pk = ?3, post_mac = ?4,"
                               " confirm_tag = ?5, account_id = ?6, device_id = ?7"
                               " WHERE id = ?1",
                    "post link key", ps, offer ? 6 : 7);
}

typedef struct key_post {
    const vault_store_link *posted;
    int64_t now_ms;
    int *already_used;
} key_post;

static int post_key(conn *c, const void *ctx)
{
    const key_post *x = ctx;
    vault_store_link link;
    int status = load_link(c, x->posted->id, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = vault_server__link_check_postable(&link, x->posted->role, x->now_ms);
    if (status != VAULT_OK)
        return status;
    if (link.state == VAULT_STORE_LINK_OPEN)
        return write_posted_key(c, x->posted);
    /* Counted and committed on purpose: the link's owner must see that a
     * second device tried this code (a copied QR code). The caller refuses. */
    *x->already_used = 1;
    const param ps[] = {P_ID(x->posted->id)};
    return run_once(c, "UPDATE links SET extra_posts = extra_posts + 1 WHERE id = ?1",
                    "count post", ps, NPARAMS(ps));
}

static int sq_link_post_key(vault_store *base, const vault_store_link *posted, int64_t now_ms)
{
    int already_used = 0;
    const key_post x = {posted, now_ms, &already_used};
    int status = in_write(base, post_key, &x);
    if (status == VAULT_OK && already_used)
        return vault_server__link_fail_reused();
    return status;
}

static int insert_linked_device(conn *c, const uint8_t *account_id,
                                const vault_store_new_device *dev, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_BLOB(dev->id, sizeof dev->id), P_TEXT(dev->name),
                        P_INT(now_ms),
                        P_BLOB(dev->credential_hash, sizeof dev->credential_hash)};
    return run_once(c, "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms,"
                       " credential_hash) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                    "record linked device", ps, NPARAMS(ps));
}

typedef struct delivery {
    const uint8_t *link_id;
    const uint8_t *account_id;
    const uint8_t *envelope;
    size_t envelope_len;
    const vault_store_new_device *dev;
    int64_t now_ms;
} delivery;

static int deliver(conn *c, const void *ctx)
{
    const delivery *x = ctx;
    vault_store_link link;
    const param ps[] = {P_ID(x->link_id), P_INT(VAULT_STORE_LINK_DELIVERED),
                        P_BLOB(x->envelope, x->envelope_len)};
    int status = load_link(c, x->link_id, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = vault_server__link_check_deliverable(&link, x->account_id, x->now_ms);
    if (status == VAULT_OK)
        status = run_once(c, "UPDATE links SET state = ?2, envelope = ?3 WHERE id = ?1",
                          "deliver envelope", ps, NPARAMS(ps));
    if (status == VAULT_OK)
        status = insert_linked_device(c, x->account_id, x->dev, x->now_ms);
    return status;
}

static int sq_link_deliver(vault_store *base, const uint8_t *link_id, const uint8_t *account_id,
                           const uint8_t *envelope, size_t envelope_len,
                           const vault_store_new_device *dev, int64_t now_ms)
{
    const delivery x = {link_id, account_id, envelope, envelope_len, dev, now_ms};
    return in_write(base, deliver, &x);
}

typedef struct state_change {
    const uint8_t *link_id;
    uint32_t expect;
    uint32_t state;
} state_change;

static int set_link_state(conn *c, const void *ctx)
{
    const state_change *x = ctx;
    vault_store_link link;
    int status = load_link(c, x->link_id, &link, NULL, NULL);
    if (status == VAULT_OK)
        status = vault_server__link_check_transition(&link, x->expect);
    if (status != VAULT_OK)
        return status;
    /* A finished link no longer needs its envelope: drop it. */
    const param ps[] = {P_ID(x->link_id), P_INT(x->state)};
    return run_once(c, vault_server__link_state_is_final(x->state)
                           ? "UPDATE links SET state = ?2, envelope = NULL WHERE id = ?1"
                           : "UPDATE links SET state = ?2 WHERE id = ?1",
                    "update link", ps, NPARAMS(ps));
}

static int sq_link_set_state(vault_store *base, const uint8_t *link_id, uint32_t expect,
                             uint32_t state)
{
    const state_change x = {link_id, expect, state};
    return in_write(base, set_link_state, &x);
}

static int read_device_row(sqlite3_stmt *q, vault_store_device *d)
{
    memset(d, 0, sizeof *d);
    int status = column_exact(q, 0, d->id, sizeof d->id);
    if (status != VAULT_OK)
        return status;
    const unsigned char *name = sqlite3_column_text(q, 1);
    size_t n = (size_t)sqlite3_column_bytes(q, 1);
    if (name == NULL || n > VAULT_STORE_DEVICE_NAME_MAX)
        return vault__fail(VAULT_E_IO, "store: bad device name");
    memcpy(d->name, name, n);
    d->name[n] = '\0';
    d->added_ms = sqlite3_column_int64(q, 2);
    d->last_seen_ms = sqlite3_column_int64(q, 3);
    d->revoked_ms = sqlite3_column_type(q, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 4);
    d->linked = sqlite3_column_type(q, 5) != SQLITE_NULL;
    return VAULT_OK;
}

/* Appends the current row to a list that doubles as it fills. */
static int append_device(sqlite3_stmt *q, vault_store_device **list, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap == 0 ? 8 : *cap * 2;
        vault_store_device *grown = vault__realloc(*list, ncap * sizeof **list);
        if (grown == NULL)
            return vault__fail(VAULT_E_NOMEM, "out of memory listing devices");
        *list = grown;
        *cap = ncap;
    }
    int status = read_device_row(q, &(*list)[*n]);
    if (status == VAULT_OK)
        (*n)++;
    return status;
}

typedef struct device_query {
    const uint8_t *account_id;
    const uint8_t *device_id;
    vault_store_device **list;
    size_t *count;
    uint8_t *out; /* a credential hash or a sealed key */
} device_query;

static int list_devices(conn *c, const void *ctx)
{
    const device_query *x = ctx;
    sqlite3_stmt *q = NULL;
    vault_store_device *list = NULL;
    size_t n = 0, cap = 0;
    int rc, status = prep_once(c, "SELECT id, name, added_ms, last_seen_ms, revoked_ms,"
                                  " credential_hash FROM devices WHERE account_id = ?1"
                                  " ORDER BY added_ms, id", &q);
    if (status != VAULT_OK)
        return status;
    const param ps[] = {P_ID(x->account_id)};
    bind_params(q, ps, NPARAMS(ps));
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if ((status = append_device(q, &list, &n, &cap)) != VAULT_OK)
            break;
    if (status == VAULT_OK && rc != SQLITE_DONE)
        status = sql_fail(c, rc, "list devices");
    sqlite3_finalize(q);
    if (status != VAULT_OK) {
        vault__free(list);
        return status;
    }
    *x->list = list;
    *x->count = n;
    return VAULT_OK;
}

static int sq_device_list(vault_store *base, const uint8_t *account_id,
                          vault_store_device **out, size_t *count)
{
    const device_query x = {account_id, NULL, out, count, NULL};
    *out = NULL;
    *count = 0;
    return on_conn(base, list_devices, &x);
}

static int read_credential(conn *c, const void *ctx)
{
    const device_query *x = ctx;
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(x->account_id), P_ID(x->device_id)};
    int status = query_once(c, "SELECT revoked_ms IS NOT NULL, credential_hash FROM devices"
                               " WHERE account_id = ?1 AND id = ?2",
                            "read device", ps, NPARAMS(ps), &q);
    if (status == VAULT_OK)
        status = vault_server__device_check_credential(sqlite3_column_int(q, 0),
                                                       sqlite3_column_type(q, 1) != SQLITE_NULL);
    if (status == VAULT_OK)
        status = column_exact(q, 1, x->out, VAULT_STORE_HASH_BYTES);
    sqlite3_finalize(q);
    return status;
}

static int sq_device_credential(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *credential_hash)
{
    const device_query x = {account_id, device_id, NULL, NULL, credential_hash};
    return on_conn(base, read_credential, &x);
}

typedef struct rotation {
    push push;
    const uint8_t *revoked_device_id;
    const uint8_t *protected_key;
    const vault_store_sealed_key *keys;
    size_t nkeys;
} rotation;

/* Revoked, its credential and sealed key dropped. Its sessions stay in the
 * table until they expire, but session_lookup refuses them (VAULT_E_REVOKED),
 * which tells the revoked device what happened. */
static int revoke_device(conn *c, const uint8_t *account_id, const uint8_t *device_id,
                         int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id), P_INT(now_ms)};
    int status = run_once(c, "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?3),"
                             " credential_hash = NULL, sealed_key = NULL"
                             " WHERE account_id = ?1 AND id = ?2",
                          "update device", ps, NPARAMS(ps));
    return one_row(c, status, "no such device");
}

static int store_sealed_key(conn *c, const uint8_t *account_id,
                            const vault_store_sealed_key *key)
{
    const param ps[] = {P_ID(account_id), P_ID(key->device_id),
                        P_BLOB(key->sealed, sizeof key->sealed)};
    int status = run_once(c, "UPDATE devices SET sealed_key = ?3"
                             " WHERE account_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                          "update device", ps, NPARAMS(ps));
    return one_row(c, status, "no such device");
}

static int revoke_rotate(conn *c, const void *ctx)
{
    const rotation *x = ctx;
    const uint8_t *account_id = x->push.account_id;
    const param ps[] = {P_ID(account_id),
                        P_BLOB(x->protected_key, VAULT_PROTECTED_KEY_BYTES)};
    int status = revoke_device(c, account_id, x->revoked_device_id, x->push.now_ms);
    if (status == VAULT_OK)
        status = cas_blob(c, &x->push);
    if (status == VAULT_OK)
        status = run_once(c, "UPDATE accounts SET protected_key = ?2 WHERE id = ?1",
                          "replace protected key", ps, NPARAMS(ps));
    for (size_t i = 0; i < x->nkeys && status == VAULT_OK; i++)
        status = store_sealed_key(c, account_id, &x->keys[i]);
    return status;
}

static int sq_device_revoke_rotate(vault_store *base, const uint8_t *account_id,
                                   const uint8_t *revoked_device_id, uint64_t base_revision,
                                   const uint8_t *blob, size_t blob_len,
                                   const uint8_t *protected_key,
                                   const vault_store_sealed_key *keys, size_t nkeys,
                                   int64_t now_ms, uint64_t *current)
{
    const rotation x = {{account_id, base_revision, blob, blob_len, now_ms, current},
                        revoked_device_id, protected_key, keys, nkeys};
    return in_write(base, revoke_rotate, &x);
}

static int read_sealed_key(conn *c, const void *ctx)
{
    const device_query *x = ctx;
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(x->account_id), P_ID(x->device_id)};
    int status = query_once(c, "SELECT sealed_key FROM devices WHERE account_id = ?1 AND id = ?2"
                               " AND revoked_ms IS NULL AND sealed_key IS NOT NULL",
                            "read sealed key", ps, NPARAMS(ps), &q);
    if (status == VAULT_OK)
        status = column_exact(q, 0, x->out, VAULT_STORE_SEALED_KEY_BYTES);
    else if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_NOT_FOUND, "no rotated key for this device");
    sqlite3_finalize(q);
    return status;
}

static int sq_device_sealed_key(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *sealed)
{
    const device_query x = {account_id, device_id, NULL, NULL, sealed};
    return on_conn(base, read_sealed_key, &x);
}

static const vault_store_ops sqlite_ops = {
    .close = sq_close,
    .create_account = sq_create_account,
    .get_account = sq_get_account,
    .get_account_by_email_hash = sq_get_account_by_email_hash,
    .get_blob = sq_get_blob,
    .put_blob_cas = sq_put_blob_cas,
    .login_attempt_begin = sq_login_attempt_begin,
    .login_succeeded = sq_login_succeeded,
    .update_credentials = sq_update_credentials,
    .delete_account = sq_delete_account,
    .session_lookup = sq_session_lookup,
    .session_delete = sq_session_delete,
    .link_create = sq_link_create,
    .link_request = sq_link_request,
    .link_get = sq_link_get,
    .link_post_key = sq_link_post_key,
    .link_deliver = sq_link_deliver,
    .link_set_state = sq_link_set_state,
    .device_list = sq_device_list,
    .device_credential = sq_device_credential,
    .device_revoke_rotate = sq_device_revoke_rotate,
    .device_sealed_key = sq_device_sealed_key,
};

/* The database holds verifiers and ciphertext only, but still: readable by
 * the server's user alone. SQLite gives the -wal and -shm files the mode of
 * the main file. */
static int create_private_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vault__fail(VAULT_E_IO, "store: cannot open the database file (%s)",
                           strerror(errno));
    close(fd);
    return VAULT_OK;
}

int vault_server__store_open_sqlite(vault_store **out, const char *path)
{
    sqlite_store *st = NULL;
    int status = VAULT_OK;
    *out = NULL;
    /* Each pooled connection would open its own, separate in-memory database. */
    if (path == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0)
        return vault__fail(VAULT_E_INVALID, "store: the server needs a database file");
    if (sqlite3_threadsafe() == 0)
        return vault__fail(VAULT_E_IO, "store: SQLite was built without thread support");
    if ((status = create_private_file(path)) != VAULT_OK)
        return status;
    st = vault__calloc(1, sizeof *st);
    if (st == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory opening the store");
    st->base.ops = &sqlite_ops;
    st->path = vault__strdup(path);
    if (st->path == NULL) {
        vault__free(st);
        return vault__fail(VAULT_E_NOMEM, "out of memory opening the store");
    }
    pthread_mutex_init(&st->pool_lock, NULL);
    pthread_cond_init(&st->pool_freed, NULL);
    pthread_mutex_init(&st->write_lock, NULL);
    if ((status = conn_open(&st->conns[0], st)) != VAULT_OK)
        goto done;
    st->nconns = 1;
    status = migrate(&st->conns[0]);
done:
    if (status != VAULT_OK)
        sq_close(&st->base);
    else
        *out = &st->base;
    return status;
}

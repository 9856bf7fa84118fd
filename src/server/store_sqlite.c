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
#include <sodium.h>
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

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    int busy;
    int durable; /* synchronous = FULL (1) or NORMAL (0) */
} conn;

enum { RELAXED = 0, DURABLE = 1 };

typedef struct sqlite_store {
    vault_store base;
    char *path;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_freed;
    pthread_mutex_t write_lock;
    conn conns[POOL_MAX];
    int nconns;
} sqlite_store;

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

static int bind_bytes(sqlite3_stmt *q, int i, const uint8_t *p, size_t n)
{
    return sqlite3_bind_blob64(q, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

static int bind_i64(sqlite3_stmt *q, int i, int64_t v)
{
    return sqlite3_bind_int64(q, i, (sqlite3_int64)v);
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
static int conn_open(conn *c, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    memset(c, 0, sizeof *c);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
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
            if ((status = conn_open(c, st->path)) == VAULT_OK) {
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

/* ---- write transactions -------------------------------------------------------- */

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

static int write_begin_as(sqlite_store *st, conn *c, int durable)
{
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&st->write_lock);
    int status = set_durability(c, durable);
    if (status == VAULT_OK)
        status = prep(c, S_BEGIN, &q);
    if (status == VAULT_OK)
        status = step_done(c, q, "begin");
    if (status != VAULT_OK)
        pthread_mutex_unlock(&st->write_lock);
    return status;
}

static int write_begin(sqlite_store *st, conn *c)
{
    return write_begin_as(st, c, DURABLE);
}

/* Commits if status is VAULT_OK, otherwise rolls back; returns the final
 * status (a failed commit is a failure: the caller must not report success). */
static int write_end(sqlite_store *st, conn *c, int status)
{
    sqlite3_stmt *q = NULL;
    if (status == VAULT_OK) {
        status = prep(c, S_COMMIT, &q);
        if (status == VAULT_OK)
            status = step_done(c, q, "commit");
    }
    if (!sqlite3_get_autocommit(c->db) && prep(c, S_ROLLBACK, &q) == VAULT_OK)
        step_done(c, q, "rollback");
    pthread_mutex_unlock(&st->write_lock);
    return status;
}

/* ---- statement helpers shared by several operations ---------------------------- */

static int insert_session(conn *c, const uint8_t *account_id,
                          const vault_store_new_session *sess, int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, S_SESSIONS_PRUNE, &q);
    if (status != VAULT_OK)
        return status;
    bind_i64(q, 1, now_ms);
    if ((status = step_done(c, q, "prune sessions")) != VAULT_OK)
        return status;
    if (sess->device_name != NULL) {
        if ((status = prep(c, S_DEVICE_UPSERT, &q)) != VAULT_OK)
            return status;
        bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
        bind_bytes(q, 2, sess->device_id, VAULT_STORE_ID_BYTES);
        sqlite3_bind_text(q, 3, sess->device_name, -1, SQLITE_STATIC);
        bind_i64(q, 4, now_ms);
        if ((status = step_done(c, q, "record device")) != VAULT_OK)
            return status;
    }
    if ((status = prep(c, S_SESSION_INSERT, &q)) != VAULT_OK)
        return status;
    bind_bytes(q, 1, sess->token_hash, VAULT_STORE_HASH_BYTES);
    bind_bytes(q, 2, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 3, sess->device_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 4, now_ms);
    bind_i64(q, 5, sess->expires_ms);
    return step_done(c, q, "create session");
}

static int run_with_key(conn *c, int id, const uint8_t *key, size_t key_len,
                        const char *what)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, id, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, key, key_len);
    return step_done(c, q, what);
}

static int read_account(conn *c, int id, const uint8_t *key, size_t key_len,
                        vault_store_account *out)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, id, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, key, key_len);
    if ((status = step_row(c, q, "read account")) != VAULT_OK)
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

/* ---- operations -------------------------------------------------------------- */

#define STORE(base) ((sqlite_store *)(base))

static int sq_create_account(vault_store *base, const vault_store_account *a,
                             const uint8_t *blob, size_t blob_len,
                             const vault_store_new_session *sess, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = prep(c, S_ACCOUNT_INSERT, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, a->id, sizeof a->id);
    bind_bytes(q, 2, a->email_hash, sizeof a->email_hash);
    bind_bytes(q, 3, a->verifier, sizeof a->verifier);
    bind_bytes(q, 4, a->salt, sizeof a->salt);
    bind_i64(q, 5, (int64_t)a->opslimit);
    bind_i64(q, 6, (int64_t)a->memlimit);
    bind_bytes(q, 7, a->protected_key, sizeof a->protected_key);
    bind_i64(q, 8, now_ms);
    if ((status = step_done(c, q, "create account")) != VAULT_OK)
        goto done;
    if ((status = prep(c, S_BLOB_INSERT, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, a->id, sizeof a->id);
    bind_i64(q, 2, 1);
    bind_bytes(q, 3, blob, blob_len);
    bind_i64(q, 4, now_ms);
    if ((status = step_done(c, q, "store blob")) != VAULT_OK)
        goto done;
    status = insert_session(c, a->id, sess, now_ms);
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_get_account(vault_store *base, const uint8_t *account_id,
                          vault_store_account *out)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    status = read_account(c, S_ACCOUNT_BY_ID, account_id, VAULT_STORE_ID_BYTES, out);
    release(st, c);
    return status;
}

static int sq_get_account_by_email_hash(vault_store *base, const uint8_t *email_hash,
                                        vault_store_account *out)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    status = read_account(c, S_ACCOUNT_BY_EMAIL, email_hash, VAULT_STORE_HASH_BYTES, out);
    release(st, c);
    return status;
}

static int sq_get_blob(vault_store *base, const uint8_t *account_id, uint64_t *revision,
                       uint8_t **blob, size_t *blob_len)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = prep(c, S_BLOB_CURRENT, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    if ((status = step_row(c, q, "read blob")) != VAULT_OK)
        goto done;
    const void *data = sqlite3_column_blob(q, 1);
    size_t len = (size_t)sqlite3_column_bytes(q, 1);
    uint8_t *copy = vault__malloc(len);
    if (copy == NULL) {
        status = vault__fail(VAULT_E_NOMEM, "out of memory reading a blob");
    } else {
        if (len > 0)
            memcpy(copy, data, len);
        *revision = column_u64(q, 0);
        *blob = copy;
        *blob_len = len;
    }
    finish(q);
done:
    release(st, c);
    return status;
}

/* The revision check and the insert are in one IMMEDIATE transaction, and the
 * check is a conditional UPDATE: two pushes on the same base cannot both win. */
static int sq_put_blob_cas(vault_store *base, const uint8_t *account_id,
                           uint64_t base_revision, const uint8_t *blob, size_t blob_len,
                           int64_t now_ms, uint64_t *current)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    uint64_t next = base_revision + 1;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = prep(c, S_REVISION_BUMP, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, (int64_t)base_revision);
    if ((status = step_done(c, q, "bump revision")) != VAULT_OK)
        goto done;
    if (sqlite3_changes(c->db) != 1) {
        if ((status = prep(c, S_REVISION_GET, &q)) != VAULT_OK)
            goto done;
        bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
        if ((status = step_row(c, q, "read revision")) != VAULT_OK)
            goto done;
        *current = column_u64(q, 0);
        finish(q);
        status = vault__fail(VAULT_E_CONFLICT, "the server holds revision %llu",
                             (unsigned long long)*current);
        goto done;
    }
    if ((status = prep(c, S_BLOB_INSERT, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, (int64_t)next);
    bind_bytes(q, 3, blob, blob_len);
    bind_i64(q, 4, now_ms);
    if ((status = step_done(c, q, "store blob")) != VAULT_OK)
        goto done;
    if (next > VAULT_STORE_KEEP_REVISIONS) {
        if ((status = prep(c, S_BLOB_PRUNE, &q)) != VAULT_OK)
            goto done;
        bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
        bind_i64(q, 2, (int64_t)(next - VAULT_STORE_KEEP_REVISIONS));
        status = step_done(c, q, "prune blobs");
    }
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int read_failures(conn *c, const uint8_t *email_hash, uint64_t *failures,
                         int64_t *last_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, S_FAILURES_GET, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, email_hash, VAULT_STORE_HASH_BYTES);
    status = step_row(c, q, "read failures");
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

static int sq_login_attempt_begin(vault_store *base, const uint8_t *email_hash,
                                  int64_t now_ms, uint32_t free_failures,
                                  int64_t *retry_after_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    uint64_t failures = 0;
    int64_t last_ms = 0;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin_as(st, c, RELAXED)) != VAULT_OK)
        goto release;
    if ((status = prep(c, S_FAILURES_PRUNE, &q)) != VAULT_OK)
        goto done;
    bind_i64(q, 1, now_ms - VAULT_STORE_FAILURE_MEMORY_MS);
    if ((status = step_done(c, q, "prune failures")) != VAULT_OK)
        goto done;
    if ((status = read_failures(c, email_hash, &failures, &last_ms)) != VAULT_OK)
        goto done;
    int64_t allowed_at = last_ms + vault_server__login_wait_ms(failures, free_failures);
    if (failures > 0 && now_ms < allowed_at) {
        *retry_after_ms = allowed_at - now_ms;
        status = vault__fail(VAULT_E_RATE_LIMITED, "too many failed attempts");
        goto done;
    }
    if ((status = prep(c, S_FAILURES_BUMP, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, email_hash, VAULT_STORE_HASH_BYTES);
    bind_i64(q, 2, now_ms);
    status = step_done(c, q, "count attempt");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int device_revoked(conn *c, const uint8_t *account_id, const uint8_t *device_id)
{
    sqlite3_stmt *q = NULL;
    int status = prep(c, S_DEVICE_REVOKED, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, device_id, VAULT_STORE_ID_BYTES);
    status = step_row(c, q, "read device");
    if (status == VAULT_E_NOT_FOUND)
        return VAULT_OK;
    if (status != VAULT_OK)
        return status;
    int revoked = sqlite3_column_int(q, 0);
    finish(q);
    return revoked ? vault__fail(VAULT_E_REVOKED, "this device was revoked") : VAULT_OK;
}

static int sq_login_succeeded(vault_store *base, const uint8_t *account_id,
                              const uint8_t *email_hash,
                              const vault_store_new_session *sess, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = device_revoked(c, account_id, sess->device_id)) != VAULT_OK)
        goto done;
    if ((status = run_with_key(c, S_FAILURES_CLEAR, email_hash, VAULT_STORE_HASH_BYTES,
                               "clear failures")) != VAULT_OK)
        goto done;
    status = insert_session(c, account_id, sess, now_ms);
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_update_credentials(vault_store *base, const uint8_t *account_id,
                                 const uint8_t *email_hash,
                                 const vault_store_credentials *cred,
                                 const vault_store_new_session *sess, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = prep(c, S_CREDENTIALS_UPDATE, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, cred->verifier, sizeof cred->verifier);
    bind_bytes(q, 3, cred->salt, sizeof cred->salt);
    bind_i64(q, 4, (int64_t)cred->opslimit);
    bind_i64(q, 5, (int64_t)cred->memlimit);
    bind_bytes(q, 6, cred->protected_key, sizeof cred->protected_key);
    if ((status = step_done(c, q, "update credentials")) != VAULT_OK)
        goto done;
    if (sqlite3_changes(c->db) != 1) {
        status = vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
        goto done;
    }
    if ((status = run_with_key(c, S_FAILURES_CLEAR, email_hash, VAULT_STORE_HASH_BYTES,
                               "clear failures")) != VAULT_OK ||
        (status = run_with_key(c, S_SESSIONS_OF_ACCOUNT_DELETE, account_id,
                               VAULT_STORE_ID_BYTES, "end sessions")) != VAULT_OK)
        goto done;
    status = insert_session(c, account_id, sess, now_ms);
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_delete_account(vault_store *base, const uint8_t *account_id,
                             const uint8_t *email_hash)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = run_with_key(c, S_ACCOUNT_DELETE, account_id, VAULT_STORE_ID_BYTES,
                               "delete account")) != VAULT_OK)
        goto done;
    if (sqlite3_changes(c->db) != 1) {
        status = vault__fail(VAULT_E_NOT_FOUND, "the account no longer exists");
        goto done;
    }
    status = run_with_key(c, S_FAILURES_CLEAR, email_hash, VAULT_STORE_HASH_BYTES,
                          "clear failures");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int delete_session(sqlite_store *st, conn *c, const uint8_t *token_hash)
{
    int status = write_begin(st, c);
    if (status != VAULT_OK)
        return status;
    status = run_with_key(c, S_SESSION_DELETE, token_hash, VAULT_STORE_HASH_BYTES,
                          "delete session");
    return write_end(st, c, status);
}

static int sq_session_lookup(vault_store *base, const uint8_t *token_hash, int64_t now_ms,
                             vault_store_session *out)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int revoked = 0;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = prep(c, S_SESSION_GET, &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, token_hash, VAULT_STORE_HASH_BYTES);
    status = step_row(c, q, "read session");
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, "unknown session");
    if (status != VAULT_OK)
        goto done;
    if ((status = column_exact(q, 0, out->account_id, sizeof out->account_id)) == VAULT_OK &&
        (status = column_exact(q, 1, out->device_id, sizeof out->device_id)) == VAULT_OK) {
        out->expires_ms = sqlite3_column_int64(q, 2);
        revoked = sqlite3_column_int(q, 3);
    }
    finish(q);
    if (status != VAULT_OK)
        goto done;
    if (revoked) {
        status = vault__fail(VAULT_E_REVOKED, "this device was revoked");
    } else if (out->expires_ms <= now_ms) {
        status = delete_session(st, c, token_hash);
        if (status == VAULT_OK)
            status = vault__fail(VAULT_E_EXPIRED, "session expired");
    }
done:
    release(st, c);
    return status;
}

static int sq_session_delete(vault_store *base, const uint8_t *token_hash)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    status = delete_session(st, c, token_hash);
    release(st, c);
    return status;
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

static int prep_once(conn *c, const char *text, sqlite3_stmt **q)
{
    int rc = sqlite3_prepare_v2(c->db, text, -1, q, NULL);
    if (rc != SQLITE_OK) {
        *q = NULL;
        return sql_fail(c, rc, "prepare");
    }
    return VAULT_OK;
}

/* Runs a fresh statement that returns no row, then finalizes it. */
static int done_once(conn *c, sqlite3_stmt *q, const char *what)
{
    int status = step_done(c, q, what);
    sqlite3_finalize(q);
    return status;
}

static int column_optional(sqlite3_stmt *q, int i, uint8_t *dst, size_t n)
{
    if (sqlite3_column_type(q, i) == SQLITE_NULL) {
        memset(dst, 0, n);
        return VAULT_OK;
    }
    return column_exact(q, i, dst, n);
}

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

/* Reads a link inside the caller's transaction (or plain read). */
static int load_link(conn *c, const uint8_t *link_id, vault_store_link *out,
                     uint8_t **envelope, size_t *envelope_len)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, "SELECT " LINK_COLUMNS ", envelope FROM links WHERE id = ?1", &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, link_id, VAULT_STORE_ID_BYTES);
    if ((status = step_row(c, q, "read link")) != VAULT_OK) {
        sqlite3_finalize(q);
        if (status == VAULT_E_NOT_FOUND)
            return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
        return status;
    }
    status = read_link_row(q, out);
    if (status == VAULT_OK && envelope != NULL) {
        const void *p = sqlite3_column_blob(q, 11);
        size_t n = (size_t)sqlite3_column_bytes(q, 11);
        *envelope = NULL;
        *envelope_len = 0;
        if (p != NULL) {
            if ((*envelope = vault__malloc(n)) == NULL)
                status = vault__fail(VAULT_E_NOMEM, "out of memory reading a link");
            else {
                memcpy(*envelope, p, n);
                *envelope_len = n;
            }
        }
    }
    sqlite3_finalize(q);
    return status;
}

static int check_link_quota(conn *c, const uint8_t *account_id, int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, "SELECT count(*) FROM links WHERE account_id = ?1"
                              " AND expires_ms > ?2 AND state <= 2", &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, now_ms);
    if ((status = step_row(c, q, "count links")) == VAULT_OK &&
        sqlite3_column_int64(q, 0) >= VAULT_STORE_LINKS_MAX)
        status = vault__fail(VAULT_E_LIMIT, "too many open device links; wait for them to expire");
    sqlite3_finalize(q);
    return status;
}

static int sq_link_create(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = prep_once(c, "DELETE FROM links WHERE expires_ms < ?1", &q)) != VAULT_OK)
        goto done;
    bind_i64(q, 1, now_ms - VAULT_STORE_LINK_MEMORY_MS);
    if ((status = done_once(c, q, "prune links")) != VAULT_OK ||
        (status = check_link_quota(c, link->account_id, now_ms)) != VAULT_OK)
        goto done;
    if ((status = prep_once(c, "INSERT INTO links (id, account_id, device_id, state,"
                               " created_ms, expires_ms, role) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            &q)) != VAULT_OK)
        goto done;
    bind_i64(q, 7, VAULT_STORE_LINK_OFFER);
    bind_bytes(q, 1, link->id, sizeof link->id);
    bind_bytes(q, 2, link->account_id, sizeof link->account_id);
    bind_bytes(q, 3, link->device_id, sizeof link->device_id);
    bind_i64(q, 4, VAULT_STORE_LINK_OPEN);
    bind_i64(q, 5, now_ms);
    bind_i64(q, 6, link->expires_ms);
    status = done_once(c, q, "create link");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int check_unbound_quota(conn *c, int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, "SELECT count(*) FROM links WHERE account_id IS NULL"
                              " AND expires_ms > ?1 AND state <= 2", &q);
    if (status != VAULT_OK)
        return status;
    bind_i64(q, 1, now_ms);
    if ((status = step_row(c, q, "count links")) == VAULT_OK &&
        sqlite3_column_int64(q, 0) >= VAULT_STORE_LINKS_UNBOUND_MAX)
        status = vault__fail(VAULT_E_LIMIT, "too many pending device links; retry later");
    sqlite3_finalize(q);
    return status;
}

static int sq_link_request(vault_store *base, const vault_store_link *link, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = prep_once(c, "DELETE FROM links WHERE expires_ms < ?1", &q)) != VAULT_OK)
        goto done;
    bind_i64(q, 1, now_ms - VAULT_STORE_LINK_MEMORY_MS);
    if ((status = done_once(c, q, "prune links")) != VAULT_OK ||
        (status = check_unbound_quota(c, now_ms)) != VAULT_OK)
        goto done;
    if ((status = prep_once(c, "INSERT INTO links (id, role, state, created_ms, expires_ms,"
                               " fetch_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, link->id, sizeof link->id);
    bind_i64(q, 2, VAULT_STORE_LINK_REVERSE);
    bind_i64(q, 3, VAULT_STORE_LINK_OPEN);
    bind_i64(q, 4, now_ms);
    bind_i64(q, 5, link->expires_ms);
    bind_bytes(q, 6, link->fetch_hash, sizeof link->fetch_hash);
    status = done_once(c, q, "request link");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_link_get(vault_store *base, const uint8_t *link_id, vault_store_link *out,
                       uint8_t **envelope, size_t *envelope_len)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    status = load_link(c, link_id, out, envelope, envelope_len);
    release(st, c);
    return status;
}

static int count_extra_post(conn *c, const uint8_t *link_id)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, "UPDATE links SET extra_posts = extra_posts + 1 WHERE id = ?1", &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, link_id, VAULT_STORE_ID_BYTES);
    return done_once(c, q, "count post");
}

static int sq_link_post_key(vault_store *base, const vault_store_link *posted, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    vault_store_link link;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = load_link(c, posted->id, &link, NULL, NULL)) != VAULT_OK)
        goto done;
    if (link.role != posted->role) {
        status = vault__fail(VAULT_E_NOT_FOUND, "no such device link");
        goto done;
    }
    if (now_ms >= link.expires_ms) {
        status = vault__fail(VAULT_E_EXPIRED, "this device link has expired");
        goto done;
    }
    if (link.state != VAULT_STORE_LINK_OPEN) {
        /* Committed on purpose: the link's owner must see that a second
         * device tried this code (a copied QR code). */
        if ((status = count_extra_post(c, posted->id)) == VAULT_OK)
            status = write_end(st, c, VAULT_OK);
        else
            status = write_end(st, c, status);
        release(st, c);
        if (status != VAULT_OK)
            return status;
        return vault__fail(VAULT_E_STATE, "this link code was already used by another device");
    }
    int offer = posted->role == VAULT_STORE_LINK_OFFER;
    if ((status = prep_once(c, offer ? "UPDATE links SET state = ?2, peer_pk = ?3, post_mac = ?4,"
                                       " confirm_tag = ?5, fetch_hash = ?6 WHERE id = ?1"
                                     : "UPDATE links SET state = ?2, peer_pk = ?3, post_mac = ?4,"
                                       " confirm_tag = ?5, account_id = ?6, device_id = ?7"
                                       " WHERE id = ?1",
                            &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, posted->id, sizeof posted->id);
    bind_i64(q, 2, VAULT_STORE_LINK_POSTED);
    bind_bytes(q, 3, posted->peer_pk, sizeof posted->peer_pk);
    bind_bytes(q, 4, posted->post_mac, sizeof posted->post_mac);
    bind_bytes(q, 5, posted->confirm_tag, sizeof posted->confirm_tag);
    if (offer) {
        bind_bytes(q, 6, posted->fetch_hash, sizeof posted->fetch_hash);
    } else {
        bind_bytes(q, 6, posted->account_id, sizeof posted->account_id);
        bind_bytes(q, 7, posted->device_id, sizeof posted->device_id);
    }
    status = done_once(c, q, "post link key");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int insert_linked_device(conn *c, const uint8_t *account_id,
                                const vault_store_new_device *dev, int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms,"
                              " credential_hash) VALUES (?1, ?2, ?3, ?4, ?4, ?5)", &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, dev->id, sizeof dev->id);
    sqlite3_bind_text(q, 3, dev->name, -1, SQLITE_STATIC);
    bind_i64(q, 4, now_ms);
    bind_bytes(q, 5, dev->credential_hash, sizeof dev->credential_hash);
    return done_once(c, q, "record linked device");
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

static int sq_link_deliver(vault_store *base, const uint8_t *link_id, const uint8_t *account_id,
                           const uint8_t *envelope, size_t envelope_len,
                           const vault_store_new_device *dev, int64_t now_ms)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    vault_store_link link;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = load_link(c, link_id, &link, NULL, NULL)) != VAULT_OK ||
        (status = check_deliverable(&link, account_id, now_ms)) != VAULT_OK)
        goto done;
    if ((status = prep_once(c, "UPDATE links SET state = ?2, envelope = ?3 WHERE id = ?1", &q)) !=
        VAULT_OK)
        goto done;
    bind_bytes(q, 1, link_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, VAULT_STORE_LINK_DELIVERED);
    bind_bytes(q, 3, envelope, envelope_len);
    if ((status = done_once(c, q, "deliver envelope")) != VAULT_OK)
        goto done;
    status = insert_linked_device(c, account_id, dev, now_ms);
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_link_set_state(vault_store *base, const uint8_t *link_id, uint32_t expect,
                             uint32_t state)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    vault_store_link link;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = load_link(c, link_id, &link, NULL, NULL)) != VAULT_OK)
        goto done;
    int live = link.state == VAULT_STORE_LINK_OPEN || link.state == VAULT_STORE_LINK_POSTED ||
               link.state == VAULT_STORE_LINK_DELIVERED;
    if (expect == VAULT_STORE_LINK_ANY_LIVE ? !live : link.state != expect) {
        status = vault__fail(VAULT_E_STATE, link.state == VAULT_STORE_LINK_DONE
                                                ? "this device link was already used"
                                                : "this device link is not in that step");
        goto done;
    }
    int final = state == VAULT_STORE_LINK_DONE || state == VAULT_STORE_LINK_ABORTED;
    if ((status = prep_once(c, final ? "UPDATE links SET state = ?2, envelope = NULL WHERE id = ?1"
                                     : "UPDATE links SET state = ?2 WHERE id = ?1",
                            &q)) != VAULT_OK)
        goto done;
    bind_bytes(q, 1, link_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, state);
    status = done_once(c, q, "update link");
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
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

static int sq_device_list(vault_store *base, const uint8_t *account_id,
                          vault_store_device **out, size_t *count)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    vault_store_device *list = NULL;
    size_t n = 0, cap = 0;
    int rc, status = acquire(st, &c);
    *out = NULL;
    *count = 0;
    if (status != VAULT_OK)
        return status;
    if ((status = prep_once(c, "SELECT id, name, added_ms, last_seen_ms, revoked_ms,"
                               " credential_hash FROM devices WHERE account_id = ?1"
                               " ORDER BY added_ms, id", &q)) != VAULT_OK)
        goto release;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            vault_store_device *grown = vault__realloc(list, ncap * sizeof *list);
            if (grown == NULL) {
                status = vault__fail(VAULT_E_NOMEM, "out of memory listing devices");
                goto done;
            }
            list = grown;
            cap = ncap;
        }
        if ((status = read_device_row(q, &list[n])) != VAULT_OK)
            goto done;
        n++;
    }
    if (rc != SQLITE_DONE)
        status = sql_fail(c, rc, "list devices");
done:
    sqlite3_finalize(q);
    if (status == VAULT_OK) {
        *out = list;
        *count = n;
    } else {
        vault__free(list);
    }
release:
    release(st, c);
    return status;
}

static int sq_device_credential(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *credential_hash)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = prep_once(c, "SELECT revoked_ms IS NOT NULL, credential_hash FROM devices"
                               " WHERE account_id = ?1 AND id = ?2", &q)) != VAULT_OK)
        goto release;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, device_id, VAULT_STORE_ID_BYTES);
    if ((status = step_row(c, q, "read device")) == VAULT_OK) {
        if (sqlite3_column_int(q, 0))
            status = vault__fail(VAULT_E_REVOKED, "this device was revoked");
        else if (sqlite3_column_type(q, 1) == SQLITE_NULL)
            status = vault__fail(VAULT_E_NOT_FOUND, "no such linked device");
        else
            status = column_exact(q, 1, credential_hash, VAULT_STORE_HASH_BYTES);
    }
    sqlite3_finalize(q);
release:
    release(st, c);
    return status;
}

/* The compare-and-swap part of a push, inside the caller's transaction. */
static int cas_blob(conn *c, const uint8_t *account_id, uint64_t base_revision,
                    const uint8_t *blob, size_t blob_len, int64_t now_ms, uint64_t *current)
{
    sqlite3_stmt *q = NULL;
    uint64_t next = base_revision + 1;
    int status = prep(c, S_REVISION_BUMP, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, (int64_t)base_revision);
    if ((status = step_done(c, q, "bump revision")) != VAULT_OK)
        return status;
    if (sqlite3_changes(c->db) != 1) {
        if ((status = prep(c, S_REVISION_GET, &q)) != VAULT_OK)
            return status;
        bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
        if ((status = step_row(c, q, "read revision")) != VAULT_OK)
            return status;
        *current = column_u64(q, 0);
        finish(q);
        return vault__fail(VAULT_E_CONFLICT, "the server holds revision %llu",
                           (unsigned long long)*current);
    }
    if ((status = prep(c, S_BLOB_INSERT, &q)) != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, (int64_t)next);
    bind_bytes(q, 3, blob, blob_len);
    bind_i64(q, 4, now_ms);
    if ((status = step_done(c, q, "store blob")) != VAULT_OK || next <= VAULT_STORE_KEEP_REVISIONS)
        return status;
    if ((status = prep(c, S_BLOB_PRUNE, &q)) != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_i64(q, 2, (int64_t)(next - VAULT_STORE_KEEP_REVISIONS));
    return step_done(c, q, "prune blobs");
}

/* Runs an UPDATE on one device row (?1 account, ?2 device, ?3 optional blob,
 * ?4 time); VAULT_E_NOT_FOUND if no row matched. */
static int update_device(conn *c, const char *text, const uint8_t *account_id,
                         const uint8_t *device_id, const uint8_t *value, size_t value_len,
                         int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    int status = prep_once(c, text, &q);
    if (status != VAULT_OK)
        return status;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, device_id, VAULT_STORE_ID_BYTES);
    if (value != NULL)
        bind_bytes(q, 3, value, value_len);
    if (sqlite3_bind_parameter_count(q) >= 4)
        bind_i64(q, 4, now_ms);
    if ((status = done_once(c, q, "update device")) != VAULT_OK)
        return status;
    if (sqlite3_changes(c->db) != 1)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device");
    return VAULT_OK;
}

/* Revoked, its credential and sealed key dropped. Its sessions stay in the
 * table until they expire, but session_lookup refuses them (VAULT_E_REVOKED),
 * which tells the revoked device what happened. */
static int revoke_device(conn *c, const uint8_t *account_id, const uint8_t *device_id,
                         int64_t now_ms)
{
    return update_device(c, "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?4),"
                            " credential_hash = NULL, sealed_key = NULL"
                            " WHERE account_id = ?1 AND id = ?2",
                         account_id, device_id, NULL, 0, now_ms);
}

static int sq_device_revoke_rotate(vault_store *base, const uint8_t *account_id,
                                   const uint8_t *revoked_device_id, uint64_t base_revision,
                                   const uint8_t *blob, size_t blob_len,
                                   const uint8_t *protected_key,
                                   const vault_store_sealed_key *keys, size_t nkeys,
                                   int64_t now_ms, uint64_t *current)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = write_begin(st, c)) != VAULT_OK)
        goto release;
    if ((status = revoke_device(c, account_id, revoked_device_id, now_ms)) != VAULT_OK ||
        (status = cas_blob(c, account_id, base_revision, blob, blob_len, now_ms, current)) !=
            VAULT_OK)
        goto done;
    if ((status = prep_once(c, "UPDATE accounts SET protected_key = ?2 WHERE id = ?1", &q)) !=
        VAULT_OK)
        goto done;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, protected_key, VAULT_PROTECTED_KEY_BYTES);
    if ((status = done_once(c, q, "replace protected key")) != VAULT_OK)
        goto done;
    for (size_t i = 0; i < nkeys && status == VAULT_OK; i++)
        status = update_device(c, "UPDATE devices SET sealed_key = ?3"
                                  " WHERE account_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                               account_id, keys[i].device_id, keys[i].sealed,
                               sizeof keys[i].sealed, now_ms);
done:
    status = write_end(st, c, status);
release:
    release(st, c);
    return status;
}

static int sq_device_sealed_key(vault_store *base, const uint8_t *account_id,
                                const uint8_t *device_id, uint8_t *sealed)
{
    sqlite_store *st = STORE(base);
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int status = acquire(st, &c);
    if (status != VAULT_OK)
        return status;
    if ((status = prep_once(c, "SELECT sealed_key FROM devices WHERE account_id = ?1 AND id = ?2"
                               " AND revoked_ms IS NULL AND sealed_key IS NOT NULL", &q)) !=
        VAULT_OK)
        goto release;
    bind_bytes(q, 1, account_id, VAULT_STORE_ID_BYTES);
    bind_bytes(q, 2, device_id, VAULT_STORE_ID_BYTES);
    if ((status = step_row(c, q, "read sealed key")) == VAULT_OK)
        status = column_exact(q, 0, sealed, VAULT_STORE_SEALED_KEY_BYTES);
    else if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_NOT_FOUND, "no rotated key for this device");
    sqlite3_finalize(q);
release:
    release(st, c);
    return status;
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
    if ((status = conn_open(&st->conns[0], path)) != VAULT_OK)
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

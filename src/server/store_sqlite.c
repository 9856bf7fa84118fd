/*
 * The SQLite backend of the server store: the primitives of store_backend.h
 * as cached prepared statements, and the transactions they run in. The
 * operations and their rules are store_rules.c's. The only file of the
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
#include "server/store_backend.h"

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
    /* 4: protocol 2 (OPAQUE): the record replaces the verifier and the salt.
     * Accounts of protocol 1 keep their data but no record: they cannot log
     * in (there is no legacy login path). */
    "ALTER TABLE accounts DROP COLUMN verifier;"
    "ALTER TABLE accounts DROP COLUMN salt;"
    "ALTER TABLE accounts ADD COLUMN record BLOB CHECK (record IS NULL OR length(record) = 192);",
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
    S_PROTECTED_KEY_UPDATE,
    S_REVISION_GET,
    S_REVISION_BUMP,
    S_BLOB_INSERT,
    S_BLOB_CURRENT,
    S_BLOB_PRUNE,
    S_DEVICE_UPSERT,
    S_DEVICE_INSERT_LINKED,
    S_DEVICE_GET,
    S_DEVICE_LIST,
    S_DEVICE_REVOKE,
    S_DEVICE_SEALED_KEY_SET,
    S_SESSION_INSERT,
    S_SESSION_GET,
    S_SESSION_DELETE,
    S_SESSIONS_PRUNE,
    S_SESSIONS_OF_ACCOUNT_DELETE,
    S_FAILURES_PRUNE,
    S_FAILURES_GET,
    S_FAILURES_BUMP,
    S_FAILURES_CLEAR,
    S_LINKS_COUNT_OFFERED,
    S_LINKS_COUNT_REQUESTED,
    S_LINK_INSERT_OFFER,
    S_LINK_INSERT_REQUEST,
    S_LINK_GET,
    S_LINK_KEY_OFFER,
    S_LINK_KEY_REQUEST,
    S_LINK_EXTRA_POST,
    S_LINK_STATE,
    S_LINK_STATE_DROP,
    S_LINK_STATE_ENVELOPE,
    S_LINKS_PRUNE,
    S_COUNT
};

#define ACCOUNT_COLUMNS \
    "id, email_hash, record, opslimit, memlimit, protected_key, revision"
#define LINK_COLUMNS                                                                  \
    "id, account_id, device_id, state, expires_ms, extra_posts, peer_pk, post_mac,"  \
    " confirm_tag, fetch_hash, role, envelope"
#define LINK_KEY_SET "UPDATE links SET state = ?2, peer_pk = ?3, post_mac = ?4, confirm_tag = ?5,"
#define LINKS_LIVE "SELECT count(*) FROM links WHERE expires_ms > ?2 AND state <= 2 AND "

/* A link's live states are OPEN, POSTED, DELIVERED: state <= 2. */
static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ACCOUNT_INSERT] =
        "INSERT INTO accounts (id, email_hash, record, opslimit, memlimit,"
        " protected_key, revision, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
    [S_ACCOUNT_BY_ID] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1",
    [S_ACCOUNT_BY_EMAIL] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email_hash = ?1",
    [S_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE id = ?1",
    [S_CREDENTIALS_UPDATE] =
        "UPDATE accounts SET record = ?2, opslimit = ?3, memlimit = ?4,"
        " protected_key = ?5 WHERE id = ?1",
    [S_PROTECTED_KEY_UPDATE] = "UPDATE accounts SET protected_key = ?2 WHERE id = ?1",
    [S_REVISION_GET] = "SELECT revision FROM accounts WHERE id = ?1",
    [S_REVISION_BUMP] =
        "UPDATE accounts SET revision = revision + 1 WHERE id = ?1 AND revision = ?2",
    [S_BLOB_INSERT] =
        "INSERT INTO blobs (account_id, revision, data, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [S_BLOB_CURRENT] =
        "SELECT a.revision, b.data FROM accounts a JOIN blobs b"
        " ON b.account_id = a.id AND b.revision = a.revision WHERE a.id = ?1",
    [S_BLOB_PRUNE] = "DELETE FROM blobs WHERE account_id = ?1 AND revision <= ?2",
    [S_DEVICE_UPSERT] =
        "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (account_id, id)"
        " DO UPDATE SET name = excluded.name, last_seen_ms = excluded.last_seen_ms",
    [S_DEVICE_INSERT_LINKED] =
        "INSERT INTO devices (account_id, id, name, added_ms, last_seen_ms, credential_hash)"
        " VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
    [S_DEVICE_GET] = "SELECT revoked_ms IS NOT NULL, credential_hash, sealed_key FROM devices"
                     " WHERE account_id = ?1 AND id = ?2",
    [S_DEVICE_LIST] = "SELECT id, name, added_ms, last_seen_ms, revoked_ms, credential_hash"
                      " FROM devices WHERE account_id = ?1 ORDER BY added_ms, id",
    [S_DEVICE_REVOKE] = "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?3),"
                        " credential_hash = NULL, sealed_key = NULL"
                        " WHERE account_id = ?1 AND id = ?2",
    [S_DEVICE_SEALED_KEY_SET] = "UPDATE devices SET sealed_key = ?3"
                                " WHERE account_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
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
    [S_LINKS_COUNT_OFFERED] = LINKS_LIVE "account_id = ?1",
    [S_LINKS_COUNT_REQUESTED] = LINKS_LIVE "account_id IS NULL",
    [S_LINK_INSERT_OFFER] =
        "INSERT INTO links (id, account_id, device_id, state, created_ms, expires_ms, role)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_LINK_INSERT_REQUEST] =
        "INSERT INTO links (id, role, state, created_ms, expires_ms, fetch_hash)"
        " VALUES (?1, ?7, ?4, ?5, ?6, ?8)",
    [S_LINK_GET] = "SELECT " LINK_COLUMNS " FROM links WHERE id = ?1",
    [S_LINK_KEY_OFFER] = LINK_KEY_SET " fetch_hash = ?6 WHERE id = ?1",
    [S_LINK_KEY_REQUEST] = LINK_KEY_SET " account_id = ?6, device_id = ?7 WHERE id = ?1",
    [S_LINK_EXTRA_POST] = "UPDATE links SET extra_posts = extra_posts + 1 WHERE id = ?1",
    [S_LINK_STATE] = "UPDATE links SET state = ?2 WHERE id = ?1",
    [S_LINK_STATE_DROP] = "UPDATE links SET state = ?2, envelope = NULL WHERE id = ?1",
    [S_LINK_STATE_ENVELOPE] = "UPDATE links SET state = ?2, envelope = ?3 WHERE id = ?1",
    [S_LINKS_PRUNE] = "DELETE FROM links WHERE expires_ms < ?1",
};

typedef struct sqlite_store sqlite_store;

typedef struct conn {
    vault_store_tx tx; /* first: a body's tx is its connection */
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    sqlite_store *st; /* the owner, whose write_lock a transaction takes */
    int busy;
    int durable; /* synchronous = FULL (1) or NORMAL (0) */
} conn;

#define CONN(tx) ((conn *)(tx))

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

/* Values bind as borrowed (SQLITE_STATIC): they outlive the statement's step. */
typedef vault_store_param param;

static void bind_params(sqlite3_stmt *q, const param *ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int at = (int)i + 1;
        if (ps[i].kind == VAULT_STORE_P_BLOB)
            sqlite3_bind_blob64(q, at, ps[i].p, (sqlite3_uint64)ps[i].n, SQLITE_STATIC);
        else if (ps[i].kind == VAULT_STORE_P_INT)
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

/* An UPDATE or DELETE that must hit exactly one row: one that hit none (a
 * row deleted meanwhile) is a bare VAULT_E_NOT_FOUND. */
static int one_row(conn *c, int status)
{
    if (status == VAULT_OK && sqlite3_changes(c->db) != 1)
        return VAULT_E_NOT_FOUND;
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

/* ---- accounts, blobs --------------------------------------------------------------- */

static int sq_account_insert(vault_store_tx *tx, const vault_store_account *a, int64_t now_ms)
{
    const param ps[] = {P_ID(a->id), P_HASH(a->email_hash),
                        P_BLOB(a->record, sizeof a->record), P_INT(a->opslimit),
                        P_INT(a->memlimit), P_BLOB(a->protected_key, sizeof a->protected_key),
                        P_INT(now_ms)};
    return run(CONN(tx), S_ACCOUNT_INSERT, "create account", ps, NPARAMS(ps));
}

static int read_account_row(sqlite3_stmt *q, vault_store_account *out)
{
    int status;
    if ((status = column_exact(q, 0, out->id, sizeof out->id)) != VAULT_OK ||
        (status = column_exact(q, 1, out->email_hash, sizeof out->email_hash)) != VAULT_OK ||
        (status = column_optional(q, 2, out->record, sizeof out->record)) != VAULT_OK ||
        (status = column_exact(q, 5, out->protected_key, sizeof out->protected_key)) != VAULT_OK)
        return status;
    out->opslimit = column_u64(q, 3);
    out->memlimit = column_u64(q, 4);
    out->revision = column_u64(q, 6);
    return VAULT_OK;
}

static int sq_account_get(vault_store_tx *tx, const uint8_t *id, const uint8_t *email_hash,
                          vault_store_account *out)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {id != NULL ? P_ID(id) : P_HASH(email_hash)};
    int status = query(CONN(tx), id != NULL ? S_ACCOUNT_BY_ID : S_ACCOUNT_BY_EMAIL,
                       "read account", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    status = read_account_row(q, out);
    finish(q);
    return status;
}

static int sq_account_revision(vault_store_tx *tx, const uint8_t *id, uint64_t *revision)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(id)};
    int status = query(CONN(tx), S_REVISION_GET, "read revision", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    *revision = column_u64(q, 0);
    finish(q);
    return VAULT_OK;
}

static int sq_account_set_credentials(vault_store_tx *tx, const uint8_t *id,
                                      const vault_store_credentials *cred)
{
    const param ps[] = {P_ID(id), P_BLOB(cred->record, sizeof cred->record),
                        P_INT(cred->opslimit), P_INT(cred->memlimit),
                        P_BLOB(cred->protected_key, sizeof cred->protected_key)};
    return one_row(CONN(tx), run(CONN(tx), S_CREDENTIALS_UPDATE, "update credentials", ps,
                                 NPARAMS(ps)));
}

static int sq_account_set_protected_key(vault_store_tx *tx, const uint8_t *id,
                                        const uint8_t *protected_key)
{
    const param ps[] = {P_ID(id), P_BLOB(protected_key, VAULT_PROTECTED_KEY_BYTES)};
    return run(CONN(tx), S_PROTECTED_KEY_UPDATE, "replace protected key", ps, NPARAMS(ps));
}

static int sq_account_delete(vault_store_tx *tx, const uint8_t *id)
{
    const param ps[] = {P_ID(id)};
    return one_row(CONN(tx), run(CONN(tx), S_ACCOUNT_DELETE, "delete account", ps, NPARAMS(ps)));
}

static int sq_blob_insert(vault_store_tx *tx, const uint8_t *account_id, uint64_t revision,
                          const uint8_t *blob, size_t blob_len, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_INT(revision), P_BLOB(blob, blob_len), P_INT(now_ms)};
    return run(CONN(tx), S_BLOB_INSERT, "store blob", ps, NPARAMS(ps));
}

static int sq_blob_current(vault_store_tx *tx, const uint8_t *account_id, uint64_t *revision,
                           uint8_t **blob, size_t *blob_len)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(account_id)};
    int status = query(CONN(tx), S_BLOB_CURRENT, "read blob", ps, NPARAMS(ps), &q);
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
        *revision = column_u64(q, 0);
        *blob = copy;
        *blob_len = len;
    }
    finish(q);
    return status;
}

/* A conditional UPDATE inside the IMMEDIATE transaction, which holds the
 * write lock: two pushes on the same base cannot both win. */
static int sq_blob_push(vault_store_tx *tx, const uint8_t *account_id, uint64_t base_revision,
                        const uint8_t *blob, size_t blob_len, int64_t now_ms,
                        uint64_t prune_upto)
{
    conn *c = CONN(tx);
    const param bump[] = {P_ID(account_id), P_INT(base_revision)};
    int status = run(c, S_REVISION_BUMP, "bump revision", bump, NPARAMS(bump));
    if (status == VAULT_OK && sqlite3_changes(c->db) != 1)
        return VAULT_E_CONFLICT;
    if (status == VAULT_OK)
        status = sq_blob_insert(tx, account_id, base_revision + 1, blob, blob_len, now_ms);
    if (status != VAULT_OK || prune_upto == 0)
        return status;
    const param prune[] = {P_ID(account_id), P_INT(prune_upto)};
    return run(c, S_BLOB_PRUNE, "prune blobs", prune, NPARAMS(prune));
}

/* ---- devices ------------------------------------------------------------------------ */

static int sq_device_upsert(vault_store_tx *tx, const uint8_t *account_id,
                            const uint8_t *device_id, const char *name, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id), P_TEXT(name), P_INT(now_ms)};
    return run(CONN(tx), S_DEVICE_UPSERT, "record device", ps, NPARAMS(ps));
}

static int sq_device_insert_linked(vault_store_tx *tx, const uint8_t *account_id,
                                   const vault_store_new_device *dev, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(dev->id), P_TEXT(dev->name), P_INT(now_ms),
                        P_HASH(dev->credential_hash)};
    return run(CONN(tx), S_DEVICE_INSERT_LINKED, "record linked device", ps, NPARAMS(ps));
}

static int sq_device_get(vault_store_tx *tx, const uint8_t *account_id, const uint8_t *device_id,
                         vault_store_device_row *out)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(account_id), P_ID(device_id)};
    int status = query(CONN(tx), S_DEVICE_GET, "read device", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    memset(out, 0, sizeof *out);
    out->revoked = sqlite3_column_int(q, 0);
    out->has_credential = sqlite3_column_type(q, 1) != SQLITE_NULL;
    out->has_sealed_key = sqlite3_column_type(q, 2) != SQLITE_NULL;
    if (out->has_credential)
        status = column_exact(q, 1, out->credential_hash, sizeof out->credential_hash);
    if (status == VAULT_OK && out->has_sealed_key)
        status = column_exact(q, 2, out->sealed_key, sizeof out->sealed_key);
    finish(q);
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

static int sq_device_list(vault_store_tx *tx, const uint8_t *account_id,
                          vault_store_device **out, size_t *count)
{
    conn *c = CONN(tx);
    sqlite3_stmt *q = NULL;
    vault_store_device *list = NULL;
    size_t n = 0, cap = 0;
    int rc, status = prep(c, S_DEVICE_LIST, &q);
    if (status != VAULT_OK)
        return status;
    const param ps[] = {P_ID(account_id)};
    bind_params(q, ps, NPARAMS(ps));
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if ((status = append_device(q, &list, &n, &cap)) != VAULT_OK)
            break;
    if (status == VAULT_OK && rc != SQLITE_DONE)
        status = sql_fail(c, rc, "list devices");
    finish(q);
    if (status != VAULT_OK) {
        vault__free(list);
        return status;
    }
    *out = list;
    *count = n;
    return VAULT_OK;
}

static int sq_device_revoke(vault_store_tx *tx, const uint8_t *account_id,
                            const uint8_t *device_id, int64_t now_ms)
{
    const param ps[] = {P_ID(account_id), P_ID(device_id), P_INT(now_ms)};
    return one_row(CONN(tx), run(CONN(tx), S_DEVICE_REVOKE, "revoke device", ps, NPARAMS(ps)));
}

static int sq_device_set_sealed_key(vault_store_tx *tx, const uint8_t *account_id,
                                    const vault_store_sealed_key *key)
{
    const param ps[] = {P_ID(account_id), P_ID(key->device_id),
                        P_BLOB(key->sealed, sizeof key->sealed)};
    return one_row(CONN(tx), run(CONN(tx), S_DEVICE_SEALED_KEY_SET, "store sealed key", ps,
                                 NPARAMS(ps)));
}

/* ---- sessions, login failures -------------------------------------------------------- */

static int sq_session_insert(vault_store_tx *tx, const uint8_t *token_hash,
                             const uint8_t *account_id, const uint8_t *device_id,
                             int64_t now_ms, int64_t expires_ms)
{
    const param ps[] = {P_HASH(token_hash), P_ID(account_id), P_ID(device_id), P_INT(now_ms),
                        P_INT(expires_ms)};
    return run(CONN(tx), S_SESSION_INSERT, "create session", ps, NPARAMS(ps));
}

static int sq_session_get(vault_store_tx *tx, const uint8_t *token_hash,
                          vault_store_session *out, int *revoked)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_HASH(token_hash)};
    int status = query(CONN(tx), S_SESSION_GET, "read session", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    if ((status = column_exact(q, 0, out->account_id, sizeof out->account_id)) == VAULT_OK &&
        (status = column_exact(q, 1, out->device_id, sizeof out->device_id)) == VAULT_OK) {
        out->expires_ms = sqlite3_column_int64(q, 2);
        *revoked = sqlite3_column_int(q, 3);
    }
    finish(q);
    return status;
}

/* The primitives whose one parameter is a key or a time. */
static int run_key(vault_store_tx *tx, int id, const uint8_t *key, size_t key_len,
                   const char *what)
{
    const param ps[] = {P_BLOB(key, key_len)};
    return run(CONN(tx), id, what, ps, NPARAMS(ps));
}

static int run_time(vault_store_tx *tx, int id, int64_t ms, const char *what)
{
    const param ps[] = {P_INT(ms)};
    return run(CONN(tx), id, what, ps, NPARAMS(ps));
}

static int sq_session_delete(vault_store_tx *tx, const uint8_t *token_hash)
{
    return run_key(tx, S_SESSION_DELETE, token_hash, VAULT_STORE_HASH_BYTES, "delete session");
}

static int sq_sessions_delete_account(vault_store_tx *tx, const uint8_t *account_id)
{
    return run_key(tx, S_SESSIONS_OF_ACCOUNT_DELETE, account_id, VAULT_STORE_ID_BYTES,
                   "end sessions");
}

static int sq_sessions_prune(vault_store_tx *tx, int64_t now_ms)
{
    return run_time(tx, S_SESSIONS_PRUNE, now_ms, "prune sessions");
}

/* No lock to take: the IMMEDIATE transaction holds the write lock. */
static int sq_failures_get(vault_store_tx *tx, const uint8_t *email_hash, uint64_t *failures,
                           int64_t *last_ms)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_HASH(email_hash)};
    int status = query(CONN(tx), S_FAILURES_GET, "read failures", ps, NPARAMS(ps), &q);
    *failures = 0;
    *last_ms = 0;
    if (status == VAULT_E_NOT_FOUND)
        return VAULT_OK;
    if (status != VAULT_OK)
        return status;
    *failures = column_u64(q, 0);
    *last_ms = sqlite3_column_int64(q, 1);
    finish(q);
    return VAULT_OK;
}

static int sq_failures_bump(vault_store_tx *tx, const uint8_t *email_hash, int64_t now_ms)
{
    const param ps[] = {P_HASH(email_hash), P_INT(now_ms)};
    return run(CONN(tx), S_FAILURES_BUMP, "count attempt", ps, NPARAMS(ps));
}

static int sq_failures_clear(vault_store_tx *tx, const uint8_t *email_hash)
{
    return run_key(tx, S_FAILURES_CLEAR, email_hash, VAULT_STORE_HASH_BYTES, "clear failures");
}

static int sq_failures_prune(vault_store_tx *tx, int64_t before_ms)
{
    return run_time(tx, S_FAILURES_PRUNE, before_ms, "prune failures");
}

/* ---- device links (docs/devicelink.md) ------------------------------------------------ */

static int sq_links_count_live(vault_store_tx *tx, uint32_t role, const uint8_t *account_id,
                               int64_t now_ms, int64_t *live)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(account_id), P_INT(now_ms)};
    int status = query(CONN(tx), role == VAULT_STORE_LINK_REVERSE ? S_LINKS_COUNT_REQUESTED
                                                                  : S_LINKS_COUNT_OFFERED,
                       "count links", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    *live = sqlite3_column_int64(q, 0);
    finish(q);
    return VAULT_OK;
}

/* Both kinds bind the same parameters; each one's SQL uses those it needs. */
static int sq_link_insert(vault_store_tx *tx, const vault_store_link *link, int64_t now_ms)
{
    int offer = link->role == VAULT_STORE_LINK_OFFER;
    const param ps[] = {P_ID(link->id), P_ID(link->account_id), P_ID(link->device_id),
                        P_INT(VAULT_STORE_LINK_OPEN), P_INT(now_ms), P_INT(link->expires_ms),
                        P_INT(link->role), P_HASH(link->fetch_hash)};
    return run(CONN(tx), offer ? S_LINK_INSERT_OFFER : S_LINK_INSERT_REQUEST,
               offer ? "create link" : "request link", ps, NPARAMS(ps));
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

/* for_update needs nothing: a write transaction holds the write lock. */
static int sq_link_get(vault_store_tx *tx, const uint8_t *link_id, int for_update,
                       vault_store_link *out, uint8_t **envelope, size_t *envelope_len)
{
    sqlite3_stmt *q = NULL;
    const param ps[] = {P_ID(link_id)};
    (void)for_update;
    int status = query(CONN(tx), S_LINK_GET, "read link", ps, NPARAMS(ps), &q);
    if (status != VAULT_OK)
        return status;
    status = read_link_row(q, out);
    if (status == VAULT_OK && envelope != NULL)
        status = column_dup(q, 11, envelope, envelope_len);
    finish(q);
    return status;
}

static int sq_link_put_key(vault_store_tx *tx, const vault_store_link *posted)
{
    int offer = posted->role == VAULT_STORE_LINK_OFFER;
    const param ps[] = {P_ID(posted->id), P_INT(VAULT_STORE_LINK_POSTED),
                        P_BLOB(posted->peer_pk, sizeof posted->peer_pk),
                        P_BLOB(posted->post_mac, sizeof posted->post_mac),
                        P_BLOB(posted->confirm_tag, sizeof posted->confirm_tag),
                        offer ? P_HASH(posted->fetch_hash) : P_ID(posted->account_id),
                        P_ID(posted->device_id)};
    return run(CONN(tx), offer ? S_LINK_KEY_OFFER : S_LINK_KEY_REQUEST, "post link key", ps,
               offer ? 6 : 7);
}

static int sq_link_count_extra_post(vault_store_tx *tx, const uint8_t *link_id)
{
    return run_key(tx, S_LINK_EXTRA_POST, link_id, VAULT_STORE_ID_BYTES, "count post");
}

static int sq_link_set_state(vault_store_tx *tx, const uint8_t *link_id, uint32_t state,
                             int envelope_op, const uint8_t *envelope, size_t envelope_len)
{
    static const int stmt[] = {[VAULT_STORE_ENVELOPE_KEEP] = S_LINK_STATE,
                               [VAULT_STORE_ENVELOPE_DROP] = S_LINK_STATE_DROP,
                               [VAULT_STORE_ENVELOPE_SET] = S_LINK_STATE_ENVELOPE};
    const param ps[] = {P_ID(link_id), P_INT(state), P_BLOB(envelope, envelope_len)};
    int set = envelope_op == VAULT_STORE_ENVELOPE_SET;
    return run(CONN(tx), stmt[envelope_op], "update link", ps, set ? 3 : 2);
}

static int sq_links_prune(vault_store_tx *tx, int64_t before_ms)
{
    return run_time(tx, S_LINKS_PRUNE, before_ms, "prune links");
}

static void sq_close(vault_store *base);
static int sq_transact(vault_store *base, int mode, vault_store_body body, void *ctx);

static const vault_store_backend sqlite_backend = {
    .close = sq_close,
    .transact = sq_transact,
    .account_insert = sq_account_insert,
    .account_get = sq_account_get,
    .account_revision = sq_account_revision,
    .account_set_credentials = sq_account_set_credentials,
    .account_set_protected_key = sq_account_set_protected_key,
    .account_delete = sq_account_delete,
    .blob_insert = sq_blob_insert,
    .blob_current = sq_blob_current,
    .blob_push = sq_blob_push,
    .device_upsert = sq_device_upsert,
    .device_insert_linked = sq_device_insert_linked,
    .device_get = sq_device_get,
    .device_list = sq_device_list,
    .device_revoke = sq_device_revoke,
    .device_set_sealed_key = sq_device_set_sealed_key,
    .session_insert = sq_session_insert,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .sessions_delete_account = sq_sessions_delete_account,
    .sessions_prune = sq_sessions_prune,
    .failures_get = sq_failures_get,
    .failures_bump = sq_failures_bump,
    .failures_clear = sq_failures_clear,
    .failures_prune = sq_failures_prune,
    .links_count_live = sq_links_count_live,
    .link_insert = sq_link_insert,
    .link_get = sq_link_get,
    .link_put_key = sq_link_put_key,
    .link_count_extra_post = sq_link_count_extra_post,
    .link_set_state = sq_link_set_state,
    .links_prune = sq_links_prune,
};

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
    c->tx.db = &sqlite_backend;
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

#define STORE(base) ((sqlite_store *)(base))

/* A write runs the body inside one BEGIN IMMEDIATE transaction, committed if
 * it returns VAULT_OK and rolled back otherwise. Reads run outside any
 * transaction: WAL gives each statement a consistent snapshot. */
static int sq_transact(vault_store *base, int mode, vault_store_body body, void *ctx)
{
    conn *c = NULL;
    int status = acquire(STORE(base), &c);
    if (status != VAULT_OK)
        return status;
    if (mode == VAULT_STORE_READ) {
        status = body(&c->tx, ctx);
    } else if ((status = write_begin(c, mode == VAULT_STORE_WRITE_RELAXED ? RELAXED : DURABLE))
               == VAULT_OK) {
        status = write_end(c, body(&c->tx, ctx));
    }
    release(STORE(base), c);
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

/* The database holds OPAQUE records and ciphertext only, but still: readable by
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
    st->base.ops = &vault_server__store_ops;
    st->base.db = &sqlite_backend;
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

/*
 * The client's local store: one SQLite file with a key/value table. It only
 * ever holds public values (ids, salt, KDF parameters, revisions) and
 * ciphertext (the protected vault key, the sealed local and last-synced
 * blobs), so the file is safe to back up or lose to a thief. Every logical
 * change is one transaction, so a crash leaves the old or the new state.
 */
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "client/client.h"

static int store_fail(vault_client *c, const char *what)
{
    return vault__fail(VAULT_E_IO, "local store: %s: %s", what,
                       c->db != NULL ? sqlite3_errmsg(c->db) : "not open");
}

static int exec_sql(vault_client *c, const char *sql)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(c, "statement failed");
    return VAULT_OK;
}

int vault_client__store_open(vault_client *c, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    mode_t old = umask(077); /* the file holds ciphertext only, but keep it private */
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        rc = vault__fail(VAULT_E_IO, "cannot open local store: %s",
                         c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
        vault_client__store_close(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, 5000);
    rc = exec_sql(c, "PRAGMA journal_mode=WAL;"
                     "PRAGMA synchronous=FULL;"
                     "PRAGMA secure_delete=ON;"
                     "CREATE TABLE IF NOT EXISTS state("
                     "  name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;");
    if (rc != VAULT_OK) {
        vault_client__store_close(c);
        return vault__fail(VAULT_E_IO, "cannot open local store: not a zkvault store or unreadable");
    }
    return VAULT_OK;
}

void vault_client__store_close(vault_client *c)
{
    if (c->db != NULL)
        sqlite3_close_v2(c->db);
    c->db = NULL;
}

int vault_client__store_begin(vault_client *c)
{
    return exec_sql(c, "BEGIN IMMEDIATE");
}

int vault_client__store_commit(vault_client *c)
{
    int rc = exec_sql(c, "COMMIT");
    if (rc != VAULT_OK)
        vault_client__store_rollback(c);
    return rc;
}

void vault_client__store_rollback(vault_client *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int vault_client__store_put(vault_client *c, const char *name, const void *value, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = VAULT_OK;
    if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO state(name, value) VALUES(?1, ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(c, "prepare");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, len ? value : "", (sqlite3_uint64)len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store_fail(c, "write");
    sqlite3_finalize(st);
    return rc;
}

int vault_client__store_put_u64(vault_client *c, const char *name, uint64_t value)
{
    uint8_t be[8];
    vault__store64_be(be, value);
    return vault_client__store_put(c, name, be, sizeof be);
}

int vault_client__store_delete(vault_client *c, const char *name)
{
    sqlite3_stmt *st = NULL;
    int rc = VAULT_OK;
    if (sqlite3_prepare_v2(c->db, "DELETE FROM state WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(c, "prepare");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store_fail(c, "delete");
    sqlite3_finalize(st);
    return rc;
}

int vault_client__store_get(vault_client *c, const char *name, uint8_t **value, size_t *len)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *value = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM state WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(c, "prepare");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *data = sqlite3_column_blob(st, 0);
        *value = (uint8_t *)vault__out_dup(data != NULL ? data : "", n);
        *len = n;
        rc = *value != NULL ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory reading store");
    } else if (step == SQLITE_DONE) {
        rc = vault__fail(VAULT_E_NOT_FOUND, "local store has no %s", name);
    } else {
        rc = store_fail(c, "read");
    }
    sqlite3_finalize(st);
    return rc;
}

int vault_client__store_get_u64(vault_client *c, const char *name, uint64_t *value)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, name, &raw, &len);
    if (rc == VAULT_OK && len != 8)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: %s has a bad length", name);
    if (rc == VAULT_OK)
        *value = vault__load64_be(raw);
    vault_free(raw);
    return rc;
}

int vault_client__store_clear(vault_client *c)
{
    return exec_sql(c, "DELETE FROM state WHERE name <> 'device_id'");
}

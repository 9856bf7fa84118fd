/* The store backends the server suite runs on, and the few fixtures whose
 * work depends on the backend (a fresh database, a look inside it).
 *
 * SQLite: one file per test under the test directory.
 * PostgreSQL: the database VAULT_TEST_PG_URI names (scripts/pg_test.sh makes
 * a throwaway one), one schema "ts_<name>" per test, selected by the URI's
 * options=-csearch_path=... so that the server under test sees only its own
 * tables. The URI's role must own the database (the connection-loss test
 * closes it to new connections for a moment). */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_test.h"

static int use_pg;

int ts_backend_begin(const char *backend)
{
    use_pg = strcmp(backend, "postgresql") == 0;
    if (!use_pg)
        return 1;
    const char *uri = getenv("VAULT_TEST_PG_URI");
    const char *ci = getenv("CI");
    if (uri != NULL && uri[0] != '\0')
        return 1;
    if (ci != NULL && strcmp(ci, "true") == 0) {
        fprintf(stderr, "\n*** FAILED: the PostgreSQL pass of the server suite cannot run: "
                        "VAULT_TEST_PG_URI is not set. In CI the suite must run under "
                        "scripts/pg_test.sh. ***\n\n");
        return -1;
    }
    fprintf(stderr, "\n*** SKIPPED: the PostgreSQL pass of the server suite "
                    "(VAULT_TEST_PG_URI is not set; run under scripts/pg_test.sh) ***\n\n");
    return 0;
}

int ts_backend_is_pg(void)
{
    return use_pg;
}

/* ---- PostgreSQL ------------------------------------------------------------------- */

/* A connection with the URI's settings; dbname non-NULL picks another
 * database of the same cluster. */
static PGconn *pg_admin_to(const char *dbname)
{
    static const char *const keys[] = {"application_name", "dbname", "dbname", NULL};
    const char *values[] = {"vault-test", getenv("VAULT_TEST_PG_URI"), dbname, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("cannot connect to VAULT_TEST_PG_URI: %s", PQerrorMessage(pg));
    PQsetNoticeProcessor(pg, ts_pg_ignore_notice, NULL);
    return pg;
}

static PGconn *pg_admin(void)
{
    return pg_admin_to(NULL);
}

void ts_pg_ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

void ts_pg_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
}

/* A connection with the test's schema first in the search path. */
static PGconn *pg_connect(const char *name)
{
    PGconn *pg = pg_admin();
    char sql[160];
    snprintf(sql, sizeof sql, "SET search_path = ts_%s", name);
    ts_pg_exec(pg, sql);
    return pg;
}

PGconn *ts_pg_admin(void)
{
    return pg_admin();
}

PGconn *ts_pg_admin_elsewhere(void)
{
    return pg_admin_to("postgres");
}

void ts_pg_finish(PGconn *pg)
{
    PQfinish(pg);
}

static void pg_reset(const char *name)
{
    char sql[200];
    PGconn *pg = pg_admin();
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS ts_%s CASCADE; CREATE SCHEMA ts_%s", name,
             name);
    ts_pg_exec(pg, sql);
    PQfinish(pg);
}

static int64_t pg_run(const char *name, const char *sql)
{
    PGconn *pg = pg_connect(name);
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg));
    const char *text = st == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : PQcmdTuples(r);
    int64_t v = strtoll(text, NULL, 10);
    PQclear(r);
    PQfinish(pg);
    return v;
}

/* Appends n bytes to the growing buffer *buf. */
static void append(uint8_t **buf, size_t *len, const void *p, size_t n)
{
    uint8_t *grown = realloc(*buf, *len + n + 1);
    assert_non_null(grown);
    memcpy(grown + *len, p, n);
    *buf = grown;
    *len += n;
}

/* Every value of every table of the schema, as the server stored it. */
static uint8_t *pg_contents(const char *name, size_t *len)
{
    PGconn *pg = pg_connect(name);
    uint8_t *buf = NULL;
    *len = 0;
    append(&buf, len, "", 0);
    PGresult *tables = PQexec(pg, "SELECT quote_ident(tablename) FROM pg_tables"
                                  " WHERE schemaname = current_schema()");
    assert_int_equal(PQresultStatus(tables), PGRES_TUPLES_OK);
    assert_true(PQntuples(tables) >= 6);
    for (int t = 0; t < PQntuples(tables); t++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT * FROM %s", PQgetvalue(tables, t, 0));
        PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 1);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r); i++)
            for (int k = 0; k < PQnfields(r); k++)
                append(&buf, len, PQgetvalue(r, i, k), (size_t)PQgetlength(r, i, k));
        PQclear(r);
    }
    PQclear(tables);
    PQfinish(pg);
    return buf;
}

/* ---- SQLite ---------------------------------------------------------------------------- */

static void sqlite_reset(const char *path)
{
    char side[1100];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static int64_t sqlite_run(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : sqlite3_changes(db);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* ---- either ------------------------------------------------------------------------------ */

const char *ts_db(const char *name)
{
    static char db[1024];
    char file[256];
    if (use_pg) {
        const char *uri = getenv("VAULT_TEST_PG_URI");
        snprintf(db, sizeof db, "%s%soptions=-csearch_path%%3Dts_%s", uri,
                 strchr(uri, '?') != NULL ? "&" : "?", name);
        return db;
    }
    snprintf(file, sizeof file, "%s.db", name);
    snprintf(db, sizeof db, "%s", test_path(file));
    return db;
}

void ts_db_reset(const char *name)
{
    if (use_pg)
        pg_reset(name);
    else
        sqlite_reset(ts_db(name));
}

int64_t ts_db_run(const char *name, const char *sql)
{
    return use_pg ? pg_run(name, sql) : sqlite_run(ts_db(name), sql);
}

uint8_t *ts_db_contents(const char *name, size_t *len)
{
    if (use_pg)
        return pg_contents(name, len);
    return test_read_file(ts_db(name), len);
}

void ts_backend_end(void)
{
    if (!use_pg)
        return;
    PGconn *pg = pg_admin();
    ts_pg_exec(pg, "DO $$DECLARE s text; BEGIN"
                   " FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ts\\_%' LOOP"
                   "  EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END$$");
    PQfinish(pg);
}

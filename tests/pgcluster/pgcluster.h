/* Several vaultd processes on one PostgreSQL database (docs/deploy.md):
 * shared fixtures of the cluster tests. */
#ifndef PGCLUSTER_H
#define PGCLUSTER_H

#include <cjson/cJSON.h>
#include <sys/types.h>

#include "testutil.h"

#define PGC_INSTANCES 2

/* A running vaultd. */
typedef struct pgc_daemon {
    pid_t pid;
    unsigned port;
} pgc_daemon;

/* One HTTP client (a libcurl handle), for one thread. */
typedef struct pgc_http {
    void *curl;
    char url[64];
} pgc_http;

/* Starts build/vaultd on db with the pepper file, on a free loopback port,
 * and waits for its "listening" line. */
void pgc_daemon_start(pgc_daemon *d, const char *db, const char *pepper_file);
/* SIGTERM, and it must exit cleanly. */
void pgc_daemon_stop(pgc_daemon *d);

void pgc_http_init(pgc_http *h, unsigned port);
void pgc_http_free(pgc_http *h);
/* POSTs request (deleted afterwards) to /v1/api. NULL when no HTTP answer
 * came (connection refused, reset, timeout). */
cJSON *pgc_call(pgc_http *h, cJSON *request);

/* The error code of a response, "" for a success. */
const char *pgc_error_code(const cJSON *resp);

/* The cluster tests (load.c); state is the array of PGC_INSTANCES daemons. */
void test_pgcluster__two_instances_one_database(void **state);
void test_pgcluster__database_restart_under_load(void **state);
void test_pgcluster__frozen_database_is_an_error_not_a_hang(void **state);

#endif

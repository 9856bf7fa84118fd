/* Two vaultd processes on one PostgreSQL database, under load, and through a
 * database restart. The cluster is this test's own: main() runs itself again
 * under scripts/pg_test.sh, so that stopping the database never disturbs
 * another suite that uses VAULT_TEST_PG_URI at the same time. Like the
 * server suite's PostgreSQL pass, it runs when VAULT_TEST_PG_URI is set, is
 * skipped loudly otherwise, and fails then in CI (CI=true). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgcluster.h"

#define OWN_CLUSTER "VAULT_PGCLUSTER_OWN_CLUSTER"

static pgc_daemon daemons[PGC_INSTANCES];

static void write_pepper(const char *path)
{
    uint8_t pepper[32];
    test_key(pepper, 42);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pepper, sizeof pepper), (ssize_t)sizeof pepper);
    close(fd);
}

static int start_daemons(void **state)
{
    const char *pepper = test_path("pepper");
    write_pepper(pepper);
    for (int i = 0; i < PGC_INSTANCES; i++)
        pgc_daemon_start(&daemons[i], getenv("VAULT_TEST_PG_URI"), pepper);
    *state = daemons;
    return 0;
}

static int stop_daemons(void **state)
{
    (void)state;
    for (int i = 0; i < PGC_INSTANCES; i++)
        pgc_daemon_stop(&daemons[i]);
    return 0;
}

/* Runs this program again inside a throwaway cluster of its own. */
static int rerun_in_own_cluster(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("pgcluster: /proc/self/exe");
        return 1;
    }
    self[n] = '\0';
    setenv(OWN_CLUSTER, "1", 1);
    fflush(NULL);
    execl("/bin/bash", "bash", VAULT_TEST_SOURCE_DIR "/scripts/pg_test.sh", self, (char *)NULL);
    fprintf(stderr, "pgcluster: cannot run scripts/pg_test.sh: %s\n", strerror(errno));
    return 1;
}

int main(void)
{
    const char *uri = getenv("VAULT_TEST_PG_URI");
    const char *ci = getenv("CI");
    if (uri == NULL || uri[0] == '\0') {
        if (ci != NULL && strcmp(ci, "true") == 0) {
            fprintf(stderr, "\n*** FAILED: the PostgreSQL cluster tests cannot run: "
                            "VAULT_TEST_PG_URI is not set. In CI they must run under "
                            "scripts/pg_test.sh. ***\n\n");
            return 1;
        }
        fprintf(stderr, "\n*** SKIPPED: the PostgreSQL cluster tests (VAULT_TEST_PG_URI is "
                        "not set; run under scripts/pg_test.sh) ***\n\n");
        return 0;
    }
    if (getenv(OWN_CLUSTER) == NULL)
        return rerun_in_own_cluster();
    if (getenv("VAULT_TEST_PG_STOP") == NULL || getenv("VAULT_TEST_PG_START") == NULL ||
        getenv("VAULT_TEST_PG_FREEZE") == NULL || getenv("VAULT_TEST_PG_THAW") == NULL) {
        fprintf(stderr, "pgcluster: VAULT_TEST_PG_STOP/START/FREEZE/THAW are not set\n");
        return 1;
    }
    vault_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgcluster__two_instances_one_database),
        cmocka_unit_test(test_pgcluster__database_restart_under_load),
        cmocka_unit_test(test_pgcluster__frozen_database_is_an_error_not_a_hang),
    };
    int failed = cmocka_run_group_tests_name("pgcluster", tests, start_daemons, stop_daemons);
    curl_global_cleanup();
    return failed;
}

/*
 * test_sim: runs seeded multi-device schedules (sim.h) and reports every seed
 * that breaks an invariant, with its trace.
 *
 *   test_sim                      the CI run: seeds 1..SIM_CI_SEEDS, as a CMocka test
 *   test_sim --seed N             replays one seed in this process, trace printed
 *   test_sim --from A --count K   seeds A..A+K-1, each in a forked child; prints
 *                                 one line per failing seed (with --traces M, the
 *                                 full trace of the first M) and a summary
 *
 * Server files go to $VAULT_SIM_TMP, else /dev/shm, else the test directory.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"
#include "testutil.h"

#define SIM_CI_SEEDS 150
#define SIM_CHILD_SECONDS 120

static sim_world world;
static char dir[512];

static const char *work_dir(void)
{
    const char *base = getenv("VAULT_SIM_TMP");
    struct stat st;
    if (base == NULL || base[0] == '\0')
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : NULL;
    if (base == NULL) {
        snprintf(dir, sizeof dir, "%s", test_path("sim"));
    } else {
        snprintf(dir, sizeof dir, "%s/zkvault-sim-%ld", base, (long)getpid());
    }
    mkdir(dir, 0700);
    return dir;
}

typedef struct tally {
    uint64_t runs, failed;
    uint64_t by_class[6];
    uint64_t first[6]; /* first seed of each class */
    int traces_left;
} tally;

static const char *const class_names[6] = {"F1-never-settles", "F2-lost-edit", "F3-stranded",
                                           "diverged", "unexpected-error", "crashed"};

/* Runs one seed in a child; the child prints its trace if it fails and
 * print_trace is set. Returns the SIM_F_* bits. */
static unsigned run_forked(uint64_t seed, int print_trace)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return SIM_F_ERROR;
    if (pid == 0) {
        sim_trace trace = {0};
        alarm(SIM_CHILD_SECONDS);
        unsigned fail = sim_run(&world, seed, &trace);
        if (fail != 0 && print_trace)
            printf("---- trace of seed %llu (replay: test_sim --seed %llu)\n%s",
                   (unsigned long long)seed, (unsigned long long)seed,
                   trace.text != NULL ? trace.text : "");
        fflush(stdout);
        _exit((int)fail);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return SIM_F_ERROR;
    if (WIFSIGNALED(status))
        return SIM_F_CRASH;
    return WIFEXITED(status) ? (unsigned)WEXITSTATUS(status) : SIM_F_ERROR;
}

static void run_range(uint64_t from, uint64_t count, tally *t)
{
    for (uint64_t seed = from; seed < from + count; seed++) {
        unsigned fail = run_forked(seed, t->traces_left > 0);
        t->runs++;
        if (fail == 0)
            continue;
        t->failed++;
        if (t->traces_left > 0)
            t->traces_left--;
        printf("FAIL seed %llu:", (unsigned long long)seed);
        for (int c = 0; c < 6; c++) {
            if (fail & (1u << c)) {
                printf(" %s", class_names[c]);
                if (t->by_class[c]++ == 0)
                    t->first[c] = seed;
            }
        }
        printf("\n");
        fflush(stdout);
    }
}

static void print_tally(const tally *t)
{
    for (int c = 0; c < 6; c++)
        if (t->by_class[c] > 0)
            printf("  %-18s %llu seeds (first: %llu)\n", class_names[c],
                   (unsigned long long)t->by_class[c], (unsigned long long)t->first[c]);
    printf("%llu passed, %llu failed\n", (unsigned long long)(t->runs - t->failed),
           (unsigned long long)t->failed);
}

static void cleanup(void)
{
    sim_world_free(&world);
    rmdir(dir);
}

static void test_sim_schedules__every_edit_kept_and_devices_converge(void **state)
{
    (void)state;
    tally t = {.traces_left = 1};
    run_range(1, SIM_CI_SEEDS, &t);
    print_tally(&t);
    assert_int_equal(t.failed, 0);
}

static int build(void)
{
    vault_init();
    if (sim_world_build(&world, work_dir()) != VAULT_OK) {
        fprintf(stderr, "sim: cannot build the template world\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, from = 1, count = 0;
    int single = 0, traces = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
            single = 1;
        } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            from = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--traces") == 0 && i + 1 < argc) {
            traces = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--seed N | --from A --count K [--traces M]]\n",
                    argv[0]);
            return 2;
        }
    }
    if (build() != 0)
        return 1;
    int rc = 0;
    if (single) {
        sim_trace trace = {0};
        unsigned fail = sim_run(&world, seed, &trace);
        fputs(trace.text != NULL ? trace.text : "", stdout);
        sim_trace_free(&trace);
        rc = fail != 0;
    } else if (count > 0) {
        tally t = {.traces_left = traces};
        run_range(from, count, &t);
        print_tally(&t);
        rc = t.failed != 0;
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sim_schedules__every_edit_kept_and_devices_converge),
        };
        rc = cmocka_run_group_tests_name("sim", tests, NULL, NULL);
    }
    cleanup();
    return rc;
}

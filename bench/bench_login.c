/*
 * bench_login: the CPU time of one password login on a device that already
 * holds the account (vault_client_login on its own store, an in-process
 * server), at the default Argon2id costs (3 passes, 64 MiB). The thread's
 * CPU time covers the client and the in-process server; Argon2id dominates.
 *
 *   bench_login [--runs N]      (default 11; prints median, min and max)
 *
 * Public API only, so that the same source measures an older library too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vault.h"

#define EMAIL "bench-login@example.org"
#define PASSWORD "bench login password"

static double now(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check(int rc, const char *what)
{
    if (rc != VAULT_OK) {
        fprintf(stderr, "bench_login: %s: %s (%s)\n", what, vault_strerror(rc), vault_last_error());
        exit(1);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = 11;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]);
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: bench_login [--runs N]\n");
        return 2;
    }
    check(vault_init(), "init");
    char dir[] = "/tmp/zkvault-bench-login-XXXXXX", server_db[96], store[96];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(server_db, sizeof server_db, "%s/server.db", dir);
    snprintf(store, sizeof store, "%s/device.db", dir);
    static const uint8_t pepper[32] = "bench-login-pepper-32-bytes-long";
    vault_server *s = NULL;
    vault_client *c = NULL;
    check(vault_server_open(&s, server_db, pepper, sizeof pepper, 0), "server");
    check(vault_client_open(&c, store, 0), "client");
    check(vault_client_connect_local(c, s), "connect");
    check(vault_client_create(c, PASSWORD, 0, 0), "create");
    check(vault_client_register(c, EMAIL), "register");
    double *cpu = calloc((size_t)runs, sizeof *cpu), *wall = calloc((size_t)runs, sizeof *wall);
    if (cpu == NULL || wall == NULL)
        return 1;
    for (int i = 0; i < runs; i++) {
        vault_client_lock(c);
        double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
        check(vault_client_login(c, EMAIL, PASSWORD), "login");
        cpu[i] = now(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall[i] = now(CLOCK_MONOTONIC) - w0;
    }
    qsort(cpu, (size_t)runs, sizeof *cpu, cmp);
    qsort(wall, (size_t)runs, sizeof *wall, cmp);
    printf("%s login on a known device, %d runs: CPU median %.1f ms (min %.1f, max %.1f); "
           "wall median %.1f ms\n",
           vault_version(), runs, 1e3 * cpu[runs / 2], 1e3 * cpu[0], 1e3 * cpu[runs - 1],
           1e3 * wall[runs / 2]);
    vault_client_close(c);
    vault_server_close(s);
    free(cpu);
    free(wall);
    return 0;
}

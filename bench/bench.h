/*
 * Helpers shared by the benchmark programs (header-only: CMake builds one
 * executable per .c file in bench/). Timing, medians, a seeded PRNG, memory readings
 * from /proc and the machine description printed at the top of each report.
 *
 * Benchmarks report ratios against a baseline measured in the same run,
 * because these machines are noisy: absolute times are printed for context.
 */
#ifndef VAULT_BENCH_H
#define VAULT_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The clock of bench_now(): CLOCK_MONOTONIC (wall) by default; a program may
 * switch to CLOCK_THREAD_CPUTIME_ID when the machine is shared and busy, so
 * that time spent descheduled does not count (single-threaded work only). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place and returns its q-quantile (0..1), nearest rank. */
static inline double bench_quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    double pos = q * (double)(n - 1) + 0.5;
    size_t i = (size_t)pos;
    return v[i < n ? i : n - 1];
}

static inline double bench_median(double *v, size_t n)
{
    return bench_quantile(v, n, 0.5);
}

/* xoshiro256** seeded by splitmix64: deterministic across runs and machines. */
typedef struct bench_rng {
    uint64_t s[4];
} bench_rng;

static inline uint64_t bench_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void bench_rng_seed(bench_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = bench_splitmix(&seed);
}

static inline uint64_t bench_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = bench_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = bench_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static inline size_t bench_rng_below(bench_rng *r, size_t n)
{
    return (size_t)(bench_rng_next(r) % (uint64_t)n);
}

/* A "Key:   123 kB" line of /proc/self/status in KiB, or -1. */
static inline long bench_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    size_t n = strlen(key);
    long v = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets the peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0).
 * Returns 0 on success, -1 if the kernel refused. */
static inline int bench_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return -1;
    int ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Prints nproc, the CPU model and the memory, for the report. */
static inline void bench_print_machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        char line[512];
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "model name", 10) == 0) {
                const char *c = strchr(line, ':');
                if (c != NULL) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        }
        fclose(f);
    }
    long mem_kib = -1;
    f = fopen("/proc/meminfo", "r");
    if (f != NULL) {
        char line[256];
        if (fgets(line, sizeof line, f) != NULL && strncmp(line, "MemTotal:", 9) == 0)
            mem_kib = strtol(line + 9, NULL, 10);
        fclose(f);
    }
    printf("machine: %ld online CPUs, CPU \"%s\", %.1f GiB RAM\n", sysconf(_SC_NPROCESSORS_ONLN),
           model, (double)mem_kib / (1024.0 * 1024.0));
}

/* Prints /proc/loadavg: a busy machine explains noisy numbers. */
static inline void bench_print_load(const char *when)
{
    char line[128] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            snprintf(line, sizeof line, "unknown");
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("load average %s: %s\n", when, line);
}

#endif

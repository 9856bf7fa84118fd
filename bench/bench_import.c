/*
 * bench_import: importing an N-item Bitwarden JSON export (vault_import into
 * an empty vault) against opening and saving an N-item vault (vault_open +
 * vault_seal of the same items), measured alternately in the same run.
 * Target (issue 17): import ≤ 2× open+save at 10,000 items.
 *
 * The items are bench/items.h's realistic logins (title, username, 20-char
 * password, URL, ~100 words of notes, 0..2 tags); the export has them as
 * Bitwarden writes them (folder from the first tag, one URI, dates).
 * "import+save" also seals the imported vault, for context.
 *
 * Usage: bench_import [--items N] [--rounds N] [--wall]
 *   (default 10000 items, 11 rounds, thread CPU time: the machine is shared)
 */
#include <sodium.h>

#include "bench.h"
#include "items.h"
#include "vault.h"

#define ACCOUNT_ID "00112233445566778899aabbccddeeff"
#define MAX_ROUNDS 64

static const uint8_t key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

static void check(int rc, const char *what)
{
    if (rc != VAULT_OK) {
        fprintf(stderr, "bench_import: %s: %s (%s)\n", what, vault_strerror(rc),
                vault_last_error());
        exit(1);
    }
}

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    while (t->len + n + 1 > t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1 << 20;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL) {
            perror("bench_import");
            exit(1);
        }
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
}

/* The N items as a Bitwarden unencrypted JSON export. */
static text bitwarden_export(size_t n)
{
    text t = {0};
    char buf[4096];
    put(&t, "{\n  \"encrypted\": false,\n  \"folders\": [");
    for (size_t k = 0; k < BENCH_COUNT(bench_tags); k++) {
        snprintf(buf, sizeof buf, "%s\n    {\"id\": \"00000000-0000-4000-8000-%012zu\", \"name\": \"%s\"}",
                 k ? "," : "", k + 1, bench_tags[k]);
        put(&t, buf);
    }
    put(&t, "\n  ],\n  \"items\": [");
    for (size_t i = 0; i < n; i++) {
        bench_item it;
        bench_make_item(&it, i, 0);
        char folder[64] = "null";
        for (size_t k = 0; it.ntags > 0 && k < BENCH_COUNT(bench_tags); k++)
            if (strcmp(bench_tags[k], it.tags[0]) == 0)
                snprintf(folder, sizeof folder, "\"00000000-0000-4000-8000-%012zu\"", k + 1);
        snprintf(buf, sizeof buf,
                 "%s\n    {\"passwordHistory\": null, \"revisionDate\": \"2024-03-01T10:00:00.000Z\","
                 " \"creationDate\": \"2023-01-01T10:00:00.000Z\", \"deletedDate\": null,"
                 " \"id\": \"%.8s-%.4s-%.4s-%.4s-%.12s\", \"organizationId\": null,"
                 " \"folderId\": %s, \"type\": 1, \"reprompt\": 0, \"name\": \"%s\","
                 " \"notes\": \"%s\", \"favorite\": false,"
                 " \"login\": {\"fido2Credentials\": [], \"uris\": [{\"match\": null, \"uri\": \"%s\"}],"
                 " \"username\": \"%s\", \"password\": \"%s\", \"totp\": null},"
                 " \"collectionIds\": null}",
                 i ? "," : "", it.id, it.id + 8, it.id + 12, it.id + 16, it.id + 20, folder,
                 it.title, it.notes, it.url, it.username, it.password);
        put(&t, buf);
    }
    put(&t, "\n  ]\n}\n");
    return t;
}

/* The same items sealed as a vault blob. */
static uint8_t *sealed_vault(size_t n, size_t *len)
{
    vault *v = NULL;
    check(vault_new(&v), "vault_new");
    char json[4096];
    for (size_t i = 0; i < n; i++) {
        bench_item it;
        bench_make_item(&it, i, 0);
        if (bench_item_json(json, sizeof json, &it) == 0)
            check(VAULT_E_LIMIT, "item JSON");
        check(vault_item_add(v, json, NULL), "vault_item_add");
    }
    uint8_t *blob = NULL;
    check(vault_seal(v, key, ACCOUNT_ID, 1, &blob, len), "vault_seal");
    vault_close(v);
    return blob;
}

static double open_save(const uint8_t *blob, size_t blob_len)
{
    vault *v = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    double t0 = bench_now();
    check(vault_open(&v, key, ACCOUNT_ID, 1, blob, blob_len), "vault_open");
    check(vault_seal(v, key, ACCOUNT_ID, 2, &out, &out_len), "vault_seal");
    double t1 = bench_now();
    vault_free(out);
    vault_close(v);
    return t1 - t0;
}

/* Import alone, and import followed by sealing the result. */
static void import(const text *t, size_t n, double *alone, double *with_save)
{
    vault *v = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char *report = NULL;
    check(vault_new(&v), "vault_new");
    double t0 = bench_now();
    check(vault_import(v, "bitwarden-json", (const uint8_t *)t->p, t->len, NULL, 0, &report),
          "vault_import");
    double t1 = bench_now();
    check(vault_seal(v, key, ACCOUNT_ID, 1, &out, &out_len), "vault_seal");
    double t2 = bench_now();
    uint64_t count = 0;
    check(vault_item_count(v, &count), "vault_item_count");
    if (count != n) {
        fprintf(stderr, "bench_import: imported %llu of %zu items\n", (unsigned long long)count, n);
        exit(1);
    }
    *alone = t1 - t0;
    *with_save = t2 - t0;
    vault_free(report);
    vault_free(out);
    vault_close(v);
}

int main(int argc, char **argv)
{
    size_t n = 10000;
    int rounds = 11;
    bench_clock = CLOCK_THREAD_CPUTIME_ID;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--items") == 0 && i + 1 < argc)
            n = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wall") == 0)
            bench_clock = CLOCK_MONOTONIC;
        else {
            fprintf(stderr, "usage: bench_import [--items N] [--rounds N] [--wall]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n == 0) {
        fprintf(stderr, "bench_import: 1..%d rounds, at least 1 item\n", MAX_ROUNDS);
        return 2;
    }
    if (vault_init() != VAULT_OK)
        return 1;
    bench_print_machine();
    bench_print_load("at start");
    text export = bitwarden_export(n);
    size_t blob_len = 0;
    uint8_t *blob = sealed_vault(n, &blob_len);
    printf("items %zu, Bitwarden JSON %.2f MB, vault blob %.2f MB, %d rounds, %s\n", n,
           (double)export.len / 1e6, (double)blob_len / 1e6, rounds,
           bench_clock == CLOCK_MONOTONIC ? "wall time" : "thread CPU time");
    double base[MAX_ROUNDS], imp[MAX_ROUNDS], imp_save[MAX_ROUNDS];
    double ratio[MAX_ROUNDS], ratio_save[MAX_ROUNDS];
    open_save(blob, blob_len); /* warm-up: first-touch page faults */
    for (int r = 0; r < rounds; r++) {
        /* Alternate the order so that drift hits both alike. */
        if (r % 2 == 0) {
            base[r] = open_save(blob, blob_len);
            import(&export, n, &imp[r], &imp_save[r]);
        } else {
            import(&export, n, &imp[r], &imp_save[r]);
            base[r] = open_save(blob, blob_len);
        }
        ratio[r] = imp[r] / base[r];
        ratio_save[r] = imp_save[r] / base[r];
    }
    double mb = bench_median(base, (size_t)rounds), mi = bench_median(imp, (size_t)rounds);
    double ms = bench_median(imp_save, (size_t)rounds);
    printf("open+save (baseline)  median %8.1f ms\n", mb * 1e3);
    printf("import                median %8.1f ms\n", mi * 1e3);
    printf("import+save           median %8.1f ms\n", ms * 1e3);
    double r_lo = bench_quantile(ratio, (size_t)rounds, 0.0);
    double r_hi = bench_quantile(ratio, (size_t)rounds, 1.0);
    double r_med = bench_median(ratio, (size_t)rounds);
    double s_lo = bench_quantile(ratio_save, (size_t)rounds, 0.0);
    double s_hi = bench_quantile(ratio_save, (size_t)rounds, 1.0);
    double s_med = bench_median(ratio_save, (size_t)rounds);
    printf("ratio import / open+save       median %.2fx (min %.2f, max %.2f)\n", r_med, r_lo, r_hi);
    printf("ratio import+save / open+save  median %.2fx (min %.2f, max %.2f)\n", s_med, s_lo,
           s_hi);
    printf("target: import <= 2x open+save at 10k items: %s\n", r_med <= 2.0 ? "MET" : "MISSED");
    bench_print_load("at end");
    sodium_memzero(export.p, export.len);
    free(export.p);
    vault_free(blob);
    return 0;
}

/* vault_audit: weak, reused, old and breached secrets, and the offline
 * breach-file search against small generated Pwned Passwords files. */
#include <cjson/cJSON.h>
#include <nettle/sha1.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "testutil.h"

#define T0 1700000000000LL
#define DAY 86400000LL

static void sha1_hex(const char *s, char out[41])
{
    struct sha1_ctx ctx;
    uint8_t d[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(s), (const uint8_t *)s);
    sha1_digest(&ctx, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(out + 2 * i, 3, "%02X", d[i]);
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted file of `filler` random hashes plus "HASH:COUNT" for each of the
 * given passwords, with eol "\r\n" or "\n". Returns its path (static). */
static const char *breach_file(const char *name, size_t filler, const char *const *passwords,
                               const unsigned *counts, size_t n, const char *eol)
{
    const char *path = test_path(name);
    char **lines = calloc(filler + n, sizeof *lines);
    assert_non_null(lines);
    for (size_t i = 0; i < filler + n; i++) {
        char hex[41];
        lines[i] = malloc(64);
        assert_non_null(lines[i]);
        if (i < n) {
            sha1_hex(passwords[i], hex);
            snprintf(lines[i], 64, "%s:%u", hex, counts[i]);
        } else {
            uint8_t r[20];
            randombytes_buf(r, sizeof r);
            for (size_t k = 0; k < 20; k++)
                snprintf(hex + 2 * k, 3, "%02X", r[k]);
            snprintf(lines[i], 64, "%s:%u", hex, 1 + (unsigned)(i % 97));
        }
    }
    qsort(lines, filler + n, sizeof *lines, line_cmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < filler + n; i++) {
        fprintf(f, "%s%s", lines[i], eol);
        free(lines[i]);
    }
    fclose(f);
    free(lines);
    return path;
}

static void add(vault *v, const char *title, const char *password)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"type\":\"login\",\"title\":\"%s\",\"fields\":[{\"name\":\"user\",\"value\":"
             "\"ada\",\"hidden\":false},{\"name\":\"password\",\"value\":\"%s\",\"hidden\":true}]}",
             title, password);
    assert_int_equal(vault_item_add(v, json, NULL), VAULT_OK);
}

static cJSON *audit(const vault *v, const char *breach, uint32_t old_days)
{
    char *json = NULL;
    int rc = vault_audit(v, breach, old_days, &json);
    if (rc != VAULT_OK)
        fprintf(stderr, "audit: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    assert_null(strstr(json, "hunter2"));
    assert_null(strstr(json, "Xk#9vQ!mZr2$wLp7&Tb4"));
    cJSON *report = cJSON_Parse(json);
    vault_free(json);
    assert_non_null(report);
    return report;
}

static double summary(const cJSON *report, const char *key)
{
    const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(report, "summary"), key);
    assert_non_null(n);
    return n->valuedouble;
}

static const cJSON *finding_for(const cJSON *report, const char *title)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(report, "findings"))
        if (strcmp(cJSON_GetObjectItem(f, "title")->valuestring, title) == 0)
            return f;
    return NULL;
}

static void test_audit_report__weak_reused_old_breached(void **state)
{
    (void)state;
    vault *v = NULL;
    vault__set_clock_for_tests(T0);
    assert_int_equal(vault_new(&v), VAULT_OK);
    add(v, "Strong", "Xk#9vQ!mZr2$wLp7&Tb4");
    add(v, "Mail", "hunter2");
    add(v, "Forum", "hunter2");
    add(v, "Bank", "correct-horse-battery-staple-quantum-7");
    vault__set_clock_for_tests(T0 + 400 * DAY);
    add(v, "Recent", "Pq8$Lm2@Vn6!Zx4#Rt0&");
    const char *pw[] = {"hunter2", "correct-horse-battery-staple-quantum-7"};
    const unsigned counts[] = {17043, 3};
    const char *path = breach_file("pwned.txt", 20000, pw, counts, 2, "\r\n");
    cJSON *r = audit(v, path, 365);
    assert_int_equal((int)summary(r, "checked"), 5);
    assert_int_equal((int)summary(r, "weak"), 2);
    assert_int_equal((int)summary(r, "reused"), 2);
    assert_int_equal((int)summary(r, "old"), 4);
    assert_int_equal((int)summary(r, "breached"), 3);
    const cJSON *mail = finding_for(r, "Mail");
    assert_non_null(mail);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(mail, "weak")));
    assert_int_equal((int)cJSON_GetObjectItem(mail, "reused")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(mail, "breached")->valuedouble, 17043);
    assert_int_equal((int)cJSON_GetObjectItem(mail, "age_days")->valuedouble, 400);
    assert_string_equal(cJSON_GetObjectItem(mail, "field")->valuestring, "password");
    const cJSON *bank = finding_for(r, "Bank");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(bank, "weak")));
    assert_int_equal((int)cJSON_GetObjectItem(bank, "breached")->valuedouble, 3);
    assert_null(finding_for(r, "Recent")); /* strong, unique, new, not breached */
    cJSON_Delete(r);
    /* Without a breach file and with old_days 0: no breach data, nothing old. */
    r = audit(v, NULL, 0);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "summary"), "breached"));
    assert_int_equal((int)summary(r, "old"), 0);
    assert_null(finding_for(r, "Strong"));
    assert_null(finding_for(r, "Bank"));
    cJSON_Delete(r);
    vault_close(v);
    vault__set_clock_for_tests(0);
}

/* The binary search finds the first and last lines, works with LF files and
 * tiny files, and misses what is not there. */
static void test_audit_breach__search_edges(void **state)
{
    (void)state;
    static const char *const pws[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    static const unsigned counts[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const size_t fillers[] = {0, 3, 50000};
    for (size_t k = 0; k < 3; k++) {
        const char *path = breach_file("edges.txt", fillers[k], pws, counts, 8,
                                       k == 1 ? "\r\n" : "\n");
        vault *v = NULL;
        assert_int_equal(vault_new(&v), VAULT_OK);
        for (size_t i = 0; i < 8; i++)
            add(v, pws[i], pws[i]);
        add(v, "absent", "zzzzzz"); /* weak, so it is listed, with breached 0 */
        cJSON *r = audit(v, path, 0);
        for (size_t i = 0; i < 8; i++) {
            const cJSON *f = finding_for(r, pws[i]);
            assert_non_null(f);
            assert_int_equal((int)cJSON_GetObjectItem(f, "breached")->valuedouble, (int)counts[i]);
        }
        assert_int_equal((int)cJSON_GetObjectItem(finding_for(r, "absent"), "breached")->valuedouble, 0);
        cJSON_Delete(r);
        vault_close(v);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_audit_breach__refuses_bad_files(void **state)
{
    (void)state;
    vault *v = NULL;
    char *json = (char *)"unchanged";
    const char *path = test_path("missing.txt");
    assert_int_equal(vault_new(&v), VAULT_OK);
    add(v, "x", "hunter2");
    assert_int_equal(vault_audit(v, path, 0, &json), VAULT_E_IO);
    assert_null(json);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", test_path("x"));
    dir[strlen(dir) - 2] = '\0';
    assert_int_equal(vault_audit(v, dir, 0, &json), VAULT_E_IO); /* a directory */
    path = test_path("bad.txt");
    write_file(path, "not a hash\n");
    assert_int_equal(vault_audit(v, path, 0, &json), VAULT_E_INVALID);
    assert_non_null(strstr(vault_last_error(), "malformed line at byte 0"));
    write_file(path, "0000000000000000000000000000000000000000:x\n");
    assert_int_equal(vault_audit(v, path, 0, &json), VAULT_E_INVALID);
    write_file(path, "F3BBBD66A63D4BF1747940578EC3D0103530E21D\n"); /* hunter2, no count */
    assert_int_equal(vault_audit(v, path, 0, &json), VAULT_E_INVALID);
    /* An empty file is a valid (empty) list. */
    write_file(path, "");
    assert_int_equal(vault_audit(v, path, 0, &json), VAULT_OK);
    vault_free(json);
    assert_int_equal(vault_audit(NULL, NULL, 0, &json), VAULT_E_INVALID);
    assert_int_equal(vault_audit(v, NULL, 0, NULL), VAULT_E_INVALID);
    vault_close(v);
}

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_report__weak_reused_old_breached),
        cmocka_unit_test(test_audit_breach__search_edges),
        cmocka_unit_test(test_audit_breach__refuses_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Library basics: init, version, status strings, output memory, hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/common.h"
#include "testutil.h"

static void test_common_init__is_idempotent(void **state)
{
    (void)state;
    assert_int_equal(vault_init(), VAULT_OK);
    assert_int_equal(vault_init(), VAULT_OK);
    assert_string_equal(vault_version(), VAULT_VERSION_STRING);
}

static void test_common_strerror__names_every_code(void **state)
{
    (void)state;
    for (int code = VAULT_E_INVALID; code >= VAULT_E_INTERNAL; code--)
        assert_string_not_equal(vault_strerror(code), "unknown error");
    assert_string_equal(vault_strerror(-999), "unknown error");
    assert_string_equal(vault_strerror(VAULT_OK), "ok");
}

/* Every VAULT_E_* the header defines has a name (new codes too), and the
 * header's text for VAULT_E_AUTH is the one vault_strerror gives. */
static void test_common_strerror__matches_the_header(void **state)
{
    (void)state;
    size_t len = 0;
    char *header = (char *)test_read_file(VAULT_TEST_SOURCE_DIR "/include/vault.h", &len);
    assert_non_null(header);
    int codes = 0;
    for (const char *p = strstr(header, "#define VAULT_E_"); p != NULL;
         p = strstr(p + 1, "#define VAULT_E_")) {
        const char *open = strstr(p, "(-");
        assert_non_null(open);
        int code = -atoi(open + 2);
        assert_true(code < 0);
        assert_string_not_equal(vault_strerror(code), "unknown error");
        codes++;
    }
    assert_true(codes >= 24);
    char expected[128];
    snprintf(expected, sizeof expected, "(-3)         /* %s */", vault_strerror(VAULT_E_AUTH));
    assert_non_null(strstr(header, expected));
    snprintf(expected, sizeof expected, "(\"%s\"", vault_strerror(VAULT_E_AUTH));
    char *example = strstr(header, "A static English name for a status code");
    assert_non_null(example);
    /* The example in vault_strerror's comment may wrap: compare without
     * line breaks and comment stars. */
    char flat[256] = {0};
    size_t n = 0;
    for (const char *q = example; *q != '\0' && *q != ')' && n + 1 < sizeof flat; q++) {
        if (*q == '\n') {
            while (q[1] == ' ' || q[1] == '*')
                q++;
            flat[n++] = ' ';
        } else {
            flat[n++] = *q;
        }
    }
    assert_non_null(strstr(flat, expected));
    free(header);
}

static void test_common_last_error__keeps_detail_per_thread(void **state)
{
    (void)state;
    vault__clear_error();
    assert_string_equal(vault_last_error(), "");
    assert_int_equal(vault__fail(VAULT_E_CORRUPT, "bad %s", "magic"), VAULT_E_CORRUPT);
    assert_string_equal(vault_last_error(), "bad magic");
    char buf[VAULT_ERRMSG_MAX];
    assert_int_equal(vault__capture(buf, VAULT_E_CORRUPT), VAULT_E_CORRUPT);
    assert_string_equal(buf, "bad magic");
}

static void test_common_memory__out_buffers_roundtrip(void **state)
{
    (void)state;
    char *s = vault__out_dup("hello", 5);
    assert_non_null(s);
    assert_string_equal(s, "hello");
    vault_free(s);
    vault_free(NULL);
    uint8_t *m = vault_malloc(0);
    assert_non_null(m);
    vault_free(m);
}

static void test_common_memory__injected_failure_hits_nth(void **state)
{
    (void)state;
    vault__alloc_fail_after(2);
    void *a = vault__malloc(8);
    void *b = vault__malloc(8);
    void *c = vault__malloc(8);
    vault__alloc_fail_after(0);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    vault__free(a);
    vault__free(c);
}

static void test_common_hex__strict(void **state)
{
    (void)state;
    uint8_t bin[2];
    char hex[5];
    assert_int_equal(vault__hex2bin(bin, 2, "0aFf"), VAULT_OK);
    assert_int_equal(bin[0], 0x0a);
    assert_int_equal(bin[1], 0xff);
    vault__bin2hex(hex, bin, 2);
    assert_string_equal(hex, "0aff");
    assert_int_equal(vault__hex2bin(bin, 2, "0aF"), VAULT_E_INVALID);
    assert_int_equal(vault__hex2bin(bin, 2, "0aFg"), VAULT_E_INVALID);
    assert_int_equal(vault__hex2bin(bin, 2, "0aFf00"), VAULT_E_INVALID);
    assert_int_equal(vault__hex2bin(bin, 2, NULL), VAULT_E_INVALID);
}

static void test_common_json__parse_is_strict(void **state)
{
    (void)state;
    struct cJSON *j = NULL;
    const char *ok = "{\"a\":1}  \n";
    assert_int_equal(vault__json_parse(ok, strlen(ok), &j), VAULT_OK);
    uint64_t v = 0;
    assert_int_equal(vault__json_u64(j, "a", "test", &v), VAULT_OK);
    assert_int_equal(v, 1);
    const char *s = NULL;
    assert_int_equal(vault__json_string(j, "a", "test", &s), VAULT_E_INVALID);
    assert_non_null(strstr(vault_last_error(), "\"a\""));
    cJSON_Delete(j);
    const char *bad[] = {"{\"a\":1} x", "{\"a\":", "", "[1,2", "{\"a\":1}{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(vault__json_parse(bad[i], strlen(bad[i]), &j), VAULT_E_INVALID);
        assert_null(j);
    }
}

/* Abuse case A7 (docs/security.md): in a child, so the test process keeps
 * its own settings. The child reports what the kernel then says: not
 * dumpable (prctl) and a core size limit of 0, soft and hard (getrlimit). */
static void test_common_process__a7_harden_disables_core_dumps(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {1, 1};
        int bad = 0;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
            bad |= 1; /* it must start dumpable, or the check below means nothing */
        if (vault_process_harden() != VAULT_OK)
            bad |= 2;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
            bad |= 4;
        if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
            bad |= 8;
        _exit(bad);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_common_bytes__big_endian(void **state)
{
    (void)state;
    uint8_t b[8];
    vault__store64_be(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[7], 8);
    assert_true(vault__load64_be(b) == 0x0102030405060708ull);
    vault__store32_be(b, 0xa1b2c3d4u);
    assert_int_equal(b[0], 0xa1);
    assert_int_equal(vault__load32_be(b), 0xa1b2c3d4u);
}

static void test_common_base64__roundtrip_and_strict(void **state)
{
    (void)state;
    const uint8_t data[5] = {0, 1, 2, 0xfe, 0xff};
    char *b64 = NULL;
    assert_int_equal(vault__base64_encode(data, sizeof data, &b64), VAULT_OK);
    assert_string_equal(b64, "AAEC/v8=");
    uint8_t *bin = NULL;
    size_t len = 0;
    assert_int_equal(vault__base64_decode(b64, 16, &bin, &len), VAULT_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(bin, data, 5);
    vault_free(bin);
    assert_int_equal(vault__base64_decode(b64, 4, &bin, &len), VAULT_E_LIMIT);
    assert_null(bin);
    vault_free(b64);
    const char *bad[] = {"AAEC/v8", "AAEC/v8=x", "AA!C", "AAEC-v8="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vault__base64_decode(bad[i], 64, &bin, &len), VAULT_E_INVALID);
    assert_int_equal(vault__base64_encode(data, 0, &b64), VAULT_OK);
    assert_string_equal(b64, "");
    vault_free(b64);
}

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_init__is_idempotent),
        cmocka_unit_test(test_common_strerror__names_every_code),
        cmocka_unit_test(test_common_strerror__matches_the_header),
        cmocka_unit_test(test_common_last_error__keeps_detail_per_thread),
        cmocka_unit_test(test_common_memory__out_buffers_roundtrip),
        cmocka_unit_test(test_common_memory__injected_failure_hits_nth),
        cmocka_unit_test(test_common_hex__strict),
        cmocka_unit_test(test_common_json__parse_is_strict),
        cmocka_unit_test(test_common_bytes__big_endian),
        cmocka_unit_test(test_common_process__a7_harden_disables_core_dumps),
        cmocka_unit_test(test_common_base64__roundtrip_and_strict),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}

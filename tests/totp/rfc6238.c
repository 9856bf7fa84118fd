/* vault_totp_*: RFC 6238 Appendix B vectors (SHA-1, SHA-256, SHA-512, 8
 * digits), otpauth:// parameters, bare base32 secrets and every refusal. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* RFC 4648 base32 with padding, written here so the test does not trust the
 * library's decoder to check itself. */
static void base32(const char *in, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t len = strlen(in), o = 0, bits = 0;
    unsigned buffer = 0;
    for (size_t i = 0; i < len; i++) {
        buffer = (buffer << 8) | (unsigned char)in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(buffer << (5 - bits)) & 31];
    while (o % 8 != 0)
        out[o++] = '=';
    out[o] = '\0';
}

static void expect_code(const char *totp, uint64_t t, const char *code, uint32_t left)
{
    char *got = NULL;
    uint32_t got_left = 0;
    int rc = vault_totp_code(totp, t, &got, &got_left);
    if (rc != VAULT_OK)
        fprintf(stderr, "%s at %llu: %s\n", totp, (unsigned long long)t, vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    assert_string_equal(got, code);
    assert_int_equal(got_left, left);
    vault_free(got);
}

static void test_totp_rfc6238__appendix_b_vectors(void **state)
{
    (void)state;
    static const char *const seeds[3] = {
        "12345678901234567890", "12345678901234567890123456789012",
        "1234567890123456789012345678901234567890123456789012345678901234"};
    static const char *const algs[3] = {"SHA1", "SHA256", "SHA512"};
    static const struct {
        uint64_t t;
        const char *codes[3];
    } vectors[] = {
        {59u, {"94287082", "46119246", "90693936"}},
        {1111111109u, {"07081804", "68084774", "25091201"}},
        {1111111111u, {"14050471", "67062674", "99943326"}},
        {1234567890u, {"89005924", "91819424", "93441116"}},
        {2000000000u, {"69279037", "90698825", "38618901"}},
        {20000000000u, {"65353130", "77737706", "47863826"}},
    };
    for (size_t a = 0; a < 3; a++) {
        char b32[160], uri[320];
        base32(seeds[a], b32);
        snprintf(uri, sizeof uri, "otpauth://totp/RFC:test?secret=%s&algorithm=%s&digits=8"
                 "&period=30&issuer=RFC", b32, algs[a]);
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
            expect_code(uri, vectors[i].t, vectors[i].codes[a],
                        30u - (uint32_t)(vectors[i].t % 30u));
    }
}

static void test_totp_rfc6238__bare_secret_defaults_and_spelling(void **state)
{
    (void)state;
    char b32[64];
    base32("12345678901234567890", b32);
    /* SHA-1, 6 digits, 30 s: the last 6 digits of the 8-digit vector. */
    expect_code(b32, 59, "287082", 1);
    expect_code("gezd gnbv gy3t qojq gezd-gnbv gy3t qojq", 1111111109, "081804", 1);
    expect_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1111111111, "050471", 29);
    /* Scheme and keys in any case, parameters in any order, 7 digits, 60 s
     * (t = 119 is step 1, as t = 59 is with 30 s). */
    expect_code("OTPAUTH://TOTP/x?Digits=7&SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=60",
                119, "4287082", 1);
    /* A percent-escaped secret (some exporters escape every byte). */
    expect_code("otpauth://totp/x?secret=%47EZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59, "287082", 1);
    assert_int_equal(vault_totp_check(b32), VAULT_OK);
}

static void expect_refused(const char *totp, int code, const char *needle)
{
    char *got = (char *)"unchanged";
    uint32_t left = 0;
    assert_int_equal(vault_totp_check(totp), code);
    assert_int_equal(vault_totp_code(totp, 59, &got, &left), code);
    assert_null(got);
    if (needle != NULL && strstr(vault_last_error(), needle) == NULL)
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", needle, vault_last_error());
    assert_non_null(strstr(vault_last_error(), needle));
}

static const char *vt_long_base32(void)
{
    static char s[1100];
    memset(s, 'A', 1025);
    s[1025] = '\0';
    return s;
}

static void test_totp_rfc6238__refuses_bad_secrets(void **state)
{
    (void)state;
    expect_refused("", VAULT_E_INVALID, "empty");
    expect_refused("A", VAULT_E_INVALID, "empty");
    expect_refused("GEZDGNBV1", VAULT_E_INVALID, "not base32");
    expect_refused("otpauth://hotp/x?secret=GEZDGNBV&counter=1", VAULT_E_INVALID, "otpauth://totp/");
    expect_refused("otpauth://totp/x", VAULT_E_INVALID, "no \"secret\"");
    expect_refused("otpauth://totp/x?issuer=a", VAULT_E_INVALID, "no \"secret\"");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&secret=GEZDGNBV", VAULT_E_INVALID, "twice");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&algorithm=MD5", VAULT_E_INVALID, "algorithm");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&digits=5", VAULT_E_INVALID, "digits");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&digits=9", VAULT_E_INVALID, "digits");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&digits=", VAULT_E_INVALID, "digits");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&period=0", VAULT_E_INVALID, "period");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&period=86401", VAULT_E_INVALID, "period");
    expect_refused("otpauth://totp/x?secret=GEZDGNBV&period=-1", VAULT_E_INVALID, "period");
    expect_refused("otpauth://totp/x?secret=GEZ%G1", VAULT_E_INVALID, "not base32");
    expect_refused("otpauth://totp/x?secret=GEZ%4", VAULT_E_INVALID, "not base32");
    expect_refused(vt_long_base32(), VAULT_E_LIMIT, "longer than 1024");
    char *code = NULL;
    uint32_t left;
    assert_int_equal(vault_totp_code(NULL, 0, &code, &left), VAULT_E_INVALID);
    assert_int_equal(vault_totp_code("GEZDGNBV", 0, NULL, &left), VAULT_E_INVALID);
    assert_int_equal(vault_totp_code("GEZDGNBV", 0, &code, NULL), VAULT_E_INVALID);
    assert_int_equal(vault_totp_check(NULL), VAULT_E_INVALID);
}

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totp_rfc6238__appendix_b_vectors),
        cmocka_unit_test(test_totp_rfc6238__bare_secret_defaults_and_spelling),
        cmocka_unit_test(test_totp_rfc6238__refuses_bad_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

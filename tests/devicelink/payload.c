/* The QR payload URI: round trip, and a corpus of garbage that must be
 * refused with the right code and never crash. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"
#include "suites.h"
#include "testutil.h"

static const char GOOD[] =
    "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
    "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A";

static void sample(vault_devicelink_payload *p, uint8_t role)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    for (uint8_t i = 0; i < sizeof p->link_id; i++)
        p->link_id[i] = (uint8_t)(0xa0 + i);
    test_key(p->shower_pk, 0x10);
    test_key(p->secret, 0x81);
}

static void test_devicelink_payload__roundtrip_both_roles(void **state)
{
    (void)state;
    const uint8_t roles[2] = {VAULT_DEVICELINK_OFFER, VAULT_DEVICELINK_REVERSE};
    for (size_t r = 0; r < 2; r++) {
        vault_devicelink_payload in, out;
        char *uri = NULL;
        sample(&in, roles[r]);
        assert_int_equal(vault_devicelink__payload_format(&uri, &in), VAULT_OK);
        assert_int_equal(strlen(uri), VAULT_DEVICELINK_URI_LEN);
        assert_int_equal(vault_devicelink__payload_parse(&out, uri), VAULT_OK);
        assert_int_equal(out.role, roles[r]);
        assert_memory_equal(&in, &out, sizeof in);
        vault_free(uri);
    }
}

static void test_devicelink_payload__parses_the_reference_uri(void **state)
{
    (void)state;
    vault_devicelink_payload p;
    uint8_t secret[32];
    test_key(secret, 0x81);
    assert_int_equal(vault_devicelink__payload_parse(&p, GOOD), VAULT_OK);
    assert_int_equal(p.role, 'o');
    assert_int_equal(p.link_id[0], 0xa0);
    assert_int_equal(p.link_id[15], 0xaf);
    assert_memory_equal(p.secret, secret, 32);
}

static void test_devicelink_payload__other_version_is_version_error(void **state)
{
    (void)state;
    vault_devicelink_payload p;
    char uri[sizeof GOOD];
    memcpy(uri, GOOD, sizeof GOOD);
    uri[8] = '2';
    assert_int_equal(vault_devicelink__payload_parse(&p, uri), VAULT_E_VERSION);
    assert_non_null(strstr(vault_last_error(), "version 2"));
    assert_int_equal(vault_devicelink__payload_parse(&p, "zkvlink:17/whatever"), VAULT_E_VERSION);
    assert_int_equal(vault_devicelink__payload_parse(&p, "zkvlink:0/x"), VAULT_E_VERSION);
    /* Not a number, too many digits, leading zero, missing slash: malformed. */
    const char *bad[] = {"zkvlink:/o/", "zkvlink:a/o/", "zkvlink:12345/o", "zkvlink:01/o/",
                         "zkvlink:1", "zkvlink:1o/", "zkvlink:-1/o/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vault_devicelink__payload_parse(&p, bad[i]), VAULT_E_INVALID);
}

/* Every proper prefix of a valid payload is refused, and the output zeroed. */
static void test_devicelink_payload__rejects_every_truncation(void **state)
{
    (void)state;
    char uri[sizeof GOOD];
    vault_devicelink_payload p;
    uint8_t zero[sizeof p];
    memset(zero, 0, sizeof zero);
    for (size_t n = 0; n < sizeof GOOD - 1; n++) {
        memcpy(uri, GOOD, n);
        uri[n] = '\0';
        memset(&p, 0x55, sizeof p);
        assert_int_equal(vault_devicelink__payload_parse(&p, uri), VAULT_E_INVALID);
        assert_memory_equal(&p, zero, sizeof p);
        assert_true(strlen(vault_last_error()) > 0);
    }
}

/* Changing any single character to any other printable one either gives a
 * refused payload or (for a few base64 characters) a different valid
 * payload; it never parses back to the same bytes. */
static void test_devicelink_payload__single_character_corpus(void **state)
{
    (void)state;
    vault_devicelink_payload ref, p;
    char uri[sizeof GOOD];
    assert_int_equal(vault_devicelink__payload_parse(&ref, GOOD), VAULT_OK);
    size_t accepted = 0, refused = 0;
    for (size_t i = 0; i < sizeof GOOD - 1; i++) {
        for (int c = 1; c < 256; c++) {
            if ((char)c == GOOD[i])
                continue;
            memcpy(uri, GOOD, sizeof GOOD);
            uri[i] = (char)c;
            int rc = vault_devicelink__payload_parse(&p, uri);
            if (rc == VAULT_OK) {
                accepted++;
                assert_memory_not_equal(&p, &ref, sizeof p);
            } else {
                refused++;
                assert_true(rc == VAULT_E_INVALID || rc == VAULT_E_VERSION);
            }
        }
    }
    assert_true(refused > accepted);
}

static void test_devicelink_payload__garbage_corpus(void **state)
{
    (void)state;
    vault_devicelink_payload p;
    char longer[sizeof GOOD + 1];
    memcpy(longer, GOOD, sizeof GOOD - 1);
    longer[sizeof GOOD - 1] = 'A';
    longer[sizeof GOOD] = '\0';
    const char *corpus[] = {
        "", "z", "zkvlink:", "zkvlink", "ZKVLINK:1/o/", "https://example.com/", longer,
        /* uppercase hex link id */
        "zkvlink:1/o/A0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
        "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A",
        /* unknown direction */
        "zkvlink:1/x/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
        "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A",
        /* standard base64 alphabet ('/' and '+') instead of url-safe */
        "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
        "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9+AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A",
        /* non-canonical last character (stray low bits: 'x' instead of 'w') */
        "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
        "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHx/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A",
        /* padding instead of the last character */
        "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
        "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6=",
        /* separators moved */
        "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeafB/"
        "6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A",
    };
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        int rc = vault_devicelink__payload_parse(&p, corpus[i]);
        if (rc != VAULT_E_INVALID)
            fail_msg("corpus entry %zu gave %d", i, rc);
    }
    assert_int_equal(vault_devicelink__payload_parse(&p, NULL), VAULT_E_INVALID);
    assert_int_equal(vault_devicelink__payload_parse(NULL, GOOD), VAULT_E_INVALID);
}

static void test_devicelink_payload__random_bytes_never_crash(void **state)
{
    (void)state;
    vault_devicelink_payload p;
    char buf[VAULT_DEVICELINK_URI_LEN + 1];
    for (int i = 0; i < 20000; i++) {
        randombytes_buf(buf, sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        if (i % 2 == 0)
            memcpy(buf, "zkvlink:1/o/", 12); /* get past the prefix half the time */
        assert_int_not_equal(vault_devicelink__payload_parse(&p, buf), VAULT_OK);
    }
}

static void test_devicelink_payload__format_rejects_bad_role(void **state)
{
    (void)state;
    vault_devicelink_payload p;
    char *uri = (char *)1;
    sample(&p, 'x');
    assert_int_equal(vault_devicelink__payload_format(&uri, &p), VAULT_E_INVALID);
    assert_null(uri);
    sample(&p, 'o');
    vault__alloc_fail_after(1);
    assert_int_equal(vault_devicelink__payload_format(&uri, &p), VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
    assert_null(uri);
}

int test_devicelink_payload_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devicelink_payload__roundtrip_both_roles),
        cmocka_unit_test(test_devicelink_payload__parses_the_reference_uri),
        cmocka_unit_test(test_devicelink_payload__other_version_is_version_error),
        cmocka_unit_test(test_devicelink_payload__rejects_every_truncation),
        cmocka_unit_test(test_devicelink_payload__single_character_corpus),
        cmocka_unit_test(test_devicelink_payload__garbage_corpus),
        cmocka_unit_test(test_devicelink_payload__random_bytes_never_crash),
        cmocka_unit_test(test_devicelink_payload__format_rejects_bad_role),
    };
    return cmocka_run_group_tests_name("devicelink_payload", tests, NULL, NULL);
}

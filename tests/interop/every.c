/* Every import format on its sample: a second import adds nothing (each
 * record a duplicate), and the file with a broken record appended imports
 * nothing and names the broken record's line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

typedef struct sample_case {
    const char *format, *file;
    const char *broken;  /* appended (CSV) or replacing the end (JSON, XML) */
    const char *message; /* expected in the error after "line N: " */
} sample_case;

static const sample_case cases[] = {
    {"bitwarden-csv", "bitwarden.csv", "x,1,login,\"never closed\n", "a quoted value is never closed"},
    {"chrome-csv", "chrome.csv", "only,three,values\n", "3 values, but the header has 5 columns"},
    {"firefox-csv", "firefox.csv", "\"https://a.example\",\"u\"\n", "2 values, but the header has 9 columns"},
    {"safari-csv", "safari.csv", "t,u\r\n", "2 values, but the header has 6 columns"},
    {"lastpass-csv", "lastpass.csv", "https://a.example,u,p\n", "3 values, but the header has 8 columns"},
    {"1password-csv", "1password.csv", "T,u\n", "2 values, but the header has 10 columns"},
    {"csv", "generic.csv", "a,b,c,d,e,f,g,h,i,j\n", "10 values, but the header has 9 columns"},
    {"bitwarden-json", "bitwarden.json", NULL, "malformed JSON"},
    {"keepass-xml", "keepass-seed.xml", NULL, "malformed XML"},
};

/* The sample cut in the middle of its last line: broken JSON or XML whose
 * error line is that last line. */
static size_t cut(uint8_t *data, size_t len, long *line)
{
    size_t at = len;
    while (at > 0 && data[at - 1] == '\n')
        at--;
    at -= 3;
    *line = 1;
    for (size_t i = 0; i < at; i++)
        *line += data[i] == '\n';
    return at;
}

static void test_interop_every__reimport_is_all_duplicates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vault *v = NULL;
        assert_int_equal(vault_new(&v), VAULT_OK);
        cJSON *first = it_import(v, cases[i].format, cases[i].file, VAULT_OK);
        cJSON *again = it_import(v, cases[i].format, cases[i].file, VAULT_OK);
        double n = it_num(first, "imported"), dups = it_num(first, "duplicates");
        if (!(n > 0 && it_num(again, "imported") == 0 && it_num(again, "duplicates") == n + dups))
            fprintf(stderr, "%s: %g imported, then %g imported, %g duplicates\n",
                    cases[i].format, n, it_num(again, "imported"), it_num(again, "duplicates"));
        assert_true(n > 0);
        assert_true(it_num(again, "imported") == 0);
        assert_true(it_num(again, "duplicates") == n + dups);
        assert_true(it_count(v) == (uint64_t)n);
        cJSON_Delete(first);
        cJSON_Delete(again);
        vault_close(v);
    }
}

static void test_interop_every__broken_record_imports_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *data = it_sample(cases[i].file, &len);
        size_t extra = cases[i].broken != NULL ? strlen(cases[i].broken) : 0;
        uint8_t *bad = malloc(len + extra + 1);
        assert_non_null(bad);
        memcpy(bad, data, len);
        char where[32] = "";
        if (cases[i].broken != NULL) {
            long line = 1; /* the appended record starts after the last line break */
            for (size_t k = 0; k < len; k++)
                line += data[k] == '\n';
            snprintf(where, sizeof where, "line %ld: ", line);
            memcpy(bad + len, cases[i].broken, extra);
            len += extra;
        } else {
            long line;
            len = cut(bad, len, &line);
            snprintf(where, sizeof where, "line %ld: ", line);
        }
        vault *v = NULL;
        assert_int_equal(vault_new(&v), VAULT_OK);
        it_import_data(v, cases[i].format, bad, len, 0, VAULT_E_FORMAT);
        char expect[128];
        snprintf(expect, sizeof expect, "%s%s", where, cases[i].message);
        it_error_has(expect);
        assert_int_equal(it_count(v), 0);
        free(bad);
        free(data);
        vault_close(v);
    }
}

int it_run_every(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interop_every__reimport_is_all_duplicates),
        cmocka_unit_test(test_interop_every__broken_record_imports_nothing),
    };
    return cmocka_run_group_tests_name("interop_every", tests, NULL, NULL);
}

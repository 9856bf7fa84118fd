/* The vault module's test executable: items, JSON, allocation failures. */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "vtest.h"

vault *vt_new(void)
{
    vault *v = NULL;
    vault__set_clock_for_tests(T0);
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_non_null(v);
    return v;
}

const char *vt_add(vault *v, const char *item_json)
{
    static char ids[8][33];
    static unsigned next;
    char *id = NULL;
    int rc = vault_item_add(v, item_json, &id);
    if (rc != VAULT_OK)
        fprintf(stderr, "add failed: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    assert_non_null(id);
    char *slot = ids[next++ % 8];
    memcpy(slot, id, 33);
    vault_free(id);
    return slot;
}

char *vt_get(const vault *v, const char *id)
{
    char *json = NULL;
    assert_int_equal(vault_item_get(v, id, &json), VAULT_OK);
    assert_non_null(json);
    return json;
}

void vt_expect(int got, int code, const char *needle)
{
    if (got != code || (needle != NULL && strstr(vault_last_error(), needle) == NULL))
        fprintf(stderr, "expected %d with \"%s\", got %d: \"%s\"\n", code,
                needle != NULL ? needle : "", got, vault_last_error());
    assert_int_equal(got, code);
    if (needle != NULL)
        assert_non_null(strstr(vault_last_error(), needle));
}

const char *vt_repeat(char c, size_t n)
{
    static char buf[200000];
    assert_true(n < sizeof buf);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

int main(void)
{
    static const test_group_fn groups[] = {vt_run_items, vt_run_json, vt_run_alloc, vt_run_seal,
                                           vt_run_stream, vt_run_trash};
    return test_run_groups(groups, sizeof groups / sizeof groups[0]);
}

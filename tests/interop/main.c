/* The interop module's test executable: imports, exports, KeePassXC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

uint8_t *it_sample(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/interop/%s", VAULT_TEST_VECTORS, name);
    uint8_t *data = test_read_file(path, len);
    assert_non_null(data);
    return data;
}

cJSON *it_import_data(vault *v, const char *format, const uint8_t *data, size_t len,
                      uint32_t flags, int expect)
{
    char *report = NULL;
    int rc = vault_import(v, format, data, len, NULL, flags, &report);
    if (rc != expect)
        fprintf(stderr, "import %s: expected %d, got %d: %s\n", format, expect, rc,
                vault_last_error());
    assert_int_equal(rc, expect);
    if (rc != VAULT_OK) {
        assert_null(report);
        return NULL;
    }
    cJSON *r = cJSON_Parse(report);
    vault_free(report);
    assert_non_null(r);
    return r;
}

cJSON *it_import(vault *v, const char *format, const char *sample, int expect)
{
    size_t len;
    uint8_t *data = it_sample(sample, &len);
    cJSON *r = it_import_data(v, format, data, len, 0, expect);
    free(data);
    return r;
}

void it_error_has(const char *needle)
{
    if (strstr(vault_last_error(), needle) == NULL)
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", needle, vault_last_error());
    assert_non_null(strstr(vault_last_error(), needle));
}

cJSON *it_items(const vault *v)
{
    char *json = NULL;
    assert_int_equal(vault_item_list(v, 0, &json), VAULT_OK);
    cJSON *list = cJSON_Parse(json);
    vault_free(json);
    assert_non_null(list);
    return list;
}

const char *it_str(const cJSON *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

double it_num(const cJSON *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsNumber(m));
    return m->valuedouble;
}

const cJSON *it_titled(const cJSON *list, const char *title)
{
    const cJSON *found = NULL, *it;
    int n = 0;
    cJSON_ArrayForEach(it, list)
        if (strcmp(it_str(it, "title"), title) == 0) {
            found = it;
            n++;
        }
    if (n != 1)
        fprintf(stderr, "%d items titled \"%s\"\n", n, title);
    assert_int_equal(n, 1);
    return found;
}

static const cJSON *field_obj(const cJSON *item, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields"))
        if (strcmp(it_str(f, "name"), name) == 0)
            return f;
    return NULL;
}

const char *it_field(const cJSON *item, const char *name)
{
    const cJSON *f = field_obj(item, name);
    return f != NULL ? it_str(f, "value") : NULL;
}

const char *it_field_type(const cJSON *item, const char *name)
{
    const cJSON *f = field_obj(item, name);
    assert_non_null(f);
    const char *type = it_str(f, "type");
    return type != NULL ? type : "text";
}

int it_hidden(const cJSON *item, const char *name)
{
    const cJSON *f = field_obj(item, name);
    return f == NULL ? -1 : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden"));
}

int it_has_tag(const cJSON *item, const char *tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(item, "tags"))
        if (strcmp(t->valuestring, tag) == 0)
            return 1;
    return 0;
}

uint64_t it_count(const vault *v)
{
    uint64_t n = 0;
    assert_int_equal(vault_item_count(v, &n), VAULT_OK);
    return n;
}

static int history_has(const cJSON *item, const char *name, const char *value)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(item, "history"))
        if (strcmp(it_str(h, "name"), name) == 0 && strcmp(it_str(h, "value"), value) == 0)
            return 1;
    return 0;
}

static void same_item(const cJSON *x, const cJSON *y, int with_type, int with_hidden)
{
    const char *title = it_str(x, "title");
    if (with_type && strcmp(it_str(x, "type"), it_str(y, "type")) != 0)
        fprintf(stderr, "%s: type %s vs %s\n", title, it_str(x, "type"), it_str(y, "type"));
    if (with_type)
        assert_string_equal(it_str(x, "type"), it_str(y, "type"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(x, "fields")),
                     cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(y, "fields")));
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(x, "fields")) {
        const char *n = it_str(f, "name");
        if (it_field(y, n) == NULL || strcmp(it_field(y, n), it_str(f, "value")) != 0)
            fprintf(stderr, "%s: field \"%s\" differs\n", title, n);
        assert_non_null(it_field(y, n));
        assert_string_equal(it_field(y, n), it_str(f, "value"));
        if (with_hidden)
            assert_int_equal(it_hidden(y, n), it_hidden(x, n));
    }
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(x, "tags")),
                     cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(y, "tags")));
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(x, "tags"))
        assert_true(it_has_tag(y, t->valuestring));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(x, "history")),
                     cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(y, "history")));
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(x, "history"))
        assert_true(history_has(y, it_str(t, "name"), it_str(t, "value")));
}

void it_same_items(const cJSON *a, const cJSON *b, int with_type, int with_hidden)
{
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
        same_item(x, it_titled(b, it_str(x, "title")), with_type, with_hidden);
}

int main(void)
{
    vault_init();
    int failed = 0;
    failed += it_run_import();
    failed += it_run_export();
    failed += it_run_keepass();
    failed += it_run_every();
    return failed;
}

/* vault_merge: the three-way merge rules of docs/sync.md, with exact results,
 * symmetry (both devices converge) and allocation failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/common.h"
#include "vault/vault.h"
#include "testutil.h"

#define T0 1700000000000LL
#define T1 1700000001000LL
#define T2 1700000002000LL
#define S_T0 "1700000000000"
#define S_T1 "1700000001000"
#define S_T2 "1700000002000"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_X "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_Y "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

#define USER(v) "{\"name\":\"user\",\"value\":\"" v "\",\"hidden\":false}"
#define PASS(v) "{\"name\":\"password\",\"value\":\"" v "\",\"hidden\":true}"
#define HIST(n, v, t) "{\"name\":\"" n "\",\"value\":\"" v "\",\"changed\":" t "}"
#define EXPECT(title, fields, tags, updated, rev, history)                                 \
    "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"" title "\",\"fields\":[" fields  \
    "],\"tags\":[" tags "],\"created\":" S_T0 ",\"updated\":" updated ",\"rev\":" rev      \
    ",\"deleted\":false,\"trashed\":0,\"history\":[" history "]}"

/* The common ancestor: one login item at T0. */
static vault *make_base(void)
{
    vault *v = NULL;
    vault__set_clock_for_tests(T0);
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":"
                                       "\"GitHub\",\"tags\":[\"work\",\"dev\"],\"fields\":["
                                       USER("ada") "," PASS("p0") "]}", NULL),
                     VAULT_OK);
    return v;
}

static vault *copy_of(const vault *v)
{
    char *json = NULL;
    vault *w = NULL;
    assert_int_equal(vault_to_json(v, &json), VAULT_OK);
    assert_int_equal(vault_from_json(&w, json, strlen(json)), VAULT_OK);
    vault_free(json);
    return w;
}

static void update_at(vault *v, int64_t when, const char *title, const char *fields,
                      const char *tags)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"type\":\"login\",\"title\":\"%s\",\"fields\":[%s],"
                                "\"tags\":[%s]}", title, fields, tags);
    vault__set_clock_for_tests(when);
    assert_int_equal(vault_item_update(v, ID_A, json), VAULT_OK);
}

static vault *merged(const vault *b, const vault *l, const vault *r)
{
    vault *m = NULL;
    int rc = vault_merge(&m, b, l, r);
    if (rc != VAULT_OK)
        fprintf(stderr, "merge: %s\n", vault_last_error());
    assert_int_equal(rc, VAULT_OK);
    assert_non_null(m);
    return m;
}

/* Every item (tombstones too) in list order: what both devices must agree on. */
static char *everything(const vault *v)
{
    char *json = NULL;
    assert_int_equal(vault_item_list(v, VAULT_LIST_DELETED, &json), VAULT_OK);
    return json;
}

/* Merges both ways round; both results must be identical and item A must be
 * `expected` (NULL: A must be deleted). Returns the local-first result. */
static vault *merge_both_ways(const vault *b, const vault *l, const vault *r,
                              const char *expected)
{
    vault *m1 = merged(b, l, r), *m2 = merged(b, r, l);
    char *e1 = everything(m1), *e2 = everything(m2);
    assert_string_equal(e1, e2);
    vault_free(e1);
    vault_free(e2);
    char *json = NULL;
    if (expected != NULL) {
        assert_int_equal(vault_item_get(m1, ID_A, &json), VAULT_OK);
        assert_string_equal(json, expected);
        vault_free(json);
    } else {
        assert_int_equal(vault_item_get(m1, ID_A, &json), VAULT_E_NOT_FOUND);
    }
    vault_close(m2);
    return m1;
}

static void check_and_close(vault *b, vault *l, vault *r, const char *expected)
{
    vault_close(merge_both_ways(b, l, r, expected));
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__no_changes_gives_base(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault *m = merged(b, l, r);
    test_assert_same_vault(b, m);
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__one_side_only_takes_that_side(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "Local", USER("ada") "," PASS("p1"), "\"work\"");
    const char *want = EXPECT("Local", USER("ada") "," PASS("p1"), "\"work\"", S_T1, "2",
                              HIST("password", "p0", S_T1));
    /* Unchanged remote: local's item exactly, rev not bumped. */
    check_and_close(b, l, r, want);
}

static void test_merge__disjoint_field_edits_both_survive(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("bob") "," PASS("p0"), "\"work\",\"dev\"");
    update_at(r, T2, "GitHub", USER("ada") "," PASS("p2"), "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", USER("bob") "," PASS("p2"), "\"work\",\"dev\"", S_T2, "3",
                           HIST("password", "p0", S_T2)));
}

static void test_merge__same_field_newer_wins_loser_in_history(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("ada") "," PASS("pl"), "\"work\",\"dev\"");
    update_at(r, T2, "GitHub", USER("ada") "," PASS("pr"), "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", USER("ada") "," PASS("pr"), "\"work\",\"dev\"", S_T2, "3",
                           HIST("password", "p0", S_T1) "," HIST("password", "p0", S_T2) ","
                           HIST("password", "pl", S_T2)));
}

/* Without a base (a fork whose common ancestor is unknown), a side whose
 * history shows it replaced the other side's value keeps its value, however
 * new the other side's item is; the old value is not added again. The user
 * name (not hidden: no history) is a plain conflict, the newer item's wins. */
static void test_merge__no_base_value_replaced_in_history_wins(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("ada") "," PASS("pl"), "\"work\",\"dev\"");
    update_at(r, T2, "GitHub", USER("ada.r") "," PASS("p0"), "\"work\",\"dev\"");
    vault *m = merge_both_ways(NULL, l, r,
                               EXPECT("GitHub", USER("ada.r") "," PASS("pl"), "\"work\",\"dev\"",
                                      S_T2, "3",
                                      HIST("password", "p0", S_T1) "," HIST("user", "ada", S_T2)));
    vault_close(m);
    /* a value neither side replaced: the newer item's wins, the other goes to history */
    vault *l2 = copy_of(b), *r2 = copy_of(b);
    update_at(l2, T1, "GitHub", USER("ada") "," PASS("pl"), "\"work\",\"dev\"");
    update_at(r2, T2, "GitHub", USER("ada") "," PASS("pr"), "\"work\",\"dev\"");
    check_and_close(NULL, l2, r2,
                    EXPECT("GitHub", USER("ada") "," PASS("pr"), "\"work\",\"dev\"", S_T2, "3",
                           HIST("password", "p0", S_T1) "," HIST("password", "p0", S_T2) ","
                           HIST("password", "pl", S_T2)));
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__same_time_larger_value_wins(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("ada") "," PASS("pb"), "\"work\",\"dev\"");
    update_at(r, T1, "GitHub", USER("ada") "," PASS("pa"), "\"work\",\"dev\"");
    /* Identical history entries from both sides are kept once. */
    check_and_close(b, l, r,
                    EXPECT("GitHub", USER("ada") "," PASS("pb"), "\"work\",\"dev\"", S_T1, "3",
                           HIST("password", "p0", S_T1) "," HIST("password", "pa", S_T1)));
}

static void test_merge__title_conflict_keeps_loser_in_history(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T2, "Local", USER("ada") "," PASS("p0"), "\"work\",\"dev\"");
    update_at(r, T1, "Remote", USER("ada") "," PASS("p0"), "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("Local", USER("ada") "," PASS("p0"), "\"work\",\"dev\"", S_T2, "3",
                           HIST("title", "Remote", S_T2)));
}

static void test_merge__field_removed_versus_edited(void **state)
{
    (void)state;
    /* Local removes "user", remote edits it: the edit is kept. Remote removes
     * nothing else; local also adds "pin" and remote adds "pin" too. */
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub",
              PASS("p0") ",{\"name\":\"pin\",\"value\":\"1\",\"hidden\":true}",
              "\"work\",\"dev\"");
    update_at(r, T2, "GitHub",
              USER("carol") "," PASS("p0") ",{\"name\":\"pin\",\"value\":\"2\",\"hidden\":true}",
              "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub",
                           USER("carol") "," PASS("p0")
                           ",{\"name\":\"pin\",\"value\":\"2\",\"hidden\":true}",
                           "\"work\",\"dev\"", S_T2, "3", HIST("pin", "1", S_T2)));
}

static void test_merge__field_removed_versus_untouched(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", PASS("p0"), "\"work\",\"dev\"");
    update_at(r, T2, "GitHub", USER("ada") "," PASS("p9"), "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", PASS("p9"), "\"work\",\"dev\"", S_T2, "3",
                           HIST("password", "p0", S_T2)));
}

static void test_merge__hidden_flag_conflict_hides(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T2, "GitHub", USER("ada") "," PASS("p0"), "\"dev\"");
    update_at(r, T1, "GitHub", "{\"name\":\"user\",\"value\":\"ada\",\"hidden\":true},"
                               PASS("p0"), "\"work\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", "{\"name\":\"user\",\"value\":\"ada\",\"hidden\":true},"
                           PASS("p0"), "\"dev\"", S_T2, "3", ""));
}

static void test_merge__tags_as_sets(void **state)
{
    (void)state;
    /* Local adds "home"; remote removes "work" and adds "new". */
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("ada") "," PASS("p0"), "\"work\",\"dev\",\"home\"");
    update_at(r, T2, "GitHub", USER("ada") "," PASS("p0"), "\"new\",\"dev\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", USER("ada") "," PASS("p0"), "\"new\",\"dev\",\"home\"",
                           S_T2, "3", ""));
}

static void test_merge__delete_versus_edit_keeps_edit(void **state)
{
    (void)state;
    const char *want = EXPECT("Edited", USER("ada") "," PASS("p0"), "\"work\",\"dev\"", S_T2,
                              "3", "");
    /* The delete happened before the edit... */
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_delete(l, ID_A), VAULT_OK);
    update_at(r, T2, "Edited", USER("ada") "," PASS("p0"), "\"work\",\"dev\"");
    check_and_close(b, l, r, want);
    /* ...or after it: the edit still survives. */
    b = make_base(), l = copy_of(b), r = copy_of(b);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_delete(l, ID_A), VAULT_OK);
    update_at(r, T1, "Edited", USER("ada") "," PASS("p0"), "\"work\",\"dev\"");
    check_and_close(b, l, r, want);
}

static void test_merge__delete_versus_untouched_deletes(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_delete(l, ID_A), VAULT_OK);
    vault *m = merge_both_ways(b, l, r, NULL);
    char *json = everything(m);
    assert_string_equal(json, "[{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"\","
                              "\"fields\":[],\"tags\":[],\"created\":" S_T0 ",\"updated\":"
                              S_T1 ",\"rev\":2,\"deleted\":true,\"trashed\":0,\"history\":[]}]");
    vault_free(json);
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__deleted_on_both_sides(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_update(l, ID_A, "{\"type\":\"login\",\"title\":\"x\"}"), VAULT_OK);
    assert_int_equal(vault_item_delete(l, ID_A), VAULT_OK);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_delete(r, ID_A), VAULT_OK);
    vault *m = merge_both_ways(b, l, r, NULL);
    char *json = everything(m);
    assert_string_equal(json, "[{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"\","
                              "\"fields\":[],\"tags\":[],\"created\":" S_T0 ",\"updated\":"
                              S_T2 ",\"rev\":4,\"deleted\":true,\"trashed\":0,\"history\":[]}]");
    vault_free(json);
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__created_on_both_sides_keeps_both(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_add(l, "{\"id\":\"" ID_X "\",\"type\":\"note\",\"title\":\"X\"}",
                                    NULL), VAULT_OK);
    assert_int_equal(vault_item_add(r, "{\"id\":\"" ID_Y "\",\"type\":\"note\",\"title\":\"Y\"}",
                                    NULL), VAULT_OK);
    vault *m = merge_both_ways(b, l, r,
                               EXPECT("GitHub", USER("ada") "," PASS("p0"), "\"work\",\"dev\"",
                                      S_T0, "1", ""));
    uint64_t n = 0;
    assert_int_equal(vault_item_count(m, &n), VAULT_OK);
    assert_int_equal(n, 3);
    char *json = NULL;
    assert_int_equal(vault_item_get(m, ID_X, &json), VAULT_OK);
    assert_string_equal(json, "{\"id\":\"" ID_X "\",\"type\":\"note\",\"title\":\"X\","
                              "\"fields\":[],\"tags\":[],\"created\":" S_T1 ",\"updated\":" S_T1
                              ",\"rev\":1,\"deleted\":false,\"trashed\":0,\"history\":[]}");
    vault_free(json);
    assert_int_equal(vault_item_get(m, ID_Y, &json), VAULT_OK);
    vault_free(json);
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__empty_base_first_sync(void **state)
{
    (void)state;
    /* Both sides hold the same item and nothing else in common. */
    vault *l = make_base(), *r = copy_of(l), *empty = NULL;
    assert_int_equal(vault_new(&empty), VAULT_OK);
    const char *want = EXPECT("GitHub", USER("ada") "," PASS("p0"), "\"work\",\"dev\"", S_T0,
                              "1", "");
    vault_close(merge_both_ways(empty, l, r, want));
    vault_close(merge_both_ways(NULL, l, r, want));
    /* The same id edited differently on both, with no base: a field merge. */
    update_at(r, T1, "GitHub", USER("ada") "," PASS("p1"), "\"work\",\"dev\"");
    vault_close(merge_both_ways(NULL, l, r,
                                EXPECT("GitHub", USER("ada") "," PASS("p1"), "\"work\",\"dev\"",
                                       S_T1, "3", HIST("password", "p0", S_T1))));
    vault_close(empty);
    vault_close(l);
    vault_close(r);
}

static vault *vault_of(const char *items, const char *devices)
{
    char json[4096];
    vault *v = NULL;
    snprintf(json, sizeof json, "{\"format\":2,\"items\":[%s],\"devices\":[%s]}", items,
             devices);
    assert_int_equal(vault_from_json(&v, json, strlen(json)), VAULT_OK);
    return v;
}

#define RAW_ITEM(title, rev)                                                               \
    "{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"" title "\",\"fields\":[],"        \
    "\"tags\":[],\"created\":1,\"updated\":" rev ",\"rev\":" rev ",\"deleted\":false,\"trashed\":0,"     \
    "\"history\":[]}"

/* Two branches brought a deleted item back: the base (a tombstone) holds no
 * field, so each field looks added on both sides. The side whose history
 * shows it replaced the other side's value keeps its value, although the
 * other item is newer. */
static void test_merge__revived_tombstone_value_replaced_in_history_wins(void **state)
{
    (void)state;
    vault *b = vault_of("{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"\","
                        "\"fields\":[],\"tags\":[],\"created\":1,\"updated\":4,\"rev\":3,"
                        "\"deleted\":true,\"trashed\":0,\"history\":[]}", "");
    vault *l = vault_of("{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"x\","
                        "\"fields\":[" PASS("e19") "],\"tags\":[],\"created\":1,"
                        "\"updated\":5,\"rev\":4,\"deleted\":false,\"trashed\":0,"
                        "\"history\":[" HIST("password", "e8", "5") "]}", "");
    vault *r = vault_of("{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"x\","
                        "\"fields\":[" PASS("e8") "],\"tags\":[],\"created\":1,"
                        "\"updated\":9,\"rev\":5,\"deleted\":false,\"trashed\":0,\"history\":[]}", "");
    vault *m = merge_both_ways(b, l, r,
        "{\"id\":\"" ID_A "\",\"type\":\"note\",\"title\":\"x\",\"fields\":["
        PASS("e19") "],\"tags\":[],\"created\":1,\"updated\":9,\"rev\":6,"
        "\"deleted\":false,\"trashed\":0,\"history\":[" HIST("password", "e8", "5") "]}");
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__item_missing_on_one_side(void **state)
{
    (void)state;
    /* An item absent from one side (not a tombstone) is dropped if the other
     * side did not change it, and kept if it did. */
    vault *b = vault_of(RAW_ITEM("a", "1"), ""), *gone = vault_of("", "");
    vault *same = vault_of(RAW_ITEM("a", "1"), ""), *changed = vault_of(RAW_ITEM("b", "2"), "");
    vault *m = merge_both_ways(b, gone, same, NULL);
    char *json = everything(m);
    assert_string_equal(json, "[]");
    vault_free(json);
    vault_close(m);
    vault_close(merge_both_ways(b, gone, changed, RAW_ITEM("b", "2")));
    vault_close(b);
    vault_close(gone);
    vault_close(same);
    vault_close(changed);
}

static void test_merge__devices_union_and_revocation(void **state)
{
    (void)state;
#define DEV(id, name) "{\"id\":\"" id "\",\"name\":\"" name "\",\"public_key\":\"k\",\"added\":1}"
    vault *b = vault_of("", DEV("d1", "Phone") "," DEV("d2", "Old laptop"));
    /* Local revoked d2 and linked d3; remote renamed d2, linked d4. */
    vault *l = vault_of("", DEV("d1", "Phone") "," DEV("d3", "Tablet"));
    vault *r = vault_of("", DEV("d1", "Phone") "," DEV("d2", "Renamed") "," DEV("d4", "Desk"));
    vault *m = merged(b, l, r);
    char *json = NULL;
    assert_int_equal(vault_to_json(m, &json), VAULT_OK);
    assert_string_equal(json, "{\"format\":2,\"items\":[],\"devices\":[" DEV("d1", "Phone") ","
                              DEV("d3", "Tablet") "," DEV("d4", "Desk") "]}");
    vault_free(json);
    vault_close(m);
    /* Renamed on both sides: the larger name, whichever side is local. */
    vault *x = vault_of("", DEV("d1", "Alpha")), *y = vault_of("", DEV("d1", "Beta"));
    m = merged(b, x, y);
    assert_int_equal(vault_to_json(m, &json), VAULT_OK);
    assert_non_null(strstr(json, "\"devices\":[" DEV("d1", "Beta") "]"));
    vault_free(json);
    vault_close(m);
    m = merged(b, y, x);
    assert_int_equal(vault_to_json(m, &json), VAULT_OK);
    assert_non_null(strstr(json, "\"devices\":[" DEV("d1", "Beta") "]"));
    vault_free(json);
    vault_close(m);
    /* Same name, different keys: the larger key, both ways. */
    vault *p = vault_of("", "{\"id\":\"d1\",\"name\":\"Beta\",\"public_key\":\"k2\"}");
    m = merged(b, p, y);
    assert_int_equal(vault_to_json(m, &json), VAULT_OK);
    assert_non_null(strstr(json, "\"public_key\":\"k2\""));
    vault_free(json);
    vault_close(m);
    m = merged(b, y, p);
    assert_int_equal(vault_to_json(m, &json), VAULT_OK);
    assert_non_null(strstr(json, "\"public_key\":\"k2\""));
    vault_free(json);
    vault_close(m);
    vault_close(p);
    vault_close(x);
    vault_close(y);
    vault_close(b);
    vault_close(l);
    vault_close(r);
#undef DEV
}

static void test_merge__history_is_trimmed(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    /* 8 password changes on each side: 16 distinct entries + the loser "l8",
     * sorted by time; the last 10 stay. */
    for (int i = 1; i <= 8; i++) {
        char fields[256];
        snprintf(fields, sizeof fields, USER("ada") ",{\"name\":\"password\",\"value\":\"l%d\","
                                        "\"hidden\":true}", i);
        update_at(l, T1 + i, "GitHub", fields, "\"work\",\"dev\"");
        snprintf(fields, sizeof fields, USER("ada") ",{\"name\":\"password\",\"value\":\"r%d\","
                                        "\"hidden\":true}", i);
        update_at(r, T1 + 100 + i, "GitHub", fields, "\"work\",\"dev\"");
    }
    vault *m = merge_both_ways(b, l, r,
                               EXPECT("GitHub", USER("ada") "," PASS("r8"), "\"work\",\"dev\"",
                                      "1700000001108", "10",
                                      HIST("password", "l7", "1700000001008") ","
                                      HIST("password", "p0", "1700000001101") ","
                                      HIST("password", "r1", "1700000001102") ","
                                      HIST("password", "r2", "1700000001103") ","
                                      HIST("password", "r3", "1700000001104") ","
                                      HIST("password", "r4", "1700000001105") ","
                                      HIST("password", "r5", "1700000001106") ","
                                      HIST("password", "r6", "1700000001107") ","
                                      HIST("password", "l8", "1700000001108") ","
                                      HIST("password", "r7", "1700000001108")));
    vault_close(m);
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

static void test_merge__order_does_not_depend_on_sides(void **state)
{
    (void)state;
    /* Same time, same rev, each side adds its own field and tag: the merged
     * lists follow the larger list ("b" > "a"), whichever side is local. */
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "GitHub", USER("ada") "," PASS("p0") ",{\"name\":\"a\",\"value\":\"1\","
              "\"hidden\":false}", "\"work\",\"dev\",\"x\"");
    update_at(r, T1, "GitHub", USER("ada") "," PASS("p0") ",{\"name\":\"b\",\"value\":\"2\","
              "\"hidden\":false}", "\"work\",\"dev\",\"y\"");
    check_and_close(b, l, r,
                    EXPECT("GitHub", USER("ada") "," PASS("p0")
                           ",{\"name\":\"b\",\"value\":\"2\",\"hidden\":false}"
                           ",{\"name\":\"a\",\"value\":\"1\",\"hidden\":false}",
                           "\"work\",\"dev\",\"y\",\"x\"", S_T1, "3", ""));
}

static void test_merge__refuses_broken_devices(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *m = (vault *)1;
    /* Another module left a device without an id in the array. */
    cJSON_AddItemToArray(vault_vault__devices(l), cJSON_Parse("{\"name\":\"x\"}"));
    assert_int_equal(vault_merge(&m, b, l, b), VAULT_E_INVALID);
    assert_null(m);
    assert_non_null(strstr(vault_last_error(), "\"id\""));
    assert_int_equal(vault_merge(&m, l, b, b), VAULT_E_INVALID);
    assert_int_equal(vault_merge(&m, b, b, l), VAULT_E_INVALID);
    vault_close(b);
    vault_close(l);
}

static void test_merge__invalid_arguments(void **state)
{
    (void)state;
    vault *v = NULL, *m = (vault *)1;
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_int_equal(vault_merge(NULL, v, v, v), VAULT_E_INVALID);
    assert_int_equal(vault_merge(&m, v, NULL, v), VAULT_E_INVALID);
    assert_int_equal(vault_merge(&m, v, v, NULL), VAULT_E_INVALID);
    vault_close(v);
}

static void test_merge__allocation_failures(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    update_at(l, T1, "Local", USER("bob") "," PASS("pl"), "\"work\",\"home\"");
    update_at(r, T2, "Remote", PASS("pr"), "\"dev\"");
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_add(l, "{\"id\":\"" ID_X "\",\"type\":\"note\",\"title\":\"X\"}",
                                    NULL), VAULT_OK);
    cJSON_AddItemToArray(vault_vault__devices(l), cJSON_Parse("{\"id\":\"d1\"}"));
    for (uint64_t n = 1;; n++) {
        vault *m = (vault *)1;
        vault__alloc_fail_after(n);
        int rc = vault_merge(&m, b, l, r);
        uint64_t seen = vault__alloc_count();
        vault__alloc_fail_after(0);
        assert_true(rc == VAULT_OK || rc == VAULT_E_NOMEM);
        if (rc == VAULT_E_NOMEM)
            assert_null(m);
        vault_close(rc == VAULT_OK ? m : NULL);
        if (seen < n) {
            assert_int_equal(rc, VAULT_OK);
            break;
        }
    }
    vault_close(b);
    vault_close(l);
    vault_close(r);
}

/* ---- the trash ------------------------------------------------------------------ */

#define EXPECT_TRASHED(fields, updated, rev, trashed, history)                              \
    "{\"id\":\"" ID_A "\",\"type\":\"login\",\"title\":\"GitHub\",\"fields\":[" fields   \
    "],\"tags\":[\"work\",\"dev\"],\"created\":" S_T0 ",\"updated\":" updated ",\"rev\":" rev \
    ",\"deleted\":false,\"trashed\":" trashed ",\"history\":[" history "]}"

static void test_merge__trash_versus_edit_keeps_edit_in_trash(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(l, ID_A), VAULT_OK);
    update_at(r, T2, "GitHub", USER("ada") "," PASS("p2"), "\"work\",\"dev\"");
    /* The edit is not lost: it is in the trash with the item. */
    check_and_close(b, l, r,
                    EXPECT_TRASHED(USER("ada") "," PASS("p2"), S_T2, "3", S_T1,
                                   HIST("password", "p0", S_T2)));
}

static void test_merge__restore_versus_untouched_restores(void **state)
{
    (void)state;
    vault *b = make_base();
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(b, ID_A), VAULT_OK);
    vault *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_restore(l, ID_A), VAULT_OK);
    check_and_close(b, l, r, EXPECT_TRASHED(USER("ada") "," PASS("p0"), S_T2, "3", "0", ""));
}

static void test_merge__restore_versus_edit_in_trash_keeps_both(void **state)
{
    (void)state;
    vault *b = make_base();
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(b, ID_A), VAULT_OK);
    vault *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_restore(l, ID_A), VAULT_OK);
    /* An item in the trash cannot be edited; a purge on the other side then
     * loses to the restore, which is a change (no edit is ever lost). */
    assert_int_equal(vault_item_delete(r, ID_A), VAULT_OK);
    check_and_close(b, l, r, EXPECT_TRASHED(USER("ada") "," PASS("p0"), S_T2, "4", "0", ""));
}

static void test_merge__purge_versus_untouched_trash_purges(void **state)
{
    (void)state;
    vault *b = make_base();
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(b, ID_A), VAULT_OK);
    vault *l = copy_of(b), *r = copy_of(b);
    assert_int_equal(vault_item_delete(l, ID_A), VAULT_OK);
    check_and_close(b, l, r, NULL);
}

static void test_merge__trashed_on_both_sides_newer_time_wins(void **state)
{
    (void)state;
    vault *b = make_base(), *l = copy_of(b), *r = copy_of(b);
    vault__set_clock_for_tests(T1);
    assert_int_equal(vault_item_trash(l, ID_A), VAULT_OK);
    vault__set_clock_for_tests(T2);
    assert_int_equal(vault_item_trash(r, ID_A), VAULT_OK);
    check_and_close(b, l, r, EXPECT_TRASHED(USER("ada") "," PASS("p0"), S_T2, "3", S_T2, ""));
}

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge__no_changes_gives_base),
        cmocka_unit_test(test_merge__one_side_only_takes_that_side),
        cmocka_unit_test(test_merge__disjoint_field_edits_both_survive),
        cmocka_unit_test(test_merge__same_field_newer_wins_loser_in_history),
        cmocka_unit_test(test_merge__no_base_value_replaced_in_history_wins),
        cmocka_unit_test(test_merge__same_time_larger_value_wins),
        cmocka_unit_test(test_merge__title_conflict_keeps_loser_in_history),
        cmocka_unit_test(test_merge__field_removed_versus_edited),
        cmocka_unit_test(test_merge__field_removed_versus_untouched),
        cmocka_unit_test(test_merge__hidden_flag_conflict_hides),
        cmocka_unit_test(test_merge__tags_as_sets),
        cmocka_unit_test(test_merge__delete_versus_edit_keeps_edit),
        cmocka_unit_test(test_merge__trash_versus_edit_keeps_edit_in_trash),
        cmocka_unit_test(test_merge__restore_versus_untouched_restores),
        cmocka_unit_test(test_merge__restore_versus_edit_in_trash_keeps_both),
        cmocka_unit_test(test_merge__purge_versus_untouched_trash_purges),
        cmocka_unit_test(test_merge__trashed_on_both_sides_newer_time_wins),
        cmocka_unit_test(test_merge__delete_versus_untouched_deletes),
        cmocka_unit_test(test_merge__deleted_on_both_sides),
        cmocka_unit_test(test_merge__created_on_both_sides_keeps_both),
        cmocka_unit_test(test_merge__empty_base_first_sync),
        cmocka_unit_test(test_merge__item_missing_on_one_side),
        cmocka_unit_test(test_merge__revived_tombstone_value_replaced_in_history_wins),
        cmocka_unit_test(test_merge__devices_union_and_revocation),
        cmocka_unit_test(test_merge__history_is_trimmed),
        cmocka_unit_test(test_merge__order_does_not_depend_on_sides),
        cmocka_unit_test(test_merge__refuses_broken_devices),
        cmocka_unit_test(test_merge__invalid_arguments),
        cmocka_unit_test(test_merge__allocation_failures),
    };
    return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}

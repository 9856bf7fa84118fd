/* What the sizes of the stolen blobs tell the thief: only a Padmé bucket.
 * Every blob is 104 bytes of header plus a padded length P that is a fixed
 * point of the padding function, and vaults with different item counts
 * inside one bucket have exactly the same size. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "blob/blob.h"
#include "breach.h"
#include "common/common.h"

#define BLOB_OVERHEAD 104u

static sqlite3 *open_stolen(const breach_world *w)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(w->server_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

static int is_bucket(size_t blob_len)
{
    if (blob_len < BLOB_OVERHEAD + 512)
        return 0;
    size_t padded = blob_len - BLOB_OVERHEAD;
    return vault_blob__padded_len(padded) == padded;
}

void test_breach_size__every_stored_blob_is_a_padme_bucket(void **state)
{
    breach_world *w = *state;
    sqlite3 *db = open_stolen(w);
    sqlite3_stmt *q = NULL;
    size_t blobs = 0;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(data) FROM blobs", -1, &q, NULL),
                     SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_int64(q, 0);
        if (!is_bucket(len))
            fail_msg("a stored blob of %zu bytes is not a padding bucket", len);
        blobs++;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* alice's revisions, bob, carol, dave: every revision kept so far. */
    assert_true(blobs >= 8);
}

static size_t latest_blob_len(sqlite3 *db, const char *account_hex)
{
    uint8_t id[VAULT_ACCOUNT_ID_BYTES];
    sqlite3_stmt *q = NULL;
    size_t len = 0;
    assert_int_equal(vault__hex2bin(id, sizeof id, account_hex), VAULT_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT length(data) FROM blobs WHERE account_id = ?1 "
                                        "ORDER BY revision DESC LIMIT 1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(q, 1, id, sizeof id, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    len = (size_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return len;
}

void test_breach_size__small_vaults_of_different_counts_look_alike(void **state)
{
    breach_world *w = *state;
    sqlite3 *db = open_stolen(w);
    size_t a = latest_blob_len(db, w->small_account_a);
    size_t b = latest_blob_len(db, w->small_account_b);
    sqlite3_close(db);
    assert_int_not_equal(w->small_items_a, w->small_items_b);
    assert_int_equal(a, b);
    assert_int_equal(a, BLOB_OVERHEAD + 512);
}

/* Above the floor too: a vault grows item by item; many consecutive counts
 * seal to one size, and every size is a bucket. */
void test_breach_size__larger_vaults_share_buckets_across_counts(void **state)
{
    (void)state;
    vault *v = NULL;
    uint8_t key[32];
    size_t last_len = 0, run = 1, longest = 1, longest_len = 0;
    test_key(key, 7);
    assert_int_equal(vault_new(&v), VAULT_OK);
    for (unsigned n = 1; n <= 460; n++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"type\":\"login\",\"title\":\"Site %u\",\"fields\":[{\"name\":\"username\","
                 "\"value\":\"user%u@example.org\",\"hidden\":false}]}",
                 n, n * 7919u);
        assert_int_equal(vault_item_add(v, json, NULL), VAULT_OK);
        if (n < 400)
            continue;
        uint8_t *blob = NULL;
        size_t len = 0;
        assert_int_equal(vault_seal(v, key, "00112233445566778899aabbccddeeff", 1, &blob, &len),
                         VAULT_OK);
        vault_free(blob);
        assert_true(is_bucket(len));
        run = len == last_len ? run + 1 : 1;
        if (run > longest) {
            longest = run;
            longest_len = len;
        }
        last_len = len;
    }
    vault_close(v);
    printf("largest run: %zu consecutive item counts seal to %zu bytes\n", longest, longest_len);
    assert_true(longest >= 5);
    assert_true(longest_len > BLOB_OVERHEAD + 512);
}

/* Padmé padding: exact sizes and how little the padded size reveals. */
#include "blob/blob.h"
#include "blob_tests.h"

static void test_blob_pad__exact_sizes(void **state)
{
    (void)state;
    /* Values from the PURBs paper's algorithm (cross-checked in Python). */
    static const size_t cases[][2] = {
        {0, 512},           {1, 512},           {512, 512},
        {513, 544},         {544, 544},         {545, 576},
        {1000, 1024},       {1551, 1600},       {4097, 4352},
        {100000, 100352},   {1048577, 1081344}, {67108865, 69206016},
        {268439552, 276824064},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(vault_blob__padded_len(cases[i][0]), cases[i][1]);
}

/* Padmé's guarantee: at most ~12 % overhead; above our 512-byte floor the
 * exponent is at least 9, so it is even at most 1/16. Padded sizes are fixed
 * points, and the size is monotonic. */
static void test_blob_pad__overhead_bounded_and_monotonic(void **state)
{
    (void)state;
    size_t prev = 0;
    for (size_t len = 513; len < ((size_t)1 << 22); len += 7) {
        size_t p = vault_blob__padded_len(len);
        assert_true(p >= len);
        assert_true((p - len) * 100 <= len * 12);
        assert_true((p - len) * 16 <= len);
        assert_int_equal(vault_blob__padded_len(p), p);
        assert_true(p >= prev);
        prev = p;
    }
}

/* Only a coarse bucket leaks: the million lengths in [2^20, 2^21) map to 33
 * sizes (multiples of 2^15), i.e. about 5 bits instead of 20. */
static void test_blob_pad__leaks_only_a_bucket(void **state)
{
    (void)state;
    size_t distinct = 0, last = 0;
    for (size_t len = (size_t)1 << 20; len < (size_t)1 << 21; len++) {
        size_t p = vault_blob__padded_len(len);
        if (p != last) {
            distinct++;
            last = p;
        }
    }
    assert_int_equal(distinct, 33);
    /* Below the floor nothing leaks at all. */
    for (size_t len = 0; len <= 512; len++)
        assert_int_equal(vault_blob__padded_len(len), 512);
}

static void test_blob_pad__huge_lengths_do_not_wrap(void **state)
{
    (void)state;
    assert_int_equal(vault_blob__padded_len(SIZE_MAX), SIZE_MAX);
    assert_true(vault_blob__padded_len(SIZE_MAX / 2) >= SIZE_MAX / 2);
}

int blob_pad_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_pad__exact_sizes),
        cmocka_unit_test(test_blob_pad__overhead_bounded_and_monotonic),
        cmocka_unit_test(test_blob_pad__leaks_only_a_bucket),
        cmocka_unit_test(test_blob_pad__huge_lengths_do_not_wrap),
    };
    return cmocka_run_group_tests_name("blob_pad", tests, NULL, NULL);
}

/* Replays the committed fuzz corpus (every file of fuzz/corpus/<harness>) through the
 * harnesses of fuzz/, so every build — gcc, clang, ASan+UBSan, valgrind —
 * runs what the fuzzers found, including the reproducers of fixed bugs. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "testutil.h"

unsigned long fuzz_replay_failures;

typedef int (*harness_fn)(const uint8_t *data, size_t size);

/* Feeds every file of fuzz/corpus/<name> to fn; returns how many. */
static size_t replay_dir(const char *name, harness_fn fn)
{
    char dir[1024], path[2048];
    size_t n = 0;
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", VAULT_TEST_SOURCE_DIR, name);
    DIR *d = opendir(dir);
    assert_non_null(d);
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *data = test_read_file(path, &len);
        assert_non_null(data);
        unsigned long before = fuzz_replay_failures;
        assert_int_equal(fn(data, len), 0);
        if (fuzz_replay_failures != before)
            fail_msg("%s: an invariant failed (see above)", path);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

#define REPLAY_TEST(name)                                                  \
    static void test_fuzzreplay__##name(void **state)                      \
    {                                                                      \
        (void)state;                                                       \
        size_t n = replay_dir(#name, fuzz_##name);                         \
        assert_true(n > 0);                                                \
        printf("%s: %zu corpus files\n", #name, n);                        \
    }

REPLAY_TEST(blob_open)
REPLAY_TEST(item_json)
REPLAY_TEST(link_payload)
REPLAY_TEST(server_request)
REPLAY_TEST(client_answer)
REPLAY_TEST(import)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzzreplay__blob_open),
        cmocka_unit_test(test_fuzzreplay__item_json),
        cmocka_unit_test(test_fuzzreplay__link_payload),
        cmocka_unit_test(test_fuzzreplay__server_request),
        cmocka_unit_test(test_fuzzreplay__client_answer),
        cmocka_unit_test(test_fuzzreplay__import),
    };
    return cmocka_run_group_tests_name("fuzzreplay", tests, NULL, NULL);
}

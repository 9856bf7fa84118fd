/* Blob test suite driver: runs every group and fails if any group failed. */
#include "blob_tests.h"

int main(void)
{
    static const test_group_fn groups[] = {blob_pad_tests,     blob_vector_tests,
                                           blob_seal_tests,    blob_malformed_tests,
                                           blob_keywrap_tests, blob_stream_tests};
    return test_run_groups(groups, sizeof groups / sizeof groups[0]);
}

/* Blob test suite driver: runs every group and fails if any group failed. */
#include "blob_tests.h"

int main(void)
{
    if (vault_init() != VAULT_OK)
        return 1;
    int failed = 0;
    failed += blob_pad_tests();
    failed += blob_vector_tests();
    failed += blob_seal_tests();
    failed += blob_malformed_tests();
    failed += blob_keywrap_tests();
    failed += blob_stream_tests();
    return failed == 0 ? 0 : 1;
}

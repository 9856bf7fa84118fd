/* One ctest executable for tests/devicelink/: runs every suite. */
#include "suites.h"
#include "testutil.h"

int main(void)
{
    if (vault_init() != VAULT_OK)
        return 1;
    int failed = 0;
    failed += test_devicelink_payload_suite();
    failed += test_devicelink_keys_suite();
    failed += test_devicelink_qr_suite();
    failed += test_devicelink_relay_suite();
    failed += test_devicelink_flow_suite();
    failed += test_devicelink_rotate_suite();
    return failed == 0 ? 0 : 1;
}

/* One ctest executable for tests/devicelink/: runs every suite. */
#include "suites.h"
#include "testutil.h"

int main(void)
{
    static const test_group_fn groups[] = {
        test_devicelink_payload_suite, test_devicelink_keys_suite, test_devicelink_qr_suite,
        test_devicelink_relay_suite,   test_devicelink_flow_suite, test_devicelink_rotate_suite};
    return test_run_groups(groups, sizeof groups / sizeof groups[0]);
}

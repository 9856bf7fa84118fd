/* The device-link test suites; main.c runs them all. Each returns the number
 * of failed tests of its CMocka group. */
#ifndef TEST_DEVICELINK_SUITES_H
#define TEST_DEVICELINK_SUITES_H

int test_devicelink_payload_suite(void);
int test_devicelink_keys_suite(void);
int test_devicelink_qr_suite(void);
int test_devicelink_relay_suite(void);
int test_devicelink_flow_suite(void);
int test_devicelink_rotate_suite(void);

#endif

/* The corpus replay: each harness of fuzz/ built as fuzz_<name>(). */
#ifndef VAULT_TEST_FUZZREPLAY_H
#define VAULT_TEST_FUZZREPLAY_H

#include <stddef.h>
#include <stdint.h>

int fuzz_blob_open(const uint8_t *data, size_t size);
int fuzz_item_json(const uint8_t *data, size_t size);
int fuzz_link_payload(const uint8_t *data, size_t size);
int fuzz_server_request(const uint8_t *data, size_t size);
int fuzz_client_answer(const uint8_t *data, size_t size);
int fuzz_import(const uint8_t *data, size_t size);

#endif

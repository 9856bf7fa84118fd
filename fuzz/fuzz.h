/* Shared by every harness in fuzz/: one entry point per harness that builds
 * as libFuzzer's LLVMFuzzerTestOneInput (fuzz/CMakeLists.txt) or, with
 * VAULT_FUZZ_REPLAY, as fuzz_<name>() for the corpus replay test
 * (tests/fuzzreplay), so both run the same code.
 *
 * FUZZ_CHECK states an invariant of the library (not of the input): a
 * broken one aborts under libFuzzer (a crash it reports and minimises) and
 * counts as a failure in the replay test. */
#ifndef VAULT_FUZZ_H
#define VAULT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"

#ifdef VAULT_FUZZ_REPLAY
#define FUZZ_ENTRY(name)                                          \
    int fuzz_##name(const uint8_t *data, size_t size);            \
    int fuzz_##name(const uint8_t *data, size_t size)
extern unsigned long fuzz_replay_failures;
#define FUZZ_FAIL() (fuzz_replay_failures++)
#else
#define FUZZ_ENTRY(name)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);          \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#define FUZZ_FAIL() abort()
#endif

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            FUZZ_FAIL();                                                          \
        }                                                                         \
    } while (0)

/* Every status a library call may return on bad input: a negative VAULT_E_*
 * that exists (vault_strerror knows it), never a crash and never something
 * else. */
#define FUZZ_CHECK_STATUS(rc) \
    FUZZ_CHECK((rc) <= 0 && strcmp(vault_strerror(rc), "unknown error") != 0)

#endif

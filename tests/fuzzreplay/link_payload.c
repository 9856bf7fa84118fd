/* The harness fuzz/link_payload.c, built for the corpus replay (not a copy). */
#define VAULT_FUZZ_REPLAY 1
#include "../../fuzz/link_payload.c"

/* The harness fuzz/server_request.c, built for the corpus replay (not a copy). */
#define VAULT_FUZZ_REPLAY 1
#include "../../fuzz/server_request.c"

/* The harness fuzz/item_json.c, built for the corpus replay (not a copy). */
#define VAULT_FUZZ_REPLAY 1
#include "../../fuzz/item_json.c"

/* Helpers shared by the files of the opaque module only. */
#ifndef VAULT_OPAQUE_INT_H
#define VAULT_OPAQUE_INT_H

#include <stdint.h>

#include "opaque/opaque.h"

/* DeserializeElement's check: VAULT_OK for a canonical ristretto255 encoding
 * other than the identity, VAULT_E_INVALID otherwise (no message set). */
int vault__opaque_element_check(const uint8_t e[VAULT_OPAQUE_NOE]);

#endif

/*
 * KDF module: Argon2id (libsodium crypto_pwhash, ARGON2ID13) and parameter
 * policy. Internal interface for other modules.
 */
#ifndef VAULT_KDF_H
#define VAULT_KDF_H

#include <stdint.h>

#include "vault.h"

/* 1 if (ops, mem) is weaker than (ref_ops, ref_mem) in either dimension:
 * the client refuses such a downgrade once it has seen the reference. */
int vault_kdf__is_weaker(uint64_t ops, uint64_t mem, uint64_t ref_ops, uint64_t ref_mem);

#endif

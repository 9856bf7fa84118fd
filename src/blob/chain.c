/*
 * The chain: every sealed blob lists, inside its authenticated inner
 * plaintext, the blobs it descends from (revision and BLAKE2b-256 of the
 * whole blob), newest first. A device that kept the hash of the last blob it
 * confirmed can then tell "the server's history contains it" from "same
 * revision number, other content" without trusting the server's word.
 * The byte layout is in docs/format.md; how sync uses it in docs/sync.md.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob_int.h"
#include "common/common.h"

void vault_chain__hash(uint8_t hash[VAULT_CHAIN_HASH_BYTES], const uint8_t *blob, size_t len)
{
    crypto_generichash(hash, VAULT_CHAIN_HASH_BYTES, blob, len, NULL, 0);
}

void vault_chain__extend(vault_chain *child, const vault_chain *parent_chain,
                         uint64_t parent_revision,
                         const uint8_t parent_hash[VAULT_CHAIN_HASH_BYTES])
{
    uint32_t inherited = parent_chain != NULL ? parent_chain->count : 0;
    if (inherited > VAULT_CHAIN_MAX - 1)
        inherited = VAULT_CHAIN_MAX - 1;
    /* memmove: child may be parent_chain itself. */
    if (inherited > 0) {
        memmove(child->revision + 1, parent_chain->revision, inherited * sizeof child->revision[0]);
        memmove(child->hash + 1, parent_chain->hash, inherited * sizeof child->hash[0]);
    }
    child->revision[0] = parent_revision;
    memcpy(child->hash[0], parent_hash, VAULT_CHAIN_HASH_BYTES);
    child->count = inherited + 1;
}

int vault_chain__says(const vault_chain *chain, uint64_t revision,
                      const uint8_t hash[VAULT_CHAIN_HASH_BYTES])
{
    for (uint32_t i = 0; i < chain->count; i++)
        if (chain->revision[i] == revision)
            return sodium_memcmp(chain->hash[i], hash, VAULT_CHAIN_HASH_BYTES) == 0
                       ? VAULT_CHAIN_SAME
                       : VAULT_CHAIN_OTHER;
    return VAULT_CHAIN_UNKNOWN;
}

void vault_blob__write_chain(uint8_t *inner, const vault_chain *chain)
{
    uint32_t count = chain != NULL ? chain->count : 0;
    uint8_t *p = inner + INNER_ANCESTORS_OFF;
    memset(inner + INNER_CHAIN_OFF, 0, INNER_ANCESTORS_OFF - INNER_CHAIN_OFF);
    inner[INNER_CHAIN_OFF] = (uint8_t)count;
    for (uint32_t i = 0; i < count; i++, p += INNER_ANCESTOR_BYTES) {
        vault__store64_be(p, chain->revision[i]);
        memcpy(p + 8, chain->hash[i], VAULT_CHAIN_HASH_BYTES);
    }
}

int vault_blob__read_chain(vault_chain *chain, const uint8_t *inner, size_t inner_len,
                           uint64_t revision)
{
    uint32_t count = inner[INNER_CHAIN_OFF];
    if (count > VAULT_CHAIN_MAX || (count > 0 && count >= revision))
        return vault__fail(VAULT_E_CORRUPT, "vault blob: %u ancestors for revision %llu",
                           (unsigned)count, (unsigned long long)revision);
    if (!sodium_is_zero(inner + INNER_CHAIN_OFF + 1, INNER_ANCESTORS_OFF - INNER_CHAIN_OFF - 1))
        return vault__fail(VAULT_E_CORRUPT, "vault blob: reserved chain bytes are not zero");
    if (INNER_DATA_OFF(count) > inner_len)
        return vault__fail(VAULT_E_CORRUPT, "vault blob: ancestors past the end");
    const uint8_t *p = inner + INNER_ANCESTORS_OFF;
    for (uint32_t i = 0; i < count; i++, p += INNER_ANCESTOR_BYTES) {
        uint64_t r = vault__load64_be(p);
        if (r != revision - 1 - i)
            return vault__fail(VAULT_E_CORRUPT, "vault blob: ancestor %u is revision %llu, "
                                                "expected %llu",
                               (unsigned)i, (unsigned long long)r,
                               (unsigned long long)(revision - 1 - i));
        if (chain != NULL) {
            chain->revision[i] = r;
            memcpy(chain->hash[i], p + 8, VAULT_CHAIN_HASH_BYTES);
        }
    }
    if (chain != NULL)
        chain->count = count;
    return VAULT_OK;
}

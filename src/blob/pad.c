/*
 * Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted
 * Files and Communication with PURBs", PETS 2019): a length L with
 * E = floor(log2 L) is rounded up so that only its top floor(log2 E) + 1 bits
 * may be non-zero. The overhead is at most about 12 % and a padded length
 * leaks O(log log L) bits instead of log L. Below INNER_MIN_BYTES every
 * length pads to the floor, so small vaults are indistinguishable.
 */
#include "blob/blob_int.h"

static unsigned floor_log2(uint64_t x)
{
    unsigned r = 0;
    while (x >>= 1)
        r++;
    return r;
}

size_t vault_blob__padded_len(size_t len)
{
    if (len <= INNER_MIN_BYTES)
        return INNER_MIN_BYTES;
    if (len > SIZE_MAX / 2)
        return SIZE_MAX; /* never a valid length: callers cap far below */
    uint64_t l = len;
    unsigned e = floor_log2(l);
    unsigned s = floor_log2(e) + 1;
    uint64_t mask = (UINT64_C(1) << (e - s)) - 1;
    return (size_t)((l + mask) & ~mask);
}

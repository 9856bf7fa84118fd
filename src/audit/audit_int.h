/* Private to src/audit: the offline breach lookup. */
#ifndef VAULT_AUDIT_INT_H
#define VAULT_AUDIT_INT_H

#include "common/common.h"

/* Below this zxcvbn estimate (log2 of the guesses) a secret is weak: 2^40
 * guesses fall in hours to one GPU against a fast hash. */
#define VAULT_AUDIT_WEAK_BITS 40.0

typedef struct vault_audit__breach {
    int fd;
    uint64_t size;
} vault_audit__breach;

/* Opens a Pwned Passwords file (VAULT_E_IO if it cannot be read). */
int vault_audit__breach_open(vault_audit__breach *b, const char *path);
void vault_audit__breach_close(vault_audit__breach *b);
/* How often password appears in the file (0: not at all). VAULT_E_INVALID
 * for a malformed line met on the way, VAULT_E_IO for a read error. */
int vault_audit__breach_count(const vault_audit__breach *b, const char *password,
                              uint64_t *count);

#endif

/*
 * TOTP module (RFC 6238): parses a stored TOTP secret (an otpauth:// URI or
 * a bare base32 secret) and computes codes with liboath. Internal interface;
 * the public calls are vault_totp_* in include/vault.h.
 */
#ifndef VAULT_TOTP_H
#define VAULT_TOTP_H

#include "common/common.h"

/* Checks that text is a TOTP secret vault_totp_code() accepts
 * (VAULT_E_INVALID naming the problem, never the secret). */
int vault_totp__check(const char *text);

#endif

'use strict';
// Exceptions mapped from libvault's VAULT_E_* codes: one class per family,
// each carrying code (negative status), name ("VAULT_E_AUTH"), reason (the
// library's name for the code) and message (the detail from the handle).

const CODES = {
  [-1]: 'VAULT_E_INVALID', [-2]: 'VAULT_E_NOMEM', [-3]: 'VAULT_E_AUTH',
  [-4]: 'VAULT_E_CORRUPT', [-5]: 'VAULT_E_WEAK_KDF', [-6]: 'VAULT_E_LIMIT',
  [-7]: 'VAULT_E_IO', [-8]: 'VAULT_E_NOT_FOUND', [-9]: 'VAULT_E_VERSION',
  [-10]: 'VAULT_E_LOCKED', [-11]: 'VAULT_E_EXISTS', [-12]: 'VAULT_E_ROLLBACK',
  [-13]: 'VAULT_E_CONFLICT', [-14]: 'VAULT_E_NETWORK', [-15]: 'VAULT_E_SERVER',
  [-16]: 'VAULT_E_RATE_LIMITED', [-17]: 'VAULT_E_STATE', [-18]: 'VAULT_E_EXPIRED',
  [-19]: 'VAULT_E_MISMATCH', [-20]: 'VAULT_E_REVOKED', [-21]: 'VAULT_E_INSECURE',
  [-22]: 'VAULT_E_PENDING', [-23]: 'VAULT_E_SAS', [-24]: 'VAULT_E_INTERNAL',
  [-25]: 'VAULT_E_FORK', [-29]: 'VAULT_E_FORMAT', [-31]: 'VAULT_E_UNSUPPORTED',
};

class VaultError extends Error {
  constructor(code, message, reason) {
    const name = CODES[code] || 'VAULT_E_UNKNOWN';
    super(`${message || reason} (${name})`);
    this.code = code;
    this.codeName = name;
    this.reason = reason;
    this.detail = message || reason;
  }
}
// Error.name is the class name, as for built-in errors.
class InputError extends VaultError {}       // INVALID, LIMIT, FORMAT (an import's file)
class AuthError extends VaultError {}        // AUTH, REVOKED, SAS
class RateLimitedError extends AuthError {}  // RATE_LIMITED
class IntegrityError extends VaultError {}   // CORRUPT, WEAK_KDF, VERSION, ROLLBACK, MISMATCH
class ForkError extends IntegrityError {}    // FORK: client.resolveFork() merges both branches
class NotFoundError extends VaultError {}    // NOT_FOUND
class ExistsError extends VaultError {}      // EXISTS
class StateError extends VaultError {}       // LOCKED, STATE, PENDING, EXPIRED
class NetworkError extends VaultError {}     // NETWORK, SERVER, INSECURE, CONFLICT
class ConflictError extends NetworkError {}  // CONFLICT: sync() merges and retries
class StorageError extends VaultError {}     // IO
class InternalError extends VaultError {}    // NOMEM, INTERNAL
class UnsupportedError extends VaultError {} // UNSUPPORTED, or a function missing from this libvault
// A handle used after close, or a borrowed one (Client.vault, a Link) after
// its owner closed, locked, synced or replaced it: no library call is made.
class ClosedError extends Error {}

for (const cls of [VaultError, InputError, AuthError, RateLimitedError, IntegrityError,
  ForkError, NotFoundError, ExistsError, StateError, NetworkError, ConflictError, StorageError,
  InternalError, UnsupportedError, ClosedError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name });
}

const FAMILY = {
  [-1]: InputError, [-6]: InputError, [-29]: InputError,
  [-3]: AuthError, [-16]: RateLimitedError, [-20]: AuthError, [-23]: AuthError,
  [-4]: IntegrityError, [-5]: IntegrityError, [-9]: IntegrityError,
  [-12]: IntegrityError, [-19]: IntegrityError, [-25]: ForkError,
  [-8]: NotFoundError,
  [-11]: ExistsError,
  [-10]: StateError, [-17]: StateError, [-22]: StateError, [-18]: StateError,
  [-14]: NetworkError, [-15]: NetworkError, [-21]: NetworkError, [-13]: ConflictError,
  [-7]: StorageError,
  [-2]: InternalError, [-24]: InternalError,
  [-31]: UnsupportedError,
};

function errorFor(code, message, reason) {
  const Cls = FAMILY[code] || VaultError;
  return new Cls(code, message, reason);
}

module.exports = {
  CODES, VaultError, InputError, AuthError, RateLimitedError, IntegrityError, ForkError,
  NotFoundError,
  ExistsError, StateError, NetworkError, ConflictError, StorageError, InternalError,
  UnsupportedError, ClosedError, errorFor,
};

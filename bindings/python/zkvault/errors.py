"""Exceptions mapped from libvault's VAULT_E_* status codes.

Every exception carries ``code`` (the negative status), ``name``
("VAULT_E_AUTH"), ``reason`` (the library's static name for the code) and the
detail message from the handle (vault_client_errmsg / vault_server_errmsg) or
the calling thread (vault_last_error). One class per family of codes, so that
``except zkvault.AuthError`` catches a wrong password, a rate limit, a revoked
device and mismatched link codes alike.
"""

from . import _lib

CODES = {
    -1: "VAULT_E_INVALID", -2: "VAULT_E_NOMEM", -3: "VAULT_E_AUTH", -4: "VAULT_E_CORRUPT",
    -5: "VAULT_E_WEAK_KDF", -6: "VAULT_E_LIMIT", -7: "VAULT_E_IO", -8: "VAULT_E_NOT_FOUND",
    -9: "VAULT_E_VERSION", -10: "VAULT_E_LOCKED", -11: "VAULT_E_EXISTS",
    -12: "VAULT_E_ROLLBACK", -13: "VAULT_E_CONFLICT", -14: "VAULT_E_NETWORK",
    -15: "VAULT_E_SERVER", -16: "VAULT_E_RATE_LIMITED", -17: "VAULT_E_STATE",
    -18: "VAULT_E_EXPIRED", -19: "VAULT_E_MISMATCH", -20: "VAULT_E_REVOKED",
    -21: "VAULT_E_INSECURE", -22: "VAULT_E_PENDING", -23: "VAULT_E_SAS",
    -24: "VAULT_E_INTERNAL", -25: "VAULT_E_FORK", -29: "VAULT_E_FORMAT", -31: "VAULT_E_UNSUPPORTED",
}
# The codes as module constants: zkvault.errors.E_AUTH == -3.
globals().update({name[len("VAULT_"):]: code for code, name in CODES.items()})


class VaultError(Exception):
    """A libvault call failed."""

    def __init__(self, code, message=""):
        self.code = code
        self.name = CODES.get(code, "VAULT_E_UNKNOWN")
        self.reason = _lib.fn.vault_strerror(code).decode("utf-8", "replace")
        self.message = message or self.reason
        super().__init__(f"{self.message} ({self.name})")


class InputError(VaultError, ValueError):
    """Invalid argument or malformed input, or a size limit (INVALID, LIMIT);
    an import of a malformed file or one of another format (FORMAT)."""


class AuthError(VaultError):
    """Wrong password or key, or tampered data (AUTH, RATE_LIMITED, REVOKED, SAS)."""


class RateLimitedError(AuthError):
    """Too many failed logins; retry later (RATE_LIMITED)."""


class IntegrityError(VaultError):
    """Data refused to protect the user: CORRUPT, WEAK_KDF, VERSION, ROLLBACK, MISMATCH."""


class ForkError(IntegrityError):
    """The server's history lost what this device confirmed or pushed (FORK):
    nothing changed locally; Client.resolve_fork() merges both branches."""


class NotFoundError(VaultError, LookupError):
    """No such item, vault, account, device or link (NOT_FOUND)."""


class ExistsError(VaultError):
    """Already exists: local vault, account, item id (EXISTS)."""


class StateError(VaultError):
    """Call made in the wrong state: LOCKED, STATE, PENDING, EXPIRED."""


class NetworkError(VaultError):
    """Transport or server failure: NETWORK, SERVER, INSECURE, CONFLICT."""


class ConflictError(NetworkError):
    """Push refused: the server holds a newer revision; sync() merges (CONFLICT)."""


class StorageError(VaultError, OSError):
    """The local store or a file could not be read or written (IO)."""


class InternalError(VaultError):
    """Out of memory or a library bug (NOMEM, INTERNAL)."""


class UnsupportedError(VaultError):
    """This build of libvault lacks the feature (UNSUPPORTED), or does not
    export the function at all (the client library has no server)."""

    @classmethod
    def missing(cls, function):
        return cls(-31, f"{function} is not available in this libvault")


class ClosedError(ValueError):
    """A handle used after it was closed, or a borrowed one (the Vault of
    Client.vault, a Link) after its owner closed, locked, synced or otherwise
    replaced what it pointed to. No library call was made."""


_FAMILY = {
    -1: InputError, -6: InputError, -29: InputError,
    -3: AuthError, -16: RateLimitedError, -20: AuthError, -23: AuthError,
    -4: IntegrityError, -5: IntegrityError, -9: IntegrityError, -12: IntegrityError,
    -19: IntegrityError, -25: ForkError,
    -8: NotFoundError,
    -11: ExistsError,
    -10: StateError, -17: StateError, -22: StateError, -18: StateError,
    -14: NetworkError, -15: NetworkError, -21: NetworkError, -13: ConflictError,
    -7: StorageError,
    -2: InternalError, -24: InternalError,
    -31: UnsupportedError,
}


def error_for(code, message=""):
    """The exception instance for a status code and detail message."""
    return _FAMILY.get(code, VaultError)(code, message)

"""zkvault: Python binding of libvault (zero-knowledge encrypted vaults).

    import zkvault
    with zkvault.Client("device.db") as c:
        c.create("correct horse", opslimit=2, memlimit=19922944)
        note_id = c.vault.add({"type": "note", "title": "Groceries",
                               "fields": [{"name": "text", "value": "milk",
                                           "hidden": False}]})
        c.save()

Errors raise subclasses of zkvault.VaultError carrying .code, .name and
.message (the library's detail). A handle used after it was closed, or a
Vault borrowed from Client.vault after the client locked, synced, pulled or
closed, raises zkvault.ClosedError (a ValueError) instead of reaching the
library.
"""

from .core import (HTTP_ALLOW_INSECURE, HTTP_INSECURE_TLS, IMPORT_DRY_RUN, KEY_BYTES,
                   LIST_DELETED, LIST_TRASH, QR_PGM, QR_SVG, QR_TEXT, SALT_BYTES, Client, Httpd,
                   Link, Server, Vault, blob_open, blob_seal, check_kdf_params, derive_keys,
                   interop_formats, new_salt, qr_render, strerror, totp_code, version)
from .errors import (CODES, AuthError, ClosedError, ConflictError, ExistsError, ForkError,
                     InputError, IntegrityError, InternalError, NetworkError, NotFoundError,
                     RateLimitedError, StateError, StorageError, UnsupportedError, VaultError)

# Argon2id floor: the weakest parameters the library accepts (tests use them).
KDF_OPSLIMIT_MIN = 2
KDF_MEMLIMIT_MIN = 19 * 1024 * 1024

__all__ = [
    "Client", "Vault", "Server", "Httpd", "Link", "VaultError", "ClosedError", "InputError", "AuthError",
    "RateLimitedError", "IntegrityError", "ForkError", "NotFoundError", "ExistsError", "StateError",
    "NetworkError", "ConflictError", "StorageError", "InternalError", "UnsupportedError", "CODES",
    "totp_code", "interop_formats", "IMPORT_DRY_RUN", "LIST_TRASH", "version", "strerror", "check_kdf_params", "derive_keys",
    "new_salt", "blob_seal", "blob_open",
    "qr_render", "LIST_DELETED", "HTTP_ALLOW_INSECURE", "HTTP_INSECURE_TLS", "QR_TEXT",
    "QR_SVG", "QR_PGM", "KEY_BYTES", "SALT_BYTES", "KDF_OPSLIMIT_MIN", "KDF_MEMLIMIT_MIN",
]

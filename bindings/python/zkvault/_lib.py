"""Loading libvault and declaring its C signatures (ctypes).

The shared library is found, in order, at $ZKVAULT_LIB; in the install
prefix that pkg-config knows (libvault-server, then libvault; set
PKG_CONFIG_PATH for a non-default prefix); then by the system loader
(libvault-server.so.0, libvault.so.0). libvault-server is the client library
plus the server; with the client library alone the server classes raise
UnsupportedError: functions this build of libvault does not export are left
as None, and the wrapper raises UnsupportedError when one is called.
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from ctypes import (POINTER, c_char_p, c_int, c_int32, c_int64, c_size_t,
                    c_uint16, c_uint32, c_uint64, c_void_p)

_NAMES = ("vault-server", "vault")


def _pkg_config_libdir(name):
    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--variable=libdir", name], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _candidates():
    env = os.environ.get("ZKVAULT_LIB")
    if env:
        return [env]
    found = []
    for name in _NAMES:
        libdir = _pkg_config_libdir(name)
        if libdir:
            found.append(os.path.join(libdir, f"lib{name}.so.0"))
    for name in _NAMES:
        found.append(ctypes.util.find_library(name) or f"lib{name}.so.0")
    return found


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as exc:  # try the next place
            errors.append(f"{path}: {exc}")
    raise OSError("cannot load libvault (set ZKVAULT_LIB to its path): " + "; ".join(errors))


lib = _load()

# Opaque handles travel as void pointers.
HANDLE = c_void_p
OUT_PTR = POINTER(c_void_p)  # char ** / uint8_t ** outputs, freed with vault_free
u8p = c_char_p  # const uint8_t * inputs (bytes)

_SIGNATURES = {
    # library, errors, memory
    "vault_init": (c_int, []),
    "vault_version": (c_char_p, []),
    "vault_strerror": (c_char_p, [c_int]),
    "vault_last_error": (c_char_p, []),
    "vault_free": (None, [c_void_p]),
    "vault_malloc": (c_void_p, [c_size_t]),
    # kdf
    "vault_key_bytes": (c_size_t, []),
    "vault_salt_bytes": (c_size_t, []),
    "vault_kdf_opslimit_default": (c_uint64, []),
    "vault_kdf_memlimit_default": (c_uint64, []),
    "vault_kdf_opslimit_min": (c_uint64, []),
    "vault_kdf_memlimit_min": (c_uint64, []),
    "vault_kdf_check_params": (c_int, [c_uint64, c_uint64]),
    "vault_kdf_derive": (c_int, [c_void_p, c_void_p, c_char_p, c_size_t, u8p, c_uint64, c_uint64]),
    "vault_kdf_salt": (c_int, [c_void_p]),
    # blob
    "vault_blob_seal": (c_int, [OUT_PTR, POINTER(c_size_t), u8p, c_char_p, c_uint64, u8p, c_size_t]),
    "vault_blob_open": (c_int, [OUT_PTR, POINTER(c_size_t), u8p, c_char_p, c_uint64, u8p, c_size_t]),
    "vault_blob_peek": (c_int, [u8p, c_size_t, OUT_PTR, POINTER(c_uint64)]),
    # vault and items
    "vault_new": (c_int, [POINTER(HANDLE)]),
    "vault_close": (None, [HANDLE]),
    "vault_to_json": (c_int, [HANDLE, OUT_PTR]),
    "vault_from_json": (c_int, [POINTER(HANDLE), c_char_p, c_size_t]),
    "vault_seal": (c_int, [HANDLE, u8p, c_char_p, c_uint64, OUT_PTR, POINTER(c_size_t)]),
    "vault_open": (c_int, [POINTER(HANDLE), u8p, c_char_p, c_uint64, u8p, c_size_t]),
    "vault_item_add": (c_int, [HANDLE, c_char_p, OUT_PTR]),
    "vault_item_update": (c_int, [HANDLE, c_char_p, c_char_p]),
    "vault_item_get": (c_int, [HANDLE, c_char_p, OUT_PTR]),
    "vault_item_delete": (c_int, [HANDLE, c_char_p]),
    "vault_item_list": (c_int, [HANDLE, c_uint32, OUT_PTR]),
    "vault_item_search": (c_int, [HANDLE, c_char_p, OUT_PTR]),
    "vault_item_trash": (c_int, [HANDLE, c_char_p]),
    "vault_item_restore": (c_int, [HANDLE, c_char_p]),
    "vault_trash_expire": (c_int, [HANDLE, c_uint32, POINTER(c_uint64)]),
    "vault_item_totp": (c_int, [HANDLE, c_char_p, c_uint64, OUT_PTR, POINTER(c_uint32)]),
    "vault_totp_check": (c_int, [c_char_p]),
    "vault_totp_code": (c_int, [c_char_p, c_uint64, OUT_PTR, POINTER(c_uint32)]),
    "vault_audit": (c_int, [HANDLE, c_char_p, c_uint32, OUT_PTR]),
    "vault_item_count": (c_int, [HANDLE, POINTER(c_uint64)]),
    "vault_merge": (c_int, [POINTER(HANDLE), HANDLE, HANDLE, HANDLE]),
    # import and export (docs/interop.md)
    "vault_interop_formats": (c_int, [OUT_PTR]),
    "vault_import": (c_int, [HANDLE, c_char_p, u8p, c_size_t, c_char_p, c_uint32, OUT_PTR]),
    "vault_export": (c_int, [HANDLE, c_char_p, c_char_p, c_uint64, c_uint64, OUT_PTR,
                             POINTER(c_size_t)]),
    "vault_compare": (c_int, [HANDLE, HANDLE, POINTER(c_int32)]),
    # server and daemon
    "vault_server_open": (c_int, [POINTER(HANDLE), c_char_p, u8p, c_size_t, c_uint32]),
    "vault_server_close": (None, [HANDLE]),
    "vault_server_handle": (c_int, [HANDLE, c_char_p, c_size_t, OUT_PTR]),
    "vault_server_set_option": (c_int, [HANDLE, c_int, c_int64]),
    "vault_server_errmsg": (c_char_p, [HANDLE]),
    "vault_httpd_start": (c_int, [POINTER(HANDLE), HANDLE, c_char_p, c_uint16, c_char_p, c_char_p, c_uint32]),
    "vault_httpd_port": (c_uint16, [HANDLE]),
    "vault_httpd_stop": (None, [HANDLE]),
    # client
    "vault_client_open": (c_int, [POINTER(HANDLE), c_char_p, c_uint32]),
    "vault_client_close": (None, [HANDLE]),
    "vault_client_errmsg": (c_char_p, [HANDLE]),
    "vault_client_create": (c_int, [HANDLE, c_char_p, c_uint64, c_uint64]),
    "vault_client_unlock": (c_int, [HANDLE, c_char_p]),
    "vault_client_lock": (c_int, [HANDLE]),
    "vault_client_is_unlocked": (c_int, [HANDLE, POINTER(c_int32)]),
    "vault_client_vault": (c_int, [HANDLE, POINTER(HANDLE)]),
    "vault_client_save": (c_int, [HANDLE]),
    "vault_client_account_id": (c_int, [HANDLE, OUT_PTR]),
    "vault_client_connect_local": (c_int, [HANDLE, HANDLE]),
    "vault_client_connect_http": (c_int, [HANDLE, c_char_p, c_uint32]),
    "vault_client_connect_http_ca": (c_int, [HANDLE, c_char_p, c_uint32, c_char_p]),
    "vault_client_register": (c_int, [HANDLE, c_char_p]),
    "vault_client_login": (c_int, [HANDLE, c_char_p, c_char_p]),
    "vault_client_set_secret_key": (c_int, [HANDLE, c_char_p]),
    "vault_client_emergency_kit": (c_int, [HANDLE, OUT_PTR]),
    "vault_client_logout": (c_int, [HANDLE]),
    "vault_client_pull": (c_int, [HANDLE]),
    "vault_client_push": (c_int, [HANDLE]),
    "vault_client_sync": (c_int, [HANDLE]),
    "vault_client_resolve_fork": (c_int, [HANDLE]),
    "vault_client_sign_in": (c_int, [HANDLE, c_char_p, c_char_p]),
    "vault_client_revision": (c_int, [HANDLE, POINTER(c_uint64)]),
    "vault_client_change_password": (c_int, [HANDLE, c_char_p, c_char_p, c_uint64, c_uint64]),
    "vault_client_delete_account": (c_int, [HANDLE, c_char_p]),
    "vault_client_unlock_device": (c_int, [HANDLE, u8p]),
    "vault_client_devices": (c_int, [HANDLE, OUT_PTR]),
    "vault_client_revoke": (c_int, [HANDLE, c_char_p]),
    # device linking
    "vault_link_offer": (c_int, [POINTER(HANDLE), HANDLE]),
    "vault_link_payload": (c_int, [HANDLE, OUT_PTR]),
    "vault_link_poll": (c_int, [HANDLE]),
    "vault_link_join": (c_int, [POINTER(HANDLE), HANDLE, c_char_p]),
    "vault_link_request": (c_int, [POINTER(HANDLE), HANDLE]),
    "vault_link_accept": (c_int, [POINTER(HANDLE), HANDLE, c_char_p]),
    "vault_link_sas": (c_int, [HANDLE, OUT_PTR]),
    "vault_link_confirm": (c_int, [HANDLE, c_char_p]),
    "vault_link_confirm_sas": (c_int, [HANDLE, c_char_p, c_char_p]),
    "vault_link_complete": (c_int, [HANDLE, u8p]),
    "vault_link_complete_sas": (c_int, [HANDLE, u8p, c_char_p]),
    "vault_link_abort": (c_int, [HANDLE]),
    "vault_link_free": (None, [HANDLE]),
    "vault_qr_render": (c_int, [c_char_p, c_uint32, OUT_PTR, POINTER(c_size_t)]),
}


class _Functions:
    """The declared functions as attributes; None where libvault lacks one."""


fn = _Functions()
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        setattr(fn, _name, None)
        continue
    _f.restype = _restype
    _f.argtypes = _argtypes
    setattr(fn, _name, _f)

if fn.vault_init() != 0:
    raise OSError("libvault could not start (libsodium failed to initialise)")

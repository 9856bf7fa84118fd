"""Pythonic wrapper over libvault: Vault, Client, Server, Httpd, Link.

Strings cross the boundary as UTF-8; items are dicts (JSON on the C side).
Every buffer the library returns is copied and released with vault_free(),
which wipes it. Passwords are copied into a ctypes buffer that is zeroed
right after the call; Python's own str objects cannot be wiped, so pass
bytearray where that matters.
"""

import ctypes
import json
import time
from ctypes import byref, c_int32, c_size_t, c_uint32, c_uint64, c_void_p

from . import _lib
from .errors import ClosedError, UnsupportedError, error_for

fn = _lib.fn

LIST_DELETED = 1
LIST_TRASH = 2
IMPORT_DRY_RUN = 1
HTTP_ALLOW_INSECURE = 1
HTTP_INSECURE_TLS = 2
QR_TEXT, QR_SVG, QR_PGM = 1, 2, 3
SERVER_OPTIONS = {"session_ttl": 1, "link_ttl": 2, "login_free": 3, "max_blob": 4,
                  "clock_skew": 5}
KEY_BYTES = 32
SALT_BYTES = 16


def _call(name, *args, errmsg=None):
    """Calls a libvault function; raises the mapped exception on failure.
    errmsg(): the handle's message, read right after the call (a koffi-style
    worker thread could otherwise lose the thread-local one)."""
    f = getattr(fn, name)
    if f is None:
        raise UnsupportedError.missing(name)
    rc = f(*args)
    if rc != 0:
        raw = errmsg() if errmsg is not None else fn.vault_last_error()
        raise error_for(rc, (raw or b"").decode("utf-8", "replace"))
    return rc


def _text(value, what="value"):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


class _Secret:
    """A NUL-terminated copy of a password in a ctypes buffer, zeroed on exit."""

    def __init__(self, value, what="password"):
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{what} must be str, bytes or bytearray")
        self.buf = ctypes.create_string_buffer(bytes(value), len(value) + 1)

    def __enter__(self):
        return self.buf

    def __exit__(self, *exc):
        ctypes.memset(self.buf, 0, ctypes.sizeof(self.buf))


def _take_string(ptr):
    """Copies a vault_free-able NUL-terminated string and frees it."""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        fn.vault_free(ptr)


def _take_bytes(ptr, length):
    try:
        return ctypes.string_at(ptr.value, length.value)
    finally:
        fn.vault_free(ptr)


def _string(call, name, *args):
    """call(name, *args, &out) for a function that returns a vault_free-able
    string in its last argument: that string, copied and freed."""
    out = c_void_p()
    call(name, *args, byref(out))
    return _take_string(out)


def _json(call, name, *args):
    """Like _string, for a function that returns JSON: the parsed value."""
    return json.loads(_string(call, name, *args))


def _bytes(call, name, *args):
    """Like _string, for a function whose last two arguments receive a buffer
    and its length: the bytes."""
    out, out_len = c_void_p(), c_size_t()
    call(name, *args, byref(out), byref(out_len))
    return _take_bytes(out, out_len)


def _u64(call, name, *args):
    """Like _string, for a function that returns a uint64_t."""
    n = c_uint64()
    call(name, *args, byref(n))
    return n.value


def _totp(call, name, *args):
    out, left = c_void_p(), c_uint32()
    call(name, *args, byref(out), byref(left))
    return _take_string(out), left.value


def totp_code(secret, unix_time=None):
    """(code, seconds_left) for an otpauth://totp/ URI or a base32 secret."""
    return _totp(_call, "vault_totp_code", _text(secret, "secret"),
                 int(time.time()) if unix_time is None else unix_time)


def _new_handle(name, *args, errmsg=None):
    """Calls a constructor whose first argument receives the new handle."""
    h = c_void_p()
    _call(name, byref(h), *args, errmsg=errmsg)
    return h


class _Handle:
    """Lifetime of an object over a library handle (self._h): released by the
    function named _free at close(), at the end of a with block, or when the
    object is collected; a borrowed handle (_owner set) is only forgotten."""

    _free = None
    _owner = None

    def close(self):
        if getattr(self, "_h", None) is not None and self._owner is None:
            getattr(fn, self._free)(self._h)
        self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _key(value, what="key"):
    data = bytes(value)
    if len(data) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes")
    return data


def _item_json(item):
    if isinstance(item, dict):
        return json.dumps(item, ensure_ascii=False).encode("utf-8")
    return _text(item, "item")


def interop_formats():
    """The import and export formats: [{"name", "description", "import",
    "export", "plaintext"}, ...]."""
    return _json(_call, "vault_interop_formats")


def version():
    return fn.vault_version().decode()


def strerror(code):
    return fn.vault_strerror(code).decode()


def check_kdf_params(opslimit, memlimit):
    _call("vault_kdf_check_params", opslimit, memlimit)


def derive_keys(password, salt, opslimit, memlimit):
    """Argon2id: (auth_key, enc_key), 32 bytes each."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes")
    auth = ctypes.create_string_buffer(KEY_BYTES)
    enc = ctypes.create_string_buffer(KEY_BYTES)
    with _Secret(password) as pw:
        _call("vault_kdf_derive", auth, enc, pw, len(pw.value), bytes(salt), opslimit, memlimit)
    return auth.raw, enc.raw


def new_salt():
    salt = ctypes.create_string_buffer(SALT_BYTES)
    _call("vault_kdf_salt", salt)
    return salt.raw


def _blob(name, key, account_id, revision, data):
    """vault_blob_seal and vault_blob_open, whose outputs come first."""
    out, out_len = c_void_p(), c_size_t()
    _call(name, byref(out), byref(out_len), _key(key), _text(account_id), revision, data,
          len(data))
    return _take_bytes(out, out_len)


def blob_seal(key, account_id, revision, plaintext):
    return _blob("vault_blob_seal", key, account_id, revision, _text(plaintext, "plaintext"))


def blob_open(key, account_id, revision, blob):
    return _blob("vault_blob_open", key, account_id, revision, bytes(blob))


def qr_render(text, fmt=QR_TEXT):
    """The QR code of text: str for QR_TEXT and QR_SVG, bytes for QR_PGM."""
    data = _bytes(_call, "vault_qr_render", _text(text), fmt)
    return data if fmt == QR_PGM else data.decode("utf-8")


class Vault(_Handle):
    """An unlocked vault in memory. Owned (vault_new / from_json / open) or
    borrowed from a Client, in which case it is valid only until the client's
    next call that may replace or free it (lock, unlock, close, pull, sync,
    push, login, link, ... : every call but save, account_id, revision,
    unlocked and connect_*); after that it raises ClosedError: take
    Client.vault again."""

    _free = "vault_close"

    def __init__(self, _handle=None, _owner=None):
        if _handle is None:
            _handle = _new_handle("vault_new")
        self._h = _handle
        self._owner = _owner  # the Client, for a borrowed vault
        self._generation = None if _owner is None else _owner._generation

    def _handle(self):
        if self._h is None:
            raise ClosedError("vault is closed")
        owner = self._owner
        if owner is not None and (owner._h is None or owner._generation != self._generation):
            self._h = None
            raise ClosedError("this Vault was borrowed from a Client that has since closed, "
                              "locked, synced or replaced its vault: take client.vault again")
        return self._h

    # whole vault
    @classmethod
    def from_json(cls, text):
        data = _text(text, "vault JSON")
        return cls(_new_handle("vault_from_json", data, len(data)))

    def to_json(self):
        return _string(_call, "vault_to_json", self._handle())

    @classmethod
    def open(cls, key, account_id, revision, blob):
        blob = bytes(blob)
        return cls(_new_handle("vault_open", _key(key), _text(account_id), revision, blob,
                               len(blob)))

    def seal(self, key, account_id, revision):
        return _bytes(_call, "vault_seal", self._handle(), _key(key), _text(account_id), revision)

    @classmethod
    def merge(cls, base, local, remote):
        return cls(_new_handle("vault_merge", base._handle(), local._handle(), remote._handle()))

    def same_content(self, other):
        """Whether both vaults hold the same items (history and tombstones
        included) and devices, in any order (vault_compare)."""
        flag = c_int32()
        _call("vault_compare", self._handle(), other._handle(), byref(flag))
        return bool(flag.value)

    # items
    def add(self, item):
        """Adds an item (dict or JSON text); returns its id."""
        return _string(_call, "vault_item_add", self._handle(), _item_json(item))

    def update(self, item_id, item):
        _call("vault_item_update", self._handle(), _text(item_id, "id"), _item_json(item))

    def get(self, item_id):
        return _json(_call, "vault_item_get", self._handle(), _text(item_id, "id"))

    def delete(self, item_id):
        _call("vault_item_delete", self._handle(), _text(item_id, "id"))

    def list(self, deleted=False, trash=False):
        """Live items; trash=True: only those in the trash; deleted=True: every
        item, trash and tombstones included."""
        flags = (LIST_DELETED if deleted else 0) | (LIST_TRASH if trash else 0)
        return _json(_call, "vault_item_list", self._handle(), flags)

    def trash(self, item_id):
        """Moves an item to the trash (content kept, synced)."""
        _call("vault_item_trash", self._handle(), _text(item_id, "id"))

    def restore(self, item_id):
        _call("vault_item_restore", self._handle(), _text(item_id, "id"))

    def expire_trash(self, days):
        """Purges what has been in the trash for `days` days; returns the count."""
        return _u64(_call, "vault_trash_expire", self._handle(), days)

    def totp(self, item_id, unix_time=None):
        """(code, seconds_left) of the item's TOTP field at unix_time (default now)."""
        return _totp(_call, "vault_item_totp", self._handle(), _text(item_id, "id"),
                     int(time.time()) if unix_time is None else unix_time)

    def audit(self, breach_file=None, old_days=365):
        """The audit report (dict): weak, reused, old and breached secrets."""
        path = None if breach_file is None else _text(str(breach_file), "breach_file")
        return _json(_call, "vault_audit", self._handle(), path, old_days)

    def search(self, query):
        return _json(_call, "vault_item_search", self._handle(), _text(query, "query"))

    def import_data(self, fmt, data, password=None, dry_run=False):
        """Imports another manager's file (bytes or str) in format fmt, all or
        nothing (interop_formats() lists them); returns the report (dict).
        password: only for "zkvault-encrypted". A malformed file or one of
        another format raises InputError (code FORMAT) naming the line."""
        data = _text(data, "data")
        flags = IMPORT_DRY_RUN if dry_run else 0
        if password is None:
            return _json(_call, "vault_import", self._handle(), _text(fmt, "format"), data,
                         len(data), None, flags)
        with _Secret(password) as pw:
            return _json(_call, "vault_import", self._handle(), _text(fmt, "format"), data,
                         len(data), pw, flags)

    def export(self, fmt="zkvault-encrypted", password=None, opslimit=0, memlimit=0):
        """The live items in format fmt (bytes). "zkvault-encrypted" (the
        default) seals them under password with Argon2id (0, 0: defaults);
        every other format is PLAINTEXT."""
        if password is None:
            return _bytes(_call, "vault_export", self._handle(), _text(fmt, "format"), None,
                          opslimit, memlimit)
        with _Secret(password) as pw:
            return _bytes(_call, "vault_export", self._handle(), _text(fmt, "format"), pw,
                          opslimit, memlimit)

    def count(self):
        return _u64(_call, "vault_item_count", self._handle())

    def __len__(self):
        return self.count()

    def __iter__(self):
        return iter(self.list())

    def __contains__(self, item_id):
        try:
            self.get(item_id)
        except LookupError:
            return False
        return True


class Server(_Handle):
    """The server handler with its SQLite store (embedded, or behind Httpd)."""

    _free = "vault_server_close"

    def __init__(self, db_path, pepper):
        pepper = bytes(pepper)
        self._h = _new_handle("vault_server_open", _text(str(db_path)), pepper, len(pepper), 0)
        self._daemons = []  # stopped before the server closes: they use it

    def close(self):
        for daemon in self._daemons:
            daemon.stop()
        self._daemons = []
        super().close()

    def _handle(self):
        if getattr(self, "_h", None) is None:
            raise ClosedError("server is closed")
        return self._h

    def _errmsg(self):
        return fn.vault_server_errmsg(self._h)

    def _call(self, name, *args):
        return _call(name, self._handle(), *args, errmsg=self._errmsg)

    def handle(self, request):
        """One protocol request (dict or JSON text) → the response dict."""
        data = _item_json(request)
        return _json(self._call, "vault_server_handle", data, len(data))

    def set_option(self, name, value):
        self._call("vault_server_set_option", SERVER_OPTIONS[name], value)

    def serve_http(self, bind_addr="127.0.0.1", port=0, cert_pem=None, key_pem=None, threads=0):
        return Httpd(self, bind_addr, port, cert_pem, key_pem, threads)


class Httpd(_Handle):
    """The reference HTTP daemon serving a Server on a thread pool."""

    _free = "vault_httpd_stop"

    def __init__(self, server, bind_addr="127.0.0.1", port=0, cert_pem=None, key_pem=None,
                 threads=0):
        h = _new_handle("vault_httpd_start", server._handle(), _text(bind_addr), port,
                        None if cert_pem is None else _text(str(cert_pem)),
                        None if key_pem is None else _text(str(key_pem)), threads)
        self._h = h
        self._server = server  # must outlive the daemon
        server._daemons.append(self)
        self.port = fn.vault_httpd_port(h)
        self.url = f"http://{bind_addr}:{self.port}" if cert_pem is None else \
            f"https://{bind_addr}:{self.port}"

    def stop(self):
        """Stops the daemon (what close() and the end of a with block do)."""
        self.close()


class Client(_Handle):
    """One device: a local store (ciphertext only), unlock, sync."""

    _free = "vault_client_close"

    # Calls that never replace or free the client's vault: a Vault borrowed
    # from Client.vault survives them; any other call invalidates it.
    _KEEPS_VAULT = frozenset((
        "vault_client_vault", "vault_client_save", "vault_client_account_id",
        "vault_client_revision", "vault_client_is_unlocked", "vault_client_connect_local",
        "vault_client_connect_http"))

    def __init__(self, path):
        self._generation = 0
        self._h = _new_handle("vault_client_open", _text(str(path)), 0)
        self._server = None  # keeps an embedded server alive while connected

    def close(self):
        self._generation = getattr(self, "_generation", 0) + 1
        super().close()

    def _errmsg(self):
        return fn.vault_client_errmsg(self._h)

    def _handle(self, call="vault_client_lock"):
        if self._h is None:
            raise ClosedError("client is closed")
        if self._server is not None and self._server._h is None:
            raise ClosedError("the Server this client is connected to is closed")
        if call not in self._KEEPS_VAULT:
            self._generation += 1
        return self._h

    def _call(self, name, *args):
        return _call(name, self._handle(name), *args, errmsg=self._errmsg)

    # local vault
    def create(self, password, opslimit=0, memlimit=0):
        with _Secret(password) as pw:
            self._call("vault_client_create", pw, opslimit, memlimit)

    def unlock(self, password):
        with _Secret(password) as pw:
            self._call("vault_client_unlock", pw)

    def unlock_device(self, local_key):
        self._call("vault_client_unlock_device", _key(local_key, "local key"))

    def lock(self):
        self._call("vault_client_lock")

    @property
    def unlocked(self):
        flag = c_int32()
        self._call("vault_client_is_unlocked", byref(flag))
        return bool(flag.value)

    @property
    def vault(self):
        """The unlocked vault, borrowed (see Vault)."""
        h = c_void_p()
        self._call("vault_client_vault", byref(h))
        return Vault(h, _owner=self)

    def save(self):
        self._call("vault_client_save")

    @property
    def account_id(self):
        return _string(self._call, "vault_client_account_id")

    @property
    def revision(self):
        return _u64(self._call, "vault_client_revision")

    # server
    def connect_local(self, server):
        self._server = None
        self._call("vault_client_connect_local", server._handle())
        self._server = server

    def connect_http(self, base_url, allow_insecure=False, insecure_tls=False, ca_file=None):
        """Syncs over HTTP(S). ca_file: a PEM bundle of a private CA to trust;
        None follows $ZKVAULT_CA_FILE, $SSL_CERT_FILE, $CURL_CA_BUNDLE, then the
        system's store."""
        flags = (HTTP_ALLOW_INSECURE if allow_insecure else 0) | \
                (HTTP_INSECURE_TLS if insecure_tls else 0)
        ca = None if ca_file is None else _text(str(ca_file))
        self._call("vault_client_connect_http_ca", _text(base_url), flags, ca)
        self._server = None

    def register(self, email):
        self._call("vault_client_register", _text(email, "email"))

    def login(self, email, password):
        """On a new device, call set_secret_key() first (from the Emergency Kit)."""
        with _Secret(password) as pw:
            self._call("vault_client_login", _text(email, "email"), pw)

    def set_secret_key(self, secret_key):
        """The account's Secret Key ("ZK1-...") before a login on a new device."""
        with _Secret(secret_key) as sk:
            self._call("vault_client_set_secret_key", sk)

    def emergency_kit(self):
        """The Emergency Kit as text: email, account id and Secret Key."""
        return _string(self._call, "vault_client_emergency_kit")

    @property
    def secret_key(self):
        """The Secret Key, as printed in the Emergency Kit."""
        kit = self.emergency_kit()
        return next(w for w in kit.split() if w.startswith("ZK1-"))

    def logout(self):
        self._call("vault_client_logout")

    def pull(self):
        self._call("vault_client_pull")

    def push(self):
        self._call("vault_client_push")

    def sync(self):
        self._call("vault_client_sync")

    def resolve_fork(self):
        """After a ForkError: merge this device's vault into the server's
        history without losing an edit, and push (docs/sync.md)."""
        self._call("vault_client_resolve_fork")

    def sign_in(self, email, password):
        """Unlock and log in with one password, also after it was changed on
        another device: the new one re-wraps this store; the old one unlocks
        for local use and raises AuthError saying the password changed."""
        with _Secret(password) as pw:
            self._call("vault_client_sign_in", _text(email, "email"), pw)

    def change_password(self, old_password, new_password, opslimit=0, memlimit=0):
        with _Secret(old_password) as old, _Secret(new_password) as new:
            self._call("vault_client_change_password", old, new, opslimit, memlimit)

    def delete_account(self, password):
        with _Secret(password) as pw:
            self._call("vault_client_delete_account", pw)

    # devices
    def devices(self):
        return _json(self._call, "vault_client_devices")

    def revoke(self, device_id):
        self._call("vault_client_revoke", _text(device_id, "device id"))

    def link_offer(self):
        """Logged-in device: starts a link and shows Link.payload as a QR code."""
        return Link._start("vault_link_offer", self)

    def link_join(self, payload):
        """New device (empty store): joins with the scanned payload."""
        return Link._start("vault_link_join", self, _text(payload, "payload"))

    def link_request(self):
        """New device (empty store), reverse direction: shows Link.payload."""
        return Link._start("vault_link_request", self)

    def link_accept(self, payload):
        """Logged-in device, reverse direction: accepts the scanned payload."""
        return Link._start("vault_link_accept", self, _text(payload, "payload"))


class Link(_Handle):
    """One device link, driven step by step (docs/devicelink.md). Its errors
    carry the client's message: the library records link failures there."""

    _free = "vault_link_free"

    def __init__(self, handle, client):
        self._h = handle
        self._client = client

    @classmethod
    def _start(cls, function, client, *args):
        return cls(_new_handle(function, client._handle(function), *args,
                               errmsg=client._errmsg), client)

    def _call(self, name, *args):
        if self._h is None:
            raise ClosedError("link is closed")
        # The link acts on its client (complete opens the vault there).
        self._client._handle(name)
        return _call(name, self._h, *args, errmsg=self._client._errmsg)

    @property
    def payload(self):
        return _string(self._call, "vault_link_payload")

    def poll(self):
        """True once the new device's key arrived; False while pending."""
        return self._pending_to_bool("vault_link_poll")

    @property
    def sas(self):
        return _string(self._call, "vault_link_sas")

    def confirm(self, device_name, sas_seen=None):
        """Sends the vault. sas_seen: the digits read on the new device; the
        library compares them (AuthError VAULT_E_SAS and abort if they differ)."""
        name = _text(device_name, "device name")
        if sas_seen is None:
            self._call("vault_link_confirm", name)
        else:
            self._call("vault_link_confirm_sas", name, _text(sas_seen, "code"))

    def complete(self, local_key, sas_seen=None):
        """True once the vault arrived; False while the old device has not confirmed.
        sas_seen: the digits read on the other device, checked as in confirm()."""
        key = _key(local_key, "local key")
        if sas_seen is None:
            return self._pending_to_bool("vault_link_complete", key)
        return self._pending_to_bool("vault_link_complete_sas", key, _text(sas_seen, "code"))

    def abort(self):
        self._call("vault_link_abort")

    def _pending_to_bool(self, name, *args):
        from .errors import StateError
        try:
            self._call(name, *args)
        except StateError as exc:
            if exc.code == -22:  # VAULT_E_PENDING
                return False
            raise
        return True

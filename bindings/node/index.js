'use strict';
// Node binding of libvault (zkvault) over koffi: Vault, Client, Server,
// Httpd, Link. Items are plain objects (JSON on the C side), strings UTF-8.
// Every buffer the library returns is copied and released with vault_free()
// (which wipes it). Slow calls (Argon2id, network) also exist as *Async
// methods that run on koffi's worker threads; their error detail is read from
// the handle (vault_client_errmsg), never from the thread-local message, and
// calls on one handle are queued because a handle serves one thread at a time.

const { koffi, fn } = require('./lib.js');
const errors = require('./errors.js');

const LIST_DELETED = 1;
const LIST_TRASH = 2;
const IMPORT_DRY_RUN = 1;
const HTTP_ALLOW_INSECURE = 1;
const HTTP_INSECURE_TLS = 2;
const QR_TEXT = 1;
const QR_SVG = 2;
const QR_PGM = 3;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const KDF_OPSLIMIT_MIN = 2;
const KDF_MEMLIMIT_MIN = 19 * 1024 * 1024;
const PENDING = -22;
const SERVER_OPTIONS = { sessionTtl: 1, linkTtl: 2, loginFree: 3, maxBlob: 4, clockSkew: 5 };

function func(name) {
  const f = fn[name];
  if (!f) throw new errors.UnsupportedError(-31, `${name} is not available in this libvault`, 'not supported by this build');
  return f;
}

function fail(rc, detail) {
  return errors.errorFor(rc, detail || '', fn.vault_strerror(rc));
}

// Synchronous call; errmsg() reads the handle's message (else the thread's).
function call(name, args, errmsg) {
  const rc = func(name)(...args);
  if (rc !== 0) throw fail(rc, errmsg ? errmsg() : fn.vault_last_error());
  return rc;
}

// Asynchronous call on a koffi worker thread. Only the handle's own message is
// meaningful afterwards: the worker's thread-local one is out of reach.
function callAsync(name, args, errmsg) {
  return new Promise((resolve, reject) => {
    let f;
    try {
      f = func(name);
    } catch (err) {
      reject(err);
      return;
    }
    f.async(...args, (err, rc) => {
      if (err) reject(err);
      else if (rc !== 0) reject(fail(rc, errmsg ? errmsg() : ''));
      else resolve(rc);
    });
  });
}

function totpResult(name, args) {
  const out = [null];
  const left = [0];
  call(name, [...args, out, left]);
  return { code: takeString(out[0]), secondsLeft: Number(left[0]) };
}

// { code, secondsLeft } for an otpauth://totp/ URI or a base32 secret.
function totpCode(secret, unixTime = Math.floor(Date.now() / 1000)) {
  return totpResult('vault_totp_code', [text(secret, 'secret'), unixTime]);
}

function takeString(ptr) {
  try {
    return koffi.decode(ptr, 'char', -1);
  } finally {
    fn.vault_free(ptr);
  }
}

// Copies (a view would share the memory that vault_free is about to wipe).
function takeBytes(ptr, len) {
  try {
    const copy = Buffer.alloc(Number(len));
    Buffer.from(koffi.view(ptr, Number(len))).copy(copy);
    return copy;
  } finally {
    fn.vault_free(ptr);
  }
}

function itemJson(item) {
  if (typeof item === 'string') return item;
  if (Buffer.isBuffer(item)) return item.toString('utf8');
  if (item && typeof item === 'object') return JSON.stringify(item);
  throw new TypeError('item must be an object, a JSON string or a Buffer');
}

function text(value, what) {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new TypeError(`${what} must be a string or a Buffer`);
}

function key32(value, what) {
  if (!Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Buffer`);
  }
  if (value.length !== KEY_BYTES) throw new RangeError(`${what} must be ${KEY_BYTES} bytes`);
  return value;
}

// A password as a NUL-terminated Buffer that is zeroed after the call. A JS
// string cannot be wiped; pass a Buffer where that matters.
function secret(value, what = 'password') {
  if (typeof value === 'string') return Buffer.from(`${value}\0`, 'utf8');
  if (Buffer.isBuffer(value)) return Buffer.concat([value, Buffer.alloc(1)]);
  throw new TypeError(`${what} must be a string or a Buffer`);
}

function withSecrets(values, body) {
  const bufs = values.map((v) => secret(v));
  let result;
  try {
    result = body(...bufs);
  } catch (err) {
    bufs.forEach((b) => b.fill(0));
    throw err;
  }
  if (result && typeof result.then === 'function') {
    return result.finally(() => bufs.forEach((b) => b.fill(0)));
  }
  bufs.forEach((b) => b.fill(0));
  return result;
}

// The import and export formats: [{ name, description, import, export, plaintext }].
function interopFormats() {
  const out = [null];
  call('vault_interop_formats', [out]);
  return JSON.parse(takeString(out[0]));
}

function version() {
  return fn.vault_version();
}

function strerror(code) {
  return fn.vault_strerror(code);
}

function checkKdfParams(opslimit, memlimit) {
  call('vault_kdf_check_params', [opslimit, memlimit]);
}

function deriveKeys(password, salt, opslimit, memlimit) {
  if (salt.length !== SALT_BYTES) throw new RangeError(`salt must be ${SALT_BYTES} bytes`);
  const auth = Buffer.alloc(KEY_BYTES);
  const enc = Buffer.alloc(KEY_BYTES);
  withSecrets([password], (pw) =>
    call('vault_kdf_derive', [auth, enc, pw, pw.length - 1, salt, opslimit, memlimit]));
  return { authKey: auth, encKey: enc };
}

function newSalt() {
  const salt = Buffer.alloc(SALT_BYTES);
  call('vault_kdf_salt', [salt]);
  return salt;
}

function qrRender(value, format = QR_TEXT) {
  const out = [null];
  const len = [0];
  call('vault_qr_render', [text(value, 'text'), format, out, len]);
  const bytes = takeBytes(out[0], len[0]);
  return format === QR_PGM ? bytes : bytes.toString('utf8');
}

class Vault {
  // new Vault() makes an empty owned vault. Vaults from Client.vault are
  // borrowed: valid only until the client's next call that may replace or
  // free the vault (every call but save, accountId, revision, unlocked and
  // connect*; an async call counts from the moment it is queued). After
  // that they throw ClosedError: take client.vault again.
  constructor(handle = null, owner = null) {
    if (handle === null) {
      const out = [null];
      call('vault_new', [out]);
      handle = out[0];
    }
    this._h = handle;
    this._owner = owner;
    this._generation = owner === null ? null : owner._generation;
  }

  static fromJson(json) {
    const data = Buffer.from(text(json, 'vault JSON'), 'utf8');
    const out = [null];
    call('vault_from_json', [out, data, data.length]);
    return new Vault(out[0]);
  }

  static open(key, accountId, revision, blob) {
    const out = [null];
    call('vault_open', [out, key32(key, 'key'), accountId, revision, blob, blob.length]);
    return new Vault(out[0]);
  }

  static merge(base, local, remote) {
    const out = [null];
    call('vault_merge', [out, base._handle(), local._handle(), remote._handle()]);
    return new Vault(out[0]);
  }

  // Whether both hold the same items (history, tombstones) and devices, in any order.
  sameContent(other) {
    const out = [0];
    call('vault_compare', [this._handle(), other._handle(), out]);
    return out[0] !== 0;
  }

  _handle() {
    if (this._h === null) throw new errors.ClosedError('vault is closed');
    const owner = this._owner;
    if (owner !== null && (owner._h === null || owner._generation !== this._generation)) {
      this._h = null;
      throw new errors.ClosedError('this Vault was borrowed from a Client that has since closed, '
        + 'locked, synced or replaced its vault: take client.vault again');
    }
    return this._h;
  }

  close() {
    if (this._h !== null && this._owner === null) fn.vault_close(this._h);
    this._h = null;
  }

  [Symbol.dispose]() {
    this.close();
  }

  toJson() {
    const out = [null];
    call('vault_to_json', [this._handle(), out]);
    return takeString(out[0]);
  }

  seal(key, accountId, revision) {
    const out = [null];
    const len = [0];
    call('vault_seal', [this._handle(), key32(key, 'key'), accountId, revision, out, len]);
    return takeBytes(out[0], len[0]);
  }

  add(item) {
    const out = [null];
    call('vault_item_add', [this._handle(), itemJson(item), out]);
    return takeString(out[0]);
  }

  update(id, item) {
    call('vault_item_update', [this._handle(), text(id, 'id'), itemJson(item)]);
  }

  get(id) {
    const out = [null];
    call('vault_item_get', [this._handle(), text(id, 'id'), out]);
    return JSON.parse(takeString(out[0]));
  }

  has(id) {
    try {
      this.get(id);
      return true;
    } catch (err) {
      if (err instanceof errors.NotFoundError) return false;
      throw err;
    }
  }

  delete(id) {
    call('vault_item_delete', [this._handle(), text(id, 'id')]);
  }

  // Live items; { trash: true }: only those in the trash; { deleted: true }:
  // every item, trash and tombstones included.
  list({ deleted = false, trash = false } = {}) {
    const out = [null];
    const flags = (deleted ? LIST_DELETED : 0) | (trash ? LIST_TRASH : 0);
    call('vault_item_list', [this._handle(), flags, out]);
    return JSON.parse(takeString(out[0]));
  }

  trash(id) {
    call('vault_item_trash', [this._handle(), text(id, 'id')]);
  }

  restore(id) {
    call('vault_item_restore', [this._handle(), text(id, 'id')]);
  }

  // Purges what has been in the trash for `days` days; returns the count.
  expireTrash(days) {
    const out = [0];
    call('vault_trash_expire', [this._handle(), days, out]);
    return Number(out[0]);
  }

  // { code, secondsLeft } of the item's TOTP field at unixTime (default now).
  totp(id, unixTime = Math.floor(Date.now() / 1000)) {
    return totpResult('vault_item_totp', [this._handle(), text(id, 'id'), unixTime]);
  }

  // The audit report: weak, reused, old and breached secrets.
  audit({ breachFile = null, oldDays = 365 } = {}) {
    const out = [null];
    call('vault_audit', [this._handle(), breachFile, oldDays, out]);
    return JSON.parse(takeString(out[0]));
  }

  search(query) {
    const out = [null];
    call('vault_item_search', [this._handle(), text(query, 'query'), out]);
    return JSON.parse(takeString(out[0]));
  }

  // Imports another manager's file (Buffer or string) in format fmt, all or
  // nothing; returns the report. password: only for 'zkvault-encrypted'. A
  // malformed file or one of another format throws InputError (FORMAT).
  importData(fmt, data, { password = null, dryRun = false } = {}) {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(text(data, 'data'), 'utf8');
    const out = [null];
    const run = (pw) => call('vault_import', [this._handle(), text(fmt, 'format'), bytes,
      bytes.length, pw, dryRun ? IMPORT_DRY_RUN : 0, out]);
    if (password === null) run(null);
    else withSecrets([password], run);
    return JSON.parse(takeString(out[0]));
  }

  // The live items in format fmt (a Buffer). 'zkvault-encrypted' (the
  // default) seals them under password with Argon2id; the others are PLAINTEXT.
  export(fmt = 'zkvault-encrypted', { password = null, opslimit = 0, memlimit = 0 } = {}) {
    const out = [null];
    const len = [0];
    const run = (pw) => call('vault_export', [this._handle(), text(fmt, 'format'), pw, opslimit,
      memlimit, out, len]);
    if (password === null) run(null);
    else withSecrets([password], run);
    return takeBytes(out[0], len[0]);
  }

  get size() {
    const out = [0];
    call('vault_item_count', [this._handle(), out]);
    return Number(out[0]);
  }

  [Symbol.iterator]() {
    return this.list()[Symbol.iterator]();
  }
}

class Server {
  constructor(dbPath, pepper) {
    if (!Buffer.isBuffer(pepper)) throw new TypeError('pepper must be a Buffer');
    const out = [null];
    call('vault_server_open', [out, String(dbPath), pepper, pepper.length, 0]);
    this._h = out[0];
    this._daemons = []; // stopped before the server closes: they use it
  }

  _handle() {
    if (this._h === null) throw new errors.ClosedError('server is closed');
    return this._h;
  }

  _errmsg() {
    return fn.vault_server_errmsg(this._h);
  }

  close() {
    for (const daemon of this._daemons) daemon.stop();
    this._daemons = [];
    if (this._h !== null) fn.vault_server_close(this._h);
    this._h = null;
  }

  [Symbol.dispose]() {
    this.close();
  }

  handle(request) {
    const data = Buffer.from(itemJson(request), 'utf8');
    const out = [null];
    call('vault_server_handle', [this._handle(), data, data.length, out], () => this._errmsg());
    return JSON.parse(takeString(out[0]));
  }

  setOption(name, value) {
    if (!(name in SERVER_OPTIONS)) throw new RangeError(`unknown server option ${name}`);
    call('vault_server_set_option', [this._handle(), SERVER_OPTIONS[name], value],
      () => this._errmsg());
  }

  serveHttp(options = {}) {
    return new Httpd(this, options);
  }
}

class Httpd {
  constructor(server, { bind = '127.0.0.1', port = 0, certPem = null, keyPem = null,
    threads = 0 } = {}) {
    const out = [null];
    call('vault_httpd_start', [out, server._handle(), bind, port, certPem, keyPem, threads]);
    this._h = out[0];
    this._server = server;
    server._daemons.push(this);
    this.port = fn.vault_httpd_port(this._h);
    const host = bind.includes(':') ? `[${bind}]` : bind;
    this.url = `${certPem ? 'https' : 'http'}://${host}:${this.port}`;
  }

  stop() {
    if (this._h !== null) fn.vault_httpd_stop(this._h);
    this._h = null;
  }

  [Symbol.dispose]() {
    this.stop();
  }
}

// Calls that never replace or free the client's vault: a Vault borrowed from
// Client.vault survives them; any other call invalidates it.
const KEEPS_VAULT = new Set(['vault_client_vault', 'vault_client_save',
  'vault_client_account_id', 'vault_client_revision', 'vault_client_is_unlocked',
  'vault_client_connect_local', 'vault_client_connect_http']);

class Client {
  constructor(path) {
    const out = [null];
    call('vault_client_open', [out, String(path), 0]);
    this._h = out[0];
    this._server = null;
    this._queue = Promise.resolve();
    this._inFlight = 0; // async calls queued or running on a worker thread
    this._generation = 0;
  }

  _errmsg() {
    return this._h === null ? '' : fn.vault_client_errmsg(this._h);
  }

  // The handle for a call named name; checks that it (and an embedded
  // server) is still open, and invalidates borrowed vaults unless the call
  // keeps them.
  _handle(name = 'vault_client_lock') {
    if (this._h === null) throw new errors.ClosedError('client is closed');
    if (this._server !== null && this._server._h === null) {
      throw new errors.ClosedError('the Server this client is connected to is closed');
    }
    if (!KEEPS_VAULT.has(name)) this._generation += 1;
    return this._h;
  }

  _call(name, ...args) {
    return call(name, [this._handle(name), ...args], () => this._errmsg());
  }

  // Queues an async call behind the earlier ones on this handle.
  _async(name, ...args) {
    const h = this._handle(name);
    // h stays valid until the queue drains, even across close() (see there).
    const run = () => callAsync(name, [h, ...args], () => fn.vault_client_errmsg(h));
    this._inFlight += 1;
    const result = this._queue.then(run, run);
    this._queue = result.catch(() => {}).finally(() => {
      this._inFlight -= 1;
    });
    return result;
  }

  // Closes now, or, with async calls still queued or running on a worker
  // thread, as soon as they settle (the handle must outlive them); the
  // object is unusable from this call on either way.
  close() {
    const h = this._h;
    this._h = null;
    this._generation += 1;
    if (h === null) return;
    if (this._inFlight === 0) fn.vault_client_close(h);
    else this._queue = this._queue.then(() => fn.vault_client_close(h));
  }

  [Symbol.dispose]() {
    this.close();
  }

  create(password, opslimit = 0, memlimit = 0) {
    withSecrets([password], (pw) => this._call('vault_client_create', pw, opslimit, memlimit));
  }

  createAsync(password, opslimit = 0, memlimit = 0) {
    return withSecrets([password], (pw) =>
      this._async('vault_client_create', pw, opslimit, memlimit));
  }

  unlock(password) {
    withSecrets([password], (pw) => this._call('vault_client_unlock', pw));
  }

  unlockAsync(password) {
    return withSecrets([password], (pw) => this._async('vault_client_unlock', pw));
  }

  unlockDevice(localKey) {
    this._call('vault_client_unlock_device', key32(localKey, 'local key'));
  }

  lock() {
    this._call('vault_client_lock');
  }

  get unlocked() {
    const out = [0];
    this._call('vault_client_is_unlocked', out);
    return out[0] !== 0;
  }

  get vault() {
    const out = [null];
    this._call('vault_client_vault', out);
    return new Vault(out[0], this);
  }

  save() {
    this._call('vault_client_save');
  }

  // The account's Secret Key ("ZK1-..."), before a login on a new device.
  setSecretKey(secretKey) {
    withSecrets([secretKey], (sk) => this._call('vault_client_set_secret_key', sk));
  }

  // The Emergency Kit as text: email, account id and Secret Key.
  emergencyKit() {
    const out = [null];
    this._call('vault_client_emergency_kit', out);
    return takeString(out[0]);
  }

  // The Secret Key as printed in the Emergency Kit.
  get secretKey() {
    return this.emergencyKit().split(/\s+/).find((w) => w.startsWith('ZK1-'));
  }

  get accountId() {
    const out = [null];
    this._call('vault_client_account_id', out);
    return takeString(out[0]);
  }

  get revision() {
    const out = [0];
    this._call('vault_client_revision', out);
    return Number(out[0]);
  }

  connectLocal(server) {
    this._server = null;
    this._call('vault_client_connect_local', server._handle());
    this._server = server;
  }

  // caFile: a PEM bundle of a private CA to trust; null follows
  // $ZKVAULT_CA_FILE, $SSL_CERT_FILE, $CURL_CA_BUNDLE, then the system's store.
  connectHttp(baseUrl, { allowInsecure = false, insecureTls = false, caFile = null } = {}) {
    const flags = (allowInsecure ? HTTP_ALLOW_INSECURE : 0) | (insecureTls ? HTTP_INSECURE_TLS : 0);
    this._call('vault_client_connect_http_ca', baseUrl, flags,
      caFile === null ? null : String(caFile));
    this._server = null;
  }

  register(email) {
    this._call('vault_client_register', text(email, 'email'));
  }

  registerAsync(email) {
    return this._async('vault_client_register', text(email, 'email'));
  }

  // On a new device, call setSecretKey() first (from the Emergency Kit).
  login(email, password) {
    withSecrets([password], (pw) => this._call('vault_client_login', text(email, 'email'), pw));
  }

  loginAsync(email, password) {
    return withSecrets([password], (pw) =>
      this._async('vault_client_login', text(email, 'email'), pw));
  }

  logout() {
    this._call('vault_client_logout');
  }

  pull() {
    this._call('vault_client_pull');
  }

  push() {
    this._call('vault_client_push');
  }

  sync() {
    this._call('vault_client_sync');
  }

  syncAsync() {
    return this._async('vault_client_sync');
  }

  // After a ForkError: merges this device's vault into the server's history
  // without losing an edit, and pushes (docs/sync.md).
  resolveFork() {
    this._call('vault_client_resolve_fork');
  }

  resolveForkAsync() {
    return this._async('vault_client_resolve_fork');
  }

  // Unlock and log in with one password, also after it was changed on another
  // device: the new one re-wraps this store; the old one unlocks for local use
  // and throws AuthError saying the password changed.
  signIn(email, password) {
    withSecrets([password], (pw) => this._call('vault_client_sign_in', text(email, 'email'), pw));
  }

  signInAsync(email, password) {
    return withSecrets([password], (pw) =>
      this._async('vault_client_sign_in', text(email, 'email'), pw));
  }

  changePassword(oldPassword, newPassword, opslimit = 0, memlimit = 0) {
    withSecrets([oldPassword, newPassword], (o, n) =>
      this._call('vault_client_change_password', o, n, opslimit, memlimit));
  }

  changePasswordAsync(oldPassword, newPassword, opslimit = 0, memlimit = 0) {
    return withSecrets([oldPassword, newPassword], (o, n) =>
      this._async('vault_client_change_password', o, n, opslimit, memlimit));
  }

  deleteAccount(password) {
    withSecrets([password], (pw) => this._call('vault_client_delete_account', pw));
  }

  devices() {
    const out = [null];
    this._call('vault_client_devices', out);
    return JSON.parse(takeString(out[0]));
  }

  revoke(deviceId) {
    this._call('vault_client_revoke', text(deviceId, 'device id'));
  }

  _link(name, ...args) {
    const out = [null];
    call(name, [out, this._handle(name), ...args], () => this._errmsg());
    return new Link(out[0], this);
  }

  // Logged-in device: starts a link; show link.payload as a QR code.
  linkOffer() {
    return this._link('vault_link_offer');
  }

  // New device (empty store): joins with the scanned payload.
  linkJoin(payload) {
    return this._link('vault_link_join', text(payload, 'payload'));
  }

  // New device, reverse direction: shows link.payload.
  linkRequest() {
    return this._link('vault_link_request');
  }

  // Logged-in device, reverse direction: accepts the scanned payload.
  linkAccept(payload) {
    return this._link('vault_link_accept', text(payload, 'payload'));
  }
}

// One device link, step by step. Its errors carry the client's message: the
// library records link failures there.
class Link {
  constructor(handle, client) {
    this._h = handle;
    this._client = client;
  }

  _call(name, ...args) {
    if (this._h === null) throw new errors.ClosedError('link is closed');
    this._client._handle(name); // the link acts on its client (complete opens the vault)
    return call(name, [this._h, ...args], () => this._client._errmsg());
  }

  get payload() {
    const out = [null];
    this._call('vault_link_payload', out);
    return takeString(out[0]);
  }

  get sas() {
    const out = [null];
    this._call('vault_link_sas', out);
    return takeString(out[0]);
  }

  // true once the other side's step arrived, false while VAULT_E_PENDING.
  _pending(name, ...args) {
    try {
      this._call(name, ...args);
      return true;
    } catch (err) {
      if (err.code === PENDING) return false;
      throw err;
    }
  }

  poll() {
    return this._pending('vault_link_poll');
  }

  // sasSeen: the digits read on the other device; the library compares them
  // (AuthError VAULT_E_SAS and the link aborted if they differ).
  confirm(deviceName, sasSeen) {
    const name = text(deviceName, 'device name');
    if (sasSeen === undefined) this._call('vault_link_confirm', name);
    else this._call('vault_link_confirm_sas', name, text(sasSeen, 'code'));
  }

  complete(localKey, sasSeen) {
    const key = key32(localKey, 'local key');
    if (sasSeen === undefined) return this._pending('vault_link_complete', key);
    return this._pending('vault_link_complete_sas', key, text(sasSeen, 'code'));
  }

  abort() {
    this._call('vault_link_abort');
  }

  close() {
    if (this._h !== null) fn.vault_link_free(this._h);
    this._h = null;
  }

  [Symbol.dispose]() {
    this.close();
  }
}

function blobSeal(key, accountId, revision, plaintext) {
  const data = Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8');
  const out = [null];
  const len = [0];
  call('vault_blob_seal', [out, len, key32(key, 'key'), accountId, revision, data, data.length]);
  return takeBytes(out[0], len[0]);
}

function blobOpen(key, accountId, revision, blob) {
  const out = [null];
  const len = [0];
  call('vault_blob_open', [out, len, key32(key, 'key'), accountId, revision, blob, blob.length]);
  return takeBytes(out[0], len[0]);
}

module.exports = {
  Vault, Client, Server, Httpd, Link, version, strerror, checkKdfParams, deriveKeys, newSalt,
  blobSeal, blobOpen, qrRender, totpCode, interopFormats, IMPORT_DRY_RUN, LIST_DELETED, LIST_TRASH, HTTP_ALLOW_INSECURE, HTTP_INSECURE_TLS, QR_TEXT,
  QR_SVG, QR_PGM, KEY_BYTES, SALT_BYTES, KDF_OPSLIMIT_MIN, KDF_MEMLIMIT_MIN, ...errors,
};

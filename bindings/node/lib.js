'use strict';
// Loads libvault with koffi and declares its functions. The library is found
// at $ZKVAULT_LIB; else in the install prefix that pkg-config knows
// (libvault-server, then libvault; PKG_CONFIG_PATH names a non-default
// prefix); else by the system loader (libvault-server.so.0, libvault.so.0).
// libvault-server is the client library plus the server. Functions a build
// does not export are left null; the wrapper throws UnsupportedError.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const koffi = require('koffi');

const NAMES = ['vault-server', 'vault'];

function pkgConfigLibdir(name) {
  try {
    const out = execFileSync('pkg-config', ['--variable=libdir', name],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 });
    return out.trim() || null;
  } catch {
    return null; // no pkg-config, or the library is not installed
  }
}

function candidates() {
  if (process.env.ZKVAULT_LIB) return [process.env.ZKVAULT_LIB];
  const found = [];
  for (const name of NAMES) {
    const libdir = pkgConfigLibdir(name);
    if (libdir) found.push(path.join(libdir, `lib${name}.so.0`));
  }
  for (const name of NAMES) found.push(`lib${name}.so.0`);
  return found;
}

function load() {
  const errors = [];
  for (const p of candidates()) {
    if (p.includes('/') && !fs.existsSync(p)) {
      errors.push(`${p}: no such file`);
      continue;
    }
    try {
      return koffi.load(p);
    } catch (err) {
      errors.push(`${p}: ${err.message}`);
    }
  }
  throw new Error(`cannot load libvault (set ZKVAULT_LIB to its path): ${errors.join('; ')}`);
}

const lib = load();

// Handles are opaque pointers; `char **` / `uint8_t **` outputs are void **
// (a BigInt pointer, released with vault_free).
const PROTOTYPES = [
  'int vault_init(void)',
  'const char *vault_version(void)',
  'const char *vault_strerror(int code)',
  'const char *vault_last_error(void)',
  'void vault_free(void *ptr)',
  'int vault_kdf_check_params(uint64_t opslimit, uint64_t memlimit)',
  'int vault_kdf_derive(_Out_ uint8_t *auth_key, _Out_ uint8_t *enc_key, const char *password, size_t password_len, const uint8_t *salt, uint64_t opslimit, uint64_t memlimit)',
  'int vault_kdf_salt(_Out_ uint8_t *salt)',
  'int vault_blob_seal(_Out_ void **blob, _Out_ size_t *blob_len, const uint8_t *key, const char *account_id, uint64_t revision, const uint8_t *plaintext, size_t plaintext_len)',
  'int vault_blob_open(_Out_ void **plaintext, _Out_ size_t *plaintext_len, const uint8_t *key, const char *account_id, uint64_t revision, const uint8_t *blob, size_t blob_len)',
  'int vault_new(_Out_ void **out)',
  'void vault_close(void *v)',
  'int vault_to_json(void *v, _Out_ void **json)',
  'int vault_from_json(_Out_ void **out, const char *json, size_t json_len)',
  'int vault_seal(void *v, const uint8_t *key, const char *account_id, uint64_t revision, _Out_ void **blob, _Out_ size_t *blob_len)',
  'int vault_open(_Out_ void **out, const uint8_t *key, const char *account_id, uint64_t revision, const uint8_t *blob, size_t blob_len)',
  'int vault_item_add(void *v, const char *item_json, _Out_ void **id_out)',
  'int vault_item_update(void *v, const char *id, const char *item_json)',
  'int vault_item_get(void *v, const char *id, _Out_ void **json)',
  'int vault_item_delete(void *v, const char *id)',
  'int vault_item_list(void *v, uint32_t flags, _Out_ void **json)',
  'int vault_item_search(void *v, const char *query, _Out_ void **json)',
  'int vault_item_count(void *v, _Out_ uint64_t *count)',
  'int vault_item_trash(void *v, const char *id)',
  'int vault_item_restore(void *v, const char *id)',
  'int vault_trash_expire(void *v, uint32_t days, _Out_ uint64_t *purged)',
  'int vault_item_totp(void *v, const char *id, uint64_t unix_time, _Out_ void **code, _Out_ uint32_t *seconds_left)',
  'int vault_totp_check(const char *totp)',
  'int vault_totp_code(const char *totp, uint64_t unix_time, _Out_ void **code, _Out_ uint32_t *seconds_left)',
  'int vault_audit(void *v, const char *breach_file, uint32_t old_days, _Out_ void **json)',
  'int vault_merge(_Out_ void **out, void *base, void *local, void *remote)',
  'int vault_interop_formats(_Out_ void **json)',
  'int vault_import(void *v, const char *format, const uint8_t *data, size_t len, const char *password, uint32_t flags, _Out_ void **report)',
  'int vault_export(void *v, const char *format, const char *password, uint64_t opslimit, uint64_t memlimit, _Out_ void **out, _Out_ size_t *out_len)',
  'int vault_compare(void *a, void *b, _Out_ int32_t *equal)',
  'int vault_server_open(_Out_ void **out, const char *db_path, const uint8_t *pepper, size_t pepper_len, uint32_t flags)',
  'void vault_server_close(void *s)',
  'int vault_server_handle(void *s, const char *request, size_t request_len, _Out_ void **response)',
  'int vault_server_set_option(void *s, int option, int64_t value)',
  'const char *vault_server_errmsg(void *s)',
  'int vault_httpd_start(_Out_ void **out, void *s, const char *bind_addr, uint16_t port, const char *cert_pem, const char *key_pem, uint32_t threads)',
  'uint16_t vault_httpd_port(void *h)',
  'void vault_httpd_stop(void *h)',
  'int vault_client_open(_Out_ void **out, const char *path, uint32_t flags)',
  'void vault_client_close(void *c)',
  'const char *vault_client_errmsg(void *c)',
  'int vault_client_create(void *c, const char *password, uint64_t opslimit, uint64_t memlimit)',
  'int vault_client_unlock(void *c, const char *password)',
  'int vault_client_lock(void *c)',
  'int vault_client_is_unlocked(void *c, _Out_ int32_t *unlocked)',
  'int vault_client_vault(void *c, _Out_ void **v)',
  'int vault_client_save(void *c)',
  'int vault_client_account_id(void *c, _Out_ void **out)',
  'int vault_client_connect_local(void *c, void *s)',
  'int vault_client_connect_http(void *c, const char *base_url, uint32_t flags)',
  'int vault_client_connect_http_ca(void *c, const char *base_url, uint32_t flags, const char *ca_file)',
  'int vault_client_register(void *c, const char *email)',
  'int vault_client_login(void *c, const char *email, const char *password)',
  'int vault_client_set_secret_key(void *c, const char *secret_key)',
  'int vault_client_emergency_kit(void *c, _Out_ void **text)',
  'int vault_client_logout(void *c)',
  'int vault_client_pull(void *c)',
  'int vault_client_push(void *c)',
  'int vault_client_sync(void *c)',
  'int vault_client_resolve_fork(void *c)',
  'int vault_client_sign_in(void *c, const char *email, const char *password)',
  'int vault_client_revision(void *c, _Out_ uint64_t *revision)',
  'int vault_client_change_password(void *c, const char *old_password, const char *new_password, uint64_t opslimit, uint64_t memlimit)',
  'int vault_client_delete_account(void *c, const char *password)',
  'int vault_client_unlock_device(void *c, const uint8_t *local_key)',
  'int vault_client_devices(void *c, _Out_ void **json)',
  'int vault_client_revoke(void *c, const char *device_id)',
  'int vault_link_offer(_Out_ void **out, void *c)',
  'int vault_link_payload(void *l, _Out_ void **uri)',
  'int vault_link_poll(void *l)',
  'int vault_link_join(_Out_ void **out, void *c, const char *payload)',
  'int vault_link_request(_Out_ void **out, void *c)',
  'int vault_link_accept(_Out_ void **out, void *c, const char *payload)',
  'int vault_link_sas(void *l, _Out_ void **sas)',
  'int vault_link_confirm(void *l, const char *device_name)',
  'int vault_link_confirm_sas(void *l, const char *device_name, const char *sas_seen)',
  'int vault_link_complete(void *l, const uint8_t *local_key)',
  'int vault_link_complete_sas(void *l, const uint8_t *local_key, const char *sas_seen)',
  'int vault_link_abort(void *l)',
  'void vault_link_free(void *l)',
  'int vault_qr_render(const char *text, uint32_t format, _Out_ void **out, _Out_ size_t *out_len)',
];

const fn = {};
for (const proto of PROTOTYPES) {
  const name = proto.match(/(vault_\w+)\(/)[1];
  try {
    fn[name] = lib.func(proto);
  } catch (err) {
    if (!/cannot find function|not find|undefined symbol/i.test(err.message)) throw err;
    fn[name] = null;
  }
}

if (fn.vault_init() !== 0) throw new Error('libvault could not start (libsodium failed)');

module.exports = { koffi, fn };

/*
 * zkvault — zero-knowledge encrypted vaults.
 *
 * This is the only public header of libvault. Everything here is plain C ABI so
 * that Python (ctypes/cffi), Node (koffi), Dart, Swift and others can bind it:
 * fixed-width integers, size_t lengths, UTF-8 NUL-terminated strings, opaque
 * handles, no structs passed by value, no varargs.
 *
 * Conventions, valid for every function below unless its comment says otherwise:
 *
 *   - Every function returns an int status: VAULT_OK (0) on success or a negative
 *     VAULT_E_* code. vault_strerror(code) names the code; vault_last_error()
 *     gives a detail message for the last failure on the calling thread, and
 *     handles carry their own (vault_client_errmsg(), vault_server_errmsg()).
 *     Messages never contain keys, passwords or plaintext.
 *   - Output parameters are written only on success; pointer outputs are set to
 *     NULL on failure.
 *   - Everything the library hands out through `char **` or `uint8_t **` is
 *     released with vault_free(), which wipes the memory first. Handles are
 *     released with their own *_close() / *_free() function, which accepts NULL.
 *   - Inputs are borrowed for the duration of the call; what the library keeps,
 *     it copies.
 *   - Call vault_init() once before anything else (it is cheap to call again).
 *   - A handle may be used from any thread, but by one thread at a time. Distinct
 *     handles are independent. A vault_server handle is the exception: it may be
 *     used by many threads at once.
 */
#ifndef VAULT_H
#define VAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(VAULT_BUILDING)
#define VAULT_API __declspec(dllexport)
#elif defined(_WIN32)
#define VAULT_API __declspec(dllimport)
#elif defined(__GNUC__)
#define VAULT_API __attribute__((visibility("default")))
#else
#define VAULT_API
#endif

/* ========================================================================== */
/* Library, status codes, memory                                              */
/* ========================================================================== */

#define VAULT_VERSION_STRING "0.1.0"
#define VAULT_VERSION_NUMBER 0x000100 /* 0xMMmmpp */

/* Status codes. Values are never renumbered; new codes are only appended. */
#define VAULT_OK 0
#define VAULT_E_INVALID (-1)      /* invalid argument or malformed input (JSON, payload) */
#define VAULT_E_NOMEM (-2)        /* an allocation failed */
#define VAULT_E_AUTH (-3)         /* wrong password or key, or tampered data */
#define VAULT_E_CORRUPT (-4)      /* data is structurally broken (bad magic, lengths, padding) */
#define VAULT_E_WEAK_KDF (-5)     /* KDF parameters below the floor or weaker than seen before */
#define VAULT_E_LIMIT (-6)        /* a size or count limit was exceeded */
#define VAULT_E_IO (-7)           /* the local store or a file could not be read/written */
#define VAULT_E_NOT_FOUND (-8)    /* no such item, account, device or link */
#define VAULT_E_VERSION (-9)      /* unsupported format or protocol version */
#define VAULT_E_LOCKED (-10)      /* the client is locked; unlock it first */
#define VAULT_E_EXISTS (-11)      /* already exists (local vault, account, item id) */
#define VAULT_E_ROLLBACK (-12)    /* the server served an older revision than already seen */
#define VAULT_E_CONFLICT (-13)    /* push refused: the server holds a newer revision */
#define VAULT_E_NETWORK (-14)     /* the transport failed (connection, HTTP status, timeout) */
#define VAULT_E_SERVER (-15)      /* the server answered with an error or a malformed answer */
#define VAULT_E_RATE_LIMITED (-16) /* too many failed attempts; retry later */
#define VAULT_E_STATE (-17)       /* call made in the wrong state (not logged in, wrong step) */
#define VAULT_E_EXPIRED (-18)     /* session, link or token expired */
#define VAULT_E_MISMATCH (-19)    /* data belongs to another account or revision */
#define VAULT_E_REVOKED (-20)     /* this device has been revoked */
#define VAULT_E_INSECURE (-21)    /* refused: plain HTTP to a non-loopback host */
#define VAULT_E_PENDING (-22)     /* not ready yet; poll again (device linking) */
#define VAULT_E_SAS (-23)         /* device linking aborted: the short codes did not match */
#define VAULT_E_INTERNAL (-24)    /* a bug or an unexpected library failure */
#define VAULT_E_FORK (-25)        /* the server's history lost what this device confirmed */
#define VAULT_E_FORMAT (-29)      /* import: the file is malformed or not in the named format */
#define VAULT_E_UNSUPPORTED (-31) /* this build lacks the feature (libcurl, PostgreSQL) */

/* Initialises the library (libsodium, allocation hooks). Thread-safe,
 * idempotent. Returns VAULT_OK or VAULT_E_INTERNAL if libsodium cannot start. */
VAULT_API int vault_init(void);

/* Keeps keys and plaintext out of crash files: makes the calling process
 * non-dumpable (prctl PR_SET_DUMPABLE 0, which also refuses ptrace attach by
 * other processes of the same user) and sets RLIMIT_CORE to 0, soft and hard.
 * Programs call it first thing in main(); the zkvault CLI and vaultd do.
 * Process-wide and inherited across fork(); not undone by exec of the same
 * user's programs for the rlimit. Errors: VAULT_E_IO (the kernel refused),
 * VAULT_E_UNSUPPORTED (not Linux). */
VAULT_API int vault_process_harden(void);

/* The library version as "MAJOR.MINOR.PATCH". Static string. */
VAULT_API const char *vault_version(void);

/* A static English name for a status code ("wrong password or key, or
 * tampered data" for VAULT_E_AUTH, ...). Never NULL; unknown codes give "unknown error". */
VAULT_API const char *vault_strerror(int code);

/* The detail message of the last failure on this thread, or "" if none.
 * Owned by the library, valid until the next library call on this thread.
 * Never NULL, never contains secrets. */
VAULT_API const char *vault_last_error(void);

/* Releases anything the library returned through a `char **` or `uint8_t **`
 * output, wiping its contents first. vault_free(NULL) is a no-op. Do not pass
 * pointers from any other allocator. */
VAULT_API void vault_free(void *ptr);

/* Allocates memory that the library may later release with vault_free(): used
 * by custom transports (vault_transport_fn) to hand a response to the library.
 * Returns NULL if out of memory. */
VAULT_API void *vault_malloc(size_t size);

/* ========================================================================== */
/* vault_kdf_* — Argon2id key derivation                                      */
/* ========================================================================== */

#define VAULT_KEY_BYTES 32u
#define VAULT_SALT_BYTES 16u
#define VAULT_KDF_OPSLIMIT_DEFAULT 3u
#define VAULT_KDF_MEMLIMIT_DEFAULT (64u * 1024u * 1024u)
#define VAULT_KDF_OPSLIMIT_MIN 2u
#define VAULT_KDF_MEMLIMIT_MIN (19u * 1024u * 1024u)
#define VAULT_KDF_OPSLIMIT_MAX 64u
#define VAULT_KDF_MEMLIMIT_MAX (UINT64_C(4096) * 1024u * 1024u) /* 4 GiB: needs 64 bits */
#define VAULT_PASSWORD_MAX_BYTES 4096u

/* The same constants as functions, for bindings that cannot read macros. */
VAULT_API size_t vault_key_bytes(void);
VAULT_API size_t vault_salt_bytes(void);
VAULT_API uint64_t vault_kdf_opslimit_default(void);
VAULT_API uint64_t vault_kdf_memlimit_default(void);
VAULT_API uint64_t vault_kdf_opslimit_min(void);
VAULT_API uint64_t vault_kdf_memlimit_min(void);

/* Checks Argon2id parameters: VAULT_OK, VAULT_E_WEAK_KDF below the floor
 * (opslimit 2, memlimit 19 MiB) or VAULT_E_LIMIT above the maximum. */
VAULT_API int vault_kdf_check_params(uint64_t opslimit, uint64_t memlimit);

/* Derives the two 32-byte keys of the key hierarchy from a master password:
 * Argon2id(password, salt, opslimit, memlimit) → 64 bytes; bytes 0..31 are the
 * auth key (proves the user to the server), bytes 32..63 the encryption key
 * (never leaves the client). Either output may be NULL if not wanted.
 * password: UTF-8, password_len bytes (1..VAULT_PASSWORD_MAX_BYTES).
 * Errors: VAULT_E_INVALID, VAULT_E_WEAK_KDF, VAULT_E_LIMIT, VAULT_E_NOMEM
 * (Argon2id could not get its memory). */
VAULT_API int vault_kdf_derive(uint8_t *auth_key, uint8_t *enc_key,
                               const char *password, size_t password_len,
                               const uint8_t *salt, uint64_t opslimit,
                               uint64_t memlimit);

/* Fills salt with VAULT_SALT_BYTES random bytes. */
VAULT_API int vault_kdf_salt(uint8_t *salt);

/* ========================================================================== */
/* vault_blob_* — the sealed vault blob (docs/format.md)                      */
/* ========================================================================== */

#define VAULT_ACCOUNT_ID_BYTES 16u  /* binary; 32 lowercase hex chars as text */
#define VAULT_BLOB_MAX_PLAINTEXT (256u * 1024u * 1024u)
#define VAULT_BLOB_MAX_BYTES (VAULT_BLOB_MAX_PLAINTEXT + 1024u * 1024u)
#define VAULT_PROTECTED_KEY_BYTES 112u

/* Seals plaintext (normally the vault's JSON) into a blob: zlib-compressed,
 * Padmé-padded, crypto_secretbox under key with a fresh random nonce, with an
 * authenticated header binding it to account_id (32 hex chars) and revision,
 * and a key-commitment tag. *blob is freed with vault_free().
 * Errors: VAULT_E_INVALID, VAULT_E_LIMIT (plaintext too large), VAULT_E_NOMEM. */
VAULT_API int vault_blob_seal(uint8_t **blob, size_t *blob_len,
                              const uint8_t *key, const char *account_id,
                              uint64_t revision, const uint8_t *plaintext,
                              size_t plaintext_len);

/* Opens a blob sealed by vault_blob_seal() and checks that it belongs to
 * account_id and revision. *plaintext (freed with vault_free(), wiped) is
 * NUL-terminated for convenience; *plaintext_len excludes the NUL.
 * Errors: VAULT_E_CORRUPT (not a blob, bad lengths or padding, truncated),
 * VAULT_E_VERSION (unknown format version), VAULT_E_AUTH (wrong key or any
 * tampered byte), VAULT_E_MISMATCH (another account or revision),
 * VAULT_E_LIMIT (inflated size over the cap), VAULT_E_NOMEM, VAULT_E_INVALID. */
VAULT_API int vault_blob_open(uint8_t **plaintext, size_t *plaintext_len,
                              const uint8_t *key, const char *account_id,
                              uint64_t revision, const uint8_t *blob,
                              size_t blob_len);

/* Reads the clear header of a blob without a key: *account_id (32 hex chars,
 * freed with vault_free()) and *revision. Unauthenticated: use it only to
 * route, never to trust. Errors: VAULT_E_CORRUPT, VAULT_E_VERSION. */
VAULT_API int vault_blob_peek(const uint8_t *blob, size_t blob_len,
                              char **account_id, uint64_t *revision);

/* ========================================================================== */
/* vault_* / vault_item_* — an unlocked vault in memory                       */
/* ========================================================================== */

/*
 * Items travel as JSON strings (UTF-8):
 *
 *   {"id": "32 hex chars", "type": "login", "title": "GitHub",
 *    "fields": [{"name": "username", "value": "ada", "hidden": false},
 *               {"name": "password", "value": "s3cret", "hidden": true}],
 *    "tags": ["work"], "created": 1700000000000, "updated": 1700000000000,
 *    "rev": 3, "deleted": false, "trashed": 0,
 *    "history": [{"name": "password", "value": "old", "changed": 1690000000000}]}
 *
 * A field may also carry "type": "text" (the default, never written out) or
 * "totp": its value is then a TOTP secret (vault_totp_check) and
 * vault_item_totp() gives its codes. "trashed" is 0, or the time the item was
 * moved to the trash (vault_item_trash): such an item keeps its content,
 * syncs, and is left out of list/search/count until restored or purged.
 *
 * On input only "type", "title", "fields" and "tags" are read (fields and tags
 * are optional; each field needs "name", "value" and "hidden", "type" is
 * optional). "id", "created", "updated", "rev", "deleted", "trashed" and "history" are
 * kept by the library. Types: "login", "note", "card", "identity", or any
 * app-defined name of 1..64 characters [a-z0-9_.-]. Times are milliseconds
 * since the Unix epoch.
 * Limits: title 1 KiB, field name 256 B, field value 64 KiB, 256 fields,
 * 64 tags of 128 B, 100000 items per vault; over a limit → VAULT_E_LIMIT.
 */
typedef struct vault vault;

#define VAULT_LIST_DELETED 1u /* vault_item_list: every item, trash and tombstones included */
#define VAULT_LIST_TRASH 2u   /* vault_item_list: only the items in the trash */

/* Creates an empty vault. Free with vault_close(). */
VAULT_API int vault_new(vault **out);

/* Frees a vault, wiping every item first. NULL is a no-op. */
VAULT_API void vault_close(vault *v);

/* Serializes the whole vault (items, tombstones, history, devices) to JSON
 * (*json freed with vault_free()). */
VAULT_API int vault_to_json(const vault *v, char **json);

/* Parses a whole vault from the JSON vault_to_json() produced.
 * Errors: VAULT_E_INVALID (with a message naming the problem), VAULT_E_LIMIT. */
VAULT_API int vault_from_json(vault **out, const char *json, size_t json_len);

/* Seals the vault into a blob (vault_to_json + vault_blob_seal). */
VAULT_API int vault_seal(const vault *v, const uint8_t *key, const char *account_id,
                         uint64_t revision, uint8_t **blob, size_t *blob_len);

/* Opens a blob into a new vault (vault_blob_open + vault_from_json). Errors
 * are those of both. */
VAULT_API int vault_open(vault **out, const uint8_t *key, const char *account_id,
                         uint64_t revision, const uint8_t *blob, size_t blob_len);

/* Adds an item. A missing "id" gets a fresh random one; an "id" that already
 * exists gives VAULT_E_EXISTS. *id_out (may be NULL) receives the id, freed
 * with vault_free(). Errors: VAULT_E_INVALID, VAULT_E_LIMIT, VAULT_E_EXISTS. */
VAULT_API int vault_item_add(vault *v, const char *item_json, char **id_out);

/* Replaces type, title, fields and tags of item id; bumps its "rev" and
 * "updated". A hidden field whose value changes keeps the old value in the
 * item's history (the last 10 per field). Errors: VAULT_E_NOT_FOUND (also for
 * a deleted item or one in the trash), VAULT_E_INVALID, VAULT_E_LIMIT. */
VAULT_API int vault_item_update(vault *v, const char *id, const char *item_json);

/* The item as JSON (*json freed with vault_free()), also when it is in the
 * trash ("trashed" is then non-zero). VAULT_E_NOT_FOUND if unknown or deleted. */
VAULT_API int vault_item_get(const vault *v, const char *id, char **json);

/* Deletes (purges) an item, in the trash or not: its content is wiped and a
 * tombstone kept so the delete syncs. VAULT_E_NOT_FOUND if unknown or already
 * deleted. */
VAULT_API int vault_item_delete(vault *v, const char *id);

/* Moves item id to the trash: its content stays (and syncs), "trashed" is set
 * to now, "rev" and "updated" move on. Errors: VAULT_E_INVALID (NULL),
 * VAULT_E_NOT_FOUND (unknown, deleted, or already in the trash), VAULT_E_NOMEM. */
VAULT_API int vault_item_trash(vault *v, const char *id);

/* Takes item id out of the trash ("trashed" back to 0; "rev" and "updated"
 * move on). Errors: VAULT_E_INVALID, VAULT_E_NOT_FOUND (unknown, deleted, or
 * not in the trash), VAULT_E_NOMEM. */
VAULT_API int vault_item_restore(vault *v, const char *id);

/* Purges (as vault_item_delete) every item that has been in the trash for at
 * least `days` days by this device's clock; days 0 empties the trash. An item
 * whose trash time lies in the future (another device's clock) is kept.
 * *purged (may be NULL) receives the count. Errors: VAULT_E_INVALID,
 * VAULT_E_NOMEM (items purged before the failure stay purged). */
VAULT_API int vault_trash_expire(vault *v, uint32_t days, uint64_t *purged);

/* A JSON array of the items, ordered by title then id. flags 0: the live items
 * (not in the trash); VAULT_LIST_TRASH: only the items in the trash;
 * VAULT_LIST_DELETED: every item, those in the trash and the tombstones
 * included. Any other flags: VAULT_E_INVALID. */
VAULT_API int vault_item_list(const vault *v, uint32_t flags, char **json);

/* A JSON array of the live items (not in the trash) whose title, tags or
 * non-hidden field values contain query, compared after Unicode NFKC
 * normalisation and case folding (utf8proc): "ärzte" finds "Ärzte", "ﬁle"
 * finds "FILE". An empty query matches everything. Errors: VAULT_E_INVALID
 * (NULL, query not valid UTF-8), VAULT_E_NOMEM. */
VAULT_API int vault_item_search(const vault *v, const char *query, char **json);

/* The number of live items (not deleted, not in the trash). */
VAULT_API int vault_item_count(const vault *v, uint64_t *count);

/* The current TOTP code of item id's first field of type "totp", at
 * unix_time (seconds since the epoch; pass time(NULL), or a fixed time in
 * tests). *code (6..8 digits, NUL-terminated) is freed with vault_free();
 * *seconds_left is 1..period, the seconds the code stays valid. Errors:
 * VAULT_E_INVALID (NULL), VAULT_E_NOT_FOUND (no such live item, or it has no
 * TOTP field), VAULT_E_NOMEM. */
VAULT_API int vault_item_totp(const vault *v, const char *id, uint64_t unix_time, char **code,
                              uint32_t *seconds_left);

/* Three-way merge: base is the last vault both sides agreed on (may be an
 * empty vault), local and remote the two edited descendants. *out is a new
 * vault. Rules (docs/sync.md): an item changed on one side only takes that
 * side; disjoint field edits both survive; the same field edited on both sides
 * keeps the newer value (by "updated", ties broken by the larger value bytes)
 * and the other value goes to the item's history; delete versus edit keeps the
 * edit (undelete) so no edit is lost; items created on both sides are both
 * kept. Errors: VAULT_E_NOMEM, VAULT_E_INVALID. */
VAULT_API int vault_merge(vault **out, const vault *base, const vault *local,
                          const vault *remote);

/* Compares two vaults by content: *equal = 1 if they hold the same items
 * (every member, history and tombstones included) and the same devices,
 * whatever their order, else 0. Errors: VAULT_E_INVALID. */
VAULT_API int vault_compare(const vault *a, const vault *b, int32_t *equal);

/* ========================================================================== */
/* vault_import / vault_export — other managers' files (docs/interop.md)       */
/* ========================================================================== */

/*
 * Import formats (the `format` argument):
 *   "bitwarden-json"  Bitwarden unencrypted JSON export
 *   "bitwarden-csv"   Bitwarden CSV export
 *   "keepass-xml"     KeePass 2 XML (keepassxc-cli export -f xml)
 *   "1password-csv"   1Password CSV export
 *   "chrome-csv"      Chrome / Chromium / Edge passwords CSV
 *   "firefox-csv"     Firefox logins CSV
 *   "safari-csv"      Safari (and iCloud Keychain) passwords CSV
 *   "lastpass-csv"    LastPass CSV export
 *   "csv"             a CSV with a header: "title", "type", "tags", the rest fields
 *   "zkvault"         this library's vault JSON (vault_to_json, vault_export)
 *   "zkvault-encrypted" an encrypted export (vault_export), needs its password
 * Export formats: "zkvault-encrypted" (the recommended one: the only one that
 * is not plaintext), "zkvault", "keepass-xml", "bitwarden-json", "csv".
 */

#define VAULT_IMPORT_DRY_RUN 1u /* check and report, add nothing */

/* The formats as a JSON array [{"name":"..","description":"..",
 * "import":true,"export":false,"plaintext":true}, ...] (*json freed with
 * vault_free()). Errors: VAULT_E_INVALID, VAULT_E_NOMEM. */
VAULT_API int vault_interop_formats(char **json);

/* Imports the file data[0..len) in the named format into v, all or nothing.
 * Each record becomes a new item (fresh id; "zkvault" keeps ids, history and
 * times); unknown columns and attributes become fields. An item with the same
 * type, title and fields as a live item of v or an earlier one of the file
 * (for "zkvault": the same id) is a duplicate and not added; an empty row is
 * skipped. password: only for "zkvault-encrypted", else NULL.
 * *report (may be NULL; freed with vault_free()) is JSON:
 *   {"format":"..","dry_run":false,"imported":n,"duplicates":n,"skipped":n,
 *    "problems":[{"line":7,"message":".."}],
 *    "items":[{"line":2,"title":"..","type":"login","status":"imported"}, ...]}
 * with "imported" counting what was (or, dry run, would be) added, "status"
 * one of "imported", "duplicate", "skipped" (with a "reason"), and "index"
 * (the item's position) instead of "line" for JSON formats. It holds titles,
 * never field values. With VAULT_IMPORT_DRY_RUN nothing is added and a file
 * with problems still gives VAULT_OK: the report lists every problem.
 * Errors (nothing added): VAULT_E_FORMAT (malformed, or not in that format;
 * the message names the first bad line or item and how many there are),
 * VAULT_E_INVALID (unknown format, bad argument), VAULT_E_LIMIT (the vault
 * would exceed 100000 items, or data over VAULT_BLOB_MAX_PLAINTEXT bytes),
 * VAULT_E_AUTH (wrong password for "zkvault-encrypted"), VAULT_E_VERSION,
 * VAULT_E_WEAK_KDF, VAULT_E_NOMEM. */
VAULT_API int vault_import(vault *v, const char *format, const uint8_t *data, size_t len,
                           const char *password, uint32_t flags, char **report);

/* Exports the live items of v in the named format into *out (*out_len bytes,
 * NUL-terminated, freed with vault_free()). "zkvault-encrypted" seals them
 * under password (Argon2id with opslimit/memlimit, 0, 0 = defaults, and the
 * blob format; docs/interop.md); the other formats are PLAINTEXT and ignore
 * password and the limits. Errors: VAULT_E_INVALID (unknown format, missing
 * password, a value KeePass XML cannot hold), VAULT_E_WEAK_KDF, VAULT_E_LIMIT,
 * VAULT_E_NOMEM. */
VAULT_API int vault_export(const vault *v, const char *format, const char *password,
                           uint64_t opslimit, uint64_t memlimit, uint8_t **out,
                           size_t *out_len);
/* ========================================================================== */
/* vault_totp_* — one-time codes (RFC 6238) from a stored TOTP secret          */
/* ========================================================================== */

/*
 * A TOTP secret is either an otpauth://totp/LABEL?secret=BASE32&... URI (as
 * a QR code carries it; "algorithm" SHA1, SHA256 or SHA512, "digits" 6..8,
 * "period" 1..86400 seconds; defaults SHA1, 6, 30; other parameters such as
 * "issuer" are ignored; hotp URIs are refused) or a bare base32 secret
 * (spaces, '-' and '=' ignored, either case), meaning SHA1, 6 digits, 30 s.
 * The HMAC and truncation are liboath's.
 */

/* Checks a TOTP secret. Errors: VAULT_E_INVALID (with a message naming the
 * problem, never the secret), VAULT_E_LIMIT (over 1024 base32 characters). */
VAULT_API int vault_totp_check(const char *totp);

/* The code of a TOTP secret at unix_time (seconds): *code (freed with
 * vault_free()) and *seconds_left (1..period). Errors: those of
 * vault_totp_check, VAULT_E_INVALID (NULL), VAULT_E_NOMEM. */
VAULT_API int vault_totp_code(const char *totp, uint64_t unix_time, char **code,
                              uint32_t *seconds_left);

/* ========================================================================== */
/* vault_audit — weak, reused, old and breached secrets                       */
/* ========================================================================== */

/* Audits the hidden text fields (not TOTP) of the live items and returns a
 * JSON report (*json freed with vault_free()) that names items and fields,
 * never a value:
 *
 *   {"summary": {"checked": 12, "weak": 2, "reused": 3, "old": 1, "breached": 1},
 *    "findings": [{"id": "...", "title": "Mail", "field": "password",
 *                  "weak": true, "strength_bits": 18.4, "reused": 2,
 *                  "old": false, "age_days": 40, "breached": 52314}, ...]}
 *
 * Only fields with a problem are in "findings". weak: zxcvbn (libzxcvbn)
 * estimates fewer than 2^40 guesses ("strength_bits" < 40), with the item's
 * title and visible values as a user dictionary. reused: how many other
 * audited fields hold the same value. old: the value is at least old_days
 * days old (0: never flagged); its age comes from the field's newest history
 * entry, else the item's creation. breached: how often the value occurs in
 * breach_file, a local Pwned Passwords file of "SHA1HEX:COUNT" lines sorted
 * by hash (binary search, nothing sent anywhere); NULL skips the check and
 * leaves "breached" out. Errors: VAULT_E_INVALID (NULL vault or json, or a
 * malformed line met in the breach file), VAULT_E_IO (breach file unreadable),
 * VAULT_E_NOMEM. */
VAULT_API int vault_audit(const vault *v, const char *breach_file, uint32_t old_days,
                          char **json);

/* ========================================================================== */
/* vault_server_* — the server: store + transport-agnostic JSON handler       */
/* ========================================================================== */

/* The calls of this section, vault_httpd_* and vault_client_connect_local()
 * are in libvault-server only (pkg-config vault-server, CMake
 * zkvault::vault_server), which also holds the whole client; the client
 * library libvault does not export them. */

typedef struct vault_server vault_server;

#define VAULT_PEPPER_MIN_BYTES 32u
#define VAULT_SERVER_MAX_REQUEST (96u * 1024u * 1024u)
#define VAULT_SERVER_SMALL_REQUEST (16u * 1024u) /* every op that carries no blob */

/* Opens (or creates) a server whose store is the SQLite file db_path (WAL),
 * or, when db_path is a libpq connection URI ("postgresql://..." or
 * "postgres://..."), that PostgreSQL database, which several server processes
 * may share (docs/deploy.md); the schema is created or upgraded on open.
 * pepper (>= 32 bytes) comes from the server's configuration, never the
 * database; it keys the verifier and email hashes. flags: 0.
 * Free with vault_server_close(). Errors: VAULT_E_INVALID, VAULT_E_IO,
 * VAULT_E_NOMEM, VAULT_E_UNSUPPORTED (a PostgreSQL URI in a build without
 * PostgreSQL). */
VAULT_API int vault_server_open(vault_server **out, const char *db_path,
                                const uint8_t *pepper, size_t pepper_len,
                                uint32_t flags);

/* Closes the server, wiping the pepper. NULL is a no-op. */
VAULT_API void vault_server_close(vault_server *s);

/* Handles one JSON request (docs/protocol.md) and writes one JSON response
 * (*response, freed with vault_free()). A request the server rejects is still
 * VAULT_OK here: the error is in the response {"ok":false,"error":{...}}. Only
 * a failure to produce any response (out of memory) returns an error code.
 * Thread-safe. */
VAULT_API int vault_server_handle(vault_server *s, const char *request,
                                  size_t request_len, char **response);

/* vault_server_handle() for a network front end that knows more than the
 * bytes. peer: the client's address as the front end groups clients (vaultd:
 * the IPv4 address, or the IPv6 /64 as "2001:db8:1:2::/64"), or NULL; the
 * per-address limits (docs/security.md, "Abuse cases") apply to each
 * distinct peer, and NULL peers share one. op: the op the front end read
 * before the body (vaultd: the URL path), or NULL; a body naming another op
 * is refused ("invalid"). Same return and ownership as vault_server_handle.
 * Thread-safe. */
VAULT_API int vault_server_handle_from(vault_server *s, const char *peer, const char *op,
                                       const char *request, size_t request_len,
                                       char **response);

/* The largest request body op may have: VAULT_SERVER_MAX_REQUEST for the ops
 * that carry a blob (register, push, device_revoke), VAULT_SERVER_SMALL_REQUEST
 * for every other op, for an unknown op and for NULL. A front end checks it
 * against Content-Length, and while reading, before buffering a body. */
VAULT_API size_t vault_server_request_limit(const char *op);

/* Server tuning. Options (values are in seconds unless named otherwise):
 *   VAULT_SERVER_SESSION_TTL   session lifetime (default 3600)
 *   VAULT_SERVER_LINK_TTL      device-link lifetime (default 300)
 *   VAULT_SERVER_LOGIN_FREE    failed logins before delays start (default 5)
 *   VAULT_SERVER_MAX_BLOB      largest blob accepted, in bytes (default 64 MiB)
 *   VAULT_SERVER_CLOCK_SKEW    added to the server clock, for tests (default 0)
 * Limits per client address and in all (docs/security.md, "Abuse cases";
 * counts per window, 1..1000000):
 *   VAULT_SERVER_GUESS_LIMIT_ADDRESS  failed password proofs per address per
 *                                     15 minutes (default 30)
 *   VAULT_SERVER_GUESS_LIMIT_GLOBAL   failed password proofs of all clients per
 *                                     minute (default 10000)
 *   VAULT_SERVER_RELAY_LIMIT_ADDRESS  link_request per address per 5 minutes
 *                                     (default 20)
 * Errors: VAULT_E_INVALID (unknown option or value). */
#define VAULT_SERVER_SESSION_TTL 1
#define VAULT_SERVER_LINK_TTL 2
#define VAULT_SERVER_LOGIN_FREE 3
#define VAULT_SERVER_MAX_BLOB 4
#define VAULT_SERVER_CLOCK_SKEW 5
#define VAULT_SERVER_GUESS_LIMIT_ADDRESS 6
#define VAULT_SERVER_GUESS_LIMIT_GLOBAL 7
#define VAULT_SERVER_RELAY_LIMIT_ADDRESS 8
VAULT_API int vault_server_set_option(vault_server *s, int option, int64_t value);

/* The last error message of this server handle. Never NULL. */
VAULT_API const char *vault_server_errmsg(const vault_server *s);

/* Operator events, for a log (vaultd writes one line per event to stderr):
 *   VAULT_SERVER_EVENT_STORE_ERROR      a request failed in the store (database
 *                                       down or frozen past the store deadline,
 *                                       disk full...); message: the operation
 *                                       and the store's detail
 *   VAULT_SERVER_EVENT_STORE_RECOVERED  the first request that succeeded after
 *                                       store errors
 *   VAULT_SERVER_EVENT_RATE_LIMITED     a login or password check was refused
 *                                       for too many failed attempts
 * message is one line without secrets, emails, tokens or connection strings,
 * valid during the call only. */
#define VAULT_SERVER_EVENT_STORE_ERROR 1
#define VAULT_SERVER_EVENT_STORE_RECOVERED 2
#define VAULT_SERVER_EVENT_RATE_LIMITED 3
typedef void (*vault_server_event_fn)(int event, const char *message, void *ctx);

/* Sets the function that receives operator events (fn NULL: none, the
 * default). It runs on the thread that handles the request, on several at
 * once under vault_httpd, so it must be thread-safe and quick; set it before
 * serving. Errors: VAULT_E_INVALID (s is NULL). */
VAULT_API int vault_server_set_event_handler(vault_server *s, vault_server_event_fn fn,
                                             void *ctx);

/* Reference HTTP daemon (libmicrohttpd): serves vault_server_handle_from() as
 * POST /v1/api/<op> (or /v1/api, small requests only) with a JSON body, on a
 * thread pool. bind_addr "127.0.0.1",
 * "::1", "0.0.0.0"...; port 0 picks a free port (read it back with
 * vault_httpd_port()). cert_pem/key_pem: paths to a PEM certificate and key for
 * HTTPS, or both NULL for plain HTTP. threads: 0 = default (4).
 * Errors: VAULT_E_INVALID, VAULT_E_IO (cannot bind or read the TLS files). */
typedef struct vault_httpd vault_httpd;
VAULT_API int vault_httpd_start(vault_httpd **out, vault_server *s,
                                const char *bind_addr, uint16_t port,
                                const char *cert_pem, const char *key_pem,
                                uint32_t threads);

/* The daemon's limits (docs/vaultd.md, "Limits"). Fill with
 * vault_httpd_options_init(), then change fields; 0 in a field means its
 * default. */
#define VAULT_HTTPD_OPTIONS_VERSION 1u
typedef struct vault_httpd_options {
    uint32_t version;           /* VAULT_HTTPD_OPTIONS_VERSION */
    uint32_t threads;           /* worker threads (4; at most 256) */
    uint32_t max_connections;   /* open connections in all (1024) */
    uint32_t max_per_address;   /* open connections per client IP address (64) */
    uint32_t header_timeout_ms; /* accept (or the previous answer) to the end of the
                                   headers, absolute (10000) */
    uint32_t body_timeout_ms;   /* end of the headers to the end of the body, absolute,
                                   plus 1 s per 64 KiB of the body's cap (30000) */
    uint64_t memory_budget;     /* bytes all in-flight requests may hold, each charged
                                   3x its body; over it: 503 (1 GiB) */
} vault_httpd_options;
VAULT_API void vault_httpd_options_init(vault_httpd_options *o);

/* vault_httpd_start() with limits; o may be NULL (all defaults). Errors as
 * vault_httpd_start, and VAULT_E_INVALID for an unknown o->version or
 * threads over 256. */
VAULT_API int vault_httpd_start_v2(vault_httpd **out, vault_server *s,
                                   const char *bind_addr, uint16_t port,
                                   const char *cert_pem, const char *key_pem,
                                   const vault_httpd_options *o);

/* The daemon's counters, for operators and tests; 0 for NULL or an unknown
 * stat. Bytes are charged bytes (3x a body), see memory_budget. */
#define VAULT_HTTPD_STAT_INFLIGHT_BYTES 1   /* charged now */
#define VAULT_HTTPD_STAT_INFLIGHT_PEAK 2    /* the most charged at once */
#define VAULT_HTTPD_STAT_REFUSED_LARGE 3    /* 413: body over its op's cap */
#define VAULT_HTTPD_STAT_REFUSED_BUSY 4     /* 503: over the memory budget */
#define VAULT_HTTPD_STAT_DEADLINE_CLOSED 5  /* connections cut at a deadline */
VAULT_API int64_t vault_httpd_stat(const vault_httpd *h, int stat);

VAULT_API uint16_t vault_httpd_port(const vault_httpd *h);
/* Stops the daemon and waits for in-flight requests. NULL is a no-op. The
 * server handle stays open. */
VAULT_API void vault_httpd_stop(vault_httpd *h);

/* ========================================================================== */
/* vault_client_* — one device: local store, unlock, sync                     */
/* ========================================================================== */

typedef struct vault_client vault_client;

/* Transport: sends one JSON request, returns one JSON response in *response,
 * allocated with vault_malloc() (the library frees it). Return VAULT_OK, or
 * VAULT_E_NETWORK if nothing could be exchanged. ctx is the caller's. */
typedef int (*vault_transport_fn)(const char *request, size_t request_len,
                                  char **response, size_t *response_len,
                                  void *ctx);

#define VAULT_HTTP_ALLOW_INSECURE 1u /* allow plain http:// to non-loopback hosts */
#define VAULT_HTTP_INSECURE_TLS 2u   /* skip certificate checks (tests only) */

/* Opens (creating if needed) the client's local SQLite store at path. The
 * store holds only ciphertext and public data. flags: 0. Free with
 * vault_client_close(). Errors: VAULT_E_INVALID, VAULT_E_IO, VAULT_E_NOMEM. */
VAULT_API int vault_client_open(vault_client **out, const char *path, uint32_t flags);

/* Locks (wipes keys and plaintext) and closes. NULL is a no-op. */
VAULT_API void vault_client_close(vault_client *c);

/* The last error message of this client. Never NULL, never secret. */
VAULT_API const char *vault_client_errmsg(const vault_client *c);

/* Creates a new local vault protected by password: fresh account id, salt and
 * random vault key wrapped by the password's encryption key, KDF parameters
 * (0, 0 = defaults). The client is unlocked afterwards.
 * Errors: VAULT_E_EXISTS (the store already holds a vault), VAULT_E_WEAK_KDF,
 * VAULT_E_INVALID, VAULT_E_IO. */
VAULT_API int vault_client_create(vault_client *c, const char *password,
                                  uint64_t opslimit, uint64_t memlimit);

/* Unlocks with the master password: derives the keys, unwraps the vault key
 * and opens the local vault. Errors: VAULT_E_AUTH (wrong password),
 * VAULT_E_NOT_FOUND (no local vault), VAULT_E_CORRUPT, VAULT_E_IO. */
VAULT_API int vault_client_unlock(vault_client *c, const char *password);

/* Wipes every key and the plaintext vault from memory. Unsaved changes are
 * lost: call vault_client_save() first. Always VAULT_OK. */
VAULT_API int vault_client_lock(vault_client *c);

/* Whether the client is unlocked: *unlocked = 1 or 0. */
VAULT_API int vault_client_is_unlocked(const vault_client *c, int32_t *unlocked);

/* Borrows the unlocked vault for item calls. The handle stays owned by the
 * client and is valid until lock/close/pull/sync; do not vault_close() it.
 * Errors: VAULT_E_LOCKED. */
VAULT_API int vault_client_vault(vault_client *c, vault **v);

/* Seals the current vault and stores it in one SQLite transaction (a crash
 * leaves the old or the new state). Errors: VAULT_E_LOCKED, VAULT_E_IO. */
VAULT_API int vault_client_save(vault_client *c);

/* The account id (32 hex chars, *out freed with vault_free()).
 * Errors: VAULT_E_NOT_FOUND (no vault yet). */
VAULT_API int vault_client_account_id(const vault_client *c, char **out);

/* Routes the client's server calls to an in-process server (embedded mode).
 * The server must outlive the client's use of it. */
VAULT_API int vault_client_connect_local(vault_client *c, vault_server *s);

/* Routes the client's server calls over HTTP(S) to base_url ("https://host:port"),
 * with libcurl. Plain http:// is refused with VAULT_E_INSECURE unless the host
 * is loopback or flags has VAULT_HTTP_ALLOW_INSECURE. VAULT_E_UNSUPPORTED in a
 * build without the HTTP client (-DVAULT_WITH_HTTP_CLIENT=OFF). */
VAULT_API int vault_client_connect_http(vault_client *c, const char *base_url,
                                        uint32_t flags);

/* As vault_client_connect_http(), trusting the PEM certificates in ca_file (a
 * private CA) instead of the system's store. With ca_file NULL — and always
 * for vault_client_connect_http() — the bundle named by the first of the
 * environment variables ZKVAULT_CA_FILE, SSL_CERT_FILE, CURL_CA_BUNDLE that is
 * set and non-empty is used, else the system's store. The file is read at
 * each connection (the caller may replace it). Errors: those of
 * vault_client_connect_http(), VAULT_E_IO (the file cannot be read). */
VAULT_API int vault_client_connect_http_ca(vault_client *c, const char *base_url,
                                           uint32_t flags, const char *ca_file);

/* Routes the client's server calls through a caller-supplied transport
 * (fn NULL disconnects). fn is called on the thread that calls the client. */
VAULT_API int vault_client_connect_custom(vault_client *c, vault_transport_fn fn,
                                          void *ctx);

/* Registers the unlocked local vault as a new account under email (OPAQUE
 * registration: the server stores a record it cannot test guesses against)
 * and pushes the first revision. Errors: VAULT_E_EXISTS (email taken), VAULT_E_STATE (no
 * transport or locked), VAULT_E_NETWORK, VAULT_E_SERVER. */
VAULT_API int vault_client_register(vault_client *c, const char *email);

/* Logs in with email and password (OPAQUE, docs/protocol.md: the password
 * never leaves the device in any form the server could test guesses with).
 * On an empty store this fetches the account and unlocks it: it then needs
 * the account's Secret Key first (vault_client_set_secret_key()). On a store
 * that holds that account it checks the KDF parameters against those it kept,
 * opens a session and pulls. If only that pull fails on a store that holds
 * the account (VAULT_E_FORK, VAULT_E_ROLLBACK, ...), the client stays
 * unlocked and keeps the session, so that vault_client_resolve_fork() can
 * follow; the pull's code is returned. With a password this store does not
 * know, the new protected key must open the local vault before anything is
 * stored. Errors: VAULT_E_AUTH (wrong password or Secret Key, or unknown
 * email: the server cannot tell them apart), VAULT_E_STATE (a new device
 * without the Secret Key), VAULT_E_RATE_LIMITED, VAULT_E_WEAK_KDF (server
 * offered weaker parameters than the floor or than seen before),
 * VAULT_E_NETWORK, VAULT_E_SERVER, VAULT_E_MISMATCH, and the pull's. */
VAULT_API int vault_client_login(vault_client *c, const char *email,
                                 const char *password);

/* Ends the server session. The local vault stays. */
VAULT_API int vault_client_logout(vault_client *c);

/* Fetches the server's latest revision and merges it into the local vault
 * (three-way against the last-synced vault), then saves locally. On a device
 * unlocked with vault_client_unlock_device(), a newer revision sealed under a
 * rotated vault key (a device was revoked elsewhere) is opened with the key
 * sealed to this device, once that key opens exactly this revision; the local
 * copy is re-sealed under it first (docs/devicelink.md).
 * Errors: VAULT_E_ROLLBACK (older than seen, or the sealed revision differs
 * from the server's claim; nothing local changes), VAULT_E_AUTH (tampered),
 * VAULT_E_MISMATCH, VAULT_E_STATE, VAULT_E_NETWORK, VAULT_E_EXPIRED. */
VAULT_API int vault_client_pull(vault_client *c);

/* Pushes the local vault as revision base+1. VAULT_E_CONFLICT if the server
 * moved on (then vault_client_sync()). */
VAULT_API int vault_client_push(vault_client *c);

/* pull + merge + push, retried a bounded number of times on conflicts. A
 * sync with nothing new on either side pushes nothing. Errors: those of pull
 * and push, VAULT_E_FORK (see vault_client_resolve_fork()). */
VAULT_API int vault_client_sync(vault_client *c);

/* Recovers from VAULT_E_FORK: pull, push and sync return it, changing nothing,
 * when the server's history does not contain what this device last confirmed
 * or pushed (docs/sync.md: a push the server acknowledged and lost, a
 * restored backup, two devices shown two histories). This call takes the
 * server's current revision as the new trunk and merges this device's vault
 * into it without losing an edit: from their last common ancestor when this
 * device holds it, otherwise with every difference treated as a conflict
 * (the losing value of a field kept in the item's history, an edit beating a
 * delete); a device that either side no longer lists stays removed. The
 * result is pushed. Needs an unlocked, logged-in client.
 * Errors: VAULT_E_STATE, VAULT_E_LOCKED, VAULT_E_CONFLICT (the server moved
 * on meanwhile: sync again), and the pull checks' own (VAULT_E_AUTH,
 * VAULT_E_MISMATCH, VAULT_E_CORRUPT, VAULT_E_NETWORK, VAULT_E_SERVER). */
VAULT_API int vault_client_resolve_fork(vault_client *c);

/* Unlocks and logs in with one master password, also after the password was
 * changed on another device (docs/sync.md, "Password changed elsewhere"):
 *  - the password opens this store: unlock, then login. If the server refuses
 *    it because the password was changed on another device, the client stays
 *    unlocked for local use without a session, and the call returns
 *    VAULT_E_AUTH with a message saying so (vault_client_errmsg()).
 *  - it does not open this store: it may be the new password. Login fetches
 *    the new protected key, which must open the vault key this device holds
 *    (or a rotated one, under vault_client_login()'s rules); the store is
 *    re-wrapped under it in one transaction and the client is unlocked and
 *    pulled. Pending local edits are kept: push them with vault_client_sync().
 *  - an empty store: vault_client_login().
 * Errors: VAULT_E_AUTH (wrong password, or changed elsewhere as above), and
 * those of vault_client_login() and vault_client_unlock(). */
VAULT_API int vault_client_sign_in(vault_client *c, const char *email,
                                   const char *password);

/* The highest revision this client has seen from the server (0 if never). */
VAULT_API int vault_client_revision(const vault_client *c, uint64_t *revision);

/* Changes the master password: registers the new one with the server
 * (OPAQUE) under the given parameters (0, 0 = keep the current ones) and
 * re-wraps the vault key, with a fresh proof of the old password in the same
 * request (the server refuses a session alone). The vault blob is not
 * re-encrypted. Errors: VAULT_E_AUTH (old password wrong), VAULT_E_WEAK_KDF,
 * VAULT_E_LOCKED. */
VAULT_API int vault_client_change_password(vault_client *c, const char *old_password,
                                           const char *new_password,
                                           uint64_t opslimit, uint64_t memlimit);

/* Deletes the account on the server (with a fresh proof of the password: a
 * session alone is refused) and the local vault. Errors: VAULT_E_AUTH,
 * VAULT_E_NOT_FOUND, network codes. */
VAULT_API int vault_client_delete_account(vault_client *c, const char *password);

/* ---- Secret Key and Emergency Kit ---------------------------------------------
 * Every account has a Secret Key: 128 random bits made by vault_client_create()
 * on the first device, kept in the local store, never sent to the server. It
 * is mixed into the password before OPAQUE and into the key that wraps the
 * vault key, so that even a thief of the server's database and every server
 * secret cannot test password guesses. Linked devices receive it inside the
 * link envelope; a password login on a new device needs it once. Its text
 * form is "ZK1-" and 7 groups of 4 letters and digits (Crockford base32 with
 * a checksum; case, dashes and spaces do not matter). */

/* Gives the client the account's Secret Key (its text form) before a
 * password login on a new device. Errors: VAULT_E_INVALID (malformed, or
 * the checksum does not match: a typo), VAULT_E_MISMATCH (the store already
 * holds another Secret Key). */
VAULT_API int vault_client_set_secret_key(vault_client *c, const char *secret_key);

/* The Emergency Kit as text: email, account id and Secret Key, with a short
 * explanation, NUL-terminated (*text freed with vault_free(), which wipes
 * it). Errors: VAULT_E_NOT_FOUND (no account in this store), VAULT_E_STATE
 * (not registered or logged in yet: the kit names the email). */
VAULT_API int vault_client_emergency_kit(vault_client *c, char **text);

/* The Emergency Kit as a QR code (format: VAULT_QR_TEXT, VAULT_QR_SVG or
 * VAULT_QR_PGM) of "zkvault-kit:1:<account id>:<Secret Key>:<email>"
 * (*out freed with vault_free()). Errors: as vault_client_emergency_kit(),
 * and vault_qr_render()'s. */
VAULT_API int vault_client_emergency_kit_qr(vault_client *c, uint32_t format, uint8_t **out,
                                            size_t *out_len);

/* ========================================================================== */
/* vault_link_* — device linking by QR code (docs/devicelink.md)              */
/* ========================================================================== */

typedef struct vault_link vault_link;

/* Old (logged-in, unlocked) device: asks the server for a link and makes the
 * ephemeral key pair and one-time link secret. Free with vault_link_free(). */
VAULT_API int vault_link_offer(vault_link **out, vault_client *c);

/* The QR payload URI for an offer (*uri freed with vault_free()). */
VAULT_API int vault_link_payload(const vault_link *l, char **uri);

/* Old device: polls the relay for the new device's key. VAULT_E_PENDING while
 * nothing arrived; VAULT_OK once a key with a valid MAC arrived; VAULT_E_AUTH
 * if the key's MAC is wrong (substituted by the relay: the link is aborted). */
VAULT_API int vault_link_poll(vault_link *l);

/* New device (an empty, opened client): parses the scanned payload, makes its
 * key pair and posts its public key with the MAC. Errors: VAULT_E_INVALID
 * (malformed payload), VAULT_E_VERSION, VAULT_E_EXPIRED, VAULT_E_NOT_FOUND. */
VAULT_API int vault_link_join(vault_link **out, vault_client *c, const char *payload);

/* Reverse direction (a new device without a camera shows the QR code):
 * vault_link_request() on the new device (an empty, opened client) asks the
 * relay for a link and makes the key pair and link secret; show
 * vault_link_payload(); vault_link_poll() returns VAULT_OK once a logged-in
 * device accepted it with a valid MAC (VAULT_E_PENDING before, VAULT_E_AUTH
 * if the key was substituted or another device also used the code); then
 * vault_link_sas() and vault_link_complete() as in the other direction.
 * Errors: VAULT_E_EXISTS (the store already holds a vault), VAULT_E_LIMIT,
 * VAULT_E_NETWORK. */
VAULT_API int vault_link_request(vault_link **out, vault_client *c);

/* Reverse direction, logged-in (unlocked) device: parses the new device's
 * scanned code, makes its key pair and posts its key with the MAC; then
 * vault_link_sas() and vault_link_confirm(). Errors: VAULT_E_INVALID,
 * VAULT_E_VERSION, VAULT_E_EXPIRED, VAULT_E_NOT_FOUND, VAULT_E_STATE (the
 * code was already accepted by another device), VAULT_E_LOCKED. */
VAULT_API int vault_link_accept(vault_link **out, vault_client *c, const char *payload);

/* Both sides: the short authentication code to compare on both screens, as
 * 6 decimal digits (*sas freed with vault_free()). VAULT_E_STATE before the
 * exchange completed. */
VAULT_API int vault_link_sas(const vault_link *l, char **sas);

/* Old device, after the user confirmed the codes match: seals and posts the
 * envelope. The linked device gets its own device key and appears in the
 * vault's device list. */
VAULT_API int vault_link_confirm(vault_link *l, const char *device_name);

/* New device: fetches and opens the envelope, stores the vault key under the
 * 32-byte local device key (e.g. from the OS keychain), pulls and opens the
 * vault. VAULT_E_PENDING while the old device has not confirmed. */
VAULT_API int vault_link_complete(vault_link *l, const uint8_t *local_key);

/* Old device, checked form of vault_link_confirm(): sas_seen is the 6 digits
 * the user read on the new device's screen; they are compared in constant
 * time with this side's code. Match: as vault_link_confirm(). Mismatch:
 * VAULT_E_SAS, nothing is sent and the link is aborted on the server.
 * Errors also: VAULT_E_INVALID (NULL), VAULT_E_STATE (not a keyed link on
 * the sending device), and those of vault_link_confirm(). */
VAULT_API int vault_link_confirm_sas(vault_link *l, const char *device_name,
                                     const char *sas_seen);

/* New device, checked form of vault_link_complete(): sas_seen is the 6 digits
 * the user read on the other device's screen, compared in constant time with
 * this side's code before anything is fetched. Mismatch: VAULT_E_SAS, nothing
 * is adopted and the link is aborted on the server. Otherwise as
 * vault_link_complete() (VAULT_E_PENDING: call again with the same digits).
 * Errors also: VAULT_E_INVALID (NULL), VAULT_E_STATE (not a keyed link on the
 * receiving device). */
VAULT_API int vault_link_complete_sas(vault_link *l, const uint8_t *local_key,
                                      const char *sas_seen);

/* Either side: aborts the link (the server forgets it) after the user said the
 * codes differ. */
VAULT_API int vault_link_abort(vault_link *l);

/* Wipes every ephemeral secret and frees. NULL is a no-op. */
VAULT_API void vault_link_free(vault_link *l);

/* Unlocks a linked device with its 32-byte local device key instead of the
 * master password and, if connected, logs in with its device credential. A
 * vault key rotated since is picked up by the next pull or sync.
 * Errors: VAULT_E_AUTH, VAULT_E_NOT_FOUND, VAULT_E_REVOKED. */
VAULT_API int vault_client_unlock_device(vault_client *c, const uint8_t *local_key);

/* The vault's trusted devices as a JSON array
 * [{"id":"..","name":"..","public_key":"..","added":ms,"current":true}]. */
VAULT_API int vault_client_devices(vault_client *c, char **json);

/* Revokes a device: its server credential stops working, the vault key is
 * rotated, the vault re-sealed, and the new key sealed to each remaining
 * device. The request carries a fresh OPAQUE proof of the password (the
 * server refuses a session alone), so the device must be unlocked with the
 * master password. Errors: VAULT_E_NOT_FOUND, VAULT_E_INVALID (revoking
 * oneself), VAULT_E_STATE (unlocked with a device key), VAULT_E_AUTH. */
VAULT_API int vault_client_revoke(vault_client *c, const char *device_id);

/* QR rendering with libqrencode. format: VAULT_QR_TEXT (UTF-8 half blocks
 * for a terminal, NUL-terminated), VAULT_QR_SVG, VAULT_QR_PGM (binary P5
 * image). *out freed with vault_free(). Errors: VAULT_E_INVALID, VAULT_E_LIMIT. */
#define VAULT_QR_TEXT 1u
#define VAULT_QR_SVG 2u
#define VAULT_QR_PGM 3u
VAULT_API int vault_qr_render(const char *text, uint32_t format, uint8_t **out,
                              size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* VAULT_H */

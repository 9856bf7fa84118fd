/*
 * Interop module: import from other password managers' files and export to
 * formats they read (include/vault.h: vault_import, vault_export;
 * docs/interop.md). Private to src/interop.
 *
 * An import runs in two steps. Each format's reader turns the file into
 * candidate items, complete stored items built here (build.c) and checked by
 * the vault module one by one, so a bad row is named by its line; rows that
 * cannot become items are recorded as problems. Then, only if there were no
 * problems, the new candidates are added in one all-or-nothing batch.
 */
#ifndef VAULT_INTEROP_INT_H
#define VAULT_INTEROP_INT_H

#include <cjson/cJSON.h>

#include "common/common.h"

/* ---- an import in progress (build.c) -------------------------------------- */

typedef struct interop_cand {
    cJSON *item; /* a complete stored item */
    long line;   /* where it starts in the file (1-based), or 0 */
    long index;  /* its position among the file's items (1-based), JSON formats */
    int dup;     /* 1: same content (or id) as an item already there */
    char *note;  /* what could not be carried over (attachments...), or NULL */
} interop_cand;

typedef struct interop_import {
    const char *format;
    interop_cand *cands;
    size_t n, cap;
    cJSON *skipped;   /* report entries of rows that are no item (empty rows...) */
    cJSON *problems;  /* [{"line"|"index": n, "message": "..."}] */
    size_t n_problems;
    int committed; /* the new candidates belong to the vault now */
    char first_problem[VAULT_ERRMSG_MAX];
} interop_import;

/* Where a problem or an item is in the file: a line, else an item index. */
typedef struct interop_pos {
    long line;
    long index;
} interop_pos;

/* A new live item of the given type and title with a fresh id and both
 * times now; NULL if out of memory. type must already be a valid type. */
cJSON *vault_interop__item_new(const char *type, const char *title);
/* Sets the item's title / type / created / updated (0 = keep). 0 or -1. */
int vault_interop__set_title(cJSON *item, const char *title);
int vault_interop__set_type(cJSON *item, const char *type);
void vault_interop__set_times(cJSON *item, uint64_t created_ms, uint64_t updated_ms);
/* Appends a field. An empty value is skipped unless keep_empty. A name
 * already used in the item gets " 2", " 3"... appended; an empty name
 * becomes "field". 0, or -1 when out of memory. */
int vault_interop__add_field(cJSON *item, const char *name, const char *value, int hidden,
                             int keep_empty);
/* Appends the hidden field "totp" (unless value is empty), typed "totp"
 * when the library can make codes from it (vault_totp_check), else kept as
 * text. 0 or -1. */
int vault_interop__add_totp(cJSON *item, const char *value);
/* Appends a tag unless empty or already present. 0 or -1. */
int vault_interop__add_tag(cJSON *item, const char *tag);
/* Appends a history entry {"name","value","changed"}. 0 or -1. */
int vault_interop__add_history(cJSON *item, const char *name, const char *value,
                               uint64_t changed_ms);
/* The value of the item's field name, or NULL. */
const char *vault_interop__field(const cJSON *item, const char *name);
/* Whether a field name usually holds a secret (password, PIN, CVV...). */
int vault_interop__secret_name(const char *name);

/* Takes item (also on failure): checks it (vault_vault__check_new) and adds
 * it as a candidate at pos, or records the check's message as a problem at
 * pos. note (copied, may be NULL) tells what was left out. VAULT_OK or
 * VAULT_E_NOMEM. */
int vault_interop__accept(interop_import *s, cJSON *item, interop_pos pos, const char *note);
/* Records a problem at pos: the import will add nothing. VAULT_OK or
 * VAULT_E_NOMEM. The message must not contain a value from the file. */
int vault_interop__problem(interop_import *s, interop_pos pos, const char *fmt, ...)
    VAULT_PRINTF(3, 4);
/* Records a row that is not imported, and why. VAULT_OK or VAULT_E_NOMEM. */
int vault_interop__skip(interop_import *s, interop_pos pos, const char *title,
                        const char *reason);
/* The whole file is not in the format: VAULT_E_FORMAT "line N: ...". */
int vault_interop__wrong(long line, const char *fmt, ...) VAULT_PRINTF(2, 3);

/* ---- text helpers (text.c) -------------------------------------------------- */

/* Milliseconds since the epoch from "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]"
 * (ISO 8601, as KeePass and Bitwarden write it); 0 if not such a time. */
uint64_t vault_interop__parse_time(const char *text);
#define INTEROP_TIME_CHARS 48
/* "YYYY-MM-DDTHH:MM:SSZ" (with ".fff" if millis). */
void vault_interop__format_time(uint64_t ms, int millis, char out[INTEROP_TIME_CHARS]);
/* The 1-based line of byte offset `at` in text. */
long vault_interop__line_at(const char *text, size_t at);
/* The host of a URL ("https://a.example.com:8443/x" → "a.example.com"),
 * copied into out (size out_len); "" if none. */
void vault_interop__url_host(const char *url, char *out, size_t out_len);
/* A lowercase copy of s trimmed of white space, at most out_len-1 bytes. */
void vault_interop__norm(const char *s, char *out, size_t out_len);

/* An output buffer in vault_free()-able memory that grows by moving (the old
 * copy wiped). On failure it is freed and every later call fails. */
typedef struct interop_buf {
    char *p;
    size_t len, cap;
    int failed;
} interop_buf;
void vault_interop__put(interop_buf *b, const char *s, size_t len);
void vault_interop__puts(interop_buf *b, const char *s);
/* Ends the buffer: NUL-terminated in *out (vault_free), or VAULT_E_NOMEM. */
int vault_interop__buf_end(interop_buf *b, uint8_t **out, size_t *out_len);

/* JSON text parsed with the failing line named: VAULT_E_FORMAT "line N:
 * malformed JSON", VAULT_E_NOMEM. */
int vault_interop__json_parse(const uint8_t *data, size_t len, cJSON **out);
/* cJSON printed (unformatted or formatted) into vault_free memory, the
 * intermediate buffer wiped. */
int vault_interop__json_out(const cJSON *json, int formatted, uint8_t **out, size_t *out_len);

/* 1 for an item neither deleted nor in the trash. */
int vault_interop__is_live(const cJSON *item);
/* The live items of v, in stored order (an array of references: delete the
 * array only). NULL if out of memory. */
struct vault;
cJSON *vault_interop__live_items(const struct vault *v);

/* ---- the readers and writers ------------------------------------------------ */

int vault_interop__read_csv(interop_import *s, const char *format, const uint8_t *data,
                            size_t len);
int vault_interop__read_bitwarden(interop_import *s, const uint8_t *data, size_t len);
int vault_interop__read_keepass(interop_import *s, const uint8_t *data, size_t len);
/* The project's own JSON (format "zkvault"), and the encrypted export. */
int vault_interop__read_native(interop_import *s, const uint8_t *data, size_t len);
int vault_interop__read_sealed(interop_import *s, const uint8_t *data, size_t len,
                               const char *password);

int vault_interop__write_csv(const struct vault *v, uint8_t **out, size_t *out_len);
int vault_interop__write_bitwarden(const struct vault *v, uint8_t **out, size_t *out_len);
int vault_interop__write_keepass(const struct vault *v, uint8_t **out, size_t *out_len);
int vault_interop__write_native(const struct vault *v, uint8_t **out, size_t *out_len);
int vault_interop__write_sealed(const struct vault *v, const char *password,
                                uint64_t opslimit, uint64_t memlimit, uint8_t **out,
                                size_t *out_len);

#endif

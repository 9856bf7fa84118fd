/* Helpers shared by the interop tests (every file of tests/interop). */
#ifndef VAULT_TESTS_ITEST_H
#define VAULT_TESTS_ITEST_H

#include <cjson/cJSON.h>

#include "testutil.h"

/* A sample file of tests/vectors/interop (free() it). */
uint8_t *it_sample(const char *name, size_t *len);
/* Imports data into v, asserts the status, and returns the parsed report
 * (NULL when the import failed). */
cJSON *it_import_data(vault *v, const char *format, const uint8_t *data, size_t len,
                      uint32_t flags, int expect);
cJSON *it_import(vault *v, const char *format, const char *sample, int expect);
/* Asserts that the last error message contains needle. */
void it_error_has(const char *needle);
/* The live items of v, parsed. */
cJSON *it_items(const vault *v);
/* The only item of list with this title (asserted). */
const cJSON *it_titled(const cJSON *list, const char *title);
/* A field's value (NULL if absent) and hidden flag (-1 if absent). */
const char *it_field(const cJSON *item, const char *name);
int it_hidden(const cJSON *item, const char *name);
/* A field's "type" ("text" when absent); the field must exist. */
const char *it_field_type(const cJSON *item, const char *name);
int it_has_tag(const cJSON *item, const char *tag);
const char *it_str(const cJSON *obj, const char *key);
double it_num(const cJSON *obj, const char *key);
uint64_t it_count(const vault *v);
/* Asserts that two item lists hold the same items by title: same type (if
 * with_type), same fields (name, value, hidden; any order), same tags (any
 * order) and the same history records (name, value). */
void it_same_items(const cJSON *a, const cJSON *b, int with_type, int with_hidden);

int it_run_import(void);
int it_run_export(void);
int it_run_keepass(void);
int it_run_every(void);

#endif

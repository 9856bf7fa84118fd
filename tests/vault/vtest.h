/* Helpers shared by the vault tests (every file of tests/vault). */
#ifndef VAULT_TESTS_VTEST_H
#define VAULT_TESTS_VTEST_H

#include "testutil.h"

#define T0 1700000000000LL
#define T1 1700000001000LL
#define T2 1700000002000LL

/* A new, empty vault, with the test clock at T0. */
vault *vt_new(void);
/* Adds item_json (must succeed) and returns its id in a static rotation of 8. */
const char *vt_add(vault *v, const char *item_json);
/* The item's JSON (must exist), vault_free() it. */
char *vt_get(const vault *v, const char *id);
/* Asserts that call returned code and that the detail message contains needle. */
void vt_expect(int got, int code, const char *needle);
/* A string of n copies of c (static buffer, n < 200000). */
const char *vt_repeat(char c, size_t n);

int vt_run_items(void);
int vt_run_json(void);
int vt_run_alloc(void);
int vt_run_seal(void);
int vt_run_stream(void);
int vt_run_trash(void);

#endif

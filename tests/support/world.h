/* "A server and N devices": the scene the client-level suites start from
 * (tests/sync, tests/breach, tests/devicelink, ...). Each device has its own
 * store file (so a test can compare its bytes) and talks to the in-process
 * server through its own liar (tests/support/liar.h), honest until a test
 * sets a lie. Every step asserts its VAULT_OK, so a scenario reads as a few
 * calls: tw_new, tw_registered, tw_logged_in / tw_linked, then the test. */
#ifndef VAULT_TEST_WORLD_H
#define VAULT_TEST_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "liar.h"
#include "testutil.h"

#define TW_MAX_DEVICES 8
#define TW_PASSWORD "correct horse battery staple"

/* The server's pepper unless tw_new is given one (tests that open a second
 * server use it too). */
extern const uint8_t tw_pepper[32];

typedef struct tw_device {
    vault_client *c;
    liar lie;       /* the device's transport; lie.server is the world's server */
    char path[768]; /* its store file (the WAL is path + "-wal") */
} tw_device;

typedef struct tw_world {
    vault_server *server;
    char server_path[768]; /* its SQLite file */
    char label[32];
    int direct; /* set before opening devices: connect them with vault_client_connect_local */
    vault_httpd *httpd; /* tw_serve_http: devices opened afterwards connect to url */
    char url[64];
    tw_device *dev[TW_MAX_DEVICES];
    size_t ndev;
    unsigned opened; /* devices opened so far: numbers their files */
} tw_world;

/* A fresh server on a fresh database named after label (files of one test
 * process never clash: each world gets a number), with pepper (32 bytes) or
 * tw_pepper if NULL. */
tw_world *tw_new(const char *label, const uint8_t *pepper);
/* A suite's CMocka state: size zeroed bytes whose first member is the
 * tw_world * this opens (tw_new(label, NULL)). tw_teardown frees both. */
void *tw_state_new(size_t size, const char *label);
int tw_teardown(void **state);

/* Serves the world's server over HTTP on loopback (vault_httpd, a free
 * port): devices opened from now on connect to w->url with
 * vault_client_connect_http. tw_free stops it. */
void tw_serve_http(tw_world *w);

/* Closes every device's client (their store files stay, for reading). */
void tw_close_clients(tw_world *w);
/* Closes every device and the server, resets the liars and the test clock. */
void tw_free(tw_world *w);

/* A device with a fresh, empty store ("<label>-<name>-<n>.db"), connected
 * over HTTP after tw_serve_http, else directly if w->direct, else through
 * its liar. */
tw_device *tw_device_open(tw_world *w, const char *name);
/* A device that created a vault (password, floor KDF) and registered email. */
tw_device *tw_registered(tw_world *w, const char *name, const char *email,
                         const char *password);
/* A device that logged in to email's account on an empty store, given the
 * account's Secret Key first (taken from the world's device that registered
 * email, through its Emergency Kit). */
tw_device *tw_logged_in(tw_world *w, const char *name, const char *email,
                        const char *password);
/* A device linked by QR code from `from` (offer direction, the code checked
 * on both sides), unlocked with local_key and named name. */
tw_device *tw_linked(tw_world *w, const tw_device *from, const char *name,
                     const uint8_t *local_key);
/* The Secret Key (text form) of the world's device registered as email
 * (static buffer); fails the test if none. */
const char *tw_secret_key(tw_world *w, const char *email);
/* The link's short authentication code (6 digits; vault_free it). */
char *tw_sas(vault_link *l);
/* Closes d's client and forgets d before the world ends (a test that opens
 * many short-lived devices). */
void tw_device_close(tw_world *w, tw_device *d);
/* Sets the same lie (mode and arg) on every device's transport. */
void tw_lie_all(tw_world *w, liar_mode mode, size_t arg);

/* ---- items --------------------------------------------------------------- */

vault *tw_vault(vault_client *c);                    /* the unlocked vault */
char *tw_add(vault_client *c, const char *json);      /* its new id (vault_free) */
void tw_add_note(vault_client *c, const char *title); /* {"type":"note","title":...} */
int tw_has_title(vault_client *c, const char *title); /* in the item list */
uint64_t tw_revision(vault_client *c);
uint64_t tw_count(vault_client *c);                   /* live items */

/* ---- "nothing local changed" ---------------------------------------------- */

/* What a device stores: its file and WAL bytes, its vault's JSON (NULL when
 * locked) and its revision. */
typedef struct tw_snapshot {
    uint8_t *db, *wal;
    size_t db_len, wal_len;
    char *json;
    uint64_t revision;
} tw_snapshot;

void tw_snapshot_take(const tw_device *d, tw_snapshot *s);
void tw_snapshot_free(tw_snapshot *s);
/* Compares d now with before, byte for byte, then frees before. */
void tw_assert_untouched(const tw_device *d, tw_snapshot *before);

#endif

#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

const uint8_t tw_pepper[32] = "test-world-pepper-test-world-pep";

tw_world *tw_new(const char *label, const uint8_t *pepper)
{
    static unsigned n;
    char name[64];
    tw_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    snprintf(w->label, sizeof w->label, "%s%u", label, n++);
    snprintf(name, sizeof name, "%s-server.db", w->label);
    snprintf(w->server_path, sizeof w->server_path, "%s", test_path(name));
    unlink(w->server_path);
    assert_int_equal(vault_server_open(&w->server, w->server_path,
                                       pepper != NULL ? pepper : tw_pepper, 32, 0),
                     VAULT_OK);
    return w;
}

void *tw_state_new(size_t size, const char *label)
{
    assert_true(size >= sizeof(tw_world *));
    tw_world **state = calloc(1, size);
    assert_non_null(state);
    *state = tw_new(label, NULL);
    return state;
}

int tw_teardown(void **state)
{
    tw_world **tw = *state;
    tw_free(*tw);
    free(tw);
    return 0;
}

void tw_close_clients(tw_world *w)
{
    for (size_t i = 0; i < w->ndev; i++) {
        vault_client_close(w->dev[i]->c);
        w->dev[i]->c = NULL;
    }
}

void tw_serve_http(tw_world *w)
{
    assert_null(w->httpd);
    assert_int_equal(vault_httpd_start(&w->httpd, w->server, "127.0.0.1", 0, NULL, NULL, 2),
                     VAULT_OK);
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%u", (unsigned)vault_httpd_port(w->httpd));
}

void tw_free(tw_world *w)
{
    tw_close_clients(w);
    vault_httpd_stop(w->httpd);
    for (size_t i = 0; i < w->ndev; i++) {
        liar_reset(&w->dev[i]->lie);
        free(w->dev[i]);
    }
    vault_server_close(w->server);
    vault__set_clock_for_tests(0);
    free(w);
}

tw_device *tw_device_open(tw_world *w, const char *name)
{
    char file[96];
    assert_true(w->ndev < TW_MAX_DEVICES);
    tw_device *d = calloc(1, sizeof *d);
    assert_non_null(d);
    w->dev[w->ndev++] = d;
    snprintf(file, sizeof file, "%s-%s-%u.db", w->label, name, w->opened++);
    snprintf(d->path, sizeof d->path, "%s", test_path(file));
    unlink(d->path);
    d->lie.server = w->server;
    assert_int_equal(vault_client_open(&d->c, d->path, 0), VAULT_OK);
    if (w->url[0] != '\0')
        assert_int_equal(vault_client_connect_http(d->c, w->url, 0), VAULT_OK);
    else if (w->direct)
        assert_int_equal(vault_client_connect_local(d->c, w->server), VAULT_OK);
    else
        assert_int_equal(vault_client_connect_custom(d->c, liar_transport, &d->lie), VAULT_OK);
    return d;
}

tw_device *tw_registered(tw_world *w, const char *name, const char *email,
                         const char *password)
{
    tw_device *d = tw_device_open(w, name);
    assert_int_equal(vault_client_create(d->c, password, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(d->c, email), VAULT_OK);
    return d;
}

const char *tw_secret_key(tw_world *w, const char *email)
{
    static char key[64];
    for (size_t i = 0; i < w->ndev; i++) {
        char *kit = NULL;
        if (w->dev[i]->c == NULL || vault_client_emergency_kit(w->dev[i]->c, &kit) != VAULT_OK)
            continue;
        const char *mail = strstr(kit, "Email:"), *sk = strstr(kit, "Secret Key: ");
        int match = mail != NULL && sk != NULL && strncmp(mail + 12, email, strlen(email)) == 0 &&
                    mail[12 + strlen(email)] == '\n';
        if (match)
            snprintf(key, sizeof key, "%.*s", (int)strcspn(sk + 12, "\n"), sk + 12);
        vault_free(kit);
        if (match)
            return key;
    }
    fail_msg("no device of the world registered %s", email);
    return NULL;
}

tw_device *tw_logged_in(tw_world *w, const char *name, const char *email,
                        const char *password)
{
    const char *sk = tw_secret_key(w, email);
    tw_device *d = tw_device_open(w, name);
    assert_int_equal(vault_client_set_secret_key(d->c, sk), VAULT_OK);
    assert_int_equal(vault_client_login(d->c, email, password), VAULT_OK);
    return d;
}

char *tw_sas(vault_link *l)
{
    char *sas = NULL;
    assert_int_equal(vault_link_sas(l, &sas), VAULT_OK);
    assert_int_equal(strlen(sas), 6);
    return sas;
}

tw_device *tw_linked(tw_world *w, const tw_device *from, const char *name,
                     const uint8_t *local_key)
{
    tw_device *d = tw_device_open(w, name);
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    assert_int_equal(vault_link_offer(&offer, from->c), VAULT_OK);
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_E_PENDING);
    assert_int_equal(vault_link_join(&join, d->c, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *sas_a = tw_sas(offer), *sas_b = tw_sas(join);
    assert_string_equal(sas_a, sas_b);
    /* each side is given the digits the user read on the other screen */
    assert_int_equal(vault_link_complete_sas(join, local_key, sas_a), VAULT_E_PENDING);
    assert_int_equal(vault_link_confirm_sas(offer, name, sas_b), VAULT_OK);
    assert_int_equal(vault_link_complete_sas(join, local_key, sas_a), VAULT_OK);
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return d;
}

void tw_device_close(tw_world *w, tw_device *d)
{
    size_t i = 0;
    while (i < w->ndev && w->dev[i] != d)
        i++;
    assert_true(i < w->ndev);
    vault_client_close(d->c);
    liar_reset(&d->lie);
    free(d);
    w->dev[i] = w->dev[--w->ndev];
}

void tw_lie_all(tw_world *w, liar_mode mode, size_t arg)
{
    for (size_t i = 0; i < w->ndev; i++) {
        w->dev[i]->lie.mode = mode;
        w->dev[i]->lie.arg = arg;
    }
}

vault *tw_vault(vault_client *c)
{
    vault *v = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    return v;
}

char *tw_add(vault_client *c, const char *json)
{
    char *id = NULL;
    assert_int_equal(vault_item_add(tw_vault(c), json, &id), VAULT_OK);
    return id;
}

void tw_add_note(vault_client *c, const char *title)
{
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"note\",\"title\":\"%s\"}", title);
    assert_int_equal(vault_item_add(tw_vault(c), json, NULL), VAULT_OK);
}

int tw_has_title(vault_client *c, const char *title)
{
    char *list = NULL;
    assert_int_equal(vault_item_list(tw_vault(c), 0, &list), VAULT_OK);
    int found = strstr(list, title) != NULL;
    vault_free(list);
    return found;
}

uint64_t tw_revision(vault_client *c)
{
    uint64_t r = 0;
    assert_int_equal(vault_client_revision(c, &r), VAULT_OK);
    return r;
}

uint64_t tw_count(vault_client *c)
{
    uint64_t n = 0;
    assert_int_equal(vault_item_count(tw_vault(c), &n), VAULT_OK);
    return n;
}

void tw_snapshot_take(const tw_device *d, tw_snapshot *s)
{
    char wal[800];
    vault *v = NULL;
    memset(s, 0, sizeof *s);
    s->db = test_read_file(d->path, &s->db_len);
    assert_non_null(s->db);
    snprintf(wal, sizeof wal, "%s-wal", d->path);
    s->wal = test_read_file(wal, &s->wal_len);
    if (vault_client_vault(d->c, &v) == VAULT_OK)
        assert_int_equal(vault_to_json(v, &s->json), VAULT_OK);
    assert_int_equal(vault_client_revision(d->c, &s->revision), VAULT_OK);
}

void tw_snapshot_free(tw_snapshot *s)
{
    free(s->db);
    free(s->wal);
    vault_free(s->json);
    memset(s, 0, sizeof *s);
}

static void assert_same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    assert_int_equal(alen, blen);
    if (alen > 0)
        assert_memory_equal(a, b, alen);
}

void tw_assert_untouched(const tw_device *d, tw_snapshot *before)
{
    tw_snapshot after;
    tw_snapshot_take(d, &after);
    assert_same_bytes(before->db, before->db_len, after.db, after.db_len);
    assert_int_equal(before->wal != NULL, after.wal != NULL);
    assert_same_bytes(before->wal, before->wal_len, after.wal, after.wal_len);
    assert_int_equal(before->json != NULL, after.json != NULL);
    if (before->json != NULL)
        assert_string_equal(before->json, after.json);
    assert_int_equal(before->revision, after.revision);
    tw_snapshot_free(before);
    tw_snapshot_free(&after);
}

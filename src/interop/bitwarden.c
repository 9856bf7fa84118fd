/*
 * Bitwarden's unencrypted JSON export, both ways.
 *
 *   {"encrypted":false,"folders":[{"id","name"}],
 *    "items":[{"type":1,"name","notes","favorite","folderId","fields":[{"name","value","type"}],
 *              "login":{"username","password","totp","uris":[{"uri"}]},
 *              "card":{...},"identity":{...},"sshKey":{...},
 *              "passwordHistory":[{"lastUsedDate","password"}],
 *              "creationDate","revisionDate","deletedDate"}]}
 *
 * Types: 1 login, 2 secure note, 3 card, 4 identity, 5 SSH key. Custom field
 * types: 0 text, 1 hidden, 2 boolean, 3 linked (a pointer to another field:
 * nothing to copy). The members of card, identity and sshKey become fields
 * under their Bitwarden names, so an export writes them back.
 */
#include <stdio.h>
#include <string.h>

#include "interop/interop_int.h"

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

/* Members of card / identity / sshKey that hold a secret. */
static int bw_secret(const char *key)
{
    static const char *const secret[] = {"number", "code", "ssn", "passportNumber",
                                         "licenseNumber", "privateKey"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcmp(key, secret[i]) == 0)
            return 1;
    return 0;
}

static const char *const type_names[] = {NULL, "login", "note", "card", "identity", "ssh-key"};
static const char *const sub_objects[] = {NULL, "login", "secureNote", "card", "identity",
                                          "sshKey"};

static int add_login(cJSON *item, const cJSON *login)
{
    if (vault_interop__add_field(item, "username", str(login, "username"), 0, 0) != 0 ||
        vault_interop__add_field(item, "password", str(login, "password"), 1, 0) != 0)
        return -1;
    const cJSON *u;
    int k = 0;
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(login, "uris")) {
        if (vault_interop__add_field(item, k++ == 0 ? "url" : "url 2", str(u, "uri"), 0, 0) != 0)
            return -1;
    }
    return vault_interop__add_totp(item, str(login, "totp"));
}

static int add_members(cJSON *item, const cJSON *obj)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
        if (cJSON_IsString(m) &&
            vault_interop__add_field(item, m->string, m->valuestring, bw_secret(m->string), 0) != 0)
            return -1;
    return 0;
}

static int add_custom(cJSON *item, const cJSON *fields)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, fields) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
        int type = cJSON_IsNumber(t) ? t->valueint : 0;
        if (type == 3)
            continue;
        const char *value = str(f, "value");
        if (vault_interop__add_field(item, str(f, "name"), value != NULL ? value : "", type == 1,
                                     1) != 0)
            return -1;
    }
    return 0;
}

static const char *folder_name(const cJSON *folders, const char *id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, folders) {
        const char *fid = str(f, "id");
        if (id != NULL && fid != NULL && strcmp(fid, id) == 0)
            return str(f, "name");
    }
    return NULL;
}

static int add_history(cJSON *item, const cJSON *hist)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, hist) {
        const char *pw = str(h, "password");
        if (pw != NULL &&
            vault_interop__add_history(item, "password", pw,
                                       vault_interop__parse_time(str(h, "lastUsedDate"))) != 0)
            return -1;
    }
    return 0;
}

static int read_item(interop_import *s, const cJSON *folders, const cJSON *it, long index)
{
    interop_pos pos = {0, index};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
    const char *name = str(it, "name");
    if (!cJSON_IsObject(it) || !cJSON_IsNumber(t) || t->valueint < 1 || t->valueint > 5)
        return vault_interop__problem(s, pos, "not a Bitwarden item (\"type\" 1..5 missing)");
    if (str(it, "deletedDate") != NULL)
        return vault_interop__skip(s, pos, name, "in the trash");
    int type = t->valueint;
    cJSON *item = vault_interop__item_new(type_names[type], name != NULL ? name : "");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(it, sub_objects[type]);
    int bad = item == NULL;
    if (!bad && type == 1)
        bad = add_login(item, sub) != 0;
    else if (!bad && type >= 3)
        bad = add_members(item, sub) != 0;
    const cJSON *c;
    bad = bad || vault_interop__add_field(item, "note", str(it, "notes"), 0, 0) != 0 ||
          add_custom(item, cJSON_GetObjectItemCaseSensitive(it, "fields")) != 0 ||
          vault_interop__add_tag(item, folder_name(folders, str(it, "folderId"))) != 0 ||
          (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "favorite")) &&
           vault_interop__add_tag(item, "favorite") != 0) ||
          add_history(item, cJSON_GetObjectItemCaseSensitive(it, "passwordHistory")) != 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(it, "collectionNames"))
        bad = bad || (cJSON_IsString(c) && vault_interop__add_tag(item, c->valuestring) != 0);
    if (bad) {
        cJSON_Delete(item);
        return vault__fail(VAULT_E_NOMEM, "out of memory importing an item");
    }
    vault_interop__set_times(item, vault_interop__parse_time(str(it, "creationDate")),
                             vault_interop__parse_time(str(it, "revisionDate")));
    return vault_interop__accept(s, item, pos, NULL);
}

int vault_interop__read_bitwarden(interop_import *s, const uint8_t *data, size_t len)
{
    cJSON *root = NULL;
    int rc = vault_interop__json_parse(data, len, &root);
    if (rc != VAULT_OK)
        return rc;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "encrypted")))
        rc = vault_interop__wrong(1, "an encrypted Bitwarden export: export it unencrypted");
    else if (!cJSON_IsObject(root) || !cJSON_IsArray(items))
        rc = vault_interop__wrong(1, "not a Bitwarden JSON export: no \"items\" array");
    long index = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        if (rc != VAULT_OK)
            break;
        rc = read_item(s, cJSON_GetObjectItemCaseSensitive(root, "folders"), it, ++index);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- export --------------------------------------------------------------------- */

/* Bitwarden ids are UUIDs: ours are 32 hex digits, so they fit. */
static void uuid_of(const char *hex, char out[37])
{
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int bw_type(const char *type)
{
    for (int i = 1; i <= 5; i++)
        if (strcmp(type, type_names[i]) == 0)
            return i;
    return 2; /* an app's own type: a secure note with its fields */
}

static int is_login_field(const char *n)
{
    return strcmp(n, "username") == 0 || strcmp(n, "password") == 0 || strcmp(n, "totp") == 0 ||
           strncmp(n, "url", 3) == 0;
}

/* A folder per first tag ("favorite" is Bitwarden's own flag). */
static const char *folder_of(const cJSON *item)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(item, "tags"))
        if (strcmp(t->valuestring, "favorite") != 0)
            return t->valuestring;
    return NULL;
}

static int has_tag(const cJSON *item, const char *tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(item, "tags"))
        if (strcmp(t->valuestring, tag) == 0)
            return 1;
    return 0;
}

/* Appends a finished child, or deletes it when there is no array (out of
 * memory): never touch child afterwards. */
static void append(cJSON *array, cJSON *child)
{
    if (!cJSON_AddItemToArray(array, child))
        cJSON_Delete(child);
}

static cJSON *write_login(const cJSON *item)
{
    cJSON *login = cJSON_CreateObject(), *uris = cJSON_AddArrayToObject(login, "uris");
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        const char *n = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *v = cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
        if (strncmp(n, "url", 3) == 0) {
            cJSON *u = cJSON_CreateObject();
            cJSON_AddNullToObject(u, "match");
            cJSON_AddStringToObject(u, "uri", v);
            append(uris, u);
        } else if (strcmp(n, "username") == 0 || strcmp(n, "password") == 0 ||
                   strcmp(n, "totp") == 0) {
            cJSON_AddStringToObject(login, n, v);
        }
    }
    return login;
}

/* Builds the item; a NULL anywhere (out of memory) is found by the caller's
 * final check of the whole tree's construction. */
static int write_item(cJSON *out, cJSON *folders, const cJSON *item)
{
    const char *id = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
    int type = bw_type(cJSON_GetObjectItemCaseSensitive(item, "type")->valuestring);
    char uuid[37], when[INTEROP_TIME_CHARS];
    uuid_of(id, uuid);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToArray(out, o))
        return -1;
    cJSON_AddStringToObject(o, "id", uuid);
    cJSON_AddNullToObject(o, "organizationId");
    const char *folder = folder_of(item);
    if (folder != NULL) {
        const cJSON *f, *found = NULL;
        cJSON_ArrayForEach(f, folders)
            if (str(f, "name") != NULL && strcmp(str(f, "name"), folder) == 0)
                found = f;
        if (found == NULL) {
            char fid[37];
            snprintf(fid, sizeof fid, "00000000-0000-4000-8000-%012d",
                     cJSON_GetArraySize(folders) + 1);
            cJSON *fo = cJSON_CreateObject();
            if (fo == NULL || !cJSON_AddItemToArray(folders, fo))
                return -1;
            cJSON_AddStringToObject(fo, "id", fid);
            cJSON_AddStringToObject(fo, "name", folder);
            found = fo;
        }
        cJSON_AddStringToObject(o, "folderId", str(found, "id"));
    } else {
        cJSON_AddNullToObject(o, "folderId");
    }
    cJSON_AddNumberToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "reprompt", 0);
    cJSON_AddStringToObject(o, "name", cJSON_GetObjectItemCaseSensitive(item, "title")->valuestring);
    const char *note = vault_interop__field(item, "note");
    note != NULL ? (void)cJSON_AddStringToObject(o, "notes", note)
                 : (void)cJSON_AddNullToObject(o, "notes");
    cJSON_AddBoolToObject(o, "favorite", has_tag(item, "favorite"));
    cJSON *custom = cJSON_AddArrayToObject(o, "fields");
    cJSON *sub = type == 1 ? write_login(item) : cJSON_CreateObject();
    if (type == 2)
        cJSON_AddNumberToObject(sub, "type", 0);
    if (!cJSON_AddItemToObjectCS(o, sub_objects[type], sub))
        cJSON_Delete(sub);
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        const char *n = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *v = cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
        int hidden = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden"));
        if (strcmp(n, "note") == 0 || (type == 1 && is_login_field(n)))
            continue;
        if (type >= 3) {
            cJSON_AddStringToObject(sub, n, v);
            continue;
        }
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", n);
        cJSON_AddStringToObject(c, "value", v);
        cJSON_AddNumberToObject(c, "type", hidden ? 1 : 0);
        cJSON_AddNullToObject(c, "linkedId");
        append(custom, c);
    }
    cJSON *hist = cJSON_AddArrayToObject(o, "passwordHistory");
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "history")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring, "password") != 0)
            continue;
        cJSON *h = cJSON_CreateObject();
        vault_interop__format_time(
            (uint64_t)cJSON_GetObjectItemCaseSensitive(f, "changed")->valuedouble, 1, when);
        cJSON_AddStringToObject(h, "lastUsedDate", when);
        cJSON_AddStringToObject(h, "password",
                                cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring);
        append(hist, h);
    }
    cJSON_AddNullToObject(o, "collectionIds");
    vault_interop__format_time((uint64_t)cJSON_GetObjectItemCaseSensitive(item, "created")->valuedouble,
                               1, when);
    cJSON_AddStringToObject(o, "creationDate", when);
    vault_interop__format_time((uint64_t)cJSON_GetObjectItemCaseSensitive(item, "updated")->valuedouble,
                               1, when);
    cJSON_AddStringToObject(o, "revisionDate", when);
    return 0;
}

/* The tree is built without checking each cJSON_Add*: an allocation that
 * failed on the way is caught by the allocator's failure count. */
int vault_interop__write_bitwarden(const vault *v, uint8_t **out, size_t *out_len)
{
    cJSON *items = vault_interop__live_items(v);
    cJSON *root = cJSON_CreateObject(), *folders = cJSON_CreateArray(), *list = cJSON_CreateArray();
    uint64_t failures = vault__alloc_failures();
    int bad = items == NULL || root == NULL || folders == NULL || list == NULL;
    const cJSON *it;
    if (!bad)
        cJSON_ArrayForEach(it, items)
            bad |= write_item(list, folders, it) != 0;
    if (!bad) {
        cJSON_AddFalseToObject(root, "encrypted");
        cJSON_AddItemToObjectCS(root, "folders", folders);
        cJSON_AddItemToObjectCS(root, "items", list);
        folders = list = NULL;
    }
    int rc = bad || vault__alloc_failures() != failures
                 ? vault__fail(VAULT_E_NOMEM, "out of memory writing the export")
                 : vault_interop__json_out(root, 1, out, out_len);
    cJSON_Delete(items);
    cJSON_Delete(root);
    cJSON_Delete(folders);
    cJSON_Delete(list);
    return rc;
}

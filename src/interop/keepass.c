/*
 * KeePass 2 XML, both ways: what `keepassxc-cli export -f xml` writes and
 * `keepassxc-cli import` reads.
 *
 *   <KeePassFile><Meta>..<RecycleBinUUID>..</Meta>
 *    <Root><Group><Name>..</Name>
 *      <Entry><UUID/><Tags>a;b</Tags><Times><CreationTime/><LastModificationTime/></Times>
 *        <String><Key>Title</Key><Value ProtectInMemory="True">..</Value></String>..
 *        <Binary/>..<History><Entry>..</Entry></History></Entry>
 *      <Group>..</Group></Group></Root></KeePassFile>
 *
 * Reading: the top group is the database itself; the names of the groups
 * below it make one tag ("Work/Email"); entries of the recycle bin are
 * skipped. The standard strings map to title/username/password/url/note,
 * "otp" (and KeePassXC's older "TOTP Seed" + "TOTP Settings") to a hidden
 * "totp" field, any other string to a field of its name, hidden when it is
 * protected. Each history entry whose value of a field differs from the
 * entry's gives that field a history record dated by the history entry.
 * libxml2 parses without network access and without expanding entities, and
 * a document type declaration is refused.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>

#include "interop/interop_int.h"

static int named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
        if (named(c, name))
            return c;
    return NULL;
}

/* The text of an element (its first text child), "" if empty, NULL if the
 * element is absent. Borrowed from the document. */
static const char *text_of(const xmlNode *n)
{
    if (n == NULL)
        return NULL;
    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL)
            return (const char *)c->content;
    return "";
}

/* Times: ISO 8601 in XML exports; KDBX 4 writes base64 of little-endian
 * seconds since 0001-01-01. */
static uint64_t kp_time(const xmlNode *times, const char *name)
{
    const char *t = text_of(child(times, name));
    if (t == NULL)
        return 0;
    uint64_t ms = vault_interop__parse_time(t);
    uint8_t raw[8];
    size_t n = 0;
    if (ms == 0 && sodium_base642bin(raw, sizeof raw, t, strlen(t), NULL, &n, NULL,
                                     sodium_base64_VARIANT_ORIGINAL) == 0 && n == 8) {
        uint64_t s = 0;
        for (int i = 7; i >= 0; i--)
            s = (s << 8) | raw[i];
        ms = s > 62135596800u ? (s - 62135596800u) * 1000u : 0;
    }
    return ms;
}

typedef struct kp_string {
    const char *key, *value;
    int protect;
} kp_string;

static const char *const std_keys[][2] = {
    {"Title", NULL}, {"UserName", "username"}, {"Password", "password"},
    {"URL", "url"},  {"Notes", "note"},        {"otp", "totp"}};

/* Our field name for a KeePass string key: a standard one, or the key. */
static const char *field_name(const char *key, int *standard)
{
    *standard = 0;
    for (size_t i = 1; i < sizeof std_keys / sizeof std_keys[0]; i++)
        if (strcmp(key, std_keys[i][0]) == 0) {
            *standard = 1;
            return std_keys[i][1];
        }
    return key;
}

static kp_string string_of(const xmlNode *s)
{
    const xmlNode *v = child(s, "Value");
    xmlChar *prot = v != NULL ? xmlGetProp(v, (const xmlChar *)"ProtectInMemory") : NULL;
    kp_string r = {text_of(child(s, "Key")), text_of(v), 0};
    r.protect = prot != NULL && strcmp((const char *)prot, "True") == 0;
    xmlFree(prot);
    return r;
}

static const char *entry_value(const xmlNode *entry, const char *key)
{
    for (const xmlNode *c = entry->children; c != NULL; c = c->next) {
        if (!named(c, "String"))
            continue;
        const char *k = text_of(child(c, "Key"));
        if (k != NULL && strcmp(k, key) == 0)
            return text_of(child(c, "Value"));
    }
    return NULL;
}

/* KeePassXC before 2.7 kept TOTP as "TOTP Seed" + "TOTP Settings"
 * ("period;digits"): made into the otpauth URI of today's "otp". */
static int legacy_totp(cJSON *item, const xmlNode *entry)
{
    const char *seed = entry_value(entry, "TOTP Seed");
    if (seed == NULL || seed[0] == '\0' || entry_value(entry, "otp") != NULL)
        return 0;
    const char *set = entry_value(entry, "TOTP Settings");
    unsigned period = 30, digits = 6;
    if (set != NULL)
        sscanf(set, "%u;%u", &period, &digits);
    char uri[1024];
    snprintf(uri, sizeof uri, "otpauth://totp/?secret=%s&period=%u&digits=%u", seed, period,
             digits);
    return vault_interop__add_totp(item, uri);
}

static int add_strings(cJSON *item, const xmlNode *entry)
{
    for (const xmlNode *c = entry->children; c != NULL; c = c->next) {
        if (!named(c, "String"))
            continue;
        kp_string s = string_of(c);
        int standard;
        if (s.key == NULL || s.value == NULL || strcmp(s.key, "Title") == 0 ||
            strcmp(s.key, "TOTP Seed") == 0 || strcmp(s.key, "TOTP Settings") == 0)
            continue;
        const char *name = field_name(s.key, &standard);
        int hidden = s.protect || strcmp(name, "password") == 0;
        if (strcmp(name, "totp") == 0 ? vault_interop__add_totp(item, s.value) != 0
                                      : vault_interop__add_field(item, name, s.value, hidden,
                                                                 !standard) != 0)
            return -1;
    }
    return legacy_totp(item, entry);
}

static int history_has(const cJSON *item, const char *name, const char *value)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(item, "history"))
        if (strcmp(cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, name) == 0 &&
            strcmp(cJSON_GetObjectItemCaseSensitive(h, "value")->valuestring, value) == 0)
            return 1;
    return 0;
}

/* History: each older version's values that differ from the entry's own
 * (once per value). */
static int add_history(cJSON *item, const xmlNode *entry)
{
    for (const xmlNode *h = child(child(entry, "History"), "Entry"); h != NULL; h = h->next) {
        if (!named(h, "Entry"))
            continue;
        uint64_t when = kp_time(child(h, "Times"), "LastModificationTime");
        for (const xmlNode *c = h->children; c != NULL; c = c->next) {
            if (!named(c, "String"))
                continue;
            kp_string s = string_of(c);
            int standard;
            if (s.key == NULL || s.value == NULL || s.value[0] == '\0' ||
                strcmp(s.key, "Title") == 0)
                continue;
            const char *name = field_name(s.key, &standard);
            const char *now = vault_interop__field(item, name);
            if ((now == NULL || strcmp(now, s.value) != 0) &&
                !history_has(item, name, s.value) &&
                vault_interop__add_history(item, name, s.value, when) != 0)
                return -1;
        }
    }
    return 0;
}

static int add_tags(cJSON *item, const char *group, const char *tags)
{
    if (vault_interop__add_tag(item, group) != 0)
        return -1;
    char tag[129];
    for (const char *p = tags != NULL ? tags : ""; *p != '\0';) {
        size_t n = strcspn(p, ";,");
        size_t k = n < sizeof tag - 1 ? n : sizeof tag - 1;
        memcpy(tag, p, k);
        tag[k] = '\0';
        if (vault_interop__add_tag(item, tag) != 0)
            return -1;
        p += n + (p[n] != '\0');
    }
    return 0;
}

static int read_entry(interop_import *s, const xmlNode *e, const char *group)
{
    interop_pos pos = {(long)xmlGetLineNo(e), 0};
    const char *title = entry_value(e, "Title");
    cJSON *item = vault_interop__item_new("login", title != NULL ? title : "");
    int attachments = 0;
    for (const xmlNode *c = e->children; c != NULL; c = c->next)
        attachments += named(c, "Binary");
    if (item == NULL || add_strings(item, e) != 0 || add_history(item, e) != 0 ||
        add_tags(item, group, text_of(child(e, "Tags"))) != 0) {
        cJSON_Delete(item);
        return vault__fail(VAULT_E_NOMEM, "out of memory importing an entry");
    }
    if (vault_interop__field(item, "username") == NULL &&
        vault_interop__field(item, "password") == NULL && vault_interop__field(item, "url") == NULL &&
        vault_interop__set_type(item, "note") != 0) {
        cJSON_Delete(item);
        return vault__fail(VAULT_E_NOMEM, "out of memory importing an entry");
    }
    const xmlNode *times = child(e, "Times");
    vault_interop__set_times(item, kp_time(times, "CreationTime"),
                             kp_time(times, "LastModificationTime"));
    char note[64];
    snprintf(note, sizeof note, "%d attachment%s not imported", attachments,
             attachments == 1 ? "" : "s");
    return vault_interop__accept(s, item, pos, attachments > 0 ? note : NULL);
}

#define KP_PATH_MAX 1024u
#define KP_DEPTH_MAX 64

static int read_group(interop_import *s, const xmlNode *g, char *path, size_t path_len,
                      const char *bin, int depth)
{
    if (depth > KP_DEPTH_MAX)
        return vault_interop__wrong((long)xmlGetLineNo(g), "groups nested too deeply");
    const char *uuid = text_of(child(g, "UUID"));
    int in_bin = bin != NULL && uuid != NULL && strcmp(uuid, bin) == 0;
    int rc = VAULT_OK;
    for (const xmlNode *c = g->children; c != NULL && rc == VAULT_OK; c = c->next) {
        if (named(c, "Entry") && in_bin) {
            rc = vault_interop__skip(s, (interop_pos){(long)xmlGetLineNo(c), 0},
                                     entry_value(c, "Title"), "in the recycle bin");
        } else if (named(c, "Entry")) {
            rc = read_entry(s, c, path);
        } else if (named(c, "Group")) {
            const char *name = text_of(child(c, "Name"));
            size_t len = path_len;
            int n = snprintf(path + len, KP_PATH_MAX - len, "%s%s", len > 0 ? "/" : "",
                             name != NULL ? name : "");
            if (n < 0 || (size_t)n >= KP_PATH_MAX - len)
                return vault_interop__wrong((long)xmlGetLineNo(c), "group path too long");
            rc = read_group(s, c, path, len + (size_t)n, in_bin ? uuid : bin, depth + 1);
            path[len] = '\0';
        }
    }
    return rc;
}

int vault_interop__read_keepass(interop_import *s, const uint8_t *data, size_t len)
{
    if (len > INT32_MAX)
        return vault__fail(VAULT_E_LIMIT, "the file is too large");
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (ctx == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory parsing XML");
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, (const char *)data, (int)len, NULL, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int rc = VAULT_OK;
    if (doc == NULL) {
        const xmlError *err = xmlCtxtGetLastError(ctx);
        rc = vault_interop__wrong(err != NULL ? err->line : 1, "malformed XML");
    } else if (doc->intSubset != NULL) {
        rc = vault_interop__wrong(1, "a document type declaration is not allowed");
    }
    const xmlNode *top = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    const xmlNode *root = child(top, "Root");
    if (rc == VAULT_OK && (top == NULL || !named(top, "KeePassFile") || root == NULL))
        rc = vault_interop__wrong(top != NULL ? (long)xmlGetLineNo(top) : 1,
                                  "not a KeePass 2 XML file: no <KeePassFile><Root>");
    if (rc == VAULT_OK) {
        const xmlNode *meta = child(top, "Meta");
        const char *enabled = text_of(child(meta, "RecycleBinEnabled"));
        const char *bin = enabled == NULL || strcmp(enabled, "True") == 0
                              ? text_of(child(meta, "RecycleBinUUID")) : NULL;
        char path[KP_PATH_MAX] = "";
        for (const xmlNode *g = child(root, "Group"); g != NULL && rc == VAULT_OK; g = g->next)
            if (named(g, "Group"))
                rc = read_group(s, g, path, 0, bin, 0);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctx);
    return rc;
}

/* ---- export --------------------------------------------------------------------- */

/* XML 1.0 cannot hold most control characters: refused rather than lost.
 * A carriage return is written as a reference (parsers turn a raw one into a
 * line feed). */
static int put_text(interop_buf *b, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        const char *ref = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                        : c == '"' ? "&quot;" : c == '\r' ? "&#13;" : NULL;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return -1;
        if (ref != NULL)
            vault_interop__puts(b, ref);
        else
            vault_interop__put(b, p, 1);
    }
    return 0;
}

static const char *kp_key(const char *name)
{
    for (size_t i = 1; i < sizeof std_keys / sizeof std_keys[0]; i++)
        if (strcmp(name, std_keys[i][1]) == 0)
            return std_keys[i][0];
    return name;
}

static int put_string(interop_buf *b, const char *key, const char *value, int protect)
{
    vault_interop__puts(b, "<String><Key>");
    int rc = put_text(b, key);
    vault_interop__puts(b, protect ? "</Key><Value ProtectInMemory=\"True\">" : "</Key><Value>");
    rc |= put_text(b, value);
    vault_interop__puts(b, "</Value></String>\n");
    return rc;
}

static void put_uuid(interop_buf *b, const char *hex)
{
    uint8_t raw[16];
    char b64[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];
    vault__hex2bin(raw, sizeof raw, hex);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    vault_interop__puts(b, "<UUID>");
    vault_interop__puts(b, b64);
    vault_interop__puts(b, "</UUID>");
}

static void put_times(interop_buf *b, uint64_t created, uint64_t modified)
{
    char t[INTEROP_TIME_CHARS];
    vault_interop__puts(b, "<Times><CreationTime>");
    vault_interop__format_time(created, 0, t);
    vault_interop__puts(b, t);
    vault_interop__puts(b, "</CreationTime><LastModificationTime>");
    vault_interop__format_time(modified, 0, t);
    vault_interop__puts(b, t);
    vault_interop__puts(b, "</LastModificationTime></Times>\n");
}

static uint64_t num(const cJSON *o, const char *key)
{
    return (uint64_t)cJSON_GetObjectItemCaseSensitive(o, key)->valuedouble;
}

/* The entry's strings; with `old` (a history record) its field replaced by
 * the old value, which is how a KeePass history entry holds it. */
static int put_strings(interop_buf *b, const cJSON *item, const cJSON *old)
{
    const char *old_name = old != NULL ? cJSON_GetObjectItemCaseSensitive(old, "name")->valuestring
                                       : NULL;
    int rc = put_string(b, "Title", cJSON_GetObjectItemCaseSensitive(item, "title")->valuestring, 0);
    int replaced = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        const char *n = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *v = cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
        if (old_name != NULL && strcmp(n, old_name) == 0) {
            v = cJSON_GetObjectItemCaseSensitive(old, "value")->valuestring;
            replaced = 1;
        }
        rc |= put_string(b, kp_key(n), v, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")));
    }
    if (old_name != NULL && !replaced)
        rc |= put_string(b, kp_key(old_name),
                         cJSON_GetObjectItemCaseSensitive(old, "value")->valuestring, 1);
    return rc;
}

static void put_tags(interop_buf *b, const cJSON *item)
{
    vault_interop__puts(b, "<Tags>");
    const cJSON *t;
    int first = 1;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(item, "tags")) {
        if (!first)
            vault_interop__puts(b, ";");
        first = 0;
        put_text(b, t->valuestring);
    }
    vault_interop__puts(b, "</Tags>\n");
}

static int put_entry(interop_buf *b, const cJSON *item)
{
    const char *id = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
    vault_interop__puts(b, "<Entry>");
    put_uuid(b, id);
    put_tags(b, item);
    put_times(b, num(item, "created"), num(item, "updated"));
    int rc = put_strings(b, item, NULL);
    vault_interop__puts(b, "<History>\n");
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(item, "history")) {
        vault_interop__puts(b, "<Entry>");
        put_uuid(b, id);
        put_times(b, num(item, "created"), num(h, "changed"));
        rc |= put_strings(b, item, h);
        vault_interop__puts(b, "</Entry>\n");
    }
    vault_interop__puts(b, "</History></Entry>\n");
    return rc;
}

int vault_interop__write_keepass(const vault *v, uint8_t **out, size_t *out_len)
{
    cJSON *items = vault_interop__live_items(v);
    if (items == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory writing the export");
    interop_buf b = {0};
    uint8_t group[16];
    char group_hex[33];
    randombytes_buf(group, sizeof group);
    vault__bin2hex(group_hex, group, sizeof group);
    vault_interop__puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                            "<KeePassFile>\n<Meta><Generator>zkvault</Generator>"
                            "<RecycleBinEnabled>False</RecycleBinEnabled></Meta>\n"
                            "<Root><Group>");
    put_uuid(&b, group_hex);
    vault_interop__puts(&b, "<Name>zkvault</Name>\n");
    int rc = VAULT_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
        if (rc == VAULT_OK && put_entry(&b, it) != 0)
            rc = vault__fail(VAULT_E_INVALID,
                             "item %s holds a control character that XML cannot carry",
                             cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
    vault_interop__puts(&b, "</Group></Root>\n</KeePassFile>\n");
    cJSON_Delete(items);
    if (rc != VAULT_OK) {
        vault_free(b.p);
        return rc;
    }
    return vault_interop__buf_end(&b, out, out_len);
}

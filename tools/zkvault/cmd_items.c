/*
 * Item commands: add, get, list, search, edit, rm, history, export, import.
 * Each unlocks the vault, works on the library's item JSON, and saves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "items.h"

#define MAX_EDIT_OPS 256
#define ITEM_JSON_MAX (16u * 1024u * 1024u)

enum edit_kind { SET_FIELD, SECRET_FIELD, GEN_FIELD, RM_FIELD, ADD_TAG, RM_TAG };

/* The changes an add or edit command line asks for, applied in order. */
typedef struct edit_spec {
    struct {
        enum edit_kind kind;
        const char *arg;
    } ops[MAX_EDIT_OPS];
    size_t n_ops;
    const char *title, *type;
    int from_json;
    uint32_t gen_classes;
    size_t gen_length, gen_words;
} edit_spec;

enum {
    OPT_URL = OPT_CMD, OPT_NOTE, OPT_TAG, OPT_UNTAG, OPT_RM_FIELD, OPT_LENGTH, OPT_CLASSES,
    OPT_WORDS, OPT_JSON, OPT_TITLE, OPT_SHOW, OPT_FIELD_ONLY, OPT_DELETED, OPT_FLAG
};

/* Parses the options of a command whose only option is the flag --name
 * (--json, --show, --replace), which sets *flag. Returns CLI_EXIT_OK, or
 * OPT_HELP after the help or CLI_EXIT_USAGE after a bad option (for
 * CLI_OPT_RETURN). */
static int parse_flag(cli *c, int argc, char **argv, const char *help, const char *name,
                      int *flag)
{
    const struct option opts[] = {{name, no_argument, NULL, OPT_FLAG}, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, help)) != OPT_END) {
        if (opt != OPT_FLAG)
            return opt == OPT_HELP ? OPT_HELP : CLI_EXIT_USAGE;
        *flag = 1;
    }
    return CLI_EXIT_OK;
}

/* Unlocks the local vault. */
static int open_vault(cli *c, vault **v)
{
    int rc = cli_unlock(c);
    return rc == CLI_EXIT_OK ? cli_vault(c, v) : rc;
}

/* Unlocks the local vault and finds the item ref names in it (id, unique id
 * prefix or title); *id is released with free(). */
static int open_item(cli *c, const char *ref, vault **v, char **id)
{
    int rc = open_vault(c, v);
    return rc == CLI_EXIT_OK ? cli_resolve_item(c, *v, ref, id) : rc;
}

static const struct option edit_options[] = {
    {"title", required_argument, NULL, OPT_TITLE},
    {"type", required_argument, NULL, 't'},
    {"field", required_argument, NULL, 'f'},
    {"secret", required_argument, NULL, 's'},
    {"generate", required_argument, NULL, 'g'},
    {"username", required_argument, NULL, 'u'},
    {"url", required_argument, NULL, OPT_URL},
    {"note", required_argument, NULL, OPT_NOTE},
    {"password", no_argument, NULL, 'p'},
    {"tag", required_argument, NULL, OPT_TAG},
    {"untag", required_argument, NULL, OPT_UNTAG},
    {"remove-field", required_argument, NULL, OPT_RM_FIELD},
    {"length", required_argument, NULL, OPT_LENGTH},
    {"classes", required_argument, NULL, OPT_CLASSES},
    {"words", required_argument, NULL, OPT_WORDS},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

#define EDIT_OPTIONS_HELP                                                              \
    "  -t, --type TYPE        login, note, card, identity or an app's own type\n"     \
    "  -u, --username NAME    set the visible field \"username\"\n"                   \
    "      --url URL          set the visible field \"url\"\n"                        \
    "      --note TEXT        set the visible field \"note\"\n"                       \
    "  -f, --field NAME=VALUE set a visible field\n"                                  \
    "  -p, --password         ask for the hidden field \"password\"\n"                \
    "  -s, --secret NAME      ask for a hidden field (terminal without echo, or one\n" \
    "                         line of standard input)\n"                              \
    "  -g, --generate NAME    set a hidden field to a random password\n"              \
    "      --length N --classes LIST --words N   how --generate makes it (see\n"      \
    "                         `zkvault generate --help`; default 20 characters)\n"      \
    "      --tag TAG          add a tag\n"                                             \
    "      --json             read the item as JSON from standard input\n"            \
    "                         ({\"type\",\"title\",\"fields\",\"tags\"})\n"

static const char add_help[] =
    "usage: zkvault add TITLE [options]     (or: zkvault add --json < item.json)\n"
    "\n"
    "Adds an item and prints its id. Values given on the command line are visible\n"
    "to other users of this machine (ps): pass secrets with -p, -s or -g.\n" EDIT_OPTIONS_HELP;

static const char edit_help[] =
    "usage: zkvault edit ITEM [options]\n"
    "\n"
    "Changes an item (ITEM: id, unique id prefix or title). A hidden field's old\n"
    "value goes to the item's history.\n"
    "      --title TITLE      rename\n" EDIT_OPTIONS_HELP
    "      --untag TAG        remove a tag\n"
    "      --remove-field NAME  remove a field\n";

static int spec_push(edit_spec *s, enum edit_kind kind, const char *arg)
{
    if (s->n_ops == MAX_EDIT_OPS)
        return cli_usage("too many changes in one command");
    s->ops[s->n_ops].kind = kind;
    s->ops[s->n_ops].arg = arg;
    s->n_ops++;
    return CLI_EXIT_OK;
}

/* One option of add/edit into the spec. Returns an exit code; OPT_END when
 * the option is not an edit option. */
static int spec_option(edit_spec *s, int opt, const char *arg)
{
    switch (opt) {
    case OPT_TITLE: s->title = arg; return CLI_EXIT_OK;
    case 't': s->type = arg; return CLI_EXIT_OK;
    case 'f':
        if (strchr(arg, '=') == NULL || arg[0] == '=')
            return cli_usage("--field takes NAME=VALUE");
        return spec_push(s, SET_FIELD, arg);
    case 's': return spec_push(s, SECRET_FIELD, arg);
    case 'p': return spec_push(s, SECRET_FIELD, "password");
    case 'g': return spec_push(s, GEN_FIELD, arg);
    case OPT_TAG: return spec_push(s, ADD_TAG, arg);
    case OPT_UNTAG: return spec_push(s, RM_TAG, arg);
    case OPT_RM_FIELD: return spec_push(s, RM_FIELD, arg);
    case OPT_JSON: s->from_json = 1; return CLI_EXIT_OK;
    case OPT_LENGTH:
        if (cli_parse_size(arg, CLI_GEN_MIN_LENGTH, CLI_GEN_MAX_LENGTH, &s->gen_length) != 0)
            return cli_usage("--length must be %u..%u", CLI_GEN_MIN_LENGTH, CLI_GEN_MAX_LENGTH);
        return CLI_EXIT_OK;
    case OPT_CLASSES:
        s->gen_classes = cli_parse_classes(arg);
        return s->gen_classes != 0 ? CLI_EXIT_OK
                                   : cli_usage("--classes takes lower,upper,digits,symbols");
    case OPT_WORDS:
        if (cli_parse_size(arg, 1, CLI_GEN_MAX_WORDS, &s->gen_words) != 0)
            return cli_usage("--words must be 1..%u", CLI_GEN_MAX_WORDS);
        return CLI_EXIT_OK;
    default: return OPT_END;
    }
}

/* Parses add/edit options. The shortcut options (--username, --url, --note)
 * become "NAME=VALUE" field ops; their text is kept in owned[]. Returns an
 * exit code, or OPT_HELP when the help was printed. */
static int parse_edit(cli *c, int argc, char **argv, const char *help, edit_spec *s,
                      char **owned, size_t *n_owned)
{
    memset(s, 0, sizeof *s);
    s->gen_length = 20;
    s->gen_classes = CLI_CLASS_LOWER | CLI_CLASS_UPPER | CLI_CLASS_DIGITS | CLI_CLASS_SYMBOLS;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "ht:f:s:g:u:p", edit_options, help)) != OPT_END) {
        const char *name = opt == 'u' ? "username" : opt == OPT_URL ? "url"
                         : opt == OPT_NOTE ? "note" : NULL;
        if (name != NULL) {
            if (*n_owned == MAX_EDIT_OPS)
                return cli_usage("too many changes in one command");
            size_t len = strlen(name) + strlen(optarg) + 2;
            char *field = malloc(len);
            if (field == NULL)
                return cli_error(CLI_EXIT_ERROR, "out of memory");
            snprintf(field, len, "%s=%s", name, optarg);
            owned[(*n_owned)++] = field;
            int rc = spec_push(s, SET_FIELD, field);
            if (rc != CLI_EXIT_OK)
                return rc;
            continue;
        }
        int rc = spec_option(s, opt, optarg);
        if (rc == OPT_END)
            return opt == OPT_HELP ? OPT_HELP : CLI_EXIT_USAGE;
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return CLI_EXIT_OK;
}

static void free_owned(char **owned, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
}

static int apply_secret(cJSON *item, const char *name, int generate, const edit_spec *s)
{
    char *value = NULL;
    int rc = CLI_EXIT_OK;
    if (generate) {
        int st = s->gen_words > 0 ? cli_generate_passphrase(s->gen_words, "-", &value)
                                  : cli_generate_password(s->gen_classes, s->gen_length, &value);
        if (st != VAULT_OK)
            return cli_usage("cannot generate: --length must be at least the number of classes");
    } else {
        char prompt[300];
        snprintf(prompt, sizeof prompt, "Value of %.256s: ", name);
        rc = cli_read_secret_value(prompt, &value);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (cli_set_field(item, name, value, 1) != 0)
        rc = cli_error(CLI_EXIT_ERROR, "out of memory");
    cli_secret_free(value);
    return rc;
}

static int apply_op(cJSON *item, enum edit_kind kind, const char *arg, const edit_spec *s)
{
    switch (kind) {
    case SET_FIELD: {
        const char *eq = strchr(arg, '=');
        size_t name_len = (size_t)(eq - arg);
        char *name = malloc(name_len + 1);
        if (name == NULL)
            return cli_error(CLI_EXIT_ERROR, "out of memory");
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        int bad = cli_set_field(item, name, eq + 1, 0);
        free(name);
        return bad ? cli_error(CLI_EXIT_ERROR, "out of memory") : CLI_EXIT_OK;
    }
    case SECRET_FIELD: return apply_secret(item, arg, 0, s);
    case GEN_FIELD: return apply_secret(item, arg, 1, s);
    case RM_FIELD:
        return cli_remove_field(item, arg) == 0
                   ? CLI_EXIT_OK
                   : cli_error(CLI_EXIT_NOT_FOUND, "the item has no field '%s'", arg);
    case ADD_TAG:
        return cli_add_tag(item, arg) == 0 ? CLI_EXIT_OK : cli_error(CLI_EXIT_ERROR, "out of memory");
    case RM_TAG:
        return cli_remove_tag(item, arg) == 0
                   ? CLI_EXIT_OK
                   : cli_error(CLI_EXIT_NOT_FOUND, "the item has no tag '%s'", arg);
    }
    return CLI_EXIT_ERROR;
}

/* Reads an item object from standard input. */
static int item_from_stdin(cJSON **out)
{
    size_t len = 0;
    char *text = cli_read_stream(stdin, ITEM_JSON_MAX, &len);
    if (text == NULL)
        return cli_error(CLI_EXIT_ERROR, "cannot read the item JSON from standard input");
    *out = cJSON_ParseWithLength(text, len);
    cli_free_text(text, len + 1);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return cli_error(CLI_EXIT_USAGE, "standard input is not a JSON object");
    }
    return CLI_EXIT_OK;
}

static int apply_spec(cJSON *item, const edit_spec *s)
{
    if (s->title != NULL && cli_set_string(item, "title", s->title) != 0)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    if (s->type != NULL && cli_set_string(item, "type", s->type) != 0)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    for (size_t i = 0; i < s->n_ops; i++) {
        int rc = apply_op(item, s->ops[i].kind, s->ops[i].arg, s);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return CLI_EXIT_OK;
}

/* Sends item (only the input members) to add or update. */
static int store_item(cli *c, vault *v, const char *id, const cJSON *item, char **new_id)
{
    cJSON *input = cli_item_input(item);
    char *json = input == NULL ? NULL : cJSON_PrintUnformatted(input);
    cJSON_Delete(input);
    if (json == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    int st = id == NULL ? vault_item_add(v, json, new_id) : vault_item_update(v, id, json);
    cJSON_free(json); /* the cJSON hooks wipe it */
    if (st != VAULT_OK)
        return cli_fail(c, st, id == NULL ? "cannot add the item" : "cannot change the item");
    return CLI_EXIT_OK;
}

int cli_cmd_add(cli *c, int argc, char **argv)
{
    edit_spec s;
    char *owned[MAX_EDIT_OPS];
    size_t n_owned = 0;
    cJSON *item = NULL;
    char *id = NULL;
    vault *v = NULL;
    int rc = parse_edit(c, argc, argv, add_help, &s, owned, &n_owned);
    if (rc == OPT_HELP) {
        free_owned(owned, n_owned);
        return CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && (s.from_json ? optind < argc - 1 : optind != argc - 1))
        rc = cli_usage("add takes one TITLE (or --json)");
    if (rc == CLI_EXIT_OK && optind < argc)
        s.title = argv[optind];
    if (rc == CLI_EXIT_OK && s.from_json)
        rc = item_from_stdin(&item);
    else if (rc == CLI_EXIT_OK && (item = cJSON_CreateObject()) == NULL)
        rc = cli_error(CLI_EXIT_ERROR, "out of memory");
    if (rc == CLI_EXIT_OK && s.type == NULL &&
        cJSON_GetObjectItemCaseSensitive(item, "type") == NULL)
        s.type = "login";
    /* Hidden values are read before the master password: from standard input
     * they are the first lines, so a script can pipe them in order. */
    if (rc == CLI_EXIT_OK)
        rc = apply_spec(item, &s);
    if (rc == CLI_EXIT_OK)
        rc = open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = store_item(c, v, NULL, item, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK)
        puts(id);
    vault_free(id);
    cJSON_Delete(item);
    free_owned(owned, n_owned);
    return rc;
}

int cli_cmd_edit(cli *c, int argc, char **argv)
{
    edit_spec s;
    char *owned[MAX_EDIT_OPS];
    size_t n_owned = 0;
    cJSON *item = NULL, *replacement = NULL;
    char *id = NULL;
    vault *v = NULL;
    int rc = parse_edit(c, argc, argv, edit_help, &s, owned, &n_owned);
    if (rc == OPT_HELP) {
        free_owned(owned, n_owned);
        return CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && optind != argc - 1)
        rc = cli_usage("edit takes one ITEM");
    if (rc == CLI_EXIT_OK && s.from_json)
        rc = item_from_stdin(&replacement);
    if (rc == CLI_EXIT_OK)
        rc = open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = replacement != NULL ? CLI_EXIT_OK : cli_get_item(c, v, id, &item);
    if (rc == CLI_EXIT_OK && replacement != NULL) {
        item = replacement;
        replacement = NULL;
    }
    if (rc == CLI_EXIT_OK)
        rc = apply_spec(item, &s);
    if (rc == CLI_EXIT_OK) {
        cJSON_DeleteItemFromObjectCaseSensitive(item, "id");
        rc = store_item(c, v, id, item, NULL);
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK)
        puts(id);
    free(id);
    cJSON_Delete(item);
    cJSON_Delete(replacement);
    free_owned(owned, n_owned);
    return rc;
}

static const char get_help[] =
    "usage: zkvault get ITEM [--show] [--field NAME] [--json]\n"
    "\n"
    "Shows an item (ITEM: id, unique id prefix or title). Hidden fields are\n"
    "masked unless --show.\n"
    "      --show             reveal hidden fields\n"
    "      --field NAME       print only that field's value (for scripts)\n"
    "      --json             print the item as the library's JSON\n";

int cli_cmd_get(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"show", no_argument, NULL, OPT_SHOW},
        {"field", required_argument, NULL, OPT_FIELD_ONLY},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    int show = 0, as_json = 0, opt;
    const char *field = NULL;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, get_help)) != OPT_END) {
        if (opt == OPT_SHOW)
            show = 1;
        else if (opt == OPT_FIELD_ONLY)
            field = optarg;
        else if (opt == OPT_JSON)
            as_json = 1;
        else
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc - 1)
        return cli_usage("get takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    cJSON *item = NULL;
    int rc = open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_get_item(c, v, id, &item);
    if (rc == CLI_EXIT_OK && field != NULL) {
        const cJSON *f = NULL, *match = NULL;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, field) == 0)
                match = f;
        }
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(match, "value");
        if (cJSON_IsString(value))
            puts(value->valuestring);
        else
            rc = cli_error(CLI_EXIT_NOT_FOUND, "the item has no field '%s'", field);
    } else if (rc == CLI_EXIT_OK && as_json) {
        char *text = cJSON_PrintUnformatted(item);
        if (text == NULL)
            rc = cli_error(CLI_EXIT_ERROR, "out of memory");
        else
            puts(text);
        cJSON_free(text);
    } else if (rc == CLI_EXIT_OK) {
        cli_print_item(item, show);
    }
    free(id);
    cJSON_Delete(item);
    return rc;
}

/* list and search share their output. */
static int print_items(cli *c, int st, char *json, int as_json)
{
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot list items");
    if (as_json) {
        cli_print_json_owned(json);
        return CLI_EXIT_OK;
    }
    cJSON *list = NULL;
    int rc = cli_parse_owned(json, &list);
    if (rc == CLI_EXIT_OK)
        cli_print_list(list);
    cJSON_Delete(list);
    return rc;
}

static const char list_help[] =
    "usage: zkvault list [--json] [--deleted]\n"
    "\n"
    "Lists items ordered by title: short id, type, title.\n"
    "      --json             the library's JSON array (full items, hidden values too)\n"
    "      --deleted          include tombstones of deleted items\n";

int cli_cmd_list(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"deleted", no_argument, NULL, OPT_DELETED},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, opt;
    uint32_t flags = 0;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, list_help)) != OPT_END) {
        if (opt == OPT_JSON)
            as_json = 1;
        else if (opt == OPT_DELETED)
            flags |= VAULT_LIST_DELETED;
        else
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc)
        return cli_usage("list takes no arguments");
    vault *v = NULL;
    int rc = open_vault(c, &v);
    if (rc != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    int st = vault_item_list(v, flags, &json);
    return print_items(c, st, json, as_json);
}

static const char search_help[] =
    "usage: zkvault search QUERY [--json]\n"
    "\n"
    "Items whose title, tags or visible field values contain QUERY (ASCII\n"
    "case-insensitive). Hidden values are never searched.\n";

int cli_cmd_search(cli *c, int argc, char **argv)
{
    int as_json = 0;
    int rc = parse_flag(c, argc, argv, search_help, "json", &as_json);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("search takes one QUERY");
    vault *v = NULL;
    if ((rc = open_vault(c, &v)) != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    int st = vault_item_search(v, argv[optind], &json);
    return print_items(c, st, json, as_json);
}

static const char rm_help[] =
    "usage: zkvault rm ITEM\n"
    "\n"
    "Deletes an item: its content is wiped and a tombstone syncs the delete.\n";

int cli_cmd_rm(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, rm_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind != argc - 1)
        return cli_usage("rm takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    int rc = open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_item_delete(v, id), "cannot delete");
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    if (rc == CLI_EXIT_OK)
        printf("deleted %s\n", id);
    free(id);
    return rc;
}

static const char history_help[] =
    "usage: zkvault history ITEM [--show]\n"
    "\n"
    "Earlier values of the item's hidden fields (the last 10 per field), newest\n"
    "first: when it changed, the field, the old value (masked unless --show).\n";

int cli_cmd_history(cli *c, int argc, char **argv)
{
    int show = 0;
    int rc = parse_flag(c, argc, argv, history_help, "show", &show);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("history takes one ITEM");
    vault *v = NULL;
    char *id = NULL;
    cJSON *item = NULL;
    rc = open_item(c, argv[optind], &v, &id);
    if (rc == CLI_EXIT_OK)
        rc = cli_get_item(c, v, id, &item);
    if (rc == CLI_EXIT_OK) {
        const cJSON *history = cJSON_GetObjectItemCaseSensitive(item, "history");
        int n = cJSON_GetArraySize(history);
        if (n == 0)
            printf("no history for %s\n", id);
        for (int i = n - 1; i >= 0; i--) {
            const cJSON *h = cJSON_GetArrayItem(history, i);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(h, "value");
            const cJSON *changed = cJSON_GetObjectItemCaseSensitive(h, "changed");
            char when[32];
            cli_format_time(cJSON_IsNumber(changed) ? changed->valuedouble : 0, when, sizeof when);
            printf("%s  %s: %s\n", when, cJSON_IsString(name) ? name->valuestring : "?",
                   !show ? "********" : cJSON_IsString(value) ? value->valuestring : "");
        }
    }
    free(id);
    cJSON_Delete(item);
    return rc;
}

static const char export_help[] =
    "usage: zkvault export [FILE]\n"
    "\n"
    "Writes the whole vault (items, tombstones, history, devices) as the\n"
    "library's JSON to FILE (created with mode 0600) or to standard output.\n"
    "The export is PLAINTEXT: every password in it is readable.\n";

int cli_cmd_export(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, export_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind < argc - 1)
        return cli_usage("export takes at most one FILE");
    const char *path = optind < argc && strcmp(argv[optind], "-") != 0 ? argv[optind] : NULL;
    vault *v = NULL;
    char *json = NULL;
    int rc = open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_to_json(v, &json), "cannot export");
    if (rc == CLI_EXIT_OK && path == NULL) {
        puts(json);
    } else if (rc == CLI_EXIT_OK) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        size_t len = strlen(json);
        if (fd < 0)
            rc = cli_error(CLI_EXIT_ERROR, "cannot create %s: %s (it must not exist yet)", path,
                           strerror(errno));
        else if (write(fd, json, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
            rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0 && close(fd) != 0 && rc == CLI_EXIT_OK)
            rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
        if (rc == CLI_EXIT_OK)
            fprintf(stderr, "zkvault: exported to %s (plaintext: keep it safe, delete it after use)\n",
                    path);
    }
    vault_free(json);
    return rc;
}

static const char import_help[] =
    "usage: zkvault import FILE [--replace]\n"
    "\n"
    "Adds the live items of an export (the library's vault JSON; FILE \"-\" reads\n"
    "standard input). Items whose id already exists are skipped, or replaced\n"
    "with --replace.\n";

/* Adds (or replaces) each live item of the parsed export into v. */
static int import_items(cli *c, vault *v, const vault *src, int replace)
{
    char *json = NULL;
    cJSON *list = NULL;
    int st = vault_item_list(src, 0, &json);
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot read the export");
    int rc = cli_parse_owned(json, &list);
    size_t added = 0, replaced = 0, skipped = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        if (rc != CLI_EXIT_OK)
            break;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        char *probe = NULL;
        int exists = cJSON_IsString(id) && vault_item_get(v, id->valuestring, &probe) == VAULT_OK;
        vault_free(probe);
        if (exists && !replace) {
            skipped++;
            continue;
        }
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (copy == NULL) {
            rc = cli_error(CLI_EXIT_ERROR, "out of memory");
            break;
        }
        if (exists)
            cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
        rc = store_item(c, v, exists ? id->valuestring : NULL, copy, NULL);
        cJSON_Delete(copy);
        if (exists)
            replaced++;
        else
            added++;
    }
    cJSON_Delete(list);
    if (rc == CLI_EXIT_OK)
        printf("imported %zu new, replaced %zu, skipped %zu existing\n", added, replaced, skipped);
    return rc;
}

int cli_cmd_import(cli *c, int argc, char **argv)
{
    int replace = 0;
    int rc = parse_flag(c, argc, argv, import_help, "replace", &replace);
    if (rc != CLI_EXIT_OK)
        return CLI_OPT_RETURN(rc);
    if (optind != argc - 1)
        return cli_usage("import takes one FILE");
    const char *path = argv[optind];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_error(CLI_EXIT_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    size_t len = 0;
    char *text = cli_read_stream(f, VAULT_BLOB_MAX_PLAINTEXT, &len);
    if (f != stdin)
        fclose(f);
    if (text == NULL)
        return cli_error(CLI_EXIT_ERROR, "cannot read %s (or it is over %u bytes)", path,
                         VAULT_BLOB_MAX_PLAINTEXT);
    vault *src = NULL, *v = NULL;
    rc = cli_check(NULL, vault_from_json(&src, text, len), path);
    cli_free_text(text, len + 1);
    if (rc == CLI_EXIT_OK)
        rc = open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = import_items(c, v, src, replace);
    if (rc == CLI_EXIT_OK)
        rc = cli_save(c);
    vault_close(src);
    return rc;
}

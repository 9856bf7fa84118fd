/*
 * add and edit: build an item from the command line (or JSON on standard
 * input) and store it.
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
#include "commands.h"
#include "items.h"

#define MAX_EDIT_OPS 256
#define ITEM_JSON_MAX (16u * 1024u * 1024u)

enum edit_kind { SET_FIELD, SECRET_FIELD, GEN_FIELD, TOTP_FIELD, RM_FIELD, ADD_TAG, RM_TAG };

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
    OPT_WORDS, OPT_JSON, OPT_TITLE, OPT_TOTP
};

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
    {"totp", no_argument, NULL, OPT_TOTP},
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
    "      --totp             ask for a TOTP secret (an otpauth://totp/ URI or a base32\n" \
    "                         secret), kept in the hidden field \"totp\"\n"           \
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
    case OPT_TOTP: return spec_push(s, TOTP_FIELD, "totp");
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

static int apply_secret(cJSON *item, const char *name, enum edit_kind kind, const edit_spec *s)
{
    char *value = NULL;
    int rc = CLI_EXIT_OK;
    if (kind == GEN_FIELD) {
        int st = s->gen_words > 0 ? cli_generate_passphrase(s->gen_words, "-", &value)
                                  : cli_generate_password(s->gen_classes, s->gen_length, &value);
        if (st != VAULT_OK)
            return cli_usage("cannot generate: --length must be at least the number of classes");
    } else {
        char prompt[300];
        snprintf(prompt, sizeof prompt, kind == TOTP_FIELD ? "TOTP secret or otpauth:// URI: "
                                                           : "Value of %.256s: ", name);
        rc = cli_read_secret_value(prompt, &value);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    /* A TOTP secret the library cannot use is a usage error, caught here
     * rather than as a refused item. */
    if (kind == TOTP_FIELD && vault_totp_check(value) != VAULT_OK)
        rc = cli_error(CLI_EXIT_USAGE, "not a TOTP secret: %s", vault_last_error());
    else if (cli_set_typed_field(item, name, value, 1, kind == TOTP_FIELD ? "totp" : NULL) != 0)
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
    case SECRET_FIELD:
    case TOTP_FIELD:
    case GEN_FIELD: return apply_secret(item, arg, kind, s);
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
        rc = cli_open_vault(c, &v);
    if (rc == CLI_EXIT_OK)
        rc = cli_store_item(c, v, NULL, item, &id);
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
        rc = cli_open_item(c, argv[optind], &v, &id);
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
        rc = cli_store_item(c, v, id, item, NULL);
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


/*
 * import and export: other managers' files in, interoperable or encrypted
 * files out (vault_import / vault_export, docs/interop.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

#define EXPORT_PASSWORD_ENV "ZKVAULT_EXPORT_PASSWORD"

/* "  name  description" for every format usable in that direction. */
static void print_formats(FILE *out, const char *direction)
{
    char *json = NULL;
    cJSON *list = NULL;
    if (vault_interop_formats(&json) != VAULT_OK || cli_parse_owned(json, &list) != CLI_EXIT_OK)
        return;
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, direction)))
            fprintf(out, "  %-18s %s\n", cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring,
                    cJSON_GetObjectItemCaseSensitive(f, "description")->valuestring);
    cJSON_Delete(list);
}

/* Whether name is a format of that direction ("import" / "export"). */
static int known_format(const char *name, const char *direction)
{
    char *json = NULL;
    cJSON *list = NULL;
    int known = 0;
    if (vault_interop_formats(&json) != VAULT_OK || cli_parse_owned(json, &list) != CLI_EXIT_OK)
        return 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
        known |= strcmp(cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring, name) == 0 &&
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, direction));
    cJSON_Delete(list);
    return known;
}

static int bad_format(const char *name, const char *direction)
{
    fprintf(stderr, "zkvault: unknown %s format '%s'; the formats are:\n", direction, name);
    print_formats(stderr, direction);
    return CLI_EXIT_USAGE;
}

/* The export's own password: --password-fd (the line after the master
 * password), ZKVAULT_EXPORT_PASSWORD, or the terminal (asked twice when
 * exporting). */
static int export_password(cli *c, int confirm, char **out)
{
    return cli_read_password(c, confirm ? "Password for the export: " : "Password of the export: ",
                             EXPORT_PASSWORD_ENV, confirm, out);
}

/* ---- import ------------------------------------------------------------------ */

static const char import_help_head[] =
    "usage: zkvault import --format FORMAT [--dry-run] [--json] FILE\n"
    "\n"
    "Adds the items of FILE (\"-\": standard input), written by another password\n"
    "manager or by `zkvault export`. All or nothing: a file with a bad row imports\n"
    "nothing, and each problem is reported with its line. Items the vault already\n"
    "has (same type, title and fields) are not added again; empty rows are skipped.\n"
    "\n"
    "  --format FORMAT   the file's format (below)\n"
    "  --dry-run         show what would be imported, change nothing\n"
    "  --json            print the import report as JSON\n"
    "\n"
    "An encrypted export asks for its own password (terminal, --password-fd after\n"
    "the master password, or " EXPORT_PASSWORD_ENV ").\n"
    "\n"
    "Formats:\n";

enum { OPT_FORMAT = OPT_CMD + 100, OPT_DRY_RUN, OPT_JSON_REPORT, OPT_OUTPUT };

static const struct option import_options[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", no_argument, NULL, OPT_JSON_REPORT},
    {NULL, 0, NULL, 0},
};

static char *help_with_formats(const char *head, const char *direction)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return NULL;
    fputs(head, f);
    print_formats(f, direction);
    fclose(f);
    return text;
}

static void print_problems(const cJSON *report)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(report, "problems")) {
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(p, "line");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(p, "message");
        fprintf(stderr, "zkvault: %s %d: %s\n", cJSON_IsNumber(line) ? "line" : "item",
                cJSON_IsNumber(line) ? line->valueint
                                     : cJSON_GetObjectItemCaseSensitive(p, "index")->valueint,
                cJSON_IsString(msg) ? msg->valuestring : "");
    }
}

/* The report as a person reads it: one line per item on a dry run, then
 * the counts. */
static void print_report(const cJSON *r, int dry)
{
    const cJSON *e;
    if (dry)
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "items")) {
            const cJSON *line = cJSON_GetObjectItemCaseSensitive(e, "line");
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
            const cJSON *why = cJSON_GetObjectItemCaseSensitive(e, "reason");
            printf("%s %-5d %-10s %-9s %s%s%s\n", cJSON_IsNumber(line) ? "line" : "item",
                   cJSON_IsNumber(line) ? line->valueint
                                        : cJSON_GetObjectItemCaseSensitive(e, "index")->valueint,
                   cJSON_GetObjectItemCaseSensitive(e, "status")->valuestring,
                   cJSON_IsString(type) ? type->valuestring : "-",
                   cJSON_GetObjectItemCaseSensitive(e, "title")->valuestring,
                   cJSON_IsString(why) ? " — " : "", cJSON_IsString(why) ? why->valuestring : "");
        }
    printf("%s %d, duplicates %d, skipped %d\n", dry ? "would import" : "imported",
           cJSON_GetObjectItemCaseSensitive(r, "imported")->valueint,
           cJSON_GetObjectItemCaseSensitive(r, "duplicates")->valueint,
           cJSON_GetObjectItemCaseSensitive(r, "skipped")->valueint);
}

static int read_input(const char *path, char **text, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_error(CLI_EXIT_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    *text = cli_read_stream(f, VAULT_BLOB_MAX_PLAINTEXT, len);
    if (f != stdin)
        fclose(f);
    if (*text == NULL)
        return cli_error(CLI_EXIT_ERROR, "cannot read %s (or it is over %u bytes)", path,
                         VAULT_BLOB_MAX_PLAINTEXT);
    return CLI_EXIT_OK;
}

/* Runs the import; after a refused file, a dry run lists every problem. */
static int run_import(vault *v, const char *format, const char *text, size_t len,
                      const char *password, uint32_t flags, int as_json)
{
    char *report = NULL;
    cJSON *r = NULL;
    int st = vault_import(v, format, (const uint8_t *)text, len, password, flags, &report);
    if (st == VAULT_E_FORMAT &&
        vault_import(v, format, (const uint8_t *)text, len, password, VAULT_IMPORT_DRY_RUN,
                     &report) == VAULT_OK &&
        cli_parse_owned(report, &r) == CLI_EXIT_OK) {
        print_problems(r);
        cJSON_Delete(r);
        report = NULL;
        fprintf(stderr, "zkvault: nothing was imported\n");
        return CLI_EXIT_INPUT;
    }
    if (st != VAULT_OK)
        return cli_fail(NULL, st, "cannot import");
    if (as_json) {
        puts(report);
        vault_free(report);
    } else if (cli_parse_owned(report, &r) == CLI_EXIT_OK) {
        print_problems(r);
        print_report(r, (flags & VAULT_IMPORT_DRY_RUN) != 0);
        int problems = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "problems"));
        cJSON_Delete(r);
        if (problems > 0)
            return CLI_EXIT_INPUT; /* a dry run of a file that would be refused */
    }
    return CLI_EXIT_OK;
}

int cli_cmd_import(cli *c, int argc, char **argv)
{
    const char *format = NULL;
    int dry = 0, as_json = 0, opt;
    char *help = help_with_formats(import_help_head, "import");
    while ((opt = cli_getopt(c, argc, argv, "h", import_options,
                             help != NULL ? help : import_help_head)) != OPT_END) {
        if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == OPT_DRY_RUN)
            dry = 1;
        else if (opt == OPT_JSON_REPORT)
            as_json = 1;
        else {
            free(help);
            return CLI_OPT_RETURN(opt);
        }
    }
    free(help);
    if (optind != argc - 1)
        return cli_usage("import takes one FILE (\"-\" for standard input)");
    if (format == NULL)
        return cli_usage("import needs --format (see `zkvault import --help`)");
    if (!known_format(format, "import"))
        return bad_format(format, "import");
    char *text = NULL, *password = NULL;
    size_t len = 0;
    vault *v = NULL;
    int rc = read_input(argv[optind], &text, &len);
    if (rc == CLI_EXIT_OK)
        rc = cli_unlock(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_vault(c, &v);
    if (rc == CLI_EXIT_OK && strcmp(format, "zkvault-encrypted") == 0)
        rc = export_password(c, 0, &password);
    if (rc == CLI_EXIT_OK)
        rc = run_import(v, format, text, len, password, dry ? VAULT_IMPORT_DRY_RUN : 0,
                        as_json);
    if (rc == CLI_EXIT_OK && !dry)
        rc = cli_save(c);
    cli_secret_free(password);
    if (text != NULL)
        cli_free_text(text, len + 1);
    return rc;
}

/* ---- export ------------------------------------------------------------------ */

static const char export_help_head[] =
    "usage: zkvault export [--format FORMAT] [FILE]\n"
    "\n"
    "Writes the vault's items to FILE (created with mode 0600; it must not exist)\n"
    "or to standard output (\"-\" or no FILE).\n"
    "\n"
    "  --format FORMAT   default zkvault-encrypted: sealed under a password of its\n"
    "                    own (asked twice; --password-fd after the master password,\n"
    "                    or " EXPORT_PASSWORD_ENV "), readable by `zkvault import`.\n"
    "                    Every other format is PLAINTEXT: every password in it is\n"
    "                    readable by anyone who gets the file.\n"
    "\n"
    "Formats:\n";

static const struct option export_options[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {NULL, 0, NULL, 0},
};

static int write_output(const char *path, const uint8_t *data, size_t len)
{
    if (path == NULL) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return cli_error(CLI_EXIT_ERROR, "cannot write the export: %s", strerror(errno));
        return CLI_EXIT_OK;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cli_error(errno == EEXIST ? CLI_EXIT_EXISTS : CLI_EXIT_ERROR,
                         "cannot create %s: %s (it must not exist yet)", path, strerror(errno));
    int rc = CLI_EXIT_OK;
    if (write(fd, data, len) != (ssize_t)len)
        rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == CLI_EXIT_OK)
        rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
    if (rc != CLI_EXIT_OK)
        unlink(path); /* no half export left behind */
    return rc;
}

int cli_cmd_export(cli *c, int argc, char **argv)
{
    const char *format = "zkvault-encrypted";
    int opt;
    char *help = help_with_formats(export_help_head, "export");
    while ((opt = cli_getopt(c, argc, argv, "h", export_options,
                             help != NULL ? help : export_help_head)) != OPT_END) {
        if (opt != OPT_FORMAT) {
            free(help);
            return CLI_OPT_RETURN(opt);
        }
        format = optarg;
    }
    free(help);
    if (optind < argc - 1)
        return cli_usage("export takes at most one FILE");
    if (!known_format(format, "export"))
        return bad_format(format, "export");
    const char *path = optind < argc && strcmp(argv[optind], "-") != 0 ? argv[optind] : NULL;
    int sealed = strcmp(format, "zkvault-encrypted") == 0;
    if (sealed && path == NULL && isatty(STDOUT_FILENO))
        return cli_usage("the encrypted export is binary: give a FILE or redirect the output");
    vault *v = NULL;
    char *password = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = cli_unlock(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_vault(c, &v);
    if (rc == CLI_EXIT_OK && sealed)
        rc = export_password(c, 1, &password);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(NULL, vault_export(v, format, password, c->kdf_ops, c->kdf_mem, &out, &len),
                       "cannot export");
    if (rc == CLI_EXIT_OK)
        rc = write_output(path, out, len);
    if (rc == CLI_EXIT_OK && !sealed)
        fprintf(stderr, "zkvault: PLAINTEXT export%s%s: every password in it is readable; "
                        "keep it safe and delete it after use\n",
                path != NULL ? " to " : "", path != NULL ? path : "");
    else if (rc == CLI_EXIT_OK && path != NULL)
        fprintf(stderr, "zkvault: encrypted export written to %s\n", path);
    cli_secret_free(password);
    vault_free(out);
    return rc;
}

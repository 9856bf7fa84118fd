/* audit: weak, reused, old and breached passwords (vault_audit). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

enum { OPT_JSON = OPT_CMD, OPT_BREACH_FILE, OPT_OLD_DAYS };

static const char audit_help[] =
    "usage: zkvault audit [--json] [--breach-file FILE] [--old-days N]\n"
    "\n"
    "Checks every hidden field of the items (not those in the trash) and names\n"
    "the weak (zxcvbn estimates fewer than 2^40 guesses), reused, old and\n"
    "breached ones; never prints a value. Exit 0 even when it finds problems.\n"
    "      --breach-file FILE a local Pwned Passwords list (SHA1HEX:COUNT lines,\n"
    "                         sorted by hash), searched offline: nothing is sent\n"
    "      --old-days N       older than N days counts as old (default 365; 0: never)\n"
    "      --json             the library's JSON report\n";

static int flag(const cJSON *f, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, key));
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

static void print_report(const cJSON *report)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(report, "summary"), *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
        printf("%.8s  %s / %s:", cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring,
               cJSON_GetObjectItemCaseSensitive(f, "title")->valuestring,
               cJSON_GetObjectItemCaseSensitive(f, "field")->valuestring);
        if (flag(f, "weak"))
            printf(" weak (%.0f bits)", num(f, "strength_bits"));
        if (num(f, "reused") > 0)
            printf(" reused by %.0f other field(s)", num(f, "reused"));
        if (flag(f, "old"))
            printf(" old (%.0f days)", num(f, "age_days"));
        if (num(f, "breached") > 0)
            printf(" breached (seen %.0f times)", num(f, "breached"));
        putchar('\n');
    }
    printf("checked %.0f: %.0f weak, %.0f reused, %.0f old", num(s, "checked"), num(s, "weak"),
           num(s, "reused"), num(s, "old"));
    if (cJSON_GetObjectItemCaseSensitive(s, "breached") != NULL)
        printf(", %.0f breached", num(s, "breached"));
    putchar('\n');
}

int cli_cmd_audit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"breach-file", required_argument, NULL, OPT_BREACH_FILE},
        {"old-days", required_argument, NULL, OPT_OLD_DAYS},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, opt;
    const char *breach = NULL;
    size_t old_days = 365;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, audit_help)) != OPT_END) {
        if (opt == OPT_JSON)
            as_json = 1;
        else if (opt == OPT_BREACH_FILE)
            breach = optarg;
        else if (opt == OPT_OLD_DAYS && cli_parse_size(optarg, 0, 36500, &old_days) != 0)
            return cli_usage("--old-days needs a number of days (0..36500)");
        else if (opt != OPT_OLD_DAYS)
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc)
        return cli_usage("audit takes no arguments");
    vault *v = NULL;
    char *json = NULL;
    cJSON *report = NULL;
    int rc = cli_open_vault(c, &v);
    if (rc == CLI_EXIT_OK) {
        int st = vault_audit(v, breach, (uint32_t)old_days, &json);
        if (st == VAULT_E_IO)
            return cli_error(CLI_EXIT_NOT_FOUND, "cannot read the breach file %s: %s", breach,
                             vault_last_error());
        rc = cli_check(NULL, st, breach != NULL ? breach : "cannot audit");
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_owned(json, &report);
    if (rc == CLI_EXIT_OK && as_json)
        rc = cli_print_json(report, 1); /* names only: nothing to hide */
    else if (rc == CLI_EXIT_OK)
        print_report(report);
    cJSON_Delete(report);
    return rc;
}

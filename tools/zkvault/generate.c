/*
 * Random passwords and passphrases. Every draw is randombytes_uniform(n),
 * which rejects the top sliver of the 32-bit range, so no character or word is
 * more likely than another (no modulo bias).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"

static const struct char_class {
    uint32_t bit;
    const char *name;
    const char *chars;
} classes_table[] = {
    {CLI_CLASS_LOWER, "lower", "abcdefghijklmnopqrstuvwxyz"},
    {CLI_CLASS_UPPER, "upper", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    {CLI_CLASS_DIGITS, "digits", "0123456789"},
    /* ASCII punctuation without quotes, backslash and space, which break
     * shell quoting and some web forms. */
    {CLI_CLASS_SYMBOLS, "symbols", "!#$%&()*+,-./:;<=>?@[]^_{|}~"},
};
#define CLASS_COUNT (sizeof classes_table / sizeof classes_table[0])

uint32_t cli_parse_classes(const char *text)
{
    uint32_t bits = 0;
    const char *p = text;
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");
        uint32_t found = 0;
        for (size_t i = 0; i < CLASS_COUNT; i++)
            if (strlen(classes_table[i].name) == len &&
                strncmp(classes_table[i].name, p, len) == 0)
                found = classes_table[i].bit;
        if (found == 0)
            return 0;
        bits |= found;
        p += len;
        if (*p == ',')
            p++;
    }
    return bits;
}

/* Whether pw holds at least one character of every class in bits. */
static int has_every_class(const char *pw, uint32_t bits)
{
    for (size_t i = 0; i < CLASS_COUNT; i++)
        if ((bits & classes_table[i].bit) != 0 && strpbrk(pw, classes_table[i].chars) == NULL)
            return 0;
    return 1;
}

int cli_generate_password(uint32_t classes, size_t length, char **out)
{
    char alphabet[128];
    size_t n = 0, wanted = 0;
    *out = NULL;
    for (size_t i = 0; i < CLASS_COUNT; i++) {
        if ((classes & classes_table[i].bit) == 0)
            continue;
        size_t len = strlen(classes_table[i].chars);
        memcpy(alphabet + n, classes_table[i].chars, len);
        n += len;
        wanted++;
    }
    if (n == 0 || length < CLI_GEN_MIN_LENGTH || length > CLI_GEN_MAX_LENGTH ||
        length < wanted)
        return VAULT_E_INVALID;
    char *pw = cli_secret_new();
    if (pw == NULL)
        return VAULT_E_NOMEM;
    /* Redrawing the whole password (instead of forcing one character of each
     * class into fixed places) keeps it uniform over all passwords that meet
     * the rule. The worst case (all four classes, length 4) meets it with
     * probability 0.069, so the loop ends after a few dozen draws at most. */
    do {
        for (size_t i = 0; i < length; i++)
            pw[i] = alphabet[randombytes_uniform((uint32_t)n)];
        pw[length] = '\0';
    } while (!has_every_class(pw, classes));
    *out = pw;
    return VAULT_OK;
}

int cli_generate_passphrase(size_t words, const char *sep, char **out)
{
    *out = NULL;
    if (words == 0 || words > CLI_GEN_MAX_WORDS || sep == NULL || strlen(sep) > 8)
        return VAULT_E_INVALID;
    char *pw = cli_secret_new();
    if (pw == NULL)
        return VAULT_E_NOMEM;
    size_t len = 0;
    for (size_t i = 0; i < words; i++) {
        const char *w = cli_words[randombytes_uniform(CLI_WORD_COUNT)];
        /* 64 words of at most 5 letters and 64 separators of at most 8 bytes
         * fit well inside CLI_SECRET_MAX. */
        if (i > 0) {
            memcpy(pw + len, sep, strlen(sep));
            len += strlen(sep);
        }
        memcpy(pw + len, w, strlen(w));
        len += strlen(w);
    }
    pw[len] = '\0';
    *out = pw;
    return VAULT_OK;
}

static const char generate_help[] =
    "usage: zkvault generate [--length N] [--classes LIST] | --words N [--separator S]\n"
    "\n"
    "Prints a random password: N characters (default 20, 4..1024) drawn\n"
    "uniformly from the chosen classes, with at least one of each.\n"
    "  -l, --length N       length in characters\n"
    "  -c, --classes LIST   comma-separated: lower,upper,digits,symbols (default all)\n"
    "  -w, --words N        a passphrase of N words instead (1..64; 7 suggested:\n"
    "                       10 bits per word from a 1024-word list, 70 bits)\n"
    "  -s, --separator S    between words (default \"-\")\n"
    "  -n, --count N        print N of them, one per line (default 1)\n"
    "\n"
    "The words are a selection from the EFF Large Wordlist for passphrases,\n"
    "(c) Electronic Frontier Foundation (https://www.eff.org/dice), CC BY 3.0 US.\n";

int cli_cmd_generate(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"length", required_argument, NULL, 'l'},
        {"classes", required_argument, NULL, 'c'},
        {"words", required_argument, NULL, 'w'},
        {"separator", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    size_t length = 20, words = 0, count = 1;
    uint32_t classes = CLI_CLASS_LOWER | CLI_CLASS_UPPER | CLI_CLASS_DIGITS | CLI_CLASS_SYMBOLS;
    const char *sep = "-";
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "hl:c:w:s:n:", opts, generate_help)) != OPT_END) {
        switch (opt) {
        case 'l':
            if (cli_parse_size(optarg, CLI_GEN_MIN_LENGTH, CLI_GEN_MAX_LENGTH, &length) != 0)
                return cli_usage("--length must be %u..%u", CLI_GEN_MIN_LENGTH,
                                 CLI_GEN_MAX_LENGTH);
            break;
        case 'c':
            classes = cli_parse_classes(optarg);
            if (classes == 0)
                return cli_usage("--classes takes a list of lower,upper,digits,symbols");
            break;
        case 'w':
            if (cli_parse_size(optarg, 1, CLI_GEN_MAX_WORDS, &words) != 0)
                return cli_usage("--words must be 1..%u", CLI_GEN_MAX_WORDS);
            break;
        case 's':
            if (strlen(optarg) > 8)
                return cli_usage("--separator is at most 8 bytes");
            sep = optarg;
            break;
        case 'n':
            if (cli_parse_size(optarg, 1, 1000, &count) != 0)
                return cli_usage("--count must be 1..1000");
            break;
        default: return CLI_OPT_RETURN(opt);
        }
    }
    if (optind != argc)
        return cli_usage("generate takes no arguments");
    for (size_t i = 0; i < count; i++) {
        char *pw = NULL;
        int rc = words > 0 ? cli_generate_passphrase(words, sep, &pw)
                           : cli_generate_password(classes, length, &pw);
        if (rc == VAULT_E_INVALID)
            return cli_usage("--length must be at least the number of classes");
        if (rc != VAULT_OK)
            return cli_error(CLI_EXIT_ERROR, "out of secure memory");
        puts(pw);
        cli_secret_free(pw);
    }
    return CLI_EXIT_OK;
}

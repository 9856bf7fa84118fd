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
        /* 64 words of at most 9 letters and 64 separators of at most 8 bytes
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

/* generate: print random passwords or passphrases (needs no vault). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char generate_help[] =
    "usage: zkvault generate [--length N] [--classes LIST] | --words N [--separator S]\n"
    "\n"
    "Prints a random password: N characters (default 20, 4..1024) drawn\n"
    "uniformly from the chosen classes, with at least one of each.\n"
    "  -l, --length N       length in characters\n"
    "  -c, --classes LIST   comma-separated: lower,upper,digits,symbols (default all)\n"
    "  -w, --words N        a passphrase of N words instead (1..64; 6 suggested:\n"
    "                       12.9 bits per word from a 7,776-word list, 77 bits)\n"
    "  -s, --separator S    between words (default \"-\")\n"
    "  -n, --count N        print N of them, one per line (default 1)\n"
    "\n"
    "The words are the EFF Large Wordlist for Passphrases (all 7,776 words),\n"
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

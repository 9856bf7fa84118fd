/*
 * Deterministic, realistic login items for the benchmarks: title, username,
 * a 20-character password, a URL and about 100 words of notes, 0..2 tags.
 * Item i is a pure function of (seed, i), so two programs (bench_vault and
 * the KeePassXC export) produce the same items, and an edited copy of item i
 * can be rebuilt without reading the vault.
 *
 * Generated strings never contain '"' or '\\', so they go into JSON without
 * escaping; the KeePass XML export escapes '&', '<' and '>'.
 */
#ifndef VAULT_BENCH_ITEMS_H
#define VAULT_BENCH_ITEMS_H

#include <stdio.h>
#include <string.h>

#include "bench.h"

#define BENCH_SEED 0x7a6b7661756c7421ull

static const char *const bench_sites[] = {
    "GitHub", "GitLab", "Google", "Microsoft", "Amazon", "Netflix", "Spotify", "Dropbox",
    "Slack", "Zoom", "Twitter", "Facebook", "Instagram", "LinkedIn", "Reddit", "PayPal",
    "Stripe", "Heroku", "DigitalOcean", "Cloudflare", "Atlassian", "Trello", "Notion",
    "Figma", "Adobe", "Apple", "Steam", "Twitch", "Discord", "Airbnb", "Booking", "Uber",
    "Lyft", "eBay", "Etsy", "Shopify", "Wise", "Revolut", "N26", "Coinbase", "Kraken",
    "Mailchimp", "Zendesk", "Salesforce", "HubSpot", "Asana", "Bitbucket", "Docker Hub",
    "npm", "PyPI", "Crates", "Hetzner", "OVH", "Namecheap", "Gandi", "ProtonMail",
    "Fastmail", "Yahoo", "Wikipedia", "Stack Overflow", "Medium", "Substack", "Patreon",
    "Kickstarter", "IKEA", "Deutsche Bahn", "SNCF", "Ryanair", "Lufthansa", "Vodafone"};

static const char *const bench_first[] = {
    "ada", "alan", "grace", "linus", "ken", "dennis", "barbara", "margaret", "john", "mary",
    "lena", "omar", "yuki", "ravi", "sofia", "mateo", "chloe", "noah", "emma", "liam",
    "olga", "ivan", "fatima", "chen", "aisha", "lucas", "mia", "leo", "zoe", "hugo"};

static const char *const bench_last[] = {
    "lovelace", "turing", "hopper", "torvalds", "thompson", "ritchie", "liskov", "hamilton",
    "smith", "garcia", "muller", "rossi", "tanaka", "patel", "kowalski", "novak", "dubois",
    "jensen", "silva", "kim", "nguyen", "ali", "cohen", "schmidt", "martin", "brown"};

static const char *const bench_tags[] = {"work", "personal", "finance", "social",
                                         "shopping", "dev", "travel", "email"};

static const char *const bench_words[] = {
    "the", "account", "was", "created", "for", "billing", "and", "support", "use", "this",
    "login", "when", "the", "main", "one", "is", "locked", "recovery", "codes", "are",
    "stored", "in", "the", "safe", "at", "home", "security", "question", "answer", "first",
    "pet", "name", "street", "where", "grew", "up", "two", "factor", "authentication",
    "enabled", "with", "app", "backup", "phone", "number", "ends", "with", "renewal",
    "every", "year", "in", "march", "plan", "includes", "storage", "team", "members",
    "shared", "with", "family", "do", "not", "share", "outside", "office", "contact",
    "manager", "before", "changing", "password", "old", "email", "address", "still",
    "works", "forwarding", "set", "up", "invoice", "sent", "monthly", "to", "accounting",
    "card", "expires", "next", "spring", "update", "payment", "method", "after", "trip",
    "customer", "id", "reference", "ticket", "opened", "about", "refund", "closed", "last",
    "week", "api", "token", "rotated", "quarterly", "keep", "scopes", "minimal", "read",
    "only", "deploy", "key", "server", "production", "staging", "test", "environment",
    "username", "differs", "from", "display", "because", "of", "migration", "legacy",
    "system", "imported", "notes", "cleanup", "later", "remember", "cancel", "trial",
    "before", "it", "converts", "paid", "subscription", "discount", "code", "applied",
    "student", "price", "loyalty", "points", "balance", "travel", "miles", "frequent",
    "flyer", "hotel", "booking", "confirmation", "seat", "preference", "window", "aisle",
    "meal", "vegetarian", "insurance", "policy", "claim", "agent", "branch", "bank",
    "transfer", "limit", "daily", "weekly", "pin", "changed", "device", "registered",
    "laptop", "tablet", "browser", "extension", "sync", "disabled", "privacy", "settings",
    "reviewed", "newsletter", "unsubscribed", "spam", "filter", "domain", "dns", "records",
    "registrar", "transfer", "lock", "auto", "renew", "on", "off", "certificate", "expires",
    "wildcard", "mail", "server", "smtp", "imap", "port", "alias", "catch", "all", "inbox",
    "archive", "folder", "photos", "videos", "documents", "scanned", "tax", "return",
    "receipt", "warranty", "serial", "model", "purchased", "store", "online", "order",
    "delivery", "address", "parcel", "locker", "return", "window", "thirty", "days",
    "support", "chat", "hours", "weekdays", "weekend", "emergency", "contact", "doctor",
    "appointment", "clinic", "pharmacy", "prescription", "school", "portal", "grades",
    "teacher", "parent", "club", "membership", "gym", "locker", "yoga", "class", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "morning",
    "evening", "project", "repository", "fork", "branch", "review", "merge", "release",
    "version", "changelog", "issue", "tracker", "wiki", "page", "draft", "published"};

#define BENCH_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The id of item i: 32 lowercase hex characters + NUL. */
static inline void bench_item_id(char id[33], size_t i)
{
    bench_rng r;
    bench_rng_seed(&r, BENCH_SEED ^ ((uint64_t)i * 0x2545f4914f6cdd1dull));
    uint64_t a = bench_rng_next(&r), b = bench_rng_next(&r);
    snprintf(id, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

typedef struct bench_item {
    char id[33];
    char title[64];
    char username[64];
    char password[21];
    char url[96];
    char notes[1024];
    const char *tags[2];
    size_t ntags;
} bench_item;

/* 92 printable ASCII characters: everything but '"' and '\\'. */
static inline char bench_password_char(bench_rng *r)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789!#$%&'()*+,-./:;<=>?@[]^_`{|}~ ";
    return set[bench_rng_below(r, sizeof set - 2)]; /* no trailing space */
}

static inline void bench_lower_domain(char *out, size_t cap, const char *site)
{
    size_t j = 0;
    for (size_t i = 0; site[i] != '\0' && j + 1 < cap; i++) {
        char c = site[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[j++] = c;
    }
    out[j] = '\0';
}

static inline void bench_notes(char *out, size_t cap, bench_rng *r)
{
    size_t words = 90 + bench_rng_below(r, 21), len = 0;
    for (size_t w = 0; w < words; w++) {
        const char *word = bench_words[bench_rng_below(r, BENCH_COUNT(bench_words))];
        const char *sep = (w + 1 == words) ? "." : (bench_rng_below(r, 12) == 0 ? ". " : " ");
        int n = snprintf(out + len, cap - len, "%s%s", word, sep);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

/* Builds item i. variant 0 is the original; other variants change the
 * password (odd) or the notes (even), for edited copies in the merge bench. */
static inline void bench_make_item(bench_item *it, size_t i, unsigned variant)
{
    bench_rng r;
    bench_rng_seed(&r, BENCH_SEED + (uint64_t)i);
    bench_item_id(it->id, i);
    const char *site = bench_sites[bench_rng_below(&r, BENCH_COUNT(bench_sites))];
    char domain[48];
    bench_lower_domain(domain, sizeof domain, site);
    snprintf(it->title, sizeof it->title, "%s %zu", site, i);
    snprintf(it->username, sizeof it->username, "%s.%s%zu@example.org",
             bench_first[bench_rng_below(&r, BENCH_COUNT(bench_first))],
             bench_last[bench_rng_below(&r, BENCH_COUNT(bench_last))],
             bench_rng_below(&r, 100));
    for (size_t k = 0; k < 20; k++)
        it->password[k] = bench_password_char(&r);
    it->password[20] = '\0';
    snprintf(it->url, sizeof it->url, "https://%s.example.com/login", domain);
    bench_notes(it->notes, sizeof it->notes, &r);
    it->ntags = bench_rng_below(&r, 3);
    for (size_t k = 0; k < it->ntags; k++)
        it->tags[k] = bench_tags[bench_rng_below(&r, BENCH_COUNT(bench_tags))];
    if (it->ntags == 2 && it->tags[0] == it->tags[1])
        it->ntags = 1; /* tags are a set */
    if (variant != 0) {
        bench_rng e;
        bench_rng_seed(&e, BENCH_SEED ^ ((uint64_t)variant << 40) ^ (uint64_t)i);
        if (variant % 2 == 1)
            for (size_t k = 0; k < 20; k++)
                it->password[k] = bench_password_char(&e);
        else
            bench_notes(it->notes, sizeof it->notes, &e);
    }
}

/* The item as vault_item_add/update JSON. Returns the length, or 0 if cap
 * is too small. */
static inline size_t bench_item_json(char *out, size_t cap, const bench_item *it)
{
    char tags[64] = "";
    if (it->ntags == 1)
        snprintf(tags, sizeof tags, "\"%s\"", it->tags[0]);
    else if (it->ntags == 2)
        snprintf(tags, sizeof tags, "\"%s\",\"%s\"", it->tags[0], it->tags[1]);
    int n = snprintf(out, cap,
                     "{\"id\":\"%s\",\"type\":\"login\",\"title\":\"%s\",\"fields\":["
                     "{\"name\":\"username\",\"value\":\"%s\",\"hidden\":false},"
                     "{\"name\":\"password\",\"value\":\"%s\",\"hidden\":true},"
                     "{\"name\":\"url\",\"value\":\"%s\",\"hidden\":false},"
                     "{\"name\":\"notes\",\"value\":\"%s\",\"hidden\":false}],"
                     "\"tags\":[%s]}",
                     it->id, it->title, it->username, it->password, it->url, it->notes, tags);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

#endif

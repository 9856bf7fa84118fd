/*
 * vaultd — the reference zkvault server daemon (docs/vaultd.md).
 *
 *   vaultd --db PATH --pepper-file FILE [--addr 127.0.0.1] [--port 8443]
 *          [--cert PEM --key PEM] [--threads N] [--max-connections N]
 *          [--max-per-address N] [--memory-budget MIB]
 *   vaultd --new-pepper FILE
 *
 * Signals are blocked before any thread starts and collected with sigwait()
 * on the main thread, so no work ever happens in a signal handler.
 */
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault.h"

#define EXIT_USAGE 1
#define EXIT_PEPPER 2
#define EXIT_DATABASE 3
#define EXIT_LISTEN 4
#define EXIT_INTERNAL 5

#define PEPPER_NEW_BYTES 32u
#define PEPPER_MAX_BYTES 4096u

typedef struct {
    const char *db;
    const char *pepper_file;
    const char *addr;
    const char *cert;
    const char *key;
    const char *new_pepper;
    uint16_t port;
    vault_httpd_options limits; /* threads and the daemon's limits (docs/vaultd.md) */
} options;

#if defined(__GNUC__)
#define VAULTD_PRINTF __attribute__((format(printf, 1, 2)))
#else
#define VAULTD_PRINTF
#endif

/* One log line on stderr: an RFC 3339 UTC timestamp with milliseconds,
 * "vaultd:", the message. One fprintf per line, so that lines written by
 * several threads (store events) never interleave. Callers never pass a
 * secret: no pepper, token, email, or --db (a PostgreSQL URI may hold a
 * password). */
VAULTD_PRINTF static void log_line(const char *fmt, ...)
{
    char msg[1024], stamp[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ vaultd: %s\n", stamp, now.tv_nsec / 1000000L, msg);
}

/* The server's operator events (store errors and recoveries, rate-limit
 * trips), one line each; called on the request threads. */
static void on_server_event(int event, const char *message, void *ctx)
{
    static const char *const kinds[] = {"event", "store error", "store recovered",
                                        "rate limit"};
    (void)ctx;
    log_line("%s: %s", kinds[event >= 1 && event <= 3 ? event : 0], message);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vaultd --db PATH --pepper-file FILE [--addr 127.0.0.1] [--port 8443]\n"
            "              [--cert PEM --key PEM] [--threads N] [--max-connections N]\n"
            "              [--max-per-address N] [--memory-budget MIB]\n"
            "       vaultd --new-pepper FILE\n"
            "\n"
            "Serves the zkvault protocol as POST /v1/api/<op>. --port 0 picks a free port.\n"
            "Once listening it prints one line: vaultd listening on ADDR:PORT\n"
            "(IPv6 addresses in brackets). SIGINT or SIGTERM stops it cleanly.\n"
            "Its log goes to stderr, one timestamped line per event (start-up,\n"
            "shutdown, store errors and recoveries, rate-limit trips), no secrets.\n"
            "\n"
            "  --db DB            the store: a SQLite file (created if missing), or a\n"
            "                     PostgreSQL connection URI shared by several vaultd:\n"
            "                     postgresql://[user@][host][:port]/dbname[?param=value&...]\n"
            "                     (postgres:// too), e.g. postgresql://vaultd@db:5432/vault\n"
            "                     ?sslmode=verify-full or postgresql:///vault?host=/run/postgresql\n"
            "                     Keep passwords out of it (~/.pgpass, PGPASSWORD).\n"
            "  --pepper-file FILE server secret: the raw bytes of the file (>= 32)\n"
            "  --addr ADDR        numeric IPv4 or IPv6 address to bind (127.0.0.1)\n"
            "  --port N           TCP port, 0..65535 (8443)\n"
            "  --cert/--key PEM   serve HTTPS with this certificate and key\n"
            "  --threads N        worker threads, 1..256 (4)\n"
            "  --max-connections N      open connections, 1..100000 (1024)\n"
            "  --max-per-address N      open connections per client IP, 1..100000 (64)\n"
            "  --memory-budget MIB      in-flight request memory, 16..1048576 MiB (1024)\n"
            "  --new-pepper FILE  write 32 random bytes to a new FILE (mode 0600) and exit\n"
            "\n"
            "exit codes: 0 stopped cleanly / pepper written, 1 usage error,\n"
            "            2 pepper file problem, 3 database cannot be opened,\n"
            "            4 cannot listen (address, port or TLS files), 5 internal error\n");
}

static int parse_number(const char *text, unsigned long min, unsigned long max,
                        unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.addr = "127.0.0.1", .port = 8443};
    vault_httpd_options_init(&o->limits);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n = 0;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (val == NULL) {
            log_line("%s needs a value (or is unknown)", arg);
            return -1;
        }
        i++;
        if (strcmp(arg, "--db") == 0) {
            o->db = val;
        } else if (strcmp(arg, "--pepper-file") == 0) {
            o->pepper_file = val;
        } else if (strcmp(arg, "--addr") == 0) {
            o->addr = val;
        } else if (strcmp(arg, "--cert") == 0) {
            o->cert = val;
        } else if (strcmp(arg, "--key") == 0) {
            o->key = val;
        } else if (strcmp(arg, "--new-pepper") == 0) {
            o->new_pepper = val;
        } else if (strcmp(arg, "--port") == 0 && parse_number(val, 0, 65535, &n) == 0) {
            o->port = (uint16_t)n;
        } else if (strcmp(arg, "--threads") == 0 && parse_number(val, 1, 256, &n) == 0) {
            o->limits.threads = (uint32_t)n;
        } else if (strcmp(arg, "--max-connections") == 0 &&
                   parse_number(val, 1, 100000, &n) == 0) {
            o->limits.max_connections = (uint32_t)n;
        } else if (strcmp(arg, "--max-per-address") == 0 &&
                   parse_number(val, 1, 100000, &n) == 0) {
            o->limits.max_per_address = (uint32_t)n;
        } else if (strcmp(arg, "--memory-budget") == 0 &&
                   parse_number(val, 16, 1048576, &n) == 0) {
            o->limits.memory_budget = (uint64_t)n * 1024u * 1024u;
        } else {
            log_line("bad option or value: %s %s", arg, val);
            return -1;
        }
    }
    if (o->new_pepper != NULL)
        return 0;
    if (o->db == NULL || o->pepper_file == NULL) {
        log_line("--db and --pepper-file are required");
        return -1;
    }
    if ((o->cert == NULL) != (o->key == NULL)) {
        log_line("--cert and --key go together");
        return -1;
    }
    return 0;
}

/* O_EXCL: an existing pepper is never replaced, since that would lock every
 * user out (their verifiers are keyed by it). */
static int write_new_pepper(const char *path)
{
    uint8_t pepper[PEPPER_NEW_BYTES];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_line("cannot create %s: %s", path, strerror(errno));
        return EXIT_PEPPER;
    }
    randombytes_buf(pepper, sizeof pepper);
    int ok = write(fd, pepper, sizeof pepper) == (ssize_t)sizeof pepper && fsync(fd) == 0;
    sodium_memzero(pepper, sizeof pepper);
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        log_line("cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return EXIT_PEPPER;
    }
    printf("vaultd: wrote a new %u-byte pepper to %s\n", PEPPER_NEW_BYTES, path);
    return 0;
}

/* Reads the pepper into guarded memory (sodium_malloc); *len its size. */
static int read_pepper(const char *path, uint8_t **pepper, size_t *len)
{
    int rc = EXIT_PEPPER;
    uint8_t *buf = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        log_line("cannot read the pepper file %s", path);
        goto done;
    }
    if (st.st_size < (off_t)VAULT_PEPPER_MIN_BYTES || st.st_size > (off_t)PEPPER_MAX_BYTES) {
        log_line("the pepper file must hold %u to %u bytes",
                VAULT_PEPPER_MIN_BYTES, PEPPER_MAX_BYTES);
        goto done;
    }
    if (st.st_mode & 077)
        log_line("warning: %s is readable by group or others; chmod 600 it",
                path);
    size_t size = (size_t)st.st_size;
    if ((buf = sodium_malloc(size)) == NULL) {
        log_line("out of memory");
        goto done;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n <= 0) {
            log_line("cannot read the pepper file %s", path);
            goto done;
        }
        got += (size_t)n;
    }
    *pepper = buf;
    *len = size;
    buf = NULL;
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    sodium_free(buf);
    return rc;
}

static void print_listening(const char *addr, uint16_t port)
{
    if (strchr(addr, ':') != NULL)
        printf("vaultd listening on [%s]:%u\n", addr, (unsigned)port);
    else
        printf("vaultd listening on %s:%u\n", addr, (unsigned)port);
    fflush(stdout);
}

static int is_postgres(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

static int wait_for_stop_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static int serve(const options *o, const sigset_t *signals)
{
    int rc = 0;
    uint8_t *pepper = NULL;
    size_t pepper_len = 0;
    vault_server *server = NULL;
    vault_httpd *httpd = NULL;
    if ((rc = read_pepper(o->pepper_file, &pepper, &pepper_len)) != 0)
        goto done;
    if (vault_server_open(&server, o->db, pepper, pepper_len, 0) != VAULT_OK) {
        /* Not o->db: a PostgreSQL URI may carry a password. */
        log_line("cannot open the database: %s", vault_last_error());
        rc = EXIT_DATABASE;
        goto done;
    }
    vault_server_set_event_handler(server, on_server_event, NULL);
    sodium_free(pepper); /* the server keeps its own copy */
    pepper = NULL;
    if (vault_httpd_start_v2(&httpd, server, o->addr, o->port, o->cert, o->key, &o->limits) !=
        VAULT_OK) {
        log_line("cannot listen on %s port %u: %s", o->addr,
                (unsigned)o->port, vault_last_error());
        rc = EXIT_LISTEN;
        goto done;
    }
    print_listening(o->addr, vault_httpd_port(httpd));
    log_line("started: %s store, %s on %s port %u, %u threads, %u connections (%u per "
             "address), %llu MiB for requests",
             is_postgres(o->db) ? "PostgreSQL" : "SQLite", o->cert != NULL ? "https" : "http",
             o->addr, (unsigned)vault_httpd_port(httpd), (unsigned)o->limits.threads,
             (unsigned)o->limits.max_connections, (unsigned)o->limits.max_per_address,
             (unsigned long long)(o->limits.memory_budget / (1024u * 1024u)));
    int sig = wait_for_stop_signal(signals);
    log_line("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
done:
    vault_httpd_stop(httpd);
    vault_server_close(server);
    sodium_free(pepper);
    if (httpd != NULL)
        log_line("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    /* Before the pepper is read: a crash must not write it to a core file. */
    if (vault_process_harden() != VAULT_OK || vault_init() != VAULT_OK) {
        log_line("cannot initialise the library: %s", vault_last_error());
        return EXIT_INTERNAL;
    }
    if (o.new_pepper != NULL)
        return write_new_pepper(o.new_pepper);
    /* Blocked here, before the daemon's threads exist, so they inherit the
     * mask and only sigwait() below ever sees these signals. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0) {
        log_line("cannot block signals");
        return EXIT_INTERNAL;
    }
    signal(SIGPIPE, SIG_IGN);
    return serve(&o, &signals);
}

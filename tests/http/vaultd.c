/* The vaultd program: pepper creation, argument errors, a served request and
 * a clean stop on SIGTERM/SIGINT. Runs the built binary; skipped loudly when
 * the examples are not built. */
#include "http_tests.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"

#define VAULTD VAULT_TEST_BINARY_DIR "/vaultd"
#define WAIT_MS 30000

static void require_vaultd(void)
{
    if (access(VAULTD, X_OK) != 0) {
        fprintf(stderr, "\n*** SKIPPED: %s is not built (VAULT_BUILD_EXAMPLES=OFF?) ***\n\n",
                VAULTD);
        skip();
    }
}

/* Where the next spawn's stderr goes (NULL: /dev/null). */
static const char *spawn_stderr;

/* Starts vaultd with argv (argv[0] is ignored); its stdout is *out_fd. */
static pid_t spawn(char *const argv[], int *out_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = spawn_stderr != NULL
                          ? open(spawn_stderr, O_WRONLY | O_CREAT | O_TRUNC, 0600)
                          : open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(p[0]);
        close(p[1]);
        execv(VAULTD, argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

/* The exit status, waiting at most WAIT_MS; kills and fails on a hang. */
static int wait_exit(pid_t pid)
{
    int status = 0;
    for (int waited = 0; waited < WAIT_MS; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("vaultd did not exit in time");
    return -1;
}

static int run(char *const argv[])
{
    int fd = -1;
    pid_t pid = spawn(argv, &fd);
    int rc = wait_exit(pid);
    close(fd);
    return rc;
}

/* Reads one line from fd, waiting at most WAIT_MS in total. */
static void read_line(int fd, char *line, size_t size)
{
    size_t len = 0;
    for (int waited = 0; len + 1 < size && waited < WAIT_MS;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        char c;
        if (read(fd, &c, 1) != 1)
            break;
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = '\0';
}

static void write_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void test_http_vaultd__new_pepper_is_random_private_and_never_overwritten(void **state)
{
    (void)state;
    require_vaultd();
    char path[768], path2[768];
    snprintf(path, sizeof path, "%s", test_path("new.pepper"));
    snprintf(path2, sizeof path2, "%s", test_path("new2.pepper"));
    unlink(path);
    unlink(path2);
    char *argv[] = {"vaultd", "--new-pepper", path, NULL};
    assert_int_equal(run(argv), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len = 0;
    uint8_t *first = test_read_file(path, &len);
    assert_non_null(first);
    assert_int_equal(run(argv), 2); /* exists: refused */
    uint8_t *again = test_read_file(path, &len);
    assert_memory_equal(first, again, 32);
    char *argv2[] = {"vaultd", "--new-pepper", path2, NULL};
    assert_int_equal(run(argv2), 0);
    uint8_t *second = test_read_file(path2, &len);
    assert_memory_not_equal(first, second, 32);
    free(first);
    free(again);
    free(second);
}

static void test_http_vaultd__bad_arguments_exit_with_documented_codes(void **state)
{
    (void)state;
    require_vaultd();
    char pepper_path[768], short_path[768], db[768];
    snprintf(pepper_path, sizeof pepper_path, "%s", test_path("args.pepper"));
    snprintf(short_path, sizeof short_path, "%s", test_path("short.pepper"));
    snprintf(db, sizeof db, "%s", test_path("args.db"));
    uint8_t pepper[32];
    test_key(pepper, 0x40);
    write_file(pepper_path, pepper, 32, 0600);
    write_file(short_path, pepper, 31, 0600);
    char *help[] = {"vaultd", "--help", NULL};
    assert_int_equal(run(help), 0);
    /* --help documents PostgreSQL URIs for --db. */
    int help_fd = -1;
    pid_t help_pid = spawn(help, &help_fd);
    int pg_documented = 0;
    for (int i = 0; i < 60 && !pg_documented; i++) {
        char line[256];
        read_line(help_fd, line, sizeof line);
        pg_documented = strstr(line, "postgresql://[user@][host][:port]/dbname") != NULL;
    }
    assert_int_equal(wait_exit(help_pid), 0);
    close(help_fd);
    assert_true(pg_documented);
    char *none[] = {"vaultd", NULL};
    assert_int_equal(run(none), 1);
    char *no_db[] = {"vaultd", "--pepper-file", pepper_path, NULL};
    assert_int_equal(run(no_db), 1);
    char *bad_port[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--port", "70000",
                        NULL};
    assert_int_equal(run(bad_port), 1);
    char *bad_threads[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--threads", "0",
                           NULL};
    assert_int_equal(run(bad_threads), 1);
    char *no_conns[] = {"vaultd", "--db", db, "--pepper-file", pepper_path,
                        "--max-connections", "0", NULL};
    assert_int_equal(run(no_conns), 1);
    char *tiny_budget[] = {"vaultd", "--db", db, "--pepper-file", pepper_path,
                           "--memory-budget", "15", NULL};
    assert_int_equal(run(tiny_budget), 1);
    char *cert_only[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--cert", "c.pem",
                         NULL};
    assert_int_equal(run(cert_only), 1);
    char *unknown[] = {"vaultd", "--frobnicate", "1", NULL};
    assert_int_equal(run(unknown), 1);
    char *short_pepper[] = {"vaultd", "--db", db, "--pepper-file", short_path, NULL};
    assert_int_equal(run(short_pepper), 2);
    char *no_pepper[] = {"vaultd", "--db", db, "--pepper-file", "/nonexistent/p", NULL};
    assert_int_equal(run(no_pepper), 2);
    char *bad_db[] = {"vaultd", "--db", "/nonexistent/dir/x.db", "--pepper-file", pepper_path,
                      NULL};
    assert_int_equal(run(bad_db), 3);
    char *bad_addr[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--addr",
                        "not-an-address", "--port", "0", NULL};
    assert_int_equal(run(bad_addr), 4);
}

/* vaultd's stderr: one line per event, each "YYYY-MM-DDTHH:MM:SS.mmmZ vaultd: ...";
 * start-up, the signal and the stop, in that order; never the pepper. */
static void check_log(const char *path, int sig)
{
    size_t len = 0;
    char *log = (char *)test_read_file(path, &len);
    assert_non_null(log);
    const char *expected[] = {"vaultd: started: SQLite store, http on 127.0.0.1 port ",
                              sig == SIGTERM ? "vaultd: SIGTERM received, stopping"
                                             : "vaultd: SIGINT received, stopping",
                              "vaultd: stopped"};
    size_t next = 0;
    for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        int y, mo, d, h, mi, s, ms, end = 0;
        if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ vaultd: %n", &y, &mo, &d, &h, &mi, &s,
                   &ms, &end) != 7 || end == 0)
            fail_msg("log line without a timestamp: \"%s\"", line);
        if (next < 3 && strstr(line, expected[next]) != NULL)
            next++;
    }
    if (next != 3)
        fail_msg("the log lacks \"%s\"", expected[next]);
    free(log);
}

static void serve_and_stop(int sig)
{
    char pepper_path[768], db[768], local_db[768];
    snprintf(pepper_path, sizeof pepper_path, "%s", test_path("serve.pepper"));
    snprintf(db, sizeof db, "%s", test_path("serve.db"));
    snprintf(local_db, sizeof local_db, "%s", test_path("serve-local.db"));
    uint8_t pepper[32];
    test_key(pepper, 0x51);
    write_file(pepper_path, pepper, 32, 0600);
    char *argv[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--addr", "127.0.0.1",
                    "--port", "0", "--threads", "2", NULL};
    int fd = -1;
    char log_path[768];
    snprintf(log_path, sizeof log_path, "%s", test_path("serve.log"));
    spawn_stderr = log_path;
    pid_t pid = spawn(argv, &fd);
    spawn_stderr = NULL;
    char line[128];
    read_line(fd, line, sizeof line);
    unsigned port = 0;
    int n = sscanf(line, "vaultd listening on 127.0.0.1:%u", &port);
    if (n != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("unexpected first line: \"%s\"", line);
    }
    assert_true(port > 0 && port < 65536);

    /* An unknown email's register_start depends only on the pepper: a local server
     * with the same pepper must give the very same answer. */
    char base[64], req[256];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    http_probe_request(req, sizeof req, "nobody@example.com");
    vault_transport__http *t = NULL;
    assert_int_equal(vault_transport__http_new(&t, base, 0), VAULT_OK);
    char *answer = NULL;
    size_t len = 0;
    assert_int_equal(vault_transport__http_call(req, strlen(req), &answer, &len, t), VAULT_OK);
    vault_transport__http_free(t);
    unlink(local_db);
    vault_server *s = NULL;
    assert_int_equal(vault_server_open(&s, local_db, pepper, sizeof pepper, 0), VAULT_OK);
    char *local = http_local_answer(s, req);
    assert_string_equal(answer, local);
    vault_free(local);
    vault_free(answer);
    vault_server_close(s);

    assert_int_equal(kill(pid, sig), 0);
    assert_int_equal(wait_exit(pid), 0);
    close(fd);
    check_log(log_path, sig);
}

static void test_http_vaultd__serves_and_stops_on_sigterm(void **state)
{
    (void)state;
    require_vaultd();
    serve_and_stop(SIGTERM);
}

static void test_http_vaultd__serves_and_stops_on_sigint(void **state)
{
    (void)state;
    require_vaultd();
    serve_and_stop(SIGINT);
}

/* The "Max core file size" line of /proc/<pid>/limits: soft and hard. */
static void core_limits(pid_t pid, char *soft, char *hard, size_t size)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    soft[0] = hard[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Max core file size", 18) == 0)
            assert_int_equal(sscanf(line + 18, "%31s %31s", soft, hard), 2);
    fclose(f);
    assert_true(size >= 32);
}

/* Abuse case A7 (docs/security.md): a running vaultd holds the pepper; its
 * core size limit, read by the kernel's account of the child, is 0/0. */
static void test_http_vaultd__a7_core_dumps_are_disabled(void **state)
{
    (void)state;
    require_vaultd();
    char pepper_path[768], db[768], line[128], soft[32], hard[32];
    snprintf(pepper_path, sizeof pepper_path, "%s", test_path("core.pepper"));
    snprintf(db, sizeof db, "%s", test_path("core.db"));
    uint8_t pepper[32];
    test_key(pepper, 0x52);
    write_file(pepper_path, pepper, 32, 0600);
    char *argv[] = {"vaultd", "--db", db, "--pepper-file", pepper_path, "--addr", "127.0.0.1",
                    "--port", "0", "--max-connections", "100", "--max-per-address", "10",
                    "--memory-budget", "64", NULL};
    int fd = -1;
    pid_t pid = spawn(argv, &fd);
    read_line(fd, line, sizeof line); /* listening: past start-up (and the limits taken) */
    assert_non_null(strstr(line, "vaultd listening on 127.0.0.1:"));
    core_limits(pid, soft, hard, sizeof soft);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(wait_exit(pid), 0);
    close(fd);
    assert_string_equal(soft, "0");
    assert_string_equal(hard, "0");
}

int http_run_vaultd_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_vaultd__new_pepper_is_random_private_and_never_overwritten),
        cmocka_unit_test(test_http_vaultd__bad_arguments_exit_with_documented_codes),
        cmocka_unit_test(test_http_vaultd__serves_and_stops_on_sigterm),
        cmocka_unit_test(test_http_vaultd__serves_and_stops_on_sigint),
        cmocka_unit_test(test_http_vaultd__a7_core_dumps_are_disabled),
    };
    return cmocka_run_group_tests_name("http_vaultd", tests, NULL, NULL);
}

/* vaultd processes and an HTTP client for them. */
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgcluster.h"

#define START_TIMEOUT_MS 30000
#define REQUEST_TIMEOUT_S 30L

/* Reads the daemon's first stdout line, waiting at most START_TIMEOUT_MS. */
static void read_line(int fd, char *line, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, START_TIMEOUT_MS) != 1)
            fail_msg("vaultd did not say it was listening within %d ms", START_TIMEOUT_MS);
        ssize_t got = read(fd, line + n, 1);
        if (got != 1)
            fail_msg("vaultd exited before listening (see its stderr above)");
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
}

void pgc_daemon_start(pgc_daemon *d, const char *db, const char *pepper_file)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(VAULT_TEST_BINARY_DIR "/vaultd", "vaultd", "--db", db, "--pepper-file",
              pepper_file, "--port", "0", "--threads", "8", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128];
    read_line(out[0], line, sizeof line);
    /* Nothing else is read: vaultd ignores SIGPIPE. */
    close(out[0]);
    unsigned port = 0;
    if (sscanf(line, "vaultd listening on 127.0.0.1:%u", &port) != 1 || port == 0)
        fail_msg("unexpected first line from vaultd: %s", line);
    d->pid = pid;
    d->port = port;
}

void pgc_daemon_stop(pgc_daemon *d)
{
    int status = 0;
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
    d->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

void pgc_http_init(pgc_http *h, unsigned port)
{
    h->curl = curl_easy_init();
    assert_non_null(h->curl);
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%u/v1/api", port);
}

void pgc_http_free(pgc_http *h)
{
    curl_easy_cleanup(h->curl);
    h->curl = NULL;
}

cJSON *pgc_call(pgc_http *h, cJSON *request)
{
    char *text = cJSON_PrintUnformatted(request);
    cJSON_Delete(request);
    assert_non_null(text);
    test_buffer b = {NULL, 0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *curl = h->curl;
    curl_easy_setopt(curl, CURLOPT_URL, h->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, test_buffer_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    cJSON_free(text);
    cJSON *resp = rc == CURLE_OK && b.data != NULL ? cJSON_Parse(b.data) : NULL;
    free(b.data);
    return resp;
}

const char *pgc_error_code(const cJSON *resp)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")))
        return "";
    return cJSON_IsString(code) ? code->valuestring : "malformed";
}

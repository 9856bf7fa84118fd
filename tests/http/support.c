/* Fixtures of the HTTP tests: a server behind vault_httpd, raw HTTP calls. */
#include "http_tests.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

vault_server *http_server_open(const char *db_name)
{
    uint8_t pepper[32];
    vault_server *s = NULL;
    test_key(pepper, 0x40);
    const char *db = test_path(db_name);
    unlink(db);
    assert_int_equal(vault_server_open(&s, db, pepper, sizeof pepper, 0), VAULT_OK);
    return s;
}

void http_fixture_start(http_fixture *f, const char *db_name)
{
    memset(f, 0, sizeof *f);
    f->server = http_server_open(db_name);
    assert_int_equal(vault_httpd_start(&f->httpd, f->server, "127.0.0.1", 0, NULL, NULL, 2),
                     VAULT_OK);
    assert_true(vault_httpd_port(f->httpd) != 0);
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%u",
             (unsigned)vault_httpd_port(f->httpd));
}

void http_fixture_stop(http_fixture *f)
{
    vault_httpd_stop(f->httpd);
    vault_server_close(f->server);
    memset(f, 0, sizeof *f);
}

http_fixture http_fx;

int http_setup(void **state)
{
    static unsigned n;
    char name[32];
    (void)state;
    snprintf(name, sizeof name, "http%u.db", n++);
    http_fixture_start(&http_fx, name);
    return 0;
}

int http_teardown(void **state)
{
    (void)state;
    http_fixture_stop(&http_fx);
    return 0;
}

int http_protocol_version(void)
{
    return 2;
}

void http_probe_request(char *buf, size_t size, const char *email)
{
    int n = snprintf(buf, size,
                     "{\"v\":%d,\"op\":\"register_start\",\"email\":\"%s\",\"request\":"
                     "\"5059ff249eb1551b7ce4991f3336205bde44a105a032e747d21bf382e75f7a71\"}",
                     http_protocol_version(), email);
    assert_true(n > 0 && (size_t)n < size);
}

char *http_local_answer(vault_server *s, const char *request)
{
    char *answer = NULL;
    assert_int_equal(vault_server_handle(s, request, strlen(request), &answer), VAULT_OK);
    assert_non_null(answer);
    return answer;
}

int http_is_error(const char *answer, const char *code)
{
    cJSON *j = cJSON_Parse(answer);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
    int yes = cJSON_IsFalse(ok) && cJSON_IsString(c) && strcmp(c->valuestring, code) == 0 &&
              cJSON_IsString(m);
    cJSON_Delete(j);
    return yes;
}

/* ------------------------------------------------------------- raw requests */

typedef struct {
    uint64_t left;
    uint64_t sent;
} source;

static char last_headers[4096];
static size_t last_headers_len;

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    (void)ctx;
    size_t n = size * nmemb;
    if (n < sizeof last_headers - last_headers_len - 1) {
        memcpy(last_headers + last_headers_len, data, n);
        last_headers_len += n;
        last_headers[last_headers_len] = '\0';
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
    source *src = ctx;
    size_t n = size * nmemb;
    if (n > src->left)
        n = (size_t)src->left;
    memset(buf, '{', n);
    src->left -= n;
    src->sent += n;
    return n;
}

const char *http_raw_last_header(const char *name)
{
    static char value[256];
    value[0] = '\0';
    size_t name_len = strlen(name);
    for (const char *line = last_headers; *line != '\0';) {
        const char *eol = strstr(line, "\r\n");
        size_t line_len = eol != NULL ? (size_t)(eol - line) : strlen(line);
        if (line_len > name_len + 1 && strncasecmp(line, name, name_len) == 0 &&
            line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t v_len = line_len - (size_t)(v - line);
            if (v_len >= sizeof value)
                v_len = sizeof value - 1;
            memcpy(value, v, v_len);
            value[v_len] = '\0';
            return value;
        }
        if (eol == NULL)
            break;
        line = eol + 2;
    }
    return value;
}

long http_raw(const char *url, const http_raw_request *req, char **answer,
              uint64_t *bytes_sent)
{
    CURL *e = curl_easy_init();
    assert_non_null(e);
    test_buffer s = {NULL, 0};
    source src = {req->stream_len, 0};
    struct curl_slist *headers = NULL;
    char ct[128];
    const char *type = req->content_type != NULL ? req->content_type : "application/json";
    snprintf(ct, sizeof ct, "Content-Type: %s", type);
    headers = curl_slist_append(headers, type[0] != '\0' ? ct : "Content-Type:");
    if (req->chunked)
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    last_headers_len = 0;
    last_headers[0] = '\0';

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, test_buffer_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    const char *method = req->method != NULL ? req->method : "POST";
    if (req->stream_len > 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, &src);
        if (!req->chunked)
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->stream_len);
    } else if (req->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);

    long status = -1;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    if (bytes_sent != NULL)
        *bytes_sent = src.sent;
    if (answer != NULL)
        *answer = s.data;
    else
        free(s.data);
    return status;
}

int main(void)
{
    static const test_group_fn groups[] = {http_run_url_tests,       http_run_daemon_tests,
                                           http_run_transport_tests, http_run_tls_tests,
                                           http_run_vaultd_tests,    http_run_client_tests,
                                           http_run_limits_tests};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int rc = test_run_groups(groups, sizeof groups / sizeof groups[0]);
    curl_global_cleanup();
    return rc;
}

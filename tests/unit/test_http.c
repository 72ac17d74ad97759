/*
 * tests/unit/test_http.c
 *
 * common/http (server) and common/httpc (client) together, over real HTTP on 127.0.0.1 with
 * ephemeral ports: routing with path parameters and query arguments, the JSON error shape of
 * 404/405/413, handlers that block while other connections are served, client timeouts,
 * refused connections, the response cap, bearer tokens, stopping with a request in flight and
 * bad listen addresses. Every wait is bounded; the whole file runs in a few seconds.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/http.h"
#include "common/httpc.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

#define MIB ((size_t) 1024 * 1024)

/* What the handlers share with the test body; one per test, reset by fx_reset(). */
struct fixture {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered; /* a blocking handler has started */
    bool release; /* blocking handlers may return now */
    int calls;    /* handler invocations */
};

static struct fixture fx;

static uint64_t now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void fx_reset(void)
{
    pthread_mutex_lock(&fx.lock);
    fx.entered = false;
    fx.release = false;
    fx.calls = 0;
    pthread_mutex_unlock(&fx.lock);
}

static void fx_count(void)
{
    pthread_mutex_lock(&fx.lock);
    fx.calls++;
    pthread_mutex_unlock(&fx.lock);
}

static int fx_calls(void)
{
    int n;

    pthread_mutex_lock(&fx.lock);
    n = fx.calls;
    pthread_mutex_unlock(&fx.lock);
    return n;
}

static void fx_release(void)
{
    pthread_mutex_lock(&fx.lock);
    fx.release = true;
    pthread_cond_broadcast(&fx.cond);
    pthread_mutex_unlock(&fx.lock);
}

static void deadline_in(struct timespec *ts, uint32_t ms)
{
    (void) clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long) (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits at most timeout_ms for a blocking handler to start; true when it did. */
static bool fx_wait_entered(uint32_t timeout_ms)
{
    struct timespec deadline;
    bool entered;

    deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&fx.lock);
    while (!fx.entered) {
        if (pthread_cond_timedwait(&fx.cond, &fx.lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    entered = fx.entered;
    pthread_mutex_unlock(&fx.lock);
    return entered;
}

/* ---- handlers ---- */

static void h_history(const struct http_request *req, struct http_response *resp, void *ud)
{
    cJSON *j = cJSON_CreateObject();
    const char *since = http_request_query(req, "since");
    const char *flag = http_request_query(req, "flag");

    (void) ud;
    fx_count();
    (void) cJSON_AddStringToObject(j, "method", req->method);
    (void) cJSON_AddStringToObject(j, "path", req->path);
    (void) cJSON_AddStringToObject(j, "ns", http_request_param(req, "ns"));
    (void) cJSON_AddStringToObject(j, "name", http_request_param(req, "name"));
    (void) cJSON_AddBoolToObject(j, "other_param_null", http_request_param(req, "x") == NULL);
    if (since) {
        (void) cJSON_AddStringToObject(j, "since", since);
    }
    if (flag) {
        (void) cJSON_AddStringToObject(j, "flag", flag);
    }
    (void) cJSON_AddBoolToObject(j, "absent_query_null", http_request_query(req, "nope") == NULL);
    http_response_json(resp, 200, j);
}

/* POST: answers the body's length, a checksum of its bytes and whether it is terminated. */
static void h_upload(const struct http_request *req, struct http_response *resp, void *ud)
{
    cJSON *j = cJSON_CreateObject();
    uint32_t sum = 0;

    (void) ud;
    fx_count();
    for (size_t i = 0; i < req->body_len; i++) {
        sum = sum * 31 + (unsigned char) req->body[i];
    }
    (void) cJSON_AddNumberToObject(j, "len", (double) req->body_len);
    (void) cJSON_AddNumberToObject(j, "sum", sum);
    (void) cJSON_AddBoolToObject(j, "terminated", req->body[req->body_len] == '\0');
    (void) cJSON_AddStringToObject(j, "content_type",
                                   req->content_type ? req->content_type : "(none)");
    http_response_json(resp, 201, j);
}

static void h_whoami(const struct http_request *req, struct http_response *resp, void *ud)
{
    cJSON *j = cJSON_CreateObject();

    (void) ud;
    if (req->authorization) {
        (void) cJSON_AddStringToObject(j, "authorization", req->authorization);
    } else {
        (void) cJSON_AddNullToObject(j, "authorization");
    }
    http_response_json(resp, 200, j);
}

/* Blocks until released or for ?ms= milliseconds (default 1000, at most 5000). */
static void h_block(const struct http_request *req, struct http_response *resp, void *ud)
{
    uint32_t ms = 1000;
    struct timespec deadline;

    (void) ud;
    (void) str_to_u32(http_request_query(req, "ms"), 0, 5000, &ms);
    deadline_in(&deadline, ms);
    pthread_mutex_lock(&fx.lock);
    fx.entered = true;
    fx.calls++;
    pthread_cond_broadcast(&fx.cond);
    while (!fx.release) {
        if (pthread_cond_timedwait(&fx.cond, &fx.lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&fx.lock);
    http_response_json(resp, 200, cJSON_CreateTrue());
}

static void h_fast(const struct http_request *req, struct http_response *resp, void *ud)
{
    (void) req;
    (void) ud;
    http_response_json(resp, 200, cJSON_CreateString("fast"));
}

/* A 64 KiB JSON string. */
static void h_big(const struct http_request *req, struct http_response *resp, void *ud)
{
    char *s = xmalloc((size_t) 64 * 1024);

    (void) req;
    (void) ud;
    memset(s, 'x', (size_t) 64 * 1024 - 1);
    s[(size_t) 64 * 1024 - 1] = '\0';
    http_response_json(resp, 200, cJSON_CreateString(s));
    free(s);
}

static void h_text(const struct http_request *req, struct http_response *resp, void *ud)
{
    (void) req;
    (void) ud;
    resp->status = 200;
    resp->body = xstrdup("og_up 1\n");
    resp->content_type = "text/plain; version=0.0.4";
}

static void h_empty(const struct http_request *req, struct http_response *resp, void *ud)
{
    (void) req;
    (void) ud;
    http_response_json(resp, 204, NULL);
}

static void h_nostatus(const struct http_request *req, struct http_response *resp, void *ud)
{
    (void) req;
    (void) ud;
    (void) resp;
}

/* Answers the client's TCP port, to tell connections apart. */
static void h_peer(const struct http_request *req, struct http_response *resp, void *ud)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(req->conn_, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr_in *sin = ci ? (const struct sockaddr_in *) ci->client_addr : NULL;

    (void) ud;
    http_response_json(resp, 200, cJSON_CreateNumber(sin ? ntohs(sin->sin_port) : 0));
}

static const struct http_route routes[] = {
        {"GET", "/api/v1/clusters/{ns}/{name}/history", h_history},
        {"POST", "/api/v1/clusters/{ns}/{name}/history", h_upload},
        {"GET", "/whoami", h_whoami},
        {"GET", "/block", h_block},
        {"GET", "/fast", h_fast},
        {"GET", "/big", h_big},
        {"GET", "/metrics", h_text},
        {"GET", "/empty", h_empty},
        {"GET", "/nostatus", h_nostatus},
        {"GET", "/peer", h_peer},
        {"PUT", "/upload", h_upload},
        {"POST", "/upload", h_upload},
};

/* ---- helpers ---- */

/* Starts a server on 127.0.0.1:0 with the test routes; NULL (and a failed assert) on error. */
static struct http_server *start_server_timeout(size_t max_body, unsigned timeout_s, char *base,
                                                size_t size)
{
    struct http_server_config cfg = {.listen = "127.0.0.1:0",
                                     .routes = routes,
                                     .n_routes = sizeof(routes) / sizeof(routes[0]),
                                     .max_body = max_body,
                                     .conn_timeout_s = timeout_s};
    struct http_server *s = NULL;
    struct errbuf eb = {{0}};
    int r;

    fx_reset();
    r = http_server_start(&cfg, &s, &eb);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    if (r < 0) {
        fprintf(stderr, "http_server_start: %s\n", eb.msg);
        return NULL;
    }
    CU_ASSERT_NOT_EQUAL(http_server_port(s), 0);
    (void) snprintf(base, size, "http://127.0.0.1:%u", (unsigned) http_server_port(s));
    return s;
}

static struct http_server *start_server(size_t max_body, char *base, size_t size)
{
    return start_server_timeout(max_body, 5, base, size);
}

static struct httpc *new_client(uint32_t timeout_ms, size_t max_response, const char *token)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000,
                                .timeout_ms = timeout_ms,
                                .max_response = max_response,
                                .bearer_token = token};
    struct httpc *c = httpc_new(&opt);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* httpc_json GET on base + path; returns the rc, status and the parsed body (owned). */
static int get_json(struct httpc *c, const char *base, const char *path, long *status, cJSON **json)
{
    char url[256];
    struct errbuf eb = {{0}};
    int r;

    (void) snprintf(url, sizeof(url), "%s%s", base, path);
    *status = 0;
    *json = NULL;
    r = httpc_json(c, "GET", url, NULL, 0, status, json, &eb);
    if (r < 0) {
        fprintf(stderr, "  (GET %s: %d %s)\n", path, r, eb.msg);
    }
    return r;
}

/* True when json is exactly {"error":{"code":status,"message":"<non-empty>"}}. */
static bool is_error_body(const cJSON *json, int status)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(json, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");

    return cJSON_IsObject(json) && cJSON_GetArraySize(json) == 1 && cJSON_IsObject(err) &&
           cJSON_GetArraySize(err) == 2 && cJSON_IsNumber(code) && code->valueint == status &&
           cJSON_IsString(msg) && msg->valuestring[0] != '\0';
}

static const char *jstr(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static double jnum(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);

    return cJSON_IsNumber(item) ? item->valuedouble : -1;
}

/*
 * Sends raw bytes to 127.0.0.1:port and reads the answer until EOF, the buffer is full or
 * timeout_ms passes; returns the bytes read (out is terminated) or -1.
 */
static ssize_t raw_exchange(uint16_t port, const char *const *parts, size_t n_parts, char *out,
                            size_t size, uint32_t timeout_ms)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    uint64_t deadline = now_ms() + timeout_ms;
    size_t got = 0;
    int fd;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
        goto fail;
    }
    for (size_t i = 0; i < n_parts; i++) {
        size_t len = strlen(parts[i]), off = 0;

        while (off < len) {
            ssize_t n = send(fd, parts[i] + off, len - off, MSG_NOSIGNAL);

            if (n <= 0) {
                goto read; /* the server may answer and close before reading it all */
            }
            off += (size_t) n;
        }
    }
read:
    while (got + 1 < size && now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, (int) (deadline - now_ms())) <= 0) {
            break;
        }
        n = recv(fd, out + got, size - 1 - got, 0);
        if (n <= 0) {
            break;
        }
        got += (size_t) n;
    }
    out[got] = '\0';
    (void) close(fd);
    return (ssize_t) got;
fail:
    (void) close(fd);
    return -1;
}

/* A GET made from another thread, for the concurrency and shutdown tests. */
struct client_job {
    char url[256];
    uint32_t timeout_ms;
    int rc;
    long status;
    uint64_t elapsed_ms;
    pthread_t thread;
};

static void *client_job_run(void *arg)
{
    struct client_job *job = arg;
    struct httpc_options opt = {.connect_timeout_ms = 1000, .timeout_ms = job->timeout_ms};
    struct httpc *c = httpc_new(&opt);
    struct httpc_request req = {.method = "GET", .url = job->url};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    uint64_t t0 = now_ms();

    job->rc = c ? httpc_do(c, &req, &resp, &eb) : -ENOMEM;
    job->status = resp.status;
    job->elapsed_ms = now_ms() - t0;
    httpc_response_done(&resp);
    httpc_free(c);
    return NULL;
}

static bool client_job_start(struct client_job *job, const char *base, const char *path,
                             uint32_t timeout_ms)
{
    (void) snprintf(job->url, sizeof(job->url), "%s%s", base, path);
    job->timeout_ms = timeout_ms;
    job->rc = 1;
    return pthread_create(&job->thread, NULL, client_job_run, job) == 0;
}

/* ---- tests ---- */

static void test_http_route_params_and_query(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    cJSON *j = NULL;
    long st = 0;

    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters/ns1/demo/history?since=42&flag", &st, &j),
                    0);
    CU_ASSERT_EQUAL(st, 200);
    CU_ASSERT_STRING_EQUAL(jstr(j, "method"), "GET");
    CU_ASSERT_STRING_EQUAL(jstr(j, "path"), "/api/v1/clusters/ns1/demo/history");
    CU_ASSERT_STRING_EQUAL(jstr(j, "ns"), "ns1");
    CU_ASSERT_STRING_EQUAL(jstr(j, "name"), "demo");
    CU_ASSERT_STRING_EQUAL(jstr(j, "since"), "42");
    CU_ASSERT_STRING_EQUAL(jstr(j, "flag"), "");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "other_param_null")));
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "absent_query_null")));
    cJSON_Delete(j);

    /* Percent-decoding of the query; no query at all. */
    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters/a/b/history?since=a%20b", &st, &j), 0);
    CU_ASSERT_STRING_EQUAL(jstr(j, "since"), "a b");
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters/a/b/history", &st, &j), 0);
    CU_ASSERT_PTR_NULL(jstr(j, "since"));
    cJSON_Delete(j);

    /* Segment counts must be equal, and a {name} never matches an empty segment. */
    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters/a/history", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 404);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters/a/b/history/x", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 404);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(get_json(c, base, "/api/v1/clusters//b/history", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 404);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(get_json(c, base, "/fast/", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 404);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(fx_calls(), 3);

    httpc_free(c);
    http_server_stop(s);
}

static void test_http_request_built_by_hand(void)
{
    struct http_request req = {.method = "GET", .path = "/x", .body = ""};

    req.params[0] = (struct http_kv){"ns", "prod"};
    req.n_params = 1;
    req.query[0] = (struct http_kv){"since", "7"};
    req.n_query = 1;
    CU_ASSERT_STRING_EQUAL(http_request_param(&req, "ns"), "prod");
    CU_ASSERT_PTR_NULL(http_request_param(&req, "name"));
    CU_ASSERT_STRING_EQUAL(http_request_query(&req, "since"), "7");
    CU_ASSERT_PTR_NULL(http_request_query(&req, "ns"));
    CU_ASSERT_PTR_NULL(http_request_param(NULL, "ns"));
}

static void test_http_not_found_json_error(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    cJSON *j = NULL;
    long st = 0;

    CU_ASSERT_EQUAL(get_json(c, base, "/nope", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 404);
    CU_ASSERT_TRUE(is_error_body(j, 404));
    cJSON_Delete(j);

    /* The helper itself, as handlers use it. */
    {
        struct http_response resp = {0};

        http_response_error(&resp, 409, "conflict on %s", "demo");
        CU_ASSERT_EQUAL(resp.status, 409);
        CU_ASSERT_STRING_EQUAL(resp.body,
                               "{\"error\":{\"code\":409,\"message\":\"conflict on demo\"}}");
        http_response_error(&resp, 400, "quote \" and newline \n");
        j = cJSON_Parse(resp.body);
        CU_ASSERT_TRUE(is_error_body(j, 400));
        CU_ASSERT_STRING_EQUAL(
                cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message")->valuestring,
                "quote \" and newline \n");
        cJSON_Delete(j);
        free(resp.body);
    }
    httpc_free(c);
    http_server_stop(s);
}

static void test_http_method_not_allowed(void)
{
    char base[64], url[128], raw[4096];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    struct errbuf eb = {{0}};
    const char *req[] = {"DELETE /api/v1/clusters/a/b/history HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n"};
    cJSON *j = NULL;
    long st = 0;

    (void) snprintf(url, sizeof(url), "%s/api/v1/clusters/a/b/history", base);
    CU_ASSERT_EQUAL(httpc_json(c, "DELETE", url, NULL, 0, &st, &j, &eb), 0);
    CU_ASSERT_EQUAL(st, 405);
    CU_ASSERT_TRUE(is_error_body(j, 405));
    cJSON_Delete(j);

    /* The Allow header lists each method of the path once, in table order. */
    CU_ASSERT_TRUE(raw_exchange(http_server_port(s), req, 1, raw, sizeof(raw), 2000) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "HTTP/1.1 405"));
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "\r\nAllow: GET, POST\r\n"));
    CU_ASSERT_EQUAL(fx_calls(), 0);

    httpc_free(c);
    http_server_stop(s);
}

static void test_http_no_status_is_500(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    cJSON *j = NULL;
    long st = 0;

    CU_ASSERT_EQUAL(get_json(c, base, "/nostatus", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 500);
    CU_ASSERT_TRUE(is_error_body(j, 500));
    cJSON_Delete(j);
    httpc_free(c);
    http_server_stop(s);
}

static void test_http_body_cap_413(void)
{
    char base[64], url[128];
    struct http_server *s = start_server(MIB, base, sizeof(base));
    struct httpc *c = new_client(5000, 0, NULL);
    struct httpc_request req = {.method = "POST", .content_type = "application/octet-stream"};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    char *big = xmalloc(2 * MIB);
    uint32_t sum = 0;
    cJSON *j;

    for (size_t i = 0; i < 2 * MIB; i++) {
        big[i] = (char) ('a' + i % 26);
    }
    (void) snprintf(url, sizeof(url), "%s/api/v1/clusters/a/b/history", base);
    req.url = url;
    req.body = big;

    /* 2 MiB to a 1 MiB server: 413 as a JSON error, and the handler never runs. */
    req.body_len = 2 * MIB;
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
    CU_ASSERT_EQUAL(resp.status, 413);
    j = cJSON_Parse(resp.body);
    CU_ASSERT_TRUE(is_error_body(j, 413));
    cJSON_Delete(j);
    httpc_response_done(&resp);
    CU_ASSERT_EQUAL(fx_calls(), 0);

    /* Exactly the cap passes, whole and terminated. */
    req.body_len = MIB;
    for (size_t i = 0; i < MIB; i++) {
        sum = sum * 31 + (unsigned char) big[i];
    }
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
    CU_ASSERT_EQUAL(resp.status, 201);
    j = cJSON_Parse(resp.body);
    CU_ASSERT_EQUAL(jnum(j, "len"), (double) MIB);
    CU_ASSERT_EQUAL(jnum(j, "sum"), (double) sum);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "terminated")));
    CU_ASSERT_STRING_EQUAL(jstr(j, "content_type"), "application/octet-stream");
    cJSON_Delete(j);
    httpc_response_done(&resp);

    /* No body at all: "" with length 0. */
    req.method = "PUT";
    req.body = NULL;
    req.body_len = 0;
    req.content_type = NULL;
    (void) snprintf(url, sizeof(url), "%s/upload", base);
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
    CU_ASSERT_EQUAL(resp.status, 201);
    j = cJSON_Parse(resp.body);
    CU_ASSERT_EQUAL(jnum(j, "len"), 0);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "terminated")));
    cJSON_Delete(j);
    httpc_response_done(&resp);
    CU_ASSERT_EQUAL(fx_calls(), 2);

    free(big);
    httpc_free(c);
    http_server_stop(s);
}

static void test_http_chunked_body_over_cap(void)
{
    char base[64], raw[4096], chunk[800];
    struct http_server *s = start_server(1024, base, sizeof(base));
    const char *parts[16];
    ssize_t n;

    /* Chunked, no Content-Length: the cap is found while reading, and the rest swallowed. */
    (void) snprintf(chunk, sizeof(chunk), "2bc\r\n"); /* 700 bytes */
    memset(chunk + 5, 'z', 700);
    memcpy(chunk + 705, "\r\n", 3);
    parts[0] = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n";
    parts[1] = chunk;
    parts[2] = chunk;
    parts[3] = "0\r\n\r\n";
    CU_ASSERT_TRUE(raw_exchange(http_server_port(s), parts, 4, raw, sizeof(raw), 3000) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "HTTP/1.1 413"));
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "\"code\":413"));
    CU_ASSERT_EQUAL(fx_calls(), 0);

    /* Under the cap, chunked bodies arrive whole. */
    parts[2] = "0\r\n\r\n";
    CU_ASSERT_TRUE(raw_exchange(http_server_port(s), parts, 3, raw, sizeof(raw), 3000) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "HTTP/1.1 201"));
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "\"len\":700"));
    CU_ASSERT_EQUAL(fx_calls(), 1);

    /* Far over the cap (more than twice): the connection is dropped, the handler never runs. */
    for (size_t i = 1; i < 15; i++) {
        parts[i] = chunk;
    }
    parts[15] = "0\r\n\r\n";
    n = raw_exchange(http_server_port(s), parts, 16, raw, sizeof(raw), 3000);
    CU_ASSERT_TRUE(n >= 0);
    CU_ASSERT_PTR_NULL(strstr(raw, "HTTP/1.1"));
    CU_ASSERT_EQUAL(fx_calls(), 1);
    http_server_stop(s);
}

static void test_http_blocking_handler_does_not_block_others(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    struct client_job slow = {0};
    cJSON *j = NULL;
    long st = 0;
    uint64_t t0, fast_ms;

    CU_ASSERT_TRUE_FATAL(client_job_start(&slow, base, "/block?ms=1000", 5000));
    CU_ASSERT_TRUE(fx_wait_entered(2000));
    t0 = now_ms();
    CU_ASSERT_EQUAL(get_json(c, base, "/fast", &st, &j), 0);
    fast_ms = now_ms() - t0;
    CU_ASSERT_EQUAL(st, 200);
    CU_ASSERT_STRING_EQUAL(j ? j->valuestring : "", "fast");
    CU_ASSERT(fast_ms < 500);
    cJSON_Delete(j);
    (void) pthread_join(slow.thread, NULL);
    CU_ASSERT_EQUAL(slow.rc, 0);
    CU_ASSERT_EQUAL(slow.status, 200);
    CU_ASSERT(slow.elapsed_ms >= 900);
    httpc_free(c);
    http_server_stop(s);
}

static void test_httpc_timeout(void)
{
    char base[64], url[128];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(5000, 0, NULL);
    struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 300};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    uint64_t t0;

    (void) snprintf(url, sizeof(url), "%s/block?ms=3000", base);
    t0 = now_ms();
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), -ETIMEDOUT);
    CU_ASSERT(now_ms() - t0 < 1500);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "/block"));
    CU_ASSERT_PTR_NULL(resp.body);
    /* The handler is still running for a client that left; let it answer into nothing. */
    fx_release();

    /* The same client works again afterwards. */
    (void) snprintf(url, sizeof(url), "%s/fast", base);
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
    CU_ASSERT_EQUAL(resp.status, 200);
    httpc_response_done(&resp);
    httpc_free(c);
    http_server_stop(s);
}

static void test_httpc_connection_refused(void)
{
    char base[64], url[128];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    struct httpc_request req = {.method = "GET", .url = url};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};

    (void) snprintf(url, sizeof(url), "%s/fast", base);
    http_server_stop(s); /* the port is now dead */
    CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), -ECONNREFUSED);
    CU_ASSERT_NOT_EQUAL(eb.msg[0], '\0');
    httpc_free(c);
}

static void test_httpc_response_cap(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *small = new_client(2000, 1024, NULL);
    struct httpc *dflt = new_client(2000, 0, NULL);
    cJSON *j = NULL;
    long st = 0;

    CU_ASSERT_EQUAL(get_json(small, base, "/big", &st, &j), -EFBIG);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(get_json(dflt, base, "/big", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 200);
    CU_ASSERT_EQUAL(j && cJSON_IsString(j) ? strlen(j->valuestring) : 0, (size_t) 64 * 1024 - 1);
    cJSON_Delete(j);
    /* After -EFBIG the client is still usable. */
    CU_ASSERT_EQUAL(get_json(small, base, "/fast", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 200);
    cJSON_Delete(j);
    httpc_free(small);
    httpc_free(dflt);
    http_server_stop(s);
}

static void test_httpc_bearer_token(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, "tok-1");
    struct httpc_options bad = {.bearer_token = "a\r\nX-Evil: 1"};
    cJSON *j = NULL;
    long st = 0;

    CU_ASSERT_EQUAL(get_json(c, base, "/whoami", &st, &j), 0);
    CU_ASSERT_STRING_EQUAL(jstr(j, "authorization"), "Bearer tok-1");
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(httpc_set_bearer_token(c, "tok-2"), 0);
    CU_ASSERT_EQUAL(get_json(c, base, "/whoami", &st, &j), 0);
    CU_ASSERT_STRING_EQUAL(jstr(j, "authorization"), "Bearer tok-2");
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(httpc_set_bearer_token(c, "x\ny"), -EINVAL);
    CU_ASSERT_EQUAL(httpc_set_bearer_token(c, NULL), 0);
    CU_ASSERT_EQUAL(get_json(c, base, "/whoami", &st, &j), 0);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "authorization")));
    cJSON_Delete(j);
    CU_ASSERT_PTR_NULL(httpc_new(&bad));
    httpc_free(c);
    http_server_stop(s);
}

/* A server requiring a bearer token (and TLS when cert/key are given), with one anonymous route. */
static struct http_server *start_guarded(const char *cert, const char *key, char *base, size_t size)
{
    static const struct http_route guarded[] = {
            {"GET", "/whoami", h_whoami, false},
            {"GET", "/metrics", h_text, true},
    };
    struct http_server_config cfg = {.listen = "127.0.0.1:0",
                                     .routes = guarded,
                                     .n_routes = sizeof(guarded) / sizeof(guarded[0]),
                                     .bearer_token = "s3cret",
                                     .tls_cert_pem = cert,
                                     .tls_key_pem = key};
    struct http_server *s = NULL;
    struct errbuf eb = {{0}};

    fx_reset();
    if (http_server_start(&cfg, &s, &eb) < 0) {
        fprintf(stderr, "http_server_start: %s\n", eb.msg);
        return NULL;
    }
    (void) snprintf(base, size, "%s://127.0.0.1:%u", cert ? "https" : "http",
                    (unsigned) http_server_port(s));
    return s;
}

static long status_with_token(const char *base, const char *path, const char *token, bool tls)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000,
                                .timeout_ms = 3000,
                                .bearer_token = token,
                                .insecure_skip_verify = tls};
    struct httpc *c = httpc_new(&opt);
    cJSON *j = NULL;
    long st = 0;

    if (!c) {
        return -1;
    }
    if (get_json(c, base, path, &st, &j) == 0 && st == 401) {
        CU_ASSERT_TRUE(is_error_body(j, 401));
    }
    cJSON_Delete(j);
    httpc_free(c);
    return st;
}

static void test_http_bearer_token_required(void)
{
    char base[64];
    struct http_server *s = start_guarded(NULL, NULL, base, sizeof(base));

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", NULL, false), 401);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", "wrong!", false), 401);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", "s3cre", false), 401);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", "s3cret1", false), 401);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", "s3cret", false), 200);
    /* Unknown paths still answer 404 (routing comes first), anonymous routes need nothing. */
    CU_ASSERT_EQUAL(status_with_token(base, "/nope", NULL, false), 404);
    {
        struct httpc_options opt = {.timeout_ms = 2000};
        struct httpc *c = httpc_new(&opt);
        struct httpc_request req = {.method = "GET", .url = NULL};
        const char *const lower[] = {"Authorization: bearer   s3cret", NULL};
        struct httpc_response resp = {0};
        struct errbuf eb = {{0}};
        char url[128];

        (void) snprintf(url, sizeof(url), "%s/metrics", base);
        req.url = url;
        CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
        CU_ASSERT_EQUAL(resp.status, 200);
        httpc_response_done(&resp);
        /* The scheme is case-insensitive and may be followed by several spaces. */
        (void) snprintf(url, sizeof(url), "%s/whoami", base);
        req.headers = lower;
        CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), 0);
        CU_ASSERT_EQUAL(resp.status, 200);
        httpc_response_done(&resp);
        httpc_free(c);
    }
    http_server_stop(s);
}

static void test_http_tls_server(void)
{
    char base[64], *cert = NULL, *key = NULL;
    size_t len = 0;
    struct errbuf eb = {{0}};
    struct http_server *s;

    CU_ASSERT_EQUAL_FATAL(
            fs_read_file(OG_SOURCE_DIR "/tests/kube/tls/emu-cert.pem", 65536, &cert, &len, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(
            fs_read_file(OG_SOURCE_DIR "/tests/kube/tls/emu-key.pem", 65536, &key, &len, &eb), 0);
    s = start_guarded(cert, key, base, sizeof(base));
    free(cert);
    free(key); /* the server keeps its own copies */
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", "s3cret", true), 200);
    CU_ASSERT_EQUAL(status_with_token(base, "/whoami", NULL, true), 401);
    /* Plain HTTP to the TLS port is not served. */
    {
        char plain[80];
        (void) snprintf(plain, sizeof(plain), "http://%s", base + strlen("https://"));
        CU_ASSERT_NOT_EQUAL(status_with_token(plain, "/metrics", NULL, false), 200);
    }
    http_server_stop(s);
}

static void test_httpc_json_bodies(void)
{
    char base[64], url[128];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    struct errbuf eb = {{0}};
    cJSON *body = cJSON_CreateObject(), *j = NULL;
    long st = 0;

    /* A JSON body goes out as application/json. */
    (void) cJSON_AddStringToObject(body, "k", "v");
    (void) snprintf(url, sizeof(url), "%s/upload", base);
    CU_ASSERT_EQUAL(httpc_json(c, "POST", url, body, 0, &st, &j, &eb), 0);
    CU_ASSERT_EQUAL(st, 201);
    CU_ASSERT_EQUAL(jnum(j, "len"), strlen("{\"k\":\"v\"}"));
    CU_ASSERT_STRING_EQUAL(jstr(j, "content_type"), "application/json");
    cJSON_Delete(j);
    cJSON_Delete(body);

    /* Empty answer → NULL; text answer → -EBADMSG, outputs untouched. */
    CU_ASSERT_EQUAL(get_json(c, base, "/empty", &st, &j), 0);
    CU_ASSERT_EQUAL(st, 204);
    CU_ASSERT_PTR_NULL(j);
    st = 7;
    (void) snprintf(url, sizeof(url), "%s/metrics", base);
    CU_ASSERT_EQUAL(httpc_json(c, "GET", url, NULL, 0, &st, &j, &eb), -EBADMSG);
    CU_ASSERT_EQUAL(st, 7);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "200"));

    /* Requests that never leave: bad method, CR/LF in a header, unsupported scheme. */
    {
        const char *const hdrs[] = {"X-A: 1\r\nX-B: 2", NULL};
        struct httpc_request req = {.method = "get", .url = url};
        struct httpc_response resp = {0};

        CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), -EINVAL);
        req.method = "GET";
        req.headers = hdrs;
        CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), -EINVAL);
        req.headers = NULL;
        req.url = "file:///etc/passwd";
        CU_ASSERT_EQUAL(httpc_do(c, &req, &resp, &eb), -EINVAL);
        CU_ASSERT_PTR_NULL(resp.body);
    }
    httpc_free(c);
    http_server_stop(s);
}

static void test_httpc_tls_to_plain_server(void)
{
    char base[64], url[128];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc_options opt = {.connect_timeout_ms = 1000,
                                .timeout_ms = 2000,
                                .ca_file = "/nonexistent/ca.pem",
                                .insecure_skip_verify = true};
    struct httpc *c = httpc_new(&opt);
    struct httpc_request req = {.method = "GET", .url = url};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    int r;

    /* A TLS handshake with a plain HTTP server fails as a TLS error, not as a refusal. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    (void) snprintf(url, sizeof(url), "https://127.0.0.1:%u/fast", (unsigned) http_server_port(s));
    r = httpc_do(c, &req, &resp, &eb);
    CU_ASSERT_EQUAL(r, -EIO);
    CU_ASSERT_NOT_EQUAL(eb.msg[0], '\0');
    CU_ASSERT_PTR_NULL(resp.body);
    httpc_free(c);
    http_server_stop(s);
}

static void test_httpc_keep_alive(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct httpc *c = new_client(2000, 0, NULL);
    struct httpc *other = new_client(2000, 0, NULL);
    cJSON *j1 = NULL, *j2 = NULL, *j3 = NULL;
    long st = 0;

    /* Two calls on one client share a connection (same client port); another client does not. */
    CU_ASSERT_EQUAL(get_json(c, base, "/peer", &st, &j1), 0);
    CU_ASSERT_EQUAL(get_json(c, base, "/peer", &st, &j2), 0);
    CU_ASSERT_EQUAL(get_json(other, base, "/peer", &st, &j3), 0);
    CU_ASSERT_TRUE(cJSON_IsNumber(j1) && j1->valueint > 0);
    CU_ASSERT_TRUE(cJSON_IsNumber(j2) && j2->valueint == j1->valueint);
    CU_ASSERT_TRUE(cJSON_IsNumber(j3) && j3->valueint != j1->valueint);
    cJSON_Delete(j1);
    cJSON_Delete(j2);
    cJSON_Delete(j3);
    httpc_free(c);
    httpc_free(other);
    http_server_stop(s);
}

static void test_http_stop_with_request_in_flight(void)
{
    char base[64];
    struct http_server *s = start_server(0, base, sizeof(base));
    struct client_job job = {0};
    uint64_t t0, stop_ms;

    CU_ASSERT_TRUE_FATAL(client_job_start(&job, base, "/block?ms=500", 5000));
    CU_ASSERT_TRUE(fx_wait_entered(2000));
    t0 = now_ms();
    http_server_stop(s); /* waits for the handler, which returns within 500 ms */
    stop_ms = now_ms() - t0;
    CU_ASSERT(stop_ms < 3000);
    (void) pthread_join(job.thread, NULL);
    /* Either the answer went out before the socket closed, or the client saw it close. */
    CU_ASSERT_TRUE((job.rc == 0 && job.status == 200) || job.rc == -ECONNRESET);
    CU_ASSERT_EQUAL(fx_calls(), 1);
}

static void test_http_idle_connection_timeout(void)
{
    char base[64], raw[64];
    struct http_server *s = start_server_timeout(0, 1, base, sizeof(base));
    uint64_t t0 = now_ms();

    /* A client that connects and says nothing is closed after conn_timeout_s (1 s here). */
    CU_ASSERT_EQUAL(raw_exchange(http_server_port(s), NULL, 0, raw, sizeof(raw), 4000), 0);
    CU_ASSERT(now_ms() - t0 >= 900);
    CU_ASSERT(now_ms() - t0 < 3500);
    http_server_stop(s);
}

static void test_http_listen_addresses(void)
{
    static const char *const bad[] = {
            "",        "127.0.0.1",    "127.0.0.1:",    "127.0.0.1:65536", "127.0.0.1:-1",
            ":8080",   "localhost:80", "[::1]",         "[::1]80",         "::1:80",
            "[::1:80", "1.2.3:80",     "127.0.0.1:80x", "[127.0.0.1]:80",  "[]:80",
    };
    struct http_server_config cfg = {.routes = routes,
                                     .n_routes = sizeof(routes) / sizeof(routes[0])};
    struct http_server *s = NULL, *s2 = NULL;
    struct errbuf eb = {{0}};
    char listen[64];
    int r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.listen = bad[i];
        errbuf_clear(&eb);
        CU_ASSERT_EQUAL(http_server_start(&cfg, &s, &eb), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, bad[i]));
        CU_ASSERT_PTR_NULL(s);
    }
    cfg.listen = NULL;
    CU_ASSERT_EQUAL(http_server_start(&cfg, &s, &eb), -EINVAL);

    /* Port in use: the errno, with the address in eb. */
    cfg.listen = "127.0.0.1:0";
    CU_ASSERT_EQUAL_FATAL(http_server_start(&cfg, &s, &eb), 0);
    (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned) http_server_port(s));
    cfg.listen = listen;
    CU_ASSERT_EQUAL(http_server_start(&cfg, &s2, &eb), -EADDRINUSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, listen));
    CU_ASSERT_PTR_NULL(s2);
    http_server_stop(s);
    s = NULL;

    /* A route table entry without a handler. */
    {
        const struct http_route broken[] = {{"GET", "/x", NULL}};
        struct http_server_config bcfg = {.listen = "127.0.0.1:0", .routes = broken, .n_routes = 1};

        CU_ASSERT_EQUAL(http_server_start(&bcfg, &s, &eb), -EINVAL);
    }

    /* IPv6 loopback, where the host has it. */
    cfg.listen = "[::1]:0";
    r = http_server_start(&cfg, &s, &eb);
    if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
        fprintf(stderr, "  (no IPv6 loopback here: %s)\n", eb.msg);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(r, 0);
    {
        char url[128];
        struct httpc *c = new_client(2000, 0, NULL);
        cJSON *j = NULL;
        long st = 0;

        (void) snprintf(url, sizeof(url), "http://[::1]:%u", (unsigned) http_server_port(s));
        CU_ASSERT_EQUAL(get_json(c, url, "/fast", &st, &j), 0);
        CU_ASSERT_EQUAL(st, 200);
        cJSON_Delete(j);
        httpc_free(c);
    }
    http_server_stop(s);
}

static void test_http_stop_null_safe(void)
{
    http_server_stop(NULL);
    httpc_free(NULL);
    httpc_response_done(NULL);
    CU_ASSERT_EQUAL(http_server_port(NULL), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"route params and query", test_http_route_params_and_query},
            {"request built by hand", test_http_request_built_by_hand},
            {"404 json error", test_http_not_found_json_error},
            {"405 with Allow", test_http_method_not_allowed},
            {"no status is 500", test_http_no_status_is_500},
            {"413 over body cap", test_http_body_cap_413},
            {"413 chunked over cap", test_http_chunked_body_over_cap},
            {"blocking handler, others served", test_http_blocking_handler_does_not_block_others},
            {"client timeout", test_httpc_timeout},
            {"connection refused", test_httpc_connection_refused},
            {"response cap", test_httpc_response_cap},
            {"bearer token", test_httpc_bearer_token},
            {"server requires the bearer token", test_http_bearer_token_required},
            {"server over TLS", test_http_tls_server},
            {"json bodies", test_httpc_json_bodies},
            {"tls to a plain server", test_httpc_tls_to_plain_server},
            {"keep-alive", test_httpc_keep_alive},
            {"stop with request in flight", test_http_stop_with_request_in_flight},
            {"idle connection timeout", test_http_idle_connection_timeout},
            {"listen addresses", test_http_listen_addresses},
            {"NULL-safe frees", test_http_stop_null_safe},
            CU_TEST_INFO_NULL,
    };
    pthread_condattr_t ca;
    int rc;

    /* What every daemon's main does before starting a server or a client (http.h, httpc.h). */
    (void) signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return 2;
    }
    (void) pthread_mutex_init(&fx.lock, NULL);
    (void) pthread_condattr_init(&ca);
    (void) pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    (void) pthread_cond_init(&fx.cond, &ca);
    (void) pthread_condattr_destroy(&ca);
    rc = cu_run("http", tests);
    (void) pthread_cond_destroy(&fx.cond);
    (void) pthread_mutex_destroy(&fx.lock);
    curl_global_cleanup();
    return rc;
}

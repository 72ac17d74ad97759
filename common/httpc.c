/*
 * common/httpc.c
 *
 * The libcurl client behind httpc.h. Each call resets the one easy handle (which keeps its
 * live connections, so keep-alive survives) and sets every option again, so nothing from an
 * earlier request leaks into the next. The response body grows in a buffer with a cap, as
 * curl's own dynbuf does (docs/internals/DYNBUF.md): the write callback refuses the chunk
 * that would cross it, curl aborts with CURLE_WRITE_ERROR, and the caller gets -EFBIG.
 *
 * Layer: edge (libcurl).
 */
#include "common/httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define HTTPC_METHOD_MAX 16

struct httpc {
    CURL *curl;
    uint32_t connect_timeout_ms;
    uint32_t timeout_ms;
    size_t max_response;
    bool insecure_skip_verify;
    char *ca_file;
    char *client_cert;
    char *client_key;
    char *auth_header; /* "Authorization: Bearer <token>", or NULL */
    char errbuf[CURL_ERROR_SIZE];
};

/* The response body while it arrives. */
struct httpc_sink {
    char *buf;
    size_t len;
    size_t cap;
    size_t max;
    bool too_big;
};

/* True when s holds no CR or LF, which would let a value inject headers. */
static bool httpc_is_header_safe(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

int httpc_set_bearer_token(struct httpc *c, const char *token)
{
    if (!httpc_is_header_safe(token)) {
        return -EINVAL;
    }
    free(c->auth_header);
    c->auth_header = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
    return 0;
}

struct httpc *httpc_new(const struct httpc_options *opt)
{
    struct httpc *c;

    if (!httpc_is_header_safe(opt->bearer_token)) {
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->connect_timeout_ms =
            opt->connect_timeout_ms ? opt->connect_timeout_ms : HTTPC_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS;
    c->max_response = opt->max_response ? opt->max_response : HTTPC_DEFAULT_MAX_RESPONSE;
    c->insecure_skip_verify = opt->insecure_skip_verify;
    c->ca_file = xstrdup(opt->ca_file);
    c->client_cert = xstrdup(opt->client_cert);
    c->client_key = xstrdup(opt->client_key);
    (void) httpc_set_bearer_token(c, opt->bearer_token);
    return c;
}

void httpc_free(struct httpc *c)
{
    if (!c) {
        return;
    }
    curl_easy_cleanup(c->curl);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c->auth_header);
    free(c);
}

void httpc_response_done(struct httpc_response *r)
{
    if (!r) {
        return;
    }
    free(r->body);
    *r = (struct httpc_response){0};
}

static size_t httpc_on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct httpc_sink *sink = userdata;
    size_t n = size * nmemb;

    if (n > sink->max - sink->len) {
        sink->too_big = true;
        return 0; /* anything but n makes curl fail with CURLE_WRITE_ERROR */
    }
    if (sink->len + n + 1 > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 4096;

        while (cap < sink->len + n + 1) {
            cap *= 2;
        }
        if (cap > sink->max + 1) {
            cap = sink->max + 1;
        }
        sink->buf = xrealloc(sink->buf, cap);
        sink->cap = cap;
    }
    memcpy(sink->buf + sink->len, data, n);
    sink->len += n;
    sink->buf[sink->len] = '\0';
    return n;
}

/* True when method is 1-16 upper-case letters (it goes verbatim into the request line). */
static bool httpc_is_method(const char *method)
{
    size_t n = 0;

    if (!method) {
        return false;
    }
    for (; method[n]; n++) {
        if (method[n] < 'A' || method[n] > 'Z' || n == HTTPC_METHOD_MAX) {
            return false;
        }
    }
    return n > 0;
}

/* curl_slist_append() that follows the house rule for OOM (STYLE.md): abort. */
static struct curl_slist *httpc_append(struct curl_slist *list, const char *line)
{
    struct curl_slist *l = curl_slist_append(list, line);

    if (!l) {
        abort();
    }
    return l;
}

/* Builds the header list; -EINVAL when an extra header carries CR/LF. */
static int httpc_headers(const struct httpc *c, const struct httpc_request *req,
                         struct curl_slist **ret)
{
    struct curl_slist *list = NULL;
    char *ct = NULL;

    if (!httpc_is_header_safe(req->content_type)) {
        return -EINVAL;
    }
    /* Without a type, curl would label a body application/x-www-form-urlencoded. */
    ct = req->content_type ? xasprintf("Content-Type: %s", req->content_type)
                           : xstrdup("Content-Type:");
    list = httpc_append(list, ct);
    free(ct);
    if (c->auth_header) {
        list = httpc_append(list, c->auth_header);
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        if (!httpc_is_header_safe(req->headers[i])) {
            curl_slist_free_all(list);
            return -EINVAL;
        }
        list = httpc_append(list, req->headers[i]);
    }
    *ret = list;
    return 0;
}

/* Sets the method and body options; curl's defaults would turn a body into a POST. */
static CURLcode httpc_set_method(CURL *curl, const struct httpc_request *req)
{
    bool has_body = req->body || strcmp(req->method, "POST") == 0 ||
                    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
    CURLcode cc;

    if (strcmp(req->method, "GET") == 0 && !req->body) {
        return curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    if (strcmp(req->method, "HEAD") == 0) {
        return curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    if (has_body) {
        cc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t) (req->body ? req->body_len : 0));
        if (cc == CURLE_OK) {
            cc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        }
        if (cc != CURLE_OK) {
            return cc;
        }
    }
    if (strcmp(req->method, "POST") == 0) {
        return CURLE_OK;
    }
    return curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
}

/* Sets every option of one request on the freshly reset handle. */
static CURLcode httpc_set_options(struct httpc *c, const struct httpc_request *req,
                                  struct curl_slist *headers, struct httpc_sink *sink)
{
    const long verify = c->insecure_skip_verify ? 0L : 1L;
    const struct {
        CURLoption opt;
        long value;
    } longs[] = {
            {CURLOPT_FOLLOWLOCATION, 0L},
            {CURLOPT_NOSIGNAL, 1L},
            {CURLOPT_CONNECTTIMEOUT_MS, (long) c->connect_timeout_ms},
            {CURLOPT_TIMEOUT_MS, (long) (req->timeout_ms ? req->timeout_ms : c->timeout_ms)},
            /* Long polls sit idle on the wire: keepalives find a peer that vanished. */
            {CURLOPT_TCP_KEEPALIVE, 1L},
            {CURLOPT_TCP_KEEPIDLE, 10L},
            {CURLOPT_TCP_KEEPINTVL, 5L},
            {CURLOPT_SSL_VERIFYPEER, verify},
            {CURLOPT_SSL_VERIFYHOST, verify * 2}, /* 2: the name must match, 0: anything */
    };
    const struct {
        CURLoption opt;
        const char *value; /* NULL: leave curl's default */
    } strings[] = {
            {CURLOPT_URL, req->url},         {CURLOPT_PROTOCOLS_STR, "http,https"},
            {CURLOPT_CAINFO, c->ca_file},    {CURLOPT_SSLCERT, c->client_cert},
            {CURLOPT_SSLKEY, c->client_key},
    };
    CURL *h = c->curl;
    CURLcode cc = CURLE_OK;

    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]) && cc == CURLE_OK; i++) {
        cc = curl_easy_setopt(h, longs[i].opt, longs[i].value);
    }
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]) && cc == CURLE_OK; i++) {
        if (strings[i].value) {
            cc = curl_easy_setopt(h, strings[i].opt, strings[i].value);
        }
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, httpc_on_write);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    }
    if (cc == CURLE_OK) {
        cc = httpc_set_method(h, req);
    }
    return cc;
}

int httpc_curl_errno(CURL *curl, CURLcode cc, bool too_big)
{
    long os_errno = 0;

    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        (void) curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH) {
            return -EHOSTUNREACH;
        }
        if (os_errno == ETIMEDOUT) {
            return -ETIMEDOUT;
        }
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -EHOSTUNREACH;
    case CURLE_WRITE_ERROR:
        return too_big ? -EFBIG : -EIO;
    case CURLE_FILESIZE_EXCEEDED:
        return -EFBIG;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return -ECONNRESET;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return -EINVAL;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

int httpc_do(struct httpc *c, const struct httpc_request *req, struct httpc_response *ret,
             struct errbuf *eb)
{
    struct curl_slist *headers = NULL;
    struct httpc_sink sink = {.max = c->max_response};
    long status = 0;
    CURLcode cc;
    int r;

    if (!req->url || !httpc_is_method(req->method)) {
        errbuf_set(eb, "bad request: method %s url %s", req->method ? req->method : "(null)",
                   req->url ? req->url : "(null)");
        return -EINVAL;
    }
    r = httpc_headers(c, req, &headers);
    if (r < 0) {
        errbuf_set(eb, "%s %s: CR or LF in a header", req->method, req->url);
        return r;
    }
    curl_easy_reset(c->curl);
    c->errbuf[0] = '\0';
    cc = httpc_set_options(c, req, headers, &sink);
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(c->curl);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    if (cc != CURLE_OK) {
        r = httpc_curl_errno(c->curl, cc, sink.too_big);
        if (r == -EFBIG) {
            errbuf_set(eb, "%s %s: response body exceeds %zu bytes", req->method, req->url,
                       c->max_response);
        } else {
            errbuf_set(eb, "%s %s: %s", req->method, req->url,
                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
        }
        goto out;
    }
    ret->status = status;
    ret->body = sink.buf ? sink.buf : xstrdup("");
    ret->body_len = sink.len;
    sink.buf = NULL;
out:
    /* The handle keeps pointers to these until the next reset: drop them now. */
    (void) curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    (void) curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(sink.buf);
    return r;
}

/* NOLINTNEXTLINE(readability-function-size): eight parameters, as the API was specified */
int httpc_json(struct httpc *c, const char *method, const char *url, const cJSON *body,
               uint32_t timeout_ms, long *ret_status, cJSON **ret_json, struct errbuf *eb)
{
    static const char *const accept[] = {"Accept: application/json", NULL};
    struct httpc_response resp = {0};
    struct httpc_request req = {
            .method = method, .url = url, .headers = accept, .timeout_ms = timeout_ms};
    char *text = NULL;
    cJSON *json = NULL;
    int r;

    if (body) {
        text = cJSON_PrintUnformatted(body);
        if (!text) {
            abort(); /* cJSON fails only on allocation: the house rule for OOM */
        }
        req.content_type = "application/json";
        req.body = text;
        req.body_len = strlen(text);
    }
    r = httpc_do(c, &req, &resp, eb);
    if (r < 0) {
        goto out;
    }
    if (resp.body_len) {
        /* body_len + 1 includes the terminator, which cJSON requires to reject trailing text;
         * strlen() catches a NUL inside the body. */
        json = cJSON_ParseWithLengthOpts(resp.body, resp.body_len + 1, NULL, true);
        if (!json || strlen(resp.body) != resp.body_len) {
            errbuf_set(eb, "%s %s: HTTP %ld answer is not JSON", method, url, resp.status);
            r = -EBADMSG;
            goto out;
        }
    }
    *ret_status = resp.status;
    *ret_json = json;
    json = NULL;
out:
    cJSON_Delete(json);
    httpc_response_done(&resp);
    free(text);
    return r;
}

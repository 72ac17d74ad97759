/*
 * common/kube.c
 *
 * The Kubernetes API client behind kube.h, directly over libcurl (common/httpc.c cannot take
 * in-memory PEM blobs nor stream a watch). Requests use the client's one easy handle, reset
 * and configured anew each time, so keep-alive survives and nothing leaks between requests.
 * The watch (common/kube_watch.c) shares the client, its curl setup and its Status parsing
 * through common/kube_int.h.
 *
 * Conventions followed: https://kubernetes.io/docs/reference/using-api/api-concepts/
 * ("Retrieving large results sets in chunks", "Resource versions") and api-conventions.md
 * for Status and optimistic concurrency. Token rotation: bound service account tokens are
 * refreshed by the kubelet on disk; like client-go we re-read the file (here when its stat
 * changes, at least every minute, and once on a 401).
 *
 * Layer: edge (libcurl).
 */
#include "common/kube.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/kube_int.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define KUBE_TOKEN_REREAD_MS 60000
#define KUBE_USER_AGENT      "og-operator/0.1"
#define KUBE_LIST_RESTARTS   3
#define KUBE_AUTH_PREFIX     "Authorization: Bearer "

const struct kube_resource kube_res_namespaces = {"", "v1", "namespaces"};
const struct kube_resource kube_res_pods = {"", "v1", "pods"};
const struct kube_resource kube_res_services = {"", "v1", "services"};
const struct kube_resource kube_res_endpointslices = {"discovery.k8s.io", "v1", "endpointslices"};
const struct kube_resource kube_res_events = {"", "v1", "events"};
const struct kube_resource kube_res_leases = {"coordination.k8s.io", "v1", "leases"};
const struct kube_resource kube_res_configmaps = {"", "v1", "configmaps"};
const struct kube_resource kube_res_secrets = {"", "v1", "secrets"};
const struct kube_resource kube_res_opengaussclusters = {"opengauss.sig", "v1",
                                                         "opengaussclusters"};

/* ---- names, paths, patch types ---- */

/* A path segment the API server takes literally (IsValidPathSegmentName, minus what a URL
 * would need escaped). */
static bool kube_is_segment(const char *s)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        return false;
    }
    for (; *s; s++) {
        if ((unsigned char) *s <= ' ' || *s == 0x7f || strchr("/%?#", *s)) {
            return false;
        }
    }
    return true;
}

int kube_path(char *buf, size_t size, const struct kube_resource *res, const char *namespace_,
              const char *name, const char *subresource)
{
    bool core;
    int n;

    if (!res || !kube_is_segment(res->version) || !kube_is_segment(res->plural) ||
        (namespace_ && !kube_is_segment(namespace_)) || (name && !kube_is_segment(name)) ||
        (subresource && (!name || !kube_is_segment(subresource)))) {
        return -EINVAL;
    }
    core = !res->group || !res->group[0];
    if (!core && !kube_is_segment(res->group)) {
        return -EINVAL;
    }
    n = snprintf(buf, size, "/%s%s/%s%s%s/%s%s%s%s%s", core ? "api" : "apis/",
                 core ? "" : res->group, res->version, namespace_ ? "/namespaces/" : "",
                 namespace_ ? namespace_ : "", res->plural, name ? "/" : "", name ? name : "",
                 subresource ? "/" : "", subresource ? subresource : "");
    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int kube_query_escape(char *buf, size_t size, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (size == 0) {
        return -ENAMETOOLONG;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';

        if (o + (plain ? 1 : 3) >= size) {
            buf[0] = '\0';
            return -ENAMETOOLONG;
        }
        if (plain) {
            buf[o++] = (char) c;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = '\0';
    return 0;
}

char *kube_escape_dup(const char *s)
{
    size_t size;
    char *buf;

    if (!s) {
        return NULL;
    }
    size = strlen(s) * 3 + 1;
    buf = xmalloc(size);
    (void) kube_query_escape(buf, size, s); /* cannot be too long: 3 bytes per byte */
    return buf;
}

const char *kube_patch_type_to_string(enum kube_patch_type t)
{
    switch (t) {
    case KUBE_PATCH_MERGE:
        return "merge";
    case KUBE_PATCH_STRATEGIC:
        return "strategic";
    case KUBE_PATCH_JSON:
        return "json";
    case KUBE_PATCH_UNKNOWN:
    case _KUBE_PATCH_MAX:
        break;
    }
    return "UNKNOWN";
}

int kube_patch_type_from_string(const char *s, enum kube_patch_type *ret)
{
    for (int t = KUBE_PATCH_UNKNOWN + 1; t < _KUBE_PATCH_MAX; t++) {
        if (str_eq(s, kube_patch_type_to_string((enum kube_patch_type) t))) {
            *ret = (enum kube_patch_type) t;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- errors ---- */

int kube_status_errno(long http_status, const char *reason)
{
    if (http_status >= 200 && http_status < 300) {
        return 0;
    }
    switch (http_status) {
    case 400:
    case 422:
        return -EINVAL;
    case 401:
    case 403:
        return -EACCES;
    case 404:
        return -ENOENT;
    case 405:
    case 415:
        return -EOPNOTSUPP;
    case 409:
        return str_eq(reason, "AlreadyExists") ? -EEXIST : -EAGAIN;
    case 410:
        return -ESTALE;
    case 413:
        return -EFBIG;
    case 429:
        return -EBUSY;
    case 504:
        return -ETIMEDOUT;
    default:
        return -EIO;
    }
}

/* Copies the string member key of j into buf (cut, made printable); "" when absent. */
static void kube_copy_member(const cJSON *j, const char *key, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

    (void) snprintf(buf, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
    json_text_sanitize(buf);
}

void kube_error_fill(struct kube_error *err, long status, const char *body, size_t len)
{
    struct errbuf ignored = {{0}};
    cJSON *j = NULL;

    memset(err, 0, sizeof(*err));
    err->http_status = status;
    if (len > 0 && json_parse(body, len, 0, &j, &ignored) == 0 && cJSON_IsObject(j)) {
        kube_copy_member(j, "reason", err->reason, sizeof(err->reason));
        kube_copy_member(j, "message", err->message, sizeof(err->message));
    }
    if (!err->message[0] && len > 0) {
        (void) snprintf(err->message, sizeof(err->message), "%.*s", (int) len, body);
        json_text_sanitize(err->message);
    }
    cJSON_Delete(j);
}

int kube_curl_errno(CURL *curl, CURLcode cc)
{
    return httpc_curl_errno(curl, cc, false);
}

/* ---- client ---- */

bool kube_sink_append(struct kube_sink *s, const char *data, size_t n, size_t max)
{
    if (n > max - s->len) {
        return false;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;

        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        s->buf = xrealloc(s->buf, cap);
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return true;
}

static size_t kube_on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;

    return kube_sink_append(userdata, data, n, KUBE_MAX_RESPONSE) ? n : 0;
}

static void kube_set_token(struct kube_client *kc, const char *token)
{
    free(kc->auth_header);
    kc->auth_header = token && token[0] ? xasprintf(KUBE_AUTH_PREFIX "%s", token) : NULL;
}

bool kube_token_refresh(struct kube_client *kc, bool force)
{
    struct errbuf eb = {{0}};
    uint64_t now = clock_now_ms();
    struct stat st;
    char *token;
    bool changed;

    if (!kc->token_file || stat(kc->token_file, &st) < 0) {
        return false;
    }
    if (!force && st.st_ino == kc->token_st.st_ino && st.st_dev == kc->token_st.st_dev &&
        st.st_size == kc->token_st.st_size && st.st_mtim.tv_sec == kc->token_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == kc->token_st.st_mtim.tv_nsec &&
        now - kc->token_read_ms < KUBE_TOKEN_REREAD_MS) {
        return false;
    }
    token = xmalloc(KUBE_TOKEN_MAX);
    if (kube_config_read_token(kc->token_file, token, KUBE_TOKEN_MAX, &eb) < 0) {
        log_debug("kube: keeping the last token: %s", eb.msg);
        free(token);
        return false;
    }
    kc->token_st = st;
    kc->token_read_ms = now;
    changed = !kc->auth_header || strcmp(kc->auth_header + strlen(KUBE_AUTH_PREFIX), token) != 0;
    if (changed) {
        kube_set_token(kc, token);
    }
    free(token);
    return changed;
}

static char *kube_dup_nonempty(const char *s)
{
    return s && s[0] ? xstrdup(s) : NULL;
}

static void kube_blob_copy(struct kube_blob *b, const char *data, size_t len)
{
    if (data && len > 0) {
        b->data = xmalloc(len);
        memcpy(b->data, data, len);
        b->len = len;
    }
}

struct kube_client *kube_client_new(const struct kube_config *cfg, struct errbuf *eb)
{
    struct kube_client *kc;
    char *token = NULL;

    if (!cfg->server[0]) {
        errbuf_set(eb, "kube: no API server in the configuration");
        return NULL;
    }
    if (strpbrk(cfg->token, "\r\n")) {
        errbuf_set(eb, "kube: line break in the bearer token");
        return NULL;
    }
    kc = xcalloc(1, sizeof(*kc));
    kc->curl = curl_easy_init();
    if (!kc->curl) {
        errbuf_set(eb, "kube: curl_easy_init failed");
        kube_client_free(kc);
        return NULL;
    }
    kc->server = xstrdup(cfg->server);
    kc->ca_file = kube_dup_nonempty(cfg->ca_file);
    kc->client_cert = kube_dup_nonempty(cfg->client_cert);
    kc->client_key = kube_dup_nonempty(cfg->client_key);
    kube_blob_copy(&kc->ca, cfg->ca_data, cfg->ca_data_len);
    kube_blob_copy(&kc->cert, cfg->client_cert_data, cfg->client_cert_data_len);
    kube_blob_copy(&kc->key, cfg->client_key_data, cfg->client_key_data_len);
    kc->insecure = cfg->insecure;
    kc->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 2000;
    kc->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    (void) str_copy(kc->namespace_, sizeof(kc->namespace_),
                    cfg->namespace_[0] ? cfg->namespace_ : "default");
    kube_set_token(kc, cfg->token);
    if (cfg->token_file[0]) {
        kc->token_file = xstrdup(cfg->token_file);
        token = xmalloc(KUBE_TOKEN_MAX);
        if (kube_config_read_token(kc->token_file, token, KUBE_TOKEN_MAX, eb) < 0 ||
            stat(kc->token_file, &kc->token_st) < 0) {
            free(token);
            kube_client_free(kc);
            return NULL;
        }
        kube_set_token(kc, token);
        kc->token_read_ms = clock_now_ms();
        free(token);
    }
    return kc;
}

void kube_client_free(struct kube_client *kc)
{
    if (!kc) {
        return;
    }
    if (kc->curl) {
        curl_easy_cleanup(kc->curl);
    }
    free(kc->server);
    free(kc->ca_file);
    free(kc->client_cert);
    free(kc->client_key);
    free(kc->ca.data);
    free(kc->cert.data);
    free(kc->key.data);
    free(kc->token_file);
    free(kc->auth_header);
    free(kc);
}

const char *kube_client_namespace(const struct kube_client *kc)
{
    return kc->namespace_;
}

/* curl_slist_append() under the house rule for OOM: abort. */
static struct curl_slist *kube_append(struct curl_slist *list, const char *line)
{
    struct curl_slist *l = curl_slist_append(list, line);

    if (!l) {
        abort();
    }
    return l;
}

struct curl_slist *kube_headers(const struct kube_client *kc, const char *content_type)
{
    struct curl_slist *list = kube_append(NULL, "Accept: application/json");

    list = kube_append(list, "Expect:");
    if (content_type) {
        char *ct = xasprintf("Content-Type: %s", content_type);

        list = kube_append(list, ct);
        free(ct);
    }
    if (kc->auth_header) {
        list = kube_append(list, kc->auth_header);
    }
    return list;
}

char *kube_url(const struct kube_client *kc, const char *path, const char *query)
{
    const char *sep = !query ? "" : strchr(path, '?') ? "&" : "?";

    return xasprintf("%s%s%s%s", kc->server, path, sep, query ? query : "");
}

/* Sets a PEM blob option when the blob is set (curl copies it). */
static CURLcode kube_set_blob(CURL *h, CURLoption opt, const struct kube_blob *b)
{
    struct curl_blob blob = {.data = b->data, .len = b->len, .flags = CURL_BLOB_COPY};

    return b->data ? curl_easy_setopt(h, opt, &blob) : CURLE_OK;
}

CURLcode kube_setup(const struct kube_client *kc, CURL *h, const char *url,
                    struct curl_slist *headers, uint32_t timeout_ms, char *errbuf)
{
    const long verify = kc->insecure ? 0L : 1L;
    const struct {
        CURLoption opt;
        long value;
    } longs[] = {
            {CURLOPT_FOLLOWLOCATION, 0L},
            {CURLOPT_NOSIGNAL, 1L},
            {CURLOPT_CONNECTTIMEOUT_MS, (long) kc->connect_timeout_ms},
            {CURLOPT_TIMEOUT_MS, (long) timeout_ms},
            {CURLOPT_TCP_KEEPALIVE, 1L},
            {CURLOPT_TCP_KEEPIDLE, 10L},
            {CURLOPT_TCP_KEEPINTVL, 5L},
            {CURLOPT_SSL_VERIFYPEER, verify},
            {CURLOPT_SSL_VERIFYHOST, verify * 2},
    };
    const struct {
        CURLoption opt;
        const char *value; /* NULL: leave curl's default */
    } strings[] = {
            {CURLOPT_URL, url},
            {CURLOPT_PROTOCOLS_STR, "http,https"},
            {CURLOPT_USERAGENT, KUBE_USER_AGENT},
            {CURLOPT_ACCEPT_ENCODING, ""}, /* gzip if the server likes; the cap is on the result */
            {CURLOPT_CAINFO, kc->ca_file},
            {CURLOPT_SSLCERT, kc->client_cert},
            {CURLOPT_SSLKEY, kc->client_key},
            {CURLOPT_SSLCERTTYPE, kc->client_cert || kc->cert.data ? "PEM" : NULL},
            {CURLOPT_SSLKEYTYPE, kc->client_key || kc->key.data ? "PEM" : NULL},
    };
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
        cc = kube_set_blob(h, CURLOPT_CAINFO_BLOB, &kc->ca);
    }
    if (cc == CURLE_OK) {
        cc = kube_set_blob(h, CURLOPT_SSLCERT_BLOB, &kc->cert);
    }
    if (cc == CURLE_OK) {
        cc = kube_set_blob(h, CURLOPT_SSLKEY_BLOB, &kc->key);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    return cc;
}

/* One request as the client functions describe it. */
struct kube_req {
    const char *method;
    const char *path;
    const char *query; /* escaped arguments to append, or NULL */
    const char *content_type;
    const cJSON *body; /* NULL: none */
};

/* Method and body; curl turns a body into a POST unless told otherwise. */
static CURLcode kube_set_method(CURL *h, const struct kube_req *req, const char *text)
{
    CURLcode cc;

    if (!text) {
        return strcmp(req->method, "GET") == 0
                       ? curl_easy_setopt(h, CURLOPT_HTTPGET, 1L)
                       : curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(text));
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    }
    if (cc == CURLE_OK && strcmp(req->method, "POST") != 0) {
        cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    return cc;
}

/* Sends req once; 0 with the status and body in *ret_status and sink, or a transport error. */
static int kube_perform(struct kube_client *kc, const struct kube_req *req, long *ret_status,
                        struct kube_sink *sink, struct errbuf *eb)
{
    struct curl_slist *headers = kube_headers(kc, req->body ? req->content_type : NULL);
    char *url = kube_url(kc, req->path, req->query);
    char *text = req->body ? json_print(req->body) : NULL;
    CURLcode cc;
    int r = 0;

    curl_easy_reset(kc->curl);
    kc->curl_err[0] = '\0';
    cc = kube_setup(kc, kc->curl, url, headers, kc->timeout_ms, kc->curl_err);
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(kc->curl, CURLOPT_WRITEFUNCTION, kube_on_write);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(kc->curl, CURLOPT_WRITEDATA, sink);
    }
    if (cc == CURLE_OK) {
        cc = kube_set_method(kc->curl, req, text);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(kc->curl);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_getinfo(kc->curl, CURLINFO_RESPONSE_CODE, ret_status);
    }
    if (cc == CURLE_WRITE_ERROR) {
        errbuf_set(eb, "%s %s: answer over %zu bytes", req->method, req->path, KUBE_MAX_RESPONSE);
        r = -EFBIG;
    } else if (cc != CURLE_OK) {
        r = kube_curl_errno(kc->curl, cc);
        errbuf_set(eb, "%s %s: %s", req->method, req->path,
                   kc->curl_err[0] ? kc->curl_err : curl_easy_strerror(cc));
    }
    /* The handle keeps these pointers until its next reset: drop them now. */
    (void) curl_easy_setopt(kc->curl, CURLOPT_HTTPHEADER, NULL);
    (void) curl_easy_setopt(kc->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(text);
    free(url);
    return r;
}

/* Turns an answer into the result: the parsed body for 2xx, else err, eb and an errno. */
static int kube_answer(const struct kube_req *req, long status, const struct kube_sink *sink,
                       cJSON **ret, struct kube_error *err, struct errbuf *eb)
{
    cJSON *j = NULL;
    int r;

    if (status >= 200 && status < 300) {
        if (ret && sink->len > 0 && json_parse(sink->buf, sink->len, 0, &j, eb) < 0) {
            errbuf_prefix(eb, "%s %s: HTTP %ld answer", req->method, req->path, status);
            return -EIO;
        }
        err->http_status = status;
        if (ret) {
            *ret = j;
        }
        return 0;
    }
    kube_error_fill(err, status, sink->buf, sink->len);
    r = kube_status_errno(status, err->reason);
    errbuf_set(eb, "%s %s: HTTP %ld %s: %s", req->method, req->path, status, err->reason,
               err->message);
    return r;
}

/* Performs req (again once after a 401 if the token file holds a new token). */
static int kube_do(struct kube_client *kc, const struct kube_req *req, cJSON **ret,
                   struct kube_error *err, struct errbuf *eb)
{
    struct kube_error local;
    int r = -EIO;

    if (!err) {
        err = &local;
    }
    memset(err, 0, sizeof(*err));
    if (!kc || !req->path || req->path[0] != '/') {
        errbuf_set(eb, "kube: %s needs a client and an absolute API path", req->method);
        return -EINVAL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        struct kube_sink sink = {0};
        long status = 0;

        (void) kube_token_refresh(kc, false);
        r = kube_perform(kc, req, &status, &sink, eb);
        if (r == 0 && status == 401 && attempt == 0 && kube_token_refresh(kc, true)) {
            free(sink.buf);
            continue;
        }
        if (r == 0) {
            r = kube_answer(req, status, &sink, ret, err, eb);
        }
        free(sink.buf);
        break;
    }
    return r;
}

int kube_get(struct kube_client *kc, const char *path, cJSON **ret, struct kube_error *err,
             struct errbuf *eb)
{
    return kube_do(kc, &(struct kube_req){.method = "GET", .path = path}, ret, err, eb);
}

int kube_create(struct kube_client *kc, const char *path, const cJSON *obj, cJSON **ret,
                struct kube_error *err, struct errbuf *eb)
{
    const struct kube_req req = {
            .method = "POST", .path = path, .content_type = "application/json", .body = obj};

    return kube_do(kc, &req, ret, err, eb);
}

int kube_update(struct kube_client *kc, const char *path, const cJSON *obj, cJSON **ret,
                struct kube_error *err, struct errbuf *eb)
{
    const struct kube_req req = {
            .method = "PUT", .path = path, .content_type = "application/json", .body = obj};

    return kube_do(kc, &req, ret, err, eb);
}

int kube_patch(struct kube_client *kc, const char *path, enum kube_patch_type type,
               const cJSON *patch, cJSON **ret, struct kube_error *err, struct errbuf *eb)
{
    struct kube_req req = {.method = "PATCH", .path = path, .body = patch};

    switch (type) {
    case KUBE_PATCH_MERGE:
        req.content_type = "application/merge-patch+json";
        break;
    case KUBE_PATCH_STRATEGIC:
        req.content_type = "application/strategic-merge-patch+json";
        break;
    case KUBE_PATCH_JSON:
        req.content_type = "application/json-patch+json";
        break;
    case KUBE_PATCH_UNKNOWN:
    case _KUBE_PATCH_MAX:
        break;
    }
    if (!req.content_type || !patch || (type == KUBE_PATCH_JSON) != cJSON_IsArray(patch)) {
        errbuf_set(eb, "PATCH %s: bad patch type or body", path);
        return -EINVAL;
    }
    return kube_do(kc, &req, ret, err, eb);
}

int kube_delete(struct kube_client *kc, const char *path, cJSON **ret, struct kube_error *err,
                struct errbuf *eb)
{
    return kube_do(kc, &(struct kube_req){.method = "DELETE", .path = path}, ret, err, eb);
}

void kube_list_merge(cJSON **merged, cJSON *page, char **ret_continue)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(page, "metadata");
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    cJSON *items, *dst;

    *ret_continue = cJSON_IsString(cont) && cont->valuestring[0]
                            ? kube_escape_dup(cont->valuestring)
                            : NULL;
    if (!*merged) {
        *merged = page;
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "continue");
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "remainingItemCount");
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(page, "items"))) {
            cJSON_DeleteItemFromObjectCaseSensitive(page, "items");
            (void) json_add_array(page, "items");
        }
        return;
    }
    items = cJSON_GetObjectItemCaseSensitive(page, "items");
    dst = cJSON_GetObjectItemCaseSensitive(*merged, "items");
    while (cJSON_IsArray(items) && items->child) {
        cJSON_AddItemToArray(dst, cJSON_DetachItemViaPointer(items, items->child));
    }
    cJSON_Delete(page);
}

char *kube_list_query(const char *selector, const char *cont)
{
    return xasprintf("%s%s%slimit=%d%s%s", selector ? "labelSelector=" : "",
                     selector ? selector : "", selector ? "&" : "", KUBE_LIST_PAGE,
                     cont ? "&continue=" : "", cont ? cont : "");
}

static int kube_list_once(struct kube_client *kc, const char *path, const char *selector,
                          cJSON **ret, struct kube_error *err, struct errbuf *eb)
{
    cJSON *merged = NULL;
    char *cont = NULL;
    int r = 0;

    for (int page = 0; page < KUBE_LIST_MAX_PAGES; page++) {
        char *query = kube_list_query(selector, cont);
        struct kube_req req = {.method = "GET", .path = path, .query = query};
        cJSON *obj = NULL;

        free(cont);
        cont = NULL;
        r = kube_do(kc, &req, &obj, err, eb);
        free(query);
        if (r == 0 && !cJSON_IsObject(obj)) {
            errbuf_set(eb, "GET %s: the answer is not a list", path);
            r = -EIO;
        }
        if (r < 0) {
            cJSON_Delete(obj);
            cJSON_Delete(merged);
            return r;
        }
        kube_list_merge(&merged, obj, &cont);
        if (!cont) {
            *ret = merged;
            return 0;
        }
    }
    free(cont);
    cJSON_Delete(merged);
    errbuf_set(eb, "GET %s: more than %d pages", path, KUBE_LIST_MAX_PAGES);
    return -EFBIG;
}

int kube_list(struct kube_client *kc, const char *path, const char *label_selector, cJSON **ret,
              struct kube_error *err, struct errbuf *eb)
{
    char *selector = kube_escape_dup(str_is_empty(label_selector) ? NULL : label_selector);
    int r = -ESTALE;

    /* A continue token expires with the server's compaction (410): start again. */
    for (int i = 0; i < KUBE_LIST_RESTARTS && r == -ESTALE; i++) {
        r = kube_list_once(kc, path, selector, ret, err, eb);
    }
    free(selector);
    return r;
}

/* NOLINTNEXTLINE(readability-function-size): eight parameters, as the API was specified */
int kube_update_retry(struct kube_client *kc, const char *path, kube_mutate_fn fn, void *data,
                      unsigned max_attempts, cJSON **ret, struct kube_error *err, struct errbuf *eb)
{
    int r = -EAGAIN;

    if (max_attempts == 0) {
        max_attempts = KUBE_UPDATE_RETRIES;
    }
    for (unsigned i = 0; i < max_attempts && r == -EAGAIN; i++) {
        cJSON *obj = NULL;
        cJSON *written = NULL;

        r = kube_get(kc, path, &obj, err, eb);
        if (r < 0) {
            break;
        }
        r = fn(obj, data);
        if (r == 0) {
            r = kube_update(kc, path, obj, &written, err, eb);
        } else if (r == 1) {
            written = obj; /* nothing to change: the fresh copy is the answer */
            obj = NULL;
            r = 0;
        }
        if (r == 0 && ret) {
            *ret = written;
            written = NULL;
        }
        cJSON_Delete(written);
        cJSON_Delete(obj);
    }
    return r;
}

static int kube_ops_get(void *ctx, const char *path, cJSON **ret, struct kube_error *err,
                        struct errbuf *eb)
{
    return kube_get(ctx, path, ret, err, eb);
}

static int kube_ops_list(void *ctx, const char *path, const char *label_selector, cJSON **ret,
                         struct kube_error *err, struct errbuf *eb)
{
    return kube_list(ctx, path, label_selector, ret, err, eb);
}

static int kube_ops_create(void *ctx, const char *path, const cJSON *obj, cJSON **ret,
                           struct kube_error *err, struct errbuf *eb)
{
    return kube_create(ctx, path, obj, ret, err, eb);
}

static int kube_ops_update(void *ctx, const char *path, const cJSON *obj, cJSON **ret,
                           struct kube_error *err, struct errbuf *eb)
{
    return kube_update(ctx, path, obj, ret, err, eb);
}

static int kube_ops_patch(void *ctx, const char *path, enum kube_patch_type type,
                          const cJSON *patch, cJSON **ret, struct kube_error *err,
                          struct errbuf *eb)
{
    return kube_patch(ctx, path, type, patch, ret, err, eb);
}

static int kube_ops_delete(void *ctx, const char *path, cJSON **ret, struct kube_error *err,
                           struct errbuf *eb)
{
    return kube_delete(ctx, path, ret, err, eb);
}

const struct kube_ops kube_ops_real = {
        .get = kube_ops_get,
        .list = kube_ops_list,
        .create = kube_ops_create,
        .update = kube_ops_update,
        .patch = kube_ops_patch,
        .del = kube_ops_delete,
};

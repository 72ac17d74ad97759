/*
 * common/http.c
 *
 * The libmicrohttpd wrapper behind http.h: MHD runs one thread per connection and calls
 * http_on_request() on it, several times per request (libmicrohttpd doc/examples/simplepost.c,
 * tag v0.9.75): once after the headers, once per chunk of body, and once more with no data
 * when the body is complete. The first call routes the request and refuses it early (404,
 * 405, or 413 from Content-Length) without reading the body; the body calls accumulate it up
 * to max_body and then only count what they discard (a chunked body has no Content-Length);
 * the last call runs the handler.
 *
 * The listen address is bound once here before MHD binds it, only to learn the exact errno
 * (MHD_start_daemon() reports failure as NULL, without a reason we can return).
 *
 * Layer: edge (libmicrohttpd).
 */
#include "common/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define HTTP_ALLOW_MAX    16 /* distinct methods listed in the Allow header of a 405 */
#define HTTP_MAX_SEGMENTS 32 /* path segments in a route pattern or a request path */

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_route *routes;
    size_t n_routes;
    void *userdata;
    size_t max_body;
    size_t max_pattern; /* longest route pattern, to size the matching scratch buffer */
    uint16_t port;
    char *token;    /* bearer token the non-anonymous routes require; NULL = none */
    char *tls_cert; /* PEM, owned: MHD keeps pointers to them while it runs */
    char *tls_key;
};

/* Per-request state, MHD's con_cls: from the first call to the completion callback. */
struct http_call {
    const struct http_route *route;
    char *scratch; /* the pattern and path copies that params[] point into */
    struct http_kv params[HTTP_MAX_PARAMS];
    size_t n_params;
    char *body; /* NULL until the first chunk; dropped once the body is over the cap */
    size_t body_len;
    size_t body_cap;
    size_t received; /* body bytes seen, kept or not */
    bool too_big;
    bool answered; /* a response was queued before the body was read */
};

/* A parsed listen address. */
struct http_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool ipv6;
};

/* The methods of the routes whose pattern matches a path, for the Allow header of a 405. */
struct http_allow {
    const char *methods[HTTP_ALLOW_MAX];
    size_t n;
};

const char *http_request_param(const struct http_request *req, const char *name)
{
    if (!req || !name) {
        return NULL;
    }
    for (size_t i = 0; i < req->n_params && i < HTTP_MAX_PARAMS; i++) {
        if (req->params[i].key && strcmp(req->params[i].key, name) == 0) {
            return req->params[i].value;
        }
    }
    return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    if (!req || !name) {
        return NULL;
    }
    for (size_t i = 0; i < req->n_query && i < HTTP_MAX_QUERY; i++) {
        if (req->query[i].key && strcmp(req->query[i].key, name) == 0) {
            return req->query[i].value;
        }
    }
    return NULL;
}

void http_response_json(struct http_response *resp, int status, cJSON *take_body)
{
    free(resp->body);
    resp->body = NULL;
    resp->status = status;
    resp->content_type = "application/json";
    if (!take_body) {
        return;
    }
    resp->body = cJSON_PrintUnformatted(take_body);
    cJSON_Delete(take_body);
    if (!resp->body) {
        /* cJSON fails only on allocation: answer what we can without allocating. */
        resp->status = 500;
    }
}

void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    cJSON *root, *err;
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    root = cJSON_CreateObject();
    err = cJSON_AddObjectToObject(root, "error");
    (void) cJSON_AddNumberToObject(err, "code", status);
    (void) cJSON_AddStringToObject(err, "message", msg);
    http_response_json(resp, status, root);
}

/*
 * Splits s in place at '/' into at most max segments (a leading '/' is skipped); returns the
 * count, or max + 1 when there are more. "/a/b" → {"a","b"}; "/" → {""}; "/a/" → {"a",""}.
 */
static size_t http_split(char *s, char **seg, size_t max)
{
    size_t n = 0;

    if (*s == '/') {
        s++;
    }
    for (;;) {
        char *slash = strchr(s, '/');

        if (n == max) {
            return max + 1;
        }
        seg[n++] = s;
        if (!slash) {
            return n;
        }
        *slash = '\0';
        s = slash + 1;
    }
}

/*
 * True when path matches pattern; the {name} values then go to params (pointing into
 * scratch, which must hold strlen(pattern) + strlen(path) + 2 bytes) unless params is NULL.
 */
static bool http_match(const char *pattern, const char *path, char *scratch, struct http_kv *params,
                       size_t *ret_n_params)
{
    char *pseg[HTTP_MAX_SEGMENTS], *useg[HTTP_MAX_SEGMENTS];
    size_t plen = strlen(pattern), np, nu, n_params = 0;
    char *pcopy = scratch, *ucopy = scratch + plen + 1;

    memcpy(pcopy, pattern, plen + 1);
    memcpy(ucopy, path, strlen(path) + 1);
    np = http_split(pcopy, pseg, HTTP_MAX_SEGMENTS);
    nu = http_split(ucopy, useg, HTTP_MAX_SEGMENTS);
    if (np != nu || np > HTTP_MAX_SEGMENTS) {
        return false;
    }
    for (size_t i = 0; i < np; i++) {
        size_t len = strlen(pseg[i]);

        if (len >= 2 && pseg[i][0] == '{' && pseg[i][len - 1] == '}') {
            if (useg[i][0] == '\0' || n_params == HTTP_MAX_PARAMS) {
                return false;
            }
            pseg[i][len - 1] = '\0';
            if (params) {
                params[n_params] = (struct http_kv){pseg[i] + 1, useg[i]};
            }
            n_params++;
        } else if (strcmp(pseg[i], useg[i]) != 0) {
            return false;
        }
    }
    if (ret_n_params) {
        *ret_n_params = n_params;
    }
    return true;
}

/* Adds method to the Allow list unless it is there already or the list is full. */
static void http_allow_add(struct http_allow *allow, const char *method)
{
    for (size_t i = 0; i < allow->n; i++) {
        if (strcmp(allow->methods[i], method) == 0) {
            return;
        }
    }
    if (allow->n < HTTP_ALLOW_MAX) {
        allow->methods[allow->n++] = method;
    }
}

/* Joins the Allow list with ", " into buf; truncates (never expected: methods are few). */
static void http_allow_join(const struct http_allow *allow, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < allow->n && len < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", allow->methods[i]);

        if (n < 0) {
            break;
        }
        len += (size_t) n;
    }
}

/*
 * Finds the route for (method, path) and fills call->route, call->scratch and call->params.
 * Returns 200, or 404 (no pattern matches) or 405 (patterns match, methods differ; allow
 * lists them).
 */
static int http_route_find(const struct http_server *s, const char *method, const char *path,
                           struct http_call *call, struct http_allow *allow)
{
    char *scratch = xmalloc(s->max_pattern + strlen(path) + 2);
    bool path_known = false;

    for (size_t i = 0; i < s->n_routes; i++) {
        const struct http_route *rt = &s->routes[i];
        size_t n_params = 0;

        if (!http_match(rt->pattern, path, scratch, call->params, &n_params)) {
            continue;
        }
        path_known = true;
        if (strcmp(rt->method, method) == 0) {
            call->route = rt;
            call->scratch = scratch;
            call->n_params = n_params;
            return MHD_HTTP_OK;
        }
        http_allow_add(allow, rt->method);
    }
    free(scratch);
    return path_known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
}

/*
 * Queues resp on conn (taking its body in every case) with one extra header when hname is
 * set (Allow of a 405, WWW-Authenticate of a 401); MHD_YES when queued.
 */
static enum MHD_Result http_send(struct MHD_Connection *conn, struct http_response *resp,
                                 const char *hname, const char *hvalue)
{
    struct MHD_Response *mr;
    enum MHD_Result ret;
    size_t len;

    if (resp->status < 100 || resp->status > 599) {
        http_response_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "handler set no status");
    }
    len = resp->body ? strlen(resp->body) : 0;
    if (!resp->body) {
        mr = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
    } else {
        /* The body comes from malloc (cJSON_PrintUnformatted, xasprintf): MHD frees it. */
        mr = MHD_create_response_from_buffer(len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (!mr) {
            free(resp->body);
        }
        resp->body = NULL;
    }
    if (!mr) {
        return MHD_NO;
    }
    if (len || resp->content_type) {
        (void) MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       resp->content_type ? resp->content_type
                                                          : "application/json");
    }
    if (hname && hvalue) {
        (void) MHD_add_response_header(mr, hname, hvalue);
    }
    ret = MHD_queue_response(conn, (unsigned) resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result http_send_error(struct MHD_Connection *conn, int status, const char *hname,
                                       const char *hvalue, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static enum MHD_Result http_send_error(struct MHD_Connection *conn, int status, const char *hname,
                                       const char *hvalue, const char *fmt, ...)
{
    struct http_response resp = {0};
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_response_error(&resp, status, "%s", msg);
    return http_send(conn, &resp, hname, hvalue);
}

static enum MHD_Result http_collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
    struct http_request *req = cls;

    (void) kind;
    if (req->n_query == HTTP_MAX_QUERY) {
        return MHD_NO;
    }
    req->query[req->n_query++] = (struct http_kv){key, value ? value : ""};
    return MHD_YES;
}

/* The last call of a request: builds the http_request, runs the handler, queues its answer. */
static enum MHD_Result http_dispatch(struct http_server *s, struct MHD_Connection *conn,
                                     const char *url, const char *method, struct http_call *call)
{
    struct http_request req = {0};
    struct http_response resp = {0};

    if (call->too_big) {
        return http_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL,
                               "request body exceeds %zu bytes", s->max_body);
    }
    req.method = method;
    req.path = url;
    req.body = call->body ? call->body : "";
    req.body_len = call->body_len;
    req.content_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    req.authorization =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    memcpy(req.params, call->params, sizeof(req.params));
    req.n_params = call->n_params;
    req.conn_ = conn;
    if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > HTTP_MAX_QUERY) {
        return http_send_error(conn, MHD_HTTP_BAD_REQUEST, NULL, NULL,
                               "more than %d query arguments", HTTP_MAX_QUERY);
    }
    (void) MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, http_collect_query, &req);
    call->route->fn(&req, &resp, s->userdata);
    return http_send(conn, &resp, NULL, NULL);
}

/* A chunk of body: keep it while under the cap, afterwards only swallow it. */
static void http_accumulate(struct http_server *s, struct http_call *call, const char *data,
                            size_t size)
{
    call->received = size > SIZE_MAX - call->received ? SIZE_MAX : call->received + size;
    if (call->too_big) {
        return;
    }
    if (size > s->max_body - call->body_len) {
        /* Over the cap: stop buffering; the last call answers 413. */
        call->too_big = true;
        free(call->body);
        call->body = NULL;
        call->body_len = 0;
        return;
    }
    if (call->body_len + size + 1 > call->body_cap) {
        size_t cap = call->body_cap ? call->body_cap : 4096;

        while (cap < call->body_len + size + 1) {
            cap *= 2;
        }
        if (cap > s->max_body + 1) {
            cap = s->max_body + 1;
        }
        call->body = xrealloc(call->body, cap);
        call->body_cap = cap;
    }
    memcpy(call->body + call->body_len, data, size);
    call->body_len += size;
    call->body[call->body_len] = '\0';
}

/*
 * Whether an Authorization header carries token: scheme "Bearer" (any case, RFC 7235), one
 * or more spaces, the token compared in constant time so its bytes cannot be timed out.
 */
static bool http_token_ok(const char *token, const char *header)
{
    size_t n, want = strlen(token);
    unsigned diff = 0;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0) {
        return false;
    }
    header += 7;
    while (*header == ' ') {
        header++;
    }
    n = strlen(header);
    while (n > 0 && header[n - 1] == ' ') {
        n--;
    }
    diff = n == want ? 0 : 1;
    for (size_t i = 0; i < want; i++) {
        diff |= (unsigned) (unsigned char) token[i] ^
                (unsigned) (unsigned char) header[i < n ? i : 0];
    }
    return diff == 0 && want > 0;
}

/* The first call of a request: route it and refuse what can be refused before the body. */
static enum MHD_Result http_begin(struct http_server *s, struct MHD_Connection *conn,
                                  const char *url, const char *method, struct http_call *call)
{
    struct http_allow allow = {0};
    const char *clen;
    uint64_t declared;
    int status;

    status = http_route_find(s, method, url, call, &allow);
    if (status == MHD_HTTP_NOT_FOUND) {
        call->answered = true;
        return http_send_error(conn, status, NULL, NULL, "no such path: %s", url);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        char text[HTTP_ALLOW_MAX * 16];

        http_allow_join(&allow, text, sizeof(text));
        call->answered = true;
        return http_send_error(conn, status, MHD_HTTP_HEADER_ALLOW, text,
                               "method %s not allowed on %s", method, url);
    }
    if (s->token && !call->route->anonymous &&
        !http_token_ok(s->token, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_AUTHORIZATION))) {
        call->answered = true;
        return http_send_error(conn, MHD_HTTP_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                               "Bearer realm=\"og-operator\"",
                               "a valid bearer token is required (Authorization: Bearer ...)");
    }
    clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (clen && str_to_u64(clen, 0, UINT64_MAX, &declared) == 0 && declared > s->max_body) {
        /* Answered before any body is read: a client sending "Expect: 100-continue" (curl
         * does for large bodies) never sends it, and MHD closes the connection after. */
        call->answered = true;
        return http_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL,
                               "request body of %s bytes exceeds %zu bytes", clen, s->max_body);
    }
    return MHD_YES;
}

/* NOLINTNEXTLINE(readability-function-size): MHD_AccessHandlerCallback has 8 parameters */
static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    struct http_server *s = cls;
    struct http_call *call = *con_cls;

    (void) version;
    if (!call) {
        call = xcalloc(1, sizeof(*call));
        *con_cls = call;
        return http_begin(s, conn, url, method, call);
    }
    if (call->answered) {
        /* A response is already queued; MHD does not read on, but be safe. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        http_accumulate(s, call, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* MHD 0.9.75 queues no response before the body is read (MHD_queue_response() says
         * MHD_NO), so a chunked body over the cap is swallowed for the 413; but only up to
         * twice the cap: beyond that, the client is abusive and its connection is dropped. */
        if (call->too_big && call->received - s->max_body > s->max_body) {
            return MHD_NO;
        }
        return MHD_YES;
    }
    call->answered = true;
    return http_dispatch(s, conn, url, method, call);
}

static void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct http_call *call = *con_cls;

    (void) cls;
    (void) conn;
    (void) toe;
    if (!call) {
        return;
    }
    free(call->scratch);
    free(call->body);
    free(call);
    *con_cls = NULL;
}

static void http_on_mhd_log(void *cls, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void http_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t len;

    (void) cls;
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) {
        msg[--len] = '\0';
    }
    log_debug("libmicrohttpd: %s", msg);
}

/* Parses "a.b.c.d:port" or "[v6]:port" (numeric only); 0 or -EINVAL with eb. */
static int http_parse_listen(const char *listen, struct http_addr *ret, struct errbuf *eb)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon, *hstart, *hend;
    uint32_t port;
    struct http_addr a = {0};

    if (!listen) {
        goto bad;
    }
    if (listen[0] == '[') {
        hstart = listen + 1;
        hend = strchr(hstart, ']');
        if (!hend || hend[1] != ':') {
            goto bad;
        }
        colon = hend + 1;
    } else {
        hstart = listen;
        colon = strrchr(listen, ':');
        hend = colon;
        if (!colon) {
            goto bad;
        }
    }
    if (hend <= hstart || (size_t) (hend - hstart) >= sizeof(host)) {
        goto bad;
    }
    memcpy(host, hstart, (size_t) (hend - hstart));
    host[hend - hstart] = '\0';
    if (str_to_u32(colon + 1, 0, 65535, &port) < 0) {
        goto bad;
    }
    if (listen[0] == '[') {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &a.ss;

        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            goto bad;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) port);
        a.len = sizeof(*sin6);
        a.ipv6 = true;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *) &a.ss;

        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            goto bad;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        a.len = sizeof(*sin);
    }
    *ret = a;
    return 0;
bad:
    errbuf_set(eb, "invalid listen address \"%s\" (want IPv4:port or [IPv6]:port)",
               listen ? listen : "(null)");
    return -EINVAL;
}

/* Binds the address once with MHD's socket options to learn the errno MHD would not give. */
static int http_probe_bind(const struct http_addr *a, const char *listen, struct errbuf *eb)
{
    char tmp[128];
    int fd, r = 0, on = 1;

    fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        errbuf_set(eb, "socket for %s: %s", listen, strerror_r(-r, tmp, sizeof(tmp)));
        return r;
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (a->ipv6) {
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    if (bind(fd, (const struct sockaddr *) &a->ss, a->len) < 0) {
        r = -errno;
        errbuf_set(eb, "bind %s: %s", listen, strerror_r(-r, tmp, sizeof(tmp)));
    }
    (void) close(fd);
    return r;
}

/* Checks one route pattern: absolute, at most HTTP_MAX_SEGMENTS segments, HTTP_MAX_PARAMS. */
static bool http_pattern_is_valid(const char *pattern)
{
    char *copy, *seg[HTTP_MAX_SEGMENTS];
    size_t n, n_params = 0;

    if (pattern[0] != '/') {
        return false;
    }
    copy = xstrdup(pattern);
    n = http_split(copy, seg, HTTP_MAX_SEGMENTS);
    for (size_t i = 0; i < n && i < HTTP_MAX_SEGMENTS; i++) {
        if (seg[i][0] == '{') {
            n_params++;
        }
    }
    free(copy);
    return n <= HTTP_MAX_SEGMENTS && n_params <= HTTP_MAX_PARAMS;
}

/* Validates the route table; 0 and *ret_max_pattern, or -EINVAL with eb. */
static int http_check_routes(const struct http_server_config *cfg, size_t *ret_max_pattern,
                             struct errbuf *eb)
{
    size_t max_pattern = 0;

    if (cfg->n_routes && !cfg->routes) {
        errbuf_set(eb, "route table is NULL");
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct http_route *rt = &cfg->routes[i];

        if (!rt->method || !rt->pattern || !rt->fn || !http_pattern_is_valid(rt->pattern)) {
            errbuf_set(eb, "route %zu (%s %s) is incomplete or too long", i,
                       rt->method ? rt->method : "?", rt->pattern ? rt->pattern : "?");
            return -EINVAL;
        }
        if (strlen(rt->pattern) > max_pattern) {
            max_pattern = strlen(rt->pattern);
        }
    }
    *ret_max_pattern = max_pattern;
    return 0;
}

int http_server_start(const struct http_server_config *cfg, struct http_server **ret,
                      struct errbuf *eb)
{
    struct http_server *s = NULL;
    struct http_addr addr;
    size_t max_pattern = 0;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    int r;

    r = http_parse_listen(cfg->listen, &addr, eb);
    if (r < 0) {
        return r;
    }
    r = http_check_routes(cfg, &max_pattern, eb);
    if (r < 0) {
        return r;
    }
    r = http_probe_bind(&addr, cfg->listen, eb);
    if (r < 0) {
        return r;
    }
    if (addr.ipv6) {
        flags |= MHD_USE_IPv6;
    }
    s = xcalloc(1, sizeof(*s));
    s->routes = xcalloc(cfg->n_routes, sizeof(*s->routes));
    if (cfg->n_routes) {
        memcpy(s->routes, cfg->routes, cfg->n_routes * sizeof(*s->routes));
    }
    s->n_routes = cfg->n_routes;
    s->userdata = cfg->userdata;
    s->max_body = cfg->max_body ? cfg->max_body : HTTP_DEFAULT_MAX_BODY;
    s->max_pattern = max_pattern;
    if (cfg->bearer_token && cfg->bearer_token[0]) {
        s->token = xstrdup(cfg->bearer_token);
    }
    if (cfg->tls_cert_pem && cfg->tls_key_pem) {
        s->tls_cert = xstrdup(cfg->tls_cert_pem);
        s->tls_key = xstrdup(cfg->tls_key_pem);
        flags |= MHD_USE_TLS;
    }
    s->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, http_on_request, s, MHD_OPTION_EXTERNAL_LOGGER, http_on_mhd_log,
            NULL, MHD_OPTION_SOCK_ADDR, &addr.ss, MHD_OPTION_NOTIFY_COMPLETED, http_on_completed,
            NULL, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned) (cfg->conn_timeout_s ? cfg->conn_timeout_s : HTTP_DEFAULT_TIMEOUT_S),
            MHD_OPTION_CONNECTION_LIMIT,
            (unsigned) (cfg->max_connections ? cfg->max_connections : HTTP_DEFAULT_CONNECTIONS),
            /* Without TLS the list ends here: the key options below are not read. */
            s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
            MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
    if (!s->daemon) {
        errbuf_set(eb, "libmicrohttpd failed to start on %s (run with OG_LOG_LEVEL=debug)",
                   cfg->listen);
        r = -EIO;
        goto fail;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        errbuf_set(eb, "libmicrohttpd did not report the bound port of %s", cfg->listen);
        r = -EIO;
        goto fail;
    }
    s->port = info->port;
    *ret = s;
    return 0;
fail:
    http_server_stop(s);
    return r;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

void http_server_stop(struct http_server *s)
{
    if (!s) {
        return;
    }
    if (s->daemon) {
        MHD_stop_daemon(s->daemon);
    }
    free(s->routes);
    free(s->token);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

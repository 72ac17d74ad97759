/*
 * common/http.h
 *
 * The HTTP server of both daemons (the arbiter's REST API and agent-facing report endpoint,
 * the agent's metrics), a thin wrapper over libmicrohttpd 0.9.75: a route table with {name}
 * path parameters, request bodies accumulated up to a cap, and JSON replies and errors.
 *
 * Threading: one thread per connection. A handler runs on its connection's thread and may
 * block (the arbiter holds an agent's report open until its desired state changes, a long
 * poll) while other connections are served. Handlers therefore run concurrently with each
 * other and with the caller of http_server_start(); they must only touch shared state under
 * the owner's lock (STYLE.md "Threads").
 *
 * SIGPIPE: a client that disconnects mid-response must not kill the process. MHD sends with
 * MSG_NOSIGNAL on Linux, and every daemon's main (and every test main) also calls
 * signal(SIGPIPE, SIG_IGN) before starting a server; this module does not touch signals.
 */
#ifndef OG_COMMON_HTTP_H
#define OG_COMMON_HTTP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define HTTP_MAX_PARAMS          8       /* {name} segments in one route pattern */
#define HTTP_MAX_QUERY           16      /* query-string arguments kept per request */
#define HTTP_DEFAULT_MAX_BODY    1048576 /* 1 MiB, the REST request body cap (STYLE.md) */
#define HTTP_DEFAULT_TIMEOUT_S   30
#define HTTP_DEFAULT_CONNECTIONS 256

struct MHD_Connection;

/* A name and its value, both borrowed from the request for the duration of the handler call. */
struct http_kv {
    const char *key;
    const char *value;
};

/*
 * One request, borrowed by the handler for the duration of the call. Tests of handlers may
 * build one by hand: fill the public fields, params[] and query[]; leave conn_ NULL.
 */
struct http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* URL path (percent-decoded) without the query string */
    const char *body;          /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;           /* bytes in body, not counting the terminator */
    const char *content_type;  /* Content-Type header, may be NULL */
    const char *authorization; /* Authorization header, may be NULL */
    /* Private: read them through http_request_param() and http_request_query(). */
    struct http_kv params[HTTP_MAX_PARAMS];
    size_t n_params;
    struct http_kv query[HTTP_MAX_QUERY];
    size_t n_query;
    struct MHD_Connection *conn_;
};

/* Value of the {name} path parameter of the matched route, or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
/* Value of a query-string argument (percent-decoded; "" for "?flag"), or NULL when absent. */
const char *http_request_query(const struct http_request *req, const char *name);

/* Filled by the handler; the server sends it once the handler returns. */
struct http_response {
    int status;               /* HTTP status; left 0 → 500 */
    char *body;               /* owned (malloc'd), freed by the server after sending; may be NULL */
    const char *content_type; /* static string; NULL → "application/json" */
};

/* A route handler; userdata is http_server_config.userdata. Runs on a connection thread. */
typedef void (*http_handler_fn)(const struct http_request *req, struct http_response *resp,
                                void *userdata);

/*
 * One route. pattern is a path of '/'-separated segments, each literal or {name}, e.g.
 * "/api/v1/clusters/{ns}/{name}/history"; a request matches when every literal segment is
 * equal and the segment counts are equal ({name} matches any non-empty segment). The first
 * matching row wins. The strings are borrowed and must outlive the server (use literals).
 */
struct http_route {
    const char *method;
    const char *pattern;
    http_handler_fn fn;
    bool anonymous; /* served without the bearer token (health, readiness, metrics) */
};

struct http_server_config {
    const char *listen; /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8080"; port 0 = ephemeral */
    const struct http_route *routes; /* copied (the array); the strings are borrowed */
    size_t n_routes;
    void *userdata;          /* passed to every handler */
    size_t max_body;         /* 0 → 1 MiB; a larger body → 413 JSON error, handler not called */
    unsigned conn_timeout_s; /* 0 → 30 s; idle connection timeout (not applied in handlers) */
    unsigned max_connections; /* 0 → 256; further connections are refused */
    /* Copied. Set: every route but the anonymous ones answers 401 (with WWW-Authenticate)
     * unless the request carries "Authorization: Bearer <token>". NULL or "": no check. */
    const char *bearer_token;
    /* PEM texts, copied; both set: HTTPS only (libmicrohttpd over GnuTLS). */
    const char *tls_cert_pem;
    const char *tls_key_pem;
};

struct http_server;

/*
 * Binds cfg->listen and starts serving. Unknown path → 404, known path with another method →
 * 405 with an Allow header, body over max_body → 413, all as JSON errors (http_response_error).
 * Returns 0 and *ret, or -EINVAL (bad listen string or route table, eb names it), the bind
 * errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, ...) or -EIO (MHD failed, eb has its words).
 */
int http_server_start(const struct http_server_config *cfg, struct http_server **ret,
                      struct errbuf *eb);
/* The bound port (the ephemeral one when listen asked for port 0). */
uint16_t http_server_port(const struct http_server *s);
/*
 * Stops accepting, closes idle connections, waits for running handlers to return, frees s.
 * NULL-safe. A handler blocked in a long poll delays this: wake it first (its owner's job).
 */
void http_server_stop(struct http_server *s);

/* Sets status and a body printed unformatted from take_body, which it deletes (NULL → no
 * body). Replaces any earlier body. */
void http_response_json(struct http_response *resp, int status, cJSON *take_body);
/* Sets status and the body {"error":{"code":<status>,"message":"<formatted>"}}. */
void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif

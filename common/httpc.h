/*
 * common/httpc.h
 *
 * The HTTP client of the agent (reports to the arbiter, long polls for desired state) and of
 * the CLIs, over libcurl 7.88.1: one easy handle per client, reused so that connections stay
 * alive; every call bounded by a connect and a total timeout; no redirects, http and https
 * only; response bodies capped. A struct httpc is used by one thread at a time.
 *
 * curl_global_init() is the caller's: main() calls it before any thread starts (STYLE.md).
 */
#ifndef OG_COMMON_HTTPC_H
#define OG_COMMON_HTTPC_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define HTTPC_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define HTTPC_DEFAULT_TIMEOUT_MS         10000
#define HTTPC_DEFAULT_MAX_RESPONSE       ((size_t) 8 * 1024 * 1024) /* 8 MiB (STYLE.md buffer caps) */

struct httpc_options {
    uint32_t connect_timeout_ms;          /* 0 → 2000 */
    uint32_t timeout_ms;                  /* whole request; 0 → 10000 */
    const char *ca_file;                  /* TLS: CA bundle, NULL = system */
    const char *client_cert, *client_key; /* TLS client auth (PEM files), may be NULL */
    bool insecure_skip_verify;            /* TLS: accept any server certificate (tests only) */
    const char *bearer_token;             /* sent as "Authorization: Bearer ...", may be NULL */
    size_t max_response;                  /* 0 → 8 MiB; a larger response body → -EFBIG */
};

struct httpc;

/*
 * A client with a copy of opt (strings copied). Returns NULL only when libcurl cannot create
 * a handle or the bearer token contains CR or LF. Free with httpc_free().
 */
struct httpc *httpc_new(const struct httpc_options *opt);
/* Closes the connections and frees c. NULL-safe. */
void httpc_free(struct httpc *c);
/* Replaces the bearer token (rotation; copied; NULL removes it); 0, or -EINVAL on CR/LF. */
int httpc_set_bearer_token(struct httpc *c, const char *token);

struct httpc_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
    const char *url;          /* http:// or https:// */
    const char *content_type; /* NULL when no body */
    const char *body;         /* borrowed for the call; may be NULL */
    size_t body_len;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, may be NULL */
    uint32_t timeout_ms; /* 0 → the client's timeout_ms; per-request override (long polls) */
};

struct httpc_response {
    long status; /* HTTP status */
    char *body;  /* always NUL-terminated (never NULL after success), owned */
    size_t body_len;
};

/* Frees r->body and clears r. NULL-safe. */
void httpc_response_done(struct httpc_response *r);

/*
 * The negative errno for a failed libcurl transfer, shared by every libcurl user here: the
 * list of httpc_do below (too_big: the response cap was hit, so CURLE_WRITE_ERROR is -EFBIG).
 */
int httpc_curl_errno(CURL *curl, CURLcode cc, bool too_big);

/*
 * Performs req. Returns 0 when an HTTP response arrived, whatever its status, and fills *ret
 * (release with httpc_response_done()). Otherwise, with the curl text in eb:
 *   -ETIMEDOUT     connect or total timeout;
 *   -ECONNREFUSED  nothing listens there;
 *   -EHOSTUNREACH  no route to the host, or its name does not resolve;
 *   -ECONNRESET    the connection broke or closed without an answer;
 *   -EFBIG         the response body is larger than max_response;
 *   -EINVAL        bad request (URL, protocol, method, CR/LF in a header);
 *   -EIO           any other curl failure (TLS included).
 */
int httpc_do(struct httpc *c, const struct httpc_request *req, struct httpc_response *ret,
             struct errbuf *eb);

/*
 * JSON in and out: sends body (may be NULL: no body) as application/json with the given
 * per-request timeout (0 → client default), and parses the answer. On 0, *ret_status is the
 * HTTP status and *ret_json the parsed body (NULL when the body is empty), owned by the
 * caller. A non-JSON body → -EBADMSG (eb names the status); other errors as httpc_do().
 */
int httpc_json(struct httpc *c, const char *method, const char *url, const cJSON *body,
               uint32_t timeout_ms, long *ret_status, cJSON **ret_json, struct errbuf *eb);

#endif

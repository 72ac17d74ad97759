/*
 * common/kube_int.h
 *
 * What common/kube.c and common/kube_watch.c share, and nothing else may use: the client
 * structure, the bounded body sink, the curl setup of a request, token refresh, Status-body
 * parsing and the pieces of a paginated list. Defined in common/kube.c.
 *
 * Layer: edge (libcurl).
 */
#ifndef OG_COMMON_KUBE_INT_H
#define OG_COMMON_KUBE_INT_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/kube.h"

struct kube_blob {
    char *data;
    size_t len;
};

struct kube_client {
    CURL *curl;
    char *server;
    char *ca_file, *client_cert, *client_key; /* NULL when not set */
    struct kube_blob ca, cert, key;           /* in-memory PEM; data NULL when not set */
    bool insecure;
    uint32_t connect_timeout_ms;
    uint32_t timeout_ms;
    char namespace_[KUBE_NAMESPACE_MAX];
    char *token_file;  /* NULL: the token (if any) is static */
    char *auth_header; /* KUBE_AUTH_PREFIX + token, or NULL */
    struct stat token_st;
    uint64_t token_read_ms;
    char curl_err[CURL_ERROR_SIZE];
};

/* A body arriving, with a cap (curl dynbuf's toobig). */
struct kube_sink {
    char *buf;
    size_t len;
    size_t cap;
};

/* A heap copy of s escaped for a query (NULL for NULL). */
char *kube_escape_dup(const char *s);

/* Fills err from a failure answer: its Status body, or the start of whatever body came. */
void kube_error_fill(struct kube_error *err, long status, const char *body, size_t len);

/* The negative errno of a failed transfer (as common/httpc.c maps them). */
int kube_curl_errno(CURL *curl, CURLcode cc);

/* Appends data[n] unless the total would pass max; false then. Always NUL-terminated. */
bool kube_sink_append(struct kube_sink *s, const char *data, size_t n, size_t max);

/*
 * Re-reads the token file when forced, when its stat changed (the kubelet swaps a symbolic
 * link) or after KUBE_TOKEN_REREAD_MS. A file that cannot be read keeps the last token.
 * True when the token changed.
 */
bool kube_token_refresh(struct kube_client *kc, bool force);

/* Accept, Content-Type (when content_type), no "Expect: 100-continue", Authorization. */
struct curl_slist *kube_headers(const struct kube_client *kc, const char *content_type);

/* server + path, then query after '?' (or '&' when path has a query already). */
char *kube_url(const struct kube_client *kc, const char *path, const char *query);

/* Every option of a request but method, body and sink, on a freshly reset handle. */
CURLcode kube_setup(const struct kube_client *kc, CURL *h, const char *url,
                    struct curl_slist *headers, uint32_t timeout_ms, char *errbuf);

/*
 * Adds the items of page to *merged (the first page becomes *merged) and returns the
 * escaped continue token of page in *ret_continue (NULL on the last page). Consumes page.
 */
void kube_list_merge(cJSON **merged, cJSON *page, char **ret_continue);

/* The query of one list page: labelSelector, limit, continue (all escaped). */
char *kube_list_query(const char *selector, const char *cont);

#endif

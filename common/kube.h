/*
 * common/kube.h
 *
 * The Kubernetes API client of the arbiter (and of the agent, for its own pod), over libcurl
 * 7.88.1, written from the API conventions
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 *  - requests: get, list (with `continue` pagination merged into one list), create, update
 *    (PUT with metadata.resourceVersion: optimistic concurrency), patch (merge, strategic
 *    merge, JSON patch), delete, and a GET-modify-PUT loop that retries 409 Conflicts on
 *    fresh data;
 *  - errors: the Status body of every failure is read into struct kube_error (code, reason,
 *    message) and mapped to a negative errno (kube_status_errno());
 *  - watches: in common/kube_watch.h (included here): list, then watch with bookmarks,
 *    re-list on 410 Gone/Expired, reconnect with backoff, driven in bounded steps;
 *  - credentials: bearer token (re-read when its file rotates, and once more on a 401),
 *    client certificates, CA bundles (files or in-memory PEM from a kubeconfig).
 *
 * Every request has a connect timeout (2 s) and a total timeout (10 s) unless the config
 * says otherwise; response bodies are capped at 8 MiB (STYLE.md). A struct kube_client and
 * the watches opened on it are used by one thread at a time (a watch refreshes its client's
 * token). curl_global_init() is main()'s.
 */
#ifndef OG_COMMON_KUBE_H
#define OG_COMMON_KUBE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "common/kube_config.h"
#include "common/kube_watch.h" /* the watches on a client */

#define KUBE_MAX_RESPONSE   ((size_t) 8 * 1024 * 1024) /* STYLE.md: Kubernetes response cap */
#define KUBE_LIST_PAGE      500                        /* items per page of a list */
#define KUBE_LIST_MAX_PAGES 1000                       /* a list longer than this fails */
#define KUBE_PATH_MAX       1024
#define KUBE_UPDATE_RETRIES 5 /* kube_update_retry() attempts when the caller passes 0 */

/* ---- paths ---- */

/* One API resource: group ("" for the core group), version and plural name. */
struct kube_resource {
    const char *group;
    const char *version;
    const char *plural;
};

/* The resources og-operator uses. */
extern const struct kube_resource kube_res_namespaces;
extern const struct kube_resource kube_res_pods;
extern const struct kube_resource kube_res_services;
extern const struct kube_resource kube_res_endpointslices; /* discovery.k8s.io/v1 */
extern const struct kube_resource kube_res_events;         /* core v1 events */
extern const struct kube_resource kube_res_leases;         /* coordination.k8s.io/v1 */
extern const struct kube_resource kube_res_configmaps;
extern const struct kube_resource kube_res_secrets;
extern const struct kube_resource kube_res_opengaussclusters; /* opengauss.sig/v1 */

/*
 * Writes the API path of res into buf[size]: "/api/v1/namespaces/ns/pods/name" or
 * "/apis/opengauss.sig/v1/namespaces/ns/opengaussclusters/name/status". namespace_ NULL
 * gives the cluster-wide path (cluster-scoped objects, or a list across namespaces); name
 * NULL the collection; subresource NULL none. Every segment must be a valid path segment
 * (non-empty, not "." or "..", none of "/ % ? #", blanks or control characters). Returns 0,
 * -EINVAL (a bad segment) or -ENAMETOOLONG.
 */
int kube_path(char *buf, size_t size, const struct kube_resource *res, const char *namespace_,
              const char *name, const char *subresource);

/*
 * Percent-encodes s for a query-string value (everything but A-Z a-z 0-9 - . _ ~), e.g. a
 * label selector "app=og,role in (primary)". 0 or -ENAMETOOLONG.
 */
int kube_query_escape(char *buf, size_t size, const char *s);

/* ---- errors ---- */

/* What the API server said about a failure (its Status body). */
struct kube_error {
    long http_status;  /* HTTP status; 0 when no HTTP answer came (transport error) */
    char reason[64];   /* Status.reason: "NotFound", "AlreadyExists", "Conflict", "Invalid", ... */
    char message[256]; /* Status.message (cut), or the start of a body that is not a Status */
};

/*
 * The negative errno for an HTTP failure status and Status reason (NULL allowed): 400/422
 * -EINVAL, 401/403 -EACCES, 404 -ENOENT, 405/415 -EOPNOTSUPP, 409 -EEXIST when reason is
 * "AlreadyExists" else -EAGAIN (a Conflict: retry on fresh data), 410 -ESTALE (Gone /
 * Expired), 413 -EFBIG, 429 -EBUSY, 504 -ETIMEDOUT, anything else -EIO. 0 for 2xx.
 */
int kube_status_errno(long http_status, const char *reason);

/* ---- client ---- */

struct kube_client;

/*
 * A client for cfg (copied: cfg may be released with kube_config_done() afterwards). Reads
 * the token file now when one is named. NULL with eb filled when cfg has no server, the
 * token file cannot be read or libcurl cannot create a handle. Free with kube_client_free().
 */
struct kube_client *kube_client_new(const struct kube_config *cfg, struct errbuf *eb);
/* Closes connections and frees kc (NULL-safe). Watches on kc must be freed before. */
void kube_client_free(struct kube_client *kc);
/* The namespace of the configuration (the pod's own, or the context's). */
const char *kube_client_namespace(const struct kube_client *kc);

/*
 * Requests. path is an API path from kube_path() and may carry a query string of its own
 * ("...?propagationPolicy=Background", already escaped). On success (2xx) *ret, when ret is
 * not NULL, is the parsed answer owned by the caller (cJSON_Delete; NULL for an empty body).
 * On failure *ret is untouched, err (may be NULL) holds the server's Status and eb a line
 * naming the method, path, status and message. Returns 0, kube_status_errno() of the
 * answer, or a transport error: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET,
 * -EFBIG (answer over 8 MiB), -EIO (TLS or other curl failure, or a body that is not JSON).
 * A 401 makes the client re-read its token file once and, if the token changed, retry.
 */
int kube_get(struct kube_client *kc, const char *path, cJSON **ret, struct kube_error *err,
             struct errbuf *eb);
/*
 * Lists the collection at path, label_selector (raw text, NULL = all) applied, in pages of
 * KUBE_LIST_PAGE followed through metadata.continue. *ret is one list object (kind, metadata
 * with the snapshot's resourceVersion, all items). An expired continue token (410) restarts
 * the list, at most three times; then -ESTALE.
 */
int kube_list(struct kube_client *kc, const char *path, const char *label_selector, cJSON **ret,
              struct kube_error *err, struct errbuf *eb);
/* POSTs obj to the collection path; *ret is the created object. 409 AlreadyExists → -EEXIST. */
int kube_create(struct kube_client *kc, const char *path, const cJSON *obj, cJSON **ret,
                struct kube_error *err, struct errbuf *eb);
/*
 * PUTs obj to the object path. With metadata.resourceVersion set, the server refuses a stale
 * one with 409 Conflict → -EAGAIN (re-read and retry: kube_update_retry()).
 */
int kube_update(struct kube_client *kc, const char *path, const cJSON *obj, cJSON **ret,
                struct kube_error *err, struct errbuf *eb);

enum kube_patch_type {
    KUBE_PATCH_UNKNOWN = 0,
    KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in kinds only) */
    KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902; patch is an array) */
    _KUBE_PATCH_MAX
};

/* "merge", "strategic", "json" ("UNKNOWN" otherwise). */
const char *kube_patch_type_to_string(enum kube_patch_type t);
/* Parses those names; 0 or -EINVAL. */
int kube_patch_type_from_string(const char *s, enum kube_patch_type *ret);

/* PATCHes the object at path with patch of the given type; *ret is the patched object. */
int kube_patch(struct kube_client *kc, const char *path, enum kube_patch_type type,
               const cJSON *patch, cJSON **ret, struct kube_error *err, struct errbuf *eb);
/* DELETEs the object at path; *ret is the server's answer (the object or a Status). */
int kube_delete(struct kube_client *kc, const char *path, cJSON **ret, struct kube_error *err,
                struct errbuf *eb);

/*
 * Changes obj (a fresh copy of the object, owned by the caller of the function) in place.
 * Returns 0 to write it back, 1 when there is nothing to change, or a negative errno to
 * stop (kube_update_retry() then returns it).
 */
typedef int (*kube_mutate_fn)(cJSON *obj, void *data);

/*
 * GET path, fn(obj, data), PUT obj (its resourceVersion unchanged, so a concurrent writer
 * makes it fail with a Conflict); on -EAGAIN start again with fresh data, at most
 * max_attempts times (0 → KUBE_UPDATE_RETRIES). *ret (may be NULL) is the written object,
 * or the unchanged one when fn returned 1. Returns 0, fn's error, -EAGAIN when every
 * attempt conflicted, or a request's error.
 */
int kube_update_retry(struct kube_client *kc, const char *path, kube_mutate_fn fn, void *data,
                      unsigned max_attempts, cJSON **ret, struct kube_error *err,
                      struct errbuf *eb);

/* The requests as a table, so the shell layer can use a fake (STYLE.md); ctx is the client. */
struct kube_ops {
    int (*get)(void *ctx, const char *path, cJSON **ret, struct kube_error *err, struct errbuf *eb);
    int (*list)(void *ctx, const char *path, const char *label_selector, cJSON **ret,
                struct kube_error *err, struct errbuf *eb);
    int (*create)(void *ctx, const char *path, const cJSON *obj, cJSON **ret,
                  struct kube_error *err, struct errbuf *eb);
    int (*update)(void *ctx, const char *path, const cJSON *obj, cJSON **ret,
                  struct kube_error *err, struct errbuf *eb);
    int (*patch)(void *ctx, const char *path, enum kube_patch_type type, const cJSON *patch,
                 cJSON **ret, struct kube_error *err, struct errbuf *eb);
    int (*del)(void *ctx, const char *path, cJSON **ret, struct kube_error *err, struct errbuf *eb);
};

/* The real client's table: ctx is a struct kube_client *. */
extern const struct kube_ops kube_ops_real;

#endif

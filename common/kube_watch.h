/*
 * common/kube_watch.h
 *
 * Watches on the Kubernetes API ("efficient detection of changes",
 * https://kubernetes.io/docs/reference/using-api/api-concepts/): list, then watch from the
 * list's resourceVersion with bookmarks, re-list on 410 Gone/Expired, reconnect with backoff,
 * driven in bounded steps so that the caller's loop never blocks on the API server. A watch
 * runs on a struct kube_client (common/kube.h, which includes this header) and is used by the
 * same one thread as its client (a watch refreshes its client's token).
 */
#ifndef OG_COMMON_KUBE_WATCH_H
#define OG_COMMON_KUBE_WATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errbuf.h"

struct kube_client;

enum kube_event {
    KUBE_EVENT_UNKNOWN = 0,
    KUBE_EVENT_ADDED,
    KUBE_EVENT_MODIFIED,
    KUBE_EVENT_DELETED,
    KUBE_EVENT_BOOKMARK,     /* object holds only metadata.resourceVersion: progress */
    KUBE_EVENT_RELIST_BEGIN, /* object NULL: the full current set follows */
    KUBE_EVENT_RELIST_END,   /* object NULL: the set is complete; the caller is in sync */
    _KUBE_EVENT_MAX
};

/* "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELIST_BEGIN", "RELIST_END" ("UNKNOWN"). */
const char *kube_event_to_string(enum kube_event e);
/* Parses those names; 0 or -EINVAL. */
int kube_event_from_string(const char *s, enum kube_event *ret);

/*
 * Called for each event, from inside kube_watch_step(). object is borrowed for the call
 * (NULL for RELIST_BEGIN/END). The callback may use the client (kube_get, ...) but must not
 * free the watch.
 */
typedef void (*kube_event_fn)(enum kube_event type, const cJSON *object, void *data);

struct kube_watch_options {
    const char *path;           /* collection path (kube_path with name NULL); copied */
    const char *label_selector; /* raw text, NULL = everything; copied */
    uint64_t resource_version;  /* 0: list first; else watch from there (a stored position) */
    kube_event_fn fn;
    void *data;
    uint32_t timeout_s;       /* timeoutSeconds of each watch request; 0 → 300 */
    uint32_t idle_timeout_ms; /* no byte for this long → reconnect; 0 → 90000 */
    uint32_t backoff_base_ms; /* first delay after an error; 0 → 500 */
    uint32_t backoff_cap_ms;  /* longest delay; 0 → 30000 */
};

struct kube_watch;

/*
 * A watch over opt->path. Nothing is sent before the first kube_watch_step(). Event
 * semantics:
 *  - opened with resource_version 0: RELIST_BEGIN, ADDED for every object, RELIST_END, then
 *    the stream: ADDED / MODIFIED / DELETED / BOOKMARK;
 *  - opened at a resource version: the stream from there (no duplicate ADDED for objects
 *    the caller already knows);
 *  - when the server answers 410 (too old a version, as HTTP status or an ERROR event), a
 *    re-list: RELIST_BEGIN, ADDED for objects the watch has not seen, MODIFIED for those it
 *    has, a synthesised DELETED for those gone since (its object holds only metadata: name,
 *    namespace, resourceVersion last seen), RELIST_END. An object the caller knew from
 *    before opening at a version, but that the watch never saw, is not reported as deleted:
 *    such a caller reconciles its own store at RELIST_END.
 * kc must outlive the watch. 0, or -EINVAL (bad options) with eb filled.
 */
int kube_watch_open(struct kube_client *kc, const struct kube_watch_options *opt,
                    struct kube_watch **ret, struct errbuf *eb);

/*
 * Does the watch's work for at most budget_ms (0: only what is possible without waiting):
 * starts requests when due, reads what arrived, delivers events, and waits on the socket
 * (or sleeps in a backoff) for the rest of the budget. Errors never end the watch: it
 * reconnects after a backoff (base, doubled each time up to the cap, with jitter), re-lists
 * on 410, re-reads the token on 401, and reconnects at once after a healthy watch request
 * ends (the server's timeoutSeconds). Returns 0, or the error of a request that failed
 * during this step (eb filled) for the caller to log; -EINVAL only for a NULL watch.
 */
int kube_watch_step(struct kube_watch *w, uint64_t budget_ms, struct errbuf *eb);

/* The last resourceVersion seen (event, bookmark or list); 0 before any, or if not numeric. */
uint64_t kube_watch_resource_version(const struct kube_watch *w);
/*
 * True when the caller's picture can be complete: after the first list was delivered (from
 * the start when opened at a version), and again after each re-list, not while one is due.
 */
bool kube_watch_is_synced(const struct kube_watch *w);

/* Counters for metrics and tests. */
struct kube_watch_stats {
    uint64_t lists;     /* complete (re)lists delivered */
    uint64_t watches;   /* watch requests started */
    uint64_t events;    /* ADDED/MODIFIED/DELETED from the stream */
    uint64_t bookmarks; /* BOOKMARK events */
    uint64_t expired;   /* 410 answers (each led to a re-list) */
    uint64_t errors;    /* failed requests (each followed by a backoff) */
};

/* Copies w's counters into *ret. */
void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *ret);
/* Stops any request and frees w (NULL-safe). Not from inside the event callback. */
void kube_watch_free(struct kube_watch *w);

#endif

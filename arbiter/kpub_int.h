/*
 * arbiter/kpub_int.h
 *
 * The inside of struct kpub, shared by the two files of the publisher: kpub.c (the API, the
 * queue, the thread and its passes, Events) and kpub_sync.c (the requests that make one
 * cluster's objects what its picture says). Nothing else includes it.
 *
 * Locking: fields marked "under the lock" are read and written with kpub.lock held;
 * "thread-owned" ones only by the publisher's thread, without it.
 */
#ifndef OG_ARBITER_KPUB_INT_H
#define OG_ARBITER_KPUB_INT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/kpub.h"
#include "arbiter/kpub_build.h"
#include "common/errbuf.h"
#include "common/kube.h"

#define KPUB_EVENTS_MAX 256

/* What one log line said last, to rate-limit repeats of the same error. */
struct kpub_warn {
    char msg[ERRBUF_SIZE + 64];
    uint64_t at_ms;
};

/* The server's copy of one object as kpub last wrote or read it (thread-owned). */
struct kpub_obj {
    cJSON *known; /* NULL: unknown, re-read before writing */
};

/* The desired publication of one cluster (copied under the lock). */
struct kpub_desired {
    bool removing;
    bool has_cr; /* cr known: status and Events */
    struct kpub_cr cr;
    bool has_svc; /* a valid cr known: Services, EndpointSlices, labels */
    struct kpub_cr svc_cr;
    struct kpub_view view;
    bool invalid;
    uint64_t invalid_gen;
    char invalid_msg[KPUB_MESSAGE_MAX];
};

struct kpub_entry {
    struct kpub_entry *next;
    char ns[64];
    char name[KPUB_NAME_MAX + 1];
    /* under the lock */
    struct kpub_desired want;
    uint64_t seq;     /* raised by every change of want */
    bool dirty;       /* want not yet all written */
    bool removed;     /* removing, and everything is gone */
    uint64_t due_ms;  /* not before (backoff) */
    uint32_t attempt; /* failed passes in a row */
    /* thread-owned */
    struct kpub_obj slice[2], svc[2], status;
    struct kpub_warn warn;
};

struct kpub_event_item {
    struct kpub_cr cr;
    char type[16];
    char reason[64];
    char message[1024];
    char now[32];
    char now_micro[40];
    uint64_t id;
};

struct kpub {
    struct kube_client *kc;
    char *agent_namespace;
    char *agent_selector;
    char *identity;
    uint32_t retry_base_ms;
    uint32_t retry_cap_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under the lock */
    bool stop;
    bool active;
    bool reset; /* activation: forget every cache */
    uint64_t changes;
    struct kpub_entry *entries;
    struct kpub_event_item *events[KPUB_EVENTS_MAX];
    size_t n_events;
    uint64_t event_seq;
    uint64_t events_due_ms;
    uint32_t events_attempt;
    const struct kpub_event_item *posting; /* the head being posted, outside the lock */
    bool posting_dropped;                  /* ... and dropped from the full queue meanwhile */
    struct kpub_stats stats;
    /* thread-owned */
    cJSON *pods;      /* the agent pods (array), NULL: list again */
    bool server_away; /* a request of this pass got no HTTP answer */
    uint64_t server_due_ms;
    uint32_t server_attempt;
    struct kpub_warn warn;
};

/* One cluster's work in a pass: a copy of its picture. */
struct kpub_work {
    struct kpub_entry *e;
    struct kpub_desired d;
    uint64_t seq;
    bool failed;
};

/* ---- kpub_sync.c ---- */

/* wall_ms as RFC 3339 UTC text, with microseconds when micro ("...:05.123000Z"). */
void kpub_sync_format_time(uint64_t wall_ms, bool micro, char *buf, size_t size);
/* Forgets the cached copy of an object: it is read again before the next write. */
void kpub_sync_obj_forget(struct kpub_obj *o);
/* Counts one request in the stats: a write (ok) or an error. Takes the lock. */
void kpub_sync_count(struct kpub *p, bool ok);

/*
 * The requests for one object class of w's cluster, thread only, lock not held. Each skips
 * the request when the cached copy already matches, reads the object first when the cache
 * is empty (after an error or an activation), and forgets the cache on failure. They return
 * 0 or the request's error with eb filled; a request without any HTTP answer also sets
 * p->server_away.
 */
/* The write (read false) or read EndpointSlice: patch, or create, or replace (addressType). */
int kpub_sync_slice(struct kpub *p, struct kpub_work *w, bool read, struct errbuf *eb);
/* The write (read false) or read Service: create when missing, patch when not ours. */
int kpub_sync_service(struct kpub *p, struct kpub_work *w, bool read, struct errbuf *eb);
/* The role label of the cluster on every agent pod (removed everywhere when removing). */
int kpub_sync_labels(struct kpub *p, struct kpub_work *w, struct errbuf *eb);
/* The custom resource's status (merge patch on /status) when it differs. */
int kpub_sync_status(struct kpub *p, struct kpub_work *w, struct errbuf *eb);
/* Deletes both EndpointSlices and both Services (404 counts as deleted). */
int kpub_sync_remove(struct kpub *p, struct kpub_work *w, struct errbuf *eb);

#endif

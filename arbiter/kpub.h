/*
 * arbiter/kpub.h
 *
 * Publication of the arbiter's decisions to Kubernetes (DESIGN.md "Kubernetes objects
 * managed per cluster"): per cluster the Services og-<name>-svc (write) and og-<name>-svc-read
 * (read), without selectors, and the EndpointSlices the arbiter writes for them; the role
 * label on the agent pod hosting each member; the custom resource's status; and Events.
 *
 * kpub runs its own thread and its own Kubernetes client. Callers (the controller, on other
 * threads) only hand it the latest desired picture, which it copies and queues: no call
 * waits on the API server (each takes a mutex for a copy), so a slow or unreachable API
 * server never delays a failover. The thread writes what differs from what the API server
 * holds, retries failed writes with backoff (retry_base_ms doubling up to retry_cap_ms)
 * until they succeed, and only ever writes the latest picture of a cluster (a newer
 * kpub_cluster() supersedes a pending older one, and interrupts a pass between requests).
 * Order of writes: write EndpointSlices of every pending cluster first (so a new primary's
 * slice is the next request sent), then read slices, Services, role labels, status, Events.
 * After a failed request the object is read again before it is written again. Requests use
 * at most a 1 s connect timeout and a 3 s total timeout (lower ones in cfg are kept).
 *
 * The write EndpointSlice names the view's primary only while that member has role primary
 * and state running, and never two endpoints; the read slice names the running standbys,
 * else that primary. Role label key "<cluster>.<namespace>.opengauss.sig/role" on the
 * agent pods (opt->agent_selector in opt->agent_namespace): "primary" / "standby" for a
 * member running in that role on the pod's node, removed otherwise; other clusters' keys
 * are never touched. Builders: arbiter/kpub_build.h.
 *
 * Thread-safe: every function may be called from any thread.
 */
#ifndef OG_ARBITER_KPUB_H
#define OG_ARBITER_KPUB_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "common/kube_config.h"

struct kpub_options {
    const char *agent_namespace; /* namespace of the agent pods (copied); NULL → og-system */
    const char *agent_selector;  /* label selector of the agent pods (copied); NULL →
                                    "app.kubernetes.io/name=og-agent" */
    const char *identity;        /* this arbiter (Event reportingInstance), copied; NULL →
                                    "og-arbiter" */
    uint32_t retry_base_ms;      /* first delay after a failed write; 0 → 200 */
    uint32_t retry_cap_ms;       /* longest delay; 0 → 5000 */
};

struct kpub;

/*
 * Starts the publisher on its own client for cfg (copied: cfg may be released afterwards)
 * and its own thread. It writes nothing until kpub_set_active(true). NULL with eb filled
 * when the client cannot be created (no server, unreadable token file) or the thread not
 * started.
 */
struct kpub *kpub_start(const struct kube_config *cfg, const struct kpub_options *opt,
                        struct errbuf *eb);
/*
 * Stops the thread and frees p (NULL-safe). Returns within the request timeout (3 s) even
 * when the API server hangs: an in-flight request is let finish or time out. Unwritten
 * pictures and Events are dropped.
 */
void kpub_stop(struct kpub *p);

/*
 * Only the lease holder writes: while inactive, calls are still recorded (the latest picture
 * is kept) but nothing is written (a pass in progress stops after its current request); on
 * activation every cache is forgotten and everything is read and reconciled from scratch.
 */
void kpub_set_active(struct kpub *p, bool active);

/*
 * The desired publication of one cluster. cr: the OpenGaussCluster object as last seen
 * (metadata.namespace/name/uid/generation, spec.readport/writeport/dbport/localrole).
 * view: the arbiter's Cluster view (proto/openapi.yaml "Cluster": state, epoch, primary,
 * message, members[{name,node,ip,port,role,state,pid,lsn,lagbytes,sync}]), or NULL when
 * the arbiter has not decided anything for it yet. Only what kpub publishes is kept (a
 * call that changes nothing of it, e.g. only LSNs, is a no-op). Creates the Services when
 * missing (patches them when their type or port differ), writes the EndpointSlices, the
 * role labels and the status (state, primary, message, conditions Ready and Valid,
 * podstate {member: "role/state"}, syncState [{name, ip, state}], ready "running/members",
 * observedGeneration, epoch) when they differ from what was last written. A cluster
 * marked invalid by kpub_invalid() stays invalid until cr's metadata.generation is higher
 * than the invalid one's; meanwhile its Services and slices follow the last valid cr.
 * Ignored (logged) when cr has no metadata.namespace/name.
 */
void kpub_cluster(struct kpub *p, const cJSON *cr, const cJSON *view);

/*
 * The cluster's spec is invalid: status.state "invalid", status.message and a condition
 * Valid=False (reason InvalidSpec) carrying message, observedGeneration; a Warning Event
 * InvalidSpec (once per generation and message). Nothing else is created for it: Services,
 * slices and labels already published from an earlier valid spec are kept as they are.
 */
void kpub_invalid(struct kpub *p, const cJSON *cr, const char *message);
/*
 * The spec of cr was applied after kpub_invalid() marked it (a missing Node appeared, a
 * clash went away) at the same generation: the invalid mark is dropped and the cluster is
 * published from cr again. Nothing happens when it was not marked.
 */
void kpub_valid(struct kpub *p, const cJSON *cr);

/*
 * An Event on the cluster's custom resource: type "Normal" or "Warning", reason CamelCase
 * (Failover, Switchover, RestartLimit, Fencing, ...), message. Queued and retried; events
 * queued while inactive are dropped when the queue passes 256 entries (oldest first). The
 * Event is named "<cluster>.<16 hex digits>", timed when queued, count 1; an answer 409
 * (already posted) counts as done, other 4xx answers drop it with a warning.
 */
void kpub_event(struct kpub *p, const cJSON *cr, const char *type, const char *reason,
                const char *message);

/*
 * The cluster is going away (finalizer): delete its Services and EndpointSlices (a 404
 * counts as deleted), remove its role labels from the agent pods, forget its picture. The
 * custom resource and the data are not touched. A later kpub_cluster() for it starts over.
 */
void kpub_remove(struct kpub *p, const char *ns, const char *name);
/*
 * True once everything kpub_remove() asked for ns/name is gone from the API server (only
 * while active: nothing is deleted while inactive). True also for a cluster kpub never
 * heard of; false for one that was published and not removed.
 */
bool kpub_removed(struct kpub *p, const char *ns, const char *name);

struct kpub_stats {
    uint64_t writes;        /* successful API writes */
    uint64_t errors;        /* failed API requests (each retried) */
    uint32_t pending;       /* clusters or events not yet fully written */
    uint64_t last_slice_ms; /* monotonic time the last write EndpointSlice change landed */
};
/* Copies the counters into *ret. */
void kpub_stats(struct kpub *p, struct kpub_stats *ret);

#endif

/*
 * arbiter/lease.h
 *
 * Leader election between arbiter replicas with a coordination.k8s.io/v1 Lease, with the
 * semantics of client-go's leaderelection package
 * (k8s.io/client-go/tools/leaderelection, LeaseLock):
 *  - a candidate creates the Lease when it is missing (holderIdentity, leaseDurationSeconds,
 *    acquireTime, renewTime as MicroTime, leaseTransitions), and takes it over when the
 *    holder is empty (released) or has not renewed for the lease duration, measured on OUR
 *    monotonic clock from the moment we last saw the record change: the other host's
 *    timestamps are never compared with our clock (clock skew cannot elect two leaders);
 *  - every write is an update carrying the resourceVersion read, so of two candidates racing
 *    for it one gets 409 Conflict and reads again;
 *  - the holder renews every retry period, and stops being leader as soon as renew_deadline
 *    passes without a successful renew, or at once on any sign that another holds it. Since
 *    renew_deadline + one request timeout < duration, it stops before another may take over;
 *  - stopping releases the Lease (holderIdentity "", leaseDurationSeconds 1), so another
 *    replica takes over at its next retry instead of after a whole duration.
 *
 * Everything runs on the lease's own thread with its own Kubernetes client (connect timeout
 * 1 s, total timeout min(retry period, duration - renew deadline)), so a slow API server never
 * blocks the caller.
 *
 * Layer: edge
 */
#ifndef OG_ARBITER_LEASE_H
#define OG_ARBITER_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "common/kube_config.h"

#define LEASE_DEFAULT_NAME              "og-arbiter"
#define LEASE_DEFAULT_DURATION_MS       15000
#define LEASE_DEFAULT_RENEW_DEADLINE_MS 10000
#define LEASE_DEFAULT_RETRY_PERIOD_MS   2000
#define LEASE_IDENTITY_MAX              128 /* holderIdentity, terminator included */

/* Called on the lease's thread at every transition: leader true (acquired) or false (lost). */
typedef void (*lease_change_fn)(bool leader, void *data);

/* Options of lease_start(); zero values take the defaults. Strings are copied. */
struct lease_options {
    const char *namespace_;     /* NULL/"": the configuration's namespace */
    const char *name;           /* NULL/"": LEASE_DEFAULT_NAME */
    const char *identity;       /* NULL/"": "<hostname>_<pid>"; unique per replica */
    uint32_t duration_ms;       /* 0: 15000; rounded up to whole seconds in the Lease */
    uint32_t renew_deadline_ms; /* 0: 10000; must be < duration */
    uint32_t retry_period_ms;   /* 0: 2000; must be < renew deadline */
    lease_change_fn on_change;  /* may be NULL */
    void *data;                 /* for on_change */
};

struct lease;

/*
 * Starts leader election for cfg (copied) with opt: creates the client and the thread, which
 * tries at once. Returns the lease, or NULL with eb filled (bad options: a name that is not a
 * path segment, an identity longer than LEASE_IDENTITY_MAX - 1, renew_deadline >= duration or
 * retry_period >= renew_deadline; no client; no thread). Stop with lease_stop().
 */
struct lease *lease_start(const struct kube_config *cfg, const struct lease_options *opt,
                          struct errbuf *eb);

/* True while this replica holds the Lease. Atomic, cheap, callable from any thread. */
bool lease_is_leader(struct lease *l);

/*
 * The holder last seen (our own identity while leader; "" when none or not read yet), into
 * buf[size], truncated. Callable from any thread (for 503 "not the leader" messages).
 */
void lease_holder(struct lease *l, char *buf, size_t size);

/*
 * Stops: a leader stops being one (on_change(false) on the lease's thread), then releases the
 * Lease so another replica takes over at once; joins the thread and frees l. Bounded in time
 * even when the API server is down (the request in flight plus one release attempt, each
 * bounded by the client's timeout). NULL-safe.
 */
void lease_stop(struct lease *l);

/*
 * As lease_stop() without the release: the Lease stays held by our identity until it expires,
 * as when the process is killed. For tests and for a shutdown that must not touch the API.
 */
void lease_abandon(struct lease *l);

#endif

/*
 * arbiter/kctl_pub.h
 *
 * The loop's side of Kubernetes mode: after each step that published a snapshot, hands kpub
 * (arbiter/kpub.h) the view of every cluster that has a resource, when the view or the
 * resource changed, and turns the clusters' new history rows (decisions, API events) into
 * Events: failover (Warning Failover, plus RestartLimit when the primary failed past its
 * restart limit), manual failover, switchover, fencing of a returning old primary,
 * bootstrap, epoch adoption by a new leader, no candidate, maintenance, spec updates. Rows
 * that were there when the arbiter started are not replayed, and a replica that does not
 * hold the Lease only moves its position (and publishes nothing), so nothing is reported
 * twice. A leader never publishes a view older than the epoch in the resource's status.
 *
 * Loop thread only. Never waits on Kubernetes (kpub queues).
 */
#ifndef OG_ARBITER_KCTL_PUB_H
#define OG_ARBITER_KCTL_PUB_H

#include <stdbool.h>

#include "arbiter/kctl.h"
#include "arbiter/kpub.h"
#include "arbiter/world.h"

#define KCTL_PUB_HISTORY 32 /* history rows read per look */

struct kctl_pub;

/* Publishing for controller k through p (both borrowed; they outlive it). */
struct kctl_pub *kctl_pub_new(struct kpub *p, struct kctl *k);
/* NULL-safe. */
void kctl_pub_free(struct kctl_pub *kp);

/* How a step publishes. */
enum kctl_pub_mode {
    KCTL_PUB_MODE_NONE = 0, /* not the leader: publish nothing, only follow the history */
    KCTL_PUB_MODE_GUARDED,  /* a young leader: no view older than the status epoch */
    KCTL_PUB_MODE_FULL,     /* a settled leader: every changed view */
    _KCTL_PUB_MODE_MAX
};

/*
 * After a step that published snap (the world's latest, borrowed): publishes changed views
 * and Events for new history rows of w's clusters, as mode says. Returns true when every
 * cluster of snap that has a resource has had its view published since this replica last
 * stopped leading (so kpub may be activated without writing a stale picture).
 */
bool kctl_pub_step(struct kctl_pub *kp, struct world *w, const struct world_snapshot *snap,
                   enum kctl_pub_mode mode);

/*
 * The Event for a history row: *ret_type "Normal"/"Warning" and *ret_reason, or false when
 * the row is not one to report. *ret_extra gets "RestartLimit" when a failover was caused
 * by the restart limit, else NULL.
 */
bool kctl_pub_event_of(const char *rule, const char *verdict, const char *reason,
                       const char **ret_type, const char **ret_reason, const char **ret_extra);

#endif

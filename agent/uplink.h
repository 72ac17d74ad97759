/*
 * agent/uplink.h
 *
 * The agent's link to the arbiter, on two threads of its own so that the loop never waits on
 * HTTP (DESIGN.md "Data flow" step 2):
 *
 *  - the poller sends the node's report every heartbeat as a long poll: with known_generation
 *    and wait_ms set, the arbiter holds the request while the desired generation equals the
 *    one we know, and answers at once when it changes, so orders arrive within a round trip;
 *  - the pusher sends a report at once when uplink_kick() says something changed (state,
 *    role, failure, epoch), on a second HTTP handle, while the poll may be held.
 *
 * Answers are delivered in order: an answer to a request sent before the last accepted answer
 * arrived, carrying an older generation, is a stale one from the other thread and is dropped;
 * any other is delivered (so an arbiter that restarted with lower generations is followed).
 *
 * Layer: shell (threads over agent/reporter.h).
 */
#ifndef OG_AGENT_UPLINK_H
#define OG_AGENT_UPLINK_H

#include <stdint.h>

#include "common/errbuf.h"
#include "proto/desired.h"
#include "proto/report.h"

#define UPLINK_HEARTBEAT_MIN_MS 100
#define UPLINK_HEARTBEAT_MAX_MS 60000

/* Callbacks, run on an uplink thread (never two at once). */
struct uplink_ops {
    /* Fills the instances of rep (version, node, agent_id, seq, generation and wait are ours). */
    void (*fill)(struct proto_report *rep, void *data);
    /* A valid desired state arrived at now_ms (monotonic). */
    void (*deliver)(const struct proto_desired *d, uint64_t now_ms, void *data);
    /* The arbiter answered with something that is not a valid desired state. */
    void (*refuse)(const char *why, void *data);
    void *data;
};

struct uplink_config {
    const char *url;       /* the arbiter's base URL (copied) */
    const char *token;     /* bearer token or NULL (copied) */
    const char *node;      /* this node (copied) */
    const char *agent_id;  /* this run (copied) */
    uint64_t heartbeat_ms; /* until the arbiter's desired state says otherwise */
    uint32_t timeout_ms;   /* per request, beyond the long poll's wait */
};

struct uplink;

/* Starts both threads; *ret is released with uplink_stop. 0, or -errno (thread creation). */
int uplink_start(const struct uplink_config *cfg, const struct uplink_ops *ops, struct uplink **ret,
                 struct errbuf *eb);

/* Asks for a report now (coalesced: kicks during a send cause one more send). Any thread. */
void uplink_kick(struct uplink *u);

/* Monotonic time of the last exchange that gave a valid desired state (0: none yet). */
uint64_t uplink_last_ok_ms(struct uplink *u);

/* Stops both threads (waiting for a request in flight to end) and frees u. NULL-safe. */
void uplink_stop(struct uplink *u);

#endif

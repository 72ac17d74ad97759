/*
 * agent/supervise.h
 *
 * The node's supervisor: the set of members (one thread each, agent/member.h), the orders
 * that reach them and the reports that leave them, the epoch store, and the operator's
 * requests from the ops socket.
 *
 *  - Orders (supervise_deliver, from the uplink): every instance of a valid desired state is
 *    checked before anything is touched: its paths must stay within ROOT (agent/storage.h),
 *    and its epoch must not be lower than the highest stored for its cluster (a higher one is
 *    stored first, fsync'ed). A refused order leaves the member as it was and shows as its
 *    last_error. Members absent from a desired state become unmanaged: observed and reported,
 *    never touched (the arbiter orders "stopped" to stop one; an arbiter that lost its memory
 *    cannot stop a cluster by forgetting it).
 *  - Before the first desired state, supervise_discover() finds the members of an earlier run
 *    (their state files) and reports them, running ones adopted without a restart.
 *  - Reports (supervise_fill, from the uplink) carry each member's latest observation.
 *
 * Layer: shell.
 */
#ifndef OG_AGENT_SUPERVISE_H
#define OG_AGENT_SUPERVISE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/engine.h"
#include "common/errbuf.h"
#include "common/proc.h"
#include "proto/desired.h"
#include "proto/report.h"

#define SUPERVISE_OPS_WAIT_MS 120000 /* ctl start/stop/restart wait this long for the member */

struct supervise_config {
    const char *node;   /* borrowed for the call (copied) */
    const char *root;   /* absolute; made traversable */
    const char *bindir; /* the engine's binaries */
    enum engine_kind kind;
    int uid, gid; /* the database user; -1: ours */
    uint64_t probe_interval_ms;
    uint64_t probe_budget_ms;
    uint32_t copy_max_rate_kbps; /* base backups of members: --max-rate (0: unlimited) */
    struct proc_ops proc;        /* runs every program (agent/reaper.h counts them) */
};

struct supervise;

/* A supervisor with no members yet. Release with supervise_stop. */
struct supervise *supervise_new(const struct supervise_config *cfg);

/*
 * Finds the members of an earlier run (ROOT/<ns>/<cluster>/<member>.agent.json) and starts
 * their threads: they probe and report, and act only once an order arrives. Returns how many
 * were found, or -errno.
 */
int supervise_discover(struct supervise *s, struct errbuf *eb);

/* Sets the function called when a member's report changed (uplink_kick). Any thread. */
void supervise_set_kick(struct supervise *s, void (*kick)(void *data), void *data);

/* struct uplink_ops callbacks (data is the struct supervise). */
void supervise_fill(struct proto_report *rep, void *data);
void supervise_deliver(const struct proto_desired *d, uint64_t now_ms, void *data);
void supervise_refuse(const char *why, void *data);

/* Ops socket callbacks (agent/ops.h), on the loop thread. */
/* {"node":..,"maintenance":..,"instances":[...]} (proto/ops.h status result); owned. 0. */
int supervise_ops_status(struct supervise *s, cJSON **ret_json);
/*
 * Operator requests for member (by name): start clears FAILED / stopped and starts it in its
 * ordered role; stop stops it and keeps it stopped (across agent restarts) until start;
 * restart stops and starts it. They wait for the member's thread (SUPERVISE_OPS_WAIT_MS).
 * 0, -ENOENT (no such member), -EAGAIN (no order yet), -ETIMEDOUT (still under way) or the
 * operation's error, with eb.
 */
int supervise_ops_start(struct supervise *s, const char *member, struct errbuf *eb);
int supervise_ops_stop(struct supervise *s, const char *member, struct errbuf *eb);
int supervise_ops_restart(struct supervise *s, const char *member, struct errbuf *eb);
/*
 * Local base backup of member into <member>/backup/<UTC time>-<LSN> (compressed tar, through
 * engine_backup); blocks the caller for its duration. *ret_json {"path","lsn","bytes"}
 * (proto/ops.h backup result), owned. 0 or -errno with eb.
 */
int supervise_ops_backup(struct supervise *s, const char *member, cJSON **ret_json,
                         struct errbuf *eb);
/* Node-wide maintenance on or off: no automatic restarts while on. 0. */
int supervise_ops_maintenance(struct supervise *s, bool on, struct errbuf *eb);

/*
 * Stops the member threads (the instances keep running) and frees s when they all ended
 * within wait_ms; a thread still in a long operation is left to the process exit (s is then
 * not freed). NULL-safe. Returns true when everything was freed.
 */
bool supervise_stop(struct supervise *s, uint64_t wait_ms);

#endif

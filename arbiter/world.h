/*
 * arbiter/world.h
 *
 * Everything the arbiter's loop owns: the clusters, the latest report of every node, every
 * node's desired state and its generation, and the store behind them. Each step the loop
 * takes goes through here: a report arrives (world_report), an API command (world_cmd.h),
 * or the timer fires; then world_settle decides for every cluster (decide_failover), persists
 * each decision that changes the stored state in one transaction (epoch first) with its
 * history row and log record, recomputes the desired states of the nodes and persists
 * those whose content changed with a raised generation. Only then does the loop publish a
 * snapshot (world_snapshot) from which handlers answer agents and GETs: nothing reaches an
 * agent before it is on disk.
 *
 * Single-threaded: only the loop thread calls these functions.
 */
#ifndef OG_ARBITER_WORLD_H
#define OG_ARBITER_WORLD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter/spec.h"
#include "arbiter/store.h"
#include "common/errbuf.h"
#include "proto/report.h"

#define WORLD_HOLD_MAX_MS 25000 /* longest long poll: below the HTTP connection timeout (30 s) */

struct world;

/* One cluster as GETs see it (published copies). */
struct world_snap_cluster {
    char ns[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char *view; /* owned JSON text of the Cluster schema */
    char password[PROTO_SECRET_MAX + 1];
};

/* One node's desired state as agents get it (published copies). */
struct world_snap_node {
    char node[PROTO_NODE_MAX + 1];
    uint64_t generation;
    char *answer;         /* owned JSON text of the DesiredState schema */
    uint32_t hold_cap_ms; /* longest a report of this node may be held */
    bool has_agent;       /* an agent has reported (agent below is valid) */
    struct store_agent agent;
};

/* An immutable copy for handlers, published under the server's mutex. */
struct world_snapshot {
    uint32_t n_clusters;
    struct world_snap_cluster *clusters; /* sorted by namespace, name */
    uint32_t n_nodes;
    struct world_snap_node *nodes; /* sorted by node */
};

/*
 * Loads the clusters, reports and desired states from st (borrowed; must outlive w) and
 * returns the world in *ret. start_ms is the loop's monotonic start (the grace of
 * decide.h), heartbeat_ms what agents are told. 0 or -errno with eb.
 */
int world_open(struct store *st, uint64_t start_ms, uint32_t heartbeat_ms, struct world **ret,
               struct errbuf *eb);
/* NULL-safe; does not close the store. */
void world_free(struct world *w);

/*
 * Takes in a validated report (json: its text as stored) received at now_ms: stores it,
 * marks the node's members as reported, updates the primaries' views. 0 or -errno with eb
 * (nothing changed in memory then).
 */
int world_report(struct world *w, const struct proto_report *rep, const char *json, uint64_t now_ms,
                 struct errbuf *eb);

/*
 * Decides for every cluster at now_ms and brings every node's desired state up to date,
 * persisting first (see above). Returns true when anything visible may have changed.
 */
bool world_settle(struct world *w, uint64_t now_ms);

/* A new snapshot for handlers (built at now_ms); free with world_snapshot_free. */
struct world_snapshot *world_snapshot(struct world *w, uint64_t now_ms);
/* NULL-safe. */
void world_snapshot_free(struct world_snapshot *s);

#endif

/*
 * arbiter/world_int.h
 *
 * The inside of struct world, shared by the two files of the loop's state: world.c (reports,
 * decisions, desired states, snapshots) and world_cmd.c (API commands). Nothing else
 * includes it.
 */
#ifndef OG_ARBITER_WORLD_INT_H
#define OG_ARBITER_WORLD_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter/cluster.h"
#include "arbiter/decide.h"
#include "arbiter/store.h"
#include "arbiter/world.h"
#include "proto/desired.h"
#include "proto/report.h"

struct world_node {
    char node[PROTO_NODE_MAX + 1];
    struct proto_report *report; /* latest, owned; NULL when never reported */
    uint64_t last_ms;            /* monotonic arrival of report; 0 = before this start */
    bool has_agent;              /* the agents table has a row for it */
    struct store_agent agent;
    uint64_t generation; /* desired state, as stored */
    char *content;       /* stored desired text with generation 0, owned */
    char *answer;        /* desired text with generation, owned */
};

struct world {
    struct store *st;
    uint64_t start_ms;
    uint32_t heartbeat_ms;
    struct cluster **clusters; /* sorted by namespace, name */
    uint32_t n_clusters;
    struct world_node **nodes; /* sorted by node */
    uint32_t n_nodes;
    bool desired_dirty;
    /* Scratch space, large: kept off the stack and allocated once. */
    struct proto_desired *desired;
    struct decide_input *in;
    struct decide_result *res;
};

/* The cluster ns/name, or NULL; its index in w->clusters, or -1. */
struct cluster *world_find(const struct world *w, const char *ns, const char *name);
int world_find_index(const struct world *w, const char *ns, const char *name);
/* Adds c (owned from now on) in sorted place. */
void world_insert_cluster(struct world *w, struct cluster *c);
/* The node's entry, created when missing (and the desired states marked for update). */
struct world_node *world_node_get(struct world *w, const char *node);
/* c's facts at now_ms into w->in, with an optional manual failover request. */
void world_facts(struct world *w, const struct cluster *c, uint64_t now_ms,
                 const struct decide_manual_failover *manual);
/* The API view of c at now_ms, owned by the caller. Overwrites w->in. */
cJSON *world_view(struct world *w, const struct cluster *c, uint64_t now_ms);
/* "ns/name" into buf. */
void world_cluster_ctx_name(const struct cluster *c, char *buf, size_t size);
/*
 * Persists decision res (decided on w->in) when apply is set and it changes the stored state
 * or the orders, and records it (history row and log record) when it is new or force_record
 * is set: one transaction, the epoch first. 0, or -errno (logged; c unchanged).
 */
int world_commit(struct world *w, struct cluster *c, const struct decide_result *res,
                 uint64_t now_ms, bool apply, bool force_record);

/*
 * Removes w->clusters[i] from the store and the world (its members leave the desired
 * states), recording why; on a store failure it stays (logged) for the next step.
 */
void world_remove_cluster(struct world *w, uint32_t i, const char *why);
/* Whether a deleting cluster with facts in is done: no live agent runs one of its instances. */
bool world_delete_done(const struct decide_input *in);

#endif

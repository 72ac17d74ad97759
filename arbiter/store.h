/*
 * arbiter/store.h
 *
 * The arbiter's memory in SQLite (WAL, synchronous=FULL, numbered migrations): the latest
 * report of every agent; the clusters with their spec, members, member-name map, stored
 * decision state (epoch, primary, synchronous set, switchover) and assignments; the history
 * of decisions; each node's desired state and its generation; the backups catalogue.
 *
 * Transactions are the caller's (the loop composes one per decision, the epoch written
 * first): store_begin / store_commit / store_rollback around the write functions, which do
 * not open transactions themselves. Only the arbiter's loop thread calls these functions.
 */
#ifndef OG_ARBITER_STORE_H
#define OG_ARBITER_STORE_H

#include <stdint.h>

#include "arbiter/cluster.h"
#include "arbiter/decide.h"
#include "common/errbuf.h"
#include "proto/model.h"

/* The schema version store_open brings a database to. */
#define STORE_SCHEMA_VERSION 3

struct store;

/* One agent as last heard of. */
struct store_agent {
    char node[PROTO_NODE_MAX + 1];
    char agent_id[PROTO_ID_MAX + 1];
    uint64_t seq;
    uint64_t last_seen_wall_ms; /* wall clock, for display */
    uint32_t instances;
};

/* One history row: a decision or an API event of a cluster. */
struct store_history {
    uint64_t time_wall_ms;
    uint64_t epoch;
    char rule[16];    /* decide rule id ("R17") or "api" */
    char verdict[32]; /* decide_verdict_to_string(), or the API event ("create", ...) */
    char reason[DECIDE_REASON_MAX];
    char primary[PROTO_NAME_MAX + 1]; /* primary after the decision, "" for none */
};

/* Called with each stored agent report (node, JSON text, both borrowed); non-zero stops. */
typedef int (*store_report_fn)(void *data, const char *node, const char *report_json);
/* Called with each node's stored desired state (borrowed); non-zero stops. */
typedef int (*store_desired_fn)(void *data, const char *node, uint64_t generation,
                                const char *content);

/* Opens (creating and migrating) the database at path; 0 or -errno with eb. */
int store_open(const char *path, struct store **ret, struct errbuf *eb);
/* NULL-safe. */
void store_close(struct store *st);

/* BEGIN IMMEDIATE; 0 or -errno with eb. */
int store_begin(struct store *st, struct errbuf *eb);
/* COMMIT; on failure the transaction is rolled back. 0 or -errno with eb. */
int store_commit(struct store *st, struct errbuf *eb);
/* ROLLBACK when a transaction is open. */
void store_rollback(struct store *st);

/* ---- agents ---- */

/* Saves the latest report of a node (replacing the previous one); report_json validated. */
int store_agent_save(struct store *st, const struct store_agent *agent, const char *report_json,
                     struct errbuf *eb);
/*
 * Loads every known agent, ordered by node name, into a caller-freed array.
 * 0 or -errno with eb; *ret_agents is NULL when there are none.
 */
int store_agent_list(struct store *st, struct store_agent **ret_agents, uint32_t *ret_n,
                     struct errbuf *eb);
/* Calls fn for each stored report, ordered by node. 0, fn's non-zero value, or -errno. */
int store_agent_reports(struct store *st, store_report_fn fn, void *data, struct errbuf *eb);

/* ---- clusters ---- */

/*
 * Inserts cluster c (spec, password, name map, members, created/updated times) and sets
 * c->id. -EEXIST when (namespace, name) exists.
 */
int store_cluster_insert(struct store *st, struct cluster *c, struct errbuf *eb);
/* Rewrites c's spec, generation, updated time, name map and members (assignments kept). */
int store_cluster_update_spec(struct store *st, const struct cluster *c, struct errbuf *eb);
/* Deletes cluster id with its members, assignments and history. */
int store_cluster_delete(struct store *st, int64_t id, struct errbuf *eb);
/*
 * Writes c's decision state: first the epoch and primary (one statement), then the
 * synchronous set, the switchover (started at c->switchover_wall_ms), the primary's view
 * and every member's assignment at c->epoch.
 */
int store_cluster_decision(struct store *st, const struct cluster *c, uint64_t switchover_wall_ms,
                           struct errbuf *eb);
/* Writes c's view of its primary (primary_last_lsn, was_sync). */
int store_cluster_observed(struct store *st, const struct cluster *c, struct errbuf *eb);
/* Marks cluster id as being deleted (its instances are ordered stopped). 0 or -errno. */
int store_cluster_set_deleting(struct store *st, int64_t id, struct errbuf *eb);
/* Sets the persisted `reported` flag of a member. */
int store_member_reported(struct store *st, int64_t cluster_id, const char *member,
                          struct errbuf *eb);
/*
 * Loads every cluster (ordered by namespace, name) into a caller-owned array of
 * cluster_new() objects (free each with cluster_free, then the array). The spec text is
 * parsed again (spec_parse); c->switchover.started_ms holds the stored wall time, which
 * the caller converts to its monotonic clock. 0, or -errno with eb (-EBADMSG: a stored
 * spec no longer parses).
 */
int store_cluster_load_all(struct store *st, struct cluster ***ret, uint32_t *ret_n,
                           struct errbuf *eb);

/* ---- history ---- */

/* Appends a history row for cluster_id. */
int store_history_add(struct store *st, int64_t cluster_id, const struct store_history *h,
                      struct errbuf *eb);
/*
 * The newest `limit` rows of cluster_id, newest first, into a caller-freed array
 * (*ret NULL when none).
 */
int store_history_list(struct store *st, int64_t cluster_id, uint32_t limit,
                       struct store_history **ret, uint32_t *ret_n, struct errbuf *eb);

/* ---- desired states ---- */

/* Saves node's desired state content (JSON text with generation 0) and its generation. */
int store_desired_save(struct store *st, const char *node, uint64_t generation, const char *content,
                       struct errbuf *eb);
/* Calls fn for each stored desired state. 0, fn's non-zero value, or -errno. */
int store_desired_list(struct store *st, store_desired_fn fn, void *data, struct errbuf *eb);

#endif

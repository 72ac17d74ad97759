/*
 * arbiter/cluster.h
 *
 * One cluster as the arbiter's loop holds it in memory: its spec, its members, the stored
 * decision state (epoch, primary, synchronous set, switchover, each member's assignment) and
 * what the primary last said about its standbys. Pure functions around it turn it, with the
 * agents' latest reports and the clock passed in, into the facts of a decision
 * (decide_input), apply a decision to it, and derive from it the agents' orders
 * (proto_desired instances) and the API's view of the cluster.
 *
 * Wiring rules of decide.h implemented here (cluster_facts):
 * - a member's `reported` is persisted: its node's agent has reported at least once since
 *   the member was placed there (an agent reports only the instances it was given, so the
 *   first report without the instance counts: the instance does not exist yet);
 * - last_seen_ms = the later of its node's last report and the arbiter's start;
 * - `streaming`: the member reports role standby, state running and upstream = the stored
 *   primary (agents report `upstream` only while their walreceiver streams);
 * - `was_sync` and primary_last_lsn: from the primary's last report as a running primary.
 *
 * Layer: core
 */
#ifndef OG_ARBITER_CLUSTER_H
#define OG_ARBITER_CLUSTER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter/decide.h"
#include "arbiter/spec.h"
#include "arbiter/syncnames.h"
#include "proto/desired.h"
#include "proto/report.h"

#define CLUSTER_SUPERUSER "postgres" /* the superuser of local mode (issue 4) */

/* The cluster's state for users (the original operator's status.state). */
enum cluster_state {
    CLUSTER_STATE_UNKNOWN = 0,
    CLUSTER_STATE_CREATING,    /* no primary yet */
    CLUSTER_STATE_READY,       /* the primary and every member run in their roles */
    CLUSTER_STATE_UPDATING,    /* switchover under way, or members being created or rebuilt */
    CLUSTER_STATE_FAILED,      /* the primary failed or is lost */
    CLUSTER_STATE_MAINTAINING, /* maintenance: no automatic actions */
    CLUSTER_STATE_RECOVERING,  /* the primary runs; some standby is down or restarting */
    _CLUSTER_STATE_MAX
};

/* One member (iplist entry) and its stored assignment. */
struct cluster_member {
    char name[PROTO_NAME_MAX + 1];
    char node[PROTO_NODE_MAX + 1];
    char ip[PROTO_IP_MAX + 1];
    uint32_t port;
    uint32_t order;                /* iplist position */
    bool reported;                 /* persisted, see above */
    enum proto_role assigned;      /* stored role at the stored epoch */
    struct decide_desired desired; /* stored order: role, state, upstream, rebuild */
};

/* One cluster. About 120 KiB: heap only. */
struct cluster {
    int64_t id; /* store row id */
    char ns[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char *spec_json; /* owned: the spec text as accepted */
    struct spec spec;
    uint64_t generation; /* raised by every accepted spec change */
    bool deleting;       /* DELETE accepted: instances ordered stopped, then the row goes */
    uint64_t created_wall_ms, updated_wall_ms;
    char password[PROTO_SECRET_MAX + 1]; /* of CLUSTER_SUPERUSER */
    struct spec_names names;

    /* The stored decision state (decide_input / decide_result). */
    uint64_t epoch;
    char primary[PROTO_NAME_MAX + 1];
    struct syncnames sync;
    struct decide_switchover switchover; /* started_ms on the loop's monotonic clock */

    /* What the primary last reported while running as primary. */
    uint64_t primary_last_lsn;
    struct syncnames was_sync; /* names only; num unused */
    uint64_t declared_ms;      /* monotonic time of its PUT in this run; 0 when loaded */
    bool sync_in_force;        /* the primary last ran with `sync` applied (decide.h) */

    uint32_t n_members;
    struct cluster_member members[DECIDE_MAX_MEMBERS];

    /* The last decision recorded (log and history), not persisted. */
    char last_rule[8];
    enum decide_verdict last_verdict;
    char last_target[PROTO_NAME_MAX + 1];
    char last_reason[DECIDE_REASON_MAX];
};

/*
 * The latest report of a node and when it arrived (monotonic ms, 0 = not since the start),
 * or NULL when the node never reported. data is the caller's.
 */
typedef const struct proto_report *(*cluster_report_fn)(void *data, const char *node,
                                                        uint64_t *ret_last_ms);

/* A new empty cluster (zeroed, spec_json NULL). Free with cluster_free. */
struct cluster *cluster_new(void);
/* Frees c and its spec text. NULL-safe. */
void cluster_free(struct cluster *c);

/* The member named name, or NULL. */
struct cluster_member *cluster_find_member(struct cluster *c, const char *name);

/* The instance (ns, cluster, member) in report r, or NULL (r may be NULL). */
const struct proto_instance_report *cluster_find_instance(const struct proto_report *r,
                                                          const char *ns, const char *cluster,
                                                          const char *member);

/*
 * Replaces the members of c by those of spec (names[i] naming spec->members[i]), keeping
 * the stored assignment and `reported` of members that stay on the same node. The spec is
 * copied into c->spec; c->spec_json is the caller's to set.
 */
void cluster_set_members(struct cluster *c, const struct spec *spec,
                         char names[][PROTO_NAME_MAX + 1]);

/*
 * The facts of one decision on c (see the wiring rules above): now_ms and start_ms are
 * monotonic, start_ms the arbiter's start. manual may be NULL (no manual failover request).
 */
void cluster_facts(const struct cluster *c, cluster_report_fn reports, void *data, uint64_t now_ms,
                   uint64_t start_ms, const struct decide_manual_failover *manual,
                   struct decide_input *ret);

/*
 * Applies decision res (decided on c's facts) to c's stored state: epoch, primary, set,
 * switchover, assignments and orders. A change of primary forgets the old primary's view
 * (was_sync, primary_last_lsn). Nothing else of c changes.
 */
void cluster_apply_result(struct cluster *c, const struct decide_result *res);

/* True when res carries orders different from the stored ones (assignments to persist). */
bool cluster_orders_differ(const struct cluster *c, const struct decide_result *res);

/*
 * Updates c's view of its primary from the primary's instance report inst (ignored unless
 * it is c's primary running as primary): primary_last_lsn and was_sync. Returns true when
 * either changed (the caller persists them).
 */
bool cluster_observe_primary(struct cluster *c, const struct proto_instance_report *inst);

/*
 * Appends to d the orders of every member of c placed on node d->node, in iplist order.
 * Members without an order yet (before bootstrap) are left out. 0, or -ENOSPC when d would
 * hold more than PROTO_MAX_INSTANCES instances.
 */
int cluster_desired_add(const struct cluster *c, struct proto_desired *d);

/* The number of members of c placed on node. */
uint32_t cluster_count_on_node(const struct cluster *c, const char *node);

/* The user-facing state of c, from its facts in (as cluster_facts gave them). */
enum cluster_state cluster_state_of(const struct cluster *c, const struct decide_input *in);

/*
 * The API's view of c (proto/openapi.yaml schema Cluster), a new tree owned by the caller:
 * namespace, name, state, epoch, primary, maintenance, generation, switchover, message and
 * members [{name, node, ip, port, role, state, pid, lsn, lagbytes, sync}]. in is c's facts.
 */
cJSON *cluster_view(const struct cluster *c, const struct decide_input *in,
                    cluster_report_fn reports, void *data);

/* "creating", "ready", "updating", "failed", "maintaining", "recovering" ("unknown" for 0). */
const char *cluster_state_to_string(enum cluster_state v);
/* 0, or -EINVAL. */
int cluster_state_from_string(const char *s, enum cluster_state *ret);

#endif

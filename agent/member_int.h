/*
 * agent/member_int.h
 *
 * What agent/member.c, agent/member_act.c and agent/member_report.c share, and nothing else
 * may use: the member thread's own state (struct member_run) and the steps of a tick that
 * live in the other files. Nothing else includes it.
 *
 * Layer: shell.
 */
#ifndef OG_AGENT_MEMBER_INT_H
#define OG_AGENT_MEMBER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/engine.h"
#include "agent/instance.h"
#include "agent/member.h"
#include "agent/probe.h"
#include "agent/state.h"
#include "common/errbuf.h"
#include "proto/desired.h"
#include "proto/report.h"

/* What the thread copied from the shared fields for one tick. */
struct member_snap {
    bool in_desired;
    bool has_order;
    uint64_t order_seq;
    uint64_t confirmed_ms;
    uint64_t arbiter_ok_ms;
    bool node_maintenance;
    bool ctl_stop;
    bool ctl_start;
    bool ctl_restart;
    uint64_t ctl_seq;
};

struct member_run {
    struct instance inst;
    struct state_member st; /* persisted */
    bool st_dirty;
    bool order_known;                    /* order holds an order (desired or remembered) */
    struct proto_instance_desired order; /* the order acted on */
    uint64_t order_seq;
    struct member_snap snap;
    struct engine_instance ei; /* for the operation at hand */
    struct engine e;
    struct engine_instance probe_ei; /* the address and credentials the instance runs with */
    struct engine_status status;
    struct probe_result probe;
    struct probe_result last_up; /* the last probe that answered */
    enum instance_probe probe_kind;
    bool primary_seen; /* the last answer said primary */
    bool ever_replica; /* a standby streamed from it in this run */
    uint64_t watch_since_ms;
    uint64_t standby_ok_ms;
    uint64_t not_receiving_since_ms;
    /* Resynchronisations of a standby that cannot stream, for one (epoch, upstream). */
    uint32_t resync_tries;
    uint64_t resync_epoch;
    struct proto_upstream resync_up;
    char stuck_why[PROTO_ERROR_MAX + 1]; /* the server's words on why it does not stream */
    uint64_t disk_free;
    enum proto_state logged_state;
    const char *last_wait_rule;
    struct proto_instance_report report;
    int last_rc;
    char last_err[ERRBUF_SIZE];
    uint64_t final_lsn; /* shutdown checkpoint of the last clean stop, reported while down */
    /*
     * The highest timeline seen on this data directory in this run. A standby whose WAL
     * receiver stopped (its primary died) is probed for its timeline through
     * pg_control_checkpoint(), which lags until the next restartpoint; the timeline of data
     * never goes down, so the report keeps the highest one until the data is replaced.
     */
    uint32_t timeline_seen;
};

/* member.c */

/*
 * Describes the instance for the current order (as a primary or not, following its upstream
 * or not) into run->ei and opens run->e on it. 0 or -errno (eb: "invalid order: ...").
 */
int member_open(struct member *m, bool as_primary, bool follow, struct errbuf *eb);

/* Records in the state file that the instance is being configured with the current order. */
void member_applied(struct member *m);

/* Sets the persisted "last ran as a primary" fact (written at the next save). */
void member_set_was_primary(struct member_run *run, bool v);

/* member_act.c */

/* Carries out plan p's action at now. 0, -EINPROGRESS (started, not yet up) or -errno (eb). */
int member_act(struct member *m, const struct instance_plan *p, uint64_t now, struct errbuf *eb);

/* member_report.c */

/*
 * Fills the report and publishes it with the operator request's result (ctl_rc, ctl_err,
 * may be NULL); kicks the uplink when a field reported at once has changed. Takes env->mu.
 */
void member_publish(struct member *m, uint64_t now, int ctl_rc, const char *ctl_err);

/* Publishes p->doing as the state at once when a long action begins. */
void member_publish_doing(struct member *m, const struct instance_plan *p, uint64_t now);

#endif

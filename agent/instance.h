/*
 * agent/instance.h
 *
 * The life of one supervised instance as a pure state machine (STYLE.md "State machines",
 * after pg_auto_failover's KeeperFSM[]): every tick the shell gathers plain facts (the order,
 * the disk, the process table, the probe), instance_decide() matches them against a table of
 * rules (first match wins) and returns one action, the shell runs it, and instance_done()
 * feeds the outcome back. The state (enum proto_state), the restart budget
 * (common/restart_limit.h), the backoff schedule and the self-fencing latch live here; the
 * only writer of the state is instance_set_state().
 *
 * Safety rules encoded here (DESIGN.md "Instances are never writable by accident"):
 *  - an existing data directory starts as a primary only when it last ran as one AND the
 *    current order names it primary AND the arbiter confirmed that order within the lost
 *    timeout; otherwise it starts as a standby (with no upstream when the order is primary);
 *  - a standby is promoted only on a confirmed primary order;
 *  - a data directory that last ran as a primary follows an upstream only after a rewind;
 *  - crashes are restarted with backoff within the budget, then the instance is failed;
 *    maintenance suspends automatic restarts;
 *  - a member without data whose disk has less free space than its requested storage is
 *    not created: it stays CREATING with the reason as its error (not FAILED: a full disk is
 *    no reason for the arbiter to act, and the member is created once space is freed);
 *  - a data directory whose last copy (base backup, rewind) did not complete is never
 *    started: it is copied again from the current upstream, or waits for one;
 *  - a standby that cannot stream from its upstream although the upstream answers (diverged,
 *    or the WAL it needs is gone there) is rewound, then copied again, at most
 *    INSTANCE_RESYNC_MAX times for one upstream, then FAILED with the reason;
 *  - a postmaster that runs but does not accept connections yet is RESTARTING ("starting"),
 *    never STOPPED; a start whose wait ran out while the postmaster lives on likewise;
 *  - the restart budget, FAILED and the self-fencing latch survive an agent restart
 *    (instance_memo_save / instance_memo_load, persisted by the shell).
 *
 * Layer: core.
 */
#ifndef OG_AGENT_INSTANCE_H
#define OG_AGENT_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/restart_limit.h"
#include "proto/model.h"

#define INSTANCE_HUNG_PROBES     2     /* consecutive hung probes before the instance is hung */
#define INSTANCE_BACKOFF_BASE_MS 500   /* restart backoff: 0.5 s, 1 s, 2 s, ... */
#define INSTANCE_BACKOFF_CAP_MS  30000 /* ... at most 30 s */
#define INSTANCE_ROLE_FAILURES   3     /* failed promotions / rejoins before FAILED */
#define INSTANCE_RESYNC_MAX      3     /* rewinds / copies of a standby that cannot stream */
#define INSTANCE_REASON_MAX      PROTO_ERROR_MAX

/* What the probe said about a running instance (the shell's raw reading). */
enum instance_probe {
    INSTANCE_PROBE_NONE = 0, /* not probed: not running */
    INSTANCE_PROBE_UP,       /* answered */
    INSTANCE_PROBE_STARTING, /* "starting up", "shutting down", not yet accepting */
    INSTANCE_PROBE_DOWN,     /* refused although the postmaster lives */
    INSTANCE_PROBE_HUNG,     /* connected but no answer within the budget */
    INSTANCE_PROBE_ERROR,    /* authentication or query failure */
    _INSTANCE_PROBE_MAX
};

/* One thing to do. */
enum instance_action {
    INSTANCE_ACTION_NONE = 0, /* nothing to do */
    INSTANCE_ACTION_WAIT,     /* nothing possible now; plan.reason says why */
    INSTANCE_ACTION_INIT,     /* create the storage, initdb, start as the first primary */
    INSTANCE_ACTION_CLONE,    /* create the storage, base backup from the upstream, start */
    INSTANCE_ACTION_REBUILD,  /* ordered rebuild: base backup from the upstream, start */
    INSTANCE_ACTION_START,    /* start in plan.as_primary / plan.follow mode */
    INSTANCE_ACTION_RESTART,  /* stop if needed, start again (plan.counted: a crash restart) */
    INSTANCE_ACTION_KILL,     /* hung: SIGKILL; restarted at once, later ones after backoff */
    INSTANCE_ACTION_PROMOTE,  /* standby to primary */
    INSTANCE_ACTION_DEMOTE,   /* primary to standby: clean stop, rewind (or rebuild), start */
    INSTANCE_ACTION_REWIND,   /* resynchronise a diverged or former primary, start standby */
    INSTANCE_ACTION_RELOAD,   /* rewrite the managed configuration, reload */
    INSTANCE_ACTION_STOP,     /* ordered stop */
    INSTANCE_ACTION_FENCE,    /* stop, and report fenced */
    INSTANCE_ACTION_FAIL,     /* give up: report failed until a new order or ctl start */
    _INSTANCE_ACTION_MAX
};

/* The facts of one tick, gathered by the shell. */
struct instance_facts {
    /* The order (the last accepted desired state for this member). */
    bool has_order;         /* false: not (or no longer) in the desired state: observe only */
    enum proto_role role;   /* PRIMARY, STANDBY or LEADER */
    enum proto_state order; /* RUNNING, STOPPED or FENCED */
    bool has_upstream;      /* the order names an upstream */
    bool rebuild_ordered;   /* rebuild requested and not yet done for the order's epoch */
    bool maintenance;       /* the order's or the node's: no automatic restarts */
    bool ctl_stopped;       /* stopped by the operator (og-agent ctl stop) */
    bool ctl_restart;       /* restart requested by the operator */
    bool primary_confirmed; /* a primary order heard from the arbiter within lost_timeout */
    bool space_ok;          /* free space covers the requested storage (creation only) */
    bool listen_changed;    /* the order's address or port differs from the running one */
    uint32_t restart_limit; /* the order's budget */
    uint64_t restart_window_ms;
    /* The disk and the process table. */
    bool data_present;    /* a complete data directory */
    bool copy_incomplete; /* the last copy into it did not complete: not startable */
    bool running;         /* its postmaster lives */
    bool was_primary;     /* the data directory last ran as a primary (persisted) */
    /* The probe (meaningful when running). */
    enum instance_probe probe;
    bool in_recovery;      /* a standby */
    bool config_stale;     /* the managed configuration on disk differs from the order's */
    bool diverged;         /* a standby that does not stream although its upstream is up */
    uint32_t resync_tries; /* rewinds / copies already tried for this upstream's divergence */
    bool fence;            /* fence_should_stop() */
};

/* The decision of one tick. */
struct instance_plan {
    enum instance_action action;
    const char *rule;       /* the matching rule's name (static) */
    const char *reason;     /* static text: why (WAIT: shown as the error) */
    bool as_primary;        /* START/RESTART: start writable */
    bool follow;            /* START/RESTART: follow the order's upstream */
    bool counted;           /* RESTART: a crash restart, counted in the budget */
    enum proto_state doing; /* the state reported while the action runs */
};

/* The core record of one instance; plain data. */
struct instance {
    enum proto_state state;
    struct restart_limit budget;
    uint64_t restart_at_ms; /* RESTARTING: no restart before this */
    uint64_t retry_at_ms;   /* after a failed action: no new attempt before this */
    uint32_t failures;      /* consecutive failed actions (creation, role changes) */
    uint32_t hung_probes;   /* consecutive hung probes */
    bool self_fenced;       /* stopped by self-fencing; cleared when the arbiter is heard */
    uint64_t fenced_at_ms;
    bool changed;                             /* state changed since the shell last looked */
    char reason[INSTANCE_REASON_MAX + 1];     /* why the state last changed */
    char last_error[INSTANCE_REASON_MAX + 1]; /* "" when healthy */
};

/*
 * What of a record survives an agent restart (persisted by the shell): the restarts counted
 * in the window (wall clock, so they mean the same to the next process), FAILED and the
 * self-fencing latch, and whether the instance was running (informational: a crash while
 * no agent ran is not counted, the first order starts it as a plain start).
 */
struct instance_memo {
    uint32_t n_restarts;
    uint64_t restart_wall_ms[RESTART_LIMIT_MAX];
    bool failed;
    bool self_fenced;
    bool was_running;
    char reason[INSTANCE_REASON_MAX + 1]; /* FAILED: its error */
};

/* "none", "wait", "init", ... ("unknown" beyond the enum). */
const char *instance_action_to_string(enum instance_action v);
/* "none", "up", "starting", "down", "hung", "error". */
const char *instance_probe_to_string(enum instance_probe v);

/* A fresh record in state UNKNOWN with the budget limit/window_ms. */
void instance_init(struct instance *inst, uint32_t limit, uint64_t window_ms);

/*
 * The only writer of inst->state: sets it, records reason (copied, truncated) and sets
 * inst->changed when the state differs. The shell logs the transition.
 */
void instance_set_state(struct instance *inst, enum proto_state state, const char *reason);

/* Sets inst->last_error (NULL or "" clears it); text is copied and truncated. */
void instance_set_error(struct instance *inst, const char *text);

/*
 * Observes f and decides: updates the bookkeeping (hung probes, crash detection, a started
 * instance becoming RUNNING, the budget's configuration) and returns the first matching
 * rule's action in *ret. Deterministic: the same record, facts and now give the same plan.
 */
void instance_decide(struct instance *inst, const struct instance_facts *f, uint64_t now_ms,
                     struct instance_plan *ret);

/*
 * Feeds back the outcome of plan (r: 0 or -errno; error: the shell's text, may be NULL):
 * state, budget, backoff and error updates. -EINPROGRESS (a start whose wait ran out while
 * the postmaster lives on) is a success that leaves the state RESTARTING until the probe
 * finds it accepting connections.
 */
void instance_done(struct instance *inst, const struct instance_plan *plan, int r,
                   const char *error, uint64_t now_ms);

/*
 * The arbiter was heard at arbiter_ok_ms: a self-fenced instance is released (back to
 * UNKNOWN, so the ordinary rules decide how it starts).
 */
void instance_note_arbiter(struct instance *inst, uint64_t arbiter_ok_ms);

/*
 * A new decision from the arbiter (another epoch, role or rebuild order) or the operator's
 * start: forgets FAILED and STOPPED, the budget, the backoff and the fencing latch.
 */
void instance_reset(struct instance *inst, const char *reason);

/* The memo of inst at now_ms (monotonic), wall_ms being the wall clock at the same instant. */
void instance_memo_save(const struct instance *inst, uint64_t now_ms, uint64_t wall_ms,
                        struct instance_memo *ret);

/*
 * Restores a memo into a fresh record (instance_init) at now_ms / wall_ms: the restarts
 * (those in the future or older than the window are dropped by the budget), FAILED with its
 * error, the self-fencing latch (held until the arbiter is heard after now_ms), and RUNNING
 * when it was running.
 */
void instance_memo_load(struct instance *inst, const struct instance_memo *m, uint64_t now_ms,
                        uint64_t wall_ms);

/* Restarts counted within the window ending at now_ms. */
uint32_t instance_restarts(const struct instance *inst, uint64_t now_ms);

/*
 * Checks the rule table (each rule named, a matcher, an action in range). 0, or -EINVAL.
 * Run at startup and in tests.
 */
int instance_rules_check(void);

#endif

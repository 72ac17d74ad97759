/*
 * arbiter/decide.h
 *
 * The arbiter's primary/standby decision for one site, as a pure function of the stored
 * topology (epoch, primary, assignments, synchronous set, switchover in progress), the
 * latest reports of the agents, the policy and now (DESIGN.md "The failover rules").
 * It is a table of rules {id, name, predicate, verdict, action}; the first row whose
 * predicate holds decides, the last row always holds. Every result carries the rule id and a
 * reason for the log line, the Event and the condition message.
 *
 * The result always holds the whole next stored state (new_epoch, primary, switchover,
 * sync, each member's role) and each member's desired state; `changed` says whether the
 * stored part differs from the input, in which case the caller persists it (epoch first, one
 * transaction) before answering any agent. Desired states can change without a stored change
 * (a stale primary fenced, a failed standby rebuilt), so agents are answered from every
 * result. Fed back as the next input once the members have obeyed, a decision converges to
 * DECIDE_VERDICT_NONE whenever the resulting primary is alive (tests/unit/test_decide.c).
 *
 * Safety rules worth knowing when wiring it:
 * - Failover happens only when the primary is failed (reported FAILED, or RESTARTING past
 *   restartlimit), lost (agent silent > losttimeout, or never reported) or no longer a
 *   member, and never while an alive standby still reports streaming from it: then the
 *   primary is alive behind a broken agent or link, and promoting would split the brain.
 *   (So the agent should report `streaming` only when its walreceiver received something
 *   within losttimeout.) There is no separate "standbys detach first" phase (CM's Lock1):
 *   the new epoch re-points the standbys in the same answer, and a standby that reconnects
 *   to the old primary in that window is the one residual race.
 * - Synchronous mode (syncreplicas >= 1): K = the standbys named in the stored set plus those
 *   the primary last listed as sync/quorum. A commit was acknowledged by n = max(sync.num, 1)
 *   of K, so promotion is automatic only when fewer than n of K are unaccounted for (lost, or
 *   LSN unknown), and only of a standby that was_sync and holds the highest received LSN of
 *   the accounted ones (R+W > N). Otherwise WAIT, and manual failover is the audited way out.
 *   So with ANY 1 over two standbys, losing the primary and one standby together waits;
 *   syncreplicas 2 survives it (every commit is then on two standbys).
 * - Asynchronous mode: the best running standby within max_lag_bytes of primary_last_lsn;
 *   an unknown primary_last_lsn (0) means no automatic promotion. LSN 0 is "unknown", never
 *   "behind" or "equal" (W6).
 * - Never eligible automatically: the old primary, a member lost or never reported, not
 *   RUNNING, not reporting role standby, not yet assigned, on a timeline below the highest
 *   known one, or with an unknown received LSN.
 * - A member other than the assigned primary reporting role primary in a state that may take
 *   writes is ordered FENCED (every tick, whatever the verdict) and rejoins as a standby with
 *   `rebuild` once stopped. Only the stored primary is ever desired PRIMARY.
 * - Manual failover is refused while the primary is alive and running (use a switchover);
 *   otherwise it promotes the named or best running standby, whatever its lag or sync state.
 * - Planned switchover: REQUESTED -> FENCING (old primary desired FENCED) -> CATCHUP (the
 *   fenced primary's current_lsn is recorded as fence_lsn) -> promotion once the target has
 *   replayed fence_lsn, epoch + 1. Aborted (old primary desired RUNNING again) on timeout, or
 *   if the target or the old primary fails or is lost meanwhile.
 * - Maintenance stops every automatic action, bootstrap included; fencing a stale primary,
 *   manual failover and switchover still happen.
 *
 * What the caller must provide (facts.c): a member's `reported` is persisted ("its agent has
 * reported it at least once"); `last_seen_ms` is the later of its last report and the
 * arbiter's start (a startup grace, so a new arbiter does not fail over before agents could
 * report); `was_sync` and `primary_last_lsn` come from the primary's last report while it
 * ran as primary; a fenced primary reports its final LSN (after a clean stop) as
 * current_lsn. A manual failover request is one-shot: clear it after the call whatever the
 * verdict.
 *
 * Adoption (R02, R02a): a new arbiter's store may be behind the agents (a second arbiter
 * taking the Lease with its own database, a lost or restored database, a cluster deleted and
 * declared again while its agents keep their epoch). Let E be the highest epoch a reported
 * member carries. When E is above the stored epoch:
 * - exactly one member reports role primary at E (in any state: a stopped, failed or fenced
 *   primary is still the last one): ADOPT, new_epoch = E (not E + 1: the agents hold E
 *   already), that member primary, the orders the steady rules give at E. A dead adopted
 *   primary is failed over by the next decision at E + 1, with the usual candidate rules;
 * - no member reports primary at E: while a member has not reported yet and
 *   bootstrap_until_ms has not passed, WAIT (R02b, no orders): its agent may hold the
 *   primary. Then ADOPT epoch E with no primary; the next decisions are those of a missing
 *   primary, which in practice WAIT (the old primary's last LSN is unknown) until a manual
 *   failover names the member to promote. Nothing is initialised: only an order naming a
 *   member primary lets an agent run initdb, and none is given. A member that reports
 *   primary at E later (stored epoch E, no stored primary) is adopted then, same epoch;
 * - two or more members report primary at E: REFUSE (R02), naming two of them; no orders.
 *   (A fenced old primary that has applied E beside the new one counts: the refusal lasts
 *   until its agent rebuilds it as ordered earlier.)
 * Adoption comes before every other rule (a manual request in the same call is not served).
 *
 * Standby sites (role leader) are not handled here yet.
 *
 * Layer: core
 */
#ifndef OG_ARBITER_DECIDE_H
#define OG_ARBITER_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/syncnames.h"
#include "proto/model.h"

#define DECIDE_MAX_MEMBERS           32    /* iplist entries of one site */
#define DECIDE_REASON_MAX            160   /* reason text, terminator included */
#define DECIDE_SWITCHOVER_TIMEOUT_MS 60000 /* default of policy.switchover_timeout_ms */

_Static_assert(DECIDE_MAX_MEMBERS - 1 <= PROTO_MAX_SYNC, "every standby must fit the sync set");

/* What a decision does. The caller's effects hang on it: Events, API answers (REFUSE = 409). */
enum decide_verdict {
    DECIDE_VERDICT_NONE = 0,         /* steady state, or maintenance: nothing to do */
    DECIDE_VERDICT_WAIT,             /* something is wrong, no safe action yet; reason says why */
    DECIDE_VERDICT_REFUSE,           /* invalid input or an API request that cannot be served */
    DECIDE_VERDICT_BOOTSTRAP,        /* first primary assigned, epoch 1 */
    DECIDE_VERDICT_FAILOVER,         /* automatic promotion of target, epoch + 1 */
    DECIDE_VERDICT_MANUAL_FAILOVER,  /* API promotion of target, possibly losing data, epoch + 1 */
    DECIDE_VERDICT_SWITCHOVER_FENCE, /* switchover started: the primary is ordered fenced */
    DECIDE_VERDICT_SWITCHOVER_CATCHUP,  /* primary fenced at fence_lsn; target catching up */
    DECIDE_VERDICT_SWITCHOVER_PROMOTE,  /* target replayed fence_lsn: promoted, epoch + 1 */
    DECIDE_VERDICT_SWITCHOVER_ABORT,    /* switchover given up, the old primary resumes */
    DECIDE_VERDICT_FENCE_STALE_PRIMARY, /* target runs as primary without being it: fenced */
    DECIDE_VERDICT_ASSIGN,              /* member assignments changed (a member joined) */
    DECIDE_VERDICT_SET_SYNC,            /* only the synchronous set changed */
    DECIDE_VERDICT_ADOPT, /* the agents' higher epoch (and its primary) taken over, not raised */
    _DECIDE_VERDICT_MAX
};

/* Where a planned switchover stands; stored with the cluster. */
enum decide_switchover_phase {
    DECIDE_SWITCHOVER_PHASE_NONE = 0,
    DECIDE_SWITCHOVER_PHASE_REQUESTED, /* accepted by the API, not validated yet */
    DECIDE_SWITCHOVER_PHASE_FENCING,   /* old primary ordered fenced; waiting for its report */
    DECIDE_SWITCHOVER_PHASE_CATCHUP,   /* old primary fenced at fence_lsn; target replaying */
    _DECIDE_SWITCHOVER_PHASE_MAX
};

/* The site's ha block (DESIGN.md "The resource"), in the units of this module. */
struct decide_policy {
    uint32_t sync_replicas;         /* ha.syncreplicas; 0 = asynchronous */
    uint32_t restart_limit;         /* ha.restartlimit; a primary RESTARTING past it = failed */
    uint64_t lost_timeout_ms;       /* ha.losttimeout; must be > 0 */
    uint64_t max_lag_bytes;         /* ha.maxlagonfailover (asynchronous mode, switchover) */
    uint64_t switchover_timeout_ms; /* abort a switchover after it; 0 = default above */
    bool maintenance;               /* spec.maintenance */
};

/* One iplist member: the stored assignment and its agent's latest report. */
struct decide_member {
    char name[PROTO_NAME_MAX + 1]; /* member name, unique, non-empty */
    char node[PROTO_NODE_MAX + 1]; /* hosting node (for the caller; not used to decide) */
    uint32_t order;                /* iplist order, the final tie-break with name */
    enum proto_role assigned;      /* stored role at the stored epoch; UNKNOWN = new member */
    bool reported;                 /* its agent has ever reported it */
    uint64_t last_seen_ms;         /* last report (monotonic; see the header comment) */
    uint64_t epoch;                /* highest epoch its agent has applied */
    enum proto_role role;          /* reported: what the instance is */
    enum proto_state state;        /* reported (LOST, if given, counts as not alive) */
    uint32_t timeline;             /* 0 = unknown */
    uint64_t received_lsn;         /* standby: received/flushed; 0 = unknown */
    uint64_t replayed_lsn;         /* standby: replayed; 0 = unknown */
    uint64_t current_lsn;          /* primary: current write LSN; fenced: final LSN */
    bool streaming;                /* its walreceiver streams from the assigned primary now */
    bool was_sync;                 /* sync/quorum in the primary's last report */
    uint32_t restarts;             /* restarts within the agent's restart window */
};

/* A planned switchover (API or resource update), stored with the cluster. */
struct decide_switchover {
    enum decide_switchover_phase phase;
    char target[PROTO_NAME_MAX + 1]; /* "" in REQUESTED = best candidate; set from FENCING on */
    uint64_t started_ms;             /* when fencing began */
    uint64_t fence_lsn;              /* the fenced primary's final LSN (CATCHUP) */
};

/* A one-shot manual failover request from the API. */
struct decide_manual_failover {
    bool requested;
    char target[PROTO_NAME_MAX + 1]; /* "" = best running standby */
};

/* Everything one decision reads. Plain data, about 15 KiB: copy and compare freely. */
struct decide_input {
    uint64_t now_ms; /* monotonic, same clock as last_seen_ms and started_ms */
    struct decide_policy policy;
    uint64_t epoch;                   /* stored epoch; 0 = never bootstrapped */
    char primary[PROTO_NAME_MAX + 1]; /* stored primary, "" for none */
    uint64_t primary_last_lsn;        /* the primary's last current LSN as primary; 0 unknown */
    struct syncnames sync;            /* stored set, as last sent to the primary */
    /*
     * The primary's last report as a running primary showed exactly `sync` applied: every
     * commit it acknowledged was confirmed by sync.num of the named standbys, even when none
     * was listed as synchronous at that moment (standbys still reconnecting after a crash).
     */
    bool sync_in_force;
    /*
     * Before this time a bootstrap waits for members earlier in iplist order whose agents
     * have not reported yet, so that the first member in iplist order becomes the first
     * primary when all agents start together (0: no wait).
     */
    uint64_t bootstrap_until_ms;
    struct decide_switchover switchover;
    struct decide_manual_failover manual;
    uint32_t n_members;
    struct decide_member members[DECIDE_MAX_MEMBERS];
};

/*
 * The desired state of one member, for its agent. Before bootstrap (new_epoch 0) role and
 * state are UNKNOWN ("wait for an assignment"), or state FENCED for an instance running as
 * a primary. An existing instance without a role starts as a standby with no upstream.
 */
struct decide_desired {
    char name[PROTO_NAME_MAX + 1];
    enum proto_role role;              /* PRIMARY or STANDBY: store as its assignment */
    enum proto_state state;            /* RUNNING or FENCED (stop, take no writes) */
    char upstream[PROTO_NAME_MAX + 1]; /* member to follow; "" for the primary or none */
    bool rebuild; /* may pg_rewind / rebuild before following (never while the primary is down) */
};

/* One decision. members[i] is the desired state of in->members[i]. */
struct decide_result {
    enum decide_verdict verdict;
    const char *rule_id;             /* "R17": static, never NULL */
    const char *rule_name;           /* "failover": static, never NULL */
    char target[PROTO_NAME_MAX + 1]; /* member promoted / fenced / waited for, or "" */
    char reason[DECIDE_REASON_MAX];  /* one line, for log, Event and condition */
    bool changed;                    /* stored state below differs from the input: persist */
    uint64_t new_epoch;              /* >= in->epoch; > in->epoch whenever primary changes */
    char primary[PROTO_NAME_MAX + 1];
    struct syncnames sync; /* to store and to send to the primary */
    struct decide_switchover switchover;
    uint32_t n_members; /* = in->n_members; 0: no orders (R01, R02, R02b) */
    struct decide_desired members[DECIDE_MAX_MEMBERS];
};

_Static_assert(sizeof(struct decide_input) < 64 * 1024, "decide_input must stay small");
_Static_assert(sizeof(struct decide_result) < 64 * 1024, "decide_result must stay small");

/*
 * Decides for one site. Total: every input, however invalid, gives a verdict, a rule id and
 * a reason in *ret (always fully written, zero-padded, so two results can be memcmp'd).
 * Deterministic: no clock, no randomness, no globals; in is only read.
 */
void decide_failover(const struct decide_input *in, struct decide_result *ret);

/*
 * Validates the rule table: ids and names present and unique, ids in ascending order, a
 * predicate and an action on every row, known verdicts, every verdict reachable from some
 * row, and a final catch-all row. 0 or -EINVAL. Run it at startup and in tests.
 */
int decide_rules_check(void);

/* Number of rows of the rule table. */
size_t decide_rules_count(void);

/* Row i of the table (for dumps and docs): 0, or -ENOENT when i is out of range. */
int decide_rule_info(size_t i, const char **ret_id, const char **ret_name,
                     enum decide_verdict *ret_verdict);

/*
 * Candidate ranking, a pure comparator for qsort-like use: negative when a ranks before b.
 * Order: higher timeline, was_sync first, higher received LSN, lower iplist order, name.
 * Eligibility (alive, running, lag...) is decided before; this only orders.
 */
int decide_candidate_compare(const struct decide_member *a, const struct decide_member *b);

/* True when m's agent is alive: reported, not LOST, and last seen within lost_timeout_ms. */
bool decide_is_alive(const struct decide_member *m, uint64_t now_ms, uint64_t lost_timeout_ms);

/* "none", "wait", "refuse", "bootstrap", "failover", "manual-failover", ... */
const char *decide_verdict_to_string(enum decide_verdict v);
/* 0, or -EINVAL for an unknown name. */
int decide_verdict_from_string(const char *s, enum decide_verdict *ret);
/* "none", "requested", "fencing", "catchup". */
const char *decide_switchover_phase_to_string(enum decide_switchover_phase v);
/* 0, or -EINVAL for an unknown name. */
int decide_switchover_phase_from_string(const char *s, enum decide_switchover_phase *ret);

#endif

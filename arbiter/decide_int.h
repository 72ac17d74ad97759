/*
 * arbiter/decide_int.h
 *
 * Internal to arbiter/decide.c, arbiter/decide_pick.c and the rule groups
 * arbiter/decide_rules_control.c and arbiter/decide_rules_failover.c: the facts of one
 * decision (struct decide_ctx, built once by decide.c before the rule table is walked), the
 * candidate choices decide_pick.c computes into it, the rules' predicates and actions, and the
 * few helpers these files share. Nothing else includes it; the public contract is decide.h.
 *
 * Layer: core
 */
#ifndef OG_ARBITER_DECIDE_INT_H
#define OG_ARBITER_DECIDE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "arbiter/decide.h"
#include "arbiter/syncnames.h"

#define DECIDE_LSN_TEXT_MAX 24

/* How the stored primary is doing, as far as failover is concerned. */
enum primary_health {
    PRIMARY_HEALTH_NONE = 0, /* never bootstrapped */
    PRIMARY_HEALTH_OK,       /* alive, running, reporting role primary */
    PRIMARY_HEALTH_BUSY,     /* alive, not serving yet: restarting, promoting, fenced... */
    PRIMARY_HEALTH_FAILED,   /* alive, failed or restarting past restartlimit */
    PRIMARY_HEALTH_LOST,     /* agent silent for losttimeout, or never reported */
    PRIMARY_HEALTH_MISSING,  /* none stored, or no longer a member */
};

/*
 * The facts of one decision; every index is into in->members, -1 for none. When the agents
 * hold a higher epoch than the store (adoption, decide.h), `in` points to `adopted`, the
 * input rewritten at that epoch, and every fact below is about it.
 */
struct decide_ctx {
    const struct decide_input *in;
    bool valid;
    char invalid[DECIDE_REASON_MAX];
    uint32_t n;
    bool alive[DECIDE_MAX_MEMBERS];
    uint64_t agents_epoch; /* highest epoch reported by a member: E */
    uint32_t n_claims;     /* members reporting role primary at E, when E > stored epoch */
    int claims[2];         /* the first two of them */
    bool adopting;         /* adopt E (and the claimant, if any): decide at epoch E */
    int adopt_wait;        /* no claim yet, and this member has not reported: wait for it */
    uint64_t stored_epoch; /* the caller's epoch, before adoption */
    int primary;
    enum primary_health health;
    uint32_t ref_timeline; /* highest timeline of the primary and the alive members */
    uint32_t n_feeding;    /* alive standbys still streaming from the primary */
    int feeding;
    int stale;             /* a non-primary that may take writes */
    int boot;              /* bootstrap choice */
    int candidate;         /* automatic failover choice */
    uint64_t old_lsn;      /* asynchronous mode: the old primary's last LSN */
    uint64_t max_sync_lsn; /* synchronous mode: highest LSN of the accounted-for standbys */
    char why_not[DECIDE_REASON_MAX];
    bool boot_held; /* a bootstrap candidate waits for an earlier member (bootstrap_hold) */
    int manual;     /* manual failover choice */
    char manual_refusal[DECIDE_REASON_MAX];
    int so_target;                      /* switchover target */
    char so_refusal[DECIDE_REASON_MAX]; /* REQUESTED: refusal; FENCING/CATCHUP: abort reason */
    struct syncnames steady_sync;       /* the set if the primary does not change */
    struct decide_input adopted;        /* the input at the agents' epoch (adopting only) */
};

static inline const struct decide_member *member(const struct decide_ctx *ctx, int i)
{
    return &ctx->in->members[i];
}

/* a - b, or 0 when b is ahead: lag in bytes, age in ms. */
static inline uint64_t sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static inline bool health_is_down(enum primary_health h)
{
    return h == PRIMARY_HEALTH_FAILED || h == PRIMARY_HEALTH_LOST || h == PRIMARY_HEALTH_MISSING;
}

/* ---- shared helpers (decide.c) ---- */

/* Reason buffers are all DECIDE_REASON_MAX long; text is truncated, never overflowed. */
void decide_reason_set(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends to a reason buffer, truncating. */
void decide_reason_append(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "0/3000000" into buf, which it returns. */
const char *decide_lsn_text(uint64_t lsn, char buf[DECIDE_LSN_TEXT_MAX]);
/* Index of the member named name in ctx->in, or -1 (also for ""). */
int decide_find_member(const struct decide_ctx *ctx, const char *name);
/* The stored primary's name, or "(none)". */
const char *decide_primary_name(const struct decide_ctx *ctx);
/* "primary demo-0 failed", "... silent for 6000 ms", ... into buf[DECIDE_REASON_MAX]. */
void decide_primary_words(const struct decide_ctx *ctx, char *buf);

/* ---- candidate choice (decide_pick.c) ---- */

/*
 * Bootstrap: the best alive member that is not failed, ranked like a failover candidate (so
 * existing data on the highest timeline wins); held while an earlier member in iplist order
 * has not reported and bootstrap_until_ms has not passed. Sets ctx->boot (-1 with
 * ctx->why_not, and ctx->boot_held when held).
 */
void decide_pick_bootstrap(struct decide_ctx *ctx);
/* Quorum-safe failover candidate (decide.h), or -1 with ctx->why_not. Sets max_sync_lsn. */
int decide_pick_sync(struct decide_ctx *ctx);
/* Asynchronous failover candidate within max_lag_bytes, or -1 with ctx->why_not. */
int decide_pick_async(struct decide_ctx *ctx);
/* Manual failover target, or -1 with ctx->manual_refusal. */
int decide_pick_manual(struct decide_ctx *ctx);
/* Switchover target of a REQUESTED switchover, or -1 with ctx->so_refusal. */
int decide_pick_switchover(struct decide_ctx *ctx);
/* For a switchover under way: ctx->so_refusal says why it must be aborted, or stays "". */
void decide_pick_switchover_abort(struct decide_ctx *ctx);

/*
 * Adoption (decide.h): E = ctx->agents_epoch, the claimants of E (n_claims, claims[]), and
 * whether to adopt now (adopting) or wait for a member that has not reported (adopt_wait).
 * Needs ctx->in (the caller's input) and ctx->n.
 */
void decide_pick_adoption(struct decide_ctx *ctx);
/* ctx->in rewritten at the adopted epoch with its claimant as primary (or none) into *adj. */
void decide_pick_adopted_input(const struct decide_ctx *ctx, struct decide_input *adj);

/* ---- shared helpers for the rule groups (decide.c) ---- */

/* Copies a possibly unterminated name field, zero-padded. */
void decide_name_copy(char dst[PROTO_NAME_MAX + 1], const char src[PROTO_NAME_MAX + 1]);
/* True while a switchover is in its FENCING or CATCHUP phase. */
bool decide_switchover_is_running(const struct decide_input *in);
/* Makes member i the primary at the next epoch; any switchover is over. */
void decide_promote(const struct decide_ctx *ctx, int i, struct decide_result *ret);

/*
 * ---- rule groups ----
 * Each rule of decide.c's table is a predicate over the facts (true when the rule applies)
 * and an action that writes the decision into ret; both read only ctx.
 */

/*
 * Control rules (decide_rules_control.c): input, epoch adoption, manual failover,
 * switchover, maintenance, bootstrap.
 */
bool decide_pred_invalid(const struct decide_ctx *ctx);
bool decide_pred_epoch_conflict(const struct decide_ctx *ctx);
bool decide_pred_epoch_adopt(const struct decide_ctx *ctx);
bool decide_pred_epoch_adopt_wait(const struct decide_ctx *ctx);
bool decide_pred_manual_refused(const struct decide_ctx *ctx);
bool decide_pred_manual(const struct decide_ctx *ctx);
bool decide_pred_switchover_refused(const struct decide_ctx *ctx);
bool decide_pred_switchover_start(const struct decide_ctx *ctx);
bool decide_pred_switchover_abort(const struct decide_ctx *ctx);
bool decide_pred_switchover_catchup(const struct decide_ctx *ctx);
bool decide_pred_switchover_promote(const struct decide_ctx *ctx);
bool decide_pred_switchover_wait(const struct decide_ctx *ctx);
bool decide_pred_maintenance(const struct decide_ctx *ctx);
bool decide_pred_bootstrap_wait(const struct decide_ctx *ctx);
bool decide_pred_bootstrap(const struct decide_ctx *ctx);
void decide_act_invalid(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_epoch_conflict(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_epoch_adopt(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_epoch_adopt_wait(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_manual_refused(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_manual(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_switchover_drop(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_switchover_start(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_switchover_catchup(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_switchover_promote(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_switchover_wait(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_maintenance(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_bootstrap_wait(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_bootstrap(const struct decide_ctx *ctx, struct decide_result *ret);

/* Failover rules (decide_rules_failover.c): stale primary, failover, steady-state orders. */
bool decide_pred_stale(const struct decide_ctx *ctx);
bool decide_pred_primary_streams(const struct decide_ctx *ctx);
bool decide_pred_no_candidate(const struct decide_ctx *ctx);
bool decide_pred_failover(const struct decide_ctx *ctx);
bool decide_pred_primary_busy(const struct decide_ctx *ctx);
bool decide_pred_assign(const struct decide_ctx *ctx);
bool decide_pred_sync(const struct decide_ctx *ctx);
bool decide_pred_always(const struct decide_ctx *ctx);
void decide_act_stale(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_primary_streams(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_no_candidate(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_failover(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_primary_busy(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_assign(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_sync(const struct decide_ctx *ctx, struct decide_result *ret);
void decide_act_steady(const struct decide_ctx *ctx, struct decide_result *ret);

#endif

/*
 * arbiter/decide_pick.c
 *
 * The choices of a decision (decide.h, "Safety rules" and "Adoption"): why each member cannot
 * be promoted in each situation (bootstrap, automatic failover in synchronous or asynchronous
 * mode, manual failover, switchover), the best remaining member by
 * decide_candidate_compare(), and the reasons against the others, for the WAIT and REFUSE
 * texts; and, when the agents hold a higher epoch than the store, which member claims it and
 * whether to adopt it now. decide.c calls these once per decision while it builds the facts
 * (struct decide_ctx, decide_int.h); nothing here reads anything but the context.
 *
 * Layer: core
 */
#include <string.h>

#include "arbiter/decide_int.h"
#include "common/str.h"

typedef const char *(*exclusion_fn)(const struct decide_ctx *ctx, int i);

/* Manual failover: any running standby, whatever its lag, timeline or sync state. */
static const char *manual_exclusion(const struct decide_ctx *ctx, int i)
{
    const struct decide_member *m = member(ctx, i);

    if (!ctx->alive[i]) {
        return m->reported ? "lost" : "never reported";
    }
    if (m->state != PROTO_STATE_RUNNING) {
        return proto_state_to_string(m->state);
    }
    return m->role == PROTO_ROLE_STANDBY ? NULL : "not a standby";
}

/* Why member i cannot be promoted automatically, or NULL when it can (lag and sync aside). */
static const char *member_exclusion(const struct decide_ctx *ctx, int i)
{
    const struct decide_member *m = member(ctx, i);
    const char *why = manual_exclusion(ctx, i);

    if (why) {
        return why;
    }
    if (m->assigned != PROTO_ROLE_STANDBY) {
        return "not assigned yet";
    }
    if (m->timeline == 0 || m->timeline < ctx->ref_timeline) {
        return "old timeline";
    }
    return m->received_lsn == 0 ? "lsn unknown" : NULL;
}

/* Synchronous mode: a was_sync standby holding the highest accounted-for LSN (pick_sync). */
static const char *sync_exclusion(const struct decide_ctx *ctx, int i)
{
    const char *why = member_exclusion(ctx, i);
    const struct decide_member *m = member(ctx, i);
    bool named = ctx->in->sync_in_force && syncnames_has(&ctx->in->sync, m->name);

    if (!why && !m->was_sync && !named) {
        return "not sync";
    }
    return !why && member(ctx, i)->received_lsn < ctx->max_sync_lsn ? "behind" : why;
}

/* Asynchronous mode: within max_lag_bytes of the old primary's last LSN. */
static const char *async_exclusion(const struct decide_ctx *ctx, int i)
{
    const char *why = member_exclusion(ctx, i);

    return !why && sat_sub(ctx->old_lsn, member(ctx, i)->received_lsn) >
                                   ctx->in->policy.max_lag_bytes
                   ? "lagging"
                   : why;
}

/* Switchover: eligible, streaming now, and within max_lag_bytes of the running primary. */
static const char *switchover_exclusion(const struct decide_ctx *ctx, int i)
{
    const char *why = member_exclusion(ctx, i);

    if (!why && !member(ctx, i)->streaming) {
        return "not streaming";
    }
    return !why && sat_sub(member(ctx, ctx->primary)->current_lsn, member(ctx, i)->received_lsn) >
                                   ctx->in->policy.max_lag_bytes
                   ? "lagging"
                   : why;
}

static const char *bootstrap_exclusion(const struct decide_ctx *ctx, int i)
{
    if (!ctx->alive[i]) {
        return member(ctx, i)->reported ? "lost" : "never reported";
    }
    return member(ctx, i)->state == PROTO_STATE_FAILED ? "failed" : NULL;
}

/*
 * The member named target ("" = any) that why() does not exclude, the best-ranked one when
 * several; never the primary. -1 when none, and then list holds " name reason" entries.
 */
static int pick_member(const struct decide_ctx *ctx, const char *target, exclusion_fn why,
                       char *list)
{
    uint32_t count = 0;
    int best = -1;

    list[0] = '\0';
    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);
        const char *no;

        if (i == ctx->primary || (!str_is_empty(target) && !str_eq(m->name, target))) {
            continue;
        }
        no = why(ctx, i);
        if (no) {
            decide_reason_append(list, "%s %s %s", count++ ? "," : "", m->name, no);
        } else if (best < 0 || decide_candidate_compare(m, member(ctx, best)) < 0) {
            best = i;
        }
    }
    if (best < 0 && count == 0 && str_is_empty(target)) {
        decide_reason_set(list, " no standby member");
    } else if (best < 0 && count == 0) {
        decide_reason_set(list, " %s is not a standby member", target);
    }
    return best;
}

/*
 * Quorum-safe choice (decide.h): only a standby holding every acknowledged commit, provable from
 * a was_sync standby or from the synchronous set the primary had in force.
 */
int decide_pick_sync(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;
    uint32_t need = in->sync.num > 0 ? in->sync.num : 1, unaccounted = 0;
    bool any_was_sync = false;
    char list[DECIDE_REASON_MAX];
    int best;

    for (uint32_t s = 0; s < in->sync.n_names; s++) {
        /* A member removed from iplist may have acknowledged commits too. */
        unaccounted += decide_find_member(ctx, in->sync.names[s]) < 0;
    }
    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);

        if (i == ctx->primary || !(m->was_sync || syncnames_has(&in->sync, m->name))) {
            continue;
        }
        any_was_sync = any_was_sync || m->was_sync;
        /*
         * A member that may hold acknowledged commits but reports an older timeline than the
         * site's is unaccounted too, not ignored: a stale report (a standby whose receiver just
         * stopped) would otherwise let a less advanced member be promoted and lose commits.
         */
        if (!ctx->alive[i] || m->received_lsn == 0 || m->timeline == 0 ||
            m->timeline < ctx->ref_timeline) {
            unaccounted++;
        } else if (m->timeline >= ctx->ref_timeline && m->received_lsn > ctx->max_sync_lsn) {
            ctx->max_sync_lsn = m->received_lsn;
        }
    }
    if ((!any_was_sync && !in->sync_in_force) || unaccounted >= need) {
        decide_reason_set(ctx->why_not,
                          "%s; promotion could lose acknowledged commits; use manual failover",
                          any_was_sync || in->sync_in_force
                                  ? "too many synchronous standbys unaccounted for"
                                  : "no synchronous standby at the primary's last report");
        return -1;
    }
    best = pick_member(ctx, "", sync_exclusion, list);
    decide_reason_set(ctx->why_not, "no synchronous standby holds the latest WAL:%s", list);
    return best;
}

/* Asynchronous choice: the best running standby within max_lag_bytes of the old primary. */
int decide_pick_async(struct decide_ctx *ctx)
{
    char list[DECIDE_REASON_MAX];
    int best;

    ctx->old_lsn = ctx->in->primary_last_lsn;
    if (ctx->primary >= 0 && member(ctx, ctx->primary)->current_lsn > ctx->old_lsn) {
        ctx->old_lsn = member(ctx, ctx->primary)->current_lsn;
    }
    if (ctx->old_lsn == 0) {
        decide_reason_set(ctx->why_not,
                          "its last LSN is unknown, so the loss cannot be bounded; use "
                          "manual failover");
        return -1;
    }
    best = pick_member(ctx, "", async_exclusion, list);
    decide_reason_set(ctx->why_not, "no standby within maxlagonfailover:%s", list);
    return best;
}

/* Manual failover: refused while the primary serves, else the named or best running standby. */
int decide_pick_manual(struct decide_ctx *ctx)
{
    char list[DECIDE_REASON_MAX];
    int best;

    if (ctx->health == PRIMARY_HEALTH_NONE || ctx->health == PRIMARY_HEALTH_OK) {
        decide_reason_set(ctx->manual_refusal, "manual failover refused: %s",
                          ctx->health == PRIMARY_HEALTH_OK
                                  ? "the primary is running; use a switchover"
                                  : "no primary bootstrapped yet");
        return -1;
    }
    best = pick_member(ctx, ctx->in->manual.target, manual_exclusion, list);
    decide_reason_set(ctx->manual_refusal, "manual failover refused:%s", list);
    return best;
}

/* Switchover: needs a running primary of known LSN and a streaming, caught-up target. */
int decide_pick_switchover(struct decide_ctx *ctx)
{
    char list[DECIDE_REASON_MAX];
    int best;

    if (ctx->health != PRIMARY_HEALTH_OK || member(ctx, ctx->primary)->current_lsn == 0) {
        decide_reason_set(ctx->so_refusal,
                          "switchover refused: primary %s is not running or its LSN "
                          "is unknown",
                          decide_primary_name(ctx));
        return -1;
    }
    best = pick_member(ctx, ctx->in->switchover.target, switchover_exclusion, list);
    decide_reason_set(ctx->so_refusal, "switchover refused:%s", list);
    return best;
}

/* A switchover under way is abandoned when it takes too long or one of its two ends fails. */
void decide_pick_switchover_abort(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;
    uint64_t limit = in->policy.switchover_timeout_ms ? in->policy.switchover_timeout_ms
                                                      : DECIDE_SWITCHOVER_TIMEOUT_MS;
    const char *why;

    if (sat_sub(in->now_ms, in->switchover.started_ms) > limit) {
        decide_reason_set(ctx->so_refusal, "switchover to %s aborted: not done within %llu ms",
                          in->switchover.target, (unsigned long long) limit);
    } else if (health_is_down(ctx->health)) {
        decide_primary_words(ctx, ctx->so_refusal);
        decide_reason_append(ctx->so_refusal, ": switchover to %s aborted", in->switchover.target);
    } else {
        why = ctx->so_target < 0 || ctx->so_target == ctx->primary
                      ? "not a standby member"
                      : manual_exclusion(ctx, ctx->so_target);
        if (why) {
            decide_reason_set(ctx->so_refusal, "switchover aborted: target %s is %s",
                              in->switchover.target, why);
        }
    }
}

/*
 * Holds a bootstrap while a member earlier in iplist order than the chosen one has never
 * reported and bootstrap_until_ms has not passed (decide.h).
 */
static void bootstrap_hold(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;

    if (ctx->boot < 0 || in->now_ms >= in->bootstrap_until_ms) {
        return;
    }
    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);

        if (!m->reported && m->order < member(ctx, ctx->boot)->order) {
            decide_reason_set(ctx->why_not, " %s (first in iplist order) has not reported yet",
                              m->name);
            ctx->boot = -1;
            ctx->boot_held = true;
            return;
        }
    }
}

void decide_pick_bootstrap(struct decide_ctx *ctx)
{
    ctx->boot = pick_member(ctx, "", bootstrap_exclusion, ctx->why_not);
    bootstrap_hold(ctx);
}

/* ---- adoption of the agents' epoch ---- */

/*
 * Holds an adoption without a claimant while a member has not reported yet and
 * bootstrap_until_ms has not passed: its agent may be the one holding the primary at E.
 */
static bool adopt_hold(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;

    if (in->now_ms >= in->bootstrap_until_ms) {
        return false;
    }
    for (int i = 0; i < (int) ctx->n; i++) {
        if (!member(ctx, i)->reported) {
            ctx->adopt_wait = i;
            return true;
        }
    }
    return false;
}

/*
 * E, the highest epoch the agents report, and the members reporting role primary at E (in
 * any state: a stopped, failed or fenced primary is still the last one), when E is above
 * the stored epoch, or equal to it with no stored primary (an epoch adopted without one:
 * its primary's agent reports late). Decides between adopting, refusing and holding
 * (decide.h, "Adoption").
 */
void decide_pick_adoption(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;
    bool orphan;

    for (uint32_t i = 0; i < ctx->n; i++) {
        if (in->members[i].reported && in->members[i].epoch > ctx->agents_epoch) {
            ctx->agents_epoch = in->members[i].epoch;
        }
    }
    orphan = ctx->agents_epoch == in->epoch && in->epoch > 0 && str_is_empty(in->primary);
    if (ctx->agents_epoch <= in->epoch && !orphan) {
        return;
    }
    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);

        if (m->reported && m->epoch == ctx->agents_epoch && m->role == PROTO_ROLE_PRIMARY) {
            if (ctx->n_claims < 2) {
                ctx->claims[ctx->n_claims] = i;
            }
            ctx->n_claims++;
        }
    }
    if (orphan && ctx->n_claims == 0) {
        return; /* still no primary at the adopted epoch: the usual rules */
    }
    ctx->adopting = ctx->n_claims == 1 || (ctx->n_claims == 0 && !adopt_hold(ctx));
}

/*
 * The input as the store would hold it at the agents' epoch: E, the member claiming it as
 * primary (or none), no switchover (it belonged to an older epoch), and, when the primary
 * changes, nothing the store knew about the old primary's view (its last LSN, its
 * synchronous standbys, who streamed from it).
 */
void decide_pick_adopted_input(const struct decide_ctx *ctx, struct decide_input *adj)
{
    const struct decide_input *in = ctx->in;
    int p = ctx->n_claims == 1 ? ctx->claims[0] : -1;

    *adj = *in;
    adj->epoch = ctx->agents_epoch;
    memset(adj->primary, 0, sizeof(adj->primary));
    if (p >= 0) {
        memcpy(adj->primary, in->members[p].name, strnlen(in->members[p].name, PROTO_NAME_MAX));
    }
    memset(&adj->switchover, 0, sizeof(adj->switchover));
    if (str_eq(adj->primary, in->primary)) {
        return;
    }
    adj->primary_last_lsn = 0;
    adj->sync_in_force = false;
    for (int i = 0; i < (int) ctx->n; i++) {
        struct decide_member *m = &adj->members[i];

        m->was_sync = false;
        m->streaming = false;
        if (i == p) {
            m->assigned = PROTO_ROLE_PRIMARY;
        } else if (m->assigned == PROTO_ROLE_PRIMARY) {
            m->assigned = PROTO_ROLE_STANDBY;
        }
    }
}

/* The facts of the rules, from the (possibly adopted) input ctx->in. */

int decide_candidate_compare(const struct decide_member *a, const struct decide_member *b)
{
    int c;

    if (a->timeline != b->timeline) {
        return a->timeline > b->timeline ? -1 : 1;
    }
    if (a->was_sync != b->was_sync) {
        return a->was_sync ? -1 : 1;
    }
    if (a->received_lsn != b->received_lsn) {
        return a->received_lsn > b->received_lsn ? -1 : 1;
    }
    if (a->order != b->order) {
        return a->order < b->order ? -1 : 1;
    }
    c = strncmp(a->name, b->name, sizeof(a->name));
    return (c > 0) - (c < 0);
}

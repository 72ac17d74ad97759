/*
 * arbiter/decide_rules_failover.c
 *
 * The failover rules of the decision table (decide.c): fencing a stale primary, waiting while
 * a lost primary still feeds standbys or has no safe candidate, automatic failover, waiting for
 * a primary that is not ready yet, and the steady-state orders (standby assignment, the
 * synchronous set, steady). Each rule is a predicate over the facts decide.c computed once
 * (struct decide_ctx, decide_int.h) and an action that writes the decision; the order in which
 * they are tried is the table's in decide.c. Nothing here reads anything but the context.
 *
 * Layer: core
 */
#include "arbiter/decide_int.h"
#include "common/str.h"

/* ---- predicates ---------------------------------------------------------------------- */

bool decide_pred_stale(const struct decide_ctx *ctx)
{
    return ctx->stale >= 0;
}

bool decide_pred_primary_streams(const struct decide_ctx *ctx)
{
    return (ctx->health == PRIMARY_HEALTH_LOST || ctx->health == PRIMARY_HEALTH_MISSING) &&
           ctx->n_feeding > 0;
}

bool decide_pred_no_candidate(const struct decide_ctx *ctx)
{
    return health_is_down(ctx->health) && ctx->candidate < 0;
}

bool decide_pred_failover(const struct decide_ctx *ctx)
{
    return health_is_down(ctx->health) && ctx->candidate >= 0;
}

bool decide_pred_primary_busy(const struct decide_ctx *ctx)
{
    return ctx->health == PRIMARY_HEALTH_BUSY;
}

bool decide_pred_assign(const struct decide_ctx *ctx)
{
    for (int i = 0; i < (int) ctx->n; i++) {
        if (i != ctx->primary && member(ctx, i)->assigned != PROTO_ROLE_STANDBY) {
            return true;
        }
    }
    return false;
}

bool decide_pred_sync(const struct decide_ctx *ctx)
{
    return !syncnames_equal(&ctx->steady_sync, &ctx->in->sync);
}

bool decide_pred_always(const struct decide_ctx *ctx)
{
    (void) ctx;
    return true;
}

/* ---- actions ------------------------------------------------------------------------- */

void decide_act_stale(const struct decide_ctx *ctx, struct decide_result *ret)
{
    const struct decide_member *m = member(ctx, ctx->stale);

    decide_name_copy(ret->target, m->name);
    decide_reason_set(ret->reason,
                      "%s runs as primary at epoch %llu, the primary is %s at epoch %llu: "
                      "fencing it",
                      m->name, (unsigned long long) m->epoch, decide_primary_name(ctx),
                      (unsigned long long) ctx->in->epoch);
}

void decide_act_primary_streams(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char words[DECIDE_REASON_MAX];

    decide_primary_words(ctx, words);
    decide_name_copy(ret->target, ctx->in->primary);
    decide_reason_set(ret->reason,
                      "%s, but %u standby(s) (%s) still stream from it: not failing over", words,
                      ctx->n_feeding, member(ctx, ctx->feeding)->name);
}

void decide_act_no_candidate(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char words[DECIDE_REASON_MAX];

    decide_primary_words(ctx, words);
    decide_name_copy(ret->target, ctx->in->primary);
    decide_reason_set(ret->reason, "%s; %s", words, ctx->why_not);
}

void decide_act_failover(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char words[DECIDE_REASON_MAX], lsn[DECIDE_LSN_TEXT_MAX];

    decide_primary_words(ctx, words);
    decide_promote(ctx, ctx->candidate, ret);
    decide_reason_set(ret->reason, "%s; promoting %s (%s, received %s) at epoch %llu", words,
                      ret->target,
                      member(ctx, ctx->candidate)->was_sync ? "synchronous"
                      : ctx->in->policy.sync_replicas > 0   ? "holds every acknowledged commit"
                                                            : "asynchronous",
                      decide_lsn_text(member(ctx, ctx->candidate)->received_lsn, lsn),
                      (unsigned long long) ret->new_epoch);
}

void decide_act_primary_busy(const struct decide_ctx *ctx, struct decide_result *ret)
{
    const struct decide_member *p = member(ctx, ctx->primary);

    decide_name_copy(ret->target, p->name);
    decide_reason_set(ret->reason, "primary %s is %s as %s (%u/%u restarts): waiting, no failover",
                      p->name, proto_state_to_string(p->state), proto_role_to_string(p->role),
                      p->restarts, ctx->in->policy.restart_limit);
}

void decide_act_assign(const struct decide_ctx *ctx, struct decide_result *ret)
{
    for (int i = 0; i < (int) ctx->n; i++) {
        if (i != ctx->primary && member(ctx, i)->assigned != PROTO_ROLE_STANDBY) {
            decide_name_copy(ret->target, member(ctx, i)->name);
            break;
        }
    }
    decide_reason_set(ret->reason, "assigning %s as a standby of %s", ret->target,
                      decide_primary_name(ctx));
}

void decide_act_sync(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char text[DECIDE_REASON_MAX];

    if (syncnames_format(&ctx->steady_sync, text, sizeof(text)) < 0) {
        decide_reason_set(ret->reason, "synchronous set: ANY %u of %u standbys",
                          ctx->steady_sync.num, ctx->steady_sync.n_names);
        return;
    }
    decide_reason_set(ret->reason, "synchronous set: %s", str_is_empty(text) ? "none" : text);
}

void decide_act_steady(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_reason_set(ret->reason, "steady: primary %s at epoch %llu", decide_primary_name(ctx),
                      (unsigned long long) ctx->in->epoch);
}

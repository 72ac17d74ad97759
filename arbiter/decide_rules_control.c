/*
 * arbiter/decide_rules_control.c
 *
 * The control rules of the decision table (decide.c): refusing an invalid input, adopting a
 * higher epoch held by the agents (or waiting for it), manual failover, the switchover phases,
 * maintenance and bootstrap. Each rule is a predicate over the facts decide.c computed once
 * (struct decide_ctx, decide_int.h) and an action that writes the decision; the order in which
 * they are tried, and so their priority, is the table's in decide.c. Nothing here reads
 * anything but the context.
 *
 * Layer: core
 */
#include <string.h>

#include "arbiter/decide_int.h"
#include "common/str.h"

/* ---- predicates ---------------------------------------------------------------------- */

bool decide_pred_invalid(const struct decide_ctx *ctx)
{
    return !ctx->valid;
}

bool decide_pred_epoch_conflict(const struct decide_ctx *ctx)
{
    return ctx->n_claims > 1;
}

bool decide_pred_epoch_adopt(const struct decide_ctx *ctx)
{
    return ctx->adopting;
}

bool decide_pred_epoch_adopt_wait(const struct decide_ctx *ctx)
{
    return ctx->adopt_wait >= 0;
}

bool decide_pred_manual_refused(const struct decide_ctx *ctx)
{
    return ctx->in->manual.requested && ctx->manual < 0;
}

bool decide_pred_manual(const struct decide_ctx *ctx)
{
    return ctx->in->manual.requested && ctx->manual >= 0;
}

bool decide_pred_switchover_refused(const struct decide_ctx *ctx)
{
    return ctx->in->switchover.phase == DECIDE_SWITCHOVER_PHASE_REQUESTED && ctx->so_target < 0;
}

bool decide_pred_switchover_start(const struct decide_ctx *ctx)
{
    return ctx->in->switchover.phase == DECIDE_SWITCHOVER_PHASE_REQUESTED && ctx->so_target >= 0;
}

bool decide_pred_switchover_abort(const struct decide_ctx *ctx)
{
    return decide_switchover_is_running(ctx->in) && !str_is_empty(ctx->so_refusal);
}

bool decide_pred_switchover_catchup(const struct decide_ctx *ctx)
{
    const struct decide_member *p = ctx->primary >= 0 ? member(ctx, ctx->primary) : NULL;

    return ctx->in->switchover.phase == DECIDE_SWITCHOVER_PHASE_FENCING && p &&
           (p->state == PROTO_STATE_FENCED || p->state == PROTO_STATE_STOPPED) &&
           p->current_lsn != 0;
}

bool decide_pred_switchover_promote(const struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;

    return in->switchover.phase == DECIDE_SWITCHOVER_PHASE_CATCHUP && ctx->so_target >= 0 &&
           ctx->primary >= 0 && in->switchover.fence_lsn != 0 &&
           member(ctx, ctx->so_target)->replayed_lsn >= in->switchover.fence_lsn &&
           member(ctx, ctx->so_target)->timeline >= member(ctx, ctx->primary)->timeline;
}

bool decide_pred_switchover_wait(const struct decide_ctx *ctx)
{
    return decide_switchover_is_running(ctx->in);
}

bool decide_pred_maintenance(const struct decide_ctx *ctx)
{
    return ctx->in->policy.maintenance;
}

bool decide_pred_bootstrap_wait(const struct decide_ctx *ctx)
{
    return ctx->health == PRIMARY_HEALTH_NONE && ctx->boot < 0;
}

bool decide_pred_bootstrap(const struct decide_ctx *ctx)
{
    return ctx->health == PRIMARY_HEALTH_NONE && ctx->boot >= 0;
}

/* ---- actions ------------------------------------------------------------------------- */

void decide_act_invalid(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_reason_set(ret->reason, "input refused: %s", ctx->invalid);
}

void decide_act_epoch_conflict(const struct decide_ctx *ctx, struct decide_result *ret)
{
    const struct decide_member *a = member(ctx, ctx->claims[0]), *b = member(ctx, ctx->claims[1]);

    decide_name_copy(ret->target, a->name);
    decide_reason_set(ret->reason,
                      "%s and %s both report role primary at epoch %llu (stored %llu): "
                      "refusing to adopt either; fence one by hand",
                      a->name, b->name, (unsigned long long) ctx->agents_epoch,
                      (unsigned long long) ctx->stored_epoch);
}

/*
 * The agents hold a higher epoch than the store (a new or restored store, a re-created
 * cluster): take it over with its primary instead of issuing an epoch already used. The
 * orders are the steady ones at that epoch (plan_members); a dead adopted primary is failed
 * over by the next decision, at E + 1.
 */
void decide_act_epoch_adopt(const struct decide_ctx *ctx, struct decide_result *ret)
{
    ret->new_epoch = ctx->in->epoch;
    decide_name_copy(ret->primary, ctx->in->primary);
    decide_name_copy(ret->target, ctx->in->primary);
    memset(&ret->switchover, 0, sizeof(ret->switchover));
    if (str_is_empty(ctx->in->primary)) {
        decide_reason_set(ret->reason,
                          "adopted epoch %llu from agents (no primary at it); stored epoch was "
                          "%llu",
                          (unsigned long long) ret->new_epoch,
                          (unsigned long long) ctx->stored_epoch);
        return;
    }
    decide_reason_set(ret->reason,
                      "adopted epoch %llu from agents (primary %s); stored epoch was %llu",
                      (unsigned long long) ret->new_epoch, ret->primary,
                      (unsigned long long) ctx->stored_epoch);
}

void decide_act_epoch_adopt_wait(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_name_copy(ret->target, member(ctx, ctx->adopt_wait)->name);
    decide_reason_set(ret->reason,
                      "agents hold epoch %llu (stored %llu) and none reports a primary at it: "
                      "waiting for %s to report before adopting it",
                      (unsigned long long) ctx->agents_epoch,
                      (unsigned long long) ctx->stored_epoch, ret->target);
}

void decide_act_manual_refused(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_name_copy(ret->target, ctx->in->manual.target);
    decide_reason_set(ret->reason, "%s", ctx->manual_refusal);
}

void decide_act_manual(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char words[DECIDE_REASON_MAX];

    decide_promote(ctx, ctx->manual, ret);
    decide_primary_words(ctx, words);
    decide_reason_set(ret->reason, "manual failover to %s at epoch %llu (%s); commits may be lost",
                      ret->target, (unsigned long long) ret->new_epoch, words);
}

/* A switchover refused (REQUESTED) or abandoned (FENCING, CATCHUP): the old primary resumes. */
void decide_act_switchover_drop(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_name_copy(ret->target, ctx->in->switchover.target);
    memset(&ret->switchover, 0, sizeof(ret->switchover));
    decide_reason_set(ret->reason, "%s", ctx->so_refusal);
}

void decide_act_switchover_start(const struct decide_ctx *ctx, struct decide_result *ret)
{
    memset(&ret->switchover, 0, sizeof(ret->switchover));
    ret->switchover.phase = DECIDE_SWITCHOVER_PHASE_FENCING;
    decide_name_copy(ret->switchover.target, member(ctx, ctx->so_target)->name);
    ret->switchover.started_ms = ctx->in->now_ms;
    decide_name_copy(ret->target, ret->switchover.target);
    decide_reason_set(ret->reason, "switchover %s -> %s: fencing %s", decide_primary_name(ctx),
                      ret->target, decide_primary_name(ctx));
}

void decide_act_switchover_catchup(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char lsn[DECIDE_LSN_TEXT_MAX];

    ret->switchover.phase = DECIDE_SWITCHOVER_PHASE_CATCHUP;
    ret->switchover.fence_lsn = member(ctx, ctx->primary)->current_lsn;
    decide_name_copy(ret->target, ctx->in->switchover.target);
    decide_reason_set(ret->reason, "switchover: %s fenced at %s; %s catching up",
                      decide_primary_name(ctx), decide_lsn_text(ret->switchover.fence_lsn, lsn),
                      ret->target);
}

void decide_act_switchover_promote(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char lsn[DECIDE_LSN_TEXT_MAX];

    decide_promote(ctx, ctx->so_target, ret);
    decide_reason_set(ret->reason, "switchover: %s replayed %s; promoted at epoch %llu",
                      ret->target, decide_lsn_text(ctx->in->switchover.fence_lsn, lsn),
                      (unsigned long long) ret->new_epoch);
}

void decide_act_switchover_wait(const struct decide_ctx *ctx, struct decide_result *ret)
{
    const struct decide_switchover *sw = &ctx->in->switchover;
    char want[DECIDE_LSN_TEXT_MAX], at[DECIDE_LSN_TEXT_MAX];

    decide_name_copy(ret->target, sw->target);
    if (sw->phase == DECIDE_SWITCHOVER_PHASE_FENCING) {
        decide_reason_set(ret->reason, "switchover to %s: waiting for %s to be fenced", sw->target,
                          decide_primary_name(ctx));
        return;
    }
    decide_reason_set(
            ret->reason, "switchover: waiting for %s to replay %s (at %s)", sw->target,
            decide_lsn_text(sw->fence_lsn, want),
            decide_lsn_text(ctx->so_target >= 0 ? member(ctx, ctx->so_target)->replayed_lsn : 0,
                            at));
}

void decide_act_maintenance(const struct decide_ctx *ctx, struct decide_result *ret)
{
    char words[DECIDE_REASON_MAX];

    if (ctx->health == PRIMARY_HEALTH_OK || ctx->health == PRIMARY_HEALTH_NONE) {
        decide_reason_set(ret->reason, "maintenance: automatic actions are off");
        return;
    }
    decide_primary_words(ctx, words);
    decide_reason_set(ret->reason, "maintenance: automatic actions are off (%s)", words);
}

void decide_act_bootstrap_wait(const struct decide_ctx *ctx, struct decide_result *ret)
{
    if (ctx->boot_held) {
        decide_reason_set(ret->reason, "bootstrap: waiting:%s", ctx->why_not);
        return;
    }
    decide_reason_set(ret->reason,
                      "bootstrap: none of %u members has an alive agent and a usable instance",
                      ctx->n);
}

void decide_act_bootstrap(const struct decide_ctx *ctx, struct decide_result *ret)
{
    decide_promote(ctx, ctx->boot, ret);
    decide_reason_set(ret->reason, "bootstrap: %s is the first primary (epoch %llu)", ret->target,
                      (unsigned long long) ret->new_epoch);
}

/*
 * agent/instance.c
 *
 * The instance state machine: see instance.h. instance_decide() first updates the
 * bookkeeping that follows from observation alone (a started instance is RUNNING, a RUNNING
 * one that vanished crashed, hung probes are counted), then walks instance_rules[] and takes
 * the first rule that matches. Rules are ordered by precedence: orders to stop or fence, the
 * self-fencing latch, FAILED, backoff, creation, crash restarts, hangs, role changes,
 * configuration. The row names go into the agent's log line for each action.
 *
 * Layer: core.
 */
#include "agent/instance.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/backoff.h"
#include "common/str.h"

/* One row: when match() holds, take action; reason explains it (WAIT shows it as error). */
struct instance_rule {
    const char *name;
    bool (*match)(const struct instance *inst, const struct instance_facts *f, uint64_t now_ms);
    enum instance_action action;
    const char *reason;
};

const char *instance_action_to_string(enum instance_action v)
{
    switch (v) {
    case INSTANCE_ACTION_NONE:
        return "none";
    case INSTANCE_ACTION_WAIT:
        return "wait";
    case INSTANCE_ACTION_INIT:
        return "init";
    case INSTANCE_ACTION_CLONE:
        return "clone";
    case INSTANCE_ACTION_REBUILD:
        return "rebuild";
    case INSTANCE_ACTION_START:
        return "start";
    case INSTANCE_ACTION_RESTART:
        return "restart";
    case INSTANCE_ACTION_KILL:
        return "kill";
    case INSTANCE_ACTION_PROMOTE:
        return "promote";
    case INSTANCE_ACTION_DEMOTE:
        return "demote";
    case INSTANCE_ACTION_REWIND:
        return "rewind";
    case INSTANCE_ACTION_RELOAD:
        return "reload";
    case INSTANCE_ACTION_STOP:
        return "stop";
    case INSTANCE_ACTION_FENCE:
        return "fence";
    case INSTANCE_ACTION_FAIL:
        return "fail";
    case _INSTANCE_ACTION_MAX:
        break;
    }
    return "unknown";
}

const char *instance_probe_to_string(enum instance_probe v)
{
    switch (v) {
    case INSTANCE_PROBE_NONE:
        return "none";
    case INSTANCE_PROBE_UP:
        return "up";
    case INSTANCE_PROBE_STARTING:
        return "starting";
    case INSTANCE_PROBE_DOWN:
        return "down";
    case INSTANCE_PROBE_HUNG:
        return "hung";
    case INSTANCE_PROBE_ERROR:
        return "error";
    case _INSTANCE_PROBE_MAX:
        break;
    }
    return "unknown";
}

/* ---- predicates over (record, facts, now) ---- */

static bool is_hung(const struct instance *inst, const struct instance_facts *f)
{
    return f->running && f->probe == INSTANCE_PROBE_HUNG &&
           inst->hung_probes >= INSTANCE_HUNG_PROBES;
}

static bool m_unmanaged(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return !f->has_order;
}

static bool m_ordered_fenced(const struct instance *inst, const struct instance_facts *f,
                             uint64_t now)
{
    (void) inst, (void) now;
    return f->order == PROTO_STATE_FENCED;
}

static bool m_ordered_fence_running(const struct instance *inst, const struct instance_facts *f,
                                    uint64_t now)
{
    return m_ordered_fenced(inst, f, now) && f->running;
}

static bool m_ordered_stopped(const struct instance *inst, const struct instance_facts *f,
                              uint64_t now)
{
    (void) inst, (void) now;
    return f->order == PROTO_STATE_STOPPED || f->ctl_stopped;
}

static bool m_ordered_stop_running(const struct instance *inst, const struct instance_facts *f,
                                   uint64_t now)
{
    return m_ordered_stopped(inst, f, now) && f->running;
}

static bool m_self_fence(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) now;
    return f->running && (f->fence || inst->self_fenced);
}

static bool m_stay_fenced(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) f, (void) now;
    return inst->self_fenced;
}

static bool m_failed(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) f, (void) now;
    return inst->state == PROTO_STATE_FAILED;
}

static bool m_ctl_restart(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->ctl_restart && f->running;
}

static bool m_backoff(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) f;
    return now < inst->retry_at_ms;
}

static bool m_no_space(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return !f->data_present && !f->space_ok;
}

static bool m_copy_incomplete(const struct instance *inst, const struct instance_facts *f,
                              uint64_t now)
{
    (void) inst, (void) now;
    return f->copy_incomplete;
}

static bool m_recopy(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->copy_incomplete && f->has_upstream && f->role != PROTO_ROLE_PRIMARY;
}

static bool m_init_primary(const struct instance *inst, const struct instance_facts *f,
                           uint64_t now)
{
    (void) inst, (void) now;
    return !f->data_present && f->role == PROTO_ROLE_PRIMARY;
}

static bool m_clone(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return !f->data_present && f->has_upstream;
}

static bool m_no_data(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return !f->data_present;
}

static bool m_rebuild(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->rebuild_ordered && f->has_upstream && f->role != PROTO_ROLE_PRIMARY;
}

static bool m_restarting(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) now;
    return !f->running && inst->state == PROTO_STATE_RESTARTING;
}

static bool m_restart_maintenance(const struct instance *inst, const struct instance_facts *f,
                                  uint64_t now)
{
    return m_restarting(inst, f, now) && f->maintenance;
}

static bool m_restart_wait(const struct instance *inst, const struct instance_facts *f,
                           uint64_t now)
{
    return m_restarting(inst, f, now) && now < inst->restart_at_ms;
}

static bool m_restart_limit(const struct instance *inst, const struct instance_facts *f,
                            uint64_t now)
{
    return m_restarting(inst, f, now) && !restart_limit_allow(&inst->budget, now);
}

static bool m_rejoin_stopped(const struct instance *inst, const struct instance_facts *f,
                             uint64_t now)
{
    (void) inst, (void) now;
    return !f->running && f->was_primary && f->role != PROTO_ROLE_PRIMARY && f->has_upstream;
}

static bool m_stopped(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return !f->running;
}

static bool m_hung_maintenance(const struct instance *inst, const struct instance_facts *f,
                               uint64_t now)
{
    (void) now;
    return is_hung(inst, f) && f->maintenance;
}

static bool m_hung(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) now;
    return is_hung(inst, f);
}

/* A standby that cannot stream from an upstream that answers. */
static bool is_stuck_standby(const struct instance_facts *f)
{
    return f->running && f->diverged && f->has_upstream && f->role != PROTO_ROLE_PRIMARY;
}

static bool m_resync_failed(const struct instance *inst, const struct instance_facts *f,
                            uint64_t now)
{
    (void) inst, (void) now;
    return is_stuck_standby(f) && f->resync_tries >= INSTANCE_RESYNC_MAX;
}

static bool m_resync_copy(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    /* Not accepting connections (not consistent) or a rewind already tried: a full copy. */
    return is_stuck_standby(f) && (f->probe != INSTANCE_PROBE_UP || f->resync_tries >= 1);
}

static bool m_not_ready(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->probe != INSTANCE_PROBE_UP;
}

static bool m_listen_changed(const struct instance *inst, const struct instance_facts *f,
                             uint64_t now)
{
    (void) inst, (void) now;
    return f->listen_changed;
}

static bool m_standby_ordered_primary(const struct instance_facts *f)
{
    return f->role == PROTO_ROLE_PRIMARY && f->in_recovery;
}

static bool m_promote(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return m_standby_ordered_primary(f) && f->primary_confirmed;
}

static bool m_await_confirmation(const struct instance *inst, const struct instance_facts *f,
                                 uint64_t now)
{
    (void) inst, (void) now;
    return m_standby_ordered_primary(f);
}

static bool m_demote(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->role != PROTO_ROLE_PRIMARY && !f->in_recovery;
}

static bool m_rejoin(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->role != PROTO_ROLE_PRIMARY && f->has_upstream && (f->was_primary || f->diverged);
}

static bool m_reload(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) now;
    return f->config_stale;
}

static bool m_steady(const struct instance *inst, const struct instance_facts *f, uint64_t now)
{
    (void) inst, (void) f, (void) now;
    return true;
}

/* First match wins. Rows that need a running instance come after the "stopped" rows. */
static const struct instance_rule instance_rules[] = {
        /* Self-fencing first: it also guards a primary adopted before any order arrived
         * (an agent restarted while its node is cut off). */
        {"self-fence", m_self_fence, INSTANCE_ACTION_FENCE,
         "isolated: neither the arbiter nor a standby heard within the lost timeout"},
        {"stay-fenced", m_stay_fenced, INSTANCE_ACTION_NONE,
         "self-fenced until the arbiter is heard again"},
        {"unmanaged", m_unmanaged, INSTANCE_ACTION_NONE, "not in the desired state"},
        {"ordered-fence", m_ordered_fence_running, INSTANCE_ACTION_FENCE, "fenced by order"},
        {"ordered-fenced", m_ordered_fenced, INSTANCE_ACTION_NONE, "fenced by order"},
        {"ordered-stop", m_ordered_stop_running, INSTANCE_ACTION_STOP, "stopped by order"},
        {"ordered-stopped", m_ordered_stopped, INSTANCE_ACTION_NONE, "stopped by order"},
        {"failed", m_failed, INSTANCE_ACTION_NONE, "failed: waiting for a new order"},
        {"ctl-restart", m_ctl_restart, INSTANCE_ACTION_RESTART, "restart by the operator"},
        {"backoff", m_backoff, INSTANCE_ACTION_WAIT, "waiting before retrying a failed action"},
        {"no-space", m_no_space, INSTANCE_ACTION_WAIT,
         "not enough free space for the requested storage"},
        {"recopy", m_recopy, INSTANCE_ACTION_REBUILD,
         "the last copy into the data directory did not complete: copy again"},
        {"recopy-await", m_copy_incomplete, INSTANCE_ACTION_WAIT,
         "the last copy into the data directory did not complete; no upstream to copy from"},
        {"init-primary", m_init_primary, INSTANCE_ACTION_INIT, "first primary: initdb"},
        {"clone", m_clone, INSTANCE_ACTION_CLONE, "new standby: base backup from the upstream"},
        {"await-upstream", m_no_data, INSTANCE_ACTION_WAIT,
         "no data directory and no upstream to copy it from"},
        {"rebuild", m_rebuild, INSTANCE_ACTION_REBUILD, "rebuild ordered"},
        {"restart-maintenance", m_restart_maintenance, INSTANCE_ACTION_WAIT,
         "crashed; maintenance: no automatic restart"},
        {"restart-limit", m_restart_limit, INSTANCE_ACTION_FAIL,
         "restart limit reached within the window"},
        {"restart-backoff", m_restart_wait, INSTANCE_ACTION_WAIT, "crashed; restart backoff"},
        {"rejoin-stopped", m_rejoin_stopped, INSTANCE_ACTION_REWIND,
         "former primary ordered to follow: rewind first"},
        {"restart", m_restarting, INSTANCE_ACTION_RESTART, "crash restart"},
        {"start", m_stopped, INSTANCE_ACTION_START, "not running"},
        {"hung-maintenance", m_hung_maintenance, INSTANCE_ACTION_WAIT,
         "hung; maintenance: no automatic restart"},
        {"hung", m_hung, INSTANCE_ACTION_KILL, "hung: no answer within the probe budget"},
        {"resync-failed", m_resync_failed, INSTANCE_ACTION_FAIL,
         "cannot stream from the upstream after a rewind and full copies"},
        {"resync-copy", m_resync_copy, INSTANCE_ACTION_REBUILD,
         "standby cannot stream from its upstream (diverged or its WAL is gone there): full "
         "copy"},
        {"not-ready", m_not_ready, INSTANCE_ACTION_NONE, "not accepting connections"},
        {"listen-changed", m_listen_changed, INSTANCE_ACTION_RESTART,
         "listen address or port changed"},
        {"promote", m_promote, INSTANCE_ACTION_PROMOTE, "ordered primary"},
        {"await-confirmation", m_await_confirmation, INSTANCE_ACTION_WAIT,
         "primary order not confirmed by the arbiter within the lost timeout"},
        {"demote", m_demote, INSTANCE_ACTION_DEMOTE, "ordered standby while primary"},
        {"rejoin", m_rejoin, INSTANCE_ACTION_REWIND,
         "diverged or former primary: rewind from the upstream"},
        {"reload", m_reload, INSTANCE_ACTION_RELOAD, "configuration changed"},
        {"steady", m_steady, INSTANCE_ACTION_NONE, "in its ordered role"},
};

int instance_rules_check(void)
{
    size_t n = sizeof(instance_rules) / sizeof(instance_rules[0]);

    for (size_t i = 0; i < n; i++) {
        const struct instance_rule *r = &instance_rules[i];
        if (!r->name || !r->name[0] || !r->match || !r->reason ||
            r->action >= _INSTANCE_ACTION_MAX) {
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(instance_rules[j].name, r->name) == 0) {
                return -EINVAL;
            }
        }
    }
    /* The last row must catch everything, so instance_decide always finds one. */
    return instance_rules[n - 1].match == m_steady ? 0 : -EINVAL;
}

/* ---- record ---- */

void instance_init(struct instance *inst, uint32_t limit, uint64_t window_ms)
{
    memset(inst, 0, sizeof(*inst));
    inst->state = PROTO_STATE_STOPPED;
    restart_limit_init(&inst->budget, limit, window_ms);
}

void instance_set_state(struct instance *inst, enum proto_state state, const char *reason)
{
    if (inst->state == state) {
        return;
    }
    inst->state = state;
    inst->changed = true;
    (void) str_copy(inst->reason, sizeof(inst->reason), reason ? reason : "");
}

void instance_set_error(struct instance *inst, const char *text)
{
    (void) str_copy(inst->last_error, sizeof(inst->last_error), text ? text : "");
}

uint32_t instance_restarts(const struct instance *inst, uint64_t now_ms)
{
    return restart_limit_count(&inst->budget, now_ms);
}

void instance_reset(struct instance *inst, const char *reason)
{
    restart_limit_reset(&inst->budget);
    inst->restart_at_ms = 0;
    inst->retry_at_ms = 0;
    inst->failures = 0;
    inst->hung_probes = 0;
    inst->self_fenced = false;
    if (inst->state == PROTO_STATE_FAILED || inst->state == PROTO_STATE_FENCED ||
        inst->state == PROTO_STATE_RESTARTING) {
        instance_set_state(inst, PROTO_STATE_STOPPED, reason);
    }
    instance_set_error(inst, NULL);
}

void instance_note_arbiter(struct instance *inst, uint64_t arbiter_ok_ms)
{
    if (!inst->self_fenced || arbiter_ok_ms <= inst->fenced_at_ms) {
        return;
    }
    inst->self_fenced = false;
    instance_set_state(inst, PROTO_STATE_STOPPED, "arbiter heard again after self-fencing");
}

/* Delay before the next crash restart: 0.5 s, 1 s, 2 s, ... by restarts in the window. */
static uint64_t instance_restart_delay(const struct instance *inst, uint64_t now_ms)
{
    return backoff_delay_ms(restart_limit_count(&inst->budget, now_ms), INSTANCE_BACKOFF_BASE_MS,
                            INSTANCE_BACKOFF_CAP_MS, 0, 0);
}

/* Crashed or killed: restart after backoff (the restart itself is counted). */
static void instance_schedule_restart(struct instance *inst, uint64_t now_ms, const char *reason)
{
    inst->restart_at_ms = now_ms + instance_restart_delay(inst, now_ms);
    instance_set_state(inst, PROTO_STATE_RESTARTING, reason);
}

/* What observation alone tells, before any rule. */
static void instance_observe(struct instance *inst, const struct instance_facts *f, uint64_t now_ms)
{
    if (f->running && f->probe == INSTANCE_PROBE_HUNG) {
        inst->hung_probes++;
    } else {
        inst->hung_probes = 0;
    }
    if (!f->has_order) {
        /* FAILED (remembered from an earlier run) stays until an order or ctl start. */
        if (inst->self_fenced || inst->state == PROTO_STATE_FAILED) {
            return;
        }
        instance_set_state(inst,
                           !f->running                           ? PROTO_STATE_STOPPED
                           : f->probe == INSTANCE_PROBE_STARTING ? PROTO_STATE_RESTARTING
                                                                 : PROTO_STATE_RUNNING,
                           "observed without an order");
        return;
    }
    restart_limit_configure(&inst->budget, f->restart_limit, f->restart_window_ms);
    if (f->running && f->probe == INSTANCE_PROBE_UP &&
        (inst->state == PROTO_STATE_RESTARTING || inst->state == PROTO_STATE_CREATING ||
         inst->state == PROTO_STATE_REBUILDING || inst->state == PROTO_STATE_STOPPED) &&
        !inst->self_fenced && f->order == PROTO_STATE_RUNNING && !f->ctl_stopped) {
        instance_set_state(inst, PROTO_STATE_RUNNING, "accepting connections");
        return;
    }
    if (f->running && f->probe == INSTANCE_PROBE_STARTING && inst->state == PROTO_STATE_STOPPED &&
        !inst->self_fenced && f->order == PROTO_STATE_RUNNING && !f->ctl_stopped) {
        instance_set_state(inst, PROTO_STATE_RESTARTING, "starting: not yet accepting connections");
        return;
    }
    if (!f->running && inst->state == PROTO_STATE_RUNNING && f->order == PROTO_STATE_RUNNING &&
        !f->ctl_stopped) {
        instance_schedule_restart(inst, now_ms, "crashed: the postmaster is gone");
        instance_set_error(inst, f->maintenance ? "crashed; maintenance: no automatic restart"
                                                : "crashed: the postmaster is gone");
    }
}

/* The state shown while the action runs. */
static enum proto_state instance_doing(enum instance_action a, enum proto_state current)
{
    switch (a) {
    case INSTANCE_ACTION_INIT:
    case INSTANCE_ACTION_CLONE:
        return PROTO_STATE_CREATING;
    case INSTANCE_ACTION_REBUILD:
    case INSTANCE_ACTION_REWIND:
    case INSTANCE_ACTION_DEMOTE:
        return PROTO_STATE_REBUILDING;
    case INSTANCE_ACTION_RESTART:
    case INSTANCE_ACTION_KILL:
        return PROTO_STATE_RESTARTING;
    case INSTANCE_ACTION_NONE:
    case INSTANCE_ACTION_WAIT:
    case INSTANCE_ACTION_START:
    case INSTANCE_ACTION_PROMOTE:
    case INSTANCE_ACTION_RELOAD:
    case INSTANCE_ACTION_STOP:
    case INSTANCE_ACTION_FENCE:
    case INSTANCE_ACTION_FAIL:
    case _INSTANCE_ACTION_MAX:
        break;
    }
    return current;
}

void instance_decide(struct instance *inst, const struct instance_facts *f, uint64_t now_ms,
                     struct instance_plan *ret)
{
    size_t n = sizeof(instance_rules) / sizeof(instance_rules[0]);
    const struct instance_rule *rule = &instance_rules[n - 1];
    struct instance_plan p = {0};

    instance_observe(inst, f, now_ms);
    for (size_t i = 0; i < n; i++) {
        if (instance_rules[i].match(inst, f, now_ms)) {
            rule = &instance_rules[i];
            break;
        }
    }
    p.action = rule->action;
    p.rule = rule->name;
    p.reason = rule->reason;
    /* Writable only on a confirmed primary order, and only a data directory that last ran
     * as a primary: anything else starts as a standby, idle when the order is primary. */
    p.as_primary = f->role == PROTO_ROLE_PRIMARY && f->was_primary && f->primary_confirmed;
    p.follow = !p.as_primary && f->role != PROTO_ROLE_PRIMARY && f->has_upstream;
    p.counted = p.action == INSTANCE_ACTION_RESTART && rule->match == m_restarting;
    p.doing = instance_doing(p.action, inst->state);
    *ret = p;
}

/* A failed creation or role change: back off; too many role-change failures: FAILED. */
static void instance_failed_action(struct instance *inst, const struct instance_plan *plan,
                                   uint64_t now_ms)
{
    bool role_change =
            plan->action == INSTANCE_ACTION_PROMOTE || plan->action == INSTANCE_ACTION_DEMOTE ||
            plan->action == INSTANCE_ACTION_REWIND || plan->action == INSTANCE_ACTION_REBUILD;

    inst->failures++;
    inst->retry_at_ms = now_ms + backoff_delay_ms(inst->failures - 1, INSTANCE_BACKOFF_BASE_MS,
                                                  INSTANCE_BACKOFF_CAP_MS, 0, 0);
    if (role_change && inst->failures >= INSTANCE_ROLE_FAILURES) {
        instance_set_state(inst, PROTO_STATE_FAILED,
                           plan->action == INSTANCE_ACTION_REBUILD
                                   ? "copy from the upstream failed repeatedly"
                                   : "role change failed repeatedly");
    } else if (plan->action == INSTANCE_ACTION_INIT || plan->action == INSTANCE_ACTION_CLONE) {
        instance_set_state(inst, PROTO_STATE_CREATING, "creation failed; will retry");
    }
}

static void instance_succeeded(struct instance *inst, const struct instance_plan *plan,
                               uint64_t now_ms)
{
    switch (plan->action) {
    case INSTANCE_ACTION_KILL:
        instance_schedule_restart(inst, now_ms, "hung instance killed");
        /* Detecting the hang took INSTANCE_HUNG_PROBES probe budgets already: the first
         * restart in the window follows at once, later ones back off as crashes do. */
        if (restart_limit_count(&inst->budget, now_ms) == 0) {
            inst->restart_at_ms = now_ms;
        }
        return;
    case INSTANCE_ACTION_STOP:
        instance_set_state(inst, PROTO_STATE_STOPPED, plan->reason);
        break;
    case INSTANCE_ACTION_FENCE:
        if (strcmp(plan->rule, "self-fence") == 0 && !inst->self_fenced) {
            inst->self_fenced = true;
            inst->fenced_at_ms = now_ms;
        }
        instance_set_state(inst, PROTO_STATE_FENCED, plan->reason);
        instance_set_error(inst, inst->self_fenced ? plan->reason : NULL);
        return;
    case INSTANCE_ACTION_FAIL:
        instance_set_state(inst, PROTO_STATE_FAILED, plan->reason);
        instance_set_error(inst, plan->reason);
        return;
    case INSTANCE_ACTION_INIT:
    case INSTANCE_ACTION_CLONE:
    case INSTANCE_ACTION_REBUILD:
    case INSTANCE_ACTION_START:
    case INSTANCE_ACTION_RESTART:
    case INSTANCE_ACTION_PROMOTE:
    case INSTANCE_ACTION_DEMOTE:
    case INSTANCE_ACTION_REWIND:
        instance_set_state(inst, PROTO_STATE_RUNNING, plan->reason);
        break;
    case INSTANCE_ACTION_RELOAD:
    case INSTANCE_ACTION_NONE:
    case INSTANCE_ACTION_WAIT:
    case _INSTANCE_ACTION_MAX:
        break;
    }
    inst->failures = 0;
    inst->retry_at_ms = 0;
    instance_set_error(inst, NULL);
}

void instance_done(struct instance *inst, const struct instance_plan *plan, int r,
                   const char *error, uint64_t now_ms)
{
    if (plan->action == INSTANCE_ACTION_WAIT) {
        bool keep = (strcmp(plan->rule, "backoff") == 0 ||
                     strcmp(plan->rule, "restart-backoff") == 0) &&
                    inst->last_error[0];

        /* While backing off, the error that caused it stays the one shown. */
        if (!keep) {
            instance_set_error(inst, error && error[0] ? error : plan->reason);
        }
        if (strcmp(plan->rule, "no-space") == 0 || strcmp(plan->rule, "await-upstream") == 0) {
            instance_set_state(inst, PROTO_STATE_CREATING, plan->reason);
        }
        return;
    }
    if (plan->action == INSTANCE_ACTION_NONE) {
        if (strcmp(plan->rule, "steady") == 0) {
            instance_set_error(inst, NULL);
        } else if (strcmp(plan->rule, "ordered-fenced") == 0) {
            instance_set_state(inst, PROTO_STATE_FENCED, plan->reason);
        } else if (strcmp(plan->rule, "ordered-stopped") == 0) {
            instance_set_state(inst, PROTO_STATE_STOPPED, plan->reason);
        } else if (strcmp(plan->rule, "stay-fenced") == 0) {
            instance_set_state(inst, PROTO_STATE_FENCED, plan->reason);
        }
        return;
    }
    if (plan->counted) {
        restart_limit_record(&inst->budget, now_ms);
    }
    if (r == 0) {
        instance_succeeded(inst, plan, now_ms);
        return;
    }
    if (r == -EINPROGRESS) {
        /* Started, but its start wait ran out: starting, until the probe says it is up. */
        instance_succeeded(inst, plan, now_ms);
        if (inst->state == PROTO_STATE_RUNNING) {
            instance_set_state(inst, PROTO_STATE_RESTARTING,
                               "starting: not yet accepting connections");
        }
        return;
    }
    instance_set_error(inst, error && error[0] ? error : plan->reason);
    switch (plan->action) {
    case INSTANCE_ACTION_START:
    case INSTANCE_ACTION_RESTART:
        /* A start that fails is one more crash: the budget decides. */
        instance_schedule_restart(inst, now_ms, "start failed");
        break;
    default:
        instance_failed_action(inst, plan, now_ms);
        break;
    }
}

/* ---- what survives an agent restart ---- */

void instance_memo_save(const struct instance *inst, uint64_t now_ms, uint64_t wall_ms,
                        struct instance_memo *ret)
{
    struct instance_memo m;

    memset(&m, 0, sizeof(m));
    for (uint32_t i = 0; i < inst->budget.n && i < RESTART_LIMIT_MAX; i++) {
        uint64_t at = inst->budget.at_ms[i];
        uint64_t age = now_ms > at ? now_ms - at : 0;

        m.restart_wall_ms[m.n_restarts++] = wall_ms > age ? wall_ms - age : 0;
    }
    m.failed = inst->state == PROTO_STATE_FAILED;
    m.self_fenced = inst->self_fenced;
    m.was_running = inst->state == PROTO_STATE_RUNNING;
    if (m.failed) {
        (void) str_copy(m.reason, sizeof(m.reason), inst->last_error);
    }
    *ret = m;
}

void instance_memo_load(struct instance *inst, const struct instance_memo *m, uint64_t now_ms,
                        uint64_t wall_ms)
{
    inst->budget.n = 0;
    for (uint32_t i = 0; i < m->n_restarts && i < RESTART_LIMIT_MAX; i++) {
        uint64_t at = m->restart_wall_ms[i];
        uint64_t age;

        if (at == 0 || at > wall_ms) {
            continue; /* unknown, or from a clock that went back: forgotten */
        }
        age = wall_ms - at;
        if (age > now_ms) {
            continue; /* before this boot: the instance did not run through it */
        }
        inst->budget.at_ms[inst->budget.n++] = now_ms - age;
    }
    if (m->self_fenced) {
        inst->self_fenced = true;
        inst->fenced_at_ms = now_ms;
        instance_set_state(inst, PROTO_STATE_FENCED, "self-fenced before the agent restarted");
        instance_set_error(inst, "self-fenced before the agent restarted");
    } else if (m->failed) {
        instance_set_state(inst, PROTO_STATE_FAILED, "failed before the agent restarted");
        instance_set_error(inst, m->reason[0] ? m->reason : "failed before the agent restarted");
    } else if (m->was_running) {
        instance_set_state(inst, PROTO_STATE_RUNNING, "running before the agent restarted");
    }
}

/*
 * arbiter/decide.c
 *
 * The failover decision for one site: first the facts every rule needs are computed once
 * (liveness, the primary's health, the highest timeline, the stale primary, the bootstrap,
 * failover, manual and switchover choices with the reasons against each member; those
 * choices live in decide_pick.c), in the spirit of pg_auto_failover's
 * BuildGroupStateContext. When the agents hold a higher epoch than the store, the facts are
 * computed on the input rewritten at that epoch (adoption). Then the rule table is walked and
 * the first matching row's action writes the next stored state (the rows' predicates and
 * actions live in the rule groups decide_rules_control.c and decide_rules_failover.c; the
 * table, and so the order, is here); last, every member's desired state and the synchronous
 * set are derived from that state. The semantics and the safety rules are described in
 * decide.h; this file only implements them.
 *
 * Layer: core
 */
#include "arbiter/decide.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arbiter/decide_int.h"
#include "common/str.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

typedef bool (*decide_predicate_fn)(const struct decide_ctx *ctx);
typedef void (*decide_action_fn)(const struct decide_ctx *ctx, struct decide_result *ret);

/* One row: when predicate holds (and no earlier row did), action writes the decision. */
struct decide_rule {
    const char *id;
    const char *name;
    decide_predicate_fn predicate;
    enum decide_verdict verdict;
    decide_action_fn action;
};

void decide_reason_set(char *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf, DECIDE_REASON_MAX, fmt, ap);
    va_end(ap);
}

void decide_reason_append(char *buf, const char *fmt, ...)
{
    size_t len = strnlen(buf, DECIDE_REASON_MAX - 1);
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf + len, DECIDE_REASON_MAX - len, fmt, ap);
    va_end(ap);
}

const char *decide_lsn_text(uint64_t lsn, char buf[DECIDE_LSN_TEXT_MAX])
{
    str_format_lsn(lsn, buf, DECIDE_LSN_TEXT_MAX);
    return buf;
}

/* Copies a possibly unterminated name field, zero-padded. */
void decide_name_copy(char dst[PROTO_NAME_MAX + 1], const char src[PROTO_NAME_MAX + 1])
{
    size_t len = strnlen(src, PROTO_NAME_MAX);

    memset(dst, 0, PROTO_NAME_MAX + 1);
    memcpy(dst, src, len);
}

int decide_find_member(const struct decide_ctx *ctx, const char *name)
{
    for (uint32_t i = 0; i < ctx->n && !str_is_empty(name); i++) {
        if (str_eq(ctx->in->members[i].name, name)) {
            return (int) i;
        }
    }
    return -1;
}

const char *decide_primary_name(const struct decide_ctx *ctx)
{
    return str_is_empty(ctx->in->primary) ? "(none)" : ctx->in->primary;
}

/* A primary in any state but these might take writes. */
static bool member_may_write(const struct decide_member *m)
{
    return m->role == PROTO_ROLE_PRIMARY && m->state != PROTO_STATE_STOPPED &&
           m->state != PROTO_STATE_FAILED && m->state != PROTO_STATE_FENCED &&
           m->state != PROTO_STATE_LOST && m->state != PROTO_STATE_REBUILDING;
}

bool decide_switchover_is_running(const struct decide_input *in)
{
    return in->switchover.phase == DECIDE_SWITCHOVER_PHASE_FENCING ||
           in->switchover.phase == DECIDE_SWITCHOVER_PHASE_CATCHUP;
}

/* ---- input validation (R01) ---------------------------------------------------------- */

static bool member_is_valid(const struct decide_input *in, uint32_t i, char *why)
{
    const struct decide_member *m = &in->members[i];
    bool is_primary;

    if (!TERMINATED(m->name) || !TERMINATED(m->node) || str_is_empty(m->name)) {
        decide_reason_set(why, "member %u has an empty or unterminated name", i);
        return false;
    }
    if ((unsigned) m->role >= _PROTO_ROLE_MAX || (unsigned) m->assigned >= _PROTO_ROLE_MAX ||
        (unsigned) m->state >= _PROTO_STATE_MAX) {
        decide_reason_set(why, "member %s has an unknown role or state value", m->name);
        return false;
    }
    for (uint32_t j = 0; j < i; j++) {
        if (str_eq(in->members[j].name, m->name)) {
            decide_reason_set(why, "member %s listed twice", m->name);
            return false;
        }
    }
    is_primary = str_eq(m->name, in->primary);
    if (is_primary != (m->assigned == PROTO_ROLE_PRIMARY) || m->assigned == PROTO_ROLE_LEADER) {
        decide_reason_set(why, "member %s is assigned %s but the stored primary is %s", m->name,
                          proto_role_to_string(m->assigned),
                          str_is_empty(in->primary) ? "(none)" : in->primary);
        return false;
    }
    return true;
}

static bool input_is_valid(const struct decide_input *in, char *why)
{
    bool bad_sync;

    if (in->n_members > DECIDE_MAX_MEMBERS) {
        decide_reason_set(why, "%u members, more than %d", in->n_members, DECIDE_MAX_MEMBERS);
        return false;
    }
    if (!TERMINATED(in->primary) || !TERMINATED(in->switchover.target) ||
        !TERMINATED(in->manual.target) || in->policy.lost_timeout_ms == 0 ||
        in->epoch == UINT64_MAX || (in->epoch == 0 && !str_is_empty(in->primary)) ||
        (unsigned) in->switchover.phase >= _DECIDE_SWITCHOVER_PHASE_MAX) {
        decide_reason_set(why, "bad name, losttimeout 0, epoch exhausted or a primary at epoch 0, "
                               "or unknown switchover phase");
        return false;
    }
    bad_sync = in->sync.n_names > PROTO_MAX_SYNC || in->sync.num > in->sync.n_names;
    for (uint32_t s = 0; !bad_sync && s < in->sync.n_names; s++) {
        bad_sync = !TERMINATED(in->sync.names[s]);
    }
    if (bad_sync) {
        decide_reason_set(why, "bad synchronous set (ANY %u over %u names)", in->sync.num,
                          in->sync.n_names);
        return false;
    }
    for (uint32_t i = 0; i < in->n_members; i++) {
        if (!member_is_valid(in, i, why)) {
            return false;
        }
    }
    return true;
}

/* ---- facts --------------------------------------------------------------------------- */

static enum primary_health primary_health(const struct decide_ctx *ctx)
{
    const struct decide_member *m;

    if (ctx->in->epoch == 0) {
        return PRIMARY_HEALTH_NONE;
    }
    if (ctx->primary < 0) {
        return PRIMARY_HEALTH_MISSING;
    }
    m = member(ctx, ctx->primary);
    if (!ctx->alive[ctx->primary]) {
        return PRIMARY_HEALTH_LOST;
    }
    if (m->state == PROTO_STATE_FAILED ||
        (m->state == PROTO_STATE_RESTARTING && m->restarts > ctx->in->policy.restart_limit)) {
        return PRIMARY_HEALTH_FAILED;
    }
    if (m->state == PROTO_STATE_RUNNING && m->role == PROTO_ROLE_PRIMARY) {
        return PRIMARY_HEALTH_OK;
    }
    return PRIMARY_HEALTH_BUSY;
}

/* "primary demo-0 failed", "... silent for 6000 ms", ... for reasons. */
void decide_primary_words(const struct decide_ctx *ctx, char *buf)
{
    const struct decide_member *m = ctx->primary >= 0 ? member(ctx, ctx->primary) : NULL;

    if (!m) {
        decide_reason_set(buf, "primary %s is not a member", decide_primary_name(ctx));
    } else if (ctx->health == PRIMARY_HEALTH_LOST && !m->reported) {
        decide_reason_set(buf, "primary %s never reported", m->name);
    } else if (ctx->health == PRIMARY_HEALTH_LOST) {
        decide_reason_set(buf, "primary %s silent for %llu ms", m->name,
                          (unsigned long long) sat_sub(ctx->in->now_ms, m->last_seen_ms));
    } else {
        decide_reason_set(buf, "primary %s %s (%u restarts)", m->name,
                          proto_state_to_string(m->state), m->restarts);
    }
}

static void ctx_scan(struct decide_ctx *ctx)
{
    if (ctx->primary >= 0) {
        ctx->ref_timeline = member(ctx, ctx->primary)->timeline;
    }
    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);

        if (!ctx->alive[i] || i == ctx->primary) {
            continue;
        }
        if (m->timeline > ctx->ref_timeline) {
            ctx->ref_timeline = m->timeline;
        }
        if (m->streaming && m->role == PROTO_ROLE_STANDBY && ctx->n_feeding++ == 0) {
            ctx->feeding = i;
        }
        if (member_may_write(m) && ctx->stale < 0) {
            ctx->stale = i;
        }
    }
}

static void ctx_facts(struct decide_ctx *ctx)
{
    const struct decide_input *in = ctx->in;
    const struct decide_policy *p = &in->policy;

    for (int i = 0; i < (int) ctx->n; i++) {
        ctx->alive[i] = decide_is_alive(member(ctx, i), in->now_ms, p->lost_timeout_ms);
    }
    ctx->primary = decide_find_member(ctx, in->primary);
    ctx->health = primary_health(ctx);
    ctx_scan(ctx);
    if (ctx->health == PRIMARY_HEALTH_NONE) {
        decide_pick_bootstrap(ctx);
    }
    if (health_is_down(ctx->health)) {
        ctx->candidate = p->sync_replicas > 0 ? decide_pick_sync(ctx) : decide_pick_async(ctx);
    }
    if (in->manual.requested) {
        ctx->manual = decide_pick_manual(ctx);
    }
    if (in->switchover.phase == DECIDE_SWITCHOVER_PHASE_REQUESTED) {
        ctx->so_target = decide_pick_switchover(ctx);
    } else if (decide_switchover_is_running(in)) {
        ctx->so_target = decide_find_member(ctx, in->switchover.target);
        decide_pick_switchover_abort(ctx);
    }
    syncnames_compute(in, in->primary, &ctx->steady_sync);
}

static void ctx_build(const struct decide_input *in, struct decide_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->in = in;
    ctx->stored_epoch = in->epoch;
    ctx->primary = ctx->feeding = ctx->stale = -1;
    ctx->claims[0] = ctx->claims[1] = ctx->adopt_wait = -1;
    ctx->boot = ctx->candidate = ctx->manual = ctx->so_target = -1;
    ctx->valid = input_is_valid(in, ctx->invalid);
    if (!ctx->valid) {
        return;
    }
    ctx->n = in->n_members;
    decide_pick_adoption(ctx);
    if (ctx->n_claims > 1 || ctx->adopt_wait >= 0) {
        return; /* R02 refuses, R02b waits: no orders, nothing else is needed */
    }
    if (ctx->adopting) {
        decide_pick_adopted_input(ctx, &ctx->adopted);
        ctx->in = &ctx->adopted;
    }
    ctx_facts(ctx);
}

/* Makes member i the primary at the next epoch; any switchover is over. */
void decide_promote(const struct decide_ctx *ctx, int i, struct decide_result *ret)
{
    decide_name_copy(ret->primary, member(ctx, i)->name);
    decide_name_copy(ret->target, member(ctx, i)->name);
    ret->new_epoch = ctx->in->epoch + 1;
    memset(&ret->switchover, 0, sizeof(ret->switchover));
}

/* The rules, first match wins; ids are stored with every decision, never reuse one. */
static const struct decide_rule decide_rules[] = {
        {"R01", "input-invalid", decide_pred_invalid, DECIDE_VERDICT_REFUSE, decide_act_invalid},
        {"R02", "epoch-conflict", decide_pred_epoch_conflict, DECIDE_VERDICT_REFUSE,
         decide_act_epoch_conflict},
        {"R02a", "epoch-adopt", decide_pred_epoch_adopt, DECIDE_VERDICT_ADOPT,
         decide_act_epoch_adopt},
        {"R02b", "epoch-adopt-wait", decide_pred_epoch_adopt_wait, DECIDE_VERDICT_WAIT,
         decide_act_epoch_adopt_wait},
        {"R03", "manual-failover-refused", decide_pred_manual_refused, DECIDE_VERDICT_REFUSE,
         decide_act_manual_refused},
        {"R04", "manual-failover", decide_pred_manual, DECIDE_VERDICT_MANUAL_FAILOVER,
         decide_act_manual},
        {"R05", "switchover-refused", decide_pred_switchover_refused, DECIDE_VERDICT_REFUSE,
         decide_act_switchover_drop},
        {"R06", "stale-primary", decide_pred_stale, DECIDE_VERDICT_FENCE_STALE_PRIMARY,
         decide_act_stale},
        {"R07", "switchover-start", decide_pred_switchover_start, DECIDE_VERDICT_SWITCHOVER_FENCE,
         decide_act_switchover_start},
        {"R08", "switchover-abort", decide_pred_switchover_abort, DECIDE_VERDICT_SWITCHOVER_ABORT,
         decide_act_switchover_drop},
        {"R09", "switchover-fenced", decide_pred_switchover_catchup,
         DECIDE_VERDICT_SWITCHOVER_CATCHUP, decide_act_switchover_catchup},
        {"R10", "switchover-promote", decide_pred_switchover_promote,
         DECIDE_VERDICT_SWITCHOVER_PROMOTE, decide_act_switchover_promote},
        {"R11", "switchover-wait", decide_pred_switchover_wait, DECIDE_VERDICT_WAIT,
         decide_act_switchover_wait},
        {"R12", "maintenance", decide_pred_maintenance, DECIDE_VERDICT_NONE,
         decide_act_maintenance},
        {"R13", "bootstrap-wait", decide_pred_bootstrap_wait, DECIDE_VERDICT_WAIT,
         decide_act_bootstrap_wait},
        {"R14", "bootstrap", decide_pred_bootstrap, DECIDE_VERDICT_BOOTSTRAP, decide_act_bootstrap},
        {"R15", "primary-still-streams", decide_pred_primary_streams, DECIDE_VERDICT_WAIT,
         decide_act_primary_streams},
        {"R16", "no-candidate", decide_pred_no_candidate, DECIDE_VERDICT_WAIT,
         decide_act_no_candidate},
        {"R17", "failover", decide_pred_failover, DECIDE_VERDICT_FAILOVER, decide_act_failover},
        {"R18", "primary-not-ready", decide_pred_primary_busy, DECIDE_VERDICT_WAIT,
         decide_act_primary_busy},
        {"R19", "assign", decide_pred_assign, DECIDE_VERDICT_ASSIGN, decide_act_assign},
        {"R20", "sync-names", decide_pred_sync, DECIDE_VERDICT_SET_SYNC, decide_act_sync},
        {"R21", "steady", decide_pred_always, DECIDE_VERDICT_NONE, decide_act_steady},
};

/* ---- the result ---------------------------------------------------------------------- */

/*
 * Desired states from the next stored state (decide.h); before bootstrap, wait (UNKNOWN).
 * A rebuild is allowed only from a new or a still serving primary: while the primary is down
 * a failed standby may hold the only copy of acknowledged commits.
 */
static void plan_members(const struct decide_ctx *ctx, struct decide_result *ret)
{
    bool fencing = ret->switchover.phase == DECIDE_SWITCHOVER_PHASE_FENCING ||
                   ret->switchover.phase == DECIDE_SWITCHOVER_PHASE_CATCHUP;
    bool upstream_ok = !str_eq(ret->primary, ctx->in->primary) || !health_is_down(ctx->health);

    for (int i = 0; i < (int) ctx->n; i++) {
        const struct decide_member *m = member(ctx, i);
        struct decide_desired *d = &ret->members[i];

        decide_name_copy(d->name, m->name);
        if (ret->new_epoch == 0) {
            d->state = member_may_write(m) ? PROTO_STATE_FENCED : PROTO_STATE_UNKNOWN;
        } else if (str_eq(m->name, ret->primary)) {
            d->role = PROTO_ROLE_PRIMARY;
            d->state = fencing ? PROTO_STATE_FENCED : PROTO_STATE_RUNNING;
        } else {
            d->role = PROTO_ROLE_STANDBY;
            decide_name_copy(d->upstream, ret->primary);
            d->state = member_may_write(m) ? PROTO_STATE_FENCED : PROTO_STATE_RUNNING;
            d->rebuild = upstream_ok &&
                         (m->role == PROTO_ROLE_PRIMARY || m->state == PROTO_STATE_FAILED);
        }
    }
    ret->n_members = ctx->n;
    syncnames_compute(ctx->in, ret->primary, &ret->sync);
}

static bool switchover_equal(const struct decide_switchover *a, const struct decide_switchover *b)
{
    return a->phase == b->phase && str_eq(a->target, b->target) && a->started_ms == b->started_ms &&
           a->fence_lsn == b->fence_lsn;
}

static bool result_changes(const struct decide_input *in, const struct decide_result *ret)
{
    if (ret->new_epoch != in->epoch || !str_eq(ret->primary, in->primary) ||
        !switchover_equal(&ret->switchover, &in->switchover) ||
        !syncnames_equal(&ret->sync, &in->sync)) {
        return true;
    }
    for (uint32_t i = 0; i < ret->n_members; i++) {
        if (ret->members[i].role != in->members[i].assigned) {
            return true;
        }
    }
    return false;
}

void decide_failover(const struct decide_input *in, struct decide_result *ret)
{
    struct decide_ctx ctx;
    const struct decide_rule *rule = &decide_rules[ARRAY_SIZE(decide_rules) - 1];

    memset(ret, 0, sizeof(*ret));
    ctx_build(in, &ctx);
    /* Start from the stored state; an invalid input is mirrored as it is, unchanged. */
    ret->new_epoch = in->epoch;
    decide_name_copy(ret->primary, in->primary);
    memcpy(&ret->switchover, &in->switchover, sizeof(ret->switchover));
    decide_name_copy(ret->switchover.target, in->switchover.target);
    memcpy(&ret->sync, &in->sync, sizeof(ret->sync));
    for (size_t i = 0; i < ARRAY_SIZE(decide_rules); i++) {
        if (decide_rules[i].predicate(&ctx)) {
            rule = &decide_rules[i];
            break;
        }
    }
    ret->verdict = rule->verdict;
    ret->rule_id = rule->id;
    ret->rule_name = rule->name;
    rule->action(&ctx, ret);
    if (ctx.valid && ctx.n_claims <= 1 && ctx.adopt_wait < 0) {
        plan_members(&ctx, ret);
        ret->changed = result_changes(in, ret);
    }
}

/* ---- table, ranking, names ----------------------------------------------------------- */

int decide_rules_check(void)
{
    bool seen[_DECIDE_VERDICT_MAX] = {false};
    size_t n = ARRAY_SIZE(decide_rules);

    for (size_t i = 0; i < n; i++) {
        const struct decide_rule *r = &decide_rules[i];

        if (str_is_empty(r->id) || str_is_empty(r->name) || !r->predicate || !r->action ||
            (unsigned) r->verdict >= _DECIDE_VERDICT_MAX) {
            return -EINVAL;
        }
        /* Ascending ids are unique ids; a catch-all anywhere but last hides the rows after. */
        if ((i > 0 && strcmp(decide_rules[i - 1].id, r->id) >= 0) ||
            (r->predicate == decide_pred_always) != (i == n - 1)) {
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (str_eq(decide_rules[j].name, r->name)) {
                return -EINVAL;
            }
        }
        seen[r->verdict] = true;
    }
    for (size_t v = 0; v < ARRAY_SIZE(seen); v++) {
        if (!seen[v]) {
            return -EINVAL;
        }
    }
    return n > 0 ? 0 : -EINVAL;
}

size_t decide_rules_count(void)
{
    return ARRAY_SIZE(decide_rules);
}

int decide_rule_info(size_t i, const char **ret_id, const char **ret_name,
                     enum decide_verdict *ret_verdict)
{
    if (i >= ARRAY_SIZE(decide_rules)) {
        return -ENOENT;
    }
    *ret_id = decide_rules[i].id;
    *ret_name = decide_rules[i].name;
    *ret_verdict = decide_rules[i].verdict;
    return 0;
}

bool decide_is_alive(const struct decide_member *m, uint64_t now_ms, uint64_t lost_timeout_ms)
{
    /* A report stamped after now (an injected clock in tests) counts as just seen. */
    return m->reported && m->state != PROTO_STATE_LOST &&
           sat_sub(now_ms, m->last_seen_ms) <= lost_timeout_ms;
}

const char *decide_verdict_to_string(enum decide_verdict v)
{
    switch (v) {
    case DECIDE_VERDICT_NONE:
        return "none";
    case DECIDE_VERDICT_WAIT:
        return "wait";
    case DECIDE_VERDICT_REFUSE:
        return "refuse";
    case DECIDE_VERDICT_BOOTSTRAP:
        return "bootstrap";
    case DECIDE_VERDICT_FAILOVER:
        return "failover";
    case DECIDE_VERDICT_MANUAL_FAILOVER:
        return "manual-failover";
    case DECIDE_VERDICT_SWITCHOVER_FENCE:
        return "switchover-fence";
    case DECIDE_VERDICT_SWITCHOVER_CATCHUP:
        return "switchover-catchup";
    case DECIDE_VERDICT_SWITCHOVER_PROMOTE:
        return "switchover-promote";
    case DECIDE_VERDICT_SWITCHOVER_ABORT:
        return "switchover-abort";
    case DECIDE_VERDICT_FENCE_STALE_PRIMARY:
        return "fence-stale-primary";
    case DECIDE_VERDICT_ASSIGN:
        return "assign";
    case DECIDE_VERDICT_SET_SYNC:
        return "set-sync";
    case DECIDE_VERDICT_ADOPT:
        return "adopt";
    case _DECIDE_VERDICT_MAX:
        break;
    }
    return "unknown";
}

int decide_verdict_from_string(const char *s, enum decide_verdict *ret)
{
    for (int v = 0; v < _DECIDE_VERDICT_MAX; v++) {
        if (str_eq(s, decide_verdict_to_string((enum decide_verdict) v))) {
            *ret = (enum decide_verdict) v;
            return 0;
        }
    }
    return -EINVAL;
}

const char *decide_switchover_phase_to_string(enum decide_switchover_phase v)
{
    switch (v) {
    case DECIDE_SWITCHOVER_PHASE_NONE:
        return "none";
    case DECIDE_SWITCHOVER_PHASE_REQUESTED:
        return "requested";
    case DECIDE_SWITCHOVER_PHASE_FENCING:
        return "fencing";
    case DECIDE_SWITCHOVER_PHASE_CATCHUP:
        return "catchup";
    case _DECIDE_SWITCHOVER_PHASE_MAX:
        break;
    }
    return "unknown";
}

int decide_switchover_phase_from_string(const char *s, enum decide_switchover_phase *ret)
{
    for (int v = 0; v < _DECIDE_SWITCHOVER_PHASE_MAX; v++) {
        if (str_eq(s, decide_switchover_phase_to_string((enum decide_switchover_phase) v))) {
            *ret = (enum decide_switchover_phase) v;
            return 0;
        }
    }
    return -EINVAL;
}

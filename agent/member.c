/*
 * agent/member.c
 *
 * The member thread of member.h: gather, decide (agent/instance.h), act, publish. Every
 * engine operation runs here, on this member's own thread; the shared fields are touched
 * only under env->mu and only to copy in (the order, operator requests) or out (the report).
 *
 * Persistence: the member's state file (agent/state.h) is written before an operation that
 * applies an order (it records the order the instance is being configured with), and when
 * the facts it keeps change (last ran as a primary, rebuild done, operator stop, the
 * instance record's memo: restarts in the window, FAILED, self-fencing), so that a restarted
 * agent knows how to probe the instance, how it may start it, and what budget is left.
 *
 * The actions (the operations that apply an order) are in member_act.c, the report in
 * member_report.c; agent/member_int.h holds the thread's state they share.
 *
 * Layer: shell.
 */
#include "agent/member.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/fence.h"
#include "agent/instance.h"
#include "agent/member_int.h"
#include "agent/probe.h"
#include "agent/state.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define MEMBER_CONF_MAX ((size_t) 1024 * 1024)

/* ---- setup ---- */

struct member *member_new(struct member_env *env, const char *ns, const char *cluster,
                          const char *name, const struct storage_paths *paths)
{
    struct member *m = xcalloc(1, sizeof(*m));
    struct member_run *run = xcalloc(1, sizeof(*run));
    pthread_condattr_t ca;
    struct errbuf eb = {{0}};
    int r;

    m->env = env;
    (void) str_copy(m->ns, sizeof(m->ns), ns);
    (void) str_copy(m->cluster, sizeof(m->cluster), cluster);
    (void) str_copy(m->name, sizeof(m->name), name);
    m->paths = *paths;
    m->run = run;
    m->kicked = true; /* the first tick at once */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    instance_init(&run->inst, 0, 0);
    run->logged_state = run->inst.state;
    r = state_member_load(paths->state_file, &run->st, &eb);
    if (r < 0 && r != -ENOENT) {
        slog_warn_errno(LOG_CTX({"member", name}), r, &eb, "member state unreadable; ignored");
    }
    if (r == 0 && run->st.has_order) {
        run->order = run->st.order;
        run->order_known = true;
    }
    if (r == 0) {
        /* Restarts counted, FAILED and self-fencing outlive the agent. */
        instance_memo_load(&run->inst, &run->st.memo, clock_now_ms(), clock_wall_ms());
        run->logged_state = run->inst.state;
    }
    return m;
}

void member_free(struct member *m)
{
    if (!m) {
        return;
    }
    if (m->started) {
        pthread_join(m->thread, NULL);
    }
    pthread_cond_destroy(&m->cond);
    free(m->run);
    free(m);
}

void member_kick_locked(struct member *m)
{
    m->kicked = true;
    pthread_cond_signal(&m->cond);
}

void member_stop_locked(struct member *m)
{
    m->stopping = true;
    pthread_cond_signal(&m->cond);
}

/* ---- engine descriptions ---- */

static bool member_has_setting(const struct proto_instance_desired *o, const char *key)
{
    for (uint32_t i = 0; i < o->n_config; i++) {
        if (strcmp(o->config[i].key, key) == 0) {
            return true;
        }
    }
    return false;
}

/* Adds key = value unless the order sets it. */
static void member_inject(struct engine_instance *ei, const struct proto_instance_desired *o,
                          const char *key, const char *value)
{
    if (member_has_setting(o, key) || ei->n_config >= PROTO_MAX_CONFIG) {
        return;
    }
    (void) str_copy(ei->config[ei->n_config].key, sizeof(ei->config[0].key), key);
    (void) str_copy(ei->config[ei->n_config].value, sizeof(ei->config[0].value), value);
    ei->n_config++;
}

/*
 * The engine's description of order in a mode: writable (as_primary) or a standby that
 * follows the order's upstream (follow) or idles. Replication settings for self-fencing: the
 * standby replies every second, the primary drops a silent standby and a standby drops a
 * silent primary after the lost timeout, so a frozen peer is noticed in time.
 */
static void member_describe(const struct member *m, const struct proto_instance_desired *o,
                            bool as_primary, bool follow, struct engine_instance *ei)
{
    const struct member_env *env = m->env;
    char v[32];

    engine_instance_init(ei);
    ei->kind = env->kind;
    (void) str_copy(ei->bin_dir, sizeof(ei->bin_dir), env->bindir);
    (void) str_copy(ei->base_dir, sizeof(ei->base_dir), m->paths.member_dir);
    (void) str_copy(ei->member, sizeof(ei->member), m->name);
    (void) str_copy(ei->ip, sizeof(ei->ip), o->ip);
    ei->port = o->port;
    ei->uid = env->uid;
    ei->gid = env->gid;
    ei->copy_max_rate_kbps = env->copy_max_rate_kbps;
    (void) str_copy(ei->superuser, sizeof(ei->superuser), o->auth_user);
    (void) str_copy(ei->password, sizeof(ei->password), o->auth_password);
    ei->has_upstream = !as_primary && follow && o->has_upstream;
    if (ei->has_upstream) {
        ei->upstream = o->upstream;
    }
    ei->sync = o->sync;
    ei->n_config = o->n_config;
    memcpy(ei->config, o->config, sizeof(o->config[0]) * o->n_config);
    member_inject(ei, o, "wal_receiver_status_interval", "1s");
    /* A standby whose upstream went away (a crash restart, a failover) tries again this
     * often (default 5 s): until it does, no synchronous commit is possible. */
    member_inject(ei, o, "wal_retrieve_retry_interval", MEMBER_WAL_RETRY);
    if (o->lost_timeout_ms > 0) {
        (void) snprintf(v, sizeof(v), "%" PRIu64 "ms", o->lost_timeout_ms);
        member_inject(ei, o, "wal_sender_timeout", v);
        /* And a standby gives up on a frozen upstream as fast, so it stops reporting it as
         * its source and the arbiter may fail over (rule "primary-still-streams"). */
        member_inject(ei, o, "wal_receiver_timeout", v);
    }
    /* Replication only from the cluster's members when the arbiter names them (DESIGN.md
     * "Security"); an arbiter that does not (older): from any address, still authenticated
     * (scram-sha-256). */
    ei->replication_from_any = !o->has_peers;
    for (uint32_t i = 0; o->has_peers && i < o->n_peers && ei->n_peers < ENGINE_MAX_PEERS; i++) {
        struct engine_peer *p = &ei->peers[ei->n_peers++];

        (void) str_copy(p->member, sizeof(p->member), o->peers[i].name);
        (void) str_copy(p->host, sizeof(p->host), o->peers[i].ip);
        p->port = o->peers[i].port;
    }
}

/* Describes and opens run->e for order in a mode. 0 or -EINVAL (eb: the invalid field). */
int member_open(struct member *m, bool as_primary, bool follow, struct errbuf *eb)
{
    struct member_run *run = m->run;
    int r;

    member_describe(m, &run->order, as_primary, follow, &run->ei);
    r = engine_open(&run->e, &run->ei, &m->env->proc, eb);
    if (r < 0) {
        errbuf_prefix(eb, "invalid order");
    }
    return r;
}

/* ---- persistence ---- */

/* Takes a new memo of the record when what it says changed (not the clocks' drift). */
static void member_note_memo(struct member_run *run)
{
    struct instance_memo memo;
    const struct instance_memo *old = &run->st.memo;

    instance_memo_save(&run->inst, clock_now_ms(), clock_wall_ms(), &memo);
    if (memo.n_restarts == old->n_restarts && memo.failed == old->failed &&
        memo.self_fenced == old->self_fenced && memo.was_running == old->was_running &&
        strcmp(memo.reason, old->reason) == 0) {
        return;
    }
    run->st.memo = memo;
    run->st_dirty = true;
}

static void member_save(struct member *m)
{
    struct member_run *run = m->run;
    struct errbuf eb = {{0}};
    int r;

    member_note_memo(run);
    if (!run->st_dirty) {
        return;
    }
    r = state_member_store(m->paths.state_file, m->env->node, &run->st, &eb);
    if (r < 0) {
        slog_warn_errno(LOG_CTX({"member", m->name}), r, &eb, "cannot write the member state");
        return;
    }
    run->st_dirty = false;
}

/* Records that the instance is being configured with the current order. */
void member_applied(struct member *m)
{
    struct member_run *run = m->run;

    if (run->st.has_order && memcmp(&run->st.order, &run->order, sizeof(run->order)) == 0) {
        return;
    }
    run->st.has_order = true;
    run->st.order = run->order;
    run->st_dirty = true;
    member_save(m);
}

void member_set_was_primary(struct member_run *run, bool v)
{
    if (run->st.was_primary != v) {
        run->st.was_primary = v;
        run->st_dirty = true;
    }
}

/* ---- one tick: snapshot ---- */

static void member_snapshot(struct member *m)
{
    struct member_run *run = m->run;
    struct member_snap *s = &run->snap;

    pthread_mutex_lock(&m->env->mu);
    s->in_desired = m->in_desired;
    s->has_order = m->has_order;
    s->order_seq = m->order_seq;
    if (m->has_order && m->order_seq != run->order_seq) {
        const struct proto_instance_desired *o = &m->order;
        /* A new decision of the arbiter (epoch, role, a rebuild) clears FAILED and fencing. */
        bool decision = !run->order_known || o->epoch != run->order.epoch ||
                        o->role != run->order.role || (o->rebuild && !run->order.rebuild) ||
                        o->state != run->order.state ||
                        o->has_upstream != run->order.has_upstream ||
                        (o->has_upstream &&
                         memcmp(&o->upstream, &run->order.upstream, sizeof(o->upstream)) != 0);

        if (decision && run->order_known) {
            instance_reset(&run->inst, "new order from the arbiter");
        }
        run->order = *o;
        run->order_known = true;
        run->order_seq = m->order_seq;
    }
    s->confirmed_ms = m->confirmed_ms;
    s->arbiter_ok_ms = m->env->arbiter_ok_ms;
    s->node_maintenance = m->env->maintenance;
    s->ctl_stop = m->ctl_stop;
    s->ctl_start = m->ctl_start;
    s->ctl_restart = m->ctl_restart;
    s->ctl_seq = m->ctl_seq;
    m->ctl_start = false;
    m->ctl_restart = false;
    pthread_mutex_unlock(&m->env->mu);
    if (s->ctl_start) {
        instance_reset(&run->inst, "started by the operator");
        run->st.ctl_stopped = false;
        run->st_dirty = true;
    } else if (s->ctl_stop && !run->st.ctl_stopped) {
        run->st.ctl_stopped = true;
        run->st_dirty = true;
    }
    /* An ordered rebuild is done once per epoch; the flag going away re-arms it. */
    if (s->in_desired && run->order_known && !run->order.rebuild && run->st.rebuilt) {
        run->st.rebuilt = false;
        run->st_dirty = true;
    }
}

/* ---- one tick: observe ---- */

static enum instance_probe member_classify(int rc)
{
    switch (rc) {
    case 0:
        return INSTANCE_PROBE_UP;
    case -ETIMEDOUT:
        return INSTANCE_PROBE_HUNG;
    case -EAGAIN:
        return INSTANCE_PROBE_STARTING;
    case -ECONNREFUSED:
        return INSTANCE_PROBE_DOWN;
    default:
        return INSTANCE_PROBE_ERROR;
    }
}

/* Fencing contacts from a primary's replication list. */
static void member_note_replicas(struct member_run *run, uint64_t now)
{
    for (uint32_t i = 0; i < run->probe.n_replicas; i++) {
        const struct probe_replica *rp = &run->probe.replicas[i];
        uint64_t age = rp->has_reply_age ? rp->reply_age_ms : 0;
        uint64_t at;

        if (rp->state != PROTO_REPL_STATE_STREAMING) {
            continue;
        }
        run->ever_replica = true;
        at = now > age ? now - age : 0;
        if (at > run->standby_ok_ms) {
            run->standby_ok_ms = at;
        }
    }
}

static void member_probe(struct member *m, uint64_t now)
{
    struct member_run *run = m->run;
    const struct proto_instance_desired *o = run->st.has_order ? &run->st.order : &run->order;
    struct errbuf eb = {{0}};
    int rc;

    run->probe_kind = INSTANCE_PROBE_NONE;
    memset(&run->probe, 0, sizeof(run->probe));
    if (!run->status.running) {
        return;
    }
    /* The address and credentials it was started with (an order may be moving it). */
    member_describe(m, o, false, false, &run->probe_ei);
    rc = probe_instance(&run->probe_ei, m->env->probe_budget_ms, &run->probe, &eb);
    run->probe_kind = member_classify(rc);
    if (run->probe_kind == INSTANCE_PROBE_STARTING && run->not_receiving_since_ms == 0) {
        run->not_receiving_since_ms = now; /* a standby that never becomes consistent */
    }
    if (run->probe_kind != INSTANCE_PROBE_UP) {
        return;
    }
    run->last_up = run->probe;
    run->primary_seen = !run->probe.in_recovery;
    if (run->primary_seen) {
        member_set_was_primary(run, true);
        member_note_replicas(run, now);
    }
    if (!run->probe.in_recovery || run->probe.receiving) {
        run->not_receiving_since_ms = 0;
    } else if (run->not_receiving_since_ms == 0) {
        run->not_receiving_since_ms = now;
    }
}

/* True when a file differs from text (a missing file differs). */
static bool member_file_differs(const char *dir, const char *name, const char *text)
{
    char path[ENGINE_PATH_MAX + 32];
    char *cur = NULL;
    size_t len = 0;
    bool differs;

    (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (fs_read_file(path, MEMBER_CONF_MAX, &cur, &len, NULL) < 0) {
        return true;
    }
    differs = strcmp(cur, text) != 0;
    free(cur);
    return differs;
}

typedef int (*member_render_fn)(const struct engine *e, char **ret_text, struct errbuf *eb);

/* Does the managed configuration on disk differ from the order's, in the running mode? */
static bool member_config_stale(struct member *m)
{
    struct member_run *run = m->run;
    static const struct {
        const char *name;
        member_render_fn render;
    } files[] = {{"postgresql.conf", engine_render_conf},
                 {"pg_hba.conf", engine_render_hba},
                 {"pgpass", engine_render_pgpass}};
    bool stale = false;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !stale; i++) {
        char *text = NULL;
        struct errbuf eb = {{0}};

        if (files[i].render(&run->e, &text, &eb) < 0) {
            continue;
        }
        stale = member_file_differs(run->e.conf_dir, files[i].name, text);
        free(text);
    }
    return stale;
}

/*
 * A standby that has not streamed (or not even become consistent) for MEMBER_DIVERGE_MS
 * while its upstream answers and does not list it as streaming or catching up: diverged, or
 * the WAL it needs is gone there ("requested WAL segment ... has already been removed").
 * The state machine escalates: rewind, full copy, FAILED (agent/instance.h).
 */
static bool member_diverged(struct member *m, uint64_t now)
{
    struct member_run *run = m->run;
    struct engine_instance *up;
    struct probe_result *res;
    bool diverged;

    char line[PROTO_ERROR_MAX + 1];

    if (!run->order.has_upstream || run->not_receiving_since_ms == 0 ||
        now - run->not_receiving_since_ms < MEMBER_WAL_GONE_MS) {
        return false;
    }
    /* Its log may already say why: then there is no point in waiting longer. */
    if (now - run->not_receiving_since_ms < MEMBER_DIVERGE_MS &&
        !engine_log_find(&run->e, "has already been removed", "entering standby mode", line,
                         sizeof(line))) {
        return false;
    }
    up = xcalloc(1, sizeof(*up));
    res = xcalloc(1, sizeof(*res));
    *up = run->probe_ei;
    (void) str_copy(up->ip, sizeof(up->ip), run->order.upstream.host);
    up->port = run->order.upstream.port;
    diverged = probe_instance(up, m->env->probe_budget_ms, res, NULL) == 0;
    for (uint32_t i = 0; diverged && i < res->n_replicas; i++) {
        const struct probe_replica *rp = &res->replicas[i];

        if (strcmp(rp->application_name, m->name) == 0 &&
            (rp->state == PROTO_REPL_STATE_STREAMING || rp->state == PROTO_REPL_STATE_CATCHUP)) {
            diverged = false; /* WAL flows: slow, not stuck */
        }
    }
    free(res);
    free(up);
    return diverged;
}

/*
 * Why a stuck standby does not stream, from its server log since it last entered standby
 * mode: the WAL it needs is gone on the upstream ("requested WAL segment ... has already
 * been removed"), which no rewind can fix, so it is copied at once (as if a rewind had been
 * tried); otherwise the last FATAL of its WAL receiver, for the reason shown if it fails.
 */
static void member_note_stuck(struct member *m, struct instance_facts *f)
{
    struct member_run *run = m->run;
    const char *since = "entering standby mode";

    if (!f->diverged) {
        run->stuck_why[0] = '\0';
        return;
    }
    if (engine_log_find(&run->e, "has already been removed", since, run->stuck_why,
                        sizeof(run->stuck_why))) {
        if (f->resync_tries < 1) {
            f->resync_tries = 1;
        }
        return;
    }
    if (!engine_log_find(&run->e, "FATAL:", since, run->stuck_why, sizeof(run->stuck_why))) {
        run->stuck_why[0] = '\0';
    }
}

/* The resynchronisation count belongs to one (epoch, upstream); a new one starts afresh. */
static void member_resync_key(struct member_run *run)
{
    const struct proto_instance_desired *o = &run->order;

    if (run->resync_epoch == o->epoch &&
        memcmp(&run->resync_up, &o->upstream, sizeof(o->upstream)) == 0) {
        return;
    }
    run->resync_epoch = o->epoch;
    run->resync_up = o->upstream;
    run->resync_tries = 0;
}

static bool member_primary_confirmed(const struct member_run *run, uint64_t now)
{
    const struct proto_instance_desired *o = &run->order;
    uint64_t t = run->snap.confirmed_ms;

    if (o->role != PROTO_ROLE_PRIMARY || !run->snap.in_desired || t == 0) {
        return false;
    }
    return o->lost_timeout_ms == 0 || now - t <= o->lost_timeout_ms;
}

static bool member_fence(struct member_run *run, uint64_t now)
{
    struct fence_input in = {
            .is_primary = run->status.running && run->primary_seen,
            .has_standbys = run->order.sync.n_names > 0 || run->ever_replica,
            .lost_timeout_ms = run->order.lost_timeout_ms,
            .watch_since_ms = run->watch_since_ms,
            .arbiter_ok_ms = run->snap.arbiter_ok_ms,
            .standby_ok_ms = run->standby_ok_ms,
    };

    /* Also without a current order (the remembered one gives the timeout): an agent that
     * restarted on a cut-off node must still fence the primary it adopted. */
    return fence_should_stop(&in, now);
}

/* Everything the state machine needs; false when the order cannot be acted on. */
static bool member_gather(struct member *m, uint64_t now, struct instance_facts *f,
                          struct errbuf *eb)
{
    struct member_run *run = m->run;
    const struct proto_instance_desired *o = &run->order;
    bool running_primary;

    if (member_open(m, false, false, eb) < 0) {
        return false;
    }
    (void) engine_status(&run->e, &run->status, NULL);
    member_probe(m, now);
    (void) storage_free_bytes(&m->paths, &run->disk_free, NULL);
    memset(f, 0, sizeof(*f));
    f->has_order = run->snap.in_desired && run->snap.has_order;
    f->role = o->role;
    f->order = o->state;
    f->has_upstream = o->has_upstream;
    f->rebuild_ordered = o->rebuild && !(run->st.rebuilt && run->st.rebuilt_epoch == o->epoch);
    f->maintenance = run->snap.node_maintenance || o->maintenance;
    f->ctl_stopped = run->st.ctl_stopped;
    f->ctl_restart = run->snap.ctl_restart;
    f->primary_confirmed = member_primary_confirmed(run, now);
    f->space_ok = run->status.data_present || run->disk_free >= o->storage_bytes;
    f->listen_changed = run->st.has_order &&
                        (strcmp(run->st.order.ip, o->ip) != 0 || run->st.order.port != o->port);
    f->restart_limit = o->restart_limit;
    f->restart_window_ms = o->restart_window_ms;
    f->data_present = run->status.data_present;
    f->copy_incomplete = run->status.copy_incomplete;
    member_resync_key(run);
    f->resync_tries = run->resync_tries;
    f->running = run->status.running;
    f->was_primary = run->st.was_primary;
    f->probe = run->probe_kind;
    f->in_recovery = run->probe.in_recovery;
    if (f->running && f->probe == INSTANCE_PROBE_UP) {
        running_primary = !run->probe.in_recovery;
        /* The description the instance runs with now, for the comparison and for ops. */
        if (member_open(m, running_primary,
                        !running_primary && o->role != PROTO_ROLE_PRIMARY && o->has_upstream,
                        eb) < 0) {
            return false;
        }
        f->config_stale = member_config_stale(m);
        f->diverged = !running_primary && member_diverged(m, now);
        pthread_mutex_lock(&m->env->mu);
        m->ops_inst = run->ei;
        m->has_ops_inst = true;
        pthread_mutex_unlock(&m->env->mu);
    } else if (f->running && f->probe == INSTANCE_PROBE_STARTING && o->role != PROTO_ROLE_PRIMARY) {
        f->diverged = member_diverged(m, now);
    }
    member_note_stuck(m, f);
    f->fence = member_fence(run, now);
    return true;
}

/* ---- one tick ---- */

static void member_log_state(struct member *m, const char *rule)
{
    struct member_run *run = m->run;

    if (run->inst.state == run->logged_state) {
        return;
    }
    slog_info(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"rule", rule}),
              "state %s -> %s: %s", proto_state_to_string(run->logged_state),
              proto_state_to_string(run->inst.state), run->inst.reason);
    run->logged_state = run->inst.state;
    run->inst.changed = false;
}

static void member_log_plan(struct member *m, const struct instance_plan *p)
{
    struct member_run *run = m->run;

    if (p->action == INSTANCE_ACTION_WAIT) {
        if (run->last_wait_rule != p->rule) {
            slog_info(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"rule", p->rule}),
                      "waiting: %s", p->reason);
        }
        run->last_wait_rule = p->rule;
        return;
    }
    run->last_wait_rule = NULL;
    if (p->action != INSTANCE_ACTION_NONE) {
        slog_info(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"rule", p->rule},
                          {"action", instance_action_to_string(p->action)}),
                  "%s (%s)%s", instance_action_to_string(p->action), p->reason,
                  (p->action == INSTANCE_ACTION_START || p->action == INSTANCE_ACTION_RESTART)
                          ? (p->as_primary ? " as primary"
                                           : (p->follow ? " as standby" : " as idle standby"))
                          : "");
    }
}

/* Why the order cannot be acted on (no order at all: nothing to say). */
static void member_tick_invalid(struct member *m, uint64_t now, const struct errbuf *eb)
{
    struct member_run *run = m->run;

    memset(&run->status, 0, sizeof(run->status));
    run->probe_kind = INSTANCE_PROBE_NONE;
    instance_set_error(&run->inst, run->order_known ? eb->msg : "");
    member_publish(m, now, run->order_known ? -EINVAL : 0, eb->msg);
}

static void member_tick(struct member *m)
{
    struct member_run *run = m->run;
    struct instance_facts f;
    struct instance_plan p;
    struct errbuf eb = {{0}};
    uint64_t now;
    int r = 0;

    member_snapshot(m);
    now = clock_now_ms();
    if (!run->order_known || !member_gather(m, now, &f, &eb)) {
        member_tick_invalid(m, now, &eb);
        member_save(m);
        return;
    }
    instance_note_arbiter(&run->inst, run->snap.arbiter_ok_ms);
    instance_decide(&run->inst, &f, now, &p);
    member_log_state(m, p.rule);
    member_log_plan(m, &p);
    if (p.action != INSTANCE_ACTION_NONE && p.action != INSTANCE_ACTION_WAIT) {
        member_publish_doing(m, &p, now);
        member_log_state(m, p.rule);
        r = member_act(m, &p, now, &eb);
        now = clock_now_ms();
        run->not_receiving_since_ms = 0;
        if (r == -EINPROGRESS) {
            slog_info(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"rule", p.rule},
                              {"err", eb.msg}),
                      "%s: started; the probe follows it until it accepts connections",
                      instance_action_to_string(p.action));
        } else if (r < 0) {
            slog_warn_errno(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"rule", p.rule}),
                            r, &eb, "%s failed", instance_action_to_string(p.action));
        }
        pthread_mutex_lock(&m->env->mu);
        member_kick_locked(m); /* look again at once */
        pthread_mutex_unlock(&m->env->mu);
    } else if (p.action == INSTANCE_ACTION_WAIT && strcmp(p.rule, "no-space") == 0) {
        errbuf_set(&eb, "not enough free space: %" PRIu64 " bytes free, %" PRIu64 " requested",
                   run->disk_free, run->order.storage_bytes);
    }
    instance_done(&run->inst, &p, r, eb.msg, now);
    if (p.action == INSTANCE_ACTION_FAIL && strcmp(p.rule, "resync-failed") == 0 &&
        run->stuck_why[0]) {
        char why[PROTO_ERROR_MAX + 1];

        (void) snprintf(why, sizeof(why), "%s: %s", p.reason, run->stuck_why);
        instance_set_error(&run->inst, why);
    }
    member_log_state(m, p.rule);
    member_save(m);
    member_publish(m, now, r == -EINPROGRESS ? 0 : r, eb.msg);
}

/* ---- the thread ---- */

/* Waits for a kick, the next interval or stop; false when stopping. */
static bool member_wait(struct member *m)
{
    uint64_t deadline = clock_now_ms() + m->env->probe_interval_ms;
    bool go;

    pthread_mutex_lock(&m->env->mu);
    while (!m->kicked && !m->stopping) {
        uint64_t now = clock_now_ms();
        struct timespec ts;
        uint64_t left;

        if (now >= deadline) {
            break;
        }
        left = deadline - now;
        ts = clock_deadline(CLOCK_MONOTONIC, left);
        (void) pthread_cond_timedwait(&m->cond, &m->env->mu, &ts);
    }
    m->kicked = false;
    go = !m->stopping;
    pthread_mutex_unlock(&m->env->mu);
    return go;
}

static void *member_main(void *arg)
{
    struct member *m = arg;

    m->run->watch_since_ms = clock_now_ms();
    while (member_wait(m)) {
        member_tick(m);
    }
    pthread_mutex_lock(&m->env->mu);
    m->finished = true;
    pthread_cond_broadcast(&m->env->ops_cond);
    pthread_mutex_unlock(&m->env->mu);
    return NULL;
}

int member_start(struct member *m, struct errbuf *eb)
{
    int r = -pthread_create(&m->thread, NULL, member_main, m);

    if (r < 0) {
        errbuf_set(eb, "cannot start the thread of member %s", m->name);
        return r;
    }
    m->started = true;
    return 0;
}

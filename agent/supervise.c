/*
 * agent/supervise.c
 *
 * The supervisor of supervise.h. All shared state sits under env.mu: the member table, the
 * cluster epochs, the refused orders, the node-wide flags. Delivery runs on an uplink thread
 * and only checks, stores and hands over; the member threads do the work. Refusals are
 * logged once per distinct reason.
 *
 * Layer: shell.
 */
#include "agent/supervise.h"

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/member.h"
#include "agent/probe.h"
#include "agent/state.h"
#include "agent/storage.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/ops.h"

#define SUPERVISE_MAX PROTO_MAX_INSTANCES

/* The highest epoch seen for one cluster, as stored in its epoch file. */
struct supervise_epoch {
    char ns[PROTO_NAME_MAX + 1];
    char cluster[PROTO_NAME_MAX + 1];
    uint64_t epoch;
};

/* An order that could not be taken at all (its paths leave ROOT): reported, nothing else. */
struct supervise_refused {
    char ns[PROTO_NAME_MAX + 1];
    char cluster[PROTO_NAME_MAX + 1];
    char member[PROTO_NAME_MAX + 1];
    char error[PROTO_ERROR_MAX + 1];
};

struct supervise {
    struct member_env env;
    uint32_t n_members;
    struct member *members[SUPERVISE_MAX];
    uint32_t n_epochs;
    struct supervise_epoch epochs[SUPERVISE_MAX];
    uint32_t n_refused;
    struct supervise_refused refused[SUPERVISE_MAX];
    uint32_t n_prev_refused; /* of the delivery before: log a refusal once */
    struct supervise_refused prev_refused[SUPERVISE_MAX];
    char desired_error[PROTO_ERROR_MAX + 1]; /* the last desired state was refused */
    bool epoch_raised;                       /* during this delivery */
};

struct supervise *supervise_new(const struct supervise_config *cfg)
{
    struct supervise *s = xcalloc(1, sizeof(*s));
    pthread_condattr_t ca;

    pthread_mutex_init(&s->env.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->env.ops_cond, &ca);
    pthread_condattr_destroy(&ca);
    (void) str_copy(s->env.node, sizeof(s->env.node), cfg->node);
    (void) str_copy(s->env.root, sizeof(s->env.root), cfg->root);
    (void) str_copy(s->env.bindir, sizeof(s->env.bindir), cfg->bindir);
    s->env.kind = cfg->kind;
    s->env.uid = cfg->uid;
    s->env.gid = cfg->gid;
    s->env.probe_interval_ms = cfg->probe_interval_ms;
    s->env.probe_budget_ms = cfg->probe_budget_ms;
    s->env.copy_max_rate_kbps = cfg->copy_max_rate_kbps;
    s->env.proc = cfg->proc;
    return s;
}

void supervise_set_kick(struct supervise *s, void (*kick)(void *data), void *data)
{
    pthread_mutex_lock(&s->env.mu);
    s->env.kick = kick;
    s->env.kick_data = data;
    pthread_mutex_unlock(&s->env.mu);
}

/* ---- members (under env.mu) ---- */

static struct member *supervise_find(struct supervise *s, const char *ns, const char *cluster,
                                     const char *name)
{
    for (uint32_t i = 0; i < s->n_members; i++) {
        struct member *m = s->members[i];
        if (strcmp(m->name, name) == 0 && (!ns || strcmp(m->ns, ns) == 0) &&
            (!cluster || strcmp(m->cluster, cluster) == 0)) {
            return m;
        }
    }
    return NULL;
}

/* A new member with its thread; NULL (logged) when the table is full or the thread fails. */
static struct member *supervise_add(struct supervise *s, const char *ns, const char *cluster,
                                    const char *name, const struct storage_paths *paths)
{
    struct errbuf eb = {{0}};
    struct member *m;
    int r;

    if (s->n_members >= SUPERVISE_MAX) {
        slog_error(LOG_CTX({"member", name}), "more than %d members on this node: ignored",
                   SUPERVISE_MAX);
        return NULL;
    }
    m = member_new(&s->env, ns, cluster, name, paths);
    r = member_start(m, &eb);
    if (r < 0) {
        (void) slog_error_errno(LOG_CTX({"member", name}), r, &eb, "member not supervised");
        member_free(m);
        return NULL;
    }
    s->members[s->n_members++] = m;
    return m;
}

/* The epoch entry of a cluster, loaded from its file at first sight. */
static struct supervise_epoch *supervise_epoch(struct supervise *s, const char *ns,
                                               const char *cluster, const char *path)
{
    struct supervise_epoch *e;
    struct errbuf eb = {{0}};
    int r;

    for (uint32_t i = 0; i < s->n_epochs; i++) {
        e = &s->epochs[i];
        if (strcmp(e->ns, ns) == 0 && strcmp(e->cluster, cluster) == 0) {
            return e;
        }
    }
    if (s->n_epochs >= SUPERVISE_MAX) {
        return NULL;
    }
    e = &s->epochs[s->n_epochs];
    memset(e, 0, sizeof(*e));
    r = state_epoch_load(path, &e->epoch, &eb);
    if (r < 0) {
        /* Unreadable: refuse every order of the cluster rather than forget the epoch. */
        (void) slog_error_errno(LOG_CTX({"cluster", cluster}), r, &eb,
                                "epoch file unreadable; orders refused");
        return NULL;
    }
    (void) str_copy(e->ns, sizeof(e->ns), ns);
    (void) str_copy(e->cluster, sizeof(e->cluster), cluster);
    s->n_epochs++;
    return e;
}

int supervise_discover(struct supervise *s, struct errbuf *eb)
{
    char pattern[ENGINE_PATH_MAX + 32];
    glob_t g;
    int found = 0;
    int r;

    (void) snprintf(pattern, sizeof(pattern), "%s/*/*/*%s", s->env.root, STORAGE_STATE_SUFFIX);
    r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH) {
        return 0;
    }
    if (r != 0) {
        errbuf_set(eb, "cannot list %s", pattern);
        return -EIO;
    }
    pthread_mutex_lock(&s->env.mu);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char rel[ENGINE_PATH_MAX];
        char ns[PROTO_NAME_MAX + 2], cluster[PROTO_NAME_MAX + 2], name[PROTO_NAME_MAX + 16];
        struct storage_paths paths;
        struct errbuf peb = {{0}};
        size_t n;

        (void) str_copy(rel, sizeof(rel), g.gl_pathv[i] + strlen(s->env.root));
        if (sscanf(rel, "/%64[^/]/%64[^/]/%78[^/]", ns, cluster, name) != 3) {
            continue;
        }
        n = strlen(name) - strlen(STORAGE_STATE_SUFFIX);
        name[n] = '\0';
        if (storage_paths_build(s->env.root, ns, cluster, name, &paths, &peb) < 0) {
            slog_warn(LOG_CTX({"path", g.gl_pathv[i]}, {"err", peb.msg}),
                      "member state file ignored");
            continue;
        }
        if (!supervise_find(s, ns, cluster, name) && supervise_add(s, ns, cluster, name, &paths)) {
            slog_info(LOG_CTX({"cluster", cluster}, {"member", name}),
                      "member of an earlier run found; observed until the arbiter orders");
            found++;
        }
    }
    pthread_mutex_unlock(&s->env.mu);
    globfree(&g);
    return found;
}

/* ---- orders ---- */

/* True when the previous delivery refused the same member for the same reason. */
static bool supervise_refused_before(const struct supervise *s, const struct supervise_refused *rf)
{
    for (uint32_t i = 0; i < s->n_prev_refused; i++) {
        const struct supervise_refused *p = &s->prev_refused[i];
        if (!strcmp(p->ns, rf->ns) && !strcmp(p->cluster, rf->cluster) &&
            !strcmp(p->member, rf->member) && !strcmp(p->error, rf->error)) {
            return true;
        }
    }
    return false;
}

/* Records (and logs, when new) an order that cannot be taken at all. */
static void supervise_refuse_member(struct supervise *s, const struct proto_instance_desired *in,
                                    const char *why)
{
    struct supervise_refused *rf;

    if (s->n_refused >= SUPERVISE_MAX) {
        return;
    }
    rf = &s->refused[s->n_refused++];
    (void) str_copy(rf->ns, sizeof(rf->ns), in->namespace_);
    (void) str_copy(rf->cluster, sizeof(rf->cluster), in->cluster);
    (void) str_copy(rf->member, sizeof(rf->member), in->member);
    (void) snprintf(rf->error, sizeof(rf->error), "order refused: %s", why);
    if (!supervise_refused_before(s, rf)) {
        slog_error(LOG_CTX({"cluster", rf->cluster}, {"member", rf->member}, {"err", why}),
                   "order refused; nothing created");
    }
}

/* Sets m's refusal text, logging it when it is new. */
static void supervise_order_error(struct member *m, const char *text)
{
    if (strcmp(m->order_error, text) == 0) {
        return;
    }
    (void) str_copy(m->order_error, sizeof(m->order_error), text);
    if (text[0]) {
        slog_warn(LOG_CTX({"cluster", m->cluster}, {"member", m->name}, {"err", text}),
                  "order refused; the instance is left as it is");
    }
}

/* The epoch rule for one order: 0 to take it (a higher epoch stored first), -1 to refuse. */
static int supervise_check_epoch(struct supervise *s, struct member *m,
                                 const struct proto_instance_desired *in)
{
    struct supervise_epoch *e = supervise_epoch(s, m->ns, m->cluster, m->paths.epoch_file);
    struct errbuf eb = {{0}};
    char msg[PROTO_ERROR_MAX + 1];
    int r;

    if (!e) {
        supervise_order_error(m, "order refused: the cluster's epoch file is unreadable");
        return -1;
    }
    if (in->epoch < e->epoch) {
        (void) snprintf(msg, sizeof(msg),
                        "order refused: epoch %" PRIu64 " is older than epoch %" PRIu64
                        " already seen for cluster %s/%s",
                        in->epoch, e->epoch, m->ns, m->cluster);
        supervise_order_error(m, msg);
        return -1;
    }
    if (in->epoch > e->epoch) {
        r = storage_prepare_cluster(s->env.root, &m->paths, &eb);
        if (r == 0) {
            r = state_epoch_store(m->paths.epoch_file, in->epoch, &eb);
        }
        if (r < 0) {
            (void) snprintf(msg, sizeof(msg), "order refused: cannot store epoch: %s", eb.msg);
            supervise_order_error(m, msg);
            return -1;
        }
        slog_info(LOG_CTX({"cluster", m->cluster}),
                  "epoch %" PRIu64 " -> %" PRIu64 " for cluster %s/%s", e->epoch, in->epoch, m->ns,
                  m->cluster);
        e->epoch = in->epoch;
        s->epoch_raised = true; /* reported at once */
    }
    return 0;
}

static void supervise_take(struct supervise *s, const struct proto_instance_desired *in,
                           uint64_t now_ms)
{
    struct storage_paths paths;
    struct errbuf eb = {{0}};
    struct member *m;

    if (storage_paths_build(s->env.root, in->namespace_, in->cluster, in->member, &paths, &eb) <
        0) {
        supervise_refuse_member(s, in, eb.msg);
        return;
    }
    m = supervise_find(s, in->namespace_, in->cluster, in->member);
    if (!m) {
        m = supervise_add(s, in->namespace_, in->cluster, in->member, &paths);
    }
    if (!m) {
        supervise_refuse_member(s, in, "too many members on this node");
        return;
    }
    m->in_desired = true;
    member_kick_locked(m);
    if (supervise_check_epoch(s, m, in) < 0) {
        return;
    }
    supervise_order_error(m, "");
    if (!m->has_order || memcmp(&m->order, in, sizeof(*in)) != 0) {
        m->order = *in;
        m->has_order = true;
        m->order_seq++;
    }
    m->confirmed_ms = now_ms;
}

void supervise_deliver(const struct proto_desired *d, uint64_t now_ms, void *data)
{
    struct supervise *s = data;
    void (*kick)(void *) = NULL;
    void *kick_data = NULL;

    pthread_mutex_lock(&s->env.mu);
    s->epoch_raised = false;
    s->env.arbiter_ok_ms = now_ms;
    s->desired_error[0] = '\0';
    memcpy(s->prev_refused, s->refused, sizeof(s->refused[0]) * s->n_refused);
    s->n_prev_refused = s->n_refused;
    s->n_refused = 0;
    for (uint32_t i = 0; i < s->n_members; i++) {
        struct member *m = s->members[i];
        if (m->in_desired) {
            member_kick_locked(m); /* leaving the desired state: unmanaged from now */
        }
        m->in_desired = false;
    }
    for (uint32_t i = 0; i < d->n_instances; i++) {
        supervise_take(s, &d->instances[i], now_ms);
    }
    if (s->epoch_raised) {
        kick = s->env.kick;
        kick_data = s->env.kick_data;
    }
    pthread_mutex_unlock(&s->env.mu);
    if (kick) {
        kick(kick_data);
    }
}

void supervise_refuse(const char *why, void *data)
{
    struct supervise *s = data;

    pthread_mutex_lock(&s->env.mu);
    (void) snprintf(s->desired_error, sizeof(s->desired_error), "desired state refused: %s", why);
    pthread_mutex_unlock(&s->env.mu);
}

/* ---- reports ---- */

void supervise_fill(struct proto_report *rep, void *data)
{
    struct supervise *s = data;

    pthread_mutex_lock(&s->env.mu);
    for (uint32_t i = 0; i < s->n_members && rep->n_instances < PROTO_MAX_INSTANCES; i++) {
        struct member *m = s->members[i];
        struct proto_instance_report *r = &rep->instances[rep->n_instances];
        struct supervise_epoch *e;

        if (!m->published) {
            continue;
        }
        *r = m->report;
        e = supervise_epoch(s, m->ns, m->cluster, m->paths.epoch_file);
        r->epoch = e ? e->epoch : 0;
        if (m->order_error[0]) {
            (void) str_copy(r->last_error, sizeof(r->last_error), m->order_error);
        } else if (s->desired_error[0] && !r->last_error[0]) {
            (void) str_copy(r->last_error, sizeof(r->last_error), s->desired_error);
        }
        rep->n_instances++;
    }
    for (uint32_t i = 0; i < s->n_refused && rep->n_instances < PROTO_MAX_INSTANCES; i++) {
        struct proto_instance_report *r = &rep->instances[rep->n_instances++];

        memset(r, 0, sizeof(*r));
        (void) str_copy(r->namespace_, sizeof(r->namespace_), s->refused[i].ns);
        (void) str_copy(r->cluster, sizeof(r->cluster), s->refused[i].cluster);
        (void) str_copy(r->member, sizeof(r->member), s->refused[i].member);
        r->state = PROTO_STATE_STOPPED;
        (void) str_copy(r->last_error, sizeof(r->last_error), s->refused[i].error);
    }
    pthread_mutex_unlock(&s->env.mu);
}

/* ---- ops ---- */

int supervise_ops_status(struct supervise *s, cJSON **ret_json)
{
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));

    pthread_mutex_lock(&s->env.mu);
    (void) str_copy(st->node, sizeof(st->node), s->env.node);
    st->maintenance = s->env.maintenance;
    for (uint32_t i = 0; i < s->n_members && st->n_instances < PROTO_MAX_INSTANCES; i++) {
        const struct member *m = s->members[i];
        const struct proto_instance_report *r = &m->report;
        struct proto_ops_instance *o = &st->instances[st->n_instances++];

        (void) str_copy(o->member, sizeof(o->member), m->name);
        (void) str_copy(o->cluster, sizeof(o->cluster), m->cluster);
        (void) str_copy(o->namespace_, sizeof(o->namespace_), m->ns);
        (void) str_copy(o->role, sizeof(o->role),
                        r->role == PROTO_ROLE_UNKNOWN ? "" : proto_role_to_string(r->role));
        (void) str_copy(o->state, sizeof(o->state),
                        m->published ? proto_state_to_string(r->state) : "unknown");
        o->pid = r->pid > 0 ? (uint32_t) r->pid : 0;
        o->restarts = r->restarts;
        o->has_lsn = r->current_lsn || r->replayed_lsn;
        o->lsn = r->current_lsn ? r->current_lsn : r->replayed_lsn;
        (void) str_copy(o->last_error, sizeof(o->last_error),
                        m->order_error[0] ? m->order_error : r->last_error);
        o->maintenance = r->maintenance;
    }
    pthread_mutex_unlock(&s->env.mu);
    *ret_json = proto_ops_status_to_json(st);
    free(st);
    return 0;
}

/* Queues an operator request on member and waits for its thread to handle it. */
static int supervise_ctl(struct supervise *s, const char *member, int op, struct errbuf *eb)
{
    uint64_t deadline = clock_now_ms() + SUPERVISE_OPS_WAIT_MS;
    struct member *m;
    uint64_t seq;
    int r;

    pthread_mutex_lock(&s->env.mu);
    m = supervise_find(s, NULL, NULL, member);
    if (!m) {
        pthread_mutex_unlock(&s->env.mu);
        errbuf_set(eb, "no member %s on this node", member);
        return -ENOENT;
    }
    if (!m->in_desired || !m->has_order) {
        pthread_mutex_unlock(&s->env.mu);
        errbuf_set(eb, "member %s has no order from the arbiter yet", member);
        return -EAGAIN;
    }
    if (op == 's') {
        m->ctl_stop = true;
    }
    if (op == 'S') {
        m->ctl_stop = false;
        m->ctl_start = true;
    }
    if (op == 'r') {
        m->ctl_restart = true;
    }
    seq = ++m->ctl_seq;
    member_kick_locked(m);
    r = -ETIMEDOUT;
    while (m->ctl_done_seq < seq && !m->finished) {
        uint64_t now = clock_now_ms();
        struct timespec ts;

        if (now >= deadline) {
            break;
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t) ((deadline - now) / 1000) + 1;
        (void) pthread_cond_timedwait(&s->env.ops_cond, &s->env.mu, &ts);
    }
    if (m->ctl_done_seq >= seq) {
        r = m->ctl_result;
        if (r < 0) {
            errbuf_set(eb, "%s", m->ctl_error);
        }
    } else {
        errbuf_set(eb, "member %s: the request is still under way", member);
    }
    pthread_mutex_unlock(&s->env.mu);
    return r;
}

int supervise_ops_start(struct supervise *s, const char *member, struct errbuf *eb)
{
    return supervise_ctl(s, member, 'S', eb);
}

int supervise_ops_stop(struct supervise *s, const char *member, struct errbuf *eb)
{
    return supervise_ctl(s, member, 's', eb);
}

int supervise_ops_restart(struct supervise *s, const char *member, struct errbuf *eb)
{
    return supervise_ctl(s, member, 'r', eb);
}

int supervise_ops_maintenance(struct supervise *s, bool on, struct errbuf *eb)
{
    (void) eb;
    pthread_mutex_lock(&s->env.mu);
    if (s->env.maintenance != on) {
        slog_info(LOG_CTX({"node", s->env.node}), "maintenance %s: %s", on ? "on" : "off",
                  on ? "no automatic restarts" : "automatic restarts resume");
    }
    s->env.maintenance = on;
    for (uint32_t i = 0; i < s->n_members; i++) {
        member_kick_locked(s->members[i]);
    }
    pthread_mutex_unlock(&s->env.mu);
    return 0;
}

/* <backup>/<UTC time>-<LSN>, e.g. 20250101T120000Z-0-3000060. */
static void supervise_backup_dir(const struct engine *e, uint64_t lsn, char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    (void) gmtime_r(&ts.tv_sec, &tm);
    (void) strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    (void) snprintf(buf, size, "%s/%s-%X-%X", e->backup_dir, when, (unsigned) (lsn >> 32),
                    (unsigned) lsn);
}

int supervise_ops_backup(struct supervise *s, const char *member, cJSON **ret_json,
                         struct errbuf *eb)
{
    struct engine_instance *in = xcalloc(1, sizeof(*in));
    struct probe_result *pr = xcalloc(1, sizeof(*pr));
    struct proto_ops_backup *b = xcalloc(1, sizeof(*b));
    struct engine e;
    struct member *m;
    int r = -ENOENT;

    pthread_mutex_lock(&s->env.mu);
    m = supervise_find(s, NULL, NULL, member);
    if (m && m->has_ops_inst) {
        *in = m->ops_inst;
        r = 0;
    }
    pthread_mutex_unlock(&s->env.mu);
    if (r < 0) {
        errbuf_set(eb, m ? "member %s is not running" : "no member %s on this node", member);
        r = m ? -EAGAIN : -ENOENT;
        goto out;
    }
    r = engine_open(&e, in, &s->env.proc, eb);
    if (r == 0) {
        r = probe_instance(in, s->env.probe_budget_ms, pr, eb);
    }
    if (r < 0) {
        goto out;
    }
    b->has_lsn = true;
    b->lsn = pr->in_recovery ? pr->replayed_lsn : pr->current_lsn;
    supervise_backup_dir(&e, b->lsn, b->path, sizeof(b->path));
    slog_info(LOG_CTX({"member", member}, {"path", b->path}), "local backup started");
    r = engine_backup(&e, NULL, b->path, eb);
    if (r == 0) {
        r = storage_tree_bytes(b->path, &b->bytes, eb);
    }
    if (r < 0) {
        (void) slog_error_errno(LOG_CTX({"member", member}), r, eb, "local backup failed");
        goto out;
    }
    slog_info(LOG_CTX({"member", member}, {"path", b->path}),
              "local backup done: %" PRIu64 " bytes", b->bytes);
    *ret_json = proto_ops_backup_to_json(b);
out:
    free(b);
    free(pr);
    free(in);
    return r;
}

/* ---- shutdown ---- */

bool supervise_stop(struct supervise *s, uint64_t wait_ms)
{
    uint64_t deadline = clock_now_ms() + wait_ms;
    bool all = false;

    if (!s) {
        return true;
    }
    pthread_mutex_lock(&s->env.mu);
    for (uint32_t i = 0; i < s->n_members; i++) {
        member_stop_locked(s->members[i]);
    }
    while (!all) {
        uint64_t now = clock_now_ms();
        struct timespec ts;

        all = true;
        for (uint32_t i = 0; i < s->n_members; i++) {
            all = all && (s->members[i]->finished || !s->members[i]->started);
        }
        if (all || now >= deadline) {
            break;
        }
        ts = clock_deadline(CLOCK_MONOTONIC, 50);
        (void) pthread_cond_timedwait(&s->env.ops_cond, &s->env.mu, &ts);
    }
    pthread_mutex_unlock(&s->env.mu);
    if (!all) {
        log_warn("member operations still under way; left to finish or be resumed by the "
                 "next agent");
        return false;
    }
    for (uint32_t i = 0; i < s->n_members; i++) {
        member_free(s->members[i]);
    }
    pthread_cond_destroy(&s->env.ops_cond);
    pthread_mutex_destroy(&s->env.mu);
    free(s);
    return true;
}

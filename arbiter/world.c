/*
 * arbiter/world.c
 *
 * Layer: shell. The loop's state and its steps (see world.h): reports in, decisions out,
 * each persisted before anything depends on it. Decisions are recorded (one log record and
 * one history row) when they change the stored state, and otherwise only when their rule,
 * verdict or target differs from the cluster's last recorded decision, so that a timer
 * re-evaluating every 100 ms does not repeat "steady" or "waiting" ten times a second.
 */
#include "arbiter/world.h"
#include "arbiter/world_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/cluster.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/desired.h"

#define WORLD_FACTS_MAX 1024 /* the facts summary of a decision log record */

/* ---- lookups ------------------------------------------------------------------------- */

static struct world_node *world_find_node(const struct world *w, const char *node)
{
    for (uint32_t i = 0; i < w->n_nodes; i++) {
        if (str_eq(w->nodes[i]->node, node)) {
            return w->nodes[i];
        }
    }
    return NULL;
}

/* The node's entry, created (in sorted place) when missing. */
struct world_node *world_node_get(struct world *w, const char *node)
{
    struct world_node *n = world_find_node(w, node);
    uint32_t i = 0;

    if (n) {
        return n;
    }
    while (i < w->n_nodes && strcmp(w->nodes[i]->node, node) < 0) {
        i++;
    }
    n = xcalloc(1, sizeof(*n));
    (void) str_copy(n->node, sizeof(n->node), node);
    w->nodes = xrealloc(w->nodes, (w->n_nodes + 1) * sizeof(struct world_node *));
    memmove(&w->nodes[i + 1], &w->nodes[i], (w->n_nodes - i) * sizeof(struct world_node *));
    w->nodes[i] = n;
    w->n_nodes++;
    w->desired_dirty = true;
    return n;
}

static void world_node_free(struct world_node *n)
{
    if (!n) {
        return;
    }
    free(n->report);
    free(n->content);
    free(n->answer);
    free(n);
}

int world_find_index(const struct world *w, const char *ns, const char *name)
{
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        if (str_eq(w->clusters[i]->ns, ns) && str_eq(w->clusters[i]->name, name)) {
            return (int) i;
        }
    }
    return -1;
}

struct cluster *world_find(const struct world *w, const char *ns, const char *name)
{
    int i = world_find_index(w, ns, name);

    return i < 0 ? NULL : w->clusters[i];
}

void world_insert_cluster(struct world *w, struct cluster *c)
{
    uint32_t i = 0;

    while (i < w->n_clusters) {
        int cmp = strcmp(w->clusters[i]->ns, c->ns);
        if (cmp > 0 || (cmp == 0 && strcmp(w->clusters[i]->name, c->name) > 0)) {
            break;
        }
        i++;
    }
    w->clusters = xrealloc(w->clusters, (w->n_clusters + 1) * sizeof(struct cluster *));
    memmove(&w->clusters[i + 1], &w->clusters[i], (w->n_clusters - i) * sizeof(struct cluster *));
    w->clusters[i] = c;
    w->n_clusters++;
}

/* cluster_report_fn over the world's nodes. */
static const struct proto_report *world_report_of(void *data, const char *node,
                                                  uint64_t *ret_last_ms)
{
    const struct world_node *n = world_find_node(data, node);

    *ret_last_ms = n ? n->last_ms : 0;
    return n ? n->report : NULL;
}

void world_facts(struct world *w, const struct cluster *c, uint64_t now_ms,
                 const struct decide_manual_failover *manual)
{
    cluster_facts(c, world_report_of, w, now_ms, w->start_ms, manual, w->in);
}

cJSON *world_view(struct world *w, const struct cluster *c, uint64_t now_ms)
{
    world_facts(w, c, now_ms, NULL);
    return cluster_view(c, w->in, world_report_of, w);
}

void world_cluster_ctx_name(const struct cluster *c, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s/%s", c->ns, c->name);
}

/* ---- open, free ---------------------------------------------------------------------- */

static int world_load_report(void *data, const char *node, const char *json)
{
    struct world *w = data;
    struct proto_report *rep = xcalloc(1, sizeof(*rep));
    struct errbuf eb = {{0}};
    struct world_node *n;

    if (proto_report_decode(json, strlen(json), rep, &eb) < 0) {
        slog_warn(LOG_CTX({"node", node}), "ignoring the stored report of node %s: %s", node,
                  eb.msg);
        free(rep);
        return 0;
    }
    n = world_node_get(w, node);
    free(n->report);
    n->report = rep; /* last_ms stays 0: seen "at the start" (decide.h's grace) */
    return 0;
}

static int world_load_desired(void *data, const char *node, uint64_t generation,
                              const char *content)
{
    struct world_node *n = world_node_get(data, node);

    n->generation = generation;
    free(n->content);
    n->content = xstrdup(content);
    return 0;
}

/* Stored switchover start times are wall clock; decide wants the loop's monotonic clock. */
static void world_convert_switchover(struct world *w, struct cluster *c)
{
    uint64_t wall = clock_wall_ms(), started = c->switchover.started_ms;
    uint64_t age = wall > started ? wall - started : 0;

    if (c->switchover.phase == DECIDE_SWITCHOVER_PHASE_NONE) {
        c->switchover.started_ms = 0;
        return;
    }
    c->switchover.started_ms = w->start_ms > age ? w->start_ms - age : 0;
}

static int world_load(struct world *w, struct errbuf *eb)
{
    struct store_agent *agents = NULL;
    uint32_t n_agents = 0;
    int r = store_cluster_load_all(w->st, &w->clusters, &w->n_clusters, eb);

    if (r == 0) {
        r = store_agent_reports(w->st, world_load_report, w, eb);
    }
    if (r == 0) {
        r = store_desired_list(w->st, world_load_desired, w, eb);
    }
    if (r == 0) {
        r = store_agent_list(w->st, &agents, &n_agents, eb);
    }
    if (r < 0) {
        return r;
    }
    for (uint32_t i = 0; i < n_agents; i++) {
        struct world_node *n = world_node_get(w, agents[i].node);
        n->has_agent = true;
        n->agent = agents[i];
    }
    free(agents);
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        struct cluster *c = w->clusters[i];
        world_convert_switchover(w, c);
        for (uint32_t k = 0; k < c->n_members; k++) {
            (void) world_node_get(w, c->members[k].node);
        }
    }
    w->desired_dirty = true;
    return 0;
}

int world_open(struct store *st, uint64_t start_ms, uint32_t heartbeat_ms, struct world **ret,
               struct errbuf *eb)
{
    struct world *w = xcalloc(1, sizeof(*w));
    int r;

    w->st = st;
    w->start_ms = start_ms;
    w->heartbeat_ms = heartbeat_ms;
    w->desired = xcalloc(1, sizeof(*w->desired));
    w->in = xcalloc(1, sizeof(*w->in));
    w->res = xcalloc(1, sizeof(*w->res));
    r = world_load(w, eb);
    if (r < 0) {
        world_free(w);
        return r;
    }
    slog_info(LOG_CTX({"clusters", w->n_clusters ? "loaded" : "none"}),
              "loaded %" PRIu32 " cluster(s) and %" PRIu32 " node(s) from the store", w->n_clusters,
              w->n_nodes);
    *ret = w;
    return 0;
}

void world_free(struct world *w)
{
    if (!w) {
        return;
    }
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        cluster_free(w->clusters[i]);
    }
    for (uint32_t i = 0; i < w->n_nodes; i++) {
        world_node_free(w->nodes[i]);
    }
    free(w->clusters);
    free(w->nodes);
    free(w->desired);
    free(w->in);
    free(w->res);
    free(w);
}

/* ---- reports ------------------------------------------------------------------------- */

/* The primary views a report changes, saved so a failed transaction can be undone. */
struct world_view_undo {
    struct cluster *c;
    uint64_t primary_last_lsn;
    struct syncnames was_sync;
};

static int world_report_write(struct world *w, const struct proto_report *rep, const char *json,
                              const struct store_agent *agent, struct world_view_undo *undo,
                              uint32_t n_undo, struct errbuf *eb)
{
    int r = store_begin(w->st, eb);

    if (r == 0) {
        r = store_agent_save(w->st, agent, json, eb);
    }
    for (uint32_t i = 0; r == 0 && i < w->n_clusters; i++) {
        const struct cluster *c = w->clusters[i];
        for (uint32_t k = 0; r == 0 && k < c->n_members; k++) {
            const struct cluster_member *m = &c->members[k];
            if (!m->reported && str_eq(m->node, rep->node)) {
                r = store_member_reported(w->st, c->id, m->name, eb);
            }
        }
    }
    for (uint32_t i = 0; r == 0 && i < n_undo; i++) {
        r = store_cluster_observed(w->st, undo[i].c, eb);
    }
    if (r == 0) {
        r = store_commit(w->st, eb);
    } else {
        store_rollback(w->st);
    }
    return r;
}

int world_report(struct world *w, const struct proto_report *rep, const char *json, uint64_t now_ms,
                 struct errbuf *eb)
{
    struct world_view_undo *undo = xcalloc(w->n_clusters + 1, sizeof(*undo));
    struct store_agent agent = {0};
    struct world_node *n;
    uint32_t n_undo = 0;
    int r;

    (void) str_copy(agent.node, sizeof(agent.node), rep->node);
    (void) str_copy(agent.agent_id, sizeof(agent.agent_id), rep->agent_id);
    agent.seq = rep->seq;
    agent.last_seen_wall_ms = clock_wall_ms();
    agent.instances = rep->n_instances;
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        struct cluster *c = w->clusters[i];
        struct cluster_member *p = cluster_find_member(c, c->primary);
        struct world_view_undo u = {c, c->primary_last_lsn, c->was_sync};

        if (p && str_eq(p->node, rep->node) &&
            cluster_observe_primary(c, cluster_find_instance(rep, c->ns, c->name, p->name))) {
            undo[n_undo++] = u;
        }
    }
    r = world_report_write(w, rep, json, &agent, undo, n_undo, eb);
    if (r < 0) {
        for (uint32_t i = 0; i < n_undo; i++) {
            undo[i].c->primary_last_lsn = undo[i].primary_last_lsn;
            undo[i].c->was_sync = undo[i].was_sync;
        }
        free(undo);
        return r;
    }
    free(undo);
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        struct cluster *c = w->clusters[i];
        for (uint32_t k = 0; k < c->n_members; k++) {
            c->members[k].reported =
                    c->members[k].reported || str_eq(c->members[k].node, rep->node);
        }
    }
    n = world_node_get(w, rep->node);
    if (!n->report) {
        n->report = xcalloc(1, sizeof(*n->report));
    }
    memcpy(n->report, rep, sizeof(*rep));
    n->last_ms = now_ms;
    n->has_agent = true;
    n->agent = agent;
    return 0;
}

/* ---- decisions ----------------------------------------------------------------------- */

/* "demo-0 primary/running 0/3000060, demo-1 standby/running 0/3000060 streaming, ..." */
static void world_facts_text(const struct decide_input *in, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < in->n_members && len < size; i++) {
        const struct decide_member *m = &in->members[i];
        char lsn[24];
        bool alive = decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms);
        int k;

        str_format_lsn(m->role == PROTO_ROLE_PRIMARY ? m->current_lsn : m->received_lsn, lsn,
                       sizeof(lsn));
        k = snprintf(buf + len, size - len, "%s%s %s/%s %s%s%s", i ? ", " : "", m->name,
                     proto_role_to_string(m->role),
                     alive ? proto_state_to_string(m->state) : "lost", lsn,
                     m->streaming ? " streaming" : "", m->was_sync ? " sync" : "");
        if (k < 0) {
            break;
        }
        len += (size_t) k;
    }
}

static void world_log_decision(const struct cluster *c, const struct decide_input *in,
                               const struct decide_result *res, bool stored)
{
    char name[2 * PROTO_NAME_MAX + 2], epoch[24], facts[WORLD_FACTS_MAX];
    const char *verdict = decide_verdict_to_string(res->verdict);
    const struct log_ctx *ctx;

    world_cluster_ctx_name(c, name, sizeof(name));
    (void) snprintf(epoch, sizeof(epoch), "%" PRIu64, res->new_epoch);
    world_facts_text(in, facts, sizeof(facts));
    ctx = LOG_CTX({"cluster", name}, {"rule", res->rule_id}, {"verdict", verdict}, {"epoch", epoch},
                  {"primary", res->primary}, {"target", res->target},
                  {"stored", stored ? "yes" : "no"}, {"facts", facts});
    if (res->verdict == DECIDE_VERDICT_WAIT || res->verdict == DECIDE_VERDICT_REFUSE) {
        slog_warn(ctx, "%s", res->reason);
    } else {
        slog_info(ctx, "%s", res->reason);
    }
}

/* What cluster_apply_result changes, to undo it when the transaction fails. */
struct world_undo {
    uint64_t epoch;
    char primary[PROTO_NAME_MAX + 1];
    struct syncnames sync, was_sync;
    struct decide_switchover switchover;
    uint64_t primary_last_lsn;
    enum proto_role assigned[DECIDE_MAX_MEMBERS];
    struct decide_desired desired[DECIDE_MAX_MEMBERS];
};

static void world_undo_save(const struct cluster *c, struct world_undo *u)
{
    u->epoch = c->epoch;
    (void) str_copy(u->primary, sizeof(u->primary), c->primary);
    u->sync = c->sync;
    u->was_sync = c->was_sync;
    u->switchover = c->switchover;
    u->primary_last_lsn = c->primary_last_lsn;
    for (uint32_t i = 0; i < c->n_members; i++) {
        u->assigned[i] = c->members[i].assigned;
        u->desired[i] = c->members[i].desired;
    }
}

static void world_undo_restore(struct cluster *c, const struct world_undo *u)
{
    c->epoch = u->epoch;
    (void) str_copy(c->primary, sizeof(c->primary), u->primary);
    c->sync = u->sync;
    c->was_sync = u->was_sync;
    c->switchover = u->switchover;
    c->primary_last_lsn = u->primary_last_lsn;
    for (uint32_t i = 0; i < c->n_members; i++) {
        c->members[i].assigned = u->assigned[i];
        c->members[i].desired = u->desired[i];
    }
}

static void world_history_of(const struct decide_result *res, struct store_history *h)
{
    memset(h, 0, sizeof(*h));
    h->time_wall_ms = clock_wall_ms();
    h->epoch = res->new_epoch;
    (void) str_copy(h->rule, sizeof(h->rule), res->rule_id);
    (void) str_copy(h->verdict, sizeof(h->verdict), decide_verdict_to_string(res->verdict));
    (void) str_copy(h->reason, sizeof(h->reason), res->reason);
    (void) str_copy(h->primary, sizeof(h->primary), res->primary);
}

static int world_commit_write(struct world *w, const struct cluster *c, bool store, bool record,
                              const struct store_history *h, uint64_t now_ms, struct errbuf *eb)
{
    uint64_t age = now_ms > c->switchover.started_ms ? now_ms - c->switchover.started_ms : 0;
    uint64_t wall = clock_wall_ms();
    int r = store_begin(w->st, eb);

    if (r == 0 && store) {
        r = store_cluster_decision(
                w->st, c, c->switchover.phase == DECIDE_SWITCHOVER_PHASE_NONE ? 0 : wall - age, eb);
    }
    if (r == 0 && record) {
        r = store_history_add(w->st, c->id, h, eb);
    }
    if (r == 0) {
        return store_commit(w->st, eb);
    }
    store_rollback(w->st);
    return r;
}

/*
 * Persists res (decided on w->in) when it changes the stored state or the orders and apply
 * is set, and records it when it is new or force_record is set: one transaction, the epoch
 * first. Returns 0 or -errno (logged; the cluster is left as it was).
 */
int world_commit(struct world *w, struct cluster *c, const struct decide_result *res,
                 uint64_t now_ms, bool apply, bool force_record)
{
    bool store = apply && (res->changed || cluster_orders_differ(c, res));
    bool record = force_record || res->changed || !str_eq(res->rule_id, c->last_rule) ||
                  res->verdict != c->last_verdict || !str_eq(res->target, c->last_target);
    struct world_undo *undo;
    struct store_history h;
    struct errbuf eb = {{0}};
    int r;

    if (!store && !record) {
        return 0;
    }
    undo = xmalloc(sizeof(*undo));
    world_undo_save(c, undo);
    if (store) {
        cluster_apply_result(c, res);
    }
    world_history_of(res, &h);
    r = world_commit_write(w, c, store, record, &h, now_ms, &eb);
    if (r < 0) {
        char name[2 * PROTO_NAME_MAX + 2];
        world_undo_restore(c, undo);
        free(undo);
        world_cluster_ctx_name(c, name, sizeof(name));
        return slog_error_errno(LOG_CTX({"cluster", name}, {"rule", res->rule_id}), r, &eb,
                                "storing the decision failed; nothing is sent: %s", res->reason);
    }
    free(undo);
    if (record) {
        world_log_decision(c, w->in, res, store);
        (void) str_copy(c->last_rule, sizeof(c->last_rule), res->rule_id);
        c->last_verdict = res->verdict;
        (void) str_copy(c->last_target, sizeof(c->last_target), res->target);
        (void) str_copy(c->last_reason, sizeof(c->last_reason), res->reason);
    }
    w->desired_dirty = w->desired_dirty || store;
    return 0;
}

/* ---- desired states ------------------------------------------------------------------ */

/* A desired state persisted in the current transaction, applied once it commits. */
struct world_pending {
    struct world_node *n;
    uint64_t generation;
    char *content, *answer;
};

/*
 * proto_desired_init on w->desired, zeroing only what the last build wrote: its header and
 * its first n_instances entries (cluster_desired_add writes no entry past the count it
 * keeps). The rest is still as xcalloc left it, so its pages (~850 KiB for 32 instances)
 * never become resident; a full memset would touch them all on every build.
 */
static void world_desired_reset(struct proto_desired *d)
{
    uint32_t n = d->n_instances < PROTO_MAX_INSTANCES ? d->n_instances : PROTO_MAX_INSTANCES;

    memset(d, 0, offsetof(struct proto_desired, instances) + n * sizeof(d->instances[0]));
    d->version = PROTO_VERSION;
}

/* Builds node n's desired state into w->desired; 0 or -EINVAL (logged) when it is invalid. */
static int world_build_desired(struct world *w, const struct world_node *n)
{
    struct proto_desired *d = w->desired;
    struct errbuf eb = {{0}};
    int r = 0;

    world_desired_reset(d);
    (void) str_copy(d->node, sizeof(d->node), n->node);
    d->heartbeat_ms = w->heartbeat_ms;
    for (uint32_t i = 0; i < w->n_clusters && r == 0; i++) {
        r = cluster_desired_add(w->clusters[i], d);
    }
    if (r < 0) {
        errbuf_set(&eb, "more than %d instances", PROTO_MAX_INSTANCES);
    } else {
        r = proto_desired_validate(d, &eb);
    }
    if (r < 0) {
        return slog_error_errno(LOG_CTX({"node", n->node}), r, &eb,
                                "the desired state of node %s is invalid; keeping the last one",
                                n->node);
    }
    return 0;
}

static void world_apply_pending(struct world_pending *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(p[i].n->content);
        free(p[i].n->answer);
        p[i].n->content = p[i].content;
        p[i].n->answer = p[i].answer;
        if (p[i].n->generation != p[i].generation) {
            slog_info(LOG_CTX({"node", p[i].n->node}),
                      "desired state of node %s: generation %" PRIu64, p[i].n->node,
                      p[i].generation);
        }
        p[i].n->generation = p[i].generation;
    }
}

static int world_update_desired(struct world *w)
{
    struct world_pending *p = xcalloc(w->n_nodes + 1, sizeof(*p));
    struct errbuf eb = {{0}};
    uint32_t n = 0;
    bool tx = false;
    int r = 0;

    for (uint32_t i = 0; i < w->n_nodes && r == 0; i++) {
        struct world_node *node = w->nodes[i];
        char *content;

        if (world_build_desired(w, node) < 0) {
            continue;
        }
        w->desired->generation = 0;
        content = proto_desired_encode(w->desired);
        if (node->content && str_eq(content, node->content) && node->answer) {
            free(content);
            continue;
        }
        p[n].n = node;
        p[n].content = content;
        p[n].generation = node->content && str_eq(content, node->content) ? node->generation
                                                                          : node->generation + 1;
        w->desired->generation = p[n].generation;
        p[n].answer = proto_desired_encode(w->desired);
        if (p[n].generation != node->generation) {
            r = tx ? 0 : store_begin(w->st, &eb);
            tx = tx || r == 0;
            if (r == 0) {
                r = store_desired_save(w->st, node->node, p[n].generation, content, &eb);
            }
        }
        n++;
    }
    if (tx && r == 0) {
        r = store_commit(w->st, &eb);
    } else if (tx) {
        store_rollback(w->st);
    }
    if (r < 0) {
        for (uint32_t i = 0; i < n; i++) {
            free(p[i].content);
            free(p[i].answer);
        }
        free(p);
        return log_error_errno(r, &eb, "storing the desired states failed; nothing is sent");
    }
    world_apply_pending(p, n);
    free(p);
    w->desired_dirty = false;
    return 0;
}

bool world_settle(struct world *w, uint64_t now_ms)
{
    bool desired = w->desired_dirty;

    for (uint32_t i = 0; i < w->n_clusters; i++) {
        struct cluster *c = w->clusters[i];
        world_facts(w, c, now_ms, NULL);
        if (c->deleting) {
            /* No decisions any more: the instances stop, then the cluster goes. */
            if (world_delete_done(w->in)) {
                uint32_t before = w->n_clusters;
                world_remove_cluster(w, i, "deleted: every instance stopped, data kept");
                if (w->n_clusters < before) {
                    i--;
                }
            }
            continue;
        }
        decide_failover(w->in, w->res);
        (void) world_commit(w, c, w->res, now_ms, true, false);
    }
    if (w->desired_dirty) {
        (void) world_update_desired(w);
    }
    return desired || w->desired_dirty;
}

/* ---- snapshot ------------------------------------------------------------------------ */

static uint32_t world_hold_cap(const struct world *w, const char *node)
{
    uint64_t cap = WORLD_HOLD_MAX_MS;

    /* Half the losttimeout: a held agent reports again long before it could look lost. */
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        const struct cluster *c = w->clusters[i];
        if (cluster_count_on_node(c, node) > 0 && c->spec.ha.lost_timeout_ms / 2 < cap) {
            cap = c->spec.ha.lost_timeout_ms / 2;
        }
    }
    return (uint32_t) cap;
}

struct world_snapshot *world_snapshot(struct world *w, uint64_t now_ms)
{
    struct world_snapshot *s = xcalloc(1, sizeof(*s));

    s->clusters = xcalloc(w->n_clusters + 1, sizeof(*s->clusters));
    for (uint32_t i = 0; i < w->n_clusters; i++) {
        const struct cluster *c = w->clusters[i];
        struct world_snap_cluster *sc = &s->clusters[s->n_clusters++];
        cJSON *view = world_view(w, c, now_ms);

        (void) str_copy(sc->ns, sizeof(sc->ns), c->ns);
        (void) str_copy(sc->name, sizeof(sc->name), c->name);
        (void) str_copy(sc->password, sizeof(sc->password), c->password);
        sc->view = json_print(view);
        cJSON_Delete(view);
    }
    s->nodes = xcalloc(w->n_nodes + 1, sizeof(*s->nodes));
    for (uint32_t i = 0; i < w->n_nodes; i++) {
        const struct world_node *n = w->nodes[i];
        struct world_snap_node *sn = &s->nodes[s->n_nodes++];

        (void) str_copy(sn->node, sizeof(sn->node), n->node);
        sn->generation = n->generation;
        sn->answer = n->answer ? xstrdup(n->answer) : NULL;
        sn->hold_cap_ms = world_hold_cap(w, n->node);
        sn->has_agent = n->has_agent;
        sn->agent = n->agent;
    }
    return s;
}

void world_snapshot_free(struct world_snapshot *s)
{
    if (!s) {
        return;
    }
    for (uint32_t i = 0; i < s->n_clusters; i++) {
        free(s->clusters[i].view);
    }
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        free(s->nodes[i].answer);
    }
    free(s->clusters);
    free(s->nodes);
    free(s);
}

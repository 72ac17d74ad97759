/*
 * arbiter/cluster.c
 *
 * The in-memory cluster and its pure derivations (see cluster.h): facts for decide, a
 * decision applied, the orders of each node's agent, the user-facing state and view.
 *
 * Layer: core
 */
#include "arbiter/cluster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

struct cluster *cluster_new(void)
{
    return xcalloc(1, sizeof(struct cluster));
}

void cluster_free(struct cluster *c)
{
    if (!c) {
        return;
    }
    free(c->spec_json);
    free(c);
}

struct cluster_member *cluster_find_member(struct cluster *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_members && !str_is_empty(name); i++) {
        if (str_eq(c->members[i].name, name)) {
            return &c->members[i];
        }
    }
    return NULL;
}

static const struct cluster_member *cluster_member_const(const struct cluster *c, const char *name)
{
    return cluster_find_member((struct cluster *) c, name);
}

const struct proto_instance_report *cluster_find_instance(const struct proto_report *r,
                                                          const char *ns, const char *cluster,
                                                          const char *member)
{
    for (uint32_t i = 0; r && i < r->n_instances && i < PROTO_MAX_INSTANCES; i++) {
        const struct proto_instance_report *in = &r->instances[i];
        if (str_eq(in->member, member) && str_eq(in->cluster, cluster) &&
            str_eq(in->namespace_, ns)) {
            return in;
        }
    }
    return NULL;
}

void cluster_set_members(struct cluster *c, const struct spec *spec,
                         char names[][PROTO_NAME_MAX + 1])
{
    struct cluster_member *next = xcalloc(DECIDE_MAX_MEMBERS, sizeof(*next));

    for (uint32_t i = 0; i < spec->n_members && i < DECIDE_MAX_MEMBERS; i++) {
        const struct cluster_member *old = cluster_member_const(c, names[i]);
        struct cluster_member *m = &next[i];

        if (old && str_eq(old->node, spec->members[i].nodename)) {
            *m = *old;
        } else {
            memset(m, 0, sizeof(*m));
        }
        (void) str_copy(m->name, sizeof(m->name), names[i]);
        (void) str_copy(m->node, sizeof(m->node), spec->members[i].nodename);
        (void) str_copy(m->ip, sizeof(m->ip), spec->members[i].ip);
        m->port = spec->dbport;
        m->order = i;
    }
    memcpy(c->members, next, DECIDE_MAX_MEMBERS * sizeof(*next));
    c->n_members = spec->n_members;
    if (&c->spec != spec) {
        memcpy(&c->spec, spec, sizeof(c->spec));
    }
    free(next);
}

/* ---- facts --------------------------------------------------------------------------- */

static void cluster_member_facts(const struct cluster *c, const struct cluster_member *cm,
                                 cluster_report_fn reports, void *data, uint64_t start_ms,
                                 struct decide_member *m)
{
    uint64_t last_ms = 0;
    const struct proto_report *r = reports(data, cm->node, &last_ms);
    const struct proto_instance_report *in = cluster_find_instance(r, c->ns, c->name, cm->name);

    (void) str_copy(m->name, sizeof(m->name), cm->name);
    (void) str_copy(m->node, sizeof(m->node), cm->node);
    m->order = cm->order;
    m->assigned = cm->assigned;
    m->reported = cm->reported;
    m->last_seen_ms = last_ms > start_ms ? last_ms : start_ms;
    m->was_sync = syncnames_has(&c->was_sync, cm->name);
    if (!in) {
        return; /* the agent has no such instance (yet): role and state unknown */
    }
    m->epoch = in->epoch;
    m->role = in->role;
    m->state = in->state;
    m->timeline = in->timeline;
    m->received_lsn = in->received_lsn;
    m->replayed_lsn = in->replayed_lsn;
    m->current_lsn = in->current_lsn;
    m->restarts = in->restarts;
    m->streaming = in->role == PROTO_ROLE_STANDBY && in->state == PROTO_STATE_RUNNING &&
                   !str_is_empty(c->primary) && str_eq(in->upstream, c->primary);
}

void cluster_facts(const struct cluster *c, cluster_report_fn reports, void *data, uint64_t now_ms,
                   uint64_t start_ms, const struct decide_manual_failover *manual,
                   struct decide_input *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->now_ms = now_ms;
    ret->policy.sync_replicas = c->spec.ha.sync_replicas;
    ret->policy.restart_limit = c->spec.ha.restart_limit;
    ret->policy.lost_timeout_ms = c->spec.ha.lost_timeout_ms;
    ret->policy.max_lag_bytes = c->spec.ha.max_lag_bytes;
    ret->policy.maintenance = c->spec.maintenance;
    ret->epoch = c->epoch;
    (void) str_copy(ret->primary, sizeof(ret->primary), c->primary);
    ret->primary_last_lsn = c->primary_last_lsn;
    ret->sync_in_force = c->sync_in_force;
    /* Agents started together report in any order: give the first in iplist order a chance. */
    ret->bootstrap_until_ms =
            (c->declared_ms > start_ms ? c->declared_ms : start_ms) + c->spec.ha.lost_timeout_ms;
    ret->sync = c->sync;
    ret->switchover = c->switchover;
    if (manual) {
        ret->manual = *manual;
    }
    ret->n_members = c->n_members;
    for (uint32_t i = 0; i < c->n_members; i++) {
        cluster_member_facts(c, &c->members[i], reports, data, start_ms, &ret->members[i]);
    }
}

/* ---- decisions ----------------------------------------------------------------------- */

static bool desired_equal(const struct decide_desired *a, const struct decide_desired *b)
{
    return a->role == b->role && a->state == b->state && str_eq(a->upstream, b->upstream) &&
           a->rebuild == b->rebuild;
}

bool cluster_orders_differ(const struct cluster *c, const struct decide_result *res)
{
    if (res->n_members != c->n_members) {
        return res->n_members != 0;
    }
    for (uint32_t i = 0; i < res->n_members; i++) {
        if (!desired_equal(&c->members[i].desired, &res->members[i])) {
            return true;
        }
    }
    return false;
}

void cluster_apply_result(struct cluster *c, const struct decide_result *res)
{
    if (res->n_members == 0) {
        return; /* refused input: nothing decided */
    }
    if (!str_eq(res->primary, c->primary)) {
        c->primary_last_lsn = 0;
        memset(&c->was_sync, 0, sizeof(c->was_sync));
        c->sync_in_force = false;
    }
    c->epoch = res->new_epoch;
    (void) str_copy(c->primary, sizeof(c->primary), res->primary);
    c->sync = res->sync;
    c->switchover = res->switchover;
    for (uint32_t i = 0; i < res->n_members && i < c->n_members; i++) {
        c->members[i].assigned = res->members[i].role;
        c->members[i].desired = res->members[i];
    }
}

bool cluster_observe_primary(struct cluster *c, const struct proto_instance_report *inst)
{
    struct syncnames seen;
    char want[PROTO_SSN_MAX + 1];
    bool changed, in_force;

    if (!inst || str_is_empty(c->primary) || !str_eq(inst->member, c->primary) ||
        inst->role != PROTO_ROLE_PRIMARY || inst->state != PROTO_STATE_RUNNING) {
        return false;
    }
    memset(&seen, 0, sizeof(seen));
    for (uint32_t i = 0; i < inst->n_replicas && i < PROTO_MAX_REPLICAS; i++) {
        const struct proto_replica *rp = &inst->replicas[i];
        if ((rp->sync == PROTO_SYNC_STATE_SYNC || rp->sync == PROTO_SYNC_STATE_QUORUM) &&
            seen.n_names < PROTO_MAX_SYNC) {
            (void) str_copy(seen.names[seen.n_names++], sizeof(seen.names[0]), rp->name);
        }
    }
    /* What the primary had applied proves the quorum argument (decide.h, sync_in_force). */
    in_force = syncnames_format(&c->sync, want, sizeof(want)) == 0 && want[0] &&
               str_eq(inst->sync_standby_names, want);
    changed = !syncnames_equal(&seen, &c->was_sync) || in_force != c->sync_in_force ||
              (inst->current_lsn != 0 && inst->current_lsn != c->primary_last_lsn);
    c->was_sync = seen;
    c->sync_in_force = in_force;
    if (inst->current_lsn != 0) {
        c->primary_last_lsn = inst->current_lsn;
    }
    return changed;
}

/* ---- orders -------------------------------------------------------------------------- */

static void cluster_fill_instance(const struct cluster *c, const struct cluster_member *m,
                                  struct proto_instance_desired *d)
{
    const struct cluster_member *up = cluster_member_const(c, m->desired.upstream);

    memset(d, 0, sizeof(*d));
    (void) str_copy(d->namespace_, sizeof(d->namespace_), c->ns);
    (void) str_copy(d->cluster, sizeof(d->cluster), c->name);
    (void) str_copy(d->member, sizeof(d->member), m->name);
    d->epoch = c->epoch;
    /* Before bootstrap the only order is "fenced" for an instance running as primary. */
    d->role = m->desired.role == PROTO_ROLE_UNKNOWN ? PROTO_ROLE_STANDBY : m->desired.role;
    /* Deleting: every instance stops (data kept), whatever it was ordered before. */
    d->state = c->deleting ? PROTO_STATE_STOPPED : m->desired.state;
    (void) str_copy(d->ip, sizeof(d->ip), m->ip);
    d->port = m->port;
    if (up && up != m && d->role != PROTO_ROLE_PRIMARY) {
        d->has_upstream = true;
        (void) str_copy(d->upstream.member, sizeof(d->upstream.member), up->name);
        (void) str_copy(d->upstream.host, sizeof(d->upstream.host), up->ip);
        d->upstream.port = up->port;
        d->rebuild = m->desired.rebuild;
    }
    if (d->role == PROTO_ROLE_PRIMARY) {
        d->sync.num = c->sync.num;
        d->sync.n_names = c->sync.n_names;
        memcpy(d->sync.names, c->sync.names, sizeof(d->sync.names));
    }
    /* pg_hba admits replication from the members' addresses only (DESIGN.md "Security"). */
    d->has_peers = true;
    for (uint32_t i = 0; i < c->n_members && d->n_peers < PROTO_MAX_PEERS; i++) {
        const struct cluster_member *p = &c->members[i];
        if (p == m) {
            continue;
        }
        (void) str_copy(d->peers[d->n_peers].name, sizeof(d->peers[d->n_peers].name), p->name);
        (void) str_copy(d->peers[d->n_peers].ip, sizeof(d->peers[d->n_peers].ip), p->ip);
        d->peers[d->n_peers].port = p->port;
        d->n_peers++;
    }
    d->storage_bytes = c->spec.storage_bytes;
    d->maintenance = c->spec.maintenance;
    d->restart_limit = c->spec.ha.restart_limit;
    d->restart_window_ms = c->spec.ha.restart_window_ms;
    d->lost_timeout_ms = c->spec.ha.lost_timeout_ms;
    (void) str_copy(d->auth_user, sizeof(d->auth_user), CLUSTER_SUPERUSER);
    (void) str_copy(d->auth_password, sizeof(d->auth_password), c->password);
    d->n_config = c->spec.n_config;
    memcpy(d->config, c->spec.config, sizeof(d->config));
}

int cluster_desired_add(const struct cluster *c, struct proto_desired *d)
{
    for (uint32_t i = 0; i < c->n_members; i++) {
        const struct cluster_member *m = &c->members[i];

        if (!str_eq(m->node, d->node) || m->desired.state == PROTO_STATE_UNKNOWN) {
            continue;
        }
        if (d->n_instances >= PROTO_MAX_INSTANCES) {
            return -ENOSPC;
        }
        cluster_fill_instance(c, m, &d->instances[d->n_instances++]);
    }
    return 0;
}

uint32_t cluster_count_on_node(const struct cluster *c, const char *node)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < c->n_members; i++) {
        n += str_eq(c->members[i].node, node);
    }
    return n;
}

/* ---- state and view ------------------------------------------------------------------ */

static bool cluster_member_ok(const struct decide_input *in, const struct decide_member *m,
                              enum proto_role role)
{
    return decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms) &&
           m->state == PROTO_STATE_RUNNING && m->role == role;
}

static enum cluster_state cluster_standbys_state(const struct decide_input *in, int primary)
{
    bool busy = false, down = false;

    for (int i = 0; i < (int) in->n_members; i++) {
        const struct decide_member *m = &in->members[i];

        if (i == primary || cluster_member_ok(in, m, PROTO_ROLE_STANDBY)) {
            continue;
        }
        if (!m->reported || m->state == PROTO_STATE_UNKNOWN || m->state == PROTO_STATE_CREATING ||
            m->state == PROTO_STATE_REBUILDING ||
            (m->state == PROTO_STATE_RUNNING &&
             decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms))) {
            busy = true; /* being created, rebuilt, or not yet in its new role */
        } else {
            down = true;
        }
    }
    return down ? CLUSTER_STATE_RECOVERING : busy ? CLUSTER_STATE_UPDATING : CLUSTER_STATE_READY;
}

enum cluster_state cluster_state_of(const struct cluster *c, const struct decide_input *in)
{
    const struct decide_member *p = NULL;
    int primary = -1;

    if (c->spec.maintenance) {
        return CLUSTER_STATE_MAINTAINING;
    }
    if (in->epoch == 0) {
        return CLUSTER_STATE_CREATING;
    }
    if (in->switchover.phase == DECIDE_SWITCHOVER_PHASE_FENCING ||
        in->switchover.phase == DECIDE_SWITCHOVER_PHASE_CATCHUP) {
        return CLUSTER_STATE_UPDATING;
    }
    for (int i = 0; i < (int) in->n_members; i++) {
        if (str_eq(in->members[i].name, in->primary)) {
            primary = i;
            p = &in->members[i];
        }
    }
    if (!p || !decide_is_alive(p, in->now_ms, in->policy.lost_timeout_ms) ||
        p->state == PROTO_STATE_FAILED ||
        (p->state == PROTO_STATE_RESTARTING && p->restarts > in->policy.restart_limit)) {
        return CLUSTER_STATE_FAILED;
    }
    if (!cluster_member_ok(in, p, PROTO_ROLE_PRIMARY)) {
        /* Not serving yet: still being created, or restarting / being promoted. */
        return p->state == PROTO_STATE_UNKNOWN || p->state == PROTO_STATE_CREATING
                       ? CLUSTER_STATE_CREATING
                       : CLUSTER_STATE_RECOVERING;
    }
    return cluster_standbys_state(in, primary);
}

/* The primary's current LSN as it last reported it running as primary, or 0. */
static const struct proto_instance_report *
cluster_primary_report(const struct cluster *c, cluster_report_fn reports, void *data)
{
    const struct cluster_member *p = cluster_member_const(c, c->primary);
    const struct proto_instance_report *in;
    uint64_t last = 0;

    if (!p) {
        return NULL;
    }
    in = cluster_find_instance(reports(data, p->node, &last), c->ns, c->name, p->name);
    return in && in->role == PROTO_ROLE_PRIMARY ? in : NULL;
}

static void cluster_view_member(const struct cluster *c, const struct decide_input *in, uint32_t i,
                                const struct proto_instance_report *primary, cJSON *arr,
                                cluster_report_fn reports, void *data)
{
    const struct cluster_member *cm = &c->members[i];
    const struct decide_member *m = &in->members[i];
    uint64_t last = 0;
    const struct proto_instance_report *inst =
            cluster_find_instance(reports(data, cm->node, &last), c->ns, c->name, cm->name);
    bool lost = m->reported && !decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms);
    uint64_t lsn = m->role == PROTO_ROLE_PRIMARY ? m->current_lsn : m->received_lsn;
    cJSON *o = json_add_object(arr, NULL);
    const char *sync = NULL;

    json_add_str(o, "name", cm->name);
    json_add_str(o, "node", cm->node);
    json_add_str(o, "ip", cm->ip);
    json_add_u64(o, "port", cm->port);
    json_add_str(o, "role", proto_role_to_string(m->role));
    json_add_str(o, "state", proto_state_to_string(lost ? PROTO_STATE_LOST : m->state));
    json_add_u64(o, "pid", inst && inst->pid > 0 ? (uint64_t) inst->pid : 0);
    json_add_lsn(o, "lsn", lsn);
    if (primary && primary != inst && primary->current_lsn != 0 && m->received_lsn != 0) {
        json_add_u64(o, "lagbytes",
                     primary->current_lsn > m->received_lsn ? primary->current_lsn - m->received_lsn
                                                            : 0);
    } else {
        json_add_null(o, "lagbytes");
    }
    for (uint32_t k = 0; primary && k < primary->n_replicas && k < PROTO_MAX_REPLICAS; k++) {
        if (str_eq(primary->replicas[k].name, cm->name)) {
            sync = proto_sync_state_to_string(primary->replicas[k].sync);
        }
    }
    if (sync) {
        json_add_str(o, "sync", sync);
    } else {
        json_add_null(o, "sync");
    }
}

cJSON *cluster_view(const struct cluster *c, const struct decide_input *in,
                    cluster_report_fn reports, void *data)
{
    const struct proto_instance_report *primary = cluster_primary_report(c, reports, data);
    cJSON *o = json_new_object();
    cJSON *sw, *arr;

    json_add_str(o, "namespace", c->ns);
    json_add_str(o, "name", c->name);
    json_add_str(o, "state", cluster_state_to_string(cluster_state_of(c, in)));
    json_add_u64(o, "epoch", c->epoch);
    if (str_is_empty(c->primary)) {
        json_add_null(o, "primary");
    } else {
        json_add_str(o, "primary", c->primary);
    }
    json_add_bool(o, "maintenance", c->spec.maintenance);
    json_add_bool(o, "deleting", c->deleting);
    json_add_u64(o, "generation", c->generation);
    sw = json_add_object(o, "switchover");
    json_add_str(sw, "phase", decide_switchover_phase_to_string(c->switchover.phase));
    if (c->switchover.phase == DECIDE_SWITCHOVER_PHASE_NONE) {
        json_add_null(sw, "target");
    } else {
        json_add_str(sw, "target", c->switchover.target);
    }
    json_add_str(o, "message", c->last_reason);
    arr = json_add_array(o, "members");
    for (uint32_t i = 0; i < c->n_members && i < in->n_members; i++) {
        cluster_view_member(c, in, i, primary, arr, reports, data);
    }
    return o;
}

const char *cluster_state_to_string(enum cluster_state v)
{
    switch (v) {
    case CLUSTER_STATE_CREATING:
        return "creating";
    case CLUSTER_STATE_READY:
        return "ready";
    case CLUSTER_STATE_UPDATING:
        return "updating";
    case CLUSTER_STATE_FAILED:
        return "failed";
    case CLUSTER_STATE_MAINTAINING:
        return "maintaining";
    case CLUSTER_STATE_RECOVERING:
        return "recovering";
    case CLUSTER_STATE_UNKNOWN:
    case _CLUSTER_STATE_MAX:
        break;
    }
    return "unknown";
}

int cluster_state_from_string(const char *s, enum cluster_state *ret)
{
    for (int v = CLUSTER_STATE_UNKNOWN + 1; v < _CLUSTER_STATE_MAX; v++) {
        if (str_eq(s, cluster_state_to_string((enum cluster_state) v))) {
            *ret = (enum cluster_state) v;
            return 0;
        }
    }
    return -EINVAL;
}

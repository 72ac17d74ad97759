/*
 * arbiter/world_cmd.c
 *
 * Layer: shell. The API's commands on the loop's world (see world_cmd.h). Stateful checks
 * live here (immutable fields, addresses used by other clusters, instances per node, the
 * member-name map); the pure checks of a spec are spec_parse's, done on the handler's
 * thread before the command is queued. Each change is one transaction with its history row.
 */
#include "arbiter/world_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter/cluster.h"
#include "arbiter/secret.h"
#include "arbiter/world_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

/* ---- answers ------------------------------------------------------------------------- */

static void answer_error(struct world_cmd_answer *a, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void answer_error(struct world_cmd_answer *a, int status, const char *fmt, ...)
{
    va_list ap;

    a->status = status;
    a->body = NULL;
    va_start(ap, fmt);
    (void) vsnprintf(a->error, sizeof(a->error), fmt, ap);
    va_end(ap);
}

static void answer_json(struct world_cmd_answer *a, int status, cJSON *take_body)
{
    a->status = status;
    a->body = take_body;
    a->error[0] = '\0';
}

void world_cmd_answer_done(struct world_cmd_answer *a)
{
    if (!a) {
        return;
    }
    cJSON_Delete(a->body);
    a->body = NULL;
}

static bool answer_not_found(struct world_cmd_answer *a, const struct cluster *c, const char *ns,
                             const char *name)
{
    if (c) {
        return false;
    }
    answer_error(a, 404, "cluster %s/%s not found", ns, name);
    return true;
}

/* As answer_not_found, and 409 for a cluster whose deletion is under way. */
static bool answer_unusable(struct world_cmd_answer *a, const struct cluster *c, const char *ns,
                            const char *name)
{
    if (answer_not_found(a, c, ns, name)) {
        return true;
    }
    if (c->deleting) {
        answer_error(a, 409, "cluster %s/%s is being deleted (its instances are stopping)", ns,
                     name);
        return true;
    }
    return false;
}

/* {"operation": op, "cluster": "ns/name", "target": t|null, "message": m} */
static cJSON *accepted(const struct cluster *c, const char *op, const char *target,
                       const char *message)
{
    char name[2 * PROTO_NAME_MAX + 2];
    cJSON *o = json_new_object();

    world_cluster_ctx_name(c, name, sizeof(name));
    json_add_str(o, "operation", op);
    json_add_str(o, "cluster", name);
    if (str_is_empty(target)) {
        json_add_null(o, "target");
    } else {
        json_add_str(o, "target", target);
    }
    json_add_str(o, "message", message);
    return o;
}

/* An API event: a history row (rule "api") written in the caller's transaction. */
static int history_api(struct world *w, const struct cluster *c, const char *event,
                       const char *reason, struct errbuf *eb)
{
    struct store_history h;

    memset(&h, 0, sizeof(h));
    h.time_wall_ms = clock_wall_ms();
    h.epoch = c->epoch;
    (void) str_copy(h.rule, sizeof(h.rule), "api");
    (void) str_copy(h.verdict, sizeof(h.verdict), event);
    (void) str_copy(h.reason, sizeof(h.reason), reason);
    (void) str_copy(h.primary, sizeof(h.primary), c->primary);
    return store_history_add(w->st, c->id, &h, eb);
}

static void log_api(const struct cluster *c, const char *event, const char *reason)
{
    char name[2 * PROTO_NAME_MAX + 2];

    world_cluster_ctx_name(c, name, sizeof(name));
    slog_info(LOG_CTX({"cluster", name}, {"rule", "api"}, {"verdict", event}), "%s", reason);
}

/* Commits when r is 0, else rolls back; returns the outcome. */
static int finish_tx(struct world *w, int r, struct errbuf *eb)
{
    if (r == 0) {
        return store_commit(w->st, eb);
    }
    store_rollback(w->st);
    return r;
}

/* ---- PUT ----------------------------------------------------------------------------- */

/* The member of another cluster than self at ip and port, or NULL (and its cluster). */
static const struct cluster_member *put_find_address(const struct world *w,
                                                     const struct cluster *self, const char *ip,
                                                     uint32_t port, const struct cluster **ret)
{
    for (uint32_t k = 0; k < w->n_clusters; k++) {
        const struct cluster *o = w->clusters[k];
        for (uint32_t j = 0; o != self && j < o->n_members; j++) {
            if (str_eq(o->members[j].ip, ip) && o->members[j].port == port) {
                *ret = o;
                return &o->members[j];
            }
        }
    }
    return NULL;
}

/* Instances node would host with spec in place of self's members. */
static uint32_t put_count_on_node(const struct world *w, const struct cluster *self,
                                  const struct spec *spec, const char *node)
{
    uint32_t n = 0;

    for (uint32_t k = 0; k < spec->n_members; k++) {
        n += str_eq(spec->members[k].nodename, node);
    }
    for (uint32_t k = 0; k < w->n_clusters; k++) {
        n += w->clusters[k] == self ? 0 : cluster_count_on_node(w->clusters[k], node);
    }
    return n;
}

/* Another cluster's member at the same address and port, or a node over its instance cap. */
static int put_check_others(const struct world *w, const struct cluster *self,
                            const struct spec *spec, struct errbuf *eb)
{
    for (uint32_t i = 0; i < spec->n_members; i++) {
        const struct spec_member *sm = &spec->members[i];
        const struct cluster *o = NULL;
        const struct cluster_member *m = put_find_address(w, self, sm->ip, spec->dbport, &o);
        uint32_t on_node = put_count_on_node(w, self, spec, sm->nodename);

        if (m) {
            errbuf_set(eb,
                       "spec.iplist[%" PRIu32 "].ip: %s port %" PRIu32
                       " is used by member %s of %s/%s",
                       i, sm->ip, spec->dbport, m->name, o->ns, o->name);
            return -EINVAL;
        }
        if (on_node > PROTO_MAX_INSTANCES) {
            errbuf_set(eb,
                       "spec.iplist[%" PRIu32 "].nodename: node %s would host %" PRIu32
                       " instances, more than %d",
                       i, sm->nodename, on_node, PROTO_MAX_INSTANCES);
            return -EINVAL;
        }
    }
    return 0;
}

static void put_nodes(struct world *w, const struct cluster *c)
{
    for (uint32_t i = 0; i < c->n_members; i++) {
        (void) world_node_get(w, c->members[i].node);
    }
    w->desired_dirty = true;
}

/* An accepted PUT: the spec, its text, and the name map and member names it leads to. */
struct put_plan {
    const char *spec_json;
    const struct spec *spec;
    const struct spec_names *names;
    char (*member_names)[PROTO_NAME_MAX + 1];
    uint64_t now_ms;
};

static void put_create(struct world *w, const char *ns, const char *name, const struct put_plan *p,
                       struct world_cmd_answer *ret)
{
    struct cluster *c = cluster_new();
    struct errbuf eb = {{0}};
    char reason[DECIDE_REASON_MAX];
    int r = 0;

    (void) str_copy(c->ns, sizeof(c->ns), ns);
    (void) str_copy(c->name, sizeof(c->name), name);
    c->spec_json = xstrdup(p->spec_json);
    c->names = *p->names;
    cluster_set_members(c, p->spec, p->member_names);
    c->generation = 1;
    c->created_wall_ms = c->updated_wall_ms = clock_wall_ms();
    c->declared_ms = p->now_ms;
    if (p->spec->has_password) {
        (void) str_copy(c->password, sizeof(c->password), p->spec->password);
    } else {
        r = secret_password(c->password, sizeof(c->password), &eb);
    }
    (void) snprintf(reason, sizeof(reason), "cluster created with %" PRIu32 " member(s)",
                    c->n_members);
    if (r == 0) {
        r = store_begin(w->st, &eb);
    }
    if (r == 0) {
        r = store_cluster_insert(w->st, c, &eb);
        if (r == 0) {
            r = history_api(w, c, "create", reason, &eb);
        }
        r = finish_tx(w, r, &eb);
    }
    if (r < 0) {
        (void) log_error_errno(r, &eb, "creating cluster %s/%s failed", ns, name);
        answer_error(ret, 500, "storing the cluster failed: %s", eb.msg);
        cluster_free(c);
        return;
    }
    world_insert_cluster(w, c);
    put_nodes(w, c);
    log_api(c, "create", reason);
    answer_json(ret, 201, world_view(w, c, p->now_ms));
}

static void put_update(struct world *w, struct cluster *c, const struct put_plan *p,
                       struct world_cmd_answer *ret)
{
    struct cluster *backup = xmalloc(sizeof(*backup));
    struct errbuf eb = {{0}};
    char reason[DECIDE_REASON_MAX];
    int r;

    memcpy(backup, c, sizeof(*c));
    c->spec_json = xstrdup(p->spec_json);
    c->names = *p->names;
    cluster_set_members(c, p->spec, p->member_names);
    c->generation++;
    c->updated_wall_ms = clock_wall_ms();
    (void) snprintf(reason, sizeof(reason),
                    "spec updated to generation %" PRIu64 " (%" PRIu32 " member(s))", c->generation,
                    c->n_members);
    r = store_begin(w->st, &eb);
    if (r == 0) {
        r = store_cluster_update_spec(w->st, c, &eb);
        if (r == 0) {
            r = history_api(w, c, "update", reason, &eb);
        }
        r = finish_tx(w, r, &eb);
    }
    if (r < 0) {
        free(c->spec_json);
        memcpy(c, backup, sizeof(*c));
        free(backup);
        (void) log_error_errno(r, &eb, "updating cluster %s/%s failed", c->ns, c->name);
        answer_error(ret, 500, "storing the cluster failed: %s", eb.msg);
        return;
    }
    free(backup->spec_json);
    free(backup);
    put_nodes(w, c);
    log_api(c, "update", reason);
    answer_json(ret, 200, world_view(w, c, p->now_ms));
}

void world_cmd_put(struct world *w, const char *ns, const char *name, const char *spec_json,
                   const struct spec *spec, uint64_t now_ms, struct world_cmd_answer *ret)
{
    struct cluster *c = world_find(w, ns, name);
    struct spec_names *names = xcalloc(1, sizeof(*names));
    char(*member_names)[PROTO_NAME_MAX + 1] = xcalloc(SPEC_MAX_MEMBERS, sizeof(*member_names));
    struct put_plan plan = {spec_json, spec, names, member_names, now_ms};
    struct errbuf eb = {{0}};
    int r = spec_check_names(ns, name, &eb);

    if (r == 0 && spec->localrole == SPEC_LOCALROLE_STANDBY) {
        errbuf_set(&eb, "spec.localrole: standby sites are not supported by this arbiter yet");
        r = -EINVAL;
    }
    if (r == 0 && c && c->deleting) {
        answer_error(ret, 409, "cluster %s/%s is being deleted (its instances are stopping)", ns,
                     name);
        free(member_names);
        free(names);
        return;
    }
    if (r == 0 && c) {
        r = spec_check_update(&c->spec, spec, &c->names, &eb);
        *names = c->names;
    }
    if (r == 0) {
        r = spec_names_assign(name, spec, names, member_names, &eb);
    }
    if (r == 0) {
        r = put_check_others(w, c, spec, &eb);
    }
    if (r < 0) {
        answer_error(ret, 422, "%s", eb.msg);
    } else if (c && str_eq(c->spec_json, spec_json)) {
        answer_json(ret, 200, world_view(w, c, now_ms));
    } else if (c) {
        put_update(w, c, &plan, ret);
    } else {
        put_create(w, ns, name, &plan, ret);
    }
    free(member_names);
    free(names);
}

/* ---- DELETE -------------------------------------------------------------------------- */

void world_remove_cluster(struct world *w, uint32_t i, const char *why)
{
    struct cluster *c = w->clusters[i];
    struct errbuf eb = {{0}};
    int r = store_begin(w->st, &eb);

    if (r == 0) {
        r = store_cluster_delete(w->st, c->id, &eb);
        r = finish_tx(w, r, &eb);
    }
    if (r < 0) {
        (void) log_error_errno(r, &eb, "removing cluster %s/%s failed; retrying", c->ns, c->name);
        return;
    }
    log_api(c, "delete", why);
    memmove(&w->clusters[i], &w->clusters[i + 1],
            (w->n_clusters - i - 1) * sizeof(struct cluster *));
    w->n_clusters--;
    cluster_free(c);
    w->desired_dirty = true;
}

bool world_delete_done(const struct decide_input *in)
{
    for (uint32_t i = 0; i < in->n_members; i++) {
        const struct decide_member *m = &in->members[i];
        bool stopped = m->state == PROTO_STATE_UNKNOWN || m->state == PROTO_STATE_STOPPED ||
                       m->state == PROTO_STATE_FAILED || m->state == PROTO_STATE_FENCED;
        /* A silent agent cannot stop anything: its instance is left as it is. */
        if (m->reported && decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms) && !stopped) {
            return false;
        }
    }
    return true;
}

void world_cmd_delete(struct world *w, const char *ns, const char *name,
                      struct world_cmd_answer *ret)
{
    int i = world_find_index(w, ns, name);
    struct cluster *c = i < 0 ? NULL : w->clusters[i];
    static const char msg[] = "deleting: its instances are ordered stopped, then it is removed; "
                              "their data is kept";
    struct errbuf eb = {{0}};
    int r = 0;

    if (answer_not_found(ret, c, ns, name)) {
        return;
    }
    if (!c->deleting) {
        r = store_begin(w->st, &eb);
        if (r == 0) {
            r = store_cluster_set_deleting(w->st, c->id, &eb);
            r = finish_tx(w, r, &eb);
        }
        if (r < 0) {
            (void) log_error_errno(r, &eb, "deleting cluster %s/%s failed", ns, name);
            answer_error(ret, 500, "deleting the cluster failed: %s", eb.msg);
            return;
        }
        c->deleting = true;
        c->switchover.phase = DECIDE_SWITCHOVER_PHASE_NONE;
        w->desired_dirty = true;
        log_api(c, "delete", msg);
    }
    answer_json(ret, 202, accepted(c, "delete", NULL, msg));
}

/* ---- switchover, failover ------------------------------------------------------------ */

/* Runs decide on w->in with the request in place; accepts verdict `want`, else 409. */
static void decide_request(struct world *w, struct cluster *c, uint64_t now_ms,
                           enum decide_verdict want, const char *op, struct world_cmd_answer *ret)
{
    struct decide_result *res = xcalloc(1, sizeof(*res));
    bool ok;

    decide_failover(w->in, res);
    ok = res->verdict == want;
    /* A refusal is a decision too: recorded, never applied. */
    if (world_commit(w, c, res, now_ms, ok, true) < 0) {
        answer_error(ret, 500, "storing the decision failed");
    } else if (ok) {
        answer_json(ret, 202, accepted(c, op, res->target, res->reason));
    } else if (res->verdict == DECIDE_VERDICT_REFUSE) {
        answer_error(ret, 409, "%s", res->reason);
    } else {
        answer_error(ret, 409, "%s not started: %s", op, res->reason);
    }
    free(res);
}

void world_cmd_switchover(struct world *w, const char *ns, const char *name, const char *target,
                          uint64_t now_ms, struct world_cmd_answer *ret)
{
    struct cluster *c = world_find(w, ns, name);

    if (answer_unusable(ret, c, ns, name)) {
        return;
    }
    if (c->switchover.phase != DECIDE_SWITCHOVER_PHASE_NONE) {
        answer_error(ret, 409, "switchover to %s already under way (%s)", c->switchover.target,
                     decide_switchover_phase_to_string(c->switchover.phase));
        return;
    }
    world_facts(w, c, now_ms, NULL);
    w->in->switchover.phase = DECIDE_SWITCHOVER_PHASE_REQUESTED;
    (void) str_copy(w->in->switchover.target, sizeof(w->in->switchover.target), target);
    decide_request(w, c, now_ms, DECIDE_VERDICT_SWITCHOVER_FENCE, "switchover", ret);
}

void world_cmd_failover(struct world *w, const char *ns, const char *name, const char *target,
                        uint64_t now_ms, struct world_cmd_answer *ret)
{
    struct cluster *c = world_find(w, ns, name);
    struct decide_manual_failover manual = {.requested = true};

    if (answer_unusable(ret, c, ns, name)) {
        return;
    }
    (void) str_copy(manual.target, sizeof(manual.target), target);
    world_facts(w, c, now_ms, &manual);
    decide_request(w, c, now_ms, DECIDE_VERDICT_MANUAL_FAILOVER, "failover", ret);
}

/* ---- maintenance, history ------------------------------------------------------------ */

void world_cmd_maintenance(struct world *w, const char *ns, const char *name, bool enabled,
                           uint64_t now_ms, struct world_cmd_answer *ret)
{
    struct cluster *c = world_find(w, ns, name);
    const char *event = enabled ? "maintenance-on" : "maintenance-off";
    const char *reason = enabled ? "maintenance on: automatic actions stop"
                                 : "maintenance off: automatic actions resume";
    struct errbuf eb = {{0}};
    char *text, *old;
    int r;

    if (answer_unusable(ret, c, ns, name)) {
        return;
    }
    if (c->spec.maintenance == enabled) {
        answer_json(ret, 200, world_view(w, c, now_ms));
        return;
    }
    text = spec_set_maintenance(c->spec_json, enabled);
    if (!text) {
        answer_error(ret, 500, "the stored spec of %s/%s is not an object", ns, name);
        return;
    }
    old = c->spec_json;
    c->spec_json = text;
    c->spec.maintenance = enabled;
    c->generation++;
    r = store_begin(w->st, &eb);
    if (r == 0) {
        r = store_cluster_update_spec(w->st, c, &eb);
        if (r == 0) {
            r = history_api(w, c, event, reason, &eb);
        }
        r = finish_tx(w, r, &eb);
    }
    if (r < 0) {
        c->spec_json = old;
        c->spec.maintenance = !enabled;
        c->generation--;
        free(text);
        (void) log_error_errno(r, &eb, "maintenance of %s/%s failed", ns, name);
        answer_error(ret, 500, "storing the cluster failed: %s", eb.msg);
        return;
    }
    free(old);
    log_api(c, event, reason);
    w->desired_dirty = true;
    answer_json(ret, 200, world_view(w, c, now_ms));
}

/* RFC 3339 UTC with milliseconds. */
static void format_time(uint64_t wall_ms, char *buf, size_t size)
{
    time_t t = (time_t) (wall_ms / 1000);
    struct tm tm;
    char base[32];

    (void) gmtime_r(&t, &tm);
    (void) strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    (void) snprintf(buf, size, "%s.%03uZ", base, (unsigned) (wall_ms % 1000));
}

void world_cmd_history(struct world *w, const char *ns, const char *name, uint32_t limit,
                       struct world_cmd_answer *ret)
{
    struct cluster *c = world_find(w, ns, name);
    struct store_history *rows = NULL;
    struct errbuf eb = {{0}};
    uint32_t n = 0;
    cJSON *arr;
    int r;

    if (answer_not_found(ret, c, ns, name)) {
        return;
    }
    r = store_history_list(w->st, c->id, limit, &rows, &n, &eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "reading the history of %s/%s failed", ns, name);
        answer_error(ret, 500, "reading the history failed: %s", eb.msg);
        return;
    }
    arr = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) {
        cJSON *o = json_add_object(arr, NULL);
        char when[48];

        format_time(rows[i].time_wall_ms, when, sizeof(when));
        json_add_str(o, "time", when);
        json_add_u64(o, "epoch", rows[i].epoch);
        json_add_str(o, "rule", rows[i].rule);
        json_add_str(o, "verdict", rows[i].verdict);
        json_add_str(o, "reason", rows[i].reason);
        if (str_is_empty(rows[i].primary)) {
            json_add_null(o, "primary");
        } else {
            json_add_str(o, "primary", rows[i].primary);
        }
    }
    free(rows);
    answer_json(ret, 200, arr);
}

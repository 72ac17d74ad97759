/*
 * arbiter/metrics.c
 *
 * Layer: core. Renders arbiter/metrics.h from the published snapshot: the cluster views are
 * the API's JSON (proto/openapi.yaml "Cluster"), re-read here so the figures are the ones
 * `og-arbiter status` shows. A view that does not parse is skipped (it cannot happen: the
 * loop wrote it), never fatal to a scrape.
 */
#include "arbiter/metrics.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/metrics.h"

/* The states a cluster can be in, so every one is a series (0 or 1) and alerts can use ==. */
static const char *const metrics_cluster_states[] = {
        "creating", "ready", "updating", "failed", "maintaining", "recovering", "unknown"};

static const char *view_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static double view_num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static cJSON **metrics_parse_views(const struct world_snapshot *snap)
{
    cJSON **views = xcalloc(snap->n_clusters + 1, sizeof(*views));

    for (uint32_t i = 0; i < snap->n_clusters; i++) {
        const char *t = snap->clusters[i].view;
        if (t && json_parse_object(t, strlen(t), 32, &views[i], NULL) < 0) {
            views[i] = NULL;
        }
    }
    return views;
}

static void metrics_clusters(struct metrics *m, const struct world_snapshot *snap, cJSON **views)
{
    (void) metrics_family(m, "og_cluster_epoch", "gauge",
                          "Epoch of the cluster's current primary assignment");
    for (uint32_t i = 0; i < snap->n_clusters; i++) {
        const char *const l[][2] = {{"namespace", snap->clusters[i].ns},
                                    {"name", snap->clusters[i].name}};
        if (views[i]) {
            (void) metrics_sample(m, "og_cluster_epoch", l, 2, view_num(views[i], "epoch", 0));
        }
    }
    (void) metrics_family(m, "og_cluster_state", "gauge",
                          "1 for the state the cluster is in, 0 for the others");
    for (uint32_t i = 0; i < snap->n_clusters; i++) {
        const char *state = views[i] ? view_str(views[i], "state") : "unknown";
        for (size_t k = 0; k < sizeof(metrics_cluster_states) / sizeof(metrics_cluster_states[0]);
             k++) {
            const char *const l[][2] = {{"namespace", snap->clusters[i].ns},
                                        {"name", snap->clusters[i].name},
                                        {"state", metrics_cluster_states[k]}};
            (void) metrics_sample(m, "og_cluster_state", l, 3,
                                  strcmp(state, metrics_cluster_states[k]) == 0 ? 1 : 0);
        }
    }
    (void) metrics_family(m, "og_cluster_has_primary", "gauge",
                          "1 when the cluster has a primary assigned");
    for (uint32_t i = 0; i < snap->n_clusters; i++) {
        const char *const l[][2] = {{"namespace", snap->clusters[i].ns},
                                    {"name", snap->clusters[i].name}};
        (void) metrics_sample(
                m, "og_cluster_has_primary", l, 2,
                views[i] && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(views[i], "primary"))
                        ? 1
                        : 0);
    }
}

/* One family over every member of every cluster; value() < 0 skips a member. */
static void metrics_members(struct metrics *m, const struct world_snapshot *snap, cJSON **views,
                            const char *name, const char *help, double (*value)(const cJSON *))
{
    (void) metrics_family(m, name, "gauge", help);
    for (uint32_t i = 0; i < snap->n_clusters; i++) {
        const cJSON *members =
                views[i] ? cJSON_GetObjectItemCaseSensitive(views[i], "members") : NULL;
        const cJSON *mb;
        cJSON_ArrayForEach(mb, members)
        {
            double v = value(mb);
            const char *const l[][2] = {
                    {"namespace", snap->clusters[i].ns}, {"name", snap->clusters[i].name},
                    {"member", view_str(mb, "name")},    {"node", view_str(mb, "node")},
                    {"role", view_str(mb, "role")},      {"state", view_str(mb, "state")}};
            if (v >= 0) {
                (void) metrics_sample(m, name, l, 6, v);
            }
        }
    }
}

static double member_info(const cJSON *mb)
{
    (void) mb;
    return 1;
}

static double member_lag(const cJSON *mb)
{
    return view_num(mb, "lagbytes", -1);
}

static double member_sync(const cJSON *mb)
{
    const char *s = view_str(mb, "sync");

    return strcmp(s, "sync") == 0 || strcmp(s, "quorum") == 0 ? 1 : 0;
}

static void metrics_agents(struct metrics *m, const struct world_snapshot *snap,
                           uint64_t wall_now_ms)
{
    (void) metrics_family(m, "og_agent_last_report_age_seconds", "gauge",
                          "Seconds since the node's agent last reported");
    for (uint32_t i = 0; i < snap->n_nodes; i++) {
        const struct world_snap_node *n = &snap->nodes[i];
        const char *const l[][2] = {{"node", n->node}};
        if (n->has_agent) {
            uint64_t seen = n->agent.last_seen_wall_ms;
            (void) metrics_sample(m, "og_agent_last_report_age_seconds", l, 1,
                                  wall_now_ms > seen ? (double) (wall_now_ms - seen) / 1000.0 : 0);
        }
    }
    (void) metrics_family(m, "og_agent_instances", "gauge",
                          "Instances the node's agent reported last");
    for (uint32_t i = 0; i < snap->n_nodes; i++) {
        const struct world_snap_node *n = &snap->nodes[i];
        const char *const l[][2] = {{"node", n->node}};
        if (n->has_agent) {
            (void) metrics_sample(m, "og_agent_instances", l, 1, n->agent.instances);
        }
    }
}

char *arbiter_metrics(const struct world_snapshot *snap, bool leader, uint64_t wall_now_ms)
{
    struct metrics *m = metrics_new();
    cJSON **views;
    char *text;

    (void) metrics_family(m, "og_arbiter_leader", "gauge",
                          "1 when this arbiter holds the lease and decides");
    (void) metrics_sample(m, "og_arbiter_leader", NULL, 0, leader ? 1 : 0);
    (void) metrics_family(m, "og_arbiter_clusters", "gauge", "Clusters the arbiter manages");
    (void) metrics_sample(m, "og_arbiter_clusters", NULL, 0, snap ? snap->n_clusters : 0);
    if (snap) {
        views = metrics_parse_views(snap);
        metrics_clusters(m, snap, views);
        metrics_members(m, snap, views, "og_member_info",
                        "1 per member, labelled with its role and state as last reported",
                        member_info);
        metrics_members(m, snap, views, "og_member_lag_bytes",
                        "Bytes the member's replay is behind the primary (absent when unknown)",
                        member_lag);
        metrics_members(m, snap, views, "og_member_synchronous",
                        "1 when the member is a synchronous standby of the primary", member_sync);
        metrics_agents(m, snap, wall_now_ms);
        for (uint32_t i = 0; i < snap->n_clusters; i++) {
            cJSON_Delete(views[i]);
        }
        free(views);
    }
    text = metrics_take(m);
    metrics_free(m);
    return text;
}

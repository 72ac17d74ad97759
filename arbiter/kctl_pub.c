/*
 * arbiter/kctl_pub.c
 *
 * The loop's publication of views and Events to kpub (see kctl_pub.h). A history row is
 * recognised by its time, rule, verdict and reason (rows have no id of their own); the
 * newest row seen is remembered per cluster and the rows above it are new.
 *
 * Layer: shell
 */
#include "arbiter/kctl_pub.h"

#include <stdlib.h>
#include <string.h>

#include "arbiter/world_cmd.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

/* What one cluster last published. */
struct kctl_pub_entry {
    char ns[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char *view;          /* view text last handed to kpub, owned */
    char *decision;      /* state|epoch|primary|message of that view, owned */
    uint64_t cr_version; /* kctl_cr_copy version last handed to kpub */
    bool skip_existing;  /* known at start: its history rows are old news */
    bool has_key;
    char *key; /* newest history row seen, owned */
    bool present;
};

struct kctl_pub {
    struct kpub *p;
    struct kctl *k;
    struct kctl_pub_entry *e;
    uint32_t n;
    bool started;
};

struct kctl_pub *kctl_pub_new(struct kpub *p, struct kctl *k)
{
    struct kctl_pub *kp = xcalloc(1, sizeof(*kp));

    kp->p = p;
    kp->k = k;
    return kp;
}

static void kctl_pub_entry_done(struct kctl_pub_entry *e)
{
    free(e->view);
    free(e->decision);
    free(e->key);
}

void kctl_pub_free(struct kctl_pub *kp)
{
    if (!kp) {
        return;
    }
    for (uint32_t i = 0; i < kp->n; i++) {
        kctl_pub_entry_done(&kp->e[i]);
    }
    free(kp->e);
    free(kp);
}

bool kctl_pub_event_of(const char *rule, const char *verdict, const char *reason,
                       const char **ret_type, const char **ret_reason, const char **ret_extra)
{
    static const struct {
        const char *verdict, *type, *reason;
    } map[] = {
            {"failover", "Warning", "Failover"},
            {"manual-failover", "Warning", "ManualFailover"},
            {"switchover-fence", "Normal", "SwitchoverStarted"},
            {"switchover-promote", "Normal", "Switchover"},
            {"switchover-abort", "Warning", "SwitchoverAborted"},
            {"fence-stale-primary", "Warning", "Fencing"},
            {"bootstrap", "Normal", "Bootstrap"},
            {"adopt", "Normal", "EpochAdopted"}, /* a new leader continues from the agents */
            {"create", "Normal", "Created"},
            {"update", "Normal", "Updated"},
            {"maintenance-on", "Normal", "Maintenance"},
            {"maintenance-off", "Normal", "Maintenance"},
    };

    *ret_extra = NULL;
    if (str_eq(rule, "R16")) { /* no-candidate: the cluster waits, say why */
        *ret_type = "Warning";
        *ret_reason = "NoCandidate";
        return true;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (str_eq(verdict, map[i].verdict)) {
            *ret_type = map[i].type;
            *ret_reason = map[i].reason;
            /* decide's words: "primary demo-0 failed (3 restarts); promoting ..." */
            if (str_eq(verdict, "failover") && reason &&
                (strstr(reason, " failed (") || strstr(reason, " restarting ("))) {
                *ret_extra = "RestartLimit";
            }
            return true;
        }
    }
    return false;
}

static struct kctl_pub_entry *kctl_pub_entry(struct kctl_pub *kp, const char *ns, const char *name)
{
    struct kctl_pub_entry *e;

    for (uint32_t i = 0; i < kp->n; i++) {
        if (str_eq(kp->e[i].ns, ns) && str_eq(kp->e[i].name, name)) {
            return &kp->e[i];
        }
    }
    kp->e = xrealloc(kp->e, (kp->n + 1) * sizeof(*kp->e));
    e = &kp->e[kp->n++];
    memset(e, 0, sizeof(*e));
    (void) str_copy(e->ns, sizeof(e->ns), ns);
    (void) str_copy(e->name, sizeof(e->name), name);
    e->skip_existing = !kp->started;
    return e;
}

static char *kctl_pub_row_key(const cJSON *row)
{
    const char *f[4] = {"time", "rule", "verdict", "reason"};
    const char *v[4];

    for (int i = 0; i < 4; i++) {
        v[i] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, f[i]));
    }
    return xasprintf("%s|%s|%s|%s", v[0] ? v[0] : "", v[1] ? v[1] : "", v[2] ? v[2] : "",
                     v[3] ? v[3] : "");
}

static void kctl_pub_emit(struct kctl_pub *kp, const cJSON *cr, const cJSON *row)
{
    const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "rule"));
    const char *verdict = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "verdict"));
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "reason"));
    const char *type, *why, *extra;

    if (!kctl_pub_event_of(rule ? rule : "", verdict ? verdict : "", reason, &type, &why, &extra)) {
        return;
    }
    kpub_event(kp->p, cr, type, why, reason ? reason : verdict);
    if (extra) {
        kpub_event(kp->p, cr, "Warning", extra, reason ? reason : verdict);
    }
}

/* Reads the newest history rows of e's cluster and reports those not seen yet. */
static void kctl_pub_history(struct kctl_pub *kp, struct world *w, struct kctl_pub_entry *e,
                             const cJSON *cr, bool leader)
{
    struct world_cmd_answer a = {0};
    int n, first_old;

    world_cmd_history(w, e->ns, e->name, KCTL_PUB_HISTORY, &a);
    n = a.status == 200 ? cJSON_GetArraySize(a.body) : 0;
    if (n == 0) {
        world_cmd_answer_done(&a);
        return;
    }
    first_old = n;
    for (int i = 0; i < n && e->has_key; i++) {
        char *key = kctl_pub_row_key(cJSON_GetArrayItem(a.body, i));
        bool same = str_eq(key, e->key);
        free(key);
        if (same) {
            first_old = i;
            break;
        }
    }
    if (!e->has_key && e->skip_existing) {
        first_old = 0;
    }
    /* Oldest new row first. */
    for (int i = first_old - 1; i >= 0 && leader; i--) {
        kctl_pub_emit(kp, cr, cJSON_GetArrayItem(a.body, i));
    }
    free(e->key);
    e->key = kctl_pub_row_key(cJSON_GetArrayItem(a.body, 0));
    e->has_key = true;
    world_cmd_answer_done(&a);
}

/* "state|epoch|primary|message|phase": what changes with every recorded decision. */
static char *kctl_pub_decision(const cJSON *view)
{
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(view, "epoch");
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(view, "state"));
    const char *primary = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(view, "primary"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(view, "message"));
    const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(view, "switchover"), "phase"));

    return xasprintf("%s|%.0f|%s|%s|%s", state ? state : "",
                     cJSON_IsNumber(epoch) ? epoch->valuedouble : 0.0, primary ? primary : "",
                     msg ? msg : "", phase ? phase : "");
}

/* The epoch the resource's status carries (written by whichever arbiter led last), or 0. */
static double kctl_pub_status_epoch(const cJSON *cr)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cr, "status"), "epoch");

    return cJSON_IsNumber(e) ? e->valuedouble : 0.0;
}

/* Publishes sc when it changed; false when it has a resource but no view published yet. */
static bool kctl_pub_cluster(struct kctl_pub *kp, struct world *w,
                             const struct world_snap_cluster *sc, enum kctl_pub_mode mode)
{
    bool leader = mode != KCTL_PUB_MODE_NONE;
    struct kctl_pub_entry *e = kctl_pub_entry(kp, sc->ns, sc->name);
    uint64_t version = 0;
    const cJSON *epoch;
    cJSON *cr, *view;
    char *decision;

    e->present = true;
    cr = kctl_cr_copy(kp->k, sc->ns, sc->name, &version, NULL);
    if (!cr) {
        return true; /* no resource (yet), or going away */
    }
    if (e->view && str_eq(e->view, sc->view) && version == e->cr_version) {
        cJSON_Delete(cr);
        return true;
    }
    view = cJSON_Parse(sc->view);
    decision = kctl_pub_decision(view);
    if (!e->decision || !str_eq(e->decision, decision) || !e->has_key) {
        kctl_pub_history(kp, w, e, cr, leader); /* a follower only moves its position */
    }
    free(e->decision);
    e->decision = decision;
    epoch = cJSON_GetObjectItemCaseSensitive(view, "epoch");
    /*
     * Only the leader publishes, and never a view older than what the status says the last
     * leader published: a new leader learns the agents' epoch from their first reports, and
     * until then its view would empty the write EndpointSlice for nothing.
     */
    if (leader && cJSON_IsNumber(epoch) &&
        (mode == KCTL_PUB_MODE_FULL || epoch->valuedouble >= kctl_pub_status_epoch(cr))) {
        kpub_cluster(kp->p, cr, view);
        free(e->view);
        e->view = xstrdup(sc->view);
        e->cr_version = version;
    }
    cJSON_Delete(view);
    cJSON_Delete(cr);
    return e->view != NULL;
}

bool kctl_pub_step(struct kctl_pub *kp, struct world *w, const struct world_snapshot *snap,
                   enum kctl_pub_mode mode)
{
    bool leader = mode != KCTL_PUB_MODE_NONE, fresh = true;
    uint32_t kept = 0;

    for (uint32_t i = 0; i < kp->n; i++) {
        kp->e[i].present = false;
        if (!leader) {
            /* Whatever was published, the next leader term publishes everything afresh. */
            free(kp->e[i].view);
            kp->e[i].view = NULL;
        }
    }
    for (uint32_t i = 0; snap && i < snap->n_clusters; i++) {
        fresh = kctl_pub_cluster(kp, w, &snap->clusters[i], mode) && fresh;
    }
    /* Clusters gone from the world: forget them (kctl removes their objects). */
    for (uint32_t i = 0; i < kp->n; i++) {
        if (kp->e[i].present) {
            kp->e[kept++] = kp->e[i];
        } else {
            kctl_pub_entry_done(&kp->e[i]);
        }
    }
    kp->n = kept;
    kp->started = true;
    return fresh;
}

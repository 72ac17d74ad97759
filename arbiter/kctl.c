/*
 * arbiter/kctl.c
 *
 * The controller thread (see kctl.h): watches OpenGaussCluster resources, keeps the latest
 * object per namespace/name, and brings the world (through the loop's commands) and the
 * resources' finalizers in line with them. The watch callback only records what arrived;
 * all the work is done after each watch step, once the first list is complete, one
 * resource at a time, each step re-derived from the object so that a restart or a re-list
 * at any point converges without doing anything twice (the loop's PUT of an identical spec
 * changes nothing; a DELETE of a missing cluster is a 404).
 *
 * Layer: shell
 */
#include "arbiter/kctl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/kctl_check.h"
#include "common/clock.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define KCTL_STEP_MS       250  /* a watch step: how soon a stop or a wake is noticed */
#define KCTL_RETRY_MS      2000 /* a failed command or write is tried again after this */
#define KCTL_RECHECK_MS    5000 /* an invalid spec is validated again (nodes may appear) */
#define KCTL_REMOVED_POLL  200  /* while waiting for kpub to remove a cluster's objects */
#define KCTL_WATCH_TIMEOUT 60   /* timeoutSeconds of each watch request */

/* One resource as the controller knows it. */
struct kctl_obj {
    struct kctl_name id;
    cJSON *obj;         /* latest object, owned; NULL once gone */
    bool gone;          /* the API server no longer has it (DELETED) */
    bool seen;          /* present in the current (re)list */
    bool dirty;         /* changed since last handled */
    uint64_t retry_ms;  /* monotonic time of the next attempt; 0 = none due */
    char *applied;      /* spec text the loop last accepted, owned */
    char *invalid;      /* the message last reported as invalid, owned; NULL when valid */
    double invalid_gen; /* metadata.generation it was reported for */
    uint64_t version;   /* bumped on every change readers care about */
    bool world_gone;    /* deletion: the loop's DELETE is done */
    bool remove_sent;   /* deletion: kpub_remove() called */
};

struct kctl {
    struct kctl_options opt;
    char pod_namespace[KUBE_NAMESPACE_MAX];
    char pod_name[PROTO_NAME_MAX * 4 + 1];
    struct kube_client *kc;
    struct kube_watch *watch;
    struct kctl_check *check;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    atomic_bool wake;

    pthread_mutex_t mu; /* guards objs, n_objs and synced (read by other threads) */
    struct kctl_obj **objs;
    uint32_t n_objs;
    bool synced;
    uint64_t next_version;

    /* The controller thread's own state. */
    bool relisted;             /* a (re)list ended: reconcile the world with it */
    uint64_t reconcile_due_ms; /* when to retry a reconciliation that did not finish */
    bool was_leader;           /* leadership seen at the last pass */
    int label_state;           /* leader label last written: -1 unknown, 0 absent, 1 present */
    bool label_failed;         /* the pod cannot be labelled (missing): stop trying */
    uint64_t label_retry_ms;
    int last_watch_rc;
};

/* ---- the map --------------------------------------------------------------------------- */

static struct kctl_obj *kctl_find(const struct kctl *k, const char *ns, const char *name)
{
    for (uint32_t i = 0; i < k->n_objs; i++) {
        if (str_eq(k->objs[i]->id.ns, ns) && str_eq(k->objs[i]->id.name, name)) {
            return k->objs[i];
        }
    }
    return NULL;
}

static void kctl_obj_free(struct kctl_obj *o)
{
    if (!o) {
        return;
    }
    cJSON_Delete(o->obj);
    free(o->applied);
    free(o->invalid);
    free(o);
}

/* Call under k->mu. */
static void kctl_bump(struct kctl *k, struct kctl_obj *o)
{
    o->version = ++k->next_version;
}

/* metadata.namespace and metadata.name of obj into *ret; false when they are unusable. */
static bool kctl_obj_id(const cJSON *obj, struct kctl_name *ret)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));

    return ns && name && str_copy(ret->ns, sizeof(ret->ns), ns) == 0 &&
           str_copy(ret->name, sizeof(ret->name), name) == 0;
}

/* Call under k->mu. */
static struct kctl_obj *kctl_obj_get(struct kctl *k, const struct kctl_name *id)
{
    struct kctl_obj *o = kctl_find(k, id->ns, id->name);

    if (o) {
        return o;
    }
    o = xcalloc(1, sizeof(*o));
    o->id = *id;
    k->objs = xrealloc(k->objs, (k->n_objs + 1) * sizeof(struct kctl_obj *));
    k->objs[k->n_objs++] = o;
    return o;
}

/* The watch callback: records what arrived; the work is done after the step. */
static void kctl_on_event(enum kube_event type, const cJSON *object, void *data)
{
    struct kctl *k = data;
    struct kctl_name id;
    struct kctl_obj *o;

    pthread_mutex_lock(&k->mu);
    switch (type) {
    case KUBE_EVENT_RELIST_BEGIN:
        for (uint32_t i = 0; i < k->n_objs; i++) {
            k->objs[i]->seen = false;
        }
        break;
    case KUBE_EVENT_RELIST_END:
        /* Whatever the re-list did not show is gone (the watch also says so for its own). */
        for (uint32_t i = 0; i < k->n_objs; i++) {
            if (!k->objs[i]->seen && !k->objs[i]->gone) {
                k->objs[i]->gone = true;
                k->objs[i]->dirty = true;
            }
        }
        k->synced = true;
        k->relisted = true;
        break;
    case KUBE_EVENT_ADDED:
    case KUBE_EVENT_MODIFIED:
        if (kctl_obj_id(object, &id)) {
            o = kctl_obj_get(k, &id);
            cJSON_Delete(o->obj);
            o->obj = cJSON_Duplicate(object, true);
            o->gone = false;
            o->seen = true;
            o->dirty = true;
            kctl_bump(k, o);
        }
        break;
    case KUBE_EVENT_DELETED:
        if (kctl_obj_id(object, &id) && (o = kctl_find(k, id.ns, id.name)) != NULL) {
            o->gone = true;
            o->dirty = true;
            kctl_bump(k, o);
        }
        break;
    case KUBE_EVENT_BOOKMARK:
    case KUBE_EVENT_UNKNOWN:
    case _KUBE_EVENT_MAX:
        break;
    }
    pthread_mutex_unlock(&k->mu);
}

/* ---- object helpers ---------------------------------------------------------------------- */

static const cJSON *kctl_md(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);
}

static bool kctl_has_finalizer(const cJSON *obj)
{
    const cJSON *f;

    cJSON_ArrayForEach(f, kctl_md(obj, "finalizers"))
    {
        if (cJSON_IsString(f) && str_eq(f->valuestring, KCTL_FINALIZER)) {
            return true;
        }
    }
    return false;
}

static bool kctl_is_deleting(const cJSON *obj)
{
    const cJSON *ts = kctl_md(obj, "deletionTimestamp");

    return ts && !cJSON_IsNull(ts);
}

static int kctl_obj_path(const struct kctl_obj *o, char *buf, size_t size)
{
    return kube_path(buf, size, &kube_res_opengaussclusters, o->id.ns, o->id.name, NULL);
}

/* kube_mutate_fn: adds our finalizer (1 when it is there already). */
static int kctl_mutate_add(cJSON *obj, void *data)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON *list;

    (void) data;
    if (!cJSON_IsObject(md) || kctl_is_deleting(obj)) {
        return 1; /* being deleted: no new finalizer may be added */
    }
    if (kctl_has_finalizer(obj)) {
        return 1;
    }
    list = cJSON_GetObjectItemCaseSensitive(md, "finalizers");
    if (!cJSON_IsArray(list)) {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "finalizers");
        list = cJSON_AddArrayToObject(md, "finalizers");
    }
    cJSON_AddItemToArray(list, cJSON_CreateString(KCTL_FINALIZER));
    return 0;
}

/* kube_mutate_fn: removes our finalizer, keeping the others (1 when it is not there). */
static int kctl_mutate_remove(cJSON *obj, void *data)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
    int i = 0, found = -1;
    const cJSON *f;

    (void) data;
    cJSON_ArrayForEach(f, list)
    {
        if (cJSON_IsString(f) && str_eq(f->valuestring, KCTL_FINALIZER)) {
            found = i;
        }
        i++;
    }
    if (found < 0) {
        return 1;
    }
    cJSON_DeleteItemFromArray(list, found);
    return 0;
}

/* Writes the finalizer change (add or remove); 0, or -errno logged. */
static int kctl_finalizer(struct kctl *k, const struct kctl_obj *o, bool add)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err;
    struct errbuf eb = {{0}};
    int r = kctl_obj_path(o, path, sizeof(path));

    if (r == 0) {
        r = kube_update_retry(k->kc, path, add ? kctl_mutate_add : kctl_mutate_remove, NULL, 0,
                              NULL, &err, &eb);
    }
    if (r == -ENOENT && !add) {
        return 0; /* gone already */
    }
    if (r < 0) {
        return slog_warn_errno(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}), r, &eb,
                               "%s the finalizer of %s/%s failed; retrying",
                               add ? "adding" : "removing", o->id.ns, o->id.name);
    }
    slog_info(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}), "finalizer %s %s %s/%s",
              KCTL_FINALIZER, add ? "added to" : "removed from", o->id.ns, o->id.name);
    return 0;
}

/* ---- the loop's commands ------------------------------------------------------------------ */

/*
 * DELETE on the loop: 0 when the cluster is out of the world (200 or 404), -EINPROGRESS while
 * its instances stop (202: asked again on the next retry), else -errno.
 */
static int kctl_world_delete(struct kctl *k, const struct kctl_name *id)
{
    struct world_cmd_answer a = {0};
    int r = k->opt.ops->del(k->opt.ctx, id->ns, id->name, &a);

    if (r == 0 && a.status == 202) {
        /* Accepted: the instances are stopping; the world drops it once they have. */
        r = -EINPROGRESS;
    } else if (r == 0 && a.status != 200 && a.status != 404) {
        slog_warn(LOG_CTX({"cluster", id->name}, {"namespace", id->ns}),
                  "deleting %s/%s from the world failed (%d %s); retrying", id->ns, id->name,
                  a.status, a.error);
        r = -EIO;
    } else if (r == 0 && a.status == 200) {
        slog_info(LOG_CTX({"cluster", id->name}, {"namespace", id->ns}),
                  "cluster %s/%s deleted: its instances stopped, data kept", id->ns, id->name);
    }
    world_cmd_answer_done(&a);
    return r;
}

/* Records o's spec as invalid (msg) and tells kpub when it is news. */
static void kctl_set_invalid(struct kctl *k, struct kctl_obj *o, const char *msg)
{
    const cJSON *gen = kctl_md(o->obj, "generation");
    double g = cJSON_IsNumber(gen) ? gen->valuedouble : 0.0;
    bool news = !o->invalid || !str_eq(o->invalid, msg) || g != o->invalid_gen;

    if (news) {
        slog_warn(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}),
                  "the spec of %s/%s is invalid: %s%s", o->id.ns, o->id.name, msg,
                  o->applied ? " (the last valid spec stays applied)" : "");
        kpub_invalid(k->opt.kpub, o->obj, msg);
    }
    pthread_mutex_lock(&k->mu);
    free(o->invalid);
    o->invalid = xstrdup(msg);
    o->invalid_gen = g;
    if (news) {
        kctl_bump(k, o);
    }
    pthread_mutex_unlock(&k->mu);
}

static void kctl_set_applied(struct kctl *k, struct kctl_obj *o, const char *text)
{
    bool was_invalid;

    pthread_mutex_lock(&k->mu);
    free(o->applied);
    o->applied = xstrdup(text);
    was_invalid = o->invalid != NULL;
    if (o->invalid) {
        free(o->invalid);
        o->invalid = NULL;
        kctl_bump(k, o);
    }
    pthread_mutex_unlock(&k->mu);
    if (was_invalid) {
        kpub_valid(k->opt.kpub, o->obj);
    }
}

/* PUTs the valid spec on the loop; a 422 makes it invalid. 0, or -EAGAIN to retry. */
static int kctl_world_put(struct kctl *k, struct kctl_obj *o, const char *text,
                          const struct spec *spec)
{
    struct world_cmd_answer a = {0};
    int r = k->opt.ops->put(k->opt.ctx, o->id.ns, o->id.name, text, spec, &a);

    if (r < 0 || (a.status >= 500 && a.status != 422)) {
        slog_warn(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}),
                  "applying %s/%s failed (%s); retrying", o->id.ns, o->id.name,
                  r < 0 ? "the loop did not answer" : a.error);
        r = -EAGAIN;
    } else if (a.status == 200 || a.status == 201) {
        if (!o->applied || !str_eq(o->applied, text)) {
            slog_info(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}),
                      "cluster %s/%s %s its resource", o->id.ns, o->id.name,
                      a.status == 201 ? "created from" : "in line with");
        }
        kctl_set_applied(k, o, text);
    } else {
        kctl_set_invalid(k, o, a.error);
    }
    world_cmd_answer_done(&a);
    return r;
}

/* ---- reconciling one resource ------------------------------------------------------------ */

/* Gone from the API server: out of the world and of Kubernetes. true when done. */
static bool kctl_sync_gone(struct kctl *k, struct kctl_obj *o)
{
    if (!o->world_gone && kctl_world_delete(k, &o->id) < 0) {
        return false;
    }
    o->world_gone = true;
    kpub_remove(k->opt.kpub, o->id.ns, o->id.name);
    return true;
}

/* Being deleted: world, then Services, then (leader only) our finalizer. true when done. */
static bool kctl_sync_deleting(struct kctl *k, struct kctl_obj *o, bool leader)
{
    if (!o->world_gone && kctl_world_delete(k, &o->id) < 0) {
        return false;
    }
    o->world_gone = true;
    if (!o->remove_sent) {
        kpub_remove(k->opt.kpub, o->id.ns, o->id.name);
        o->remove_sent = true;
    }
    if (!kctl_has_finalizer(o->obj)) {
        return true;
    }
    if (!leader) {
        return true; /* the leader finishes it; we look again when we lead */
    }
    if (!kpub_removed(k->opt.kpub, o->id.ns, o->id.name)) {
        o->retry_ms = clock_now_ms() + KCTL_REMOVED_POLL;
        return true;
    }
    return kctl_finalizer(k, o, false) == 0;
}

static uint32_t kctl_port(const cJSON *obj, const char *key)
{
    const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), key);

    return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 65536
                   ? (uint32_t) v->valuedouble
                   : 0;
}

/* True when other keeps a NodePort both want: applied first, else created first. */
static bool kctl_port_owner(const struct kctl_obj *self, const struct kctl_obj *other)
{
    const char *a = cJSON_GetStringValue(kctl_md(self->obj, "creationTimestamp"));
    const char *b = cJSON_GetStringValue(kctl_md(other->obj, "creationTimestamp"));
    int cmp;

    if ((self->applied != NULL) != (other->applied != NULL)) {
        return other->applied != NULL;
    }
    cmp = strcmp(b ? b : "", a ? a : "");
    if (cmp != 0) {
        return cmp < 0; /* RFC 3339 UTC texts sort in time order */
    }
    cmp = strcmp(other->id.ns, self->id.ns);
    return cmp < 0 || (cmp == 0 && strcmp(other->id.name, self->id.name) < 0);
}

/* A NodePort of spec that another live resource owns: -EINVAL with eb, else 0. */
static int kctl_check_ports(const struct kctl *k, const struct kctl_obj *self,
                            const struct spec *spec, struct errbuf *eb)
{
    const uint32_t mine[2] = {spec->readport, spec->writeport};
    const char *keys[2] = {"readport", "writeport"};

    for (uint32_t i = 0; i < k->n_objs; i++) {
        const struct kctl_obj *o = k->objs[i];
        uint32_t theirs[2];

        if (o == self || o->gone || !o->obj || kctl_is_deleting(o->obj) ||
            !kctl_port_owner(self, o)) {
            continue;
        }
        theirs[0] = kctl_port(o->obj, "readport");
        theirs[1] = kctl_port(o->obj, "writeport");
        for (int a = 0; a < 2; a++) {
            if (mine[a] != 0 && (mine[a] == theirs[0] || mine[a] == theirs[1])) {
                errbuf_set(eb, "spec.%s: NodePort %" PRIu32 " is used by cluster %s/%s", keys[a],
                           mine[a], o->id.ns, o->id.name);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* A live resource: finalizer first (leader), then validate and apply. true when done. */
static bool kctl_sync_live(struct kctl *k, struct kctl_obj *o, bool leader)
{
    struct spec *spec = NULL;
    struct errbuf eb = {{0}};
    char *text;
    int r;

    if (leader && !kctl_has_finalizer(o->obj) && kctl_finalizer(k, o, true) < 0) {
        return false;
    }
    if (o->world_gone) {
        /* Deleted from the world before (a deletion that was undone): apply afresh. */
        free(o->applied);
        o->applied = NULL;
    }
    o->world_gone = false;
    o->remove_sent = false;
    text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o->obj, "spec"));
    if (!text) {
        text = xstrdup("null");
    }
    spec = xcalloc(1, sizeof(*spec));
    r = kctl_check_spec(k->check, o->obj, text, spec, &eb);
    if (r == 0) {
        r = kctl_check_ports(k, o, spec, &eb);
    }
    if (r == -EAGAIN) {
        slog_warn(LOG_CTX({"cluster", o->id.name}, {"namespace", o->id.ns}),
                  "cannot validate %s/%s yet: %s", o->id.ns, o->id.name, eb.msg);
    } else if (r < 0) {
        kctl_set_invalid(k, o, eb.msg);
        o->retry_ms = clock_now_ms() + KCTL_RECHECK_MS;
        r = 0;
    } else if (!o->applied || !str_eq(o->applied, text) || o->invalid) {
        r = kctl_world_put(k, o, text, spec);
        if (r == 0 && o->invalid) {
            o->retry_ms = clock_now_ms() + KCTL_RECHECK_MS; /* e.g. an address freed later */
        }
    }
    free(spec);
    free(text);
    return r == 0;
}

/* Handles o; false when o is finished with and can be dropped (under no lock). */
static bool kctl_sync_one(struct kctl *k, struct kctl_obj *o, bool leader)
{
    bool ok;

    o->dirty = false;
    o->retry_ms = 0;
    if (o->gone) {
        if (kctl_sync_gone(k, o)) {
            return false;
        }
        o->retry_ms = clock_now_ms() + KCTL_RETRY_MS;
        return true;
    }
    ok = kctl_is_deleting(o->obj) ? kctl_sync_deleting(k, o, leader) : kctl_sync_live(k, o, leader);
    if (!ok) {
        o->retry_ms = clock_now_ms() + KCTL_RETRY_MS;
    }
    return true;
}

/* ---- the world against the list ------------------------------------------------------------ */

/* After a (re)list: clusters the world has that the API server does not are deleted. */
static void kctl_reconcile_world(struct kctl *k)
{
    struct kctl_name *names = NULL;
    uint32_t n = k->opt.ops->list(k->opt.ctx, &names);

    for (uint32_t i = 0; i < n && !atomic_load(&k->stop); i++) {
        struct kctl_obj *o;
        bool known;

        pthread_mutex_lock(&k->mu);
        o = kctl_find(k, names[i].ns, names[i].name);
        known = o && !o->gone;
        pthread_mutex_unlock(&k->mu);
        if (known) {
            continue;
        }
        slog_info(LOG_CTX({"cluster", names[i].name}, {"namespace", names[i].ns}),
                  "cluster %s/%s has no OpenGaussCluster resource any more: deleting it",
                  names[i].ns, names[i].name);
        if (kctl_world_delete(k, &names[i]) < 0) {
            /* Not gone yet (its instances are stopping) or the loop did not answer. */
            k->relisted = true;
            k->reconcile_due_ms = clock_now_ms() + KCTL_RETRY_MS;
        } else {
            kpub_remove(k->opt.kpub, names[i].ns, names[i].name);
        }
    }
    free(names);
}

/* ---- the leader label on our own pod ------------------------------------------------------ */

static void kctl_label_pod(struct kctl *k, bool leader)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *patch, *labels;
    uint64_t now = clock_now_ms();
    int r;

    if (str_is_empty(k->pod_name) || k->label_failed || k->label_state == (int) leader ||
        now < k->label_retry_ms) {
        return;
    }
    if (kube_path(path, sizeof(path), &kube_res_pods, k->pod_namespace, k->pod_name, NULL) < 0) {
        k->label_failed = true;
        return;
    }
    patch = cJSON_CreateObject();
    labels = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "labels");
    if (leader) {
        cJSON_AddStringToObject(labels, KCTL_LEADER_LABEL, "true");
    } else {
        cJSON_AddNullToObject(labels, KCTL_LEADER_LABEL);
    }
    r = kube_patch(k->kc, path, KUBE_PATCH_MERGE, patch, NULL, &err, &eb);
    cJSON_Delete(patch);
    if (r == -ENOENT) {
        log_info("pod %s/%s not found: the leader label is not written", k->pod_namespace,
                 k->pod_name);
        k->label_failed = true;
    } else if (r < 0) {
        (void) log_warn_errno(r, &eb, "labelling pod %s/%s failed; retrying", k->pod_namespace,
                              k->pod_name);
        k->label_retry_ms = now + KCTL_RETRY_MS;
    } else {
        k->label_state = leader;
    }
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* The object at i to work on now, or NULL; call under k->mu. */
static bool kctl_is_due(const struct kctl_obj *o, bool all, uint64_t now)
{
    return all || o->dirty || (o->retry_ms != 0 && now >= o->retry_ms);
}

static void kctl_drop(struct kctl *k, struct kctl_obj *o)
{
    pthread_mutex_lock(&k->mu);
    for (uint32_t i = 0; i < k->n_objs; i++) {
        if (k->objs[i] == o) {
            k->objs[i] = k->objs[--k->n_objs];
            break;
        }
    }
    pthread_mutex_unlock(&k->mu);
    kctl_obj_free(o);
}

/* One pass over the resources that need work. */
static void kctl_pass(struct kctl *k)
{
    bool leader = k->opt.ops->is_leader(k->opt.ctx);
    bool all = atomic_exchange(&k->wake, false) || leader != k->was_leader;
    uint64_t now = clock_now_ms();

    k->was_leader = leader;
    if (k->relisted && now >= k->reconcile_due_ms) {
        k->relisted = false;
        kctl_reconcile_world(k);
    }
    kctl_label_pod(k, leader);
    /* Objects are only added or dropped on this thread: indexing outside the lock is safe. */
    for (uint32_t i = 0; i < k->n_objs && !atomic_load(&k->stop);) {
        struct kctl_obj *o = k->objs[i];
        if (!kctl_is_due(o, all, now) || kctl_sync_one(k, o, leader)) {
            i++;
            continue;
        }
        kctl_drop(k, o); /* the last one moved to i: look at it next */
    }
}

static void *kctl_main(void *arg)
{
    struct kctl *k = arg;

    while (!atomic_load(&k->stop)) {
        struct errbuf eb = {{0}};
        int r = kube_watch_step(k->watch, KCTL_STEP_MS, &eb);
        bool synced;

        if (r < 0 && r != k->last_watch_rc) {
            (void) log_warn_errno(r, &eb, "watching OpenGaussCluster resources failed; retrying");
        }
        k->last_watch_rc = r;
        pthread_mutex_lock(&k->mu);
        synced = k->synced;
        pthread_mutex_unlock(&k->mu);
        if (synced) {
            kctl_pass(k);
        }
    }
    return NULL;
}

struct kctl *kctl_start(const struct kube_config *cfg, const struct kctl_options *opt,
                        struct errbuf *eb)
{
    struct kctl *k = xcalloc(1, sizeof(*k));
    char path[KUBE_PATH_MAX];
    struct kube_watch_options wo = {0};
    int r;

    k->opt = *opt;
    k->label_state = -1;
    (void) str_copy(k->pod_namespace, sizeof(k->pod_namespace),
                    opt->pod_namespace ? opt->pod_namespace : "");
    (void) str_copy(k->pod_name, sizeof(k->pod_name), opt->pod_name ? opt->pod_name : "");
    pthread_mutex_init(&k->mu, NULL);
    k->kc = kube_client_new(cfg, eb);
    if (!k->kc) {
        goto fail;
    }
    k->check = kctl_check_new(k->kc);
    r = kube_path(path, sizeof(path), &kube_res_opengaussclusters, NULL, NULL, NULL);
    wo.path = path;
    wo.resource_version = 0; /* list first: the world is reconciled with the full set */
    wo.fn = kctl_on_event;
    wo.data = k;
    wo.timeout_s = KCTL_WATCH_TIMEOUT;
    if (r < 0 || kube_watch_open(k->kc, &wo, &k->watch, eb) < 0) {
        goto fail;
    }
    if (pthread_create(&k->thread, NULL, kctl_main, k) != 0) {
        errbuf_set(eb, "cannot start the controller thread");
        goto fail;
    }
    k->started = true;
    return k;
fail:
    kctl_stop(k);
    return NULL;
}

void kctl_stop(struct kctl *k)
{
    if (!k) {
        return;
    }
    atomic_store(&k->stop, true);
    if (k->started) {
        (void) pthread_join(k->thread, NULL);
    }
    kube_watch_free(k->watch);
    kctl_check_free(k->check);
    kube_client_free(k->kc);
    for (uint32_t i = 0; i < k->n_objs; i++) {
        kctl_obj_free(k->objs[i]);
    }
    free(k->objs);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

void kctl_wake(struct kctl *k)
{
    if (k) {
        atomic_store(&k->wake, true);
    }
}

cJSON *kctl_cr_copy(struct kctl *k, const char *ns, const char *name, uint64_t *ret_version,
                    bool *ret_invalid)
{
    struct kctl_obj *o;
    cJSON *copy = NULL;

    pthread_mutex_lock(&k->mu);
    o = kctl_find(k, ns, name);
    if (o && o->obj && !o->gone && !kctl_is_deleting(o->obj)) {
        copy = cJSON_Duplicate(o->obj, true);
        if (ret_version) {
            *ret_version = o->version;
        }
        if (ret_invalid) {
            *ret_invalid = o->invalid != NULL;
        }
    }
    pthread_mutex_unlock(&k->mu);
    return copy;
}

bool kctl_is_synced(struct kctl *k)
{
    bool synced;

    pthread_mutex_lock(&k->mu);
    synced = k->synced;
    pthread_mutex_unlock(&k->mu);
    return synced;
}

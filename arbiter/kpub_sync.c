/*
 * arbiter/kpub_sync.c
 *
 * The publisher's requests for one cluster (see kpub_int.h): its EndpointSlices, Services,
 * role labels on the agent pods, and status, each compared with the copy the API server
 * last gave back, written only when different, and read again after any failure before it
 * is written again (it may have changed while the server was away). Runs on kpub's thread
 * only, never with the lock held (except for counting).
 *
 * Layer: shell
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arbiter/kpub_build.h"
#include "arbiter/kpub_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/str.h"

void kpub_sync_format_time(uint64_t wall_ms, bool micro, char *buf, size_t size)
{
    time_t t = (time_t) (wall_ms / 1000);
    struct tm tm;

    (void) gmtime_r(&t, &tm);
    if (micro) {
        (void) snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        (unsigned) (wall_ms % 1000) * 1000);
    } else {
        (void) snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
}

void kpub_sync_obj_forget(struct kpub_obj *o)
{
    cJSON_Delete(o->known);
    o->known = NULL;
}

/* Replaces o's copy with obj (taken). */
static void obj_take(struct kpub_obj *o, cJSON *obj)
{
    cJSON_Delete(o->known);
    o->known = obj;
}

void kpub_sync_count(struct kpub *p, bool ok)
{
    pthread_mutex_lock(&p->lock);
    if (ok) {
        p->stats.writes++;
    } else {
        p->stats.errors++;
    }
    pthread_mutex_unlock(&p->lock);
}

/* After a request: count it; a transport failure (no answer) stops the pass. */
static int after_request(struct kpub *p, int r, const struct kube_error *err)
{
    kpub_sync_count(p, r == 0);
    if (r < 0 && err->http_status == 0) {
        p->server_away = true; /* back off everything, not just this object */
    }
    return r;
}

/* ---- EndpointSlices and Services ---- */

static int obj_path(char *buf, size_t size, const struct kube_resource *res, const char *ns,
                    const char *name)
{
    return kube_path(buf, size, res, ns, name, NULL);
}

/* Creates obj in the collection of res; the answer is cached in o. */
static int obj_create(struct kpub *p, struct kpub_obj *o, const struct kube_resource *res,
                      const char *ns, const cJSON *obj, struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *ret = NULL;
    int r = obj_path(path, sizeof(path), res, ns, NULL);

    if (r == 0) {
        r = after_request(p, kube_create(p->kc, path, obj, &ret, &err, eb), &err);
    }
    if (r == 0) {
        obj_take(o, ret);
    }
    return r;
}

/*
 * Reads the object at name into o (NULL when it does not exist). 0 or the error.
 */
static int obj_read(struct kpub *p, struct kpub_obj *o, const struct kube_resource *res,
                    const char *ns, const char *name, bool *ret_missing, struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *ret = NULL;
    int r = obj_path(path, sizeof(path), res, ns, name);

    *ret_missing = false;
    if (r == 0) {
        r = kube_get(p->kc, path, &ret, &err, eb);
        if (r == -ENOENT) {
            *ret_missing = true;
            return 0;
        }
        r = after_request(p, r, &err);
    }
    if (r == 0) {
        obj_take(o, ret);
    }
    return r;
}

static int obj_patch(struct kpub *p, struct kpub_obj *o, const struct kube_resource *res,
                     const char *ns, const char *name, const cJSON *patch, struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *ret = NULL;
    int r = obj_path(path, sizeof(path), res, ns, name);

    if (r == 0) {
        r = kube_patch(p->kc, path, KUBE_PATCH_MERGE, patch, &ret, &err, eb);
        if (r == -ENOENT) {
            kpub_sync_obj_forget(o);
            kpub_sync_count(p, false);
            return r;
        }
        r = after_request(p, r, &err);
    }
    if (r == 0) {
        obj_take(o, ret);
    }
    return r;
}

/* Deletes the object at name; a missing object counts as deleted. */
static int obj_delete(struct kpub *p, struct kpub_obj *o, const struct kube_resource *res,
                      const char *ns, const char *name, struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    int r = obj_path(path, sizeof(path), res, ns, name);

    if (r == 0) {
        r = kube_delete(p->kc, path, NULL, &err, eb);
        if (r == -ENOENT) {
            r = 0;
        } else {
            r = after_request(p, r, &err);
        }
    }
    if (r == 0) {
        kpub_sync_obj_forget(o);
    }
    return r;
}

static void log_slice(const struct kpub_work *w, const cJSON *desired, bool read)
{
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(desired, "endpoints");
    const cJSON *ep = cJSON_GetArrayItem(eps, 0);
    const cJSON *addr = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ep, "addresses"), 0);

    if (read) {
        log_debug("read EndpointSlice of %s/%s: %d endpoints", w->d.cr.ns, w->d.cr.name,
                  cJSON_GetArraySize(eps));
        return;
    }
    log_emit(LOG_LEVEL_INFO, __FILE__, __LINE__,
             LOG_CTX({"cluster", w->d.svc_cr.name}, {"namespace", w->d.svc_cr.ns}), 0, NULL,
             "write EndpointSlice now routes to %s (primary %s, epoch %llu)",
             cJSON_IsString(addr) ? addr->valuestring : "nothing",
             str_is_empty(w->d.view.primary) ? "none" : w->d.view.primary,
             (unsigned long long) w->d.view.epoch);
}

static void slice_landed(struct kpub *p, bool read)
{
    if (!read) {
        pthread_mutex_lock(&p->lock);
        p->stats.last_slice_ms = clock_now_ms();
        pthread_mutex_unlock(&p->lock);
    }
}

/* Makes the EndpointSlice of the write (read false) or read Service what the view says. */
int kpub_sync_slice(struct kpub *p, struct kpub_work *w, bool read, struct errbuf *eb)
{
    struct kpub_obj *o = &w->e->slice[read];
    const struct kpub_cr *cr = &w->d.svc_cr;
    cJSON *desired = kpub_build_slice(cr, &w->d.view, read);
    cJSON *patch = NULL;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(desired, "metadata");
    const char *name = cJSON_GetObjectItemCaseSensitive(meta, "name")->valuestring;
    bool missing = false;
    int r = 0;

    if (o->known && kpub_slice_is_current(o->known, desired)) {
        goto out;
    }
    if (o->known) {
        patch = kpub_build_slice_patch(desired);
        r = obj_patch(p, o, &kube_res_endpointslices, cr->ns, name, patch, eb);
        if (r != -ENOENT) {
            goto done;
        }
    }
    r = obj_read(p, o, &kube_res_endpointslices, cr->ns, name, &missing, eb);
    if (r < 0 || (!missing && kpub_slice_is_current(o->known, desired))) {
        goto out;
    }
    if (!missing &&
        !str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o->known, "addressType")),
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(desired, "addressType")))) {
        /* addressType is immutable: replace the slice. */
        r = obj_delete(p, o, &kube_res_endpointslices, cr->ns, name, eb);
        missing = r == 0;
    }
    if (r == 0 && missing) {
        r = obj_create(p, o, &kube_res_endpointslices, cr->ns, desired, eb);
        if (r == 0) {
            log_info("created EndpointSlice %s/%s", cr->ns, name);
        }
    } else if (r == 0) {
        patch = kpub_build_slice_patch(desired);
        r = obj_patch(p, o, &kube_res_endpointslices, cr->ns, name, patch, eb);
    }
done:
    if (r == 0) {
        log_slice(w, desired, read);
        slice_landed(p, read);
    }
out:
    if (r < 0) {
        kpub_sync_obj_forget(o);
    }
    cJSON_Delete(patch);
    cJSON_Delete(desired);
    return r;
}

/* Creates the write (read false) or read Service when missing, patches it when it differs. */
int kpub_sync_service(struct kpub *p, struct kpub_work *w, bool read, struct errbuf *eb)
{
    struct kpub_obj *o = &w->e->svc[read];
    const struct kpub_cr *cr = &w->d.svc_cr;
    char name[KPUB_NAME_MAX + 32];
    cJSON *obj = NULL;
    bool missing = false;
    int r;

    if (o->known && kpub_service_is_current(o->known, cr, read)) {
        return 0;
    }
    r = kpub_service_name(cr->name, read, name, sizeof(name));
    if (r == 0) {
        r = obj_read(p, o, &kube_res_services, cr->ns, name, &missing, eb);
    }
    if (r == 0 && missing) {
        obj = kpub_build_service(cr, read);
        r = obj_create(p, o, &kube_res_services, cr->ns, obj, eb);
        if (r == 0) {
            log_info("created Service %s/%s (NodePort %u)", cr->ns, name,
                     read ? cr->readport : cr->writeport);
        }
    } else if (r == 0 && !kpub_service_is_current(o->known, cr, read)) {
        obj = kpub_build_service_patch(cr, read);
        r = obj_patch(p, o, &kube_res_services, cr->ns, name, obj, eb);
        if (r == 0) {
            log_info("updated Service %s/%s", cr->ns, name);
        }
    }
    if (r < 0) {
        kpub_sync_obj_forget(o);
    }
    cJSON_Delete(obj);
    return r;
}

/* ---- role labels ---- */

static int pods_list(struct kpub *p, struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *list = NULL;
    int r = kube_path(path, sizeof(path), &kube_res_pods, p->agent_namespace, NULL, NULL);

    if (r == 0) {
        r = after_request(p, kube_list(p->kc, path, p->agent_selector, &list, &err, eb), &err);
    }
    if (r == 0) {
        cJSON_Delete(p->pods);
        p->pods = cJSON_DetachItemFromObjectCaseSensitive(list, "items");
        if (!p->pods) {
            p->pods = cJSON_CreateArray();
        }
    }
    cJSON_Delete(list);
    return r;
}

static const char *pod_str(const cJSON *pod, const char *part, const char *key)
{
    return cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, part), key));
}

/* The pod's label key, or NULL. */
static const char *pod_label(const cJSON *pod, const char *key)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "labels");

    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
}

/* Patches one pod's label key to want (NULL: remove); the answer replaces the cached pod. */
static int pod_patch(struct kpub *p, cJSON *pod, const char *key, const char *want,
                     struct errbuf *eb)
{
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *patch = kpub_build_label_patch(key, want);
    cJSON *ret = NULL;
    const char *name = pod_str(pod, "metadata", "name");
    int r = kube_path(path, sizeof(path), &kube_res_pods, p->agent_namespace, name ? name : "-",
                      NULL);

    if (r == 0) {
        r = after_request(p, kube_patch(p->kc, path, KUBE_PATCH_MERGE, patch, &ret, &err, eb),
                          &err);
    }
    cJSON_Delete(patch);
    if (r == 0) {
        log_info("pod %s/%s: label %s=%s", p->agent_namespace, name, key,
                 want ? want : "(removed)");
        cJSON_ReplaceItemInObjectCaseSensitive(
                pod, "metadata", cJSON_DetachItemFromObjectCaseSensitive(ret, "metadata"));
    }
    cJSON_Delete(ret);
    return r;
}

/* True when every node that should carry a label has an agent pod in the cache. */
static bool pods_cover(const cJSON *pods, const struct kpub_desired *d)
{
    for (size_t i = 0; i < d->view.n_members; i++) {
        const char *node = d->view.members[i].node;
        const cJSON *pod;
        bool found = false;

        if (!kpub_label_value(&d->view, node)) {
            continue;
        }
        cJSON_ArrayForEach(pod, pods)
        {
            found = found || str_eq(pod_str(pod, "spec", "nodeName"), node);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

int kpub_sync_labels(struct kpub *p, struct kpub_work *w, struct errbuf *eb)
{
    char key[KPUB_LABEL_KEY_MAX];
    cJSON *pod;
    int r = kpub_label_key(w->e->ns, w->e->name, key, sizeof(key));

    if (r == 0 && (!p->pods || (!w->d.removing && !pods_cover(p->pods, &w->d)))) {
        r = pods_list(p, eb); /* first time, or a node we do not know: refresh */
    }
    if (r < 0) {
        return r;
    }
    cJSON_ArrayForEach(pod, p->pods)
    {
        const char *node = pod_str(pod, "spec", "nodeName");
        const char *want = w->d.removing ? NULL : kpub_label_value(&w->d.view, node);
        const char *have = pod_label(pod, key);

        if (str_eq(want, have) || (!want && !have)) {
            continue;
        }
        r = pod_patch(p, pod, key, want, eb);
        if (r < 0) {
            cJSON_Delete(p->pods); /* 404 (pod replaced) or other: read them again */
            p->pods = NULL;
            return r;
        }
    }
    if (!w->d.removing && !pods_cover(p->pods, &w->d)) {
        errbuf_set(eb, "no agent pod (%s in %s) on a node of a member", p->agent_selector,
                   p->agent_namespace);
        return -ENOENT;
    }
    return 0;
}

/* ---- status ---- */

int kpub_sync_status(struct kpub *p, struct kpub_work *w, struct errbuf *eb)
{
    struct kpub_obj *o = &w->e->status;
    const struct kpub_cr *cr = &w->d.cr;
    const char *invalid = w->d.invalid ? w->d.invalid_msg : NULL;
    char now[32];
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    cJSON *st = NULL, *patch = NULL, *obj = NULL;
    bool missing = false;
    int r = 0;

    kpub_sync_format_time(clock_wall_ms(), false, now, sizeof(now));
    if (!o->known) {
        /* Unknown: read the resource, so transition times and podstate keys carry over. */
        r = obj_read(p, o, &kube_res_opengaussclusters, cr->ns, cr->name, &missing, eb);
        if (r < 0 || missing) {
            goto out; /* a resource that is gone needs no status */
        }
        obj = o->known;
        o->known = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
        if (!o->known) {
            o->known = json_new_object();
        }
    }
    st = kpub_build_status(cr, &w->d.view, invalid, o->known, now);
    if (kpub_status_equal(st, o->known)) {
        goto out;
    }
    patch = kpub_build_status_patch(st, o->known);
    r = kube_path(path, sizeof(path), &kube_res_opengaussclusters, cr->ns, cr->name, "status");
    if (r == 0) {
        r = kube_patch(p->kc, path, KUBE_PATCH_MERGE, patch, NULL, &err, eb);
        if (r == -ENOENT) {
            r = 0; /* deleted meanwhile: nothing to write */
        } else {
            r = after_request(p, r, &err);
        }
    }
    if (r == 0) {
        log_debug("status of %s/%s written", cr->ns, cr->name);
        obj_take(o, st);
        st = NULL;
    }
out:
    if (r < 0) {
        kpub_sync_obj_forget(o);
    }
    cJSON_Delete(obj);
    cJSON_Delete(patch);
    cJSON_Delete(st);
    return r;
}

/* ---- removal ---- */

int kpub_sync_remove(struct kpub *p, struct kpub_work *w, struct errbuf *eb)
{
    int r = 0;

    for (int read = 0; read < 2 && r == 0; read++) {
        char name[KPUB_NAME_MAX + 32];

        r = kpub_service_name(w->e->name, read, name, sizeof(name));
        if (r == 0) {
            r = obj_delete(p, &w->e->slice[read], &kube_res_endpointslices, w->e->ns, name, eb);
        }
        if (r == 0) {
            r = obj_delete(p, &w->e->svc[read], &kube_res_services, w->e->ns, name, eb);
        }
        if (r == 0) {
            log_info("deleted Service and EndpointSlice %s/%s", w->e->ns, name);
        }
    }
    return r;
}

/*
 * arbiter/kpub.c
 *
 * The Kubernetes publisher (issue 5: publication goes through a retrying queue and never
 * delays a failover). Callers store the latest desired picture of a cluster (parsed into
 * plain structs, so changes that do not matter to Kubernetes, such as LSNs, are not changes)
 * and wake the thread; the thread owns its Kubernetes client and a cache of what the API
 * server holds, and reconciles in passes ordered by urgency across all pending clusters:
 * write EndpointSlices, read EndpointSlices, Services, role labels, status, then Events. A
 * change arriving during a pass restarts it, so the write slice of a new primary is the
 * next request sent (one PATCH when the cache is warm). A failed object is re-read from the
 * server before it is written again; a transport failure (no answer) backs the whole pass
 * off; an API error backs off only its cluster. The mutex guards the desired pictures and
 * the event queue only; no request is made while it is held.
 *
 * Layer: shell
 */
#include "arbiter/kpub.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter/kpub_build.h"
#include "arbiter/kpub_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define KPUB_CONNECT_TIMEOUT_MS 1000
#define KPUB_TIMEOUT_MS         3000
#define KPUB_WARN_EVERY_MS      30000
#define KPUB_IDLE_WAIT_MS       1000
#define KPUB_PREEMPTED          (-EINTR)    /* internal: a newer picture arrived mid-pass */
#define KPUB_SERVER_AWAY        (-ENOTCONN) /* internal: a request got no answer at all */

/* ---- small helpers ---- */

static void warn_limited(struct kpub_warn *w, int r, const struct errbuf *eb, const char *what,
                         const char *ns, const char *name)
{
    uint64_t now = clock_now_ms();
    char msg[ERRBUF_SIZE + 64];

    (void) snprintf(msg, sizeof(msg), "%s: %s", what, eb->msg);
    if (str_eq(msg, w->msg) && now - w->at_ms < KPUB_WARN_EVERY_MS) {
        return;
    }
    (void) str_copy(w->msg, sizeof(w->msg), msg);
    w->at_ms = now;
    (void) log_emit_errno(LOG_LEVEL_WARN, __FILE__, __LINE__,
                          LOG_CTX({"cluster", name}, {"namespace", ns}), r, eb,
                          "kubernetes %s failed (retrying)", what);
}

static void entry_forget(struct kpub_entry *e)
{
    for (int i = 0; i < 2; i++) {
        kpub_sync_obj_forget(&e->slice[i]);
        kpub_sync_obj_forget(&e->svc[i]);
    }
    kpub_sync_obj_forget(&e->status);
}

static uint64_t delay_ms(const struct kpub *p, uint32_t attempt)
{
    uint64_t d = p->retry_base_ms;

    for (uint32_t i = 0; i < attempt && d < p->retry_cap_ms; i++) {
        d *= 2;
    }
    return d < p->retry_cap_ms ? d : p->retry_cap_ms;
}

/* True when the pass must stop: a newer picture, deactivation or shutdown. */
static bool preempted(struct kpub *p, uint64_t changes)
{
    bool r;

    pthread_mutex_lock(&p->lock);
    r = p->stop || !p->active || p->reset || p->changes != changes;
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* ---- the pass ---- */

enum kpub_phase {
    KPUB_PHASE_NONE = 0,
    KPUB_PHASE_WRITE_SLICE,
    KPUB_PHASE_READ_SLICE,
    KPUB_PHASE_SERVICES,
    KPUB_PHASE_LABELS,
    KPUB_PHASE_STATUS,
    _KPUB_PHASE_MAX
};

static const char *phase_name(enum kpub_phase ph)
{
    switch (ph) {
    case KPUB_PHASE_NONE:
        return "none";
    case KPUB_PHASE_WRITE_SLICE:
        return "write EndpointSlice";
    case KPUB_PHASE_READ_SLICE:
        return "read EndpointSlice";
    case KPUB_PHASE_SERVICES:
        return "Services";
    case KPUB_PHASE_LABELS:
        return "role labels";
    case KPUB_PHASE_STATUS:
        return "status";
    case _KPUB_PHASE_MAX:
        break;
    }
    return "UNKNOWN";
}

static int run_phase(struct kpub *p, struct kpub_work *w, enum kpub_phase ph, struct errbuf *eb)
{
    const struct kpub_desired *d = &w->d;

    if (d->removing) {
        if (ph == KPUB_PHASE_SERVICES) {
            return kpub_sync_remove(p, w, eb);
        }
        return ph == KPUB_PHASE_LABELS ? kpub_sync_labels(p, w, eb) : 0;
    }
    switch (ph) {
    case KPUB_PHASE_WRITE_SLICE:
    case KPUB_PHASE_READ_SLICE:
        return d->has_svc ? kpub_sync_slice(p, w, ph == KPUB_PHASE_READ_SLICE, eb) : 0;
    case KPUB_PHASE_SERVICES:
        if (!d->has_svc) {
            return 0;
        }
        {
            int r = kpub_sync_service(p, w, false, eb);

            return r < 0 ? r : kpub_sync_service(p, w, true, eb);
        }
    case KPUB_PHASE_LABELS:
        return d->has_svc ? kpub_sync_labels(p, w, eb) : 0;
    case KPUB_PHASE_STATUS:
        return d->has_cr ? kpub_sync_status(p, w, eb) : 0;
    case KPUB_PHASE_NONE:
    case _KPUB_PHASE_MAX:
        break;
    }
    return 0;
}

/*
 * One phase of one cluster. An API error backs its cluster off, but its other objects are
 * still written (a Service that cannot be created must not hold the status back).
 */
static int run_work_phase(struct kpub *p, struct kpub_work *w, enum kpub_phase ph, uint64_t changes)
{
    struct errbuf eb = {{0}};
    int r = run_phase(p, w, ph, &eb);

    if (r < 0) {
        warn_limited(&w->e->warn, r, &eb, phase_name(ph), w->e->ns, w->e->name);
        w->failed = true;
        if (p->server_away) {
            return KPUB_SERVER_AWAY;
        }
    }
    return preempted(p, changes) ? KPUB_PREEMPTED : 0;
}

/*
 * Runs every phase over the work items, in phase order. Returns 0, KPUB_PREEMPTED, or
 * KPUB_SERVER_AWAY when the server did not answer (the rest of the pass is skipped).
 */
static int run_pass(struct kpub *p, struct kpub_work *works, size_t n, uint64_t changes)
{
    for (int ph = KPUB_PHASE_WRITE_SLICE; ph < _KPUB_PHASE_MAX; ph++) {
        for (size_t i = 0; i < n; i++) {
            int r = run_work_phase(p, &works[i], (enum kpub_phase) ph, changes);

            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

/* Copies the due, dirty entries into *ret (under the lock); returns their count. */
static size_t collect_work(struct kpub *p, uint64_t now, struct kpub_work **ret,
                           uint64_t *ret_wait_ms)
{
    struct kpub_work *works = NULL;
    size_t n = 0, cap = 0;

    for (struct kpub_entry *e = p->entries; e; e = e->next) {
        if (!e->dirty) {
            continue;
        }
        if (e->due_ms > now) {
            *ret_wait_ms = e->due_ms - now < *ret_wait_ms ? e->due_ms - now : *ret_wait_ms;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            works = xrealloc(works, cap * sizeof(*works));
        }
        works[n] = (struct kpub_work){.e = e, .d = e->want, .seq = e->seq};
        n++;
    }
    *ret = works;
    return n;
}

/* Records the pass's outcome (under the lock). */
static void finish_work(struct kpub *p, struct kpub_work *works, size_t n, int pass_r, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct kpub_work *w = &works[i];
        struct kpub_entry *e = w->e;

        if (w->failed && e->seq == w->seq) {
            e->due_ms = now + delay_ms(p, e->attempt); /* a newer picture is tried at once */
            e->attempt++;
        } else if (w->failed) {
            continue;
        } else if (pass_r == 0 && e->seq == w->seq) {
            e->dirty = false;
            e->attempt = 0;
            e->due_ms = 0;
            e->removed = w->d.removing;
            if (e->removed) {
                entry_forget(e); /* the thread holds the lock here: the copies are its own */
            }
        }
    }
}

/* ---- Events ---- */

/* Posts the oldest queued Event; 0 (sent or dropped), or the error to back off on. */
static int post_event(struct kpub *p, const struct kpub_event_item *ev)
{
    struct kpub_event_spec spec = {.type = ev->type,
                                   .reason = ev->reason,
                                   .message = ev->message,
                                   .identity = p->identity,
                                   .id = ev->id,
                                   .now = ev->now,
                                   .now_micro = ev->now_micro};
    cJSON *obj = kpub_build_event(&ev->cr, &spec);
    char path[KUBE_PATH_MAX];
    struct kube_error err = {0};
    struct errbuf eb = {{0}};
    int r = kube_path(path, sizeof(path), &kube_res_events, ev->cr.ns, NULL, NULL);

    if (r == 0) {
        r = kube_create(p->kc, path, obj, NULL, &err, &eb);
        kpub_sync_count(p, r == 0);
    }
    cJSON_Delete(obj);
    if (r == -EEXIST) {
        return 0; /* posted before a lost answer */
    }
    if (r < 0 && err.http_status >= 400 && err.http_status < 500 && r != -EBUSY && r != -EACCES) {
        warn_limited(&p->warn, r, &eb, "Event (dropped)", ev->cr.ns, ev->cr.name);
        return 0; /* refused for good (namespace gone, invalid): retrying cannot help */
    }
    if (r < 0) {
        warn_limited(&p->warn, r, &eb, "Event", ev->cr.ns, ev->cr.name);
    }
    return r;
}

/* Posts the queued Events in order until one fails (lock held on entry and exit). */
static void post_events(struct kpub *p, uint64_t changes)
{
    while (p->n_events > 0 && !p->stop && p->active && p->changes == changes &&
           p->events_due_ms <= clock_now_ms()) {
        struct kpub_event_item *ev = p->events[0];
        int r;

        p->posting = ev;
        pthread_mutex_unlock(&p->lock);
        r = post_event(p, ev);
        pthread_mutex_lock(&p->lock);
        p->posting = NULL;
        if (p->posting_dropped) {
            p->posting_dropped = false; /* already out of the queue: ours to free */
            free(ev);
            continue;
        }
        if (r < 0) {
            p->events_due_ms = clock_now_ms() + delay_ms(p, p->events_attempt++);
            return;
        }
        p->events_attempt = 0;
        memmove(&p->events[0], &p->events[1], (p->n_events - 1) * sizeof(struct kpub_event_item *));
        p->n_events--;
        free(ev);
    }
}

/* ---- the thread ---- */

static void reset_caches(struct kpub *p)
{
    for (struct kpub_entry *e = p->entries; e; e = e->next) {
        entry_forget(e);
        e->dirty = true;
        e->removed = false;
        e->due_ms = 0;
        e->attempt = 0;
    }
    cJSON_Delete(p->pods);
    p->pods = NULL;
    p->server_due_ms = 0;
    p->server_attempt = 0;
    p->events_due_ms = 0;
}

static void wait_ms(struct kpub *p, uint64_t ms)
{
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);

    (void) pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* One round (lock held on entry and exit): a pass over the due clusters, then Events. */
static void round_once(struct kpub *p)
{
    uint64_t now = clock_now_ms();
    uint64_t wait = KPUB_IDLE_WAIT_MS;
    uint64_t changes = p->changes;
    struct kpub_work *works = NULL;
    size_t n;
    int r = 0;

    if (p->server_due_ms > now) {
        wait_ms(p, p->server_due_ms - now);
        return;
    }
    n = collect_work(p, now, &works, &wait);
    if (n > 0) {
        pthread_mutex_unlock(&p->lock);
        p->server_away = false;
        r = run_pass(p, works, n, changes);
        pthread_mutex_lock(&p->lock);
        now = clock_now_ms();
        finish_work(p, works, n, r, now);
        if (r == KPUB_SERVER_AWAY) {
            p->server_due_ms = now + delay_ms(p, p->server_attempt++);
        } else {
            p->server_attempt = 0;
        }
    }
    free(works);
    if (r == 0) {
        post_events(p, changes);
    }
    if (n > 0 || p->changes != changes || p->stop || p->reset) {
        return; /* look again at once */
    }
    if (p->n_events > 0) {
        now = clock_now_ms();
        wait = p->events_due_ms > now && p->events_due_ms - now < wait ? p->events_due_ms - now
                                                                       : wait;
    }
    wait_ms(p, wait);
}

static void *kpub_main(void *arg)
{
    struct kpub *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        if (!p->active) {
            (void) pthread_cond_wait(&p->cond, &p->lock);
            continue;
        }
        if (p->reset) {
            p->reset = false;
            reset_caches(p);
            continue;
        }
        round_once(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the API ---- */

struct kpub *kpub_start(const struct kube_config *cfg, const struct kpub_options *opt,
                        struct errbuf *eb)
{
    struct kube_config *c = xcalloc(1, sizeof(*c));
    struct kpub *p = xcalloc(1, sizeof(*p));

    *c = *cfg; /* the PEM blobs stay cfg's: kube_client_new copies what it needs */
    if (c->connect_timeout_ms == 0 || c->connect_timeout_ms > KPUB_CONNECT_TIMEOUT_MS) {
        c->connect_timeout_ms = KPUB_CONNECT_TIMEOUT_MS;
    }
    if (c->timeout_ms == 0 || c->timeout_ms > KPUB_TIMEOUT_MS) {
        c->timeout_ms = KPUB_TIMEOUT_MS;
    }
    p->kc = kube_client_new(c, eb);
    free(c);
    if (!p->kc) {
        free(p);
        return NULL;
    }
    p->agent_namespace = xstrdup(opt->agent_namespace ? opt->agent_namespace : "og-system");
    p->agent_selector =
            xstrdup(opt->agent_selector ? opt->agent_selector : "app.kubernetes.io/name=og-agent");
    p->identity = xstrdup(opt->identity ? opt->identity : "og-arbiter");
    p->retry_base_ms = opt->retry_base_ms ? opt->retry_base_ms : 200;
    p->retry_cap_ms = opt->retry_cap_ms ? opt->retry_cap_ms : 5000;
    if (p->retry_cap_ms < p->retry_base_ms) {
        p->retry_cap_ms = p->retry_base_ms;
    }
    pthread_mutex_init(&p->lock, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (pthread_create(&p->thread, NULL, kpub_main, p) != 0) {
        errbuf_set(eb, "kpub: cannot start its thread");
        kube_client_free(p->kc);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->agent_namespace);
        free(p->agent_selector);
        free(p->identity);
        free(p);
        return NULL;
    }
    return p;
}

void kpub_stop(struct kpub *p)
{
    struct kpub_entry *e;

    if (!p) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    (void) pthread_join(p->thread, NULL);
    while ((e = p->entries)) {
        p->entries = e->next;
        entry_forget(e);
        free(e);
    }
    for (size_t i = 0; i < p->n_events; i++) {
        free(p->events[i]);
    }
    cJSON_Delete(p->pods);
    kube_client_free(p->kc);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->agent_namespace);
    free(p->agent_selector);
    free(p->identity);
    free(p);
}

void kpub_set_active(struct kpub *p, bool active)
{
    pthread_mutex_lock(&p->lock);
    if (active && !p->active) {
        p->reset = true;
    }
    p->active = active;
    p->changes++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* The entry of ns/name, created when missing (lock held). */
static struct kpub_entry *entry_get(struct kpub *p, const char *ns, const char *name)
{
    struct kpub_entry *e;

    for (e = p->entries; e; e = e->next) {
        if (str_eq(e->ns, ns) && str_eq(e->name, name)) {
            return e;
        }
    }
    e = xcalloc(1, sizeof(*e));
    (void) str_copy(e->ns, sizeof(e->ns), ns);
    (void) str_copy(e->name, sizeof(e->name), name);
    e->next = p->entries;
    p->entries = e;
    return e;
}

/* Marks e changed and wakes the thread (lock held). */
static void entry_changed(struct kpub *p, struct kpub_entry *e)
{
    e->seq++;
    e->dirty = true;
    e->removed = false;
    e->due_ms = 0;
    e->attempt = 0;
    p->changes++;
    pthread_cond_broadcast(&p->cond);
}

/* Parses cr into *c, logging a refusal; false when it is unusable. */
static bool cr_parse(const cJSON *cr, struct kpub_cr *c)
{
    struct errbuf eb = {{0}};
    int r = kpub_cr_parse(cr, c, &eb);

    if (r < 0) {
        (void) log_warn_errno(r, &eb, "kpub: custom resource ignored");
        return false;
    }
    return true;
}

void kpub_cluster(struct kpub *p, const cJSON *cr, const cJSON *view)
{
    struct kpub_cr c;
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    struct errbuf eb = {{0}};
    struct kpub_desired *d;
    struct kpub_entry *e;
    bool changed = false;

    if (!cr_parse(cr, &c) || kpub_view_parse(view, v, &eb) < 0) {
        free(v);
        return;
    }
    pthread_mutex_lock(&p->lock);
    e = entry_get(p, c.ns, c.name);
    d = &e->want;
    if (d->removing) {
        d->removing = false;
        changed = true;
    }
    if (d->invalid && c.generation > d->invalid_gen) {
        d->invalid = false; /* a newer spec: no longer known to be invalid */
        changed = true;
    }
    if (!d->has_cr || !kpub_cr_equal(&d->cr, &c)) {
        d->cr = c;
        d->has_cr = true;
        changed = true;
    }
    if (!d->invalid && (!d->has_svc || !kpub_cr_equal(&d->svc_cr, &c))) {
        d->svc_cr = c;
        d->has_svc = true;
        changed = true;
    }
    if (!kpub_view_equal(&d->view, v)) {
        d->view = *v;
        changed = true;
    }
    if (changed) {
        entry_changed(p, e);
    }
    pthread_mutex_unlock(&p->lock);
    free(v);
}

/* Queues an Event (lock held); the oldest is dropped when the queue is full. */
static void event_queue(struct kpub *p, const struct kpub_cr *c, const char *type,
                        const char *reason, const char *message)
{
    struct kpub_event_item *ev = xcalloc(1, sizeof(*ev));
    uint64_t wall = clock_wall_ms();

    ev->cr = *c;
    (void) snprintf(ev->type, sizeof(ev->type), "%s", type ? type : "Normal");
    (void) snprintf(ev->reason, sizeof(ev->reason), "%s", reason ? reason : "Unknown");
    (void) snprintf(ev->message, sizeof(ev->message), "%s", message ? message : "");
    kpub_sync_format_time(wall, false, ev->now, sizeof(ev->now));
    kpub_sync_format_time(wall, true, ev->now_micro, sizeof(ev->now_micro));
    /* Unique across restarts: the wall time in ms, then a sequence number. */
    ev->id = (wall << 12) | (p->event_seq++ & 0xfff);
    if (p->n_events == KPUB_EVENTS_MAX) {
        /* The thread may be posting the head right now: then it frees it. */
        if (p->events[0] == p->posting) {
            p->posting_dropped = true;
        } else {
            free(p->events[0]);
        }
        memmove(&p->events[0], &p->events[1], (p->n_events - 1) * sizeof(struct kpub_event_item *));
        p->n_events--;
    }
    p->events[p->n_events++] = ev;
    pthread_cond_broadcast(&p->cond);
}

void kpub_invalid(struct kpub *p, const cJSON *cr, const char *message)
{
    struct kpub_cr c;
    struct kpub_desired *d;
    struct kpub_entry *e;
    char msg[KPUB_MESSAGE_MAX];

    if (!cr_parse(cr, &c)) {
        return;
    }
    (void) snprintf(msg, sizeof(msg), "%s", message ? message : "invalid spec");
    pthread_mutex_lock(&p->lock);
    e = entry_get(p, c.ns, c.name);
    d = &e->want;
    if (!d->invalid || d->invalid_gen != c.generation || !str_eq(d->invalid_msg, msg) ||
        !d->has_cr || !kpub_cr_equal(&d->cr, &c) || d->removing) {
        d->removing = false;
        d->invalid = true;
        d->invalid_gen = c.generation;
        (void) str_copy(d->invalid_msg, sizeof(d->invalid_msg), msg);
        d->cr = c;
        d->has_cr = true;
        event_queue(p, &c, "Warning", "InvalidSpec", msg);
        entry_changed(p, e);
    }
    pthread_mutex_unlock(&p->lock);
}

void kpub_valid(struct kpub *p, const cJSON *cr)
{
    struct kpub_cr c;
    struct kpub_entry *e;

    if (!cr_parse(cr, &c)) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    e = entry_get(p, c.ns, c.name);
    if (e->want.invalid) {
        e->want.invalid = false;
        e->want.cr = c;
        e->want.has_cr = true;
        e->want.svc_cr = c;
        e->want.has_svc = true;
        entry_changed(p, e);
    }
    pthread_mutex_unlock(&p->lock);
}

void kpub_event(struct kpub *p, const cJSON *cr, const char *type, const char *reason,
                const char *message)
{
    struct kpub_cr c;

    if (!cr_parse(cr, &c)) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    event_queue(p, &c, type, reason, message);
    pthread_mutex_unlock(&p->lock);
}

void kpub_remove(struct kpub *p, const char *ns, const char *name)
{
    struct kpub_entry *e;

    pthread_mutex_lock(&p->lock);
    e = entry_get(p, ns, name);
    memset(&e->want, 0, sizeof(e->want));
    e->want.removing = true;
    entry_changed(p, e);
    pthread_mutex_unlock(&p->lock);
}

bool kpub_removed(struct kpub *p, const char *ns, const char *name)
{
    bool r = true;

    pthread_mutex_lock(&p->lock);
    for (struct kpub_entry *e = p->entries; e; e = e->next) {
        if (str_eq(e->ns, ns) && str_eq(e->name, name)) {
            r = e->want.removing && e->removed;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void kpub_stats(struct kpub *p, struct kpub_stats *ret)
{
    pthread_mutex_lock(&p->lock);
    *ret = p->stats;
    ret->pending = (uint32_t) p->n_events;
    for (struct kpub_entry *e = p->entries; e; e = e->next) {
        ret->pending += e->dirty;
    }
    pthread_mutex_unlock(&p->lock);
}

/*
 * arbiter/lease.c
 *
 * Leader election with a coordination.k8s.io/v1 Lease (lease.h), after client-go's
 * leaderelection.tryAcquireOrRenew: one thread per lease reads the Lease every retry period,
 * creates it when missing, takes it over when it is free (released) or expired, renews it
 * while held, and releases it on stop. Expiry is judged only on our monotonic clock, from the
 * moment we saw the record change (any write changes its resourceVersion); the renewTime the
 * holder wrote is informative and never compared with our clock. Every write carries the
 * resourceVersion read, so a race is lost with 409 Conflict and settled on the next read.
 *
 * Leadership is an atomic flag (lease_is_leader) read by other threads; the holder seen is
 * kept under a mutex for 503 messages. The thread is the only writer of both and the only
 * caller of on_change. It logs nothing above debug: the caller's on_change is where the
 * transition is told.
 *
 * Layer: edge
 */
#include "arbiter/lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define LEASE_CONNECT_TIMEOUT_MS 1000
#define LEASE_MICROTIME_MAX      32
#define LEASE_RV_MAX             64
#define LEASE_NAME_MAX           254

/* The Lease as we last read or wrote it (zero-padded: compared with memcmp). */
struct lease_record {
    char holder[LEASE_IDENTITY_MAX];
    uint32_t duration_s;
    uint32_t transitions;
    char acquire_time[LEASE_MICROTIME_MAX];
    char renew_time[LEASE_MICROTIME_MAX];
    char rv[LEASE_RV_MAX];
};

struct lease {
    struct kube_client *kc;
    char path[KUBE_PATH_MAX];       /* the Lease object */
    char collection[KUBE_PATH_MAX]; /* its collection, for the create */
    char ns[KUBE_NAMESPACE_MAX];
    char name[LEASE_NAME_MAX];
    char identity[LEASE_IDENTITY_MAX];
    uint32_t duration_ms, renew_deadline_ms, retry_period_ms;
    lease_change_fn on_change;
    void *data;

    pthread_t thread;
    pthread_mutex_t mu; /* guards stopping, release, holder */
    pthread_cond_t cond;
    bool stopping;
    bool release; /* release the Lease when stopping */
    char holder[LEASE_IDENTITY_MAX];
    atomic_bool leader;

    /* The thread's own. */
    struct lease_record seen; /* the record last read or written */
    bool have_seen;
    uint64_t seen_ms;    /* monotonic: when `seen` last changed */
    uint64_t renewed_ms; /* monotonic: start of the last successful acquire or renew */
};

/* "2026-11-25T01:02:03.123000Z": metav1.MicroTime of now (wall clock, display only). */
static void lease_microtime(char buf[LEASE_MICROTIME_MAX])
{
    uint64_t ms = clock_wall_ms();
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    (void) gmtime_r(&secs, &tm);
    (void) snprintf(buf, LEASE_MICROTIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    (unsigned) (ms % 1000) * 1000);
}

static void copy_str_item(const cJSON *obj, const char *key, char *dst, size_t size)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));

    (void) str_copy(dst, size, s ? s : "");
}

static uint32_t u32_item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0;

    return d > 0 && d < 4294967295.0 ? (uint32_t) d : 0;
}

static void record_parse(const cJSON *obj, struct lease_record *r)
{
    const cJSON *spec = cJSON_GetObjectItem(obj, "spec");

    memset(r, 0, sizeof(*r));
    copy_str_item(spec, "holderIdentity", r->holder, sizeof(r->holder));
    r->duration_s = u32_item(spec, "leaseDurationSeconds");
    r->transitions = u32_item(spec, "leaseTransitions");
    copy_str_item(spec, "acquireTime", r->acquire_time, sizeof(r->acquire_time));
    copy_str_item(spec, "renewTime", r->renew_time, sizeof(r->renew_time));
    copy_str_item(cJSON_GetObjectItem(obj, "metadata"), "resourceVersion", r->rv, sizeof(r->rv));
}

/* The Lease object for r (its resourceVersion when set). Owned by the caller. */
static cJSON *record_object(const struct lease *l, const struct lease_record *r)
{
    cJSON *obj = json_new_object();
    cJSON *meta, *spec;

    json_add_str(obj, "apiVersion", "coordination.k8s.io/v1");
    json_add_str(obj, "kind", "Lease");
    meta = json_add_object(obj, "metadata");
    json_add_str(meta, "name", l->name);
    json_add_str(meta, "namespace", l->ns);
    if (!str_is_empty(r->rv)) {
        json_add_str(meta, "resourceVersion", r->rv);
    }
    spec = json_add_object(obj, "spec");
    json_add_str(spec, "holderIdentity", r->holder);
    json_add_u64(spec, "leaseDurationSeconds", r->duration_s);
    if (!str_is_empty(r->acquire_time)) {
        json_add_str(spec, "acquireTime", r->acquire_time);
    }
    if (!str_is_empty(r->renew_time)) {
        json_add_str(spec, "renewTime", r->renew_time);
    }
    json_add_u64(spec, "leaseTransitions", r->transitions);
    return obj;
}

/* Records what the API server holds now; the expiry clock restarts when it changed. */
static void lease_observe(struct lease *l, const cJSON *obj, uint64_t now_ms)
{
    struct lease_record r;

    record_parse(obj, &r);
    if (!l->have_seen || memcmp(&r, &l->seen, sizeof(r)) != 0) {
        l->seen = r;
        l->seen_ms = now_ms;
        l->have_seen = true;
    }
    pthread_mutex_lock(&l->mu);
    (void) str_copy(l->holder, sizeof(l->holder), r.holder);
    pthread_mutex_unlock(&l->mu);
}

static int lease_create(struct lease *l)
{
    struct lease_record next;
    struct errbuf eb = {{0}};
    cJSON *body, *out = NULL;
    int r;

    memset(&next, 0, sizeof(next));
    (void) str_copy(next.holder, sizeof(next.holder), l->identity);
    next.duration_s = (l->duration_ms + 999) / 1000;
    lease_microtime(next.acquire_time);
    memcpy(next.renew_time, next.acquire_time, sizeof(next.renew_time));
    body = record_object(l, &next);
    r = kube_create(l->kc, l->collection, body, &out, NULL, &eb);
    cJSON_Delete(body);
    if (r == 0) {
        lease_observe(l, out, clock_now_ms());
    } else {
        log_debug("lease %s/%s: create: %s", l->ns, l->name, eb.msg);
    }
    cJSON_Delete(out);
    return r;
}

/* Writes next over the record last read (its resourceVersion): 0, -EAGAIN (conflict), ... */
static int lease_write(struct lease *l, struct lease_record *next)
{
    struct errbuf eb = {{0}};
    cJSON *body, *out = NULL;
    int r;

    (void) str_copy(next->rv, sizeof(next->rv), l->seen.rv);
    body = record_object(l, next);
    r = kube_update(l->kc, l->path, body, &out, NULL, &eb);
    cJSON_Delete(body);
    if (r == 0) {
        lease_observe(l, out, clock_now_ms());
    } else {
        log_debug("lease %s/%s: update: %s", l->ns, l->name, eb.msg);
    }
    cJSON_Delete(out);
    return r;
}

/*
 * One round of client-go's tryAcquireOrRenew. 0: we hold the Lease now (created, taken over
 * or renewed); -EBUSY: another holds it (and, when we were leader, took it from us); else the
 * request's error (-EAGAIN: lost a race, -ETIMEDOUT, -ECONNREFUSED...).
 */
static int lease_try(struct lease *l, bool leader)
{
    struct lease_record next;
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;
    uint64_t now_ms, dur_ms;
    int r = kube_get(l->kc, l->path, &obj, NULL, &eb);

    if (r == -ENOENT) {
        return lease_create(l);
    }
    if (r < 0) {
        log_debug("lease %s/%s: get: %s", l->ns, l->name, eb.msg);
        return r;
    }
    now_ms = clock_now_ms();
    lease_observe(l, obj, now_ms);
    cJSON_Delete(obj);
    if (!str_is_empty(l->seen.holder) && !str_eq(l->seen.holder, l->identity)) {
        dur_ms = l->seen.duration_s ? (uint64_t) l->seen.duration_s * 1000 : l->duration_ms;
        if (leader || now_ms - l->seen_ms < dur_ms) {
            return -EBUSY;
        }
    }
    next = l->seen;
    if (!str_eq(l->seen.holder, l->identity)) {
        /* A takeover (of an expired or released Lease): a new term. */
        next.transitions = l->seen.transitions + 1;
        lease_microtime(next.acquire_time);
        (void) str_copy(next.holder, sizeof(next.holder), l->identity);
    }
    next.duration_s = (l->duration_ms + 999) / 1000;
    lease_microtime(next.renew_time);
    return lease_write(l, &next);
}

/* Releases the Lease if the record last seen is ours (client-go's release()). */
static void lease_release(struct lease *l)
{
    struct lease_record next;

    if (!l->have_seen || !str_eq(l->seen.holder, l->identity)) {
        return;
    }
    next = l->seen;
    memset(next.holder, 0, sizeof(next.holder));
    next.duration_s = 1;
    lease_microtime(next.renew_time);
    memcpy(next.acquire_time, next.renew_time, sizeof(next.acquire_time));
    (void) lease_write(l, &next);
}

static void lease_set_leader(struct lease *l, bool leader)
{
    if (atomic_load(&l->leader) == leader) {
        return;
    }
    atomic_store(&l->leader, leader);
    log_debug("lease %s/%s: %s", l->ns, l->name, leader ? "acquired" : "lost");
    if (l->on_change) {
        l->on_change(leader, l->data);
    }
}

/* Sleeps until the monotonic time until_ms or a stop; true when stopping. */
static bool lease_wait(struct lease *l, uint64_t until_ms)
{
    bool stopping;

    pthread_mutex_lock(&l->mu);
    while (!l->stopping) {
        uint64_t now_ms = clock_now_ms();
        struct timespec ts;

        if (now_ms >= until_ms) {
            break;
        }
        ts = clock_deadline(CLOCK_MONOTONIC, until_ms - now_ms);
        (void) pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    }
    stopping = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stopping;
}

static void *lease_main(void *arg)
{
    struct lease *l = arg;
    bool release;

    for (;;) {
        uint64_t start_ms = clock_now_ms(), next_ms;
        bool leader = atomic_load(&l->leader);
        int r;

        if (leader && start_ms - l->renewed_ms >= l->renew_deadline_ms) {
            lease_set_leader(l, false); /* the deadline passed while we waited */
            leader = false;
        }
        r = lease_try(l, leader);
        if (r == 0) {
            l->renewed_ms = start_ms;
            lease_set_leader(l, true);
        } else if (leader &&
                   (r == -EBUSY || clock_now_ms() - l->renewed_ms >= l->renew_deadline_ms)) {
            lease_set_leader(l, false);
        }
        next_ms = start_ms + l->retry_period_ms;
        if (atomic_load(&l->leader) && l->renewed_ms + l->renew_deadline_ms < next_ms) {
            next_ms = l->renewed_ms + l->renew_deadline_ms;
        }
        if (lease_wait(l, next_ms)) {
            break;
        }
    }
    /* Stop deciding first, then let the others take over at once. */
    lease_set_leader(l, false);
    pthread_mutex_lock(&l->mu);
    release = l->release;
    pthread_mutex_unlock(&l->mu);
    if (release) {
        lease_release(l);
    }
    return NULL;
}

/* Defaults and checks of opt into l; 0 or -EINVAL with eb filled. */
static int lease_configure(struct lease *l, const struct kube_config *cfg,
                           const struct lease_options *opt, struct errbuf *eb)
{
    char host[64] = "";
    const char *ns = str_is_empty(opt->namespace_) ? cfg->namespace_ : opt->namespace_;
    const char *name = str_is_empty(opt->name) ? LEASE_DEFAULT_NAME : opt->name;

    l->duration_ms = opt->duration_ms ? opt->duration_ms : LEASE_DEFAULT_DURATION_MS;
    l->renew_deadline_ms =
            opt->renew_deadline_ms ? opt->renew_deadline_ms : LEASE_DEFAULT_RENEW_DEADLINE_MS;
    l->retry_period_ms =
            opt->retry_period_ms ? opt->retry_period_ms : LEASE_DEFAULT_RETRY_PERIOD_MS;
    if (l->renew_deadline_ms >= l->duration_ms || l->retry_period_ms >= l->renew_deadline_ms) {
        errbuf_set(eb,
                   "lease: need retry period (%u ms) < renew deadline (%u ms) < duration "
                   "(%u ms)",
                   l->retry_period_ms, l->renew_deadline_ms, l->duration_ms);
        return -EINVAL;
    }
    if (str_is_empty(opt->identity)) {
        (void) gethostname(host, sizeof(host) - 1);
        (void) snprintf(l->identity, sizeof(l->identity), "%s_%ld", host, (long) getpid());
    } else if (str_copy(l->identity, sizeof(l->identity), opt->identity) < 0) {
        errbuf_set(eb, "lease: identity longer than %d characters", LEASE_IDENTITY_MAX - 1);
        return -EINVAL;
    }
    if (str_copy(l->ns, sizeof(l->ns), str_is_empty(ns) ? "default" : ns) < 0 ||
        str_copy(l->name, sizeof(l->name), name) < 0 ||
        kube_path(l->path, sizeof(l->path), &kube_res_leases, l->ns, l->name, NULL) < 0 ||
        kube_path(l->collection, sizeof(l->collection), &kube_res_leases, l->ns, NULL, NULL) < 0) {
        errbuf_set(eb, "lease: bad namespace or name \"%s/%s\"", ns, name);
        return -EINVAL;
    }
    l->on_change = opt->on_change;
    l->data = opt->data;
    return 0;
}

/* The lease's own client: short timeouts, so a renew never outlives its deadline by much. */
static struct kube_client *lease_client(const struct lease *l, const struct kube_config *cfg,
                                        struct errbuf *eb)
{
    struct kube_config *copy = xmalloc(sizeof(*copy));
    uint32_t timeout = l->retry_period_ms;
    struct kube_client *kc;

    /* A shallow copy: the PEM blobs stay the caller's (kube_client_new copies them). */
    memcpy(copy, cfg, sizeof(*copy));
    if (l->duration_ms - l->renew_deadline_ms < timeout) {
        timeout = l->duration_ms - l->renew_deadline_ms;
    }
    copy->timeout_ms = timeout;
    copy->connect_timeout_ms =
            timeout < LEASE_CONNECT_TIMEOUT_MS ? timeout : LEASE_CONNECT_TIMEOUT_MS;
    kc = kube_client_new(copy, eb);
    free(copy);
    return kc;
}

struct lease *lease_start(const struct kube_config *cfg, const struct lease_options *opt,
                          struct errbuf *eb)
{
    struct lease *l = xcalloc(1, sizeof(*l));
    pthread_condattr_t ca;
    int r;

    atomic_init(&l->leader, false);
    l->release = true;
    if (lease_configure(l, cfg, opt, eb) < 0) {
        free(l);
        return NULL;
    }
    l->kc = lease_client(l, cfg, eb);
    if (!l->kc) {
        free(l);
        return NULL;
    }
    (void) pthread_mutex_init(&l->mu, NULL);
    (void) pthread_condattr_init(&ca);
    (void) pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    (void) pthread_cond_init(&l->cond, &ca);
    (void) pthread_condattr_destroy(&ca);
    r = pthread_create(&l->thread, NULL, lease_main, l);
    if (r != 0) {
        errbuf_set(eb, "lease: cannot start its thread (error %d)", r);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        kube_client_free(l->kc);
        free(l);
        return NULL;
    }
    return l;
}

bool lease_is_leader(struct lease *l)
{
    return l && atomic_load(&l->leader);
}

void lease_holder(struct lease *l, char *buf, size_t size)
{
    if (size == 0) {
        return;
    }
    buf[0] = '\0';
    if (!l) {
        return;
    }
    pthread_mutex_lock(&l->mu);
    (void) str_copy(buf, size, l->holder);
    pthread_mutex_unlock(&l->mu);
}

static void lease_finish(struct lease *l, bool release)
{
    if (!l) {
        return;
    }
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    l->release = release;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    (void) pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    kube_client_free(l->kc);
    free(l);
}

void lease_stop(struct lease *l)
{
    lease_finish(l, true);
}

void lease_abandon(struct lease *l)
{
    lease_finish(l, false);
}

/*
 * agent/uplink.c
 *
 * The poller and pusher threads of uplink.h. Each has its own reporter (its own keep-alive
 * HTTP handle: a struct httpc serves one thread). Shared fields live under u->mu; u->deliver_mu
 * serialises "is this answer current? then deliver it" across the two threads, so the owner
 * sees desired states in order. Outages are logged once when they start and once when they
 * end; the instances keep running meanwhile.
 *
 * Layer: shell.
 */
#include "agent/uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/reporter.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

struct uplink_worker {
    struct uplink *u;
    struct reporter *rp;
    struct proto_report *rep;
    struct proto_desired *desired;
    pthread_t thread;
    bool started;
    bool pusher;
};

struct uplink {
    struct uplink_ops ops;
    char node[PROTO_NODE_MAX + 1];
    char agent_id[PROTO_ID_MAX + 1];
    char *url;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* kick and stop */
    bool stop;
    bool kicked;
    uint64_t seq;
    uint64_t heartbeat_ms;
    uint64_t last_ok_ms;
    bool have_desired;
    uint64_t generation;     /* of the last desired state delivered */
    uint64_t accepted_at_ms; /* when it arrived */
    bool reachable;          /* for logging the edges of an outage */
    bool outage_logged;
    char last_refusal[ERRBUF_SIZE];

    pthread_mutex_t deliver_mu;
    struct uplink_worker poller;
    struct uplink_worker pusher;
};

/* Builds the report: instances from the owner, the rest ours. Takes and releases u->mu. */
static void uplink_fill(struct uplink_worker *w, uint32_t wait_ms)
{
    struct uplink *u = w->u;
    struct proto_report *rep = w->rep;

    proto_report_init(rep);
    u->ops.fill(rep, u->ops.data);
    (void) str_copy(rep->node, sizeof(rep->node), u->node);
    (void) str_copy(rep->agent_id, sizeof(rep->agent_id), u->agent_id);
    pthread_mutex_lock(&u->mu);
    rep->seq = ++u->seq;
    rep->known_generation = u->generation;
    rep->wait_ms = u->have_desired ? wait_ms : 0;
    pthread_mutex_unlock(&u->mu);
}

static void uplink_note_failure(struct uplink *u, int r, const struct errbuf *eb)
{
    bool log_it;

    pthread_mutex_lock(&u->mu);
    log_it = u->reachable || !u->outage_logged;
    u->reachable = false;
    u->outage_logged = true;
    pthread_mutex_unlock(&u->mu);
    if (log_it) {
        slog_warn_errno(LOG_CTX({"arbiter", u->url}), r, eb,
                        "arbiter unreachable; instances keep running, retrying every heartbeat");
    }
}

static void uplink_note_refusal(struct uplink *u, const struct errbuf *eb)
{
    bool log_it;

    pthread_mutex_lock(&u->mu);
    log_it = strcmp(u->last_refusal, eb->msg) != 0;
    (void) str_copy(u->last_refusal, sizeof(u->last_refusal), eb->msg);
    pthread_mutex_unlock(&u->mu);
    if (log_it) {
        slog_error(LOG_CTX({"arbiter", u->url}, {"err", eb->msg}),
                   "desired state refused: nothing applied");
    }
    u->ops.refuse(eb->msg, u->ops.data);
}

/*
 * A valid answer to a request sent at sent_ms: deliver it unless it is stale (older
 * generation from a request sent before the last accepted answer arrived). Returns true when
 * its generation differs from the one the request knew (the caller may poll again at once).
 */
static bool uplink_accept(struct uplink_worker *w, uint64_t sent_ms, uint64_t known)
{
    struct uplink *u = w->u;
    const struct proto_desired *d = w->desired;
    uint64_t now = clock_now_ms();
    bool deliver, was_reachable;

    pthread_mutex_lock(&u->deliver_mu);
    pthread_mutex_lock(&u->mu);
    deliver = !u->have_desired || d->generation >= u->generation || sent_ms >= u->accepted_at_ms;
    if (deliver) {
        u->have_desired = true;
        u->generation = d->generation;
        u->accepted_at_ms = now;
        if (d->heartbeat_ms >= UPLINK_HEARTBEAT_MIN_MS &&
            d->heartbeat_ms <= UPLINK_HEARTBEAT_MAX_MS) {
            u->heartbeat_ms = d->heartbeat_ms;
        }
    }
    u->last_ok_ms = now;
    was_reachable = u->reachable;
    u->reachable = true;
    u->last_refusal[0] = '\0';
    pthread_mutex_unlock(&u->mu);
    if (deliver) {
        u->ops.deliver(d, now, u->ops.data);
    }
    pthread_mutex_unlock(&u->deliver_mu);
    if (!was_reachable) {
        slog_info(LOG_CTX({"arbiter", u->url}), "arbiter reached (generation %" PRIu64 ")",
                  d->generation);
    }
    return d->generation != known;
}

/* One exchange. Returns true when a new generation arrived. */
static bool uplink_exchange(struct uplink_worker *w, uint32_t wait_ms)
{
    struct errbuf eb = {{0}};
    uint64_t sent;
    int r;

    uplink_fill(w, wait_ms);
    sent = clock_now_ms();
    r = reporter_send(w->rp, w->rep, w->rep->wait_ms, w->desired, &eb);
    if (r == 0) {
        return uplink_accept(w, sent, w->rep->known_generation);
    }
    if (r == -EBADMSG) {
        uplink_note_refusal(w->u, &eb);
    } else {
        uplink_note_failure(w->u, r, &eb);
    }
    return false;
}

/* Waits until deadline_ms (monotonic) or stop; for the pusher also until kicked. */
static void uplink_wait(struct uplink *u, uint64_t deadline_ms, bool for_kick)
{
    pthread_mutex_lock(&u->mu);
    while (!u->stop && !(for_kick && u->kicked)) {
        uint64_t now = clock_now_ms();
        struct timespec ts;

        if (now >= deadline_ms) {
            break;
        }
        /* Bounded steps: "until kicked" passes UINT64_MAX. */
        ts = clock_deadline(CLOCK_MONOTONIC,
                            deadline_ms - now < 3600000 ? deadline_ms - now : 3600000);
        (void) pthread_cond_timedwait(&u->cond, &u->mu, &ts);
    }
    pthread_mutex_unlock(&u->mu);
}

static bool uplink_stopping(struct uplink *u)
{
    bool stop;

    pthread_mutex_lock(&u->mu);
    stop = u->stop;
    pthread_mutex_unlock(&u->mu);
    return stop;
}

static uint64_t uplink_heartbeat(struct uplink *u)
{
    uint64_t hb;

    pthread_mutex_lock(&u->mu);
    hb = u->heartbeat_ms;
    pthread_mutex_unlock(&u->mu);
    return hb;
}

/* Long polls, one per heartbeat at most (an arbiter that does not hold is not hammered). */
static void *uplink_poller(void *arg)
{
    struct uplink_worker *w = arg;
    struct uplink *u = w->u;

    while (!uplink_stopping(u)) {
        uint64_t hb = uplink_heartbeat(u);
        uint64_t start = clock_now_ms();

        if (uplink_exchange(w, (uint32_t) hb)) {
            continue; /* new orders: poll again with the new generation at once */
        }
        uplink_wait(u, start + hb, false);
    }
    return NULL;
}

/* Sends at once when kicked; at most one send per kick burst. */
static void *uplink_pusher(void *arg)
{
    struct uplink_worker *w = arg;
    struct uplink *u = w->u;

    for (;;) {
        uplink_wait(u, UINT64_MAX, true);
        pthread_mutex_lock(&u->mu);
        if (u->stop) {
            pthread_mutex_unlock(&u->mu);
            break;
        }
        u->kicked = false;
        pthread_mutex_unlock(&u->mu);
        (void) uplink_exchange(w, 0);
    }
    return NULL;
}

static void uplink_worker_init(struct uplink *u, struct uplink_worker *w, bool pusher,
                               const struct uplink_config *cfg)
{
    w->u = u;
    w->pusher = pusher;
    w->rp = reporter_new(cfg->url, cfg->token, cfg->timeout_ms);
    w->rep = xcalloc(1, sizeof(*w->rep));
    w->desired = xcalloc(1, sizeof(*w->desired));
}

static void uplink_worker_done(struct uplink_worker *w)
{
    reporter_free(w->rp);
    free(w->rep);
    free(w->desired);
}

int uplink_start(const struct uplink_config *cfg, const struct uplink_ops *ops, struct uplink **ret,
                 struct errbuf *eb)
{
    struct uplink *u = xcalloc(1, sizeof(*u));
    pthread_condattr_t ca;
    int r;

    u->ops = *ops;
    (void) str_copy(u->node, sizeof(u->node), cfg->node);
    (void) str_copy(u->agent_id, sizeof(u->agent_id), cfg->agent_id);
    u->url = xstrdup(cfg->url);
    u->heartbeat_ms = cfg->heartbeat_ms;
    u->reachable = false;
    pthread_mutex_init(&u->mu, NULL);
    pthread_mutex_init(&u->deliver_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&u->cond, &ca);
    pthread_condattr_destroy(&ca);
    uplink_worker_init(u, &u->poller, false, cfg);
    uplink_worker_init(u, &u->pusher, true, cfg);
    r = -pthread_create(&u->poller.thread, NULL, uplink_poller, &u->poller);
    u->poller.started = r == 0;
    if (r == 0) {
        r = -pthread_create(&u->pusher.thread, NULL, uplink_pusher, &u->pusher);
        u->pusher.started = r == 0;
    }
    if (r < 0) {
        errbuf_set(eb, "cannot start the uplink threads");
        uplink_stop(u);
        return r;
    }
    *ret = u;
    return 0;
}

void uplink_kick(struct uplink *u)
{
    if (!u) {
        return;
    }
    pthread_mutex_lock(&u->mu);
    u->kicked = true;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->mu);
}

uint64_t uplink_last_ok_ms(struct uplink *u)
{
    uint64_t t;

    pthread_mutex_lock(&u->mu);
    t = u->last_ok_ms;
    pthread_mutex_unlock(&u->mu);
    return t;
}

void uplink_stop(struct uplink *u)
{
    if (!u) {
        return;
    }
    pthread_mutex_lock(&u->mu);
    u->stop = true;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->mu);
    if (u->poller.started) {
        pthread_join(u->poller.thread, NULL);
    }
    if (u->pusher.started) {
        pthread_join(u->pusher.thread, NULL);
    }
    uplink_worker_done(&u->poller);
    uplink_worker_done(&u->pusher);
    pthread_cond_destroy(&u->cond);
    pthread_mutex_destroy(&u->deliver_mu);
    pthread_mutex_destroy(&u->mu);
    free(u->url);
    free(u);
}

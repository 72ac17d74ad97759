/*
 * arbiter/server.c
 *
 * Layer: shell. The arbiter's loop, its command queue and og-arbiter serve (STYLE.md
 * "Threads"). The loop thread alone owns the store and the world (arbiter/world.h). The REST
 * handlers (server_api.c) run on libmicrohttpd's connection threads: they decode and validate
 * their input there (pure work: reports, specs, bodies), queue a command and wake the loop
 * through an eventfd, and wait for its answer. GETs read the snapshot the loop publishes
 * under the mutex after every step, so a slow disk never blocks them.
 *
 * Orders reach agents at once: a report whose known_generation equals its node's current
 * generation is held (long poll) until the generation changes, its wait_ms passes, or the
 * arbiter stops; every publish broadcasts the condition variable, so a decision triggered
 * by one node's report wakes the other nodes' held requests in the same step. A timer
 * re-evaluates every cluster every SERVER_TICK_MS, so silent agents are noticed without
 * any report arriving.
 *
 * Kubernetes mode (--kube in-cluster|FILE): clusters come from OpenGaussCluster resources
 * through the controller thread (arbiter/kctl.h, started in server_kube.c), which submits the same
 * PUT and DELETE commands as the REST API does in local mode (the REST PUT and DELETE answer 405
 * then); after every published step the loop hands kpub the changed views and new Events
 * (arbiter/kctl_pub.h). Only the Lease holder (arbiter/lease.h) decides: another replica
 * answers 503 to every request that would change state, to reports and to /readyz, keeps
 * its world in line with the resources, and does not run decisions until it leads.
 */
#include "arbiter/server.h"
#include "arbiter/server_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "arbiter/decide.h"
#include "arbiter/kctl.h"
#include "arbiter/kctl_pub.h"
#include "arbiter/kpub.h"
#include "arbiter/lease.h"
#include "arbiter/spec.h"
#include "arbiter/store.h"
#include "arbiter/world.h"
#include "arbiter/world_cmd.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/kube_config.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/signals.h"
#include "common/str.h"
#include "proto/report.h"

#define SERVER_CMD_TIMEOUT_MS 10000       /* a handler's wait for the loop before answering 503 */
#define SERVER_TICK_MS        100         /* re-evaluation of every cluster */
#define SERVER_PEM_MAX        (64 * 1024) /* a certificate chain or key file */
/*
 * A new leader term: kpub writes once every cluster's view has been handed to it afresh, or
 * after SERVER_KPUB_ACTIVATE_MS at the latest, so it never writes a picture left from an
 * earlier term; for SERVER_TERM_GUARD_MS no view older than the status epoch is published
 * (the agents' first reports bring the epoch a new leader adopts).
 */
#define SERVER_KPUB_ACTIVATE_MS 10000
#define SERVER_TERM_GUARD_MS    60000

void server_cmd_free(struct server_cmd *c)
{
    if (!c) {
        return;
    }
    free(c->report);
    free(c->text);
    free(c->spec);
    world_cmd_answer_done(&c->answer);
    free(c);
}

struct server_cmd *server_cmd_new(enum server_cmd_kind kind)
{
    struct server_cmd *c = xcalloc(1, sizeof(*c));

    c->kind = kind;
    return c;
}

void server_deadline(struct timespec *ts, uint64_t ms)
{
    *ts = clock_deadline(CLOCK_REALTIME, ms);
}

/* Hands c to the loop and waits for it; returns with c answered, or -ETIMEDOUT/-ECANCELED. */
int server_submit(struct server *s, struct server_cmd *c)
{
    uint64_t one = 1;
    struct timespec deadline;
    int r;

    server_deadline(&deadline, SERVER_CMD_TIMEOUT_MS);
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -ECANCELED;
    }
    if (s->queue_tail) {
        s->queue_tail->next = c;
    } else {
        s->queue_head = c;
    }
    s->queue_tail = c;
    /* The counter cannot overflow in practice, and the loop also wakes on its timer. */
    (void) !write(s->wake_fd, &one, sizeof(one));
    while (!c->done && !s->stopping) {
        if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    if (!c->done) {
        c->abandoned = true;
        r = s->stopping ? -ECANCELED : -ETIMEDOUT;
    } else {
        r = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* ---- leadership ------------------------------------------------------------------- */

bool server_is_leader(struct server *s)
{
    bool leader;

    pthread_mutex_lock(&s->mu);
    leader = s->leader;
    pthread_mutex_unlock(&s->mu);
    return leader;
}

/* ---- the loop ---------------------------------------------------------------------- */

static void server_run_report(struct server *s, struct server_cmd *c, uint64_t now_ms)
{
    struct errbuf eb = {{0}};
    int r = world_report(s->world, c->report, c->text, now_ms, &eb);

    if (r < 0) {
        c->rc = slog_error_errno(LOG_CTX({"node", c->report->node}), r, &eb,
                                 "storing the report of node %s failed", c->report->node);
        (void) str_copy(c->error, sizeof(c->error), eb.msg);
        return;
    }
    log_debug("report from node %s seq %llu (%u instances)", c->report->node,
              (unsigned long long) c->report->seq, c->report->n_instances);
}

/* True (and c answered 503) when c changes state and this replica does not decide. */
static bool server_run_denied(struct server *s, struct server_cmd *c)
{
    if (s->loop_leader) {
        return false;
    }
    switch (c->kind) {
    case SERVER_CMD_REPORT:
        c->rc = -EAGAIN;
        (void) str_copy(c->error, sizeof(c->error), "not the leader");
        return true;
    case SERVER_CMD_SWITCHOVER:
    case SERVER_CMD_FAILOVER:
    case SERVER_CMD_MAINTENANCE:
        c->answer.status = 503;
        (void) str_copy(c->answer.error, sizeof(c->answer.error), "not the leader");
        return true;
    case SERVER_CMD_PUT: /* the controller keeps every replica's world in line */
    case SERVER_CMD_DELETE:
    case SERVER_CMD_HISTORY:
    case SERVER_CMD_UNKNOWN:
    case _SERVER_CMD_MAX:
        break;
    }
    return false;
}

static void server_run(struct server *s, struct server_cmd *c, uint64_t now_ms)
{
    if (server_run_denied(s, c)) {
        return;
    }
    switch (c->kind) {
    case SERVER_CMD_REPORT:
        server_run_report(s, c, now_ms);
        break;
    case SERVER_CMD_PUT:
        world_cmd_put(s->world, c->ns, c->name, c->text, c->spec, now_ms, &c->answer);
        break;
    case SERVER_CMD_DELETE:
        world_cmd_delete(s->world, c->ns, c->name, &c->answer);
        break;
    case SERVER_CMD_SWITCHOVER:
        world_cmd_switchover(s->world, c->ns, c->name, c->target, now_ms, &c->answer);
        break;
    case SERVER_CMD_FAILOVER:
        world_cmd_failover(s->world, c->ns, c->name, c->target, now_ms, &c->answer);
        break;
    case SERVER_CMD_MAINTENANCE:
        world_cmd_maintenance(s->world, c->ns, c->name, c->enabled, now_ms, &c->answer);
        break;
    case SERVER_CMD_HISTORY:
        world_cmd_history(s->world, c->ns, c->name, c->limit, &c->answer);
        break;
    case SERVER_CMD_UNKNOWN:
    case _SERVER_CMD_MAX:
        c->rc = -EINVAL;
        c->answer.status = 500;
        break;
    }
}

/* Publishes a new snapshot and wakes every waiting handler (answers and long polls). */
static void server_publish(struct server *s, uint64_t now_ms)
{
    struct world_snapshot *snap = world_snapshot(s->world, now_ms), *old;

    pthread_mutex_lock(&s->mu);
    old = s->snap;
    s->snap = snap;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    world_snapshot_free(old);
}

/* Marks every command of list done (freeing those whose handler gave up). */
static void server_complete(struct server *s, struct server_cmd *list)
{
    struct server_cmd *next;

    pthread_mutex_lock(&s->mu);
    for (struct server_cmd *c = list; c; c = next) {
        next = c->next;
        c->done = true;
        if (c->abandoned) {
            server_cmd_free(c);
        }
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* The loop takes up (or leaves) the decider's role. */
static void server_lead(struct server *s, bool leader, uint64_t now_ms)
{
    s->loop_leader = leader;
    s->term_ms = leader ? (now_ms ? now_ms : 1) : 0;
    if (!leader && s->kpub) {
        kpub_set_active(s->kpub, false);
    }
    s->kpub_active = false;
    log_info("%s", leader ? "leading: deciding for every cluster"
                          : "not leading: no decisions, requests that change state get 503");
}

/* Kubernetes mode, after a publish: views and Events to kpub, which is activated in time. */
static void server_kube_publish(struct server *s, bool leader, uint64_t now_ms)
{
    enum kctl_pub_mode mode = KCTL_PUB_MODE_NONE;
    bool fresh;

    if (!s->kctl_pub) {
        return;
    }
    if (leader) {
        mode = now_ms - s->term_ms < SERVER_TERM_GUARD_MS ? KCTL_PUB_MODE_GUARDED
                                                          : KCTL_PUB_MODE_FULL;
    }
    fresh = kctl_pub_step(s->kctl_pub, s->world, s->snap, mode);
    if (leader && !s->kpub_active && (fresh || now_ms - s->term_ms >= SERVER_KPUB_ACTIVATE_MS)) {
        /* Only if the Lease is still ours: the lease thread deactivates under the mutex. */
        pthread_mutex_lock(&s->mu);
        if (s->leader) {
            kpub_set_active(s->kpub, true);
            s->kpub_active = true;
        }
        pthread_mutex_unlock(&s->mu);
    }
}

/*
 * One step: runs the queued commands, then (with commands, or when the tick is due) decides
 * for every cluster, persists, and publishes, and only then answers the commands: an
 * agent never sees an order that is not on disk.
 */
static void server_step(struct server *s, uint64_t *next_tick)
{
    struct server_cmd *list;
    uint64_t now;
    bool leader;

    pthread_mutex_lock(&s->mu);
    list = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    leader = s->leader;
    pthread_mutex_unlock(&s->mu);
    now = clock_now_ms();
    if (leader != s->loop_leader) {
        server_lead(s, leader, now);
        *next_tick = now; /* a new leader decides at once */
    }
    for (struct server_cmd *c = list; c; c = c->next) {
        server_run(s, c, now);
    }
    if (list || now >= *next_tick) {
        if (leader) {
            (void) world_settle(s->world, now);
        }
        server_publish(s, now);
        server_kube_publish(s, leader, now);
        if (now >= *next_tick) {
            *next_tick = now + SERVER_TICK_MS;
        }
    }
    if (list) {
        server_complete(s, list);
    }
}

static int server_loop(struct server *s)
{
    struct pollfd fds[2] = {{.fd = signals_fd(), .events = POLLIN},
                            {.fd = s->wake_fd, .events = POLLIN}};
    uint64_t next_tick = clock_now_ms() + SERVER_TICK_MS;

    while (!signals_should_stop()) {
        uint64_t now = clock_now_ms(), count;
        int timeout = next_tick > now ? (int) (next_tick - now) : 0;
        int n = poll(fds, 2, timeout);

        if (n < 0 && errno != EINTR) {
            return log_error_errno(-errno, NULL, "poll failed");
        }
        if (n > 0 && (fds[0].revents & POLLIN)) {
            signals_drain();
        }
        if (n > 0 && (fds[1].revents & POLLIN)) {
            if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
                return log_error_errno(-errno, NULL, "reading the wake-up counter failed");
            }
        }
        server_step(s, &next_tick);
    }
    return 0;
}

static void server_shutdown(struct server *s)
{
    struct server_cmd *c, *next;

    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond); /* held long polls and waiting handlers return now */
    pthread_mutex_unlock(&s->mu);
    /* The controller's waits end with 'stopping'; the Lease is released. */
    server_kube_stop(s);
    /* Handlers see 'stopping' and return; then no thread touches the queue any more. */
    http_server_stop(s->http);
    for (c = s->queue_head; c; c = next) {
        next = c->next;
        server_cmd_free(c);
    }
    world_free(s->world);
    store_close(s->store);
    world_snapshot_free(s->snap);
    if (s->wake_fd >= 0) {
        close(s->wake_fd);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

/* Opens the store and loads the world; returns an exit code. */
static int server_open(struct server *s, const struct arbiter_config *cfg)
{
    struct errbuf eb = {{0}};
    uint64_t start = clock_now_ms();
    int r;

    r = decide_rules_check();
    if (r < 0) {
        (void) log_error_errno(r, NULL, "the decision rule table is malformed");
        return EXIT_FATAL;
    }
    r = store_open(cfg->db_path, &s->store, &eb);
    if (r == 0) {
        r = world_open(s->store, start, (uint32_t) cfg->heartbeat_ms, &s->world, &eb);
    }
    if (r < 0) {
        (void) log_error_errno(r, &eb, "opening the database %s failed", cfg->db_path);
        return EXIT_BAD_CONFIG;
    }
    if (!s->kube) {
        (void) world_settle(s->world, start);
    }
    server_publish(s, start);
    return EXIT_OK;
}

/*
 * The REST API's token and TLS from cfg into hc; the PEM texts are read into *ret_cert and
 * *ret_key (the caller frees them once the server has its copies). An exit code.
 */
static int server_http_security(const struct arbiter_config *cfg, struct http_server_config *hc,
                                char **ret_cert, char **ret_key)
{
    struct errbuf eb = {{0}};
    size_t len = 0;
    int r;

    *ret_cert = *ret_key = NULL;
    if (str_is_empty(cfg->token)) {
        log_warn("no --token (OG_ARBITER_TOKEN): the REST API accepts every caller");
    } else {
        hc->bearer_token = cfg->token;
    }
    if (str_is_empty(cfg->tls_cert) != str_is_empty(cfg->tls_key)) {
        log_error("--tls-cert and --tls-key go together");
        return EXIT_BAD_CONFIG;
    }
    if (str_is_empty(cfg->tls_cert)) {
        return EXIT_OK;
    }
    r = fs_read_file(cfg->tls_cert, SERVER_PEM_MAX, ret_cert, &len, &eb);
    if (r == 0) {
        r = fs_read_file(cfg->tls_key, SERVER_PEM_MAX, ret_key, &len, &eb);
    }
    if (r < 0) {
        (void) log_error_errno(r, &eb, "reading the TLS certificate or key failed");
        free(*ret_cert);
        *ret_cert = NULL;
        return EXIT_BAD_CONFIG;
    }
    hc->tls_cert_pem = *ret_cert;
    hc->tls_key_pem = *ret_key;
    return EXIT_OK;
}

int arbiter_serve(const struct arbiter_config *cfg)
{
    struct server s = {.cfg = cfg, .wake_fd = -1};
    char *tls_cert = NULL, *tls_key = NULL;
    struct http_server_config hc = {.listen = cfg->listen, .userdata = &s};
    struct errbuf eb = {{0}};
    int r, code = EXIT_OK;

    hc.routes = server_api_routes(&hc.n_routes);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cond, NULL);
    s.kube = !str_eq(cfg->kube, "none");
    s.leader = s.loop_leader = !s.kube; /* local mode: always the decider */
    r = signals_setup(&eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "signal setup failed");
        code = EXIT_FATAL;
        goto out;
    }
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.wake_fd < 0) {
        (void) log_error_errno(-errno, NULL, "eventfd failed");
        code = EXIT_FATAL;
        goto out;
    }
    code = server_open(&s, cfg);
    if (code != EXIT_OK) {
        goto out;
    }
    if (s.kube) {
        code = server_kube_start(&s, cfg);
        if (code != EXIT_OK) {
            goto out;
        }
    }
    code = server_http_security(cfg, &hc, &tls_cert, &tls_key);
    if (code != EXIT_OK) {
        goto out;
    }
    r = http_server_start(&hc, &s.http, &eb);
    free(tls_cert);
    free(tls_key);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "listening on %s failed", cfg->listen);
        code = EXIT_UNAVAIL;
        goto out;
    }
    pthread_mutex_lock(&s.mu);
    s.ready = true;
    pthread_mutex_unlock(&s.mu);
    slog_info(LOG_CTX({"listen", cfg->listen}, {"db", cfg->db_path}), "arbiter serving on port %u",
              (unsigned) http_server_port(s.http));
    r = server_loop(&s);
    if (r < 0) {
        code = EXIT_RUNTIME;
    }
    log_info("arbiter stopping");
out:
    server_shutdown(&s);
    return code;
}

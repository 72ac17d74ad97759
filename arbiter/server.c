/*
 * arbiter/server.c
 *
 * Layer: shell. The arbiter's loop and its REST handlers. The loop thread is the only owner
 * of the store; handlers run on libmicrohttpd's connection threads, validate their input
 * there (pure decoding), then hand a command to the loop through a queue and an eventfd and
 * wait for its answer. Reads (agent list) come from a mirror the loop publishes under the
 * mutex, so a slow disk never blocks a GET.
 */
#include "arbiter/server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "arbiter/store.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/http.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/signals.h"
#include "common/str.h"
#include "proto/desired.h"
#include "proto/report.h"

/* How long a handler waits for the loop before answering 503. */
#define SERVER_CMD_TIMEOUT_MS 10000

enum server_cmd_kind { SERVER_CMD_UNKNOWN = 0, SERVER_CMD_REPORT, _SERVER_CMD_MAX };

/* A command from a handler to the loop; freed by whichever side finishes last. */
struct server_cmd {
    enum server_cmd_kind kind;
    struct proto_report *report; /* owned */
    char *report_json;           /* owned: the validated text as stored */
    bool done;
    bool abandoned; /* the handler gave up waiting: the loop frees the command */
    int rc;
    char error[ERRBUF_SIZE];
    char *answer; /* owned: JSON text for the handler to send */
    struct server_cmd *next;
};

struct server {
    const struct arbiter_config *cfg;
    struct store *store;
    struct http_server *http;
    int wake_fd;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    struct server_cmd *queue_head, *queue_tail;
    struct store_agent *agents; /* mirror of the agents table, published by the loop */
    uint32_t n_agents;
    bool ready;
    bool stopping;
};

static void server_cmd_free(struct server_cmd *c)
{
    if (!c)
        return;
    free(c->report);
    free(c->report_json);
    free(c->answer);
    free(c);
}

static uint64_t server_wall_ms(void)
{
    return clock_wall_ms();
}

/* Hands c to the loop and waits for it; returns with c answered, or -ETIMEDOUT/-ECANCELED. */
static int server_submit(struct server *s, struct server_cmd *c)
{
    uint64_t one = 1;
    struct timespec deadline;
    int r = 0;

    (void) clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SERVER_CMD_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -ECANCELED;
    }
    if (s->queue_tail)
        s->queue_tail->next = c;
    else
        s->queue_head = c;
    s->queue_tail = c;
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        r = -errno; /* the counter cannot overflow in practice; the loop also polls */
    while (!c->done && !s->stopping) {
        if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) == ETIMEDOUT)
            break;
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

static void server_handle_healthz(const struct http_request *req, struct http_response *resp,
                                  void *userdata)
{
    cJSON *j = cJSON_CreateObject();

    (void) req;
    (void) userdata;
    cJSON_AddStringToObject(j, "status", "ok");
    http_response_json(resp, 200, j);
}

static void server_handle_readyz(const struct http_request *req, struct http_response *resp,
                                 void *userdata)
{
    struct server *s = userdata;
    bool ready;
    cJSON *j;

    (void) req;
    pthread_mutex_lock(&s->mu);
    ready = s->ready && !s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (!ready) {
        http_response_error(resp, 503, "not ready");
        return;
    }
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ready");
    http_response_json(resp, 200, j);
}

static void server_format_time(uint64_t wall_ms, char *buf, size_t size)
{
    time_t t = (time_t) (wall_ms / 1000);
    struct tm tm;

    (void) gmtime_r(&t, &tm);
    (void) strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void server_handle_agents(const struct http_request *req, struct http_response *resp,
                                 void *userdata)
{
    struct server *s = userdata;
    uint64_t now = server_wall_ms();
    cJSON *arr = cJSON_CreateArray();
    char when[32];

    (void) req;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_agents; i++) {
        const struct store_agent *a = &s->agents[i];
        cJSON *o = cJSON_CreateObject();
        server_format_time(a->last_seen_wall_ms, when, sizeof(when));
        cJSON_AddStringToObject(o, "node", a->node);
        cJSON_AddStringToObject(o, "agent_id", a->agent_id);
        cJSON_AddStringToObject(o, "last_seen", when);
        cJSON_AddNumberToObject(
                o, "last_seen_ms_ago",
                (double) (now > a->last_seen_wall_ms ? now - a->last_seen_wall_ms : 0));
        cJSON_AddNumberToObject(o, "instances", a->instances);
        cJSON_AddNumberToObject(o, "seq", (double) a->seq);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&s->mu);
    http_response_json(resp, 200, arr);
}

static void server_handle_report(const struct http_request *req, struct http_response *resp,
                                 void *userdata)
{
    struct server *s = userdata;
    struct server_cmd *c = xcalloc(1, sizeof(*c));
    struct errbuf eb = {{0}};
    int r;

    c->kind = SERVER_CMD_REPORT;
    c->report = xcalloc(1, sizeof(*c->report));
    r = proto_report_decode(req->body, req->body_len, c->report, &eb);
    if (r < 0) {
        /* Rejected before it reaches the loop: nothing is stored. */
        log_warn_errno(r, &eb, "rejected malformed agent report");
        http_response_error(resp, 400, "invalid report: %s", eb.msg);
        server_cmd_free(c);
        return;
    }
    c->report_json = proto_report_encode(c->report);
    r = server_submit(s, c);
    if (r < 0) {
        http_response_error(resp, 503, "arbiter busy: %s",
                            r == -ECANCELED ? "shutting down" : "timed out");
        /* An abandoned command is the loop's to free. */
        return;
    }
    if (c->rc < 0) {
        http_response_error(resp, 500, "%s", c->error);
    } else {
        resp->status = 200;
        resp->body = c->answer;
        c->answer = NULL;
    }
    server_cmd_free(c);
}

static const struct http_route server_routes[] = {
        {"GET", "/healthz", server_handle_healthz},
        {"GET", "/readyz", server_handle_readyz},
        {"GET", "/api/v1/agents", server_handle_agents},
        {"POST", "/api/v1/report", server_handle_report},
};

/* Replaces the agent's row in the mirror (sorted by node), under the mutex. */
static void server_mirror_agent(struct server *s, const struct store_agent *a)
{
    uint32_t i;

    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n_agents; i++) {
        int cmp = strcmp(s->agents[i].node, a->node);
        if (cmp == 0) {
            s->agents[i] = *a;
            pthread_mutex_unlock(&s->mu);
            return;
        }
        if (cmp > 0)
            break;
    }
    s->agents = xrealloc(s->agents, (s->n_agents + 1) * sizeof(*s->agents));
    memmove(&s->agents[i + 1], &s->agents[i], (s->n_agents - i) * sizeof(*s->agents));
    s->agents[i] = *a;
    s->n_agents++;
    pthread_mutex_unlock(&s->mu);
}

static void server_run_report(struct server *s, struct server_cmd *c)
{
    const struct proto_report *rep = c->report;
    struct store_agent a = {0};
    struct proto_desired *d;
    struct errbuf eb = {{0}};
    int r;

    (void) str_copy(a.node, sizeof(a.node), rep->node);
    (void) str_copy(a.agent_id, sizeof(a.agent_id), rep->agent_id);
    a.seq = rep->seq;
    a.last_seen_wall_ms = server_wall_ms();
    a.instances = rep->n_instances;
    r = store_agent_save(s->store, &a, c->report_json, &eb);
    if (r < 0) {
        c->rc = log_error_errno(r, &eb, "storing report of node %s failed", rep->node);
        (void) str_copy(c->error, sizeof(c->error), eb.msg);
        return;
    }
    server_mirror_agent(s, &a);
    log_debug("report from node %s seq %llu (%u instances)", rep->node,
              (unsigned long long) rep->seq, rep->n_instances);

    /* No cluster is placed on any node yet: the desired state is empty. */
    d = xcalloc(1, sizeof(*d));
    proto_desired_init(d);
    (void) str_copy(d->node, sizeof(d->node), rep->node);
    d->heartbeat_ms = (uint32_t) s->cfg->heartbeat_ms;
    c->answer = proto_desired_encode(d);
    free(d);
}

/* Takes every queued command and runs it, answering each waiting handler. */
static void server_drain_queue(struct server *s)
{
    struct server_cmd *list, *next;

    pthread_mutex_lock(&s->mu);
    list = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    pthread_mutex_unlock(&s->mu);

    for (struct server_cmd *c = list; c; c = next) {
        next = c->next;
        switch (c->kind) {
        case SERVER_CMD_REPORT:
            server_run_report(s, c);
            break;
        case SERVER_CMD_UNKNOWN:
        case _SERVER_CMD_MAX:
            c->rc = -EINVAL;
            break;
        }
        pthread_mutex_lock(&s->mu);
        c->done = true;
        if (c->abandoned) {
            pthread_mutex_unlock(&s->mu);
            server_cmd_free(c);
            continue;
        }
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
    }
}

static int server_loop(struct server *s)
{
    struct pollfd fds[2] = {{.fd = signals_fd(), .events = POLLIN},
                            {.fd = s->wake_fd, .events = POLLIN}};

    while (!signals_should_stop()) {
        uint64_t count;
        int n = poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR)
            return log_error_errno(-errno, NULL, "poll failed");
        if (fds[0].revents & POLLIN)
            signals_drain();
        if (fds[1].revents & POLLIN) {
            if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                return log_error_errno(-errno, NULL, "reading the wake-up counter failed");
        }
        server_drain_queue(s);
    }
    return 0;
}

static int server_load_mirror(struct server *s, struct errbuf *eb)
{
    struct store_agent *agents = NULL;
    uint32_t n = 0;
    int r = store_agent_list(s->store, &agents, &n, eb);

    if (r < 0)
        return r;
    pthread_mutex_lock(&s->mu);
    free(s->agents);
    s->agents = agents;
    s->n_agents = n;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void server_shutdown(struct server *s)
{
    struct server_cmd *c, *next;

    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    /* Handlers see 'stopping' and return; then no thread touches the queue any more. */
    http_server_stop(s->http);
    for (c = s->queue_head; c; c = next) {
        next = c->next;
        server_cmd_free(c);
    }
    store_close(s->store);
    free(s->agents);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

int arbiter_serve(const struct arbiter_config *cfg)
{
    struct server s = {.cfg = cfg, .wake_fd = -1};
    struct http_server_config hc = {.listen = cfg->listen,
                                    .routes = server_routes,
                                    .n_routes = sizeof(server_routes) / sizeof(server_routes[0]),
                                    .userdata = &s};
    struct errbuf eb = {{0}};
    int r, code = EXIT_OK;

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cond, NULL);
    if (!str_eq(cfg->kube, "none")) {
        log_error("--kube %s: only local mode (--kube none) is available in this build", cfg->kube);
        code = EXIT_BAD_CONFIG;
        goto out;
    }
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
    r = store_open(cfg->db_path, &s.store, &eb);
    if (r == 0)
        r = server_load_mirror(&s, &eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "opening the database %s failed", cfg->db_path);
        code = EXIT_BAD_CONFIG;
        goto out;
    }
    r = http_server_start(&hc, &s.http, &eb);
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
    if (r < 0)
        code = EXIT_RUNTIME;
    log_info("arbiter stopping");
out:
    server_shutdown(&s);
    return code;
}

/*
 * arbiter/server.c
 *
 * Layer: shell. The arbiter's loop and its REST handlers (STYLE.md "Threads"). The loop
 * thread alone owns the store and the world (arbiter/world.h). Handlers run on
 * libmicrohttpd's connection threads: they decode and validate their input there (pure
 * work: reports, specs, bodies), queue a command and wake the loop through an eventfd, and
 * wait for its answer. GETs read the snapshot the loop publishes under the mutex after every
 * step, so a slow disk never blocks them.
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

#include "arbiter/decide.h"
#include "arbiter/kctl.h"
#include "arbiter/kctl_pub.h"
#include "arbiter/kpub.h"
#include "arbiter/lease.h"
#include "arbiter/metrics.h"
#include "arbiter/spec.h"
#include "arbiter/store.h"
#include "arbiter/world.h"
#include "arbiter/world_cmd.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/fsutil.h"
#include "common/http.h"
#include "common/json.h"
#include "common/kube_config.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/signals.h"
#include "common/str.h"
#include "proto/desired.h"
#include "proto/report.h"

#define SERVER_CMD_TIMEOUT_MS 10000       /* a handler's wait for the loop before answering 503 */
#define SERVER_TICK_MS        100         /* re-evaluation of every cluster */
#define SERVER_PEM_MAX        (64 * 1024) /* a certificate chain or key file */
#define SERVER_HISTORY_LIMIT  100         /* default ?limit of GET history */
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

static void server_deadline(struct timespec *ts, uint64_t ms)
{
    (void) clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t) (ms / 1000);
    ts->tv_nsec += (long) (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
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

/* Submits c and turns a failure to reach the loop into a 503; true when c was answered. */
static bool server_submit_or_503(struct server *s, struct server_cmd *c, struct http_response *resp)
{
    int r = server_submit(s, c);

    if (r < 0) {
        http_response_error(resp, 503, "arbiter busy: %s",
                            r == -ECANCELED ? "shutting down" : "timed out");
        /* An abandoned command is the loop's to free. */
        return false;
    }
    return true;
}

/* Sends a world_cmd answer as the response and frees the command. */
static void server_send_answer(struct server_cmd *c, struct http_response *resp)
{
    if (c->answer.status >= 400 || !c->answer.body) {
        http_response_error(resp, c->answer.status ? c->answer.status : 500, "%s", c->answer.error);
    } else {
        http_response_json(resp, c->answer.status, c->answer.body);
        c->answer.body = NULL;
    }
    server_cmd_free(c);
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

/*
 * Answers 503 "not the leader (leader: X)" and returns true when this replica does not hold
 * the Lease: nothing that changes state is done by a replica that does not decide.
 */
static bool server_deny_follower(struct server *s, struct http_response *resp)
{
    char holder[256] = "";

    if (server_is_leader(s)) {
        return false;
    }
    if (s->lease) {
        lease_holder(s->lease, holder, sizeof(holder));
    }
    http_response_error(resp, 503, "not the leader (leader: %s)",
                        str_is_empty(holder) ? "unknown" : holder);
    return true;
}

/* ---- handlers: health, agents ------------------------------------------------------ */

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
    if (server_deny_follower(s, resp)) {
        return;
    }
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ready");
    http_response_json(resp, 200, j);
}

/* Prometheus text from the published snapshot: a scrape never touches the loop. */
static void server_handle_metrics(const struct http_request *req, struct http_response *resp,
                                  void *userdata)
{
    struct server *s = userdata;
    uint64_t wall = clock_wall_ms();

    (void) req;
    pthread_mutex_lock(&s->mu);
    resp->body = arbiter_metrics(s->snap, s->leader, wall);
    pthread_mutex_unlock(&s->mu);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
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
    uint64_t now = clock_wall_ms();
    cJSON *arr = cJSON_CreateArray();
    char when[32];

    (void) req;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; s->snap && i < s->snap->n_nodes; i++) {
        const struct store_agent *a = &s->snap->nodes[i].agent;
        cJSON *o;
        if (!s->snap->nodes[i].has_agent) {
            continue;
        }
        o = cJSON_CreateObject();
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

/* ---- handler: report (long poll) --------------------------------------------------- */

/* The node's entry in the published snapshot, or NULL; call under s->mu. */
static const struct world_snap_node *server_snap_node(const struct server *s, const char *node)
{
    for (uint32_t i = 0; s->snap && i < s->snap->n_nodes; i++) {
        if (str_eq(s->snap->nodes[i].node, node)) {
            return &s->snap->nodes[i];
        }
    }
    return NULL;
}

/*
 * Waits while node's generation equals known (up to wait_ms, capped by the node's hold
 * cap) and returns a copy of its desired state, or NULL when there is none.
 */
static char *server_hold(struct server *s, const char *node, uint64_t known, uint32_t wait_ms)
{
    const struct world_snap_node *n;
    struct timespec deadline;
    char *answer = NULL;

    pthread_mutex_lock(&s->mu);
    n = server_snap_node(s, node);
    if (n && wait_ms > 0 && n->generation == known) {
        uint32_t cap = n->hold_cap_ms < wait_ms ? n->hold_cap_ms : wait_ms;
        server_deadline(&deadline, cap);
        while (!s->stopping && n && n->generation == known) {
            if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) == ETIMEDOUT) {
                break;
            }
            n = server_snap_node(s, node); /* the snapshot may have been replaced */
        }
        n = server_snap_node(s, node);
    }
    if (n && n->answer) {
        answer = xstrdup(n->answer);
    }
    pthread_mutex_unlock(&s->mu);
    return answer;
}

static void server_handle_report(const struct http_request *req, struct http_response *resp,
                                 void *userdata)
{
    struct server *s = userdata;
    struct server_cmd *c = server_cmd_new(SERVER_CMD_REPORT);
    struct errbuf eb = {{0}};
    char node[PROTO_NODE_MAX + 1];
    uint64_t known;
    uint32_t wait_ms;
    char *answer;
    int r;

    if (server_deny_follower(s, resp)) {
        server_cmd_free(c);
        return;
    }
    c->report = xcalloc(1, sizeof(*c->report));
    r = proto_report_decode(req->body, req->body_len, c->report, &eb);
    if (r < 0) {
        /* Rejected before it reaches the loop: nothing is stored. */
        log_warn_errno(r, &eb, "rejected malformed agent report");
        http_response_error(resp, 400, "invalid report: %s", eb.msg);
        server_cmd_free(c);
        return;
    }
    c->text = proto_report_encode(c->report);
    (void) str_copy(node, sizeof(node), c->report->node);
    known = c->report->known_generation;
    wait_ms = c->report->wait_ms > PROTO_WAIT_MAX_MS ? PROTO_WAIT_MAX_MS : c->report->wait_ms;
    if (!server_submit_or_503(s, c, resp)) {
        return;
    }
    if (c->rc == -EAGAIN) {
        http_response_error(resp, 503, "%s", c->error);
        server_cmd_free(c);
        return;
    }
    if (c->rc < 0) {
        http_response_error(resp, 500, "%s", c->error);
        server_cmd_free(c);
        return;
    }
    server_cmd_free(c);
    answer = server_hold(s, node, known, wait_ms);
    if (!answer) {
        http_response_error(resp, 500, "no valid desired state for node %s (see the log)", node);
        return;
    }
    resp->status = 200;
    resp->body = answer;
}

/* ---- handlers: clusters (reads) ---------------------------------------------------- */

static const struct world_snap_cluster *server_snap_cluster(const struct server *s, const char *ns,
                                                            const char *name)
{
    for (uint32_t i = 0; s->snap && i < s->snap->n_clusters; i++) {
        if (str_eq(s->snap->clusters[i].ns, ns) && str_eq(s->snap->clusters[i].name, name)) {
            return &s->snap->clusters[i];
        }
    }
    return NULL;
}

static void server_handle_list(const struct http_request *req, struct http_response *resp,
                               void *userdata)
{
    struct server *s = userdata;
    size_t len = 2, off = 0;
    char *body;

    (void) req;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; s->snap && i < s->snap->n_clusters; i++) {
        len += strlen(s->snap->clusters[i].view) + 1;
    }
    body = xmalloc(len + 1);
    body[off++] = '[';
    for (uint32_t i = 0; s->snap && i < s->snap->n_clusters; i++) {
        size_t n = strlen(s->snap->clusters[i].view);
        if (i > 0) {
            body[off++] = ',';
        }
        memcpy(body + off, s->snap->clusters[i].view, n);
        off += n;
    }
    pthread_mutex_unlock(&s->mu);
    body[off++] = ']';
    body[off] = '\0';
    resp->status = 200;
    resp->body = body;
}

static void server_handle_get(const struct http_request *req, struct http_response *resp,
                              void *userdata)
{
    struct server *s = userdata;
    const char *ns = http_request_param(req, "ns"), *name = http_request_param(req, "name");
    const struct world_snap_cluster *c;
    char *view = NULL;

    pthread_mutex_lock(&s->mu);
    c = server_snap_cluster(s, ns, name);
    if (c) {
        view = xstrdup(c->view);
    }
    pthread_mutex_unlock(&s->mu);
    if (!view) {
        http_response_error(resp, 404, "cluster %s/%s not found", ns, name);
        return;
    }
    resp->status = 200;
    resp->body = view;
}

static void server_handle_credentials(const struct http_request *req, struct http_response *resp,
                                      void *userdata)
{
    struct server *s = userdata;
    const char *ns = http_request_param(req, "ns"), *name = http_request_param(req, "name");
    const struct world_snap_cluster *c;
    cJSON *o = NULL;

    pthread_mutex_lock(&s->mu);
    c = server_snap_cluster(s, ns, name);
    if (c) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "user", "postgres");
        cJSON_AddStringToObject(o, "password", c->password);
    }
    pthread_mutex_unlock(&s->mu);
    if (!o) {
        http_response_error(resp, 404, "cluster %s/%s not found", ns, name);
        return;
    }
    http_response_json(resp, 200, o);
}

/* ---- handlers: clusters (commands) ------------------------------------------------- */

/* A command on cluster {ns}/{name}; NULL (and a 404) when the names cannot be one. */
static struct server_cmd *server_cluster_cmd(const struct http_request *req,
                                             enum server_cmd_kind kind, struct http_response *resp)
{
    const char *ns = http_request_param(req, "ns"), *name = http_request_param(req, "name");
    struct server_cmd *c = server_cmd_new(kind);

    if (str_copy(c->ns, sizeof(c->ns), ns) < 0 || str_copy(c->name, sizeof(c->name), name) < 0) {
        http_response_error(resp, 404, "cluster %s/%s not found", ns, name);
        server_cmd_free(c);
        return NULL;
    }
    return c;
}

static void server_run_cmd(struct server *s, struct server_cmd *c, struct http_response *resp)
{
    if (server_submit_or_503(s, c, resp)) {
        server_send_answer(c, resp);
    }
}

#define SERVER_KUBE_DECLARED \
    "clusters are declared with OpenGaussCluster resources (kubectl apply) in Kubernetes mode"

static void server_handle_put(const struct http_request *req, struct http_response *resp,
                              void *userdata)
{
    struct server *s = userdata;
    struct server_cmd *c;
    struct errbuf eb = {{0}};
    int r;

    if (s->kube) {
        http_response_error(resp, 405, SERVER_KUBE_DECLARED);
        return;
    }
    c = server_cluster_cmd(req, SERVER_CMD_PUT, resp);
    if (!c) {
        return;
    }
    c->spec = xcalloc(1, sizeof(*c->spec));
    r = spec_parse(req->body, req->body_len, c->spec, &eb);
    if (r < 0) {
        http_response_error(resp, r == -EBADMSG ? 400 : 422, "%s%s",
                            r == -EBADMSG ? "invalid JSON: " : "", eb.msg);
        server_cmd_free(c);
        return;
    }
    c->text = xstrndup(req->body, req->body_len);
    server_run_cmd(userdata, c, resp);
}

static void server_handle_delete(const struct http_request *req, struct http_response *resp,
                                 void *userdata)
{
    struct server *s = userdata;
    struct server_cmd *c;

    if (s->kube) {
        http_response_error(resp, 405, SERVER_KUBE_DECLARED);
        return;
    }
    c = server_cluster_cmd(req, SERVER_CMD_DELETE, resp);
    if (c) {
        server_run_cmd(userdata, c, resp);
    }
}

static void server_handle_history(const struct http_request *req, struct http_response *resp,
                                  void *userdata)
{
    struct server_cmd *c = server_cluster_cmd(req, SERVER_CMD_HISTORY, resp);
    const char *limit = http_request_query(req, "limit");

    if (!c) {
        return;
    }
    c->limit = SERVER_HISTORY_LIMIT;
    if (limit && str_to_u32(limit, 1, WORLD_CMD_HISTORY_MAX, &c->limit) < 0) {
        http_response_error(resp, 400, "limit: expected integer in 1..%d, got \"%s\"",
                            WORLD_CMD_HISTORY_MAX, limit);
        server_cmd_free(c);
        return;
    }
    server_run_cmd(userdata, c, resp);
}

/*
 * The body of switchover and failover: empty, or {"target": "<member>"} (the key optional).
 * 0, or the HTTP status of the error (400 malformed, 422 unknown key or bad name).
 */
static int server_parse_target(const struct http_request *req, char *target, size_t size,
                               struct errbuf *eb)
{
    cJSON *obj = NULL;
    int status = 0;

    target[0] = '\0';
    if (req->body_len == 0) {
        return 0;
    }
    if (json_parse_object(req->body, req->body_len, 0, &obj, eb) < 0) {
        return 400;
    }
    for (const cJSON *c = obj->child; c && status == 0; c = c->next) {
        if (!str_eq(c->string, "target")) {
            errbuf_set(eb, "%s: unknown field", c->string);
            status = 422;
        }
    }
    if (status == 0 && json_get_str(obj, NULL, "target", false, target, size, eb) < 0) {
        status = 400;
    }
    if (status == 0 && !str_is_empty(target) &&
        json_expect(eb, NULL, "target", str_is_dns_label(target), "a member name (DNS-1123 label)",
                    target) < 0) {
        status = 422;
    }
    cJSON_Delete(obj);
    return status;
}

static void server_handle_promote(const struct http_request *req, struct http_response *resp,
                                  void *userdata, enum server_cmd_kind kind)
{
    struct server_cmd *c;
    struct errbuf eb = {{0}};
    int status;

    if (server_deny_follower(userdata, resp)) {
        return;
    }
    c = server_cluster_cmd(req, kind, resp);
    if (!c) {
        return;
    }
    status = server_parse_target(req, c->target, sizeof(c->target), &eb);
    if (status != 0) {
        http_response_error(resp, status, "%s", eb.msg);
        server_cmd_free(c);
        return;
    }
    server_run_cmd(userdata, c, resp);
}

static void server_handle_switchover(const struct http_request *req, struct http_response *resp,
                                     void *userdata)
{
    server_handle_promote(req, resp, userdata, SERVER_CMD_SWITCHOVER);
}

static void server_handle_failover(const struct http_request *req, struct http_response *resp,
                                   void *userdata)
{
    server_handle_promote(req, resp, userdata, SERVER_CMD_FAILOVER);
}

static void server_handle_maintenance(const struct http_request *req, struct http_response *resp,
                                      void *userdata)
{
    struct server_cmd *c;
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;
    int status = 0;

    if (server_deny_follower(userdata, resp)) {
        return;
    }
    c = server_cluster_cmd(req, SERVER_CMD_MAINTENANCE, resp);
    if (!c) {
        return;
    }
    if (json_parse_object(req->body, req->body_len, 0, &obj, &eb) < 0 ||
        json_get_bool(obj, NULL, "enabled", &c->enabled, &eb) < 0) {
        status = 400;
    }
    for (const cJSON *j = obj ? obj->child : NULL; j && status == 0; j = j->next) {
        if (!str_eq(j->string, "enabled")) {
            errbuf_set(&eb, "%s: unknown field", j->string);
            status = 422;
        }
    }
    cJSON_Delete(obj);
    if (status != 0) {
        http_response_error(resp, status, "%s", eb.msg);
        server_cmd_free(c);
        return;
    }
    server_run_cmd(userdata, c, resp);
}

static const struct http_route server_routes[] = {
        /* Probes and scrapes carry no token (kubelet, Prometheus). */
        {"GET", "/healthz", server_handle_healthz, true},
        {"GET", "/readyz", server_handle_readyz, true},
        {"GET", "/metrics", server_handle_metrics, true},
        {"GET", "/api/v1/agents", server_handle_agents},
        {"POST", "/api/v1/report", server_handle_report},
        {"GET", "/api/v1/clusters", server_handle_list},
        {"GET", "/api/v1/clusters/{ns}/{name}", server_handle_get},
        {"PUT", "/api/v1/clusters/{ns}/{name}", server_handle_put},
        {"DELETE", "/api/v1/clusters/{ns}/{name}", server_handle_delete},
        {"GET", "/api/v1/clusters/{ns}/{name}/history", server_handle_history},
        {"GET", "/api/v1/clusters/{ns}/{name}/credentials", server_handle_credentials},
        {"POST", "/api/v1/clusters/{ns}/{name}/switchover", server_handle_switchover},
        {"POST", "/api/v1/clusters/{ns}/{name}/failover", server_handle_failover},
        {"PUT", "/api/v1/clusters/{ns}/{name}/maintenance", server_handle_maintenance},
};

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
    struct http_server_config hc = {.listen = cfg->listen,
                                    .routes = server_routes,
                                    .n_routes = sizeof(server_routes) / sizeof(server_routes[0]),
                                    .userdata = &s};
    struct errbuf eb = {{0}};
    int r, code = EXIT_OK;

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

/*
 * arbiter/server_api.c
 *
 * Layer: shell. The arbiter's REST handlers and their route table (proto/api.h paths), run
 * on libmicrohttpd's connection threads (STYLE.md "Threads"). They never touch the store or
 * the world: health, agent and cluster reads answer from the snapshot the loop publishes
 * under the mutex; writes (reports, PUT/DELETE of a cluster, switchover, failover,
 * maintenance, history) are decoded and validated here, queued for the loop with
 * server_submit() (server.c), and answered from the command's result. A report whose
 * known_generation equals its node's current generation is held (long poll) on the
 * condition variable the loop broadcasts after every publish. In Kubernetes mode the REST PUT
 * and DELETE answer 405, and a replica that does not hold the Lease answers 503 to every
 * request that would change state.
 */
#include "arbiter/server_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter/metrics.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/report.h"

#define SERVER_HISTORY_LIMIT 100 /* default ?limit of GET history */

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

static const struct http_route server_api_table[] = {
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

const struct http_route *server_api_routes(size_t *ret_n)
{
    *ret_n = sizeof(server_api_table) / sizeof(server_api_table[0]);
    return server_api_table;
}

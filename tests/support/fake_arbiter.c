/*
 * tests/support/fake_arbiter.c
 *
 * Layer: edge (test support). See fake_arbiter.h. State sits under one mutex; a held long
 * poll waits on a condition variable that set_desired, pause and free broadcast.
 */
#include "tests/support/fake_arbiter.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http.h"
#include "common/mem.h"
#include "common/str.h"

struct fake_node {
    char name[PROTO_NODE_MAX + 1];
    struct proto_desired *desired; /* NULL: an empty desired state */
    char *raw;                     /* set: answered instead */
    struct proto_report *report;   /* latest, NULL before the first */
    uint64_t count;
    size_t n_seen;
    struct {
        char member[PROTO_NAME_MAX + 1];
        uint32_t states; /* bit (1 << state) for every state reported */
    } seen[PROTO_MAX_INSTANCES];
};

struct fake_arbiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct http_server *srv;
    uint16_t port;
    char url[64];
    bool stopping;
    uint64_t generation;
    uint32_t heartbeat_ms;
    size_t n_nodes;
    struct fake_node nodes[FAKE_ARBITER_MAX_NODES];
};

static struct fake_node *fake_node(struct fake_arbiter *fa, const char *name)
{
    for (size_t i = 0; i < fa->n_nodes; i++) {
        if (strcmp(fa->nodes[i].name, name) == 0) {
            return &fa->nodes[i];
        }
    }
    if (fa->n_nodes >= FAKE_ARBITER_MAX_NODES) {
        return NULL;
    }
    (void) str_copy(fa->nodes[fa->n_nodes].name, sizeof(fa->nodes[0].name), name);
    return &fa->nodes[fa->n_nodes++];
}

/* The answer text for node n (owned), under fa->mu. */
static char *fake_answer(struct fake_arbiter *fa, struct fake_node *n)
{
    struct proto_desired *d;
    char *text;

    if (n->raw) {
        return xstrdup(n->raw);
    }
    if (n->desired) {
        return proto_desired_encode(n->desired);
    }
    d = xcalloc(1, sizeof(*d));
    proto_desired_init(d);
    (void) str_copy(d->node, sizeof(d->node), n->name);
    d->heartbeat_ms = fa->heartbeat_ms;
    text = proto_desired_encode(d);
    free(d);
    return text;
}

static uint64_t fake_generation(const struct fake_node *n)
{
    return n->desired ? n->desired->generation : 0;
}

static void fake_hold(struct fake_arbiter *fa, struct fake_node *n, const struct proto_report *rep)
{
    struct timespec ts;

    if (rep->wait_ms == 0 || rep->known_generation != fake_generation(n) || n->raw) {
        return;
    }
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += rep->wait_ms / 1000;
    ts.tv_nsec += (long) (rep->wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!fa->stopping && rep->known_generation == fake_generation(n) && !n->raw) {
        if (pthread_cond_timedwait(&fa->cond, &fa->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
}

static void fake_note_states(struct fake_node *n, const struct proto_report *rep)
{
    for (uint32_t i = 0; i < rep->n_instances; i++) {
        const struct proto_instance_report *ir = &rep->instances[i];
        size_t k = 0;

        while (k < n->n_seen && strcmp(n->seen[k].member, ir->member) != 0) {
            k++;
        }
        if (k == n->n_seen) {
            if (n->n_seen >= PROTO_MAX_INSTANCES) {
                continue;
            }
            (void) str_copy(n->seen[k].member, sizeof(n->seen[k].member), ir->member);
            n->seen[k].states = 0;
            n->n_seen++;
        }
        n->seen[k].states |= 1u << ir->state;
    }
}

static void fake_report_handler(const struct http_request *req, struct http_response *resp,
                                void *userdata)
{
    struct fake_arbiter *fa = userdata;
    struct proto_report *rep = xcalloc(1, sizeof(*rep));
    struct errbuf eb = {{0}};
    struct fake_node *n;

    if (proto_report_decode(req->body, req->body_len, rep, &eb) < 0) {
        http_response_error(resp, 400, "%s", eb.msg);
        free(rep);
        return;
    }
    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, rep->node);
    if (!n) {
        pthread_mutex_unlock(&fa->mu);
        http_response_error(resp, 503, "too many nodes");
        free(rep);
        return;
    }
    if (!n->report) {
        n->report = xcalloc(1, sizeof(*n->report));
    }
    *n->report = *rep;
    n->count++;
    fake_note_states(n, rep);
    fake_hold(fa, n, rep);
    resp->status = 200;
    resp->body = fake_answer(fa, n);
    pthread_mutex_unlock(&fa->mu);
    free(rep);
}

static int fake_listen(struct fake_arbiter *fa, struct errbuf *eb)
{
    static const struct http_route routes[] = {
            {"POST", "/api/v1/report", fake_report_handler},
    };
    char listen[64];
    struct http_server_config cfg = {.listen = listen,
                                     .routes = routes,
                                     .n_routes = 1,
                                     .userdata = fa,
                                     .max_body = 4 * 1024 * 1024};
    int r;

    (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", fa->port);
    r = http_server_start(&cfg, &fa->srv, eb);
    if (r == 0) {
        fa->port = http_server_port(fa->srv);
    }
    return r;
}

int fake_arbiter_start(struct fake_arbiter **ret, char *err, size_t errsize)
{
    struct fake_arbiter *fa = xcalloc(1, sizeof(*fa));
    struct errbuf eb = {{0}};
    pthread_condattr_t ca;
    int r;

    pthread_mutex_init(&fa->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fa->cond, &ca);
    pthread_condattr_destroy(&ca);
    fa->heartbeat_ms = 1000;
    r = fake_listen(fa, &eb);
    if (r < 0) {
        (void) snprintf(err, errsize, "fake arbiter: %s", eb.msg);
        fake_arbiter_free(fa);
        return r;
    }
    (void) snprintf(fa->url, sizeof(fa->url), "http://127.0.0.1:%u", fa->port);
    *ret = fa;
    return 0;
}

const char *fake_arbiter_url(const struct fake_arbiter *fa)
{
    return fa->url;
}

void fake_arbiter_set_desired(struct fake_arbiter *fa, const struct proto_desired *d)
{
    struct fake_node *n;

    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, d->node);
    if (n) {
        if (!n->desired) {
            n->desired = xcalloc(1, sizeof(*n->desired));
        }
        *n->desired = *d;
        n->desired->generation = ++fa->generation;
    }
    pthread_cond_broadcast(&fa->cond);
    pthread_mutex_unlock(&fa->mu);
}

void fake_arbiter_set_raw(struct fake_arbiter *fa, const char *node, const char *text)
{
    struct fake_node *n;

    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, node);
    if (n) {
        free(n->raw);
        n->raw = text ? xstrdup(text) : NULL;
    }
    pthread_cond_broadcast(&fa->cond);
    pthread_mutex_unlock(&fa->mu);
}

void fake_arbiter_set_heartbeat(struct fake_arbiter *fa, uint32_t heartbeat_ms)
{
    pthread_mutex_lock(&fa->mu);
    fa->heartbeat_ms = heartbeat_ms;
    pthread_mutex_unlock(&fa->mu);
}

bool fake_arbiter_report(struct fake_arbiter *fa, const char *node, struct proto_report *ret)
{
    struct fake_node *n;
    bool found = false;

    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, node);
    if (n && n->report) {
        *ret = *n->report;
        found = true;
    }
    pthread_mutex_unlock(&fa->mu);
    return found;
}

uint64_t fake_arbiter_report_count(struct fake_arbiter *fa, const char *node)
{
    struct fake_node *n;
    uint64_t c = 0;

    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, node);
    if (n) {
        c = n->count;
    }
    pthread_mutex_unlock(&fa->mu);
    return c;
}

void fake_arbiter_pause(struct fake_arbiter *fa)
{
    struct http_server *srv;

    pthread_mutex_lock(&fa->mu);
    fa->stopping = true;
    srv = fa->srv;
    fa->srv = NULL;
    pthread_cond_broadcast(&fa->cond);
    pthread_mutex_unlock(&fa->mu);
    http_server_stop(srv);
}

int fake_arbiter_resume(struct fake_arbiter *fa)
{
    struct errbuf eb = {{0}};
    int r = -EINVAL;

    pthread_mutex_lock(&fa->mu);
    fa->stopping = false;
    pthread_mutex_unlock(&fa->mu);
    for (int i = 0; i < 50; i++) {
        r = fake_listen(fa, &eb);
        if (r != -EADDRINUSE) {
            break;
        }
        (void) nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    if (r < 0) {
        fprintf(stderr, "fake arbiter resume: %s\n", eb.msg);
    }
    return r;
}

void fake_arbiter_free(struct fake_arbiter *fa)
{
    if (!fa) {
        return;
    }
    fake_arbiter_pause(fa);
    for (size_t i = 0; i < fa->n_nodes; i++) {
        free(fa->nodes[i].desired);
        free(fa->nodes[i].raw);
        free(fa->nodes[i].report);
    }
    pthread_cond_destroy(&fa->cond);
    pthread_mutex_destroy(&fa->mu);
    free(fa);
}

const struct proto_instance_report *fake_report_find(const struct proto_report *rep,
                                                     const char *member)
{
    for (uint32_t i = 0; i < rep->n_instances; i++) {
        if (strcmp(rep->instances[i].member, member) == 0) {
            return &rep->instances[i];
        }
    }
    return NULL;
}

bool fake_arbiter_seen_state(struct fake_arbiter *fa, const char *node, const char *member,
                             enum proto_state state)
{
    struct fake_node *n;
    bool seen = false;

    pthread_mutex_lock(&fa->mu);
    n = fake_node(fa, node);
    for (size_t k = 0; n && k < n->n_seen; k++) {
        if (strcmp(n->seen[k].member, member) == 0) {
            seen = (n->seen[k].states & (1u << state)) != 0;
        }
    }
    pthread_mutex_unlock(&fa->mu);
    return seen;
}

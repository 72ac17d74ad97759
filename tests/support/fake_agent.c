/*
 * tests/support/fake_agent.c
 *
 * Layer: edge (test support). See fake_agent.h. One libcurl handle per agent, used by one
 * thread at a time: either the test's thread (fake_agent_send) or the agent's own thread
 * (fake_agent_send_async), never both, which the `busy` flag enforces.
 */
#include "tests/support/fake_agent.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errbuf.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/testutil.h"

#define FAKE_AGENT_TIMEOUT_MS 5000 /* beyond the hold of a long poll */

struct fake_agent {
    char url[256];
    struct httpc *http;
    struct proto_report *report;
    struct proto_desired *desired;

    pthread_mutex_t mu; /* guards the async fields below */
    pthread_cond_t cond;
    pthread_t thread;
    bool busy, done, joinable;
    uint32_t wait_ms;
    int result;
    uint64_t started_ms, elapsed_ms;
    char error[ERRBUF_SIZE];
};

struct fake_agent *fake_agent_new(const char *base_url, const char *node)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000, .timeout_ms = FAKE_AGENT_TIMEOUT_MS};
    struct fake_agent *fa = xcalloc(1, sizeof(*fa));

    fa->http = httpc_new(&opt);
    if (!fa->http) {
        free(fa);
        return NULL;
    }
    fake_agent_set_url(fa, base_url);
    fa->report = xcalloc(1, sizeof(*fa->report));
    fa->desired = xcalloc(1, sizeof(*fa->desired));
    proto_report_init(fa->report);
    proto_desired_init(fa->desired);
    (void) str_copy(fa->report->node, sizeof(fa->report->node), node);
    (void) snprintf(fa->report->agent_id, sizeof(fa->report->agent_id), "fake-%s", node);
    pthread_mutex_init(&fa->mu, NULL);
    pthread_cond_init(&fa->cond, NULL);
    return fa;
}

void fake_agent_free(struct fake_agent *fa)
{
    if (!fa) {
        return;
    }
    if (fa->joinable) {
        (void) pthread_join(fa->thread, NULL);
    }
    httpc_free(fa->http);
    free(fa->report);
    free(fa->desired);
    pthread_cond_destroy(&fa->cond);
    pthread_mutex_destroy(&fa->mu);
    free(fa);
}

void fake_agent_set_url(struct fake_agent *fa, const char *base_url)
{
    (void) snprintf(fa->url, sizeof(fa->url), "%s/api/v1/report", base_url);
}

struct proto_report *fake_agent_report(struct fake_agent *fa)
{
    return fa->report;
}

struct proto_instance_report *fake_agent_instance(struct fake_agent *fa, const char *ns,
                                                  const char *cluster, const char *member)
{
    struct proto_report *r = fa->report;
    struct proto_instance_report *in;

    for (uint32_t i = 0; i < r->n_instances; i++) {
        in = &r->instances[i];
        if (str_eq(in->namespace_, ns) && str_eq(in->cluster, cluster) &&
            str_eq(in->member, member)) {
            return in;
        }
    }
    if (r->n_instances >= PROTO_MAX_INSTANCES) {
        return NULL;
    }
    in = &r->instances[r->n_instances++];
    memset(in, 0, sizeof(*in));
    (void) str_copy(in->namespace_, sizeof(in->namespace_), ns);
    (void) str_copy(in->cluster, sizeof(in->cluster), cluster);
    (void) str_copy(in->member, sizeof(in->member), member);
    in->state = PROTO_STATE_STOPPED;
    return in;
}

void fake_agent_drop_instance(struct fake_agent *fa, const char *member)
{
    struct proto_report *r = fa->report;

    for (uint32_t i = 0; i < r->n_instances; i++) {
        if (str_eq(r->instances[i].member, member)) {
            memmove(&r->instances[i], &r->instances[i + 1],
                    (r->n_instances - i - 1) * sizeof(r->instances[0]));
            r->n_instances--;
            return;
        }
    }
}

/* One POST; the caller owns the handle for the duration. */
static int fake_agent_post(struct fake_agent *fa, uint32_t wait_ms, char *error, size_t size)
{
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    struct httpc_request req = {.method = "POST",
                                .url = fa->url,
                                .content_type = "application/json",
                                .timeout_ms = FAKE_AGENT_TIMEOUT_MS + wait_ms};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    char *body;
    int r;

    fa->report->seq++;
    fa->report->known_generation = fa->desired->generation;
    fa->report->wait_ms = wait_ms;
    body = proto_report_encode(fa->report);
    req.body = body;
    req.body_len = strlen(body);
    r = httpc_do(fa->http, &req, &resp, &eb);
    free(body);
    if (r < 0) {
        (void) snprintf(error, size, "%s", eb.msg);
        free(d);
        return r;
    }
    r = (int) resp.status;
    if (resp.status == 200) {
        if (proto_desired_decode(resp.body, resp.body_len, d, &eb) < 0) {
            (void) snprintf(error, size, "bad desired state: %s", eb.msg);
            r = -EBADMSG;
        } else {
            memcpy(fa->desired, d, sizeof(*d));
            error[0] = '\0';
        }
    } else {
        (void) snprintf(error, size, "HTTP %ld: %s", resp.status, resp.body ? resp.body : "");
    }
    httpc_response_done(&resp);
    free(d);
    return r;
}

int fake_agent_send(struct fake_agent *fa, uint32_t wait_ms)
{
    if (fa->busy) {
        return -EBUSY;
    }
    return fake_agent_post(fa, wait_ms, fa->error, sizeof(fa->error));
}

static void *fake_agent_thread(void *arg)
{
    struct fake_agent *fa = arg;
    char error[ERRBUF_SIZE];
    int r = fake_agent_post(fa, fa->wait_ms, error, sizeof(error));

    pthread_mutex_lock(&fa->mu);
    fa->result = r;
    fa->elapsed_ms = tu_now_ms() - fa->started_ms;
    memcpy(fa->error, error, sizeof(error));
    fa->done = true;
    pthread_cond_broadcast(&fa->cond);
    pthread_mutex_unlock(&fa->mu);
    return NULL;
}

bool fake_agent_send_async(struct fake_agent *fa, uint32_t wait_ms)
{
    if (fa->busy) {
        return false;
    }
    if (fa->joinable) {
        (void) pthread_join(fa->thread, NULL);
        fa->joinable = false;
    }
    fa->busy = true;
    fa->done = false;
    fa->wait_ms = wait_ms;
    fa->started_ms = tu_now_ms();
    if (pthread_create(&fa->thread, NULL, fake_agent_thread, fa) != 0) {
        fa->busy = false;
        return false;
    }
    fa->joinable = true;
    return true;
}

int fake_agent_wait(struct fake_agent *fa, uint64_t timeout_ms, uint64_t *ret_elapsed_ms)
{
    struct timespec deadline;
    bool done;

    if (!fa->busy) {
        return -EINVAL;
    }
    (void) clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t) (timeout_ms / 1000);
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fa->mu);
    while (!fa->done) {
        if (pthread_cond_timedwait(&fa->cond, &fa->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    done = fa->done;
    pthread_mutex_unlock(&fa->mu);
    if (!done) {
        return -ETIMEDOUT;
    }
    (void) pthread_join(fa->thread, NULL);
    fa->joinable = false;
    fa->busy = false;
    if (ret_elapsed_ms) {
        *ret_elapsed_ms = fa->elapsed_ms;
    }
    return fa->result;
}

const struct proto_desired *fake_agent_desired(const struct fake_agent *fa)
{
    return fa->desired;
}

const struct proto_instance_desired *fake_agent_order(const struct fake_agent *fa,
                                                      const char *member)
{
    for (uint32_t i = 0; i < fa->desired->n_instances; i++) {
        if (str_eq(fa->desired->instances[i].member, member)) {
            return &fa->desired->instances[i];
        }
    }
    return NULL;
}

uint64_t fake_agent_generation(const struct fake_agent *fa)
{
    return fa->desired->generation;
}

const char *fake_agent_error(const struct fake_agent *fa)
{
    return fa->error;
}

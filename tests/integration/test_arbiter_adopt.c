/*
 * tests/integration/test_arbiter_adopt.c
 *
 * A new arbiter whose store is behind its agents adopts their epoch (arbiter/decide.h,
 * "Adoption"): the real og-arbiter binary in local mode (--kube none) with a fresh SQLite
 * file, and three scripted agents (tests/support/fake_agent.h) on loopback reporting
 * instances of default/demo that already run at epoch 7, demo-1 primary, demo-0 and demo-2
 * streaming from it, as they would after the arbiter's database was lost or replaced.
 *
 * 1. PUT of the cluster: the orders come at epoch 7, name demo-1 primary, promote nobody
 *    else, re-initialise nothing (no rebuild flags), and history records the adoption.
 * 2. DELETE (the instances are ordered stopped and stop; a PUT meanwhile is refused), then
 *    PUT of the same cluster (a new store row at epoch 0) while the agents keep reporting
 *    their epoch, demo-1 as a stopped primary: the same adoption again, demo-1 ordered to run.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/fake_agent.h"
#include "tests/support/sim_fleet.h"
#include "tests/support/testutil.h"

#define N_AGENTS 3
#define EPOCH    7
#define LSN0     0x5000000ULL
#define ROUNDS   4

static char tmpdir[512];
static char base_url[128];
static char listen_addr[64];
static char db_path[600];
static pid_t arbiter_pid = -1;
static struct httpc *client;
static struct sim_fleet fleet; /* the agents and the instances they report */

static const char *const member_names[N_AGENTS] = {"demo-0", "demo-1", "demo-2"};

static const char demo_spec[] =
        "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},"
        "{\"ip\":\"127.0.0.2\",\"nodename\":\"node2\"},"
        "{\"ip\":\"127.0.0.3\",\"nodename\":\"node3\"}],"
        "\"image\":\"postgres:15\",\"storage\":\"1Gi\",\"ha\":{\"losttimeout\":2}}";

/*
 * The instances as the previous arbiter left them, at EPOCH: demo-1 primary, the others
 * streaming from it, caught up, and quorum standbys (unnamed_sync: before any order too).
 */
static void sim_as_left(void)
{
    for (int i = 0; i < N_AGENTS; i++) {
        struct sim_fleet_db *s = &fleet.db[i];

        s->present = true;
        s->epoch = EPOCH;
        s->state = PROTO_STATE_RUNNING;
        s->timeline = 3;
        if (i == 1) {
            s->role = PROTO_ROLE_PRIMARY;
            s->current = LSN0 + 0x100;
            continue;
        }
        s->role = PROTO_ROLE_STANDBY;
        s->received = s->replayed = LSN0 + 0x100;
        (void) str_copy(s->upstream, sizeof(s->upstream), "demo-1");
    }
}

/*
 * Sends agent i's report and checks its answer: any order for a demo member carries EPOCH
 * (never a new epoch: nobody is promoted) and names only demo-1 primary, without a rebuild.
 * Returns the HTTP status.
 */
static int send_checked(int i, unsigned *ret_orders)
{
    const struct proto_desired *d;
    int r;

    r = sim_fleet_send(&fleet, i);
    if (r != 200) {
        return r;
    }
    d = fake_agent_desired(fleet.agents[i]);
    for (uint32_t k = 0; k < d->n_instances; k++) {
        const struct proto_instance_desired *o = &d->instances[k];
        bool primary = str_eq(o->member, "demo-1");

        if (!str_eq(o->cluster, "demo")) {
            continue;
        }
        if (o->epoch != EPOCH || (o->role == PROTO_ROLE_PRIMARY) != primary || o->rebuild ||
            o->state != PROTO_STATE_RUNNING) {
            fprintf(stderr, "\n  node%d: order for %s: epoch %llu role %s state %s rebuild %d\n",
                    i + 1, o->member, (unsigned long long) o->epoch, proto_role_to_string(o->role),
                    proto_state_to_string(o->state), o->rebuild);
        }
        CU_ASSERT_EQUAL(o->epoch, EPOCH);
        CU_ASSERT_EQUAL(o->role == PROTO_ROLE_PRIMARY, primary);
        CU_ASSERT_EQUAL(o->state, PROTO_STATE_RUNNING);
        CU_ASSERT_FALSE(o->rebuild);
        if (!primary) {
            CU_ASSERT_TRUE(o->has_upstream);
            CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-1");
        }
        *ret_orders |= 1u << i;
    }
    return r;
}

/* ---- the arbiter and its API ----------------------------------------------------------- */

static long api(const char *method, const char *path, const char *body, cJSON **ret)
{
    char url[512];
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? "application/json" : NULL,
                                .body = body,
                                .body_len = body ? strlen(body) : 0};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    long status;
    int r;

    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    if (ret) {
        *ret = NULL;
    }
    r = httpc_do(client, &req, &resp, &eb);
    if (r < 0) {
        return r;
    }
    status = resp.status;
    if (ret) {
        *ret = cJSON_ParseWithLength(resp.body, resp.body_len);
    }
    httpc_response_done(&resp);
    return status;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

    return s ? s : "";
}

/* True when the cluster's history holds a row of rule whose reason contains word. */
static bool history_has(const char *rule, const char *word)
{
    cJSON *h = NULL, *row;
    bool found = false;

    if (api("GET", "/api/v1/clusters/default/demo/history?limit=50", NULL, &h) != 200) {
        return false;
    }
    cJSON_ArrayForEach(row, h)
    {
        found = found || (str_eq(jstr(row, "rule"), rule) && strstr(jstr(row, "reason"), word));
    }
    cJSON_Delete(h);
    return found;
}

static bool arbiter_ready(void *arg)
{
    (void) arg;
    return api("GET", "/readyz", NULL, NULL) == 200;
}

static int start_arbiter(void)
{
    char log_path[600];
    const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                          "serve",
                          "--listen",
                          listen_addr,
                          "--db",
                          db_path,
                          "--kube",
                          "none",
                          "--heartbeat",
                          "200ms",
                          NULL};

    (void) snprintf(log_path, sizeof(log_path), "%s/arbiter.log", tmpdir);
    if (tu_spawn(argv, log_path, &arbiter_pid) < 0) {
        return -1;
    }
    return tu_wait_until(arbiter_ready, NULL, 10000, 20) ? 0 : -1;
}

/*
 * PUTs the cluster and lets the agents report ROUNDS times (every answer checked by
 * send_checked); then the cluster is at EPOCH with demo-1 primary, every agent holds its
 * order, and history shows the adoption.
 */
static void declare_and_expect_adoption(void)
{
    unsigned orders = 0;
    cJSON *c = NULL;

    CU_ASSERT_EQUAL(api("PUT", "/api/v1/clusters/default/demo", demo_spec, NULL), 201);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N_AGENTS; i++) {
            CU_ASSERT_EQUAL(send_checked(i, &orders), 200);
        }
    }
    CU_ASSERT_EQUAL(orders, (1u << N_AGENTS) - 1);
    CU_ASSERT_EQUAL(api("GET", "/api/v1/clusters/default/demo", NULL, &c), 200);
    CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "epoch")), (double) EPOCH);
    CU_ASSERT_STRING_EQUAL(jstr(c, "primary"), "demo-1");
    cJSON_Delete(c);
    CU_ASSERT_TRUE(history_has("R02a", "adopted epoch 7 from agents (primary demo-1)"));
    CU_ASSERT_FALSE(history_has("R14", "")); /* never a bootstrap (initdb) */
    CU_ASSERT_FALSE(history_has("R06", "")); /* nobody fenced */
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_fresh_store_adopts(void)
{
    CU_ASSERT_EQUAL_FATAL(start_arbiter(), 0);
    /* The agents report before the cluster is declared: nothing for them yet. */
    for (int i = 0; i < N_AGENTS; i++) {
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, i), 200);
    }
    declare_and_expect_adoption();
}

static void test_recreated_cluster_adopts(void)
{
    unsigned orders = 0;

    long st = 0;

    /* The deletion orders the instances stopped; the cluster goes once they all are. */
    CU_ASSERT_EQUAL(api("DELETE", "/api/v1/clusters/default/demo", NULL, NULL), 202);
    CU_ASSERT_EQUAL(api("PUT", "/api/v1/clusters/default/demo", demo_spec, NULL), 409);
    for (int round = 0; round < 20 && st != 404; round++) {
        for (int i = 0; i < N_AGENTS; i++) {
            CU_ASSERT_EQUAL(sim_fleet_send(&fleet, i), 200);
            sim_fleet_obey(&fleet, i);
        }
        st = api("GET", "/api/v1/clusters/default/demo", NULL, NULL);
        if (st != 404) {
            tu_sleep_ms(100); /* the loop removes it on its next step */
        }
    }
    CU_ASSERT_EQUAL_FATAL(st, 404);
    for (int i = 0; i < N_AGENTS; i++) {
        CU_ASSERT_EQUAL(fleet.db[i].state, PROTO_STATE_STOPPED);
        CU_ASSERT_EQUAL(fleet.db[i].epoch, EPOCH);
    }
    for (int i = 0; i < N_AGENTS; i++) {
        CU_ASSERT_EQUAL(send_checked(i, &orders), 200);
    }
    CU_ASSERT_EQUAL(orders, 0); /* no orders for a deleted cluster */
    declare_and_expect_adoption();
}

/* ---- suite ------------------------------------------------------------------------------ */

static int suite_init(void)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000, .timeout_ms = 5000};
    struct sim_fleet_options fleet_opt = {.base_url = base_url,
                                          .ns = "default",
                                          .cluster = "demo",
                                          .members = member_names,
                                          .n = N_AGENTS,
                                          .lsn0 = LSN0,
                                          .unnamed_sync = PROTO_SYNC_STATE_QUORUM};
    uint16_t port = 0;

    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0 || tu_free_port("127.0.0.1", &port) < 0) {
        return -1;
    }
    (void) snprintf(db_path, sizeof(db_path), "%s/arbiter.db", tmpdir);
    (void) snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", port);
    (void) snprintf(base_url, sizeof(base_url), "http://%s", listen_addr);
    client = httpc_new(&opt);
    if (sim_fleet_init(&fleet, &fleet_opt) < 0) {
        return -1;
    }
    sim_as_left();
    return client ? 0 : -1;
}

static int suite_cleanup(void)
{
    sim_fleet_done(&fleet);
    if (arbiter_pid > 0) {
        (void) tu_kill_wait(arbiter_pid, SIGTERM, 5000);
    }
    httpc_free(client);
    if (getenv("OG_TEST_KEEP") == NULL) {
        (void) tu_rmtree(tmpdir);
    } else {
        fprintf(stderr, "kept %s\n", tmpdir);
    }
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"fresh store adopts the agents' epoch", test_fresh_store_adopts},
            {"deleted and re-created cluster adopts it again", test_recreated_cluster_adopts},
            CU_TEST_INFO_NULL,
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("arbiter_adopt", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

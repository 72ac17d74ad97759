/*
 * tests/integration/test_arbiter_api.c
 *
 * The real og-arbiter binary against three scripted agents (tests/support/fake_agent.h) on
 * loopback, over real HTTP and a real SQLite file; no PostgreSQL. The test plays the
 * databases: a small simulation (tests/support/sim_fleet.h) holds each member's role, state,
 * timeline and LSNs, is pushed into its agent's report, and obeys the orders that come back.
 *
 * One cluster default/demo, members demo-0..2 on node1..3 (127.0.0.1..3), losttimeout 2 s,
 * goes through: every API error path; bootstrap; steady state; failover of a failed primary
 * (the order reaching another node's held long poll at once); failover of a silent agent and
 * the fencing of the old primary when it returns; switchover refusals; a switchover through
 * its phases with a kill -9 of the arbiter between fence and promote; maintenance and a
 * manual failover; spec updates, a second cluster and deletion; the status CLI. At every
 * step the desired states of all agents name at most one primary.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/fake_agent.h"
#include "tests/support/sim_fleet.h"
#include "tests/support/testutil.h"

#define N_AGENTS 3
#define LSN0     0x3000000ULL
#define MIB      1048576ULL

static char tmpdir[512];
static char base_url[128];
static char listen_addr[64];
static char db_path[600];
static pid_t arbiter_pid = -1;
static int arbiter_runs;
static struct httpc *client;
static struct sim_fleet fleet; /* the agents and their simulated databases */

static const char *const member_names[N_AGENTS] = {"demo-0", "demo-1", "demo-2"};

static const char demo_spec[] =
        "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},"
        "{\"ip\":\"127.0.0.2\",\"nodename\":\"node2\"},"
        "{\"ip\":\"127.0.0.3\",\"nodename\":\"node3\"}],"
        "\"image\":\"postgres:15\",\"storage\":\"1Gi\",\"ha\":{\"losttimeout\":2}}";

/* ---- the simulated databases (tests/support/sim_fleet.h) ------------------------------------ */

/*
 * Every agent reports; among the orders of the highest epoch at most one names a primary,
 * and no agent's desired state names two. Returns the primary's member index or -1.
 */
static int check_one_primary(unsigned mask)
{
    int primary = -1;
    uint64_t top = 0;

    for (int attempt = 0; attempt < 3; attempt++) {
        bool same = true;
        uint64_t first = UINT64_MAX;
        int n_primary = 0;

        for (int i = 0; i < N_AGENTS; i++) {
            if (mask & (1u << i)) {
                CU_ASSERT_EQUAL(sim_fleet_send(&fleet, i), 200);
            }
        }
        for (int i = 0; i < N_AGENTS; i++) {
            const struct proto_desired *d = fake_agent_desired(fleet.agents[i]);
            if (!(mask & (1u << i))) {
                continue;
            }
            for (uint32_t k = 0; k < d->n_instances; k++) {
                const struct proto_instance_desired *o = &d->instances[k];
                if (!str_eq(o->cluster, "demo")) {
                    continue;
                }
                first = first == UINT64_MAX ? o->epoch : first;
                same = same && o->epoch == first;
                top = o->epoch > top ? o->epoch : top;
                if (o->role == PROTO_ROLE_PRIMARY) {
                    n_primary++;
                    primary = sim_fleet_index(&fleet, o->member);
                }
            }
        }
        if (same) {
            CU_ASSERT(n_primary <= 1);
            return n_primary == 1 ? primary : -1;
        }
    }
    CU_FAIL("the agents' orders never agreed on one epoch");
    return -1;
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
        if (!str_eq(path, "/readyz")) { /* polled while the arbiter starts */
            fprintf(stderr, "\n  %s %s: %s\n", method, path, eb.msg);
        }
        return r;
    }
    status = resp.status;
    if (ret) {
        *ret = cJSON_ParseWithLength(resp.body, resp.body_len);
    }
    httpc_response_done(&resp);
    return status;
}

/* The error message of an error answer (borrowed from j), or "". */
static const char *err_msg(const cJSON *j)
{
    const char *s =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message"));
    return s ? s : "";
}

/* Calls the API and checks status and that the error message contains want (if given). */
static void expect(const char *method, const char *path, const char *body, long status,
                   const char *want)
{
    cJSON *j = NULL;
    long got = api(method, path, body, &j);
    const char *msg = err_msg(j);

    if (got != status || (want && !strstr(msg, want))) {
        fprintf(stderr, "\n  %s %s: HTTP %ld (want %ld), \"%s\" (want \"%s\")\n", method, path, got,
                status, msg, want ? want : "");
    }
    CU_ASSERT_EQUAL(got, status);
    if (want)
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
    if (status >= 400)
        CU_ASSERT_EQUAL(
                cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")),
                status);
    cJSON_Delete(j);
}

static cJSON *get_cluster(void)
{
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(api("GET", "/api/v1/clusters/default/demo", NULL, &j), 200);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return s ? s : "";
}

static double jnum(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));
}

static const cJSON *jmember(const cJSON *cluster, const char *name)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, cJSON_GetObjectItem(cluster, "members"))
    {
        if (str_eq(jstr(m, "name"), name)) {
            return m;
        }
    }
    return NULL;
}

/* Checks the cluster's epoch, primary and state (NULL: not checked). */
static void expect_cluster(uint64_t epoch, const char *primary, const char *state)
{
    cJSON *c = get_cluster();

    CU_ASSERT_EQUAL(jnum(c, "epoch"), (double) epoch);
    if (primary)
        CU_ASSERT_STRING_EQUAL(jstr(c, "primary"), primary);
    if (state && !str_eq(jstr(c, "state"), state)) {
        fprintf(stderr, "\n  state %s, want %s (%s)\n", jstr(c, "state"), state,
                jstr(c, "message"));
    }
    if (state)
        CU_ASSERT_STRING_EQUAL(jstr(c, "state"), state);
    cJSON_Delete(c);
}

/* True when the newest `limit` history rows hold one with rule and reason containing word. */
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

    (void) snprintf(log_path, sizeof(log_path), "%s/arbiter%d.log", tmpdir, ++arbiter_runs);
    if (tu_spawn(argv, log_path, &arbiter_pid) < 0) {
        return -1;
    }
    return tu_wait_until(arbiter_ready, NULL, 10000, 20) ? 0 : -1;
}

/* Runs the CLI with args; returns its exit code, its output in *ret_out (freed by caller). */
static int run_cli(const char *const argv[], char **ret_out)
{
    char path[600];
    pid_t pid = -1;
    int status = -1;

    (void) snprintf(path, sizeof(path), "%s/cli.out", tmpdir);
    (void) unlink(path);
    if (tu_spawn(argv, path, &pid) < 0 || tu_wait_exit(pid, 10000, &status) < 0) {
        return -1;
    }
    *ret_out = tu_read_file(path);
    return status;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_api_errors(void)
{
    CU_ASSERT_EQUAL_FATAL(start_arbiter(), 0);
    expect("GET", "/api/v1/clusters/default/demo", NULL, 404, "cluster default/demo not found");
    expect("GET", "/api/v1/nothing", NULL, 404, NULL);
    expect("POST", "/api/v1/clusters/default/demo", "{}", 405, NULL);
    expect("DELETE", "/api/v1/clusters", NULL, 405, NULL);
    expect("PUT", "/api/v1/clusters/default/demo", "{\"iplist\":[", 400, "invalid JSON");
    expect("PUT", "/api/v1/clusters/default/demo",
           "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},"
           "{\"ip\":\"127.0.0.1\",\"nodename\":\"node2\"}]}",
           422, "spec.iplist[1].ip: duplicate address 127.0.0.1");
    expect("PUT", "/api/v1/clusters/default/demo",
           "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}],\"foo\":1}", 422,
           "spec.foo: unknown field");
    expect("PUT", "/api/v1/clusters/Default/demo",
           "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}]}", 422,
           "metadata.namespace");
    expect("PUT", "/api/v1/clusters/default/demo",
           "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}],\"localrole\":\"standby\","
           "\"remoteiplist\":[\"10.0.0.1\"]}",
           422, "standby sites are not supported");
    expect("POST", "/api/v1/clusters/default/demo/switchover", NULL, 404, "not found");
    expect("POST", "/api/v1/clusters/default/demo/failover", "{}", 404, "not found");
    expect("PUT", "/api/v1/clusters/default/demo/maintenance", "{\"on\":true}", 400,
           "enabled: missing");
    expect("PUT", "/api/v1/clusters/default/demo/maintenance", "{\"enabled\":true}", 404, NULL);
    expect("GET", "/api/v1/clusters/default/demo/history?limit=0", NULL, 400, "limit");
    expect("GET", "/api/v1/clusters/default/demo/history", NULL, 404, NULL);
    expect("GET", "/api/v1/clusters/default/demo/credentials", NULL, 404, NULL);
    expect("DELETE", "/api/v1/clusters/default/demo", NULL, 404, NULL);
    expect("POST", "/api/v1/report", "{}", 400, "invalid report");
}

static void test_bootstrap(void)
{
    cJSON *j = NULL;
    const struct proto_instance_desired *o;
    const char *pw;

    expect("PUT", "/api/v1/clusters/default/demo", demo_spec, 201, NULL);
    expect("PUT", "/api/v1/clusters/default/demo", demo_spec, 200, NULL); /* unchanged */
    CU_ASSERT_EQUAL(api("GET", "/api/v1/clusters/default/demo/credentials", NULL, &j), 200);
    pw = jstr(j, "password");
    CU_ASSERT_STRING_EQUAL(jstr(j, "user"), "postgres");
    CU_ASSERT_EQUAL(strlen(pw), 24);
    for (const char *p = pw; *p; p++) {
        CU_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
    }
    cJSON_Delete(j);
    expect_cluster(0, NULL, "creating");

    /* node1 reports first (no instance yet): its member is the first primary. */
    CU_ASSERT_EQUAL_FATAL(sim_fleet_send(&fleet, 0), 200);
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(o->state, PROTO_STATE_RUNNING);
    CU_ASSERT_EQUAL(o->epoch, 1);
    CU_ASSERT_FALSE(o->has_upstream);
    CU_ASSERT_STRING_EQUAL(o->ip, "127.0.0.1");
    CU_ASSERT_EQUAL(o->port, 5432);
    CU_ASSERT_EQUAL(o->storage_bytes, 1ULL << 30);
    CU_ASSERT_EQUAL(o->lost_timeout_ms, 2000);
    CU_ASSERT_STRING_EQUAL(o->auth_user, "postgres");
    /* Its peers, for pg_hba: every other member, itself excluded. */
    CU_ASSERT_TRUE(o->has_peers);
    CU_ASSERT_EQUAL_FATAL(o->n_peers, 2);
    CU_ASSERT_STRING_EQUAL(o->peers[0].name, "demo-1");
    CU_ASSERT_STRING_EQUAL(o->peers[0].ip, "127.0.0.2");
    CU_ASSERT_EQUAL(o->peers[0].port, 5432);
    CU_ASSERT_STRING_EQUAL(o->peers[1].name, "demo-2");
    CU_ASSERT_STRING_EQUAL(o->peers[1].ip, "127.0.0.3");
    for (int i = 1; i < N_AGENTS; i++) {
        CU_ASSERT_EQUAL_FATAL(sim_fleet_send(&fleet, i), 200);
        o = fake_agent_order(fleet.agents[i], member_names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(o->role, PROTO_ROLE_STANDBY);
        CU_ASSERT_EQUAL(o->state, PROTO_STATE_RUNNING);
        CU_ASSERT_EQUAL(o->epoch, 1);
        CU_ASSERT_TRUE(o->has_upstream);
        CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-0");
        CU_ASSERT_STRING_EQUAL(o->upstream.host, "127.0.0.1");
        CU_ASSERT_EQUAL(o->upstream.port, 5432);
    }
    CU_ASSERT(history_has("R14", "first primary"));
    CU_ASSERT_EQUAL(check_one_primary(7), 0);
}

static void test_steady_state(void)
{
    const struct proto_instance_desired *o;
    const cJSON *m;
    cJSON *c;

    CU_ASSERT(sim_fleet_settle(&fleet, 7, 3));
    /* Both standbys stream from demo-0: the primary commits with ANY 1 (demo-1, demo-2). */
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->sync.num, 1);
    CU_ASSERT_EQUAL(o->sync.n_names, 2);
    /* demo-2 trails a little: 100 bytes. */
    fleet.db[0].current = LSN0 + 1000;
    fleet.db[1].received = fleet.db[1].replayed = LSN0 + 1000;
    fleet.db[2].received = fleet.db[2].replayed = LSN0 + 900;
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 1));
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    c = get_cluster();
    CU_ASSERT_STRING_EQUAL(jstr(c, "state"), "ready");
    CU_ASSERT_EQUAL(jnum(c, "epoch"), 1);
    CU_ASSERT_STRING_EQUAL(jstr(c, "primary"), "demo-0");
    m = jmember(c, "demo-0");
    CU_ASSERT_STRING_EQUAL(jstr(m, "role"), "primary");
    CU_ASSERT_STRING_EQUAL(jstr(m, "state"), "running");
    CU_ASSERT_EQUAL(jnum(m, "pid"), 1000);
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(m, "lagbytes")));
    m = jmember(c, "demo-2");
    CU_ASSERT_STRING_EQUAL(jstr(m, "role"), "standby");
    CU_ASSERT_STRING_EQUAL(jstr(m, "ip"), "127.0.0.3");
    CU_ASSERT_EQUAL(jnum(m, "lagbytes"), 100);
    CU_ASSERT_STRING_EQUAL(jstr(m, "sync"), "quorum");
    CU_ASSERT_STRING_EQUAL(jstr(m, "lsn"), "0/3000384");
    cJSON_Delete(c);
}

static void test_failover_failed_primary(void)
{
    uint64_t known = fake_agent_generation(fleet.agents[2]), t0, dt = 0;
    const struct proto_instance_desired *o;
    int r;

    /* node3 waits for news: the arbiter holds its report. */
    sim_fleet_push(&fleet, 2);
    CU_ASSERT_FATAL(fake_agent_send_async(fleet.agents[2], 10000));
    CU_ASSERT_EQUAL(fake_agent_wait(fleet.agents[2], 100, NULL), -ETIMEDOUT);

    fleet.db[0].state = PROTO_STATE_FAILED;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(o->epoch, 2);
    CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-1");
    CU_ASSERT_TRUE(o->rebuild);

    /* The decision reached node3's held request at once. */
    t0 = tu_now_ms();
    r = fake_agent_wait(fleet.agents[2], 3000, NULL);
    dt = tu_now_ms() - t0;
    CU_ASSERT_EQUAL(r, 200);
    CU_ASSERT(dt < 1000);
    CU_ASSERT(fake_agent_generation(fleet.agents[2]) > known);
    o = fake_agent_order(fleet.agents[2], "demo-2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->epoch, 2);
    CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-1");

    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 1), 200);
    o = fake_agent_order(fleet.agents[1], "demo-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(o->epoch, 2);
    CU_ASSERT(history_has("R17", "failed"));
    CU_ASSERT_EQUAL(check_one_primary(7), 1);
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 3));
    expect_cluster(2, "demo-1", "ready");
}

static void test_failover_silent_agent(void)
{
    uint64_t last_report, t = 0, deadline;
    int primary = -1;

    CU_ASSERT(sim_fleet_settle(&fleet, 7, 1));
    /* Taken before the send: the arbiter stamps the report on receipt, so the silence it
     * measures starts no earlier than this. */
    last_report = tu_now_ms();
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 1), 200); /* node2's last word */
    /* node2 falls silent; the standbys lose their stream; demo-0 holds the most WAL. */
    fleet.db[0].upstream[0] = fleet.db[2].upstream[0] = '\0';
    fleet.db[0].received = fleet.db[0].replayed = fleet.db[1].current + 50;
    deadline = last_report + 8000;
    while (tu_now_ms() < deadline) {
        const struct proto_instance_desired *o;
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
        o = fake_agent_order(fleet.agents[0], "demo-0");
        if (o && o->epoch == 3) {
            /* Stamped after the order is seen: the decision came no later than this. */
            t = tu_now_ms();
            primary = o->role == PROTO_ROLE_PRIMARY ? 0 : -1;
            break;
        }
        tu_sleep_ms(100);
    }
    CU_ASSERT_EQUAL_FATAL(primary, 0);
    CU_ASSERT(t - last_report >= 2000); /* not before losttimeout */
    CU_ASSERT(t - last_report < 8000);  /* a bound, not a benchmark */
    CU_ASSERT(history_has("R17", "silent"));
    expect_cluster(3, "demo-0", NULL);
    CU_ASSERT_EQUAL(check_one_primary(5), 0);

    /* node2 returns, its instance still running as the old primary: it is fenced. */
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 1), 200);
    {
        const struct proto_instance_desired *o = fake_agent_order(fleet.agents[1], "demo-1");
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(o->state, PROTO_STATE_FENCED);
        CU_ASSERT_NOT_EQUAL(o->role, PROTO_ROLE_PRIMARY);
        CU_ASSERT_EQUAL(o->epoch, 3);
    }
    CU_ASSERT(history_has("R06", "fencing"));
    CU_ASSERT_EQUAL(check_one_primary(7), 0);
    fleet.db[1].role = PROTO_ROLE_PRIMARY;
    fleet.db[1].state = PROTO_STATE_FENCED;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 1), 200);
    {
        const struct proto_instance_desired *o = fake_agent_order(fleet.agents[1], "demo-1");
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(o->state, PROTO_STATE_RUNNING);
        CU_ASSERT_EQUAL(o->role, PROTO_ROLE_STANDBY);
        CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-0");
        CU_ASSERT_TRUE(o->rebuild);
    }
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 3));
    expect_cluster(3, "demo-0", "ready");
}

static void test_switchover_refused(void)
{
    const char *path = "/api/v1/clusters/default/demo/switchover";
    uint64_t keep = fleet.db[2].received;

    fleet.db[2].received = fleet.db[2].replayed = fleet.db[0].current - 2 * MIB;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
    expect("POST", path, "{\"target\":\"demo-2\"}", 409, "demo-2 lagging");
    fleet.db[2].received = fleet.db[2].replayed = keep;
    fleet.db[1].state = PROTO_STATE_FAILED;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 1), 200);
    expect("POST", path, "{\"target\":\"demo-1\"}", 409, "demo-1 failed");
    fleet.db[1].state = PROTO_STATE_RUNNING;
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 2));
    expect("POST", path, "{\"target\":\"demo-9\"}", 409, "demo-9 is not a standby member");
    expect("POST", path, "{\"target\":\"demo-0\"}", 409, "refused");
    expect("POST", path, "{\"target\":\"Demo\"}", 422, "target");
    expect("POST", path, "{\"to\":\"demo-1\"}", 422, "to: unknown field");
    expect("POST", path, "{\"target\":", 400, NULL);
    expect("POST", "/api/v1/clusters/default/demo/failover", NULL, 409, "use a switchover");
    CU_ASSERT(history_has("R05", "refused"));
    expect_cluster(3, "demo-0", "ready");
    CU_ASSERT_EQUAL(check_one_primary(7), 0);
}

static void restart_arbiter_hard(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_kill_wait(arbiter_pid, SIGKILL, 5000), 0);
    arbiter_pid = -1;
    CU_ASSERT_EQUAL_FATAL(start_arbiter(), 0);
}

static void test_switchover_with_crash(void)
{
    const char *path = "/api/v1/clusters/default/demo/switchover";
    const struct proto_instance_desired *o;
    uint64_t fence_lsn;
    cJSON *j = NULL, *sw;

    CU_ASSERT_EQUAL(api("POST", path, "{\"target\":\"demo-2\"}", &j), 202);
    CU_ASSERT_STRING_EQUAL(jstr(j, "operation"), "switchover");
    CU_ASSERT_STRING_EQUAL(jstr(j, "target"), "demo-2");
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(j, "message"), "fencing demo-0"));
    cJSON_Delete(j);
    expect("POST", path, "{\"target\":\"demo-1\"}", 409, "already under way");

    /* Phase 1: the primary is ordered fenced. */
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(o->state, PROTO_STATE_FENCED);
    j = get_cluster();
    sw = cJSON_GetObjectItem(j, "switchover");
    CU_ASSERT_STRING_EQUAL(jstr(j, "state"), "updating");
    CU_ASSERT_STRING_EQUAL(jstr(sw, "phase"), "fencing");
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(check_one_primary(7), 0);

    /* Phase 2: fenced at its final LSN; demo-2 has not replayed it all yet. */
    fence_lsn = fleet.db[0].current + 4096;
    fleet.db[0].current = fence_lsn;
    fleet.db[0].state = PROTO_STATE_FENCED;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    fleet.db[2].received = fence_lsn;
    fleet.db[2].replayed = fence_lsn - 10;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
    o = fake_agent_order(fleet.agents[2], "demo-2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(check_one_primary(7), 0);

    /* kill -9 between fence and promote; the same database on restart. */
    restart_arbiter_hard();
    j = get_cluster();
    sw = cJSON_GetObjectItem(j, "switchover");
    CU_ASSERT_EQUAL(jnum(j, "epoch"), 3);
    CU_ASSERT_STRING_EQUAL(jstr(j, "primary"), "demo-0");
    CU_ASSERT_STRING_EQUAL(jstr(sw, "phase"), "catchup");
    CU_ASSERT_STRING_EQUAL(jstr(sw, "target"), "demo-2");
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(check_one_primary(7), 0);
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT(o && o->state == PROTO_STATE_FENCED && o->epoch == 3);

    /* Phase 3: demo-2 replays the fence LSN and is promoted; demo-0 rejoins. */
    fleet.db[2].replayed = fence_lsn;
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
    o = fake_agent_order(fleet.agents[2], "demo-2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(o->state, PROTO_STATE_RUNNING);
    CU_ASSERT_EQUAL(o->epoch, 4);
    CU_ASSERT_EQUAL(check_one_primary(7), 2);
    o = fake_agent_order(fleet.agents[0], "demo-0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->role, PROTO_ROLE_STANDBY);
    CU_ASSERT_STRING_EQUAL(o->upstream.member, "demo-2");
    CU_ASSERT_TRUE(o->rebuild);
    CU_ASSERT(history_has("R10", "promoted at epoch 4"));
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 3));
    expect_cluster(4, "demo-2", "ready");
}

static void test_maintenance_and_manual_failover(void)
{
    const char *path = "/api/v1/clusters/default/demo/maintenance";
    const struct proto_instance_desired *o;
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(api("PUT", path, "{\"enabled\":true}", &j), 200);
    CU_ASSERT_STRING_EQUAL(jstr(j, "state"), "maintaining");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "maintenance")));
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
    o = fake_agent_order(fleet.agents[2], "demo-2");
    CU_ASSERT(o && o->maintenance);

    /* The primary fails: no automatic failover while in maintenance. */
    fleet.db[2].state = PROTO_STATE_FAILED;
    for (int i = 0; i < 8; i++) {
        CU_ASSERT(sim_fleet_settle(&fleet, 3, 1));
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 2), 200);
        tu_sleep_ms(100);
    }
    expect_cluster(4, "demo-2", "maintaining");
    o = fake_agent_order(fleet.agents[2], "demo-2");
    CU_ASSERT(o && o->role == PROTO_ROLE_PRIMARY && o->epoch == 4);

    /* A manual failover still works, to the member named. */
    CU_ASSERT_EQUAL(
            api("POST", "/api/v1/clusters/default/demo/failover", "{\"target\":\"demo-1\"}", &j),
            202);
    CU_ASSERT_STRING_EQUAL(jstr(j, "operation"), "failover");
    CU_ASSERT_STRING_EQUAL(jstr(j, "target"), "demo-1");
    cJSON_Delete(j);
    CU_ASSERT(history_has("R04", "manual failover to demo-1"));
    CU_ASSERT_EQUAL(check_one_primary(7), 1);
    expect("PUT", path, "{\"enabled\":false}", 200, NULL);
    CU_ASSERT(sim_fleet_settle(&fleet, 7, 3));
    expect_cluster(5, "demo-1", "ready");
}

static void test_update_and_delete(void)
{
    const char *other = "{\"iplist\":[{\"ip\":\"127.0.0.11\",\"nodename\":\"node1\"}],\"ha\":{"
                        "\"syncreplicas\":0}}";
    const char *clash = "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}]}";
    cJSON *j = NULL;

    /* An update keeps the members and their names. */
    CU_ASSERT_EQUAL(api("PUT", "/api/v1/clusters/default/demo",
                        "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},"
                        "{\"ip\":\"127.0.0.2\",\"nodename\":\"node2\"},"
                        "{\"ip\":\"127.0.0.3\",\"nodename\":\"node3\"}],"
                        "\"image\":\"postgres:15\",\"storage\":\"2Gi\",\"ha\":{\"losttimeout\":2}}",
                        &j),
                    200);
    CU_ASSERT_EQUAL(jnum(j, "generation"), 4); /* create, maintenance on, off, this update */
    CU_ASSERT_PTR_NOT_NULL(jmember(j, "demo-2"));
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    CU_ASSERT_EQUAL(fake_agent_order(fleet.agents[0], "demo-0")->storage_bytes, 2ULL << 30);
    expect("PUT", "/api/v1/clusters/default/demo",
           "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"}],\"dbport\":5433}", 422,
           "spec.dbport: immutable");

    /* A second cluster on node1; node1's desired state then holds both. */
    expect("PUT", "/api/v1/clusters/default/other", other, 201, NULL);
    expect("PUT", "/api/v1/clusters/default/clash", clash, 422,
           "127.0.0.1 port 5432 is used by member demo-0 of default/demo");
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    CU_ASSERT_PTR_NOT_NULL(fake_agent_order(fleet.agents[0], "other-0"));
    CU_ASSERT_EQUAL(api("GET", "/api/v1/clusters", NULL, &j), 200);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    /* node1 runs other-0: deleting "other" orders it stopped, and waits until it is. */
    {
        struct proto_instance_report *in =
                fake_agent_instance(fleet.agents[0], "default", "other", "other-0");
        const struct proto_instance_desired *o;
        long st = 0;

        in->epoch = 1;
        in->role = PROTO_ROLE_PRIMARY;
        in->state = PROTO_STATE_RUNNING;
        in->timeline = 1;
        in->pid = 4242;
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
        expect("DELETE", "/api/v1/clusters/default/other", NULL, 202, NULL);
        expect("DELETE", "/api/v1/clusters/default/other", NULL, 202, NULL); /* idempotent */
        CU_ASSERT_EQUAL(api("GET", "/api/v1/clusters/default/other", NULL, &j), 200);
        CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "deleting")));
        cJSON_Delete(j);
        expect("POST", "/api/v1/clusters/default/other/switchover", "{}", 409, "being deleted");
        expect("PUT", "/api/v1/clusters/default/other", other, 409, "being deleted");
        tu_sleep_ms(300); /* ticks pass: still there, its instance runs */
        expect("GET", "/api/v1/clusters/default/other", NULL, 200, NULL);
        CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
        o = fake_agent_order(fleet.agents[0], "other-0");
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(o->state, PROTO_STATE_STOPPED);
        CU_ASSERT_EQUAL(o->epoch, 1);
        in = fake_agent_instance(fleet.agents[0], "default", "other", "other-0");
        in->state = PROTO_STATE_STOPPED;
        in->pid = 0;
        for (int k = 0; k < 50 && st != 404; k++) {
            CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
            st = api("GET", "/api/v1/clusters/default/other", NULL, NULL);
            if (st != 404) {
                tu_sleep_ms(100);
            }
        }
        CU_ASSERT_EQUAL(st, 404);
        expect("DELETE", "/api/v1/clusters/default/other", NULL, 404, NULL);
        fake_agent_drop_instance(fleet.agents[0], "other-0");
    }
    CU_ASSERT_EQUAL(sim_fleet_send(&fleet, 0), 200);
    CU_ASSERT_PTR_NULL(fake_agent_order(fleet.agents[0], "other-0"));
    CU_ASSERT_PTR_NOT_NULL(fake_agent_order(fleet.agents[0], "demo-0"));
    CU_ASSERT_EQUAL(check_one_primary(7), 1);
}

static void test_status_cli(void)
{
    const char *argv[] = {
            OG_BINARY_DIR "/og-arbiter", "status", "--server", base_url, "default/demo", NULL};
    const char *missing[] = {
            OG_BINARY_DIR "/og-arbiter", "status", "default/nope", "--server", base_url, NULL};
    const char *refused[] = {OG_BINARY_DIR "/og-arbiter",
                             "switchover",
                             "--server",
                             base_url,
                             "default/demo",
                             "--to",
                             "demo-9",
                             NULL};
    char *out = NULL;

    CU_ASSERT_EQUAL(run_cli(argv, &out), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL(
            strstr(out, "Cluster default/demo (epoch 5, state ready, primary demo-1)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "| Member | Node  | Address        | Role    | State   |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "| demo-1 | node2 | 127.0.0.2:5432 | primary | running |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "| demo-2 | node3 | 127.0.0.3:5432 | standby | running |"));
    free(out);
    out = NULL;
    CU_ASSERT_EQUAL(run_cli(missing, &out), 1);
    CU_ASSERT(out && strstr(out, "cluster default/nope not found"));
    free(out);
    out = NULL;
    CU_ASSERT_EQUAL(run_cli(refused, &out), 4);
    CU_ASSERT(out && strstr(out, "demo-9 is not a standby member"));
    free(out);
}

/* SIGTERM wakes a held long poll at once and the arbiter exits cleanly (ASan: no leaks). */
static void test_clean_shutdown(void)
{
    struct fake_agent *idle = fake_agent_new(base_url, "node9");
    uint64_t t0;
    int status = -1, r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(idle);
    CU_ASSERT_EQUAL(fake_agent_send(idle, 0), 200); /* no members: held up to 25 s */
    CU_ASSERT_FATAL(fake_agent_send_async(idle, 20000));
    CU_ASSERT_EQUAL(fake_agent_wait(idle, 300, NULL), -ETIMEDOUT);
    t0 = tu_now_ms();
    CU_ASSERT_EQUAL(kill(arbiter_pid, SIGTERM), 0);
    CU_ASSERT_EQUAL(tu_wait_exit(arbiter_pid, 5000, &status), 0);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT(tu_now_ms() - t0 < 2000);
    arbiter_pid = -1;
    /*
     * Answered, or cut by the server's stop (MHD closes connections, which curl reports as a
     * reset, an empty reply or a receive error): any outcome but still waiting is right.
     */
    r = fake_agent_wait(idle, 2000, NULL);
    CU_ASSERT(r != -ETIMEDOUT);
    fake_agent_free(idle);
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
                                          .lsn0 = LSN0};
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
            {"API errors", test_api_errors},
            {"bootstrap", test_bootstrap},
            {"steady state", test_steady_state},
            {"failover of a failed primary, held poll woken", test_failover_failed_primary},
            {"failover of a silent agent, old primary fenced", test_failover_silent_agent},
            {"switchover refused", test_switchover_refused},
            {"switchover through a kill -9", test_switchover_with_crash},
            {"maintenance and manual failover", test_maintenance_and_manual_failover},
            {"update and delete", test_update_and_delete},
            {"status CLI", test_status_cli},
            {"clean shutdown", test_clean_shutdown},
            CU_TEST_INFO_NULL,
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("arbiter_api", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

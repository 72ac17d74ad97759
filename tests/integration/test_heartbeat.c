/*
 * tests/integration/test_heartbeat.c
 *
 * The first heartbeat end to end: real og-arbiter and og-agent binaries on loopback, real
 * HTTP, a real SQLite file. Agents appear in GET /api/v1/agents; malformed reports get 400
 * and store nothing; the arbiter's memory survives its restart; flags are checked.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

static char tmpdir[512];
static char base_url[128];
static char db_path[600];
static pid_t arbiter_pid = -1;
static pid_t agent_pids[2] = {-1, -1};
static struct httpc *client;

static int start_arbiter(void)
{
    char listen[64];
    char log_path[600];
    uint16_t port = 0;

    if (tu_free_port("127.0.0.1", &port) < 0) {
        return -1;
    }
    (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    (void) snprintf(base_url, sizeof(base_url), "http://%s", listen);
    (void) snprintf(log_path, sizeof(log_path), "%s/arbiter.log", tmpdir);
    {
        const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                              "serve",
                              "--listen",
                              listen,
                              "--db",
                              db_path,
                              "--kube",
                              "none",
                              "--heartbeat",
                              "200ms",
                              NULL};
        return tu_spawn(argv, log_path, &arbiter_pid);
    }
}

static int start_agent(int i)
{
    char node[16], root[600], sock[600], log_path[600];

    (void) snprintf(node, sizeof(node), "node%d", i + 1);
    (void) snprintf(root, sizeof(root), "%s/root-%s", tmpdir, node);
    (void) snprintf(sock, sizeof(sock), "%s/%s.sock", tmpdir, node);
    (void) snprintf(log_path, sizeof(log_path), "%s/agent-%s.log", tmpdir, node);
    {
        const char *argv[] = {OG_BINARY_DIR "/og-agent",
                              "run",
                              "--node",
                              node,
                              "--arbiter",
                              base_url,
                              "--root",
                              root,
                              "--socket",
                              sock,
                              "--heartbeat",
                              "200ms",
                              NULL};
        return tu_spawn(argv, log_path, &agent_pids[i]);
    }
}

/* GET base_url+path; returns the status (or -errno) and the parsed body. */
static long get_json(const char *path, cJSON **ret)
{
    char url[256];
    long status = 0;
    struct errbuf eb = {{0}};
    int r;

    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    *ret = NULL;
    r = httpc_json(client, "GET", url, NULL, 2000, &status, ret, &eb);
    return r < 0 ? r : status;
}

static long post_raw(const char *path, const char *body, cJSON **ret)
{
    char url[256];
    struct httpc_request req = {.method = "POST",
                                .url = url,
                                .content_type = "application/json",
                                .body = body,
                                .body_len = strlen(body)};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    long status;
    int r;

    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    r = httpc_do(client, &req, &resp, &eb);
    if (r < 0) {
        return r;
    }
    status = resp.status;
    *ret = cJSON_ParseWithLength(resp.body ? resp.body : "", resp.body_len);
    httpc_response_done(&resp);
    return status;
}

/* Number of agents listed, or -1; ret_instances[i] gets node{i+1}'s instance count. */
static int count_agents(void)
{
    cJSON *arr = NULL;
    long st = get_json("/api/v1/agents", &arr);
    int n = -1;

    if (st == 200 && cJSON_IsArray(arr)) {
        n = cJSON_GetArraySize(arr);
    }
    cJSON_Delete(arr);
    return n;
}

static bool two_agents_listed(void *arg)
{
    (void) arg;
    return count_agents() == 2;
}

static bool arbiter_ready(void *arg)
{
    cJSON *j = NULL;
    long st = get_json("/readyz", &j);

    (void) arg;
    cJSON_Delete(j);
    return st == 200;
}

static int sqlite_count(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_heartbeat_agents_listed(void)
{
    cJSON *arr = NULL, *j = NULL;

    CU_ASSERT_FATAL(start_arbiter() == 0);
    CU_ASSERT_FATAL(tu_wait_until(arbiter_ready, NULL, 10000, 50));
    CU_ASSERT_EQUAL(get_json("/healthz", &j), 200);
    cJSON_Delete(j);
    CU_ASSERT_FATAL(start_agent(0) == 0);
    CU_ASSERT_FATAL(start_agent(1) == 0);
    CU_ASSERT_FATAL(tu_wait_until(two_agents_listed, NULL, 10000, 50));

    CU_ASSERT_EQUAL(get_json("/api/v1/agents", &arr), 200);
    for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
        const cJSON *a = cJSON_GetArrayItem(arr, i);
        char want[16];
        (void) snprintf(want, sizeof(want), "node%d", i + 1);
        CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(a, "node")), want);
        CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "instances")), 0);
        CU_ASSERT_PTR_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(a, "last_seen")));
        CU_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "last_seen_ms_ago")) < 5000);
    }
    cJSON_Delete(arr);
    CU_ASSERT_EQUAL(sqlite_count("SELECT count(*) FROM agents"), 2);
}

/* The heartbeat keeps going: seq grows between two reads. */
static void test_heartbeat_repeats(void)
{
    cJSON *a1 = NULL, *a2 = NULL;
    double s1, s2;

    CU_ASSERT_EQUAL_FATAL(get_json("/api/v1/agents", &a1), 200);
    usleep(700 * 1000); /* a few 200 ms heartbeats; the assertion below does not race them */
    CU_ASSERT_EQUAL_FATAL(get_json("/api/v1/agents", &a2), 200);
    s1 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(a1, 0), "seq"));
    s2 = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(a2, 0), "seq"));
    CU_ASSERT(s2 > s1);
    cJSON_Delete(a1);
    cJSON_Delete(a2);
}

static void test_heartbeat_malformed_rejected(void)
{
    static const char *bad[] = {
            "not json",
            "[]",
            "{}",
            "{\"version\":1,\"node\":\"evil\",\"agent_id\":\"x\",\"seq\":\"one\",\"instances\":[]}",
            "{\"version\":1,\"node\":\"../evil\",\"agent_id\":\"x\",\"seq\":1,\"instances\":[]}",
            "{\"version\":2,\"node\":\"evil\",\"agent_id\":\"x\",\"seq\":1,\"instances\":[]}",
            "{\"version\":1,\"node\":\"evil\",\"agent_id\":\"x\",\"seq\":1,\"instances\":[{"
            "\"namespace\":\"default\",\"cluster\":\"demo\",\"member\":\"demo-0\","
            "\"state\":\"exploded\"}]}",
    };
    int before = sqlite_count("SELECT count(*) FROM agents");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *j = NULL;
        long st = post_raw("/api/v1/report", bad[i], &j);
        const cJSON *err = cJSON_GetObjectItem(j, "error");
        CU_ASSERT_EQUAL(st, 400);
        CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(err, "code")), 400);
        CU_ASSERT_PTR_NOT_NULL(cJSON_GetStringValue(cJSON_GetObjectItem(err, "message")));
        cJSON_Delete(j);
    }
    CU_ASSERT_EQUAL(sqlite_count("SELECT count(*) FROM agents WHERE node = 'evil'"), 0);
    CU_ASSERT_EQUAL(sqlite_count("SELECT count(*) FROM agents"), before);
    CU_ASSERT_EQUAL(count_agents(), 2);
}

static void test_heartbeat_unknown_route(void)
{
    cJSON *j = NULL;

    CU_ASSERT_EQUAL(get_json("/api/v1/nothing", &j), 404);
    CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItem(j, "error"));
    cJSON_Delete(j);
}

/* Agents keep their rows across an arbiter restart (the SQLite file is its memory). */
static void test_heartbeat_arbiter_restart(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_kill_wait(arbiter_pid, SIGKILL, 5000), 0);
    arbiter_pid = -1;
    {
        /* Same port again, so the running agents find it. */
        char listen[64];
        char log_path[600];
        const char *p = strrchr(base_url, ':');
        (void) snprintf(listen, sizeof(listen), "127.0.0.1:%s", p + 1);
        (void) snprintf(log_path, sizeof(log_path), "%s/arbiter2.log", tmpdir);
        const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                              "serve",
                              "--listen",
                              listen,
                              "--db",
                              db_path,
                              "--heartbeat",
                              "200ms",
                              NULL};
        CU_ASSERT_FATAL(tu_spawn(argv, log_path, &arbiter_pid) == 0);
    }
    CU_ASSERT_FATAL(tu_wait_until(arbiter_ready, NULL, 10000, 50));
    /* Listed at once from the database, before any agent reports again. */
    CU_ASSERT_EQUAL(count_agents(), 2);
}

static int run_status(const char *const argv[])
{
    char log_path[600];
    pid_t pid = -1;
    int status = 0;

    (void) snprintf(log_path, sizeof(log_path), "%s/cli.log", tmpdir);
    if (tu_spawn(argv, log_path, &pid) < 0) {
        return -1;
    }
    for (int i = 0; i < 500; i++) { /* at most 5 s */
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        }
        usleep(10 * 1000);
    }
    (void) tu_kill_wait(pid, SIGKILL, 1000);
    return -1;
}

static void test_heartbeat_flags(void)
{
    const char *help[] = {OG_BINARY_DIR "/og-agent", "run", "--help", NULL};
    const char *missing[] = {OG_BINARY_DIR "/og-agent", "run", "--arbiter", "http://x", NULL};
    const char *unknown[] = {OG_BINARY_DIR "/og-arbiter", "serve", "--bogus", NULL};
    const char *badnode[] = {
            OG_BINARY_DIR "/og-agent", "run", "--node", "a;b", "--arbiter", "http://x", NULL};
    const char *nocmd[] = {OG_BINARY_DIR "/og-arbiter", "frobnicate", NULL};
    char *out;
    char path[600];

    (void) snprintf(path, sizeof(path), "%s/cli.log", tmpdir);
    CU_ASSERT_EQUAL(run_status(help), 0);
    out = tu_read_file(path);
    CU_ASSERT(out && strstr(out, "--node") && strstr(out, "--arbiter"));
    free(out);
    (void) unlink(path);
    CU_ASSERT_EQUAL(run_status(missing), 1);
    out = tu_read_file(path);
    CU_ASSERT(out && strstr(out, "--node"));
    free(out);
    (void) unlink(path);
    CU_ASSERT_EQUAL(run_status(unknown), 1);
    out = tu_read_file(path);
    CU_ASSERT(out && strstr(out, "--bogus"));
    free(out);
    (void) unlink(path);
    CU_ASSERT_EQUAL(run_status(badnode), 1);
    CU_ASSERT_EQUAL(run_status(nocmd), 1);
}

static int suite_init(void)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000, .timeout_ms = 3000};

    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return -1;
    }
    (void) snprintf(db_path, sizeof(db_path), "%s/arbiter.db", tmpdir);
    client = httpc_new(&opt);
    return 0;
}

static int suite_cleanup(void)
{
    for (int i = 0; i < 2; i++) {
        if (agent_pids[i] > 0) {
            (void) tu_kill_wait(agent_pids[i], SIGTERM, 5000);
        }
    }
    if (arbiter_pid > 0) {
        (void) tu_kill_wait(arbiter_pid, SIGTERM, 5000);
    }
    httpc_free(client);
    if (getenv("OG_TEST_KEEP") == NULL) {
        (void) tu_rmtree(tmpdir);
    }
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"agents listed", test_heartbeat_agents_listed},
            {"heartbeat repeats", test_heartbeat_repeats},
            {"malformed reports rejected", test_heartbeat_malformed_rejected},
            {"unknown route", test_heartbeat_unknown_route},
            {"arbiter restart keeps agents", test_heartbeat_arbiter_restart},
            {"flags", test_heartbeat_flags},
            CU_TEST_INFO_NULL,
    };
    int rc;

    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("heartbeat", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

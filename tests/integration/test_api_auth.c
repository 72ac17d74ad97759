/*
 * tests/integration/test_api_auth.c
 *
 * The arbiter's REST API behind a bearer token (DESIGN.md "Security"), with the real
 * binaries on loopback: an agent with the token is heard, one with a wrong token is refused
 * (401) and stored nowhere; clients without it get 401 JSON errors while probes and
 * scrapes (/healthz, /readyz, /metrics) need none; the CLI takes the token from its flag
 * or OG_ARBITER_TOKEN and never prints it.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define TOKEN "t0ken-0123456789abcdef"

static char tmpdir[512];
static char base_url[128];
static pid_t arbiter_pid = -1;
static pid_t agent_pids[2] = {-1, -1};

static int start_arbiter(void)
{
    char listen[64], db[600], log_path[600];
    uint16_t port = 0;

    if (tu_free_port("127.0.0.1", &port) < 0) {
        return -1;
    }
    (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    (void) snprintf(base_url, sizeof(base_url), "http://%s", listen);
    (void) snprintf(db, sizeof(db), "%s/arbiter.db", tmpdir);
    (void) snprintf(log_path, sizeof(log_path), "%s/arbiter.log", tmpdir);
    {
        const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                              "serve",
                              "--listen",
                              listen,
                              "--db",
                              db,
                              "--kube",
                              "none",
                              "--heartbeat",
                              "200ms",
                              "--token",
                              TOKEN,
                              NULL};
        return tu_spawn(argv, log_path, &arbiter_pid);
    }
}

static int start_agent(int i, const char *token)
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
                              "--token",
                              token,
                              NULL};
        return tu_spawn(argv, log_path, &agent_pids[i]);
    }
}

/* GET path with token (NULL: none): the status, or -errno; *ret the body. */
static long get_with(const char *path, const char *token, char **ret)
{
    struct httpc_options opt = {
            .connect_timeout_ms = 1000, .timeout_ms = 3000, .bearer_token = token};
    struct httpc *c = httpc_new(&opt);
    struct httpc_request req = {.method = "GET"};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    char url[256];
    long status;
    int r;

    if (!c) {
        return -1;
    }
    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    req.url = url;
    r = httpc_do(c, &req, &resp, &eb);
    httpc_free(c);
    if (r < 0) {
        return r;
    }
    status = resp.status;
    if (ret) {
        *ret = resp.body;
        resp.body = NULL;
    }
    httpc_response_done(&resp);
    return status;
}

static bool node_listed(void *arg)
{
    char *body = NULL;
    bool found = get_with("/api/v1/agents", TOKEN, &body) == 200 && body &&
                 strstr(body, (const char *) arg) != NULL;

    free(body);
    return found;
}

static bool arbiter_up(void *arg)
{
    (void) arg;
    return get_with("/healthz", NULL, NULL) == 200;
}

/* Runs the CLI with env (NULL-terminated "K=V" list, may be NULL); exit code, output in out. */
static int run_cli(const char *const argv[], const char *const env[], char **out)
{
    char log_path[600];
    pid_t pid = -1;
    int status = 0, code = -1;

    (void) snprintf(log_path, sizeof(log_path), "%s/cli.log", tmpdir);
    (void) unlink(log_path);
    for (size_t i = 0; env && env[i]; i++) {
        (void) putenv((char *) env[i]);
    }
    if (tu_spawn(argv, log_path, &pid) == 0) {
        for (int i = 0; i < 500 && code < 0; i++) { /* at most 5 s */
            if (waitpid(pid, &status, WNOHANG) == pid) {
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
            } else {
                usleep(10 * 1000);
            }
        }
        if (code < 0) {
            (void) tu_kill_wait(pid, SIGKILL, 1000);
        }
    }
    (void) unsetenv("OG_ARBITER_TOKEN");
    *out = tu_read_file(log_path);
    return code;
}

static void test_auth_agents(void)
{
    char *log = NULL, path[600];

    CU_ASSERT_EQUAL_FATAL(start_arbiter(), 0);
    CU_ASSERT_FATAL(tu_wait_until(arbiter_up, NULL, 10000, 50));
    CU_ASSERT_EQUAL_FATAL(start_agent(0, TOKEN), 0);
    CU_ASSERT_EQUAL_FATAL(start_agent(1, "not-the-token"), 0);
    CU_ASSERT(tu_wait_until(node_listed, "\"node1\"", 10000, 100));
    /* Two seconds are ten heartbeats of node2: none got in. */
    tu_sleep_ms(2000);
    CU_ASSERT_FALSE(node_listed("\"node2\""));
    (void) snprintf(path, sizeof(path), "%s/agent-node2.log", tmpdir);
    log = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL(log);
    CU_ASSERT(log && strstr(log, "401") != NULL);
    CU_ASSERT(log && strstr(log, "not-the-token") == NULL); /* secrets are never logged */
    free(log);
}

static void test_auth_clients(void)
{
    char *body = NULL;

    CU_ASSERT_EQUAL(get_with("/api/v1/clusters", NULL, &body), 401);
    CU_ASSERT(body && strstr(body, "\"code\":401") != NULL);
    free(body);
    CU_ASSERT_EQUAL(get_with("/api/v1/clusters", "wrong", NULL), 401);
    CU_ASSERT_EQUAL(get_with("/api/v1/clusters", TOKEN, NULL), 200);
    CU_ASSERT_EQUAL(get_with("/readyz", NULL, NULL), 200);
    body = NULL;
    CU_ASSERT_EQUAL(get_with("/metrics", NULL, &body), 200);
    CU_ASSERT(body && strstr(body, "og_arbiter_leader 1\n") != NULL);
    CU_ASSERT(body && strstr(body, "og_agent_instances{node=\"node1\"} 0\n") != NULL);
    free(body);
}

static void test_auth_cli(void)
{
    const char *bare[] = {OG_BINARY_DIR "/og-arbiter", "status", "--server", base_url, NULL};
    const char *flag[] = {
            OG_BINARY_DIR "/og-arbiter", "status", "--server", base_url, "--token", TOKEN, NULL};
    static char env_token[] = "OG_ARBITER_TOKEN=" TOKEN;
    const char *env[] = {env_token, NULL};
    char *out = NULL;

    CU_ASSERT_NOT_EQUAL(run_cli(bare, NULL, &out), 0);
    CU_ASSERT(out && strstr(out, "401") != NULL);
    free(out);
    CU_ASSERT_EQUAL(run_cli(flag, NULL, &out), 0);
    CU_ASSERT(out && strstr(out, TOKEN) == NULL);
    free(out);
    CU_ASSERT_EQUAL(run_cli(bare, env, &out), 0);
    free(out);
}

static int suite_init(void)
{
    return tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0 ? -1 : 0;
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
    if (getenv("OG_TEST_KEEP") == NULL) {
        (void) tu_rmtree(tmpdir);
    }
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"agents: the token lets in, a wrong one is refused", test_auth_agents},
            {"clients: 401 without the token, probes and metrics open", test_auth_clients},
            {"CLI: token from the flag or the environment", test_auth_cli},
            CU_TEST_INFO_NULL,
    };
    int rc;

    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("api_auth", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

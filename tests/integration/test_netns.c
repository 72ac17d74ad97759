/*
 * tests/integration/test_netns.c
 *
 * The private network of tests/support/netns.h, proved:
 *   1. hosts and the ctl namespace reach each other over TCP through the switch (a listener
 *      in host 2 accepts a connection from host 1 and one from ctl, with their addresses);
 *   2. a real og-arbiter (local mode) in ctl and a real og-agent in host 1 bring up a
 *      one-member cluster whose PostgreSQL listens on host 1's 10.x address, and the test,
 *      from ctl, connects to it with libpq and the credentials the arbiter hands out;
 *   3. teardown leaves no namespace (`ip netns list`) and no process behind; a run killed
 *      with SIGKILL is cleaned by its watchdog; namespaces of dead runs are removed by
 *      netns_clean_stale.
 * Passes with a loud SKIPPED line when not root or without `ip netns`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/errbuf.h"
#include "common/httpc.h"
#include "common/mem.h"
#include "common/proc.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/netns.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

#define TCP_PORT     7411
#define ARBITER_PORT 8080
#define DB_PORT      5432
#define READY_MS     120000

/* ---- sockets ---------------------------------------------------------------------------- */

static int sock_listen(const char *ip, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -errno;
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        int r = -errno;
        (void) close(fd);
        return r < 0 ? r : -EINVAL;
    }
    return fd;
}

/* A connected socket to ip:port within timeout_ms, or -errno. */
static int sock_connect(const char *ip, uint16_t port, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof(err);

    if (fd < 0) {
        return -errno;
    }
    (void) inet_pton(AF_INET, ip, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 || errno == EINPROGRESS) {
        /* Writable once connected or failed; SO_ERROR says which. */
        if (poll(&pfd, 1, timeout_ms) != 1) {
            err = ETIMEDOUT;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            err = errno;
        }
    } else {
        err = errno;
    }
    if (err) {
        (void) close(fd);
        return -err;
    }
    return fd;
}

/* Accepts one connection (bounded) and writes its peer address into peer. 0 or -errno. */
static int sock_accept_peer(int lfd, char *peer, size_t size)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd;

    if (poll(&pfd, 1, 5000) != 1) {
        return -ETIMEDOUT;
    }
    fd = accept4(lfd, (struct sockaddr *) &sa, &len, SOCK_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    (void) inet_ntop(AF_INET, &sa.sin_addr, peer, (socklen_t) size);
    (void) close(fd);
    return 0;
}

/* ---- 1. TCP between namespaces ---------------------------------------------------------- */

static void test_netns_tcp(void)
{
    struct netns nn;
    struct errbuf eb = {{0}};
    char peer[64] = "";
    int lfd = -1, cfd = -1;

    if (!netns_supported("netns tcp")) {
        return;
    }
    CU_ASSERT_EQUAL_FATAL(netns_setup(&nn, 2, &eb), 0);
    fprintf(stderr, "\n  network %s.0/24: ctl %s, hosts %s %s\n", nn.subnet, nn.ctl.ip,
            nn.hosts[0].ip, nn.hosts[1].ip);
    CU_ASSERT_EQUAL(netns_count_prefix(nn.prefix), 4);

    /* A socket lives in the namespace it was created in: listen in h2, connect from h1. */
    CU_ASSERT_EQUAL(netns_enter(&nn, nn.hosts[1].name, &eb), 0);
    lfd = sock_listen(nn.hosts[1].ip, TCP_PORT);
    CU_ASSERT_TRUE(lfd >= 0);
    CU_ASSERT_EQUAL(netns_enter(&nn, nn.hosts[0].name, &eb), 0);
    cfd = sock_connect(nn.hosts[1].ip, TCP_PORT, 5000);
    CU_ASSERT_TRUE(cfd >= 0);
    CU_ASSERT_EQUAL(sock_accept_peer(lfd, peer, sizeof(peer)), 0);
    CU_ASSERT_STRING_EQUAL(peer, nn.hosts[0].ip);
    if (cfd >= 0) {
        (void) close(cfd);
    }
    /* From ctl, the test's own home during the end-to-end tests. */
    CU_ASSERT_EQUAL(netns_enter_ctl(&nn, &eb), 0);
    cfd = sock_connect(nn.hosts[1].ip, TCP_PORT, 5000);
    CU_ASSERT_TRUE(cfd >= 0);
    CU_ASSERT_EQUAL(sock_accept_peer(lfd, peer, sizeof(peer)), 0);
    CU_ASSERT_STRING_EQUAL(peer, nn.ctl.ip);
    if (cfd >= 0) {
        (void) close(cfd);
    }
    /* Nothing listens on that port in h1: refused, not a timeout (the route exists). */
    CU_ASSERT_EQUAL(sock_connect(nn.hosts[0].ip, TCP_PORT, 5000), -ECONNREFUSED);
    if (lfd >= 0) {
        (void) close(lfd);
    }
    /* `ip netns exec` through the argv builder: host 1 sees its own address on eth0. */
    {
        const char *inner[] = {access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip",
                               "-4",
                               "-o",
                               "addr",
                               "show",
                               NULL};
        const char **argv = netns_exec_argv(nn.hosts[0].name, inner);
        struct proc_spec spec = PROC_SPEC_INIT(argv);
        struct proc_result res = {0};
        char want[64];

        (void) snprintf(want, sizeof(want), "inet %s/24", nn.hosts[0].ip);
        CU_ASSERT_TRUE(proc_run(&spec, &res, &eb) == 0 && res.exit_code == 0);
        CU_ASSERT_TRUE(res.out && strstr(res.out, want) && strstr(res.out, "inet 127.0.0.1/8"));
        (void) snprintf(want, sizeof(want), "inet %s/24", nn.hosts[1].ip);
        CU_ASSERT_TRUE(res.out && !strstr(res.out, want));
        proc_result_done(&res);
        free(argv);
    }
    CU_ASSERT_EQUAL(netns_teardown(&nn), 0);
    CU_ASSERT_EQUAL(netns_count_prefix(nn.prefix), 0);
}

/* ---- 2. a real PostgreSQL under an og-agent in host 1 ----------------------------------- */

struct pgrun {
    struct netns nn;
    char dir[PATH_MAX];
    char url[128];
    struct httpc *http;
    pid_t arbiter;
    pid_t agent;
};

static long api(struct pgrun *p, const char *method, const char *path, const char *body,
                cJSON **ret)
{
    char url[512];
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? "application/json" : NULL,
                                .body = body,
                                .body_len = body ? strlen(body) : 0,
                                .timeout_ms = 5000};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    long status;
    int r;

    (void) snprintf(url, sizeof(url), "%s%s", p->url, path);
    r = httpc_do(p->http, &req, &resp, &eb);
    if (r < 0) {
        return r;
    }
    status = resp.status;
    if (ret) {
        *ret = resp.body && resp.body[0] ? cJSON_Parse(resp.body) : NULL;
    }
    httpc_response_done(&resp);
    return status;
}

static bool wait_status(struct pgrun *p, const char *path, long want, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (int k = 0; k < 100000; k++) {
        if (api(p, "GET", path, NULL, NULL) == want) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(100);
    }
    return false;
}

/* The cluster's state ("" when unknown). */
static void cluster_state(struct pgrun *p, char *state, size_t size)
{
    cJSON *j = NULL;
    const cJSON *s;

    state[0] = '\0';
    if (api(p, "GET", "/api/v1/clusters/default/demo", NULL, &j) == 200) {
        s = cJSON_GetObjectItemCaseSensitive(j, "state");
        (void) str_copy(state, size, cJSON_IsString(s) ? s->valuestring : "");
    }
    cJSON_Delete(j);
}

static bool wait_ready(struct pgrun *p, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char state[64] = "";

    for (int k = 0; k < 100000; k++) {
        cluster_state(p, state, sizeof(state));
        if (str_eq(state, "ready")) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(250);
    }
    fprintf(stderr, "\n  cluster not ready (state '%s')\n", state);
    return false;
}

static int start_processes(struct pgrun *p)
{
    char listen[64], db[PATH_MAX + 16], alog[PATH_MAX + 16], glog[PATH_MAX + 16];
    char root[PATH_MAX + 16], sock[PATH_MAX + 16];
    const char *user = getenv("OG_TEST_PGUSER");
    int r;

    (void) snprintf(listen, sizeof(listen), "%s:%d", p->nn.ctl.ip, ARBITER_PORT);
    (void) snprintf(p->url, sizeof(p->url), "http://%s", listen);
    (void) snprintf(db, sizeof(db), "%s/arbiter.db", p->dir);
    (void) snprintf(alog, sizeof(alog), "%s/arbiter.log", p->dir);
    (void) snprintf(glog, sizeof(glog), "%s/agent.log", p->dir);
    (void) snprintf(root, sizeof(root), "%s/node1", p->dir);
    (void) snprintf(sock, sizeof(sock), "%s/node1.sock", p->dir);
    {
        /* The test is in ctl already: the arbiter inherits it. */
        const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                              "serve",
                              "--listen",
                              listen,
                              "--db",
                              db,
                              "--kube",
                              "none",
                              NULL};
        r = tu_spawn(argv, alog, &p->arbiter);
        if (r < 0) {
            return r;
        }
    }
    {
        const char *argv[] = {OG_BINARY_DIR "/og-agent",
                              "run",
                              "--node",
                              "node1",
                              "--arbiter",
                              p->url,
                              "--root",
                              root,
                              "--socket",
                              sock,
                              "--db-user",
                              user && user[0] ? user : "ogtest",
                              "--bindir",
                              pgserver_bindir(),
                              "--probe-interval",
                              "200ms",
                              NULL};
        r = netns_spawn(p->nn.hosts[0].name, argv, glog, &p->agent);
    }
    return r;
}

static void dump(const char *dir, const char *file)
{
    char path[PATH_MAX + 32];
    char *text;
    size_t len;

    (void) snprintf(path, sizeof(path), "%s/%s", dir, file);
    text = tu_read_file(path);
    len = text ? strlen(text) : 0;
    fprintf(stderr, "\n  ---- %s (tail)\n%s\n", path,
            text ? text + (len > 4000 ? len - 4000 : 0) : "(none)");
    free(text);
}

/* Connects from ctl to host 1's address with the arbiter's credentials. 0 or -errno. */
static int sql_from_ctl(struct pgrun *p, const char *sql, char *out, size_t size)
{
    cJSON *j = NULL;
    const cJSON *u, *pw;
    char conninfo[1024];
    int r = -EIO;

    if (api(p, "GET", "/api/v1/clusters/default/demo/credentials", NULL, &j) == 200) {
        u = cJSON_GetObjectItemCaseSensitive(j, "user");
        pw = cJSON_GetObjectItemCaseSensitive(j, "password");
        if (cJSON_IsString(u) && cJSON_IsString(pw)) {
            /* Generated credentials: letters, digits and a few safe symbols, no quotes. */
            (void) snprintf(conninfo, sizeof(conninfo),
                            "host=%s port=%d dbname=postgres connect_timeout=5 user='%s' "
                            "password='%s'",
                            p->nn.hosts[0].ip, DB_PORT, u->valuestring, pw->valuestring);
            r = tu_pg_exec(conninfo, sql, out, size);
        }
    }
    cJSON_Delete(j);
    return r;
}

static void pgrun_teardown(struct pgrun *p)
{
    if (p->agent > 0) {
        (void) tu_kill_wait(p->agent, SIGTERM, 10000);
        p->agent = -1;
    }
    if (p->arbiter > 0) {
        (void) tu_kill_wait(p->arbiter, SIGTERM, 5000);
        p->arbiter = -1;
    }
    httpc_free(p->http);
    p->http = NULL;
    /* Kills whatever is left inside (the postmaster and its children) before deleting. */
    CU_ASSERT_EQUAL(netns_teardown(&p->nn), 0);
    if (p->dir[0] && !getenv("OG_TEST_KEEP")) {
        (void) tu_rmtree(p->dir);
    }
}

static void test_netns_postgres(void)
{
    static struct pgrun p;
    struct httpc_options opt = {.connect_timeout_ms = 2000, .timeout_ms = 10000};
    struct errbuf eb = {{0}};
    char spec[1024], out[256] = "";
    uint64_t t0;
    long status;

    if (!netns_supported("netns postgres")) {
        return;
    }
    memset(&p, 0, sizeof(p));
    p.agent = p.arbiter = -1;
    alarm(300);
    CU_ASSERT_EQUAL_FATAL(tu_mkdtemp(p.dir, sizeof(p.dir)), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(p.dir, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(netns_setup(&p.nn, 1, &eb), 0);
    CU_ASSERT_EQUAL(netns_own_dir(&p.nn, p.dir), 0);
    /* Before any thread exists (libcurl, libpq), so everything after lives in ctl. */
    CU_ASSERT_EQUAL_FATAL(netns_enter_ctl(&p.nn, &eb), 0);
    p.http = httpc_new(&opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p.http);
    CU_ASSERT_EQUAL(start_processes(&p), 0);
    CU_ASSERT_TRUE(wait_status(&p, "/readyz", 200, 20000));
    (void) snprintf(spec, sizeof(spec),
                    "{\"dbport\":%d,\"readport\":30001,\"writeport\":30002,\"image\":\"pg\","
                    "\"storage\":\"1Gi\",\"iplist\":[{\"ip\":\"%s\",\"nodename\":\"node1\"}],"
                    "\"ha\":{\"syncreplicas\":0}}",
                    DB_PORT, p.nn.hosts[0].ip);
    status = api(&p, "PUT", "/api/v1/clusters/default/demo", spec, NULL);
    CU_ASSERT_TRUE(status == 200 || status == 201);
    t0 = tu_now_ms();
    CU_ASSERT_TRUE(wait_ready(&p, READY_MS));
    fprintf(stderr, "\n  one-member cluster ready after %llu ms\n",
            (unsigned long long) (tu_now_ms() - t0));
    /* The server answers on host 1's address, from ctl, over the bridge. */
    CU_ASSERT_EQUAL(sql_from_ctl(&p, "SELECT host(inet_server_addr())", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, p.nn.hosts[0].ip);
    CU_ASSERT_EQUAL(sql_from_ctl(&p, "SELECT host(inet_client_addr())", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, p.nn.ctl.ip);
    /* The postmaster runs inside host 1's namespace, with the agent. */
    CU_ASSERT_TRUE(netns_pid_count(p.nn.hosts[0].name) >= 3);
    if (CU_get_number_of_failures() > 0) {
        dump(p.dir, "arbiter.log");
        dump(p.dir, "agent.log");
    }
    pgrun_teardown(&p);
    CU_ASSERT_EQUAL(netns_count_prefix(p.nn.prefix), 0);
    alarm(0);
}

/* ---- 3. nothing left behind ------------------------------------------------------------- */

/* True when `ip netns list` names no namespace starting with prefix. */
static bool ip_list_clean(const char *prefix)
{
    const char *argv[] = {"/usr/sbin/ip", "netns", "list", NULL};
    struct proc_spec spec = PROC_SPEC_INIT(argv);
    struct proc_result res = {0};
    struct errbuf eb = {{0}};
    bool clean;

    if (access(argv[0], X_OK) != 0) {
        argv[0] = "/sbin/ip";
    }
    clean = proc_run(&spec, &res, &eb) == 0 && res.exit_code == 0;
    for (const char *at = res.out; clean && at && (at = strstr(at, prefix)) != NULL; at++) {
        char next = at[strlen(prefix)];
        clean = next >= '0' && next <= '9'; /* another run's og<longer pid> */
    }
    if (!clean) {
        fprintf(stderr, "\n  ip netns list: %s\n", res.out ? res.out : eb.msg);
    }
    proc_result_done(&res);
    return clean;
}

static bool dir_gone(void *arg)
{
    return access(arg, F_OK) != 0;
}

static bool prefix_gone(void *arg)
{
    return netns_count_prefix(arg) == 0;
}

static void test_netns_cleanup(void)
{
    struct netns nn;
    struct errbuf eb = {{0}};
    const char *sleeper[] = {"/bin/sleep", "300", NULL};
    char prefix[24], dir[PATH_MAX];
    pid_t child, inside = -1;
    int p[2];
    char c = 0;

    if (!netns_supported("netns cleanup")) {
        return;
    }
    /* Normal teardown: a process left inside is killed, nothing is left. */
    CU_ASSERT_EQUAL_FATAL(netns_setup(&nn, 3, &eb), 0);
    CU_ASSERT_EQUAL(netns_spawn(nn.hosts[2].name, sleeper, NULL, &inside), 0);
    CU_ASSERT_EQUAL(netns_pid_count(nn.hosts[2].name), 1);
    CU_ASSERT_EQUAL(netns_teardown(&nn), 0);
    CU_ASSERT_EQUAL(tu_wait_exit(inside, 5000, NULL), 0);
    CU_ASSERT_EQUAL(netns_count_prefix(nn.prefix), 0);
    CU_ASSERT_TRUE(ip_list_clean(nn.prefix));
    CU_ASSERT_EQUAL(netns_teardown(&nn), 0); /* idempotent */

    /* A run killed with SIGKILL: its watchdog removes its namespaces and its directory. */
    CU_ASSERT_EQUAL_FATAL(tu_mkdtemp(dir, sizeof(dir)), 0);
    CU_ASSERT_EQUAL_FATAL(pipe2(p, O_CLOEXEC), 0);
    child = fork();
    CU_ASSERT_TRUE_FATAL(child >= 0);
    if (child == 0) {
        (void) close(p[0]);
        if (netns_setup(&nn, 2, &eb) == 0 && netns_own_dir(&nn, dir) == 0) {
            (void) !write(p[1], "k", 1);
        }
        tu_sleep_ms(60000); /* killed long before */
        _exit(1);
    }
    (void) close(p[1]);
    CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
    (void) close(p[0]);
    (void) snprintf(prefix, sizeof(prefix), "og%d", (int) child);
    CU_ASSERT_EQUAL(netns_count_prefix(prefix), 4);
    (void) kill(child, SIGKILL);
    CU_ASSERT_EQUAL(tu_wait_exit(child, 5000, NULL), 0);
    CU_ASSERT_TRUE(tu_wait_until(prefix_gone, prefix, 30000, 100));
    CU_ASSERT_TRUE(ip_list_clean(prefix));
    CU_ASSERT_TRUE(tu_wait_until(dir_gone, dir, 10000, 100));

    /* A namespace of a dead run, without a watchdog (as after a reboot of the watchdog). */
    {
        const char *args[] = {"/usr/sbin/ip", "netns", "add", NULL, NULL};
        struct proc_spec spec = PROC_SPEC_INIT(args);
        struct proc_result res = {0};
        char stale[32];

        (void) snprintf(stale, sizeof(stale), "og%dh1", (int) child); /* reaped above */
        args[3] = stale;
        if (access(args[0], X_OK) != 0) {
            args[0] = "/sbin/ip";
        }
        CU_ASSERT_TRUE(proc_run(&spec, &res, &eb) == 0 && res.exit_code == 0);
        proc_result_done(&res);
        CU_ASSERT_EQUAL(netns_count_prefix(prefix), 1);
        CU_ASSERT_TRUE(netns_clean_stale() >= 1);
        CU_ASSERT_EQUAL(netns_count_prefix(prefix), 0);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"tcp between host and ctl namespaces", test_netns_tcp},
            {"postgres under an agent on a 10.x address", test_netns_postgres},
            {"teardown, watchdog and stale cleanup", test_netns_cleanup},
            CU_TEST_INFO_NULL,
    };

    return cu_run("netns", tests);
}

/*
 * tests/support/e2e.c
 *
 * The end-to-end harness: a real arbiter, real agents and real PostgreSQL on loopback, with
 * a writer thread, a two-primaries watcher, freeze/thaw and a cleanup that always runs (see
 * e2e.h). libpq is driven asynchronously so that every statement is bounded on the client
 * side: a SIGSTOPped server accepts TCP connections but never answers.
 *
 * Layer: edge (test support).
 */
#include "tests/support/e2e.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/httpc.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

#define E2E_THREAD_MAX_MS (15 * 60 * 1000)
#define E2E_MAX_OBS       20000

static int e2e_start_watchdog(struct e2e *e)
{
    return tu_dir_watchdog_start(e->tmpdir, &e->watchdog_fd, &e->watchdog_pid);
}

/* ---- libpq, bounded on the client side ----------------------------------------------------- */

/* Waits until conn's socket is readable (or writable); 0, -ETIMEDOUT or -EIO. */
static int e2e_pq_wait(PGconn *conn, bool write, uint64_t deadline_ms)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = write ? POLLOUT : POLLIN};
    uint64_t now = tu_now_ms();
    int r;

    if (pfd.fd < 0) {
        return -EIO;
    }
    if (now >= deadline_ms) {
        return -ETIMEDOUT;
    }
    r = poll(&pfd, 1, (int) (deadline_ms - now));
    if (r == 0) {
        return -ETIMEDOUT;
    }
    return r < 0 && errno != EINTR ? -EIO : 0;
}

/* libpq notices: NOTICEs are noise here; warnings (e.g. a commit not replicated) are kept. */
static void e2e_pq_notice(void *arg, const char *message)
{
    (void) arg;
    if (!str_has_prefix(message, "NOTICE:")) {
        fprintf(stderr, "  libpq: %s", message);
    }
}

/* Connects with conninfo before deadline_ms. 0 and *ret, or -ETIMEDOUT/-ECONNREFUSED. */
static int e2e_pq_connect(const char *conninfo, uint64_t deadline_ms, PGconn **ret)
{
    PGconn *conn = PQconnectStart(conninfo);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int r = -ECONNREFUSED;

    if (!conn || PQstatus(conn) == CONNECTION_BAD) {
        goto fail;
    }
    for (int k = 0; k < 100000; k++) {
        if (st == PGRES_POLLING_OK) {
            (void) PQsetNoticeProcessor(conn, e2e_pq_notice, NULL);
            *ret = conn;
            return 0;
        }
        if (st == PGRES_POLLING_FAILED) {
            r = -ECONNREFUSED;
            goto fail;
        }
        r = e2e_pq_wait(conn, st == PGRES_POLLING_WRITING, deadline_ms);
        if (r < 0) {
            goto fail;
        }
        st = PQconnectPoll(conn);
    }
    r = -ETIMEDOUT;
fail:
    PQfinish(conn);
    return r;
}

/*
 * Runs sql (params may be NULL) on conn before deadline_ms; the first value of the last
 * result into out. 0, -ETIMEDOUT (conn is then unusable), -EIO (message in out).
 */
static int e2e_pq_query(PGconn *conn, const char *sql, char *out, size_t size, uint64_t deadline_ms)
{
    PGresult *res;
    int r = 0;

    if (out && size) {
        out[0] = '\0';
    }
    if (!PQsendQuery(conn, sql)) {
        if (out) {
            (void) str_copy(out, size, PQerrorMessage(conn));
        }
        return -EIO;
    }
    for (int k = 0; k < 100000; k++) {
        int f = PQflush(conn);
        if (f == 0) {
            break;
        }
        if (f < 0 || e2e_pq_wait(conn, true, deadline_ms) < 0) {
            return -ETIMEDOUT;
        }
    }
    for (int k = 0; k < 100000; k++) {
        while (PQisBusy(conn)) {
            int w = e2e_pq_wait(conn, false, deadline_ms);
            if (w < 0) {
                return -ETIMEDOUT;
            }
            if (!PQconsumeInput(conn)) {
                if (out) {
                    (void) str_copy(out, size, PQerrorMessage(conn));
                }
                return -EIO;
            }
        }
        res = PQgetResult(conn);
        if (!res) {
            break;
        }
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            if (out) {
                (void) str_copy(out, size, PQresultErrorMessage(res));
            }
            r = -EIO;
        } else if (r == 0 && out && PQntuples(res) > 0 && PQnfields(res) > 0) {
            (void) str_copy(out, size, PQgetvalue(res, 0, 0));
        }
        PQclear(res);
    }
    return r;
}

static int e2e_pq_exec(const char *conninfo, const char *sql, char *out, size_t size,
                       uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    PGconn *conn = NULL;
    int r = e2e_pq_connect(conninfo, deadline, &conn);

    if (r < 0) {
        if (out && size) {
            (void) snprintf(out, size, "connect: %s", r == -ETIMEDOUT ? "timeout" : "refused");
        }
        return r;
    }
    r = e2e_pq_query(conn, sql, out, size, deadline);
    PQfinish(conn);
    return r;
}

/* Appends a conninfo value in single quotes with ' and \ escaped. */
static void e2e_quote(char *buf, size_t size, const char *value)
{
    size_t n = strlen(buf);

    if (n + 1 < size) {
        buf[n++] = '\'';
    }
    for (const char *p = value; *p && n + 3 < size; p++) {
        if (*p == '\'' || *p == '\\') {
            buf[n++] = '\\';
        }
        buf[n++] = *p;
    }
    if (n + 1 < size) {
        buf[n++] = '\'';
    }
    buf[n] = '\0';
}

/* ---- processes ----------------------------------------------------------------------------- */

static void e2e_node_init(struct e2e *e, int i)
{
    struct e2e_node *nd = &e->nodes[i];
    char dir[PATH_MAX];

    (void) str_copy(dir, sizeof(dir), e->tmpdir);
    char name[16];

    (void) snprintf(name, sizeof(name), "node%d", i + 1);
    (void) str_copy(nd->name, sizeof(nd->name), name);
    (void) snprintf(nd->ip, sizeof(nd->ip), "127.0.0.%d", i + 1);
    (void) snprintf(nd->root, sizeof(nd->root), "%s/%s", dir, name);
    (void) snprintf(nd->sock, sizeof(nd->sock), "%s/%s.sock", dir, name);
    (void) snprintf(nd->log, sizeof(nd->log), "%s/agent-%s.log", dir, name);
    nd->agent_pid = -1;
}

int e2e_arbiter_start(struct e2e *e)
{
    char log_path[PATH_MAX + 32];
    const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                          "serve",
                          "--listen",
                          e->listen,
                          "--db",
                          e->db,
                          "--kube",
                          "none",
                          NULL};
    uint64_t deadline;
    int r;

    (void) snprintf(log_path, sizeof(log_path), "%s/arbiter%d.log", e->tmpdir, ++e->arbiter_runs);
    r = tu_spawn(argv, log_path, &e->arbiter_pid);
    if (r < 0) {
        return r;
    }
    tu_dir_watchdog_add(e->watchdog_fd, e->arbiter_pid);
    deadline = tu_now_ms() + 20000;
    for (int k = 0; k < 1000; k++) {
        if (e2e_api(e, "GET", "/readyz", NULL, NULL) == 200) {
            return 0;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(50);
    }
    fprintf(stderr, "e2e: arbiter not ready on %s\n", e->url);
    return -ETIMEDOUT;
}

int e2e_arbiter_kill(struct e2e *e)
{
    int r;

    if (e->arbiter_pid <= 0) {
        return 0;
    }
    r = tu_kill_wait(e->arbiter_pid, SIGKILL, 5000);
    e->arbiter_pid = -1;
    return r;
}

int e2e_agent_start(struct e2e *e, int i)
{
    struct e2e_node *nd = &e->nodes[i];
    const char *user = getenv("OG_TEST_PGUSER");
    const char *argv[] = {OG_BINARY_DIR "/og-agent",
                          "run",
                          "--node",
                          nd->name,
                          "--arbiter",
                          e->url,
                          "--root",
                          nd->root,
                          "--socket",
                          nd->sock,
                          "--db-user",
                          user && user[0] ? user : "ogtest",
                          "--bindir",
                          pgserver_bindir(),
                          "--probe-interval",
                          "200ms",
                          NULL};
    int r = tu_spawn(argv, nd->log, &nd->agent_pid);

    if (r < 0) {
        nd->agent_pid = -1;
        return r;
    }
    tu_dir_watchdog_add(e->watchdog_fd, nd->agent_pid);
    return 0;
}

int e2e_kill_agent(struct e2e *e, int i)
{
    struct e2e_node *nd = &e->nodes[i];
    int r;

    if (nd->agent_pid <= 0) {
        return 0;
    }
    (void) kill(nd->agent_pid, SIGCONT);
    r = tu_kill_wait(nd->agent_pid, SIGKILL, 5000);
    nd->agent_pid = -1;
    return r;
}

int e2e_freeze_agent(struct e2e *e, int i)
{
    return e->nodes[i].agent_pid > 0 && kill(e->nodes[i].agent_pid, SIGSTOP) == 0 ? 0 : -ESRCH;
}

int e2e_thaw_agent(struct e2e *e, int i)
{
    return e->nodes[i].agent_pid > 0 && kill(e->nodes[i].agent_pid, SIGCONT) == 0 ? 0 : -ESRCH;
}

static void e2e_member_dir(const struct e2e *e, int i, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s/default/demo/%s", e->nodes[i].root, e->nodes[i].member);
}

pid_t e2e_postmaster_pid(const struct e2e *e, int i)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    char *text;
    uint32_t pid = 0;

    if (!e->nodes[i].member[0]) {
        return 0;
    }
    e2e_member_dir(e, i, dir, sizeof(dir));
    (void) snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
    text = tu_read_file(path);
    if (!text) {
        return 0;
    }
    text[strcspn(text, "\n")] = '\0';
    if (str_to_u32(text, 2, INT32_MAX, &pid) < 0) {
        pid = 0;
    }
    free(text);
    return (pid_t) pid;
}

size_t e2e_member_pids(const struct e2e *e, int i, pid_t *ret, size_t max)
{
    char dir[PATH_MAX];
    size_t dlen, n = 0;
    DIR *d;
    struct dirent *de;

    if (!e->nodes[i].member[0]) {
        return 0;
    }
    e2e_member_dir(e, i, dir, sizeof(dir));
    dlen = strlen(dir);
    d = opendir("/proc");
    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        char link[64], cwd[PATH_MAX];
        uint32_t pid;
        ssize_t len;

        if (str_to_u32(de->d_name, 2, INT32_MAX, &pid) < 0) {
            continue;
        }
        (void) snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
        len = readlink(link, cwd, sizeof(cwd) - 1);
        if (len <= 0) {
            continue;
        }
        cwd[len] = '\0';
        if (strncmp(cwd, dir, dlen) == 0 && (cwd[dlen] == '/' || cwd[dlen] == '\0')) {
            ret[n++] = (pid_t) pid;
        }
    }
    closedir(d);
    return n;
}

static int e2e_signal_member(struct e2e *e, int i, int sig)
{
    pid_t pm = e2e_postmaster_pid(e, i);
    pid_t pids[256];
    size_t n;

    if (pm > 0) {
        (void) kill(pm, sig);
    }
    /* Twice: a child forked just before the postmaster stopped is caught the second time. */
    for (int round = 0; round < 2; round++) {
        n = e2e_member_pids(e, i, pids, 256);
        for (size_t k = 0; k < n; k++) {
            (void) kill(pids[k], sig);
        }
    }
    return pm > 0 ? 0 : -ESRCH;
}

int e2e_freeze_instance(struct e2e *e, int i)
{
    return e2e_signal_member(e, i, SIGSTOP);
}

int e2e_thaw_instance(struct e2e *e, int i)
{
    return e2e_signal_member(e, i, SIGCONT);
}

int e2e_kill_postmaster(struct e2e *e, int i)
{
    pid_t pm = e2e_postmaster_pid(e, i);

    if (pm <= 0) {
        return -ESRCH;
    }
    return kill(pm, SIGKILL) == 0 ? 0 : -errno;
}

void e2e_kill_instance(struct e2e *e, int i)
{
    (void) e2e_signal_member(e, i, SIGKILL);
}

/* ---- the API ------------------------------------------------------------------------------- */

long e2e_api(struct e2e *e, const char *method, const char *path, const char *body, cJSON **ret)
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

    (void) snprintf(url, sizeof(url), "%s%s", e->url, path);
    if (ret) {
        *ret = NULL;
    }
    r = httpc_do(e->http, &req, &resp, &eb);
    if (r < 0) {
        return r;
    }
    status = resp.status;
    if (ret && resp.body && resp.body[0]) {
        *ret = cJSON_Parse(resp.body);
    }
    httpc_response_done(&resp);
    return status;
}

cJSON *e2e_cluster(struct e2e *e)
{
    cJSON *j = NULL;

    if (e2e_api(e, "GET", "/api/v1/clusters/default/demo", NULL, &j) != 200) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int e2e_cluster_summary(struct e2e *e, char *state, size_t state_size, char *primary,
                        size_t primary_size, uint64_t *ret_epoch)
{
    cJSON *j = e2e_cluster(e);
    const cJSON *s, *p, *ep;

    if (!j) {
        return -EIO;
    }
    s = cJSON_GetObjectItemCaseSensitive(j, "state");
    p = cJSON_GetObjectItemCaseSensitive(j, "primary");
    ep = cJSON_GetObjectItemCaseSensitive(j, "epoch");
    if (state) {
        (void) str_copy(state, state_size, cJSON_IsString(s) ? s->valuestring : "");
    }
    if (primary) {
        (void) str_copy(primary, primary_size, cJSON_IsString(p) ? p->valuestring : "");
    }
    if (ret_epoch) {
        *ret_epoch = cJSON_IsNumber(ep) ? (uint64_t) ep->valuedouble : 0;
    }
    cJSON_Delete(j);
    return 0;
}

bool e2e_wait_ready(struct e2e *e, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char state[64] = "";

    for (int k = 0; k < 100000; k++) {
        if (e2e_cluster_summary(e, state, sizeof(state), NULL, 0, NULL) == 0 &&
            str_eq(state, "ready")) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(200);
    }
    fprintf(stderr, "\n  e2e: cluster not ready after %llu ms (state '%s')\n",
            (unsigned long long) timeout_ms, state);
    return false;
}

static int e2e_node_of_member(const struct e2e *e, const char *member)
{
    for (int i = 0; i < e->n; i++) {
        if (member && member[0] && str_eq(e->nodes[i].member, member)) {
            return i;
        }
    }
    return -1;
}

int e2e_primary(struct e2e *e)
{
    char primary[64] = "";

    if (e2e_cluster_summary(e, NULL, 0, primary, sizeof(primary), NULL) < 0) {
        return -1;
    }
    return e2e_node_of_member(e, primary);
}

int e2e_wait_new_primary(struct e2e *e, int old, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (int k = 0; k < 100000; k++) {
        int p = e2e_primary(e);
        if (p >= 0 && p != old) {
            return p;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(100);
    }
    return -1;
}

int e2e_member_status(struct e2e *e, int i, char *role, size_t role_size, char *state,
                      size_t state_size)
{
    cJSON *j = e2e_cluster(e);
    const cJSON *m;
    int r = -ENOENT;

    if (!j) {
        return -EIO;
    }
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "members"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        const cJSON *ro = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "state");

        if (cJSON_IsString(name) && str_eq(name->valuestring, e->nodes[i].member)) {
            (void) str_copy(role, role_size, cJSON_IsString(ro) ? ro->valuestring : "");
            (void) str_copy(state, state_size, cJSON_IsString(st) ? st->valuestring : "");
            r = 0;
        }
    }
    cJSON_Delete(j);
    return r;
}

bool e2e_wait_member(struct e2e *e, int i, const char *role, const char *state, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char ro[32] = "", st[32] = "";

    for (int k = 0; k < 100000; k++) {
        if (e2e_member_status(e, i, ro, sizeof(ro), st, sizeof(st)) == 0 && str_eq(ro, role) &&
            str_eq(st, state)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(200);
    }
    fprintf(stderr, "\n  e2e: %s is %s/%s, want %s/%s after %llu ms\n", e->nodes[i].member, ro, st,
            role, state, (unsigned long long) timeout_ms);
    return false;
}

/* Maps members to nodes and builds their conninfo. 0 or -errno. */
static int e2e_map_members(struct e2e *e)
{
    cJSON *j = e2e_cluster(e);
    const cJSON *members, *m;
    int found = 0;

    if (!j) {
        return -EIO;
    }
    members = cJSON_GetObjectItemCaseSensitive(j, "members");
    cJSON_ArrayForEach(m, members)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(m, "node");

        if (!cJSON_IsString(name) || !cJSON_IsString(node)) {
            continue;
        }
        for (int i = 0; i < e->n; i++) {
            struct e2e_node *nd = &e->nodes[i];
            if (!str_eq(nd->name, node->valuestring)) {
                continue;
            }
            char ip[16];

            (void) str_copy(ip, sizeof(ip), nd->ip);
            (void) str_copy(nd->member, sizeof(nd->member), name->valuestring);
            (void) snprintf(nd->conninfo, sizeof(nd->conninfo),
                            "host=%s port=%u dbname=postgres connect_timeout=2 user=", ip,
                            e->dbport);
            e2e_quote(nd->conninfo, sizeof(nd->conninfo), e->user);
            (void) str_copy(nd->conninfo + strlen(nd->conninfo),
                            sizeof(nd->conninfo) - strlen(nd->conninfo), " password=");
            e2e_quote(nd->conninfo, sizeof(nd->conninfo), e->password);
            found++;
        }
    }
    cJSON_Delete(j);
    return found == e->n ? 0 : -ENOENT;
}

static int e2e_fetch_credentials(struct e2e *e)
{
    cJSON *j = NULL;
    const cJSON *u, *p;
    int r = -EIO;

    if (e2e_api(e, "GET", "/api/v1/clusters/default/demo/credentials", NULL, &j) == 200) {
        u = cJSON_GetObjectItemCaseSensitive(j, "user");
        p = cJSON_GetObjectItemCaseSensitive(j, "password");
        if (cJSON_IsString(u) && cJSON_IsString(p)) {
            (void) str_copy(e->user, sizeof(e->user), u->valuestring);
            (void) str_copy(e->password, sizeof(e->password), p->valuestring);
            r = 0;
        }
    }
    cJSON_Delete(j);
    return r;
}

/* True when port can be bound on ip (TCP). */
static bool e2e_port_free(const char *ip, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        if (fd >= 0) {
            (void) close(fd);
        }
        return false;
    }
    ok = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
    (void) close(fd);
    return ok;
}

/* A port free on every node's address. */
static int e2e_pick_dbport(struct e2e *e)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        uint16_t port = 0;
        bool ok = true;
        int r = tu_free_port(e->nodes[0].ip, &port);

        if (r < 0) {
            return r;
        }
        for (int i = 0; i < e->n && ok; i++) {
            ok = e2e_port_free(e->nodes[i].ip, port);
        }
        if (ok && port > 1024) {
            e->dbport = port;
            return 0;
        }
    }
    return -EADDRINUSE;
}

int e2e_setup(struct e2e *e, int n, const char *ha_json, uint64_t ready_timeout_ms,
              unsigned alarm_s)
{
    struct httpc_options opt = {.connect_timeout_ms = 2000, .timeout_ms = 10000};
    char spec[2048];
    char iplist[512] = "";
    uint16_t aport = 0;
    long status;
    int r;

    memset(e, 0, sizeof(*e));
    e->watchdog_fd = -1;
    e->arbiter_pid = -1;
    e->n = n > E2E_MAX_NODES ? E2E_MAX_NODES : n;
    (void) signal(SIGPIPE, SIG_IGN);
    alarm(alarm_s);
    if (tu_mkdtemp(e->tmpdir, sizeof(e->tmpdir)) < 0 || chmod(e->tmpdir, 0755) < 0) {
        fprintf(stderr, "e2e_setup: no temporary directory\n");
        return -EIO;
    }
    r = e2e_start_watchdog(e);
    if (r < 0) {
        return r;
    }
    e->http = httpc_new(&opt);
    if (!e->http) {
        return -ENOMEM;
    }
    r = tu_free_port("127.0.0.1", &aport);
    if (r < 0) {
        return r;
    }
    (void) snprintf(e->listen, sizeof(e->listen), "127.0.0.1:%u", aport);
    (void) snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%u", aport);
    (void) snprintf(e->db, sizeof(e->db), "%s/arbiter.db", e->tmpdir);
    for (int i = 0; i < e->n; i++) {
        e2e_node_init(e, i);
    }
    r = e2e_pick_dbport(e);
    if (r < 0) {
        return r;
    }
    r = e2e_arbiter_start(e);
    if (r < 0) {
        return r;
    }
    for (int i = 0; i < e->n; i++) {
        size_t len = strlen(iplist);
        r = e2e_agent_start(e, i);
        if (r < 0) {
            fprintf(stderr, "e2e_setup: agent %d: %s\n", i, strerror(-r));
            return r;
        }
        (void) snprintf(iplist + len, sizeof(iplist) - len, "%s{\"ip\":\"%s\",\"nodename\":\"%s\"}",
                        i ? "," : "", e->nodes[i].ip, e->nodes[i].name);
    }
    (void) snprintf(spec, sizeof(spec),
                    "{\"dbport\":%u,\"readport\":30001,\"writeport\":30002,"
                    "\"image\":\"opengauss:5.0\",\"storage\":\"1Gi\",\"iplist\":[%s],\"ha\":%s}",
                    e->dbport, iplist,
                    ha_json ? ha_json
                            : "{\"syncreplicas\":1,\"restartlimit\":3,\"restartwindow\":60,"
                              "\"losttimeout\":5}");
    status = e2e_api(e, "PUT", "/api/v1/clusters/default/demo", spec, NULL);
    if (status != 201 && status != 200) {
        fprintf(stderr, "e2e_setup: PUT cluster: %ld\n%s\n", status, spec);
        return -EIO;
    }
    if (!e2e_wait_ready(e, ready_timeout_ms)) {
        return -ETIMEDOUT;
    }
    r = e2e_fetch_credentials(e);
    if (r < 0) {
        fprintf(stderr, "e2e_setup: no credentials\n");
        return r;
    }
    r = e2e_map_members(e);
    if (r < 0) {
        fprintf(stderr, "e2e_setup: members not mapped to nodes\n");
        return r;
    }
    return e2e_wait_sync(e, ready_timeout_ms) ? 0 : -ETIMEDOUT;
}

/* ---- SQL on members ------------------------------------------------------------------------ */

int e2e_sql(struct e2e *e, int i, const char *sql, char *out, size_t size, uint64_t timeout_ms)
{
    return e2e_pq_exec(e->nodes[i].conninfo, sql, out, size, timeout_ms);
}

int e2e_is_writable(struct e2e *e, int i, uint64_t timeout_ms)
{
    char out[256] = "";
    int r = e2e_sql(e, i,
                    "SELECT CASE WHEN pg_is_in_recovery() THEN 'r' WHEN "
                    "current_setting('transaction_read_only') = 'off' THEN 'w' ELSE 'o' END",
                    out, sizeof(out), timeout_ms);

    if (r < 0) {
        return r;
    }
    return str_eq(out, "w") ? 1 : str_eq(out, "o") ? 2 : 0;
}

bool e2e_wait_writable(struct e2e *e, int i, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char out[512] = "";

    for (int k = 0; k < 100000; k++) {
        if (e2e_sql(e, i,
                    "CREATE TABLE IF NOT EXISTS e2e_probe (t timestamptz);"
                    "INSERT INTO e2e_probe VALUES (now())",
                    out, sizeof(out), 3000) == 0) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(100);
    }
    fprintf(stderr, "\n  e2e: %s not writable: %s\n", e->nodes[i].member, out);
    return false;
}

bool e2e_wait_sync(struct e2e *e, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char want[16], out[256] = "";

    (void) snprintf(want, sizeof(want), "%d", e->n - 1);
    for (int k = 0; k < 100000; k++) {
        int p = e2e_primary(e);

        if (p >= 0 &&
            e2e_sql(e, p,
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN "
                    "('sync', 'quorum')",
                    out, sizeof(out), 2000) == 0 &&
            str_eq(out, want)) {
            tu_sleep_ms(2500); /* reports (1 s heartbeat) carry it to the arbiter */
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(200);
    }
    fprintf(stderr, "\n  e2e: synchronous standbys: '%s', want %s\n", out, want);
    return false;
}

/* ---- the writer ---------------------------------------------------------------------------- */

struct e2e_writer {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    uint32_t *ids;
    uint32_t n_ids;
    uint32_t next;
    uint64_t interval_ms;
    int n_members;
    int last_good;
    char conninfo[E2E_MAX_NODES][512];
};

/* Connects to the first member (from the last good one on) answering as a writable primary. */
static PGconn *e2e_writer_connect(struct e2e_writer *w)
{
    for (int k = 0; k < w->n_members; k++) {
        int i = (w->last_good + k) % w->n_members;
        PGconn *conn = NULL;
        char out[64] = "";

        if (e2e_pq_connect(w->conninfo[i], tu_now_ms() + 1500, &conn) < 0) {
            continue;
        }
        if (e2e_pq_query(conn,
                         "SELECT CASE WHEN pg_is_in_recovery() OR "
                         "current_setting('transaction_read_only') = 'on' THEN 'r' ELSE 'w' END",
                         out, sizeof(out), tu_now_ms() + 1500) == 0 &&
            str_eq(out, "w")) {
            w->last_good = i;
            return conn;
        }
        PQfinish(conn);
    }
    return NULL;
}

static void *e2e_writer_main(void *arg)
{
    struct e2e_writer *w = arg;
    uint64_t end = tu_now_ms() + E2E_THREAD_MAX_MS;
    PGconn *conn = NULL;
    char out[512];

    while (!atomic_load(&w->stop) && tu_now_ms() < end) {
        char sql[128];
        uint32_t id;

        if (!conn) {
            conn = e2e_writer_connect(w);
            if (!conn) {
                tu_sleep_ms(100);
                continue;
            }
            if (e2e_pq_query(conn,
                             "SET synchronous_commit = on;"
                             "CREATE TABLE IF NOT EXISTS e2e_w (id int PRIMARY KEY)",
                             out, sizeof(out), tu_now_ms() + 3000) < 0) {
                PQfinish(conn);
                conn = NULL;
                tu_sleep_ms(100);
                continue;
            }
        }
        id = ++w->next;
        (void) snprintf(sql, sizeof(sql), "INSERT INTO e2e_w VALUES (%u)", id);
        if (e2e_pq_query(conn, sql, out, sizeof(out), tu_now_ms() + 2000) == 0) {
            pthread_mutex_lock(&w->mu);
            if (w->n_ids < E2E_MAX_IDS) {
                w->ids[w->n_ids++] = id;
            }
            pthread_mutex_unlock(&w->mu);
        } else {
            PQfinish(conn);
            conn = NULL;
        }
        tu_sleep_ms(w->interval_ms);
    }
    PQfinish(conn);
    return NULL;
}

struct e2e_writer *e2e_writer_start(struct e2e *e, uint64_t interval_ms)
{
    struct e2e_writer *w = xcalloc(1, sizeof(*w));

    w->ids = xcalloc(E2E_MAX_IDS, sizeof(*w->ids));
    w->interval_ms = interval_ms;
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->mu, NULL);
    w->n_members = e->n;
    for (int i = 0; i < e->n; i++) {
        (void) str_copy(w->conninfo[i], sizeof(w->conninfo[i]), e->nodes[i].conninfo);
    }
    if (pthread_create(&w->thread, NULL, e2e_writer_main, w) == 0) {
        w->started = true;
    }
    return w;
}

void e2e_writer_stop(struct e2e_writer *w)
{
    if (!w || !w->started) {
        return;
    }
    atomic_store(&w->stop, true);
    (void) pthread_join(w->thread, NULL); /* each step is bounded (3 s) */
    w->started = false;
}

uint32_t e2e_writer_acked(struct e2e_writer *w)
{
    uint32_t n;

    pthread_mutex_lock(&w->mu);
    n = w->n_ids;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int e2e_writer_check(struct e2e *e, struct e2e_writer *w, int i)
{
    uint32_t n = e2e_writer_acked(w);
    size_t size = (size_t) n * 12 + 512;
    char *sql = xmalloc(size);
    char out[512] = "";
    size_t len;
    uint32_t missing = 0;
    int r;

    len = (size_t) snprintf(sql, size,
                            "SELECT count(*)::text || ' ' || coalesce(left(string_agg(a::text, "
                            "',' ORDER BY a), 300), '') FROM unnest('{");
    pthread_mutex_lock(&w->mu);
    for (uint32_t k = 0; k < n; k++) {
        len += (size_t) snprintf(sql + len, size - len, "%s%u", k ? "," : "", w->ids[k]);
    }
    pthread_mutex_unlock(&w->mu);
    (void) snprintf(sql + len, size - len,
                    "}'::int[]) a WHERE NOT EXISTS (SELECT 1 FROM e2e_w w WHERE w.id = a)");
    r = e2e_sql(e, i, sql, out, sizeof(out), 15000);
    free(sql);
    if (r < 0) {
        fprintf(stderr, "\n  e2e: loss check on %s failed: %s\n", e->nodes[i].member, out);
        return r;
    }
    out[strcspn(out, " ")] = '\0';
    if (str_to_u32(out, 0, UINT32_MAX, &missing) < 0) {
        return -EIO;
    }
    if (missing > 0) {
        fprintf(stderr, "\n  e2e: %u of %u acknowledged ids missing on %s: %s\n", missing, n,
                e->nodes[i].member, out + strlen(out) + 1);
    }
    return (int) missing;
}

void e2e_writer_free(struct e2e_writer *w)
{
    if (!w) {
        return;
    }
    e2e_writer_stop(w);
    pthread_mutex_destroy(&w->mu);
    free(w->ids);
    free(w);
}

/* ---- the watcher --------------------------------------------------------------------------- */

struct e2e_obs {
    bool valid, writable;
    uint64_t send_ms, recv_ms;
};

struct e2e_watch;

struct e2e_watch_arg {
    struct e2e_watch *w;
    int i;
};

struct e2e_watch {
    struct e2e *e;
    pthread_t threads[E2E_MAX_NODES];
    bool started[E2E_MAX_NODES];
    struct e2e_watch_arg args[E2E_MAX_NODES];
    atomic_bool stop;
    pthread_mutex_t mu;
    uint64_t interval_ms;
    struct e2e_obs last[E2E_MAX_NODES];
    uint64_t *writable_at[E2E_MAX_NODES]; /* send times of writable answers */
    uint32_t n_writable[E2E_MAX_NODES];
    uint64_t *primary_at[E2E_MAX_NODES]; /* arrival times of "not in recovery" answers */
    uint32_t n_primary[E2E_MAX_NODES];
    int violations;
};

static void *e2e_watch_main(void *arg)
{
    struct e2e_watch_arg *a = arg;
    struct e2e_watch *w = a->w;
    int i = a->i;
    uint64_t end = tu_now_ms() + E2E_THREAD_MAX_MS;

    while (!atomic_load(&w->stop) && tu_now_ms() < end) {
        uint64_t send = tu_now_ms(), recv;
        int r = e2e_is_writable(w->e, i, 1000);

        recv = tu_now_ms();
        pthread_mutex_lock(&w->mu);
        if (r == 1) {
            for (int j = 0; j < w->e->n; j++) {
                const struct e2e_obs *o = &w->last[j];
                if (j != i && o->valid && o->writable && o->recv_ms >= send && o->send_ms <= recv) {
                    w->violations++;
                    fprintf(stderr,
                            "\n  e2e: TWO WRITABLE PRIMARIES: %s [%llu..%llu] and %s "
                            "[%llu..%llu]\n",
                            w->e->nodes[i].member, (unsigned long long) send,
                            (unsigned long long) recv, w->e->nodes[j].member,
                            (unsigned long long) o->send_ms, (unsigned long long) o->recv_ms);
                }
            }
            if (w->n_writable[i] < E2E_MAX_OBS) {
                w->writable_at[i][w->n_writable[i]++] = send;
            }
        }
        if ((r == 1 || r == 2) && w->n_primary[i] < E2E_MAX_OBS) {
            w->primary_at[i][w->n_primary[i]++] = recv;
        }
        if (r >= 0) {
            w->last[i] = (struct e2e_obs){
                    .valid = true, .writable = r == 1, .send_ms = send, .recv_ms = recv};
        }
        pthread_mutex_unlock(&w->mu);
        tu_sleep_ms(w->interval_ms);
    }
    return NULL;
}

struct e2e_watch *e2e_watch_start(struct e2e *e, uint64_t interval_ms)
{
    struct e2e_watch *w = xcalloc(1, sizeof(*w));

    w->e = e;
    w->interval_ms = interval_ms;
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->mu, NULL);
    for (int i = 0; i < e->n; i++) {
        w->writable_at[i] = xcalloc(E2E_MAX_OBS, sizeof(uint64_t));
        w->primary_at[i] = xcalloc(E2E_MAX_OBS, sizeof(uint64_t));
        w->args[i] = (struct e2e_watch_arg){.w = w, .i = i};
        w->started[i] = pthread_create(&w->threads[i], NULL, e2e_watch_main, &w->args[i]) == 0;
    }
    return w;
}

void e2e_watch_stop(struct e2e_watch *w)
{
    if (!w) {
        return;
    }
    atomic_store(&w->stop, true);
    for (int i = 0; i < E2E_MAX_NODES; i++) {
        if (w->started[i]) {
            (void) pthread_join(w->threads[i], NULL); /* each probe is bounded (1 s) */
            w->started[i] = false;
        }
    }
}

int e2e_watch_violations(struct e2e_watch *w)
{
    int n;

    pthread_mutex_lock(&w->mu);
    n = w->violations;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int e2e_watch_writable_since(struct e2e_watch *w, int i, uint64_t since_ms)
{
    int n = 0;

    pthread_mutex_lock(&w->mu);
    for (uint32_t k = 0; k < w->n_writable[i]; k++) {
        n += w->writable_at[i][k] >= since_ms;
    }
    pthread_mutex_unlock(&w->mu);
    return n;
}

int e2e_watch_primary_since(struct e2e_watch *w, int i, uint64_t since_ms)
{
    int n = 0;

    pthread_mutex_lock(&w->mu);
    for (uint32_t k = 0; k < w->n_primary[i]; k++) {
        n += w->primary_at[i][k] >= since_ms;
    }
    pthread_mutex_unlock(&w->mu);
    return n;
}

void e2e_watch_free(struct e2e_watch *w)
{
    if (!w) {
        return;
    }
    e2e_watch_stop(w);
    pthread_mutex_destroy(&w->mu);
    for (int i = 0; i < E2E_MAX_NODES; i++) {
        free(w->writable_at[i]);
        free(w->primary_at[i]);
    }
    free(w);
}

/* ---- logs and teardown --------------------------------------------------------------------- */

static void e2e_dump_file(const char *path)
{
    char *text = tu_read_file(path);
    size_t len = text ? strlen(text) : 0;

    fprintf(stderr, "\n  ---- %s (tail)\n%s\n", path,
            text ? text + (len > 5000 ? len - 5000 : 0) : "(none)");
    free(text);
}

void e2e_dump_logs(const struct e2e *e)
{
    char path[PATH_MAX + 32];

    (void) snprintf(path, sizeof(path), "%s/arbiter%d.log", e->tmpdir, e->arbiter_runs);
    e2e_dump_file(path);
    for (int i = 0; i < e->n; i++) {
        e2e_dump_file(e->nodes[i].log);
    }
}

bool e2e_known_bugs(void)
{
    const char *v = getenv("OG_E2E_KNOWN_BUGS");

    return v && str_eq(v, "1");
}

void e2e_teardown(struct e2e *e)
{
    if (!e->tmpdir[0]) {
        return;
    }
    for (int i = 0; i < e->n; i++) {
        if (e->nodes[i].agent_pid > 0) {
            (void) kill(e->nodes[i].agent_pid, SIGCONT);
            (void) tu_kill_wait(e->nodes[i].agent_pid, SIGTERM, 5000);
            e->nodes[i].agent_pid = -1;
        }
    }
    (void) e2e_arbiter_kill(e);
    tu_sweep_dir(e->tmpdir);
    httpc_free(e->http);
    e->http = NULL;
    if (e->watchdog_fd >= 0) {
        (void) close(e->watchdog_fd);
        e->watchdog_fd = -1;
        (void) tu_wait_exit(e->watchdog_pid, 20000, NULL);
    }
    if (getenv("OG_TEST_KEEP")) {
        fprintf(stderr, "kept %s\n", e->tmpdir);
    } else {
        (void) tu_rmtree(e->tmpdir);
    }
    e->tmpdir[0] = '\0';
}

bool e2e_writer_wait_acked(struct e2e_writer *w, uint32_t above, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (int k = 0; k < 100000; k++) {
        if (e2e_writer_acked(w) > above) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(50);
    }
    fprintf(stderr, "\n  writer stuck at %u acknowledged ids\n", e2e_writer_acked(w));
    return false;
}

bool e2e_cluster_up(struct e2e *e, const char *ha_json, uint64_t ready_timeout_ms)
{
    uint64_t t0;
    bool ok;

    e2e_teardown(e);
    t0 = tu_now_ms();
    ok = e2e_setup(e, 3, ha_json, ready_timeout_ms, 600) == 0;
    fprintf(stderr, "\n  cluster ready: %s after %llu ms\n", ok ? "yes" : "NO",
            (unsigned long long) (tu_now_ms() - t0));
    if (!ok) {
        e2e_dump_logs(e);
    }
    return ok;
}

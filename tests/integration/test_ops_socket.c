/*
 * tests/integration/test_ops_socket.c
 *
 * The agent's ops socket end to end: an ops_server with fake callbacks (which record their
 * calls) runs on a thread of this test, driven by poll and ops_server_handle exactly as the
 * agent's loop drives it, on a socket in a temporary directory; every verb goes through the
 * real og-agent binary (`og-agent ctl --socket ...`). Also: the socket's mode, a peer with a
 * uid that is not allowed (a child that setuid()s to nobody; needs root), silent, oversized
 * and malformed clients, the connection limit, stale and foreign files at the socket path.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/ctl.h"
#include "agent/ops.h"
#include "common/exitcode.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "proto/ops.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define CTL_WAIT_MS    20000 /* longest one og-agent ctl run may take */
#define SERVER_LIFE_MS 300000

extern char **environ;

static char tmpdir[256];
static char sock_path[512];
static struct ops_server *server;
static pthread_t server_thread;
static bool thread_started;
static int stop_pipe[2] = {-1, -1};
static uid_t allowed_uid = 999; /* the ogtest user when it exists, see suite_init */
static gid_t allowed_gid = 999;
static bool have_allowed_user;

/* What the fake supervisor was asked, under a lock: callbacks run on the server thread. */
static struct {
    pthread_mutex_t lock;
    int calls[_PROTO_OPS_OP_MAX];
    char last_member[PROTO_NAME_MAX + 1];
    bool last_on;
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- the fake supervisor ---- */

static void fake_record(enum proto_ops_op op, const char *member, bool on)
{
    pthread_mutex_lock(&fake.lock);
    fake.calls[op]++;
    (void) snprintf(fake.last_member, sizeof(fake.last_member), "%s", member ? member : "");
    fake.last_on = on;
    pthread_mutex_unlock(&fake.lock);
}

static int fake_calls(enum proto_ops_op op)
{
    int n;

    pthread_mutex_lock(&fake.lock);
    n = fake.calls[op];
    pthread_mutex_unlock(&fake.lock);
    return n;
}

static int fake_calls_total(void)
{
    int n = 0;

    for (int op = 0; op < _PROTO_OPS_OP_MAX; op++) {
        n += fake_calls(op);
    }
    return n;
}

static int fake_status(void *data, cJSON **ret_json)
{
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));
    (void) data;

    fake_record(PROTO_OPS_OP_STATUS, NULL, false);
    (void) snprintf(st->node, sizeof(st->node), "node1");
    st->n_instances = 2;
    (void) snprintf(st->instances[0].member, sizeof(st->instances[0].member), "demo-0");
    (void) snprintf(st->instances[0].cluster, sizeof(st->instances[0].cluster), "demo");
    (void) snprintf(st->instances[0].namespace_, sizeof(st->instances[0].namespace_), "default");
    (void) snprintf(st->instances[0].role, sizeof(st->instances[0].role), "primary");
    (void) snprintf(st->instances[0].state, sizeof(st->instances[0].state), "running");
    st->instances[0].pid = 4242;
    st->instances[0].has_lsn = true;
    st->instances[0].lsn = 0x3000060;
    (void) snprintf(st->instances[1].member, sizeof(st->instances[1].member), "demo-1");
    (void) snprintf(st->instances[1].cluster, sizeof(st->instances[1].cluster), "demo");
    (void) snprintf(st->instances[1].role, sizeof(st->instances[1].role), "standby");
    (void) snprintf(st->instances[1].state, sizeof(st->instances[1].state), "failed");
    st->instances[1].restarts = 3;
    (void) snprintf(st->instances[1].last_error, sizeof(st->instances[1].last_error),
                    "exited with code 1");
    *ret_json = proto_ops_status_to_json(st);
    free(st);
    return 0;
}

/* start/stop/restart: "ghost" is not on this node, "busy-0" is being rebuilt. */
static int fake_member_op(enum proto_ops_op op, const char *member, struct errbuf *eb)
{
    fake_record(op, member, false);
    if (strcmp(member, "ghost") == 0) {
        errbuf_set(eb, "no member ghost on this node");
        return -ENOENT;
    }
    if (strcmp(member, "busy-0") == 0) {
        errbuf_set(eb, "busy-0 is rebuilding");
        return -EBUSY;
    }
    if (strcmp(member, "slow-0") == 0) {
        tu_sleep_ms(OPS_SERVER_DEADLINE_MS + 500); /* a gs_ctl that takes its time */
    }
    return 0;
}

static int fake_start(void *data, const char *member, struct errbuf *eb)
{
    (void) data;
    return fake_member_op(PROTO_OPS_OP_START, member, eb);
}

static int fake_stop(void *data, const char *member, struct errbuf *eb)
{
    (void) data;
    return fake_member_op(PROTO_OPS_OP_STOP, member, eb);
}

static int fake_restart(void *data, const char *member, struct errbuf *eb)
{
    (void) data;
    return fake_member_op(PROTO_OPS_OP_RESTART, member, eb);
}

static int fake_backup(void *data, const char *member, cJSON **ret_json, struct errbuf *eb)
{
    struct proto_ops_backup b = {.has_lsn = true, .lsn = 0x3000060, .bytes = 12345};
    int r = fake_member_op(PROTO_OPS_OP_BACKUP, member, eb);

    (void) data;
    if (r == 0) {
        (void) snprintf(b.path, sizeof(b.path), "%s/backup/%s-1", tmpdir, member);
        *ret_json = proto_ops_backup_to_json(&b);
    }
    return r;
}

static int fake_maintenance(void *data, bool on, struct errbuf *eb)
{
    (void) data;
    (void) eb;
    fake_record(PROTO_OPS_OP_MAINTENANCE, NULL, on);
    return 0;
}

static const struct ops_callbacks fake_callbacks = {
        .status = fake_status,
        .start = fake_start,
        .stop = fake_stop,
        .restart = fake_restart,
        .backup = fake_backup,
        .maintenance = fake_maintenance,
        .data = NULL,
};

/* ---- the server thread: the agent loop's part ---- */

static void *server_main(void *arg)
{
    uint64_t end = tu_now_ms() + SERVER_LIFE_MS;
    (void) arg;

    while (tu_now_ms() < end) {
        struct pollfd p[2] = {{.fd = ops_server_fd(server), .events = POLLIN},
                              {.fd = stop_pipe[0], .events = POLLIN}};
        int n = poll(p, 2, 1000);

        if (n < 0 && errno != EINTR) {
            break;
        }
        if (p[1].revents) {
            break;
        }
        if (p[0].revents & POLLIN) {
            ops_server_handle(server, &fake_callbacks);
        }
    }
    return NULL;
}

/* The uid and gid of user name (getpwnam_r: the server thread runs); 0 or -ENOENT. */
static int user_ids(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
    struct passwd pw, *res = NULL;
    char buf[2048];

    if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res) {
        return -ENOENT;
    }
    *ret_uid = pw.pw_uid;
    *ret_gid = pw.pw_gid;
    return 0;
}

static int suite_init(void)
{
    struct errbuf eb = {{0}};

    have_allowed_user = user_ids("ogtest", &allowed_uid, &allowed_gid) == 0;
    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return -1;
    }
    /* "run" does not exist yet: the server creates it 0700. */
    (void) snprintf(sock_path, sizeof(sock_path), "%s/run/ops.sock", tmpdir);
    if (ops_server_open(sock_path, allowed_uid, &server, &eb) < 0) {
        fprintf(stderr, "ops_server_open: %s\n", eb.msg);
        return -1;
    }
    if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
        return -1;
    }
    if (pthread_create(&server_thread, NULL, server_main, NULL) != 0) {
        return -1;
    }
    thread_started = true;
    return 0;
}

static int suite_cleanup(void)
{
    if (thread_started) {
        (void) !write(stop_pipe[1], "x", 1);
        (void) pthread_join(server_thread, NULL);
    }
    ops_server_close(server);
    if (stop_pipe[0] >= 0) {
        (void) close(stop_pipe[0]);
        (void) close(stop_pipe[1]);
    }
    if (tmpdir[0]) {
        (void) tu_rmtree(tmpdir);
    }
    return 0;
}

/* ---- running og-agent ctl ---- */

struct ctl_run {
    int status; /* exit code, or -1 when it could not run */
    char *out;  /* stdout, "" at least */
    char *err;  /* stderr */
    uint64_t elapsed_ms;
};

static void ctl_run_done(struct ctl_run *run)
{
    free(run->out);
    free(run->err);
}

/* The environment without the variables ctl reads, plus extra (may be NULL). */
static char **ctl_env(const char *extra)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n]) {
        n++;
    }
    env = xcalloc(n + 2, sizeof(*env));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "OG_AGENT_SOCKET=", 16) != 0 && /* ALLOW-BANNED: a prefix */
            strncmp(environ[i], "OG_CTL_TIMEOUT=", 15) != 0) {  /* ALLOW-BANNED: a prefix */
            env[k++] = environ[i];
        }
    }
    if (extra) {
        env[k++] = (char *) extra;
    }
    return env;
}

/*
 * Runs og-agent ctl args... (NULL-terminated) with extra_env; captures stdout and stderr in
 * files. The child only calls async-signal-safe functions: this process has threads.
 */
static void run_ctl_env(const char *extra_env, const char *const *args, struct ctl_run *ret)
{
    char out_path[600], err_path[600];
    const char *argv[24] = {OG_BINARY_DIR "/og-agent", "ctl"};
    char **env = ctl_env(extra_env);
    size_t n = 2;
    uint64_t start = tu_now_ms();
    pid_t pid;

    for (size_t i = 0; args[i] && n < 23; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    (void) snprintf(out_path, sizeof(out_path), "%s/ctl.out", tmpdir);
    (void) snprintf(err_path, sizeof(err_path), "%s/ctl.err", tmpdir);
    memset(ret, 0, sizeof(*ret));
    ret->status = -1;
    pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int z = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || z < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(z, 0) < 0) {
            _exit(126);
        }
        execve(argv[0], (char *const *) argv, env);
        _exit(127);
    }
    free(env);
    if (pid > 0 && tu_wait_exit(pid, CTL_WAIT_MS, &ret->status) < 0) {
        (void) tu_kill_wait(pid, SIGKILL, 2000);
        ret->status = -1;
    }
    ret->elapsed_ms = tu_now_ms() - start;
    ret->out = tu_read_file(out_path);
    ret->err = tu_read_file(err_path);
    ret->out = ret->out ? ret->out : xstrdup("");
    ret->err = ret->err ? ret->err : xstrdup("");
}

static void run_ctl(const char *const *args, struct ctl_run *ret)
{
    run_ctl_env(NULL, args, ret);
}

/* The line of text that starts with prefix, copied into buf ("" when none). */
static void find_line(const char *text, const char *prefix, char *buf, size_t size)
{
    const char *p = text;

    buf[0] = '\0';
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0) { /* ALLOW-BANNED: a prefix */
            (void) snprintf(buf, size, "%.*s", (int) len, p);
            return;
        }
        p = nl ? nl + 1 : NULL;
    }
}

/* ---- raw clients ---- */

static int raw_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
        (void) close(fd);
        return -1;
    }
    return fd;
}

/* Reads until end of file or timeout_ms into buf (terminated); returns the length or -1. */
static ssize_t raw_read_all(int fd, char *buf, size_t size, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    size_t len = 0;

    while (len + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = tu_now_ms();
        ssize_t n;

        if (now >= deadline || poll(&p, 1, (int) (deadline - now)) <= 0) {
            return -1;
        }
        n = read(fd, buf + len, size - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    buf[len] = '\0';
    return (ssize_t) len;
}

/* Sends text (len bytes) on a new connection and decodes the answer into *ret. */
static int raw_request(const char *text, size_t len, struct proto_ops_response *ret)
{
    char buf[4096];
    struct errbuf eb = {{0}};
    int fd = raw_connect(sock_path);
    ssize_t n;
    int r;

    if (fd < 0) {
        return -1;
    }
    (void) send(fd, text, len, MSG_NOSIGNAL);
    n = raw_read_all(fd, buf, sizeof(buf), 5000);
    (void) close(fd);
    if (n <= 0) {
        return -1;
    }
    r = proto_ops_response_decode(buf, (size_t) n, ret, &eb);
    if (r < 0) {
        fprintf(stderr, "undecodable answer %s: %s\n", buf, eb.msg);
    }
    return r;
}

/* ---- tests ---- */

static void test_ops_socket_mode(void)
{
    char dir[600];
    struct stat st;

    CU_ASSERT_EQUAL_FATAL(lstat(sock_path, &st), 0);
    CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    (void) snprintf(dir, sizeof(dir), "%s/run", tmpdir);
    CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
}

static void test_ops_status_table(void)
{
    const char *args[] = {"--socket", sock_path, "status", NULL};
    char header[256], row0[256], row1[256];
    struct ctl_run run;
    int before = fake_calls(PROTO_OPS_OP_STATUS);

    run_ctl(args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_EQUAL(fake_calls(PROTO_OPS_OP_STATUS), before + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "Node: node1"));
    find_line(run.out, "MEMBER", header, sizeof(header));
    find_line(run.out, "demo-0", row0, sizeof(row0));
    find_line(run.out, "demo-1", row1, sizeof(row1));
    CU_ASSERT_PTR_NOT_NULL(strstr(header, "CLUSTER"));
    CU_ASSERT_PTR_NOT_NULL(strstr(header, "RESTARTS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(header, "LAST ERROR"));
    CU_ASSERT_PTR_NOT_NULL(strstr(row0, "primary"));
    CU_ASSERT_PTR_NOT_NULL(strstr(row0, "4242"));
    CU_ASSERT_PTR_NOT_NULL(strstr(row0, "0/3000060"));
    CU_ASSERT_PTR_NOT_NULL(strstr(row1, "exited with code 1"));
    /* Aligned columns: each value starts under its header. */
    if (header[0] && row0[0] && row1[0]) {
        CU_ASSERT_EQUAL(strstr(header, "ROLE") - header, strstr(row0, "primary") - row0);
        CU_ASSERT_EQUAL(strstr(header, "ROLE") - header, strstr(row1, "standby") - row1);
        CU_ASSERT_EQUAL(strstr(header, "LAST ERROR") - header, strstr(row1, "exited") - row1);
    }
    CU_ASSERT_STRING_EQUAL(run.err, "");
    if (run.status != EXIT_OK) {
        fprintf(stderr, "\nstdout: %s\nstderr: %s\n", run.out, run.err);
    }
    ctl_run_done(&run);
}

static void test_ops_status_json(void)
{
    const char *args[] = {"status", "--json", "--socket", sock_path, NULL}; /* flags after */
    struct errbuf eb = {{0}};
    struct ctl_run run;
    cJSON *j = NULL;

    run_ctl(args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_EQUAL_FATAL(json_parse_object(run.out, strlen(run.out), 0, &j, &eb), 0);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(j, "instances")), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "node")->valuestring, "node1");
    cJSON_Delete(j);
    ctl_run_done(&run);
}

static void test_ops_socket_from_environment(void)
{
    const char *args[] = {"status", NULL};
    char *env = xasprintf("OG_AGENT_SOCKET=%s", sock_path);
    struct ctl_run run;

    run_ctl_env(env, args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "demo-0"));
    ctl_run_done(&run);
    free(env);
}

/* start, stop, restart reach their callback with the member, and print "ok". */
static void test_ops_member_verbs(void)
{
    static const struct {
        const char *verb;
        enum proto_ops_op op;
    } verbs[] = {{"start", PROTO_OPS_OP_START},
                 {"stop", PROTO_OPS_OP_STOP},
                 {"restart", PROTO_OPS_OP_RESTART}};

    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        const char *args[] = {"--socket", sock_path, verbs[i].verb, "demo-1", NULL};
        char expect[64];
        struct ctl_run run;
        int before = fake_calls(verbs[i].op);

        run_ctl(args, &run);
        CU_ASSERT_EQUAL(run.status, EXIT_OK);
        CU_ASSERT_EQUAL(fake_calls(verbs[i].op), before + 1);
        pthread_mutex_lock(&fake.lock);
        CU_ASSERT_STRING_EQUAL(fake.last_member, "demo-1");
        pthread_mutex_unlock(&fake.lock);
        (void) snprintf(expect, sizeof(expect), "%s demo-1: ok\n", verbs[i].verb);
        CU_ASSERT_STRING_EQUAL(run.out, expect);
        ctl_run_done(&run);
    }
}

static void test_ops_backup(void)
{
    const char *args[] = {"--socket", sock_path, "backup", "demo-0", NULL};
    const char *jargs[] = {"--socket", sock_path, "--json", "backup", "demo-0", NULL};
    struct errbuf eb = {{0}};
    struct ctl_run run;
    cJSON *j = NULL;
    int before = fake_calls(PROTO_OPS_OP_BACKUP);

    run_ctl(args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "backup of demo-0: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "/backup/demo-0-1 (12345 bytes, up to LSN 0/3000060)"));
    ctl_run_done(&run);
    run_ctl(jargs, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_EQUAL_FATAL(json_parse_object(run.out, strlen(run.out), 0, &j, &eb), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "bytes")->valuedouble, 12345.0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "lsn")->valuestring, "0/3000060");
    cJSON_Delete(j);
    ctl_run_done(&run);
    CU_ASSERT_EQUAL(fake_calls(PROTO_OPS_OP_BACKUP), before + 2);
}

static void test_ops_maintenance(void)
{
    const char *on[] = {"--socket", sock_path, "maintenance", "on", NULL};
    const char *off[] = {"--socket", sock_path, "maintenance", "off", NULL};
    struct ctl_run run;
    int before = fake_calls(PROTO_OPS_OP_MAINTENANCE);

    run_ctl(on, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_STRING_EQUAL(run.out, "maintenance mode on\n");
    pthread_mutex_lock(&fake.lock);
    CU_ASSERT_TRUE(fake.last_on);
    pthread_mutex_unlock(&fake.lock);
    ctl_run_done(&run);
    run_ctl(off, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    pthread_mutex_lock(&fake.lock);
    CU_ASSERT_FALSE(fake.last_on);
    pthread_mutex_unlock(&fake.lock);
    ctl_run_done(&run);
    CU_ASSERT_EQUAL(fake_calls(PROTO_OPS_OP_MAINTENANCE), before + 2);
}

/* A failed operation: the agent's message on stderr, EXIT_RUNTIME. */
static void test_ops_failed_op(void)
{
    const char *ghost[] = {"--socket", sock_path, "restart", "ghost", NULL};
    const char *busy[] = {"--socket", sock_path, "stop", "busy-0", NULL};
    struct ctl_run run;

    run_ctl(ghost, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.err, "restart ghost failed: no member ghost on this node "
                                           "(not_found)"));
    CU_ASSERT_STRING_EQUAL(run.out, "");
    ctl_run_done(&run);
    run_ctl(busy, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_RUNTIME);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.err, "busy-0 is rebuilding (busy)"));
    ctl_run_done(&run);
}

/* Usage errors never reach the agent. */
static void test_ops_usage(void)
{
    static const char *const cases[][4] = {
            {"frobnicate", NULL},
            {"restart", NULL},
            {"restart", "Demo_0", NULL},
            {"restart", "demo-0", "demo-1", NULL},
            {"maintenance", "maybe", NULL},
            {"status", "--bogus", NULL},
            {"--timeout", "soon", "status", NULL},
            {NULL},
    };
    int before = fake_calls_total();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[8] = {"--socket", sock_path};
        struct ctl_run run;
        size_t n = 2;

        for (size_t k = 0; k < 4 && cases[i][k]; k++) {
            args[n++] = cases[i][k];
        }
        args[n] = NULL;
        run_ctl(args, &run);
        CU_ASSERT_EQUAL(run.status, EXIT_BAD_ARGS);
        CU_ASSERT_PTR_NOT_NULL(strstr(run.err, "og-agent ctl: "));
        ctl_run_done(&run);
    }
    CU_ASSERT_EQUAL(fake_calls_total(), before);
}

static void test_ops_help(void)
{
    const char *top[] = {"--help", NULL};
    const char *verb[] = {"restart", "--help", NULL};
    struct ctl_run run;

    run_ctl(top, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "maintenance on|off"));
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "--socket PATH"));
    ctl_run_done(&run);
    run_ctl(verb, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.out, "og-agent ctl [OPTIONS] restart MEMBER"));
    ctl_run_done(&run);
}

/* Nobody at the path, or nobody answering in time: EXIT_UNAVAIL. */
static void test_ops_unreachable(void)
{
    char missing[600], mute[600];
    const char *args[] = {"--socket", missing, "status", NULL};
    const char *late[] = {"--socket", mute, "--timeout", "300ms", "status", NULL};
    struct ops_server *quiet = NULL;
    struct errbuf eb = {{0}};
    struct ctl_run run;

    (void) snprintf(missing, sizeof(missing), "%s/none.sock", tmpdir);
    run_ctl(args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_UNAVAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.err, "cannot reach the agent"));
    ctl_run_done(&run);

    /* A server that is never handled: the connection waits in the backlog. */
    (void) snprintf(mute, sizeof(mute), "%s/mute.sock", tmpdir);
    CU_ASSERT_EQUAL_FATAL(ops_server_open(mute, allowed_uid, &quiet, &eb), 0);
    run_ctl(late, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_UNAVAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.err, "no answer from the agent in time"));
    CU_ASSERT(run.elapsed_ms < 5000);
    ctl_run_done(&run);
    ops_server_close(quiet);
}

/* Malformed requests from a raw client are answered with the field at fault. */
static void test_ops_raw_malformed(void)
{
    static const struct {
        const char *text;
        enum proto_ops_code code;
        const char *expect;
    } cases[] = {
            {"hello\n", PROTO_OPS_CODE_BAD_REQUEST, "request: invalid JSON"},
            {"{\"version\":1,\"op\":\"frobnicate\"}\n", PROTO_OPS_CODE_UNKNOWN_OP, "frobnicate"},
            {"{\"version\":1,\"op\":\"restart\"}\n", PROTO_OPS_CODE_BAD_REQUEST, "member: missing"},
            {"{\"version\":1,\"op\":\"restart\",\"member\":\"../x\"}", PROTO_OPS_CODE_BAD_REQUEST,
             "member: expected DNS-1123 label"},
            {"{\"version\":9,\"op\":\"status\"}\n", PROTO_OPS_CODE_BAD_REQUEST, "version"},
    };
    int before = fake_calls_total();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_ops_response resp = {0};
        int fd = raw_connect(sock_path);
        char buf[4096];
        struct errbuf eb = {{0}};
        ssize_t n;

        CU_ASSERT_FATAL(fd >= 0);
        (void) send(fd, cases[i].text, strlen(cases[i].text), MSG_NOSIGNAL);
        (void) shutdown(fd, SHUT_WR); /* the last case has no newline: end of file ends it */
        n = raw_read_all(fd, buf, sizeof(buf), 5000);
        (void) close(fd);
        CU_ASSERT_FATAL(n > 0);
        CU_ASSERT_EQUAL_FATAL(proto_ops_response_decode(buf, (size_t) n, &resp, &eb), 0);
        CU_ASSERT_FALSE(resp.ok);
        CU_ASSERT_EQUAL(resp.code, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(resp.message, cases[i].expect));
        proto_ops_response_done(&resp);
    }
    CU_ASSERT_EQUAL(fake_calls_total(), before);
}

static void test_ops_raw_oversized(void)
{
    size_t len = PROTO_OPS_REQUEST_MAX + 4096;
    char *big = xmalloc(len);
    struct proto_ops_response resp = {0};

    memset(big, 'a', len); /* no newline anywhere */
    CU_ASSERT_EQUAL_FATAL(raw_request(big, len, &resp), 0);
    CU_ASSERT_FALSE(resp.ok);
    CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp.message, "larger than 65536 bytes"));
    proto_ops_response_done(&resp);
    free(big);
}

/*
 * A client that connects and says nothing holds no one up: another request is served at
 * once, and the silent one is answered "timeout" and closed at its deadline.
 */
static void test_ops_silent_client(void)
{
    const char *args[] = {"--socket", sock_path, "status", NULL};
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};
    struct ctl_run run;
    uint64_t start = tu_now_ms();
    int fd = raw_connect(sock_path);
    char buf[1024];
    ssize_t n;

    CU_ASSERT_FATAL(fd >= 0);
    run_ctl(args, &run);
    CU_ASSERT_EQUAL(run.status, EXIT_OK);
    CU_ASSERT(tu_now_ms() - start < OPS_SERVER_DEADLINE_MS); /* not after the silent one */
    ctl_run_done(&run);
    n = raw_read_all(fd, buf, sizeof(buf), OPS_SERVER_DEADLINE_MS + 3000);
    (void) close(fd);
    CU_ASSERT(tu_now_ms() - start >= OPS_SERVER_DEADLINE_MS - 100);
    CU_ASSERT(tu_now_ms() - start < OPS_SERVER_DEADLINE_MS + 2500);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL_FATAL(proto_ops_response_decode(buf, (size_t) n, &resp, &eb), 0);
    CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_TIMEOUT);
    proto_ops_response_done(&resp);
}

static void *slow_restart_main(void *arg)
{
    struct proto_ops_request req;
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};
    int *ret = arg;

    proto_ops_request_init(&req);
    req.op = PROTO_OPS_OP_RESTART;
    (void) snprintf(req.member, sizeof(req.member), "slow-0");
    *ret = ctl_request(sock_path, &req, 20000, &resp, &eb);
    if (*ret == 0 && !resp.ok) {
        *ret = -EIO;
    }
    proto_ops_response_done(&resp);
    return NULL;
}

static bool slow_call_started(void *arg)
{
    return fake_calls(PROTO_OPS_OP_RESTART) > *(int *) arg;
}

/*
 * A callback that outlasts the deadline blocks the server (documented), but a client whose
 * request arrived meanwhile is served afterwards, not timed out: the agent was slow, not it.
 */
static void test_ops_slow_callback(void)
{
    const char *status = "{\"version\":1,\"op\":\"status\"}\n";
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};
    pthread_t slow;
    int before = fake_calls(PROTO_OPS_OP_RESTART);
    int slow_rc = -1;
    char buf[4096];
    ssize_t n;
    int fd = raw_connect(sock_path);

    CU_ASSERT_FATAL(fd >= 0);
    tu_sleep_ms(100); /* accepted before the slow call starts */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&slow, NULL, slow_restart_main, &slow_rc), 0);
    CU_ASSERT_TRUE(tu_wait_until(slow_call_started, &before, 5000, 10));
    (void) send(fd, status, strlen(status), MSG_NOSIGNAL);
    (void) pthread_join(slow, NULL);
    CU_ASSERT_EQUAL(slow_rc, 0);
    n = raw_read_all(fd, buf, sizeof(buf), 5000);
    (void) close(fd);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL_FATAL(proto_ops_response_decode(buf, (size_t) n, &resp, &eb), 0);
    CU_ASSERT_TRUE(resp.ok);
    proto_ops_response_done(&resp);
}

/* Beyond OPS_SERVER_MAX_CONNS connections in progress, the next is answered "busy". */
static void test_ops_connection_limit(void)
{
    const char *status = "{\"version\":1,\"op\":\"status\"}\n";
    int fds[OPS_SERVER_MAX_CONNS];
    struct proto_ops_response resp = {0};
    bool served = false;
    int opened = 0;

    for (int i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        fds[i] = raw_connect(sock_path);
        opened += fds[i] >= 0;
    }
    CU_ASSERT_EQUAL(opened, OPS_SERVER_MAX_CONNS);
    tu_sleep_ms(200); /* let the server take them all */
    CU_ASSERT_EQUAL(raw_request(status, strlen(status), &resp), 0);
    CU_ASSERT_FALSE(resp.ok);
    CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_BUSY);
    proto_ops_response_done(&resp);
    for (int i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        if (fds[i] >= 0) {
            (void) close(fds[i]);
        }
    }
    /* The slots come back as the server sees the clients leave (bounded retries). */
    for (int i = 0; i < 50 && !served; i++) {
        if (raw_request(status, strlen(status), &resp) == 0) {
            served = resp.ok;
            proto_ops_response_done(&resp);
        }
        if (!served) {
            tu_sleep_ms(50);
        }
    }
    CU_ASSERT_TRUE(served);
}

/* Result of a child that connected with another uid: its exit status and the answer. */
static int connect_as(uid_t uid, gid_t gid, char *answer, size_t size)
{
    const char *req = "{\"version\":1,\"op\":\"status\"}\n";
    int p[2];
    pid_t pid;
    int status = -1;
    ssize_t n;

    if (pipe2(p, O_CLOEXEC) < 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        char buf[4096];
        ssize_t got = 0, k;
        int fd;

        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
            _exit(2);
        }
        fd = raw_connect(sock_path);
        if (fd < 0) {
            _exit(3);
        }
        (void) send(fd, req, strlen(req), MSG_NOSIGNAL);
        while (got < (ssize_t) sizeof(buf) && (k = read(fd, buf + got, sizeof(buf) - got)) > 0) {
            got += k;
        }
        (void) !write(p[1], buf, (size_t) got);
        _exit(0);
    }
    (void) close(p[1]);
    n = pid > 0 ? raw_read_all(p[0], answer, size, 10000) : -1;
    (void) close(p[0]);
    if (pid > 0 && tu_wait_exit(pid, 10000, &status) < 0) {
        (void) tu_kill_wait(pid, SIGKILL, 2000);
    }
    return status == 0 && n > 0 ? 0 : -1;
}

/*
 * SO_PEERCRED: with the file opened up to everyone (the mode is not the only guard), nobody
 * is refused without reaching a callback and a warning is logged; the allowed uid is served.
 */
static void test_ops_peer_credentials(void)
{
    char run_dir[600], log_path[600], answer[4096];
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};
    uid_t nobody_uid = 0;
    gid_t nobody_gid = 0;
    int before, log_fd;
    char *log_text;

    if (geteuid() != 0 || user_ids("nobody", &nobody_uid, &nobody_gid) < 0) {
        fprintf(stderr, "\n  skipped: needs root and the user nobody to change uid\n");
        return;
    }
    (void) snprintf(run_dir, sizeof(run_dir), "%s/run", tmpdir);
    (void) snprintf(log_path, sizeof(log_path), "%s/server.log", tmpdir);
    CU_ASSERT_EQUAL_FATAL(chmod(tmpdir, 0711), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(run_dir, 0711), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(sock_path, 0666), 0);
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    log_set_fd(log_fd);

    before = fake_calls_total();
    CU_ASSERT_EQUAL(connect_as(nobody_uid, nobody_gid, answer, sizeof(answer)), 0);
    CU_ASSERT_EQUAL(fake_calls_total(), before);
    if (proto_ops_response_decode(answer, strlen(answer), &resp, &eb) == 0) {
        char expect[64];
        (void) snprintf(expect, sizeof(expect), "uid %u is not allowed", (unsigned) nobody_uid);
        CU_ASSERT_FALSE(resp.ok);
        CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_FORBIDDEN);
        CU_ASSERT_STRING_EQUAL(resp.message, expect);
        proto_ops_response_done(&resp);
    } else {
        CU_FAIL("no readable answer to the refused peer");
    }

    /* The allowed uid is served like root. */
    if (have_allowed_user && allowed_uid != nobody_uid) {
        before = fake_calls(PROTO_OPS_OP_STATUS);
        memset(answer, 0, sizeof(answer));
        CU_ASSERT_EQUAL(connect_as(allowed_uid, allowed_gid, answer, sizeof(answer)), 0);
        CU_ASSERT_EQUAL(fake_calls(PROTO_OPS_OP_STATUS), before + 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(answer, "\"ok\":true"));
    }

    log_set_fd(-1);
    (void) close(log_fd);
    log_text = tu_read_file(log_path);
    CU_ASSERT_PTR_NOT_NULL(log_text);
    if (log_text) {
        char expect[96];
        (void) snprintf(expect, sizeof(expect), "refused a connection from uid %u",
                        (unsigned) nobody_uid);
        CU_ASSERT_PTR_NOT_NULL(strstr(log_text, expect));
        free(log_text);
    }
    (void) chmod(sock_path, 0600);
    (void) chmod(run_dir, 0700);
    (void) chmod(tmpdir, 0700);
}

/* A socket file nobody listens on is replaced; a live one, a file or a directory is not. */
static void test_ops_path_checks(void)
{
    char stale[600], plain[600], dir[600], longp[300];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct ops_server *s = NULL;
    struct errbuf eb = {{0}};
    struct stat st;
    char *text;
    int fd;

    /* Stale: bound, then the process (here: the descriptor) went away. */
    (void) snprintf(stale, sizeof(stale), "%s/stale.sock", tmpdir);
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (const struct sockaddr *) &sa, sizeof(sa)), 0);
    (void) close(fd);
    CU_ASSERT_EQUAL(ops_server_open(stale, allowed_uid, &s, &eb), 0);
    CU_ASSERT_EQUAL(lstat(stale, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    ops_server_close(s);
    s = NULL;
    CU_ASSERT_EQUAL(lstat(stale, &st), -1); /* close removes its own socket */

    /* Live: the suite's server keeps its socket and keeps working. */
    CU_ASSERT_EQUAL(ops_server_open(sock_path, allowed_uid, &s, &eb), -EADDRINUSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "in use"));
    CU_ASSERT_EQUAL(lstat(sock_path, &st), 0);
    CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));

    /* A regular file is never unlinked. */
    (void) snprintf(plain, sizeof(plain), "%s/plain.sock", tmpdir);
    fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT_EQUAL_FATAL(write(fd, "keep me", 7), 7);
    (void) close(fd);
    CU_ASSERT_EQUAL(ops_server_open(plain, allowed_uid, &s, &eb), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "not a socket"));
    text = tu_read_file(plain);
    CU_ASSERT_PTR_NOT_NULL(text);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "keep me");
    free(text);

    /* Nor a directory. */
    (void) snprintf(dir, sizeof(dir), "%s/dir.sock", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(ops_server_open(dir, allowed_uid, &s, &eb), -EEXIST);

    /* Longer than sun_path. */
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    CU_ASSERT_EQUAL(ops_server_open(longp, allowed_uid, &s, &eb), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(ops_server_open("", allowed_uid, &s, &eb), -EINVAL);
}

/* close leaves alone a file that replaced its socket. */
static void test_ops_close_spares_replacement(void)
{
    char path[600];
    struct ops_server *s = NULL;
    struct errbuf eb = {{0}};
    struct stat st;
    int fd;

    (void) snprintf(path, sizeof(path), "%s/replaced.sock", tmpdir);
    CU_ASSERT_EQUAL_FATAL(ops_server_open(path, allowed_uid, &s, &eb), 0);
    CU_ASSERT_EQUAL(unlink(path), 0);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT(fd >= 0);
    (void) close(fd);
    ops_server_close(s);
    CU_ASSERT_EQUAL(lstat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));
}

/* ctl_request in-process: the client API that og-agent ctl uses. */
static void test_ops_ctl_request_api(void)
{
    struct proto_ops_request req;
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};

    proto_ops_request_init(&req);
    req.op = PROTO_OPS_OP_RESTART;
    (void) snprintf(req.member, sizeof(req.member), "demo-0");
    CU_ASSERT_EQUAL_FATAL(ctl_request(sock_path, &req, 5000, &resp, &eb), 0);
    CU_ASSERT_TRUE(resp.ok);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(resp.result, "member")->valuestring, "demo-0");
    proto_ops_response_done(&resp);
    CU_ASSERT_EQUAL(ctl_request("/nonexistent/og/ops.sock", &req, 1000, &resp, &eb), -ENOENT);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"socket mode", test_ops_socket_mode},
            {"status table", test_ops_status_table},
            {"status json", test_ops_status_json},
            {"socket from environment", test_ops_socket_from_environment},
            {"start stop restart", test_ops_member_verbs},
            {"backup", test_ops_backup},
            {"maintenance", test_ops_maintenance},
            {"failed op", test_ops_failed_op},
            {"usage errors", test_ops_usage},
            {"help", test_ops_help},
            {"unreachable", test_ops_unreachable},
            {"raw malformed", test_ops_raw_malformed},
            {"raw oversized", test_ops_raw_oversized},
            {"silent client", test_ops_silent_client},
            {"slow callback", test_ops_slow_callback},
            {"connection limit", test_ops_connection_limit},
            {"peer credentials", test_ops_peer_credentials},
            {"path checks", test_ops_path_checks},
            {"close spares replacement", test_ops_close_spares_replacement},
            {"ctl_request api", test_ops_ctl_request_api},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("ops_socket", tests, suite_init, suite_cleanup);
}

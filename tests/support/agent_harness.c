/*
 * tests/support/agent_harness.c
 *
 * Layer: edge (test support). See agent_harness.h.
 */
#include "tests/support/agent_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/str.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

static int ah_start_watchdog(struct ah *h)
{
    return tu_dir_watchdog_start(h->tmpdir, &h->watchdog_fd, &h->watchdog_pid);
}

static void ah_node_init(struct ah *h, int i)
{
    struct ah_node *nd = &h->nodes[i];
    char dir[PATH_MAX];
    char name[16];

    (void) str_copy(dir, sizeof(dir), h->tmpdir);
    (void) snprintf(name, sizeof(name), "node%d", i + 1);
    (void) str_copy(nd->name, sizeof(nd->name), name);
    (void) snprintf(nd->ip, sizeof(nd->ip), "127.0.0.%d", i + 1);
    (void) snprintf(nd->member, sizeof(nd->member), "demo-%d", i);
    (void) snprintf(nd->root, sizeof(nd->root), "%s/root-%s", dir, name);
    (void) snprintf(nd->sock, sizeof(nd->sock), "%s/%s.sock", dir, name);
    (void) snprintf(nd->log, sizeof(nd->log), "%s/agent-%s.log", dir, name);
    nd->pid = -1;
}

int ah_setup(struct ah *h, int n, unsigned alarm_s)
{
    char err[256] = "";
    int r;

    memset(h, 0, sizeof(*h));
    h->watchdog_fd = -1;
    h->n = n > AH_MAX_NODES ? AH_MAX_NODES : n;
    h->epoch = 1;
    h->restart_limit = 3;
    h->restart_window_ms = 60000;
    h->lost_timeout_ms = 5000;
    h->storage_bytes = 1024 * 1024;
    (void) signal(SIGPIPE, SIG_IGN);
    if (tu_mkdtemp(h->tmpdir, sizeof(h->tmpdir)) < 0 || chmod(h->tmpdir, 0755) < 0) {
        fprintf(stderr, "ah_setup: no temporary directory\n");
        return -EIO;
    }
    r = ah_start_watchdog(h);
    if (r < 0) {
        return r;
    }
    for (int i = 0; i < h->n; i++) {
        struct ah_node *nd = &h->nodes[i];

        ah_node_init(h, i);
        char ip[16];

        r = tu_free_port(nd->ip, &nd->port);
        if (r < 0) {
            return r;
        }
        (void) str_copy(ip, sizeof(ip), nd->ip);
        (void) snprintf(nd->conninfo, sizeof(nd->conninfo),
                        "host=%s port=%u user=postgres password='%s' dbname=postgres "
                        "connect_timeout=3",
                        ip, nd->port, AH_PASSWORD);
    }
    r = fake_arbiter_start(&h->fa, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ah_setup: %s\n", err);
        return r;
    }
    fake_arbiter_set_heartbeat(h->fa, 500);
    alarm(alarm_s);
    return 0;
}

int ah_agent_start(struct ah *h, int i, const char *const *extra)
{
    struct ah_node *nd = &h->nodes[i];
    const char *user = getenv("OG_TEST_PGUSER");
    const char *argv[40] = {OG_BINARY_DIR "/og-agent",
                            "run",
                            "--node",
                            nd->name,
                            "--arbiter",
                            fake_arbiter_url(h->fa),
                            "--root",
                            nd->root,
                            "--socket",
                            nd->sock,
                            "--db-user",
                            user && user[0] ? user : "ogtest",
                            "--bindir",
                            pgserver_bindir(),
                            "--heartbeat",
                            "500ms",
                            "--probe-interval",
                            "200ms",
                            "--log-level",
                            "debug"};
    size_t n = 20;
    int r;

    for (size_t k = 0; extra && extra[k] && n < sizeof(argv) / sizeof(argv[0]) - 1; k++) {
        argv[n++] = extra[k];
    }
    argv[n] = NULL;
    r = tu_spawn(argv, nd->log, &nd->pid);
    if (r < 0) {
        return r;
    }
    tu_dir_watchdog_add(h->watchdog_fd, nd->pid);
    return 0;
}

int ah_agent_stop(struct ah *h, int i, int sig)
{
    struct ah_node *nd = &h->nodes[i];
    int r;

    if (nd->pid <= 0) {
        return 0;
    }
    r = tu_kill_wait(nd->pid, sig, 10000);
    nd->pid = -1;
    return r == -ETIMEDOUT ? 0 : r;
}

void ah_order(const struct ah *h, int i, enum proto_role role, int upstream,
              struct proto_instance_desired *ret)
{
    const struct ah_node *nd = &h->nodes[i];

    memset(ret, 0, sizeof(*ret));
    (void) str_copy(ret->namespace_, sizeof(ret->namespace_), "default");
    (void) str_copy(ret->cluster, sizeof(ret->cluster), "demo");
    (void) str_copy(ret->member, sizeof(ret->member), nd->member);
    ret->epoch = h->epoch;
    ret->role = role;
    ret->state = PROTO_STATE_RUNNING;
    (void) str_copy(ret->ip, sizeof(ret->ip), nd->ip);
    ret->port = nd->port;
    if (upstream >= 0) {
        const struct ah_node *up = &h->nodes[upstream];
        ret->has_upstream = true;
        (void) str_copy(ret->upstream.member, sizeof(ret->upstream.member), up->member);
        (void) str_copy(ret->upstream.host, sizeof(ret->upstream.host), up->ip);
        ret->upstream.port = up->port;
    }
    ret->storage_bytes = h->storage_bytes;
    ret->restart_limit = h->restart_limit;
    ret->restart_window_ms = h->restart_window_ms;
    ret->lost_timeout_ms = h->lost_timeout_ms;
    (void) str_copy(ret->auth_user, sizeof(ret->auth_user), "postgres");
    (void) str_copy(ret->auth_password, sizeof(ret->auth_password), AH_PASSWORD);
}

void ah_publish(struct ah *h, int i, const struct proto_instance_desired *orders, uint32_t n)
{
    struct proto_desired *d = xcalloc(1, sizeof(*d));

    proto_desired_init(d);
    (void) str_copy(d->node, sizeof(d->node), h->nodes[i].name);
    d->heartbeat_ms = 500;
    for (uint32_t k = 0; k < n && k < PROTO_MAX_INSTANCES; k++) {
        d->instances[d->n_instances++] = orders[k];
    }
    fake_arbiter_set_desired(h->fa, d);
    free(d);
}

void ah_publish_role(struct ah *h, int i, enum proto_role role, int upstream)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));

    ah_order(h, i, role, upstream, o);
    ah_publish(h, i, o, 1);
    free(o);
}

bool ah_report(struct ah *h, int i, struct proto_instance_report *ret)
{
    struct proto_report *rep = xcalloc(1, sizeof(*rep));
    const struct proto_instance_report *ir = NULL;

    if (fake_arbiter_report(h->fa, h->nodes[i].name, rep)) {
        ir = fake_report_find(rep, h->nodes[i].member);
    }
    if (ir) {
        *ret = *ir;
    }
    free(rep);
    return ir != NULL;
}

bool ah_wait_state(struct ah *h, int i, enum proto_state state, enum proto_role role,
                   uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    struct proto_instance_report *r = xcalloc(1, sizeof(*r));
    bool ok = false, seen = false;

    for (int k = 0; k < 100000; k++) {
        seen = ah_report(h, i, r);
        ok = seen && r->state == state && (role == PROTO_ROLE_UNKNOWN || r->role == role);
        if (ok || tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(100);
    }
    if (!ok) {
        fprintf(stderr, "\n  %s: want %s/%s, last report: %s/%s pid %d error '%s'\n",
                h->nodes[i].member, proto_state_to_string(state), proto_role_to_string(role),
                seen ? proto_state_to_string(r->state) : "-",
                seen ? proto_role_to_string(r->role) : "-", seen ? r->pid : 0,
                seen ? r->last_error : "");
    }
    free(r);
    return ok;
}

int ah_sql(struct ah *h, int i, const char *sql, char *out, size_t size)
{
    return tu_pg_exec(h->nodes[i].conninfo, sql, out, size);
}

bool ah_wait_sql(struct ah *h, int i, const char *sql, const char *want, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char out[256] = "";

    for (int k = 0; k < 100000; k++) {
        out[0] = '\0';
        if (ah_sql(h, i, sql, out, sizeof(out)) == 0 && strcmp(out, want) == 0) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(200);
    }
    fprintf(stderr, "\n  %s on %s: got '%s', want '%s'\n", sql, h->nodes[i].member, out, want);
    return false;
}

static void ah_member_dir(const struct ah *h, int i, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s/default/demo/%s", h->nodes[i].root, h->nodes[i].member);
}

pid_t ah_postmaster_pid(const struct ah *h, int i)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    char *text;
    uint32_t pid = 0;

    ah_member_dir(h, i, dir, sizeof(dir));
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

size_t ah_member_pids(const struct ah *h, int i, pid_t *ret, size_t max)
{
    char dir[PATH_MAX];
    size_t dlen, n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;

    ah_member_dir(h, i, dir, sizeof(dir));
    dlen = strlen(dir);
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

void ah_dump_log(const struct ah *h, int i)
{
    char *text = tu_read_file(h->nodes[i].log);
    size_t len = text ? strlen(text) : 0;

    fprintf(stderr, "\n  ---- %s (tail)\n%s\n", h->nodes[i].log,
            text ? text + (len > 6000 ? len - 6000 : 0) : "(none)");
    free(text);
}

int ah_log_count(const struct ah *h, int i, const char *needle)
{
    char *text = tu_read_file(h->nodes[i].log);
    int n = 0;

    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    free(text);
    return n;
}

void ah_teardown(struct ah *h)
{
    if (!h->tmpdir[0]) {
        return;
    }
    for (int i = 0; i < h->n; i++) {
        (void) ah_agent_stop(h, i, SIGTERM);
    }
    tu_sweep_dir(h->tmpdir);
    fake_arbiter_free(h->fa);
    h->fa = NULL;
    if (h->watchdog_fd >= 0) {
        (void) close(h->watchdog_fd);
        h->watchdog_fd = -1;
        (void) tu_wait_exit(h->watchdog_pid, 20000, NULL);
    }
    if (getenv("OG_TEST_KEEP")) {
        fprintf(stderr, "kept %s\n", h->tmpdir);
    } else {
        (void) tu_rmtree(h->tmpdir);
    }
    h->tmpdir[0] = '\0';
}

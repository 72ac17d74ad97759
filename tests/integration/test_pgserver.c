/*
 * tests/integration/test_pgserver.c
 *
 * Layer: edge (test). The test harness itself: a real PostgreSQL 15 from pgserver answers SQL
 * with data checksums on, two servers run side by side on 127.0.0.1 and 127.0.0.2, stop
 * leaves neither a process nor a directory, and however a test process ends (exit without
 * stop, SIGTERM, SIGKILL) its servers and their directories go with it. Also the process and file
 * helpers of testutil that the harness relies on.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "tests/support/cu_main.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

#define CHILD_START_TIMEOUT_MS 120000
#define CHILD_CLEANUP_MS       15000

static struct pgserver pg1, pg2;

struct gone_arg {
    pid_t pid;
    const char *dir;
};

static bool path_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* True once the postmaster is dead and its directory removed. */
static bool server_gone(void *arg)
{
    const struct gone_arg *g = arg;

    return !tu_pid_alive(g->pid) && !path_exists(g->dir);
}

/* Runs sql against pg and checks it worked; returns the first value in out. */
static void exec_ok(const struct pgserver *pg, const char *sql, char *out, size_t size)
{
    int r = tu_pg_exec(pg->conninfo, sql, out, size);

    if (r != 0) {
        fprintf(stderr, "SQL failed (%d) on %s: %s: %s\n", r, pg->conninfo, sql, out);
    }
    CU_ASSERT_EQUAL_FATAL(r, 0);
}

static void test_pgserver_start_query_stop(void)
{
    char err[1024], v[256];
    struct gone_arg gone;
    int r;

    r = pgserver_start(&pg1, NULL, err, sizeof(err));
    if (r != 0) {
        fprintf(stderr, "pgserver_start: %d: %s\n", r, err);
    }
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT_STRING_EQUAL(pg1.host, "127.0.0.1");
    CU_ASSERT_NOT_EQUAL(pg1.port, 0);
    CU_ASSERT_TRUE(tu_pid_alive(pg1.postmaster_pid));
    CU_ASSERT_TRUE(path_exists(pg1.datadir));

    exec_ok(&pg1, "CREATE TABLE t (id int PRIMARY KEY, v text)", v, sizeof(v));
    exec_ok(&pg1, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')", v, sizeof(v));
    exec_ok(&pg1, "SELECT count(*) FROM t", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "3");
    exec_ok(&pg1, "SELECT v FROM t WHERE id = 2", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "b");
    exec_ok(&pg1, "SHOW data_checksums", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "on");
    exec_ok(&pg1, "SHOW listen_addresses", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "127.0.0.1");
    exec_ok(&pg1, "SELECT current_setting('server_version_num')::int / 10000", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "15");
    /* A failing statement is reported, with the server's words. */
    CU_ASSERT_EQUAL(tu_pg_exec(pg1.conninfo, "SELECT * FROM no_such_table", v, sizeof(v)), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "no_such_table"));

    gone = (struct gone_arg){pg1.postmaster_pid, pg1.dir};
    CU_ASSERT_EQUAL(pgserver_stop(&pg1), 0);
    CU_ASSERT_FALSE(tu_pid_alive(gone.pid));
    CU_ASSERT_FALSE(path_exists(gone.dir));
    CU_ASSERT_EQUAL(pgserver_stop(&pg1), 0); /* idempotent */
    CU_ASSERT_EQUAL(tu_pg_exec(pg1.conninfo, "SELECT 1", v, sizeof(v)), -ECONNREFUSED);
}

static void test_pgserver_two_servers_side_by_side(void)
{
    char err[1024], v[256];
    pid_t pid1, pid2;

    CU_ASSERT_EQUAL_FATAL(pgserver_start(&pg1, "127.0.0.1", err, sizeof(err)), 0);
    if (pgserver_start(&pg2, "127.0.0.2", err, sizeof(err)) != 0) {
        fprintf(stderr, "pgserver_start 127.0.0.2: %s\n", err);
    }
    CU_ASSERT_FATAL(pg2.active);
    CU_ASSERT_STRING_EQUAL(pg2.host, "127.0.0.2");
    CU_ASSERT_STRING_NOT_EQUAL(pg1.dir, pg2.dir);
    CU_ASSERT_NOT_EQUAL(pg1.postmaster_pid, pg2.postmaster_pid);

    /* Two separate clusters: a table made in one is not in the other. */
    exec_ok(&pg1, "CREATE TABLE only_in_one (x int)", v, sizeof(v));
    exec_ok(&pg2, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_one'", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "0");
    exec_ok(&pg2, "SELECT inet_server_addr()::text", v, sizeof(v));
    CU_ASSERT_STRING_EQUAL(v, "127.0.0.2/32");

    pid1 = pg1.postmaster_pid;
    pid2 = pg2.postmaster_pid;
    CU_ASSERT_EQUAL(pgserver_stop(&pg2), 0);
    CU_ASSERT_FALSE(tu_pid_alive(pid2));
    CU_ASSERT_TRUE(tu_pid_alive(pid1)); /* stopping one leaves the other alone */
    exec_ok(&pg1, "SELECT 1", v, sizeof(v));
    CU_ASSERT_EQUAL(pgserver_stop(&pg1), 0);
    CU_ASSERT_FALSE(tu_pid_alive(pid1));
}

static void test_pgserver_rejects_non_loopback_host(void)
{
    struct pgserver pg;
    char err[256];

    CU_ASSERT_EQUAL(pgserver_start(&pg, "10.1.2.3", err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "loopback"));
    CU_ASSERT_FALSE(pg.active);
    CU_ASSERT_EQUAL(pgserver_stop(&pg), 0);
}

/* What a dying child tells its parent about the server it started. */
struct child_report {
    int rc;
    pid_t postmaster_pid;
    char dir[PATH_MAX];
    char err[512];
};

/* How the child ends: SIGKILL (only the watchdog can clean up), SIGTERM, or exit(0). */
enum child_death { DIE_SIGKILL, DIE_SIGTERM, DIE_EXIT };

static void dying_child(int fd, const char *host, enum child_death how) __attribute__((noreturn));

static void dying_child(int fd, const char *host, enum child_death how)
{
    static struct pgserver pg;
    static struct child_report rep;
    char v[64];

    rep.rc = pgserver_start(&pg, host, rep.err, sizeof(rep.err));
    if (rep.rc == 0) {
        rep.rc = tu_pg_exec(pg.conninfo, "SELECT 1", v, sizeof(v));
    }
    rep.postmaster_pid = pg.postmaster_pid;
    memcpy(rep.dir, pg.dir, sizeof(rep.dir));
    (void) !write(fd, &rep, sizeof(rep));
    if (how == DIE_EXIT) {
        exit(0); /* the atexit handler stops the server before the process is gone */
    }
    (void) raise(how == DIE_SIGTERM ? SIGTERM : SIGKILL);
    _exit(99);
}

/* Reads exactly size bytes from fd within timeout_ms; true on success. */
static bool read_full(int fd, void *buf, size_t size, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    size_t got = 0;

    while (got < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = tu_now_ms();
        ssize_t n;

        if (now >= deadline || poll(&pfd, 1, (int) (deadline - now)) <= 0) {
            return false;
        }
        n = read(fd, (char *) buf + got, size - got);
        if (n <= 0) {
            return false;
        }
        got += (size_t) n;
    }
    return true;
}

/*
 * Forks a child that starts a server on host and dies as told; checks its exit status and
 * that the server it reported is gone within cleanup_ms (0: already when the child is).
 */
static void check_cleanup_after_death(const char *host, enum child_death how, int expected_status,
                                      uint64_t cleanup_ms)
{
    static struct child_report rep;
    struct gone_arg gone;
    int pfd[2], status = -1;
    uint64_t t0;
    pid_t child;

    memset(&rep, 0, sizeof(rep));
    CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
    child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        (void) close(pfd[0]);
        dying_child(pfd[1], host, how);
    }
    (void) close(pfd[1]);
    CU_ASSERT_TRUE(read_full(pfd[0], &rep, sizeof(rep), CHILD_START_TIMEOUT_MS));
    (void) close(pfd[0]);
    CU_ASSERT_EQUAL(tu_wait_exit(child, 30000, &status), 0);
    CU_ASSERT_EQUAL(status, expected_status);
    if (rep.rc != 0) {
        fprintf(stderr, "server in the child: %d: %s\n", rep.rc, rep.err);
    }
    CU_ASSERT_EQUAL_FATAL(rep.rc, 0);
    CU_ASSERT_FATAL(rep.postmaster_pid > 0);

    t0 = tu_now_ms();
    gone = (struct gone_arg){rep.postmaster_pid, rep.dir};
    CU_ASSERT_TRUE(cleanup_ms == 0 ? server_gone(&gone)
                                   : tu_wait_until(server_gone, &gone, cleanup_ms, 50));
    CU_ASSERT_FALSE(tu_pid_alive(rep.postmaster_pid));
    CU_ASSERT_FALSE(path_exists(rep.dir));
    fprintf(stderr, "[%s cleaned up %llu ms after the child died] ", host,
            (unsigned long long) (tu_now_ms() - t0));
    if (tu_pid_alive(rep.postmaster_pid)) { /* do not leak it into the next run */
        (void) tu_kill_wait(rep.postmaster_pid, SIGKILL, 5000);
    }
}

static void test_pgserver_watchdog_cleans_up_after_sigkill(void)
{
    check_cleanup_after_death("127.0.0.3", DIE_SIGKILL, 128 + SIGKILL, CHILD_CLEANUP_MS);
}

static void test_pgserver_sigterm_kills_postmaster(void)
{
    check_cleanup_after_death("127.0.0.4", DIE_SIGTERM, 128 + SIGTERM, CHILD_CLEANUP_MS);
}

static void test_pgserver_exit_without_stop_cleans_up(void)
{
    check_cleanup_after_death("127.0.0.5", DIE_EXIT, 0, 0);
}

static void test_pgserver_support_spawn_kill_and_files(void)
{
    char dir[256], log[300], missing[300];
    const char *const sh[] = {"/bin/sh", "-c", "echo started; exec sleep 30", NULL};
    const char *const bad[] = {"/nonexistent/program", NULL};
    pid_t pid = 0;
    char *text;
    bool seen = false;

    CU_ASSERT_EQUAL_FATAL(tu_mkdtemp(dir, sizeof(dir)), 0);
    (void) snprintf(log, sizeof(log), "%s/child.log", dir);
    (void) snprintf(missing, sizeof(missing), "%s/missing", dir);
    CU_ASSERT_EQUAL(tu_spawn(bad, log, &pid), -ENOENT);
    CU_ASSERT_EQUAL_FATAL(tu_spawn(sh, log, &pid), 0);
    for (uint64_t end = tu_now_ms() + 10000; !seen && tu_now_ms() < end; tu_sleep_ms(20)) {
        text = tu_read_file(log);
        seen = text && strstr(text, "started");
        free(text);
    }
    CU_ASSERT_TRUE(seen);
    CU_ASSERT_TRUE(tu_pid_alive(pid));
    CU_ASSERT_EQUAL(tu_wait_exit(pid, 50, NULL), -ETIMEDOUT);
    CU_ASSERT_EQUAL(tu_kill_wait(pid, SIGTERM, 5000), 0);
    CU_ASSERT_FALSE(tu_pid_alive(pid));
    CU_ASSERT_PTR_NULL(tu_read_file(missing));
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0);
    CU_ASSERT_FALSE(path_exists(dir));
    CU_ASSERT_EQUAL(tu_rmtree(dir), 0); /* already gone counts as removed */
}

static int cleanup(void)
{
    (void) pgserver_stop(&pg2);
    (void) pgserver_stop(&pg1);
    return 0;
}

static CU_TestInfo tests[] = {
        {"pgserver_rejects_non_loopback_host", test_pgserver_rejects_non_loopback_host},
        {"pgserver_start_query_stop", test_pgserver_start_query_stop},
        {"pgserver_two_servers_side_by_side", test_pgserver_two_servers_side_by_side},
        {"pgserver_watchdog_cleans_up_after_sigkill",
         test_pgserver_watchdog_cleans_up_after_sigkill},
        {"pgserver_sigterm_kills_postmaster", test_pgserver_sigterm_kills_postmaster},
        {"pgserver_exit_without_stop_cleans_up", test_pgserver_exit_without_stop_cleans_up},
        {"pgserver_support_spawn_kill_and_files", test_pgserver_support_spawn_kill_and_files},
        CU_TEST_INFO_NULL,
};

int main(void)
{
    return cu_run_with("pgserver", tests, NULL, cleanup);
}

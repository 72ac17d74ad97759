/*
 * tests/unit/test_proc.c
 *
 * common/proc with real children: exit statuses, capture and its cap, timeouts that must
 * kill a whole process group (grandchildren, TERM-ignoring and stopped children included),
 * exec failures, environment, directory, stdin, output files, credentials, and the
 * spawn/wait/kill trio. /bin/sh is fine as a test child; product code never uses a shell.
 * The suite makes itself a child subreaper so that orphaned grandchildren become our
 * children and can be checked dead and reaped with proc_wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/proc.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

static char *test_dir;

static int test_proc_init(void)
{
    struct errbuf eb = {{0}};

    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        return -1;
    }
    return fs_mkdtemp("/tmp/og-test-proc-", &test_dir, &eb) < 0 ? -1 : 0;
}

static int test_proc_cleanup(void)
{
    struct errbuf eb = {{0}};
    int r = test_dir ? fs_remove_tree(test_dir, &eb) : 0;

    free(test_dir);
    test_dir = NULL;
    return r < 0 ? -1 : 0;
}

/* A spec for argv with the "unchanged" credentials and short test timeouts. */
static struct proc_spec test_spec(const char *const *argv)
{
    struct proc_spec spec = PROC_SPEC_INIT(argv);

    spec.timeout_ms = 5000;

    return spec;
}

/* Parses a pid printed by a child ("1234\n"); 0 when it is not one. */
static pid_t test_parse_pid(const char *s)
{
    char buf[32];
    uint32_t v = 0;
    size_t n = 0;

    while (s && s[n] >= '0' && s[n] <= '9' && n < sizeof(buf) - 1) {
        buf[n] = s[n];
        n++;
    }
    buf[n] = '\0';
    if (str_to_u32(buf, 2, INT32_MAX, &v) < 0) {
        return 0;
    }
    return (pid_t) v;
}

#define TEST_REAPED_ELSEWHERE (-2)

/*
 * Reaps an orphan that our subreaper status made our child. Returns the signal that killed
 * it, 0 when it exited, TEST_REAPED_ELSEWHERE when its parent reaped it before dying, or -1
 * when it was still running (it is then killed and reaped).
 */
static int test_reap_signal(pid_t pid)
{
    int status = 0;
    int r;

    if (pid <= 1) {
        return -1;
    }
    r = proc_wait(pid, 3000, &status);
    if (r == -ECHILD && !proc_is_alive(pid)) {
        return TEST_REAPED_ELSEWHERE;
    }
    if (r < 0) {
        (void) kill(pid, SIGKILL);
        (void) proc_wait(pid, 3000, &status);
        return -1;
    }
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void test_proc_exit_codes(void)
{
    const char *const fail_argv[] = {"/bin/sh", "-c", "echo oops >&2; exit 3", NULL};
    const char *const ok_argv[] = {"true", NULL}; /* found through PATH */
    struct proc_spec spec = test_spec(fail_argv);
    struct proc_result res;
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), 0);
    CU_ASSERT_EQUAL(res.exit_code, 3);
    CU_ASSERT_FALSE(res.timed_out);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "exit 3: oops"));
    proc_result_done(&res);

    spec = test_spec(ok_argv);
    errbuf_clear(&eb);
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), 0);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_EQUAL(res.term_signal, 0);
    CU_ASSERT_STRING_EQUAL(res.out, "");
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    proc_result_done(&res);
    proc_result_done(&res); /* idempotent */
    proc_result_done(NULL);
}

static void test_proc_captures_both_streams(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "printf out; printf err >&2", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;

    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "out");
    CU_ASSERT_EQUAL(res.out_len, 3);
    CU_ASSERT_STRING_EQUAL(res.err, "err");
    CU_ASSERT_EQUAL(res.err_len, 3);
    CU_ASSERT_FALSE(res.out_truncated || res.err_truncated);
    proc_result_done(&res);
}

static void test_proc_capture_cap_drains_without_deadlock(void)
{
    const char *const out_argv[] = {"/usr/bin/head", "-c", "1048576", "/dev/zero", NULL};
    const char *const err_argv[] = {"/bin/sh", "-c", "head -c 1048576 /dev/zero >&2; echo done",
                                    NULL};
    const char *const small_argv[] = {"/bin/echo", "hello world", NULL};
    struct proc_spec spec = test_spec(out_argv);
    struct proc_result res;

    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_EQUAL(res.out_len, PROC_CAPTURE_DEFAULT_MAX);
    CU_ASSERT_TRUE(res.out_truncated);
    CU_ASSERT_EQUAL(res.out[res.out_len], '\0');
    proc_result_done(&res);

    spec = test_spec(err_argv);
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_STRING_EQUAL(res.out, "done\n");
    CU_ASSERT_EQUAL(res.err_len, PROC_CAPTURE_DEFAULT_MAX);
    CU_ASSERT_TRUE(res.err_truncated);
    proc_result_done(&res);

    spec = test_spec(small_argv);
    spec.capture_max = 5;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "hello");
    CU_ASSERT_TRUE(res.out_truncated);
    proc_result_done(&res);
}

static void test_proc_timeout_kills_group_and_grandchild(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "sleep 30 & echo $!; wait", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    struct errbuf eb = {{0}};
    uint64_t start = clock_now_ms(), elapsed;
    pid_t grandchild;

    spec.timeout_ms = 300;
    spec.kill_grace_ms = 1000;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -ETIMEDOUT);
    elapsed = clock_now_ms() - start;
    CU_ASSERT_TRUE(res.timed_out);
    CU_ASSERT_EQUAL(res.exit_code, -1);
    CU_ASSERT_EQUAL(res.term_signal, SIGTERM);
    CU_ASSERT_TRUE(elapsed >= 300 && elapsed < 1300);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "timed out"));
    grandchild = test_parse_pid(res.out);
    CU_ASSERT_TRUE(grandchild > 1);
    /* The sleep was in the group: it got the SIGTERM too, it did not survive its parent. */
    CU_ASSERT_EQUAL(test_reap_signal(grandchild), SIGTERM);
    proc_result_done(&res);
}

static void test_proc_timeout_escalates_to_sigkill(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    uint64_t start = clock_now_ms(), elapsed;
    pid_t grandchild;

    spec.timeout_ms = 200;
    spec.kill_grace_ms = 300;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), -ETIMEDOUT);
    elapsed = clock_now_ms() - start;
    CU_ASSERT_TRUE(res.timed_out);
    CU_ASSERT_EQUAL(res.term_signal, SIGKILL);
    CU_ASSERT_TRUE(elapsed >= 500 && elapsed < 2500);
    /* The ignored SIGTERM is inherited: the grandchild needs the group's SIGKILL too. */
    grandchild = test_parse_pid(res.out);
    CU_ASSERT_EQUAL(test_reap_signal(grandchild), SIGKILL);
    proc_result_done(&res);
}

static void test_proc_timeout_of_stopped_child(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "kill -STOP $$; exit 0", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    uint64_t start = clock_now_ms();

    spec.timeout_ms = 200;
    spec.kill_grace_ms = 2000;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), -ETIMEDOUT);
    CU_ASSERT_TRUE(res.timed_out);
    /* SIGTERM ends it; the grace period is not needed. */
    CU_ASSERT_EQUAL(res.term_signal, SIGTERM);
    CU_ASSERT_TRUE(clock_now_ms() - start < 1500);
    proc_result_done(&res);
}

static void test_proc_exit_ends_capture_despite_background_holder(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "sleep 30 & echo $!", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    uint64_t start = clock_now_ms();
    pid_t grandchild;

    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_TRUE(clock_now_ms() - start < 2000);
    grandchild = test_parse_pid(res.out);
    CU_ASSERT_TRUE(grandchild > 1);
    if (grandchild > 1) {
        (void) kill(grandchild, SIGKILL);
        CU_ASSERT_EQUAL(test_reap_signal(grandchild), SIGKILL);
    }
    proc_result_done(&res);
}

static void test_proc_exec_failures(void)
{
    const char *const abs_argv[] = {"/nonexistent/og-prog", NULL};
    const char *const path_argv[] = {"og-no-such-program-xyz", NULL};
    const char *noexec_argv[] = {NULL, NULL};
    struct proc_spec spec = test_spec(abs_argv);
    struct proc_result res;
    struct errbuf eb = {{0}};
    uint64_t start = clock_now_ms();
    char *noexec = xasprintf("%s/noexec.sh", test_dir);

    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "execve"));
    CU_ASSERT_EQUAL(res.exit_code, -1);
    proc_result_done(&res);
    CU_ASSERT_TRUE(clock_now_ms() - start < 1000);

    spec = test_spec(path_argv);
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -ENOENT);
    proc_result_done(&res);

    CU_ASSERT_EQUAL(fs_write_atomic(noexec, "#!/bin/sh\n", 10, 0644, &eb), 0);
    noexec_argv[0] = noexec;
    spec = test_spec(noexec_argv);
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -EACCES);
    proc_result_done(&res);

    spec = test_spec(abs_argv);
    spec.argv = NULL;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -EINVAL);
    CU_ASSERT_EQUAL(proc_run(NULL, &res, &eb), -EINVAL);
    free(noexec);
}

static void test_proc_env_cwd_stdin(void)
{
    const char *const env_argv[] = {"/usr/bin/env", NULL};
    const char *const envp[] = {"FOO=bar", NULL};
    const char *const pwd_argv[] = {"/bin/pwd", NULL};
    const char *const cat_argv[] = {"/bin/cat", NULL};
    struct proc_spec spec = test_spec(env_argv);
    struct proc_result res;
    struct errbuf eb = {{0}};
    char *real = realpath(test_dir, NULL); /* ALLOW-BANNED: libc allocates, we free */
    char *expect = xasprintf("%s\n", real ? real : "?");

    spec.envp = envp;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "FOO=bar\n");
    proc_result_done(&res);

    spec = test_spec(pwd_argv);
    spec.cwd = test_dir;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, expect);
    proc_result_done(&res);

    spec.cwd = "/nonexistent/dir";
    CU_ASSERT_EQUAL(proc_run(&spec, &res, &eb), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "chdir"));
    proc_result_done(&res);

    spec = test_spec(cat_argv);
    spec.stdin_data = "hello";
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "hello");
    proc_result_done(&res);

    spec.stdin_data = "";
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "");
    proc_result_done(&res);
    free(expect);
    free(real);
}

static void test_proc_large_stdin_and_early_exit(void)
{
    const char *const cat_argv[] = {"/bin/cat", NULL};
    const char *const true_argv[] = {"/bin/true", NULL};
    size_t big = (size_t) 1024 * 1024;
    char *data = xmalloc(big + 1);
    struct proc_spec spec = test_spec(cat_argv);
    struct proc_result res;

    memset(data, 'x', big);
    data[big] = '\0';
    /* More than the pipe holds in both directions: needs concurrent write and read. */
    spec.stdin_data = data;
    spec.capture_max = 2 * big;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.out_len, big);
    CU_ASSERT_FALSE(res.out_truncated);
    proc_result_done(&res);

    /* A child that never reads: EPIPE, and no SIGPIPE may kill us (default disposition). */
    (void) signal(SIGPIPE, SIG_DFL);
    spec = test_spec(true_argv);
    spec.stdin_data = data;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    proc_result_done(&res);
    free(data);
}

static void test_proc_output_path_appends(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    struct errbuf eb = {{0}};
    char *path = xasprintf("%s/out.log", test_dir);
    char *data = NULL;
    size_t len = 0;
    struct stat st;

    spec.output_path = path;
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
        CU_ASSERT_EQUAL(res.out_len, 0);
        CU_ASSERT_EQUAL(res.err_len, 0);
        proc_result_done(&res);
    }
    CU_ASSERT_EQUAL(fs_read_file(path, 4096, &data, &len, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data ? data : "", "out\nerr\nout\nerr\n");
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    free(data);
    free(path);
}

static bool test_lookup_nobody(uid_t *ret_uid, gid_t *ret_gid)
{
    struct passwd pw, *found = NULL;
    char buf[1024];

    if (getpwnam_r("nobody", &pw, buf, sizeof(buf), &found) != 0 || !found) {
        return false;
    }
    *ret_uid = pw.pw_uid;
    *ret_gid = pw.pw_gid;
    return true;
}

static void test_proc_switches_credentials(void)
{
    const char *const uid_argv[] = {"/usr/bin/id", "-u", NULL};
    const char *const groups_argv[] = {"/usr/bin/id", "-G", NULL};
    struct proc_spec spec = test_spec(uid_argv);
    struct proc_result res;
    gid_t saved[64], extra = 4242;
    int n_groups;
    uid_t uid;
    gid_t gid;
    char expect[32];

    if (geteuid() != 0 || !test_lookup_nobody(&uid, &gid)) {
        CU_PASS("skipped: needs root and a 'nobody' user");
        return;
    }
    spec.uid = (int) uid;
    spec.gid = (int) gid;
    spec.cwd = "/";
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    (void) snprintf(expect, sizeof(expect), "%u\n", (unsigned) uid);
    CU_ASSERT_STRING_EQUAL(res.out, expect);
    proc_result_done(&res);

    /* setgroups(0): our supplementary groups must not reach the child. */
    n_groups = getgroups(64, saved);
    CU_ASSERT_EQUAL(setgroups(1, &extra), 0);
    spec.argv = groups_argv;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    (void) snprintf(expect, sizeof(expect), "%u\n", (unsigned) gid);
    CU_ASSERT_STRING_EQUAL(res.out, expect);
    proc_result_done(&res);
    if (n_groups >= 0) {
        (void) setgroups((size_t) n_groups, saved);
    }
}

static void test_proc_child_signals_are_default(void)
{
    const char *const usr1_argv[] = {"/bin/sh", "-c", "kill -USR1 $$; echo survived", NULL};
    const char *const pipe_argv[] = {"/bin/sh", "-c", "kill -PIPE $$; echo survived", NULL};
    struct proc_spec spec = test_spec(usr1_argv);
    struct proc_result res;
    sigset_t set, old;

    /* A blocked signal in the parent must not stay blocked in the child. */
    (void) sigemptyset(&set);
    (void) sigaddset(&set, SIGUSR1);
    (void) sigprocmask(SIG_BLOCK, &set, &old);
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.exit_code, -1);
    CU_ASSERT_EQUAL(res.term_signal, SIGUSR1);
    proc_result_done(&res);
    (void) sigprocmask(SIG_SETMASK, &old, NULL);

    /* Nor may an ignored one stay ignored (daemons ignore SIGPIPE). */
    (void) signal(SIGPIPE, SIG_IGN);
    spec.argv = pipe_argv;
    CU_ASSERT_EQUAL(proc_run(&spec, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.term_signal, SIGPIPE);
    proc_result_done(&res);
    (void) signal(SIGPIPE, SIG_DFL);
}

static void test_proc_spawn_wait_kill(void)
{
    const char *const argv[] = {"/bin/sleep", "30", NULL};
    const char *const missing_argv[] = {"/nonexistent/og-prog", NULL};
    struct proc_spec spec = test_spec(argv);
    struct errbuf eb = {{0}};
    pid_t pid = -1;
    int status = 0;

    CU_ASSERT_EQUAL(proc_spawn(&spec, &pid, &eb), 0);
    CU_ASSERT_TRUE(pid > 1);
    if (pid <= 1) {
        return;
    }
    CU_ASSERT_TRUE(proc_is_alive(pid));
    CU_ASSERT_EQUAL(getpgid(pid), pid); /* own session and group */
    CU_ASSERT_EQUAL(proc_wait(pid, 50, &status), -ETIMEDOUT);
    CU_ASSERT_EQUAL(proc_wait(pid, 0, &status), -ETIMEDOUT);
    CU_ASSERT_EQUAL(proc_kill_group(pid, 1000), 0);
    CU_ASSERT_EQUAL(proc_wait(pid, 2000, &status), 0);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CU_ASSERT_EQUAL(proc_wait(pid, 0, &status), -ECHILD);
    CU_ASSERT_EQUAL(proc_kill_group(pid, 100), 0); /* gone already */
    if (proc_is_alive(pid)) {
        (void) kill(pid, SIGKILL);
        (void) proc_wait(pid, 2000, &status);
    }

    spec = test_spec(missing_argv);
    CU_ASSERT_EQUAL(proc_spawn(&spec, &pid, &eb), -ENOENT);
    spec.stdin_data = "x";
    CU_ASSERT_EQUAL(proc_spawn(&spec, &pid, &eb), -EINVAL);
    CU_ASSERT_EQUAL(proc_kill_group(1, 0), -EINVAL);
    CU_ASSERT_EQUAL(proc_kill_group(getpgrp(), 0), -EINVAL);
    CU_ASSERT_FALSE(proc_is_alive(0));
    CU_ASSERT_FALSE(proc_is_alive(-1));
}

/* Waits (bounded) for path to appear. */
static bool test_wait_file(const char *path, uint64_t timeout_ms)
{
    uint64_t deadline = clock_now_ms() + timeout_ms;

    while (clock_now_ms() < deadline) {
        if (access(path, F_OK) == 0) {
            return true;
        }
        (void) poll(NULL, 0, 10);
    }
    return false;
}

/* Waits (bounded) until our child pid is stopped, without consuming its status. */
static bool test_wait_stopped(pid_t pid, uint64_t timeout_ms)
{
    uint64_t deadline = clock_now_ms() + timeout_ms;

    while (clock_now_ms() < deadline) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t) pid, &si, WSTOPPED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
            return true;
        }
        (void) poll(NULL, 0, 10);
    }
    return false;
}

static void test_proc_kill_group_continues_stopped_group(void)
{
    /* The shell's TERM handler can only run once the group is continued: exit 7 proves the
     * SIGCONT; without it the grace would end in SIGKILL. */
    const char *const argv[] = {
            "/bin/sh", "-c", "trap 'exit 7' TERM; sleep 30 & echo $! > r.tmp; mv r.tmp ready; wait",
            NULL};
    struct proc_spec spec = test_spec(argv);
    struct errbuf eb = {{0}};
    char *ready = xasprintf("%s/ready", test_dir);
    char *data = NULL;
    size_t len = 0;
    pid_t pid = -1;
    int status = 0, sig;

    spec.cwd = test_dir;
    CU_ASSERT_EQUAL(proc_spawn(&spec, &pid, &eb), 0);
    if (pid <= 1) {
        free(ready);
        return;
    }
    CU_ASSERT_TRUE(test_wait_file(ready, 3000));
    CU_ASSERT_EQUAL(kill(-pid, SIGSTOP), 0);
    CU_ASSERT_TRUE(test_wait_stopped(pid, 3000));
    CU_ASSERT_EQUAL(proc_kill_group(pid, 2000), 0);
    CU_ASSERT_EQUAL(proc_wait(pid, 3000, &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    if (proc_wait(pid, 0, &status) == -ETIMEDOUT) {
        (void) kill(-pid, SIGKILL);
        (void) proc_wait(pid, 2000, &status);
    }
    /* The background sleep died with the group: of the SIGTERM it gets once continued (the
     * shell may reap it then), or of the SIGKILL after the leader's exit if that came first. */
    CU_ASSERT_EQUAL(fs_read_file(ready, 64, &data, &len, &eb), 0);
    sig = test_reap_signal(test_parse_pid(data));
    CU_ASSERT_TRUE(sig == SIGTERM || sig == SIGKILL || sig == TEST_REAPED_ELSEWHERE);
    free(data);
    free(ready);
}

static void test_proc_spawn_output_path(void)
{
    const char *const argv[] = {"/bin/sh", "-c", "echo spawned; echo oops >&2; exit 4", NULL};
    struct proc_spec spec = test_spec(argv);
    struct errbuf eb = {{0}};
    char *path = xasprintf("%s/spawn.log", test_dir);
    char *data = NULL;
    size_t len = 0;
    pid_t pid = -1;
    int status = 0;

    spec.output_path = path;
    CU_ASSERT_EQUAL(proc_spawn(&spec, &pid, &eb), 0);
    if (pid > 1) {
        CU_ASSERT_EQUAL(proc_wait(pid, 3000, &status), 0);
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4);
    }
    CU_ASSERT_EQUAL(fs_read_file(path, 4096, &data, &len, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data ? data : "", "spawned\noops\n");
    free(data);
    free(path);
}

static void test_proc_status_describe_and_ops(void)
{
    const char *const argv[] = {"/bin/echo", "via ops", NULL};
    struct proc_spec spec = test_spec(argv);
    struct proc_result res;
    char buf[32];

    CU_ASSERT_EQUAL(proc_exit_status_describe(3 << 8, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "exit 3");
    CU_ASSERT_EQUAL(proc_exit_status_describe(SIGKILL, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "signal 9");
    CU_ASSERT_EQUAL(proc_exit_status_describe(3 << 8, buf, 4), -ENOBUFS);
    CU_ASSERT_STRING_EQUAL(buf, "exi");

    CU_ASSERT_EQUAL(proc_real.run(&spec, &res, NULL, proc_real.data), 0);
    CU_ASSERT_STRING_EQUAL(res.out, "via ops\n");
    proc_result_done(&res);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"exit codes", test_proc_exit_codes},
            {"captures both streams", test_proc_captures_both_streams},
            {"capture cap drains without deadlock", test_proc_capture_cap_drains_without_deadlock},
            {"timeout kills group and grandchild", test_proc_timeout_kills_group_and_grandchild},
            {"timeout escalates to SIGKILL", test_proc_timeout_escalates_to_sigkill},
            {"timeout of a stopped child", test_proc_timeout_of_stopped_child},
            {"exit ends capture despite background holder",
             test_proc_exit_ends_capture_despite_background_holder},
            {"exec failures", test_proc_exec_failures},
            {"env, cwd, stdin", test_proc_env_cwd_stdin},
            {"large stdin and early exit", test_proc_large_stdin_and_early_exit},
            {"output path appends", test_proc_output_path_appends},
            {"switches credentials", test_proc_switches_credentials},
            {"child signals are default", test_proc_child_signals_are_default},
            {"spawn, wait, kill", test_proc_spawn_wait_kill},
            {"kill group continues a stopped group", test_proc_kill_group_continues_stopped_group},
            {"spawn output path", test_proc_spawn_output_path},
            {"status describe and ops", test_proc_status_describe_and_ops},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("proc", tests, test_proc_init, test_proc_cleanup);
}

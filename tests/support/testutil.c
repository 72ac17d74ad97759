/*
 * tests/support/testutil.c
 *
 * Layer: edge (test support). See testutil.h. Processes are started with fork/execve and an
 * argument array, never a shell; exec failures come back through a close-on-exec pipe so a
 * bad path is an error of tu_spawn rather than a child that dies later.
 */
#include "tests/support/testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/str.h"

#define TU_RMTREE_MAX_DEPTH 64
#define TU_READ_FILE_MAX    (64u * 1024u * 1024u)
#define TU_WAIT_STEP_MS     10

extern char **environ;

uint64_t tu_now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

void tu_sleep_ms(uint64_t ms)
{
    uint64_t deadline = tu_now_ms() + ms;
    uint64_t now;

    /* poll() returns early on signals; at most a few rounds then. */
    for (int i = 0; i < 1000 && (now = tu_now_ms()) < deadline; i++) {
        (void) poll(NULL, 0, (int) (deadline - now));
    }
}

int tu_free_port(const char *host, uint16_t *ret)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd, r = 0;

    if (!host || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        return -EINVAL;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
        r = -errno;
    } else {
        *ret = ntohs(sa.sin_port);
    }
    (void) close(fd);
    return r;
}

bool tu_wait_until(bool (*pred)(void *), void *arg, uint64_t timeout_ms, uint64_t step_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    if (step_ms == 0) {
        step_ms = 1;
    }
    for (;;) {
        uint64_t now;

        if (pred(arg)) {
            return true;
        }
        now = tu_now_ms();
        if (now >= deadline) {
            return false;
        }
        tu_sleep_ms(deadline - now < step_ms ? deadline - now : step_ms);
    }
}

/* In the child of tu_spawn: never returns; reports an exec failure's errno through errfd. */
static void spawn_child(const char *const argv[], const char *log_path, int (*in_child)(void *),
                        void *arg, int errfd)
{
    sigset_t none;
    int fd, e;

    (void) sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    (void) setsid();
    if (in_child) {
        e = in_child(arg);
        if (e < 0) {
            errno = -e;
            goto fail;
        }
    }
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
        goto fail;
    }
    if (log_path) {
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
            goto fail;
        }
    }
    (void) execve(argv[0], (char *const *) argv, environ);
fail:
    e = errno;
    (void) !write(errfd, &e, sizeof(e));
    _exit(127);
}

int tu_spawn(const char *const argv[], const char *log_path, pid_t *ret_pid)
{
    return tu_spawn_with(argv, log_path, NULL, NULL, ret_pid);
}

int tu_spawn_with(const char *const argv[], const char *log_path, int (*in_child)(void *),
                  void *arg, pid_t *ret_pid)
{
    int pfd[2], e = 0;
    ssize_t n;
    pid_t pid;

    if (!argv || !argv[0]) {
        return -EINVAL;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        e = errno;
        (void) close(pfd[0]);
        (void) close(pfd[1]);
        return -e;
    }
    if (pid == 0) {
        (void) close(pfd[0]);
        spawn_child(argv, log_path, in_child, arg, pfd[1]);
    }
    (void) close(pfd[1]);
    /* EOF means execve succeeded (the pipe closed on exec); 4 bytes are the child's errno. */
    do {
        n = read(pfd[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    (void) close(pfd[0]);
    if (n == (ssize_t) sizeof(e)) {
        (void) tu_wait_exit(pid, 5000, NULL);
        return -e;
    }
    *ret_pid = pid;
    return 0;
}

int tu_wait_exit(pid_t pid, uint64_t timeout_ms, int *ret_status)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    int st = 0;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid) {
            if (ret_status) {
                *ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
        if (tu_now_ms() >= deadline) {
            return -ETIMEDOUT;
        }
        tu_sleep_ms(TU_WAIT_STEP_MS);
    }
}

/* Waits for a process that is not our child to disappear; true when it did. */
static bool pid_gone(void *arg)
{
    return !tu_pid_alive(*(pid_t *) arg);
}

/* Signals pid's group when pid leads one, else pid alone. */
static int signal_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) == 0) {
        return 0;
    }
    if (kill(pid, sig) == 0 || errno == ESRCH) {
        return 0;
    }
    return -errno;
}

int tu_kill_wait(pid_t pid, int sig, uint64_t timeout_ms)
{
    int r;

    if (pid <= 0) {
        return -EINVAL;
    }
    r = signal_group(pid, sig);
    if (r < 0) {
        return r;
    }
    r = tu_wait_exit(pid, timeout_ms, NULL);
    if (r == -ECHILD) {
        r = tu_wait_until(pid_gone, &pid, timeout_ms, TU_WAIT_STEP_MS) ? 0 : -ETIMEDOUT;
    }
    if (r != -ETIMEDOUT) {
        return r;
    }
    (void) signal_group(pid, SIGKILL);
    if (tu_wait_exit(pid, 5000, NULL) == -ECHILD) {
        (void) tu_wait_until(pid_gone, &pid, 5000, TU_WAIT_STEP_MS);
    }
    return -ETIMEDOUT;
}

int tu_proc_stat(pid_t pid, char *ret_state, pid_t *ret_pgrp, char *comm, size_t comm_size)
{
    char path[64], buf[512];
    char *open_paren, *close_paren;
    char state = '?';
    int ppid = 0, pgrp = 0;
    ssize_t n;
    int fd;

    (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    (void) close(fd);
    if (n <= 0) {
        return n < 0 ? -errno : -ENOENT;
    }
    buf[n] = '\0';
    /* "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses. */
    open_paren = strchr(buf, '(');
    close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren ||
        sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) {
        return -EINVAL;
    }
    if (ret_state) {
        *ret_state = state;
    }
    if (ret_pgrp) {
        *ret_pgrp = (pid_t) pgrp;
    }
    if (comm && comm_size > 0) {
        size_t len = (size_t) (close_paren - open_paren - 1);

        if (len >= comm_size) {
            len = comm_size - 1;
        }
        memcpy(comm, open_paren + 1, len);
        comm[len] = '\0';
    }
    return 0;
}

bool tu_pid_alive(pid_t pid)
{
    char state = '?';

    if (pid <= 0) {
        return false;
    }
    if (kill(pid, 0) < 0 && errno != EPERM) {
        return false;
    }
    if (tu_proc_stat(pid, &state, NULL, NULL, 0) < 0) {
        return false;
    }
    return state != 'Z' && state != 'X';
}

int tu_mkdtemp(char *buf, size_t size)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (!base || !*base) {
        base = "/tmp";
    }
    n = snprintf(buf, size, "%s/og-test-XXXXXX", base);
    if (n < 0 || (size_t) n >= size) {
        return -ENAMETOOLONG;
    }
    if (!mkdtemp(buf)) {
        return -errno;
    }
    return 0;
}

/* Removes the entry name in dirfd, recursing into directories; 0 or the first -errno. */
static int rmtree_at(int dirfd, const char *name, int depth)
{
    DIR *d;
    struct dirent *de;
    int fd, r = 0;

    if (depth > TU_RMTREE_MAX_DEPTH) {
        return -ELOOP;
    }
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        if (errno != ENOTDIR && errno != ELOOP) {
            return -errno;
        }
        /* Not a directory (or a symbolic link): unlink the entry itself. */
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    }
    d = fdopendir(fd);
    if (!d) {
        r = -errno;
        (void) close(fd);
        return r;
    }
    while ((de = readdir(d))) {
        int k;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
            k = rmtree_at(fd, de->d_name, depth + 1);
        } else {
            k = unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT ? -errno : 0;
        }
        if (k < 0 && r == 0) {
            r = k;
        }
    }
    (void) closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0) {
        r = -errno;
    }
    return r;
}

int tu_rmtree(const char *path)
{
    if (!path || !*path) {
        return -EINVAL;
    }
    return rmtree_at(AT_FDCWD, path, 0);
}

char *tu_read_file(const char *path)
{
    size_t cap = 4096, len = 0;
    char *buf;
    int fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    buf = xmalloc(cap);
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            if (cap >= TU_READ_FILE_MAX) {
                e = EFBIG;
                goto fail;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            e = errno;
            goto fail;
        }
        if (n == 0) {
            break;
        }
        len += (size_t) n;
    }
    (void) close(fd);
    buf[len] = '\0';
    return buf;
fail:
    free(buf);
    (void) close(fd);
    errno = e;
    return NULL;
}

/* Copies libpq's message (without its trailing newline) into out. */
static void copy_pq_message(char *out, size_t size, const char *msg)
{
    size_t len;

    if (!out || size == 0) {
        return;
    }
    (void) str_copy(out, size, msg ? msg : "");
    len = strlen(out);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r')) {
        out[--len] = '\0';
    }
}

int tu_pg_exec(const char *conninfo, const char *sql, char *first_value, size_t size)
{
    ExecStatusType st;
    PGresult *res;
    PGconn *conn;
    int r = 0;

    conn = PQconnectdb(conninfo);
    if (!conn) {
        return -ENOMEM;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        copy_pq_message(first_value, size, PQerrorMessage(conn));
        PQfinish(conn);
        return -ECONNREFUSED;
    }
    res = PQexec(conn, sql);
    st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        const char *v = "";

        if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
            v = PQgetvalue(res, 0, 0);
        }
        if (first_value && size > 0) {
            r = str_copy(first_value, size, v);
        }
    } else {
        copy_pq_message(first_value, size, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        r = -EIO;
    }
    PQclear(res);
    PQfinish(conn);
    return r;
}

int tu_watchdog_start(void (*body)(int read_fd, void *arg), void *arg, int *ret_fd, pid_t *ret_pid)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        int err = errno;
        (void) close(p[0]);
        (void) close(p[1]);
        return -err;
    }
    if (pid == 0) {
        (void) close(p[1]);
        body(p[0], arg);
        _exit(0); /* body must not return; never run the test's own code twice */
    }
    (void) close(p[0]);
    *ret_fd = p[1];
    *ret_pid = pid;
    return 0;
}

/* ---- a watchdog for a test's directory and the programs it started ---- */

#define TU_SWEEP_ROUNDS 50

/* SIGCONT and SIGKILL every process working under dir, until none is left (bounded). */
void tu_sweep_dir(const char *dir)
{
    size_t dlen = strlen(dir);

    for (int round = 0; round < TU_SWEEP_ROUNDS; round++) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        if (!d) {
            return;
        }
        while ((de = readdir(d)) != NULL) {
            char link[64], cwd[PATH_MAX];
            uint32_t pid;
            ssize_t len;

            if (str_to_u32(de->d_name, 2, INT32_MAX, &pid) < 0 || (pid_t) pid == getpid()) {
                continue;
            }
            (void) snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
            len = readlink(link, cwd, sizeof(cwd) - 1);
            if (len <= 0) {
                continue;
            }
            cwd[len] = '\0';
            if (strncmp(cwd, dir, dlen) != 0 || (cwd[dlen] != '/' && cwd[dlen] != '\0')) {
                continue;
            }
            (void) kill((pid_t) pid, SIGCONT);
            (void) kill((pid_t) pid, SIGKILL);
            n++;
        }
        closedir(d);
        if (n == 0) {
            return;
        }
        tu_sleep_ms(100);
    }
}

/* The watchdog: reads pids until EOF (the test is gone), then kills them and cleans up. */
static void tu_dir_watchdog(int fd, void *arg)
{
    const char *dir = arg;
    pid_t pids[256];
    size_t n = 0;
    char buf[64];
    size_t len = 0;

    (void) setsid();
    (void) chdir("/");
    for (int other = 3; other < 1024; other++) {
        if (other != fd) {
            (void) close(other);
        }
    }
    for (;;) {
        ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
        char *nl;

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        len += (size_t) k;
        buf[len] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
            uint32_t pid;

            *nl = '\0';
            if (str_to_u32(buf, 2, INT32_MAX, &pid) == 0 && n < 256) {
                pids[n++] = (pid_t) pid;
            }
            len -= (size_t) (nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len >= sizeof(buf) - 1) {
            len = 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        (void) kill(-pids[i], SIGCONT);
        (void) kill(pids[i], SIGCONT);
        (void) kill(-pids[i], SIGKILL);
        (void) kill(pids[i], SIGKILL);
    }
    tu_sweep_dir(dir);
    if (!getenv("OG_TEST_KEEP")) {
        (void) tu_rmtree(dir);
    }
    _exit(0);
}

int tu_dir_watchdog_start(const char *dir, int *ret_fd, pid_t *ret_pid)
{
    return tu_watchdog_start(tu_dir_watchdog, (void *) dir, ret_fd, ret_pid);
}

void tu_dir_watchdog_add(int fd, pid_t pid)
{
    char line[32];

    (void) snprintf(line, sizeof(line), "%d\n", (int) pid);
    if (fd >= 0) {
        (void) !write(fd, line, strlen(line));
    }
}

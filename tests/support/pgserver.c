/*
 * tests/support/pgserver.c
 *
 * Layer: edge (test support). See pgserver.h. initdb and pg_ctl run through fork/execve with
 * argument arrays and a fixed environment, switched to the unprivileged user when we are
 * root, each with an outer timeout (pg_ctl's own -t is not enough: it can hang before it
 * starts counting). Waits poll on CLOCK_MONOTONIC deadlines.
 *
 * The watchdog: a grandchild of the test (so it is outside the test's process tree and
 * survives ctest killing that tree on a timeout) in its own session, holding only the read
 * end of a pipe whose write end stays with the test process. "q" on the pipe means the
 * server was cleaned up normally; EOF means the test process is gone, however it died: the
 * watchdog then kills the postmaster named in data/postmaster.pid, removes the server's
 * System V segment and the directory, and exits.
 */
#include "tests/support/pgserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/str.h"
#include "tests/support/testutil.h"

#define PG_DEFAULT_BINDIR       "/usr/lib/postgresql/15/bin"
#define PG_DEFAULT_USER         "ogtest"
#define PG_MAX_SERVERS          16
#define PG_PORT_ATTEMPTS        10
#define PG_INITDB_TIMEOUT_MS    120000
#define PG_CTL_START_TIMEOUT_MS 45000 /* pg_ctl -t 30 plus margin */
#define PG_CTL_STOP_TIMEOUT_MS  20000 /* pg_ctl -t 10 plus margin */
#define PG_READY_TIMEOUT_MS     30000
#define PG_KILL_TIMEOUT_MS      5000
#define PG_WATCHDOG_MAX_MS      (6ull * 3600 * 1000) /* a test never runs this long */
#define PG_STEP_MS              50

/* A copy of every running server, so exit and signal paths need no pointer into the test. */
struct registry_slot {
    bool used;
    struct pgserver pg;
};

static struct registry_slot registry[PG_MAX_SERVERS];
/* What the signal handler reads: postmaster pid and the process that started it. */
static volatile sig_atomic_t reg_pid[PG_MAX_SERVERS];
static volatile sig_atomic_t reg_owner[PG_MAX_SERVERS];

static const int cleanup_signals[] = {SIGTERM, SIGINT, SIGABRT};
#define N_CLEANUP_SIGNALS (sizeof(cleanup_signals) / sizeof(cleanup_signals[0]))
static struct sigaction old_actions[N_CLEANUP_SIGNALS];
static bool handlers_installed;

/* The fixed environment of initdb and pg_ctl: nothing of the test's PG* variables leaks in. */
static const char *const child_env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", NULL};

static int fail(char *err, size_t errsize, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errsize, int r, const char *fmt, ...)
{
    va_list ap;

    if (err && errsize > 0) {
        va_start(ap, fmt);
        (void) vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* Appends " | log: <last bytes of path>" to err, newlines folded, when the file has text. */
static void append_log_tail(char *err, size_t errsize, const char *path)
{
    char *text = tu_read_file(path);
    size_t len, used;
    const char *tail;

    if (!text || !err || errsize == 0) {
        free(text);
        return;
    }
    len = strlen(text);
    tail = len > 600 ? text + len - 600 : text;
    for (char *p = text; *p; p++) {
        if (*p == '\n') {
            *p = ' ';
        }
    }
    used = strlen(err);
    if (*tail && used + 1 < errsize) {
        (void) snprintf(err + used, errsize - used, " | %s: %s", path, tail);
    }
    free(text);
}

const char *pgserver_bindir(void)
{
    const char *dir = getenv("OG_PG_BINDIR");

    return dir && *dir ? dir : PG_DEFAULT_BINDIR;
}

int pgserver_run_user(int *ret_uid, int *ret_gid)
{
    const char *name = getenv("OG_TEST_PGUSER");
    struct passwd pw, *found = NULL;
    char buf[4096];
    int r;

    if (!name || !*name) {
        name = PG_DEFAULT_USER;
    }
    r = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
    if (r != 0) {
        return -r;
    }
    if (!found) {
        return -ENOENT;
    }
    *ret_uid = (int) pw.pw_uid;
    *ret_gid = (int) pw.pw_gid;
    return 0;
}

/* ---- registry, exit and signal cleanup ---- */

static int registry_find(const char *dir)
{
    for (int i = 0; i < PG_MAX_SERVERS; i++) {
        if (registry[i].used && reg_owner[i] == (sig_atomic_t) getpid() &&
            !strcmp(registry[i].pg.dir, dir)) {
            return i;
        }
    }
    return -1;
}

/* Adds or refreshes pg's copy; slots inherited from a parent process count as free. */
static int registry_put(const struct pgserver *pg)
{
    int slot = registry_find(pg->dir);

    for (int i = 0; slot < 0 && i < PG_MAX_SERVERS; i++) {
        if (!registry[i].used || reg_owner[i] != (sig_atomic_t) getpid()) {
            slot = i;
        }
    }
    if (slot < 0) {
        return -ENOSPC;
    }
    reg_pid[slot] = 0;
    registry[slot].pg = *pg;
    registry[slot].used = true;
    reg_owner[slot] = (sig_atomic_t) getpid();
    reg_pid[slot] = (sig_atomic_t) pg->postmaster_pid;
    return 0;
}

static void registry_drop(int slot)
{
    reg_pid[slot] = 0;
    reg_owner[slot] = 0;
    registry[slot].used = false;
}

/* Async-signal-safe: SIGKILL our postmasters, then die of the signal as we would have. */
static void on_fatal_signal(int sig)
{
    int saved_errno = errno;
    sig_atomic_t self = (sig_atomic_t) getpid();

    for (int i = 0; i < PG_MAX_SERVERS; i++) {
        if (reg_owner[i] == self && reg_pid[i] > 0) {
            (void) kill((pid_t) reg_pid[i], SIGKILL);
        }
    }
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++) {
        if (cleanup_signals[i] == sig) {
            (void) sigaction(sig, &old_actions[i], NULL);
        }
    }
    (void) raise(sig); /* delivered when the handler returns */
    errno = saved_errno;
}

static void stop_all_at_exit(void)
{
    for (int i = 0; i < PG_MAX_SERVERS; i++) {
        if (registry[i].used && reg_owner[i] == (sig_atomic_t) getpid()) {
            struct pgserver copy = registry[i].pg;

            (void) pgserver_stop(&copy);
        }
    }
}

static void install_handlers_once(void)
{
    struct sigaction sa;

    if (handlers_installed) {
        return;
    }
    handlers_installed = true;
    (void) atexit(stop_all_at_exit);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    (void) sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++) {
        if (sigaction(cleanup_signals[i], NULL, &old_actions[i]) < 0 ||
            old_actions[i].sa_handler == SIG_IGN) {
            continue; /* an ignored signal stays ignored */
        }
        (void) sigaction(cleanup_signals[i], &sa, NULL);
    }
}

/* ---- killing a postmaster (shared by pgserver_stop and the watchdog) ---- */

/* Reads the postmaster's pid and its System V segment (key, id) from data/postmaster.pid. */
static int read_pidfile(const char *datadir, pid_t *ret_pid, unsigned long *ret_key,
                        unsigned long *ret_shmid)
{
    char path[PATH_MAX + 32];
    char *text, *line;
    int pid = 0, r = -EINVAL;

    *ret_key = *ret_shmid = 0;
    (void) snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
    text = tu_read_file(path);
    if (!text) {
        return -errno;
    }
    line = text;
    /* Line 1 is the pid, line 7 "key shmid" (src/include/miscadmin.h LOCK_FILE_LINE_*). */
    for (int n = 1; line && n <= 7; n++) {
        if (n == 1 && sscanf(line, "%d", &pid) == 1 && pid > 0) {
            r = 0;
        }
        if (n == 7 && sscanf(line, "%lu %lu", ret_key, ret_shmid) != 2) {
            *ret_key = *ret_shmid = 0;
        }
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    free(text);
    *ret_pid = (pid_t) pid;
    return r;
}

static bool is_postgres(pid_t pid)
{
    char comm[32], state = '?';

    if (tu_proc_stat(pid, &state, NULL, comm, sizeof(comm)) < 0) {
        return false;
    }
    return state != 'Z' && state != 'X' && !strcmp(comm, "postgres");
}

/*
 * SIGKILLs the postmaster (pid, or the one data/postmaster.pid names) with its process group
 * (pg_ctl makes it a session leader, so the group holds its backends),
 * waits for it to go and removes its System V segment. 0 when none is left, -ETIMEDOUT.
 */
static int kill_postmaster(const char *datadir, pid_t pid, uint64_t timeout_ms)
{
    unsigned long key = 0, shmid = 0;
    pid_t file_pid = 0;
    struct shmid_ds ds;
    int r = 0;

    if (read_pidfile(datadir, &file_pid, &key, &shmid) == 0 && pid <= 0) {
        pid = file_pid;
    }
    /* The pid may be stale (reused) after a crash: only ever kill a "postgres". */
    if (pid > 0 && is_postgres(pid) && tu_kill_wait(pid, SIGKILL, timeout_ms) == -ETIMEDOUT) {
        r = -ETIMEDOUT;
    }
    /* A postmaster killed alone (signal handler) may leave backends in its group. */
    if (pid > 0 && !tu_pid_alive(pid)) {
        (void) kill(-pid, SIGKILL);
    }
    /* A killed postmaster leaves its small segment behind; ours only if the key matches. */
    if (shmid > 0 && shmctl((int) shmid, IPC_STAT, &ds) == 0 &&
        (unsigned long) ds.shm_perm.__key == key) {
        (void) shmctl((int) shmid, IPC_RMID, NULL);
    }
    return r;
}

/* Removes dir, retrying briefly while an orphaned initdb or backend may still write in it. */
static int remove_dir(const char *dir)
{
    int r = 0;

    for (int i = 0; i < 10; i++) {
        r = tu_rmtree(dir);
        if (r == 0) {
            break;
        }
        tu_sleep_ms(100);
    }
    return r;
}

/* ---- the watchdog ---- */

static void watchdog_detach(int rfd)
{
    struct sigaction sa;
    int fd;

    (void) setsid();
    (void) chdir("/");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD) {
            (void) sigaction(sig, &sa, NULL);
        }
    }
    /* Nothing of the test's: not its output pipes (ctest waits on them), not other pipes. */
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        (void) dup2(fd, STDIN_FILENO);
        (void) dup2(fd, STDOUT_FILENO);
        (void) dup2(fd, STDERR_FILENO);
    }
    if (rfd != 3) {
        (void) dup2(rfd, 3);
    }
    if (close_range(4, ~0u, 0) < 0) {
        for (fd = 4; fd < 65536; fd++) {
            (void) close(fd);
        }
    }
}

static void watchdog_main(int rfd, const char *dir_in, const char *datadir_in)
        __attribute__((noreturn));

static void watchdog_main(int rfd, const char *dir_in, const char *datadir_in)
{
    char dir[PATH_MAX], datadir[PATH_MAX];
    uint64_t deadline = tu_now_ms() + PG_WATCHDOG_MAX_MS;

    (void) str_copy(dir, sizeof(dir), dir_in);
    (void) str_copy(datadir, sizeof(datadir), datadir_in);
    watchdog_detach(rfd);
    for (uint64_t now = tu_now_ms(); now < deadline; now = tu_now_ms()) {
        struct pollfd pfd = {.fd = 3, .events = POLLIN};
        uint64_t left = deadline - now;
        char c;
        ssize_t n;

        if (poll(&pfd, 1, left > 3600000 ? 3600000 : (int) left) <= 0) {
            continue;
        }
        n = read(3, &c, 1);
        if (n == 1 && c == 'q') {
            _exit(0); /* cleaned up by pgserver_stop */
        }
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            break; /* the test process is gone */
        }
    }
    /* The postmaster may still be writing its pid file if the test died during start. */
    for (int i = 0; i < 5; i++) {
        pid_t pid = 0;
        unsigned long key, shmid;

        if (read_pidfile(datadir, &pid, &key, &shmid) == 0 || access(datadir, F_OK) < 0) {
            break;
        }
        tu_sleep_ms(200);
    }
    (void) kill_postmaster(datadir, 0, PG_KILL_TIMEOUT_MS);
    (void) remove_dir(dir);
    _exit(0);
}

/* Double fork: the watchdog is reparented at once, out of the test's process tree. */
static int watchdog_start(struct pgserver *pg, char *err, size_t errsize)
{
    int wd[2], info[2];
    pid_t mid, w = -1;
    struct pollfd pfd;

    if (pipe2(wd, O_CLOEXEC) < 0) {
        return fail(err, errsize, -errno, "pipe: %s", strerror(errno));
    }
    if (pipe2(info, O_CLOEXEC) < 0) {
        int r = -errno;

        (void) close(wd[0]);
        (void) close(wd[1]);
        return fail(err, errsize, r, "pipe: %s", strerror(-r));
    }
    mid = fork();
    if (mid == 0) {
        (void) close(wd[1]);
        (void) close(info[0]);
        w = fork();
        if (w == 0) {
            watchdog_main(wd[0], pg->dir, pg->datadir);
        }
        (void) !write(info[1], &w, sizeof(w));
        _exit(w < 0 ? 1 : 0);
    }
    (void) close(wd[0]);
    (void) close(info[1]);
    pg->watchdog_fd = wd[1];
    pfd = (struct pollfd){.fd = info[0], .events = POLLIN};
    if (mid > 0 && poll(&pfd, 1, 5000) == 1 && read(info[0], &w, sizeof(w)) != sizeof(w)) {
        w = -1;
    }
    (void) close(info[0]);
    if (mid > 0) {
        (void) tu_wait_exit(mid, 5000, NULL);
    }
    if (mid < 0 || w <= 0) {
        return fail(err, errsize, -ECHILD, "could not start the watchdog process");
    }
    pg->watchdog_pid = w;
    return 0;
}

/* ---- running initdb and pg_ctl ---- */

static void run_child(const struct pgserver *pg, const char *const argv[], const char *log_path)
        __attribute__((noreturn));

static void run_child(const struct pgserver *pg, const char *const argv[], const char *log_path)
{
    sigset_t none;
    int fd;

    (void) sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    (void) setsid(); /* its own group, so a timeout kills initdb's children too */
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void) dup2(fd, STDIN_FILENO);
    }
    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void) dup2(fd, STDOUT_FILENO);
        (void) dup2(fd, STDERR_FILENO);
    }
    if (chdir(pg->dir) < 0) {
        dprintf(STDERR_FILENO, "chdir %s: %s\n", pg->dir, strerror(errno));
        _exit(126);
    }
    if (pg->as_user && (setgroups(1, &pg->gid) < 0 || setgid(pg->gid) < 0 || setuid(pg->uid) < 0)) {
        dprintf(STDERR_FILENO, "switching to uid %d: %s\n", (int) pg->uid, strerror(errno));
        _exit(126);
    }
    (void) execve(argv[0], (char *const *) argv, (char *const *) child_env);
    dprintf(STDERR_FILENO, "execve %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/*
 * Runs argv (as the server's user) with output appended to dir/<log_name>; 0 with
 * *ret_status its exit code, or -errno (-ETIMEDOUT: killed after timeout_ms).
 */
static int pg_run(const struct pgserver *pg, const char *const argv[], const char *log_name,
                  uint64_t timeout_ms, int *ret_status, char *err, size_t errsize)
{
    char log_path[PATH_MAX + 64];
    pid_t pid;
    int r;

    (void) snprintf(log_path, sizeof(log_path), "%s/%s", pg->dir, log_name);
    pid = fork();
    if (pid < 0) {
        return fail(err, errsize, -errno, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        run_child(pg, argv, log_path);
    }
    r = tu_wait_exit(pid, timeout_ms, ret_status);
    if (r == -ETIMEDOUT) {
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
        (void) tu_wait_exit(pid, PG_KILL_TIMEOUT_MS, NULL);
        r = fail(err, errsize, r, "%s timed out after %llu ms", argv[0],
                 (unsigned long long) timeout_ms);
        append_log_tail(err, errsize, log_path);
    } else if (r < 0) {
        r = fail(err, errsize, r, "waiting for %s: %s", argv[0], strerror(-r));
    } else if (*ret_status != 0) {
        (void) fail(err, errsize, 0, "%s exited with %d", argv[0], *ret_status);
        append_log_tail(err, errsize, log_path);
    }
    return r;
}

/* ---- start steps ---- */

/* True when every directory on path's way is searchable by uid (root's $TMPDIR may not be). */
static bool searchable_by(const char *path, uid_t uid)
{
    char buf[PATH_MAX];
    struct stat st;

    if (str_copy(buf, sizeof(buf), path) < 0) {
        return false;
    }
    for (int i = 0; i < PATH_MAX && buf[0]; i++) {
        char *slash;

        if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
            return false;
        }
        if (!(st.st_mode & S_IXOTH) && st.st_uid != uid) {
            return false;
        }
        slash = strrchr(buf, '/');
        if (!slash) {
            break;
        }
        *slash = '\0';
    }
    return true;
}

static int make_dir(struct pgserver *pg, char *err, size_t errsize)
{
    const char *base = getenv("TMPDIR");
    struct sockaddr_un sun;
    int n;

    if (!base || !*base || (pg->as_user && !searchable_by(base, pg->uid))) {
        base = "/tmp";
    }
    n = snprintf(pg->dir, sizeof(pg->dir), "%s/og-pg-XXXXXX", base);
    if (n < 0 || (size_t) n >= sizeof(pg->dir) ||
        strlen(pg->dir) + sizeof("/.s.PGSQL.65535") > sizeof(sun.sun_path)) {
        return fail(err, errsize, -ENAMETOOLONG, "temp dir under %s too long for a socket", base);
    }
    if (strspn(pg->dir, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") !=
        strlen(pg->dir)) {
        return fail(err, errsize, -EINVAL, "temp dir %s: only [A-Za-z0-9/._+-] allowed", pg->dir);
    }
    if (!mkdtemp(pg->dir)) {
        pg->dir[0] = '\0';
        return fail(err, errsize, -errno, "mkdtemp under %s: %s", base, strerror(errno));
    }
    (void) snprintf(pg->datadir, sizeof(pg->datadir), "%s/data", pg->dir);
    (void) snprintf(pg->logpath, sizeof(pg->logpath), "%s/postgresql.log", pg->dir);
    return 0;
}

static int run_initdb(struct pgserver *pg, char *err, size_t errsize)
{
    char initdb[PATH_MAX];
    int status = 0, r;

    (void) snprintf(initdb, sizeof(initdb), "%s/initdb", pgserver_bindir());
    const char *const argv[] = {
            initdb, "-D", pg->datadir, "-U",         "postgres", "--auth=trust",
            "-k",   "-E", "UTF8",      "--locale=C", "-N", /* no fsync: throw-away data */
            NULL};
    r = pg_run(pg, argv, "initdb.log", PG_INITDB_TIMEOUT_MS, &status, err, errsize);
    if (r == 0 && status != 0) {
        r = -EIO;
    }
    return r;
}

/* Lets every loopback address in (127.0.0.2 and friends); initdb only names 127.0.0.1/32. */
static int configure_hba(struct pgserver *pg, char *err, size_t errsize)
{
    static const char lines[] = "host all all 127.0.0.0/8 trust\n"
                                "host replication all 127.0.0.0/8 trust\n";
    char path[PATH_MAX + 32];
    ssize_t n;
    int fd, r = 0;

    (void) snprintf(path, sizeof(path), "%s/pg_hba.conf", pg->datadir);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        return fail(err, errsize, -errno, "open %s: %s", path, strerror(errno));
    }
    n = write(fd, lines, sizeof(lines) - 1);
    if (n != (ssize_t) sizeof(lines) - 1) {
        r = fail(err, errsize, n < 0 ? -errno : -EIO, "write %s failed", path);
    }
    (void) close(fd);
    return r;
}

/* True when the log, from offset on, says the port was taken meanwhile. */
static bool log_says_port_taken(const char *path, size_t offset)
{
    char *text = tu_read_file(path);
    bool taken = false;

    if (text && strlen(text) >= offset) {
        taken = strstr(text + offset, "Address already in use") ||
                strstr(text + offset, "could not create any TCP/IP sockets");
    }
    free(text);
    return taken;
}

static size_t file_length(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (size_t) st.st_size : 0;
}

static int start_postmaster(struct pgserver *pg, char *err, size_t errsize)
{
    char pg_ctl[PATH_MAX], opts[PATH_MAX + 256];
    const char *const argv[] = {pg_ctl, "-D", pg->datadir, "-l", pg->logpath, "-w",
                                "-t",   "30", "-o",        opts, "start",     NULL};
    int status = 0, r = -EADDRINUSE;

    (void) snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", pgserver_bindir());
    for (int attempt = 0; attempt < PG_PORT_ATTEMPTS; attempt++) {
        size_t offset = file_length(pg->logpath);

        r = tu_free_port(pg->host, &pg->port);
        if (r < 0) {
            return fail(err, errsize, r, "no free port on %s: %s", pg->host, strerror(-r));
        }
        /* pg_ctl hands -o to /bin/sh: make_dir allowed only shell-safe characters. */
        (void) snprintf(opts, sizeof(opts),
                        "-c listen_addresses=%s -c port=%u -c unix_socket_directories=%s "
                        "-c fsync=off",
                        pg->host, (unsigned) pg->port, pg->dir);
        r = pg_run(pg, argv, "pg_ctl.log", PG_CTL_START_TIMEOUT_MS, &status, err, errsize);
        if (r < 0) {
            return r;
        }
        if (status == 0) {
            return 0;
        }
        if (!log_says_port_taken(pg->logpath, offset)) {
            append_log_tail(err, errsize, pg->logpath);
            return -EIO;
        }
    }
    return fail(err, errsize, -EADDRINUSE, "no port on %s after %d attempts", pg->host,
                PG_PORT_ATTEMPTS);
}

static int wait_ready(struct pgserver *pg, char *err, size_t errsize)
{
    uint64_t deadline = tu_now_ms() + PG_READY_TIMEOUT_MS;
    PGPing ping = PQPING_NO_RESPONSE;

    while (tu_now_ms() < deadline) {
        ping = PQping(pg->conninfo);
        if (ping == PQPING_OK) {
            return 0;
        }
        if (ping == PQPING_NO_ATTEMPT) {
            break;
        }
        tu_sleep_ms(PG_STEP_MS);
    }
    (void) fail(err, errsize, 0, "server at %s:%u not ready (PQping %d)", pg->host,
                (unsigned) pg->port, (int) ping);
    append_log_tail(err, errsize, pg->logpath);
    return ping == PQPING_NO_ATTEMPT ? -EINVAL : -ETIMEDOUT;
}

static int check_host(const char *host, char *err, size_t errsize)
{
    struct in_addr a;

    if (inet_pton(AF_INET, host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
        return fail(err, errsize, -EINVAL, "host %s is not an IPv4 loopback address", host);
    }
    return 0;
}

static int choose_user(struct pgserver *pg, char *err, size_t errsize)
{
    int uid, gid, r;

    if (geteuid() != 0) {
        return 0;
    }
    r = pgserver_run_user(&uid, &gid);
    if (r < 0) {
        return fail(err, errsize, r,
                    "PostgreSQL refuses root and user %s is missing (%s); run scripts/deps.sh",
                    getenv("OG_TEST_PGUSER") ? getenv("OG_TEST_PGUSER") : PG_DEFAULT_USER,
                    strerror(-r));
    }
    pg->as_user = true;
    pg->uid = (uid_t) uid;
    pg->gid = (gid_t) gid;
    return 0;
}

/* Steps after the directory exists and is registered; any failure leaves cleanup to stop. */
static int start_steps(struct pgserver *pg, char *err, size_t errsize)
{
    unsigned long key, shmid;
    int r;

    if (pg->as_user && chown(pg->dir, pg->uid, pg->gid) < 0) {
        return fail(err, errsize, -errno, "chown %s: %s", pg->dir, strerror(errno));
    }
    r = watchdog_start(pg, err, errsize);
    if (r == 0) {
        r = registry_put(pg);
    }
    if (r == 0) {
        r = run_initdb(pg, err, errsize);
    }
    if (r == 0) {
        r = configure_hba(pg, err, errsize);
    }
    if (r == 0) {
        r = start_postmaster(pg, err, errsize);
    }
    if (r < 0) {
        return r;
    }
    r = read_pidfile(pg->datadir, &pg->postmaster_pid, &key, &shmid);
    if (r < 0) {
        return fail(err, errsize, r, "no pid in %s/postmaster.pid", pg->datadir);
    }
    r = registry_put(pg);
    if (r < 0) {
        return r;
    }
    (void) snprintf(pg->conninfo, sizeof(pg->conninfo),
                    "host=%s port=%u user=postgres dbname=postgres connect_timeout=5", pg->host,
                    (unsigned) pg->port);
    return wait_ready(pg, err, errsize);
}

int pgserver_start(struct pgserver *pg, const char *host, char *err, size_t errsize)
{
    int r;

    memset(pg, 0, sizeof(*pg));
    pg->watchdog_fd = -1;
    if (err && errsize > 0) {
        err[0] = '\0';
    }
    if (!host) {
        host = "127.0.0.1";
    }
    r = check_host(host, err, errsize);
    if (r == 0 && str_copy(pg->host, sizeof(pg->host), host) < 0) {
        r = fail(err, errsize, -EINVAL, "host too long");
    }
    if (r == 0) {
        r = choose_user(pg, err, errsize);
    }
    if (r == 0) {
        r = make_dir(pg, err, errsize);
    }
    if (r < 0) {
        return r;
    }
    install_handlers_once();
    r = registry_put(pg);
    if (r < 0) {
        (void) tu_rmtree(pg->dir);
        return fail(err, errsize, r, "more than %d servers at once", PG_MAX_SERVERS);
    }
    pg->active = true;
    r = start_steps(pg, err, errsize);
    if (r < 0) {
        (void) pgserver_stop(pg);
    }
    return r;
}

/* ---- stop ---- */

int pgserver_stop(struct pgserver *pg)
{
    char pg_ctl[PATH_MAX], pidfile[PATH_MAX + 32], no_err[8];
    int slot, status = 0, r, k;

    if (!pg || !pg->active) {
        return 0;
    }
    pg->active = false;
    slot = registry_find(pg->dir);
    if (slot < 0) {
        return 0; /* stopped through another copy (exit handler) */
    }
    (void) snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", pg->datadir);
    if (access(pidfile, F_OK) == 0) {
        (void) snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", pgserver_bindir());
        const char *const argv[] = {pg_ctl, "-D", pg->datadir, "-m",   "immediate",
                                    "-w",   "-t", "10",        "stop", NULL};
        (void) pg_run(pg, argv, "pg_ctl.log", PG_CTL_STOP_TIMEOUT_MS, &status, no_err,
                      sizeof(no_err));
    }
    r = kill_postmaster(pg->datadir, pg->postmaster_pid, PG_KILL_TIMEOUT_MS);
    k = remove_dir(pg->dir);
    if (r == 0) {
        r = k;
    }
    if (pg->watchdog_fd >= 0) {
        /* All done: tell the watchdog to go. Otherwise EOF makes it try once more. */
        if (r == 0) {
            (void) !write(pg->watchdog_fd, "q", 1);
        }
        (void) close(pg->watchdog_fd);
        pg->watchdog_fd = -1;
    }
    if (pg->watchdog_pid > 0) {
        (void) tu_kill_wait(pg->watchdog_pid, 0, PG_KILL_TIMEOUT_MS);
    }
    registry_drop(slot);
    return r;
}

/*
 * agent/engine_host.c
 *
 * What agent/engine.h reads from the host: the on-disk status (postmaster.pid checked against
 * the process table), the stop escalation down to SIGKILL by pid, the newest server log, and
 * the shutdown checkpoint from pg_controldata.
 *
 * Layer: edge (/proc, signals, files; the controldata parser is pure).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/engine_int.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/str.h"

#define ENGINE_MAX_CHILDREN 4096
#define ENGINE_POLL_STEP_MS 20
#define ENGINE_PIDFILE_MAX  4096
#define ENGINE_CTL_GRACE_MS 5000 /* our deadline beyond pg_ctl's own -t */

/* ---- process table ---- */

static int engine_read_stat(pid_t pid, char *ret_state, pid_t *ret_ppid)
{
    char path[64];
    char *text = NULL;
    size_t len = 0;
    const char *p;
    int r;

    (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    r = fs_read_file(path, 4096, &text, &len, NULL);
    if (r < 0) {
        return r;
    }
    /* "pid (comm) S ppid ...": comm may hold anything, so parse after the last ')'. */
    p = strrchr(text, ')');
    if (!p || sscanf(p + 1, " %c %d", ret_state, ret_ppid) != 2) {
        r = -EINVAL;
    }
    free(text);
    return r;
}

/* True while pid exists and is not a zombie. */
static bool engine_pid_alive(pid_t pid)
{
    char state = '?';
    pid_t ppid = 0;

    if (pid <= 1 || (kill(pid, 0) < 0 && errno == ESRCH)) {
        return false;
    }
    if (engine_read_stat(pid, &state, &ppid) < 0) {
        return kill(pid, 0) == 0 || errno == EPERM;
    }
    return state != 'Z' && state != 'X';
}

/*
 * postmaster.pid names pid: is it really this data directory's postmaster? After a crash the
 * file stays and the pid may be reused, so the process's working directory (the postmaster
 * chdirs to its data directory) must be the data directory. When /proc does not let us look,
 * the pid is believed.
 */
static bool engine_pid_is_postmaster(const struct engine *e, pid_t pid)
{
    char link[64];
    char cwd[PATH_MAX];
    char real[PATH_MAX];
    ssize_t n;

    if (!engine_pid_alive(pid)) {
        return false;
    }
    (void) snprintf(link, sizeof(link), "/proc/%d/cwd", (int) pid);
    n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n < 0) {
        return errno != ENOENT;
    }
    cwd[n] = '\0';
    if (!realpath(e->data_dir, real)) {
        return true;
    }
    return strcmp(cwd, real) == 0;
}

int engine_read_pidfile(const struct engine *e, pid_t *ret_pid)
{
    char path[ENGINE_PATH_MAX + 32];
    char *text = NULL;
    size_t len = 0;
    uint32_t pid = 0;
    int r;

    (void) snprintf(path, sizeof(path), "%s/postmaster.pid", e->data_dir);
    r = fs_read_file(path, ENGINE_PIDFILE_MAX, &text, &len, NULL);
    if (r < 0) {
        return r;
    }
    text[strcspn(text, "\n")] = '\0';
    r = str_to_u32(text, 2, INT32_MAX, &pid);
    free(text);
    if (r < 0) {
        return -EINVAL;
    }
    *ret_pid = (pid_t) pid;
    return 0;
}

int engine_status(struct engine *e, struct engine_status *ret, struct errbuf *eb)
{
    struct engine_status st = {0};
    char old[ENGINE_PATH_MAX];
    pid_t pid = 0;
    int r;

    (void) eb;
    st.data_present = engine_data_is_complete(e);
    st.standby_signal = engine_exists(e->data_dir, "standby.signal");
    r = engine_find_old(e, old, sizeof(old));
    st.rebuild_left = r == 0 && old[0];
    st.copy_incomplete = engine_exists(e->inst->base_dir, ENGINE_COPY_MARKER);
    if (engine_read_pidfile(e, &pid) == 0 && pid != getpid() && engine_pid_is_postmaster(e, pid)) {
        st.running = true;
        st.pid = (int) pid;
    }
    *ret = st;
    return 0;
}

static uint64_t engine_now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/*
 * Waits up to timeout_ms for pid to vanish (exit or zombie). A pidfd (Linux 5.3) turns the
 * wait into one poll; elsewhere short bounded steps.
 */
static bool engine_wait_gone(pid_t pid, uint64_t timeout_ms)
{
    uint64_t deadline = engine_now_ms() + timeout_ms;

#ifdef SYS_pidfd_open
    int fd = (int) syscall(SYS_pidfd_open, pid, 0);

    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now;

        while ((now = engine_now_ms()) < deadline && engine_pid_alive(pid)) {
            int n = poll(&p, 1, (int) (deadline - now));
            if (n >= 0 || errno != EINTR) {
                break; /* exited (readable), deadline, or a poll error */
            }
        }
        close(fd);
        return !engine_pid_alive(pid);
    }
#endif
    while (engine_pid_alive(pid) && engine_now_ms() < deadline) {
        (void) poll(NULL, 0, ENGINE_POLL_STEP_MS);
    }
    return !engine_pid_alive(pid);
}

/* Children of ppid from /proc, at most max of them; returns how many. */
static size_t engine_children(pid_t ppid, pid_t *ret, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    size_t n = 0;

    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        uint32_t pid;
        char state;
        pid_t parent;

        if (str_to_u32(de->d_name, 2, INT32_MAX, &pid) < 0) {
            continue;
        }
        if (engine_read_stat((pid_t) pid, &state, &parent) == 0 && parent == ppid) {
            ret[n++] = (pid_t) pid;
        }
    }
    closedir(d);
    return n;
}

/*
 * Last resort for a postmaster that ignored fast and immediate shutdown (frozen, SIGSTOPped,
 * stuck in the kernel): freeze it so it cannot fork, list its children, then SIGKILL it and
 * each child — PostgreSQL backends lead their own process groups, so the groups too — and
 * SIGCONT everything (a stopped process takes SIGKILL anyway; CONT costs nothing). Killing
 * the children matters: a surviving backend keeps the shared memory attached and the next
 * postmaster refuses to start.
 */
static int engine_kill_postmaster(struct engine *e, pid_t pid, struct errbuf *eb)
{
    pid_t kids[ENGINE_MAX_CHILDREN];
    size_t n;

    if (pid <= 1 || pid == getpid()) {
        return -EINVAL;
    }
    (void) kill(pid, SIGSTOP);
    n = engine_children(pid, kids, ENGINE_MAX_CHILDREN);
    (void) kill(pid, SIGKILL);
    (void) kill(pid, SIGCONT);
    for (size_t i = 0; i < n; i++) {
        (void) kill(-kids[i], SIGKILL);
        (void) kill(kids[i], SIGKILL);
        (void) kill(kids[i], SIGCONT);
    }
    if (!engine_wait_gone(pid, e->t.kill_ms)) {
        errbuf_set(eb, "postmaster %d survived SIGKILL for %llu ms", (int) pid,
                   (unsigned long long) e->t.kill_ms);
        return -ETIMEDOUT;
    }
    for (size_t i = 0; i < n; i++) {
        (void) engine_wait_gone(kids[i], ENGINE_CTL_GRACE_MS);
    }
    return 0;
}

/*
 * A dead postmaster's lock files. Until its parent reaps it, a killed postmaster's pid still
 * answers kill(pid, 0) (a zombie; after an agent restart its parent is no longer us), and the
 * next postmaster would refuse to start ("lock file already exists"). Called only once the
 * postmaster is known dead (engine_status: not running) and its children with it.
 */
void engine_remove_lock_files(struct engine *e)
{
    char path[ENGINE_PATH_MAX + 32];

    (void) snprintf(path, sizeof(path), "%s/postmaster.pid", e->data_dir);
    (void) unlink(path);
    (void) snprintf(path, sizeof(path), "%s/.s.PGSQL.%u.lock", e->run_dir, e->inst->port);
    (void) unlink(path);
    (void) snprintf(path, sizeof(path), "%s/.s.PGSQL.%u", e->run_dir, e->inst->port);
    (void) unlink(path);
}

/* One stop attempt; true when the postmaster is gone afterwards (whatever pg_ctl said). */
static bool engine_stop_attempt(struct engine *e, pid_t pid, const char *mode, uint64_t timeout_ms,
                                struct errbuf *eb)
{
    int r = e->drv->stop(e, mode, timeout_ms, eb);

    /* pg_ctl stop -w returns once postmaster.pid is gone, a moment before the process. */
    return engine_wait_gone(pid, r == 0 ? ENGINE_CTL_GRACE_MS : 0);
}

int engine_stop(struct engine *e, struct errbuf *eb)
{
    struct engine_status st;
    pid_t pid;
    int r;

    r = engine_status(e, &st, eb);
    if (r < 0 || !st.running) {
        return r; /* a missing data directory or a stopped server: done */
    }
    pid = (pid_t) st.pid;
    if (engine_stop_attempt(e, pid, "fast", e->t.stop_ms, eb) ||
        engine_stop_attempt(e, pid, "immediate", e->t.kill_ms, eb)) {
        errbuf_clear(eb);
        return 0;
    }
    r = engine_kill_postmaster(e, pid, eb);
    if (r == 0) {
        engine_remove_lock_files(e);
        errbuf_clear(eb);
    }
    return r;
}

int engine_kill(struct engine *e, struct errbuf *eb)
{
    struct engine_status st;
    int r = engine_status(e, &st, eb);

    if (r < 0 || !st.running) {
        return r;
    }
    r = engine_kill_postmaster(e, (pid_t) st.pid, eb);
    if (r == 0) {
        engine_remove_lock_files(e);
    }
    return r;
}

/* ---- the server log ---- */

#define ENGINE_LOG_TAIL ((long) 64 * 1024)

/* The newest <log>/postgresql-*.log into buf; false when none. */
static bool engine_newest_log(const struct engine *e, char *buf, size_t size)
{
    char pattern[ENGINE_PATH_MAX + 32];
    time_t best = 0;
    glob_t g;
    bool found = false;

    (void) snprintf(pattern, sizeof(pattern), "%s/postgresql-*.log", e->log_dir);
    if (glob(pattern, 0, NULL, &g) != 0) {
        return false;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;

        if (stat(g.gl_pathv[i], &st) == 0 && (!found || st.st_mtime >= best)) {
            best = st.st_mtime;
            found = str_copy(buf, size, g.gl_pathv[i]) == 0;
        }
    }
    globfree(&g);
    return found;
}

bool engine_log_find(const struct engine *e, const char *needle, const char *since, char *line,
                     size_t size)
{
    char path[ENGINE_PATH_MAX + 32];
    char *text;
    size_t n;
    const char *hit = NULL;
    const char *from;
    FILE *f;

    if (!engine_newest_log(e, path, sizeof(path))) {
        return false;
    }
    f = fopen(path, "re");
    if (!f) {
        return false;
    }
    if (fseek(f, -ENGINE_LOG_TAIL, SEEK_END) < 0) {
        rewind(f);
    }
    text = xmalloc((size_t) ENGINE_LOG_TAIL + 1);
    n = fread(text, 1, (size_t) ENGINE_LOG_TAIL, f);
    fclose(f);
    text[n] = '\0';
    from = text;
    for (const char *p = since ? strstr(from, since) : NULL; p; p = strstr(p + 1, since)) {
        from = p;
    }
    for (const char *p = strstr(from, needle); p; p = strstr(p + 1, needle)) {
        hit = p;
    }
    if (hit) {
        const char *start = hit;
        size_t len;

        while (start > from && start[-1] != '\n') {
            start--;
        }
        len = strcspn(start, "\n");
        if (len >= size) {
            len = size - 1;
        }
        memcpy(line, start, len);
        line[len] = '\0';
    }
    free(text);
    return hit != NULL;
}

/* ---- pg_controldata ---- */

/* The value after "<key>:" on a line of pg_controldata output, trimmed, into buf. */
static bool engine_controldata_value(const char *text, const char *key, char *buf, size_t size)
{
    const char *p = strstr(text, key);
    size_t n = 0;

    if (!p || size == 0) {
        return false;
    }
    p += strlen(key);
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    while (p[n] && p[n] != '\n' && n < size - 1) {
        n++;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return n > 0;
}

int engine_parse_controldata(const char *text, uint64_t *ret_lsn)
{
    char state[64], loc[64];
    uint64_t lsn = 0;

    if (!text || !engine_controldata_value(text, "Database cluster state:", state, sizeof(state)) ||
        !engine_controldata_value(text, "Latest checkpoint location:", loc, sizeof(loc))) {
        return -EIO;
    }
    /* "shut down" (a primary) or "shut down in recovery" (a standby): nothing after it. */
    if (!str_has_prefix(state, "shut down")) {
        return -EAGAIN;
    }
    if (str_parse_lsn(loc, &lsn) < 0 || lsn == 0) {
        return -EIO;
    }
    *ret_lsn = lsn;
    return 0;
}

int engine_last_lsn(struct engine *e, uint64_t *ret_lsn, struct errbuf *eb)
{
    const char *argv[] = {"pg_controldata", "-D", e->data_dir, NULL};
    char *out = NULL;
    int r;

    r = engine_run(e, argv, e->t.cmd_ms, NULL, &out, eb);
    if (r == 0) {
        r = engine_parse_controldata(out, ret_lsn);
        if (r == -EIO) {
            errbuf_set(eb, "pg_controldata: no cluster state or checkpoint location");
        }
    }
    free(out);
    return r;
}

/*
 * agent/reaper.c
 *
 * See reaper.h for why reaping waits for runs in flight.
 *
 * Layer: edge (the process table).
 */
#include "agent/reaper.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/str.h"

#define REAPER_STRAY_MAX 4096
#define REAPER_STEP_MS   50

struct reaper {
    pthread_mutex_t mu;
    unsigned in_flight;
};

struct reaper *reaper_new(void)
{
    struct reaper *r = xcalloc(1, sizeof(*r));

    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void reaper_free(struct reaper *r)
{
    if (!r) {
        return;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int reaper_setup(struct reaper *r, struct errbuf *eb)
{
    (void) r;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        int err = errno;
        char msg[96];

        errbuf_set(eb, "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror_r(err, msg, sizeof(msg)));
        return -err;
    }
    return 0;
}

static int reaper_run(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb,
                      void *data)
{
    struct reaper *r = data;
    int rc;

    pthread_mutex_lock(&r->mu);
    r->in_flight++;
    pthread_mutex_unlock(&r->mu);
    rc = proc_run(spec, ret, eb);
    pthread_mutex_lock(&r->mu);
    r->in_flight--;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

struct proc_ops reaper_proc_ops(struct reaper *r)
{
    return (struct proc_ops){.run = reaper_run, .data = r};
}

int reaper_reap(struct reaper *r)
{
    int n = 0;

    pthread_mutex_lock(&r->mu);
    if (r->in_flight == 0) {
        int status;

        /* Bounded: each call reaps one zombie, and there are only so many children. */
        for (int i = 0; i < 4096 && waitpid(-1, &status, WNOHANG) > 0; i++) {
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Pids of the processes whose working directory is real (at most max). */
static size_t reaper_list_in(const char *real, pid_t *ret, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    size_t n = 0;

    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < max) {
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
        if (strcmp(cwd, real) == 0) {
            ret[n++] = (pid_t) pid;
        }
    }
    closedir(d);
    return n;
}

int reaper_kill_strays(const char *dir, uint64_t wait_ms)
{
    pid_t *pids = xcalloc(REAPER_STRAY_MAX, sizeof(*pids));
    uint64_t deadline = clock_now_ms() + wait_ms;
    char real[PATH_MAX];
    size_t n = 0;

    if (!realpath(dir, real)) {
        free(pids);
        return 0;
    }
    for (int i = 0; i < 10000; i++) {
        n = reaper_list_in(real, pids, REAPER_STRAY_MAX);
        if (n == 0 || clock_now_ms() >= deadline) {
            break;
        }
        (void) poll(NULL, 0, REAPER_STEP_MS);
    }
    for (size_t i = 0; i < n; i++) {
        (void) kill(pids[i], SIGKILL);
        (void) kill(pids[i], SIGCONT);
    }
    free(pids);
    return (int) n;
}

/* True when path is dir or lies below it. */
static bool reaper_path_under(const char *path, const char *dir, size_t dlen)
{
    return strncmp(path, dir, dlen) == 0 && (path[dlen] == '\0' || path[dlen] == '/');
}

/* True when a NUL-separated command line has an argument naming a path below dir. */
static bool reaper_cmdline_names(pid_t pid, const char *dir, size_t dlen)
{
    char path[64];
    char *text = NULL;
    size_t len = 0;
    bool found = false;

    (void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
    if (fs_read_file(path, 64 * 1024, &text, &len, NULL) < 0) {
        return false;
    }
    for (size_t o = 0; o < len && !found; o += strlen(text + o) + 1) {
        const char *arg = text + o;
        const char *at = strstr(arg, dir);

        /* "-D/dir/data", "--target-pgdata=/dir/data", "/dir/data": a path below dir. */
        for (int i = 0; at && i < 8 && !found; i++) {
            found = (at == arg || at[-1] == '=' || at[-1] == ' ' || at[-1] == 'D') &&
                    reaper_path_under(at, dir, dlen);
            at = strstr(at + 1, dir);
        }
    }
    free(text);
    return found;
}

static pid_t reaper_ppid(pid_t pid)
{
    char path[64];
    char *text = NULL;
    size_t len = 0;
    const char *p;
    char state;
    int ppid = 0;

    (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    if (fs_read_file(path, 4096, &text, &len, NULL) < 0) {
        return 0;
    }
    p = strrchr(text, ')');
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || state == 'Z' || state == 'X') {
        ppid = -1; /* a zombie or gone: nothing to kill */
    }
    free(text);
    return (pid_t) ppid;
}

/* The tools working in (or on) real, at most max of them. */
static size_t reaper_list_tools(const char *real, pid_t keep, pid_t *ret, size_t max)
{
    size_t dlen = strlen(real);
    DIR *d = opendir("/proc");
    struct dirent *de;
    size_t n = 0;

    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        char link[64], cwd[PATH_MAX];
        uint32_t pid;
        pid_t ppid;
        ssize_t len;
        bool hit;

        if (str_to_u32(de->d_name, 2, INT32_MAX, &pid) < 0 || (pid_t) pid == getpid() ||
            (keep > 0 && (pid_t) pid == keep)) {
            continue;
        }
        ppid = reaper_ppid((pid_t) pid);
        if (ppid < 0 || (keep > 0 && ppid == keep)) {
            continue;
        }
        /* Our own runs (a local backup under way, with its helper) are not strays. */
        if (ppid == getpid() || (ppid > 1 && reaper_ppid(ppid) == getpid())) {
            continue;
        }
        (void) snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
        len = readlink(link, cwd, sizeof(cwd) - 1);
        hit = false;
        if (len > 0) {
            cwd[len] = '\0';
            hit = reaper_path_under(cwd, real, dlen);
        }
        if (!hit) {
            hit = reaper_cmdline_names((pid_t) pid, real, dlen);
        }
        if (hit) {
            ret[n++] = (pid_t) pid;
        }
    }
    closedir(d);
    return n;
}

int reaper_kill_tools(const char *dir, int keep, uint64_t wait_ms)
{
    pid_t *pids = xcalloc(REAPER_STRAY_MAX, sizeof(*pids));
    uint64_t deadline = clock_now_ms() + wait_ms;
    char real[PATH_MAX];
    size_t n, left = 0;

    if (!realpath(dir, real)) {
        free(pids);
        return 0;
    }
    n = reaper_list_tools(real, (pid_t) keep, pids, REAPER_STRAY_MAX);
    for (size_t i = 0; i < n; i++) {
        (void) kill(pids[i], SIGKILL);
        (void) kill(pids[i], SIGCONT);
    }
    for (int i = 0; i < 10000 && n > 0; i++) {
        left = 0;
        for (size_t k = 0; k < n; k++) {
            left += reaper_ppid(pids[k]) >= 0 ? 1 : 0;
        }
        if (left == 0 || clock_now_ms() >= deadline) {
            break;
        }
        (void) poll(NULL, 0, REAPER_STEP_MS / 5);
    }
    free(pids);
    return left > 0 ? -ETIMEDOUT : (int) n;
}

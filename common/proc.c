/*
 * common/proc.c
 *
 * Layer: edge (processes). fork + setsid + execve, never a shell.
 *
 * Everything the child needs (resolved program path, argv, envp, descriptors) is built
 * before fork, because between fork and execve only async-signal-safe calls are allowed in
 * a multi-threaded parent: the child resets signal dispositions and mask, moves its three
 * descriptors into place, switches credentials, changes directory and execs. If any step
 * fails it writes {stage, errno} to a CLOEXEC pipe whose EOF otherwise tells the parent the
 * exec succeeded (the posix_spawn / systemd safe_fork idiom). The parent blocks all signals
 * across fork so that none of its handlers can run in the child before the reset.
 *
 * The parent then multiplexes stdin, stdout, stderr and a pidfd of the child with poll()
 * against a deadline on the monotonic clock: no sleep loops, no wait(-1), and capture ends
 * when the child exits even if a daemonised grandchild still holds the pipes. On the
 * deadline the child's process group gets SIGTERM, SIGCONT and, after the grace period,
 * SIGKILL. Where pidfds are missing (Linux < 5.3, seccomp) short bounded poll steps stand in.
 */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/str.h"

#define PROC_POLL_STEP_MS 10   /* fallback polling step without a pidfd */
#define PROC_REAP_MAX_MS  5000 /* after SIGKILL: only an uninterruptible sleep takes longer */
#define PROC_CHUNK        16384
#define PROC_TAIL_MAX     160 /* bytes of stderr quoted in eb */
#define PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define PROC_IO_BURST     16 /* reads or writes per wakeup before polling again */

/* Steps of the child before exec, reported with their errno on failure. */
enum proc_stage {
    PROC_STAGE_NONE = 0,
    PROC_STAGE_SETSID,
    PROC_STAGE_DUP,
    PROC_STAGE_SETGROUPS,
    PROC_STAGE_SETGID,
    PROC_STAGE_SETUID,
    PROC_STAGE_CHDIR,
    PROC_STAGE_EXEC,
    _PROC_STAGE_MAX
};

/* The record the child writes to the exec pipe when it cannot exec (< PIPE_BUF: atomic). */
struct proc_exec_error {
    int stage;
    int err;
};

/* Everything the child needs, prepared before fork. */
struct proc_launch {
    const char *path; /* resolved program */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int uid, gid;
    int fd_in, fd_out, fd_err; /* become 0, 1, 2 */
};

/* One captured output stream, capped at max bytes. */
struct proc_stream {
    int fd; /* parent's read end, -1 once at EOF */
    char *data;
    size_t len, alloc, max;
    bool truncated;
};

/* The parent's side of a proc_run child. */
struct proc_io {
    struct proc_stream out, err;
    int in_fd; /* parent's write end of stdin, -1 once done */
    const char *in_data;
    size_t in_len, in_off;
};

static const char *proc_stage_to_string(enum proc_stage stage)
{
    switch (stage) {
    case PROC_STAGE_NONE:
        return "none";
    case PROC_STAGE_SETSID:
        return "setsid";
    case PROC_STAGE_DUP:
        return "dup2";
    case PROC_STAGE_SETGROUPS:
        return "setgroups";
    case PROC_STAGE_SETGID:
        return "setgid";
    case PROC_STAGE_SETUID:
        return "setuid";
    case PROC_STAGE_CHDIR:
        return "chdir";
    case PROC_STAGE_EXEC:
        return "execve";
    case _PROC_STAGE_MAX:
        break;
    }
    return "UNKNOWN";
}

static void proc_close(int *fd)
{
    if (*fd >= 0) {
        (void) close(*fd);
        *fd = -1;
    }
}

static int proc_poll_ms(uint64_t ms)
{
    return ms > INT_MAX ? INT_MAX : (int) ms;
}

static int proc_pidfd_open(pid_t pid)
{
    /* Always close-on-exec. ENOSYS (old kernel) or EPERM (seccomp) selects polling. */
    return pidfd_open(pid, 0);
}

/* The value of name ("PATH") in a "K=V" array, or NULL. */
static const char *proc_env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
            return envp[i] + n + 1;
        }
    }
    return NULL;
}

/*
 * Resolves argv[0] as execvp would, but before fork: a name with '/' is used as it is, else
 * each non-empty PATH entry is tried (empty entries, meaning ".", are skipped on purpose).
 * PATH comes from the child's envp if it sets one, else from ours.
 */
static int proc_find_program(const char *name, const char *const *envp, char **ret_path,
                             struct errbuf *eb)
{
    const char *path = NULL;
    int r = -ENOENT;

    if (strchr(name, '/')) {
        *ret_path = xstrdup(name);
        return 0;
    }
    if (envp) {
        path = proc_env_get(envp, "PATH");
    }
    if (!path) {
        path = proc_env_get((const char *const *) environ, "PATH");
    }
    if (!path) {
        path = PROC_DEFAULT_PATH;
    }
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t) (colon - p) : strlen(p);
        if (n > 0) {
            char *candidate = xasprintf("%.*s/%s", (int) n, p, name);
            struct stat st;
            if (access(candidate, X_OK) == 0 && stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
                *ret_path = candidate;
                return 0;
            }
            if (errno == EACCES || access(candidate, F_OK) == 0) {
                r = -EACCES; /* as execvp: reported if nothing else is found */
            }
            free(candidate);
        }
        p += n + (colon ? 1 : 0);
    }
    errbuf_set(eb, "%s: %s in PATH", name, r == -EACCES ? "not executable" : "not found");
    return r;
}

static __attribute__((noreturn)) void proc_child_fail(int fd, enum proc_stage stage, int err)
{
    struct proc_exec_error e = {(int) stage, err};

    if (write(fd, &e, sizeof(e)) < 0) {
        /* nothing more we can do; the parent sees EOF and exit 127 */
    }
    _exit(127);
}

/* Moves fd above 2 so that installing 0, 1 and 2 cannot clobber it; CLOEXEC kept. */
static int proc_child_lift(int fd)
{
    return fd >= 0 && fd < 3 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

/* Runs in the child between fork and execve: async-signal-safe calls only. */
static __attribute__((noreturn)) void proc_child(const struct proc_launch *l, int exec_wr)
{
    struct sigaction dfl;
    sigset_t none;
    int fds[3] = {l->fd_in, l->fd_out, l->fd_err};

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void) sigemptyset(&dfl.sa_mask);
    /* The parent ignores SIGPIPE and may catch or block others; an exec'd program must not
     * inherit that. SIGKILL, SIGSTOP and glibc's internal signals refuse; that is fine. */
    for (int sig = 1; sig < NSIG; sig++) {
        (void) sigaction(sig, &dfl, NULL);
    }
    (void) sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    exec_wr = proc_child_lift(exec_wr);
    if (setsid() < 0) {
        proc_child_fail(exec_wr, PROC_STAGE_SETSID, errno);
    }
    for (int i = 0; i < 3; i++) {
        fds[i] = proc_child_lift(fds[i]);
        if (fds[i] < 0) {
            proc_child_fail(exec_wr, PROC_STAGE_DUP, errno);
        }
    }
    /* Every source is now >= 3, so dup2 really duplicates and clears CLOEXEC on 0, 1, 2. */
    for (int i = 0; i < 3; i++) {
        if (dup2(fds[i], i) < 0) {
            proc_child_fail(exec_wr, PROC_STAGE_DUP, errno);
        }
    }
    if ((l->uid >= 0 || l->gid >= 0) && setgroups(0, NULL) < 0) {
        proc_child_fail(exec_wr, PROC_STAGE_SETGROUPS, errno);
    }
    if (l->gid >= 0 && setgid((gid_t) l->gid) < 0) {
        proc_child_fail(exec_wr, PROC_STAGE_SETGID, errno);
    }
    if (l->uid >= 0 && setuid((uid_t) l->uid) < 0) {
        proc_child_fail(exec_wr, PROC_STAGE_SETUID, errno);
    }
    /* After the switch: the directory must be usable by the identity that will run there. */
    if (l->cwd && chdir(l->cwd) < 0) {
        proc_child_fail(exec_wr, PROC_STAGE_CHDIR, errno);
    }
    /* Belt and braces for descriptors a library opened without O_CLOEXEC (Linux 5.11+). */
    (void) close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    (void) execve(l->path, l->argv, l->envp);
    proc_child_fail(exec_wr, PROC_STAGE_EXEC, errno);
}

/*
 * Waits until the child has exec'd (EOF on the exec pipe) or reported a failure, at most
 * until deadline_ms. Returns 0, the child's -errno, or -ETIMEDOUT.
 */
static int proc_exec_status(int exec_rd, uint64_t deadline_ms, const struct proc_launch *l,
                            struct errbuf *eb)
{
    struct proc_exec_error e = {0};
    char msg[128];

    for (;;) {
        struct pollfd p = {.fd = exec_rd, .events = POLLIN};
        uint64_t now = clock_now_ms();
        ssize_t n;
        if (now >= deadline_ms) {
            errbuf_set(eb, "%s: did not start before the deadline", l->path);
            return -ETIMEDOUT;
        }
        if (poll(&p, 1, proc_poll_ms(deadline_ms - now)) <= 0) {
            continue; /* timeout or EINTR: the deadline check decides */
        }
        n = read(exec_rd, &e, sizeof(e));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            return 0;
        }
        if (n != (ssize_t) sizeof(e) || e.err <= 0) {
            errbuf_set(eb, "%s: bad report from the child before exec", l->path);
            return -EIO;
        }
        errbuf_set(eb, "%s %s: %s", proc_stage_to_string((enum proc_stage) e.stage),
                   e.stage == PROC_STAGE_CHDIR ? l->cwd : l->path,
                   strerror_r(e.err, msg, sizeof(msg)));
        return -e.err;
    }
}

/* fork + exec of l; on success *ret_pid is the running child (group leader). */
static int proc_launch(const struct proc_launch *l, uint64_t deadline_ms, pid_t *ret_pid,
                       struct errbuf *eb)
{
    int exec_pipe[2] = {-1, -1};
    sigset_t all, old;
    char msg[128];
    pid_t pid;
    int status, r;

    if (pipe2(exec_pipe, O_CLOEXEC) < 0) {
        r = -errno;
        errbuf_set(eb, "pipe: %s", strerror_r(-r, msg, sizeof(msg)));
        return r;
    }
    (void) sigfillset(&all);
    (void) pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
        proc_close(&exec_pipe[0]);
        proc_child(l, exec_pipe[1]);
    }
    r = pid < 0 ? -errno : 0;
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
    proc_close(&exec_pipe[1]);
    if (r < 0) {
        errbuf_set(eb, "fork: %s", strerror_r(-r, msg, sizeof(msg)));
        proc_close(&exec_pipe[0]);
        return r;
    }
    r = proc_exec_status(exec_pipe[0], deadline_ms, l, eb);
    proc_close(&exec_pipe[0]);
    if (r < 0) {
        /* The child exits at once after a report; a hung one (chdir on a dead NFS mount) is
         * killed. Either way it is reaped here, within a bound. */
        if (r == -ETIMEDOUT) {
            (void) kill(pid, SIGKILL);
        }
        (void) proc_wait(pid, PROC_REAP_MAX_MS, &status);
        return r;
    }
    *ret_pid = pid;
    return 0;
}

/* Validates spec and fills the parts of l that do not depend on descriptors. */
static int proc_prepare(const struct proc_spec *spec, struct proc_launch *l, char **ret_path,
                        struct errbuf *eb)
{
    int r;

    if (!spec || !spec->argv || !spec->argv[0] || !spec->argv[0][0]) {
        errbuf_set(eb, "proc: empty argv");
        return -EINVAL;
    }
    r = proc_find_program(spec->argv[0], spec->envp, ret_path, eb);
    if (r < 0) {
        return r;
    }
    memset(l, 0, sizeof(*l));
    l->path = *ret_path;
    /* execve does not modify these arrays; its prototype predates const. */
    l->argv = (char *const *) spec->argv;
    l->envp = spec->envp ? (char *const *) spec->envp : environ;
    l->cwd = spec->cwd;
    l->uid = spec->uid;
    l->gid = spec->gid;
    l->fd_in = l->fd_out = l->fd_err = -1;
    return 0;
}

static int proc_open_fail(const char *what, const char *path, struct errbuf *eb)
{
    char msg[128];
    int r = -errno;

    errbuf_set(eb, "%s %s: %s", what, path, strerror_r(-r, msg, sizeof(msg)));
    return r;
}

static int proc_open_output(const char *path, struct errbuf *eb)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

    return fd < 0 ? proc_open_fail("open", path, eb) : fd;
}

static int proc_open_null(int flags, struct errbuf *eb)
{
    int fd = open("/dev/null", flags | O_CLOEXEC | O_NOCTTY);

    return fd < 0 ? proc_open_fail("open", "/dev/null", eb) : fd;
}

/* A pipe whose parent end (index parent_end) is non-blocking; both ends CLOEXEC. */
static int proc_pipe(int fds[2], int parent_end, struct errbuf *eb)
{
    if (pipe2(fds, O_CLOEXEC) < 0) {
        return proc_open_fail("pipe", "for child", eb);
    }
    if (fcntl(fds[parent_end], F_SETFL, O_NONBLOCK) < 0) {
        int r = proc_open_fail("fcntl", "pipe", eb);
        proc_close(&fds[0]);
        proc_close(&fds[1]);
        return r;
    }
    return 0;
}

/* Where the next read of s goes: spare room in its buffer (grown up to max + 1 with the
 * NUL), or NULL once max bytes are kept and further output is to be dropped. */
static char *proc_stream_room(struct proc_stream *s, size_t *ret_room)
{
    if (s->len >= s->max) {
        return NULL;
    }
    if (s->len + 1 >= s->alloc) {
        s->alloc = s->alloc ? s->alloc * 2 : 4096;
        if (s->alloc > s->max + 1) {
            s->alloc = s->max + 1;
        }
        s->data = xrealloc(s->data, s->alloc);
    }
    *ret_room = s->alloc - 1 - s->len;
    return s->data + s->len;
}

/* Reads what is available from s, keeping at most s->max bytes; closes s->fd at EOF. */
static void proc_stream_read(struct proc_stream *s)
{
    char scratch[PROC_CHUNK];

    for (int i = 0; i < PROC_IO_BURST && s->fd >= 0; i++) {
        size_t room = 0;
        char *dst = proc_stream_room(s, &room);
        ssize_t n;
        if (!dst) {
            dst = scratch;
            room = sizeof(scratch);
        }
        n = read(s->fd, dst, room);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            proc_close(&s->fd); /* EOF, or an error that ends the stream all the same */
            return;
        }
        if (dst == scratch) {
            s->truncated = true; /* drained and dropped so the child never blocks */
        } else {
            s->len += (size_t) n;
        }
    }
}

/* Writes what fits of the stdin data; closes stdin when done or when the child stopped
 * reading. SIGPIPE is blocked around write and a SIGPIPE we caused is consumed, so the
 * caller's disposition does not matter (curl's sigpipe handling, thread-safe variant). */
static void proc_stdin_write(struct proc_io *io)
{
    struct timespec zero = {0, 0};
    sigset_t pipe_set, old, pending;
    bool was_pending;

    (void) sigemptyset(&pipe_set);
    (void) sigaddset(&pipe_set, SIGPIPE);
    (void) pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    (void) sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
    for (int i = 0; i < PROC_IO_BURST && io->in_fd >= 0 && io->in_off < io->in_len; i++) {
        ssize_t n = write(io->in_fd, io->in_data + io->in_off, io->in_len - io->in_off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            if (errno == EPIPE && !was_pending) {
                (void) sigtimedwait(&pipe_set, NULL, &zero);
            }
            proc_close(&io->in_fd);
            break;
        }
        io->in_off += (size_t) n;
    }
    if (io->in_off >= io->in_len) {
        proc_close(&io->in_fd);
    }
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Indexes into the pollfd array of one proc_pump round; -1 when not polled. */
struct proc_poll_set {
    struct pollfd p[4];
    int n, out, err, in, pid;
};

static int proc_poll_add(struct proc_poll_set *ps, int fd, short events)
{
    if (fd < 0) {
        return -1;
    }
    ps->p[ps->n] = (struct pollfd){.fd = fd, .events = events};
    return ps->n++;
}

/* Services the streams that poll reported ready. */
static void proc_poll_serve(struct proc_io *io, const struct proc_poll_set *ps)
{
    if (ps->out >= 0 && ps->p[ps->out].revents) {
        proc_stream_read(&io->out);
    }
    if (ps->err >= 0 && ps->p[ps->err].revents) {
        proc_stream_read(&io->err);
    }
    if (ps->in >= 0 && ps->p[ps->in].revents) {
        proc_stdin_write(io);
    }
}

/*
 * Moves data between the child and us until it exits (0, *ret_status set) or the deadline
 * passes (-ETIMEDOUT). Returns another -errno only if the child vanished (-ECHILD).
 */
static int proc_pump(struct proc_io *io, pid_t pid, uint64_t deadline_ms, int *ret_status)
{
    int pidfd = proc_pidfd_open(pid);
    int r = -ETIMEDOUT;

    for (;;) {
        struct proc_poll_set ps = {.n = 0};
        uint64_t now = clock_now_ms(), wait_ms;
        pid_t w;
        if (now >= deadline_ms) {
            break;
        }
        ps.out = proc_poll_add(&ps, io->out.fd, POLLIN);
        ps.err = proc_poll_add(&ps, io->err.fd, POLLIN);
        ps.in = proc_poll_add(&ps, io->in_fd, POLLOUT);
        ps.pid = proc_poll_add(&ps, pidfd, POLLIN);
        wait_ms = deadline_ms - now;
        if (pidfd < 0 && wait_ms > PROC_POLL_STEP_MS) {
            wait_ms = PROC_POLL_STEP_MS;
        }
        if (poll(ps.p, (nfds_t) ps.n, proc_poll_ms(wait_ms)) < 0) {
            continue; /* EINTR */
        }
        proc_poll_serve(io, &ps);
        if (pidfd >= 0 && !(ps.p[ps.pid].revents & POLLIN)) {
            continue;
        }
        w = waitpid(pid, ret_status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) {
            r = w == pid ? 0 : -errno;
            break;
        }
        /* A readable pidfd with nothing to reap should not happen; do not spin on it. */
        proc_close(&pidfd);
    }
    proc_close(&pidfd);
    return r;
}

/* Sets buf to the last bytes of s[len] (trailing space trimmed, controls as spaces). */
static void proc_tail(const char *s, size_t len, char *buf, size_t size)
{
    size_t start, n;

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r')) {
        len--;
    }
    n = len < size - 1 ? len : size - 1;
    start = len - n;
    for (size_t i = 0; i < n; i++) {
        char c = s[start + i];
        if ((unsigned char) c < 0x20 || c == 0x7f) {
            c = ' ';
        }
        buf[i] = c;
    }
    buf[n] = '\0';
}

/* Fills ret from the streams and status; eb gets the failure text when it was not exit 0. */
static void proc_finish(const struct proc_spec *spec, struct proc_io *io, int status, bool reaped,
                        struct proc_result *ret, struct errbuf *eb)
{
    char tail[PROC_TAIL_MAX + 1];
    char how[48];
    struct proc_stream *s[2] = {&io->out, &io->err};

    for (int i = 0; i < 2; i++) {
        if (!s[i]->data) {
            s[i]->data = xmalloc(1);
        }
        s[i]->data[s[i]->len] = '\0';
    }
    ret->out = io->out.data;
    ret->out_len = io->out.len;
    ret->out_truncated = io->out.truncated;
    ret->err = io->err.data;
    ret->err_len = io->err.len;
    ret->err_truncated = io->err.truncated;
    io->out.data = io->err.data = NULL;
    ret->exit_code = -1;
    if (reaped && WIFEXITED(status)) {
        ret->exit_code = WEXITSTATUS(status);
    } else if (reaped && WIFSIGNALED(status)) {
        ret->term_signal = WTERMSIG(status);
    }
    if (ret->exit_code == 0 && !ret->timed_out) {
        return;
    }
    if (reaped) {
        (void) proc_exit_status_describe(status, how, sizeof(how));
    } else {
        (void) str_copy(how, sizeof(how), "not reaped");
    }
    /* Tools such as gs_ctl print their complaint on stdout; use it when stderr is silent. */
    if (ret->err_len > 0) {
        proc_tail(ret->err, ret->err_len, tail, sizeof(tail));
    } else {
        proc_tail(ret->out, ret->out_len, tail, sizeof(tail));
    }
    errbuf_set(eb, "%s: %s%s: %s", spec->argv[0], ret->timed_out ? "timed out, " : "", how, tail);
}

static void proc_io_done(struct proc_io *io)
{
    proc_close(&io->out.fd);
    proc_close(&io->err.fd);
    proc_close(&io->in_fd);
    free(io->out.data);
    free(io->err.data);
}

/*
 * Opens the child's descriptors for proc_run into l and the parent's into io. The child's
 * ends are closed by the caller after fork.
 */
static int proc_run_open(const struct proc_spec *spec, struct proc_launch *l, struct proc_io *io,
                         struct errbuf *eb)
{
    int p[2];
    int r;

    if (spec->stdin_data) {
        r = proc_pipe(p, 1, eb);
        if (r < 0) {
            return r;
        }
        l->fd_in = p[0];
        io->in_fd = p[1];
        io->in_data = spec->stdin_data;
        io->in_len = strlen(spec->stdin_data);
    } else {
        l->fd_in = proc_open_null(O_RDONLY, eb);
        if (l->fd_in < 0) {
            return l->fd_in;
        }
    }
    if (spec->output_path) {
        l->fd_out = l->fd_err = proc_open_output(spec->output_path, eb);
        return l->fd_out < 0 ? l->fd_out : 0;
    }
    r = proc_pipe(p, 0, eb);
    if (r < 0) {
        return r;
    }
    io->out.fd = p[0];
    l->fd_out = p[1];
    r = proc_pipe(p, 0, eb);
    if (r < 0) {
        return r;
    }
    io->err.fd = p[0];
    l->fd_err = p[1];
    return 0;
}

static void proc_launch_close(struct proc_launch *l)
{
    if (l->fd_err == l->fd_out) {
        l->fd_err = -1;
    }
    proc_close(&l->fd_in);
    proc_close(&l->fd_out);
    proc_close(&l->fd_err);
}

int proc_run(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb)
{
    struct proc_launch l = {.fd_in = -1, .fd_out = -1, .fd_err = -1};
    struct proc_io io = {.out.fd = -1, .err.fd = -1, .in_fd = -1};
    char *path = NULL;
    uint64_t deadline;
    bool reaped = true;
    pid_t pid = -1;
    int status = 0;
    int r;

    if (!ret) {
        return -EINVAL;
    }
    memset(ret, 0, sizeof(*ret));
    ret->exit_code = -1;
    r = proc_prepare(spec, &l, &path, eb);
    if (r < 0) {
        goto out;
    }
    io.out.max = io.err.max = spec->capture_max ? spec->capture_max : PROC_CAPTURE_DEFAULT_MAX;
    r = proc_run_open(spec, &l, &io, eb);
    if (r < 0) {
        goto out;
    }
    deadline = clock_now_ms() + (spec->timeout_ms ? spec->timeout_ms : PROC_TIMEOUT_DEFAULT_MS);
    r = proc_launch(&l, deadline, &pid, eb);
    proc_launch_close(&l);
    if (r < 0) {
        ret->timed_out = r == -ETIMEDOUT; /* hung before exec, e.g. chdir on a dead mount */
        goto out;
    }
    if (io.in_fd >= 0 && io.in_len == 0) {
        proc_close(&io.in_fd); /* empty stdin_data: EOF at once */
    }
    r = proc_pump(&io, pid, deadline, &status);
    if (r == -ETIMEDOUT) {
        ret->timed_out = true;
        (void) proc_kill_group(pid, spec->kill_grace_ms ? spec->kill_grace_ms
                                                        : PROC_KILL_GRACE_DEFAULT_MS);
        reaped = proc_wait(pid, PROC_REAP_MAX_MS, &status) == 0;
    } else if (r < 0) {
        reaped = false;
    }
    /* What the child wrote before it exited is in the pipes: take it without waiting for
     * EOF, which a background descendant may hold off forever. */
    proc_stream_read(&io.out);
    proc_stream_read(&io.err);
    proc_finish(spec, &io, status, reaped, ret, eb);
out:
    proc_launch_close(&l);
    proc_io_done(&io);
    free(path);
    return r;
}

void proc_result_done(struct proc_result *r)
{
    if (!r) {
        return;
    }
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
}

int proc_spawn(const struct proc_spec *spec, pid_t *ret_pid, struct errbuf *eb)
{
    struct proc_launch l = {.fd_in = -1, .fd_out = -1, .fd_err = -1};
    char *path = NULL;
    uint64_t deadline;
    pid_t pid = -1;
    int r;

    if (!ret_pid || (spec && spec->stdin_data)) {
        errbuf_set(eb, "proc_spawn: bad arguments");
        return -EINVAL;
    }
    r = proc_prepare(spec, &l, &path, eb);
    if (r < 0) {
        goto out;
    }
    l.fd_in = proc_open_null(O_RDONLY, eb);
    if (l.fd_in < 0) {
        r = l.fd_in;
        goto out;
    }
    l.fd_out = spec->output_path ? proc_open_output(spec->output_path, eb)
                                 : proc_open_null(O_WRONLY, eb);
    if (l.fd_out < 0) {
        r = l.fd_out;
        goto out;
    }
    l.fd_err = l.fd_out;
    deadline = clock_now_ms() + (spec->timeout_ms ? spec->timeout_ms : PROC_TIMEOUT_DEFAULT_MS);
    r = proc_launch(&l, deadline, &pid, eb);
    if (r == 0) {
        *ret_pid = pid;
    }
out:
    proc_launch_close(&l);
    free(path);
    return r;
}

int proc_wait(pid_t pid, uint64_t timeout_ms, int *ret_status)
{
    uint64_t deadline = clock_now_ms() + timeout_ms;
    bool tried_pidfd = false;
    int pidfd = -1;
    int status = 0;
    int r;

    if (pid <= 0 || !ret_status) {
        return -EINVAL;
    }
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        uint64_t now;
        if (w == pid) {
            *ret_status = status;
            r = 0;
            break;
        }
        if (w < 0 && errno != EINTR) {
            r = -errno;
            break;
        }
        now = clock_now_ms();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        if (!tried_pidfd) {
            pidfd = proc_pidfd_open(pid);
            tried_pidfd = true;
        }
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            (void) poll(&p, 1, proc_poll_ms(deadline - now));
        } else {
            uint64_t step = deadline - now;
            (void) poll(NULL, 0, proc_poll_ms(step < PROC_POLL_STEP_MS ? step : PROC_POLL_STEP_MS));
        }
    }
    proc_close(&pidfd);
    return r;
}

/* True when pid has exited (a zombie counts) or is gone; never reaps. */
static bool proc_has_exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
        return si.si_pid == pid;
    }
    return errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH;
}

/* Waits up to timeout_ms for pid to exit, leaving it for its parent to reap. */
static void proc_wait_exit(pid_t pid, uint64_t timeout_ms)
{
    uint64_t deadline = clock_now_ms() + timeout_ms;
    int pidfd = proc_pidfd_open(pid);

    for (;;) {
        uint64_t now = clock_now_ms(), step;
        if (now >= deadline) {
            break;
        }
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            if (poll(&p, 1, proc_poll_ms(deadline - now)) > 0) {
                break;
            }
            continue;
        }
        if (proc_has_exited(pid)) {
            break;
        }
        step = deadline - now;
        (void) poll(NULL, 0, proc_poll_ms(step < PROC_POLL_STEP_MS ? step : PROC_POLL_STEP_MS));
    }
    proc_close(&pidfd);
}

int proc_kill_group(pid_t pgid, uint64_t grace_ms)
{
    /* kill(-1) would signal every process we may signal, and our own group would include
     * us: neither can be what a caller meant. */
    if (pgid <= 1 || pgid == getpgrp()) {
        return -EINVAL;
    }
    if (kill(-pgid, SIGTERM) < 0) {
        return errno == ESRCH ? 0 : -errno;
    }
    /* A stopped process keeps a caught SIGTERM pending until it is continued. */
    (void) kill(-pgid, SIGCONT);
    proc_wait_exit(pgid, grace_ms);
    if (kill(-pgid, SIGKILL) < 0 && errno != ESRCH) {
        return -errno;
    }
    return 0;
}

bool proc_is_alive(pid_t pid)
{
    if (pid <= 0) {
        return false;
    }
    return kill(pid, 0) == 0 || errno == EPERM;
}

int proc_exit_status_describe(int status, char *buf, size_t size)
{
    int n;

    if (WIFEXITED(status)) {
        n = snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        n = snprintf(buf, size, "signal %d", WTERMSIG(status));
    } else if (WIFSTOPPED(status)) {
        n = snprintf(buf, size, "stopped by signal %d", WSTOPSIG(status));
    } else {
        n = snprintf(buf, size, "status %d", status);
    }
    return (n < 0 || (size_t) n >= size) ? -ENOBUFS : 0;
}

static int proc_real_run(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb,
                         void *data)
{
    (void) data;
    return proc_run(spec, ret, eb);
}

const struct proc_ops proc_real = {
        .run = proc_real_run,
        .data = NULL,
};

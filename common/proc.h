/*
 * common/proc.h
 *
 * Child processes, never through a shell: fork, setsid, execve with an argument array, a
 * deadline on the monotonic clock, SIGTERM then SIGKILL to the child's whole process group,
 * bounded capture of stdout and stderr, and the exit status decoded. This is how the agent
 * runs gs_ctl, pg_ctl, pg_basebackup and friends, and starts long-running servers.
 * pg_auto_failover's run_program() without a timeout is the anti-pattern this replaces.
 */
#ifndef OG_COMMON_PROC_H
#define OG_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errbuf.h"

#define PROC_TIMEOUT_DEFAULT_MS    60000
#define PROC_KILL_GRACE_DEFAULT_MS 2000
#define PROC_CAPTURE_DEFAULT_MAX   ((size_t) 64 * 1024)

/*
 * What to run and how; every pointer is borrowed for the duration of the call. Start from
 * PROC_SPEC_INIT: a zeroed spec would mean uid 0 and gid 0, not "unchanged".
 */
struct proc_spec {
    /* NULL-terminated; argv[0] is the program: a path when it contains '/', else searched in
     * the PATH of envp (when it has one) or of our environment, like execvp. */
    const char *const *argv;
    const char *const *envp; /* NULL: inherit our environment; else exactly these "K=V" */
    const char *cwd;         /* NULL: unchanged */
    int uid, gid;            /* -1: unchanged; else setgroups(0)+setgid+setuid before exec */
    uint64_t timeout_ms;     /* 0: PROC_TIMEOUT_DEFAULT_MS (proc_run only) */
    uint64_t kill_grace_ms;  /* 0: PROC_KILL_GRACE_DEFAULT_MS, SIGTERM to SIGKILL */
    size_t capture_max;      /* per stream; 0: PROC_CAPTURE_DEFAULT_MAX; beyond is dropped */
    const char *stdin_data;  /* NULL: /dev/null; else written to stdin, then closed */
    const char *output_path; /* set: stdout+stderr appended here (O_APPEND|O_CREAT, 0600) */
};

/* A spec for argv with every other field at its default (credentials unchanged). */
#define PROC_SPEC_INIT(argv_) ((struct proc_spec){.argv = (argv_), .uid = -1, .gid = -1})

/* The outcome of proc_run. */
struct proc_result {
    int exit_code;   /* 0..255, or -1 when killed by a signal or not reaped */
    int term_signal; /* the signal when exit_code == -1 (0 when unknown) */
    bool timed_out;  /* the deadline passed and we killed the group */
    char *out;       /* captured stdout, NUL-terminated, owned (proc_result_done) */
    size_t out_len;
    bool out_truncated; /* more than capture_max bytes were written and dropped */
    char *err;          /* captured stderr, likewise */
    size_t err_len;
    bool err_truncated;
};

/*
 * Runs spec to completion: fork, setsid (the child leads a new process group), execve. All
 * descriptors are O_CLOEXEC; the child starts with default signal dispositions and an empty
 * mask. Output is captured up to capture_max per stream (or appended to output_path), stdin
 * is fed from stdin_data without risk of SIGPIPE or deadlock. Capture ends when the child
 * exits: output still held open by its background descendants is not waited for.
 * *ret is always initialised (proc_result_done is safe on it). Returns:
 *   0            the child exited (any status: see ret->exit_code / term_signal); when the
 *                status is not "exit 0", eb holds "<program>: <status>: <stderr tail>";
 *   -ETIMEDOUT   the deadline passed: the group got SIGTERM (and SIGCONT), then SIGKILL after
 *                kill_grace_ms; ret holds the output so far and how it died;
 *   -ENOENT, -EACCES, ...  the program could not be started (exec's errno, or the failing
 *                chdir/setuid step's, reported by the child through a CLOEXEC pipe);
 *   -ECHILD      the child was reaped by someone else (SIGCHLD set to SIG_IGN);
 *   -EINVAL      bad spec.
 */
int proc_run(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb);

/* Frees the captured output and resets r (NULL-safe, idempotent). */
void proc_result_done(struct proc_result *r);

/*
 * Starts a long-running child in its own session (setsid; its pid is its process group)
 * with stdin from /dev/null and stdout+stderr appended to output_path (or /dev/null).
 * timeout_ms bounds only the exec handshake; stdin_data is refused (-EINVAL). The caller
 * reaps the child with proc_wait and stops it with proc_kill_group. On success *ret_pid is
 * the child's pid. Returns 0 or as proc_run for start failures.
 */
int proc_spawn(const struct proc_spec *spec, pid_t *ret_pid, struct errbuf *eb);

/*
 * Waits up to timeout_ms (0: just check) for our child pid to exit and reaps it; *ret_status
 * is the waitpid status (see proc_exit_status_describe). Waits on a pidfd where the kernel
 * has them, else polls in short bounded steps. Returns 0, -ETIMEDOUT (still running),
 * -ECHILD (not our child, or reaped already) or -EINVAL.
 */
int proc_wait(pid_t pid, uint64_t timeout_ms, int *ret_status);

/*
 * Stops the process group pgid: SIGTERM then SIGCONT (so a stopped group handles it), waits
 * up to grace_ms for the group leader to exit (without reaping it), then SIGKILL to whatever
 * is left of the group. A group that is already gone is success. Returns 0, -EINVAL
 * (pgid <= 1) or -EPERM.
 */
int proc_kill_group(pid_t pgid, uint64_t grace_ms);

/* True when pid exists (kill(pid, 0) succeeds or fails with EPERM); zombies count as alive. */
bool proc_is_alive(pid_t pid);

/*
 * Describes a waitpid status in buf[size]: "exit 3", "signal 9", "stopped by signal 19".
 * Returns 0, or -ENOBUFS when truncated (buf still terminated when size > 0).
 */
int proc_exit_status_describe(int status, char *buf, size_t size);

/* proc_run behind a table, so tests can substitute a fake runner. */
struct proc_ops {
    int (*run)(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb,
               void *data);
    void *data;
};

/* The real runner: proc_run, ignoring data. */
extern const struct proc_ops proc_real;

#endif

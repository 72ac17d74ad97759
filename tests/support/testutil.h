/*
 * tests/support/testutil.h
 *
 * Small helpers for tests: a monotonic clock, free loopback ports, bounded polling, child
 * processes (spawn, wait, kill with escalation), temporary directories, whole-file reads and
 * one-shot SQL through libpq. Test support only: product code uses common/proc.h and
 * common/fsutil.h instead. Every wait here takes a timeout; none is unbounded.
 */
#ifndef OG_TESTS_TESTUTIL_H
#define OG_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on CLOCK_MONOTONIC (only differences mean anything). */
uint64_t tu_now_ms(void);

/* Sleeps ms milliseconds (poll-based; for bounded polling loops in tests only). */
void tu_sleep_ms(uint64_t ms);

/*
 * Finds a TCP port that is free on host (a dotted IPv4 address in 127.0.0.0/8) by binding
 * host:0 and closing the socket. The port may be taken again before the caller binds it:
 * callers retry on "address in use". 0 and *ret set; -EINVAL for a non-loopback host; -errno.
 */
int tu_free_port(const char *host, uint16_t *ret);

/*
 * Calls pred(arg) every step_ms until it returns true or timeout_ms have passed; returns the
 * last answer (pred is always called at least once, and once more at the deadline).
 */
bool tu_wait_until(bool (*pred)(void *), void *arg, uint64_t timeout_ms, uint64_t step_ms);

/*
 * Starts argv[0] (a path; no PATH search) with argv and the current environment, in a new
 * session (its pid is also its process group), stdin from /dev/null, stdout and stderr
 * appended to log_path (NULL keeps the test's own). 0 and *ret_pid set once the program has
 * been executed; -errno when fork, the log or execve failed (the child is reaped then).
 */
int tu_spawn(const char *const argv[], const char *log_path, pid_t *ret_pid);
/* As tu_spawn, running in_child(arg) in the child first (e.g. joining a network namespace);
 * a negative errno from it fails the spawn like an execve failure. */
int tu_spawn_with(const char *const argv[], const char *log_path, int (*in_child)(void *),
                  void *arg, pid_t *ret_pid);

/*
 * Waits up to timeout_ms for the child pid to exit and reaps it. 0 with *ret_status (may be
 * NULL) set to the exit code, or 128 + signal number when killed; -ETIMEDOUT when still
 * running (left alone); -errno (-ECHILD: not our child).
 */
int tu_wait_exit(pid_t pid, uint64_t timeout_ms, int *ret_status);

/*
 * Sends sig to pid's process group (or pid alone when it leads none), waits up to timeout_ms
 * for it to exit, then SIGKILLs the group and reaps. Returns 0 when it exited within
 * timeout_ms (or was already gone), -ETIMEDOUT when SIGKILL was needed, or -errno. pid need
 * not be our child: then its disappearance is awaited instead of reaped.
 */
int tu_kill_wait(pid_t pid, int sig, uint64_t timeout_ms);

/*
 * Forks a watchdog: the child closes the write end of a pipe and runs body(read_fd, arg),
 * which must not return (it waits for EOF — the test process died or closed *ret_fd — then
 * cleans up and _exit()s). The parent keeps the write end in *ret_fd (close-on-exec, so the
 * programs a test starts do not hold it) and the child's pid in *ret_pid. 0 or -errno.
 */
int tu_watchdog_start(void (*body)(int read_fd, void *arg), void *arg, int *ret_fd, pid_t *ret_pid);

/* SIGCONTs and SIGKILLs every process whose working directory is under dir, until none is left
 * (bounded: 50 rounds of 100 ms). */
void tu_sweep_dir(const char *dir);
/*
 * A watchdog for a test's directory dir (borrowed; must outlive the call only): when the test
 * process dies or closes *ret_fd, it kills the process groups announced with
 * tu_dir_watchdog_add, sweeps dir and removes it (unless OG_TEST_KEEP is set). 0 or -errno.
 */
int tu_dir_watchdog_start(const char *dir, int *ret_fd, pid_t *ret_pid);
/* Announces pid (a process group leader started by the test) to the watchdog on fd (< 0: none). */
void tu_dir_watchdog_add(int fd, pid_t pid);

/* True while pid exists and is not a zombie. */
bool tu_pid_alive(pid_t pid);

/*
 * Reads /proc/<pid>/stat: the state letter, process group and command name (comm, truncated
 * to comm_size - 1). Any output pointer may be NULL. 0 or -errno (-ENOENT: no such process).
 */
int tu_proc_stat(pid_t pid, char *ret_state, pid_t *ret_pgrp, char *comm, size_t comm_size);

/* Creates a fresh 0700 directory $TMPDIR/og-test-XXXXXX (or /tmp/...) into buf; 0 or -errno. */
int tu_mkdtemp(char *buf, size_t size);

/*
 * Removes path and everything below it, without following symbolic links (openat/unlinkat,
 * at most 64 levels deep). A missing path counts as removed. 0 or the first -errno.
 */
int tu_rmtree(const char *path);

/*
 * Reads a whole file (at most 64 MiB) into a NUL-terminated buffer the caller frees with
 * free(); NULL with errno set on failure.
 */
char *tu_read_file(const char *path);

/*
 * Connects with conninfo, runs sql (one or more statements; the last result counts) and
 * copies the first column of the first row into first_value[size] ("" when there is no row
 * or the value is NULL; first_value may be NULL). 0; -ECONNREFUSED when the connection
 * failed, -EIO when the statement failed (first_value then holds libpq's message), or
 * -ENAMETOOLONG when the value was truncated.
 */
int tu_pg_exec(const char *conninfo, const char *sql, char *first_value, size_t size);

#endif

/*
 * tests/support/netns.h
 *
 * A private network for one test run, built from Linux network namespaces, so that real
 * agents and PostgreSQL servers get real, non-loopback addresses (the Kubernetes API server,
 * and our emulator, reject loopback addresses in EndpointSlices):
 *
 *   og<pid>sw    the "switch": a bridge br0 with one veth port per host;
 *   og<pid>ctl   the control host, 10.X.Y.254/24: the test process enters it
 *                (netns_enter_ctl) so that what it starts afterwards (emulator, arbiter,
 *                kubectl) and its own libcurl/libpq calls live there;
 *   og<pid>h1..  hosts 1..n, 10.X.Y.1..n/24, each with eth0 (a veth into br0) and lo up.
 *
 * X.Y derive from the test's PID, as the names do, so parallel runs never share a name; the
 * networks are isolated from each other and from the root namespace anyway.
 *
 * Cleanup holds however the test ends: netns_teardown kills every process still inside the
 * run's namespaces and deletes them; a watchdog process (outside the test's process tree)
 * does the same as soon as the test process is gone, even SIGKILLed; netns_setup first
 * removes what runs of dead PIDs left behind (og<deadpid>*). Everything needs root and a
 * working `ip netns`: netns_supported() says so, and prints a loud SKIPPED line when not.
 *
 * Test support only; namespaces and links are created by running ip(8) with argument
 * arrays (common/proc.h), never a shell. Not thread-safe: call from the test's main thread.
 */
#ifndef OG_TESTS_NETNS_H
#define OG_TESTS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/errbuf.h"

#define NETNS_MAX_HOSTS 8
#define NETNS_RUN_DIR   "/var/run/netns"

struct netns_host {
    char name[32]; /* og<pid>h<i> or og<pid>ctl */
    char ip[16];   /* 10.X.Y.i (hosts) or 10.X.Y.254 (ctl) */
};

struct netns {
    char prefix[24]; /* og<pid> */
    char sw[32];     /* og<pid>sw */
    char subnet[16]; /* "10.X.Y" */
    int n;           /* hosts */
    struct netns_host hosts[NETNS_MAX_HOSTS];
    struct netns_host ctl;
    /* Private. */
    bool active;
    int home_fd; /* the test's own namespace while it is in another; -1 */
    int watchdog_fd;
    pid_t watchdog_pid;
};

/*
 * True when this process can build namespaces: root, ip(8) present, and a probe namespace
 * can be added and deleted. When not, prints "SKIPPED: <test>: <why>" to stderr (the caller
 * then passes without testing). The answer is cached.
 */
bool netns_supported(const char *test);

/*
 * Builds the network: removes stale og<deadpid>* namespaces, starts the watchdog, creates
 * the switch, the ctl host and n hosts (1..NETNS_MAX_HOSTS). nn is overwritten. 0, or
 * -errno with eb filled (everything created is removed again).
 */
int netns_setup(struct netns *nn, int n, struct errbuf *eb);

/*
 * Hands the run's temporary directory (an absolute path) to the watchdog: should the test
 * process die before netns_teardown, the directory is removed (unless OG_TEST_KEEP is set)
 * once the processes inside the namespaces are killed. netns_teardown does not remove it:
 * the test does. 0 or -errno.
 */
int netns_own_dir(struct netns *nn, const char *dir);

/*
 * Moves the calling thread into namespace name (one of nn's), remembering the thread's
 * namespace the first time so that netns_leave can return. Threads created afterwards
 * inherit it: call it before starting any thread. 0 or -errno with eb filled.
 */
int netns_enter(struct netns *nn, const char *name, struct errbuf *eb);

/* netns_enter(nn, nn->ctl.name, eb). */
int netns_enter_ctl(struct netns *nn, struct errbuf *eb);

/* Returns the calling thread to the namespace it had before netns_enter. 0 or -errno. */
int netns_leave(struct netns *nn);

/*
 * As tu_spawn (testutil.h), in namespace name: fork, setsid, setns(CLONE_NEWNET), stdin from
 * /dev/null, stdout+stderr appended to log_path (NULL: ours), execve(argv[0]) with our
 * environment. 0 and *ret_pid once the program runs; -errno when a step failed (the child
 * is reaped then).
 */
int netns_spawn(const char *name, const char *const argv[], const char *log_path, pid_t *ret_pid);

/*
 * argv prefixed with "ip netns exec <name>", for runners that take an argument array
 * (proc_run, kube_emu_kubectl-like helpers). Returns a NULL-terminated array the caller
 * frees with free() (the strings are borrowed from argv and name; the ip path is static).
 */
const char **netns_exec_argv(const char *name, const char *const argv[]);

/*
 * Number of processes currently inside namespace name (0 when it does not exist); the
 * calling process counts too when it is inside.
 */
size_t netns_pid_count(const char *name);

/* Number of entries of NETNS_RUN_DIR belonging to a run with this prefix ("og<pid>"). */
size_t netns_count_prefix(const char *prefix);

/*
 * Deletes every namespace left by runs whose PID is gone (og<deadpid>sw/ctl/h<i>), after
 * killing the processes still inside. Returns how many namespaces it deleted, or -errno.
 */
int netns_clean_stale(void);

/*
 * Leaves (netns_leave), kills every process still inside the run's namespaces (SIGCONT,
 * SIGKILL; the caller's own process excepted), deletes them, and dismisses the watchdog.
 * Idempotent; a zero-filled nn is fine. 0, or the first -errno (the watchdog then retries
 * when the test process ends).
 */
int netns_teardown(struct netns *nn);

#endif

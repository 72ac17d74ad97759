/*
 * tests/support/agent_harness.h
 *
 * Integration tests of og-agent: several agents on one machine (node1..nodeN on 127.0.0.1,
 * .2, .3), each with its own hostpath root and ops socket under one temporary directory, a
 * scripted arbiter (fake_arbiter.h), one PostgreSQL member per node (cluster "demo" in
 * namespace "default", members demo-0..demo-N-1) run as the unprivileged test user.
 *
 * Cleanup holds whatever happens to the test: ah_teardown stops the agents and kills every
 * process whose working directory lies under the temporary directory (postmasters, backends,
 * tools; SIGCONT first, so a SIGSTOPped one dies too), then removes the directory; a
 * watchdog process outside the test's process group does the same as soon as the test
 * process is gone (killed by a timeout, crashed), and ah_setup arms alarm(alarm_s).
 */
#ifndef OG_TESTS_AGENT_HARNESS_H
#define OG_TESTS_AGENT_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/desired.h"
#include "proto/report.h"
#include "tests/support/fake_arbiter.h"

#define AH_MAX_NODES 3
#define AH_PASSWORD  "og:Secret-1"

struct ah_node {
    char name[16];   /* node1 ... */
    char ip[16];     /* 127.0.0.1 ... */
    char member[16]; /* demo-0 ... */
    char root[PATH_MAX];
    char sock[PATH_MAX];
    char log[PATH_MAX];
    uint16_t port; /* the member's PostgreSQL port */
    pid_t pid;     /* the agent, -1 when not running */
    char conninfo[256];
};

struct ah {
    char tmpdir[PATH_MAX];
    struct fake_arbiter *fa;
    int n;
    struct ah_node nodes[AH_MAX_NODES];
    /* Defaults for ah_order; tests may change them. */
    uint64_t epoch;
    uint32_t restart_limit;
    uint64_t restart_window_ms;
    uint64_t lost_timeout_ms;
    uint64_t storage_bytes;
    /* Private. */
    int watchdog_fd;
    pid_t watchdog_pid;
};

/*
 * Creates the directory (0755, so the database user can reach its files), starts the fake
 * arbiter and the watchdog, picks free ports; n nodes. alarm_s bounds the whole test.
 * 0 or -errno (message on stderr).
 */
int ah_setup(struct ah *h, int n, unsigned alarm_s);

/*
 * Starts node i's agent: og-agent run with its node name, root, socket and a 200 ms probe
 * interval, plus extra (NULL-terminated, may be NULL). 0 or -errno.
 */
int ah_agent_start(struct ah *h, int i, const char *const *extra);

/* Sends sig to node i's agent and waits (SIGKILL after 10 s). 0 or -errno. */
int ah_agent_stop(struct ah *h, int i, int sig);

/*
 * The order for node i's member: role, following node `upstream` (-1: none), state running,
 * the harness defaults (epoch, budget, lost timeout, storage), the test password.
 */
void ah_order(const struct ah *h, int i, enum proto_role role, int upstream,
              struct proto_instance_desired *ret);

/* Publishes orders[0..n) as node i's desired state (a new generation). */
void ah_publish(struct ah *h, int i, const struct proto_instance_desired *orders, uint32_t n);

/* Publishes ah_order(i, role, upstream) alone for node i. */
void ah_publish_role(struct ah *h, int i, enum proto_role role, int upstream);

/* Node i's member in its latest report into *ret; false when not reported yet. */
bool ah_report(struct ah *h, int i, struct proto_instance_report *ret);

/*
 * Waits up to timeout_ms until node i reports its member in state (and role, unless
 * PROTO_ROLE_UNKNOWN is passed to mean any). true when it did; false prints the last report.
 */
bool ah_wait_state(struct ah *h, int i, enum proto_state state, enum proto_role role,
                   uint64_t timeout_ms);

/* Runs sql on node i's instance (TCP, the superuser): as tu_pg_exec. */
int ah_sql(struct ah *h, int i, const char *sql, char *out, size_t size);

/* Waits up to timeout_ms until sql on node i returns want. */
bool ah_wait_sql(struct ah *h, int i, const char *sql, const char *want, uint64_t timeout_ms);

/* The postmaster pid from node i's data/postmaster.pid (0 when none). */
pid_t ah_postmaster_pid(const struct ah *h, int i);

/* Every process whose working directory is under node i's member directory (max n). */
size_t ah_member_pids(const struct ah *h, int i, pid_t *ret, size_t max);

/* Prints the tail of node i's agent log to stderr. */
void ah_dump_log(const struct ah *h, int i);

/* Counts lines of node i's agent log containing needle. */
int ah_log_count(const struct ah *h, int i, const char *needle);

/* Stops everything and removes the directory (OG_TEST_KEEP=1 keeps it). Idempotent. */
void ah_teardown(struct ah *h);

#endif

/*
 * tests/support/e2e.h
 *
 * End-to-end tests of og-operator on loopback with real PostgreSQL 15: the real og-arbiter
 * (local mode, SQLite in a temporary directory) and N real og-agent processes (node1..nodeN
 * on 127.0.0.1..N), one cluster default/demo declared through the REST API, members reached
 * over libpq with the credentials the arbiter hands out.
 *
 * Helpers: the cluster JSON, the primary and the postmaster of each member, SQL with a
 * client-side timeout (a frozen server never answers), a writer thread inserting sequential
 * ids and recording the acknowledged ones, a watcher thread that polls every member with
 * pg_is_in_recovery() and counts moments where two members are writable, and freeze/thaw
 * (SIGSTOP/SIGCONT) of an instance (postmaster and children) or of an agent.
 *
 * Cleanup holds however the test ends: e2e_teardown SIGCONTs and kills every process it
 * started (arbiter, agents) and every process working under the temporary directory, then
 * removes it; a watchdog process outside the test's process group does the same as soon as
 * the test process is gone; e2e_setup arms alarm(alarm_s).
 */
#ifndef OG_TESTS_E2E_H
#define OG_TESTS_E2E_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define E2E_MAX_NODES 3
#define E2E_MAX_IDS   200000

struct e2e_node {
    char name[16]; /* node1 ... */
    char ip[16];   /* 127.0.0.1 ... */
    char root[PATH_MAX];
    char sock[PATH_MAX];
    char log[PATH_MAX];
    pid_t agent_pid; /* -1 when not running */
    char member[64]; /* the member placed on this node ("" until known) */
    char conninfo[512];
};

struct e2e_watch;
struct e2e_writer;

struct e2e {
    char tmpdir[PATH_MAX];
    char url[128];
    char listen[64];
    char db[PATH_MAX];
    pid_t arbiter_pid;
    int arbiter_runs;
    uint16_t dbport;
    int n;
    struct e2e_node nodes[E2E_MAX_NODES];
    char user[128];
    char password[256];
    /* Private. */
    void *http;
    int watchdog_fd;
    pid_t watchdog_pid;
};

/*
 * Creates the directory and the watchdog, starts the arbiter and n agents, declares
 * default/demo with the given "ha" object (JSON text, e.g. {"losttimeout":3}; NULL for
 * defaults), waits until it is ready (ready_timeout_ms), fetches the credentials and maps
 * members to nodes, waits for e2e_wait_sync. alarm_s bounds the whole test. 0 or -errno (reason on
 * stderr).
 */
int e2e_setup(struct e2e *e, int n, const char *ha_json, uint64_t ready_timeout_ms,
              unsigned alarm_s);

/* Starts the arbiter on e->listen with e->db (again after a kill) and waits for /readyz. */
int e2e_arbiter_start(struct e2e *e);

/* kill -9 of the arbiter, reaped. 0 or -errno. */
int e2e_arbiter_kill(struct e2e *e);

/*
 * One API call: method, path (from /api/v1...), body (may be NULL). Returns the HTTP status
 * (> 0) or -errno; *ret (may be NULL) gets the parsed body (NULL when none; caller frees).
 */
long e2e_api(struct e2e *e, const char *method, const char *path, const char *body, cJSON **ret);

/* GET /api/v1/clusters/default/demo; NULL when it failed. Caller frees with cJSON_Delete. */
cJSON *e2e_cluster(struct e2e *e);

/* The cluster's "state", "primary" and "epoch" into the buffers (may be NULL). 0 or -errno. */
int e2e_cluster_summary(struct e2e *e, char *state, size_t state_size, char *primary,
                        size_t primary_size, uint64_t *ret_epoch);

/* Waits up to timeout_ms until the cluster state is "ready". */
bool e2e_wait_ready(struct e2e *e, uint64_t timeout_ms);

/* Node i's member's "role" and "state" in the cluster JSON. 0, -ENOENT or -EIO. */
int e2e_member_status(struct e2e *e, int i, char *role, size_t role_size, char *state,
                      size_t state_size);

/* Waits up to timeout_ms until node i's member has role and state in the cluster JSON. */
bool e2e_wait_member(struct e2e *e, int i, const char *role, const char *state,
                     uint64_t timeout_ms);

/* The node index of the primary the arbiter names, -1 when none. */
int e2e_primary(struct e2e *e);

/*
 * Waits up to timeout_ms until the primary's pg_stat_replication lists every other member as
 * sync/quorum, then 2.5 s more so that the agents' reports carry it to the arbiter.
 */
bool e2e_wait_sync(struct e2e *e, uint64_t timeout_ms);

/* Waits up to timeout_ms for the arbiter to name a primary other than node `old`; index or -1. */
int e2e_wait_new_primary(struct e2e *e, int old, uint64_t timeout_ms);

/* Node i's member's postmaster pid (data/postmaster.pid), 0 when none. */
pid_t e2e_postmaster_pid(const struct e2e *e, int i);

/* Every process working under node i's member directory (at most max). */
size_t e2e_member_pids(const struct e2e *e, int i, pid_t *ret, size_t max);

/*
 * Runs sql on node i's member with a client-side bound of timeout_ms (connect included);
 * copies the first value into out (may be NULL). 0, -ETIMEDOUT, -ECONNREFUSED or -EIO (out
 * then holds the message).
 */
int e2e_sql(struct e2e *e, int i, const char *sql, char *out, size_t size, uint64_t timeout_ms);

/*
 * Asks node i pg_is_in_recovery() and transaction_read_only: 1 a writable primary, 2 not in
 * recovery but read-only, 0 in recovery (a standby), -errno when it did not answer in time.
 */
int e2e_is_writable(struct e2e *e, int i, uint64_t timeout_ms);

/* Waits up to timeout_ms until an INSERT into e2e_probe succeeds on node i. */
bool e2e_wait_writable(struct e2e *e, int i, uint64_t timeout_ms);

/* SIGSTOP (freeze) / SIGCONT (thaw) node i's postmaster and every process of its member. */
int e2e_freeze_instance(struct e2e *e, int i);
int e2e_thaw_instance(struct e2e *e, int i);

/* kill -9 of node i's postmaster alone (the agent sees a crash). */
int e2e_kill_postmaster(struct e2e *e, int i);

/* kill -9 of every process of node i's member (postmaster and children). */
void e2e_kill_instance(struct e2e *e, int i);

/* SIGSTOP / SIGCONT / SIGKILL (reaped) of node i's agent; start it again. */
int e2e_freeze_agent(struct e2e *e, int i);
int e2e_thaw_agent(struct e2e *e, int i);
int e2e_kill_agent(struct e2e *e, int i);
int e2e_agent_start(struct e2e *e, int i);

/*
 * The writer: a thread connecting to the first member answering as a writable primary,
 * creating table e2e_w (id int primary key) and inserting 1, 2, 3 ... one per statement
 * (synchronous commit), every interval_ms; an id counts as acknowledged when its INSERT
 * returned success. Each statement is bounded client-side (2 s); a failure reconnects.
 */
struct e2e_writer *e2e_writer_start(struct e2e *e, uint64_t interval_ms);

/* Stops the writer thread (bounded); the object stays readable. */
void e2e_writer_stop(struct e2e_writer *w);

/* Number of acknowledged ids so far. */
uint32_t e2e_writer_acked(struct e2e_writer *w);
/* Waits (bounded by timeout_ms) until the writer has more than `above` acknowledged ids. */
bool e2e_writer_wait_acked(struct e2e_writer *w, uint32_t above, uint64_t timeout_ms);

/*
 * Checks every acknowledged id is in e2e_w on node i: returns the number missing (0: none
 * lost; the first few are printed), or -errno when the check could not run.
 */
int e2e_writer_check(struct e2e *e, struct e2e_writer *w, int i);

/* Frees the writer (stops it first). NULL-safe. */
void e2e_writer_free(struct e2e_writer *w);

/*
 * The watcher: one thread per member polling `SELECT pg_is_in_recovery(),
 * current_setting('transaction_read_only')` every interval_ms (each probe bounded to 1 s).
 * A violation is two members answering writable with overlapping probe times.
 */
struct e2e_watch *e2e_watch_start(struct e2e *e, uint64_t interval_ms);

/* Stops the threads (bounded). */
void e2e_watch_stop(struct e2e_watch *w);

/* Number of overlapping two-writable observations so far (details printed when found). */
int e2e_watch_violations(struct e2e_watch *w);

/* Number of writable answers of node i whose probe was sent at or after since_ms. */
int e2e_watch_writable_since(struct e2e_watch *w, int i, uint64_t since_ms);

/* Number of "not in recovery" answers (writable or not) of node i received at or after since_ms. */
int e2e_watch_primary_since(struct e2e_watch *w, int i, uint64_t since_ms);

/* Frees the watcher (stops it first). NULL-safe. */
void e2e_watch_free(struct e2e_watch *w);

/* Prints the tail of the arbiter's and every agent's log to stderr. */
void e2e_dump_logs(const struct e2e *e);

/* True when OG_E2E_KNOWN_BUGS=1 (tests of known product bugs run). */
bool e2e_known_bugs(void);

/* Stops everything and removes the directory (OG_TEST_KEEP=1 keeps it). Idempotent. */
void e2e_teardown(struct e2e *e);
/*
 * A fresh n=3 cluster for one test: tears down what a previous test left (a fatal assertion
 * ends a test early), sets up with ha_json, prints how long it took, dumps logs on failure.
 */
bool e2e_cluster_up(struct e2e *e, const char *ha_json, uint64_t ready_timeout_ms);

#endif

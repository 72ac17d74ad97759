/*
 * tests/integration/test_engine_pg.c
 *
 * The postgresql driver and the probe against real PostgreSQL 15 servers on loopback, run as
 * the unprivileged test user when we are root: a primary made by the driver (initdb, start),
 * a standby on 127.0.0.2 made by a rebuild from it, the synchronous set changed by a reload
 * (same postmaster), a promotion (timeline 2), the old primary rewound after it wrote a
 * diverging row and started as a standby of the new one (application_name intact), a rebuild
 * and its crash-resume, idempotent repeats, a hung probe and the stop escalation of a
 * SIGSTOPped postmaster. The tests run in order and share the two servers; the suite cleanup
 * (and an atexit handler) stops both and removes the directory whatever failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/probe.h"
#include "tests/support/cu_main.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

#define PASSWORD "og:Secret-1"
#define WAIT_MS  20000
#define STEP_MS  100
#define HUNG_MAX 3000
#define ALARM_S  300 /* far below ctest's 600 s: we clean up ourselves first */

struct node {
    struct engine_instance in;
    struct engine e;
    char conninfo[512];
    bool opened;
};

static char tmpdir[256];
static struct node A, B;
static bool cleaned;

static int node_setup(struct node *n, const char *member, const char *ip, int uid, int gid)
{
    uint16_t port = 0;
    struct errbuf eb;
    int r = tu_free_port(ip, &port);

    if (r < 0) {
        return r;
    }
    engine_instance_init(&n->in);
    n->in.kind = ENGINE_KIND_POSTGRESQL;
    snprintf(n->in.bin_dir, sizeof(n->in.bin_dir), "%s", pgserver_bindir());
    snprintf(n->in.base_dir, sizeof(n->in.base_dir), "%s/%s", tmpdir, member);
    snprintf(n->in.member, sizeof(n->in.member), "%s", member);
    snprintf(n->in.ip, sizeof(n->in.ip), "%s", ip);
    n->in.port = port;
    n->in.uid = uid;
    n->in.gid = gid;
    snprintf(n->in.superuser, sizeof(n->in.superuser), "postgres");
    snprintf(n->in.password, sizeof(n->in.password), "%s", PASSWORD);
    n->in.timeouts.start_ms = 60000;
    n->in.timeouts.stop_ms = 3000;
    n->in.timeouts.kill_ms = 2000;
    n->in.timeouts.build_ms = 120000;
    snprintf(n->conninfo, sizeof(n->conninfo),
             "host=%s port=%u user=postgres password='%s' dbname=postgres connect_timeout=5", ip,
             port, PASSWORD);
    r = engine_open(&n->e, &n->in, NULL, &eb);
    if (r < 0) {
        fprintf(stderr, "engine_open %s: %s\n", member, eb.msg);
    }
    n->opened = r == 0;
    return r;
}

/* Makes each node the other's only peer (pg_hba replication lines). */
static void node_peers(void)
{
    A.in.n_peers = 1;
    A.in.peers[0] = (struct engine_peer){"pg-b", "", B.in.port};
    snprintf(A.in.peers[0].host, sizeof(A.in.peers[0].host), "%s", B.in.ip);
    B.in.n_peers = 1;
    B.in.peers[0] = (struct engine_peer){"pg-a", "", A.in.port};
    snprintf(B.in.peers[0].host, sizeof(B.in.peers[0].host), "%s", A.in.ip);
}

static void node_follow(struct node *n, const struct node *up)
{
    n->in.has_upstream = up != NULL;
    if (!up) {
        return;
    }
    snprintf(n->in.upstream.member, sizeof(n->in.upstream.member), "%s", up->in.member);
    snprintf(n->in.upstream.host, sizeof(n->in.upstream.host), "%s", up->in.ip);
    n->in.upstream.port = up->in.port;
}

static void node_sync(struct node *n, const char *name)
{
    memset(&n->in.sync, 0, sizeof(n->in.sync));
    if (!name) {
        return;
    }
    n->in.sync.num = 1;
    n->in.sync.n_names = 1;
    snprintf(n->in.sync.names[0], sizeof(n->in.sync.names[0]), "%s", name);
}

static int node_pid(struct node *n)
{
    struct engine_status st = {0};

    (void) engine_status(&n->e, &st, NULL);
    return st.running ? st.pid : 0;
}

static bool report(int r, const char *what, const struct errbuf *eb)
{
    if (r < 0) {
        fprintf(stderr, "\n  %s: %d %s\n", what, r, eb->msg);
    }
    return r == 0;
}

/* Asserts that expr, which uses &eb_ as its errbuf, returns 0; prints eb_ when not. */
#define OK(expr, what)                          \
    do {                                        \
        struct errbuf eb_ = {{0}};              \
        int r_ = expr;                          \
        CU_ASSERT_TRUE(report(r_, what, &eb_)); \
    } while (0)

static int sql(struct node *n, const char *q, char *out, size_t size)
{
    return tu_pg_exec(n->conninfo, q, out, size);
}

struct sql_wait {
    struct node *n;
    const char *q;
    const char *want;
};

static bool sql_matches(void *arg)
{
    struct sql_wait *w = arg;
    char out[256] = "";

    return sql(w->n, w->q, out, sizeof(out)) == 0 && strcmp(out, w->want) == 0;
}

static bool wait_sql(struct node *n, const char *q, const char *want)
{
    struct sql_wait w = {n, q, want};
    bool ok = tu_wait_until(sql_matches, &w, WAIT_MS, STEP_MS);

    if (!ok) {
        char out[256] = "";
        (void) sql(n, q, out, sizeof(out));
        fprintf(stderr, "\n  %s on %s: got '%s', want '%s'\n", q, n->in.member, out, want);
    }
    return ok;
}

/* Probe of n, with the replica named name found in it (NULL when absent). */
static const struct probe_replica *find_replica(const struct probe_result *res, const char *name)
{
    for (uint32_t i = 0; i < res->n_replicas; i++) {
        if (strcmp(res->replicas[i].application_name, name) == 0) {
            return &res->replicas[i];
        }
    }
    return NULL;
}

/* Prints the last lines of n's server logs, to explain a failure. */
static void dump_log(const struct node *n)
{
    char pattern[600];
    glob_t g;

    snprintf(pattern, sizeof(pattern), "%s/log/*.log", n->in.base_dir);
    if (glob(pattern, 0, NULL, &g) != 0) {
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = tu_read_file(g.gl_pathv[i]);
        size_t len = text ? strlen(text) : 0;
        const char *tail = text ? text + (len > 1500 ? len - 1500 : 0) : "";

        fprintf(stderr, "\n  ---- %s (tail)\n%s\n", g.gl_pathv[i], tail);
        free(text);
    }
    globfree(&g);
}

struct stream_wait {
    struct node *primary;
    const char *standby;
    enum proto_sync_state sync;
    struct probe_result res;
};

static bool streams(void *arg)
{
    struct stream_wait *w = arg;
    const struct probe_replica *rp;

    if (probe_instance(&w->primary->in, 2000, &w->res, NULL) < 0) {
        return false;
    }
    rp = find_replica(&w->res, w->standby);
    return rp && rp->state == PROTO_REPL_STATE_STREAMING &&
           (w->sync == PROTO_SYNC_STATE_UNKNOWN || rp->sync_state == w->sync);
}

static bool wait_streaming(struct node *primary, const char *standby, enum proto_sync_state sync)
{
    struct stream_wait w = {.primary = primary, .standby = standby, .sync = sync};
    bool ok = tu_wait_until(streams, &w, WAIT_MS, STEP_MS);

    if (!ok) {
        fprintf(stderr, "\n  %s does not stream from %s (%u replicas, %s)\n", standby,
                primary->in.member, w.res.n_replicas, w.res.error);
        dump_log(&A);
        dump_log(&B);
    }
    return ok;
}

/*
 * The tests build on each other: after a failure the servers are in an unknown state, and a
 * commit could wait forever for a synchronous standby that is not there. Skip instead.
 */
#define SKIP_AFTER_FAILURE()                            \
    do {                                                \
        if (CU_get_number_of_failures() > 0) {          \
            CU_FAIL("skipped: an earlier step failed"); \
            return;                                     \
        }                                               \
    } while (0)

/* ---- tests, in order ---- */

static void test_engine_pg_init_primary(void)
{
    struct probe_result res;
    struct errbuf eb;
    int r;

    SKIP_AFTER_FAILURE();
    OK(engine_init(&A.e, &eb_), "init A");
    OK(engine_init(&A.e, &eb_), "init A again"); /* idempotent */
    OK(engine_start(&A.e, ENGINE_MODE_PRIMARY, &eb_), "start A");
    r = probe_instance(&A.in, 2000, &res, &eb);
    CU_ASSERT_TRUE(report(r, "probe A", &eb));
    CU_ASSERT_TRUE(res.up);
    CU_ASSERT_FALSE(res.hung);
    CU_ASSERT_FALSE(res.in_recovery);
    CU_ASSERT_EQUAL(res.timeline, 1);
    CU_ASSERT_NOT_EQUAL(res.system_id, 0);
    CU_ASSERT(res.current_lsn > 0);
    CU_ASSERT_STRING_EQUAL(res.sync_standby_names, "");
    CU_ASSERT_EQUAL(sql(&A, "CREATE TABLE t (v text); INSERT INTO t VALUES ('before')", NULL, 0),
                    0);
}

static void test_engine_pg_standby_by_rebuild(void)
{
    struct probe_result res;
    struct errbuf eb;
    int r;

    SKIP_AFTER_FAILURE();
    node_follow(&B, &A);
    OK(engine_rebuild(&B.e, &eb_), "rebuild B from A");
    CU_ASSERT_TRUE(wait_streaming(&A, "pg-b", PROTO_SYNC_STATE_ASYNC));
    r = probe_instance(&B.in, 2000, &res, &eb);
    CU_ASSERT_TRUE(report(r, "probe B", &eb));
    CU_ASSERT_TRUE(res.in_recovery);
    CU_ASSERT_TRUE(res.receiving);
    CU_ASSERT_EQUAL(res.timeline, 1);
    CU_ASSERT(res.received_lsn > 0);
    CU_ASSERT(res.replayed_lsn > 0);
    CU_ASSERT_TRUE(wait_sql(&B, "SELECT count(*) FROM t WHERE v = 'before'", "1"));
}

static void test_engine_pg_sync_by_reload(void)
{
    char want[128];
    int pid = node_pid(&A);

    SKIP_AFTER_FAILURE();
    CU_ASSERT_NOT_EQUAL(pid, 0);
    node_sync(&A, "pg-b");
    OK(engine_reload(&A.e, &eb_), "reload A");
    CU_ASSERT_TRUE(wait_sql(&A, "SHOW synchronous_standby_names", "ANY 1 (\"pg-b\")"));
    CU_ASSERT_TRUE_FATAL(wait_streaming(&A, "pg-b", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_EQUAL(node_pid(&A), pid); /* reloaded, not restarted */
    CU_ASSERT_EQUAL(sql(&A, "INSERT INTO t VALUES ('sync')", NULL, 0), 0);
    CU_ASSERT_TRUE(wait_sql(&B, "SELECT count(*) FROM t WHERE v = 'sync'", "1"));
    /* B runs with its own managed file, not the copy of A's that pg_basebackup brought. */
    snprintf(want, sizeof(want), "%u", B.in.port);
    CU_ASSERT_TRUE(wait_sql(&B, "SHOW port", want));
    CU_ASSERT_TRUE(wait_sql(&B, "SHOW listen_addresses", "127.0.0.2"));
}

static void test_engine_pg_promote(void)
{
    struct probe_result res;
    struct errbuf eb;
    int r;

    SKIP_AFTER_FAILURE();
    /* A keeps running as a primary for the split-brain below: make its commits async. */
    node_sync(&A, NULL);
    OK(engine_reload(&A.e, &eb_), "reload A async");
    CU_ASSERT_TRUE(wait_sql(&A, "SHOW synchronous_standby_names", ""));
    OK(engine_promote(&B.e, &eb_), "promote B");
    r = probe_instance(&B.in, 2000, &res, &eb);
    CU_ASSERT_TRUE(report(r, "probe B", &eb));
    CU_ASSERT_FALSE(res.in_recovery);
    CU_ASSERT_EQUAL(res.timeline, 2);
    OK(engine_promote(&B.e, &eb_), "promote B again"); /* idempotent */
    CU_ASSERT_EQUAL(sql(&B, "INSERT INTO t VALUES ('after')", NULL, 0), 0);
    /* The old primary, not fenced in this test, takes a write the new one never sees. */
    CU_ASSERT_EQUAL(sql(&A, "INSERT INTO t VALUES ('diverged'); CHECKPOINT", NULL, 0), 0);
}

static void test_engine_pg_rewind_old_primary(void)
{
    struct probe_result res;
    struct errbuf eb;
    int r;

    SKIP_AFTER_FAILURE();
    node_follow(&B, NULL);
    node_follow(&A, &B);
    OK(engine_rewind(&A.e, &eb_), "rewind A from B");
    OK(engine_start(&A.e, ENGINE_MODE_STANDBY, &eb_), "start A as standby");
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_UNKNOWN));
    r = probe_instance(&A.in, 2000, &res, &eb);
    CU_ASSERT_TRUE(report(r, "probe A", &eb));
    CU_ASSERT_TRUE(res.in_recovery);
    CU_ASSERT_EQUAL(res.timeline, 2);
    /* application_name is still the member's (pg_rewind -R would have dropped it). */
    node_sync(&B, "pg-a");
    OK(engine_reload(&B.e, &eb_), "reload B sync");
    CU_ASSERT_TRUE_FATAL(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_EQUAL(sql(&B, "INSERT INTO t VALUES ('rejoined')", NULL, 0), 0);
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT string_agg(v, ',' ORDER BY v) FROM t",
                            "after,before,rejoined,sync"));
    CU_ASSERT_TRUE(wait_sql(&B, "SELECT string_agg(v, ',' ORDER BY v) FROM t",
                            "after,before,rejoined,sync"));
}

static bool data_old_left(struct node *n)
{
    struct engine_status st = {0};

    (void) engine_status(&n->e, &st, NULL);
    return st.rebuild_left;
}

static void test_engine_pg_rebuild_and_resume(void)
{
    char old[600], path[700];
    FILE *f;

    SKIP_AFTER_FAILURE();
    /* A full rebuild of the running standby A. */
    OK(engine_rebuild(&A.e, &eb_), "rebuild A from B");
    CU_ASSERT_FALSE(data_old_left(&A));
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT count(*) FROM t", "4"));

    /* A crash in the middle of the next one: data moved aside, a partial copy in data/. */
    OK(engine_stop(&A.e, &eb_), "stop A");
    snprintf(old, sizeof(old), "%s/data.old-100", A.in.base_dir);
    CU_ASSERT_EQUAL_FATAL(rename(A.e.data_dir, old), 0);
    CU_ASSERT_EQUAL(mkdir(A.e.data_dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/PG_VERSION", A.e.data_dir);
    f = fopen(path, "w");
    if (f) {
        fputs("15\n", f);
        fclose(f);
    }
    CU_ASSERT_TRUE(data_old_left(&A));
    /* start puts the old copy back and starts it (the arbiter orders the rebuild again). */
    OK(engine_start(&A.e, ENGINE_MODE_STANDBY, &eb_), "start A after a crashed rebuild");
    CU_ASSERT_FALSE(data_old_left(&A));
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));

    /* The same crash, then the rebuild itself resumes: the copy is redone. */
    OK(engine_stop(&A.e, &eb_), "stop A");
    CU_ASSERT_EQUAL_FATAL(rename(A.e.data_dir, old), 0);
    CU_ASSERT_EQUAL(mkdir(A.e.data_dir, 0700), 0);
    OK(engine_rebuild(&A.e, &eb_), "resume rebuild A");
    CU_ASSERT_FALSE(data_old_left(&A));
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT count(*) FROM t", "4"));
}

static bool copy_marked(struct node *n)
{
    struct engine_status st = {0};

    (void) engine_status(&n->e, &st, NULL);
    return st.copy_incomplete;
}

/*
 * A copy whose source is gone (the bench's "rebuild from an upstream that had just died"):
 * the partial copy is removed, the old data stays aside, the copy marker stays, and nothing
 * starts that directory until a copy from a live upstream completed.
 */
static void test_engine_pg_failed_copy_never_started(void)
{
    uint16_t dead = 0;
    struct errbuf eb = {{0}};
    int r;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_EQUAL_FATAL(tu_free_port(B.in.ip, &dead), 0);
    node_follow(&A, &B);
    A.in.upstream.port = dead;
    r = engine_rebuild(&A.e, &eb);
    CU_ASSERT(r < 0);
    CU_ASSERT_EQUAL(node_pid(&A), 0);
    CU_ASSERT_TRUE(copy_marked(&A));
    CU_ASSERT_TRUE(data_old_left(&A)); /* kept aside until a new copy has started */
    errbuf_clear(&eb);
    r = engine_start(&A.e, ENGINE_MODE_STANDBY, &eb);
    CU_ASSERT_EQUAL(r, -EUCLEAN);
    CU_ASSERT_EQUAL(node_pid(&A), 0);
    /* A rewind from the dead source does not start it either. */
    errbuf_clear(&eb);
    CU_ASSERT(engine_rewind(&A.e, &eb) < 0);
    CU_ASSERT_TRUE(copy_marked(&A));
    /* The next copy, from the live upstream, completes and starts. */
    node_follow(&A, &B);
    OK(engine_rebuild(&A.e, &eb_), "rebuild A from B after a failed copy");
    CU_ASSERT_FALSE(copy_marked(&A));
    CU_ASSERT_FALSE(data_old_left(&A));
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT count(*) FROM t", "4"));
}

/*
 * A standby that cannot become consistent (a copy without WAL, no reachable upstream) answers
 * "the database system is starting up" for as long as it waits: the start returns
 * -EINPROGRESS after the start wait (a few seconds, not pg_ctl's 60), the postmaster lives
 * on, the probe says "starting", and it completes once it reaches an upstream.
 */
static void test_engine_pg_start_wait_bounded(void)
{
    char conninfo[800];
    const char *argv[] = {"pg_basebackup", "-D", A.e.data_dir, "-d", conninfo, "-X",
                          "none",          "-c", "fast",       "-w", NULL};
    struct probe_result res;
    struct errbuf eb = {{0}};
    uint16_t dead = 0;
    uint64_t t0, took;
    int r;

    SKIP_AFTER_FAILURE();
    CU_ASSERT(ENGINE_START_TIMEOUT_MS <= 15000);
    OK(engine_stop(&A.e, &eb_), "stop A");
    CU_ASSERT_EQUAL_FATAL(tu_rmtree(A.e.data_dir), 0);
    CU_ASSERT_EQUAL_FATAL(
            engine_render_conninfo(&A.e, B.in.ip, B.in.port, NULL, conninfo, sizeof(conninfo)), 0);
    OK(engine_run(&A.e, argv, 120000, NULL, NULL, &eb_), "pg_basebackup -X none");
    CU_ASSERT_EQUAL_FATAL(tu_free_port(B.in.ip, &dead), 0);
    A.in.upstream.port = dead;
    A.in.timeouts.start_ms = 3000;
    CU_ASSERT_EQUAL_FATAL(engine_open(&A.e, &A.in, NULL, &eb), 0);
    t0 = tu_now_ms();
    r = engine_start(&A.e, ENGINE_MODE_STANDBY, &eb);
    took = tu_now_ms() - t0;
    fprintf(stderr, "[start returned %d after %llu ms: %s] ", r, (unsigned long long) took, eb.msg);
    CU_ASSERT_EQUAL(r, -EINPROGRESS);
    CU_ASSERT(took < 30000);
    CU_ASSERT(node_pid(&A) > 0);
    CU_ASSERT_EQUAL(probe_instance(&A.in, 2000, &res, NULL), -EAGAIN);
    /* Given its upstream, it gets the WAL it lacked and streams. */
    A.in.timeouts.start_ms = 60000;
    CU_ASSERT_EQUAL_FATAL(engine_open(&A.e, &A.in, NULL, &eb), 0);
    node_follow(&A, &B);
    OK(engine_reload(&A.e, &eb_), "reload A with its upstream");
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT count(*) FROM t", "4"));
}

static void test_engine_pg_idempotent(void)
{
    int pid = node_pid(&B);

    SKIP_AFTER_FAILURE();
    OK(engine_start(&B.e, ENGINE_MODE_PRIMARY, &eb_), "start running B");
    CU_ASSERT_EQUAL(node_pid(&B), pid);
    OK(engine_promote(&B.e, &eb_), "promote primary B");
    /* Stop twice, start again: the sync standby comes back and commits flow. */
    OK(engine_stop(&A.e, &eb_), "stop A");
    OK(engine_stop(&A.e, &eb_), "stop A again");
    CU_ASSERT_EQUAL(node_pid(&A), 0);
    OK(engine_start(&A.e, ENGINE_MODE_STANDBY, &eb_), "start A");
    CU_ASSERT_TRUE_FATAL(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_EQUAL(sql(&B, "INSERT INTO t VALUES ('z')", NULL, 0), 0);
}

static void test_engine_pg_probe_down_and_hung(void)
{
    struct probe_result res;
    struct errbuf eb;
    int pid = node_pid(&A);
    uint32_t port = A.in.port;
    uint16_t unused = 0;
    uint64_t t0;
    int r;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_NOT_EQUAL_FATAL(pid, 0);
    CU_ASSERT_EQUAL(kill(pid, SIGSTOP), 0);
    t0 = tu_now_ms();
    r = probe_instance(&A.in, 1000, &res, &eb);
    CU_ASSERT_EQUAL(r, -ETIMEDOUT);
    CU_ASSERT_TRUE(res.hung);
    CU_ASSERT_FALSE(res.up);
    CU_ASSERT(tu_now_ms() - t0 < HUNG_MAX);
    CU_ASSERT(res.elapsed_ms >= 900 && res.elapsed_ms < HUNG_MAX);
    CU_ASSERT_EQUAL(kill(pid, SIGCONT), 0);
    r = probe_instance(&A.in, 2000, &res, &eb);
    CU_ASSERT_TRUE(report(r, "probe A after SIGCONT", &eb));
    /* Nothing listening: down, at once. */
    CU_ASSERT_EQUAL_FATAL(tu_free_port("127.0.0.1", &unused), 0);
    A.in.port = unused;
    t0 = tu_now_ms();
    r = probe_instance(&A.in, 1000, &res, &eb);
    A.in.port = port;
    CU_ASSERT_EQUAL(r, -ECONNREFUSED);
    CU_ASSERT_FALSE(res.hung);
    CU_ASSERT(tu_now_ms() - t0 < 500);
    /* Wrong password: refused as such. */
    snprintf(A.in.password, sizeof(A.in.password), "wrong");
    r = probe_instance(&A.in, 2000, &res, &eb);
    snprintf(A.in.password, sizeof(A.in.password), "%s", PASSWORD);
    CU_ASSERT_EQUAL(r, -EACCES);
}

static void test_engine_pg_stop_frozen_postmaster(void)
{
    int pid = node_pid(&A);
    uint64_t t0;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_NOT_EQUAL_FATAL(pid, 0);
    CU_ASSERT_EQUAL(kill(pid, SIGSTOP), 0);
    t0 = tu_now_ms();
    OK(engine_stop(&A.e, &eb_), "stop frozen A");
    /* fast (3 s) + immediate (2 s) + SIGKILL wait, plus the tools' start-up. */
    CU_ASSERT(tu_now_ms() - t0 < 15000);
    CU_ASSERT_FALSE(tu_pid_alive(pid));
    CU_ASSERT_EQUAL(node_pid(&A), 0);
    /* Its children went too, so it starts again (no shared memory left attached). */
    OK(engine_start(&A.e, ENGINE_MODE_STANDBY, &eb_), "start A after SIGKILL");
    CU_ASSERT_TRUE(wait_streaming(&B, "pg-a", PROTO_SYNC_STATE_QUORUM));
    CU_ASSERT_TRUE(wait_sql(&A, "SELECT count(*) FROM t WHERE v = 'z'", "1"));
}

/* ---- setup and cleanup ---- */

static char pidfiles[2][600];

/*
 * Last line of defence (SIGALRM after ALARM_S, SIGTERM, SIGINT): SIGKILL both postmasters
 * named in their postmaster.pid with async-signal-safe calls only, then leave. Their backends
 * notice the postmaster's death and exit; the directory is left for the next /tmp cleaning.
 */
static void emergency(int sig)
{
    (void) sig;
    for (int i = 0; i < 2; i++) {
        char buf[32];
        int fd = pidfiles[i][0] ? open(pidfiles[i], O_RDONLY | O_CLOEXEC) : -1;
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        long pid = 0;

        if (fd >= 0) {
            close(fd);
        }
        for (ssize_t k = 0; k < n && buf[k] >= '0' && buf[k] <= '9'; k++) {
            pid = pid * 10 + (buf[k] - '0');
        }
        if (pid > 1) {
            (void) kill((pid_t) pid, SIGKILL);
            (void) kill((pid_t) pid, SIGCONT);
        }
    }
    _exit(3);
}

static void cleanup(void)
{
    struct node *nodes[] = {&A, &B};

    if (cleaned) {
        return;
    }
    cleaned = true;
    for (size_t i = 0; i < 2; i++) {
        struct errbuf eb;
        int pid = nodes[i]->opened ? node_pid(nodes[i]) : 0;

        if (!pid) {
            continue;
        }
        (void) kill(pid, SIGCONT);
        if (engine_stop(&nodes[i]->e, &eb) < 0) {
            (void) tu_kill_wait(pid, SIGKILL, 5000);
        }
    }
    /* OG_TEST_KEEP=1 keeps the directory (data, logs) for a post-mortem. */
    if (tmpdir[0] && !getenv("OG_TEST_KEEP")) {
        (void) tu_rmtree(tmpdir);
    } else if (tmpdir[0]) {
        fprintf(stderr, "kept %s\n", tmpdir);
    }
}

static int suite_init(void)
{
    int uid = -1, gid = -1;

    if (geteuid() == 0 && pgserver_run_user(&uid, &gid) < 0) {
        fprintf(stderr, "no unprivileged user to run PostgreSQL as\n");
        return 1;
    }
    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0 || chmod(tmpdir, 0755) < 0) {
        return 1;
    }
    atexit(cleanup);
    if (node_setup(&A, "pg-a", "127.0.0.1", uid, gid) < 0 ||
        node_setup(&B, "pg-b", "127.0.0.2", uid, gid) < 0) {
        return 1;
    }
    node_peers();
    snprintf(pidfiles[0], sizeof(pidfiles[0]), "%s/postmaster.pid", A.e.data_dir);
    snprintf(pidfiles[1], sizeof(pidfiles[1]), "%s/postmaster.pid", B.e.data_dir);
    signal(SIGTERM, emergency);
    signal(SIGINT, emergency);
    signal(SIGALRM, emergency);
    alarm(ALARM_S);
    return 0;
}

static int suite_cleanup(void)
{
    cleanup();
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"init and start a primary", test_engine_pg_init_primary},
            {"standby by rebuild", test_engine_pg_standby_by_rebuild},
            {"sync set by reload", test_engine_pg_sync_by_reload},
            {"promote", test_engine_pg_promote},
            {"rewind the old primary", test_engine_pg_rewind_old_primary},
            {"rebuild and resume", test_engine_pg_rebuild_and_resume},
            {"a failed copy is never started", test_engine_pg_failed_copy_never_started},
            {"start wait bounded; starting is not stopped", test_engine_pg_start_wait_bounded},
            {"idempotent repeats", test_engine_pg_idempotent},
            {"probe down and hung", test_engine_pg_probe_down_and_hung},
            {"stop a frozen postmaster", test_engine_pg_stop_frozen_postmaster},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("engine_pg", tests, suite_init, suite_cleanup);
}

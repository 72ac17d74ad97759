/*
 * tests/integration/test_agent_resync.c
 *
 * og-agent resynchronising standbys (real PostgreSQL 15, scripted arbiter, two nodes):
 *  - an agent killed with SIGKILL in the middle of a base backup (throttled with
 *    --copy-max-rate so that it lasts) leaves pg_basebackup running; the restarted agent
 *    kills it before it copies again, and the member completes as a streaming standby;
 *  - a standby whose WAL was removed on its upstream ("requested WAL segment ... has already
 *    been removed") is not left looping: its log says so, it is copied again at once (no
 *    rewind, which could not help), and it streams;
 *  - crash of a synchronous primary → first synchronous commit, with the standby's
 *    wal_retrieve_retry_interval at PostgreSQL's 5 s and at the agent's default (printed,
 *    not asserted: timings on a shared machine are noise).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/member.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/agent_harness.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define WAIT_MS   60000
#define RESYNC_MS 120000

static struct ah H;

#define SKIP_AFTER_FAILURE()                            \
    do {                                                \
        if (CU_get_number_of_failures() > 0) {          \
            CU_FAIL("skipped: an earlier step failed"); \
            return;                                     \
        }                                               \
    } while (0)

static void dump_all(void)
{
    for (int i = 0; i < H.n; i++) {
        ah_dump_log(&H, i);
    }
}

/* The pg_basebackup processes working on node i's member (max n). */
static size_t basebackups(int i, pid_t *ret, size_t max)
{
    pid_t pids[64];
    size_t n = ah_member_pids(&H, i, pids, 64), k = 0;

    for (size_t j = 0; j < n && k < max; j++) {
        char comm[64] = "";
        char state = '?';

        if (tu_proc_stat(pids[j], &state, NULL, comm, sizeof(comm)) == 0 && state != 'Z' &&
            strcmp(comm, "pg_basebackup") == 0) {
            ret[k++] = pids[j];
        }
    }
    return k;
}

static bool basebackup_running(void *arg)
{
    pid_t p;

    (void) arg;
    return basebackups(1, &p, 1) > 0;
}

static bool all_gone(void *arg)
{
    const pid_t *pids = arg;

    for (int i = 0; pids[i] > 0; i++) {
        if (tu_pid_alive(pids[i])) {
            return false;
        }
    }
    return true;
}

static void test_agent_resync_stray_copy(void)
{
    const char *slow[] = {"--copy-max-rate=32", NULL};
    pid_t strays[8] = {0};
    size_t n;

    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v text); INSERT INTO t VALUES ('one')", NULL, 0),
                    0);
    /* A copy at 32 kB/s: minutes for an empty cluster. */
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 1, slow), 0);
    ah_publish_role(&H, 1, PROTO_ROLE_STANDBY, 0);
    CU_ASSERT_TRUE_FATAL(tu_wait_until(basebackup_running, NULL, WAIT_MS, 50));
    tu_sleep_ms(1000);
    CU_ASSERT_EQUAL(ah_agent_stop(&H, 1, SIGKILL), 0);
    n = basebackups(1, strays, 7);
    fprintf(stderr, "[%zu pg_basebackup process(es) outlived the agent] ", n);
    CU_ASSERT_FATAL(n > 0);
    tu_sleep_ms(500);
    CU_ASSERT_TRUE(tu_pid_alive(strays[0]));
    /* The next agent (not throttled) kills them first, then copies again. */
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 1, NULL), 0);
    CU_ASSERT_TRUE(tu_wait_until(all_gone, strays, 20000, 50));
    CU_ASSERT_TRUE(ah_wait_state(&H, 1, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_sql(&H, 1, "SELECT string_agg(v, ',') FROM t", "one", WAIT_MS));
    CU_ASSERT(ah_log_count(&H, 1, "left on this member by an earlier agent") >= 1);
    if (CU_get_number_of_failures() > 0) {
        dump_all();
    }
}

struct upstream_wait {
    int node;
    const char *upstream;
    uint64_t after; /* reports counted before the agent started */
};

/* Node's new agent reports a running standby that receives WAL from upstream. */
static bool streams_from(void *arg)
{
    struct upstream_wait *w = arg;
    struct proto_instance_report r;

    return fake_arbiter_report_count(H.fa, H.nodes[w->node].name) > w->after + 2 &&
           ah_report(&H, w->node, &r) && r.state == PROTO_STATE_RUNNING &&
           r.role == PROTO_ROLE_STANDBY && strcmp(r.upstream, w->upstream) == 0;
}

static void test_agent_resync_wal_gone(void)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));
    struct upstream_wait w = {.node = 1, .upstream = "demo-0"};
    pid_t pm;
    uint64_t t0;
    bool ok;

    SKIP_AFTER_FAILURE();
    /* The primary keeps no WAL for absent standbys. */
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, o);
    o->n_config = 1;
    (void) str_copy(o->config[0].key, sizeof(o->config[0].key), "wal_keep_size");
    (void) str_copy(o->config[0].value, sizeof(o->config[0].value), "0");
    ah_publish(&H, 0, o, 1);
    CU_ASSERT_TRUE(ah_wait_sql(&H, 0, "SHOW wal_keep_size", "0", WAIT_MS));
    /* The standby goes away cleanly, with its agent. */
    CU_ASSERT_EQUAL(ah_agent_stop(&H, 1, SIGKILL), 0);
    pm = ah_postmaster_pid(&H, 1);
    CU_ASSERT_FATAL(pm > 0);
    CU_ASSERT_EQUAL(tu_kill_wait(pm, SIGINT, 30000), 0);
    /* Meanwhile the primary moves on and removes the WAL it would need. */
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(ah_sql(&H, 0,
                               "INSERT INTO t SELECT 'fill' FROM generate_series(1, 1000); "
                               "SELECT pg_switch_wal(); CHECKPOINT",
                               NULL, 0),
                        0);
    }
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES ('two')", NULL, 0), 0);
    t0 = tu_now_ms();
    w.after = fake_arbiter_report_count(H.fa, H.nodes[1].name);
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 1, NULL), 0);
    ok = tu_wait_until(streams_from, &w, RESYNC_MS, 200);
    fprintf(stderr, "[standby streaming again after %llu ms] ",
            (unsigned long long) (tu_now_ms() - t0));
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(ah_wait_sql(&H, 1, "SELECT count(*) FROM t WHERE v = 'two'", "1", WAIT_MS));
    CU_ASSERT(ah_log_count(&H, 1, "resync-copy") >= 1);
    CU_ASSERT_EQUAL(ah_log_count(&H, 1, "\"action\":\"rewind\""), 0);
    if (CU_get_number_of_failures() > 0) {
        dump_all();
    }
    free(o);
}

/* The primary (node 0) lists demo-1 as a streaming synchronous standby. */
static bool sync_streaming(void *arg)
{
    char out[16] = "";

    (void) arg;
    return ah_sql(&H, 0,
                  "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'demo-1' "
                  "AND state = 'streaming' AND sync_state IN ('sync', 'quorum')",
                  out, sizeof(out)) == 0 &&
           strcmp(out, "1") == 0;
}

/* Kills the primary's postmaster; ms until a synchronous commit is possible again. */
static uint64_t crash_to_sync_commit(void)
{
    pid_t pm = ah_postmaster_pid(&H, 0);
    uint64_t t0, took;

    CU_ASSERT_FATAL(pm > 0);
    tu_sleep_ms(1500); /* out of the restart window of the last trial */
    CU_ASSERT_EQUAL(kill(pm, SIGKILL), 0);
    t0 = tu_now_ms();
    CU_ASSERT_TRUE(tu_wait_until(sync_streaming, NULL, 30000, 20));
    took = tu_now_ms() - t0;
    /* And it is: a commit waits for demo-1 and returns. */
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES ('sync')", NULL, 0), 0);
    CU_ASSERT_TRUE(tu_wait_until(sync_streaming, NULL, 30000, 50));
    return took;
}

static void standby_order(struct proto_instance_desired *o, const char *retry)
{
    ah_order(&H, 1, PROTO_ROLE_STANDBY, 0, o);
    if (retry) {
        o->n_config = 1;
        (void) str_copy(o->config[0].key, sizeof(o->config[0].key), "wal_retrieve_retry_interval");
        (void) str_copy(o->config[0].value, sizeof(o->config[0].value), retry);
    }
}

static void test_agent_resync_crash_to_sync_commit(void)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));
    uint64_t before[3], after[3];

    SKIP_AFTER_FAILURE();
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, o);
    o->sync.num = 1;
    o->sync.n_names = 1;
    (void) str_copy(o->sync.names[0], sizeof(o->sync.names[0]), "demo-1");
    ah_publish(&H, 0, o, 1);
    CU_ASSERT_TRUE_FATAL(tu_wait_until(sync_streaming, NULL, WAIT_MS, 100));
    /* The agent's own setting on standbys. */
    CU_ASSERT_TRUE(
            ah_wait_sql(&H, 1, "SHOW wal_retrieve_retry_interval", MEMBER_WAL_RETRY, WAIT_MS));
    /* PostgreSQL's default, as before the agent managed it. */
    standby_order(o, "5s");
    ah_publish(&H, 1, o, 1);
    CU_ASSERT_TRUE_FATAL(ah_wait_sql(&H, 1, "SHOW wal_retrieve_retry_interval", "5s", WAIT_MS));
    for (int i = 0; i < 3; i++) {
        before[i] = crash_to_sync_commit();
    }
    standby_order(o, NULL);
    ah_publish(&H, 1, o, 1);
    CU_ASSERT_TRUE_FATAL(
            ah_wait_sql(&H, 1, "SHOW wal_retrieve_retry_interval", MEMBER_WAL_RETRY, WAIT_MS));
    for (int i = 0; i < 3; i++) {
        after[i] = crash_to_sync_commit();
    }
    fprintf(stderr,
            "[primary kill -9 -> synchronous commit possible: retry 5s %llu, %llu, %llu ms; "
            "retry %s %llu, %llu, %llu ms] ",
            (unsigned long long) before[0], (unsigned long long) before[1],
            (unsigned long long) before[2], MEMBER_WAL_RETRY, (unsigned long long) after[0],
            (unsigned long long) after[1], (unsigned long long) after[2]);
    if (CU_get_number_of_failures() > 0) {
        dump_all();
    }
    free(o);
}

/* pg_hba.conf of node i's member (owned text, NULL when unreadable). */
static char *hba_of(int i)
{
    char path[PATH_MAX + 64];

    (void) snprintf(path, sizeof(path), "%s/default/demo/%s/conf/pg_hba.conf", H.nodes[i].root,
                    H.nodes[i].member);
    return tu_read_file(path);
}

static bool hba_restricted(void *arg)
{
    char *text = hba_of(0);
    bool ok = text && strstr(text, "127.0.0.2/32") &&
              !strstr(text, "replication  postgres     0.0.0.0/0");

    (void) arg;
    free(text);
    return ok;
}

/*
 * With the cluster's members named in the order ("peers"), replication is admitted from
 * their addresses only; without them (an older arbiter), from any address.
 */
static void test_agent_resync_hba_peers(void)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));
    char *text;

    SKIP_AFTER_FAILURE();
    text = hba_of(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "0.0.0.0/0"));
    free(text);
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, o);
    o->has_peers = true;
    o->n_peers = 1;
    (void) str_copy(o->peers[0].name, sizeof(o->peers[0].name), H.nodes[1].member);
    (void) str_copy(o->peers[0].ip, sizeof(o->peers[0].ip), H.nodes[1].ip);
    o->peers[0].port = H.nodes[1].port;
    ah_publish(&H, 0, o, 1);
    CU_ASSERT_TRUE(tu_wait_until(hba_restricted, NULL, WAIT_MS, 100));
    text = hba_of(0);
    if (text) {
        fprintf(stderr, "\n%s", text);
    }
    free(text);
    /* The standby still streams, and a copy from the primary is still possible. */
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES ('peers')", NULL, 0), 0);
    CU_ASSERT_TRUE(ah_wait_sql(&H, 1, "SELECT count(*) FROM t WHERE v = 'peers'", "1", WAIT_MS));
    free(o);
}

static int suite_init(void)
{
    if (ah_setup(&H, 2, 280) < 0) {
        return 1;
    }
    /* Crash trials are seconds apart: each restart is a first one, with the first backoff. */
    H.restart_limit = 10;
    H.restart_window_ms = 1000;
    return 0;
}

static int suite_cleanup(void)
{
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"copy left running by a killed agent is killed", test_agent_resync_stray_copy},
            {"standby whose WAL is gone upstream is copied again", test_agent_resync_wal_gone},
            {"primary crash to synchronous commit", test_agent_resync_crash_to_sync_commit},
            {"replication admitted from the peers only", test_agent_resync_hba_peers},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_resync", tests, suite_init, suite_cleanup);
}

/*
 * tests/integration/test_agent_cluster.c
 *
 * Three og-agent processes (node1..3 on 127.0.0.1..3) and a scripted arbiter: a primary and
 * two streaming standbys created from desired states (initdb, base backups), a row written on
 * the primary read on both standbys; the agent of the primary killed and restarted adopts
 * its instance (same postmaster PID); a switchover at a higher epoch (a standby promoted, the
 * old primary demoted) rejoins the old primary by pg_rewind, with every row kept.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "tests/support/agent_harness.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define WAIT_MS 60000

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

static void test_agent_cluster_create(void)
{
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, i, NULL), 0);
    }
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    ah_publish_role(&H, 1, PROTO_ROLE_STANDBY, 0);
    ah_publish_role(&H, 2, PROTO_ROLE_STANDBY, 0);
    CU_ASSERT_TRUE(ah_wait_state(&H, 1, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_state(&H, 2, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    if (CU_get_number_of_failures() > 0) {
        dump_all();
    }
}

static void test_agent_cluster_replicates(void)
{
    struct proto_instance_report *r = xcalloc(1, sizeof(*r));

    SKIP_AFTER_FAILURE();
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v text); INSERT INTO t VALUES ('one')", NULL, 0),
                    0);
    CU_ASSERT_TRUE(ah_wait_sql(&H, 1, "SELECT string_agg(v, ',') FROM t", "one", WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_sql(&H, 2, "SELECT string_agg(v, ',') FROM t", "one", WAIT_MS));
    /* The reports say who follows whom, and the primary lists both standbys. */
    CU_ASSERT_TRUE(ah_report(&H, 1, r) && strcmp(r->upstream, "demo-0") == 0);
    CU_ASSERT_TRUE(ah_report(&H, 0, r));
    for (int k = 0; k < 50 && r->n_replicas < 2; k++) {
        tu_sleep_ms(200);
        (void) ah_report(&H, 0, r);
    }
    CU_ASSERT_EQUAL(r->n_replicas, 2);
    CU_ASSERT_EQUAL(r->epoch, 1);
    CU_ASSERT_NOT_EQUAL(r->system_id, 0);
    CU_ASSERT_EQUAL(r->timeline, 1);
    free(r);
}

struct pid_wait {
    int node;
    pid_t pid;
    uint64_t after; /* reports counted before the new agent started */
};

/* The new agent reports (several times, so not a stale report) the same postmaster. */
static bool reported_pid(void *arg)
{
    struct pid_wait *w = arg;
    struct proto_instance_report r;

    return fake_arbiter_report_count(H.fa, H.nodes[w->node].name) > w->after + 2 &&
           ah_report(&H, w->node, &r) && r.pid == w->pid && r.state == PROTO_STATE_RUNNING &&
           r.role == PROTO_ROLE_PRIMARY;
}

static void test_agent_cluster_adopt(void)
{
    pid_t pm;
    uint64_t before;
    struct pid_wait w = {.node = 0};

    SKIP_AFTER_FAILURE();
    pm = ah_postmaster_pid(&H, 0);
    CU_ASSERT_FATAL(pm > 0);
    CU_ASSERT_EQUAL(ah_agent_stop(&H, 0, SIGKILL), 0);
    CU_ASSERT_TRUE(tu_pid_alive(pm)); /* the instance outlives its agent */
    before = fake_arbiter_report_count(H.fa, "node1");
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    w.pid = pm;
    w.after = before;
    CU_ASSERT_TRUE(tu_wait_until(reported_pid, &w, WAIT_MS, 100));
    /* Still the same postmaster a few probes later, and still writable. */
    tu_sleep_ms(1500);
    CU_ASSERT_EQUAL(ah_postmaster_pid(&H, 0), pm);
    CU_ASSERT_TRUE(tu_pid_alive(pm));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES ('two')", NULL, 0), 0);
    CU_ASSERT_EQUAL(ah_log_count(&H, 0, "\"action\":\"start\""), 0);
    CU_ASSERT_EQUAL(ah_log_count(&H, 0, "\"action\":\"restart\""), 0);
}

static void test_agent_cluster_switchover(void)
{
    struct proto_instance_report *r = xcalloc(1, sizeof(*r));
    const char *all = "SELECT string_agg(v, ',' ORDER BY v) FROM t";

    SKIP_AFTER_FAILURE();
    CU_ASSERT_TRUE(ah_wait_sql(&H, 1, all, "one,two", WAIT_MS));
    H.epoch = 2;
    ah_publish_role(&H, 1, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE(ah_wait_state(&H, 1, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_TRUE(ah_report(&H, 1, r) && r->timeline == 2 && r->epoch == 2);
    CU_ASSERT_EQUAL(ah_sql(&H, 1, "INSERT INTO t VALUES ('three')", NULL, 0), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_STANDBY, 1);
    ah_publish_role(&H, 2, PROTO_ROLE_STANDBY, 1);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_state(&H, 2, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 1, "INSERT INTO t VALUES ('four')", NULL, 0), 0);
    CU_ASSERT_TRUE(ah_wait_sql(&H, 0, all, "four,one,three,two", WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_sql(&H, 2, all, "four,one,three,two", WAIT_MS));
    /* The old primary went through pg_rewind, not a full copy. */
    CU_ASSERT(ah_log_count(&H, 0, "\"action\":\"demote\"") >= 1);
    CU_ASSERT_EQUAL(ah_log_count(&H, 0, "rewind failed"), 0);
    CU_ASSERT_TRUE(ah_report(&H, 0, r) && strcmp(r->upstream, "demo-1") == 0 && r->epoch == 2);
    if (CU_get_number_of_failures() > 0) {
        dump_all();
    }
    free(r);
}

static int suite_init(void)
{
    return ah_setup(&H, 3, 170) < 0 ? 1 : 0;
}

static int suite_cleanup(void)
{
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"primary and two standbys created", test_agent_cluster_create},
            {"rows replicate", test_agent_cluster_replicates},
            {"restarted agent adopts its instance", test_agent_cluster_adopt},
            {"switchover: promote, demote with pg_rewind", test_agent_cluster_switchover},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_cluster", tests, suite_init, suite_cleanup);
}

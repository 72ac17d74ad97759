/*
 * tests/integration/test_agent_fence.c
 *
 * Self-fencing (real PostgreSQL, two agents, scripted arbiter, losttimeout 3 s): a primary
 * whose agent loses only the arbiter keeps running while its standby streams; isolated from
 * both (the arbiter stopped, the standby and its agent SIGSTOPped) it stops taking sessions
 * within the lost timeout plus a tick (and a margin), its postmaster goes, and it reports
 * itself fenced when the arbiter is back (which still names it primary: it starts again).
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

#define WAIT_MS    60000
#define LOST_MS    3000
#define TICK_MS    200
#define MARGIN_MS  2000
#define STOPPED_MS 10000 /* the postmaster itself gone: fast -t 1, immediate -t 1, SIGKILL */

static struct ah H;
static pid_t frozen[256];
static size_t n_frozen;

#define SKIP_AFTER_FAILURE()                            \
    do {                                                \
        if (CU_get_number_of_failures() > 0) {          \
            CU_FAIL("skipped: an earlier step failed"); \
            return;                                     \
        }                                               \
    } while (0)

static void thaw(void)
{
    for (size_t i = 0; i < n_frozen; i++) {
        (void) kill(frozen[i], SIGCONT);
    }
    n_frozen = 0;
}

static void test_agent_fence_setup(void)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));
    pid_t pm;

    H.lost_timeout_ms = LOST_MS;
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 1, NULL), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    ah_publish_role(&H, 1, PROTO_ROLE_STANDBY, 0);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 1, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    /* The standby is the primary's synchronous one once it streams: a reload, no restart. */
    pm = ah_postmaster_pid(&H, 0);
    ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, o);
    o->sync.num = 1;
    o->sync.n_names = 1;
    (void) snprintf(o->sync.names[0], sizeof(o->sync.names[0]), "demo-1");
    ah_publish(&H, 0, o, 1);
    CU_ASSERT_TRUE(
            ah_wait_sql(&H, 0, "SELECT sync_state FROM pg_stat_replication", "quorum", WAIT_MS));
    CU_ASSERT_EQUAL(ah_postmaster_pid(&H, 0), pm);
    CU_ASSERT(ah_log_count(&H, 0, "\"action\":\"reload\"") >= 1);
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v int); INSERT INTO t VALUES (0)", NULL, 0), 0);
    free(o);
}

/* The arbiter away for three lost timeouts: the primary keeps its postmaster and writes. */
static void test_agent_fence_arbiter_only(void)
{
    pid_t pm = ah_postmaster_pid(&H, 0);

    SKIP_AFTER_FAILURE();
    CU_ASSERT_FATAL(pm > 0);
    fake_arbiter_pause(H.fa);
    tu_sleep_ms(3 * LOST_MS);
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES (1)", NULL, 0), 0);
    CU_ASSERT_EQUAL(ah_postmaster_pid(&H, 0), pm);
    CU_ASSERT_TRUE(tu_pid_alive(pm));
    CU_ASSERT_EQUAL_FATAL(fake_arbiter_resume(H.fa), 0);
    CU_ASSERT_FALSE(fake_arbiter_seen_state(H.fa, "node1", "demo-0", PROTO_STATE_FENCED));
    tu_sleep_ms(1000);
}

/*
 * New sessions refused. (Writes would not tell: with the synchronous standby frozen a commit
 * waits, and when the fence ends the wait the row stays committed locally; DESIGN.md:
 * "synchronous replication is not a fence".)
 */
static bool sessions_refused(void *arg)
{
    (void) arg;
    return ah_sql(&H, 0, "SELECT 1", NULL, 0) != 0;
}

static bool pid_gone(void *arg)
{
    return !tu_pid_alive(*(pid_t *) arg);
}

static void test_agent_fence_isolated(void)
{
    pid_t pm = ah_postmaster_pid(&H, 0);
    uint64_t t0, refused_ms, gone_ms;
    bool refused, gone;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_FATAL(pm > 0);
    /* Cut the primary off: the standby's agent first (it would restart a frozen standby),
     * then the standby, then the arbiter. */
    frozen[n_frozen++] = H.nodes[1].pid;
    CU_ASSERT_EQUAL(kill(H.nodes[1].pid, SIGSTOP), 0);
    n_frozen += ah_member_pids(&H, 1, frozen + n_frozen, 200);
    for (size_t i = 1; i < n_frozen; i++) {
        (void) kill(frozen[i], SIGSTOP);
    }
    fake_arbiter_pause(H.fa);
    t0 = tu_now_ms();
    refused = tu_wait_until(sessions_refused, NULL, LOST_MS + TICK_MS + MARGIN_MS + 1000, 50);
    refused_ms = tu_now_ms() - t0;
    gone = tu_wait_until(pid_gone, &pm, STOPPED_MS, 50);
    gone_ms = tu_now_ms() - t0;
    fprintf(stderr, "[sessions refused after %llu ms, postmaster gone after %llu ms] ",
            (unsigned long long) refused_ms, (unsigned long long) gone_ms);
    CU_ASSERT_TRUE(refused);
    CU_ASSERT(refused_ms <= LOST_MS + TICK_MS + MARGIN_MS);
    CU_ASSERT(refused_ms >= LOST_MS - 1000); /* not before the timeout (the standby replied
                                                at most a second before it froze) */
    CU_ASSERT_TRUE(gone);
    /* Back in touch: the report shows it fenced. */
    CU_ASSERT_EQUAL_FATAL(fake_arbiter_resume(H.fa), 0);
    thaw();
    CU_ASSERT_TRUE(ah_wait_state(&H, 1, PROTO_STATE_RUNNING, PROTO_ROLE_STANDBY, WAIT_MS));
    for (int k = 0;
         k < 100 && !fake_arbiter_seen_state(H.fa, "node1", "demo-0", PROTO_STATE_FENCED); k++) {
        tu_sleep_ms(100);
    }
    CU_ASSERT_TRUE(fake_arbiter_seen_state(H.fa, "node1", "demo-0", PROTO_STATE_FENCED));
    CU_ASSERT(ah_log_count(&H, 0, "\"rule\":\"self-fence\"") >= 1);
    /* The arbiter still names it primary: it comes back as one. */
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_TRUE(ah_wait_sql(&H, 0, "SELECT count(*) FROM t WHERE v < 2", "2", WAIT_MS));
}

static int suite_init(void)
{
    return ah_setup(&H, 2, 170) < 0 ? 1 : 0;
}

static int suite_cleanup(void)
{
    thaw();
    if (CU_get_number_of_failures() > 0) {
        ah_dump_log(&H, 0);
        ah_dump_log(&H, 1);
    }
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"primary and synchronous standby", test_agent_fence_setup},
            {"arbiter lost alone: primary keeps running", test_agent_fence_arbiter_only},
            {"isolated primary fences itself", test_agent_fence_isolated},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_fence", tests, suite_init, suite_cleanup);
}

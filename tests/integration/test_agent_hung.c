/*
 * tests/integration/test_agent_hung.c
 *
 * Hung instances (real PostgreSQL, scripted arbiter): the primary's postmaster and all its
 * backends SIGSTOPped while its agent runs are detected by the probe's deadline, killed
 * (stop escalation down to SIGKILL) and restarted, the restart counted; past the restart
 * limit the instance is failed and stays down. Then, at a new epoch (which clears FAILED),
 * only the postmaster is frozen: detected and restarted likewise.
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

#define WAIT_MS   60000
#define DETECT_MS 30000 /* probe budget 1 s x 2 probes, then the stop escalation and a start */

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

/* SIGSTOPs the member's postmaster and, when all, every process of the instance. */
static pid_t freeze(bool all)
{
    pid_t pm = ah_postmaster_pid(&H, 0);

    CU_ASSERT_FATAL(pm > 0);
    n_frozen = 0;
    if (all) {
        /* The postmaster first, so it cannot fork while we stop its children. */
        CU_ASSERT_EQUAL(kill(pm, SIGSTOP), 0);
        n_frozen = ah_member_pids(&H, 0, frozen, 256);
        for (size_t i = 0; i < n_frozen; i++) {
            (void) kill(frozen[i], SIGSTOP);
        }
    } else {
        frozen[n_frozen++] = pm;
        CU_ASSERT_EQUAL(kill(pm, SIGSTOP), 0);
    }
    return pm;
}

/* Lets everything we froze go (the dead ones do not mind). */
static void thaw(void)
{
    for (size_t i = 0; i < n_frozen; i++) {
        (void) kill(frozen[i], SIGCONT);
    }
    n_frozen = 0;
}

struct restart_wait {
    pid_t old;
    uint32_t restarts;
    struct proto_instance_report r;
};

static bool restarted(void *arg)
{
    struct restart_wait *w = arg;

    return ah_report(&H, 0, &w->r) && w->r.state == PROTO_STATE_RUNNING &&
           w->r.role == PROTO_ROLE_PRIMARY && w->r.pid > 0 && w->r.pid != w->old &&
           w->r.restarts == w->restarts;
}

/* Freezes, then waits for the agent to kill and restart it as restart number restarts. */
static bool hang_and_wait(bool all, uint32_t restarts)
{
    struct restart_wait *w = xcalloc(1, sizeof(*w));
    uint64_t t0;
    bool ok;

    w->old = freeze(all);
    w->restarts = restarts;
    t0 = tu_now_ms();
    ok = tu_wait_until(restarted, w, DETECT_MS, 100);
    if (!ok) {
        fprintf(stderr, "\n  hang %u: state %s pid %d restarts %u error '%s'\n", restarts,
                proto_state_to_string(w->r.state), w->r.pid, w->r.restarts, w->r.last_error);
    } else {
        fprintf(stderr, "[restarted after %llu ms] ", (unsigned long long) (tu_now_ms() - t0));
    }
    CU_ASSERT_FALSE(tu_pid_alive(w->old)); /* the frozen postmaster was killed */
    thaw();
    free(w);
    return ok;
}

static void test_agent_hung_all_frozen(void)
{
    H.restart_limit = 2;
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v int); INSERT INTO t VALUES (0)", NULL, 0), 0);
    CU_ASSERT_TRUE(hang_and_wait(true, 1));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES (1)", NULL, 0), 0);
    CU_ASSERT_TRUE(hang_and_wait(true, 2));
}

static void test_agent_hung_limit(void)
{
    struct proto_instance_report r;
    pid_t pm, left[8];

    SKIP_AFTER_FAILURE();
    pm = freeze(true);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_FAILED, PROTO_ROLE_UNKNOWN, DETECT_MS));
    CU_ASSERT_FALSE(tu_pid_alive(pm));
    thaw();
    tu_sleep_ms(2000);
    CU_ASSERT_EQUAL(ah_member_pids(&H, 0, left, 8), 0);
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.state == PROTO_STATE_FAILED && r.pid == 0 &&
                   r.restarts == 2);
}

static void test_agent_hung_postmaster_only(void)
{
    char out[32];

    SKIP_AFTER_FAILURE();
    H.epoch = 2; /* a new decision clears FAILED and the budget */
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_TRUE(hang_and_wait(false, 1));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "SELECT count(*) FROM t", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2");
}

static int suite_init(void)
{
    return ah_setup(&H, 1, 170) < 0 ? 1 : 0;
}

static int suite_cleanup(void)
{
    thaw();
    if (CU_get_number_of_failures() > 0) {
        ah_dump_log(&H, 0);
    }
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"frozen instance killed and restarted", test_agent_hung_all_frozen},
            {"past the limit: failed", test_agent_hung_limit},
            {"frozen postmaster alone", test_agent_hung_postmaster_only},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_hung", tests, suite_init, suite_cleanup);
}

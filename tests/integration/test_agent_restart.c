/*
 * tests/integration/test_agent_restart.c
 *
 * Crash restarts of a primary by its agent (real PostgreSQL, scripted arbiter): a postmaster
 * killed with SIGKILL is restarted with backoff and is writable again, each restart counted
 * in the report; past the restart limit (3 within the window) the instance is failed, not
 * restarted again, and reported so. Then maintenance (og-agent ctl): a crash is not restarted
 * until maintenance ends.
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

struct restart_wait {
    pid_t old;
    uint32_t restarts;
    struct proto_instance_report r;
};

/* Running primary on another postmaster, with the restart counted. */
static bool restarted(void *arg)
{
    struct restart_wait *w = arg;

    return ah_report(&H, 0, &w->r) && w->r.state == PROTO_STATE_RUNNING &&
           w->r.role == PROTO_ROLE_PRIMARY && w->r.pid > 0 && w->r.pid != w->old &&
           w->r.restarts == w->restarts;
}

/* Kills the postmaster; true when the agent restarted it as the restarts-th restart. */
static bool crash_and_wait(uint32_t restarts)
{
    struct restart_wait *w = xcalloc(1, sizeof(*w));
    bool ok;

    w->old = ah_postmaster_pid(&H, 0);
    w->restarts = restarts;
    CU_ASSERT_FATAL(w->old > 0);
    CU_ASSERT_EQUAL(kill(w->old, SIGKILL), 0);
    ok = tu_wait_until(restarted, w, WAIT_MS, 100);
    if (!ok) {
        fprintf(stderr, "\n  after crash %u: state %s pid %d restarts %u error '%s'\n", restarts,
                proto_state_to_string(w->r.state), w->r.pid, w->r.restarts, w->r.last_error);
    }
    free(w);
    return ok;
}

static void test_agent_restart_primary(void)
{
    char out[64];

    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    ah_publish_role(&H, 0, PROTO_ROLE_PRIMARY, -1);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "CREATE TABLE t (v int); INSERT INTO t VALUES (0)", NULL, 0), 0);
    CU_ASSERT_TRUE(crash_and_wait(1));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES (1)", NULL, 0), 0);
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "SELECT count(*) FROM t", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2");
    CU_ASSERT_TRUE(fake_arbiter_seen_state(H.fa, "node1", "demo-0", PROTO_STATE_RESTARTING));
}

static void test_agent_restart_limit(void)
{
    struct proto_instance_report r;
    pid_t pm, left[8];

    SKIP_AFTER_FAILURE();
    CU_ASSERT_TRUE(crash_and_wait(2));
    CU_ASSERT_TRUE(crash_and_wait(3));
    /* The fourth crash within the window is one too many. */
    pm = ah_postmaster_pid(&H, 0);
    CU_ASSERT_FATAL(pm > 0);
    CU_ASSERT_EQUAL(kill(pm, SIGKILL), 0);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_FAILED, PROTO_ROLE_UNKNOWN, WAIT_MS));
    CU_ASSERT_TRUE(ah_report(&H, 0, &r));
    CU_ASSERT_EQUAL(r.pid, 0);
    CU_ASSERT_EQUAL(r.restarts, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.last_error, "restart limit"));
    /* And it stays down: no postmaster comes back. */
    tu_sleep_ms(3000);
    CU_ASSERT_EQUAL(ah_member_pids(&H, 0, left, 8), 0);
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.state == PROTO_STATE_FAILED && r.pid == 0);
    CU_ASSERT_EQUAL(ah_log_count(&H, 0, "\"action\":\"restart\""), 3);
}

/* og-agent ctl a1 [a2] [a3]: its exit status, or -1; its output goes to ctl.log. */
static int ctl3(const char *a1, const char *a2, const char *a3)
{
    char log[PATH_MAX + 16];
    const char *argv[] = {
            OG_BINARY_DIR "/og-agent", "ctl", "--socket", H.nodes[0].sock, a1, a2, a3, NULL};
    pid_t pid;
    int st = -1;

    (void) snprintf(log, sizeof(log), "%s/ctl.log", H.tmpdir);
    (void) unlink(log);
    if (tu_spawn(argv, log, &pid) < 0) {
        return -1;
    }
    if (tu_wait_exit(pid, 90000, &st) < 0) {
        (void) tu_kill_wait(pid, SIGKILL, 1000);
        return -1;
    }
    return st;
}

static int ctl(const char *a1, const char *a2)
{
    return ctl3(a1, a2, NULL);
}

static char *ctl_output(void)
{
    char log[PATH_MAX + 16];

    (void) snprintf(log, sizeof(log), "%s/ctl.log", H.tmpdir);
    return tu_read_file(log);
}

static void test_agent_restart_maintenance(void)
{
    struct proto_instance_report r;
    pid_t pm, left[8];

    SKIP_AFTER_FAILURE();
    /* The operator's start clears FAILED. */
    CU_ASSERT_EQUAL(ctl("start", "demo-0"), 0);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.restarts == 0);
    CU_ASSERT_EQUAL(ctl("maintenance", "on"), 0);
    pm = ah_postmaster_pid(&H, 0);
    CU_ASSERT_FATAL(pm > 0);
    CU_ASSERT_EQUAL(kill(pm, SIGKILL), 0);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RESTARTING, PROTO_ROLE_UNKNOWN, WAIT_MS));
    tu_sleep_ms(3000);
    CU_ASSERT_EQUAL(ah_member_pids(&H, 0, left, 8), 0);
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.pid == 0 && r.maintenance);
    CU_ASSERT_EQUAL(ctl("maintenance", "off"), 0);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_EQUAL(ah_sql(&H, 0, "INSERT INTO t VALUES (2)", NULL, 0), 0);
}

static bool reported_state(void *arg)
{
    struct proto_instance_report r;

    return ah_report(&H, 0, &r) && r.state == *(enum proto_state *) arg;
}

static void test_agent_restart_ctl(void)
{
    char dir[PATH_MAX + 64];
    char *out;
    pid_t pm, left[8];
    enum proto_state want = PROTO_STATE_STOPPED;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_EQUAL(ctl3("--json", "status", NULL), 0);
    out = ctl_output();
    CU_ASSERT(out && strstr(out, "\"demo-0\"") && strstr(out, "\"running\"") &&
              strstr(out, "\"primary\""));
    free(out);
    /* A local backup: compressed tar in the member's backup directory, labelled. */
    CU_ASSERT_EQUAL(ctl3("--json", "backup", "demo-0"), 0);
    out = ctl_output();
    CU_ASSERT(out && strstr(out, "\"path\"") && strstr(out, "\"lsn\"") && strstr(out, "/backup/"));
    if (out && strstr(out, "\"path\":\"")) {
        const char *p = strstr(out, "\"path\":\"") + 8;
        size_t n = strcspn(p, "\"");
        (void) snprintf(dir, sizeof(dir), "%.*s/base.tar.gz", (int) n, p);
        CU_ASSERT_EQUAL(access(dir, F_OK), 0);
    }
    free(out);
    /* Stop keeps it stopped; start brings it back. */
    pm = ah_postmaster_pid(&H, 0);
    CU_ASSERT_EQUAL(ctl("stop", "demo-0"), 0);
    CU_ASSERT_TRUE(tu_wait_until(reported_state, &want, WAIT_MS, 100));
    CU_ASSERT_FALSE(tu_pid_alive(pm));
    tu_sleep_ms(2000);
    CU_ASSERT_EQUAL(ah_member_pids(&H, 0, left, 8), 0);
    CU_ASSERT_TRUE(tu_wait_until(reported_state, &want, 100, 100));
    CU_ASSERT_EQUAL(ctl("start", "demo-0"), 0);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    CU_ASSERT_NOT_EQUAL(ctl("stop", "nobody-0"), 0);
}

struct flag_wait {
    bool want;
};

static bool maintenance_reported(void *arg)
{
    struct flag_wait *w = arg;
    struct proto_instance_report r;

    return ah_report(&H, 0, &r) && r.maintenance == w->want;
}

/*
 * Orders arrive by long poll: the agent's request is held by the arbiter and answered when
 * the desired state changes, so a new order is applied and reported in far less than a
 * heartbeat (500 ms here).
 */
static void test_agent_restart_long_poll(void)
{
    struct proto_instance_desired *o = xcalloc(1, sizeof(*o));
    uint64_t best = UINT64_MAX;

    SKIP_AFTER_FAILURE();
    for (int i = 0; i < 4; i++) {
        struct flag_wait w = {.want = (i % 2) == 0};
        uint64_t t0;

        tu_sleep_ms(700); /* idle: the poll is held */
        ah_order(&H, 0, PROTO_ROLE_PRIMARY, -1, o);
        o->maintenance = w.want;
        t0 = tu_now_ms();
        ah_publish(&H, 0, o, 1);
        CU_ASSERT_TRUE(tu_wait_until(maintenance_reported, &w, 5000, 5));
        if (tu_now_ms() - t0 < best) {
            best = tu_now_ms() - t0;
        }
    }
    fprintf(stderr, "[best round trip %llu ms] ", (unsigned long long) best);
    CU_ASSERT(best < 250);
    free(o);
}

/* The agent of node 0 killed with SIGKILL and started again; it adopts its instance. */
static void agent_bounce(void)
{
    uint64_t before = fake_arbiter_report_count(H.fa, "node1");

    CU_ASSERT_EQUAL(ah_agent_stop(&H, 0, SIGKILL), 0);
    CU_ASSERT_EQUAL_FATAL(ah_agent_start(&H, 0, NULL), 0);
    for (int i = 0; i < 100 && fake_arbiter_report_count(H.fa, "node1") < before + 3; i++) {
        tu_sleep_ms(100);
    }
}

/*
 * The restart budget and FAILED outlive the agent: crashes with a kill -9 of the agent
 * between them still reach the limit after restartlimit restarts in total, and a failed
 * instance stays failed (not started) under the next agent.
 */
static void test_agent_restart_limit_survives_agent(void)
{
    struct proto_instance_report r;
    pid_t pm;

    SKIP_AFTER_FAILURE();
    CU_ASSERT_EQUAL(ctl("start", "demo-0"), 0); /* a fresh budget */
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
    for (uint32_t i = 1; i <= 3; i++) {
        CU_ASSERT_TRUE_FATAL(crash_and_wait(i));
        agent_bounce();
        CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.restarts == i);
        if (r.restarts != i) {
            fprintf(stderr, "\n  after agent restart %u: %u restarts reported\n", i, r.restarts);
        }
    }
    pm = ah_postmaster_pid(&H, 0);
    CU_ASSERT_FATAL(pm > 0);
    CU_ASSERT_EQUAL(kill(pm, SIGKILL), 0);
    CU_ASSERT_TRUE_FATAL(ah_wait_state(&H, 0, PROTO_STATE_FAILED, PROTO_ROLE_UNKNOWN, WAIT_MS));
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.restarts == 3 && r.pid == 0);
    agent_bounce();
    tu_sleep_ms(2000);
    CU_ASSERT_TRUE(ah_report(&H, 0, &r) && r.state == PROTO_STATE_FAILED && r.pid == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.last_error, "restart limit"));
    CU_ASSERT_EQUAL(ah_postmaster_pid(&H, 0) > 0 && tu_pid_alive(ah_postmaster_pid(&H, 0)), 0);
    /* The operator's start still clears it. */
    CU_ASSERT_EQUAL(ctl("start", "demo-0"), 0);
    CU_ASSERT_TRUE(ah_wait_state(&H, 0, PROTO_STATE_RUNNING, PROTO_ROLE_PRIMARY, WAIT_MS));
}

static int suite_init(void)
{
    return ah_setup(&H, 1, 270) < 0 ? 1 : 0;
}

static int suite_cleanup(void)
{
    if (CU_get_number_of_failures() > 0) {
        ah_dump_log(&H, 0);
    }
    ah_teardown(&H);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"crashed primary restarted", test_agent_restart_primary},
            {"restart limit reached: failed", test_agent_restart_limit},
            {"maintenance: no automatic restart", test_agent_restart_maintenance},
            {"ctl status, backup, stop, start", test_agent_restart_ctl},
            {"orders arrive by long poll", test_agent_restart_long_poll},
            {"restart limit and failed survive the agent", test_agent_restart_limit_survives_agent},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("agent_restart", tests, suite_init, suite_cleanup);
}

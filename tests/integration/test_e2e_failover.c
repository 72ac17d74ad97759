/*
 * tests/integration/test_e2e_failover.c
 *
 * End to end, real PostgreSQL on loopback (tests/support/e2e.h): arbiter + three agents,
 * cluster default/demo (syncreplicas 1, restartlimit 2, losttimeout 3 s). With a writer
 * inserting sequential ids (synchronous commit) and a watcher polling every member:
 *   1. the primary's postmaster is killed with -9 until its restart limit is passed: a new
 *      primary, writable; every acknowledged id is on it; the old primary rejoins as a
 *      standby (cluster ready again within 90 s);
 *   2. the primary's agent and its instance (postmaster and children) are killed with -9:
 *      a new primary within losttimeout + margin; no acknowledged id lost.
 * Never two writable members at once. Bounds are generous (ASan builds are slow).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/cu_main.h"
#include "tests/support/e2e.h"
#include "tests/support/testutil.h"

#define HA        "{\"syncreplicas\":1,\"restartlimit\":2,\"restartwindow\":60,\"losttimeout\":3}"
#define LOST_MS   3000
#define MARGIN_MS 20000
#define READY_MS  180000
#define REJOIN_MS 90000
static unsigned fails0; /* failures before the current test */

#define ACKS_MS 30000

static struct e2e E;
static bool setup_ok;

/* Waits up to timeout_ms until the writer has more than `above` acknowledged ids. */
static void scenario_restart_limit(bool settle)
{
    struct e2e_writer *w = NULL;
    struct e2e_watch *watch = NULL;
    uint64_t t_kill = 0, t0 = tu_now_ms();
    int old, fresh = -1, rounds = 0;

    old = e2e_primary(&E);
    CU_ASSERT_TRUE_FATAL(old >= 0);
    watch = e2e_watch_start(&E, 100);
    w = e2e_writer_start(&E, 20);
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, 20, ACKS_MS));

    /* kill -9 of the postmaster, again after each restart, until the arbiter moves away. */
    for (int round = 0; round < 8; round++) {
        pid_t pm = 0;
        uint64_t deadline = tu_now_ms() + 30000;

        for (int k = 0; k < 300 && pm <= 0; k++) {
            pm = e2e_postmaster_pid(&E, old);
            if (pm <= 0) {
                tu_sleep_ms(100);
            }
        }
        if (e2e_primary(&E) != old || pm <= 0) {
            break;
        }
        (void) kill(pm, SIGKILL);
        t_kill = tu_now_ms();
        rounds++;
        /* Bounded: restarted (a new postmaster pid, accepting writes) or a failover. */
        for (int k = 0; k < 1000 && tu_now_ms() < deadline; k++) {
            pid_t now_pm = e2e_postmaster_pid(&E, old);
            int p = e2e_primary(&E);
            if (p >= 0 && p != old) {
                break;
            }
            if (now_pm > 0 && now_pm != pm && e2e_is_writable(&E, old, 1000) == 1) {
                break;
            }
            tu_sleep_ms(100);
        }
        if (e2e_primary(&E) != old) {
            break;
        }
        /* Restarted: let the standbys reconnect and be reported synchronous again. */
        if (settle && (!e2e_wait_ready(&E, 60000) || !e2e_wait_sync(&E, 60000))) {
            break;
        }
    }
    fresh = e2e_wait_new_primary(&E, old, 60000);
    CU_ASSERT_TRUE(fresh >= 0 && fresh != old);
    if (fresh >= 0) {
        CU_ASSERT_TRUE(e2e_wait_writable(&E, fresh, 30000));
        fprintf(stderr, "\n  failover %s -> %s after %d kills; writable %llu ms after the last\n",
                E.nodes[old].member, E.nodes[fresh].member, rounds,
                (unsigned long long) (tu_now_ms() - t_kill));
        {
            uint32_t before = e2e_writer_acked(w);
            CU_ASSERT_TRUE(
                    e2e_writer_wait_acked(w, before + 20, ACKS_MS)); /* the writer goes on there */
        }
        e2e_writer_stop(w);
        CU_ASSERT_EQUAL(e2e_writer_check(&E, w, fresh), 0); /* zero loss */
        /* The old primary rejoins as a standby. */
        CU_ASSERT_TRUE(e2e_wait_member(&E, old, "standby", "running", REJOIN_MS));
        CU_ASSERT_TRUE(e2e_wait_ready(&E, REJOIN_MS));
        CU_ASSERT_EQUAL(e2e_is_writable(&E, old, 3000), 0);
        fprintf(stderr, "  %s rejoined as a standby after %llu ms\n", E.nodes[old].member,
                (unsigned long long) (tu_now_ms() - t_kill));
        CU_ASSERT_EQUAL(e2e_primary(&E), fresh);
    }
    e2e_writer_free(w);
    e2e_watch_stop(watch);
    CU_ASSERT_EQUAL(e2e_watch_violations(watch), 0); /* never two writable primaries */
    e2e_watch_free(watch);
    fprintf(stderr, "  scenario took %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    if (CU_get_number_of_failures() > fails0) {
        e2e_dump_logs(&E);
    }
}

static void scenario_agent_and_instance_killed(void)
{
    struct e2e_writer *w = NULL;
    struct e2e_watch *watch = NULL;
    uint64_t t_kill, t_new, t0 = tu_now_ms();
    int old, fresh;

    old = e2e_primary(&E);
    CU_ASSERT_TRUE_FATAL(old >= 0);
    watch = e2e_watch_start(&E, 100);
    w = e2e_writer_start(&E, 20);
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, e2e_writer_acked(w) + 20, ACKS_MS));

    CU_ASSERT_EQUAL(e2e_kill_agent(&E, old) >= -ETIMEDOUT, true);
    e2e_kill_instance(&E, old);
    t_kill = tu_now_ms();
    fresh = e2e_wait_new_primary(&E, old, LOST_MS + MARGIN_MS);
    t_new = tu_now_ms();
    CU_ASSERT_TRUE(fresh >= 0);
    fprintf(stderr, "\n  agent+instance of %s killed: new primary %s after %llu ms\n",
            E.nodes[old].member, fresh >= 0 ? E.nodes[fresh].member : "(none)",
            (unsigned long long) (t_new - t_kill));
    if (fresh >= 0) {
        CU_ASSERT_TRUE(t_new - t_kill <= LOST_MS + MARGIN_MS);
        CU_ASSERT_TRUE(e2e_wait_writable(&E, fresh, 30000));
        {
            uint32_t before = e2e_writer_acked(w);
            CU_ASSERT_TRUE(e2e_writer_wait_acked(w, before + 20, ACKS_MS));
        }
        e2e_writer_stop(w);
        CU_ASSERT_EQUAL(e2e_writer_check(&E, w, fresh), 0); /* zero loss */
    }
    e2e_writer_free(w);
    e2e_watch_stop(watch);
    CU_ASSERT_EQUAL(e2e_watch_violations(watch), 0);
    e2e_watch_free(watch);
    fprintf(stderr, "  scenario took %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    if (CU_get_number_of_failures() > fails0) {
        e2e_dump_logs(&E);
    }
}

/* A fresh cluster for each scenario. */
static bool cluster_up(void)
{
    fails0 = CU_get_number_of_failures();
    setup_ok = e2e_cluster_up(&E, HA, READY_MS);
    return setup_ok;
}

static void test_e2e_failover_restart_limit(void)
{
    CU_ASSERT_TRUE(cluster_up());
    if (setup_ok) {
        scenario_restart_limit(true);
    }
    e2e_teardown(&E);
}

static void test_e2e_failover_agent_and_instance_killed(void)
{
    CU_ASSERT_TRUE(cluster_up());
    if (setup_ok) {
        scenario_agent_and_instance_killed();
    }
    e2e_teardown(&E);
}

/*
 * A second failover soon after a first. Once the new primary dies, its standbys' WAL receivers
 * stop and their probed timeline falls back to pg_control_checkpoint()'s, the old one until the
 * next restartpoint; the agent reports the highest timeline the data has shown, so the
 * standbys stay candidates (this failed before that).
 */
static void test_e2e_failover_twice(void)
{
    CU_ASSERT_TRUE(cluster_up());
    if (setup_ok) {
        scenario_restart_limit(true);
        scenario_agent_and_instance_killed();
    }
    e2e_teardown(&E);
}

/*
 * The postmaster killed again as soon as it has been restarted (as scripts/demo does), before
 * its standbys have reconnected: the primary's last report lists no synchronous standby, but it
 * had the synchronous set in force, so the most advanced named standby is promoted (rule R17;
 * this was refused as R16 before decide took sync_in_force).
 */
static void test_e2e_failover_rapid_kills(void)
{
    CU_ASSERT_TRUE(cluster_up());
    if (setup_ok) {
        scenario_restart_limit(false);
    }
    e2e_teardown(&E);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"failover after the restart limit", test_e2e_failover_restart_limit},
            {"failover after agent and instance killed",
             test_e2e_failover_agent_and_instance_killed},
            {"second failover right after a first", test_e2e_failover_twice},
            {"restart limit reached by rapid kills", test_e2e_failover_rapid_kills},
            CU_TEST_INFO_NULL,
    };

    return cu_run("e2e_failover", tests);
}

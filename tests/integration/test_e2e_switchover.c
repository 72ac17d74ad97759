/*
 * tests/integration/test_e2e_switchover.c
 *
 * End to end, real PostgreSQL on loopback (tests/support/e2e.h), a fresh cluster per test
 * (syncreplicas 1, losttimeout 3 s), a writer inserting sequential ids (synchronous commit)
 * and a watcher polling every member with pg_is_in_recovery():
 *   1. switchover through the API to a named member, then to the best member: the target is
 *      writable quickly, no acknowledged id is lost, never two writable primaries;
 *   2. refused (409) toward a lagging member (replay paused, WAL written on the primary) and
 *      toward a failed member (agent and instance killed);
 *   3. the arbiter killed with -9 right after the 202 (several delays) and restarted on the
 *      same database and port: the epoch never goes back, one primary, the operation
 *      completes or is rolled back, the cluster is ready again, no id lost.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/e2e.h"
#include "tests/support/testutil.h"

#define HA        "{\"syncreplicas\":1,\"restartlimit\":3,\"restartwindow\":60,\"losttimeout\":3}"
#define READY_MS  180000
#define SETTLE_MS 90000
static unsigned fails0; /* failures before the current test */

#define ACKS_MS 30000
#define SW_PATH "/api/v1/clusters/default/demo/switchover"

static struct e2e E;

static bool cluster_up(void)
{
    fails0 = CU_get_number_of_failures();
    return e2e_cluster_up(&E, HA, READY_MS);
}

/* POST a switchover (target NULL: the best member); the HTTP status, message printed. */
static long switchover(int target)
{
    char body[128];
    cJSON *j = NULL;
    long st;

    if (target >= 0) {
        (void) snprintf(body, sizeof(body), "{\"target\":\"%s\"}", E.nodes[target].member);
    } else {
        (void) snprintf(body, sizeof(body), "{}");
    }
    st = e2e_api(&E, "POST", SW_PATH, body, &j);
    {
        char *text = j ? cJSON_PrintUnformatted(j) : NULL;
        fprintf(stderr, "  switchover %s -> %ld %s\n", body, st, text ? text : "");
        free(text);
    }
    cJSON_Delete(j);
    return st;
}

/* Number of members answering as writable primaries now. */
static int count_writable(void)
{
    int n = 0;

    for (int i = 0; i < E.n; i++) {
        n += e2e_is_writable(&E, i, 2000) == 1;
    }
    return n;
}

static void test_e2e_switchover_named_and_best(void)
{
    struct e2e_writer *w = NULL;
    struct e2e_watch *watch = NULL;
    uint64_t t0 = tu_now_ms(), t;
    int p, target, next;

    if (!cluster_up()) {
        CU_FAIL("cluster not ready");
        e2e_teardown(&E);
        return;
    }
    watch = e2e_watch_start(&E, 100);
    w = e2e_writer_start(&E, 20);
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, 20, ACKS_MS));
    p = e2e_primary(&E);
    CU_ASSERT_TRUE_FATAL(p >= 0);
    target = (p + 1) % E.n;

    /* To a named member. */
    t = tu_now_ms();
    CU_ASSERT_EQUAL(switchover(target), 202);
    CU_ASSERT_EQUAL(e2e_wait_new_primary(&E, p, 60000), target);
    CU_ASSERT_TRUE(e2e_wait_writable(&E, target, 30000));
    fprintf(stderr, "  named switchover %s -> %s: writable after %llu ms\n", E.nodes[p].member,
            E.nodes[target].member, (unsigned long long) (tu_now_ms() - t));
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, e2e_writer_acked(w) + 20, ACKS_MS));
    CU_ASSERT_TRUE(e2e_wait_ready(&E, SETTLE_MS));

    /* To the best member. */
    t = tu_now_ms();
    CU_ASSERT_EQUAL(switchover(-1), 202);
    next = e2e_wait_new_primary(&E, target, 60000);
    CU_ASSERT_TRUE(next >= 0);
    if (next >= 0) {
        CU_ASSERT_TRUE(e2e_wait_writable(&E, next, 30000));
        fprintf(stderr, "  best-member switchover %s -> %s: writable after %llu ms\n",
                E.nodes[target].member, E.nodes[next].member,
                (unsigned long long) (tu_now_ms() - t));
    }
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, e2e_writer_acked(w) + 20, ACKS_MS));
    CU_ASSERT_TRUE(e2e_wait_ready(&E, SETTLE_MS));
    e2e_writer_stop(w);
    CU_ASSERT_EQUAL(e2e_writer_check(&E, w, e2e_primary(&E)), 0); /* zero loss */
    e2e_writer_free(w);
    e2e_watch_stop(watch);
    CU_ASSERT_EQUAL(e2e_watch_violations(watch), 0);
    e2e_watch_free(watch);
    fprintf(stderr, "  test took %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    if (CU_get_number_of_failures() > fails0) {
        e2e_dump_logs(&E);
    }
    e2e_teardown(&E);
}

static void test_e2e_switchover_refused(void)
{
    uint64_t t0 = tu_now_ms();
    char out[512] = "";
    int p, lag, failed;
    uint32_t walrcv_pid = 0;
    pid_t walrcv;
    long st;

    if (!cluster_up()) {
        CU_FAIL("cluster not ready");
        e2e_teardown(&E);
        return;
    }
    p = e2e_primary(&E);
    CU_ASSERT_TRUE_FATAL(p >= 0);
    lag = (p + 1) % E.n;

    /*
     * A lagging standby: its WAL receiver stopped (SIGSTOP), then WAL written on the primary
     * (synchronous commit is satisfied by the other standby).
     */
    CU_ASSERT_EQUAL(
            e2e_sql(&E, lag, "SELECT pid FROM pg_stat_wal_receiver", out, sizeof(out), 5000), 0);
    walrcv = str_to_u32(out, 2, INT32_MAX, &walrcv_pid) == 0 ? (pid_t) walrcv_pid : 0;
    CU_ASSERT_TRUE(walrcv > 0);
    if (walrcv > 0) {
        (void) kill(walrcv, SIGSTOP);
    }
    CU_ASSERT_EQUAL(e2e_sql(&E, p,
                            "CREATE TABLE e2e_big AS SELECT g, repeat('x', 200) AS pad "
                            "FROM generate_series(1, 100000) g",
                            out, sizeof(out), 60000),
                    0);
    tu_sleep_ms(3000); /* a few reports carry the lag */
    st = switchover(lag);
    CU_ASSERT_EQUAL(st, 409); /* toward a lagging member */
    if (walrcv > 0) {
        (void) kill(walrcv, SIGCONT);
    }
    if (st == 202) {
        (void) e2e_wait_ready(&E, SETTLE_MS);
    }
    p = e2e_primary(&E);
    CU_ASSERT_TRUE_FATAL(p >= 0);
    CU_ASSERT_TRUE(e2e_wait_ready(&E, SETTLE_MS));

    /* A failed member: its agent and instance killed. */
    failed = (p + 2) % E.n;
    (void) e2e_kill_agent(&E, failed);
    e2e_kill_instance(&E, failed);
    CU_ASSERT_TRUE(e2e_wait_member(&E, failed, "standby", "lost", 30000));
    CU_ASSERT_EQUAL(switchover(failed), 409); /* toward a failed member */
    CU_ASSERT_EQUAL(e2e_primary(&E), p);
    CU_ASSERT_EQUAL(count_writable(), 1);
    fprintf(stderr, "  test took %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    if (CU_get_number_of_failures() > fails0) {
        e2e_dump_logs(&E);
    }
    e2e_teardown(&E);
}

static void test_e2e_switchover_arbiter_killed(void)
{
    static const uint64_t delays_ms[] = {0, 100, 400, 1000};
    struct e2e_writer *w = NULL;
    struct e2e_watch *watch = NULL;
    uint64_t t0 = tu_now_ms();

    if (!cluster_up()) {
        CU_FAIL("cluster not ready");
        e2e_teardown(&E);
        return;
    }
    watch = e2e_watch_start(&E, 100);
    w = e2e_writer_start(&E, 20);
    CU_ASSERT_TRUE(e2e_writer_wait_acked(w, 20, ACKS_MS));
    for (size_t k = 0; k < sizeof(delays_ms) / sizeof(delays_ms[0]); k++) {
        char state[64] = "", primary[64] = "";
        uint64_t epoch_before = 0, epoch_after = 0;
        int p = e2e_primary(&E), target;
        long st;

        CU_ASSERT_TRUE_FATAL(p >= 0);
        /*
         * Each round starts from a settled cluster: right after the previous round a standby
         * may not have followed the new timeline yet, and the arbiter rightly refuses it (409).
         */
        CU_ASSERT_TRUE(e2e_wait_ready(&E, 60000) && e2e_wait_sync(&E, 60000));
        p = e2e_primary(&E);
        CU_ASSERT_TRUE_FATAL(p >= 0);
        target = (p + 1) % E.n;
        CU_ASSERT_EQUAL(e2e_cluster_summary(&E, NULL, 0, NULL, 0, &epoch_before), 0);
        st = switchover(target);
        CU_ASSERT_EQUAL(st, 202);
        tu_sleep_ms(delays_ms[k]);
        CU_ASSERT_EQUAL(e2e_arbiter_kill(&E), 0);
        CU_ASSERT_EQUAL_FATAL(e2e_arbiter_start(&E), 0);
        CU_ASSERT_EQUAL(e2e_cluster_summary(&E, state, sizeof(state), primary, sizeof(primary),
                                            &epoch_after),
                        0);
        fprintf(stderr, "  killed %llu ms after the 202: epoch %llu -> %llu, %s, primary %s\n",
                (unsigned long long) delays_ms[k], (unsigned long long) epoch_before,
                (unsigned long long) epoch_after, state, primary);
        CU_ASSERT_TRUE(epoch_after >= epoch_before);
        CU_ASSERT_TRUE(primary[0] != '\0');
        /* Completes or is rolled back: ready again with one writable primary. */
        CU_ASSERT_TRUE(e2e_wait_ready(&E, SETTLE_MS));
        p = e2e_primary(&E);
        CU_ASSERT_TRUE(p >= 0);
        if (p >= 0) {
            CU_ASSERT_TRUE(e2e_wait_writable(&E, p, 30000));
        }
        CU_ASSERT_EQUAL(count_writable(), 1);
        CU_ASSERT_TRUE(e2e_writer_wait_acked(w, e2e_writer_acked(w) + 20, ACKS_MS));
        fprintf(stderr, "  round %zu: primary %s (%s)\n", k, p >= 0 ? E.nodes[p].member : "-",
                p == target ? "completed" : "rolled back");
        if (CU_get_number_of_failures() > fails0) {
            break;
        }
    }
    e2e_writer_stop(w);
    CU_ASSERT_EQUAL(e2e_writer_check(&E, w, e2e_primary(&E)), 0); /* zero loss */
    e2e_writer_free(w);
    e2e_watch_stop(watch);
    CU_ASSERT_EQUAL(e2e_watch_violations(watch), 0);
    e2e_watch_free(watch);
    fprintf(stderr, "  test took %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    if (CU_get_number_of_failures() > fails0) {
        e2e_dump_logs(&E);
    }
    e2e_teardown(&E);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"switchover to a named member and to the best", test_e2e_switchover_named_and_best},
            {"switchover refused: lagging, failed", test_e2e_switchover_refused},
            {"arbiter killed during a switchover", test_e2e_switchover_arbiter_killed},
            CU_TEST_INFO_NULL,
    };

    return cu_run("e2e_switchover", tests);
}

/*
 * tests/unit/test_kctl_pub.c
 *
 * arbiter/kctl_pub: which history rows become Events on an OpenGaussCluster, of what type
 * and reason (decide's verdicts and rule ids, the API's events).
 */
#include <stddef.h>

#include "arbiter/kctl_pub.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

/* Checks the Event of one row: want_reason NULL means "no Event". */
static void check(const char *rule, const char *verdict, const char *reason, const char *want_type,
                  const char *want_reason, const char *want_extra)
{
    const char *type = NULL, *why = NULL, *extra = "unset";
    bool ok = kctl_pub_event_of(rule, verdict, reason, &type, &why, &extra);

    CU_ASSERT_EQUAL(ok, want_reason != NULL);
    if (!ok || !want_reason) {
        return;
    }
    CU_ASSERT_STRING_EQUAL(type, want_type);
    CU_ASSERT_STRING_EQUAL(why, want_reason);
    if (want_extra) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
        CU_ASSERT_STRING_EQUAL(extra, want_extra);
    } else {
        CU_ASSERT_PTR_NULL(extra);
    }
}

static void test_kctl_pub_failover_reasons(void)
{
    check("R17", "failover",
          "primary demo-0 failed (3 restarts); promoting demo-1 (synchronous, received 0/3000000) "
          "at epoch 2",
          "Warning", "Failover", "RestartLimit");
    check("R17", "failover",
          "primary demo-0 restarting (4 restarts); promoting demo-1 (synchronous) at epoch 2",
          "Warning", "Failover", "RestartLimit");
    check("R17", "failover", "primary demo-0 silent for 6000 ms; promoting demo-1 at epoch 3",
          "Warning", "Failover", NULL);
    check("R04", "manual-failover", "manual failover to demo-2", "Warning", "ManualFailover", NULL);
    check("R06", "fence-stale-primary", "fencing demo-1", "Warning", "Fencing", NULL);
}

static void test_kctl_pub_other_rows(void)
{
    check("R14", "bootstrap", "demo-0 is the first primary", "Normal", "Bootstrap", NULL);
    check("R07", "switchover-fence", "fencing demo-0", "Normal", "SwitchoverStarted", NULL);
    check("R10", "switchover-promote", "promoting demo-1", "Normal", "Switchover", NULL);
    check("R08", "switchover-abort", "aborted", "Warning", "SwitchoverAborted", NULL);
    check("R16", "wait", "no candidate", "Warning", "NoCandidate", NULL);
    check("R02a", "adopt", "adopted epoch 3", "Normal", "EpochAdopted", NULL);
    check("api", "update", "spec updated", "Normal", "Updated", NULL);
    check("api", "maintenance-on", "maintenance on", "Normal", "Maintenance", NULL);
    /* Routine rows are not Events. */
    check("R21", "none", "steady: primary demo-0 at epoch 1", NULL, NULL, NULL);
    check("R20", "set-sync", "synchronous set", NULL, NULL, NULL);
    check("R18", "wait", "primary demo-1 is running as standby", NULL, NULL, NULL);
    check("R13", "wait", "bootstrap: none of 3 members", NULL, NULL, NULL);
    check("api", "delete", "cluster deleted", NULL, NULL, NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"failover rows", test_kctl_pub_failover_reasons},
            {"other rows", test_kctl_pub_other_rows},
            CU_TEST_INFO_NULL,
    };

    return cu_run("kctl_pub", tests);
}

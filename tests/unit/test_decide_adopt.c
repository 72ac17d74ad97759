/*
 * tests/unit/test_decide_adopt.c
 *
 * arbiter/decide's adoption of the agents' epoch (decide.h "Adoption", rules R02 and R02a):
 * a store behind its agents (a fresh or restored database, a second arbiter, a cluster
 * declared again) takes over their epoch and its primary instead of refusing or issuing a
 * used epoch. The one-line table cases are in tests/data/decide/scenarios.scn; here are the
 * orders of each branch and what the following decisions do with the adopted state: a
 * running primary stays, a dead one is failed over at E + 1 by the usual candidate rules, no
 * primary waits for a manual failover, and two claimants are refused without any order.
 */
#include <stdio.h>
#include <string.h>

#include "arbiter/decide.h"
#include "tests/support/cu_main.h"

#define NOW   1000000000ULL
#define LSN   0x30000000ULL
#define EPOCH 7

/*
 * A fresh store (epoch 0, nothing assigned, nothing known of any primary) while the agents
 * report n members at EPOCH: demo-1 primary running, the others running standbys at LSN.
 */
static void fresh(struct decide_input *in, uint32_t n, uint32_t sync_replicas)
{
    memset(in, 0, sizeof(*in));
    in->now_ms = NOW;
    in->policy.sync_replicas = sync_replicas;
    in->policy.restart_limit = 3;
    in->policy.lost_timeout_ms = 5000;
    in->policy.max_lag_bytes = 1048576;
    in->n_members = n;
    for (uint32_t i = 0; i < n; i++) {
        struct decide_member *m = &in->members[i];

        (void) snprintf(m->name, sizeof(m->name), "demo-%u", i);
        (void) snprintf(m->node, sizeof(m->node), "node-%u", i);
        m->order = i;
        m->reported = true;
        m->last_seen_ms = NOW - 100;
        m->epoch = EPOCH;
        m->state = PROTO_STATE_RUNNING;
        m->timeline = 3;
        if (i == 1) {
            m->role = PROTO_ROLE_PRIMARY;
            m->current_lsn = LSN;
        } else {
            m->role = PROTO_ROLE_STANDBY;
            m->received_lsn = m->replayed_lsn = LSN;
        }
    }
}

/* The store takes ret, as the arbiter's world does (cluster_apply_result). */
static void store(struct decide_input *in, const struct decide_result *ret)
{
    bool primary_changed = strcmp(in->primary, ret->primary) != 0;

    in->epoch = ret->new_epoch;
    memcpy(in->primary, ret->primary, sizeof(in->primary));
    in->sync = ret->sync;
    in->switchover = ret->switchover;
    if (primary_changed) {
        in->primary_last_lsn = 0;
        in->sync_in_force = false;
    }
    for (uint32_t i = 0; i < in->n_members; i++) {
        in->members[i].assigned = ret->members[i].role;
        in->members[i].streaming = in->members[i].role == PROTO_ROLE_STANDBY &&
                                   strcmp(ret->members[i].upstream, ret->primary) == 0 &&
                                   ret->primary[0] && in->members[i].epoch == ret->new_epoch;
    }
}

static void test_decide_adopt_running_primary(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    fresh(&in, 3, 1);
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_STRING_EQUAL(ret.rule_id, "R02a");
    CU_ASSERT_STRING_EQUAL(ret.rule_name, "epoch-adopt");
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH); /* not EPOCH + 1 */
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    CU_ASSERT_STRING_EQUAL(ret.target, "demo-1");
    CU_ASSERT_TRUE(ret.changed);
    CU_ASSERT_PTR_NOT_NULL(strstr(ret.reason, "adopted epoch 7 from agents (primary demo-1)"));
    CU_ASSERT_EQUAL(ret.n_members, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const struct decide_desired *d = &ret.members[i];

        CU_ASSERT_EQUAL(d->role, i == 1 ? PROTO_ROLE_PRIMARY : PROTO_ROLE_STANDBY);
        CU_ASSERT_EQUAL(d->state, PROTO_STATE_RUNNING);
        CU_ASSERT_STRING_EQUAL(d->upstream, i == 1 ? "" : "demo-1");
        CU_ASSERT_FALSE(d->rebuild); /* nothing re-initialised */
    }

    /* Stored, the next decision is the steady one at the adopted epoch. */
    store(&in, &ret);
    for (int step = 0; step < 3 && ret.verdict != DECIDE_VERDICT_NONE; step++) {
        decide_failover(&in, &ret);
        CU_ASSERT_NOT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
        CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
        CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
        store(&in, &ret);
    }
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_NONE);
}

/* A stopped, failed, fenced or lost primary at E is still the last primary: adopted. */
static void test_decide_adopt_dead_primary_then_failover(void)
{
    static const enum proto_state states[] = {PROTO_STATE_STOPPED, PROTO_STATE_FAILED,
                                              PROTO_STATE_FENCED};
    static struct decide_input in;
    static struct decide_result ret;

    for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
        fresh(&in, 3, 0); /* asynchronous: the failed primary's final LSN bounds the loss */
        in.members[1].state = states[k];
        decide_failover(&in, &ret);
        CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
        CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
        CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
        /* The primary is down: nobody may rebuild from it. */
        CU_ASSERT_FALSE(ret.members[0].rebuild);
        CU_ASSERT_FALSE(ret.members[2].rebuild);

        store(&in, &ret);
        in.members[1].state = PROTO_STATE_FAILED;
        decide_failover(&in, &ret);
        CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_FAILOVER);
        CU_ASSERT_EQUAL(ret.new_epoch, EPOCH + 1);
        CU_ASSERT_STRING_EQUAL(ret.primary, "demo-0"); /* tie: iplist order */
    }

    /* Lost: its agent is silent; failed over once no standby streams from it. */
    fresh(&in, 3, 0);
    in.members[1].last_seen_ms = NOW - 60000;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    store(&in, &ret);
    in.members[0].streaming = in.members[2].streaming = false;
    in.primary_last_lsn = LSN; /* as its last report would have said */
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_FAILOVER);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH + 1);

    /* Synchronous mode: nothing proves who holds the acknowledged commits: wait. */
    fresh(&in, 3, 1);
    in.members[1].state = PROTO_STATE_FAILED;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    store(&in, &ret);
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_WAIT);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
}

/* No primary at E: the epoch is adopted, nobody is made primary or initialised. */
static void test_decide_adopt_without_primary(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    fresh(&in, 3, 0);
    in.members[1].role = PROTO_ROLE_STANDBY; /* the primary's instance is gone */
    in.members[1].state = PROTO_STATE_STOPPED;
    in.members[2].epoch = EPOCH - 2;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
    CU_ASSERT_STRING_EQUAL(ret.primary, "");
    CU_ASSERT_STRING_EQUAL(ret.target, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(ret.reason, "adopted epoch 7 from agents (no primary"));
    for (uint32_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(ret.members[i].role, PROTO_ROLE_STANDBY); /* never an initdb order */
        CU_ASSERT_STRING_EQUAL(ret.members[i].upstream, "");
        CU_ASSERT_FALSE(ret.members[i].rebuild);
    }

    /* Then: the old primary's last LSN is unknown, so no automatic promotion... */
    store(&in, &ret);
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_WAIT);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
    CU_ASSERT_PTR_NOT_NULL(strstr(ret.reason, "manual failover"));

    /* ...and a manual failover promotes the best running standby at E + 1. */
    in.manual.requested = true;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_MANUAL_FAILOVER);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH + 1);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-0");
}

/*
 * Agents report in any order: without a claimant, adoption waits for members not heard
 * from yet; after the wait, a primary reporting late at the adopted epoch is adopted then.
 */
static void test_decide_adopt_waits_for_late_agents(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    fresh(&in, 3, 1);
    in.members[1].reported = false; /* the primary's agent has not reported yet */
    in.members[1].role = PROTO_ROLE_UNKNOWN;
    in.bootstrap_until_ms = NOW + 3000;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_WAIT);
    CU_ASSERT_STRING_EQUAL(ret.rule_id, "R02b");
    CU_ASSERT_STRING_EQUAL(ret.target, "demo-1");
    CU_ASSERT_EQUAL(ret.n_members, 0); /* no orders at the old epoch */
    CU_ASSERT_FALSE(ret.changed);

    /* It reports: adopted at once. */
    in.members[1].reported = true;
    in.members[1].role = PROTO_ROLE_PRIMARY;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");

    /* It does not within the wait: E adopted without a primary... */
    in.members[1].reported = false;
    in.members[1].role = PROTO_ROLE_UNKNOWN;
    in.now_ms = in.bootstrap_until_ms;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_STRING_EQUAL(ret.primary, "");
    store(&in, &ret);
    CU_ASSERT_EQUAL(in.epoch, EPOCH);

    /* ...and when it reports primary at E later, it is adopted, at the same epoch. */
    in.members[1].reported = true;
    in.members[1].role = PROTO_ROLE_PRIMARY;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    CU_ASSERT_EQUAL(ret.members[1].role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(ret.members[1].state, PROTO_STATE_RUNNING);
    CU_ASSERT_TRUE(ret.changed);
    store(&in, &ret);
    decide_failover(&in, &ret);
    CU_ASSERT_NOT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_NOT_EQUAL(ret.verdict, DECIDE_VERDICT_FENCE_STALE_PRIMARY);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
}

/* A primary running at an older epoch beside the adopted one is fenced by the same orders. */
static void test_decide_adopt_fences_older_primary(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    fresh(&in, 3, 1);
    in.epoch = EPOCH - 1; /* an arbiter's store from before the last failover */
    (void) snprintf(in.primary, sizeof(in.primary), "demo-0");
    in.primary_last_lsn = LSN - 64;
    in.members[0].assigned = PROTO_ROLE_PRIMARY;
    in.members[0].role = PROTO_ROLE_PRIMARY;
    in.members[0].epoch = EPOCH - 1;
    in.members[1].assigned = in.members[2].assigned = PROTO_ROLE_STANDBY;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_EQUAL(ret.new_epoch, EPOCH);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_FENCED);
    CU_ASSERT_EQUAL(ret.members[1].role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(ret.members[1].state, PROTO_STATE_RUNNING);
    CU_ASSERT_FALSE(ret.members[2].rebuild);
}

/* Two claimants at E: refused, nothing ordered, the stored state mirrored. */
static void test_decide_adopt_conflict_refused(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    fresh(&in, 3, 1);
    in.members[2].role = PROTO_ROLE_PRIMARY;
    in.members[2].state = PROTO_STATE_FENCED;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_REFUSE);
    CU_ASSERT_STRING_EQUAL(ret.rule_id, "R02");
    CU_ASSERT_PTR_NOT_NULL(strstr(ret.reason, "demo-1 and demo-2 both report role primary"));
    CU_ASSERT_EQUAL(ret.n_members, 0);
    CU_ASSERT_FALSE(ret.changed);
    CU_ASSERT_EQUAL(ret.new_epoch, 0);
    CU_ASSERT_STRING_EQUAL(ret.primary, "");

    /* A claim at a lower epoch is no conflict: the higher one is adopted. */
    in.members[2].epoch = EPOCH - 1;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
}

static void test_decide_adopt_names(void)
{
    enum decide_verdict v = DECIDE_VERDICT_NONE;
    bool found = false;

    CU_ASSERT_STRING_EQUAL(decide_verdict_to_string(DECIDE_VERDICT_ADOPT), "adopt");
    CU_ASSERT_EQUAL(decide_verdict_from_string("adopt", &v), 0);
    CU_ASSERT_EQUAL(v, DECIDE_VERDICT_ADOPT);
    CU_ASSERT_EQUAL(decide_rules_check(), 0);
    for (size_t i = 0; i < decide_rules_count(); i++) {
        const char *id = NULL, *name = NULL;

        CU_ASSERT_EQUAL(decide_rule_info(i, &id, &name, &v), 0);
        found = found || (strcmp(id, "R02a") == 0 && v == DECIDE_VERDICT_ADOPT);
    }
    CU_ASSERT_TRUE(found);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"running primary adopted", test_decide_adopt_running_primary},
            {"dead primary adopted then failed over", test_decide_adopt_dead_primary_then_failover},
            {"no primary at the agents' epoch", test_decide_adopt_without_primary},
            {"waits for late agents", test_decide_adopt_waits_for_late_agents},
            {"older primary fenced", test_decide_adopt_fences_older_primary},
            {"two claimants refused", test_decide_adopt_conflict_refused},
            {"names and table", test_decide_adopt_names},
            CU_TEST_INFO_NULL,
    };
    return cu_run("decide_adopt", tests);
}

/*
 * tests/unit/test_instance.c
 *
 * agent/instance: the instance state machine, driven by facts alone. Creation (initdb for the
 * first primary, a base backup for a standby, refusal without space), the "never writable by
 * accident" rules (an existing data directory starts writable only on a confirmed primary
 * order and only when it last ran as a primary; a former primary rejoins by rewind), crash
 * restarts with backoff and the restart budget, hangs, maintenance, orders to stop and
 * fence, self-fencing and its release, role changes and configuration reloads.
 */
#include <errno.h>
#include <string.h>

#include "agent/instance.h"
#include "tests/support/cu_main.h"

#define LIMIT  3
#define WINDOW 60000

/* A running, confirmed primary that answers: the steady state. */
static struct instance_facts primary_up(void)
{
    return (struct instance_facts){.has_order = true,
                                   .role = PROTO_ROLE_PRIMARY,
                                   .order = PROTO_STATE_RUNNING,
                                   .primary_confirmed = true,
                                   .space_ok = true,
                                   .restart_limit = LIMIT,
                                   .restart_window_ms = WINDOW,
                                   .data_present = true,
                                   .running = true,
                                   .was_primary = true,
                                   .probe = INSTANCE_PROBE_UP};
}

static struct instance_facts standby_up(void)
{
    struct instance_facts f = primary_up();

    f.role = PROTO_ROLE_STANDBY;
    f.has_upstream = true;
    f.primary_confirmed = false;
    f.was_primary = false;
    f.in_recovery = true;
    return f;
}

static struct instance_facts stopped(struct instance_facts f)
{
    f.running = false;
    f.probe = INSTANCE_PROBE_NONE;
    f.in_recovery = false;
    return f;
}

static struct instance fresh(void)
{
    struct instance inst;

    instance_init(&inst, LIMIT, WINDOW);
    return inst;
}

/* Decides and feeds back success; returns the plan. */
static struct instance_plan step(struct instance *inst, const struct instance_facts *f,
                                 uint64_t now)
{
    struct instance_plan p;

    instance_decide(inst, f, now, &p);
    instance_done(inst, &p, 0, NULL, now);
    return p;
}

static void test_instance_rules_well_formed(void)
{
    CU_ASSERT_EQUAL(instance_rules_check(), 0);
    CU_ASSERT_STRING_EQUAL(instance_action_to_string(INSTANCE_ACTION_PROMOTE), "promote");
    CU_ASSERT_STRING_EQUAL(instance_probe_to_string(INSTANCE_PROBE_HUNG), "hung");
}

static void test_instance_creation(void)
{
    struct instance inst = fresh();
    struct instance_facts f = stopped(primary_up());
    struct instance_plan p;

    f.data_present = false;
    f.was_primary = false;
    p = step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_INIT);
    CU_ASSERT_EQUAL(p.doing, PROTO_STATE_CREATING);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RUNNING);
    /* A standby with an upstream is copied; without one it waits. */
    inst = fresh();
    f = stopped(standby_up());
    f.data_present = false;
    CU_ASSERT_EQUAL(step(&inst, &f, 1000).action, INSTANCE_ACTION_CLONE);
    inst = fresh();
    f.has_upstream = false;
    p = step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "await-upstream");
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_CREATING);
}

static void test_instance_no_space(void)
{
    struct instance inst = fresh();
    struct instance_facts f = stopped(primary_up());
    struct instance_plan p;

    f.data_present = false;
    f.space_ok = false;
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "no-space");
    instance_done(&inst, &p, 0, "not enough free space: 10 bytes free", 1000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_CREATING);
    CU_ASSERT_STRING_EQUAL(inst.last_error, "not enough free space: 10 bytes free");
    /* An existing data directory is not refused for space. */
    f.data_present = true;
    f.was_primary = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 2000).action, INSTANCE_ACTION_START);
}

static void test_instance_never_writable_by_accident(void)
{
    struct instance inst = fresh();
    struct instance_facts f = stopped(primary_up());
    struct instance_plan p;

    /* Confirmed primary order, last ran as a primary: writable. */
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    CU_ASSERT_TRUE(p.as_primary);
    /* The arbiter not heard within the lost timeout: an idle standby. */
    f.primary_confirmed = false;
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    CU_ASSERT_FALSE(p.as_primary);
    CU_ASSERT_FALSE(p.follow);
    /* A data directory that ran as a standby is never started writable, even on order. */
    f.primary_confirmed = true;
    f.was_primary = false;
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_FALSE(p.as_primary);
    CU_ASSERT_FALSE(p.follow);
    /* ... it is promoted once running, on a confirmed order only. */
    f = primary_up();
    f.was_primary = false;
    f.in_recovery = true;
    f.primary_confirmed = false;
    instance_decide(&inst, &f, 2000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "await-confirmation");
    f.primary_confirmed = true;
    instance_decide(&inst, &f, 2000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_PROMOTE);
}

static void test_instance_former_primary_rejoins_by_rewind(void)
{
    struct instance inst = fresh();
    struct instance_facts f = stopped(standby_up());
    struct instance_plan p;

    f.was_primary = true;
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REWIND);
    CU_ASSERT_EQUAL(p.doing, PROTO_STATE_REBUILDING);
    /* Without an upstream it waits as an idle standby (no source to rewind from). */
    f.has_upstream = false;
    instance_decide(&inst, &f, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    CU_ASSERT_FALSE(p.as_primary);
    CU_ASSERT_FALSE(p.follow);
    /* Running as a primary while ordered standby: demote. */
    f = primary_up();
    f.role = PROTO_ROLE_STANDBY;
    f.has_upstream = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 2000).action, INSTANCE_ACTION_DEMOTE);
    /* Idle standby that was a primary, now given an upstream: rewind before following. */
    f = standby_up();
    f.was_primary = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 3000).action, INSTANCE_ACTION_REWIND);
    f = standby_up();
    f.diverged = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 4000).action, INSTANCE_ACTION_REWIND);
}

static void test_instance_crash_restarts_with_backoff(void)
{
    struct instance inst = fresh();
    struct instance_facts up = primary_up();
    struct instance_facts down = stopped(primary_up());
    struct instance_plan p;
    uint64_t t = 10000;
    const uint64_t delays[] = {500, 1000, 2000};

    (void) step(&inst, &up, t);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RUNNING);
    for (int i = 0; i < LIMIT; i++) {
        p = step(&inst, &down, t);
        CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
        CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
        CU_ASSERT_STRING_EQUAL(p.rule, "restart-backoff");
        instance_decide(&inst, &down, t + delays[i] - 1, &p);
        CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
        t += delays[i];
        p = step(&inst, &down, t);
        CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_RESTART);
        CU_ASSERT_TRUE(p.counted);
        CU_ASSERT_TRUE(p.as_primary);
        CU_ASSERT_EQUAL(instance_restarts(&inst, t), (uint32_t) i + 1);
        (void) step(&inst, &up, t + 100);
        CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RUNNING);
        t += 1000;
    }
    /* One crash too many within the window: failed at once, and it stays so. */
    (void) step(&inst, &down, t);
    p = step(&inst, &down, t);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    CU_ASSERT_STRING_EQUAL(inst.last_error, "restart limit reached within the window");
    p = step(&inst, &down, t + WINDOW * 2);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_NONE);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    /* A new decision (or ctl start) clears it. */
    instance_reset(&inst, "new order");
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_STOPPED);
    CU_ASSERT_EQUAL(step(&inst, &down, t + WINDOW * 2).action, INSTANCE_ACTION_START);
}

static void test_instance_failed_start_counts(void)
{
    struct instance inst = fresh();
    struct instance_facts down = stopped(primary_up());
    struct instance_plan p;

    instance_decide(&inst, &down, 1000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    instance_done(&inst, &p, -EIO, "pg_ctl exit 1: bad setting", 1000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
    CU_ASSERT_STRING_EQUAL(inst.last_error, "pg_ctl exit 1: bad setting");
    instance_decide(&inst, &down, 1500, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_RESTART);
    instance_done(&inst, &p, -EIO, "again", 1500);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 1500), 1);
    /* While backing off, the error that caused it stays visible. */
    instance_decide(&inst, &down, 1600, &p);
    instance_done(&inst, &p, 0, NULL, 1600);
    CU_ASSERT_STRING_EQUAL(inst.last_error, "again");
}

static void test_instance_maintenance_suspends_restarts(void)
{
    struct instance inst = fresh();
    struct instance_facts up = primary_up();
    struct instance_facts down = stopped(primary_up());
    struct instance_plan p;

    (void) step(&inst, &up, 1000);
    down.maintenance = true;
    p = step(&inst, &down, 2000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "restart-maintenance");
    p = step(&inst, &down, 60000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    down.maintenance = false;
    p = step(&inst, &down, 60001);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_RESTART);
}

static void test_instance_hung(void)
{
    struct instance inst = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan p;

    (void) step(&inst, &f, 1000);
    f.probe = INSTANCE_PROBE_HUNG;
    p = step(&inst, &f, 2000); /* one slow answer is not a hang */
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_NONE);
    CU_ASSERT_STRING_EQUAL(p.rule, "not-ready");
    f.maintenance = true;
    p = step(&inst, &f, 3000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "hung-maintenance");
    f.maintenance = false;
    p = step(&inst, &f, 4000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_KILL);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
    f = stopped(primary_up());
    p = step(&inst, &f, 4000 + 500);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_RESTART);
    CU_ASSERT_TRUE(p.counted);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 4500), 1);
}

static void test_instance_orders_stop_and_fence(void)
{
    struct instance inst = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan p;

    (void) step(&inst, &f, 1000);
    f.order = PROTO_STATE_STOPPED;
    CU_ASSERT_EQUAL(step(&inst, &f, 2000).action, INSTANCE_ACTION_STOP);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_STOPPED);
    f = stopped(f);
    p = step(&inst, &f, 3000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_NONE);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_STOPPED);
    /* The operator's stop holds like an order. */
    f = primary_up();
    f.ctl_stopped = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 4000).action, INSTANCE_ACTION_STOP);
    f = primary_up();
    f.order = PROTO_STATE_FENCED;
    CU_ASSERT_EQUAL(step(&inst, &f, 5000).action, INSTANCE_ACTION_FENCE);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FENCED);
    CU_ASSERT_FALSE(inst.self_fenced);
}

static void test_instance_self_fence_and_release(void)
{
    struct instance inst = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan p;

    (void) step(&inst, &f, 1000);
    f.fence = true;
    p = step(&inst, &f, 9000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_FENCE);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FENCED);
    CU_ASSERT_TRUE(inst.self_fenced);
    /* Stopped, the predicate no longer holds (not a primary): the latch keeps it down. */
    f = stopped(primary_up());
    p = step(&inst, &f, 10000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_NONE);
    CU_ASSERT_STRING_EQUAL(p.rule, "stay-fenced");
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FENCED);
    /* An arbiter contact older than the fence does not release it; a newer one does. */
    instance_note_arbiter(&inst, 8000);
    CU_ASSERT_TRUE(inst.self_fenced);
    instance_note_arbiter(&inst, 11000);
    CU_ASSERT_FALSE(inst.self_fenced);
    p = step(&inst, &f, 11000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    CU_ASSERT_TRUE(p.as_primary);
}

static void test_instance_config_and_listen(void)
{
    struct instance inst = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan p;

    (void) step(&inst, &f, 1000);
    f.config_stale = true;
    CU_ASSERT_EQUAL(step(&inst, &f, 2000).action, INSTANCE_ACTION_RELOAD);
    f.listen_changed = true;
    p = step(&inst, &f, 3000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_RESTART);
    CU_ASSERT_FALSE(p.counted);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 3000), 0);
}

static void test_instance_role_change_failures(void)
{
    struct instance inst = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan p;

    f.in_recovery = true;
    f.was_primary = false;
    for (int i = 0; i < INSTANCE_ROLE_FAILURES; i++) {
        instance_decide(&inst, &f, 100000 * (uint64_t) (i + 1), &p);
        CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_PROMOTE);
        instance_done(&inst, &p, -ETIMEDOUT, "pg_ctl promote timed out",
                      100000 * (uint64_t) (i + 1));
    }
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    /* Between failures it backs off. */
    inst = fresh();
    instance_decide(&inst, &f, 1000, &p);
    instance_done(&inst, &p, -EIO, "x", 1000);
    instance_decide(&inst, &f, 1100, &p);
    CU_ASSERT_STRING_EQUAL(p.rule, "backoff");
}

static void test_instance_unmanaged_and_deterministic(void)
{
    struct instance a = fresh(), b = fresh();
    struct instance_facts f = primary_up();
    struct instance_plan pa, pb;

    f.has_order = false;
    pa = step(&a, &f, 1000);
    CU_ASSERT_EQUAL(pa.action, INSTANCE_ACTION_NONE);
    CU_ASSERT_EQUAL(a.state, PROTO_STATE_RUNNING);
    f = stopped(f);
    (void) step(&a, &f, 2000);
    CU_ASSERT_EQUAL(a.state, PROTO_STATE_STOPPED); /* not restarted: no order */
    /* An adopted primary with no order yet is still fenced when cut off, and stays so. */
    f = primary_up();
    f.has_order = false;
    f.fence = true;
    CU_ASSERT_EQUAL(step(&a, &f, 3000).action, INSTANCE_ACTION_FENCE);
    f = stopped(f);
    f.fence = false;
    CU_ASSERT_STRING_EQUAL(step(&a, &f, 3500).rule, "stay-fenced");
    CU_ASSERT_EQUAL(a.state, PROTO_STATE_FENCED);
    CU_ASSERT_FALSE(a.changed && strcmp(a.reason, "observed without an order") == 0);
    f = standby_up();
    a = fresh();
    instance_decide(&a, &f, 5000, &pa);
    instance_decide(&b, &f, 5000, &pb);
    CU_ASSERT_EQUAL(pa.action, pb.action);
    CU_ASSERT_STRING_EQUAL(pa.rule, pb.rule);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
}

/* A data directory whose copy did not complete is copied again, never started. */
static void test_instance_incomplete_copy(void)
{
    struct instance inst = fresh();
    struct instance_facts f = stopped(standby_up());
    struct instance_plan p;

    f.copy_incomplete = true;
    p = step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REBUILD);
    CU_ASSERT_STRING_EQUAL(p.rule, "recopy");
    CU_ASSERT_EQUAL(p.doing, PROTO_STATE_REBUILDING);
    /* Also when the data looks complete and it last ran as a primary (no rewind then). */
    inst = fresh();
    f.was_primary = true;
    CU_ASSERT_STRING_EQUAL(step(&inst, &f, 1000).rule, "recopy");
    /* No upstream, or ordered primary: it waits; never initdb, never a start. */
    inst = fresh();
    f.has_upstream = false;
    p = step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "recopy-await");
    f = stopped(primary_up());
    f.copy_incomplete = true;
    f.data_present = false;
    p = step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_WAIT);
    CU_ASSERT_STRING_EQUAL(p.rule, "recopy-await");
    /* Failed copies back off, then FAILED with the reason; a new order clears it. */
    inst = fresh();
    f = stopped(standby_up());
    f.copy_incomplete = true;
    for (int i = 0; i < INSTANCE_ROLE_FAILURES; i++) {
        uint64_t t = 10000 + (uint64_t) i * 40000;

        instance_decide(&inst, &f, t, &p);
        CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REBUILD);
        instance_done(&inst, &p, -ECONNREFUSED, "pg_basebackup exit 1: connection refused", t);
    }
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    CU_ASSERT_STRING_EQUAL(inst.reason, "copy from the upstream failed repeatedly");
    instance_reset(&inst, "new upstream");
    CU_ASSERT_EQUAL(step(&inst, &f, 200000).action, INSTANCE_ACTION_REBUILD);
}

/* A standby that cannot stream: rewind, then full copies, then FAILED. */
static void test_instance_stuck_standby(void)
{
    struct instance inst = fresh();
    struct instance_facts f = standby_up();
    struct instance_plan p;

    (void) step(&inst, &f, 1000);
    f.diverged = true;
    p = step(&inst, &f, 2000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REWIND);
    f.resync_tries = 1;
    p = step(&inst, &f, 3000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REBUILD);
    CU_ASSERT_STRING_EQUAL(p.rule, "resync-copy");
    /* Never consistent ("starting up" forever): no rewind, a full copy at once. */
    f.resync_tries = 0;
    f.probe = INSTANCE_PROBE_STARTING;
    f.in_recovery = false;
    p = step(&inst, &f, 4000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_REBUILD);
    CU_ASSERT_STRING_EQUAL(p.rule, "resync-copy");
    /* Bounded. */
    f.resync_tries = INSTANCE_RESYNC_MAX;
    p = step(&inst, &f, 5000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_FAIL);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(inst.last_error, "cannot stream"));
    /* Not diverged while it answers but does not stream: nothing (it may be catching up). */
    inst = fresh();
    f = standby_up();
    f.probe = INSTANCE_PROBE_STARTING;
    CU_ASSERT_EQUAL(step(&inst, &f, 1000).action, INSTANCE_ACTION_NONE);
}

/* A postmaster that does not accept connections yet is starting, never stopped. */
static void test_instance_starting(void)
{
    struct instance inst = fresh();
    struct instance_facts f = standby_up();
    struct instance_plan p;

    f.probe = INSTANCE_PROBE_STARTING;
    (void) step(&inst, &f, 1000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
    CU_ASSERT_STRING_EQUAL(inst.reason, "starting: not yet accepting connections");
    f.probe = INSTANCE_PROBE_UP;
    (void) step(&inst, &f, 2000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RUNNING);
    /* A start whose wait ran out while the postmaster lives on: started, RESTARTING. */
    inst = fresh();
    f = stopped(standby_up());
    instance_decide(&inst, &f, 3000, &p);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_START);
    instance_done(&inst, &p, -EINPROGRESS, "started, not yet accepting connections", 3000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
    CU_ASSERT_EQUAL(inst.failures, 0);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 3000), 0);
    f = standby_up();
    (void) step(&inst, &f, 4000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RUNNING);
    /* Unmanaged likewise. */
    inst = fresh();
    f = standby_up();
    f.has_order = false;
    f.probe = INSTANCE_PROBE_STARTING;
    (void) step(&inst, &f, 5000);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_RESTARTING);
}

/* The budget, FAILED and the fencing latch survive an agent restart (a new record). */
static void test_instance_memo(void)
{
    struct instance inst = fresh();
    struct instance_facts up = primary_up();
    struct instance_facts down = stopped(primary_up());
    struct instance_memo memo;
    struct instance_plan p;
    uint64_t t = 100000;
    const uint64_t wall = 1700000000000ULL;

    (void) step(&inst, &up, t);
    for (int i = 0; i < LIMIT - 1; i++) {
        (void) step(&inst, &down, t);
        t += 5000;
        CU_ASSERT_EQUAL(step(&inst, &down, t).action, INSTANCE_ACTION_RESTART);
        (void) step(&inst, &up, t + 100);
    }
    CU_ASSERT_EQUAL(instance_restarts(&inst, t), LIMIT - 1);
    instance_memo_save(&inst, t, wall, &memo);
    CU_ASSERT_EQUAL(memo.n_restarts, LIMIT - 1);
    CU_ASSERT_TRUE(memo.was_running);
    CU_ASSERT_FALSE(memo.failed);
    CU_ASSERT_EQUAL(memo.restart_wall_ms[LIMIT - 2], wall - 0);
    /* The next agent: another monotonic origin, 2 s later. */
    instance_init(&inst, 0, 0);
    instance_memo_load(&inst, &memo, 7000, wall + 2000);
    (void) step(&inst, &up, 7100);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 7100), LIMIT - 1);
    (void) step(&inst, &down, 8000);
    CU_ASSERT_EQUAL(step(&inst, &down, 20000).action, INSTANCE_ACTION_RESTART);
    (void) step(&inst, &up, 20100);
    p = step(&inst, &down, 21000);
    CU_ASSERT_EQUAL(p.action, INSTANCE_ACTION_FAIL);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    /* FAILED survives too, before any order (unmanaged) and after one. */
    instance_memo_save(&inst, 21000, wall + 16000, &memo);
    CU_ASSERT_TRUE(memo.failed);
    instance_init(&inst, 0, 0);
    instance_memo_load(&inst, &memo, 500, wall + 17000);
    down.has_order = false;
    (void) step(&inst, &down, 600);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FAILED);
    down.has_order = true;
    CU_ASSERT_EQUAL(step(&inst, &down, 700).action, INSTANCE_ACTION_NONE);
    CU_ASSERT_STRING_EQUAL(inst.last_error, "restart limit reached within the window");
    /* Restarts from the future or from before this boot are forgotten. */
    memo.failed = false;
    memo.n_restarts = 2;
    memo.restart_wall_ms[0] = wall + 999999;
    memo.restart_wall_ms[1] = wall - 5000;
    instance_init(&inst, LIMIT, WINDOW);
    instance_memo_load(&inst, &memo, 1000, wall);
    CU_ASSERT_EQUAL(instance_restarts(&inst, 1000), 0);
    /* The self-fencing latch holds until the arbiter is heard after the restart. */
    memset(&memo, 0, sizeof(memo));
    memo.self_fenced = true;
    instance_init(&inst, LIMIT, WINDOW);
    instance_memo_load(&inst, &memo, 3000, wall);
    CU_ASSERT_EQUAL(inst.state, PROTO_STATE_FENCED);
    CU_ASSERT_STRING_EQUAL(step(&inst, &down, 3100).rule, "stay-fenced");
    instance_note_arbiter(&inst, 3200);
    CU_ASSERT_EQUAL(step(&inst, &down, 3300).action, INSTANCE_ACTION_START);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"rule table well formed", test_instance_rules_well_formed},
            {"creation", test_instance_creation},
            {"no space: refused", test_instance_no_space},
            {"never writable by accident", test_instance_never_writable_by_accident},
            {"former primary rejoins by rewind", test_instance_former_primary_rejoins_by_rewind},
            {"crash restarts with backoff, then failed", test_instance_crash_restarts_with_backoff},
            {"a failed start counts", test_instance_failed_start_counts},
            {"maintenance suspends restarts", test_instance_maintenance_suspends_restarts},
            {"hung", test_instance_hung},
            {"orders to stop and fence", test_instance_orders_stop_and_fence},
            {"self-fence and release", test_instance_self_fence_and_release},
            {"reload and listen changes", test_instance_config_and_listen},
            {"role change failures", test_instance_role_change_failures},
            {"unmanaged; deterministic", test_instance_unmanaged_and_deterministic},
            {"incomplete copy: copied again", test_instance_incomplete_copy},
            {"standby that cannot stream: rewind, copy, failed", test_instance_stuck_standby},
            {"starting, not stopped", test_instance_starting},
            {"memo: budget, failed, fence survive", test_instance_memo},
            CU_TEST_INFO_NULL,
    };
    return cu_run("instance", tests);
}

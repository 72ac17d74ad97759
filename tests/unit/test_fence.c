/*
 * tests/unit/test_fence.c
 *
 * agent/fence: the self-fencing predicate. A primary with standbys stops only when both the
 * arbiter and every standby have been silent for the lost timeout; either contact alone keeps
 * it up; a lone primary, a standby or a disabled timeout never fence.
 */
#include "agent/fence.h"
#include "tests/support/cu_main.h"

#define LOST 5000

static struct fence_input base(void)
{
    return (struct fence_input){.is_primary = true,
                                .has_standbys = true,
                                .lost_timeout_ms = LOST,
                                .watch_since_ms = 1000,
                                .arbiter_ok_ms = 10000,
                                .standby_ok_ms = 10000};
}

static void test_fence_both_silent(void)
{
    struct fence_input in = base();

    CU_ASSERT_FALSE(fence_should_stop(&in, 10000));
    CU_ASSERT_FALSE(fence_should_stop(&in, 10000 + LOST - 1));
    CU_ASSERT_TRUE(fence_should_stop(&in, 10000 + LOST));
    CU_ASSERT_TRUE(fence_should_stop(&in, 100000));
}

static void test_fence_one_contact_is_enough(void)
{
    struct fence_input in = base();

    /* Only the arbiter is lost: the standby still replies. */
    in.arbiter_ok_ms = 0;
    in.standby_ok_ms = 20000;
    CU_ASSERT_FALSE(fence_should_stop(&in, 20000 + LOST - 1));
    CU_ASSERT_TRUE(fence_should_stop(&in, 20000 + LOST));
    /* Only the standbys are lost: the arbiter still answers. */
    in = base();
    in.standby_ok_ms = 0;
    in.arbiter_ok_ms = 30000;
    CU_ASSERT_FALSE(fence_should_stop(&in, 30000 + LOST - 1));
    CU_ASSERT_TRUE(fence_should_stop(&in, 30000 + LOST));
}

static void test_fence_never(void)
{
    struct fence_input in = base();

    in.is_primary = false;
    CU_ASSERT_FALSE(fence_should_stop(&in, 1000000));
    in = base();
    in.has_standbys = false; /* a lone primary: nobody could replace it */
    CU_ASSERT_FALSE(fence_should_stop(&in, 1000000));
    in = base();
    in.lost_timeout_ms = 0;
    CU_ASSERT_FALSE(fence_should_stop(&in, 1000000));
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 1000000), UINT64_MAX);
}

static void test_fence_full_timeout_after_watch_starts(void)
{
    struct fence_input in = base();

    /* Never heard from anyone, but the watch (agent start, promotion) began at 50000. */
    in.arbiter_ok_ms = 0;
    in.standby_ok_ms = 0;
    in.watch_since_ms = 50000;
    CU_ASSERT_FALSE(fence_should_stop(&in, 50000 + LOST - 1));
    CU_ASSERT_TRUE(fence_should_stop(&in, 50000 + LOST));
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 50000), LOST);
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 50000 + 2000), LOST - 2000);
}

static void test_fence_remaining_is_the_later_deadline(void)
{
    struct fence_input in = base();

    in.arbiter_ok_ms = 10000;
    in.standby_ok_ms = 12000;
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 12000), LOST);
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 15000), LOST - 3000);
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 17000), 0);
    /* Clocks that look backwards (a contact "after" now) do not underflow. */
    CU_ASSERT_EQUAL(fence_remaining_ms(&in, 11000), LOST);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"both silent: fence", test_fence_both_silent},
            {"one contact keeps the primary", test_fence_one_contact_is_enough},
            {"standby, lone primary, disabled: never", test_fence_never},
            {"a full timeout after the watch starts", test_fence_full_timeout_after_watch_starts},
            {"remaining time", test_fence_remaining_is_the_later_deadline},
            CU_TEST_INFO_NULL,
    };
    return cu_run("fence", tests);
}

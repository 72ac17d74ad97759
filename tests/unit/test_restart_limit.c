/*
 * tests/unit/test_restart_limit.c
 *
 * common/restart_limit and common/backoff: the budget that decides when a crashing instance
 * is handed to the arbiter (DESIGN.md: 3 restarts within 60 s, backoff 0.5 s, 1 s, 2 s).
 */
#include "common/backoff.h"
#include "common/restart_limit.h"
#include "tests/support/cu_main.h"

static void test_restart_limit_counts_within_window(void)
{
    struct restart_limit rl;

    restart_limit_init(&rl, 3, 60000);
    CU_ASSERT_TRUE(restart_limit_allow(&rl, 1000));
    restart_limit_record(&rl, 1000);
    restart_limit_record(&rl, 2000);
    restart_limit_record(&rl, 4000);
    CU_ASSERT_EQUAL(restart_limit_count(&rl, 4000), 3);
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 5000));
    /* The first restart leaves the window at 61000: one more is allowed then, not before. */
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 60999));
    CU_ASSERT_TRUE(restart_limit_allow(&rl, 61000));
    CU_ASSERT_EQUAL(restart_limit_count(&rl, 64000), 0);
}

static void test_restart_limit_zero_and_reset(void)
{
    struct restart_limit rl;

    restart_limit_init(&rl, 0, 60000);
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 0));
    restart_limit_init(&rl, 1, 1000);
    restart_limit_record(&rl, 10);
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 20));
    restart_limit_reset(&rl);
    CU_ASSERT_TRUE(restart_limit_allow(&rl, 20));
}

static void test_restart_limit_cap(void)
{
    struct restart_limit rl;

    restart_limit_init(&rl, 1000, 1000000);
    CU_ASSERT_EQUAL(rl.limit, RESTART_LIMIT_MAX);
    for (uint64_t t = 0; t < 100; t++) {
        restart_limit_record(&rl, t);
    }
    CU_ASSERT_EQUAL(restart_limit_count(&rl, 100), RESTART_LIMIT_MAX);
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 100));
}

static void test_restart_limit_reconfigure_keeps_count(void)
{
    struct restart_limit rl;

    restart_limit_init(&rl, 5, 60000);
    restart_limit_record(&rl, 1);
    restart_limit_record(&rl, 2);
    restart_limit_configure(&rl, 2, 60000);
    CU_ASSERT_FALSE(restart_limit_allow(&rl, 3));
}

static void test_backoff_sequence(void)
{
    CU_ASSERT_EQUAL(backoff_delay_ms(0, 500, 30000, 0, 0), 500);
    CU_ASSERT_EQUAL(backoff_delay_ms(1, 500, 30000, 0, 0), 1000);
    CU_ASSERT_EQUAL(backoff_delay_ms(2, 500, 30000, 0, 0), 2000);
    CU_ASSERT_EQUAL(backoff_delay_ms(10, 500, 30000, 0, 0), 30000);
    CU_ASSERT_EQUAL(backoff_delay_ms(200, 500, 30000, 0, 0), 30000);
    CU_ASSERT_EQUAL(backoff_delay_ms(3, 0, 30000, 0, 0), 0);
}

static void test_backoff_jitter_bounded_and_repeatable(void)
{
    for (uint64_t seed = 0; seed < 1000; seed++) {
        uint64_t d = backoff_delay_ms(2, 500, 30000, 20, seed);
        CU_ASSERT(d >= 1600 && d <= 2000);
        CU_ASSERT_EQUAL(d, backoff_delay_ms(2, 500, 30000, 20, seed));
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"counts within window", test_restart_limit_counts_within_window},
            {"zero and reset", test_restart_limit_zero_and_reset},
            {"cap", test_restart_limit_cap},
            {"reconfigure keeps count", test_restart_limit_reconfigure_keeps_count},
            {"backoff sequence", test_backoff_sequence},
            {"backoff jitter", test_backoff_jitter_bounded_and_repeatable},
            CU_TEST_INFO_NULL,
    };
    return cu_run("restart_limit", tests);
}

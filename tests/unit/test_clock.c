/*
 * tests/unit/test_clock.c
 *
 * common/clock: the monotonic clock never goes back, the wall clock is the epoch's, and a
 * deadline lies ms ahead with its nanoseconds normalised (pthread_cond_timedwait refuses
 * tv_nsec >= 1e9 with EINVAL, which would turn a wait into a busy loop).
 */
#include <time.h>

#include "common/clock.h"
#include "tests/support/cu_main.h"

static int64_t ts_ms(const struct timespec *ts)
{
    return (int64_t) ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static void test_clock_monotonic_and_wall(void)
{
    uint64_t a = clock_now_ms(), b;
    time_t t = time(NULL);

    for (int i = 0; i < 1000; i++) {
        b = clock_now_ms();
        CU_ASSERT(b >= a);
        a = b;
    }
    CU_ASSERT(clock_wall_ms() / 1000 + 2 >= (uint64_t) t);
    CU_ASSERT(clock_wall_ms() / 1000 <= (uint64_t) t + 2);
    CU_ASSERT_EQUAL(clock_real.now_ms(clock_real.data) / 1000, clock_now_ms() / 1000);
}

static void test_clock_deadline(void)
{
    static const uint64_t cases[] = {0, 1, 999, 1000, 1001, 1999, 86400000ULL};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct timespec now, d;

        /* Many tries so that the "now" nanoseconds land near 1e9 now and then. */
        for (int k = 0; k < 200; k++) {
            (void) clock_gettime(CLOCK_MONOTONIC, &now);
            d = clock_deadline(CLOCK_MONOTONIC, cases[i]);
            CU_ASSERT(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
            CU_ASSERT(ts_ms(&d) >= ts_ms(&now) + (int64_t) cases[i]);
            CU_ASSERT(ts_ms(&d) <= ts_ms(&now) + (int64_t) cases[i] + 1000);
        }
    }
    {
        struct timespec now, d = clock_deadline(CLOCK_REALTIME, 5000);

        (void) clock_gettime(CLOCK_REALTIME, &now);
        CU_ASSERT(ts_ms(&d) > ts_ms(&now) + 4000 && ts_ms(&d) <= ts_ms(&now) + 5000);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"monotonic and wall", test_clock_monotonic_and_wall},
            {"deadline", test_clock_deadline},
            CU_TEST_INFO_NULL,
    };

    return cu_run("clock", tests);
}

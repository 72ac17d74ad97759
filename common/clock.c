/*
 * common/clock.c
 *
 * Layer: edge (the OS clocks). clock_gettime on CLOCK_MONOTONIC and CLOCK_REALTIME, in
 * milliseconds, plus the clock_ops table that hands them to loops. Neither call can fail on
 * Linux for these clock ids, so there is no error path.
 */
#include "common/clock.h"

#include <time.h>

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts = {0};

    (void) clock_gettime(id, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

uint64_t clock_now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

uint64_t clock_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

static uint64_t clock_real_now(void *data)
{
    (void) data;
    return clock_now_ms();
}

static uint64_t clock_real_wall(void *data)
{
    (void) data;
    return clock_wall_ms();
}

const struct clock_ops clock_real = {
        .now_ms = clock_real_now,
        .wall_ms = clock_real_wall,
        .data = NULL,
};

struct timespec clock_deadline(clockid_t clk, uint64_t ms)
{
    struct timespec ts;

    (void) clock_gettime(clk, &ts);
    ts.tv_sec += (time_t) (ms / 1000);
    ts.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

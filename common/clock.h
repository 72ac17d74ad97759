/*
 * common/clock.h
 *
 * The two clocks of the daemons. Durations, deadlines and timeouts use the monotonic clock,
 * which never jumps with NTP or an operator's `date`; wall time is for display and
 * persistence only (STYLE.md). Loops take a struct clock_ops so tests can drive time.
 */
#ifndef OG_COMMON_CLOCK_H
#define OG_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds (arbitrary origin, never goes backwards). */
uint64_t clock_now_ms(void);
/* CLOCK_REALTIME in milliseconds since the Unix epoch (display and persistence only). */
uint64_t clock_wall_ms(void);

/*
 * The absolute time ms from now on clock clk (CLOCK_MONOTONIC for pthread_cond_timedwait on a
 * condition created with that clock, CLOCK_REALTIME otherwise), nanoseconds normalised.
 */
struct timespec clock_deadline(clockid_t clk, uint64_t ms);

/* The clocks as an injectable table; data is passed back to both functions. */
struct clock_ops {
    uint64_t (*now_ms)(void *data);
    uint64_t (*wall_ms)(void *data);
    void *data;
};

/* The real clocks (clock_now_ms, clock_wall_ms), for injection into loops. */
extern const struct clock_ops clock_real;

#endif

/*
 * common/restart_limit.h
 *
 * The restart budget of a supervised instance (pg_auto_failover's MaxR/MaxT, Erlang's
 * supervisor intensity): at most `limit` restarts within `window_ms`. The clock is passed
 * in, so the budget is a pure value that tests drive with any time they like.
 */
#ifndef OG_COMMON_RESTART_LIMIT_H
#define OG_COMMON_RESTART_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RESTART_LIMIT_MAX 32 /* the most restarts a window can count */

struct restart_limit {
    uint32_t limit;     /* restarts allowed within the window (0: none) */
    uint64_t window_ms; /* length of the sliding window */
    uint32_t n;         /* restarts remembered, oldest first */
    uint64_t at_ms[RESTART_LIMIT_MAX];
};

/* Sets the budget (limit is capped at RESTART_LIMIT_MAX) and forgets past restarts. */
void restart_limit_init(struct restart_limit *rl, uint32_t limit, uint64_t window_ms);
/* Changes limit and window, keeping the restarts already counted. */
void restart_limit_configure(struct restart_limit *rl, uint32_t limit, uint64_t window_ms);
/* True when one more restart at now_ms stays within the budget. */
bool restart_limit_allow(const struct restart_limit *rl, uint64_t now_ms);
/* Counts a restart made at now_ms (restarts that left the window are forgotten first). */
void restart_limit_record(struct restart_limit *rl, uint64_t now_ms);
/* Restarts counted within the window ending at now_ms. */
uint32_t restart_limit_count(const struct restart_limit *rl, uint64_t now_ms);
/* Forgets every counted restart (an operator's reset, a new role). */
void restart_limit_reset(struct restart_limit *rl);

#endif

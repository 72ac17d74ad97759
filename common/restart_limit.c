/*
 * common/restart_limit.c
 *
 * Layer: core. See restart_limit.h.
 */
#include "common/restart_limit.h"

#include <string.h>

void restart_limit_init(struct restart_limit *rl, uint32_t limit, uint64_t window_ms)
{
    memset(rl, 0, sizeof(*rl));
    restart_limit_configure(rl, limit, window_ms);
}

void restart_limit_configure(struct restart_limit *rl, uint32_t limit, uint64_t window_ms)
{
    rl->limit = limit > RESTART_LIMIT_MAX ? RESTART_LIMIT_MAX : limit;
    rl->window_ms = window_ms;
}

/* Index of the first restart still inside the window ending at now_ms. */
static uint32_t restart_limit_first_live(const struct restart_limit *rl, uint64_t now_ms)
{
    uint32_t i = 0;

    while (i < rl->n && now_ms >= rl->at_ms[i] && now_ms - rl->at_ms[i] >= rl->window_ms) {
        i++;
    }
    return i;
}

uint32_t restart_limit_count(const struct restart_limit *rl, uint64_t now_ms)
{
    return rl->n - restart_limit_first_live(rl, now_ms);
}

bool restart_limit_allow(const struct restart_limit *rl, uint64_t now_ms)
{
    return restart_limit_count(rl, now_ms) < rl->limit;
}

void restart_limit_record(struct restart_limit *rl, uint64_t now_ms)
{
    uint32_t first = restart_limit_first_live(rl, now_ms);

    memmove(rl->at_ms, rl->at_ms + first, (rl->n - first) * sizeof(rl->at_ms[0]));
    rl->n -= first;
    if (rl->n == RESTART_LIMIT_MAX) {
        /* Full: the oldest drops out; the count stays at the cap, above any limit. */
        memmove(rl->at_ms, rl->at_ms + 1, (rl->n - 1) * sizeof(rl->at_ms[0]));
        rl->n--;
    }
    rl->at_ms[rl->n++] = now_ms;
}

void restart_limit_reset(struct restart_limit *rl)
{
    rl->n = 0;
}

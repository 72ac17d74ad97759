/*
 * agent/fence.c
 *
 * Self-fencing predicate: see fence.h. Both contacts must be older than the lost timeout;
 * either one alone keeps the primary up (a standby that still streams proves the primary is
 * not cut off from its cluster, and the arbiter will not promote another while it hears the
 * primary's agent).
 *
 * Layer: core.
 */
#include "agent/fence.h"

/* The later of a contact time and the start of the watch: silence is counted from there. */
static uint64_t fence_since(uint64_t contact_ms, uint64_t watch_since_ms)
{
    return contact_ms > watch_since_ms ? contact_ms : watch_since_ms;
}

/* Milliseconds of silence left before t (last heard) becomes lost_timeout_ms old. */
static uint64_t fence_left(uint64_t t, uint64_t lost_timeout_ms, uint64_t now_ms)
{
    uint64_t age = now_ms > t ? now_ms - t : 0;

    return age >= lost_timeout_ms ? 0 : lost_timeout_ms - age;
}

uint64_t fence_remaining_ms(const struct fence_input *in, uint64_t now_ms)
{
    uint64_t a, s;

    if (!in->is_primary || !in->has_standbys || in->lost_timeout_ms == 0) {
        return UINT64_MAX;
    }
    a = fence_left(fence_since(in->arbiter_ok_ms, in->watch_since_ms), in->lost_timeout_ms, now_ms);
    s = fence_left(fence_since(in->standby_ok_ms, in->watch_since_ms), in->lost_timeout_ms, now_ms);
    /* Fenced when both are silent: the later of the two deadlines. */
    return a > s ? a : s;
}

bool fence_should_stop(const struct fence_input *in, uint64_t now_ms)
{
    return fence_remaining_ms(in, now_ms) == 0;
}

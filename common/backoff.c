/*
 * common/backoff.c
 *
 * Layer: core. See backoff.h.
 */
#include "common/backoff.h"

uint64_t backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t jitter_pct,
                          uint64_t seed)
{
    uint64_t d = base_ms;
    uint64_t cut;

    for (uint32_t i = 0; i < attempt && d < cap_ms; i++) {
        d = d > cap_ms / 2 ? cap_ms : d * 2;
    }
    if (d > cap_ms) {
        d = cap_ms;
    }
    if (jitter_pct == 0 || d == 0) {
        return d;
    }
    if (jitter_pct > 100) {
        jitter_pct = 100;
    }
    /* splitmix64 step: a well-spread value from any seed, no state kept. */
    seed += 0x9e3779b97f4a7c15ULL;
    seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
    seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
    seed ^= seed >> 31;
    cut = (d * jitter_pct / 100);
    return d - (cut ? seed % (cut + 1) : 0);
}

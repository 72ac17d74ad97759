/*
 * common/backoff.h
 *
 * Exponential backoff: base, 2×base, 4×base, ... capped. Pure; the caller keeps the attempt
 * number, and passes its own seed when it wants jitter (no hidden randomness).
 */
#ifndef OG_COMMON_BACKOFF_H
#define OG_COMMON_BACKOFF_H

#include <stdint.h>

/*
 * Delay before attempt number `attempt` (0 = the first retry): base_ms << attempt, at most
 * cap_ms. With jitter_pct > 0, the delay is lowered by up to jitter_pct percent, chosen
 * from seed (the same seed gives the same delay).
 */
uint64_t backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t jitter_pct,
                          uint64_t seed);

#endif

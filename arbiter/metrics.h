/*
 * arbiter/metrics.h
 *
 * The arbiter's GET /metrics: Prometheus text rendered from the snapshot the loop publishes
 * (arbiter/world.h), so a scrape never touches the loop or the store.
 */
#ifndef OG_ARBITER_METRICS_H
#define OG_ARBITER_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "arbiter/world.h"

/*
 * The exposition of snap (borrowed; NULL: before the first publish) as seen at wall_now_ms,
 * leader saying whether this arbiter holds the lease (always true in local mode). Owned by
 * the caller (free()); never NULL.
 */
char *arbiter_metrics(const struct world_snapshot *snap, bool leader, uint64_t wall_now_ms);

#endif

/*
 * agent/fence.h
 *
 * Self-fencing (DESIGN.md "The failover rules": a primary's agent that can reach neither the
 * arbiter nor any standby for losttimeout stops the instance, so an isolated old primary
 * cannot take writes while another is promoted; losing only the arbiter never stops a
 * primary). A pure predicate over the times of the last contacts, in the spirit of
 * pg_auto_failover's in_network_partition(), with now passed in.
 */
#ifndef OG_AGENT_FENCE_H
#define OG_AGENT_FENCE_H

#include <stdbool.h>
#include <stdint.h>

/* What the predicate looks at; times are monotonic milliseconds (0: never). */
struct fence_input {
    bool is_primary;          /* the instance runs as a primary (not in recovery) */
    bool has_standbys;        /* standbys exist: named in its sync set, or one was seen */
    uint64_t lost_timeout_ms; /* the cluster's losttimeout; 0 disables fencing */
    uint64_t watch_since_ms;  /* when this primary came under watch (agent start, promotion) */
    uint64_t arbiter_ok_ms;   /* last successful exchange with the arbiter */
    uint64_t standby_ok_ms;   /* last reply from a streaming standby, as the primary saw it */
};

/*
 * True when the instance must be stopped now: it is a primary with standbys, and for at least
 * lost_timeout_ms (counted from watch_since_ms at the earliest, so a fresh start is given a
 * full timeout) neither the arbiter nor any standby has been heard from. A lone primary
 * (no standbys) is never fenced: nobody could be promoted in its place.
 */
bool fence_should_stop(const struct fence_input *in, uint64_t now_ms);

/* Milliseconds until fence_should_stop would turn true if nothing is heard (0: already). */
uint64_t fence_remaining_ms(const struct fence_input *in, uint64_t now_ms);

#endif

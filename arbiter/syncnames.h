/*
 * arbiter/syncnames.h
 *
 * synchronous_standby_names for one site, which the arbiter alone owns (DESIGN.md
 * "Synchronous replication", "Instances are never writable by accident"; W4/W5 of
 * reference/original-operator.md). The set is always the quorum form ANY n (names...), the
 * names being member names (= application_name of each standby).
 *
 * The rule, a pure function of the stored set and the latest reports:
 *
 *   names = the standbys named in the current set that are still standbys of the site
 *           (kept even when they stopped streaming)
 *         + the standbys now streaming from the unchanged primary (added)
 *   num   = min(syncreplicas, number of names);  syncreplicas 0 or no primary: empty set.
 *
 * Why: a name is only ever added once its standby streams, because a name with no standby
 * behind it blocks every commit, bootstrap included. A name is never dropped because its
 * standby went away: with syncreplicas >= 1, dropping it would silently turn commits that the
 * user asked to be synchronous into asynchronous ones, which is what made the original
 * operator's most_available_sync unsafe. So when the last named standby stops streaming,
 * the primary blocks commits until it (or another standby added meanwhile) is back; the
 * caller says so in a condition. Names leave the set only with membership: a member removed
 * from iplist, or promoted (after a failover consumed the only synchronous standby the new
 * primary runs with an empty set until a standby streams from it). On a change of primary
 * the standbys' streaming flags still describe the old primary, so nothing is added then.
 * Names are kept in iplist order, which makes the set canonical.
 *
 * Layer: core
 */
#ifndef OG_ARBITER_SYNCNAMES_H
#define OG_ARBITER_SYNCNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/model.h"

/* One site's synchronous set: ANY num (names[0], ...). num 0 means asynchronous. */
struct syncnames {
    uint32_t num;     /* commits wait for num of the names; 0 <= num <= n_names */
    uint32_t n_names; /* 0..PROTO_MAX_SYNC */
    char names[PROTO_MAX_SYNC][PROTO_NAME_MAX + 1];
};

struct decide_input;

/*
 * Computes the set for the site described by in when its primary is primary (a member name,
 * "" for none), following the rule above. in is the decide input (arbiter/decide.h): its
 * policy.sync_replicas, its stored set in->sync and its members' streaming flags and
 * liveness are used. Total: ret is always written.
 */
void syncnames_compute(const struct decide_input *in, const char *primary, struct syncnames *ret);

/* True when a and b have the same num and the same names, in any order. */
bool syncnames_equal(const struct syncnames *a, const struct syncnames *b);

/* True when name is one of s's names. */
bool syncnames_has(const struct syncnames *s, const char *name);

/*
 * Writes s as a synchronous_standby_names value: ANY 1 ("demo-1", "demo-2"), names quoted
 * because member names contain '-'; "" for num 0. 0, or -ENAMETOOLONG when buf[size] was too
 * small (buf then holds a terminated prefix).
 */
int syncnames_format(const struct syncnames *s, char *buf, size_t size);

#endif

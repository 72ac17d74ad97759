/*
 * arbiter/store.h
 *
 * The arbiter's memory in SQLite (WAL, synchronous=FULL, numbered migrations): the latest
 * report of every agent now; topology, assignments and history as the arbiter grows. Only
 * the arbiter's loop thread calls these functions.
 */
#ifndef OG_ARBITER_STORE_H
#define OG_ARBITER_STORE_H

#include <stdint.h>

#include "common/errbuf.h"
#include "proto/model.h"

struct store;

/* One agent as last heard of. */
struct store_agent {
    char node[PROTO_NODE_MAX + 1];
    char agent_id[PROTO_ID_MAX + 1];
    uint64_t seq;
    uint64_t last_seen_wall_ms; /* wall clock, for display */
    uint32_t instances;
};

/* Opens (creating and migrating) the database at path; 0 or -errno with eb. */
int store_open(const char *path, struct store **ret, struct errbuf *eb);
/* NULL-safe. */
void store_close(struct store *st);

/*
 * Saves the latest report of a node (replacing the previous one) in one transaction.
 * report_json is the validated report text. 0 or -errno with eb.
 */
int store_agent_save(struct store *st, const struct store_agent *agent, const char *report_json,
                     struct errbuf *eb);
/*
 * Loads every known agent, ordered by node name, into a caller-freed array.
 * 0 or -errno with eb; *ret_agents is NULL when there are none.
 */
int store_agent_list(struct store *st, struct store_agent **ret_agents, uint32_t *ret_n,
                     struct errbuf *eb);

#endif

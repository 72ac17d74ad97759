/*
 * agent/state.h
 *
 * What the agent remembers on disk, so that a restarted agent (or node) behaves as the one
 * before it (pg_auto_failover's keeper state file, written before acting):
 *
 *  - the highest epoch seen per cluster, ROOT/<ns>/<cluster>/epoch (decimal text): orders
 *    with a lower epoch are refused, and the file is written (atomically, fsync'ed) before
 *    an order of a higher epoch is acted on;
 *  - per member, ROOT/<ns>/<cluster>/<member>.agent.json: the last applied order (a
 *    desired-state document holding that one instance, so it goes through the same
 *    validating decoder), whether the data directory last ran as a primary, the epoch of the
 *    last completed ordered rebuild, an operator's stop, and the instance record's memo
 *    (restarts counted in the window, FAILED, the self-fencing latch: agent/instance.h), so
 *    that killing the agent resets none of them. Files of older agents, without the memo,
 *    load with an empty one.
 *
 * The member file holds the database password (the probe and the replication connections
 * need it before the arbiter answers). It is root's, mode 0600, in a root-owned directory the
 * database user cannot write (agent/storage.h); the engine's own copy is its conf/pgpass.
 *
 * Layer: edge (the file system).
 */
#ifndef OG_AGENT_STATE_H
#define OG_AGENT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/instance.h"
#include "common/errbuf.h"
#include "proto/desired.h"

#define STATE_VERSION  1
#define STATE_FILE_MAX ((size_t) 256 * 1024)

/* One member's remembered state. About 23 KiB (the order). */
struct state_member {
    bool has_order;
    struct proto_instance_desired order; /* the last order applied */
    bool was_primary;                    /* the data directory last ran as a primary */
    bool rebuilt;                        /* an ordered rebuild completed ... */
    uint64_t rebuilt_epoch;              /* ... for this epoch */
    bool ctl_stopped;                    /* stopped by the operator, until ctl start */
    struct instance_memo memo;           /* restarts (wall clock), FAILED, self-fenced */
};

/* Reads the epoch file at path into *ret (a missing file is epoch 0). 0, -EINVAL, -errno. */
int state_epoch_load(const char *path, uint64_t *ret, struct errbuf *eb);

/* Replaces the epoch file at path (fs_write_atomic, 0600). 0 or -errno. */
int state_epoch_store(const char *path, uint64_t epoch, struct errbuf *eb);

/*
 * Reads the member file at path into *ret (written only on success): -ENOENT when missing,
 * -EINVAL when it does not decode (eb says where).
 */
int state_member_load(const char *path, struct state_member *ret, struct errbuf *eb);

/* Replaces the member file at path (0600); node names the document. 0 or -errno. */
int state_member_store(const char *path, const char *node, const struct state_member *m,
                       struct errbuf *eb);

#endif

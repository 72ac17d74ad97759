/*
 * agent/storage.h
 *
 * The hostpath storage of the node's members (DESIGN.md "Storage, backup and archive"):
 *
 *   ROOT/                         the agent's root (--root), made traversable (o+x) so the
 *     <namespace>/                  database user can reach its own directory
 *       <cluster>/                root-owned, 0711: the database user cannot list or replace
 *         epoch                   highest epoch seen for the cluster (agent/state.h), 0600
 *         <member>.agent.json     the member's agent state (agent/state.h), root, 0600
 *         <member>/               owned by the database user, 0700
 *           data/ log/ backup/ archive/   (and conf/, run/ from agent/engine.h)
 *
 * Every path is built from names the decoder checked (DNS labels) and checked again here to
 * stay inside ROOT, lexically and after resolving the symbolic links of what exists already
 * (a planted link would otherwise lead a mkdir, chown or initdb elsewhere).
 *
 * Layer: edge (the file system).
 */
#ifndef OG_AGENT_STORAGE_H
#define OG_AGENT_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/engine.h"
#include "common/errbuf.h"

#define STORAGE_STATE_SUFFIX ".agent.json"

/* The paths of one member. */
struct storage_paths {
    char cluster_dir[ENGINE_PATH_MAX]; /* ROOT/<ns>/<cluster> */
    char member_dir[ENGINE_PATH_MAX];  /* ROOT/<ns>/<cluster>/<member>: the engine's base_dir */
    char epoch_file[ENGINE_PATH_MAX];  /* ROOT/<ns>/<cluster>/epoch */
    char state_file[ENGINE_PATH_MAX];  /* ROOT/<ns>/<cluster>/<member>.agent.json */
};

/*
 * Builds the paths of (ns, cluster, member) under root and checks them: names are DNS
 * labels, the member directory is short enough for the engine (ENGINE_BASE_MAX) and of the
 * characters it accepts, and every path stays within root lexically (fs_path_is_within) and
 * once the existing part is resolved (realpath). 0, -EINVAL or -EXDEV (outside root; eb says
 * which path).
 */
int storage_paths_build(const char *root, const char *ns, const char *cluster, const char *member,
                        struct storage_paths *ret, struct errbuf *eb);

/*
 * Makes root traversable for the database user (adds o+x; creates it 0711 when missing).
 * 0 or -errno.
 */
int storage_prepare_root(const char *root, struct errbuf *eb);

/*
 * Creates ROOT/<ns> and ROOT/<ns>/<cluster> (root-owned, 0711), where the epoch and state
 * files live, checking that they resolve inside root. Idempotent. 0, -EXDEV or -errno.
 */
int storage_prepare_cluster(const char *root, const struct storage_paths *p, struct errbuf *eb);

/*
 * Creates the cluster directories (storage_prepare_cluster) and the member directory with data/,
 * log/, backup/ and archive/ (0700, owned by uid:gid; -1 leaves ours), checking again that
 * the result resolves inside root. Idempotent. 0, -EXDEV or -errno.
 */
int storage_prepare_member(const char *root, const struct storage_paths *p, int uid, int gid,
                           struct errbuf *eb);

/*
 * Free space for the member: statvfs of its directory, or of the nearest existing ancestor
 * (the member may not exist yet). 0 or -errno.
 */
int storage_free_bytes(const struct storage_paths *p, uint64_t *ret_bytes, struct errbuf *eb);

/* Total size in bytes of the regular files below dir (no links followed). 0 or -errno. */
int storage_tree_bytes(const char *dir, uint64_t *ret_bytes, struct errbuf *eb);

#endif

/*
 * arbiter/kctl.h
 *
 * The controller of og-arbiter in Kubernetes mode (DESIGN.md "Data flow", issue 5): a thread
 * with its own Kubernetes client that watches OpenGaussCluster resources in every namespace
 * and turns them into the loop's commands, the same PUT and DELETE that the REST API runs in
 * local mode.
 *
 *  - A live resource gets the finalizer "opengauss.sig/cleanup" first, then its spec is
 *    validated (spec_parse, names, nodes that exist, NodePorts no other resource uses) and
 *    handed to the loop. An invalid spec, or one the loop refuses (422), is reported through
 *    kpub_invalid() and nothing is applied: a spec applied before stays applied.
 *  - A resource being deleted leaves the world (the agents stop its instances, data is
 *    kept), its Services go (kpub_remove), then the finalizer is removed.
 *  - After every (re)list, clusters the world holds but the API server no longer has
 *    (deleted while the arbiter was away) are deleted from the world.
 * Every step is derived again from the resource, so a restart at any point converges.
 * Kubernetes writes (finalizers, the leader label on the arbiter's own pod) are made only by
 * the Lease holder; the world is kept up to date on every replica.
 *
 * The loop never waits on this thread: the thread submits commands and waits for their
 * answers (struct kctl_ops), and the loop reads resources through kctl_cr_copy().
 */
#ifndef OG_ARBITER_KCTL_H
#define OG_ARBITER_KCTL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter/kpub.h"
#include "arbiter/spec.h"
#include "arbiter/world_cmd.h"
#include "common/errbuf.h"
#include "common/kube_config.h"
#include "proto/model.h"

#define KCTL_FINALIZER    "opengauss.sig/cleanup"
#define KCTL_LEADER_LABEL "opengauss.sig/arbiter-leader"

/* A cluster's namespace and name. */
struct kctl_name {
    char ns[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
};

/*
 * How the controller reaches the loop (implemented by arbiter/server.c). put and del run the
 * command on the loop and wait for its answer: 0 with *ret filled (release it with
 * world_cmd_answer_done), or -ETIMEDOUT / -ECANCELED when the loop did not answer.
 */
struct kctl_ops {
    int (*put)(void *ctx, const char *ns, const char *name, const char *spec_json,
               const struct spec *spec, struct world_cmd_answer *ret);
    int (*del)(void *ctx, const char *ns, const char *name, struct world_cmd_answer *ret);
    /* The clusters of the world's latest snapshot, into a caller-freed array; returns n. */
    uint32_t (*list)(void *ctx, struct kctl_name **ret);
    /* True while this replica holds the Lease (always in local mode). */
    bool (*is_leader)(void *ctx);
};

struct kctl_options {
    const struct kctl_ops *ops;
    void *ctx;                 /* ops' first argument */
    struct kpub *kpub;         /* the publisher (borrowed; outlives the controller) */
    const char *pod_namespace; /* the arbiter's own pod, labelled while it leads (copied) */
    const char *pod_name;      /* "" or NULL: no label */
};

struct kctl;

/*
 * Starts the controller on its own client for cfg (copied) and its own thread. NULL with eb
 * filled when the client cannot be made or the watch cannot be opened.
 */
struct kctl *kctl_start(const struct kube_config *cfg, const struct kctl_options *opt,
                        struct errbuf *eb);
/*
 * Stops the thread and frees k (NULL-safe). A command it is waiting on must be able to end
 * (the loop answers, or the server's stopping flag cancels it) for this to return.
 */
void kctl_stop(struct kctl *k);

/* Re-examines every resource soon (the leadership changed). Any thread. */
void kctl_wake(struct kctl *k);

/*
 * A copy of the resource ns/name as last seen (cJSON_Delete it), or NULL when there is none,
 * or it is being deleted. *ret_version (may be NULL) changes whenever the copy or its
 * validity changes, so a caller can tell it has published the current one; *ret_invalid (may
 * be NULL) tells whether its latest spec was found invalid. Any thread.
 */
cJSON *kctl_cr_copy(struct kctl *k, const char *ns, const char *name, uint64_t *ret_version,
                    bool *ret_invalid);

/* True once the first list of resources has been taken in. Any thread. */
bool kctl_is_synced(struct kctl *k);

#endif

/*
 * arbiter/server_int.h
 *
 * The inside of og-arbiter serve, shared by its three files: server.c (the loop and the
 * command queue), server_api.c (the REST handlers) and server_kube.c (Kubernetes mode: the
 * controller's way to the loop, kpub, the Lease). Nothing else includes it.
 */
#ifndef OG_ARBITER_SERVER_INT_H
#define OG_ARBITER_SERVER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arbiter/kctl.h"
#include "arbiter/kctl_pub.h"
#include "arbiter/kpub.h"
#include "arbiter/lease.h"
#include "arbiter/server.h"
#include "arbiter/spec.h"
#include "arbiter/store.h"
#include "arbiter/world.h"
#include "arbiter/world_cmd.h"
#include "common/http.h"
#include "common/kube_config.h"
#include "proto/report.h"

enum server_cmd_kind {
    SERVER_CMD_UNKNOWN = 0,
    SERVER_CMD_REPORT,
    SERVER_CMD_PUT,
    SERVER_CMD_DELETE,
    SERVER_CMD_SWITCHOVER,
    SERVER_CMD_FAILOVER,
    SERVER_CMD_MAINTENANCE,
    SERVER_CMD_HISTORY,
    _SERVER_CMD_MAX
};

/* A command from a handler to the loop; freed by whichever side finishes last. */
struct server_cmd {
    enum server_cmd_kind kind;
    struct proto_report *report; /* REPORT, owned */
    char *text;                  /* REPORT: the report as stored; PUT: the spec; owned */
    struct spec *spec;           /* PUT, owned */
    char ns[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char target[PROTO_NAME_MAX + 1]; /* SWITCHOVER, FAILOVER */
    bool enabled;                    /* MAINTENANCE */
    uint32_t limit;                  /* HISTORY */
    bool done;
    bool abandoned; /* the handler gave up waiting: the loop frees the command */
    int rc;         /* REPORT */
    char error[ERRBUF_SIZE];
    struct world_cmd_answer answer; /* the other commands */
    struct server_cmd *next;
};

struct server {
    const struct arbiter_config *cfg;
    struct store *store;
    struct world *world;
    struct http_server *http;
    int wake_fd;

    /* Kubernetes mode (all NULL/false in local mode). */
    bool kube;
    struct kube_config *kcfg;
    struct kpub *kpub;
    struct kctl *kctl;
    struct kctl_pub *kctl_pub;
    struct lease *lease;
    bool loop_leader; /* leadership the loop last acted on (loop thread only) */
    uint64_t term_ms; /* loop: when this leader term began (monotonic; 0 when following) */
    bool kpub_active; /* loop: kpub writes (activated once the term's pictures are fresh) */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    struct server_cmd *queue_head, *queue_tail;
    struct world_snapshot *snap; /* published by the loop, read by handlers */
    bool ready;
    bool stopping;
    bool leader; /* holds the Lease (always true in local mode) */
};

/* A new command of kind (zeroed), owned by the caller until submitted. */
struct server_cmd *server_cmd_new(enum server_cmd_kind kind);
/* Frees c and what it owns. NULL-safe. */
void server_cmd_free(struct server_cmd *c);
/*
 * Hands c to the loop and waits for it (SERVER_CMD_TIMEOUT_MS): 0 with c answered (the
 * caller frees it), or -ETIMEDOUT / -ECANCELED (shutting down) with c abandoned to the loop,
 * which frees it.
 */
int server_submit(struct server *s, struct server_cmd *c);
/* True while this replica holds the Lease (always in local mode). Any thread. */
bool server_is_leader(struct server *s);
/* *ts = CLOCK_REALTIME now + ms, for pthread_cond_timedwait() on s->cond. */
void server_deadline(struct timespec *ts, uint64_t ms);

/*
 * The REST route table (server_api.c), static and immutable; *ret_n gets its length. The
 * handlers expect the struct server as the http_server's userdata.
 */
const struct http_route *server_api_routes(size_t *ret_n);

/*
 * Kubernetes mode: loads the configuration of cfg->kube, starts kpub, the controller and
 * the Lease (whose changes set s->leader and wake the loop). Returns an exit code (logged).
 */
int server_kube_start(struct server *s, const struct arbiter_config *cfg);
/* Stops the Lease (released), the controller and kpub; NULL-safe parts, callable twice. */
void server_kube_stop(struct server *s);

#endif

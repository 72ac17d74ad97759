/*
 * agent/ops.h
 *
 * The agent's ops socket (DESIGN.md "Interfaces"): a Unix stream socket, mode 0600 in a 0700
 * directory, peer credentials checked on every connection, one JSON request and one JSON
 * response per connection (wire format in proto/ops.h). `og-agent ctl` is its client.
 *
 * The server is driven by the agent's loop, never by a thread of its own: the loop polls
 * ops_server_fd() for POLLIN and calls ops_server_handle(). Every socket is non-blocking and
 * each connection has a deadline (OPS_SERVER_DEADLINE_MS to send its request, and again to
 * read the response), enforced by a timer inside the server, so a slow or silent client
 * never blocks the loop: it is answered with a "timeout" error and closed.
 *
 * The one blocking step is the callback itself: ops_server_handle waits for it to return.
 * start/stop/restart may take as long as gs_ctl/pg_ctl does and backup seconds to minutes;
 * a supervisor that must keep ticking meanwhile runs such work on a worker and answers
 * when it is done (or answers at once with -EBUSY/-EALREADY). Clients wait with their own
 * timeout (`og-agent ctl --timeout`).
 */
#ifndef OG_AGENT_OPS_H
#define OG_AGENT_OPS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/errbuf.h"

#define OPS_SOCKET_DEFAULT     "/run/og-agent/ops.sock"
#define OPS_SERVER_DEADLINE_MS 2000 /* to receive a request, and to send the response */
#define OPS_SERVER_MAX_CONNS   16   /* connections in progress; more are answered "busy" */
#define OPS_SERVER_BACKLOG     8

struct ops_server;

/*
 * What the agent does for each operation; called from ops_server_handle on the caller's
 * thread. Each returns 0 or a negative errno (mapped to an error code by
 * proto_ops_code_from_errno: -ENOENT not_found, -EBUSY busy, -EALREADY conflict, ...) with a
 * message in eb that is sent to the client as is. member is a validated DNS label.
 * *ret_json (status, backup) is a new object owned by the server afterwards; status must
 * set it on success, backup may leave it NULL. A NULL function pointer answers
 * "unsupported". data is passed back to every callback.
 */
struct ops_callbacks {
    /* {"node":..,"maintenance":bool,"instances":[{"member","cluster","namespace","role",
     *  "state","pid","restarts","lsn","last_error","maintenance"}]} (proto_ops_status) */
    int (*status)(void *data, cJSON **ret_json);
    int (*start)(void *data, const char *member, struct errbuf *eb);
    int (*stop)(void *data, const char *member, struct errbuf *eb);
    int (*restart)(void *data, const char *member, struct errbuf *eb);
    /* {"path":..,"lsn":"X/Y","bytes":N} (proto_ops_backup); may take minutes, see above */
    int (*backup)(void *data, const char *member, cJSON **ret_json, struct errbuf *eb);
    int (*maintenance)(void *data, bool on, struct errbuf *eb);
    void *data;
};

/*
 * Listens on the Unix socket path (at most 107 bytes). A missing parent directory is created
 * with mode 0700 (an existing one keeps its mode). An existing socket file is removed only
 * when nobody answers a connect on it (a stale one from a dead agent); a live socket gives
 * -EADDRINUSE and anything else at path (a regular file, a directory) -EEXIST, both left
 * untouched. The socket is created mode 0600 (umask around bind, then chmod). Connections
 * from uid 0 and allowed_uid are served; others are refused with a "forbidden" answer.
 * On success *ret is owned by the caller (ops_server_close). Returns 0 or -errno with eb
 * filled (-ENAMETOOLONG, -EADDRINUSE, -EEXIST, mkdir/socket/bind errors).
 */
int ops_server_open(const char *path, uid_t allowed_uid, struct ops_server **ret,
                    struct errbuf *eb);

/*
 * The descriptor the loop polls for POLLIN: readable when a client connects, a connection
 * has data or room, or a connection's deadline passed. Valid until ops_server_close.
 */
int ops_server_fd(const struct ops_server *s);

/*
 * Makes all the progress possible without blocking: accepts new connections, checks their
 * peer credentials, reads requests, runs the callbacks of complete ones (this blocks for as
 * long as the callback does), writes responses, and closes connections past their deadline.
 * Logs refused peers, failed operations and timeouts at warn, operations that change
 * something at info. Call it whenever ops_server_fd() polls readable; spurious calls are
 * harmless.
 */
void ops_server_handle(struct ops_server *s, const struct ops_callbacks *cb);

/*
 * Closes every connection and the socket, and removes the socket file if it is still the
 * one this server created. NULL-safe.
 */
void ops_server_close(struct ops_server *s);

#endif

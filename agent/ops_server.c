/*
 * agent/ops_server.c
 *
 * The ops socket server (see ops.h). Everything is non-blocking and multiplexed on one epoll
 * descriptor, which is what the agent's loop polls: the listening socket, every connection
 * in progress, and a timerfd armed for the earliest connection deadline, so that a silent
 * client is noticed without the loop having to ask. A connection lives in a fixed slot:
 * READING until its request line is complete (or too long, or late), then WRITING until the
 * response is sent (or late), then the slot is free again. Requests are decoded and checked
 * by proto/ops.c before any callback sees them.
 *
 * Layer: shell
 */
#include "agent/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/ops.h"

#define OPS_TAG_LISTEN   0  /* epoll data of the listening socket */
#define OPS_TAG_TIMER    1  /* epoll data of the deadline timer */
#define OPS_TAG_CONN0    2  /* epoll data of connection slot i is OPS_TAG_CONN0 + i */
#define OPS_ACCEPT_MAX   64 /* connections accepted per call, so a flood cannot starve the loop */
#define OPS_IN_CAP       (PROTO_OPS_REQUEST_MAX + 1) /* a full request and its newline */
#define OPS_IN_CHUNK     4096
#define OPS_SUN_PATH_MAX (sizeof(((struct sockaddr_un *) 0)->sun_path))

enum ops_conn_state {
    OPS_CONN_STATE_NONE = 0, /* slot free */
    OPS_CONN_STATE_READING,  /* waiting for the request line */
    OPS_CONN_STATE_WRITING,  /* sending the response */
    _OPS_CONN_STATE_MAX
};

struct ops_conn {
    int fd; /* -1 when the slot is free */
    enum ops_conn_state state;
    uid_t uid; /* peer credentials (SO_PEERCRED) */
    pid_t pid;
    uint64_t deadline_ms; /* monotonic */
    char *in;             /* request bytes, at most OPS_IN_CAP */
    size_t in_len, in_size;
    char *out; /* response line */
    size_t out_len, out_off;
};

struct ops_server {
    int listen_fd;
    int epoll_fd;
    int timer_fd;
    uid_t allowed_uid;
    char path[OPS_SUN_PATH_MAX];
    dev_t dev; /* the socket file we created, so close removes only that one */
    ino_t ino;
    struct ops_conn conns[OPS_SERVER_MAX_CONNS];
};

static const char *ops_conn_state_to_string(enum ops_conn_state v)
{
    switch (v) {
    case OPS_CONN_STATE_NONE:
        return "none";
    case OPS_CONN_STATE_READING:
        return "reading the request";
    case OPS_CONN_STATE_WRITING:
        return "writing the response";
    case _OPS_CONN_STATE_MAX:
        break;
    }
    return "unknown";
}

/* Sets eb to "<formatted what>: <strerror(err)>" and returns -err. */
static int ops_fail(struct errbuf *eb, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int ops_fail(struct errbuf *eb, int err, const char *fmt, ...)
{
    char what[ERRBUF_SIZE];
    char msg[128];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    errbuf_set(eb, "%s: %s", what, strerror_r(err, msg, sizeof(msg)));
    return -err;
}

static void ops_close_fd(int fd)
{
    if (fd >= 0) {
        (void) close(fd);
    }
}

/* ---- opening ---- */

/* Creates path's parent directory (0700) when missing. */
static int ops_server_make_parent(const char *path, struct errbuf *eb)
{
    char dir[OPS_SUN_PATH_MAX];
    char *slash;
    struct stat st;

    (void) str_copy(dir, sizeof(dir), path); /* fits: checked by the caller */
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        return 0; /* the working directory or "/" */
    }
    *slash = '\0';
    if (stat(dir, &st) == 0) {
        return 0;
    }
    return fs_mkdir_p(dir, 0700, eb);
}

/* True when something accepts connections on the socket file at path. */
static int ops_server_probe(const char *path, struct errbuf *eb)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, r = 0;

    (void) str_copy(sa.sun_path, sizeof(sa.sun_path), path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return ops_fail(eb, errno, "socket");
    }
    if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) == 0 || errno == EAGAIN ||
        errno == EINPROGRESS) {
        r = 1; /* someone listens (EAGAIN: and its backlog is full) */
    } else if (errno != ECONNREFUSED) {
        r = ops_fail(eb, errno, "cannot probe the existing socket %s", path);
    }
    (void) close(fd);
    return r;
}

/*
 * Makes path free for bind: nothing there, or a stale socket that is removed. A live socket
 * or any other kind of file is left alone.
 */
static int ops_server_clear_path(const char *path, struct errbuf *eb)
{
    struct stat st;
    int r;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        return ops_fail(eb, errno, "cannot stat %s", path);
    }
    if (!S_ISSOCK(st.st_mode)) {
        errbuf_set(eb, "%s exists and is not a socket; refusing to replace it", path);
        return -EEXIST;
    }
    r = ops_server_probe(path, eb);
    if (r < 0) {
        return r;
    }
    if (r == 1) {
        errbuf_set(eb, "%s is in use by a running process (another agent?)", path);
        return -EADDRINUSE;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        return ops_fail(eb, errno, "cannot remove the stale socket %s", path);
    }
    log_info("removed the stale ops socket %s", path);
    return 0;
}

/* socket, bind with mode 0600, listen. */
static int ops_server_listen(struct ops_server *s, struct errbuf *eb)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old_mask;
    int r;

    (void) str_copy(sa.sun_path, sizeof(sa.sun_path), s->path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        return ops_fail(eb, errno, "socket");
    }
    /*
     * The umask decides the mode bind creates the file with, so no other user can connect in
     * the window before chmod. umask is per process; the chmod below makes a concurrent
     * change harmless.
     */
    old_mask = umask(0177);
    r = bind(s->listen_fd, (const struct sockaddr *) &sa, sizeof(sa));
    (void) umask(old_mask);
    if (r < 0) {
        return ops_fail(eb, errno, "bind %s", s->path);
    }
    if (chmod(s->path, 0600) < 0 || lstat(s->path, &st) < 0) {
        r = ops_fail(eb, errno, "chmod %s", s->path);
        (void) unlink(s->path);
        return r;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    if (listen(s->listen_fd, OPS_SERVER_BACKLOG) < 0) {
        r = ops_fail(eb, errno, "listen %s", s->path);
        (void) unlink(s->path);
        return r;
    }
    return 0;
}

/* The epoll set: the listening socket and the deadline timer. */
static int ops_server_setup_poll(struct ops_server *s, struct errbuf *eb)
{
    struct epoll_event ev = {.events = EPOLLIN};

    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epoll_fd < 0) {
        return ops_fail(eb, errno, "epoll_create1");
    }
    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (s->timer_fd < 0) {
        return ops_fail(eb, errno, "timerfd_create");
    }
    ev.data.u64 = OPS_TAG_LISTEN;
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0) {
        return ops_fail(eb, errno, "epoll_ctl");
    }
    ev.data.u64 = OPS_TAG_TIMER;
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0) {
        return ops_fail(eb, errno, "epoll_ctl");
    }
    return 0;
}

int ops_server_open(const char *path, uid_t allowed_uid, struct ops_server **ret, struct errbuf *eb)
{
    struct ops_server *s = NULL;
    int r;

    if (str_is_empty(path)) {
        errbuf_set(eb, "ops socket path is empty");
        return -EINVAL;
    }
    if (strlen(path) >= OPS_SUN_PATH_MAX) {
        errbuf_set(eb, "ops socket path %s is longer than %zu bytes", path, OPS_SUN_PATH_MAX - 1);
        return -ENAMETOOLONG;
    }
    s = xcalloc(1, sizeof(*s));
    s->listen_fd = s->epoll_fd = s->timer_fd = -1;
    s->allowed_uid = allowed_uid;
    (void) str_copy(s->path, sizeof(s->path), path);
    for (size_t i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        s->conns[i].fd = -1;
    }
    r = ops_server_make_parent(path, eb);
    if (r < 0) {
        goto fail;
    }
    r = ops_server_clear_path(path, eb);
    if (r < 0) {
        goto fail;
    }
    r = ops_server_listen(s, eb);
    if (r < 0) {
        goto fail;
    }
    r = ops_server_setup_poll(s, eb);
    if (r < 0) {
        goto fail;
    }
    *ret = s;
    return 0;
fail:
    ops_server_close(s);
    return r;
}

int ops_server_fd(const struct ops_server *s)
{
    return s->epoll_fd;
}

/* ---- connections ---- */

static void ops_conn_close(struct ops_conn *c)
{
    ops_close_fd(c->fd); /* also leaves the epoll set */
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Sends what is left of the response; closes the connection once it is all out or broken. */
static void ops_conn_write(struct ops_server *s, struct ops_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLOUT};
            ev.data.u64 = OPS_TAG_CONN0 + (uint64_t) (c - s->conns);
            if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
                return; /* wait for room */
            }
            break;
        }
        if (n <= 0) {
            (void) log_emit_errno(LOG_LEVEL_DEBUG, __FILE__, __LINE__, NULL, n < 0 ? -errno : 0,
                                  NULL, "ops client (uid %u) went away before the response",
                                  (unsigned) c->uid);
            break;
        }
        c->out_off += (size_t) n;
    }
    ops_conn_close(c);
}

/* Queues the response line (taken) and starts sending it, with a fresh deadline. */
static void ops_conn_reply_take(struct ops_server *s, struct ops_conn *c, char *line)
{
    free(c->out);
    c->out = line;
    c->out_len = strlen(line);
    c->out_off = 0;
    c->state = OPS_CONN_STATE_WRITING;
    c->deadline_ms = clock_now_ms() + OPS_SERVER_DEADLINE_MS;
    ops_conn_write(s, c);
}

static void ops_conn_reply_error(struct ops_server *s, struct ops_conn *c, enum proto_ops_code code,
                                 const char *message)
{
    ops_conn_reply_take(s, c, proto_ops_response_encode_error(code, message));
}

/* ---- dispatch ---- */

/* Runs the callback of req; fills *ret_result on success, eb on failure. */
static int ops_call(const struct ops_callbacks *cb, const struct proto_ops_request *req,
                    cJSON **ret_result, struct errbuf *eb)
{
    int (*member_fn)(void *, const char *, struct errbuf *) = NULL;
    cJSON *result = NULL;
    int r = -EOPNOTSUPP;

    switch (req->op) {
    case PROTO_OPS_OP_STATUS:
        if (cb->status) {
            r = cb->status(cb->data, &result);
        }
        if (r == 0 && !result) {
            errbuf_set(eb, "the agent produced no status");
            r = -EIO;
        }
        break;
    case PROTO_OPS_OP_START:
        member_fn = cb->start;
        break;
    case PROTO_OPS_OP_STOP:
        member_fn = cb->stop;
        break;
    case PROTO_OPS_OP_RESTART:
        member_fn = cb->restart;
        break;
    case PROTO_OPS_OP_BACKUP:
        if (cb->backup) {
            r = cb->backup(cb->data, req->member, &result, eb);
        }
        break;
    case PROTO_OPS_OP_MAINTENANCE:
        if (cb->maintenance) {
            r = cb->maintenance(cb->data, req->on, eb);
        }
        if (r == 0) {
            result = json_new_object();
            json_add_bool(result, "maintenance", req->on);
        }
        break;
    case PROTO_OPS_OP_UNKNOWN:
    case _PROTO_OPS_OP_MAX:
        break;
    }
    if (member_fn) {
        r = member_fn(cb->data, req->member, eb);
        if (r == 0) {
            result = json_new_object();
            json_add_str(result, "member", req->member);
        }
    }
    if (r == -EOPNOTSUPP && eb->msg[0] == '\0') {
        errbuf_set(eb, "this agent does not support '%s'", proto_ops_op_to_string(req->op));
    }
    if (r < 0) {
        cJSON_Delete(result);
        return r;
    }
    *ret_result = result ? result : json_new_object();
    return 0;
}

/* "restart demo-0", "maintenance on", "status": the request in words, for the log. */
static void ops_describe(const struct proto_ops_request *req, char *buf, size_t size)
{
    const char *op = proto_ops_op_to_string(req->op);

    if (req->op == PROTO_OPS_OP_MAINTENANCE) {
        (void) snprintf(buf, size, "%s %s", op, req->on ? "on" : "off");
    } else if (req->member[0] != '\0') {
        (void) snprintf(buf, size, "%s %s", op, req->member);
    } else {
        (void) snprintf(buf, size, "%s", op);
    }
}

/*
 * Runs a decoded request and answers it. Logs operations that change something at info
 * (before, since a restart or backup may take a while, and after), failures at warn; status
 * requests, which monitoring may send often, only when they fail.
 */
static void ops_conn_run(struct ops_server *s, struct ops_conn *c, const struct ops_callbacks *cb,
                         const struct proto_ops_request *req)
{
    const struct log_ctx *ctx = req->member[0] ? LOG_CTX({"instance", req->member}) : NULL;
    bool quiet = req->op == PROTO_OPS_OP_STATUS;
    struct errbuf eb = {{0}};
    cJSON *result = NULL;
    char what[96], detail[128];
    int r;

    ops_describe(req, what, sizeof(what));
    if (!quiet) {
        slog_info(ctx, "ops request '%s' from uid %u (pid %d)", what, (unsigned) c->uid,
                  (int) c->pid);
    }
    r = ops_call(cb, req, &result, &eb);
    if (r < 0) {
        if (eb.msg[0] == '\0') {
            errbuf_set(&eb, "%s", strerror_r(-r, detail, sizeof(detail)));
        }
        (void) slog_warn_errno(ctx, r, &eb, "ops request '%s' from uid %u failed", what,
                               (unsigned) c->uid);
        ops_conn_reply_error(s, c, proto_ops_code_from_errno(r), eb.msg);
        return;
    }
    if (!quiet) {
        slog_info(ctx, "ops request '%s' done", what);
    }
    ops_conn_reply_take(s, c, proto_ops_response_encode_ok(result));
    cJSON_Delete(result);
}

/* A complete request line in[0..len): decode, then run or refuse. */
static void ops_conn_dispatch(struct ops_server *s, struct ops_conn *c,
                              const struct ops_callbacks *cb, size_t len)
{
    struct proto_ops_request req;
    struct errbuf eb = {{0}};
    int r;

    r = proto_ops_request_decode(c->in, len, &req, &eb);
    if (r < 0) {
        log_warn("ops request from uid %u (pid %d) refused: %s", (unsigned) c->uid, (int) c->pid,
                 eb.msg);
        ops_conn_reply_error(s, c, proto_ops_code_from_errno(r), eb.msg);
        return;
    }
    ops_conn_run(s, c, cb, &req);
}

/* ---- reading ---- */

/*
 * Reads what is available. Returns the request's length once the line is complete (newline,
 * or end of file after some bytes), 0 while more is to come, -E2BIG past the cap, -EPIPE
 * when the client left without a request, -errno on a read error.
 */
static ssize_t ops_conn_read_some(struct ops_conn *c)
{
    while (c->in_len < OPS_IN_CAP) { /* every round reads a byte or returns */
        ssize_t n;
        char *nl;

        if (c->in_len == c->in_size) {
            c->in_size = c->in_size ? c->in_size * 2 : OPS_IN_CHUNK;
            c->in_size = c->in_size > OPS_IN_CAP ? OPS_IN_CAP : c->in_size;
            c->in = xrealloc(c->in, c->in_size);
        }
        n = read(c->fd, c->in + c->in_len, c->in_size - c->in_len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        }
        if (n == 0) {
            return c->in_len > 0 ? (ssize_t) c->in_len : -EPIPE;
        }
        nl = memchr(c->in + c->in_len, '\n', (size_t) n);
        c->in_len += (size_t) n;
        if (nl) {
            return nl - c->in; /* bytes after the newline are ignored: one request */
        }
    }
    return -E2BIG;
}

static void ops_conn_read(struct ops_server *s, struct ops_conn *c, const struct ops_callbacks *cb)
{
    struct errbuf eb = {{0}};
    ssize_t n = ops_conn_read_some(c);

    if (n == 0) {
        return;
    }
    if (n == -E2BIG) {
        errbuf_set(&eb, "request: larger than %zu bytes", PROTO_OPS_REQUEST_MAX);
        log_warn("ops request from uid %u (pid %d) refused: %s", (unsigned) c->uid, (int) c->pid,
                 eb.msg);
        ops_conn_reply_error(s, c, PROTO_OPS_CODE_TOO_LARGE, eb.msg);
        return;
    }
    if (n < 0) {
        (void) log_emit_errno(LOG_LEVEL_DEBUG, __FILE__, __LINE__, NULL, (int) n, NULL,
                              "ops client (uid %u) left without a request", (unsigned) c->uid);
        ops_conn_close(c);
        return;
    }
    ops_conn_dispatch(s, c, cb, (size_t) n);
}

/* ---- accepting ---- */

static struct ops_conn *ops_server_free_slot(struct ops_server *s)
{
    for (size_t i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        if (s->conns[i].fd < 0) {
            return &s->conns[i];
        }
    }
    return NULL;
}

/*
 * Answers fd with an error in one non-blocking send, without waiting for room: used where
 * the connection is dropped next anyway (no free slot, deadline passed).
 */
static void ops_send_error_once(int fd, enum proto_ops_code code, const char *message)
{
    char *line = proto_ops_response_encode_error(code, message);

    (void) send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
    free(line);
}

/* Takes a new connection into slot c: credentials, then wait for its request. */
static void ops_server_adopt(struct ops_server *s, struct ops_conn *c, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    struct ucred cred = {.pid = 0, .uid = (uid_t) -1, .gid = (gid_t) -1};
    socklen_t len = sizeof(cred);
    char msg[64];

    c->fd = fd;
    c->state = OPS_CONN_STATE_READING;
    c->deadline_ms = clock_now_ms() + OPS_SERVER_DEADLINE_MS;
    ev.data.u64 = OPS_TAG_CONN0 + (uint64_t) (c - s->conns);
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        (void) log_warn_errno(-errno, NULL, "ops socket: epoll_ctl");
        ops_conn_close(c);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        (void) log_warn_errno(-errno, NULL, "ops socket: cannot read peer credentials");
        ops_conn_close(c);
        return;
    }
    c->uid = cred.uid;
    c->pid = cred.pid;
    if (cred.uid != 0 && cred.uid != s->allowed_uid) {
        log_warn("ops socket: refused a connection from uid %u (pid %d): only uid 0 and %u are "
                 "allowed",
                 (unsigned) cred.uid, (int) cred.pid, (unsigned) s->allowed_uid);
        (void) snprintf(msg, sizeof(msg), "uid %u is not allowed", (unsigned) cred.uid);
        ops_conn_reply_error(s, c, PROTO_OPS_CODE_FORBIDDEN, msg);
    }
}

static void ops_server_accept(struct ops_server *s)
{
    for (int i = 0; i < OPS_ACCEPT_MAX; i++) {
        struct ops_conn *c;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                (void) log_warn_errno(-errno, NULL, "ops socket: accept failed");
            }
            return;
        }
        c = ops_server_free_slot(s);
        if (!c) {
            log_warn("ops socket: %d connections in progress; refusing another",
                     OPS_SERVER_MAX_CONNS);
            ops_send_error_once(fd, PROTO_OPS_CODE_BUSY, "too many ops connections; try again");
            (void) close(fd);
            continue;
        }
        ops_server_adopt(s, c, fd);
    }
}

/* ---- deadlines ---- */

/*
 * Answers and closes every connection past its deadline. A request that arrived while a
 * long callback ran is read first: its client was not slow, the agent was.
 */
static void ops_server_expire(struct ops_server *s, const struct ops_callbacks *cb)
{
    for (size_t i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        struct ops_conn *c = &s->conns[i];

        if (c->fd < 0 || clock_now_ms() < c->deadline_ms) {
            continue;
        }
        if (c->state == OPS_CONN_STATE_READING) {
            ops_conn_read(s, c, cb);
            if (c->fd < 0 || c->state != OPS_CONN_STATE_READING) {
                continue; /* answered (or gone) after all */
            }
        }
        log_warn("ops client (uid %u, pid %d) timed out after %d ms %s; closing", (unsigned) c->uid,
                 (int) c->pid, OPS_SERVER_DEADLINE_MS, ops_conn_state_to_string(c->state));
        if (c->state == OPS_CONN_STATE_READING) {
            ops_send_error_once(c->fd, PROTO_OPS_CODE_TIMEOUT, "no complete request in time");
        }
        ops_conn_close(c);
    }
}

/* Arms the timer for the earliest deadline, or disarms it when no connection is open. */
static void ops_server_arm(struct ops_server *s)
{
    struct itimerspec its = {{0, 0}, {0, 0}};
    uint64_t earliest = UINT64_MAX;
    uint64_t now = clock_now_ms();
    uint64_t wait_ms;

    for (size_t i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        if (s->conns[i].fd >= 0 && s->conns[i].deadline_ms < earliest) {
            earliest = s->conns[i].deadline_ms;
        }
    }
    if (earliest != UINT64_MAX) {
        wait_ms = earliest > now ? earliest - now : 1; /* 0 would disarm */
        its.it_value.tv_sec = (time_t) (wait_ms / 1000);
        its.it_value.tv_nsec = (long) (wait_ms % 1000) * 1000000L;
    }
    if (timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
        (void) log_warn_errno(-errno, NULL, "ops socket: timerfd_settime");
    }
}

void ops_server_handle(struct ops_server *s, const struct ops_callbacks *cb)
{
    struct epoll_event evs[OPS_SERVER_MAX_CONNS + 2];
    int n;

    n = epoll_wait(s->epoll_fd, evs, (int) (sizeof(evs) / sizeof(evs[0])), 0);
    if (n < 0 && errno != EINTR) {
        (void) log_warn_errno(-errno, NULL, "ops socket: epoll_wait");
    }
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        struct ops_conn *c;
        uint64_t ticks;

        if (tag == OPS_TAG_LISTEN) {
            ops_server_accept(s);
            continue;
        }
        if (tag == OPS_TAG_TIMER) {
            (void) !read(s->timer_fd, &ticks, sizeof(ticks));
            continue;
        }
        c = &s->conns[tag - OPS_TAG_CONN0];
        if (c->state == OPS_CONN_STATE_READING) {
            ops_conn_read(s, c, cb);
        } else if (c->state == OPS_CONN_STATE_WRITING) {
            ops_conn_write(s, c);
        }
    }
    ops_server_expire(s, cb);
    ops_server_arm(s);
}

void ops_server_close(struct ops_server *s)
{
    struct stat st;

    if (!s) {
        return;
    }
    for (size_t i = 0; i < OPS_SERVER_MAX_CONNS; i++) {
        if (s->conns[i].fd >= 0) {
            ops_conn_close(&s->conns[i]);
        }
    }
    if (s->listen_fd >= 0 && lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
        st.st_ino == s->ino) {
        (void) unlink(s->path);
    }
    ops_close_fd(s->listen_fd);
    ops_close_fd(s->timer_fd);
    ops_close_fd(s->epoll_fd);
    free(s);
}

/*
 * agent/ctl.c
 *
 * `og-agent ctl` (see ctl.h): parses the command line with common/cfg (options may come
 * before or after the command: they are moved in front of it first), checks the command's
 * arguments as the agent would, makes one round trip on the ops socket with a deadline,
 * and prints the result as a table or text, or as JSON with --json. Each command has its own
 * default timeout, since a backup takes longer than a status.
 *
 * Layer: shell
 */
#include "agent/ctl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/ops.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/mem.h"
#include "common/str.h"

extern char **environ;

#define CTL_PROG        "og-agent ctl"
#define CTL_TIMEOUT_MAX ((uint64_t) 24 * 3600 * 1000)

struct ctl_config {
    char socket[PATH_MAX];
    bool json;
    uint64_t timeout_ms; /* 0: the command's own default */
};

static const struct cfg_opt ctl_opts[] = {
        CFG_STR("socket", "OG_AGENT_SOCKET", OPS_SOCKET_DEFAULT, struct ctl_config, socket, 0,
                "PATH", "the agent's ops socket"),
        CFG_BOOL("json", NULL, "false", struct ctl_config, json, 0,
                 "print the agent's result as JSON instead of text"),
        CFG_MS("timeout", "OG_CTL_TIMEOUT", NULL, 100, CTL_TIMEOUT_MAX, struct ctl_config,
               timeout_ms, 0, "DURATION",
               "how long to wait for the answer (default: 10s; start, stop, restart 5m; backup "
               "6h)"),
};

#define CTL_N_OPTS (sizeof(ctl_opts) / sizeof(ctl_opts[0]))

/* One command of ctl. */
struct ctl_verb {
    const char *name;
    enum proto_ops_op op;
    const char *args; /* usage of the positional arguments */
    const char *summary;
    uint64_t timeout_ms; /* default answer timeout */
};

static const struct ctl_verb ctl_verbs[] = {
        {"status", PROTO_OPS_OP_STATUS, "", "Show this node's instances.", 10000},
        {"start", PROTO_OPS_OP_START, "MEMBER", "Start a member's instance.", 300000},
        {"stop", PROTO_OPS_OP_STOP, "MEMBER", "Stop a member's instance (it stays stopped).",
         300000},
        {"restart", PROTO_OPS_OP_RESTART, "MEMBER", "Restart a member's instance.", 300000},
        {"backup", PROTO_OPS_OP_BACKUP, "MEMBER", "Take a local backup of a member.", 21600000},
        {"maintenance", PROTO_OPS_OP_MAINTENANCE, "on|off",
         "Node maintenance mode: no automatic restarts or failovers.", 10000},
};

#define CTL_N_VERBS (sizeof(ctl_verbs) / sizeof(ctl_verbs[0]))
_Static_assert(CTL_N_VERBS == _PROTO_OPS_OP_MAX - 1, "one ctl command per ops operation");

static const struct ctl_verb *ctl_verb_find(const char *name)
{
    for (size_t i = 0; i < CTL_N_VERBS; i++) {
        if (str_eq(ctl_verbs[i].name, name)) {
            return &ctl_verbs[i];
        }
    }
    return NULL;
}

/* ---- the socket round trip ---- */

/* Milliseconds left before deadline_ms, as a poll timeout (0 once passed). */
static int ctl_left_ms(uint64_t deadline_ms)
{
    uint64_t now = clock_now_ms();

    if (now >= deadline_ms) {
        return 0;
    }
    return deadline_ms - now > INT_MAX ? INT_MAX : (int) (deadline_ms - now);
}

/* Waits until fd is ready for events; 0, -ETIMEDOUT or -errno. */
static int ctl_wait(int fd, short events, uint64_t deadline_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, ctl_left_ms(deadline_ms));

        if (n > 0) {
            return 0;
        }
        if (n == 0) {
            return -ETIMEDOUT;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

static int ctl_connect(const char *path, int *ret_fd, struct errbuf *eb)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char msg[128];
    int fd, r;

    if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0) {
        errbuf_set(eb, "socket path %s is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        r = -errno;
        errbuf_set(eb, "socket: %s", strerror_r(-r, msg, sizeof(msg)));
        return r;
    }
    /* A Unix connect completes at once, or fails with EAGAIN when the backlog is full. */
    if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
        r = -errno;
        errbuf_set(eb, "cannot reach the agent at %s: %s", path,
                   r == -EAGAIN ? "it is busy (backlog full)" : strerror_r(-r, msg, sizeof(msg)));
        (void) close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

/* Sends all of line; a peer that closed early is not an error here (its answer may wait). */
static int ctl_send(int fd, const char *line, uint64_t deadline_ms, struct errbuf *eb)
{
    size_t len = strlen(line), off = 0;
    char msg[128];

    while (off < len) {
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        int r;

        if (n >= 0) {
            off += (size_t) n;
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            return 0; /* refused before reading: read the reason */
        }
        if (errno != EAGAIN && errno != EINTR) {
            r = -errno;
            errbuf_set(eb, "send: %s", strerror_r(-r, msg, sizeof(msg)));
            return r;
        }
        r = ctl_wait(fd, POLLOUT, deadline_ms);
        if (r < 0) {
            errbuf_set(eb, "the agent did not take the request in time");
            return r;
        }
    }
    (void) shutdown(fd, SHUT_WR);
    return 0;
}

/* Reads the response line (up to the newline or end of file) into *ret_buf / *ret_len. */
static int ctl_recv(int fd, uint64_t deadline_ms, char **ret_buf, size_t *ret_len,
                    struct errbuf *eb)
{
    size_t cap = PROTO_OPS_RESPONSE_MAX + 1, len = 0;
    char *buf = xmalloc(cap);
    int r = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);

        if (n > 0) {
            len += (size_t) n;
            if (memchr(buf + len - (size_t) n, '\n', (size_t) n) || len == cap) {
                break;
            }
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno == EAGAIN || errno == EINTR) {
            r = ctl_wait(fd, POLLIN, deadline_ms);
        } else {
            r = -errno;
        }
        if (r < 0) {
            break;
        }
    }
    if (r == 0 && len == 0) {
        r = -ECONNRESET;
    }
    if (r < 0) {
        errbuf_set(eb, r == -ETIMEDOUT ? "no answer from the agent in time"
                                       : "the agent closed the connection without an answer");
        free(buf);
        return r;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int ctl_request(const char *socket_path, const struct proto_ops_request *req, uint64_t timeout_ms,
                struct proto_ops_response *ret, struct errbuf *eb)
{
    uint64_t deadline_ms = clock_now_ms() + timeout_ms;
    char *line = NULL, *answer = NULL;
    size_t len = 0;
    int fd = -1, r;

    r = ctl_connect(socket_path, &fd, eb);
    if (r < 0) {
        goto out;
    }
    line = proto_ops_request_encode(req);
    r = ctl_send(fd, line, deadline_ms, eb);
    if (r < 0) {
        goto out;
    }
    r = ctl_recv(fd, deadline_ms, &answer, &len, eb);
    if (r < 0) {
        goto out;
    }
    r = proto_ops_response_decode(answer, len, ret, eb);
    if (r < 0) {
        errbuf_prefix(eb, "unreadable answer from the agent");
        r = -EPROTO;
    }
out:
    if (fd >= 0) {
        (void) close(fd);
    }
    free(line);
    free(answer);
    return r;
}

/* ---- printing ---- */

enum {
    CTL_COL_MEMBER,
    CTL_COL_CLUSTER,
    CTL_COL_ROLE,
    CTL_COL_STATE,
    CTL_COL_PID,
    CTL_COL_RESTARTS,
    CTL_COL_LSN,
    CTL_COL_ERROR,
    CTL_N_COLS
};

static const char *const ctl_headers[CTL_N_COLS] = {"MEMBER", "CLUSTER",  "ROLE", "STATE",
                                                    "PID",    "RESTARTS", "LSN",  "LAST ERROR"};

/* The cells of one status row, as text. */
struct ctl_row {
    char cell[CTL_N_COLS][PROTO_ERROR_MAX + 1];
};

static void ctl_row_fill(const struct proto_ops_instance *in, struct ctl_row *row)
{
    const char *dash = "-";

    (void) str_copy(row->cell[CTL_COL_MEMBER], sizeof(row->cell[0]), in->member);
    (void) str_copy(row->cell[CTL_COL_CLUSTER], sizeof(row->cell[0]),
                    in->cluster[0] ? in->cluster : dash);
    (void) str_copy(row->cell[CTL_COL_ROLE], sizeof(row->cell[0]), in->role[0] ? in->role : dash);
    (void) snprintf(row->cell[CTL_COL_STATE], sizeof(row->cell[0]), "%s%s",
                    in->state[0] ? in->state : dash, in->maintenance ? " (maintenance)" : "");
    if (in->pid) {
        (void) snprintf(row->cell[CTL_COL_PID], sizeof(row->cell[0]), "%" PRIu32, in->pid);
    } else {
        (void) str_copy(row->cell[CTL_COL_PID], sizeof(row->cell[0]), dash);
    }
    (void) snprintf(row->cell[CTL_COL_RESTARTS], sizeof(row->cell[0]), "%" PRIu32, in->restarts);
    if (in->has_lsn) {
        str_format_lsn(in->lsn, row->cell[CTL_COL_LSN], sizeof(row->cell[0]));
    } else {
        (void) str_copy(row->cell[CTL_COL_LSN], sizeof(row->cell[0]), dash);
    }
    (void) str_copy(row->cell[CTL_COL_ERROR], sizeof(row->cell[0]), in->last_error);
}

/* One line of cells padded to widths, without trailing blanks. */
static void ctl_print_line(FILE *out, const char *const cells[CTL_N_COLS],
                           const size_t widths[CTL_N_COLS])
{
    int last = CTL_N_COLS - 1;

    while (last > 0 && cells[last][0] == '\0') {
        last--;
    }
    for (int i = 0; i <= last; i++) {
        if (i == last) {
            (void) fprintf(out, "%s\n", cells[i]);
        } else {
            (void) fprintf(out, "%-*s  ", (int) widths[i], cells[i]);
        }
    }
}

/* The status table, columns aligned as `patronictl list` does. */
static void ctl_print_status(FILE *out, const struct proto_ops_status *st)
{
    struct ctl_row *rows = xcalloc(st->n_instances ? st->n_instances : 1, sizeof(*rows));
    size_t widths[CTL_N_COLS];
    const char *cells[CTL_N_COLS];

    for (int c = 0; c < CTL_N_COLS; c++) {
        widths[c] = strlen(ctl_headers[c]);
    }
    for (uint32_t i = 0; i < st->n_instances; i++) {
        ctl_row_fill(&st->instances[i], &rows[i]);
        for (int c = 0; c < CTL_N_COLS; c++) {
            size_t w = strlen(rows[i].cell[c]);
            widths[c] = w > widths[c] ? w : widths[c];
        }
    }
    (void) fprintf(out, "Node: %s\n", st->node[0] ? st->node : "-");
    if (st->n_instances == 0) {
        (void) fprintf(out, "No instances on this node.\n");
    } else {
        ctl_print_line(out, ctl_headers, widths);
    }
    for (uint32_t i = 0; i < st->n_instances; i++) {
        for (int c = 0; c < CTL_N_COLS; c++) {
            cells[c] = rows[i].cell[c];
        }
        ctl_print_line(out, cells, widths);
    }
    if (st->maintenance) {
        (void) fprintf(out, "Maintenance mode: on (no automatic restarts or failovers)\n");
    }
    free(rows);
}

static int ctl_print_backup(FILE *out, const char *member, const cJSON *result, struct errbuf *eb)
{
    struct proto_ops_backup *b = xcalloc(1, sizeof(*b));
    char lsn[24];
    int r = proto_ops_backup_from_json(result, b, eb);

    if (r == 0) {
        (void) fprintf(out, "backup of %s: %s (%" PRIu64 " bytes", member, b->path, b->bytes);
        if (b->has_lsn) {
            str_format_lsn(b->lsn, lsn, sizeof(lsn));
            (void) fprintf(out, ", up to LSN %s", lsn);
        }
        (void) fprintf(out, ")\n");
    }
    free(b);
    return r;
}

/* Prints a successful result for humans; -EINVAL (eb) when it cannot be read. */
static int ctl_print_result(FILE *out, const struct proto_ops_request *req, const cJSON *result,
                            struct errbuf *eb)
{
    struct proto_ops_status *st = NULL;
    int r = 0;

    switch (req->op) {
    case PROTO_OPS_OP_STATUS:
        st = xcalloc(1, sizeof(*st));
        r = proto_ops_status_from_json(result, st, eb);
        if (r == 0) {
            ctl_print_status(out, st);
        }
        free(st);
        break;
    case PROTO_OPS_OP_START:
    case PROTO_OPS_OP_STOP:
    case PROTO_OPS_OP_RESTART:
        (void) fprintf(out, "%s %s: ok\n", proto_ops_op_to_string(req->op), req->member);
        break;
    case PROTO_OPS_OP_BACKUP:
        r = ctl_print_backup(out, req->member, result, eb);
        break;
    case PROTO_OPS_OP_MAINTENANCE:
        (void) fprintf(out, "maintenance mode %s\n", req->on ? "on" : "off");
        break;
    case PROTO_OPS_OP_UNKNOWN:
    case _PROTO_OPS_OP_MAX:
        break;
    }
    return r;
}

static void ctl_print_json(FILE *out, const cJSON *result)
{
    char *text = cJSON_Print(result); /* cJSON's default hooks: free() releases it */

    if (!text) {
        abort(); /* out of memory: as xmalloc */
    }
    (void) fprintf(out, "%s\n", text);
    free(text);
}

/* ---- usage ---- */

static void ctl_usage(FILE *out)
{
    cfg_usage(out, CTL_PROG " [OPTIONS] COMMAND [ARGS]",
              "Talk to the og-agent of this node through its ops socket.", ctl_opts, CTL_N_OPTS);
    (void) fprintf(out, "\nCommands:\n");
    for (size_t i = 0; i < CTL_N_VERBS; i++) {
        char left[64];

        (void) snprintf(left, sizeof(left), "%s %s", ctl_verbs[i].name, ctl_verbs[i].args);
        (void) fprintf(out, "  %-26s%s\n", left, ctl_verbs[i].summary);
    }
    (void) fprintf(out, "\nRun '" CTL_PROG " COMMAND --help' for one command.\n");
}

static void ctl_verb_usage(FILE *out, const struct ctl_verb *v)
{
    char line[128];

    (void) snprintf(line, sizeof(line), CTL_PROG " [OPTIONS] %s%s%s", v->name,
                    v->args[0] ? " " : "", v->args);
    cfg_usage(out, line, v->summary, ctl_opts, CTL_N_OPTS);
}

/* Prints "og-agent ctl: <reason>" and the hint to stderr; returns EXIT_BAD_ARGS. */
static int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    (void) fprintf(stderr, CTL_PROG ": ");
    va_start(ap, fmt);
    (void) vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void) fprintf(stderr, "\nTry '" CTL_PROG " --help'.\n");
    return EXIT_BAD_ARGS;
}

/* ---- the command line ---- */

/* True when argument a is "--name" (no "=value") of an option that takes a value. */
static bool ctl_flag_takes_value(const char *a)
{
    if (a[0] != '-' || a[1] != '-' || strchr(a, '=')) {
        return false;
    }
    for (size_t i = 0; i < CTL_N_OPTS; i++) {
        if (strcmp(a + 2, ctl_opts[i].name) == 0) {
            return ctl_opts[i].type != CFG_TYPE_BOOL;
        }
    }
    return false;
}

/*
 * Splits argv[1..] into options (into flags, after flags[0] = argv[0]) and positional
 * arguments (into pos), in order, so options may follow the command; "--" ends options.
 * Both arrays hold argc + 1 entries. Returns the number of flags entries.
 */
static int ctl_split_args(int argc, char *argv[], char **flags, char **pos, int *ret_npos)
{
    int nf = 0, np = 0;
    bool options = true;

    flags[nf++] = argv[0];
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];

        if (options && strcmp(a, "--") == 0) {
            options = false;
        } else if (options && a[0] == '-' && a[1] != '\0') {
            flags[nf++] = a;
            if (ctl_flag_takes_value(a) && i + 1 < argc) {
                flags[nf++] = argv[++i];
            }
        } else {
            pos[np++] = a;
        }
    }
    flags[nf] = NULL;
    pos[np] = NULL;
    *ret_npos = np;
    return nf;
}

/* Checks the command's arguments into req; prints the reason and returns false when bad. */
static bool ctl_build_request(const struct ctl_verb *v, int npos, char **pos,
                              struct proto_ops_request *req)
{
    int want = v->args[0] ? 2 : 1;

    proto_ops_request_init(req);
    req->op = v->op;
    if (npos < want) {
        (void) ctl_usage_error("%s: missing argument %s", v->name, v->args);
        return false;
    }
    if (npos > want) {
        (void) ctl_usage_error("unexpected argument '%s'", pos[want]);
        return false;
    }
    if (proto_ops_op_needs_member(v->op)) {
        if (!str_is_dns_label(pos[1]) || str_copy(req->member, sizeof(req->member), pos[1]) < 0) {
            (void) ctl_usage_error("'%s' is not a member name (DNS-1123 label)", pos[1]);
            return false;
        }
    } else if (v->op == PROTO_OPS_OP_MAINTENANCE && str_to_bool(pos[1], &req->on) < 0) {
        (void) ctl_usage_error("maintenance: expected on or off, got '%s'", pos[1]);
        return false;
    }
    return true;
}

/* Sends req and prints the outcome; returns the exit code. */
static int ctl_run(const struct ctl_config *cfg, const struct ctl_verb *v,
                   const struct proto_ops_request *req)
{
    struct proto_ops_response resp = {0};
    struct errbuf eb = {{0}};
    uint64_t timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : v->timeout_ms;
    int r, code = EXIT_OK;

    r = ctl_request(cfg->socket, req, timeout_ms, &resp, &eb);
    if (r < 0) {
        (void) fprintf(stderr, CTL_PROG ": %s\n", eb.msg);
        return r == -EPROTO ? EXIT_RUNTIME : EXIT_UNAVAIL;
    }
    if (!resp.ok) {
        (void) fprintf(stderr, CTL_PROG ": %s%s%s failed: %s (%s)\n", v->name,
                       req->member[0] ? " " : "", req->member,
                       resp.message[0] ? resp.message : "no reason given",
                       proto_ops_code_to_string(resp.code));
        code = EXIT_RUNTIME;
    } else if (cfg->json) {
        ctl_print_json(stdout, resp.result);
    } else if (ctl_print_result(stdout, req, resp.result, &eb) < 0) {
        (void) fprintf(stderr, CTL_PROG ": unreadable result from the agent: %s\n", eb.msg);
        code = EXIT_RUNTIME;
    }
    proto_ops_response_done(&resp);
    return code;
}

/* --help, "help" and "help COMMAND". */
static int ctl_help(int npos, char **pos)
{
    const struct ctl_verb *v = NULL;

    if (npos >= 1) {
        v = ctl_verb_find(str_eq(pos[0], "help") && npos >= 2 ? pos[1] : pos[0]);
    }
    if (v) {
        ctl_verb_usage(stdout, v);
    } else {
        ctl_usage(stdout);
    }
    return EXIT_OK;
}

int cmd_ctl(int argc, char *argv[])
{
    char **flags = xcalloc((size_t) argc + 1, sizeof(*flags));
    char **pos = xcalloc((size_t) argc + 1, sizeof(*pos));
    struct ctl_config cfg;
    struct cfg_errors errs;
    struct proto_ops_request req;
    const struct ctl_verb *v = NULL;
    int nflags, npos = 0, r, code;

    memset(&cfg, 0, sizeof(cfg));
    nflags = ctl_split_args(argc, argv, flags, pos, &npos);
    r = cfg_load(ctl_opts, CTL_N_OPTS, nflags, flags, (const char *const *) environ, &cfg, &errs,
                 NULL);
    if (r == 1 || (npos >= 1 && str_eq(pos[0], "help"))) {
        code = ctl_help(npos, pos);
        goto out;
    }
    if (r < 0) {
        for (unsigned i = 0; i < errs.n; i++) {
            (void) fprintf(stderr, CTL_PROG ": %s\n", errs.msg[i]);
        }
        (void) fprintf(stderr, "Try '" CTL_PROG " --help'.\n");
        code = EXIT_BAD_ARGS;
        goto out;
    }
    if (npos == 0) {
        code = ctl_usage_error("missing command (status, start, stop, restart, backup, "
                               "maintenance)");
        goto out;
    }
    v = ctl_verb_find(pos[0]);
    if (!v) {
        code = ctl_usage_error("unknown command '%s'", pos[0]);
        goto out;
    }
    if (!ctl_build_request(v, npos, pos, &req)) {
        code = EXIT_BAD_ARGS;
        goto out;
    }
    code = ctl_run(&cfg, v, &req);
out:
    free(flags);
    free(pos);
    return code;
}

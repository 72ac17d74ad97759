/*
 * agent/agent.c
 *
 * Layer: shell. The agent's main thread: set up, then a loop that waits on the signal pipe
 * and the ops socket, serves operator requests, and reaps adopted children every probe
 * interval. Everything else has its own threads: the uplink (reports and orders) and one
 * thread per member (probes and operations), so neither a slow arbiter nor a long base
 * backup ever stops the others. On SIGTERM the agent leaves its instances running: the next
 * agent adopts them.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/instance.h"
#include "agent/ops.h"
#include "agent/reaper.h"
#include "agent/storage.h"
#include "agent/supervise.h"
#include "agent/uplink.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/signals.h"
#include "common/str.h"

#define AGENT_REQUEST_TIMEOUT_MS 2000 /* one report exchange, beyond a long poll's wait */
#define AGENT_STOP_WAIT_MS       5000 /* member threads finishing at shutdown */

struct agent {
    const struct agent_config *cfg;
    char agent_id[PROTO_ID_MAX + 1];
    int uid, gid;
    struct reaper *reaper;
    struct supervise *sup;
    struct uplink *uplink;
    struct ops_server *ops;
};

/* A random id for this run, so the arbiter can tell a restarted agent from a silent one. */
static void agent_make_id(char *buf, size_t size)
{
    uint8_t raw[8] = {0};
    ssize_t n = getrandom(raw, sizeof(raw), GRND_NONBLOCK);

    if (n != (ssize_t) sizeof(raw)) {
        /* No entropy yet at early boot: the pid and clock are unique enough for an id. */
        uint64_t v = clock_wall_ms() ^ ((uint64_t) getpid() << 40);
        memcpy(raw, &v, sizeof(raw));
    }
    (void) snprintf(buf, size, "%02x%02x%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3],
                    raw[4], raw[5], raw[6], raw[7]);
}

/* The database user's ids when we are root (PostgreSQL refuses to run as root); else ours. */
static int agent_db_user(struct agent *a)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int r;

    a->uid = -1;
    a->gid = -1;
    if (geteuid() != 0) {
        return 0;
    }
    r = getpwnam_r(a->cfg->db_user, &pw, buf, sizeof(buf), &res);
    if (r != 0 || !res) {
        slog_error(LOG_CTX({"db_user", a->cfg->db_user}),
                   "--db-user: no such user; instances cannot run as root");
        return -ENOENT;
    }
    a->uid = (int) pw.pw_uid;
    a->gid = (int) pw.pw_gid;
    return 0;
}

/* ---- ops socket: the callbacks of agent/ops.h on the supervisor ---- */

static int agent_ops_status(void *data, cJSON **ret_json)
{
    return supervise_ops_status(data, ret_json);
}

static int agent_ops_start(void *data, const char *member, struct errbuf *eb)
{
    return supervise_ops_start(data, member, eb);
}

static int agent_ops_stop(void *data, const char *member, struct errbuf *eb)
{
    return supervise_ops_stop(data, member, eb);
}

static int agent_ops_restart(void *data, const char *member, struct errbuf *eb)
{
    return supervise_ops_restart(data, member, eb);
}

static int agent_ops_backup(void *data, const char *member, cJSON **ret_json, struct errbuf *eb)
{
    return supervise_ops_backup(data, member, ret_json, eb);
}

static int agent_ops_maintenance(void *data, bool on, struct errbuf *eb)
{
    return supervise_ops_maintenance(data, on, eb);
}

/* Opens the ops socket. A live socket of another agent is fatal (one agent per node). */
static int agent_ops_open(struct agent *a)
{
    struct errbuf eb = {{0}};
    int r = ops_server_open(a->cfg->socket, getuid(), &a->ops, &eb);

    if (r == -EADDRINUSE) {
        return log_error_errno(r, &eb, "another agent serves %s", a->cfg->socket);
    }
    if (r < 0) {
        (void) log_error_errno(r, &eb, "ops socket %s unavailable; running without it",
                               a->cfg->socket);
        a->ops = NULL;
    }
    return 0;
}

/* ---- setup and loop ---- */

static void agent_kick(void *data)
{
    uplink_kick(data);
}

static int agent_start_parts(struct agent *a)
{
    const struct agent_config *cfg = a->cfg;
    struct supervise_config sc = {.node = cfg->node,
                                  .root = cfg->root,
                                  .bindir = cfg->bindir,
                                  .uid = a->uid,
                                  .gid = a->gid,
                                  .probe_interval_ms = cfg->probe_interval_ms,
                                  .probe_budget_ms = cfg->probe_timeout_ms,
                                  .copy_max_rate_kbps = cfg->copy_max_rate_kbps};
    struct uplink_config uc = {.url = cfg->arbiter,
                               .token = cfg->token[0] ? cfg->token : NULL,
                               .node = cfg->node,
                               .agent_id = a->agent_id,
                               .heartbeat_ms = cfg->heartbeat_ms,
                               .timeout_ms = AGENT_REQUEST_TIMEOUT_MS};
    struct uplink_ops uo = {
            .fill = supervise_fill, .deliver = supervise_deliver, .refuse = supervise_refuse};
    struct errbuf eb = {{0}};
    int r;

    if (engine_kind_from_string(cfg->engine, &sc.kind) < 0) {
        return log_error_errno(-EINVAL, NULL, "unknown engine %s", cfg->engine);
    }
    a->reaper = reaper_new();
    r = reaper_setup(a->reaper, &eb);
    if (r < 0) {
        (void) log_warn_errno(r, &eb, "not a subreaper: orphaned postmasters go to PID 1");
    }
    sc.proc = reaper_proc_ops(a->reaper);
    a->sup = supervise_new(&sc);
    r = supervise_discover(a->sup, &eb);
    if (r < 0) {
        (void) log_warn_errno(r, &eb, "members of an earlier run not searched");
    }
    uo.data = a->sup;
    r = uplink_start(&uc, &uo, &a->uplink, &eb);
    if (r < 0) {
        return log_error_errno(r, &eb, "uplink not started");
    }
    supervise_set_kick(a->sup, agent_kick, a->uplink);
    return agent_ops_open(a);
}

static int agent_loop(struct agent *a)
{
    const struct ops_callbacks cb = {.status = agent_ops_status,
                                     .start = agent_ops_start,
                                     .stop = agent_ops_stop,
                                     .restart = agent_ops_restart,
                                     .backup = agent_ops_backup,
                                     .maintenance = agent_ops_maintenance,
                                     .data = a->sup};
    struct pollfd pfd[2] = {{.fd = signals_fd(), .events = POLLIN},
                            {.fd = a->ops ? ops_server_fd(a->ops) : -1, .events = POLLIN}};

    while (!signals_should_stop()) {
        int n = poll(pfd, 2, (int) a->cfg->probe_interval_ms);

        if (n < 0 && errno != EINTR) {
            return log_error_errno(-errno, NULL, "poll failed");
        }
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            signals_drain();
        }
        if (n > 0 && a->ops && (pfd[1].revents & POLLIN)) {
            ops_server_handle(a->ops, &cb);
        }
        (void) reaper_reap(a->reaper);
    }
    return 0;
}

static void agent_stop_parts(struct agent *a)
{
    ops_server_close(a->ops);
    uplink_stop(a->uplink);
    /* A member still in a long operation keeps the supervisor (and the runner) alive. */
    if (supervise_stop(a->sup, AGENT_STOP_WAIT_MS)) {
        reaper_free(a->reaper);
    }
}

int agent_run(const struct agent_config *cfg)
{
    struct agent a = {.cfg = cfg};
    struct errbuf eb = {{0}};
    int r, code = EXIT_OK;

    r = signals_setup(&eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "signal setup failed");
        return EXIT_FATAL;
    }
    if (instance_rules_check() < 0) {
        log_error("the instance rule table is malformed");
        return EXIT_FATAL;
    }
    if (agent_db_user(&a) < 0) {
        return EXIT_BAD_CONFIG;
    }
    r = storage_prepare_root(cfg->root, &eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "cannot prepare the hostpath root %s", cfg->root);
        return EXIT_BAD_CONFIG;
    }
    agent_make_id(a.agent_id, sizeof(a.agent_id));
    slog_info(LOG_CTX({"node", cfg->node}, {"agent_id", a.agent_id}, {"arbiter", cfg->arbiter}),
              "agent started");
    r = agent_start_parts(&a);
    if (r == 0) {
        r = agent_loop(&a);
    }
    if (r < 0) {
        code = r == -EADDRINUSE ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
    }
    log_info("agent stopping; instances keep running");
    agent_stop_parts(&a);
    return code;
}

/*
 * agent/agent.c
 *
 * Layer: shell. The agent's loop: wait on the signal pipe until the next heartbeat, send the
 * report, keep the desired state. The arbiter being away is an ordinary condition here (the
 * instances keep running), logged once when it starts and once when it ends.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "agent/reporter.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/signals.h"
#include "common/str.h"

struct agent {
    const struct agent_config *cfg;
    struct reporter *reporter;
    char agent_id[PROTO_ID_MAX + 1];
    uint64_t seq;
    struct proto_report *report;   /* built every heartbeat */
    struct proto_desired *desired; /* last desired state received */
    bool arbiter_reachable;
    bool arbiter_ever_reached;
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

static void agent_build_report(struct agent *a)
{
    struct proto_report *rep = a->report;

    proto_report_init(rep);
    (void) str_copy(rep->node, sizeof(rep->node), a->cfg->node);
    (void) str_copy(rep->agent_id, sizeof(rep->agent_id), a->agent_id);
    rep->seq = ++a->seq;
    rep->known_generation = a->desired->generation;
    rep->wait_ms = 0;
    rep->n_instances = 0;
}

static void agent_heartbeat(struct agent *a)
{
    struct errbuf eb = {{0}};
    int r;

    agent_build_report(a);
    r = reporter_send(a->reporter, a->report, 0, a->desired, &eb);
    if (r < 0) {
        if (a->arbiter_reachable || !a->arbiter_ever_reached)
            slog_warn_errno(LOG_CTX({"arbiter", a->cfg->arbiter}), r, &eb,
                            "arbiter unreachable; instances keep running, retrying every "
                            "heartbeat");
        a->arbiter_reachable = false;
        a->arbiter_ever_reached = true; /* log the outage once, not every heartbeat */
        return;
    }
    if (!a->arbiter_reachable)
        slog_info(LOG_CTX({"arbiter", a->cfg->arbiter}), "arbiter reached (generation %" PRIu64 ")",
                  a->desired->generation);
    a->arbiter_reachable = true;
    a->arbiter_ever_reached = true;
}

static int agent_loop(struct agent *a)
{
    struct pollfd pfd = {.fd = signals_fd(), .events = POLLIN};
    uint64_t next = clock_now_ms();

    while (!signals_should_stop()) {
        uint64_t now = clock_now_ms();
        int n;

        if (now >= next) {
            agent_heartbeat(a);
            next = clock_now_ms() + a->cfg->heartbeat_ms;
            continue;
        }
        n = poll(&pfd, 1, (int) (next - now));
        if (n < 0 && errno != EINTR)
            return log_error_errno(-errno, NULL, "poll failed");
        if (n > 0)
            signals_drain();
    }
    return 0;
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
    r = fs_mkdir_p(cfg->root, 0700, &eb);
    if (r < 0) {
        (void) log_error_errno(r, &eb, "cannot create the hostpath root %s", cfg->root);
        return EXIT_BAD_CONFIG;
    }
    agent_make_id(a.agent_id, sizeof(a.agent_id));
    a.report = xcalloc(1, sizeof(*a.report));
    a.desired = xcalloc(1, sizeof(*a.desired));
    proto_desired_init(a.desired);
    a.reporter = reporter_new(cfg->arbiter, NULL, 2000);
    slog_info(LOG_CTX({"node", cfg->node}, {"agent_id", a.agent_id}, {"arbiter", cfg->arbiter}),
              "agent started");
    r = agent_loop(&a);
    if (r < 0)
        code = EXIT_RUNTIME;
    log_info("agent stopping");
    reporter_free(a.reporter);
    free(a.report);
    free(a.desired);
    return code;
}

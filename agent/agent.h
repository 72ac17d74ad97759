/*
 * agent/agent.h
 *
 * og-agent run: the node agent. It supervises this node's instances (agent/supervise.h),
 * reports them to the arbiter and receives their orders (agent/uplink.h), serves the ops
 * socket (agent/ops.h) and reaps adopted children (agent/reaper.h).
 */
#ifndef OG_AGENT_AGENT_H
#define OG_AGENT_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/model.h"

struct agent_config {
    char node[PROTO_NODE_MAX + 1]; /* this node's name */
    char arbiter[512];             /* base URL of the arbiter */
    char token[512];               /* bearer token the arbiter's API requires; "" → none */
    char root[PATH_MAX];           /* hostpath root holding every member's directories */
    char socket[PATH_MAX];         /* ops socket path */
    char engine[16];               /* "postgresql" or "opengauss" */
    char bindir[PATH_MAX];         /* the engine's binaries */
    char db_user[64];              /* OS user that owns and runs the instances */
    uint64_t heartbeat_ms;
    uint64_t probe_interval_ms;
    uint64_t probe_timeout_ms;   /* budget of one probe; a hung instance answers nothing */
    uint32_t copy_max_rate_kbps; /* pg_basebackup --max-rate of member copies; 0: unlimited */
    char log_level[16];
    bool log_text;
};

/* Runs the agent until SIGTERM/SIGINT; returns an exit code from common/exitcode.h. */
int agent_run(const struct agent_config *cfg);

#endif

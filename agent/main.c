/*
 * agent/main.c
 *
 * Layer: shell. og-agent's command line: `run` starts the node agent.
 */
#include <curl/curl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ctl.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

extern char **environ;

#define OPT(n, e, t, d, lo, hi, field, fl, mv, h)                                           \
    {                                                                                       \
        .name = (n), .env = (e), .type = (t), .def = (d), .min = (lo), .max = (hi),         \
        .offset = offsetof(struct agent_config, field),                                     \
        .size = sizeof(((struct agent_config *) 0)->field), .flags = (fl), .metavar = (mv), \
        .help = (h)                                                                         \
    }

static const struct cfg_opt run_opts[] = {
        OPT("node", "OG_AGENT_NODE", CFG_TYPE_STR, NULL, 0, 0, node, CFG_REQUIRED, "NAME",
            "this node's name (as in the cluster's iplist nodename)"),
        OPT("arbiter", "OG_AGENT_ARBITER", CFG_TYPE_STR, NULL, 0, 0, arbiter, CFG_REQUIRED, "URL",
            "base URL of the arbiter, e.g. http://127.0.0.1:8080"),
        OPT("token", "OG_AGENT_TOKEN", CFG_TYPE_STR, "", 0, 0, token, CFG_SECRET, "TOKEN",
            "bearer token of the arbiter's API (its --token); empty: none"),
        OPT("root", "OG_AGENT_ROOT", CFG_TYPE_STR, "/var/lib/og-agent", 0, 0, root, 0, "DIR",
            "hostpath root: ROOT/<namespace>/<cluster>/<member>/{data,log,backup,archive}"),
        OPT("socket", "OG_AGENT_SOCKET", CFG_TYPE_STR, "/run/og-agent/ops.sock", 0, 0, socket, 0,
            "PATH", "ops socket for og-agent ctl"),
        OPT("engine", "OG_AGENT_ENGINE", CFG_TYPE_STR, "postgresql", 0, 0, engine, 0, "ENGINE",
            "database engine: postgresql or opengauss"),
        OPT("bindir", "OG_AGENT_BINDIR", CFG_TYPE_STR, "/usr/lib/postgresql/15/bin", 0, 0, bindir,
            0, "DIR", "directory of the engine's binaries"),
        OPT("db-user", "OG_AGENT_DB_USER", CFG_TYPE_STR, "postgres", 0, 0, db_user, 0, "USER",
            "OS user that owns and runs the instances"),
        OPT("heartbeat", "OG_HEARTBEAT", CFG_TYPE_MS, "1s", 100, 60000, heartbeat_ms, 0, "DURATION",
            "interval between reports"),
        OPT("probe-interval", "OG_AGENT_PROBE_INTERVAL", CFG_TYPE_MS, "500ms", 100, 60000,
            probe_interval_ms, 0, "DURATION", "interval between instance probes"),
        OPT("probe-timeout", "OG_AGENT_PROBE_TIMEOUT", CFG_TYPE_MS, "1s", 100, 60000,
            probe_timeout_ms, 0, "DURATION",
            "budget of one probe; an instance that does not answer within it is hung"),
        OPT("copy-max-rate", "OG_AGENT_COPY_MAX_RATE", CFG_TYPE_U32, "0", 0, 1048576,
            copy_max_rate_kbps, 0, "KB/S",
            "bandwidth of base backups copying a member from its upstream (pg_basebackup "
            "--max-rate, 32..1048576 kB/s; 0: unlimited)"),
        OPT("log-level", "OG_LOG_LEVEL", CFG_TYPE_STR, "info", 0, 0, log_level, 0, "LEVEL",
            "debug, info, warn or error"),
        OPT("log-text", NULL, CFG_TYPE_BOOL, "false", 0, 0, log_text, 0, NULL,
            "human-readable log lines instead of JSON"),
};

static int cmd_run(int argc, char *argv[])
{
    struct agent_config cfg;
    struct cfg_errors errs = {0};
    int argi = 0, r;
    char *dump;

    memset(&cfg, 0, sizeof(cfg));
    r = cfg_load(run_opts, sizeof(run_opts) / sizeof(run_opts[0]), argc, argv,
                 (const char *const *) environ, &cfg, &errs, &argi);
    if (r == 1) {
        cfg_usage(stdout, "og-agent run --node NAME --arbiter URL [OPTIONS]",
                  "Run the node agent: supervise this node's instances, report to the arbiter.",
                  run_opts, sizeof(run_opts) / sizeof(run_opts[0]));
        return EXIT_OK;
    }
    if (r == 0 && !str_is_dns_subdomain(cfg.node)) {
        (void) snprintf(errs.msg[errs.n++], sizeof(errs.msg[0]),
                        "--node: '%s' is not a valid node name (DNS-1123 subdomain)", cfg.node);
        r = -1;
    }
    if (r == 0 && !str_eq(cfg.engine, "postgresql") && !str_eq(cfg.engine, "opengauss")) {
        (void) snprintf(errs.msg[errs.n++], sizeof(errs.msg[0]),
                        "--engine: expected postgresql or opengauss, got '%s'", cfg.engine);
        r = -1;
    }
    if (r < 0 || argi < argc) {
        for (unsigned i = 0; i < errs.n; i++)
            fprintf(stderr, "og-agent run: %s\n", errs.msg[i]);
        if (r == 0)
            fprintf(stderr, "og-agent run: unexpected argument '%s'\n", argv[argi]);
        fprintf(stderr, "Try 'og-agent run --help'.\n");
        return EXIT_BAD_ARGS;
    }
    if (log_setup("agent", cfg.log_level, cfg.log_text) < 0) {
        fprintf(stderr, "og-agent run: --log-level: unknown level '%s'\n", cfg.log_level);
        return EXIT_BAD_ARGS;
    }
    dump = cfg_dump_json(run_opts, sizeof(run_opts) / sizeof(run_opts[0]), &cfg);
    log_info("effective configuration %s", dump);
    free(dump);
    return agent_run(&cfg);
}

/*
 * glibc malloc for a small resident set (docs/benchmarks.md "Memory"). A fixed mmap threshold
 * keeps every block of 128 KiB or more (proto_desired, proto_report, member_run: 130-850 KiB)
 * in its own mapping: calloc leaves its untouched pages unmapped and free returns it at
 * once. Left dynamic, the threshold climbs to the largest block freed, so those blocks then
 * come from the arenas, are zeroed page by page and stay resident (1.7 MB per member
 * thread's arena measured). Two arenas instead of one per thread: the agent's threads
 * allocate little and rarely. Before any thread; failures (other allocators) are harmless.
 */
static void agent_malloc_tune(void)
{
    (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    (void) mallopt(M_ARENA_MAX, 2);
}

int main(int argc, char *argv[])
{
    static const struct cfg_command cmds[] = {
            {"run", "run the node agent", cmd_run},
            {"ctl", "talk to the agent of this node (status, restart, backup, ...)", cmd_ctl},
    };
    int code;

    agent_malloc_tune();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "og-agent: libcurl initialisation failed\n");
        return EXIT_FATAL;
    }
    code = cfg_dispatch("og-agent", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
    curl_global_cleanup();
    return code;
}

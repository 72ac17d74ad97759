/*
 * arbiter/main.c
 *
 * Layer: shell. og-arbiter's command line: `serve` runs the daemon; the operator commands
 * (status, switchover, failover, maintenance, apply) are clients of its REST API
 * (arbiter/cli.h).
 */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/cli.h"
#include "arbiter/server.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/mem.h"

extern char **environ;

#define OPT(n, e, t, d, lo, hi, field, fl, mv, h)                                             \
    {                                                                                         \
        .name = (n), .env = (e), .type = (t), .def = (d), .min = (lo), .max = (hi),           \
        .offset = offsetof(struct arbiter_config, field),                                     \
        .size = sizeof(((struct arbiter_config *) 0)->field), .flags = (fl), .metavar = (mv), \
        .help = (h)                                                                           \
    }

static const struct cfg_opt serve_opts[] = {
        OPT("listen", "OG_ARBITER_LISTEN", CFG_TYPE_STR, "127.0.0.1:8080", 0, 0, listen, 0,
            "HOST:PORT", "address of the REST API"),
        OPT("db", "OG_ARBITER_DB", CFG_TYPE_STR, "/var/lib/og-arbiter/arbiter.db", 0, 0, db_path, 0,
            "FILE", "SQLite database (topology, epochs, history)"),
        OPT("kube", "OG_ARBITER_KUBE", CFG_TYPE_STR, "none", 0, 0, kube, 0, "MODE",
            "Kubernetes access: none (local mode, clusters declared through the API), "
            "in-cluster, or a kubeconfig path"),
        OPT("heartbeat", "OG_HEARTBEAT", CFG_TYPE_MS, "1s", 100, 60000, heartbeat_ms, 0, "DURATION",
            "heartbeat agents are told to keep"),
        OPT("log-level", "OG_LOG_LEVEL", CFG_TYPE_STR, "info", 0, 0, log_level, 0, "LEVEL",
            "debug, info, warn or error"),
        OPT("log-text", NULL, CFG_TYPE_BOOL, "false", 0, 0, log_text, 0, NULL,
            "human-readable log lines instead of JSON"),
};

static int cmd_serve(int argc, char *argv[])
{
    struct arbiter_config cfg;
    struct cfg_errors errs = {0};
    int argi = 0, r;
    char *dump;

    memset(&cfg, 0, sizeof(cfg));
    r = cfg_load(serve_opts, sizeof(serve_opts) / sizeof(serve_opts[0]), argc, argv,
                 (const char *const *) environ, &cfg, &errs, &argi);
    if (r == 1) {
        cfg_usage(stdout, "og-arbiter serve [OPTIONS]",
                  "Run the arbiter: decide primaries, serve the REST API.", serve_opts,
                  sizeof(serve_opts) / sizeof(serve_opts[0]));
        return EXIT_OK;
    }
    if (r < 0 || argi < argc) {
        for (unsigned i = 0; i < errs.n; i++) {
            fprintf(stderr, "og-arbiter serve: %s\n", errs.msg[i]);
        }
        if (r == 0) {
            fprintf(stderr, "og-arbiter serve: unexpected argument '%s'\n", argv[argi]);
        }
        fprintf(stderr, "Try 'og-arbiter serve --help'.\n");
        return EXIT_BAD_ARGS;
    }
    if (log_setup("arbiter", cfg.log_level, cfg.log_text) < 0) {
        fprintf(stderr, "og-arbiter serve: --log-level: unknown level '%s'\n", cfg.log_level);
        return EXIT_BAD_ARGS;
    }
    dump = cfg_dump_json(serve_opts, sizeof(serve_opts) / sizeof(serve_opts[0]), &cfg);
    log_info("effective configuration %s", dump);
    free(dump);
    return arbiter_serve(&cfg);
}

int main(int argc, char *argv[])
{
    static const struct cfg_command cmds[] = {
            {"serve", "run the arbiter daemon", cmd_serve},
            {"status", "show the members of the clusters", cli_status},
            {"switchover", "planned change of primary", cli_switchover},
            {"failover", "manual failover (the primary is gone)", cli_failover},
            {"maintenance", "turn maintenance on or off", cli_maintenance},
            {"apply", "declare or update a cluster from a JSON spec (local mode)", cli_apply},
    };
    int code;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "og-arbiter: libcurl initialisation failed\n");
        return EXIT_FATAL;
    }
    code = cfg_dispatch("og-arbiter", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
    curl_global_cleanup();
    return code;
}

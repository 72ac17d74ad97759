/*
 * arbiter/main.c
 *
 * Layer: shell. og-arbiter's command line: `serve` runs the daemon; the operator commands
 * (status, switchover, failover, maintenance, apply) are clients of its REST API
 * (arbiter/cli.h).
 */
#include <curl/curl.h>
#include <malloc.h>
#include <stdbool.h>
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
#include "common/str.h"

extern char **environ;

/* curl_global_init ran (curl_global_cleanup is owed). */
static bool curl_ready;

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
        OPT("token", "OG_ARBITER_TOKEN", CFG_TYPE_STR, "", 0, 0, token, CFG_SECRET, "TOKEN",
            "bearer token every REST call but /healthz, /readyz and /metrics must carry "
            "(agents: OG_AGENT_TOKEN); empty: no authentication"),
        OPT("tls-cert", "OG_ARBITER_TLS_CERT", CFG_TYPE_STR, "", 0, 0, tls_cert, 0, "FILE",
            "PEM certificate: with --tls-key, serve the REST API over HTTPS only"),
        OPT("tls-key", "OG_ARBITER_TLS_KEY", CFG_TYPE_STR, "", 0, 0, tls_key, 0, "FILE",
            "PEM private key of --tls-cert"),
        OPT("namespace", "POD_NAMESPACE", CFG_TYPE_STR, "", 0, 0, namespace_, 0, "NAMESPACE",
            "Kubernetes mode: the arbiter's own namespace (Lease, agent pods); default the "
            "kubeconfig's, else og-system"),
        OPT("identity", "POD_NAME", CFG_TYPE_STR, "", 0, 0, identity, 0, "NAME",
            "Kubernetes mode: this replica's Lease identity (its pod name); default the host name"),
        OPT("lease-name", "OG_ARBITER_LEASE_NAME", CFG_TYPE_STR, "og-arbiter", 0, 0, lease_name, 0,
            "NAME", "Kubernetes mode: the Lease that elects the deciding replica"),
        OPT("lease-duration", "OG_ARBITER_LEASE_DURATION", CFG_TYPE_MS, "15s", 3000, 600000,
            lease_duration_ms, 0, "DURATION",
            "Kubernetes mode: Lease duration (renew deadline 2/3 of it, retry period 1/7)"),
        OPT("agent-selector", "OG_ARBITER_AGENT_SELECTOR", CFG_TYPE_STR,
            "app.kubernetes.io/name=og-agent", 0, 0, agent_selector, 0, "SELECTOR",
            "Kubernetes mode: label selector of the agent pods (role labels)"),
};

/* The value of environment variable name, or NULL (read once at startup, before threads). */
static const char *env_value(const char *name)
{
    size_t len = strlen(name);

    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
            return *e + len + 1;
        }
    }
    return NULL;
}

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
    if (env_value("KUBERNETES_SERVICE_HOST")) {
        (void) snprintf(cfg.service_host, sizeof(cfg.service_host), "%s",
                        env_value("KUBERNETES_SERVICE_HOST"));
    }
    if (env_value("KUBERNETES_SERVICE_PORT")) {
        (void) snprintf(cfg.service_port, sizeof(cfg.service_port), "%s",
                        env_value("KUBERNETES_SERVICE_PORT"));
    }
    /* Only Kubernetes mode talks HTTP through libcurl; in local mode its initialisation
     * (OpenSSL's: ~1.7 MB of libcrypto pages resident) is skipped. Still one thread here. */
    if (!str_eq(cfg.kube, "none")) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "og-arbiter: libcurl initialisation failed\n");
            return EXIT_FATAL;
        }
        curl_ready = true;
    }
    dump = cfg_dump_json(serve_opts, sizeof(serve_opts) / sizeof(serve_opts[0]), &cfg);
    log_info("effective configuration %s", dump);
    free(dump);
    return arbiter_serve(&cfg);
}

/*
 * glibc malloc for a small resident set (docs/benchmarks.md "Memory"). A fixed mmap threshold
 * keeps every block of 128 KiB or more (proto_desired scratch, agents' reports, view texts)
 * in its own mapping: calloc leaves its untouched pages unmapped and free returns it at
 * once; left dynamic, the threshold climbs to the largest block freed and such blocks stay
 * resident in the arenas. Two arenas instead of one per thread (libmicrohttpd's, the
 * controller's). Before any thread; failures (other allocators) are harmless.
 */
static void arbiter_malloc_tune(void)
{
    (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    (void) mallopt(M_ARENA_MAX, 2);
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

    arbiter_malloc_tune();
    /* serve initialises libcurl itself, only when it needs it; the commands all do. */
    if (argc < 2 || !str_eq(argv[1], "serve")) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "og-arbiter: libcurl initialisation failed\n");
            return EXIT_FATAL;
        }
        curl_ready = true;
    }
    code = cfg_dispatch("og-arbiter", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
    if (curl_ready) {
        curl_global_cleanup();
    }
    return code;
}

/*
 * arbiter/server.h
 *
 * og-arbiter serve: the loop thread that owns the store, the REST API on libmicrohttpd's
 * threads, and the command queue between them (STYLE.md "Threads").
 */
#ifndef OG_ARBITER_SERVER_H
#define OG_ARBITER_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct arbiter_config {
    char listen[128];       /* host:port of the REST API */
    char db_path[PATH_MAX]; /* SQLite file */
    char kube[PATH_MAX];    /* "none" (local mode), "in-cluster", or a kubeconfig path */
    uint64_t heartbeat_ms;  /* the heartbeat agents are told to keep */
    char log_level[16];
    bool log_text;
};

/* Runs the arbiter until SIGTERM/SIGINT; returns an exit code from common/exitcode.h. */
int arbiter_serve(const struct arbiter_config *cfg);

#endif

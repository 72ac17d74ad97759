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
    char token[512];         /* bearer token the REST API requires; "" → none (warned) */
    char tls_cert[PATH_MAX]; /* PEM files: both set → the REST API is HTTPS only */
    char tls_key[PATH_MAX];
    /* Kubernetes mode only (docs/kubernetes.md); "" means "work it out" where noted. */
    char namespace_[64];        /* own namespace (Lease, agent pods); "" → the kubeconfig's */
    char identity[128];         /* Lease holder identity (the pod name); "" → host name */
    char lease_name[64];        /* coordination.k8s.io/v1 Lease name */
    uint64_t lease_duration_ms; /* Lease duration; renew deadline 2/3, retry period 1/7 */
    char agent_selector[256];   /* label selector of the agent pods */
    char service_host[256];     /* KUBERNETES_SERVICE_HOST, read by main (in-cluster) */
    char service_port[16];      /* KUBERNETES_SERVICE_PORT */
};

/* Runs the arbiter until SIGTERM/SIGINT; returns an exit code from common/exitcode.h. */
int arbiter_serve(const struct arbiter_config *cfg);

#endif

/*
 * common/kube_config.h
 *
 * Where the Kubernetes API server is and how to authenticate to it: from inside a pod (the
 * service account files and the KUBERNETES_SERVICE_HOST/PORT values, as kubernetes-client/c
 * and client-go's InClusterConfig read them) or from a kubeconfig file (kubectl's format).
 *
 * Kubeconfig support, stated honestly: one file (not a KUBECONFIG list to merge), JSON or the
 * YAML subset that kubectl writes: block mappings and sequences, plain, 'single' and
 * "double" quoted scalars on one line, comments, "---", and flow collections only when they
 * are valid JSON ({} [] {"a": "b"}). Block scalars (| >), anchors, aliases, tags and
 * multi-line scalars are rejected with the line number. Of the kubeconfig itself: contexts,
 * current-context, clusters (server, certificate-authority[-data], insecure-skip-tls-verify)
 * and users (token, tokenFile, client-certificate[-data], client-key[-data]); exec and
 * auth-provider plugins and basic auth are rejected by name. Relative file names are
 * resolved against the kubeconfig's directory, as kubectl does.
 *
 * The environment is read by the caller at startup (STYLE.md) and passed in.
 */
#ifndef OG_COMMON_KUBE_CONFIG_H
#define OG_COMMON_KUBE_CONFIG_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define KUBE_SERVER_MAX     512
#define KUBE_TOKEN_MAX      8192 /* bearer tokens (JWTs) are 1-2 KiB; room for fat OIDC ones */
#define KUBE_NAMESPACE_MAX  64   /* a DNS label and its terminator */
#define KUBE_KUBECONFIG_MAX ((size_t) 1024 * 1024)
#define KUBE_SA_DIR         "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * How to reach one API server. Plain fixed-size fields, except the three decoded *-data PEM
 * blobs, which are heap copies released by kube_config_done(); they are handed to libcurl as
 * memory blobs, so certificates and keys from a kubeconfig never touch the disk. An empty
 * string means "not set".
 */
struct kube_config {
    char server[KUBE_SERVER_MAX]; /* "https://10.96.0.1:443" (no trailing slash) */
    char ca_file[PATH_MAX];       /* PEM CA bundle; neither this nor ca_data: system CAs */
    char client_cert[PATH_MAX];   /* PEM client certificate file */
    char client_key[PATH_MAX];    /* PEM client key file */
    char token_file[PATH_MAX];    /* bearer token file, re-read when it rotates; wins over token */
    char token[KUBE_TOKEN_MAX];   /* static bearer token (or the token file's first content) */
    char namespace_[KUBE_NAMESPACE_MAX]; /* the context's / pod's namespace, else "default" */
    bool insecure;                       /* skip server certificate checks (development only) */
    uint32_t connect_timeout_ms;         /* 0 → 2000 */
    uint32_t timeout_ms;                 /* whole request, watches excepted; 0 → 10000 */
    char *ca_data;                       /* decoded certificate-authority-data, or NULL */
    size_t ca_data_len;
    char *client_cert_data; /* decoded client-certificate-data, or NULL */
    size_t client_cert_data_len;
    char *client_key_data; /* decoded client-key-data, or NULL */
    size_t client_key_data_len;
};

/* Releases the PEM blobs of cfg and clears the struct (NULL-safe, may be called twice). */
void kube_config_done(struct kube_config *cfg);

/*
 * In-cluster configuration. service_host and service_port are the values of
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT read by the caller (NULL when unset);
 * an IPv6 host is put in brackets. sa_dir is the service account directory (NULL →
 * KUBE_SA_DIR) holding token (required: token_file is set to it and its content read now),
 * ca.crt (required) and namespace (optional, else "default"). On success *ret is filled (call
 * kube_config_done() later); on failure *ret is untouched. Returns 0, -ENOENT (not in a pod:
 * a value is NULL, or a file is missing; eb names it), -EINVAL (a malformed value) or -errno.
 */
int kube_config_in_cluster(const char *service_host, const char *service_port, const char *sa_dir,
                           struct kube_config *ret, struct errbuf *eb);

/*
 * Loads the kubeconfig file at path for context (NULL → its current-context). On success
 * *ret is filled (call kube_config_done() later); on failure *ret is untouched and eb names
 * the file and the missing or bad key ("users[0].user.client-key-data: missing"). Returns
 * 0, -ENOENT (file, context, cluster or user not found), -EINVAL (bad syntax or values),
 * -ENOTSUP (a feature outside the supported subset, named) or -errno.
 */
int kube_config_from_kubeconfig(const char *path, const char *context, struct kube_config *ret,
                                struct errbuf *eb);

/*
 * Reads a bearer token file (at most size - 1 bytes) into buf, without the surrounding
 * blanks and line breaks. 0, -ENOENT, -EFBIG, -EINVAL (empty, or a line break inside) or
 * -errno; eb names the file.
 */
int kube_config_read_token(const char *path, char *buf, size_t size, struct errbuf *eb);

/*
 * Parses kubeconfig text: JSON when it starts with '{', else the YAML subset described
 * above. Scalars become JSON strings ("true", "6443"), null and ~ become null. On success
 * *ret is a tree owned by the caller (cJSON_Delete). 0, -EINVAL or -ENOTSUP with the line
 * number in eb.
 */
int kube_config_parse_text(const char *text, size_t len, cJSON **ret, struct errbuf *eb);

#endif

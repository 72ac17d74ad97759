/*
 * arbiter/server_kube.c
 *
 * Layer: shell. og-arbiter serve in Kubernetes mode (--kube in-cluster|FILE): the
 * configuration, the names (namespace, identity), and the three threads that talk to the API
 * server: kpub (publication), the controller (arbiter/kctl.h, which reaches the loop through
 * the struct kctl_ops below, the same commands the REST handlers submit) and the Lease
 * (arbiter/lease.h), whose changes the loop acts on at its next step.
 */
#include "arbiter/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/exitcode.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

/* lease on_change, on the lease's thread: decisions stop at once, resume from the loop. */
static void server_kube_on_lease(bool leader, void *data)
{
    struct server *s = data;
    uint64_t one = 1;

    /* Under the mutex, so the loop cannot activate kpub after this (server_kube_publish). */
    pthread_mutex_lock(&s->mu);
    s->leader = leader;
    if (!leader && s->kpub) {
        kpub_set_active(s->kpub, false);
    }
    pthread_mutex_unlock(&s->mu);
    kctl_wake(s->kctl);
    (void) !write(s->wake_fd, &one, sizeof(one));
    log_info("this arbiter %s the Lease", leader ? "now holds" : "no longer holds");
}

/* ---- the controller's way to the loop (struct kctl_ops) ----------------------------- */

/* Runs c on the loop and moves its answer into *ret; 0 or -ETIMEDOUT/-ECANCELED. */
static int server_kube_submit(struct server *s, struct server_cmd *c, struct world_cmd_answer *ret)
{
    int r = server_submit(s, c);

    if (r < 0) {
        return r; /* abandoned: the loop frees c */
    }
    *ret = c->answer;
    c->answer.body = NULL;
    server_cmd_free(c);
    return 0;
}

static int server_kube_put(void *ctx, const char *ns, const char *name, const char *spec_json,
                           const struct spec *spec, struct world_cmd_answer *ret)
{
    struct server_cmd *c = server_cmd_new(SERVER_CMD_PUT);

    (void) str_copy(c->ns, sizeof(c->ns), ns);
    (void) str_copy(c->name, sizeof(c->name), name);
    c->text = xstrdup(spec_json);
    c->spec = xmalloc(sizeof(*c->spec));
    memcpy(c->spec, spec, sizeof(*spec));
    return server_kube_submit(ctx, c, ret);
}

static int server_kube_del(void *ctx, const char *ns, const char *name,
                           struct world_cmd_answer *ret)
{
    struct server_cmd *c = server_cmd_new(SERVER_CMD_DELETE);

    (void) str_copy(c->ns, sizeof(c->ns), ns);
    (void) str_copy(c->name, sizeof(c->name), name);
    return server_kube_submit(ctx, c, ret);
}

static uint32_t server_kube_list(void *ctx, struct kctl_name **ret)
{
    struct server *s = ctx;
    uint32_t n = 0;

    pthread_mutex_lock(&s->mu);
    *ret = xcalloc((s->snap ? s->snap->n_clusters : 0) + 1, sizeof(**ret));
    for (uint32_t i = 0; s->snap && i < s->snap->n_clusters; i++) {
        (void) str_copy((*ret)[n].ns, sizeof((*ret)[n].ns), s->snap->clusters[i].ns);
        (void) str_copy((*ret)[n].name, sizeof((*ret)[n].name), s->snap->clusters[i].name);
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool server_kube_is_leader(void *ctx)
{
    return server_is_leader(ctx);
}

static const struct kctl_ops server_kube_ops = {
        .put = server_kube_put,
        .del = server_kube_del,
        .list = server_kube_list,
        .is_leader = server_kube_is_leader,
};

/* ---- Kubernetes mode ------------------------------------------------------------------ */

/* Loads the configuration of --kube (in-cluster or a kubeconfig); 0 or -errno logged. */
static int server_kube_config(struct server *s, const struct arbiter_config *cfg)
{
    struct errbuf eb = {{0}};
    int r;

    s->kcfg = xcalloc(1, sizeof(*s->kcfg));
    if (str_eq(cfg->kube, "in-cluster")) {
        r = kube_config_in_cluster(str_is_empty(cfg->service_host) ? NULL : cfg->service_host,
                                   str_is_empty(cfg->service_port) ? NULL : cfg->service_port, NULL,
                                   s->kcfg, &eb);
    } else {
        r = kube_config_from_kubeconfig(cfg->kube, NULL, s->kcfg, &eb);
    }
    if (r < 0) {
        return log_error_errno(r, &eb, "--kube %s: no usable Kubernetes configuration", cfg->kube);
    }
    return 0;
}

/* The namespace and identity to use: flags/env first, then the defaults of the docs. */
static void server_kube_names(const struct server *s, const struct arbiter_config *cfg, char *ns,
                              size_t ns_size, char *identity, size_t id_size)
{
    if (!str_is_empty(cfg->namespace_)) {
        (void) str_copy(ns, ns_size, cfg->namespace_);
    } else if (!str_is_empty(s->kcfg->namespace_) &&
               (str_eq(cfg->kube, "in-cluster") || !str_eq(s->kcfg->namespace_, "default"))) {
        /* The pod's own namespace; a kubeconfig's only when it names one ("default" is
         * what kube_config fills in when it does not). */
        (void) str_copy(ns, ns_size, s->kcfg->namespace_);
    } else {
        (void) str_copy(ns, ns_size, "og-system");
    }
    if (!str_is_empty(cfg->identity)) {
        (void) str_copy(identity, id_size, cfg->identity);
    } else if (gethostname(identity, id_size) < 0 || str_is_empty(identity)) {
        (void) str_copy(identity, id_size, "og-arbiter");
    }
    identity[id_size - 1] = '\0';
}

/* Starts kpub, the controller and the Lease; returns an exit code. */
int server_kube_start(struct server *s, const struct arbiter_config *cfg)
{
    char ns[KUBE_NAMESPACE_MAX], identity[128];
    struct errbuf eb = {{0}};
    struct kpub_options po = {0};
    struct kctl_options ko = {0};
    struct lease_options lo = {0};

    if (server_kube_config(s, cfg) < 0) {
        return EXIT_BAD_CONFIG;
    }
    server_kube_names(s, cfg, ns, sizeof(ns), identity, sizeof(identity));
    po.agent_namespace = ns;
    po.agent_selector = cfg->agent_selector;
    po.identity = identity;
    s->kpub = kpub_start(s->kcfg, &po, &eb);
    if (!s->kpub) {
        (void) log_error_errno(-EIO, &eb, "starting the Kubernetes publisher failed");
        return EXIT_FATAL;
    }
    ko.ops = &server_kube_ops;
    ko.ctx = s;
    ko.kpub = s->kpub;
    ko.pod_namespace = ns;
    ko.pod_name = cfg->identity; /* only a real pod name (POD_NAME) is labelled */
    s->kctl = kctl_start(s->kcfg, &ko, &eb);
    if (!s->kctl) {
        (void) log_error_errno(-EIO, &eb, "starting the controller failed");
        return EXIT_FATAL;
    }
    s->kctl_pub = kctl_pub_new(s->kpub, s->kctl);
    lo.namespace_ = ns;
    lo.name = cfg->lease_name;
    lo.identity = identity;
    lo.duration_ms = (uint32_t) cfg->lease_duration_ms;
    lo.renew_deadline_ms = (uint32_t) (cfg->lease_duration_ms * 2 / 3);
    lo.retry_period_ms = (uint32_t) (cfg->lease_duration_ms / 7);
    lo.on_change = server_kube_on_lease;
    lo.data = s;
    s->lease = lease_start(s->kcfg, &lo, &eb);
    if (!s->lease) {
        (void) log_error_errno(-EIO, &eb, "starting leader election failed");
        return EXIT_FATAL;
    }
    slog_info(LOG_CTX({"namespace", ns}, {"identity", identity}, {"lease", cfg->lease_name}),
              "Kubernetes mode: watching OpenGaussCluster resources, Lease %s/%s as %s", ns,
              cfg->lease_name, identity);
    return EXIT_OK;
}

void server_kube_stop(struct server *s)
{
    lease_stop(s->lease);
    s->lease = NULL;
    kctl_stop(s->kctl);
    s->kctl = NULL;
    kctl_pub_free(s->kctl_pub);
    s->kctl_pub = NULL;
    kpub_stop(s->kpub);
    s->kpub = NULL;
    if (s->kcfg) {
        kube_config_done(s->kcfg);
        free(s->kcfg);
        s->kcfg = NULL;
    }
}

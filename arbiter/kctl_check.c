/*
 * arbiter/kctl_check.c
 *
 * Validation of a resource's spec for the controller (see kctl_check.h).
 *
 * Layer: shell
 */
#include "arbiter/kctl_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/kube.h"
#include "common/mem.h"
#include "common/str.h"

struct kctl_check_node {
    char name[PROTO_NODE_MAX + 1];
    bool exists;
    uint64_t checked_ms;
};

struct kctl_check {
    struct kube_client *kc;
    struct kctl_check_node *nodes;
    uint32_t n_nodes;
};

struct kctl_check *kctl_check_new(struct kube_client *kc)
{
    struct kctl_check *c = xcalloc(1, sizeof(*c));

    c->kc = kc;
    return c;
}

void kctl_check_free(struct kctl_check *c)
{
    if (!c) {
        return;
    }
    free(c->nodes);
    free(c);
}

static struct kctl_check_node *kctl_check_cached(struct kctl_check *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_nodes; i++) {
        if (str_eq(c->nodes[i].name, name)) {
            return &c->nodes[i];
        }
    }
    if (c->n_nodes >= KCTL_CHECK_NODES_MAX) {
        c->n_nodes = 0; /* a bound, not a policy: forget everything */
    }
    c->nodes = xrealloc(c->nodes, (c->n_nodes + 1) * sizeof(*c->nodes));
    memset(&c->nodes[c->n_nodes], 0, sizeof(c->nodes[0]));
    (void) str_copy(c->nodes[c->n_nodes].name, sizeof(c->nodes[0].name), name);
    return &c->nodes[c->n_nodes++];
}

/* 1 when Node name exists, 0 when not, -errno when the API server did not say. */
static int kctl_check_node(struct kctl_check *c, const char *name, struct errbuf *eb)
{
    struct kctl_check_node *n = kctl_check_cached(c, name);
    uint64_t now = clock_now_ms();
    char path[KUBE_PATH_MAX];
    struct kube_error err;
    int r;

    if (n->checked_ms != 0 && now - n->checked_ms < KCTL_CHECK_NODE_TTL_MS) {
        return n->exists;
    }
    /* Nodes are cluster-scoped: /api/v1/nodes/<name>. */
    if (kube_path(path, sizeof(path), &(const struct kube_resource){"", "v1", "nodes"}, NULL, name,
                  NULL) < 0) {
        return 0;
    }
    r = kube_get(c->kc, path, NULL, &err, eb);
    if (r < 0 && r != -ENOENT) {
        return r;
    }
    n->exists = r == 0;
    n->checked_ms = now;
    return n->exists;
}

int kctl_check_spec(struct kctl_check *c, const cJSON *obj, const char *spec_json, struct spec *ret,
                    struct errbuf *eb)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
    int r = spec_check_names(ns ? ns : "", name ? name : "", eb);

    if (r == 0) {
        r = spec_parse(spec_json, strlen(spec_json), ret, eb);
    }
    if (r < 0) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < ret->n_members; i++) {
        struct errbuf neb = {{0}};
        int k = kctl_check_node(c, ret->members[i].nodename, &neb);

        if (k < 0) {
            errbuf_set(eb, "looking up node %s failed: %s", ret->members[i].nodename, neb.msg);
            return -EAGAIN;
        }
        if (k == 0) {
            errbuf_set(eb, "spec.iplist[%" PRIu32 "].nodename: node %s does not exist", i,
                       ret->members[i].nodename);
            return -EINVAL;
        }
    }
    return 0;
}

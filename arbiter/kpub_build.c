/*
 * arbiter/kpub_build.c
 *
 * The Kubernetes objects kpub writes for a cluster, as cJSON trees built from the custom
 * resource and the arbiter's view, and the comparisons that tell whether the API server
 * already holds them. Pure: the time comes in as text. The rules that matter for safety are
 * here, so they are table-tested (tests/unit/test_kpub_build.c): the write EndpointSlice
 * names the primary only when it is running in that role, and never two endpoints; a role
 * label is removed from any member that is not running in its role.
 *
 * Layer: core
 */
#include "arbiter/kpub_build.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"

#define KPUB_EVENT_MESSAGE_MAX 1024

/* ---- parsing ---- */

/* The string member key of obj, or "" (NULL-safe). */
static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(j) && j->valuestring ? j->valuestring : "";
}

/* The non-negative integral member key of obj, or 0. */
static uint64_t u64_of(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740991.0) {
        return 0;
    }
    return (uint64_t) j->valuedouble;
}

/* Copies src into dst[size], or "" when it does not fit. */
static void copy_or_empty(char *dst, size_t size, const char *src)
{
    if (str_copy(dst, size, src) < 0) {
        dst[0] = '\0';
    }
}

int kpub_cr_parse(const cJSON *cr, struct kpub_cr *ret, struct errbuf *eb)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(cr, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cr, "spec");
    struct kpub_cr c;

    memset(&c, 0, sizeof(c));
    if (str_is_empty(str_of(meta, "namespace")) || str_is_empty(str_of(meta, "name")) ||
        str_copy(c.ns, sizeof(c.ns), str_of(meta, "namespace")) < 0 ||
        str_copy(c.name, sizeof(c.name), str_of(meta, "name")) < 0) {
        errbuf_set(eb, "custom resource without a valid metadata.namespace and name");
        return -EINVAL;
    }
    copy_or_empty(c.uid, sizeof(c.uid), str_of(meta, "uid"));
    c.generation = u64_of(meta, "generation");
    c.readport = (uint32_t) (u64_of(spec, "readport") & 0xffff);
    c.writeport = (uint32_t) (u64_of(spec, "writeport") & 0xffff);
    c.dbport = (uint32_t) (u64_of(spec, "dbport") & 0xffff);
    *ret = c;
    return 0;
}

static void member_parse(const cJSON *j, struct kpub_member *m)
{
    memset(m, 0, sizeof(*m));
    copy_or_empty(m->name, sizeof(m->name), str_of(j, "name"));
    copy_or_empty(m->node, sizeof(m->node), str_of(j, "node"));
    copy_or_empty(m->ip, sizeof(m->ip), str_of(j, "ip"));
    copy_or_empty(m->role, sizeof(m->role), str_of(j, "role"));
    copy_or_empty(m->state, sizeof(m->state), str_of(j, "state"));
    copy_or_empty(m->sync, sizeof(m->sync), str_of(j, "sync"));
}

int kpub_view_parse(const cJSON *view, struct kpub_view *ret, struct errbuf *eb)
{
    const cJSON *members;
    const cJSON *m;

    memset(ret, 0, sizeof(*ret));
    if (!view) {
        (void) str_copy(ret->state, sizeof(ret->state), "creating");
        return 0;
    }
    if (!cJSON_IsObject(view)) {
        errbuf_set(eb, "cluster view is not an object");
        return -EINVAL;
    }
    ret->present = true;
    copy_or_empty(ret->state, sizeof(ret->state), str_of(view, "state"));
    copy_or_empty(ret->primary, sizeof(ret->primary), str_of(view, "primary"));
    (void) snprintf(ret->message, sizeof(ret->message), "%s", str_of(view, "message"));
    ret->epoch = u64_of(view, "epoch");
    members = cJSON_GetObjectItemCaseSensitive(view, "members");
    cJSON_ArrayForEach(m, members)
    {
        if (ret->n_members == KPUB_MAX_MEMBERS) {
            break;
        }
        member_parse(m, &ret->members[ret->n_members++]);
    }
    return 0;
}

bool kpub_cr_equal(const struct kpub_cr *a, const struct kpub_cr *b)
{
    return str_eq(a->ns, b->ns) && str_eq(a->name, b->name) && str_eq(a->uid, b->uid) &&
           a->generation == b->generation && a->readport == b->readport &&
           a->writeport == b->writeport && a->dbport == b->dbport;
}

static bool member_equal(const struct kpub_member *a, const struct kpub_member *b)
{
    return str_eq(a->name, b->name) && str_eq(a->node, b->node) && str_eq(a->ip, b->ip) &&
           str_eq(a->role, b->role) && str_eq(a->state, b->state) && str_eq(a->sync, b->sync);
}

bool kpub_view_equal(const struct kpub_view *a, const struct kpub_view *b)
{
    if (a->present != b->present || !str_eq(a->state, b->state) ||
        !str_eq(a->primary, b->primary) || !str_eq(a->message, b->message) ||
        a->epoch != b->epoch || a->n_members != b->n_members) {
        return false;
    }
    for (size_t i = 0; i < a->n_members; i++) {
        if (!member_equal(&a->members[i], &b->members[i])) {
            return false;
        }
    }
    return true;
}

/* ---- names ---- */

int kpub_service_name(const char *cluster, bool read, char *buf, size_t size)
{
    int n = snprintf(buf, size, "og-%s-svc%s", cluster, read ? "-read" : "");

    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int kpub_label_key(const char *ns, const char *cluster, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s.%s.opengauss.sig/role", cluster, ns);

    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* ---- Services ---- */

static void add_common_labels(cJSON *labels, const struct kpub_cr *cr)
{
    json_add_str(labels, "app.kubernetes.io/managed-by", KPUB_MANAGED_BY);
    json_add_str(labels, "app.kubernetes.io/name", "opengauss");
    json_add_str(labels, "opengauss.sig/cluster", cr->name);
}

static void add_owner(cJSON *meta, const struct kpub_cr *cr)
{
    cJSON *refs, *ref;

    if (str_is_empty(cr->uid)) {
        return;
    }
    refs = json_add_array(meta, "ownerReferences");
    ref = json_add_object(refs, NULL);
    json_add_str(ref, "apiVersion", KPUB_CR_API_VERSION);
    json_add_str(ref, "kind", KPUB_CR_KIND);
    json_add_str(ref, "name", cr->name);
    json_add_str(ref, "uid", cr->uid);
}

static void add_service_spec(cJSON *svc, const struct kpub_cr *cr, bool read)
{
    cJSON *spec = json_add_object(svc, "spec");
    cJSON *ports, *port;

    json_add_str(spec, "type", "NodePort");
    ports = json_add_array(spec, "ports");
    port = json_add_object(ports, NULL);
    json_add_str(port, "name", "db");
    json_add_str(port, "protocol", "TCP");
    cJSON_AddNumberToObject(port, "port", cr->dbport);
    cJSON_AddNumberToObject(port, "targetPort", cr->dbport);
    cJSON_AddNumberToObject(port, "nodePort", read ? cr->readport : cr->writeport);
}

cJSON *kpub_build_service(const struct kpub_cr *cr, bool read)
{
    cJSON *svc = json_new_object();
    cJSON *meta;
    char name[KPUB_NAME_MAX + 32];

    (void) kpub_service_name(cr->name, read, name, sizeof(name));
    json_add_str(svc, "apiVersion", "v1");
    json_add_str(svc, "kind", "Service");
    meta = json_add_object(svc, "metadata");
    json_add_str(meta, "name", name);
    json_add_str(meta, "namespace", cr->ns);
    add_common_labels(json_add_object(meta, "labels"), cr);
    add_owner(meta, cr);
    add_service_spec(svc, cr, read);
    return svc;
}

/* True when a (an integer or a numeric string) is the number n. */
static bool num_is(const cJSON *a, uint32_t n)
{
    return cJSON_IsNumber(a) && a->valuedouble == (double) n;
}

bool kpub_service_is_current(const cJSON *svc, const struct kpub_cr *cr, bool read)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(svc, "spec");
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(spec, "selector");
    const cJSON *p = cJSON_GetArrayItem(ports, 0);
    const char *proto = str_of(p, "protocol");

    if (!str_eq(str_of(spec, "type"), "NodePort") || cJSON_GetArraySize(ports) != 1) {
        return false;
    }
    if (sel && !cJSON_IsNull(sel) && cJSON_GetArraySize(sel) > 0) {
        return false;
    }
    return str_eq(str_of(p, "name"), "db") && (str_is_empty(proto) || str_eq(proto, "TCP")) &&
           num_is(cJSON_GetObjectItemCaseSensitive(p, "port"), cr->dbport) &&
           num_is(cJSON_GetObjectItemCaseSensitive(p, "targetPort"), cr->dbport) &&
           num_is(cJSON_GetObjectItemCaseSensitive(p, "nodePort"),
                  read ? cr->readport : cr->writeport);
}

cJSON *kpub_build_service_patch(const struct kpub_cr *cr, bool read)
{
    cJSON *patch = json_new_object();
    cJSON *meta = json_add_object(patch, "metadata");
    cJSON *spec;

    add_common_labels(json_add_object(meta, "labels"), cr);
    add_service_spec(patch, cr, read);
    spec = cJSON_GetObjectItemCaseSensitive(patch, "spec");
    json_add_null(spec, "selector");
    return patch;
}

/* ---- EndpointSlices ---- */

static bool member_runs_as(const struct kpub_member *m, const char *role)
{
    return str_eq(m->role, role) && str_eq(m->state, "running");
}

static bool ip_is_v6(const char *ip)
{
    return strchr(ip, ':') != NULL;
}

/* The view's primary member when it runs as primary, else NULL. */
static const struct kpub_member *running_primary(const struct kpub_view *v)
{
    if (str_is_empty(v->primary)) {
        return NULL;
    }
    for (size_t i = 0; i < v->n_members; i++) {
        const struct kpub_member *m = &v->members[i];

        if (str_eq(m->name, v->primary)) {
            return member_runs_as(m, "primary") && !str_is_empty(m->ip) ? m : NULL;
        }
    }
    return NULL;
}

size_t kpub_slice_members(const struct kpub_view *v, bool read, const struct kpub_member **ret,
                          size_t max)
{
    const struct kpub_member *primary = running_primary(v);
    size_t n = 0;

    if (max == 0) {
        return 0;
    }
    if (read) {
        for (size_t i = 0; i < v->n_members && n < max; i++) {
            const struct kpub_member *m = &v->members[i];

            if (!member_runs_as(m, "standby") || str_is_empty(m->ip)) {
                continue;
            }
            /* One slice holds one address family: keep the first one's. */
            if (n > 0 && ip_is_v6(m->ip) != ip_is_v6(ret[0]->ip)) {
                continue;
            }
            ret[n++] = m;
        }
    }
    if (n == 0 && primary) {
        ret[n++] = primary; /* write slice: exactly this one; read slice: the fallback */
    }
    return n;
}

cJSON *kpub_build_slice(const struct kpub_cr *cr, const struct kpub_view *v, bool read)
{
    const struct kpub_member *sel[KPUB_MAX_MEMBERS];
    size_t n = kpub_slice_members(v, read, sel, KPUB_MAX_MEMBERS);
    cJSON *slice = json_new_object();
    cJSON *meta, *labels, *ports, *port, *eps;
    char name[KPUB_NAME_MAX + 32];

    (void) kpub_service_name(cr->name, read, name, sizeof(name));
    json_add_str(slice, "apiVersion", "discovery.k8s.io/v1");
    json_add_str(slice, "kind", "EndpointSlice");
    meta = json_add_object(slice, "metadata");
    json_add_str(meta, "name", name);
    json_add_str(meta, "namespace", cr->ns);
    labels = json_add_object(meta, "labels");
    json_add_str(labels, "kubernetes.io/service-name", name);
    json_add_str(labels, "endpointslice.kubernetes.io/managed-by", KPUB_SLICE_MANAGER);
    add_common_labels(labels, cr);
    add_owner(meta, cr);
    json_add_str(slice, "addressType", n > 0 && ip_is_v6(sel[0]->ip) ? "IPv6" : "IPv4");
    ports = json_add_array(slice, "ports");
    port = json_add_object(ports, NULL);
    json_add_str(port, "name", "db");
    cJSON_AddNumberToObject(port, "port", cr->dbport);
    json_add_str(port, "protocol", "TCP");
    eps = json_add_array(slice, "endpoints");
    for (size_t i = 0; i < n; i++) {
        cJSON *ep = json_add_object(eps, NULL);

        json_add_str(json_add_array(ep, "addresses"), NULL, sel[i]->ip);
        json_add_bool(json_add_object(ep, "conditions"), "ready", true);
        if (!str_is_empty(sel[i]->node)) {
            json_add_str(ep, "nodeName", sel[i]->node);
        }
    }
    return slice;
}

/* Endpoints a and b name the same addresses, readiness and nodes, in order. */
static bool endpoints_equal(const cJSON *a, const cJSON *b)
{
    int n = cJSON_GetArraySize(a);

    if (n != cJSON_GetArraySize(b)) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *ea = cJSON_GetArrayItem(a, i);
        const cJSON *eb = cJSON_GetArrayItem(b, i);
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ea, "conditions"), "ready");
        const cJSON *rb = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(eb, "conditions"), "ready");

        if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(ea, "addresses"),
                           cJSON_GetObjectItemCaseSensitive(eb, "addresses"), true) ||
            cJSON_IsTrue(ra) != cJSON_IsTrue(rb) ||
            !str_eq(str_of(ea, "nodeName"), str_of(eb, "nodeName"))) {
            return false;
        }
    }
    return true;
}

bool kpub_slice_is_current(const cJSON *slice, const cJSON *desired)
{
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(slice, "metadata"), "labels");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(desired, "metadata"), "labels");
    const cJSON *pa = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(slice, "ports"), 0);
    const cJSON *pb = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(desired, "ports"), 0);

    if (!slice || !str_eq(str_of(slice, "addressType"), str_of(desired, "addressType"))) {
        return false;
    }
    if (!str_eq(str_of(la, "kubernetes.io/service-name"),
                str_of(lb, "kubernetes.io/service-name")) ||
        !str_eq(str_of(la, "endpointslice.kubernetes.io/managed-by"),
                str_of(lb, "endpointslice.kubernetes.io/managed-by"))) {
        return false;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(slice, "ports")) != 1 ||
        !str_eq(str_of(pa, "name"), str_of(pb, "name")) ||
        !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(pa, "port"),
                       cJSON_GetObjectItemCaseSensitive(pb, "port"), true)) {
        return false;
    }
    return endpoints_equal(cJSON_GetObjectItemCaseSensitive(slice, "endpoints"),
                           cJSON_GetObjectItemCaseSensitive(desired, "endpoints"));
}

cJSON *kpub_build_slice_patch(const cJSON *desired)
{
    cJSON *patch = json_new_object();
    cJSON *meta = json_add_object(patch, "metadata");
    const cJSON *dmeta = cJSON_GetObjectItemCaseSensitive(desired, "metadata");

    cJSON_AddItemToObject(meta, "labels",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(dmeta, "labels"), 1));
    cJSON_AddItemToObject(patch, "ports",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(desired, "ports"), 1));
    cJSON_AddItemToObject(
            patch, "endpoints",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(desired, "endpoints"), 1));
    return patch;
}

/* ---- role labels ---- */

const char *kpub_label_value(const struct kpub_view *v, const char *node)
{
    bool standby = false;

    if (str_is_empty(node)) {
        return NULL;
    }
    for (size_t i = 0; i < v->n_members; i++) {
        const struct kpub_member *m = &v->members[i];

        if (!str_eq(m->node, node)) {
            continue;
        }
        if (member_runs_as(m, "primary")) {
            return "primary";
        }
        standby = standby || member_runs_as(m, "standby");
    }
    return standby ? "standby" : NULL;
}

cJSON *kpub_build_label_patch(const char *key, const char *value)
{
    cJSON *patch = json_new_object();
    cJSON *labels = json_add_object(json_add_object(patch, "metadata"), "labels");

    if (value) {
        json_add_str(labels, key, value);
    } else {
        json_add_null(labels, key);
    }
    return patch;
}

/* ---- status ---- */

/* The lastTransitionTime prev gives condition type when its status is the same, else now. */
static const char *transition_time(const cJSON *prev, const char *type, const char *status,
                                   const char *now)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(prev, "conditions"))
    {
        if (str_eq(str_of(c, "type"), type) && str_eq(str_of(c, "status"), status) &&
            !str_is_empty(str_of(c, "lastTransitionTime"))) {
            return str_of(c, "lastTransitionTime");
        }
    }
    return now;
}

struct cond {
    const char *type;
    bool ok;
    const char *reason;
    const char *message;
};

static void add_condition(cJSON *conds, const struct cond *c, const struct kpub_cr *cr,
                          const cJSON *prev, const char *now)
{
    cJSON *j = json_add_object(conds, NULL);
    const char *status = c->ok ? "True" : "False";

    json_add_str(j, "type", c->type);
    json_add_str(j, "status", status);
    json_add_str(j, "reason", c->reason);
    json_add_str(j, "message", c->message);
    json_add_str(j, "lastTransitionTime", transition_time(prev, c->type, status, now));
    cJSON_AddNumberToObject(j, "observedGeneration", (double) cr->generation);
}

/* The Ready condition's reason: CamelCase of the state. */
static const char *ready_reason(const struct kpub_view *v, const char *state)
{
    static const struct {
        const char *state;
        const char *reason;
    } reasons[] = {
            {"creating", "Creating"},       {"ready", "Ready"},
            {"updating", "Updating"},       {"failed", "Failed"},
            {"maintaining", "Maintaining"}, {"invalid", "InvalidSpec"},
            {"recovering", "Recovering"},   {"restoring", "Restoring"},
    };

    if (!v->present) {
        return "NotYetDecided";
    }
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (str_eq(reasons[i].state, state)) {
            return reasons[i].reason;
        }
    }
    return "Unknown";
}

static void add_members_status(cJSON *st, const struct kpub_view *v)
{
    cJSON *pod = json_add_object(st, "podstate");
    cJSON *sync = json_add_array(st, "syncState");
    size_t running = 0;
    char buf[64];

    for (size_t i = 0; i < v->n_members; i++) {
        const struct kpub_member *m = &v->members[i];

        running += str_eq(m->state, "running");
        if (str_is_empty(m->name)) {
            continue;
        }
        (void) snprintf(buf, sizeof(buf), "%s/%s", str_is_empty(m->role) ? "unknown" : m->role,
                        str_is_empty(m->state) ? "unknown" : m->state);
        json_add_str(pod, m->name, buf);
        if (!str_is_empty(m->sync)) {
            cJSON *s = json_add_object(sync, NULL);

            json_add_str(s, "name", m->name);
            json_add_str(s, "ip", m->ip);
            json_add_str(s, "state", m->sync);
        }
    }
    (void) snprintf(buf, sizeof(buf), "%zu/%zu", running, v->n_members);
    json_add_str(st, "ready", buf);
}

cJSON *kpub_build_status(const struct kpub_cr *cr, const struct kpub_view *v,
                         const char *invalid_message, const cJSON *prev, const char *now)
{
    cJSON *st = json_new_object();
    cJSON *conds;
    const char *state = invalid_message ? "invalid" : (v->present ? v->state : "creating");
    const char *message = invalid_message ? invalid_message : v->message;
    bool ready = str_eq(state, "ready");
    struct cond c;

    json_add_str(st, "state", state);
    json_add_str(st, "primary", v->primary);
    json_add_str(st, "message", message);
    cJSON_AddNumberToObject(st, "epoch", (double) v->epoch);
    cJSON_AddNumberToObject(st, "observedGeneration", (double) cr->generation);
    add_members_status(st, v);
    conds = json_add_array(st, "conditions");
    c = (struct cond){"Ready", ready, ready_reason(v, state),
                      ready ? "the primary and every member run in their roles" : message};
    add_condition(conds, &c, cr, prev, now);
    c = (struct cond){"Valid", invalid_message == NULL,
                      invalid_message ? "InvalidSpec" : "SpecAccepted",
                      invalid_message ? invalid_message : "the spec is valid"};
    add_condition(conds, &c, cr, prev, now);
    return st;
}

/* The fields kpub_build_status writes. */
static const char *const status_keys[] = {
        "state", "primary",  "message",   "epoch",     "observedGeneration",
        "ready", "podstate", "syncState", "conditions"};

bool kpub_status_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b) {
        return a == b;
    }
    for (size_t i = 0; i < sizeof(status_keys) / sizeof(status_keys[0]); i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, status_keys[i]);
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, status_keys[i]);

        if (!x || !y) {
            if (x != y) {
                return false;
            }
            continue;
        }
        if (!cJSON_Compare(x, y, true)) {
            return false;
        }
    }
    return true;
}

cJSON *kpub_build_status_patch(const cJSON *status, const cJSON *prev)
{
    cJSON *patch = json_new_object();
    cJSON *st = cJSON_Duplicate(status, 1);
    cJSON *pod = cJSON_GetObjectItemCaseSensitive(st, "podstate");
    const cJSON *old;

    cJSON_ArrayForEach(old, cJSON_GetObjectItemCaseSensitive(prev, "podstate"))
    {
        if (old->string && pod && !cJSON_GetObjectItemCaseSensitive(pod, old->string)) {
            json_add_null(pod, old->string);
        }
    }
    cJSON_AddItemToObject(patch, "status", st);
    return patch;
}

/* ---- Events ---- */

cJSON *kpub_build_event(const struct kpub_cr *cr, const struct kpub_event_spec *ev)
{
    cJSON *e = json_new_object();
    cJSON *meta, *io, *src;
    char name[KPUB_NAME_MAX + 32];
    char msg[KPUB_EVENT_MESSAGE_MAX + 1];

    (void) snprintf(name, sizeof(name), "%s.%016" PRIx64, cr->name, ev->id);
    (void) snprintf(msg, sizeof(msg), "%s", ev->message ? ev->message : "");
    json_add_str(e, "apiVersion", "v1");
    json_add_str(e, "kind", "Event");
    meta = json_add_object(e, "metadata");
    json_add_str(meta, "name", name);
    json_add_str(meta, "namespace", cr->ns);
    io = json_add_object(e, "involvedObject");
    json_add_str(io, "apiVersion", KPUB_CR_API_VERSION);
    json_add_str(io, "kind", KPUB_CR_KIND);
    json_add_str(io, "name", cr->name);
    json_add_str(io, "namespace", cr->ns);
    if (!str_is_empty(cr->uid)) {
        json_add_str(io, "uid", cr->uid);
    }
    json_add_str(e, "reason", ev->reason);
    json_add_str(e, "message", msg);
    json_add_str(e, "type", ev->type);
    src = json_add_object(e, "source");
    json_add_str(src, "component", KPUB_COMPONENT);
    json_add_str(e, "reportingComponent", KPUB_COMPONENT);
    json_add_str(e, "reportingInstance", ev->identity);
    json_add_str(e, "action", ev->reason);
    json_add_str(e, "firstTimestamp", ev->now);
    json_add_str(e, "lastTimestamp", ev->now);
    json_add_str(e, "eventTime", ev->now_micro);
    cJSON_AddNumberToObject(e, "count", 1);
    return e;
}

/*
 * tests/unit/test_kpub_build.c
 *
 * arbiter/kpub_build: the objects kpub writes, as tables. The write EndpointSlice names the
 * primary only when it runs as primary, never two endpoints; the read slice holds running
 * standbys, else the primary; role labels for every member state; Services; the status and
 * its dedupe (LSNs and repeated builds change nothing; transition times carry over);
 * IPv6; invalid specs; Events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/kpub_build.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

#define NOW  "2026-11-25T00:00:00Z"
#define NOW2 "2026-11-25T01:00:00Z"

static cJSON *parse(const char *text)
{
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL_FATAL(json_parse(text, strlen(text), 0, &j, &eb), 0);
    return j;
}

static const char CR[] = "{\"apiVersion\":\"opengauss.sig/v1\",\"kind\":\"OpenGaussCluster\","
                         "\"metadata\":{\"namespace\":\"ns1\",\"name\":\"demo\",\"uid\":\"u-1\","
                         "\"generation\":3},"
                         "\"spec\":{\"readport\":30001,\"writeport\":30002,\"dbport\":5432}}";

static void cr_get(struct kpub_cr *c)
{
    cJSON *j = parse(CR);
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(kpub_cr_parse(j, c, &eb), 0);
    cJSON_Delete(j);
}

/*
 * A view from "primary|name,node,ip,role,state,sync;..." (sync may be empty; the primary may
 * be empty).
 */
static void view_make(const char *spec, struct kpub_view *v)
{
    char *text = xstrdup(spec);
    char *save = NULL;
    char *bar = strchr(text, '|');
    char *m;

    memset(v, 0, sizeof(*v));
    v->present = true;
    (void) str_copy(v->state, sizeof(v->state), "ready");
    v->epoch = 7;
    CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
    if (!bar) {
        free(text);
        return;
    }
    *bar = '\0';
    (void) str_copy(v->primary, sizeof(v->primary), text);
    for (m = strtok_r(bar + 1, ";", &save); m; m = strtok_r(NULL, ";", &save)) {
        struct kpub_member *x = &v->members[v->n_members++];
        char *f[6] = {0};
        char *p = m;

        for (int i = 0; i < 6; i++) {
            f[i] = p;
            p = p ? strchr(p, ',') : NULL;
            if (p) {
                *p++ = '\0';
            }
        }
        (void) str_copy(x->name, sizeof(x->name), f[0] ? f[0] : "");
        (void) str_copy(x->node, sizeof(x->node), f[1] ? f[1] : "");
        (void) str_copy(x->ip, sizeof(x->ip), f[2] ? f[2] : "");
        (void) str_copy(x->role, sizeof(x->role), f[3] ? f[3] : "");
        (void) str_copy(x->state, sizeof(x->state), f[4] ? f[4] : "");
        (void) str_copy(x->sync, sizeof(x->sync), f[5] ? f[5] : "");
    }
    free(text);
}

/* "ip@node,ip@node" of a slice's endpoints, and its addressType. */
static void slice_summary(const cJSON *slice, char *buf, size_t size, char *type, size_t tsize)
{
    const cJSON *ep;
    size_t used = 0;

    buf[0] = '\0';
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(slice, "endpoints"))
    {
        const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ep, "addresses"), 0);
        const cJSON *ready = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ep, "conditions"), "ready");
        int n;

        CU_ASSERT_TRUE(cJSON_IsTrue(ready));
        CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ep, "addresses")), 1);
        n = snprintf(buf + used, size - used, "%s%s@%s", used ? "," : "", cJSON_GetStringValue(a),
                     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "nodeName")));
        used += (size_t) n;
    }
    (void) snprintf(type, tsize, "%s",
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(slice, "addressType")));
}

static const char THREE[] = "demo-0|demo-0,n0,10.0.0.1,primary,running,;"
                            "demo-1,n1,10.0.0.2,standby,running,sync;"
                            "demo-2,n2,10.0.0.3,standby,running,async";

static const struct {
    const char *name;
    const char *view;
    const char *write; /* expected endpoints of the write slice */
    const char *read;  /* of the read slice */
    const char *type;
} slice_cases[] = {
        {"primary running, two standbys", THREE, "10.0.0.1@n0", "10.0.0.2@n1,10.0.0.3@n2", "IPv4"},
        {"primary not running",
         "demo-0|demo-0,n0,10.0.0.1,primary,failed,;"
         "demo-1,n1,10.0.0.2,standby,running,sync",
         "", "10.0.0.2@n1", "IPv4"},
        {"primary fenced",
         "demo-0|demo-0,n0,10.0.0.1,primary,fenced,;"
         "demo-1,n1,10.0.0.2,standby,running,sync",
         "", "10.0.0.2@n1", "IPv4"},
        {"named primary runs as standby",
         "demo-0|demo-0,n0,10.0.0.1,standby,running,;"
         "demo-1,n1,10.0.0.2,standby,running,",
         "", "10.0.0.1@n0,10.0.0.2@n1", "IPv4"},
        {"no primary", "|demo-0,n0,10.0.0.1,primary,running,;demo-1,n1,10.0.0.2,standby,stopped,",
         "", "", "IPv4"},
        {"two members claim primary: only the named one",
         "demo-1|demo-0,n0,10.0.0.1,primary,running,;demo-1,n1,10.0.0.2,primary,running,",
         "10.0.0.2@n1", "10.0.0.2@n1", "IPv4"},
        {"no running standby: read slice is the primary",
         "demo-0|demo-0,n0,10.0.0.1,primary,running,;demo-1,n1,10.0.0.2,standby,rebuilding,;"
         "demo-2,n2,10.0.0.3,standby,lost,",
         "10.0.0.1@n0", "10.0.0.1@n0", "IPv4"},
        {"single member", "demo-0|demo-0,n0,10.0.0.1,primary,running,", "10.0.0.1@n0",
         "10.0.0.1@n0", "IPv4"},
        {"IPv6", "demo-0|demo-0,n0,fd00::1,primary,running,;demo-1,n1,fd00::2,standby,running,",
         "fd00::1@n0", "fd00::2@n1", "IPv6"},
};

static void test_kpub_build_slices(void)
{
    struct kpub_cr c;
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    char got[512], type[16];

    cr_get(&c);
    for (size_t i = 0; i < sizeof(slice_cases) / sizeof(slice_cases[0]); i++) {
        cJSON *w, *r;

        view_make(slice_cases[i].view, v);
        w = kpub_build_slice(&c, v, false);
        r = kpub_build_slice(&c, v, true);
        slice_summary(w, got, sizeof(got), type, sizeof(type));
        if (!str_eq(got, slice_cases[i].write)) {
            printf("\n  %s: write slice %s, expected %s\n", slice_cases[i].name, got,
                   slice_cases[i].write);
        }
        CU_ASSERT_STRING_EQUAL(got, slice_cases[i].write);
        CU_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(w, "endpoints")) <= 1);
        if (got[0]) {
            CU_ASSERT_STRING_EQUAL(type, slice_cases[i].type);
        }
        slice_summary(r, got, sizeof(got), type, sizeof(type));
        if (!str_eq(got, slice_cases[i].read)) {
            printf("\n  %s: read slice %s, expected %s\n", slice_cases[i].name, got,
                   slice_cases[i].read);
        }
        CU_ASSERT_STRING_EQUAL(got, slice_cases[i].read);
        CU_ASSERT_TRUE(kpub_slice_is_current(w, w));
        cJSON_Delete(w);
        cJSON_Delete(r);
    }
    free(v);
}

static void test_kpub_build_slice_shape_and_compare(void)
{
    struct kpub_cr c;
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    cJSON *w, *w2, *patch;
    const cJSON *meta, *labels, *port;

    cr_get(&c);
    view_make(THREE, v);
    w = kpub_build_slice(&c, v, false);
    meta = cJSON_GetObjectItemCaseSensitive(w, "metadata");
    labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name")),
                           "og-demo-svc");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                   labels, "kubernetes.io/service-name")),
                           "og-demo-svc");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                   labels, "endpointslice.kubernetes.io/managed-by")),
                           "og-arbiter.opengauss.sig");
    port = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(w, "ports"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "port")->valueint, 5432);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(port, "name")),
                           "db");
    /* The primary moves: the slice differs, and the patch carries the new endpoints. */
    v->members[0].role[0] = '\0';
    (void) str_copy(v->members[0].role, sizeof(v->members[0].role), "standby");
    (void) str_copy(v->members[1].role, sizeof(v->members[1].role), "primary");
    (void) str_copy(v->primary, sizeof(v->primary), "demo-1");
    w2 = kpub_build_slice(&c, v, false);
    CU_ASSERT_FALSE(kpub_slice_is_current(w, w2));
    patch = kpub_build_slice_patch(w2);
    CU_ASSERT_TRUE(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(patch, "endpoints"),
                                 cJSON_GetObjectItemCaseSensitive(w2, "endpoints"), true));
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(patch, "addressType"));
    /* LSNs and sync states do not change a slice. */
    (void) str_copy(v->members[2].sync, sizeof(v->members[2].sync), "potential");
    cJSON_Delete(w);
    w = kpub_build_slice(&c, v, false);
    CU_ASSERT_TRUE(kpub_slice_is_current(w, w2));
    CU_ASSERT_FALSE(kpub_slice_is_current(NULL, w2));
    cJSON_Delete(patch);
    cJSON_Delete(w);
    cJSON_Delete(w2);
    free(v);
}

static void test_kpub_build_services(void)
{
    struct kpub_cr c;
    cJSON *w, *r, *patch;
    const cJSON *spec, *port, *ref;

    cr_get(&c);
    w = kpub_build_service(&c, false);
    r = kpub_build_service(&c, true);
    spec = cJSON_GetObjectItemCaseSensitive(w, "spec");
    port = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "ports"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "type")),
                           "NodePort");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(spec, "selector"));
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "nodePort")->valueint, 30002);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "targetPort")->valueint, 5432);
    port = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "spec"), "ports"),
            0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "nodePort")->valueint, 30001);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(r, "metadata"), "name")),
                           "og-demo-svc-read");
    ref = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "metadata"),
                                             "ownerReferences"),
            0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "uid")),
                           "u-1");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "kind")),
                           "OpenGaussCluster");
    CU_ASSERT_TRUE(kpub_service_is_current(w, &c, false));
    CU_ASSERT_FALSE(kpub_service_is_current(w, &c, true)); /* other nodePort */
    CU_ASSERT_TRUE(kpub_service_is_current(r, &c, true));
    /* Someone added a selector: not ours any more; the patch removes it. */
    cJSON_AddItemToObject((cJSON *) spec, "selector", parse("{\"app\":\"x\"}"));
    CU_ASSERT_FALSE(kpub_service_is_current(w, &c, false));
    patch = kpub_build_service_patch(&c, false);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(patch, "spec"), "selector")));
    cJSON_Delete(patch);
    cJSON_Delete(w);
    cJSON_Delete(r);
}

static const struct {
    const char *role;
    const char *state;
    const char *label;
} label_cases[] = {
        {"primary", "running", "primary"}, {"standby", "running", "standby"},
        {"primary", "fenced", NULL},       {"primary", "failed", NULL},
        {"primary", "stopped", NULL},      {"primary", "lost", NULL},
        {"primary", "restarting", NULL},   {"standby", "rebuilding", NULL},
        {"standby", "creating", NULL},     {"standby", "unknown", NULL},
        {"unknown", "running", NULL},      {"leader", "running", NULL},
};

static void test_kpub_build_labels(void)
{
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    char key[KPUB_LABEL_KEY_MAX];
    cJSON *patch;
    const cJSON *labels;

    for (size_t i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
        char spec[128];
        const char *got;

        (void) snprintf(spec, sizeof(spec), "m|m,n0,10.0.0.1,%s,%s,", label_cases[i].role,
                        label_cases[i].state);
        view_make(spec, v);
        got = kpub_label_value(v, "n0");
        if (!str_eq(got, label_cases[i].label) && (got || label_cases[i].label)) {
            printf("\n  %s/%s: label %s\n", label_cases[i].role, label_cases[i].state,
                   got ? got : "(none)");
            CU_FAIL("label");
        }
        CU_ASSERT_PTR_NULL(kpub_label_value(v, "n9")); /* another node */
    }
    /* A node hosting the primary and a standby of the same cluster: primary. */
    view_make("a|a,n0,10.0.0.1,standby,running,;b,n0,10.0.0.2,primary,running,", v);
    CU_ASSERT_STRING_EQUAL(kpub_label_value(v, "n0"), "primary");
    CU_ASSERT_PTR_NULL(kpub_label_value(v, ""));
    CU_ASSERT_EQUAL(kpub_label_key("ns1", "demo", key, sizeof(key)), 0);
    CU_ASSERT_STRING_EQUAL(key, "demo.ns1.opengauss.sig/role");
    CU_ASSERT_EQUAL(kpub_label_key("ns1", "demo", key, 8), -ENAMETOOLONG);
    patch = kpub_build_label_patch(key, NULL);
    labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(patch, "metadata"),
                                              "labels");
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(labels, key)));
    cJSON_Delete(patch);
    patch = kpub_build_label_patch(key, "standby");
    labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(patch, "metadata"),
                                              "labels");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key)),
                           "standby");
    cJSON_Delete(patch);
    free(v);
}

static const char *cond_field(const cJSON *st, const char *type, const char *field)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "conditions"))
    {
        if (str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type")), type)) {
            return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, field));
        }
    }
    return NULL;
}

static const char *str_field(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void test_kpub_build_status_fields_and_dedupe(void)
{
    struct kpub_cr c;
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    cJSON *st, *st2, *patch;
    const cJSON *sync, *pod;

    cr_get(&c);
    view_make(THREE, v);
    st = kpub_build_status(&c, v, NULL, NULL, NOW);
    CU_ASSERT_STRING_EQUAL(str_field(st, "state"), "ready");
    CU_ASSERT_STRING_EQUAL(str_field(st, "primary"), "demo-0");
    CU_ASSERT_STRING_EQUAL(str_field(st, "ready"), "3/3");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(st, "epoch")->valueint, 7);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(st, "observedGeneration")->valueint, 3);
    pod = cJSON_GetObjectItemCaseSensitive(st, "podstate");
    CU_ASSERT_STRING_EQUAL(str_field(pod, "demo-0"), "primary/running");
    CU_ASSERT_STRING_EQUAL(str_field(pod, "demo-2"), "standby/running");
    sync = cJSON_GetObjectItemCaseSensitive(st, "syncState");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(sync), 2);
    CU_ASSERT_STRING_EQUAL(str_field(cJSON_GetArrayItem(sync, 0), "name"), "demo-1");
    CU_ASSERT_STRING_EQUAL(str_field(cJSON_GetArrayItem(sync, 0), "state"), "sync");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Ready", "status"), "True");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Valid", "status"), "True");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Ready", "lastTransitionTime"), NOW);
    /* Built again an hour later from the last written one: equal, times kept. */
    st2 = kpub_build_status(&c, v, NULL, st, NOW2);
    CU_ASSERT_TRUE(kpub_status_equal(st, st2));
    cJSON_Delete(st2);
    /* A standby stops: Ready goes False with a new transition time; Valid keeps its time. */
    (void) str_copy(v->members[2].state, sizeof(v->members[2].state), "stopped");
    (void) str_copy(v->state, sizeof(v->state), "recovering");
    st2 = kpub_build_status(&c, v, NULL, st, NOW2);
    CU_ASSERT_FALSE(kpub_status_equal(st, st2));
    CU_ASSERT_STRING_EQUAL(str_field(st2, "ready"), "2/3");
    CU_ASSERT_STRING_EQUAL(cond_field(st2, "Ready", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field(st2, "Ready", "reason"), "Recovering");
    CU_ASSERT_STRING_EQUAL(cond_field(st2, "Ready", "lastTransitionTime"), NOW2);
    CU_ASSERT_STRING_EQUAL(cond_field(st2, "Valid", "lastTransitionTime"), NOW);
    cJSON_Delete(st2);
    /* A member leaves: the patch nulls its podstate key. */
    v->n_members = 2;
    st2 = kpub_build_status(&c, v, NULL, st, NOW2);
    patch = kpub_build_status_patch(st2, st);
    pod = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(patch, "status"),
                                           "podstate");
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(pod, "demo-2")));
    CU_ASSERT_STRING_EQUAL(str_field(pod, "demo-0"), "primary/running");
    CU_ASSERT_FALSE(kpub_status_equal(st, NULL));
    CU_ASSERT_TRUE(kpub_status_equal(NULL, NULL));
    cJSON_Delete(patch);
    cJSON_Delete(st2);
    cJSON_Delete(st);
    free(v);
}

static void test_kpub_build_status_no_view_and_invalid(void)
{
    struct kpub_cr c;
    struct kpub_view *v = xcalloc(1, sizeof(*v));
    struct errbuf eb = {{0}};
    cJSON *st;

    cr_get(&c);
    CU_ASSERT_EQUAL(kpub_view_parse(NULL, v, &eb), 0);
    CU_ASSERT_FALSE(v->present);
    st = kpub_build_status(&c, v, NULL, NULL, NOW);
    CU_ASSERT_STRING_EQUAL(str_field(st, "state"), "creating");
    CU_ASSERT_STRING_EQUAL(str_field(st, "ready"), "0/0");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Ready", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Ready", "reason"), "NotYetDecided");
    cJSON_Delete(st);
    st = kpub_build_status(&c, v, "spec.iplist[1].nodename: no such node", NULL, NOW);
    CU_ASSERT_STRING_EQUAL(str_field(st, "state"), "invalid");
    CU_ASSERT_STRING_EQUAL(str_field(st, "message"), "spec.iplist[1].nodename: no such node");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Valid", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field(st, "Valid", "reason"), "InvalidSpec");
    cJSON_Delete(st);
    free(v);
}

static void test_kpub_build_parse(void)
{
    static const char view[] =
            "{\"namespace\":\"ns1\",\"name\":\"demo\",\"state\":\"ready\",\"epoch\":4,"
            "\"primary\":\"demo-0\",\"message\":\"ok\",\"members\":["
            "{\"name\":\"demo-0\",\"node\":\"n0\",\"ip\":\"10.0.0.1\",\"port\":5432,"
            "\"role\":\"primary\",\"state\":\"running\",\"pid\":1,\"lsn\":\"0/3000000\","
            "\"lagbytes\":null,\"sync\":null},"
            "{\"name\":\"demo-1\",\"node\":\"n1\",\"ip\":\"10.0.0.2\",\"port\":5432,"
            "\"role\":\"standby\",\"state\":\"running\",\"pid\":2,\"lsn\":\"0/3000000\","
            "\"lagbytes\":0,\"sync\":\"sync\"}]}";
    struct kpub_view *a = xcalloc(1, sizeof(*a));
    struct kpub_view *b = xcalloc(1, sizeof(*b));
    struct errbuf eb = {{0}};
    struct kpub_cr c;
    cJSON *j = parse(view);
    cJSON *bad = parse("{\"metadata\":{\"name\":\"x\"}}");

    CU_ASSERT_EQUAL(kpub_view_parse(j, a, &eb), 0);
    CU_ASSERT_EQUAL(a->n_members, 2);
    CU_ASSERT_EQUAL(a->epoch, 4);
    CU_ASSERT_STRING_EQUAL(a->members[1].sync, "sync");
    CU_ASSERT_STRING_EQUAL(a->members[0].sync, "");
    /* Only the LSN changes: the parsed picture is byte for byte the same. */
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "members"), 0), "lsn",
                              cJSON_CreateString("0/4000000"));
    CU_ASSERT_EQUAL(kpub_view_parse(j, b, &eb), 0);
    CU_ASSERT_TRUE(kpub_view_equal(a, b));
    (void) str_copy(b->members[1].sync, sizeof(b->members[1].sync), "potential");
    CU_ASSERT_FALSE(kpub_view_equal(a, b));
    b->members[1].sync[0] = '\0';
    b->n_members = 1;
    CU_ASSERT_FALSE(kpub_view_equal(a, b));
    CU_ASSERT_EQUAL(kpub_cr_parse(bad, &c, &eb), -EINVAL);
    cr_get(&c);
    CU_ASSERT_STRING_EQUAL(c.uid, "u-1");
    CU_ASSERT_EQUAL(c.generation, 3);
    CU_ASSERT_EQUAL(c.writeport, 30002);
    {
        struct kpub_cr d = c;

        CU_ASSERT_TRUE(kpub_cr_equal(&c, &d));
        d.generation++;
        CU_ASSERT_FALSE(kpub_cr_equal(&c, &d));
    }
    cJSON_Delete(bad);
    cJSON_Delete(j);
    free(a);
    free(b);
}

static void test_kpub_build_event(void)
{
    struct kpub_cr c;
    struct kpub_event_spec ev = {.type = "Warning",
                                 .reason = "Failover",
                                 .message = "demo-0 lost; promoted demo-1",
                                 .identity = "arbiter-0",
                                 .id = 0xabc,
                                 .now = NOW,
                                 .now_micro = "2026-11-25T00:00:00.000000Z"};
    cJSON *e;
    const cJSON *io;

    cr_get(&c);
    e = kpub_build_event(&c, &ev);
    CU_ASSERT_STRING_EQUAL(str_field(cJSON_GetObjectItemCaseSensitive(e, "metadata"), "name"),
                           "demo.0000000000000abc");
    CU_ASSERT_STRING_EQUAL(str_field(cJSON_GetObjectItemCaseSensitive(e, "metadata"), "namespace"),
                           "ns1");
    io = cJSON_GetObjectItemCaseSensitive(e, "involvedObject");
    CU_ASSERT_STRING_EQUAL(str_field(io, "kind"), "OpenGaussCluster");
    CU_ASSERT_STRING_EQUAL(str_field(io, "uid"), "u-1");
    CU_ASSERT_STRING_EQUAL(str_field(e, "reportingInstance"), "arbiter-0");
    CU_ASSERT_STRING_EQUAL(str_field(e, "type"), "Warning");
    CU_ASSERT_STRING_EQUAL(str_field(cJSON_GetObjectItemCaseSensitive(e, "source"), "component"),
                           "og-arbiter");
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(e, "count")->valueint, 1);
    cJSON_Delete(e);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"slices: table", test_kpub_build_slices},
            {"slice shape and comparison", test_kpub_build_slice_shape_and_compare},
            {"services", test_kpub_build_services},
            {"labels for every state", test_kpub_build_labels},
            {"status fields and dedupe", test_kpub_build_status_fields_and_dedupe},
            {"status without view, invalid", test_kpub_build_status_no_view_and_invalid},
            {"parse cr and view", test_kpub_build_parse},
            {"event", test_kpub_build_event},
            CU_TEST_INFO_NULL,
    };
    return cu_run("kpub_build", tests);
}

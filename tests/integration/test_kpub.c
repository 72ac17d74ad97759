/*
 * tests/integration/test_kpub.c
 *
 * arbiter/kpub against the Kubernetes API-server emulator (tests/support/kube_emu), without
 * an arbiter process: the CRD is applied with kubectl, agent Pods and OpenGaussCluster
 * objects are created directly, and kpub is driven with views whose member addresses are in
 * 10.0.0.0/8 (the emulator, like a real API server, refuses loopback EndpointSlice
 * addresses; nothing connects to them). Cases: publish (Services, both slices, labels,
 * status, kubectl get ogc), primary change, fenced primary, invalid spec (status, condition,
 * Warning Event, no Services), inactive then active, the API server killed during a
 * failover and restarted on the same port (kpub calls never block; objects converge;
 * kpub_stop is quick with the server away), and removal (everything gone, the resource
 * untouched), a foreign Service of our name repaired. Skipped loudly when python3, the emulator or
 * kubectl is missing.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/kpub.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/kube_emu.h"
#include "tests/support/testutil.h"

#define NS       "ns1"
#define AGENT_NS "og-system"
#define SELECTOR "app.kubernetes.io/name=og-agent"
#define WAIT_MS  15000
#define CRD_YAML OG_SOURCE_DIR "/deploy/crd.yaml"
#define N_NODES  4

static struct kube_emu emu;
static struct kube_client *kc; /* the test's own client */
static bool ready;             /* emulator up, CRD applied, pods created */

/* ---- setup ---- */

static int create_json(const char *collection, const char *text, cJSON **ret)
{
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;
    int r = json_parse(text, strlen(text), 0, &obj, &eb);

    if (r == 0) {
        r = kube_create(kc, collection, obj, ret, NULL, &eb);
    }
    if (r < 0 && r != -EEXIST) {
        printf("\n  create %s: %s\n", collection, eb.msg);
    }
    cJSON_Delete(obj);
    return r == -EEXIST ? 0 : r;
}

static bool crd_established(void *arg)
{
    (void) arg;
    return kube_get(kc, "/apis/opengauss.sig/v1/namespaces/" NS "/opengaussclusters", NULL, NULL,
                    NULL) == 0;
}

static int suite_cleanup(void);

/* The test's client, the CRD (kubectl apply), namespaces and agent pods. */
static int setup_objects(struct errbuf *eb)
{
    static const char *const apply[] = {"apply", "-f", CRD_YAML, NULL};
    char *out = NULL;
    int r;

    kc = kube_emu_client(&emu, NULL, eb);
    r = kc ? kube_emu_kubectl(&emu, apply, NULL, 60000, &out, eb) : -EIO;
    free(out);
    if (r != 0) {
        return r < 0 ? r : -EIO;
    }
    r = create_json("/api/v1/namespaces", "{\"metadata\":{\"name\":\"" NS "\"}}", NULL);
    r = r ? r
          : create_json("/api/v1/namespaces", "{\"metadata\":{\"name\":\"" AGENT_NS "\"}}", NULL);
    for (int i = 0; i < N_NODES && r == 0; i++) {
        char *pod = xasprintf(
                "{\"metadata\":{\"name\":\"og-agent-n%d\",\"labels\":{"
                "\"app.kubernetes.io/"
                "name\":\"og-agent\"}},\"spec\":{\"nodeName\":\"n%d\",\"containers\":[{\"name\":"
                "\"agent\",\"image\":\"og-agent:test\"}]}}",
                i, i);

        r = create_json("/api/v1/namespaces/" AGENT_NS "/pods", pod, NULL);
        free(pod);
    }
    /* A pod that is not an agent: never labelled. */
    r = r ? r
          : create_json("/api/v1/namespaces/" AGENT_NS "/pods",
                        "{\"metadata\":{\"name\":\"other\",\"labels\":{\"app\":\"x\"}},"
                        "\"spec\":{\"nodeName\":\"n0\",\"containers\":[{\"name\":\"c\","
                        "\"image\":\"x\"}]}}",
                        NULL);
    if (r == 0 && !tu_wait_until(crd_established, NULL, 10000, 50)) {
        errbuf_set(eb, "the CRD's resource is not served");
        r = -ETIMEDOUT;
    }
    return r;
}

static int suite_init(void)
{
    struct errbuf eb = {{0}};
    int r;

    (void) log_setup("test_kpub", "warn", true);
    if (!kube_emu_present() || !kube_emu_kubectl_present()) {
        return 0; /* each test passes with a SKIPPED note */
    }
    r = kube_emu_start(&emu, "kpub", "kpub-token", 0, NULL, &eb);
    if (r < 0) {
        printf("\n  emulator: %s\n", eb.msg);
        return -1;
    }
    r = setup_objects(&eb);
    if (r < 0) {
        printf("\n  setup: %d %s\n", r, eb.msg);
        (void) suite_cleanup(); /* CUnit does not call it when init fails */
        return -1;
    }
    ready = true;
    return 0;
}

static int suite_cleanup(void)
{
    kube_client_free(kc);
    kc = NULL;
    return kube_emu_stop(&emu) < 0 ? -1 : 0;
}

static bool skip(void)
{
    if (!ready) {
        CU_PASS("SKIPPED: emulator or kubectl missing");
        return true;
    }
    return false;
}

/* ---- the objects ---- */

static cJSON *cr_create(const char *name, unsigned readport, unsigned writeport)
{
    char *text = xasprintf("{\"apiVersion\":\"opengauss.sig/v1\",\"kind\":\"OpenGaussCluster\","
                           "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"readport\":%u,"
                           "\"writeport\":%u,\"dbport\":5432,\"iplist\":["
                           "{\"ip\":\"10.0.0.1\",\"nodename\":\"n0\"},"
                           "{\"ip\":\"10.0.0.2\",\"nodename\":\"n1\"},"
                           "{\"ip\":\"10.0.0.3\",\"nodename\":\"n2\"}]}}",
                           name, readport, writeport);
    cJSON *cr = NULL;

    CU_ASSERT_EQUAL(
            create_json("/apis/opengauss.sig/v1/namespaces/" NS "/opengaussclusters", text, &cr),
            0);
    free(text);
    return cr;
}

/* A view from "state|primary|epoch|name,node,ip,role,state,sync;..." */
static cJSON *view_make(const char *cluster, const char *spec)
{
    char *text = xstrdup(spec);
    char *save = NULL;
    char *f[3];
    char *p = text;
    cJSON *v = json_new_object();
    cJSON *members;
    uint32_t epoch = 0;

    for (int i = 0; i < 3; i++) {
        f[i] = p;
        p = strchr(p, '|');
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (!p) {
            free(text); /* not reached: the assertion above ends the test */
            return v;
        }
        *p++ = '\0';
    }
    (void) str_to_u32(f[2], 0, 1000, &epoch);
    json_add_str(v, "namespace", NS);
    json_add_str(v, "name", cluster);
    json_add_str(v, "state", f[0]);
    if (f[1][0]) {
        json_add_str(v, "primary", f[1]);
    } else {
        json_add_null(v, "primary");
    }
    cJSON_AddNumberToObject(v, "epoch", epoch);
    json_add_str(v, "message", "test");
    members = json_add_array(v, "members");
    for (char *m = strtok_r(p, ";", &save); m; m = strtok_r(NULL, ";", &save)) {
        cJSON *j = json_add_object(members, NULL);
        char *x[6] = {0};
        char *q = m;

        for (int i = 0; i < 6 && q; i++) {
            x[i] = q;
            q = strchr(q, ',');
            if (q) {
                *q++ = '\0';
            }
        }
        json_add_str(j, "name", x[0]);
        json_add_str(j, "node", x[1]);
        json_add_str(j, "ip", x[2]);
        cJSON_AddNumberToObject(j, "port", 5432);
        json_add_str(j, "role", x[3]);
        json_add_str(j, "state", x[4]);
        cJSON_AddNumberToObject(j, "pid", 100);
        json_add_str(j, "lsn", "0/3000000");
        if (x[5] && x[5][0]) {
            json_add_str(j, "sync", x[5]);
        } else {
            json_add_null(j, "sync");
        }
    }
    free(text);
    return v;
}

static cJSON *get(const struct kube_resource *res, const char *ns, const char *name)
{
    char path[KUBE_PATH_MAX];
    cJSON *obj = NULL;

    if (kube_path(path, sizeof(path), res, ns, name, NULL) < 0 ||
        kube_get(kc, path, &obj, NULL, NULL) < 0) {
        obj = NULL;
    }
    return obj;
}

/* "ip,ip" of the slice's endpoints, "" for none, "-" when the slice does not exist. */
static void slice_ips(const char *slice, char *buf, size_t size)
{
    cJSON *s = get(&kube_res_endpointslices, NS, slice);
    const cJSON *ep;
    size_t used = 0;

    (void) snprintf(buf, size, "%s", s ? "" : "-");
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(s, "endpoints"))
    {
        const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ep, "addresses"), 0);
        int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
                         cJSON_GetStringValue(a) ? cJSON_GetStringValue(a) : "?");

        used += n > 0 ? (size_t) n : 0;
        if (used >= size) {
            break;
        }
    }
    cJSON_Delete(s);
}

/* The pod's value of label key, "" when absent, "-" when the pod cannot be read. */
static void pod_label(const char *pod, const char *key, char *buf, size_t size)
{
    cJSON *p = get(&kube_res_pods, AGENT_NS, pod);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(p, "metadata"), "labels");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));

    (void) snprintf(buf, size, "%s", p ? (v ? v : "") : "-");
    cJSON_Delete(p);
}

/* status.<field> of the cluster (strings only), "" when absent. */
static void status_field(const char *cluster, const char *field, char *buf, size_t size)
{
    cJSON *cr = get(&kube_res_opengaussclusters, NS, cluster);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(cr, "status");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, field));

    (void) snprintf(buf, size, "%s", v ? v : "");
    cJSON_Delete(cr);
}

/* What to wait for: kind of object, its name, an extra key, the expected text. */
struct expect {
    char kind; /* 's' slice ips, 'l' pod label, 't' status field */
    const char *name;
    const char *key;
    const char *want;
    char got[256];
};

static bool expect_met(void *arg)
{
    struct expect *x = arg;

    switch (x->kind) {
    case 's':
        slice_ips(x->name, x->got, sizeof(x->got));
        break;
    case 'l':
        pod_label(x->name, x->key, x->got, sizeof(x->got));
        break;
    default:
        status_field(x->name, x->key, x->got, sizeof(x->got));
        break;
    }
    return str_eq(x->got, x->want);
}

/* Waits until the object shows want; fails the test (with what it saw) otherwise. */
static bool wait_for(char kind, const char *name, const char *key, const char *want)
{
    struct expect x = {.kind = kind, .name = name, .key = key, .want = want};
    bool ok = tu_wait_until(expect_met, &x, WAIT_MS, 50);

    if (!ok) {
        printf("\n  %c %s %s: got \"%s\", expected \"%s\"\n", kind, name, key ? key : "", x.got,
               want);
    }
    CU_ASSERT_TRUE(ok);
    return ok;
}

static struct kpub *kpub_new(bool active)
{
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kpub_options opt = {.agent_namespace = AGENT_NS,
                               .agent_selector = SELECTOR,
                               .identity = "test-arbiter",
                               .retry_base_ms = 50,
                               .retry_cap_ms = 400};
    struct errbuf eb = {{0}};
    struct kpub *p = NULL;

    if (kube_emu_config(&emu, NULL, cfg, &eb) == 0) {
        p = kpub_start(cfg, &opt, &eb);
        kube_config_done(cfg);
    }
    free(cfg);
    if (!p) {
        printf("\n  kpub_start: %s\n", eb.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    kpub_set_active(p, active);
    return p;
}

static bool exists(const struct kube_resource *res, const char *name)
{
    cJSON *o = get(res, NS, name);
    bool r = o != NULL;

    cJSON_Delete(o);
    return r;
}

#define SVC_PATH   (&kube_res_services)
#define SLICE_PATH (&kube_res_endpointslices)

/* ---- tests ---- */

#define PUB_VIEW                                    \
    "ready|p-0|1|p-0,n0,10.0.1.1,primary,running,;" \
    "p-1,n1,10.0.1.2,standby,running,sync;p-2,n2,10.0.1.3,standby,running,async"

static void test_kpub_publish_failover_fence(void)
{
    struct kpub *p;
    cJSON *cr, *v;
    cJSON *svc;
    const cJSON *port;
    static const char *const get_ogc[] = {"get", "ogc", "-n", NS, "pub", NULL};
    struct errbuf eb = {{0}};
    char *out = NULL;
    const char *key = "pub." NS ".opengauss.sig/role";

    if (skip()) {
        return;
    }
    p = kpub_new(true);
    cr = cr_create("pub", 30101, 30102);
    v = view_make("pub", PUB_VIEW);
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-pub-svc", NULL, "10.0.1.1");
    wait_for('s', "og-pub-svc-read", NULL, "10.0.1.2,10.0.1.3");
    wait_for('l', "og-agent-n0", key, "primary");
    wait_for('l', "og-agent-n1", key, "standby");
    wait_for('l', "og-agent-n2", key, "standby");
    wait_for('l', "og-agent-n3", key, "");
    wait_for('l', "other", key, "");
    wait_for('t', "pub", "state", "ready");
    wait_for('t', "pub", "primary", "p-0");
    wait_for('t', "pub", "ready", "3/3");
    svc = get(SVC_PATH, NS, "og-pub-svc");
    port = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(svc, "spec"), "ports"),
                              0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "nodePort")->valueint, 30102);
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(svc, "spec"), "selector"));
    cJSON_Delete(svc);
    svc = get(SVC_PATH, NS, "og-pub-svc-read");
    port = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(svc, "spec"), "ports"),
                              0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(port, "nodePort")->valueint, 30101);
    cJSON_Delete(svc);
    /* kubectl get ogc shows State and Primary from the status. */
    CU_ASSERT_EQUAL(kube_emu_kubectl(&emu, get_ogc, NULL, 30000, &out, &eb), 0);
    CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "ready") : NULL);
    CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "p-0") : NULL);
    CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "3/3") : NULL);
    free(out);

    /* The primary is fenced: the write slice empties and its label goes, at once. */
    v = view_make("pub", "failed|p-0|1|p-0,n0,10.0.1.1,primary,fenced,;"
                         "p-1,n1,10.0.1.2,standby,running,sync;"
                         "p-2,n2,10.0.1.3,standby,running,async");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-pub-svc", NULL, "");
    wait_for('l', "og-agent-n0", key, "");
    wait_for('t', "pub", "state", "failed");

    /* p-1 is promoted: the write slice names it, the labels follow. */
    v = view_make("pub", "recovering|p-1|2|p-0,n0,10.0.1.1,primary,fenced,;"
                         "p-1,n1,10.0.1.2,primary,running,;"
                         "p-2,n2,10.0.1.3,standby,running,sync");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-pub-svc", NULL, "10.0.1.2");
    wait_for('s', "og-pub-svc-read", NULL, "10.0.1.3");
    wait_for('l', "og-agent-n1", key, "primary");
    wait_for('l', "og-agent-n0", key, "");
    wait_for('t', "pub", "primary", "p-1");
    wait_for('t', "pub", "state", "recovering");
    kpub_stop(p);
    cJSON_Delete(cr);
}

static bool event_seen(void *arg)
{
    cJSON *list = NULL;
    const cJSON *ev;
    bool found = false;

    (void) arg;
    if (kube_list(kc, "/api/v1/namespaces/" NS "/events", NULL, &list, NULL, NULL) < 0) {
        return false;
    }
    cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        const cJSON *io = cJSON_GetObjectItemCaseSensitive(ev, "involvedObject");

        found = found ||
                (str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(io, "name")),
                        "bad") &&
                 str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "reason")),
                        "InvalidSpec") &&
                 str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type")),
                        "Warning"));
    }
    cJSON_Delete(list);
    return found;
}

static bool valid_false(void *arg)
{
    cJSON *cr = get(&kube_res_opengaussclusters, NS, "bad");
    const cJSON *c;
    bool r = false;

    (void) arg;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(cr, "status"), "conditions"))
    {
        r = r ||
            (str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type")), "Valid") &&
             str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status")), "False") &&
             str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "reason")),
                    "InvalidSpec"));
    }
    cJSON_Delete(cr);
    return r;
}

static void test_kpub_invalid(void)
{
    struct kpub *p;
    cJSON *cr;

    if (skip()) {
        return;
    }
    p = kpub_new(true);
    cr = cr_create("bad", 30201, 30202);
    kpub_invalid(p, cr, "spec.iplist[2].nodename: no such node n9");
    wait_for('t', "bad", "state", "invalid");
    wait_for('t', "bad", "message", "spec.iplist[2].nodename: no such node n9");
    CU_ASSERT_TRUE(tu_wait_until(valid_false, NULL, WAIT_MS, 50));
    CU_ASSERT_TRUE(tu_wait_until(event_seen, NULL, WAIT_MS, 50));
    CU_ASSERT_FALSE(exists(SVC_PATH, "og-bad-svc"));
    CU_ASSERT_FALSE(exists(SVC_PATH, "og-bad-svc-read"));
    CU_ASSERT_FALSE(exists(SLICE_PATH, "og-bad-svc"));
    kpub_stop(p);
    cJSON_Delete(cr);
}

static void test_kpub_inactive_then_active(void)
{
    struct kpub *p;
    struct kpub_stats st;
    cJSON *cr, *v;
    char state[64];

    if (skip()) {
        return;
    }
    p = kpub_new(false);
    cr = cr_create("idle", 30301, 30302);
    v = view_make("idle", "ready|i-0|1|i-0,n3,10.0.3.1,primary,running,");
    kpub_cluster(p, cr, v);
    kpub_event(p, cr, "Normal", "Created", "queued while inactive");
    cJSON_Delete(v);
    tu_sleep_ms(1000);
    CU_ASSERT_FALSE(exists(SVC_PATH, "og-idle-svc"));
    CU_ASSERT_FALSE(exists(SLICE_PATH, "og-idle-svc"));
    status_field("idle", "state", state, sizeof(state));
    CU_ASSERT_STRING_EQUAL(state, "");
    kpub_stats(p, &st);
    CU_ASSERT_EQUAL(st.writes, 0);
    CU_ASSERT(st.pending >= 1);
    kpub_set_active(p, true);
    wait_for('s', "og-idle-svc", NULL, "10.0.3.1");
    wait_for('s', "og-idle-svc-read", NULL, "10.0.3.1"); /* no standby: the primary */
    wait_for('l', "og-agent-n3", "idle." NS ".opengauss.sig/role", "primary");
    wait_for('t', "idle", "state", "ready");
    CU_ASSERT_TRUE(exists(SVC_PATH, "og-idle-svc"));
    /* Deactivated: later pictures are not written. */
    kpub_set_active(p, false);
    v = view_make("idle", "failed|i-0|1|i-0,n3,10.0.3.1,primary,failed,");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    tu_sleep_ms(700);
    slice_ips("og-idle-svc", state, sizeof(state));
    CU_ASSERT_STRING_EQUAL(state, "10.0.3.1");
    kpub_stop(p);
    cJSON_Delete(cr);
}

static void test_kpub_server_down_during_failover(void)
{
    struct kpub *p;
    struct errbuf eb = {{0}};
    cJSON *cr, *v;
    uint64_t t0, worst = 0;
    const char *key = "down." NS ".opengauss.sig/role";

    if (skip()) {
        return;
    }
    p = kpub_new(true);
    cr = cr_create("down", 30401, 30402);
    v = view_make("down", "ready|d-0|1|d-0,n0,10.0.4.1,primary,running,;"
                          "d-1,n1,10.0.4.2,standby,running,sync");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-down-svc", NULL, "10.0.4.1");
    wait_for('l', "og-agent-n1", key, "standby");
    wait_for('t', "down", "primary", "d-0");
    /* The API server dies; the failover goes on, and kpub never makes a caller wait. */
    CU_ASSERT_EQUAL(kube_emu_kill(&emu), 0);
    for (int i = 0; i < 20; i++) {
        v = view_make("down", i % 2 == 0 ? "failed|d-0|1|d-0,n0,10.0.4.1,primary,lost,;"
                                           "d-1,n1,10.0.4.2,standby,running,sync"
                                         : "recovering|d-1|2|d-0,n0,10.0.4.1,primary,lost,;"
                                           "d-1,n1,10.0.4.2,primary,running,");
        t0 = tu_now_ms();
        kpub_cluster(p, cr, v);
        kpub_event(p, cr, "Warning", "Failover", "d-0 lost; promoted d-1");
        worst = tu_now_ms() - t0 > worst ? tu_now_ms() - t0 : worst;
        cJSON_Delete(v);
        tu_sleep_ms(50);
    }
    CU_ASSERT(worst < 200); /* a copy and a signal: bounded far above any noise */
    tu_sleep_ms(1000);
    if (kube_emu_restart(&emu, NULL, &eb) < 0) {
        printf("\n  restart: %s\n", eb.msg);
        CU_FAIL_FATAL("emulator restart");
    }
    wait_for('s', "og-down-svc", NULL, "10.0.4.2");
    wait_for('l', "og-agent-n1", key, "primary");
    wait_for('l', "og-agent-n0", key, "");
    wait_for('t', "down", "primary", "d-1");
    wait_for('t', "down", "state", "recovering");
    /* With the server away again, kpub_stop still returns promptly. */
    CU_ASSERT_EQUAL(kube_emu_freeze(&emu, true), 0);
    v = view_make("down", "ready|d-1|2|d-0,n0,10.0.4.1,standby,running,;"
                          "d-1,n1,10.0.4.2,primary,running,");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    tu_sleep_ms(300);
    t0 = tu_now_ms();
    kpub_stop(p);
    CU_ASSERT(tu_now_ms() - t0 < 5000);
    CU_ASSERT_EQUAL(kube_emu_freeze(&emu, false), 0);
    cJSON_Delete(cr);
}

static void test_kpub_remove(void)
{
    struct kpub *p;
    cJSON *cr, *v;
    const char *key = "gone." NS ".opengauss.sig/role";
    char buf[64];

    if (skip()) {
        return;
    }
    p = kpub_new(true);
    cr = cr_create("gone", 30501, 30502);
    v = view_make("gone", "ready|g-0|1|g-0,n2,10.0.5.1,primary,running,;"
                          "g-1,n3,10.0.5.2,standby,running,sync");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-gone-svc", NULL, "10.0.5.1");
    wait_for('l', "og-agent-n3", key, "standby");
    wait_for('t', "gone", "state", "ready");
    CU_ASSERT_TRUE(exists(SVC_PATH, "og-gone-svc-read"));
    CU_ASSERT_FALSE(kpub_removed(p, NS, "gone"));
    kpub_remove(p, NS, "gone");
    for (uint64_t end = tu_now_ms() + WAIT_MS; tu_now_ms() < end && !kpub_removed(p, NS, "gone");) {
        tu_sleep_ms(50);
    }
    CU_ASSERT_TRUE(kpub_removed(p, NS, "gone"));
    CU_ASSERT_FALSE(exists(SVC_PATH, "og-gone-svc"));
    CU_ASSERT_FALSE(exists(SVC_PATH, "og-gone-svc-read"));
    CU_ASSERT_FALSE(exists(SLICE_PATH, "og-gone-svc"));
    CU_ASSERT_FALSE(exists(SLICE_PATH, "og-gone-svc-read"));
    pod_label("og-agent-n2", key, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "");
    pod_label("og-agent-n3", key, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "");
    /* The resource itself is untouched (its status stays as it was). */
    status_field("gone", "state", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "ready");
    kpub_stop(p);
    cJSON_Delete(cr);
}

/* A nodePort of the Service, or 0; "selector" set when it has one. */
static unsigned svc_node_port(const char *name, bool *ret_selector)
{
    cJSON *svc = get(SVC_PATH, NS, name);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(svc, "spec");
    const cJSON *port = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "ports"), 0);
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(port, "nodePort");
    unsigned r = cJSON_IsNumber(np) ? (unsigned) np->valueint : 0;

    *ret_selector = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(spec, "selector")) > 0;
    cJSON_Delete(svc);
    return r;
}

static bool svc_repaired(void *arg)
{
    bool selector = true;

    (void) arg;
    return svc_node_port("og-drift-svc", &selector) == 30602 && !selector;
}

static void test_kpub_service_drift_repaired(void)
{
    struct kpub *p;
    cJSON *cr, *v;

    if (skip()) {
        return;
    }
    /* Someone else's Service of that name: a selector and another nodePort. */
    CU_ASSERT_EQUAL(create_json("/api/v1/namespaces/" NS "/services",
                                "{\"metadata\":{\"name\":\"og-drift-svc\"},\"spec\":{"
                                "\"type\":\"NodePort\",\"selector\":{\"app\":\"x\"},"
                                "\"ports\":[{\"name\":\"db\",\"port\":5432,"
                                "\"nodePort\":30699}]}}",
                                NULL),
                    0);
    p = kpub_new(true);
    cr = cr_create("drift", 30601, 30602);
    v = view_make("drift", "ready|r-0|1|r-0,n1,10.0.6.1,primary,running,");
    kpub_cluster(p, cr, v);
    cJSON_Delete(v);
    wait_for('s', "og-drift-svc", NULL, "10.0.6.1");
    CU_ASSERT_TRUE(tu_wait_until(svc_repaired, NULL, WAIT_MS, 50));
    kpub_stop(p);
    cJSON_Delete(cr);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"publish, fence, failover", test_kpub_publish_failover_fence},
            {"invalid spec", test_kpub_invalid},
            {"inactive, then active", test_kpub_inactive_then_active},
            {"remove", test_kpub_remove},
            {"a Service that is not ours is repaired", test_kpub_service_drift_repaired},
            {"API server down during a failover", test_kpub_server_down_during_failover},
            CU_TEST_INFO_NULL,
    };
    int rc;

    (void) signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        return 2;
    }
    rc = cu_run_with("kpub", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

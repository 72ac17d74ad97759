/*
 * tests/integration/test_kube_controller.c
 *
 * og-arbiter in Kubernetes mode (issue 5): the real binary with --kube <kubeconfig> against
 * the API-server emulator (tests/support/kube_emu.h) holding deploy/crd.yaml, Nodes
 * node1..3, the agent Pods og-agent-node1..3 (app.kubernetes.io/name=og-agent) and Pods for
 * the two arbiter replicas; three scripted agents (tests/support/fake_agent.h) play the
 * databases, with addresses 10.0.0.1..3 (the emulator, like a real API server, refuses
 * loopback addresses in EndpointSlices; nothing connects to them).
 *
 * The cases run in order on one cluster default/demo: kubectl apply (finalizer, orders,
 * Services, EndpointSlices, status, labels); failover of a failed primary (write slice,
 * Events Failover and RestartLimit); invalid resources (duplicate address, unknown node);
 * restart of the arbiter and a forced re-list (410) without creating anything twice; the
 * API server down during a failover; a second arbiter that answers 503; kill -9 of the
 * Lease holder and the takeover at the agents' epoch; deletion through the finalizer.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/kube.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/fake_agent.h"
#include "tests/support/kube_emu.h"
#include "tests/support/sim_fleet.h"
#include "tests/support/testutil.h"

#define N_AGENTS 3
#define LSN0     0x3000000ULL
#define TOKEN    "kctl-test-token"
#define WAIT_MS  20000 /* generous bound for anything to converge */
#define LEASE    "20s" /* long enough to ride out the 10 s API outage */
#define LEASE_MS 20000

static char tmpdir[512];
static struct kube_emu emu;
static bool emu_ok;
static bool applied; /* the first case went through: the others build on it */
static struct kube_client *kc;
static struct httpc *client;
static struct sim_fleet fleet; /* the agents and their simulated databases */

/* The two arbiter replicas. */
struct arb {
    const char *identity;
    pid_t pid;
    char listen[64];
    char url[128];
    char db[600];
    int runs;
};
static struct arb arbs[2] = {{.identity = "arb-a", .pid = -1}, {.identity = "arb-b", .pid = -1}};

static const char *const member_names[N_AGENTS] = {"demo-0", "demo-1", "demo-2"};
static const char *const member_ips[N_AGENTS] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};

static const char demo_yaml[] = "apiVersion: opengauss.sig/v1\n"
                                "kind: OpenGaussCluster\n"
                                "metadata:\n"
                                "  name: demo\n"
                                "  namespace: default\n"
                                "spec:\n"
                                "  readport: 30001\n"
                                "  writeport: 30002\n"
                                "  storage: 1Gi\n"
                                "  iplist:\n"
                                "    - {ip: 10.0.0.1, nodename: node1}\n"
                                "    - {ip: 10.0.0.2, nodename: node2}\n"
                                "    - {ip: 10.0.0.3, nodename: node3}\n"
                                "  ha:\n"
                                "    losttimeout: 3\n";

/* ---- the simulated databases (tests/support/sim_fleet.h) ------------------------------------ */

/* The member every agent's orders name primary (at most one), or -1. */
static int ordered_primary(void)
{
    int primary = -1, n = 0;

    for (int i = 0; i < N_AGENTS; i++) {
        const struct proto_instance_desired *o = sim_fleet_order(&fleet, i);
        if (o && o->role == PROTO_ROLE_PRIMARY) {
            primary = i;
            n++;
        }
    }
    CU_ASSERT(n <= 1);
    return primary;
}

/* ---- Kubernetes helpers --------------------------------------------------------------------- */

static int kubectl(const char *const *args, const char *input, char **ret_out)
{
    struct errbuf eb = {{0}};
    int r = kube_emu_kubectl(&emu, args, input, 30000, ret_out, &eb);

    if (r != 0) {
        fprintf(stderr, "\n  kubectl %s %s: %d %s\n", args[0], args[1] ? args[1] : "", r, eb.msg);
    }
    return r;
}

static int kubectl_apply(const char *manifest)
{
    const char *args[] = {"apply", "-f", "-", NULL};

    return kubectl(args, manifest, NULL);
}

/* GET of an API path; the object, or NULL (404 or error). */
static cJSON *kget(const char *path)
{
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;

    if (kube_get(kc, path, &obj, &err, &eb) < 0) {
        return NULL;
    }
    return obj;
}

static const char *jpath_str(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, a);
    const char *s;

    if (b) {
        j = cJSON_GetObjectItemCaseSensitive(j, b);
    }
    if (c) {
        j = cJSON_GetObjectItemCaseSensitive(j, c);
    }
    s = cJSON_GetStringValue(j);
    return s ? s : "";
}

#define CR_PATH(name) "/apis/opengauss.sig/v1/namespaces/default/opengaussclusters/" name
#define SVC_PATH      "/api/v1/namespaces/default/services/"
#define SLICE_PATH    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
#define POD_PATH      "/api/v1/namespaces/og-system/pods/"

static bool cr_has_finalizer(const char *path)
{
    cJSON *o = kget(path), *f;
    bool found = false;

    cJSON_ArrayForEach(f, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "finalizers"))
    {
        found = found || str_eq(cJSON_GetStringValue(f), "opengauss.sig/cleanup");
    }
    cJSON_Delete(o);
    return found;
}

static bool demo_has_finalizer(void *arg)
{
    (void) arg;
    return cr_has_finalizer(CR_PATH("demo"));
}

/* The first address of the slice's first endpoint, "" when none (or no slice). */
static void slice_address(const char *name, char *buf, size_t size)
{
    char path[256];
    cJSON *o;

    (void) snprintf(path, sizeof(path), SLICE_PATH "%s", name);
    o = kget(path);
    buf[0] = '\0';
    if (o) {
        const cJSON *ep = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "endpoints"), 0);
        const char *a =
                cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(ep, "addresses"), 0));
        (void) str_copy(buf, size, a ? a : "");
    }
    cJSON_Delete(o);
}

static bool write_slice_is(void *arg)
{
    char addr[64];

    slice_address("og-demo-svc", addr, sizeof(addr));
    return str_eq(addr, arg);
}

/* Keeps the agents reporting (and obeying) while waiting for pred. */
struct busy_wait {
    bool (*pred)(void *);
    void *arg;
};

static bool busy_pred(void *arg)
{
    struct busy_wait *b = arg;

    (void) sim_fleet_settle(&fleet, SIM_FLEET_ALL, 1);
    return b->pred(b->arg);
}

static bool wait_reporting(bool (*pred)(void *), void *arg, uint64_t timeout_ms)
{
    struct busy_wait b = {pred, arg};

    return tu_wait_until(busy_pred, &b, timeout_ms, 200);
}

static bool demo_status_is(void *arg)
{
    const char *want = arg; /* "state/primary" */
    cJSON *o = kget(CR_PATH("demo"));
    char got[160];

    (void) snprintf(got, sizeof(got), "%s/%s", jpath_str(o, "status", "state", NULL),
                    jpath_str(o, "status", "primary", NULL));
    cJSON_Delete(o);
    return str_eq(got, want);
}

static bool pod_label_is(const char *pod, const char *key, const char *want)
{
    char path[256];
    cJSON *o;
    const char *v;
    bool ok;

    (void) snprintf(path, sizeof(path), POD_PATH "%s", pod);
    o = kget(path);
    v = cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"), key));
    ok = want ? (v && str_eq(v, want)) : v == NULL;
    cJSON_Delete(o);
    return ok;
}

static bool leader_label_on(void *arg)
{
    return pod_label_is(arg, "opengauss.sig/arbiter-leader", "true");
}

static bool primary_label_on(void *arg)
{
    return pod_label_is(arg, "demo.default.opengauss.sig/role", "primary");
}

/* Number of Events of reason on object name in namespace default. */
static int count_events(const char *name, const char *reason)
{
    cJSON *list = kget("/api/v1/namespaces/default/events"), *ev;
    int n = 0;

    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(list, "items"))
    {
        const cJSON *count = cJSON_GetObjectItem(ev, "count");
        if (str_eq(jpath_str(ev, "involvedObject", "name", NULL), name) &&
            str_eq(jpath_str(ev, "reason", NULL, NULL), reason)) {
            n += cJSON_IsNumber(count) && count->valueint > 0 ? count->valueint : 1;
        }
    }
    cJSON_Delete(list);
    return n;
}

struct event_want {
    const char *name, *reason;
};

static bool has_event(void *arg)
{
    const struct event_want *w = arg;

    return count_events(w->name, w->reason) > 0;
}

static char *service_uid(const char *name)
{
    char path[256];
    cJSON *o;
    char *uid;

    (void) snprintf(path, sizeof(path), SVC_PATH "%s", name);
    o = kget(path);
    uid = xstrdup(jpath_str(o, "metadata", "uid", NULL));
    cJSON_Delete(o);
    return uid;
}

/* ---- the arbiters --------------------------------------------------------------------------- */

static long http_status(const char *method, const char *url, const char *body, char **ret_body)
{
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? "application/json" : NULL,
                                .body = body,
                                .body_len = body ? strlen(body) : 0};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    long st;

    if (ret_body) {
        *ret_body = NULL;
    }
    if (httpc_do(client, &req, &resp, &eb) < 0) {
        return -1;
    }
    st = resp.status;
    if (ret_body && resp.body) {
        *ret_body = xstrndup(resp.body, resp.body_len);
    }
    httpc_response_done(&resp);
    return st;
}

static long arb_call(const struct arb *a, const char *method, const char *path, const char *body,
                     char **ret_body)
{
    char url[512];

    (void) snprintf(url, sizeof(url), "%s%s", a->url, path);
    return http_status(method, url, body, ret_body);
}

static bool arb_ready(void *arg)
{
    return arb_call(arg, "GET", "/readyz", NULL, NULL) == 200;
}

static bool demo_known(void *arg)
{
    return arb_call(arg, "GET", "/api/v1/clusters/default/demo", NULL, NULL) == 200;
}

static bool arb_alive(void *arg)
{
    return arb_call(arg, "GET", "/healthz", NULL, NULL) == 200;
}

/* Starts replica a; waits until it answers /healthz (and /readyz when want_leader). */
static int arb_start(struct arb *a, bool want_leader)
{
    char log_path[700];
    const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                          "serve",
                          "--listen",
                          a->listen,
                          "--db",
                          a->db,
                          "--kube",
                          emu.kubeconfig,
                          "--namespace",
                          "og-system",
                          "--identity",
                          a->identity,
                          "--lease-duration",
                          LEASE,
                          "--heartbeat",
                          "200ms",
                          "--log-level",
                          "debug",
                          NULL};

    (void) snprintf(log_path, sizeof(log_path), "%s/%s-%d.log", tmpdir, a->identity, ++a->runs);
    if (tu_spawn(argv, log_path, &a->pid) < 0) {
        a->pid = -1;
        return -1;
    }
    if (!tu_wait_until(arb_alive, a, 10000, 50)) {
        return -1;
    }
    if (want_leader && !tu_wait_until(arb_ready, a, WAIT_MS, 100)) {
        return -1;
    }
    return 0;
}

static void arb_kill(struct arb *a, int sig)
{
    if (a->pid > 0) {
        (void) tu_kill_wait(a->pid, sig, 10000);
        a->pid = -1;
    }
}

static void agents_to(const struct arb *a)
{
    sim_fleet_set_url(&fleet, a->url);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_apply(void)
{
    const char *ogc_args[] = {"get", "ogc", "demo", "-n", "default", NULL};
    struct event_want boot = {"demo", "Bootstrap"};
    char *out = NULL, addr[64];
    int primary;

    CU_ASSERT_FATAL(emu_ok);
    CU_ASSERT_EQUAL_FATAL(arb_start(&arbs[0], true), 0);
    agents_to(&arbs[0]);
    /* In Kubernetes mode clusters are declared with resources only. */
    CU_ASSERT_EQUAL(arb_call(&arbs[0], "PUT", "/api/v1/clusters/default/demo", "{}", NULL), 405);
    CU_ASSERT_EQUAL(arb_call(&arbs[0], "DELETE", "/api/v1/clusters/default/demo", NULL, NULL), 405);

    CU_ASSERT_EQUAL_FATAL(kubectl_apply(demo_yaml), 0);
    CU_ASSERT(tu_wait_until(demo_has_finalizer, NULL, WAIT_MS, 100));
    /* Orders reach the agents: node1 reports first and gets the primary. */
    CU_ASSERT(tu_wait_until(arb_ready, &arbs[0], WAIT_MS, 100));
    for (int tries = 0; tries < 100 && !fake_agent_order(fleet.agents[0], "demo-0"); tries++) {
        (void) sim_fleet_send(&fleet, 0);
        tu_sleep_ms(100);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_agent_order(fleet.agents[0], "demo-0"));
    sim_fleet_obey(&fleet, 0);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 3));
    primary = ordered_primary();
    CU_ASSERT_EQUAL(primary, 0);
    CU_ASSERT_STRING_EQUAL(fake_agent_order(fleet.agents[0], "demo-0")->ip, "10.0.0.1");

    /* Services, slices, status, labels, Events. */
    CU_ASSERT(wait_reporting(write_slice_is, (void *) member_ips[0], WAIT_MS));
    CU_ASSERT(wait_reporting(demo_status_is, "ready/demo-0", WAIT_MS));
    slice_address("og-demo-svc-read", addr, sizeof(addr));
    CU_ASSERT(str_eq(addr, "10.0.0.2") || str_eq(addr, "10.0.0.3"));
    CU_ASSERT(tu_wait_until(primary_label_on, "og-agent-node1", WAIT_MS, 100));
    CU_ASSERT(pod_label_is("og-agent-node2", "demo.default.opengauss.sig/role", "standby"));
    CU_ASSERT(tu_wait_until(has_event, &boot, WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(leader_label_on, (void *) arbs[0].identity, WAIT_MS, 100));
    CU_ASSERT_EQUAL(kubectl(ogc_args, NULL, &out), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "ready") ? out : NULL);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "demo-0") ? out : NULL);
    free(out);
    applied = true;
}

static void test_failover(void)
{
    struct event_want fo = {"demo", "Failover"}, rl = {"demo", "RestartLimit"};

    CU_ASSERT_FATAL(applied);

    fleet.db[0].state = PROTO_STATE_FAILED;
    fleet.db[0].role = PROTO_ROLE_PRIMARY;
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 3));
    CU_ASSERT_EQUAL(ordered_primary(), 1);
    CU_ASSERT(wait_reporting(write_slice_is, (void *) member_ips[1], WAIT_MS));
    CU_ASSERT(tu_wait_until(has_event, &fo, WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(has_event, &rl, WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(primary_label_on, "og-agent-node2", WAIT_MS, 100));
    /* The old primary is rebuilt as a standby. */
    fleet.db[0].state = PROTO_STATE_RUNNING;
    fleet.db[0].role = PROTO_ROLE_STANDBY;
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 3));
    CU_ASSERT(wait_reporting(demo_status_is, "ready/demo-1", WAIT_MS));
}

static bool bad_is_invalid(void *arg)
{
    char path[256];
    cJSON *o, *cond;
    bool ok = false;

    (void) snprintf(path, sizeof(path), CR_PATH("%s"), (const char *) arg);
    o = kget(path);
    cJSON_ArrayForEach(cond, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "conditions"))
    {
        ok = ok || (str_eq(jpath_str(cond, "type", NULL, NULL), "Valid") &&
                    str_eq(jpath_str(cond, "status", NULL, NULL), "False"));
    }
    ok = ok && str_eq(jpath_str(o, "status", "state", NULL), "invalid");
    cJSON_Delete(o);
    return ok;
}

/* The resource is valid again: state set and not invalid, its write Service created. */
static bool became_valid(void *arg)
{
    char path[256];
    cJSON *o, *svc;
    const char *state;
    bool ok;

    (void) snprintf(path, sizeof(path), CR_PATH("%s"), (const char *) arg);
    o = kget(path);
    state = jpath_str(o, "status", "state", NULL);
    ok = state && !str_eq(state, "invalid");
    cJSON_Delete(o);
    (void) snprintf(path, sizeof(path), SVC_PATH "og-%s-svc", (const char *) arg);
    svc = kget(path);
    ok = ok && svc != NULL;
    cJSON_Delete(svc);
    return ok;
}

static bool no_order_for(const char *member)
{
    for (int i = 0; i < N_AGENTS; i++) {
        if (fake_agent_order(fleet.agents[i], member)) {
            return false;
        }
    }
    return true;
}

static void test_invalid(void)
{
    static const char dup[] = "apiVersion: opengauss.sig/v1\nkind: OpenGaussCluster\n"
                              "metadata: {name: dup, namespace: default}\n"
                              "spec:\n  readport: 30011\n  writeport: 30012\n  iplist:\n"
                              "    - {ip: 10.0.1.1, nodename: node1}\n"
                              "    - {ip: 10.0.1.1, nodename: node2}\n";
    static const char nonode[] = "apiVersion: opengauss.sig/v1\nkind: OpenGaussCluster\n"
                                 "metadata: {name: nonode, namespace: default}\n"
                                 "spec:\n  readport: 30021\n  writeport: 30022\n  iplist:\n"
                                 "    - {ip: 10.0.2.1, nodename: node9}\n";
    static const char clash[] = "apiVersion: opengauss.sig/v1\nkind: OpenGaussCluster\n"
                                "metadata: {name: clash, namespace: default}\n"
                                "spec:\n  readport: 30031\n  writeport: 30001\n  iplist:\n"
                                "    - {ip: 10.0.3.1, nodename: node1}\n";
    struct event_want ev = {"dup", "InvalidSpec"}, ev2 = {"nonode", "InvalidSpec"};
    cJSON *svc;
    char *body = NULL;

    CU_ASSERT_FATAL(applied);

    CU_ASSERT_EQUAL_FATAL(kubectl_apply(dup), 0);
    CU_ASSERT_EQUAL_FATAL(kubectl_apply(nonode), 0);
    CU_ASSERT_EQUAL_FATAL(kubectl_apply(clash), 0); /* writeport = demo's readport */
    CU_ASSERT(tu_wait_until(bad_is_invalid, "dup", WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(bad_is_invalid, "nonode", WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(bad_is_invalid, "clash", WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(has_event, &ev, WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(has_event, &ev2, WAIT_MS, 100));
    svc = kget(SVC_PATH "og-dup-svc");
    CU_ASSERT_PTR_NULL(svc);
    cJSON_Delete(svc);
    svc = kget(SVC_PATH "og-nonode-svc");
    CU_ASSERT_PTR_NULL(svc);
    cJSON_Delete(svc);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 1));
    CU_ASSERT(no_order_for("dup-0") && no_order_for("nonode-0") && no_order_for("clash-0"));
    CU_ASSERT_EQUAL(arb_call(&arbs[0], "GET", "/api/v1/clusters/default/dup", NULL, &body), 404);
    free(body);
    /* The missing Node appears, the resource unchanged (same generation): it is applied and
     * its status leaves "invalid". */
    CU_ASSERT_EQUAL(kubectl_apply("apiVersion: v1\nkind: Node\nmetadata: {name: node9}\n"), 0);
    CU_ASSERT(tu_wait_until(became_valid, "nonode", WAIT_MS, 100));
    body = NULL;
    CU_ASSERT_EQUAL(arb_call(&arbs[0], "GET", "/api/v1/clusters/default/nonode", NULL, &body), 200);
    free(body);
    {
        const char *args[] = {"delete", "ogc",     "dup",          "nonode", "clash",
                              "-n",     "default", "--wait=false", NULL};
        CU_ASSERT_EQUAL(kubectl(args, NULL, NULL), 0);
    }
}

static bool cr_gone(void *arg)
{
    char path[256];
    cJSON *o;

    (void) snprintf(path, sizeof(path), CR_PATH("%s"), (const char *) arg);
    o = kget(path);
    cJSON_Delete(o);
    return o == NULL;
}

static void test_restart_and_relist(void)
{
    char *uid_w = service_uid("og-demo-svc"), *uid_r = service_uid("og-demo-svc-read");
    char *uid_w2 = NULL, *uid_r2 = NULL;
    struct errbuf eb = {{0}};
    int boots = count_events("demo", "Bootstrap"), fails = count_events("demo", "Failover");

    CU_ASSERT_FATAL(applied);

    /* The invalid ones went away (their finalizer was ours to remove). */
    CU_ASSERT(tu_wait_until(cr_gone, "dup", WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(cr_gone, "nonode", WAIT_MS, 100));
    CU_ASSERT(tu_wait_until(cr_gone, "clash", WAIT_MS, 100));
    CU_ASSERT(!str_is_empty(uid_w) && !str_is_empty(uid_r));
    arb_kill(&arbs[0], SIGTERM);
    CU_ASSERT_EQUAL_FATAL(arb_start(&arbs[0], true), 0);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 2));
    CU_ASSERT_EQUAL(ordered_primary(), 1);
    /* A 410: the history is compacted and the watches cut; the controller re-lists. */
    CU_ASSERT_EQUAL(kube_emu_control(kc, "/_emu/compact", &eb), 0);
    CU_ASSERT_EQUAL(kube_emu_control(kc, "/_emu/close-watches", &eb), 0);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 2));
    CU_ASSERT(wait_reporting(demo_status_is, "ready/demo-1", WAIT_MS));
    CU_ASSERT(wait_reporting(write_slice_is, (void *) member_ips[1], WAIT_MS));
    uid_w2 = service_uid("og-demo-svc");
    uid_r2 = service_uid("og-demo-svc-read");
    CU_ASSERT_STRING_EQUAL(uid_w, uid_w2);
    CU_ASSERT_STRING_EQUAL(uid_r, uid_r2);
    tu_sleep_ms(1000); /* anything replayed would be there by now */
    CU_ASSERT_EQUAL(count_events("demo", "Bootstrap"), boots);
    CU_ASSERT_EQUAL(count_events("demo", "Failover"), fails);
    free(uid_w);
    free(uid_r);
    free(uid_w2);
    free(uid_r2);
}

static void test_api_server_down(void)
{
    struct errbuf eb = {{0}};
    uint64_t t0;

    CU_ASSERT_FATAL(applied);

    CU_ASSERT_EQUAL_FATAL(kube_emu_kill(&emu), 0);
    t0 = tu_now_ms();
    /* demo-1 fails; the failover reaches the agents with no API server. */
    fleet.db[1].state = PROTO_STATE_FAILED;
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 3));
    CU_ASSERT(ordered_primary() == 0 || ordered_primary() == 2);
    fleet.db[1].state = PROTO_STATE_RUNNING;
    fleet.db[1].role = PROTO_ROLE_STANDBY;
    while (tu_now_ms() - t0 < 10000) {
        (void) sim_fleet_settle(&fleet, SIM_FLEET_ALL, 1);
        tu_sleep_ms(200);
    }
    CU_ASSERT_EQUAL_FATAL(kube_emu_restart(&emu, NULL, &eb), 0);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 2));
    {
        int p = ordered_primary();
        CU_ASSERT_FATAL(p >= 0);
        CU_ASSERT(wait_reporting(write_slice_is, (void *) member_ips[p], 2 * WAIT_MS));
    }
}

/* The 503 of replica b names the holder once b has read the Lease. */
static bool names_holder(void *arg)
{
    char *body = NULL;
    long st = arb_call(arg, "POST", "/api/v1/clusters/default/demo/switchover", NULL, &body);
    bool ok = st == 503 && body && strstr(body, "not the leader (leader: arb-a)");

    free(body);
    return ok;
}

static void test_second_arbiter(void)
{
    CU_ASSERT_FATAL(applied);
    CU_ASSERT_EQUAL_FATAL(arb_start(&arbs[1], false), 0);
    CU_ASSERT_EQUAL(arb_call(&arbs[1], "GET", "/readyz", NULL, NULL), 503);
    CU_ASSERT(tu_wait_until(names_holder, &arbs[1], WAIT_MS, 200));
    CU_ASSERT_EQUAL(
            arb_call(&arbs[1], "POST", "/api/v1/clusters/default/demo/failover", NULL, NULL), 503);
    CU_ASSERT_EQUAL(arb_call(&arbs[1], "PUT", "/api/v1/clusters/default/demo/maintenance",
                             "{\"enabled\":true}", NULL),
                    503);
    CU_ASSERT_EQUAL(arb_call(&arbs[1], "POST", "/api/v1/report", "{}", NULL), 503);
    CU_ASSERT_EQUAL(arb_call(&arbs[0], "GET", "/readyz", NULL, NULL), 200);
    /* The follower keeps its world in line with the resources all the same. */
    CU_ASSERT(tu_wait_until(demo_known, &arbs[1], WAIT_MS, 200));
    CU_ASSERT(pod_label_is(arbs[1].identity, "opengauss.sig/arbiter-leader", NULL));
    CU_ASSERT(pod_label_is(arbs[0].identity, "opengauss.sig/arbiter-leader", "true"));
}

static void test_takeover(void)
{
    uint64_t epoch_before = 0, t0;
    const struct proto_instance_desired *o;
    int primary = ordered_primary(), p2;
    char *body = NULL;

    CU_ASSERT_FATAL(applied);

    CU_ASSERT_FATAL(primary >= 0);
    epoch_before = sim_fleet_order(&fleet, primary)->epoch;
    arb_kill(&arbs[0], SIGKILL);
    t0 = tu_now_ms();
    CU_ASSERT_FATAL(tu_wait_until(arb_ready, &arbs[1], LEASE_MS + 15000, 200));
    fprintf(stderr, "\n  takeover after %llu ms\n", (unsigned long long) (tu_now_ms() - t0));
    agents_to(&arbs[1]);
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 4));
    p2 = ordered_primary();
    CU_ASSERT_EQUAL(p2, primary);
    o = p2 >= 0 ? sim_fleet_order(&fleet, p2) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(o->epoch >= epoch_before);
    CU_ASSERT(tu_wait_until(leader_label_on, (void *) arbs[1].identity, WAIT_MS, 100));
    /* And it decides: a failover goes on from the agents' epoch. */
    fleet.db[primary].state = PROTO_STATE_FAILED;
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 3));
    p2 = ordered_primary();
    CU_ASSERT(p2 >= 0 && p2 != primary);
    if (p2 >= 0) {
        CU_ASSERT(sim_fleet_order(&fleet, p2)->epoch > epoch_before);
    }
    fleet.db[primary].state = PROTO_STATE_RUNNING;
    fleet.db[primary].role = PROTO_ROLE_STANDBY;
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 2));
    CU_ASSERT_EQUAL(arb_call(&arbs[1], "GET", "/api/v1/clusters/default/demo", NULL, &body), 200);
    free(body);
}

static bool demo_services_gone(void *arg)
{
    cJSON *a = kget(SVC_PATH "og-demo-svc"), *b = kget(SVC_PATH "og-demo-svc-read");
    bool gone = !a && !b;

    (void) arg;
    cJSON_Delete(a);
    cJSON_Delete(b);
    return gone;
}

static void test_delete(void)
{
    const char *args[] = {"delete", "ogc", "demo", "-n", "default", "--wait=false", NULL};

    CU_ASSERT_FATAL(applied);

    CU_ASSERT_EQUAL_FATAL(kubectl(args, NULL, NULL), 0);
    CU_ASSERT(wait_reporting(cr_gone, "demo", WAIT_MS));
    CU_ASSERT(demo_services_gone(NULL));
    /* The instances were ordered stopped (and obeyed) before the cluster went away. */
    for (int i = 0; i < N_AGENTS; i++) {
        CU_ASSERT_EQUAL(fleet.db[i].state, PROTO_STATE_STOPPED);
    }
    CU_ASSERT(sim_fleet_settle(&fleet, SIM_FLEET_ALL, 1));
    CU_ASSERT(no_order_for("demo-0") && no_order_for("demo-1") && no_order_for("demo-2"));
    CU_ASSERT(pod_label_is("og-agent-node1", "demo.default.opengauss.sig/role", NULL));
}

/* ---- suite ---------------------------------------------------------------------------------- */

static const char cluster_objects[] =
        "apiVersion: v1\nkind: Node\nmetadata: {name: node1}\n---\n"
        "apiVersion: v1\nkind: Node\nmetadata: {name: node2}\n---\n"
        "apiVersion: v1\nkind: Node\nmetadata: {name: node3}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: og-agent-node1, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-agent}}\n"
        "spec: {nodeName: node1, containers: [{name: agent, image: og-agent}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: og-agent-node2, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-agent}}\n"
        "spec: {nodeName: node2, containers: [{name: agent, image: og-agent}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: og-agent-node3, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-agent}}\n"
        "spec: {nodeName: node3, containers: [{name: agent, image: og-agent}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: arb-a, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-arbiter}}\n"
        "spec: {containers: [{name: arbiter, image: og-arbiter}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: arb-b, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-arbiter}}\n"
        "spec: {containers: [{name: arbiter, image: og-arbiter}]}\n";

static int suite_init(void)
{
    struct httpc_options opt = {.connect_timeout_ms = 1000, .timeout_ms = 5000};
    const char *crd[] = {"apply", "-f", OG_SOURCE_DIR "/deploy/crd.yaml", NULL};
    const char *ns[] = {"apply", "-f", OG_SOURCE_DIR "/deploy/namespace.yaml", NULL};
    struct sim_fleet_options fleet_opt = {.ns = "default",
                                          .cluster = "demo",
                                          .members = member_names,
                                          .n = N_AGENTS,
                                          .lsn0 = LSN0};
    struct errbuf eb = {{0}};

    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return -1;
    }
    client = httpc_new(&opt);
    for (int i = 0; i < 2; i++) {
        uint16_t port = 0;
        if (tu_free_port("127.0.0.1", &port) < 0) {
            return -1;
        }
        (void) snprintf(arbs[i].listen, sizeof(arbs[i].listen), "127.0.0.1:%u", port);
        (void) snprintf(arbs[i].url, sizeof(arbs[i].url), "http://127.0.0.1:%u", port);
        (void) snprintf(arbs[i].db, sizeof(arbs[i].db), "%s/%s.db", tmpdir, arbs[i].identity);
    }
    fleet_opt.base_url = arbs[0].url;
    if (sim_fleet_init(&fleet, &fleet_opt) < 0) {
        return -1;
    }
    if (!kube_emu_present() || !kube_emu_kubectl_present()) {
        return 0; /* emu_ok stays false: the first case fails loudly */
    }
    if (kube_emu_start(&emu, "kctl", TOKEN, 0, NULL, &eb) < 0) {
        fprintf(stderr, "emulator: %s\n", eb.msg);
        return 0;
    }
    kc = kube_emu_client(&emu, NULL, &eb);
    emu_ok = kc && kubectl(crd, NULL, NULL) == 0 && kubectl(ns, NULL, NULL) == 0 &&
             kubectl_apply(cluster_objects) == 0;
    return client ? 0 : -1;
}

static int suite_cleanup(void)
{
    for (int i = 0; i < 2; i++) {
        arb_kill(&arbs[i], SIGTERM);
    }
    sim_fleet_done(&fleet);
    kube_client_free(kc);
    if (getenv("OG_TEST_KEEP") == NULL) {
        (void) kube_emu_stop(&emu);
        (void) tu_rmtree(tmpdir);
    } else {
        (void) kube_emu_kill(&emu);
        fprintf(stderr, "kept %s and %s\n", tmpdir, emu.dir);
    }
    httpc_free(client);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"kubectl apply: finalizer, orders, Services, slices, status, labels", test_apply},
            {"failover: write slice, Events Failover and RestartLimit", test_failover},
            {"invalid resources: duplicate address, unknown node", test_invalid},
            {"restart and 410 re-list: nothing created twice", test_restart_and_relist},
            {"API server down during a failover", test_api_server_down},
            {"a second arbiter answers 503", test_second_arbiter},
            {"kill -9 of the Lease holder: takeover at the agents' epoch", test_takeover},
            {"delete: finalizer, Services, orders", test_delete},
            CU_TEST_INFO_NULL,
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("kube_controller", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

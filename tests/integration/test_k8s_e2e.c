/*
 * tests/integration/test_k8s_e2e.c
 *
 * End to end in Kubernetes mode (issue 5), with real PostgreSQL 15 and real agents on real,
 * non-loopback addresses: a private network of namespaces (tests/support/netns.h), the test
 * and everything it starts itself living in its "ctl" host (10.X.Y.254):
 *   - the API-server emulator over TLS (tests/support/kube_emu.h) on ctl's 127.0.0.1, with
 *     Node objects node1..3 and one agent Pod per node in og-system
 *     (app.kubernetes.io/name=og-agent, spec.nodeName nodeN), as the DaemonSet would make;
 *   - og-arbiter serve --kube <kubeconfig> on 10.X.Y.254:8080;
 *   - og-agent in host namespace i (10.X.Y.i), node name node<i>, --arbiter the ctl address.
 * `kubectl apply` of deploy/crd.yaml and of a cluster default/demo over the three hosts
 * (restartlimit 2), then:
 *   1. members come up: the arbiter's API says ready; the Services og-demo-svc and
 *      og-demo-svc-read exist (NodePort, no selector); the write EndpointSlice names the
 *      primary's address only, the read one the standbys'; `kubectl get ogc` shows the
 *      primary and state ready; the primary's agent pod carries the role label; a SQL write
 *      through the primary's address works;
 *   2. the primary's postmaster is killed (kill -9) again after each restart until its restart
 *      limit is passed: a new primary; the write EndpointSlice names it; status.primary
 *      follows; the role label moved to its agent pod; a Failover Event exists; the new
 *      primary takes writes, with the row written before.
 * Passes with a loud SKIPPED line when not root, without `ip netns`, python3 or kubectl.
 * Bounds are generous (ASan builds, two shared cores).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/errbuf.h"
#include "common/httpc.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/kube_emu.h"
#include "tests/support/netns.h"
#include "tests/support/pgserver.h"
#include "tests/support/testutil.h"

#define NODES        3
#define ARBITER_PORT 8080
#define DB_PORT      5432
#define TOKEN        "k8s-e2e-token"
#define ROLE_LABEL   "demo.default.opengauss.sig/role"
#define READY_MS     240000
#define PUBLISH_MS   60000
#define FAILOVER_MS  90000
#define ALARM_S      290

struct k8s {
    struct netns nn;
    struct kube_emu emu;
    char dir[PATH_MAX];
    char url[128];
    struct httpc *http;
    pid_t arbiter;
    pid_t agents[NODES];
    char member[NODES][64]; /* the member placed on node i */
    char user[128];
    char password[256];
    bool up; /* test 1 brought the cluster up */
};

static struct k8s K;

/* ---- kubectl and the arbiter's API --------------------------------------------------- */

/* kubectl args... (NULL-terminated) with stdin; its exit code, *ret_out its stdout. */
static int kubectl(const char *const *args, const char *stdin_data, char **ret_out)
{
    struct errbuf eb = {{0}};
    int r = kube_emu_kubectl(&K.emu, args, stdin_data, 60000, ret_out, &eb);

    if (r != 0) {
        fprintf(stderr, "\n  kubectl %s %s: %d: %s\n", args[0], args[1] ? args[1] : "", r, eb.msg);
    }
    return r;
}

/* kubectl get ... -o json, parsed; NULL when it failed. */
static cJSON *kubectl_json(const char *const *args)
{
    char *out = NULL;
    cJSON *j = NULL;

    if (kubectl(args, NULL, &out) == 0 && out) {
        j = cJSON_Parse(out);
    }
    free(out);
    return j;
}

static long api(const char *method, const char *path, const char *body, cJSON **ret)
{
    char url[512];
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? "application/json" : NULL,
                                .body = body,
                                .body_len = body ? strlen(body) : 0,
                                .timeout_ms = 5000};
    struct httpc_response resp = {0};
    struct errbuf eb = {{0}};
    long status;

    if (ret) {
        *ret = NULL;
    }
    (void) snprintf(url, sizeof(url), "%s%s", K.url, path);
    if (httpc_do(K.http, &req, &resp, &eb) < 0) {
        return -EIO;
    }
    status = resp.status;
    if (ret && resp.body && resp.body[0]) {
        *ret = cJSON_Parse(resp.body);
    }
    httpc_response_done(&resp);
    return status;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The arbiter's state and primary of default/demo ("" when unknown). */
static void cluster_summary(char *state, size_t ssize, char *primary, size_t psize)
{
    cJSON *j = NULL;

    state[0] = primary[0] = '\0';
    if (api("GET", "/api/v1/clusters/default/demo", NULL, &j) == 200) {
        (void) str_copy(state, ssize, jstr(j, "state"));
        (void) str_copy(primary, psize, jstr(j, "primary"));
    }
    cJSON_Delete(j);
}

static int node_of_member(const char *member)
{
    for (int i = 0; i < NODES; i++) {
        if (member[0] && str_eq(K.member[i], member)) {
            return i;
        }
    }
    return -1;
}

static int primary_node(void)
{
    char state[64], primary[64];

    cluster_summary(state, sizeof(state), primary, sizeof(primary));
    return node_of_member(primary);
}

static bool wait_ready(uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char state[64] = "", primary[64] = "";

    for (int k = 0; k < 100000; k++) {
        cluster_summary(state, sizeof(state), primary, sizeof(primary));
        if (str_eq(state, "ready") && primary[0]) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(250);
    }
    fprintf(stderr, "\n  cluster not ready after %llu ms (state '%s', primary '%s')\n",
            (unsigned long long) timeout_ms, state, primary);
    return false;
}

/* Maps members to nodes from the arbiter's view. 0 or -ENOENT. */
static int map_members(void)
{
    cJSON *j = NULL;
    const cJSON *m;
    int found = 0;

    if (api("GET", "/api/v1/clusters/default/demo", NULL, &j) != 200) {
        cJSON_Delete(j);
        return -EIO;
    }
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "members"))
    {
        for (int i = 0; i < NODES; i++) {
            char node[16];

            (void) snprintf(node, sizeof(node), "node%d", i + 1);
            if (str_eq(jstr(m, "node"), node)) {
                (void) str_copy(K.member[i], sizeof(K.member[i]), jstr(m, "name"));
                found++;
            }
        }
    }
    cJSON_Delete(j);
    return found == NODES ? 0 : -ENOENT;
}

static int fetch_credentials(void)
{
    cJSON *j = NULL;
    int r = -EIO;

    if (api("GET", "/api/v1/clusters/default/demo/credentials", NULL, &j) == 200 &&
        jstr(j, "user")[0] && jstr(j, "password")[0]) {
        (void) str_copy(K.user, sizeof(K.user), jstr(j, "user"));
        (void) str_copy(K.password, sizeof(K.password), jstr(j, "password"));
        r = 0;
    }
    cJSON_Delete(j);
    return r;
}

/* ---- SQL on a member, from ctl --------------------------------------------------------- */

static int sql(int i, const char *text, char *out, size_t size)
{
    char conninfo[1024];

    /* The arbiter's generated credentials hold no quote or backslash. */
    (void) snprintf(conninfo, sizeof(conninfo),
                    "host=%s port=%d dbname=postgres connect_timeout=3 user='%s' password='%s'",
                    K.nn.hosts[i].ip, DB_PORT, K.user, K.password);
    return tu_pg_exec(conninfo, text, out, size);
}

static bool is_writable(int i)
{
    char out[64] = "";

    return sql(i,
               "SELECT CASE WHEN pg_is_in_recovery() OR current_setting('transaction_read_only')"
               " = 'on' THEN 'r' ELSE 'w' END",
               out, sizeof(out)) == 0 &&
           str_eq(out, "w");
}

/* Waits until the primary sees both standbys synchronous (then the reports carry it). */
static bool wait_sync(uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char out[64] = "";

    for (int k = 0; k < 100000; k++) {
        int p = primary_node();

        if (p >= 0 &&
            sql(p, "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync','quorum')",
                out, sizeof(out)) == 0 &&
            str_eq(out, "2")) {
            tu_sleep_ms(2500); /* a heartbeat or two */
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(250);
    }
    fprintf(stderr, "\n  synchronous standbys: '%s', want 2\n", out);
    return false;
}

static pid_t postmaster_pid(int i)
{
    char path[PATH_MAX + 128];
    char *text;
    uint32_t pid = 0;

    (void) snprintf(path, sizeof(path), "%s/node%d/default/demo/%s/data/postmaster.pid", K.dir,
                    i + 1, K.member[i]);
    text = tu_read_file(path);
    if (!text) {
        return 0;
    }
    text[strcspn(text, "\n")] = '\0';
    if (str_to_u32(text, 2, INT32_MAX, &pid) < 0) {
        pid = 0;
    }
    free(text);
    return (pid_t) pid;
}

/* ---- processes -------------------------------------------------------------------------- */

static int start_arbiter(void)
{
    char listen[64], db[PATH_MAX + 16], log[PATH_MAX + 16];
    const char *argv[] = {OG_BINARY_DIR "/og-arbiter",
                          "serve",
                          "--listen",
                          listen,
                          "--db",
                          db,
                          "--kube",
                          K.emu.kubeconfig,
                          "--namespace",
                          "og-system",
                          "--identity",
                          "og-arbiter-e2e",
                          "--lease-duration",
                          "6s",
                          NULL};

    (void) snprintf(listen, sizeof(listen), "%s:%d", K.nn.ctl.ip, ARBITER_PORT);
    (void) snprintf(db, sizeof(db), "%s/arbiter.db", K.dir);
    (void) snprintf(log, sizeof(log), "%s/arbiter.log", K.dir);
    /* The test is in ctl: the arbiter inherits it and reaches the emulator on 127.0.0.1. */
    return tu_spawn(argv, log, &K.arbiter);
}

static int start_agent(int i)
{
    char node[16], root[PATH_MAX + 16], sock[PATH_MAX + 16], log[PATH_MAX + 16];
    const char *user = getenv("OG_TEST_PGUSER");
    const char *argv[] = {OG_BINARY_DIR "/og-agent",
                          "run",
                          "--node",
                          node,
                          "--arbiter",
                          K.url,
                          "--root",
                          root,
                          "--socket",
                          sock,
                          "--db-user",
                          user && user[0] ? user : "ogtest",
                          "--bindir",
                          pgserver_bindir(),
                          "--probe-interval",
                          "200ms",
                          NULL};

    (void) snprintf(node, sizeof(node), "node%d", i + 1);
    (void) snprintf(root, sizeof(root), "%s/node%d", K.dir, i + 1);
    (void) snprintf(sock, sizeof(sock), "%s/node%d.sock", K.dir, i + 1);
    (void) snprintf(log, sizeof(log), "%s/agent-node%d.log", K.dir, i + 1);
    return netns_spawn(K.nn.hosts[i].name, argv, log, &K.agents[i]);
}

static void dump_file(const char *name)
{
    char path[PATH_MAX + 64];
    char *text;
    size_t len;

    (void) snprintf(path, sizeof(path), "%s/%s", K.dir, name);
    text = tu_read_file(path);
    len = text ? strlen(text) : 0;
    fprintf(stderr, "\n  ---- %s (tail)\n%s\n", path,
            text ? text + (len > 6000 ? len - 6000 : 0) : "(none)");
    free(text);
}

static void dump_logs(void)
{
    dump_file("arbiter.log");
    for (int i = 0; i < NODES; i++) {
        char name[32];

        (void) snprintf(name, sizeof(name), "agent-node%d.log", i + 1);
        dump_file(name);
    }
}

/* Stops everything this test started, by PID, then the namespaces (postgres inside). */
static int suite_cleanup(void)
{
    if (K.dir[0] && CU_get_number_of_failures() > 0) {
        dump_logs();
    }
    for (int i = 0; i < NODES; i++) {
        if (K.agents[i] > 0) {
            (void) kill(K.agents[i], SIGCONT);
            (void) tu_kill_wait(K.agents[i], SIGTERM, 10000);
            K.agents[i] = -1;
        }
    }
    if (K.arbiter > 0) {
        (void) tu_kill_wait(K.arbiter, SIGTERM, 10000);
        K.arbiter = -1;
    }
    (void) kube_emu_stop(&K.emu);
    httpc_free(K.http);
    K.http = NULL;
    (void) netns_teardown(&K.nn);
    if (K.dir[0]) {
        if (getenv("OG_TEST_KEEP")) {
            fprintf(stderr, "kept %s\n", K.dir);
        } else {
            (void) tu_rmtree(K.dir);
        }
        K.dir[0] = '\0';
    }
    return 0;
}

/* ---- objects ---------------------------------------------------------------------------- */

/* Nodes node1..3 and one agent Pod per node, as the DaemonSet would have made them. */
static char *nodes_and_pods_yaml(void)
{
    char *text = xstrdup("");

    for (int i = 1; i <= NODES; i++) {
        char *next = xasprintf("%s---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node%d\n"
                               "---\napiVersion: v1\nkind: Pod\nmetadata:\n"
                               "  name: og-agent-node%d\n  namespace: og-system\n"
                               "  labels:\n    app.kubernetes.io/name: og-agent\n"
                               "spec:\n  nodeName: node%d\n  containers:\n"
                               "    - name: og-agent\n      image: og-operator/og-agent:0.1.0\n",
                               text, i, i, i);
        free(text);
        text = next;
    }
    return text;
}

static char *cluster_yaml(void)
{
    return xasprintf("apiVersion: opengauss.sig/v1\nkind: OpenGaussCluster\nmetadata:\n"
                     "  name: demo\n  namespace: default\nspec:\n  localrole: primary\n"
                     "  readport: 30001\n  writeport: 30002\n  dbport: %d\n"
                     "  image: opengauss/opengauss:5.0.3\n  storage: 1Gi\n  iplist:\n"
                     "    - ip: %s\n      nodename: node1\n"
                     "    - ip: %s\n      nodename: node2\n"
                     "    - ip: %s\n      nodename: node3\n"
                     "  ha:\n    syncreplicas: 1\n    restartlimit: 2\n    restartwindow: 60\n"
                     "    losttimeout: 3\n",
                     DB_PORT, K.nn.hosts[0].ip, K.nn.hosts[1].ip, K.nn.hosts[2].ip);
}

/* kubectl apply -f - of text, retried (bounded) while the API is still settling. */
static bool apply_text(const char *text, uint64_t timeout_ms)
{
    const char *args[] = {"apply", "-f", "-", NULL};
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (int k = 0; k < 100; k++) {
        if (kubectl(args, text, NULL) == 0) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(1000);
    }
    return false;
}

static bool apply_file(const char *path)
{
    const char *args[] = {"apply", "-f", path, NULL};

    return kubectl(args, NULL, NULL) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

#define ADDRS_MAX 8

/* Appends the endpoint addresses of one slice to addrs (a marker when its type or port is off). */
static void slice_collect(const cJSON *item, char (*addrs)[64], size_t *n)
{
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(item, "ports"), 0), "port");
    const cJSON *ep, *a;

    /* Every slice: IPv4 addresses on dbport (a mismatch shows in the answer). */
    if ((!str_eq(jstr(item, "addressType"), "IPv4") || !cJSON_IsNumber(port) ||
         port->valuedouble != DB_PORT) &&
        *n < ADDRS_MAX) {
        (void) str_copy(addrs[(*n)++], 64, "bad-type-or-port");
    }
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(item, "endpoints"))
    {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ep, "addresses"))
        {
            if (cJSON_IsString(a) && *n < ADDRS_MAX) {
                (void) str_copy(addrs[(*n)++], 64, a->valuestring);
            }
        }
    }
}

/* addrs[0..n) sorted and joined with commas into buf. */
static void join_sorted(char (*addrs)[64], size_t n, char *buf, size_t size)
{
    qsort(addrs, n, sizeof(addrs[0]), cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(buf);
        (void) snprintf(buf + len, size - len, "%s%s", i ? "," : "", addrs[i]);
    }
}

/* The addresses of every endpoint of the slices of service, sorted, comma-separated. */
static bool slice_addresses(const char *service, char *buf, size_t size)
{
    char sel[128];
    const char *args[] = {"get", "endpointslices", "-n", "default", "-l", sel, "-o", "json", NULL};
    cJSON *j;
    const cJSON *item;
    char addrs[ADDRS_MAX][64];
    size_t n = 0;

    (void) snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", service);
    j = kubectl_json(args);
    if (!j) {
        return false;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "items"))
    {
        slice_collect(item, addrs, &n);
    }
    cJSON_Delete(j);
    join_sorted(addrs, n, buf, size);
    return true;
}

/* Waits until the slices of service hold exactly want ("a,b" sorted). */
static bool wait_slice(const char *service, const char *want, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char got[512] = "";

    for (int k = 0; k < 10000; k++) {
        if (slice_addresses(service, got, sizeof(got)) && str_eq(got, want)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(500);
    }
    fprintf(stderr, "\n  EndpointSlices of %s: '%s', want '%s'\n", service, got, want);
    return false;
}

/* The standbys' addresses when node p is the primary, sorted. */
static void standby_addresses(int p, char *buf, size_t size)
{
    char addrs[ADDRS_MAX][64];
    size_t n = 0;

    for (int i = 0; i < NODES; i++) {
        if (i != p) {
            (void) str_copy(addrs[n++], sizeof(addrs[0]), K.nn.hosts[i].ip);
        }
    }
    join_sorted(addrs, n, buf, size);
}

/* The resource's status.state and status.primary ("" when unknown). */
static void ogc_status(char *state, size_t ssize, char *primary, size_t psize)
{
    const char *args[] = {"get", "ogc", "demo", "-n", "default", "-o", "json", NULL};
    cJSON *j = kubectl_json(args);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");

    (void) str_copy(state, ssize, jstr(st, "state"));
    (void) str_copy(primary, psize, jstr(st, "primary"));
    cJSON_Delete(j);
}

static bool wait_ogc(const char *want_state, const char *want_primary, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char state[64] = "", primary[64] = "";

    for (int k = 0; k < 10000; k++) {
        ogc_status(state, sizeof(state), primary, sizeof(primary));
        if ((!want_state || str_eq(state, want_state)) && str_eq(primary, want_primary)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(500);
    }
    fprintf(stderr, "\n  ogc status: state '%s' primary '%s', want '%s' '%s'\n", state, primary,
            want_state ? want_state : "*", want_primary);
    return false;
}

/* The nodes of the agent pods labelled role (sorted, comma-separated). */
static bool labelled_nodes(const char *role, char *buf, size_t size)
{
    char sel[128];
    const char *args[] = {"get", "pods", "-n", "og-system", "-l", sel, "-o", "json", NULL};
    cJSON *j;
    const cJSON *item;

    (void) snprintf(sel, sizeof(sel), "%s=%s", ROLE_LABEL, role);
    j = kubectl_json(args);
    if (!j) {
        return false;
    }
    buf[0] = '\0';
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "items"))
    {
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(item, "spec");
        size_t len = strlen(buf);

        (void) snprintf(buf + len, size - len, "%s%s", len ? "," : "", jstr(spec, "nodeName"));
    }
    cJSON_Delete(j);
    return true;
}

static bool wait_label(const char *role, const char *want, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;
    char got[256] = "";

    for (int k = 0; k < 10000; k++) {
        if (labelled_nodes(role, got, sizeof(got)) && str_eq(got, want)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(500);
    }
    fprintf(stderr, "\n  pods labelled %s=%s are on '%s', want '%s'\n", ROLE_LABEL, role, got,
            want);
    return false;
}

/* Prints what the API server holds now: the slices, status, the labels (evidence in logs). */
static void show_published(const char *when)
{
    char w[256] = "", r[256] = "", pl[128] = "", sl[128] = "", st[64] = "", pr[64] = "";

    (void) slice_addresses("og-demo-svc", w, sizeof(w));
    (void) slice_addresses("og-demo-svc-read", r, sizeof(r));
    (void) labelled_nodes("primary", pl, sizeof(pl));
    (void) labelled_nodes("standby", sl, sizeof(sl));
    ogc_status(st, sizeof(st), pr, sizeof(pr));
    fprintf(stderr,
            "  %s: write slice [%s], read slice [%s]; status %s/%s; role=primary on [%s], "
            "role=standby on [%s]\n",
            when, w, r, st, pr, pl, sl);
}

/* True when an Event with reason names default/demo (core/v1 or events.k8s.io/v1 shape). */
static bool has_event(const char *reason)
{
    const char *args[] = {"get", "events", "-n", "default", "-o", "json", NULL};
    cJSON *j = kubectl_json(args);
    const cJSON *item;
    bool found = false;

    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "items"))
    {
        const cJSON *inv = cJSON_GetObjectItemCaseSensitive(item, "involvedObject");
        const cJSON *reg = cJSON_GetObjectItemCaseSensitive(item, "regarding");

        if (str_eq(jstr(item, "reason"), reason) &&
            (str_eq(jstr(inv, "name"), "demo") || str_eq(jstr(reg, "name"), "demo"))) {
            found = true;
        }
    }
    cJSON_Delete(j);
    return found;
}

static bool wait_event(const char *reason, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (int k = 0; k < 10000; k++) {
        if (has_event(reason)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            break;
        }
        tu_sleep_ms(500);
    }
    fprintf(stderr, "\n  no %s Event on default/demo\n", reason);
    return false;
}

/* ---- 1. up ------------------------------------------------------------------------------ */

static bool env_up(void)
{
    struct httpc_options opt = {.connect_timeout_ms = 2000, .timeout_ms = 10000};
    struct errbuf eb = {{0}};
    const char *old_tmp = getenv("TMPDIR");
    char *saved = old_tmp ? xstrdup(old_tmp) : NULL;
    int r;

    if (tu_mkdtemp(K.dir, sizeof(K.dir)) < 0 || chmod(K.dir, 0755) < 0) {
        fprintf(stderr, "\n  no temporary directory\n");
        free(saved);
        return false;
    }
    r = netns_setup(&K.nn, NODES, &eb);
    if (r == 0) {
        (void) netns_own_dir(&K.nn, K.dir);
        /* Before any thread: everything the test starts from now on lives in ctl. */
        r = netns_enter_ctl(&K.nn, &eb);
    }
    if (r < 0) {
        fprintf(stderr, "\n  network: %s\n", eb.msg);
        free(saved);
        return false;
    }
    fprintf(stderr, "\n  network %s.0/24: ctl %s, hosts %s %s %s\n", K.nn.subnet, K.nn.ctl.ip,
            K.nn.hosts[0].ip, K.nn.hosts[1].ip, K.nn.hosts[2].ip);
    (void) snprintf(K.url, sizeof(K.url), "http://%s:%d", K.nn.ctl.ip, ARBITER_PORT);
    K.http = httpc_new(&opt);
    /* The emulator's own directory inside ours, so the watchdog removes it too. */
    (void) setenv("TMPDIR", K.dir, 1);
    r = kube_emu_start(&K.emu, "k8se2e", TOKEN, 0, NULL, &eb);
    if (saved) {
        (void) setenv("TMPDIR", saved, 1);
    } else {
        (void) unsetenv("TMPDIR");
    }
    free(saved);
    if (r < 0) {
        fprintf(stderr, "\n  emulator: %s\n", eb.msg);
        return false;
    }
    return K.http != NULL;
}

static void test_k8s_up(void)
{
    char *objects = NULL, *cluster = NULL, *out = NULL;
    char want[256], got[256] = "", state[64] = "", primary[64] = "", value[256] = "";
    uint64_t t0;
    int p;

    if (!netns_supported("k8s e2e") || !kube_emu_present() || !kube_emu_kubectl_present()) {
        return;
    }
    alarm(ALARM_S);
    CU_ASSERT_TRUE_FATAL(env_up());
    CU_ASSERT_TRUE_FATAL(apply_file(OG_SOURCE_DIR "/deploy/namespace.yaml"));
    CU_ASSERT_TRUE_FATAL(apply_file(OG_SOURCE_DIR "/deploy/crd.yaml"));
    objects = nodes_and_pods_yaml();
    CU_ASSERT_TRUE(apply_text(objects, 30000));
    free(objects);

    CU_ASSERT_EQUAL_FATAL(start_arbiter(), 0);
    for (int i = 0; i < NODES; i++) {
        CU_ASSERT_EQUAL_FATAL(start_agent(i), 0);
    }
    t0 = tu_now_ms();
    cluster = cluster_yaml();
    CU_ASSERT_TRUE(apply_text(cluster, 30000)); /* the CRD is served, the arbiter watching */
    free(cluster);

    /* Members come up. */
    CU_ASSERT_TRUE_FATAL(wait_ready(READY_MS));
    CU_ASSERT_EQUAL_FATAL(map_members(), 0);
    CU_ASSERT_EQUAL_FATAL(fetch_credentials(), 0);
    CU_ASSERT_TRUE(wait_sync(READY_MS));
    p = primary_node();
    CU_ASSERT_TRUE_FATAL(p >= 0);
    fprintf(stderr, "  ready after %llu ms: primary %s on node%d (%s)\n",
            (unsigned long long) (tu_now_ms() - t0), K.member[p], p + 1, K.nn.hosts[p].ip);
    K.up = true;

    /* Services: both, NodePort, no selector (the arbiter writes their EndpointSlices). */
    {
        const char *args[] = {"get", "svc",  "-n", "default", "og-demo-svc", "og-demo-svc-read",
                              "-o",  "json", NULL};
        cJSON *j = kubectl_json(args);
        const cJSON *item;
        int n = 0;

        CU_ASSERT_PTR_NOT_NULL(j);
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "items"))
        {
            const cJSON *spec = cJSON_GetObjectItemCaseSensitive(item, "spec");
            const cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
            const cJSON *node_port =
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ports, 0), "nodePort");
            bool write = str_eq(jstr(cJSON_GetObjectItemCaseSensitive(item, "metadata"), "name"),
                                "og-demo-svc");

            CU_ASSERT_STRING_EQUAL(jstr(spec, "type"), "NodePort");
            CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(spec, "selector"));
            const cJSON *port =
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ports, 0), "port");

            CU_ASSERT_TRUE(cJSON_IsNumber(node_port) &&
                           node_port->valuedouble == (write ? 30002 : 30001));
            CU_ASSERT_TRUE(cJSON_IsNumber(port) && port->valuedouble == DB_PORT);
            n++;
        }
        CU_ASSERT_EQUAL(n, 2);
        cJSON_Delete(j);
    }
    /* The write slice names the primary only; the read slice the standbys. */
    CU_ASSERT_TRUE(wait_slice("og-demo-svc", K.nn.hosts[p].ip, PUBLISH_MS));
    standby_addresses(p, want, sizeof(want));
    CU_ASSERT_TRUE(wait_slice("og-demo-svc-read", want, PUBLISH_MS));

    /* Status, the printer columns, the role labels. */
    CU_ASSERT_TRUE(wait_ogc("ready", K.member[p], PUBLISH_MS));
    {
        const char *args[] = {"get", "ogc", "-n", "default", NULL};

        CU_ASSERT_EQUAL(kubectl(args, NULL, &out), 0);
        fprintf(stderr, "  kubectl get ogc:\n%s", out ? out : "");
        CU_ASSERT_TRUE(out && strstr(out, K.member[p]) && strstr(out, "ready"));
        free(out);
        out = NULL;
    }
    (void) snprintf(want, sizeof(want), "node%d", p + 1);
    CU_ASSERT_TRUE(wait_label("primary", want, PUBLISH_MS));
    CU_ASSERT_TRUE(labelled_nodes("standby", got, sizeof(got)) && strlen(got) > 0);

    /* A write through the primary's address, from ctl. */
    CU_ASSERT_EQUAL(
            sql(p, "CREATE TABLE k8s_e2e (v text); INSERT INTO k8s_e2e VALUES ('one')", NULL, 0),
            0);
    CU_ASSERT_EQUAL(sql(p, "SELECT string_agg(v, ',') FROM k8s_e2e", value, sizeof(value)), 0);
    CU_ASSERT_STRING_EQUAL(value, "one");
    show_published("up");
    cluster_summary(state, sizeof(state), primary, sizeof(primary));
    CU_ASSERT_STRING_EQUAL(state, "ready");
}

/*
 * The write-slice watcher: a thread reading the write EndpointSlices every 300 ms through
 * kubectl during the failover, recording the most endpoints seen at once and the distinct
 * values in order (DESIGN.md: the write route never names two primaries).
 */
struct slice_watch {
    pthread_t thread;
    atomic_bool stop;
    size_t max_endpoints;
    uint32_t samples;
    char history[512];
};

static void *slice_watch_main(void *arg)
{
    struct slice_watch *w = arg;
    uint64_t end = tu_now_ms() + 600000;
    char last[256] = "", got[256];

    while (!atomic_load(&w->stop) && tu_now_ms() < end) {
        if (slice_addresses("og-demo-svc", got, sizeof(got))) {
            size_t n = got[0] ? 1 : 0;

            for (const char *c = got; *c; c++) {
                n += *c == ',';
            }
            w->max_endpoints = n > w->max_endpoints ? n : w->max_endpoints;
            w->samples++;
            if (!str_eq(got, last)) {
                size_t len = strlen(w->history);
                (void) snprintf(w->history + len, sizeof(w->history) - len, "%s[%s]",
                                len ? " -> " : "", got);
                (void) str_copy(last, sizeof(last), got);
            }
        }
        tu_sleep_ms(300);
    }
    return NULL;
}

/* ---- 2. restart limit --------------------------------------------------------------------- */

/*
 * kill -9 of node old's postmaster, again after each restart (once the cluster is ready and
 * synchronous again), until the arbiter names another primary. The number of kills.
 */
static int kill_until_failover(int old)
{
    int rounds = 0;

    for (int round = 0; round < 8; round++) {
        uint64_t deadline = tu_now_ms() + 30000;
        pid_t pm = 0;

        for (int k = 0; k < 300 && pm <= 0; k++) {
            pm = postmaster_pid(old);
            if (pm <= 0) {
                tu_sleep_ms(100);
            }
        }
        if (primary_node() != old || pm <= 0) {
            break;
        }
        (void) kill(pm, SIGKILL);
        rounds++;
        /* Bounded: restarted (a new postmaster, writable) or a failover. */
        for (int k = 0; k < 1000 && tu_now_ms() < deadline; k++) {
            pid_t now_pm = postmaster_pid(old);
            int p = primary_node();

            if ((p >= 0 && p != old) || (now_pm > 0 && now_pm != pm && is_writable(old))) {
                break;
            }
            tu_sleep_ms(100);
        }
        if (primary_node() != old) {
            break;
        }
        if (!wait_ready(60000) || !wait_sync(60000)) {
            break;
        }
    }
    return rounds;
}

static void test_k8s_restart_limit(void)
{
    static struct slice_watch watch;
    char want[256], value[256] = "";
    bool watching;
    uint64_t t0;
    int old, fresh = -1, rounds;

    if (!K.up) {
        if (K.dir[0]) {
            CU_FAIL("skipped: the cluster did not come up");
        }
        return;
    }
    old = primary_node();
    CU_ASSERT_TRUE_FATAL(old >= 0);
    atomic_init(&watch.stop, false);
    watching = pthread_create(&watch.thread, NULL, slice_watch_main, &watch) == 0;
    CU_ASSERT_TRUE(watching);
    t0 = tu_now_ms();
    rounds = kill_until_failover(old);
    for (int k = 0; k < 1000 && tu_now_ms() < t0 + FAILOVER_MS + 240000; k++) {
        fresh = primary_node();
        if (fresh >= 0 && fresh != old) {
            break;
        }
        tu_sleep_ms(200);
    }
    if (fresh < 0 || fresh == old) {
        atomic_store(&watch.stop, true);
        if (watching) {
            (void) pthread_join(watch.thread, NULL);
        }
        CU_FAIL("no failover after the restart limit");
        return;
    }
    fprintf(stderr, "\n  failover %s -> %s after %d kills, %llu ms\n", K.member[old],
            K.member[fresh], rounds, (unsigned long long) (tu_now_ms() - t0));

    /* The write route moves to the new primary, and only there. */
    CU_ASSERT_TRUE(wait_slice("og-demo-svc", K.nn.hosts[fresh].ip, PUBLISH_MS));
    CU_ASSERT_TRUE(wait_ogc(NULL, K.member[fresh], PUBLISH_MS));
    (void) snprintf(want, sizeof(want), "node%d", fresh + 1);
    CU_ASSERT_TRUE(wait_label("primary", want, PUBLISH_MS));
    CU_ASSERT_TRUE(wait_event("Failover", PUBLISH_MS));
    fprintf(stderr, "  published %llu ms after the first kill\n",
            (unsigned long long) (tu_now_ms() - t0));
    show_published("after the failover");
    if (watching) {
        atomic_store(&watch.stop, true);
        (void) pthread_join(watch.thread, NULL); /* each sample is bounded by kubectl's 60 s */
        fprintf(stderr, "  write slice over %u samples: %s\n", watch.samples, watch.history);
        CU_ASSERT_TRUE(watch.samples > 0);
        CU_ASSERT_TRUE(watch.max_endpoints <= 1); /* never two primaries in the route */
    }

    /* The new primary takes writes and has the row written before. */
    CU_ASSERT_EQUAL(sql(fresh, "INSERT INTO k8s_e2e VALUES ('two')", NULL, 0), 0);
    CU_ASSERT_EQUAL(
            sql(fresh, "SELECT string_agg(v, ',' ORDER BY v) FROM k8s_e2e", value, sizeof(value)),
            0);
    CU_ASSERT_STRING_EQUAL(value, "one,two");

    /* The old primary rejoins; the read slice then holds both standbys again. */
    CU_ASSERT_TRUE(wait_ready(FAILOVER_MS));
    standby_addresses(fresh, want, sizeof(want));
    CU_ASSERT_TRUE(wait_slice("og-demo-svc-read", want, PUBLISH_MS));
    CU_ASSERT_TRUE(wait_ogc("ready", K.member[fresh], PUBLISH_MS));
    show_published("rejoined");
}

/* Whether `kubectl get KIND NAME -n default` says NotFound (the object is gone). */
static bool object_gone(const char *kind, const char *name)
{
    const char *args[] = {"get", kind, name, "-n", "default", "-o", "name", NULL};
    struct errbuf eb = {{0}};
    int rc = kube_emu_kubectl(&K.emu, args, NULL, 60000, NULL, &eb);

    return rc > 0 && strstr(eb.msg, "NotFound") != NULL;
}

static void test_k8s_delete(void)
{
    const char *del[] = {"delete", "ogc", "demo", "-n", "default", "--wait=false", NULL};
    char labelled[256] = "x", path[PATH_MAX + 128];
    pid_t pm[NODES];
    bool gone = false;

    if (!K.up) {
        if (K.dir[0]) {
            CU_FAIL("skipped: the cluster did not come up");
        }
        return;
    }
    for (int i = 0; i < NODES; i++) {
        pm[i] = postmaster_pid(i);
    }
    CU_ASSERT_EQUAL_FATAL(kubectl(del, NULL, NULL), 0);
    /* The finalizer holds the resource until the Services are gone; then it goes. */
    for (int k = 0; k < 600 && !gone; k++) {
        gone = object_gone("ogc", "demo");
        if (!gone) {
            tu_sleep_ms(100);
        }
    }
    CU_ASSERT_TRUE(gone);
    CU_ASSERT_TRUE(object_gone("service", "og-demo-svc"));
    CU_ASSERT_TRUE(object_gone("service", "og-demo-svc-read"));
    CU_ASSERT_TRUE(object_gone("endpointslice", "og-demo-svc"));
    CU_ASSERT_TRUE(object_gone("endpointslice", "og-demo-svc-read"));
    CU_ASSERT_TRUE(labelled_nodes("primary", labelled, sizeof(labelled)) && labelled[0] == '\0');
    /* The instances stop; their data stays where it was, to be recovered. */
    for (int i = 0; i < NODES; i++) {
        bool stopped = false;
        for (int k = 0; k < 600 && !stopped; k++) {
            stopped = pm[i] <= 0 || !tu_pid_alive(pm[i]);
            if (!stopped) {
                tu_sleep_ms(100);
            }
        }
        CU_ASSERT_TRUE(stopped);
        (void) snprintf(path, sizeof(path), "%s/node%d/default/demo/%s/data/PG_VERSION", K.dir,
                        i + 1, K.member[i]);
        CU_ASSERT_EQUAL(access(path, F_OK), 0);
    }
    K.up = false;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"members up, Services, EndpointSlices, ogc, labels", test_k8s_up},
            {"restart limit: slice, status, label and Event follow", test_k8s_restart_limit},
            {"delete: finalizer, Services gone, instances stopped, data kept", test_k8s_delete},
            CU_TEST_INFO_NULL,
    };

    for (int i = 0; i < NODES; i++) {
        K.agents[i] = -1;
    }
    K.arbiter = -1;
    (void) signal(SIGPIPE, SIG_IGN);
    return cu_run_with("k8s_e2e", tests, NULL, suite_cleanup);
}

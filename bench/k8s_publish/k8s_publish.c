/*
 * bench/k8s_publish/k8s_publish.c
 *
 * Issue 5's figure, end to end with the real og-arbiter binary: the time from the promotion
 * decision to the write EndpointSlice naming the new primary in the API server (target
 * < 200 ms median). It starts the API-server emulator (tests/support/kube_emu: Python, TLS
 * on loopback), applies deploy/crd.yaml, deploy/namespace.yaml, Nodes node1..3, the agent
 * Pods and the arbiter's Pod, starts `og-arbiter serve --kube <kubeconfig>` (temporary --db,
 * --lease-duration 5s), applies a three-member OpenGaussCluster default/demo on 10.0.0.1..3
 * (the emulator refuses loopback addresses in EndpointSlices; nothing connects to them),
 * and plays the three agents with tests/support/fake_agent: each keeps a long poll in
 * flight (wait_ms 1000), obeys an order as soon as its answer arrives and reports again at
 * once, as og-agent's poller does (with no PostgreSQL behind it: a promotion takes no time).
 *
 * Each round makes the primary fail (its agent reports state failed: the restart limit was
 * reached) and times, on the wall clock of this machine:
 *   t_send     just before the failing report is sent;
 *   t_decision the time of the arbiter's history row for the failover (GET
 *              /api/v1/clusters/default/demo/history), taken right after decide ran and
 *              before the decision is written to SQLite;
 *   t_order    the new primary's agent got the answer that orders the promotion;
 *   t_report   it sent the report saying it runs as primary;
 *   t_slice    a watch on discovery.k8s.io/v1 EndpointSlices (kube_watch) delivered the
 *              write slice naming the new primary's address.
 * and prints median (the upper one for even n, as kpub_latency), p90 (the value at index
 * 9n/10 of the sorted list) min and max of t_slice - t_decision, t_slice - t_send and the
 * steps in between. The history row is used rather than the decision's log line because
 * the log line comes after the SQLite commit (1-3 ms later here). Between rounds the old
 * primary rejoins as a standby and the cluster is let settle (ready in the arbiter's view,
 * the slice naming the primary, then 1 s more so kpub's pass is over). The figures'
 * resolution is about 1 ms (the pump's watch step). Not a test: it asserts nothing. Every
 * wait is bounded; SIGINT/SIGTERM end it early; the emulator, the arbiter and the
 * temporary directory are removed on every exit path (BENCH_KEEP=1 keeps the directory:
 * arbiter.log and arbiter.db are there; BENCH_TRACE=1 prints every agent answer).
 *
 * Usage: k8s_publish [N] (default 20 rounds). Build: make k8s_publish (builds og-arbiter too).
 *
 * Layer: shell (benchmark)
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/httpc.h"
#include "common/kube.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/fake_agent.h"
#include "tests/support/kube_emu.h"
#include "tests/support/testutil.h"

#define N_AGENTS      3
#define MAX_ROUNDS    1000
#define LSN0          0x3000000ULL
#define POLL_WAIT_MS  1000  /* the agents' long poll (losttimeout 3 s: the hold cap is 1.5 s) */
#define SETUP_WAIT_MS 30000 /* bound for the arbiter, the bootstrap, a settle */
#define ROUND_WAIT_MS 20000 /* bound for one failover to show in the slice */
#define SETTLE_MS     1000  /* pumping after ready, so kpub's pass is over before a round */
#define WATCH_STEP_MS 1     /* the watch's budget per pump: the resolution of the figures */
#define TOKEN         "k8s-bench-token"
#define CLUSTER_URL   "/api/v1/clusters/default/demo"

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
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bench-arb, namespace: og-system,"
        " labels: {app.kubernetes.io/name: og-arbiter}}\n"
        "spec: {containers: [{name: arbiter, image: og-arbiter}]}\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void) sig;
    stop_flag = 1;
}

/* ---- the simulated databases (as in tests/integration/test_kube_controller.c) --------- */

struct sim {
    enum proto_role role;
    enum proto_state state;
    uint64_t epoch;
    uint32_t timeline;
    uint64_t current, received, replayed;
    char upstream[PROTO_NAME_MAX + 1];
    bool present; /* reported only once ordered (a new agent reports no instance) */
};

/* One fake agent and its driver state. */
struct agent {
    struct fake_agent *fa;
    struct sim sim;
    bool busy;             /* a send is in flight */
    bool paused;           /* do not send again (the round takes over) */
    bool failed;           /* keeps reporting failed and does not obey */
    uint64_t next_send_ms; /* monotonic; a short delay after an empty answer */
    uint64_t answers;      /* answers received (200) */
};

/* Everything the benchmark owns; cleaned up by bench_done(). */
struct bench {
    char tmpdir[512];
    char db[600];
    char log[600];
    char listen[64];
    char url[128];
    struct kube_emu emu;
    struct kube_client *kc;
    struct kube_watch *watch;
    struct httpc *http;
    pid_t arb_pid;
    struct agent agents[N_AGENTS];

    /* watch state */
    char slice_addr[64]; /* the write slice's first address last seen */
    char old_ip[64];     /* armed: the first address other than this one is a hit */
    bool armed, hit;
    char hit_addr[64];
    uint64_t hit_wall_ms;
    bool trace; /* BENCH_TRACE set: every agent answer on stderr */
    bool keep;  /* BENCH_KEEP set: the temporary directory is kept */
};

static int sim_index(const char *name)
{
    for (int i = 0; i < N_AGENTS; i++) {
        if (str_eq(member_names[i], name)) {
            return i;
        }
    }
    return -1;
}

static void sim_push(struct bench *b, int i)
{
    const struct sim *s = &b->agents[i].sim;
    const struct proto_instance_desired *order = fake_agent_order(b->agents[i].fa, member_names[i]);
    struct proto_instance_report *in;

    if (!s->present) {
        fake_agent_drop_instance(b->agents[i].fa, member_names[i]);
        return;
    }
    in = fake_agent_instance(b->agents[i].fa, "default", "demo", member_names[i]);
    in->epoch = s->epoch;
    in->role = s->role;
    in->state = s->state;
    in->pid = s->state == PROTO_STATE_RUNNING ? 1000 + i : 0;
    in->restarts = s->state == PROTO_STATE_FAILED ? 3 : 0; /* failed: the limit was reached */
    in->timeline = s->timeline;
    in->system_id = 7301234567890123456ULL;
    in->current_lsn = s->current;
    in->received_lsn = s->received;
    in->replayed_lsn = s->replayed;
    (void) str_copy(in->upstream, sizeof(in->upstream), s->upstream);
    in->disk_free_bytes = 1ULL << 34;
    in->n_replicas = 0;
    if (s->role != PROTO_ROLE_PRIMARY || s->state != PROTO_STATE_RUNNING) {
        return;
    }
    for (int k = 0; k < N_AGENTS; k++) {
        const struct sim *sk = &b->agents[k].sim;
        struct proto_replica *rp;
        bool named = false;

        if (k == i || sk->state != PROTO_STATE_RUNNING || !str_eq(sk->upstream, member_names[i])) {
            continue;
        }
        for (uint32_t n = 0; order && n < order->sync.n_names; n++) {
            named = named || str_eq(order->sync.names[n], member_names[k]);
        }
        rp = &in->replicas[in->n_replicas++];
        memset(rp, 0, sizeof(*rp));
        (void) str_copy(rp->name, sizeof(rp->name), member_names[k]);
        rp->state = PROTO_REPL_STATE_STREAMING;
        rp->sync = named ? PROTO_SYNC_STATE_QUORUM : PROTO_SYNC_STATE_ASYNC;
        rp->sent_lsn = rp->flush_lsn = sk->received;
        rp->replay_lsn = sk->replayed;
    }
}

static uint32_t sim_max_timeline(const struct bench *b)
{
    uint32_t tl = 0;

    for (int i = 0; i < N_AGENTS; i++) {
        tl = b->agents[i].sim.timeline > tl ? b->agents[i].sim.timeline : tl;
    }
    return tl;
}

/* Plays the order of agent i's last answer on its database; true when it became primary. */
static bool sim_obey(struct bench *b, int i)
{
    const struct proto_instance_desired *o = fake_agent_order(b->agents[i].fa, member_names[i]);
    struct sim *s = &b->agents[i].sim;
    bool promoted = false;

    if (!o) {
        return false;
    }
    s->present = true;
    s->epoch = o->epoch;
    if (o->state == PROTO_STATE_FENCED) {
        s->state = PROTO_STATE_FENCED;
        return false;
    }
    if (o->role == PROTO_ROLE_PRIMARY) {
        if (s->role != PROTO_ROLE_PRIMARY) {
            s->timeline = sim_max_timeline(b) + (s->timeline ? 1 : 0);
            s->timeline = s->timeline ? s->timeline : 1;
            s->current = s->received > LSN0 ? s->received : LSN0;
            promoted = true;
        }
        s->role = PROTO_ROLE_PRIMARY;
        s->state = PROTO_STATE_RUNNING;
        s->upstream[0] = '\0';
        s->received = s->replayed = 0;
        return promoted;
    }
    if (o->has_upstream) {
        int up = sim_index(o->upstream.member);

        s->role = PROTO_ROLE_STANDBY;
        s->state = PROTO_STATE_RUNNING;
        (void) str_copy(s->upstream, sizeof(s->upstream), o->upstream.member);
        if (up >= 0 && b->agents[up].sim.role == PROTO_ROLE_PRIMARY && b->agents[up].sim.current) {
            s->timeline = b->agents[up].sim.timeline;
            s->received = s->replayed = b->agents[up].sim.current;
        }
        s->current = 0;
    }
    return false;
}

/* ---- the pump: agents and the watch ---------------------------------------------------- */

/* What the pump saw happen during one call, for the round's timestamps. */
struct pump_seen {
    int promoted;            /* agent that got its promotion order, or -1 */
    uint64_t order_wall_ms;  /* when that answer was seen */
    uint64_t report_wall_ms; /* when its next report (as primary) was sent */
};

static void agent_send(struct agent *a)
{
    uint32_t wait = fake_agent_generation(a->fa) ? POLL_WAIT_MS : 0;

    if (fake_agent_send_async(a->fa, wait)) {
        a->busy = true;
    }
}

/*
 * Collects agent i's finished send, if any, and plays its order; true when the order
 * promoted it (seen, may be NULL, gets the time of the first promotion).
 */
static bool agent_collect(struct bench *b, int i, struct pump_seen *seen)
{
    struct agent *a = &b->agents[i];
    const struct proto_instance_desired *o;
    uint64_t el = 0, now = tu_now_ms();
    int st = fake_agent_wait(a->fa, 0, &el);
    bool promoted = false;

    /*
     * -ETIMEDOUT: still in flight, or (rarely) a send that timed out itself and was collected
     * by this call; such a send answers -EINVAL on the next turn, which counts as its failure
     * below. (Calling again at once would race with the end of a send in flight.)
     */
    if (st == -ETIMEDOUT) {
        return false;
    }
    a->busy = false;
    o = fake_agent_order(a->fa, member_names[i]);
    if (b->trace) {
        fprintf(stderr, "%llu agent %d: %d after %llu ms, gen %llu, order %s\n",
                (unsigned long long) clock_wall_ms(), i, st, (unsigned long long) el,
                (unsigned long long) fake_agent_generation(a->fa),
                o ? proto_role_to_string(o->role) : "-");
    }
    if (st != 200) {
        a->next_send_ms = now + 200; /* arbiter busy or away: retry shortly */
        return false;
    }
    a->answers++;
    promoted = !a->failed && sim_obey(b, i);
    a->next_send_ms = o ? now : now + 100; /* no order yet: do not spin */
    if (promoted && seen && seen->promoted < 0) {
        seen->promoted = i;
        seen->order_wall_ms = clock_wall_ms();
    }
    return promoted;
}

/*
 * One turn: collects finished sends (obeying their orders), starts the next long polls, then
 * runs the watch for WATCH_STEP_MS. seen (may be NULL) gets promotion timestamps.
 */
static void pump(struct bench *b, struct pump_seen *seen)
{
    struct errbuf eb = {{0}};

    for (int i = 0; i < N_AGENTS; i++) {
        struct agent *a = &b->agents[i];
        bool promoted = a->busy && agent_collect(b, i, seen);

        if (a->busy || a->paused || tu_now_ms() < a->next_send_ms) {
            continue;
        }
        sim_push(b, i);
        if (promoted && seen && seen->promoted == i) {
            seen->report_wall_ms = clock_wall_ms();
        }
        agent_send(a);
    }
    if (b->watch) {
        (void) kube_watch_step(b->watch, WATCH_STEP_MS, &eb);
    } else {
        tu_sleep_ms(WATCH_STEP_MS);
    }
}

static void on_slice(enum kube_event type, const cJSON *obj, void *data)
{
    struct bench *b = data;
    const cJSON *ep = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "endpoints"), 0);
    const char *a = cJSON_GetStringValue(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ep, "addresses"), 0));
    uint64_t wall = clock_wall_ms();

    if (type != KUBE_EVENT_ADDED && type != KUBE_EVENT_MODIFIED) {
        return;
    }
    (void) str_copy(b->slice_addr, sizeof(b->slice_addr), a ? a : "");
    if (b->armed && !b->hit && a && !str_is_empty(a) && !str_eq(a, b->old_ip)) {
        b->hit = true;
        b->hit_wall_ms = wall;
        (void) str_copy(b->hit_addr, sizeof(b->hit_addr), a);
    }
}

/* ---- the arbiter's REST API ------------------------------------------------------------ */

static cJSON *arb_get(struct bench *b, const char *path)
{
    struct errbuf eb = {{0}};
    char url[512];
    cJSON *j = NULL;
    long st = 0;

    (void) snprintf(url, sizeof(url), "%s%s", b->url, path);
    if (httpc_json(b->http, "GET", url, NULL, 0, &st, &j, &eb) < 0 || st != 200) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

    return s ? s : "";
}

/* The arbiter's view says ready, primary is want (NULL: any), every member runs. */
static bool cluster_ready(struct bench *b, const char *want, char *ret_primary, size_t size)
{
    cJSON *v = arb_get(b, CLUSTER_URL), *m;
    bool ok = v && str_eq(jstr(v, "state"), "ready") && !str_is_empty(jstr(v, "primary"));
    int running = 0;

    ok = ok && (!want || str_eq(jstr(v, "primary"), want));
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(v, "members"))
    {
        running += str_eq(jstr(m, "state"), "running");
    }
    ok = ok && running == N_AGENTS;
    if (ok && ret_primary) {
        (void) str_copy(ret_primary, size, jstr(v, "primary"));
    }
    cJSON_Delete(v);
    return ok;
}

/* The n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return -1;
        }
        v = v * 10 + (s[k] - '0');
    }
    return v;
}

/* "2026-11-25T01:30:00.123Z" (UTC, the history's format) to Unix ms; 0 when it does not parse. */
static uint64_t parse_time_ms(const char *s)
{
    int y, mo, d, h, mi, sec, ms, yy;
    unsigned era, yoe, doy, doe, mp;
    int64_t days;

    if (strlen(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[23] != 'Z') {
        return 0;
    }
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    ms = digits(s + 20, 3);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || mi < 0 || sec < 0 || ms < 0) {
        return 0;
    }
    /* days from civil (H. Hinnant's algorithm) */
    yy = mo <= 2 ? y - 1 : y;
    era = (unsigned) (yy / 400);
    yoe = (unsigned) (yy - (int) era * 400);
    mp = (unsigned) (mo > 2 ? mo - 3 : mo + 9);
    doy = (153 * mp + 2) / 5 + (unsigned) d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = (int64_t) era * 146097 + (int64_t) doe - 719468;
    return (uint64_t) (((days * 24 + h) * 60 + mi) * 60 + sec) * 1000u + (uint64_t) ms;
}

/* The wall time of the newest failover row at epoch (0: any epoch), or 0. */
static uint64_t decision_time(struct bench *b, uint64_t epoch, char *reason, size_t size)
{
    cJSON *rows = arb_get(b, CLUSTER_URL "/history?limit=20"), *row;
    uint64_t t = 0;

    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(row, "epoch");

        if (str_eq(jstr(row, "verdict"), "failover") &&
            (epoch == 0 || (cJSON_IsNumber(e) && (uint64_t) e->valuedouble == epoch))) {
            t = parse_time_ms(jstr(row, "time"));
            (void) str_copy(reason, size, jstr(row, "reason"));
            break; /* newest first */
        }
    }
    cJSON_Delete(rows);
    return t;
}

/* ---- setup and cleanup ----------------------------------------------------------------- */

static int kubectl(struct bench *b, const char *const *args, const char *input)
{
    struct errbuf eb = {{0}};
    int r = kube_emu_kubectl(&b->emu, args, input, 30000, NULL, &eb);

    if (r != 0) {
        fprintf(stderr, "kubectl %s %s: %d %s\n", args[0], args[1] ? args[1] : "", r, eb.msg);
    }
    return r == 0 ? 0 : -EIO;
}

static bool arb_healthy(void *arg)
{
    struct bench *b = arg;
    cJSON *j = arb_get(b, "/readyz");
    bool ok = j != NULL;

    cJSON_Delete(j);
    if (!ok) { /* /readyz may answer text: try the status alone */
        struct httpc_request req = {.method = "GET", .url = NULL};
        struct httpc_response resp = {0};
        struct errbuf eb = {{0}};
        char url[256];

        (void) snprintf(url, sizeof(url), "%s/readyz", b->url);
        req.url = url;
        ok = httpc_do(b->http, &req, &resp, &eb) == 0 && resp.status == 200;
        httpc_response_done(&resp);
    }
    return ok && !stop_flag;
}

static int arb_start(struct bench *b)
{
    static const char arbiter_bin[] = OG_BINARY_DIR "/og-arbiter";
    const char *argv[] = {
            arbiter_bin,  "serve",     "--listen",         b->listen,     "--db",
            b->db,        "--kube",    b->emu.kubeconfig,  "--namespace", "og-system",
            "--identity", "bench-arb", "--lease-duration", "5s",          "--log-level",
            "info",       NULL};

    if (tu_spawn(argv, b->log, &b->arb_pid) < 0) {
        b->arb_pid = -1;
        fprintf(stderr, "cannot start %s\n", argv[0]);
        return -EIO;
    }
    if (!tu_wait_until(arb_healthy, b, SETUP_WAIT_MS, 50)) {
        fprintf(stderr, "the arbiter did not become ready (log: %s)\n", b->log);
        return -ETIMEDOUT;
    }
    return 0;
}

static int setup(struct bench *b)
{
    const char *crd[] = {"apply", "-f", OG_SOURCE_DIR "/deploy/crd.yaml", NULL};
    const char *ns[] = {"apply", "-f", OG_SOURCE_DIR "/deploy/namespace.yaml", NULL};
    const char *apply[] = {"apply", "-f", "-", NULL};
    struct httpc_options hopt = {.connect_timeout_ms = 1000, .timeout_ms = 5000};
    struct kube_watch_options wo = {.path = "/apis/discovery.k8s.io/v1/namespaces/default/"
                                            "endpointslices",
                                    .label_selector = "kubernetes.io/service-name=og-demo-svc",
                                    .fn = on_slice,
                                    .data = b};
    struct errbuf eb = {{0}};
    uint16_t port = 0;
    int r;

    if (tu_mkdtemp(b->tmpdir, sizeof(b->tmpdir)) < 0 || tu_free_port("127.0.0.1", &port) < 0) {
        fprintf(stderr, "no temporary directory or free port\n");
        return -EIO;
    }
    (void) snprintf(b->db, sizeof(b->db), "%s/arbiter.db", b->tmpdir);
    (void) snprintf(b->log, sizeof(b->log), "%s/arbiter.log", b->tmpdir);
    (void) snprintf(b->listen, sizeof(b->listen), "127.0.0.1:%u", port);
    (void) snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%u", port);
    b->http = httpc_new(&hopt);
    if (!b->http) {
        return -EIO;
    }
    if (kube_emu_start(&b->emu, "bench", TOKEN, 0, NULL, &eb) < 0) {
        fprintf(stderr, "emulator: %s\n", eb.msg);
        return -EIO;
    }
    b->kc = kube_emu_client(&b->emu, NULL, &eb);
    if (!b->kc) {
        fprintf(stderr, "client: %s\n", eb.msg);
        return -EIO;
    }
    r = kubectl(b, crd, NULL);
    r = r ? r : kubectl(b, ns, NULL);
    r = r ? r : kubectl(b, apply, cluster_objects);
    r = r ? r : arb_start(b);
    for (int i = 0; r == 0 && i < N_AGENTS; i++) {
        char node[16];

        (void) snprintf(node, sizeof(node), "node%d", i + 1);
        b->agents[i].fa = fake_agent_new(b->url, node);
        r = b->agents[i].fa ? 0 : -ENOMEM;
    }
    r = r ? r : kubectl(b, apply, demo_yaml);
    if (r == 0 && kube_watch_open(b->kc, &wo, &b->watch, &eb) < 0) {
        fprintf(stderr, "watch: %s\n", eb.msg);
        r = -EIO;
    }
    return r;
}

static void bench_done(struct bench *b)
{
    kube_watch_free(b->watch);
    b->watch = NULL;
    for (int i = 0; i < N_AGENTS; i++) {
        fake_agent_free(b->agents[i].fa); /* waits for a send in flight (bounded) */
        b->agents[i].fa = NULL;
    }
    if (b->arb_pid > 0) {
        (void) tu_kill_wait(b->arb_pid, SIGTERM, 10000);
        b->arb_pid = -1;
    }
    kube_client_free(b->kc);
    b->kc = NULL;
    httpc_free(b->http);
    b->http = NULL;
    (void) kube_emu_stop(&b->emu);
    if (!str_is_empty(b->tmpdir)) {
        if (b->keep) {
            fprintf(stderr, "kept %s\n", b->tmpdir);
        } else {
            (void) tu_rmtree(b->tmpdir);
        }
    }
}

/* ---- rounds ---------------------------------------------------------------------------- */

/* Pumps for ms (or until a signal). */
static void pump_for(struct bench *b, uint64_t ms)
{
    for (uint64_t end = tu_now_ms() + ms; !stop_flag && tu_now_ms() < end;) {
        pump(b, NULL);
    }
}

/* The arbiter's view is ready with primary want (NULL: any) and the write slice names it. */
static bool settled(struct bench *b, const char *want, char *primary, size_t size)
{
    int p;

    if (!cluster_ready(b, want, primary, size)) {
        return false;
    }
    p = sim_index(primary);
    return p >= 0 && str_eq(b->slice_addr, member_ips[p]);
}

/*
 * Pumps until settled() (checked every 100 ms), then SETTLE_MS more; primary gets the
 * primary's name. 0, -ETIMEDOUT after timeout_ms, -ECANCELED on a signal.
 */
static int settle(struct bench *b, const char *want, uint64_t timeout_ms, char *primary,
                  size_t size)
{
    uint64_t end = tu_now_ms() + timeout_ms;

    while (!stop_flag && tu_now_ms() < end) {
        pump_for(b, 100);
        if (settled(b, want, primary, size)) {
            pump_for(b, SETTLE_MS);
            return stop_flag ? -ECANCELED : 0;
        }
    }
    return stop_flag ? -ECANCELED : -ETIMEDOUT;
}

struct round {
    uint64_t send, decision, order, report, slice;
};

/* One failover of primary p; fills *ret. */
static int round_run(struct bench *b, int p, struct round *ret, char *new_primary, size_t size)
{
    struct agent *a = &b->agents[p];
    struct pump_seen seen = {.promoted = -1};
    uint64_t end = tu_now_ms() + ROUND_WAIT_MS;
    char reason[256] = "";
    int np;

    /* Take the primary's agent out of the pump and let its long poll end. */
    a->paused = true;
    while (!stop_flag && a->busy && tu_now_ms() < end) {
        pump(b, NULL);
    }
    if (a->busy) {
        a->paused = false;
        return stop_flag ? -ECANCELED : -ETIMEDOUT;
    }
    (void) str_copy(b->old_ip, sizeof(b->old_ip), member_ips[p]);
    b->hit = false;
    b->armed = true;
    a->failed = true;
    a->sim.state = PROTO_STATE_FAILED;
    a->sim.role = PROTO_ROLE_PRIMARY;
    sim_push(b, p);
    ret->send = clock_wall_ms();
    agent_send(a);
    a->paused = false;
    while (!stop_flag && !b->hit && tu_now_ms() < end) {
        pump(b, &seen);
    }
    b->armed = false;
    if (!b->hit) {
        fprintf(stderr, "the write slice never named a new primary (it names \"%s\")\n",
                b->slice_addr);
        return stop_flag ? -ECANCELED : -ETIMEDOUT;
    }
    ret->slice = b->hit_wall_ms;
    np = seen.promoted;
    if (np < 0 || !str_eq(b->hit_addr, member_ips[np])) {
        fprintf(stderr, "the slice names %s, the promoted member is %s\n", b->hit_addr,
                np >= 0 ? member_ips[np] : "none");
        return -EPROTO;
    }
    ret->order = seen.order_wall_ms;
    ret->report = seen.report_wall_ms;
    ret->decision = decision_time(b, b->agents[np].sim.epoch, reason, sizeof(reason));
    if (ret->decision == 0) {
        fprintf(stderr, "no failover row at epoch %llu in the history\n",
                (unsigned long long) b->agents[np].sim.epoch);
        return -EPROTO;
    }
    if (b->trace) {
        fprintf(stderr, "decision: %s\n", reason);
    }
    (void) str_copy(new_primary, size, member_names[np]);
    /* The old primary comes back and rejoins as a standby. */
    a->failed = false;
    a->sim.state = PROTO_STATE_RUNNING;
    a->sim.role = PROTO_ROLE_STANDBY;
    return 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *) x, c = *(const int64_t *) y;

    return a < c ? -1 : a > c;
}

static void report(const char *what, int64_t *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), cmp_i64);
    printf("%-40s n=%zu median %lld ms, p90 %lld ms, min %lld, max %lld\n", what, n,
           (long long) v[n / 2], (long long) v[(n * 9) / 10], (long long) v[0],
           (long long) v[n - 1]);
}

static int run(struct bench *b, unsigned n)
{
    int64_t *dec = xcalloc(n, sizeof(int64_t)), *snd = xcalloc(n, sizeof(int64_t));
    int64_t *d_s = xcalloc(n, sizeof(int64_t)), *o_d = xcalloc(n, sizeof(int64_t));
    int64_t *s_r = xcalloc(n, sizeof(int64_t));
    char primary[PROTO_NAME_MAX + 1] = "";
    unsigned done = 0;
    int r = settle(b, NULL, SETUP_WAIT_MS, primary, sizeof(primary));

    if (r < 0) {
        fprintf(stderr, "the cluster did not become ready: %d\n", r);
    }
    for (unsigned i = 0; r == 0 && i < n; i++) {
        struct round rd = {0};
        char np[PROTO_NAME_MAX + 1] = "";

        r = round_run(b, sim_index(primary), &rd, np, sizeof(np));
        if (r < 0) {
            fprintf(stderr, "round %u: %d\n", i + 1, r);
            break;
        }
        dec[i] = (int64_t) rd.slice - (int64_t) rd.decision;
        snd[i] = (int64_t) rd.slice - (int64_t) rd.send;
        d_s[i] = (int64_t) rd.decision - (int64_t) rd.send;
        o_d[i] = (int64_t) rd.order - (int64_t) rd.decision;
        s_r[i] = (int64_t) rd.slice - (int64_t) rd.report;
        printf("round %2u: %s -> %s  decision-send %lld ms, order-decision %lld, slice-report %lld;"
               " slice-decision %lld ms, slice-send %lld ms\n",
               i + 1, primary, np, (long long) d_s[i], (long long) o_d[i], (long long) s_r[i],
               (long long) dec[i], (long long) snd[i]);
        (void) fflush(stdout);
        done++;
        r = settle(b, np, SETUP_WAIT_MS, primary, sizeof(primary));
        if (r < 0) {
            fprintf(stderr, "round %u: the cluster did not settle back: %d\n", i + 1, r);
        }
    }
    if (done > 0) {
        printf("\n");
        report("write slice - decision:", dec, done);
        report("write slice - failing report sent:", snd, done);
        report("  decision - failing report sent:", d_s, done);
        report("  promotion order seen - decision:", o_d, done);
        report("  write slice - primary's report sent:", s_r, done);
    }
    free(dec);
    free(snd);
    free(d_s);
    free(o_d);
    free(s_r);
    return done == n ? 0 : (r < 0 ? r : -EIO);
}

int main(int argc, char **argv)
{
    struct bench *b;
    uint32_t n = 20;
    struct sigaction sa;
    int r = 0;

    if (argc > 1 && str_to_u32(argv[1], 1, MAX_ROUNDS, &n) < 0) {
        fprintf(stderr, "usage: k8s_publish [N (1..%d)]\n", MAX_ROUNDS);
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void) sigaction(SIGINT, &sa, NULL);
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) signal(SIGPIPE, SIG_IGN);
    (void) log_setup("k8s_publish", "error", true);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        return 2;
    }
    if (!kube_emu_present() || !kube_emu_kubectl_present()) {
        curl_global_cleanup();
        return 2;
    }
    b = xcalloc(1, sizeof(*b));
    b->arb_pid = -1;
    b->trace = getenv("BENCH_TRACE") != NULL; /* NOLINT(concurrency-mt-unsafe): one thread */
    b->keep = getenv("BENCH_KEEP") != NULL;   /* NOLINT(concurrency-mt-unsafe): one thread */
    r = setup(b);
    if (r == 0) {
        r = run(b, n);
    }
    bench_done(b);
    free(b);
    curl_global_cleanup();
    return r == 0 ? 0 : 3;
}

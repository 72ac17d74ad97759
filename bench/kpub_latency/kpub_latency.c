/*
 * bench/kpub_latency/kpub_latency.c
 *
 * How long from kpub_cluster() naming a new primary to the write EndpointSlice naming it,
 * as seen by a watch on the Kubernetes API-server emulator (tests/kube/emulator.py over
 * TLS on loopback, started through tests/support/kube_emu). A three-member cluster's
 * primary moves round-robin N times (default 50); each change is timed from the call to the
 * watch event that carries the new address (and to the answer of kpub's PATCH, from
 * kpub_stats), and the figures are printed as median / p90 /
 * min / max in milliseconds, with the cost of the kpub_cluster() call itself. Not a test:
 * it asserts nothing. The emulator is Python, so its own request handling is part of what
 * is measured.
 *
 * Usage: kpub_latency [N] [SPACING_MS] (defaults 50 and 300: the time between changes; with
 * less than a pass takes, about 250 ms on the emulator, a change meets a request in flight,
 * which kpub lets finish before the slice write).
 *
 * Layer: shell (benchmark)
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
#include "tests/support/kube_emu.h"
#include "tests/support/testutil.h"

#define NS       "ns1"
#define AGENT_NS "og-system"
#define MAX_N    1000

static const char *const ips[3] = {"10.0.9.1", "10.0.9.2", "10.0.9.3"};

struct seen {
    char want[64];
    bool hit;
};

static void on_event(enum kube_event type, const cJSON *obj, void *data)
{
    struct seen *s = data;
    const cJSON *ep = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "endpoints"), 0);
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ep, "addresses"), 0);

    if ((type == KUBE_EVENT_ADDED || type == KUBE_EVENT_MODIFIED) &&
        str_eq(cJSON_GetStringValue(a), s->want)) {
        s->hit = true;
    }
}

static cJSON *view_for(int primary)
{
    cJSON *v = json_new_object();
    cJSON *members;

    json_add_str(v, "namespace", NS);
    json_add_str(v, "name", "bench");
    json_add_str(v, "state", "ready");
    json_add_str(v, "primary", "bench-x");
    cJSON_AddNumberToObject(v, "epoch", 1);
    members = json_add_array(v, "members");
    for (int i = 0; i < 3; i++) {
        cJSON *m = json_add_object(members, NULL);
        char name[32], node[16];

        (void) snprintf(name, sizeof(name), "bench-%d", i);
        (void) snprintf(node, sizeof(node), "n%d", i);
        json_add_str(m, "name", name);
        json_add_str(m, "node", node);
        json_add_str(m, "ip", ips[i]);
        json_add_str(m, "role", i == primary ? "primary" : "standby");
        json_add_str(m, "state", "running");
        if (i == primary) {
            cJSON_ReplaceItemInObjectCaseSensitive(v, "primary", cJSON_CreateString(name));
        }
    }
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}

static int create(struct kube_client *kc, const char *path, const char *text)
{
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;
    int r = json_parse(text, strlen(text), 0, &obj, &eb);

    r = r ? r : kube_create(kc, path, obj, NULL, NULL, &eb);
    cJSON_Delete(obj);
    return r == -EEXIST ? 0 : r;
}

static int setup(struct kube_client *kc)
{
    int r = create(kc, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"" NS "\"}}");

    r = r ? r : create(kc, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"" AGENT_NS "\"}}");
    for (int i = 0; i < 3 && r == 0; i++) {
        char *pod = xasprintf("{\"metadata\":{\"name\":\"og-agent-n%d\",\"labels\":{"
                              "\"app.kubernetes.io/name\":\"og-agent\"}},\"spec\":{\"nodeName\":"
                              "\"n%d\",\"containers\":[{\"name\":\"a\",\"image\":\"a\"}]}}",
                              i, i);

        r = create(kc, "/api/v1/namespaces/" AGENT_NS "/pods", pod);
        free(pod);
    }
    return r;
}

/* Steps the watch until s->hit or timeout_ms; true when hit. */
static bool wait_hit(struct kube_watch *w, struct seen *s, uint64_t timeout_ms)
{
    struct errbuf eb = {{0}};

    for (uint64_t end = tu_now_ms() + timeout_ms; !s->hit && tu_now_ms() < end;) {
        (void) kube_watch_step(w, 5, &eb);
    }
    return s->hit;
}

static void report(const char *what, uint64_t *v, size_t n, const char *unit)
{
    qsort(v, n, sizeof(v[0]), cmp_u64);
    printf("%-34s n=%zu median %llu %s, p90 %llu %s, min %llu, max %llu\n", what, n,
           (unsigned long long) v[n / 2], unit, (unsigned long long) v[(n * 9) / 10], unit,
           (unsigned long long) v[0], (unsigned long long) v[n - 1]);
}

static int run(struct kube_emu *emu, unsigned n, uint32_t spacing_ms, uint64_t *lat, uint64_t *call,
               uint64_t *landed)
{
    static const char cr_text[] = "{\"metadata\":{\"namespace\":\"" NS "\",\"name\":\"bench\","
                                  "\"generation\":1},\"spec\":{\"readport\":31001,"
                                  "\"writeport\":31002,\"dbport\":5432}}";
    struct kpub_options opt = {.agent_namespace = AGENT_NS,
                               .agent_selector = "app.kubernetes.io/name=og-agent",
                               .identity = "bench"};
    struct kube_watch_options wo = {.path = "/apis/discovery.k8s.io/v1/namespaces/" NS
                                            "/endpointslices",
                                    .label_selector = "kubernetes.io/service-name=og-bench-svc",
                                    .fn = on_event};
    struct kube_config cfg = {0};
    struct errbuf eb = {{0}};
    struct kube_client *kc = kube_emu_client(emu, NULL, &eb);
    struct kube_watch *w = NULL;
    struct kpub *p = NULL;
    struct seen s = {{0}};
    cJSON *cr = NULL;
    int r = kc ? setup(kc) : -EIO;

    r = r ? r : kube_emu_config(emu, NULL, &cfg, &eb);
    p = r ? NULL : kpub_start(&cfg, &opt, &eb);
    if (!p || json_parse(cr_text, strlen(cr_text), 0, &cr, &eb) < 0) {
        fprintf(stderr, "setup failed: %d %s\n", r, eb.msg);
        r = -EIO;
        goto out;
    }
    kpub_set_active(p, true);
    wo.data = &s;
    r = kube_watch_open(kc, &wo, &w, &eb);
    for (unsigned i = 0; r == 0 && i <= n; i++) {
        cJSON *v = view_for((int) (i % 3));
        uint64_t t0, t1;

        (void) str_copy(s.want, sizeof(s.want), ips[i % 3]);
        s.hit = false;
        t0 = tu_now_ms();
        kpub_cluster(p, cr, v);
        t1 = tu_now_ms();
        cJSON_Delete(v);
        if (!wait_hit(w, &s, 10000)) {
            fprintf(stderr, "change %u: the slice never named %s\n", i, s.want);
            r = -ETIMEDOUT;
            break;
        }
        lat[i ? i - 1 : 0] = tu_now_ms() - t0;
        tu_sleep_ms(spacing_ms); /* short: the next change meets the pass's labels, status */
        if (i > 0) {             /* the first one creates everything: not a change */
            struct kpub_stats st;

            call[i - 1] = t1 - t0;
            kpub_stats(p, &st);
            landed[i - 1] = st.last_slice_ms >= t0 ? st.last_slice_ms - t0 : 0;
        }
    }
out:
    kube_watch_free(w);
    kpub_stop(p);
    kube_config_done(&cfg);
    kube_client_free(kc);
    cJSON_Delete(cr);
    return r;
}

int main(int argc, char **argv)
{
    struct kube_emu emu;
    struct errbuf eb = {{0}};
    uint32_t n = 50;
    uint32_t spacing = 300;
    uint64_t *lat, *call, *landed;
    int r;

    if ((argc > 1 && str_to_u32(argv[1], 1, MAX_N, &n) < 0) ||
        (argc > 2 && str_to_u32(argv[2], 0, 10000, &spacing) < 0)) {
        fprintf(stderr, "usage: kpub_latency [N (1..%d)] [SPACING_MS]\n", MAX_N);
        return 1;
    }
    (void) signal(SIGPIPE, SIG_IGN);
    (void) log_setup("kpub_latency", "error", true);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK || !kube_emu_present()) {
        return 2;
    }
    if (kube_emu_start(&emu, "bench", "bench-token", 0, NULL, &eb) < 0) {
        fprintf(stderr, "emulator: %s\n", eb.msg);
        return 2;
    }
    lat = xcalloc(n, sizeof(*lat));
    call = xcalloc(n, sizeof(*call));
    landed = xcalloc(n, sizeof(*landed));
    r = run(&emu, n, spacing, lat, call, landed);
    if (r == 0) {
        report("kpub_cluster() -> slice watched:", lat, n, "ms");
        report("kpub_cluster() -> PATCH answered:", landed, n, "ms");
        report("kpub_cluster() call itself:", call, n, "ms");
    }
    (void) kube_emu_stop(&emu);
    free(lat);
    free(call);
    free(landed);
    curl_global_cleanup();
    return r == 0 ? 0 : 3;
}

/*
 * tests/integration/test_lease.c
 *
 * arbiter/lease (leader election with a coordination.k8s.io/v1 Lease) against the API-server
 * emulator (tests/kube/emulator.py over TLS, tests/support/kube_emu.h): one candidate becomes
 * leader and writes a valid Lease; a second waits; a stop releases the Lease and the second
 * takes over well before the duration; an abandoned Lease (a killed holder) is taken over
 * after about the duration, not before; a holder that cannot reach the API server (emulator
 * frozen with SIGSTOP) stops being leader within the renew deadline, before anyone could take
 * over, and gets it back once the server answers; stopping is bounded while the server is
 * unreachable. Timings use short leases (duration 6 s, renew deadline 4 s, retry 1 s) and
 * generous bounds: the assertions are about order (before/after the duration), not speed.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/lease.h"
#include "common/kube.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/kube_emu.h"
#include "tests/support/testutil.h"

#define DURATION_MS 6000
#define DEADLINE_MS 4000
#define RETRY_MS    1000
#define LEASE_NS    "default"
#define LEASE_NAME  "og-arbiter-test"
#define LEASE_PATH  "/apis/coordination.k8s.io/v1/namespaces/default/leases/" LEASE_NAME

/* What on_change told one candidate. */
struct seen {
    pthread_mutex_t mu;
    unsigned acquired, lost;
    bool leader;
};

static struct kube_emu emu;
static bool emu_up;
static struct kube_config *cfg;
static struct kube_client *kc; /* the test's own view of the Lease */

static void on_change(bool leader, void *data)
{
    struct seen *s = data;

    pthread_mutex_lock(&s->mu);
    s->leader = leader;
    if (leader) {
        s->acquired++;
    } else {
        s->lost++;
    }
    pthread_mutex_unlock(&s->mu);
}

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    (void) pthread_mutex_init(&s->mu, NULL);
}

static unsigned seen_count(struct seen *s, bool acquired)
{
    unsigned n;

    pthread_mutex_lock(&s->mu);
    n = acquired ? s->acquired : s->lost;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static struct lease *candidate(const char *identity, struct seen *s)
{
    struct lease_options opt = {.namespace_ = LEASE_NS,
                                .name = LEASE_NAME,
                                .identity = identity,
                                .duration_ms = DURATION_MS,
                                .renew_deadline_ms = DEADLINE_MS,
                                .retry_period_ms = RETRY_MS,
                                .on_change = on_change,
                                .data = s};
    struct errbuf eb = {{0}};
    struct lease *l = lease_start(cfg, &opt, &eb);

    if (!l) {
        printf("\n  lease_start(%s): %s\n", identity, eb.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(l);
    return l;
}

static bool is_leader(void *arg)
{
    return lease_is_leader(arg);
}

static bool is_follower(void *arg)
{
    return !lease_is_leader(arg);
}

/* Polls l every 20 ms up to timeout_ms for leadership == want; the time it took, or -1. */
static int64_t wait_leader(struct lease *l, bool want, uint64_t timeout_ms)
{
    uint64_t t0 = tu_now_ms();

    if (!tu_wait_until(want ? is_leader : is_follower, l, timeout_ms, 20)) {
        return -1;
    }
    return (int64_t) (tu_now_ms() - t0);
}

/* The Lease as the API server holds it now, or NULL. */
static cJSON *get_lease(void)
{
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;

    if (kube_get(kc, LEASE_PATH, &obj, NULL, &eb) < 0) {
        printf("\n  get lease: %s\n", eb.msg);
        return NULL;
    }
    return obj;
}

static const char *spec_str(const cJSON *lease, const char *key)
{
    const char *s =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(lease, "spec"), key));

    return s ? s : "";
}

static double spec_num(const cJSON *lease, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(lease, "spec"), key));
}

/* "2026-11-25T01:02:03.123456Z" */
static bool is_microtime(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

    if (strlen(s) != sizeof(shape) - 1) {
        return false;
    }
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) {
            return false;
        }
    }
    return true;
}

static void delete_lease(void)
{
    struct errbuf eb = {{0}};
    int r = kube_delete(kc, LEASE_PATH, NULL, NULL, &eb);

    CU_ASSERT(r == 0 || r == -ENOENT);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_lease_bad_options(void)
{
    struct lease_options opt = {.name = LEASE_NAME,
                                .identity = "x",
                                .duration_ms = 5000,
                                .renew_deadline_ms = 5000,
                                .retry_period_ms = 1000};
    struct errbuf eb = {{0}};

    CU_ASSERT_PTR_NULL(lease_start(cfg, &opt, &eb));
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "renew deadline"));
    opt.renew_deadline_ms = 3000;
    opt.name = "a/b";
    CU_ASSERT_PTR_NULL(lease_start(cfg, &opt, &eb));
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "bad namespace or name"));
    lease_stop(NULL);
    lease_abandon(NULL);
    CU_ASSERT_FALSE(lease_is_leader(NULL));
}

/* One leader, one waiting; a stop releases the Lease and the other takes over at once. */
static void test_lease_release_hands_over(void)
{
    struct seen sa, sb;
    struct lease *a, *b;
    char holder[LEASE_IDENTITY_MAX];
    cJSON *obj;
    uint64_t t0;
    int64_t took;

    if (!emu_up) {
        return;
    }
    seen_init(&sa);
    seen_init(&sb);
    a = candidate("arbiter-a", &sa);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_TRUE(wait_leader(a, true, 10000) >= 0);
    CU_ASSERT_EQUAL(seen_count(&sa, true), 1);
    lease_holder(a, holder, sizeof(holder));
    CU_ASSERT_STRING_EQUAL(holder, "arbiter-a");

    obj = get_lease();
    CU_ASSERT_STRING_EQUAL(spec_str(obj, "holderIdentity"), "arbiter-a");
    CU_ASSERT_EQUAL(spec_num(obj, "leaseDurationSeconds"), DURATION_MS / 1000);
    CU_ASSERT_EQUAL(spec_num(obj, "leaseTransitions"), 0);
    CU_ASSERT_TRUE(is_microtime(spec_str(obj, "acquireTime")));
    CU_ASSERT_TRUE(is_microtime(spec_str(obj, "renewTime")));
    cJSON_Delete(obj);

    b = candidate("arbiter-b", &sb);
    CU_ASSERT_FATAL(b != NULL);
    /* b reads the Lease, sees a renewing it, and waits. */
    tu_sleep_ms(3 * RETRY_MS);
    CU_ASSERT_FALSE(lease_is_leader(b));
    CU_ASSERT_TRUE(lease_is_leader(a));
    lease_holder(b, holder, sizeof(holder));
    CU_ASSERT_STRING_EQUAL(holder, "arbiter-a");

    t0 = tu_now_ms();
    lease_stop(a);
    CU_ASSERT(tu_now_ms() - t0 < 2 * DURATION_MS);
    CU_ASSERT_EQUAL(seen_count(&sa, false), 1);
    took = wait_leader(b, true, 10000);
    printf(" [release: taken over in %lld ms]", (long long) took);
    /* Released: taken over at b's next retry, well before a duration would have passed. */
    CU_ASSERT_TRUE(took >= 0 && took < DURATION_MS - RETRY_MS);
    obj = get_lease();
    CU_ASSERT_STRING_EQUAL(spec_str(obj, "holderIdentity"), "arbiter-b");
    CU_ASSERT_EQUAL(spec_num(obj, "leaseTransitions"), 1);
    cJSON_Delete(obj);
    CU_ASSERT_EQUAL(seen_count(&sb, true), 1);
    CU_ASSERT_EQUAL(seen_count(&sb, false), 0);
    lease_stop(b);
    obj = get_lease();
    CU_ASSERT_STRING_EQUAL(spec_str(obj, "holderIdentity"), "");
    cJSON_Delete(obj);
    delete_lease();
}

/* A holder that vanishes without releasing: the other waits about a duration, not less. */
static void test_lease_abandoned_expires(void)
{
    struct seen sa, sb;
    struct lease *a, *b;
    char holder[LEASE_IDENTITY_MAX] = "";
    uint64_t t0;
    int64_t took;

    if (!emu_up) {
        return;
    }
    seen_init(&sa);
    seen_init(&sb);
    a = candidate("arbiter-a", &sa);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_TRUE(wait_leader(a, true, 10000) >= 0);
    b = candidate("arbiter-b", &sb);
    CU_ASSERT_FATAL(b != NULL);
    for (int i = 0; i < 100 && !str_eq(holder, "arbiter-a"); i++) {
        tu_sleep_ms(50);
        lease_holder(b, holder, sizeof(holder));
    }
    CU_ASSERT_STRING_EQUAL(holder, "arbiter-a");

    /* Killed: no release. b's clock runs from a's last renew it saw (<= RETRY_MS ago). */
    t0 = tu_now_ms();
    lease_abandon(a);
    took = wait_leader(b, true, DURATION_MS + 10000);
    printf(" [abandoned: taken over in %lld ms]", (long long) took);
    CU_ASSERT_TRUE(took >= 0);
    CU_ASSERT_TRUE(took >= DURATION_MS - 2 * RETRY_MS);
    CU_ASSERT_TRUE(tu_now_ms() - t0 <= DURATION_MS + 10000);
    lease_stop(b);
    delete_lease();
}

/* The API server unreachable: the holder steps down within the renew deadline. */
static void test_lease_unreachable_steps_down(void)
{
    struct seen sa;
    struct lease *a;
    uint64_t t0;
    int64_t took;

    if (!emu_up) {
        return;
    }
    seen_init(&sa);
    a = candidate("arbiter-a", &sa);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_TRUE(wait_leader(a, true, 10000) >= 0);
    tu_sleep_ms(RETRY_MS); /* at least one renew done */

    CU_ASSERT_EQUAL_FATAL(kube_emu_freeze(&emu, true), 0);
    took = wait_leader(a, false, DURATION_MS + 5000);
    printf(" [frozen: stepped down in %lld ms]", (long long) took);
    /*
     * The last renew succeeded before the freeze; the step-down comes at its renew deadline
     * (plus at most one request timeout), always before another could take over.
     */
    CU_ASSERT_TRUE(took >= 0 && took < DURATION_MS);
    CU_ASSERT_EQUAL(seen_count(&sa, false), 1);

    /* Back: the Lease still names us, so we renew it and lead again. */
    CU_ASSERT_EQUAL(kube_emu_freeze(&emu, false), 0);
    CU_ASSERT_TRUE(wait_leader(a, true, 10000) >= 0);
    CU_ASSERT_EQUAL(seen_count(&sa, true), 2);

    /* Stopping while the server is unreachable is bounded. */
    CU_ASSERT_EQUAL_FATAL(kube_emu_freeze(&emu, true), 0);
    t0 = tu_now_ms();
    lease_stop(a);
    CU_ASSERT(tu_now_ms() - t0 < 3 * RETRY_MS + 2000);
    CU_ASSERT_EQUAL(kube_emu_freeze(&emu, false), 0);
    delete_lease();
}

/* Failing writes (503 on every update) make the holder step down too; then it recovers. */
static void test_lease_failing_writes_step_down(void)
{
    struct seen sa;
    struct lease *a;
    struct errbuf eb = {{0}};
    int64_t took;

    if (!emu_up) {
        return;
    }
    seen_init(&sa);
    a = candidate("arbiter-a", &sa);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_TRUE(wait_leader(a, true, 10000) >= 0);
    CU_ASSERT_EQUAL(kube_emu_control(kc, "/_emu/fail?code=503&count=1000&method=PUT", &eb), 0);
    took = wait_leader(a, false, DURATION_MS + 5000);
    CU_ASSERT_TRUE(took >= 0 && took < DURATION_MS);
    lease_abandon(a);
    delete_lease();
}

/* ---- suite ------------------------------------------------------------------------------ */

static int suite_init(void)
{
    struct errbuf eb = {{0}};

    cfg = xcalloc(1, sizeof(*cfg));
    if (!kube_emu_present()) {
        return 0;
    }
    if (kube_emu_start(&emu, "lease", "lease-token", 0, NULL, &eb) < 0 ||
        kube_emu_config(&emu, NULL, cfg, &eb) < 0) {
        printf("\n  emulator: %s\n", eb.msg);
        return -1;
    }
    kc = kube_emu_client(&emu, NULL, &eb);
    emu_up = kc != NULL;
    return emu_up ? 0 : -1;
}

static int suite_cleanup(void)
{
    kube_client_free(kc);
    kube_config_done(cfg);
    free(cfg);
    return kube_emu_stop(&emu) < 0 ? -1 : 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"bad options", test_lease_bad_options},
            {"release hands over", test_lease_release_hands_over},
            {"abandoned lease expires after the duration", test_lease_abandoned_expires},
            {"unreachable API server: step down", test_lease_unreachable_steps_down},
            {"failing writes: step down", test_lease_failing_writes_step_down},
            CU_TEST_INFO_NULL,
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("lease", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

/*
 * tests/integration/test_kube_emulator.c
 *
 * Smoke test of the Kubernetes API-server emulator (tests/kube/emulator.py) from C, through
 * the project's own HTTP client (common/httpc, libcurl) over TLS with the emulator's test CA:
 * the peer the C Kubernetes client and the controller are tested against answers libcurl as
 * it answers kubectl. Covers the bearer token (401 Status), create / get / merge patch with
 * resourceVersion, a 409 Conflict, a watch stream ended by timeoutSeconds (chunked), and an
 * EndpointSlice with a loopback address rejected with 422. The emulator's own behaviour is
 * tested in depth by tests/kube/test_emulator.py.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/httpc.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define EMU_PYTHON  "/usr/bin/python3"
#define EMU_SCRIPT  OG_SOURCE_DIR "/tests/kube/emulator.py"
#define EMU_CA      OG_SOURCE_DIR "/tests/kube/tls/emu-cert.pem"
#define EMU_TOKEN   "c-smoke-token"
#define CM_PATH     "/api/v1/namespaces/default/configmaps"
#define SLICES_PATH "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

static char tmpdir[512];
static char port_file[600];
static char base_url[64];
static pid_t emu_pid = -1;
static struct httpc *client;    /* with the token */
static struct httpc *anonymous; /* without */

/* True once the emulator has written its port (it writes the file atomically). */
static bool port_written(void *arg)
{
    char *txt = tu_read_file(port_file);
    uint32_t port = 0;
    bool ok;

    (void) arg;
    if (txt == NULL) {
        return false;
    }
    txt[strcspn(txt, "\n")] = '\0';
    ok = str_to_u32(txt, 1, 65535, &port) == 0;
    free(txt);
    if (ok) {
        (void) snprintf(base_url, sizeof(base_url), "https://127.0.0.1:%u", port);
    }
    return ok;
}

/* method path [body] → HTTP status and parsed body (caller frees *ret); -1 on no answer. */
static long call(struct httpc *c, const char *method, const char *path, const char *body,
                 const char *ctype, cJSON **ret)
{
    char url[512];
    struct errbuf eb = {0};
    struct httpc_response resp = {0};
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? ctype : NULL,
                                .body = body,
                                .body_len = body ? strlen(body) : 0};
    long status;

    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    if (httpc_do(c, &req, &resp, &eb) < 0) {
        fprintf(stderr, "%s %s: %s\n", method, path, eb.msg);
        return -1;
    }
    status = resp.status;
    if (ret != NULL) {
        *ret = cJSON_Parse(resp.body);
    }
    httpc_response_done(&resp);
    return status;
}

static const char *jstr(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b != NULL) {
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    }
    return cJSON_GetStringValue(x);
}

static void test_kube_emulator_token_required(void)
{
    cJSON *st = NULL;

    CU_ASSERT_EQUAL(call(anonymous, "GET", "/api/v1/namespaces", NULL, NULL, &st), 401);
    CU_ASSERT_STRING_EQUAL(jstr(st, "kind", NULL), "Status");
    CU_ASSERT_STRING_EQUAL(jstr(st, "reason", NULL), "Unauthorized");
    cJSON_Delete(st);
    CU_ASSERT_EQUAL(call(client, "GET", "/api/v1/namespaces/default", NULL, NULL, NULL), 200);
}

static void test_kube_emulator_crud_and_conflict(void)
{
    cJSON *o = NULL, *p = NULL;
    char body[256], stale[256];
    uint32_t rv1 = 0, rv2 = 0;

    CU_ASSERT_EQUAL(call(client, "POST", CM_PATH,
                         "{\"metadata\":{\"name\":\"smoke\"},\"data\":{\"k\":\"v\"}}",
                         "application/json", &o),
                    201);
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT_EQUAL(str_to_u32(jstr(o, "metadata", "resourceVersion"), 1, UINT32_MAX, &rv1), 0);
    (void) snprintf(stale, sizeof(stale),
                    "{\"metadata\":{\"resourceVersion\":\"%u\"},\"data\":{\"k\":\"2\"}}", rv1);
    CU_ASSERT_EQUAL(
            call(client, "PATCH", CM_PATH "/smoke", stale, "application/merge-patch+json", &p),
            200);
    CU_ASSERT_STRING_EQUAL(jstr(p, "data", "k"), "2");
    CU_ASSERT_EQUAL(str_to_u32(jstr(p, "metadata", "resourceVersion"), 1, UINT32_MAX, &rv2), 0);
    CU_ASSERT(rv2 > rv1);
    cJSON_Delete(p);
    p = NULL;
    /* the same precondition again: the object has moved on */
    CU_ASSERT_EQUAL(
            call(client, "PATCH", CM_PATH "/smoke", stale, "application/merge-patch+json", &p),
            409);
    CU_ASSERT_STRING_EQUAL(jstr(p, "reason", NULL), "Conflict");
    cJSON_Delete(p);
    (void) snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"smoke\"}}");
    CU_ASSERT_EQUAL(call(client, "POST", CM_PATH, body, "application/json", NULL), 409);
    cJSON_Delete(o);
}

static void test_kube_emulator_watch_stream(void)
{
    cJSON *lst = NULL;
    char path[256];
    char url[512];
    struct errbuf eb = {0};
    struct httpc_response resp = {0};
    struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 10000};

    CU_ASSERT_EQUAL(call(client, "GET", CM_PATH, NULL, NULL, &lst), 200);
    CU_ASSERT_FATAL(lst != NULL);
    (void) snprintf(path, sizeof(path),
                    CM_PATH "?watch=1&timeoutSeconds=1&allowWatchBookmarks=true&"
                            "resourceVersion=%s",
                    jstr(lst, "metadata", "resourceVersion"));
    cJSON_Delete(lst);
    CU_ASSERT_EQUAL(call(client, "POST", CM_PATH, "{\"metadata\":{\"name\":\"watched\"}}",
                         "application/json", NULL),
                    201);
    (void) snprintf(url, sizeof(url), "%s%s", base_url, path);
    CU_ASSERT_FATAL(httpc_do(client, &req, &resp, &eb) == 0);
    CU_ASSERT_EQUAL(resp.status, 200);
    /* one JSON event per line; the stream ends after timeoutSeconds */
    CU_ASSERT_PTR_NOT_NULL(strstr(resp.body, "{\"type\":\"ADDED\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(resp.body, "\"name\":\"watched\""));
    httpc_response_done(&resp);
}

static void test_kube_emulator_loopback_endpoint_rejected(void)
{
    cJSON *st = NULL;
    const cJSON *cause;
    const char *slice = "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
                        "\"metadata\":{\"name\":\"og-x-svc\"},\"addressType\":\"IPv4\","
                        "\"endpoints\":[{\"addresses\":[\"127.0.0.1\"]}]}";

    CU_ASSERT_EQUAL(call(client, "POST", SLICES_PATH, slice, "application/json", &st), 422);
    CU_ASSERT_STRING_EQUAL(jstr(st, "reason", NULL), "Invalid");
    cause = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "details"), "causes"),
                               0);
    CU_ASSERT_STRING_EQUAL(jstr(cause, "field", NULL), "endpoints[0].addresses[0]");
    cJSON_Delete(st);
}

static int suite_init(void)
{
    struct httpc_options opt = {.connect_timeout_ms = 2000,
                                .timeout_ms = 5000,
                                .ca_file = EMU_CA,
                                .bearer_token = EMU_TOKEN};
    struct httpc_options anon = {.connect_timeout_ms = 2000, .timeout_ms = 5000, .ca_file = EMU_CA};
    char log_path[600];

    if (access(EMU_PYTHON, X_OK) != 0 || tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return -1;
    }
    (void) snprintf(port_file, sizeof(port_file), "%s/port", tmpdir);
    (void) snprintf(log_path, sizeof(log_path), "%s/emulator.log", tmpdir);
    {
        const char *argv[] = {EMU_PYTHON, EMU_SCRIPT,  "--listen",    "127.0.0.1:0",
                              "--token",  EMU_TOKEN,   "--port-file", port_file,
                              "--tls",    "--history", "100",         NULL};
        if (tu_spawn(argv, log_path, &emu_pid) < 0) {
            return -1;
        }
    }
    if (!tu_wait_until(port_written, NULL, 15000, 20)) {
        return -1;
    }
    client = httpc_new(&opt);
    anonymous = httpc_new(&anon);
    return client != NULL && anonymous != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
    httpc_free(client);
    httpc_free(anonymous);
    if (emu_pid > 0) {
        (void) tu_kill_wait(emu_pid, SIGTERM, 5000);
    }
    if (tmpdir[0] != '\0') {
        (void) tu_rmtree(tmpdir);
    }
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"token required", test_kube_emulator_token_required},
            {"create, patch, conflict", test_kube_emulator_crud_and_conflict},
            {"watch stream", test_kube_emulator_watch_stream},
            {"loopback endpoint rejected", test_kube_emulator_loopback_endpoint_rejected},
            CU_TEST_INFO_NULL,
    };
    int rc;

    (void) curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cu_run_with("kube_emulator", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

/*
 * tests/integration/test_kube_client.c
 *
 * common/kube over real HTTP on loopback, in two halves.
 *
 * Canned responder (common/http.h, always runs): Status bodies surfaced as errno + reason +
 * message, the 401 → re-read token → retry path, `continue` pagination with an expired token
 * in the middle, a scripted watch stream (events, a bookmark, an ERROR 410 event, an HTTP 410,
 * an event without its newline, a 500) checking the resourceVersion each request resumes
 * from and the synthesised DELETED of a re-list, and transport errors (refused, timeout,
 * response cap).
 *
 * The Kubernetes API emulator (tests/kube/emulator.py, run with python3 over TLS with the
 * kubeconfig it writes): CRUD, selectors, merge / strategic / JSON patches, optimistic
 * concurrency and kube_update_retry, server Status errors (404, 409, 422, 401, 503); watches:
 * events, bookmarks advancing the resourceVersion, resuming from a stored version without
 * duplicates, re-list after compaction (410), a server stopped with SIGSTOP, a server killed
 * and restarted on the same port with a rotated token. When the emulator is missing, those
 * tests say so loudly and pass nothing.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/http.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/kube_emu.h"
#include "tests/support/testutil.h"

#define NS         "default"
#define CM_PATH    "/api/v1/namespaces/" NS "/configmaps"
#define MAX_EVENTS 256

static char *test_dir;

/* ---- event collector ---- */

struct seen {
    enum kube_event type;
    char name[64];
    bool has_uid;
};

struct collector {
    struct seen ev[MAX_EVENTS];
    size_t n;
    unsigned count[_KUBE_EVENT_MAX];
};

static void collect(enum kube_event type, const cJSON *obj, void *data)
{
    struct collector *c = data;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");

    c->count[type]++;
    if (c->n < MAX_EVENTS) {
        struct seen *s = &c->ev[c->n++];

        s->type = type;
        (void) snprintf(s->name, sizeof(s->name), "%s",
                        cJSON_IsString(name) ? name->valuestring : "");
        s->has_uid = cJSON_GetObjectItemCaseSensitive(meta, "uid") != NULL;
    }
}

/* Events of type for name (any name when NULL) from index `from` on. */
static unsigned coll_count(const struct collector *c, size_t from, enum kube_event type,
                           const char *name)
{
    unsigned n = 0;

    for (size_t i = from; i < c->n; i++) {
        if (c->ev[i].type == type && (!name || strcmp(c->ev[i].name, name) == 0)) {
            n++;
        }
    }
    return n;
}

/* The index of the first such event from `from` on, or -1. */
static long coll_index(const struct collector *c, size_t from, enum kube_event type,
                       const char *name)
{
    for (size_t i = from; i < c->n; i++) {
        if (c->ev[i].type == type && (!name || strcmp(c->ev[i].name, name) == 0)) {
            return (long) i;
        }
    }
    return -1;
}

struct until {
    const struct collector *c;
    enum kube_event type;
    const char *name;
    unsigned min;
};

/* Steps w until u's condition holds or timeout_ms pass; true when it held. */
static bool step_until(struct kube_watch *w, const struct until *u, uint64_t timeout_ms)
{
    uint64_t deadline = tu_now_ms() + timeout_ms;

    for (;;) {
        struct errbuf eb = {{0}};

        if (coll_count(u->c, 0, u->type, u->name) >= u->min) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            printf("\n  timed out waiting for %u x %s %s\n", u->min, kube_event_to_string(u->type),
                   u->name ? u->name : "");
            return false;
        }
        (void) kube_watch_step(w, 50, &eb);
    }
}

/* Steps w for ms milliseconds whatever happens; returns the number of failed steps. */
static unsigned step_for(struct kube_watch *w, uint64_t ms)
{
    uint64_t deadline = tu_now_ms() + ms;
    unsigned failed = 0;

    while (tu_now_ms() < deadline) {
        struct errbuf eb = {{0}};

        failed += kube_watch_step(w, 50, &eb) < 0;
    }
    return failed;
}

/* ---- canned responder ---- */

struct fixture {
    pthread_mutex_t lock;
    int requests;
    int list_calls;
    int watch_calls;
    int page_calls;
    bool expire_continue_once;
    char watch_rv[8][32]; /* resourceVersion asked by each watch request */
    char selector[128];
};

static struct fixture fx = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fx_reset(void)
{
    pthread_mutex_lock(&fx.lock);
    fx.requests = fx.list_calls = fx.watch_calls = fx.page_calls = 0;
    fx.expire_continue_once = false;
    memset(fx.watch_rv, 0, sizeof(fx.watch_rv));
    fx.selector[0] = '\0';
    pthread_mutex_unlock(&fx.lock);
}

/* A Status body as the API server writes it. */
static void reply_status(struct http_response *resp, int code, const char *reason,
                         const char *message)
{
    cJSON *j = json_new_object();

    json_add_str(j, "kind", "Status");
    json_add_str(j, "apiVersion", "v1");
    json_add_object(j, "metadata");
    json_add_str(j, "status", "Failure");
    json_add_str(j, "message", message);
    json_add_str(j, "reason", reason);
    json_add_u64(j, "code", (uint64_t) code);
    http_response_json(resp, code, j);
}

static void reply_text(struct http_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->body = xstrdup(text);
    resp->content_type = "application/json";
}

/* GET /api/v1/namespaces/{ns}/configmaps/{name}: canned errors by name. */
static void h_object(const struct http_request *req, struct http_response *resp, void *ud)
{
    const char *name = http_request_param(req, "name");

    (void) ud;
    pthread_mutex_lock(&fx.lock);
    fx.requests++;
    pthread_mutex_unlock(&fx.lock);
    if (strcmp(name, "missing") == 0) {
        reply_status(resp, 404, "NotFound", "configmaps \"missing\" not found");
    } else if (strcmp(name, "taken") == 0) {
        reply_status(resp, 409, "AlreadyExists", "configmaps \"taken\" already exists");
    } else if (strcmp(name, "stale") == 0) {
        reply_status(resp, 409, "Conflict",
                     "Operation cannot be fulfilled on configmaps \"stale\": the object has "
                     "been modified; please apply your changes to the latest version");
    } else if (strcmp(name, "invalid") == 0) {
        reply_status(resp, 422, "Invalid", "ConfigMap \"invalid\" is invalid: data: Invalid");
    } else if (strcmp(name, "proxy") == 0) {
        resp->status = 502;
        resp->body = xstrdup("<html>bad gateway</html>");
        resp->content_type = "text/html";
    } else if (strcmp(name, "slow") == 0) {
        tu_sleep_ms(1500);
        reply_text(resp, 200, "{}");
    } else if (strcmp(name, "huge") == 0) {
        size_t n = KUBE_MAX_RESPONSE + 1024;
        char *body = xmalloc(n + 1);

        memset(body, ' ', n);
        body[0] = '{';
        body[n - 1] = '}';
        body[n] = '\0';
        resp->status = 200;
        resp->body = body;
    } else if (strcmp(name, "auth") == 0) {
        if (!str_eq(req->authorization, "Bearer new-token")) {
            reply_status(resp, 401, "Unauthorized", "Unauthorized");
        } else {
            reply_text(resp, 200, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"auth\"}}");
        }
    } else {
        reply_text(resp, 200, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}");
    }
}

/* A list page of configmaps named in names (space separated) at resourceVersion rv. */
static void reply_list(struct http_response *resp, const char *names, const char *rv,
                       const char *cont)
{
    cJSON *j = json_new_object();
    cJSON *meta = json_add_object(j, "metadata");
    cJSON *items = json_add_array(j, "items");

    json_add_str(j, "kind", "ConfigMapList");
    json_add_str(meta, "resourceVersion", rv);
    if (cont) {
        json_add_str(meta, "continue", cont);
        json_add_u64(meta, "remainingItemCount", 2);
    }
    for (const char *p = names; *p;) {
        size_t len = strcspn(p, " ");
        char *n = xstrndup(p, len);
        cJSON *item = json_add_object(items, NULL);
        cJSON *m = json_add_object(item, "metadata");

        json_add_str(m, "name", n);
        json_add_str(m, "namespace", NS);
        json_add_str(m, "uid", n);
        json_add_str(m, "resourceVersion", rv);
        free(n);
        p += len + (p[len] == ' ');
    }
    http_response_json(resp, 200, j);
}

#define EV(type, name, rv)                                                                     \
    "{\"type\":\"" type "\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name \
    "\",\"namespace\":\"" NS "\",\"uid\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}"

/* The scripted watch: see the test below for what each request answers. */
static void canned_watch(struct http_response *resp, int call)
{
    switch (call) {
    case 1:
        reply_text(resp, 200,
                   EV("ADDED", "c", "11") "\n" EV("MODIFIED", "a",
                                                  "12") "\n\n"
                                                        "{\"type\":\"BOOKMARK\",\"object\":{"
                                                        "\"kind\":\"ConfigMap\",\"metadata\":"
                                                        "{\"resourceVersion\":\"15\"}}}\n");
        break;
    case 2:
        reply_text(resp, 200,
                   "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                   "\"status\":\"Failure\",\"message\":\"too old resource version: 15 (18)\","
                   "\"reason\":\"Expired\",\"code\":410}}\n");
        break;
    case 3:
        reply_status(resp, 410, "Expired", "too old resource version: 20 (25)");
        break;
    case 4:
        reply_text(resp, 200, EV("ADDED", "e", "31")); /* no newline at the end */
        break;
    default:
        reply_status(resp, 500, "InternalError", "etcd is sad");
        break;
    }
}

/* GET /api/v1/namespaces/{ns}/configmaps: lists (paged or not) and watches. */
static void h_collection(const struct http_request *req, struct http_response *resp, void *ud)
{
    const char *cont = http_request_query(req, "continue");
    const char *sel = http_request_query(req, "labelSelector");
    int call;

    (void) ud;
    pthread_mutex_lock(&fx.lock);
    fx.requests++;
    (void) snprintf(fx.selector, sizeof(fx.selector), "%s", sel ? sel : "");
    if (str_eq(http_request_query(req, "watch"), "1")) {
        call = ++fx.watch_calls;
        if (call <= 8) {
            const char *rv = http_request_query(req, "resourceVersion");

            (void) snprintf(fx.watch_rv[call - 1], sizeof(fx.watch_rv[0]), "%s", rv ? rv : "");
        }
        pthread_mutex_unlock(&fx.lock);
        canned_watch(resp, call);
        return;
    }
    if (str_eq(sel, "paged")) {
        bool expire = cont && fx.expire_continue_once;

        fx.page_calls++;
        fx.expire_continue_once = fx.expire_continue_once && !cont;
        pthread_mutex_unlock(&fx.lock);
        if (expire) {
            reply_status(resp, 410, "Expired", "The provided continue parameter is too old");
        } else if (!cont) {
            reply_list(resp, "p1", "30", "tok+/=");
        } else if (strcmp(cont, "tok+/=") == 0) {
            reply_list(resp, "p2 p3", "30", NULL);
        } else {
            reply_status(resp, 400, "BadRequest", "bad continue");
        }
        return;
    }
    call = ++fx.list_calls;
    pthread_mutex_unlock(&fx.lock);
    reply_list(resp,
               call == 1   ? "a b"
               : call == 2 ? "a c d"
                           : "a",
               call == 1   ? "10"
               : call == 2 ? "20"
                           : "30",
               NULL);
}

static const struct http_route canned_routes[] = {
        {"GET", "/api/v1/namespaces/{ns}/configmaps", h_collection},
        {"GET", "/api/v1/namespaces/{ns}/configmaps/{name}", h_object},
};

/* Starts the canned server and a client for it (token may be NULL, token_file may be NULL). */
static struct http_server *canned_start(const char *token_file, uint32_t timeout_ms,
                                        struct kube_client **ret_kc)
{
    struct http_server_config hc = {.listen = "127.0.0.1:0",
                                    .routes = canned_routes,
                                    .n_routes = sizeof(canned_routes) / sizeof(canned_routes[0])};
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct http_server *s = NULL;
    struct errbuf eb = {{0}};

    fx_reset();
    if (http_server_start(&hc, &s, &eb) < 0) {
        printf("\n  http_server_start: %s\n", eb.msg);
        CU_FAIL("canned server");
        free(cfg);
        return NULL;
    }
    (void) snprintf(cfg->server, sizeof(cfg->server), "http://127.0.0.1:%u", http_server_port(s));
    (void) str_copy(cfg->token, sizeof(cfg->token), "static-token");
    if (token_file) {
        (void) str_copy(cfg->token_file, sizeof(cfg->token_file), token_file);
    }
    cfg->timeout_ms = timeout_ms;
    *ret_kc = kube_client_new(cfg, &eb);
    if (!*ret_kc) {
        printf("\n  kube_client_new: %s\n", eb.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(*ret_kc);
    kube_config_done(cfg);
    free(cfg);
    return s;
}

static void test_kube_client_canned_status_errors(void)
{
    struct kube_client *kc = NULL;
    struct http_server *s = canned_start(NULL, 0, &kc);
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;

    if (!s || !kc) {
        goto out;
    }
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/missing", &obj, &err, &eb), -ENOENT);
    CU_ASSERT_EQUAL(err.http_status, 404);
    CU_ASSERT_STRING_EQUAL(err.reason, "NotFound");
    CU_ASSERT_STRING_EQUAL(err.message, "configmaps \"missing\" not found");
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "GET " CM_PATH "/missing: HTTP 404 NotFound"));
    CU_ASSERT_PTR_NULL(obj);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/taken", &obj, &err, &eb), -EEXIST);
    CU_ASSERT_STRING_EQUAL(err.reason, "AlreadyExists");
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/stale", &obj, &err, &eb), -EAGAIN);
    CU_ASSERT_STRING_EQUAL(err.reason, "Conflict");
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/invalid", &obj, &err, &eb), -EINVAL);
    CU_ASSERT_EQUAL(err.http_status, 422);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is invalid"));
    /* Not a Status: the body's start becomes the message. */
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/proxy", &obj, &err, &eb), -EIO);
    CU_ASSERT_EQUAL(err.http_status, 502);
    CU_ASSERT_STRING_EQUAL(err.reason, "");
    CU_ASSERT_STRING_EQUAL(err.message, "<html>bad gateway</html>");
    /* err may be NULL. */
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/missing", NULL, NULL, &eb), -ENOENT);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/fine", &obj, &err, &eb), 0);
    CU_ASSERT_EQUAL(err.http_status, 200);
    CU_ASSERT_PTR_NOT_NULL(obj);
    cJSON_Delete(obj);
    /* Patch arguments are checked before anything is sent. */
    obj = json_new_object();
    CU_ASSERT_EQUAL(kube_patch(kc, CM_PATH "/x", KUBE_PATCH_JSON, obj, NULL, &err, &eb), -EINVAL);
    CU_ASSERT_EQUAL(kube_patch(kc, CM_PATH "/x", KUBE_PATCH_UNKNOWN, obj, NULL, &err, &eb),
                    -EINVAL);
    cJSON_Delete(obj);
out:
    kube_client_free(kc);
    http_server_stop(s);
}

static void test_kube_client_canned_token_reread_on_401(void)
{
    char *tok = xasprintf("%s/token", test_dir);
    struct kube_client *kc = NULL;
    struct http_server *s = NULL;
    struct kube_error err;
    struct errbuf eb = {{0}};
    struct timespec times[2];
    struct stat st;
    cJSON *obj = NULL;
    int fd;

    CU_ASSERT_EQUAL_FATAL(fs_write_atomic(tok, "old-token\n", 10, 0600, &eb), 0);
    s = canned_start(tok, 0, &kc);
    if (!s || !kc) {
        goto out;
    }
    /* The file holds a token the server refuses: 401, re-read, same token, -EACCES. */
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/auth", &obj, &err, &eb), -EACCES);
    CU_ASSERT_EQUAL(err.http_status, 401);
    CU_ASSERT_EQUAL(fx.requests, 1); /* nothing new to retry with */
    /* Rewritten in place with the same size and the old times: the stat cache cannot see it,
     * only the 401 makes the client look again, and it retries once. */
    CU_ASSERT_EQUAL_FATAL(stat(tok, &st), 0);
    fd = open(tok, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "new-token\n", 10), 10);
    (void) close(fd);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, tok, times, 0), 0);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/auth", &obj, &err, &eb), 0);
    CU_ASSERT_EQUAL(fx.requests, 3);
    cJSON_Delete(obj);
    obj = NULL;
    /* A rotation the stat shows (new file) is picked up before the request: no 401 at all. */
    CU_ASSERT_EQUAL(fs_write_atomic(tok, "old-token\n", 10, 0600, &eb), 0);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/auth", &obj, &err, &eb), -EACCES);
    CU_ASSERT_EQUAL(fs_write_atomic(tok, "new-token", 9, 0600, &eb), 0);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/auth", &obj, &err, &eb), 0);
    CU_ASSERT_EQUAL(fx.requests, 5);
    cJSON_Delete(obj);
out:
    kube_client_free(kc);
    http_server_stop(s);
    free(tok);
}

static void test_kube_client_canned_list_pagination(void)
{
    struct kube_client *kc = NULL;
    struct http_server *s = canned_start(NULL, 0, &kc);
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *list = NULL;
    const cJSON *meta;

    if (!s || !kc) {
        goto out;
    }
    CU_ASSERT_EQUAL_FATAL(kube_list(kc, CM_PATH, "paged", &list, &err, &eb), 0);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 3);
    meta = cJSON_GetObjectItem(list, "metadata");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(meta, "resourceVersion")->valuestring, "30");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(meta, "continue"));
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(meta, "remainingItemCount"));
    CU_ASSERT_EQUAL(fx.page_calls, 2);
    cJSON_Delete(list);
    list = NULL;
    /* The continue token expires between pages: the list starts over, once. */
    pthread_mutex_lock(&fx.lock);
    fx.expire_continue_once = true;
    fx.page_calls = 0;
    pthread_mutex_unlock(&fx.lock);
    CU_ASSERT_EQUAL_FATAL(kube_list(kc, CM_PATH, "paged", &list, &err, &eb), 0);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 3);
    CU_ASSERT_EQUAL(fx.page_calls, 4);
    cJSON_Delete(list);
    list = NULL;
    /* The selector travels escaped and arrives intact. */
    CU_ASSERT_EQUAL(kube_list(kc, CM_PATH, "app=og,tier in (db)", &list, &err, &eb), 0);
    CU_ASSERT_STRING_EQUAL(fx.selector, "app=og,tier in (db)");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 2);
    cJSON_Delete(list);
out:
    kube_client_free(kc);
    http_server_stop(s);
}

/*
 * The scripted watch: list (a b @10); watch@10 → ADDED c, MODIFIED a, BOOKMARK 15; watch@15
 * → ERROR 410 event; list (a c d @20) → MODIFIED a c, ADDED d, DELETED b (synthesised);
 * watch@20 → HTTP 410; list (a @30) → MODIFIED a, DELETED c d; watch@30 → ADDED e without
 * a newline; watch@31 → 500 from then on (errors, with backoff).
 */
static void test_kube_client_canned_watch_script(void)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    struct kube_client *kc = NULL;
    struct http_server *s = canned_start(NULL, 0, &kc);
    struct kube_watch *w = NULL;
    struct kube_watch_stats st;
    struct errbuf eb = {{0}};
    struct kube_watch_options opt = {.path = CM_PATH,
                                     .label_selector = "app=og",
                                     .fn = collect,
                                     .data = c,
                                     .backoff_base_ms = 50,
                                     .backoff_cap_ms = 200};
    long begin3;

    if (!s || !kc) {
        goto out;
    }
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_FALSE(kube_watch_is_synced(w));
    CU_ASSERT_EQUAL(kube_watch_resource_version(w), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_ADDED, "e", 1}, 5000));
    kube_watch_stats(w, &st);
    CU_ASSERT_EQUAL(st.lists, 3);
    CU_ASSERT_EQUAL(st.expired, 2);
    CU_ASSERT_EQUAL(st.bookmarks, 1);
    CU_ASSERT_STRING_EQUAL(fx.watch_rv[0], "10");
    CU_ASSERT_STRING_EQUAL(fx.watch_rv[1], "15"); /* the bookmark moved the position */
    CU_ASSERT_STRING_EQUAL(fx.watch_rv[2], "20");
    CU_ASSERT_STRING_EQUAL(fx.watch_rv[3], "30");
    CU_ASSERT_STRING_EQUAL(fx.selector, "app=og");
    CU_ASSERT_EQUAL(kube_watch_resource_version(w), 31);
    CU_ASSERT_TRUE(kube_watch_is_synced(w));
    /* First list: everything is new. */
    CU_ASSERT_EQUAL(c->ev[0].type, KUBE_EVENT_RELIST_BEGIN);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "a"), 1);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "b"), 1);
    /* Second list: a, c known → MODIFIED; d new → ADDED; b gone → DELETED with a stub. */
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_RELIST_BEGIN, NULL), 3);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "d"), 1);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_DELETED, "b"), 1);
    CU_ASSERT_FALSE(c->ev[coll_index(c, 0, KUBE_EVENT_DELETED, "b")].has_uid);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "c"), 1); /* only from the stream */
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_MODIFIED, "c"), 1);
    /* Third list: only a remains. */
    begin3 = coll_index(c, (size_t) coll_index(c, 1, KUBE_EVENT_RELIST_END, NULL) + 1,
                        KUBE_EVENT_RELIST_END, NULL);
    CU_ASSERT(begin3 > 0);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_DELETED, "c"), 1);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_DELETED, "d"), 1);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_DELETED, "a"), 0);
    /* Then 500s: reported by step, retried with backoff (not a busy loop). */
    CU_ASSERT(step_for(w, 600) >= 1);
    kube_watch_stats(w, &st);
    CU_ASSERT(st.errors >= 2);
    CU_ASSERT(st.errors <= 12); /* 50, 100, 200, 200, ... ms apart */
    CU_ASSERT_EQUAL(st.lists, 3);
out:
    kube_watch_free(w);
    kube_client_free(kc);
    http_server_stop(s);
    free(c);
}

static void test_kube_client_canned_transport_errors(void)
{
    struct kube_client *kc = NULL;
    struct http_server *s = canned_start(NULL, 300, &kc);
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kube_client *dead = NULL;
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *obj = NULL;
    uint16_t port = 0;
    uint64_t t0;

    if (!s || !kc) {
        goto out;
    }
    t0 = tu_now_ms();
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/slow", &obj, &err, &eb), -ETIMEDOUT);
    CU_ASSERT(tu_now_ms() - t0 < 1200);
    CU_ASSERT_EQUAL(err.http_status, 0);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/huge", &obj, &err, &eb), -EFBIG);
    CU_ASSERT_PTR_NULL(obj);
    CU_ASSERT_EQUAL_FATAL(tu_free_port("127.0.0.1", &port), 0);
    (void) snprintf(cfg->server, sizeof(cfg->server), "http://127.0.0.1:%u/", port);
    dead = kube_client_new(cfg, &eb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead);
    CU_ASSERT_EQUAL(kube_get(dead, "/api/v1/namespaces", &obj, &err, &eb), -ECONNREFUSED);
    CU_ASSERT_EQUAL(kube_get(dead, "relative/path", &obj, &err, &eb), -EINVAL);
    /* A client needs a server, and a token file that exists. */
    cfg->server[0] = '\0';
    CU_ASSERT_PTR_NULL(kube_client_new(cfg, &eb));
    (void) snprintf(cfg->server, sizeof(cfg->server), "http://127.0.0.1:%u", port);
    (void) snprintf(cfg->token_file, sizeof(cfg->token_file), "%s/no-such-token", test_dir);
    CU_ASSERT_PTR_NULL(kube_client_new(cfg, &eb));
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "no-such-token"));
out:
    kube_client_free(dead);
    kube_client_free(kc);
    http_server_stop(s);
    free(cfg);
}

/* ---- the emulator (tests/support/kube_emu) ---- */

static bool emu_present(void)
{
    if (kube_emu_present()) {
        return true;
    }
    CU_PASS("SKIPPED: tests/kube/emulator.py is missing");
    return false;
}

/*
 * Starts the emulator over TLS with token on port (0: any), keeping its objects in a state
 * file (so a restart keeps them). false (and a failed assertion) when it did not come up.
 */
static bool emu_start(struct kube_emu *e, const char *name, const char *token)
{
    struct errbuf eb = {{0}};
    int r = kube_emu_start(e, name, token, 0, NULL, &eb);

    if (r < 0) {
        printf("\n  emulator: %s\n", eb.msg);
    }
    CU_ASSERT_EQUAL(r, 0);
    return r == 0;
}

static void emu_stop(struct kube_emu *e)
{
    CU_ASSERT_EQUAL(kube_emu_stop(e), 0);
}

/* A client from the emulator's kubeconfig (TLS with its CA as certificate-authority-data),
 * optionally reading its token from token_file instead. */
static struct kube_client *emu_client(const struct kube_emu *e, const char *token_file)
{
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kube_client *kc = NULL;
    struct errbuf eb = {{0}};

    if (kube_emu_config(e, NULL, cfg, &eb) == 0) {
        CU_ASSERT_TRUE(str_has_prefix(cfg->server, "https://127.0.0.1:"));
        CU_ASSERT_PTR_NOT_NULL(cfg->ca_data);
        kube_config_done(cfg);
    }
    free(cfg);
    kc = kube_emu_client(e, token_file, &eb);
    if (!kc) {
        printf("\n  emulator client: %s\n", eb.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(kc);
    return kc;
}

/* POSTs to an emulator control path (/_emu/...). */
static void emu_control(struct kube_client *kc, const char *path)
{
    struct errbuf eb = {{0}};
    int r = kube_emu_control(kc, path, &eb);

    if (r < 0) {
        printf("\n  %s: %s\n", path, eb.msg);
    }
    CU_ASSERT_EQUAL(r, 0);
}

/* Creates configmap name with label suite=suite and data k=v; 0 or the error. */
static int cm_create(struct kube_client *kc, const char *name, const char *suite, cJSON **ret)
{
    cJSON *cm = json_new_object();
    cJSON *meta, *labels, *data;
    struct errbuf eb = {{0}};
    int r;

    json_add_str(cm, "apiVersion", "v1");
    json_add_str(cm, "kind", "ConfigMap");
    meta = json_add_object(cm, "metadata");
    json_add_str(meta, "name", name);
    labels = json_add_object(meta, "labels");
    json_add_str(labels, "suite", suite);
    data = json_add_object(cm, "data");
    json_add_str(data, "k", "v");
    r = kube_create(kc, CM_PATH, cm, ret, NULL, &eb);
    if (r < 0 && r != -EEXIST) {
        printf("\n  create %s: %s\n", name, eb.msg);
    }
    cJSON_Delete(cm);
    return r;
}

static int cm_delete(struct kube_client *kc, const char *name)
{
    char path[256];
    struct errbuf eb = {{0}};

    (void) snprintf(path, sizeof(path), CM_PATH "/%s", name);
    return kube_delete(kc, path, NULL, NULL, &eb);
}

/* Sets data.k of configmap name to value with a merge patch. */
static int cm_patch(struct kube_client *kc, const char *name, const char *value)
{
    char path[256];
    struct errbuf eb = {{0}};
    cJSON *patch = json_new_object();
    int r;

    json_add_str(json_add_object(patch, "data"), "k", value);
    (void) snprintf(path, sizeof(path), CM_PATH "/%s", name);
    r = kube_patch(kc, path, KUBE_PATCH_MERGE, patch, NULL, NULL, &eb);
    cJSON_Delete(patch);
    return r;
}

/* metadata.<key> of obj as a string, or NULL. */
static const char *meta_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* data.<key> of obj, or "". */
static const char *data_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "data"), key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* A kube_update_retry mutation that sets data.k, racing a concurrent writer once. */
struct mutation {
    struct kube_client *kc;
    int calls;
    bool race;
};

static int mutate_k(cJSON *obj, void *data)
{
    struct mutation *m = data;
    cJSON *d = cJSON_GetObjectItem(obj, "data");

    m->calls++;
    if (m->race && m->calls == 1) {
        CU_ASSERT_EQUAL(cm_patch(m->kc, "crud-a", "someone-else"), 0); /* bumps the version */
    }
    if (strcmp(data_of(obj, "k"), "retried") == 0) {
        return 1;
    }
    cJSON_ReplaceItemInObject(d, "k", cJSON_CreateString("retried"));
    return 0;
}

static void test_kube_client_emu_crud(void)
{
    static const char merge[] =
            "{\"data\":{\"k2\":\"v2\"},\"metadata\":{\"labels\":{\"suite\":null,\"x\":\"y\"}}}";
    static const char jpatch[] = "[{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"v3\"}]";
    struct kube_emu e = {0};
    struct kube_client *kc = NULL;
    struct mutation m = {0};
    struct kube_error err;
    struct errbuf eb = {{0}};
    cJSON *a = NULL, *obj = NULL, *patch = NULL;
    const cJSON *labels;

    if (!emu_present() || !emu_start(&e, "crud", "crud-token")) {
        return;
    }
    kc = emu_client(&e, NULL);
    if (!kc) {
        goto out;
    }
    CU_ASSERT_STRING_EQUAL(kube_client_namespace(kc), "default");
    CU_ASSERT_EQUAL_FATAL(cm_create(kc, "crud-a", "crud", &a), 0);
    CU_ASSERT_PTR_NOT_NULL(meta_str(a, "resourceVersion"));
    CU_ASSERT_EQUAL(cm_create(kc, "crud-a", "crud", NULL), -EEXIST);
    CU_ASSERT_EQUAL(cm_create(kc, "crud-b", "crud", NULL), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "crud-c", "other", NULL), 0);
    /* get and list with selectors */
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/crud-a", &obj, &err, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data_of(obj, "k"), "v");
    cJSON_Delete(obj);
    CU_ASSERT_EQUAL(kube_list(kc, CM_PATH, "suite=crud", &obj, &err, &eb), 0);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(obj, "items")), 2);
    CU_ASSERT_PTR_NOT_NULL(meta_str(obj, "resourceVersion"));
    cJSON_Delete(obj);
    CU_ASSERT_EQUAL(kube_list(kc, CM_PATH, "suite in (crud,other),suite!=crud", &obj, &err, &eb),
                    0);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(obj, "items")), 1);
    cJSON_Delete(obj);
    /* merge patch: add a key, remove a label with null */
    CU_ASSERT_EQUAL(json_parse_object(merge, strlen(merge), 0, &patch, &eb), 0);
    CU_ASSERT_EQUAL(kube_patch(kc, CM_PATH "/crud-b", KUBE_PATCH_MERGE, patch, &obj, &err, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data_of(obj, "k"), "v");
    CU_ASSERT_STRING_EQUAL(data_of(obj, "k2"), "v2");
    labels = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "labels");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(labels, "suite"));
    CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItem(labels, "x"));
    cJSON_Delete(obj);
    cJSON_Delete(patch);
    /* JSON patch */
    CU_ASSERT_EQUAL(json_parse(jpatch, strlen(jpatch), 0, &patch, &eb), 0);
    CU_ASSERT_EQUAL(kube_patch(kc, CM_PATH "/crud-b", KUBE_PATCH_JSON, patch, &obj, &err, &eb), 0);
    CU_ASSERT_STRING_EQUAL(data_of(obj, "k"), "v3");
    cJSON_Delete(obj);
    cJSON_Delete(patch);
    /* update with a stale resourceVersion: Conflict */
    CU_ASSERT_EQUAL(cm_patch(kc, "crud-a", "changed"), 0);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(a, "data"), "k", cJSON_CreateString("mine"));
    CU_ASSERT_EQUAL(kube_update(kc, CM_PATH "/crud-a", a, &obj, &err, &eb), -EAGAIN);
    CU_ASSERT_EQUAL(err.http_status, 409);
    CU_ASSERT_STRING_EQUAL(err.reason, "Conflict");
    /* ... and the retry loop, with a concurrent writer on its first attempt */
    m.kc = kc;
    m.race = true;
    CU_ASSERT_EQUAL(kube_update_retry(kc, CM_PATH "/crud-a", mutate_k, &m, 0, &obj, &err, &eb), 0);
    CU_ASSERT_EQUAL(m.calls, 2);
    CU_ASSERT_STRING_EQUAL(data_of(obj, "k"), "retried");
    cJSON_Delete(obj);
    m.race = false;
    m.calls = 0;
    CU_ASSERT_EQUAL(kube_update_retry(kc, CM_PATH "/crud-a", mutate_k, &m, 3, &obj, &err, &eb),
                    0); /* nothing to change: no write */
    CU_ASSERT_EQUAL(m.calls, 1);
    cJSON_Delete(obj);
    /* delete, then it is gone */
    CU_ASSERT_EQUAL(kube_delete(kc, CM_PATH "/crud-a", &obj, &err, &eb), 0);
    cJSON_Delete(obj);
    obj = NULL;
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/crud-a", &obj, &err, &eb), -ENOENT);
    CU_ASSERT_EQUAL(err.http_status, 404);
    CU_ASSERT_STRING_EQUAL(err.reason, "NotFound");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "crud-a"));
    CU_ASSERT_EQUAL(cm_delete(kc, "crud-a"), -ENOENT);
    CU_ASSERT_EQUAL(kube_update_retry(kc, CM_PATH "/crud-a", mutate_k, &m, 3, NULL, &err, &eb),
                    -ENOENT);
out:
    cJSON_Delete(a);
    kube_client_free(kc);
    emu_stop(&e);
}

static void test_kube_client_emu_status_errors(void)
{
    static const char slice[] =
            "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
            "\"metadata\":{\"name\":\"og-c1-svc\",\"labels\":{\"kubernetes.io/service-name\":"
            "\"og-c1-svc\"}},\"addressType\":\"IPv4\",\"ports\":[{\"port\":5432}],"
            "\"endpoints\":[{\"addresses\":[\"127.0.0.1\"]}]}";
    static const char svc[] = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
                              "\"smp\"},\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80}]}}";
    static const char smp[] = "{\"spec\":{\"ports\":[{\"name\":\"b\",\"port\":443}]}}";
    struct kube_emu e = {0};
    struct kube_client *kc = NULL, *wrong = NULL;
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));
    struct kube_error err;
    struct errbuf eb = {{0}};
    char path[256];
    cJSON *obj = NULL, *body = NULL;

    if (!emu_present() || !emu_start(&e, "errors", "err-token")) {
        free(cfg);
        return;
    }
    kc = emu_client(&e, NULL);
    if (!kc) {
        goto out;
    }
    /* 422: the API server refuses loopback endpoints, and says why. */
    CU_ASSERT_EQUAL_FATAL(json_parse(slice, strlen(slice), 0, &body, &eb), 0);
    CU_ASSERT_EQUAL(kube_path(path, sizeof(path), &kube_res_endpointslices, NS, NULL, NULL), 0);
    CU_ASSERT_EQUAL(kube_create(kc, path, body, &obj, &err, &eb), -EINVAL);
    CU_ASSERT_EQUAL(err.http_status, 422);
    CU_ASSERT_STRING_EQUAL(err.reason, "Invalid");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "loopback"));
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "loopback"));
    cJSON_Delete(body);
    body = NULL;
    /* Strategic merge patch merges lists by their key (ports by port) where a merge patch
     * would replace them. */
    CU_ASSERT_EQUAL_FATAL(json_parse(svc, strlen(svc), 0, &body, &eb), 0);
    CU_ASSERT_EQUAL(kube_create(kc, "/api/v1/namespaces/" NS "/services", body, NULL, &err, &eb),
                    0);
    cJSON_Delete(body);
    CU_ASSERT_EQUAL_FATAL(json_parse(smp, strlen(smp), 0, &body, &eb), 0);
    CU_ASSERT_EQUAL(kube_patch(kc, "/api/v1/namespaces/" NS "/services/smp", KUBE_PATCH_STRATEGIC,
                               body, &obj, &err, &eb),
                    0);
    CU_ASSERT_EQUAL(
            cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "ports")), 2);
    cJSON_Delete(obj);
    obj = NULL;
    /* 503 from a fault the emulator injects: -EIO with the server's words. */
    emu_control(kc, "/_emu/fail?code=503&count=1&method=GET");
    CU_ASSERT_EQUAL(kube_get(kc, "/api/v1/namespaces/" NS, &obj, &err, &eb), -EIO);
    CU_ASSERT_EQUAL(err.http_status, 503);
    CU_ASSERT_EQUAL(kube_get(kc, "/api/v1/namespaces/" NS, &obj, &err, &eb), 0);
    cJSON_Delete(obj);
    obj = NULL;
    /* 401 with the wrong token. */
    CU_ASSERT_EQUAL_FATAL(kube_config_from_kubeconfig(e.kubeconfig, NULL, cfg, &eb), 0);
    (void) str_copy(cfg->token, sizeof(cfg->token), "wrong");
    wrong = kube_client_new(cfg, &eb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wrong);
    CU_ASSERT_EQUAL(kube_get(wrong, "/api/v1/namespaces", &obj, &err, &eb), -EACCES);
    CU_ASSERT_EQUAL(err.http_status, 401);
    /* TLS: without the CA the server's certificate is refused. */
    kube_client_free(wrong);
    free(cfg->ca_data);
    cfg->ca_data = NULL;
    cfg->ca_data_len = 0;
    wrong = kube_client_new(cfg, &eb);
    CU_ASSERT_EQUAL(kube_get(wrong, "/api/v1/namespaces", &obj, &err, &eb), -EIO);
    CU_ASSERT_EQUAL(err.http_status, 0);
out:
    cJSON_Delete(body);
    kube_config_done(cfg);
    free(cfg);
    kube_client_free(wrong);
    kube_client_free(kc);
    emu_stop(&e);
}

static void test_kube_client_emu_watch_events_bookmarks_resume(void)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    struct collector *c2 = xcalloc(1, sizeof(*c2));
    struct kube_emu e = {0};
    struct kube_client *kc = NULL;
    struct kube_watch *w = NULL;
    struct errbuf eb = {{0}};
    struct kube_watch_options opt = {
            .path = CM_PATH, .label_selector = "suite=watch", .fn = collect, .data = c};
    uint64_t rv_event, rv_bookmark;
    unsigned bookmarks;

    if (!emu_present() || !emu_start(&e, "watch", "watch-token")) {
        goto out;
    }
    kc = emu_client(&e, NULL);
    if (!kc) {
        goto out;
    }
    CU_ASSERT_EQUAL(cm_create(kc, "w-a", "watch", NULL), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "w-b", "watch", NULL), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "w-other", "elsewhere", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_RELIST_END, NULL, 1}, 5000));
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, NULL), 2);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "w-other"), 0);
    CU_ASSERT_TRUE(kube_watch_is_synced(w));
    /* creates, updates and deletes arrive */
    CU_ASSERT_EQUAL(cm_create(kc, "w-c", "watch", NULL), 0);
    CU_ASSERT_EQUAL(cm_patch(kc, "w-a", "v2"), 0);
    CU_ASSERT_EQUAL(cm_delete(kc, "w-b"), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_DELETED, "w-b", 1}, 5000));
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "w-c"), 1);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_MODIFIED, "w-a"), 1);
    CU_ASSERT(c->ev[coll_index(c, 0, KUBE_EVENT_DELETED, "w-b")].has_uid); /* the real object */
    /* Changes the selector does not match move the server on; a bookmark tells the watch. */
    rv_event = kube_watch_resource_version(w);
    CU_ASSERT(rv_event > 0);
    CU_ASSERT_EQUAL(cm_patch(kc, "w-other", "x"), 0);
    CU_ASSERT_EQUAL(cm_patch(kc, "w-other", "y"), 0);
    bookmarks = c->count[KUBE_EVENT_BOOKMARK];
    CU_ASSERT_TRUE(
            step_until(w, &(struct until){c, KUBE_EVENT_BOOKMARK, NULL, bookmarks + 2}, 5000));
    rv_bookmark = kube_watch_resource_version(w);
    CU_ASSERT(rv_bookmark >= rv_event + 2);
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_MODIFIED, "w-other"), 0);
    /* Stop; change things; resume from the stored version: only what happened since. */
    kube_watch_free(w);
    w = NULL;
    CU_ASSERT_EQUAL(cm_create(kc, "w-d", "watch", NULL), 0);
    CU_ASSERT_EQUAL(cm_patch(kc, "w-c", "v2"), 0);
    opt.data = c2;
    opt.resource_version = rv_bookmark;
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_TRUE(kube_watch_is_synced(w));
    CU_ASSERT_EQUAL(kube_watch_resource_version(w), rv_bookmark);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c2, KUBE_EVENT_MODIFIED, "w-c", 1}, 5000));
    CU_ASSERT_EQUAL(coll_count(c2, 0, KUBE_EVENT_ADDED, "w-d"), 1);
    CU_ASSERT_EQUAL(coll_count(c2, 0, KUBE_EVENT_ADDED, "w-a"), 0);
    CU_ASSERT_EQUAL(coll_count(c2, 0, KUBE_EVENT_ADDED, "w-c"), 0);
    CU_ASSERT_EQUAL(coll_count(c2, 0, KUBE_EVENT_RELIST_BEGIN, NULL), 0);
out:
    kube_watch_free(w);
    kube_client_free(kc);
    emu_stop(&e);
    free(c);
    free(c2);
}

static void test_kube_client_emu_watch_relist_after_410(void)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    struct kube_emu e = {0};
    struct kube_client *kc = NULL;
    struct kube_watch *w = NULL;
    struct kube_watch_stats st;
    struct errbuf eb = {{0}};
    struct kube_watch_options opt = {
            .path = CM_PATH, .label_selector = "suite=relist", .fn = collect, .data = c};
    long second;

    if (!emu_present() || !emu_start(&e, "relist", "relist-token")) {
        goto out;
    }
    kc = emu_client(&e, NULL);
    if (!kc) {
        goto out;
    }
    CU_ASSERT_EQUAL(cm_create(kc, "r-a", "relist", NULL), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "r-b", "relist", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_RELIST_END, NULL, 1}, 5000));
    /* Behind the watch's back: its stream ends, r-b goes, r-c comes, history is compacted. */
    emu_control(kc, "/_emu/close-watches");
    CU_ASSERT_EQUAL(cm_delete(kc, "r-b"), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "r-c", "relist", NULL), 0);
    emu_control(kc, "/_emu/compact");
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_RELIST_END, NULL, 2}, 5000));
    kube_watch_stats(w, &st);
    CU_ASSERT(st.expired >= 1);
    CU_ASSERT_EQUAL(st.lists, 2);
    second = coll_index(c, 1, KUBE_EVENT_RELIST_BEGIN, NULL);
    CU_ASSERT_FATAL(second > 0);
    CU_ASSERT_EQUAL(coll_count(c, (size_t) second, KUBE_EVENT_MODIFIED, "r-a"), 1);
    CU_ASSERT_EQUAL(coll_count(c, (size_t) second, KUBE_EVENT_ADDED, "r-c"), 1);
    CU_ASSERT_EQUAL(coll_count(c, (size_t) second, KUBE_EVENT_DELETED, "r-b"), 1);
    CU_ASSERT_FALSE(c->ev[coll_index(c, 0, KUBE_EVENT_DELETED, "r-b")].has_uid); /* stub */
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "r-a"), 1);
    /* And the watch goes on from the new list. */
    CU_ASSERT_EQUAL(cm_create(kc, "r-d", "relist", NULL), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_ADDED, "r-d", 1}, 5000));
out:
    kube_watch_free(w);
    kube_client_free(kc);
    emu_stop(&e);
    free(c);
}

static void test_kube_client_emu_watch_server_stopped(void)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    struct kube_emu e = {0};
    struct kube_client *kc = NULL;
    struct kube_watch *w = NULL;
    struct kube_watch_stats st;
    struct errbuf eb = {{0}};
    struct kube_watch_options opt = {.path = CM_PATH,
                                     .label_selector = "suite=stop",
                                     .fn = collect,
                                     .data = c,
                                     .idle_timeout_ms = 1500,
                                     .backoff_base_ms = 100,
                                     .backoff_cap_ms = 1000};

    if (!emu_present() || !emu_start(&e, "stop", "stop-token")) {
        goto out;
    }
    kc = emu_client(&e, NULL);
    if (!kc) {
        goto out;
    }
    CU_ASSERT_EQUAL(cm_create(kc, "s-a", "stop", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_RELIST_END, NULL, 1}, 5000));
    /* Live for 2 s: bookmarks every 0.5 s keep the idle timer quiet. */
    CU_ASSERT_EQUAL(step_for(w, 2000), 0);
    kube_watch_stats(w, &st);
    CU_ASSERT_EQUAL(st.errors, 0);
    /* Frozen for 4 s: the watch notices the silence and retries with backoff. */
    CU_ASSERT_EQUAL(kube_emu_freeze(&e, true), 0);
    (void) step_for(w, 4000);
    kube_watch_stats(w, &st);
    CU_ASSERT(st.errors >= 1);
    CU_ASSERT(st.errors <= 6);
    CU_ASSERT_EQUAL(kube_emu_freeze(&e, false), 0);
    CU_ASSERT_EQUAL(cm_create(kc, "s-b", "stop", NULL), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_ADDED, "s-b", 1}, 10000));
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "s-a"), 1); /* no duplicate */
out:
    kube_watch_free(w);
    kube_client_free(kc);
    emu_stop(&e);
    free(c);
}

static void test_kube_client_emu_restart_and_token_rotation(void)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    struct kube_emu e = {0};
    struct kube_client *kc = NULL;
    struct kube_watch *w = NULL;
    struct kube_watch_stats st;
    struct kube_error err;
    struct errbuf eb = {{0}};
    struct kube_watch_options opt = {.path = CM_PATH,
                                     .label_selector = "suite=restart",
                                     .fn = collect,
                                     .data = c,
                                     .backoff_base_ms = 100,
                                     .backoff_cap_ms = 800};
    char *tok = xasprintf("%s/restart-token", test_dir);
    cJSON *obj = NULL;
    uint64_t errors_down;

    if (!emu_present() || !emu_start(&e, "restart", "token-one")) {
        goto out;
    }
    CU_ASSERT_EQUAL_FATAL(fs_write_atomic(tok, "token-one\n", 10, 0600, &eb), 0);
    kc = emu_client(&e, tok);
    if (!kc) {
        goto out;
    }
    CU_ASSERT_EQUAL(cm_create(kc, "k-a", "restart", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(kube_watch_open(kc, &opt, &w, &eb), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_RELIST_END, NULL, 1}, 5000));
    /* The server goes away: refused connections, retried with a growing backoff. */
    {
        CU_ASSERT_EQUAL(kube_emu_kill(&e), 0);
        (void) step_for(w, 2000);
        kube_watch_stats(w, &st);
        errors_down = st.errors;
        CU_ASSERT(errors_down >= 2);
        CU_ASSERT(errors_down <= 10); /* 100, 200, 400, 800, 800 ms: not a busy loop */
        /* Back on the same port with the same objects, but a new token. */
        if (kube_emu_restart(&e, "token-two", &eb) < 0) {
            printf("\n  restart: %s\n", eb.msg);
            CU_FAIL("emulator restart");
            goto out;
        }
    }
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/k-a", &obj, &err, &eb), -EACCES);
    CU_ASSERT_EQUAL(err.http_status, 401);
    /* The watch meets 401s too (each an error with backoff), and keeps trying. */
    for (uint64_t end = tu_now_ms() + 5000; tu_now_ms() < end && st.errors == errors_down;) {
        (void) step_for(w, 50);
        kube_watch_stats(w, &st);
    }
    CU_ASSERT(st.errors > errors_down);
    errors_down = st.errors;
    CU_ASSERT_EQUAL(fs_write_atomic(tok, "token-two\n", 10, 0600, &eb), 0);
    CU_ASSERT_EQUAL(kube_get(kc, CM_PATH "/k-a", &obj, &err, &eb), 0);
    cJSON_Delete(obj);
    CU_ASSERT_EQUAL(cm_create(kc, "k-b", "restart", NULL), 0);
    CU_ASSERT_TRUE(step_until(w, &(struct until){c, KUBE_EVENT_ADDED, "k-b", 1}, 10000));
    CU_ASSERT_EQUAL(coll_count(c, 0, KUBE_EVENT_ADDED, "k-a"), 1); /* no duplicate */
out:
    kube_watch_free(w);
    kube_client_free(kc);
    emu_stop(&e);
    free(tok);
    free(c);
}

static int suite_init(void)
{
    struct errbuf eb = {{0}};

    return fs_mkdtemp("/tmp/og-test-kube-", &test_dir, &eb) < 0 ? -1 : 0;
}

static int suite_cleanup(void)
{
    struct errbuf eb = {{0}};
    int r = test_dir ? fs_remove_tree(test_dir, &eb) : 0;

    free(test_dir);
    test_dir = NULL;
    return r < 0 ? -1 : 0;
}

static CU_TestInfo tests[] = {
        {"canned: Status errors", test_kube_client_canned_status_errors},
        {"canned: token re-read on 401", test_kube_client_canned_token_reread_on_401},
        {"canned: list pagination", test_kube_client_canned_list_pagination},
        {"canned: watch script", test_kube_client_canned_watch_script},
        {"canned: transport errors", test_kube_client_canned_transport_errors},
        {"emulator: CRUD, selectors, patches, conflicts", test_kube_client_emu_crud},
        {"emulator: Status errors, strategic patch, TLS", test_kube_client_emu_status_errors},
        {"emulator: watch events, bookmarks, resume",
         test_kube_client_emu_watch_events_bookmarks_resume},
        {"emulator: re-list after 410", test_kube_client_emu_watch_relist_after_410},
        {"emulator: server stopped", test_kube_client_emu_watch_server_stopped},
        {"emulator: restart and token rotation", test_kube_client_emu_restart_and_token_rotation},
        CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc;

    (void) signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        return 2;
    }
    rc = cu_run_with("kube_client", tests, suite_init, suite_cleanup);
    curl_global_cleanup();
    return rc;
}

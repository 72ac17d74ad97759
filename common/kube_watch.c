/*
 * common/kube_watch.c
 *
 * The watches behind kube_watch.h. A watch owns a multi handle with one easy handle:
 * kube_watch_step() drives it for a bounded time, and the events are cut from the stream in
 * the write callback, line by line (the API server writes one JSON event per line), so memory
 * stays bounded by the largest single event. The watch keeps the keys and resourceVersions of
 * the objects it has seen, which is what a re-list after 410 needs to tell ADDED from
 * MODIFIED and to synthesise DELETED (client-go's reflector does the same with its store).
 * Requests are set up, and failures read, by the client's code (common/kube_int.h).
 *
 * Conventions followed: https://kubernetes.io/docs/reference/using-api/api-concepts/
 * ("Efficient detection of changes", "Watch bookmarks", "Retrieving large results sets in
 * chunks", "Resource versions").
 *
 * Layer: edge (libcurl).
 */
#include "common/kube_watch.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/kube.h"
#include "common/kube_int.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define KW_DEFAULT_TIMEOUT_S 300
#define KW_MAX_TIMEOUT_S     86400
#define KW_DEFAULT_IDLE_MS   90000
#define KW_DEFAULT_BASE_MS   500
#define KW_DEFAULT_CAP_MS    30000
#define KW_HEALTHY_MS        1000 /* a request that lasted this long was not a failure */
#define KW_CURL_SLACK_S      30   /* curl's own limit beyond the server's timeoutSeconds */
#define KW_STEP_ROUNDS       10000
#define KW_POLL_SLICE_MS     1000
#define KW_RV_MAX            64
#define KW_JITTER_PCT        20
#define KW_MIN_BUCKETS       64
#define KW_SINK_KEEP         ((size_t) 1024 * 1024) /* buffer kept between requests */

const char *kube_event_to_string(enum kube_event e)
{
    switch (e) {
    case KUBE_EVENT_ADDED:
        return "ADDED";
    case KUBE_EVENT_MODIFIED:
        return "MODIFIED";
    case KUBE_EVENT_DELETED:
        return "DELETED";
    case KUBE_EVENT_BOOKMARK:
        return "BOOKMARK";
    case KUBE_EVENT_RELIST_BEGIN:
        return "RELIST_BEGIN";
    case KUBE_EVENT_RELIST_END:
        return "RELIST_END";
    case KUBE_EVENT_UNKNOWN:
    case _KUBE_EVENT_MAX:
        break;
    }
    return "UNKNOWN";
}

int kube_event_from_string(const char *s, enum kube_event *ret)
{
    for (int e = KUBE_EVENT_UNKNOWN + 1; e < _KUBE_EVENT_MAX; e++) {
        if (str_eq(s, kube_event_to_string((enum kube_event) e))) {
            *ret = (enum kube_event) e;
            return 0;
        }
    }
    return -EINVAL;
}

/* An object the watch has seen: its "namespace/name" key and last resourceVersion. */
struct kw_obj {
    struct kw_obj *next;
    char *key;
    char rv[KW_RV_MAX];
    uint64_t gen; /* the list generation that last saw it */
};

enum kw_phase {
    KW_PHASE_IDLE = 0, /* no request in flight; the next starts at next_ms */
    KW_PHASE_LIST,     /* a list page in flight */
    KW_PHASE_WATCH,    /* a watch request in flight */
};

struct kube_watch {
    struct kube_client *kc;
    kube_event_fn fn;
    void *data;
    char *path;
    char *selector; /* escaped, or NULL */
    uint32_t timeout_s, idle_timeout_ms, backoff_base_ms, backoff_cap_ms;

    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    enum kw_phase phase;
    bool need_list; /* the next request is a list (first, or after 410) */
    bool synced;
    char rv[KW_RV_MAX]; /* where the next watch starts ("" before any) */

    struct kube_sink sink; /* list page, failure body, or the partial watch line */
    int stop_err;          /* set by the write callback when it stopped the stream */
    struct errbuf stop_eb;
    uint64_t started_ms, last_data_ms, last_list_ms;
    uint64_t request_events;

    cJSON *list;         /* the list being assembled from pages */
    char *list_continue; /* escaped continue token of the next page */
    unsigned list_pages;

    uint32_t attempt; /* failures in a row: the backoff exponent */
    uint64_t next_ms;
    uint64_t seed;
    bool token_retried;

    struct kw_obj **buckets;
    size_t nbuckets, count;
    uint64_t gen;

    struct kube_watch_stats stats;
    char curl_err[CURL_ERROR_SIZE];
};

/* FNV-1a: a fine spread for short keys. */
static uint64_t kw_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    }
    return h;
}

/* The link that points at key's entry, or at the NULL ending its chain. */
static struct kw_obj **kw_slot(struct kube_watch *w, const char *key)
{
    struct kw_obj **p = &w->buckets[kw_hash(key) & (w->nbuckets - 1)];

    while (*p && strcmp((*p)->key, key) != 0) {
        p = &(*p)->next;
    }
    return p;
}

static void kw_grow(struct kube_watch *w)
{
    size_t n = w->nbuckets * 2;
    struct kw_obj **old = w->buckets;
    size_t old_n = w->nbuckets;

    w->buckets = xcalloc(n, sizeof(*w->buckets)); /* NOLINT(bugprone-sizeof-expression) */
    w->nbuckets = n;
    for (size_t i = 0; i < old_n; i++) {
        while (old[i]) {
            struct kw_obj *o = old[i];
            struct kw_obj **slot = &w->buckets[kw_hash(o->key) & (n - 1)];

            old[i] = o->next;
            o->next = *slot;
            *slot = o;
        }
    }
    free(old);
}

/* Records key at rv; true when it was not known before. */
static bool kw_put(struct kube_watch *w, const char *key, const char *rv)
{
    struct kw_obj **slot = kw_slot(w, key);
    bool added = !*slot;

    if (added) {
        *slot = xcalloc(1, sizeof(**slot));
        (*slot)->key = xstrdup(key);
        w->count++;
    }
    (void) snprintf((*slot)->rv, sizeof((*slot)->rv), "%s", rv ? rv : "");
    (*slot)->gen = w->gen;
    if (added && w->count > w->nbuckets) {
        kw_grow(w);
    }
    return added;
}

static void kw_unlink(struct kube_watch *w, struct kw_obj **slot)
{
    struct kw_obj *o = *slot;

    *slot = o->next;
    free(o->key);
    free(o);
    w->count--;
}

/* metadata.<key> of obj as a string, or NULL. */
static const char *kw_meta(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "namespace/name" of obj (heap), or NULL without a name. */
static char *kw_key(const cJSON *obj)
{
    const char *ns = kw_meta(obj, "namespace");
    const char *name = kw_meta(obj, "name");

    return name ? xasprintf("%s/%s", ns ? ns : "", name) : NULL;
}

static void kw_set_rv(struct kube_watch *w, const char *rv)
{
    if (rv && rv[0] && strlen(rv) < sizeof(w->rv)) {
        memcpy(w->rv, rv, strlen(rv) + 1);
    }
}

/* Sets the next start after a failure: base << attempt, capped, with jitter. */
static void kw_backoff(struct kube_watch *w)
{
    uint64_t delay = backoff_delay_ms(w->attempt, w->backoff_base_ms, w->backoff_cap_ms,
                                      KW_JITTER_PCT, w->seed + w->attempt);

    if (w->attempt < 32) {
        w->attempt++;
    }
    w->next_ms = clock_now_ms() + delay;
}

/* Counts a failed request and schedules the retry; returns r. */
static int kw_fail(struct kube_watch *w, int r, bool healthy)
{
    w->stats.errors++;
    if (healthy) {
        w->attempt = 0; /* a long, good request before this failure: start the backoff over */
    }
    kw_backoff(w);
    return r;
}

static void kw_list_reset(struct kube_watch *w)
{
    cJSON_Delete(w->list);
    w->list = NULL;
    free(w->list_continue);
    w->list_continue = NULL;
    w->list_pages = 0;
}

/* 410: the position is gone; re-list now, unless a list was just delivered (then back off). */
static void kw_relist(struct kube_watch *w)
{
    w->stats.expired++;
    w->need_list = true;
    kw_list_reset(w);
    if (clock_now_ms() - w->last_list_ms >= KW_HEALTHY_MS) {
        w->next_ms = clock_now_ms();
    } else {
        kw_backoff(w);
    }
}

/* An ERROR event's Status: -ESTALE for 410, else its errno. Sets stop_eb. */
static int kw_error_event(struct kube_watch *w, const cJSON *status)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
    long c = cJSON_IsNumber(code) ? (long) code->valuedouble : 0;
    struct kube_error err;
    char *text = json_print(status);

    kube_error_fill(&err, c, text, strlen(text));
    free(text);
    errbuf_set(&w->stop_eb, "watch %s: ERROR event %ld %s: %s", w->path, c, err.reason,
               err.message);
    if (c == 410) {
        return -ESTALE;
    }
    return kube_status_errno(c, err.reason) < 0 ? kube_status_errno(c, err.reason) : -EIO;
}

/* Keeps the position and the known set up to date with one streamed event. */
static void kw_track(struct kube_watch *w, enum kube_event type, const cJSON *obj)
{
    const char *rv = kw_meta(obj, "resourceVersion");
    char *key;

    kw_set_rv(w, rv);
    if (type == KUBE_EVENT_BOOKMARK) {
        w->stats.bookmarks++;
        return;
    }
    w->stats.events++;
    key = kw_key(obj);
    if (!key) {
        return;
    }
    if (type == KUBE_EVENT_DELETED) {
        struct kw_obj **slot = kw_slot(w, key);

        if (*slot) {
            kw_unlink(w, slot);
        }
    } else {
        (void) kw_put(w, key, rv);
    }
    free(key);
}

/* One line of the stream: {"type": ..., "object": {...}}. */
static int kw_stream_event(struct kube_watch *w, const char *line, size_t len)
{
    enum kube_event type = KUBE_EVENT_UNKNOWN;
    cJSON *ev = NULL;
    const cJSON *t, *obj;
    int r;

    r = json_parse(line, len, 0, &ev, &w->stop_eb);
    if (r < 0) {
        errbuf_prefix(&w->stop_eb, "watch %s: event", w->path);
        return -EIO;
    }
    t = cJSON_GetObjectItemCaseSensitive(ev, "type");
    obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    if (!cJSON_IsString(t) || !cJSON_IsObject(obj)) {
        errbuf_set(&w->stop_eb, "watch %s: event without type or object", w->path);
        r = -EIO;
    } else if (strcmp(t->valuestring, "ERROR") == 0) {
        r = kw_error_event(w, obj);
    } else if (kube_event_from_string(t->valuestring, &type) < 0 || type > KUBE_EVENT_BOOKMARK) {
        log_debug("kube: watch %s: ignoring event type %.32s", w->path, t->valuestring);
    } else {
        kw_track(w, type, obj);
        w->request_events++;
        w->fn(type, obj, w->data);
    }
    cJSON_Delete(ev);
    return r;
}

/* Delivers the complete lines of the buffer (and the last, unterminated one when final). */
static int kw_drain(struct kube_watch *w, bool final)
{
    size_t start = 0;
    int r = 0;

    while (r == 0 && start < w->sink.len) {
        const char *line = w->sink.buf + start;
        const char *nl = memchr(line, '\n', w->sink.len - start);
        size_t n = nl ? (size_t) (nl - line) : w->sink.len - start;
        size_t blank = 0;

        if (!nl && !final) {
            break;
        }
        start += n + (nl ? 1 : 0);
        while (blank < n && strchr(" \t\r", line[blank])) {
            blank++;
        }
        if (blank < n) {
            r = kw_stream_event(w, line, n);
        }
    }
    if (start > 0) {
        memmove(w->sink.buf, w->sink.buf + start, w->sink.len - start);
        w->sink.len -= start;
        w->sink.buf[w->sink.len] = '\0';
    }
    return r;
}

/* curl's write callback: events are delivered as their lines complete. */
static size_t kw_on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct kube_watch *w = userdata;
    size_t n = size * nmemb;
    long status = 0;
    int r;

    w->last_data_ms = clock_now_ms();
    if (!kube_sink_append(&w->sink, data, n, KUBE_MAX_RESPONSE)) {
        errbuf_set(&w->stop_eb, "%s: answer or event over %zu bytes", w->path, KUBE_MAX_RESPONSE);
        w->stop_err = -EFBIG;
        return 0;
    }
    if (w->phase != KW_PHASE_WATCH ||
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
        return n;
    }
    r = kw_drain(w, false);
    if (r < 0) {
        w->stop_err = r;
        return 0; /* stops the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* The query of the next request: a list page, or a watch from w->rv. */
static char *kw_query(const struct kube_watch *w)
{
    const char *sel = w->selector;

    if (w->need_list) {
        return kube_list_query(sel, w->list_continue);
    }
    return xasprintf("%s%s%swatch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%s",
                     sel ? "labelSelector=" : "", sel ? sel : "", sel ? "&" : "", w->timeout_s,
                     w->rv);
}

/* Removes the request in flight, if any, from the multi handle. */
static void kw_detach(struct kube_watch *w)
{
    if (w->phase != KW_PHASE_IDLE) {
        (void) curl_multi_remove_handle(w->multi, w->easy);
        w->phase = KW_PHASE_IDLE;
    }
}

static int kw_start(struct kube_watch *w, struct errbuf *eb)
{
    bool list = w->need_list;
    uint32_t timeout_ms = list ? w->kc->timeout_ms : (w->timeout_s + KW_CURL_SLACK_S) * 1000;
    char *query = kw_query(w);
    CURLcode cc;

    (void) kube_token_refresh(w->kc, false);
    free(w->url);
    w->url = kube_url(w->kc, w->path, query);
    free(query);
    curl_slist_free_all(w->headers);
    w->headers = kube_headers(w->kc, NULL);
    curl_easy_reset(w->easy);
    w->curl_err[0] = '\0';
    cc = kube_setup(w->kc, w->easy, w->url, w->headers, timeout_ms, w->curl_err);
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, kw_on_write);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_setopt(w->easy, CURLOPT_HTTPGET, 1L);
    }
    if (cc != CURLE_OK || curl_multi_add_handle(w->multi, w->easy) != CURLM_OK) {
        errbuf_set(eb, "watch %s: cannot start a request: %s", w->path, curl_easy_strerror(cc));
        return kw_fail(w, -EIO, false);
    }
    w->phase = list ? KW_PHASE_LIST : KW_PHASE_WATCH;
    if (w->sink.cap > KW_SINK_KEEP) {
        free(w->sink.buf); /* a big list page came: do not keep its buffer for ever */
        w->sink = (struct kube_sink){0};
    }
    w->sink.len = 0;
    w->stop_err = 0;
    errbuf_clear(&w->stop_eb);
    w->started_ms = w->last_data_ms = clock_now_ms();
    w->request_events = 0;
    if (!list) {
        w->stats.watches++;
    }
    return 0;
}

/* Reports the objects that were known but are absent from the list just delivered. */
static void kw_sweep(struct kube_watch *w)
{
    for (size_t i = 0; i < w->nbuckets; i++) {
        struct kw_obj **slot = &w->buckets[i];

        while (*slot) {
            cJSON *stub, *meta;
            char *slash;

            if ((*slot)->gen == w->gen) {
                slot = &(*slot)->next;
                continue;
            }
            stub = json_new_object();
            meta = json_add_object(stub, "metadata");
            slash = strchr((*slot)->key, '/');
            json_add_str(meta, "name", slash + 1);
            if (slash != (*slot)->key) {
                *slash = '\0';
                json_add_str(meta, "namespace", (*slot)->key);
                *slash = '/';
            }
            json_add_str(meta, "resourceVersion", (*slot)->rv);
            w->fn(KUBE_EVENT_DELETED, stub, w->data);
            cJSON_Delete(stub);
            kw_unlink(w, slot);
        }
    }
}

/* The complete list: RELIST_BEGIN, ADDED/MODIFIED, synthesised DELETED, RELIST_END. */
static void kw_deliver_list(struct kube_watch *w, const char *rv)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(w->list, "items");
    const cJSON *item;

    w->gen++;
    w->fn(KUBE_EVENT_RELIST_BEGIN, NULL, w->data);
    cJSON_ArrayForEach(item, items)
    {
        char *key = kw_key(item);

        if (key) {
            bool added = kw_put(w, key, kw_meta(item, "resourceVersion"));

            w->fn(added ? KUBE_EVENT_ADDED : KUBE_EVENT_MODIFIED, item, w->data);
            free(key);
        }
    }
    kw_sweep(w);
    kw_set_rv(w, rv);
    w->need_list = false;
    w->synced = true;
    w->stats.lists++;
    w->last_list_ms = clock_now_ms();
    w->fn(KUBE_EVENT_RELIST_END, NULL, w->data);
}

/* A list page arrived (HTTP 200): merge it; on the last one deliver and go watching. */
static int kw_list_page(struct kube_watch *w, struct errbuf *eb)
{
    cJSON *page = NULL;
    char *rv;

    if (json_parse(w->sink.buf ? w->sink.buf : "", w->sink.len, 0, &page, eb) < 0 ||
        !cJSON_IsObject(page)) {
        cJSON_Delete(page);
        errbuf_prefix(eb, "list %s", w->path);
        kw_list_reset(w);
        return kw_fail(w, -EIO, false);
    }
    free(w->list_continue);
    kube_list_merge(&w->list, page, &w->list_continue);
    w->list_pages++;
    w->next_ms = clock_now_ms();
    if (w->list_continue && w->list_pages < KUBE_LIST_MAX_PAGES) {
        return 0;
    }
    rv = xstrdup(kw_meta(w->list, "resourceVersion"));
    if (w->list_continue || !rv || !rv[0] || strlen(rv) >= KW_RV_MAX) {
        errbuf_set(eb, "list %s: too many pages, or no resourceVersion", w->path);
        free(rv);
        kw_list_reset(w);
        return kw_fail(w, -EIO, false);
    }
    kw_deliver_list(w, rv);
    free(rv);
    kw_list_reset(w);
    w->attempt = 0;
    return 0;
}

/* A failure answer (not 200) to a list page or watch request. */
static int kw_http_error(struct kube_watch *w, enum kw_phase phase, long status, struct errbuf *eb)
{
    struct kube_error err;
    int r;

    kube_error_fill(&err, status, w->sink.buf, w->sink.len);
    r = kube_status_errno(status, err.reason);
    errbuf_set(eb, "%s %s: HTTP %ld %s: %s", phase == KW_PHASE_LIST ? "list" : "watch", w->path,
               status, err.reason, err.message);
    if (phase == KW_PHASE_LIST) {
        kw_list_reset(w); /* an expired continue token included: start the list again */
    }
    if (status == 410 && phase == KW_PHASE_WATCH) {
        kw_relist(w);
        return 0;
    }
    if (status == 401 && !w->token_retried && kube_token_refresh(w->kc, true)) {
        w->token_retried = true;
        w->next_ms = clock_now_ms();
        return 0;
    }
    return kw_fail(w, r, false);
}

/* The request in flight finished with cc; decides what comes next. */
static int kw_finish(struct kube_watch *w, CURLcode cc, struct errbuf *eb)
{
    enum kw_phase phase = w->phase;
    long status = 0;
    bool healthy;
    int r;

    (void) curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
    kw_detach(w);
    healthy = status == 200 &&
              (w->request_events > 0 || clock_now_ms() - w->started_ms >= KW_HEALTHY_MS);
    if (status == 200 && phase == KW_PHASE_WATCH && !w->stop_err && cc == CURLE_OK) {
        w->stop_err = kw_drain(w, true); /* a last event without its newline */
    }
    if (w->stop_err == -ESTALE) {
        errbuf_set(eb, "%s", w->stop_eb.msg);
        kw_relist(w);
        return 0;
    }
    if (w->stop_err) {
        errbuf_set(eb, "%s", w->stop_eb.msg);
        if (phase == KW_PHASE_LIST) {
            kw_list_reset(w);
        }
        return kw_fail(w, w->stop_err, healthy);
    }
    if (cc != CURLE_OK) {
        r = kube_curl_errno(w->easy, cc);
        errbuf_set(eb, "%s %s: %s", phase == KW_PHASE_LIST ? "list" : "watch", w->path,
                   w->curl_err[0] ? w->curl_err : curl_easy_strerror(cc));
        if (phase == KW_PHASE_LIST) {
            kw_list_reset(w);
        }
        return kw_fail(w, r, healthy);
    }
    if (status != 200) {
        return kw_http_error(w, phase, status, eb);
    }
    w->token_retried = false;
    if (phase == KW_PHASE_LIST) {
        return kw_list_page(w, eb);
    }
    /* The server ended the watch (its timeoutSeconds): go on from where it stopped. */
    if (healthy) {
        w->attempt = 0;
        w->next_ms = clock_now_ms();
    } else {
        kw_backoff(w); /* ended at once with nothing: do not spin */
    }
    return 0;
}

/* Lets curl move data, then handles a finished request or a silent watch. */
static int kw_pump(struct kube_watch *w, struct errbuf *eb)
{
    int running = 0, queued = 0;
    CURLMcode mc = curl_multi_perform(w->multi, &running);
    CURLMsg *msg;

    if (mc != CURLM_OK) {
        errbuf_set(eb, "watch %s: %s", w->path, curl_multi_strerror(mc));
        kw_detach(w);
        return kw_fail(w, -EIO, false);
    }
    while ((msg = curl_multi_info_read(w->multi, &queued)) != NULL) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->easy) {
            return kw_finish(w, msg->data.result, eb);
        }
    }
    if (w->phase == KW_PHASE_WATCH && clock_now_ms() - w->last_data_ms > w->idle_timeout_ms) {
        long status = 0;

        (void) curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
        errbuf_set(eb, "watch %s: nothing received for %u ms", w->path, w->idle_timeout_ms);
        kw_detach(w);
        return kw_fail(w, -ETIMEDOUT, status == 200);
    }
    return 0;
}

int kube_watch_open(struct kube_client *kc, const struct kube_watch_options *opt,
                    struct kube_watch **ret, struct errbuf *eb)
{
    struct kube_watch *w;

    if (!kc || !opt || !opt->fn || !opt->path || opt->path[0] != '/' ||
        strpbrk(opt->path, " \t\r\n#")) {
        errbuf_set(eb, "kube watch: needs a client, a callback and an absolute API path");
        return -EINVAL;
    }
    w = xcalloc(1, sizeof(*w));
    w->multi = curl_multi_init();
    w->easy = curl_easy_init();
    if (!w->multi || !w->easy) {
        errbuf_set(eb, "kube watch: cannot create curl handles");
        kube_watch_free(w);
        return -ENOMEM;
    }
    w->kc = kc;
    w->fn = opt->fn;
    w->data = opt->data;
    w->path = xstrdup(opt->path);
    w->selector = kube_escape_dup(str_is_empty(opt->label_selector) ? NULL : opt->label_selector);
    w->timeout_s = opt->timeout_s ? opt->timeout_s : KW_DEFAULT_TIMEOUT_S;
    if (w->timeout_s > KW_MAX_TIMEOUT_S) {
        w->timeout_s = KW_MAX_TIMEOUT_S;
    }
    w->idle_timeout_ms = opt->idle_timeout_ms ? opt->idle_timeout_ms : KW_DEFAULT_IDLE_MS;
    w->backoff_base_ms = opt->backoff_base_ms ? opt->backoff_base_ms : KW_DEFAULT_BASE_MS;
    w->backoff_cap_ms = opt->backoff_cap_ms ? opt->backoff_cap_ms : KW_DEFAULT_CAP_MS;
    w->seed = clock_wall_ms() ^ (uint64_t) (uintptr_t) w;
    w->nbuckets = KW_MIN_BUCKETS;
    w->buckets = xcalloc(w->nbuckets, sizeof(*w->buckets)); /* NOLINT(bugprone-sizeof-expression) */
    if (opt->resource_version) {
        (void) snprintf(w->rv, sizeof(w->rv), "%llu", (unsigned long long) opt->resource_version);
        w->synced = true;
    } else {
        w->need_list = true;
    }
    *ret = w;
    return 0;
}

/* One round of kube_watch_step(); false when the budget is spent. */
static bool kw_round(struct kube_watch *w, uint64_t deadline, int *rc, struct errbuf *eb)
{
    uint64_t now = clock_now_ms();
    uint64_t wait;
    int r = 0;

    if (w->phase == KW_PHASE_IDLE && now < w->next_ms) {
        if (now >= deadline) {
            return false;
        }
        /* In a backoff: wait it out within the budget, there is nothing else to do. */
        (void) poll(NULL, 0, (int) ((w->next_ms < deadline ? w->next_ms : deadline) - now));
        return true;
    }
    if (w->phase == KW_PHASE_IDLE) {
        r = kw_start(w, eb);
    }
    if (r == 0 && w->phase != KW_PHASE_IDLE) {
        r = kw_pump(w, eb);
    }
    if (r < 0) {
        *rc = r;
    }
    if (w->phase == KW_PHASE_IDLE) {
        return true; /* finished: the next round starts the next request or waits */
    }
    now = clock_now_ms();
    if (now >= deadline) {
        return false;
    }
    wait = deadline - now < KW_POLL_SLICE_MS ? deadline - now : KW_POLL_SLICE_MS;
    (void) curl_multi_poll(w->multi, NULL, 0, (int) wait, NULL);
    return true;
}

int kube_watch_step(struct kube_watch *w, uint64_t budget_ms, struct errbuf *eb)
{
    uint64_t deadline;
    int rc = 0;

    if (!w) {
        return -EINVAL;
    }
    deadline = clock_now_ms() + budget_ms;
    for (unsigned round = 0; round < KW_STEP_ROUNDS; round++) {
        if (!kw_round(w, deadline, &rc, eb)) {
            break;
        }
    }
    return rc;
}

uint64_t kube_watch_resource_version(const struct kube_watch *w)
{
    uint64_t v = 0;

    return str_to_u64(w->rv, 0, UINT64_MAX, &v) == 0 ? v : 0;
}

bool kube_watch_is_synced(const struct kube_watch *w)
{
    return w->synced && !w->need_list;
}

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *ret)
{
    *ret = w->stats;
}

void kube_watch_free(struct kube_watch *w)
{
    if (!w) {
        return;
    }
    if (w->multi && w->easy) {
        kw_detach(w);
    }
    if (w->easy) {
        curl_easy_cleanup(w->easy);
    }
    if (w->multi) {
        (void) curl_multi_cleanup(w->multi);
    }
    for (size_t i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i]) {
            kw_unlink(w, &w->buckets[i]);
        }
    }
    free(w->buckets);
    kw_list_reset(w);
    curl_slist_free_all(w->headers);
    free(w->sink.buf);
    free(w->url);
    free(w->path);
    free(w->selector);
    free(w);
}

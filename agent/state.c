/*
 * agent/state.c
 *
 * The agent's files: see state.h. JSON through cJSON and proto/desired (the order is stored
 * as a one-instance desired state and read back through proto_desired_decode, so a file
 * edited by hand or cut short is refused like a bad answer from the arbiter would be).
 *
 * Layer: edge (the file system).
 */
#include "agent/state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

int state_epoch_load(const char *path, uint64_t *ret, struct errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t v = 0;
    int r = fs_read_file(path, 64, &text, &len, eb);

    if (r == -ENOENT) {
        *ret = 0;
        return 0;
    }
    if (r < 0) {
        return r;
    }
    text[strcspn(text, "\n")] = '\0';
    r = str_to_u64(text, 0, JSON_INT_MAX, &v);
    free(text);
    if (r < 0) {
        errbuf_set(eb, "%s: not an epoch", path);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

int state_epoch_store(const char *path, uint64_t epoch, struct errbuf *eb)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long) epoch);

    return fs_write_atomic(path, buf, (size_t) n, 0600, eb);
}

static void state_memo_to_json(cJSON *root, const struct instance_memo *memo)
{
    cJSON *o = json_add_object(root, "memo");
    cJSON *a = json_add_array(o, "restarts");

    for (uint32_t i = 0; i < memo->n_restarts && i < RESTART_LIMIT_MAX; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double) memo->restart_wall_ms[i]));
    }
    json_add_bool(o, "failed", memo->failed);
    json_add_bool(o, "self_fenced", memo->self_fenced);
    json_add_bool(o, "was_running", memo->was_running);
    json_add_str(o, "reason", memo->reason);
}

/* The memo is optional (files of older agents): absent, it stays empty. */
static int state_memo_from_json(const cJSON *root, struct instance_memo *memo, struct errbuf *eb)
{
    const cJSON *o = NULL;
    const cJSON *a = NULL;
    const cJSON *it;
    int r;

    memset(memo, 0, sizeof(*memo));
    r = json_get_object(root, NULL, "memo", false, &o, eb);
    if (r < 0 || !o) {
        return r;
    }
    r = json_get_array(o, NULL, "restarts", true, RESTART_LIMIT_MAX, &a, eb);
    if (r > 0) {
        r = 0;
    }
    if (r == 0) {
        r = json_get_bool(o, NULL, "failed", &memo->failed, eb);
    }
    if (r == 0) {
        r = json_get_bool(o, NULL, "self_fenced", &memo->self_fenced, eb);
    }
    if (r == 0) {
        r = json_get_bool(o, NULL, "was_running", &memo->was_running, eb);
    }
    if (r == 0) {
        r = json_get_str(o, NULL, "reason", true, memo->reason, sizeof(memo->reason), eb);
    }
    if (r < 0) {
        return r;
    }
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > (double) JSON_INT_MAX ||
            memo->n_restarts >= RESTART_LIMIT_MAX) {
            errbuf_set(eb, "memo.restarts: expected at most %d times in milliseconds",
                       RESTART_LIMIT_MAX);
            return -EINVAL;
        }
        memo->restart_wall_ms[memo->n_restarts++] = (uint64_t) it->valuedouble;
    }
    return 0;
}

int state_member_store(const char *path, const char *node, const struct state_member *m,
                       struct errbuf *eb)
{
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    cJSON *root = json_new_object();
    char *text;
    int r;

    proto_desired_init(d);
    (void) str_copy(d->node, sizeof(d->node), node);
    d->heartbeat_ms = 1000;
    if (m->has_order) {
        d->n_instances = 1;
        d->instances[0] = m->order;
    }
    json_add_u64(root, "version", STATE_VERSION);
    json_add_bool(root, "was_primary", m->was_primary);
    json_add_bool(root, "rebuilt", m->rebuilt);
    json_add_u64(root, "rebuilt_epoch", m->rebuilt_epoch);
    json_add_bool(root, "ctl_stopped", m->ctl_stopped);
    state_memo_to_json(root, &m->memo);
    cJSON_AddItemToObject(root, "order", proto_desired_to_json(d));
    text = json_print(root);
    r = fs_write_atomic(path, text, strlen(text), 0600, eb);
    free(text);
    cJSON_Delete(root);
    free(d);
    return r;
}

static int state_member_parse(const char *text, size_t len, struct state_member *m,
                              struct proto_desired *d, struct errbuf *eb)
{
    cJSON *root = NULL;
    const cJSON *order = NULL;
    uint32_t version = 0;
    char *order_text = NULL;
    int r;

    r = json_parse_object(text, len, 0, &root, eb);
    if (r == 0) {
        r = json_get_u32(root, NULL, "version", STATE_VERSION, STATE_VERSION, &version, eb);
    }
    if (r == 0) {
        r = json_get_bool(root, NULL, "was_primary", &m->was_primary, eb);
    }
    if (r == 0) {
        r = json_get_bool(root, NULL, "rebuilt", &m->rebuilt, eb);
    }
    if (r == 0) {
        r = json_get_u64(root, NULL, "rebuilt_epoch", 0, JSON_INT_MAX, &m->rebuilt_epoch, eb);
    }
    if (r == 0) {
        r = json_get_bool(root, NULL, "ctl_stopped", &m->ctl_stopped, eb);
    }
    if (r == 0) {
        r = state_memo_from_json(root, &m->memo, eb);
    }
    if (r == 0) {
        r = json_get_object(root, NULL, "order", true, &order, eb);
    }
    if (r == 0) {
        order_text = json_print(order);
        r = proto_desired_decode(order_text, strlen(order_text), d, eb);
    }
    if (r == 0 && d->n_instances > 1) {
        errbuf_set(eb, "order: more than one instance");
        r = -EINVAL;
    }
    if (r == 0) {
        m->has_order = d->n_instances == 1;
        if (m->has_order) {
            m->order = d->instances[0];
        }
    }
    free(order_text);
    cJSON_Delete(root);
    return r;
}

int state_member_load(const char *path, struct state_member *ret, struct errbuf *eb)
{
    struct state_member *m = xcalloc(1, sizeof(*m));
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    char *text = NULL;
    size_t len = 0;
    int r = fs_read_file(path, STATE_FILE_MAX, &text, &len, eb);

    if (r == 0) {
        r = state_member_parse(text, len, m, d, eb);
        if (r < 0) {
            errbuf_prefix(eb, "%s", path);
            r = -EINVAL;
        }
    }
    if (r == 0) {
        *ret = *m;
    }
    free(text);
    free(d);
    free(m);
    return r;
}

/*
 * proto/report.c
 *
 * The agent's report (see report.h): JSON to struct in two steps, shape first (types, sizes,
 * enum names, through common/json) and then proto_report_validate on the struct, so the agent
 * can run the very same rules before it sends. Struct to JSON is a plain walk.
 *
 * Layer: core
 */
#include "proto/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

#define REPORT_JSON_DEPTH 16 /* a report is 4 levels deep; room for additions */

static const char *report_role_name(int v)
{
    return proto_role_to_string((enum proto_role) v);
}

static const char *report_state_name(int v)
{
    return proto_state_to_string((enum proto_state) v);
}

static const char *report_repl_name(int v)
{
    return proto_repl_state_to_string((enum proto_repl_state) v);
}

static const char *report_sync_name(int v)
{
    return proto_sync_state_to_string((enum proto_sync_state) v);
}

/* "unknown" is a valid role here: the agent has not probed the instance yet. */
static const struct json_enum report_roles = {report_role_name, PROTO_ROLE_UNKNOWN,
                                              _PROTO_ROLE_MAX};
static const struct json_enum report_states = {report_state_name, PROTO_STATE_CREATING,
                                               _PROTO_STATE_MAX};
static const struct json_enum report_repl_states = {report_repl_name, PROTO_REPL_STATE_STARTUP,
                                                    _PROTO_REPL_STATE_MAX};
static const struct json_enum report_sync_states = {report_sync_name, PROTO_SYNC_STATE_ASYNC,
                                                    _PROTO_SYNC_STATE_MAX};

void proto_report_init(struct proto_report *r)
{
    memset(r, 0, sizeof(*r));
    r->version = PROTO_VERSION;
}

/* ---- validation ---- */

/* An agent run id: 1-63 of [A-Za-z0-9._-]. */
static bool report_is_agent_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PROTO_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int report_validate_replica(const struct proto_replica *p, const struct json_path *at,
                                   struct errbuf *eb)
{
    if (json_expect(eb, at, "name", str_is_dns_label(p->name), "DNS-1123 label", p->name) < 0) {
        return -EINVAL;
    }
    if (p->state <= PROTO_REPL_STATE_UNKNOWN || p->state >= _PROTO_REPL_STATE_MAX) {
        return json_error(eb, at, "state", "expected a known replication state, got %d",
                          (int) p->state);
    }
    if (p->sync <= PROTO_SYNC_STATE_UNKNOWN || p->sync >= _PROTO_SYNC_STATE_MAX) {
        return json_error(eb, at, "sync", "expected a known sync state, got %d", (int) p->sync);
    }
    return 0;
}

static int report_validate_replicas(const struct proto_instance_report *in,
                                    const struct json_path *at, struct errbuf *eb)
{
    const struct json_path list = {.up = at, .key = "replication"};

    if (in->n_replicas > PROTO_MAX_REPLICAS) {
        return json_error(eb, at, "replication", "expected at most %d elements, got %" PRIu32,
                          PROTO_MAX_REPLICAS, in->n_replicas);
    }
    for (uint32_t i = 0; i < in->n_replicas; i++) {
        const struct json_path item = {.up = &list, .index = i};
        if (report_validate_replica(&in->replicas[i], &item, eb) < 0) {
            return -EINVAL;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(in->replicas[k].name, in->replicas[i].name) == 0) {
                return json_error(eb, &item, "name", "duplicate of replication[%" PRIu32 "]", k);
            }
        }
    }
    return 0;
}

/* Names and enum values of one instance. */
static int report_validate_names(const struct proto_instance_report *in, const struct json_path *at,
                                 struct errbuf *eb)
{
    const char *label = "DNS-1123 label";
    const char *ns = in->namespace_;

    if (json_expect(eb, at, "namespace", str_is_dns_label(ns), label, ns) < 0 ||
        json_expect(eb, at, "cluster", str_is_dns_label(in->cluster), label, in->cluster) < 0 ||
        json_expect(eb, at, "member", str_is_dns_label(in->member), label, in->member) < 0 ||
        json_expect(eb, at, "upstream", !in->upstream[0] || str_is_dns_label(in->upstream),
                    "\"\" or a DNS-1123 label", in->upstream) < 0) {
        return -EINVAL;
    }
    if (in->state <= PROTO_STATE_UNKNOWN || in->state >= _PROTO_STATE_MAX) {
        return json_error(eb, at, "state", "expected a known state, got %d", (int) in->state);
    }
    if (in->state == PROTO_STATE_LOST) {
        return json_error(eb, at, "state", "\"lost\" is the arbiter's verdict, not a report");
    }
    if (in->role < PROTO_ROLE_UNKNOWN || in->role >= _PROTO_ROLE_MAX) {
        return json_error(eb, at, "role", "expected a known role, got %d", (int) in->role);
    }
    return 0;
}

static int report_validate_instance(const struct proto_instance_report *in,
                                    const struct json_path *at, struct errbuf *eb)
{
    if (report_validate_names(in, at, eb) < 0 ||
        json_check_range(eb, at, "epoch", in->epoch, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, at, "disk_free_bytes", in->disk_free_bytes, 0, JSON_INT_MAX) < 0 ||
        json_expect(eb, at, "last_error", json_is_text(in->last_error), "printable UTF-8 text",
                    in->last_error) < 0 ||
        json_expect(eb, at, "sync_standby_names", json_is_text(in->sync_standby_names),
                    "printable UTF-8 text", in->sync_standby_names) < 0) {
        return -EINVAL;
    }
    if (in->pid < 0) {
        return json_error(eb, at, "pid", "expected integer in 0..%d, got %" PRId32, INT32_MAX,
                          in->pid);
    }
    return report_validate_replicas(in, at, eb);
}

static bool report_same_member(const struct proto_instance_report *a,
                               const struct proto_instance_report *b)
{
    return strcmp(a->namespace_, b->namespace_) == 0 && strcmp(a->cluster, b->cluster) == 0 &&
           strcmp(a->member, b->member) == 0;
}

int proto_report_validate(const struct proto_report *r, struct errbuf *eb)
{
    const struct json_path list = {.key = "instances"};

    if (r->version != PROTO_VERSION) {
        return json_error(eb, NULL, "version", "expected %d, got %" PRIu32, PROTO_VERSION,
                          r->version);
    }
    if (json_expect(eb, NULL, "node", str_is_dns_subdomain(r->node), "DNS-1123 subdomain",
                    r->node) < 0 ||
        json_expect(eb, NULL, "agent_id", report_is_agent_id(r->agent_id), "1-63 of [A-Za-z0-9._-]",
                    r->agent_id) < 0 ||
        json_check_range(eb, NULL, "seq", r->seq, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, NULL, "known_generation", r->known_generation, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, NULL, "wait_ms", r->wait_ms, 0, PROTO_WAIT_MAX_MS) < 0) {
        return -EINVAL;
    }
    if (r->n_instances > PROTO_MAX_INSTANCES) {
        return json_error(eb, NULL, "instances", "expected at most %d elements, got %" PRIu32,
                          PROTO_MAX_INSTANCES, r->n_instances);
    }
    for (uint32_t i = 0; i < r->n_instances; i++) {
        const struct json_path item = {.up = &list, .index = i};
        if (report_validate_instance(&r->instances[i], &item, eb) < 0) {
            return -EINVAL;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (report_same_member(&r->instances[k], &r->instances[i])) {
                return json_error(eb, &item, "member", "duplicate of instances[%" PRIu32 "]", k);
            }
        }
    }
    return 0;
}

/* ---- decoding ---- */

static int report_replica_from_json(const cJSON *j, const struct json_path *at,
                                    struct proto_replica *ret, struct errbuf *eb)
{
    int state = 0;
    int sync = 0;

    if (json_get_str(j, at, "name", true, ret->name, sizeof(ret->name), eb) < 0 ||
        json_get_enum(j, at, "state", &report_repl_states, &state, eb) < 0 ||
        json_get_enum(j, at, "sync", &report_sync_states, &sync, eb) < 0 ||
        json_get_lsn(j, at, "sent", &ret->sent_lsn, eb) < 0 ||
        json_get_lsn(j, at, "flush", &ret->flush_lsn, eb) < 0 ||
        json_get_lsn(j, at, "replay", &ret->replay_lsn, eb) < 0) {
        return -EINVAL;
    }
    ret->state = (enum proto_repl_state) state;
    ret->sync = (enum proto_sync_state) sync;
    return 0;
}

/* The "lsn" object and the "replication" array of one instance. */
static int report_positions_from_json(const cJSON *j, const struct json_path *at,
                                      struct proto_instance_report *ret, struct errbuf *eb)
{
    const struct json_path lsn_at = {.up = at, .key = "lsn"};
    const struct json_path list_at = {.up = at, .key = "replication"};
    const cJSON *lsn = NULL;
    const cJSON *list = NULL;
    const cJSON *item;
    int n;

    if (json_get_object(j, at, "lsn", true, &lsn, eb) < 0 ||
        json_get_lsn(lsn, &lsn_at, "current", &ret->current_lsn, eb) < 0 ||
        json_get_lsn(lsn, &lsn_at, "received", &ret->received_lsn, eb) < 0 ||
        json_get_lsn(lsn, &lsn_at, "replayed", &ret->replayed_lsn, eb) < 0) {
        return -EINVAL;
    }
    n = json_get_array(j, at, "replication", false, PROTO_MAX_REPLICAS, &list, eb);
    if (n < 0) {
        return n;
    }
    ret->n_replicas = 0;
    cJSON_ArrayForEach(item, list)
    {
        const struct json_path item_at = {.up = &list_at, .index = ret->n_replicas};
        if (report_replica_from_json(item, &item_at, &ret->replicas[ret->n_replicas], eb) < 0) {
            return -EINVAL;
        }
        ret->n_replicas++;
    }
    return 0;
}

static int report_instance_from_json(const cJSON *j, const struct json_path *at,
                                     struct proto_instance_report *ret, struct errbuf *eb)
{
    uint32_t pid = 0;
    int state = 0;
    int role = 0;

    if (!cJSON_IsObject(j)) {
        return json_error(eb, at, NULL, "expected object, got %s", json_type_name(j));
    }
    if (json_get_str(j, at, "namespace", true, ret->namespace_, sizeof(ret->namespace_), eb) < 0 ||
        json_get_str(j, at, "cluster", true, ret->cluster, sizeof(ret->cluster), eb) < 0 ||
        json_get_str(j, at, "member", true, ret->member, sizeof(ret->member), eb) < 0 ||
        json_get_u64(j, at, "epoch", 0, JSON_INT_MAX, &ret->epoch, eb) < 0 ||
        json_get_enum(j, at, "state", &report_states, &state, eb) < 0 ||
        json_get_enum(j, at, "role", &report_roles, &role, eb) < 0 ||
        json_get_u32(j, at, "pid", 0, INT32_MAX, &pid, eb) < 0 ||
        json_get_u32(j, at, "timeline", 0, UINT32_MAX, &ret->timeline, eb) < 0 ||
        json_get_u64_text(j, at, "system_id", &ret->system_id, eb) < 0 ||
        json_get_str(j, at, "upstream", false, ret->upstream, sizeof(ret->upstream), eb) < 0 ||
        json_get_u32(j, at, "restarts", 0, UINT32_MAX, &ret->restarts, eb) < 0 ||
        json_get_str(j, at, "last_error", false, ret->last_error, PROTO_ERROR_MAX + 1, eb) < 0 ||
        json_get_u64(j, at, "disk_free_bytes", 0, JSON_INT_MAX, &ret->disk_free_bytes, eb) < 0 ||
        json_get_bool(j, at, "maintenance", &ret->maintenance, eb) < 0 ||
        json_get_str(j, at, "sync_standby_names", false, ret->sync_standby_names,
                     sizeof(ret->sync_standby_names), eb) < 0) {
        return -EINVAL;
    }
    ret->state = (enum proto_state) state;
    ret->role = (enum proto_role) role;
    ret->pid = (int32_t) pid;
    return report_positions_from_json(j, at, ret, eb);
}

/* Shape of the whole report into r (zeroed by the caller). */
static int report_from_json(const cJSON *j, struct proto_report *r, struct errbuf *eb)
{
    const struct json_path list_at = {.key = "instances"};
    const cJSON *list = NULL;
    const cJSON *item;
    int n;

    /* The version first: another version may differ in any other field. */
    if (json_get_u32(j, NULL, "version", 0, UINT32_MAX, &r->version, eb) < 0) {
        return -EINVAL;
    }
    if (r->version != PROTO_VERSION) {
        return json_error(eb, NULL, "version", "expected %d, got %" PRIu32, PROTO_VERSION,
                          r->version);
    }
    if (json_get_str(j, NULL, "node", true, r->node, sizeof(r->node), eb) < 0 ||
        json_get_str(j, NULL, "agent_id", true, r->agent_id, sizeof(r->agent_id), eb) < 0 ||
        json_get_u64(j, NULL, "seq", 0, JSON_INT_MAX, &r->seq, eb) < 0 ||
        json_get_u64(j, NULL, "known_generation", 0, JSON_INT_MAX, &r->known_generation, eb) < 0) {
        return -EINVAL;
    }
    if (json_has(j, "wait_ms") &&
        json_get_u32(j, NULL, "wait_ms", 0, UINT32_MAX, &r->wait_ms, eb) < 0) {
        return -EINVAL;
    }
    n = json_get_array(j, NULL, "instances", true, PROTO_MAX_INSTANCES, &list, eb);
    if (n < 0) {
        return n;
    }
    cJSON_ArrayForEach(item, list)
    {
        const struct json_path item_at = {.up = &list_at, .index = r->n_instances};
        if (report_instance_from_json(item, &item_at, &r->instances[r->n_instances], eb) < 0) {
            return -EINVAL;
        }
        r->n_instances++;
    }
    return 0;
}

int proto_report_decode(const char *json, size_t len, struct proto_report *ret, struct errbuf *eb)
{
    struct proto_report *r = xcalloc(1, sizeof(*r));
    cJSON *j = NULL;
    int res;

    res = json_parse_object(json, len, REPORT_JSON_DEPTH, &j, eb);
    if (res < 0) {
        goto out;
    }
    res = report_from_json(j, r, eb);
    if (res < 0) {
        goto out;
    }
    res = proto_report_validate(r, eb);
    if (res < 0) {
        goto out;
    }
    memcpy(ret, r, sizeof(*r));
out:
    cJSON_Delete(j);
    free(r);
    return res;
}

/* ---- encoding ---- */

/* Adds free text with control characters and invalid UTF-8 replaced (see report.h). */
static void report_add_text(cJSON *obj, const char *key, const char *s, size_t cap)
{
    char clean[PROTO_SSN_MAX + 1];
    size_t n = strnlen(s, cap < PROTO_SSN_MAX ? cap : PROTO_SSN_MAX);

    _Static_assert(PROTO_SSN_MAX >= PROTO_ERROR_MAX, "clean[] holds every free-text field");
    memcpy(clean, s, n);
    clean[n] = '\0';
    json_text_sanitize(clean);
    json_add_str(obj, key, clean);
}

static void report_replica_to_json(cJSON *obj, const struct proto_replica *p)
{
    json_add_str(obj, "name", p->name);
    json_add_str(obj, "state", proto_repl_state_to_string(p->state));
    json_add_str(obj, "sync", proto_sync_state_to_string(p->sync));
    json_add_lsn(obj, "sent", p->sent_lsn);
    json_add_lsn(obj, "flush", p->flush_lsn);
    json_add_lsn(obj, "replay", p->replay_lsn);
}

static void report_instance_to_json(cJSON *obj, const struct proto_instance_report *in)
{
    cJSON *lsn;
    cJSON *list;

    json_add_str(obj, "namespace", in->namespace_);
    json_add_str(obj, "cluster", in->cluster);
    json_add_str(obj, "member", in->member);
    json_add_u64(obj, "epoch", in->epoch);
    json_add_str(obj, "state", proto_state_to_string(in->state));
    json_add_str(obj, "role", proto_role_to_string(in->role));
    json_add_u64(obj, "pid", in->pid < 0 ? 0 : (uint64_t) in->pid);
    json_add_u64(obj, "timeline", in->timeline);
    json_add_u64_text(obj, "system_id", in->system_id);
    lsn = json_add_object(obj, "lsn");
    json_add_lsn(lsn, "current", in->current_lsn);
    json_add_lsn(lsn, "received", in->received_lsn);
    json_add_lsn(lsn, "replayed", in->replayed_lsn);
    json_add_str(obj, "upstream", in->upstream);
    json_add_u64(obj, "restarts", in->restarts);
    report_add_text(obj, "last_error", in->last_error, PROTO_ERROR_MAX);
    json_add_u64(obj, "disk_free_bytes", in->disk_free_bytes);
    json_add_bool(obj, "maintenance", in->maintenance);
    report_add_text(obj, "sync_standby_names", in->sync_standby_names, PROTO_SSN_MAX);
    list = json_add_array(obj, "replication");
    for (uint32_t i = 0; i < in->n_replicas && i < PROTO_MAX_REPLICAS; i++) {
        report_replica_to_json(json_add_object(list, NULL), &in->replicas[i]);
    }
}

cJSON *proto_report_to_json(const struct proto_report *r)
{
    cJSON *j = json_new_object();
    cJSON *list;

    json_add_u64(j, "version", r->version);
    json_add_str(j, "node", r->node);
    json_add_str(j, "agent_id", r->agent_id);
    json_add_u64(j, "seq", r->seq);
    json_add_u64(j, "known_generation", r->known_generation);
    json_add_u64(j, "wait_ms", r->wait_ms);
    list = json_add_array(j, "instances");
    for (uint32_t i = 0; i < r->n_instances && i < PROTO_MAX_INSTANCES; i++) {
        report_instance_to_json(json_add_object(list, NULL), &r->instances[i]);
    }
    return j;
}

char *proto_report_encode(const struct proto_report *r)
{
    cJSON *j = proto_report_to_json(r);
    char *text = json_print(j);

    cJSON_Delete(j);
    return text;
}

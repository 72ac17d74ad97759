/*
 * proto/desired.c
 *
 * The arbiter's desired state (see desired.h): JSON to struct in two steps, shape first
 * (types, sizes, enum names, through common/json) and then proto_desired_validate on the
 * struct, which the arbiter also runs before it sends. Struct to JSON is a plain walk.
 *
 * Layer: core
 */
#include "proto/desired.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

#define DESIRED_JSON_DEPTH 16 /* a desired state is 4 levels deep; room for additions */
#define DESIRED_PORT_MAX   65535

static const char *desired_role_name(int v)
{
    return proto_role_to_string((enum proto_role) v);
}

static const char *desired_state_name(int v)
{
    return proto_state_to_string((enum proto_state) v);
}

static const struct json_enum desired_roles = {desired_role_name, PROTO_ROLE_PRIMARY,
                                               _PROTO_ROLE_MAX};
static const struct json_enum desired_states = {desired_state_name, PROTO_STATE_CREATING,
                                                _PROTO_STATE_MAX};

void proto_desired_init(struct proto_desired *d)
{
    memset(d, 0, sizeof(*d));
    d->version = PROTO_VERSION;
}

/* ---- validation ---- */

/* A literal IPv4 or IPv6 address (inet_pton: no names, no zone, no prefix). */
static bool desired_is_ip(const char *s)
{
    struct in6_addr a6;

    return inet_pton(AF_INET, s, &a6) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* A setting name as PostgreSQL spells it: [a-z_][a-z0-9_.]*, at most PROTO_KEY_MAX bytes. */
bool proto_is_setting_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PROTO_KEY_MAX || (s[0] >= '0' && s[0] <= '9') || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

static bool desired_is_order(enum proto_state s)
{
    return s == PROTO_STATE_RUNNING || s == PROTO_STATE_STOPPED || s == PROTO_STATE_FENCED;
}

static int desired_validate_upstream(const struct proto_instance_desired *in,
                                     const struct json_path *at, struct errbuf *eb)
{
    const struct json_path up_at = {.up = at, .key = "upstream"};
    const struct proto_upstream *up = &in->upstream;
    const char *ip = "IPv4 or IPv6 address";

    if (!in->has_upstream) {
        if (in->rebuild) {
            return json_error(eb, at, "rebuild", "needs an upstream to rebuild from");
        }
        return 0;
    }
    if (in->role == PROTO_ROLE_PRIMARY) {
        return json_error(eb, at, "upstream", "expected null for a primary");
    }
    if (json_expect(eb, &up_at, "member", str_is_dns_label(up->member), "DNS-1123 label",
                    up->member) < 0 ||
        json_expect(eb, &up_at, "host", desired_is_ip(up->host), ip, up->host) < 0 ||
        json_check_range(eb, &up_at, "port", up->port, 1, DESIRED_PORT_MAX) < 0) {
        return -EINVAL;
    }
    if (strcmp(up->member, in->member) == 0) {
        return json_error(eb, &up_at, "member", "an instance cannot follow itself");
    }
    return 0;
}

static int desired_validate_sync(const struct proto_instance_desired *in,
                                 const struct json_path *at, struct errbuf *eb)
{
    const struct json_path sync_at = {.up = at, .key = "sync"};
    const struct json_path names_at = {.up = &sync_at, .key = "names"};
    const struct proto_sync *s = &in->sync;

    if (s->n_names > PROTO_MAX_SYNC) {
        return json_error(eb, &sync_at, "names", "expected at most %d elements, got %" PRIu32,
                          PROTO_MAX_SYNC, s->n_names);
    }
    if (s->num > s->n_names) {
        return json_error(eb, &sync_at, "num",
                          "expected at most %" PRIu32 " (the number of names), got %" PRIu32,
                          s->n_names, s->num);
    }
    for (uint32_t i = 0; i < s->n_names; i++) {
        const struct json_path name_at = {.up = &names_at, .index = i};
        if (json_expect(eb, &name_at, NULL, str_is_dns_label(s->names[i]), "DNS-1123 label",
                        s->names[i]) < 0) {
            return -EINVAL;
        }
        if (strcmp(s->names[i], in->member) == 0) {
            return json_error(eb, &name_at, NULL, "names the member itself");
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(s->names[k], s->names[i]) == 0) {
                return json_error(eb, &name_at, NULL, "duplicate of names[%" PRIu32 "]", k);
            }
        }
    }
    return 0;
}

static int desired_validate_peers(const struct proto_instance_desired *in,
                                  const struct json_path *at, struct errbuf *eb)
{
    const struct json_path peers_at = {.up = at, .key = "peers"};

    if (!in->has_peers && in->n_peers > 0) {
        return json_error(eb, at, "peers", "peers listed but not marked present");
    }
    if (in->n_peers > PROTO_MAX_PEERS) {
        return json_error(eb, at, "peers", "expected at most %d elements, got %" PRIu32,
                          PROTO_MAX_PEERS, in->n_peers);
    }
    for (uint32_t i = 0; i < in->n_peers; i++) {
        const struct json_path p_at = {.up = &peers_at, .index = i};
        const struct proto_peer *p = &in->peers[i];

        if (json_expect(eb, &p_at, "name", str_is_dns_label(p->name), "DNS-1123 label", p->name) <
                    0 ||
            json_expect(eb, &p_at, "ip", desired_is_ip(p->ip), "IPv4 or IPv6 address", p->ip) < 0 ||
            json_check_range(eb, &p_at, "port", p->port, 1, DESIRED_PORT_MAX) < 0) {
            return -EINVAL;
        }
        if (strcmp(p->name, in->member) == 0) {
            return json_error(eb, &p_at, "name", "names the member itself");
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(in->peers[k].name, p->name) == 0) {
                return json_error(eb, &p_at, "name", "duplicate of peers[%" PRIu32 "]", k);
            }
        }
    }
    return 0;
}

static int desired_validate_config(const struct proto_instance_desired *in,
                                   const struct json_path *at, struct errbuf *eb)
{
    const struct json_path cfg_at = {.up = at, .key = "config"};

    if (in->n_config > PROTO_MAX_CONFIG) {
        return json_error(eb, at, "config", "expected at most %d settings, got %" PRIu32,
                          PROTO_MAX_CONFIG, in->n_config);
    }
    for (uint32_t i = 0; i < in->n_config; i++) {
        const struct proto_kv *kv = &in->config[i];
        if (json_expect(eb, &cfg_at, kv->key, proto_is_setting_name(kv->key),
                        "setting name [a-z_][a-z0-9_.]*", kv->key) < 0 ||
            json_expect(eb, &cfg_at, kv->key, json_is_text(kv->value),
                        "printable UTF-8 text without control characters", kv->value) < 0) {
            return -EINVAL;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(in->config[k].key, kv->key) == 0) {
                return json_error(eb, &cfg_at, kv->key, "set twice");
            }
        }
    }
    return 0;
}

/* Names, order, address and bounds of one instance. */
static int desired_validate_fields(const struct proto_instance_desired *in,
                                   const struct json_path *at, struct errbuf *eb)
{
    const struct json_path auth_at = {.up = at, .key = "auth"};
    const char *label = "DNS-1123 label";
    const char *ns = in->namespace_;

    if (json_expect(eb, at, "namespace", str_is_dns_label(ns), label, ns) < 0 ||
        json_expect(eb, at, "cluster", str_is_dns_label(in->cluster), label, in->cluster) < 0 ||
        json_expect(eb, at, "member", str_is_dns_label(in->member), label, in->member) < 0 ||
        json_expect(eb, at, "ip", desired_is_ip(in->ip), "IPv4 or IPv6 address", in->ip) < 0 ||
        json_check_range(eb, at, "port", in->port, 1, DESIRED_PORT_MAX) < 0 ||
        json_check_range(eb, at, "epoch", in->epoch, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, at, "storage_bytes", in->storage_bytes, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, at, "restart_window_ms", in->restart_window_ms, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, at, "lost_timeout_ms", in->lost_timeout_ms, 0, JSON_INT_MAX) < 0 ||
        json_expect(eb, &auth_at, "user", in->auth_user[0] && json_is_text(in->auth_user),
                    "non-empty printable UTF-8 text", in->auth_user) < 0 ||
        json_expect(eb, &auth_at, "password", json_is_text(in->auth_password),
                    "printable UTF-8 text", NULL) < 0) {
        return -EINVAL;
    }
    if (in->role <= PROTO_ROLE_UNKNOWN || in->role >= _PROTO_ROLE_MAX) {
        return json_error(eb, at, "role", "expected primary|standby|leader, got %d",
                          (int) in->role);
    }
    if (!desired_is_order(in->state)) {
        return json_error(eb, at, "state", "expected running|stopped|fenced, got \"%s\"",
                          proto_state_to_string(in->state));
    }
    return 0;
}

static int desired_validate_instance(const struct proto_instance_desired *in,
                                     const struct json_path *at, struct errbuf *eb)
{
    if (desired_validate_fields(in, at, eb) < 0 || desired_validate_upstream(in, at, eb) < 0 ||
        desired_validate_sync(in, at, eb) < 0 || desired_validate_config(in, at, eb) < 0 ||
        desired_validate_peers(in, at, eb) < 0) {
        return -EINVAL;
    }
    return 0;
}

static bool desired_same_member(const struct proto_instance_desired *a,
                                const struct proto_instance_desired *b)
{
    return strcmp(a->namespace_, b->namespace_) == 0 && strcmp(a->cluster, b->cluster) == 0 &&
           strcmp(a->member, b->member) == 0;
}

int proto_desired_validate(const struct proto_desired *d, struct errbuf *eb)
{
    const struct json_path list = {.key = "instances"};

    if (d->version != PROTO_VERSION) {
        return json_error(eb, NULL, "version", "expected %d, got %" PRIu32, PROTO_VERSION,
                          d->version);
    }
    if (json_expect(eb, NULL, "node", str_is_dns_subdomain(d->node), "DNS-1123 subdomain",
                    d->node) < 0 ||
        json_check_range(eb, NULL, "generation", d->generation, 0, JSON_INT_MAX) < 0 ||
        json_check_range(eb, NULL, "heartbeat_ms", d->heartbeat_ms, PROTO_HEARTBEAT_MIN_MS,
                         PROTO_HEARTBEAT_MAX_MS) < 0) {
        return -EINVAL;
    }
    if (d->n_instances > PROTO_MAX_INSTANCES) {
        return json_error(eb, NULL, "instances", "expected at most %d elements, got %" PRIu32,
                          PROTO_MAX_INSTANCES, d->n_instances);
    }
    for (uint32_t i = 0; i < d->n_instances; i++) {
        const struct json_path item = {.up = &list, .index = i};
        if (desired_validate_instance(&d->instances[i], &item, eb) < 0) {
            return -EINVAL;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (desired_same_member(&d->instances[k], &d->instances[i])) {
                return json_error(eb, &item, "member", "duplicate of instances[%" PRIu32 "]", k);
            }
        }
    }
    return 0;
}

/* ---- decoding ---- */

static int desired_upstream_from_json(const cJSON *j, const struct json_path *at,
                                      struct proto_instance_desired *ret, struct errbuf *eb)
{
    const struct json_path up_at = {.up = at, .key = "upstream"};
    struct proto_upstream *up = &ret->upstream;
    const cJSON *obj = NULL;

    if (json_get_object(j, at, "upstream", false, &obj, eb) < 0) {
        return -EINVAL;
    }
    ret->has_upstream = obj != NULL;
    if (!obj) {
        return 0;
    }
    if (json_get_str(obj, &up_at, "member", true, up->member, sizeof(up->member), eb) < 0 ||
        json_get_str(obj, &up_at, "host", true, up->host, sizeof(up->host), eb) < 0 ||
        json_get_u32(obj, &up_at, "port", 1, DESIRED_PORT_MAX, &up->port, eb) < 0) {
        return -EINVAL;
    }
    return 0;
}

static int desired_sync_from_json(const cJSON *j, const struct json_path *at,
                                  struct proto_sync *ret, struct errbuf *eb)
{
    const struct json_path sync_at = {.up = at, .key = "sync"};
    const struct json_path names_at = {.up = &sync_at, .key = "names"};
    const cJSON *obj = NULL;
    const cJSON *names = NULL;
    const cJSON *item;

    if (json_get_object(j, at, "sync", false, &obj, eb) < 0) {
        return -EINVAL;
    }
    if (!obj) {
        return 0; /* asynchronous */
    }
    if (json_get_u32(obj, &sync_at, "num", 0, PROTO_MAX_SYNC, &ret->num, eb) < 0 ||
        json_get_array(obj, &sync_at, "names", true, PROTO_MAX_SYNC, &names, eb) < 0) {
        return -EINVAL;
    }
    cJSON_ArrayForEach(item, names)
    {
        const struct json_path name_at = {.up = &names_at, .index = ret->n_names};
        if (json_get_str(item, &name_at, NULL, true, ret->names[ret->n_names],
                         sizeof(ret->names[0]), eb) < 0) {
            return -EINVAL;
        }
        ret->n_names++;
    }
    return 0;
}

static int desired_peers_from_json(const cJSON *j, const struct json_path *at,
                                   struct proto_instance_desired *ret, struct errbuf *eb)
{
    const struct json_path peers_at = {.up = at, .key = "peers"};
    const cJSON *list = NULL;
    const cJSON *item;

    if (json_get_array(j, at, "peers", false, PROTO_MAX_PEERS, &list, eb) < 0) {
        return -EINVAL;
    }
    ret->has_peers = list != NULL;
    cJSON_ArrayForEach(item, list)
    {
        const struct json_path p_at = {.up = &peers_at, .index = ret->n_peers};
        struct proto_peer *p = &ret->peers[ret->n_peers];

        if (!cJSON_IsObject(item)) {
            return json_error(eb, &p_at, NULL, "expected object, got %s", json_type_name(item));
        }
        if (json_get_str(item, &p_at, "name", true, p->name, sizeof(p->name), eb) < 0 ||
            json_get_str(item, &p_at, "ip", true, p->ip, sizeof(p->ip), eb) < 0 ||
            json_get_u32(item, &p_at, "port", 1, DESIRED_PORT_MAX, &p->port, eb) < 0) {
            return -EINVAL;
        }
        ret->n_peers++;
    }
    return 0;
}

static int desired_config_from_json(const cJSON *j, const struct json_path *at,
                                    struct proto_instance_desired *ret, struct errbuf *eb)
{
    const struct json_path cfg_at = {.up = at, .key = "config"};
    const cJSON *obj = NULL;
    const cJSON *item;
    size_t n = 0;

    if (json_get_object(j, at, "config", false, &obj, eb) < 0) {
        return -EINVAL;
    }
    cJSON_ArrayForEach(item, obj)
    {
        n++;
    }
    if (n > PROTO_MAX_CONFIG) {
        return json_error(eb, at, "config", "expected at most %d settings, got %zu",
                          PROTO_MAX_CONFIG, n);
    }
    cJSON_ArrayForEach(item, obj)
    {
        const char *key = item->string ? item->string : "";
        const struct json_path kv_at = {.up = &cfg_at, .key = key};
        struct proto_kv *kv = &ret->config[ret->n_config];

        if (str_copy(kv->key, sizeof(kv->key), key) < 0) {
            return json_error(eb, &cfg_at, key, "setting name longer than %d bytes", PROTO_KEY_MAX);
        }
        if (json_get_str(item, &kv_at, NULL, true, kv->value, sizeof(kv->value), eb) < 0) {
            return -EINVAL;
        }
        ret->n_config++;
    }
    return 0;
}

/* Everything but the nested objects of one instance. */
static int desired_fields_from_json(const cJSON *j, const struct json_path *at,
                                    struct proto_instance_desired *ret, struct errbuf *eb)
{
    const struct json_path auth_at = {.up = at, .key = "auth"};
    const cJSON *auth = NULL;
    uint64_t *window = &ret->restart_window_ms;
    char *user = ret->auth_user;
    char *password = ret->auth_password;
    int role = 0;
    int state = 0;

    if (json_get_str(j, at, "namespace", true, ret->namespace_, sizeof(ret->namespace_), eb) < 0 ||
        json_get_str(j, at, "cluster", true, ret->cluster, sizeof(ret->cluster), eb) < 0 ||
        json_get_str(j, at, "member", true, ret->member, sizeof(ret->member), eb) < 0 ||
        json_get_u64(j, at, "epoch", 0, JSON_INT_MAX, &ret->epoch, eb) < 0 ||
        json_get_enum(j, at, "role", &desired_roles, &role, eb) < 0 ||
        json_get_enum(j, at, "state", &desired_states, &state, eb) < 0 ||
        json_get_str(j, at, "ip", true, ret->ip, sizeof(ret->ip), eb) < 0 ||
        json_get_u32(j, at, "port", 1, DESIRED_PORT_MAX, &ret->port, eb) < 0 ||
        json_get_u64(j, at, "storage_bytes", 0, JSON_INT_MAX, &ret->storage_bytes, eb) < 0 ||
        json_get_bool(j, at, "maintenance", &ret->maintenance, eb) < 0 ||
        json_get_bool(j, at, "rebuild", &ret->rebuild, eb) < 0 ||
        json_get_u32(j, at, "restart_limit", 0, UINT32_MAX, &ret->restart_limit, eb) < 0 ||
        json_get_u64(j, at, "restart_window_ms", 0, JSON_INT_MAX, window, eb) < 0 ||
        json_get_u64(j, at, "lost_timeout_ms", 0, JSON_INT_MAX, &ret->lost_timeout_ms, eb) < 0) {
        return -EINVAL;
    }
    if (json_get_object(j, at, "auth", true, &auth, eb) < 0 ||
        json_get_str(auth, &auth_at, "user", true, user, PROTO_SECRET_MAX + 1, eb) < 0 ||
        json_get_str(auth, &auth_at, "password", true, password, PROTO_SECRET_MAX + 1, eb) < 0) {
        return -EINVAL;
    }
    ret->role = (enum proto_role) role;
    ret->state = (enum proto_state) state;
    return 0;
}

static int desired_instance_from_json(const cJSON *j, const struct json_path *at,
                                      struct proto_instance_desired *ret, struct errbuf *eb)
{
    if (!cJSON_IsObject(j)) {
        return json_error(eb, at, NULL, "expected object, got %s", json_type_name(j));
    }
    if (desired_fields_from_json(j, at, ret, eb) < 0 ||
        desired_upstream_from_json(j, at, ret, eb) < 0 ||
        desired_sync_from_json(j, at, &ret->sync, eb) < 0 ||
        desired_config_from_json(j, at, ret, eb) < 0 ||
        desired_peers_from_json(j, at, ret, eb) < 0) {
        return -EINVAL;
    }
    return 0;
}

/* Shape of the whole desired state into d (zeroed by the caller). */
static int desired_from_json(const cJSON *j, struct proto_desired *d, struct errbuf *eb)
{
    const struct json_path list_at = {.key = "instances"};
    const cJSON *list = NULL;
    const cJSON *item;

    /* The version first: another version may differ in any other field. */
    if (json_get_u32(j, NULL, "version", 0, UINT32_MAX, &d->version, eb) < 0) {
        return -EINVAL;
    }
    if (d->version != PROTO_VERSION) {
        return json_error(eb, NULL, "version", "expected %d, got %" PRIu32, PROTO_VERSION,
                          d->version);
    }
    if (json_get_str(j, NULL, "node", true, d->node, sizeof(d->node), eb) < 0 ||
        json_get_u64(j, NULL, "generation", 0, JSON_INT_MAX, &d->generation, eb) < 0 ||
        json_get_u32(j, NULL, "heartbeat_ms", PROTO_HEARTBEAT_MIN_MS, PROTO_HEARTBEAT_MAX_MS,
                     &d->heartbeat_ms, eb) < 0 ||
        json_get_array(j, NULL, "instances", true, PROTO_MAX_INSTANCES, &list, eb) < 0) {
        return -EINVAL;
    }
    cJSON_ArrayForEach(item, list)
    {
        const struct json_path item_at = {.up = &list_at, .index = d->n_instances};
        if (desired_instance_from_json(item, &item_at, &d->instances[d->n_instances], eb) < 0) {
            return -EINVAL;
        }
        d->n_instances++;
    }
    return 0;
}

int proto_desired_decode(const char *json, size_t len, struct proto_desired *ret, struct errbuf *eb)
{
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    cJSON *j = NULL;
    int res;

    res = json_parse_object(json, len, DESIRED_JSON_DEPTH, &j, eb);
    if (res < 0) {
        goto out;
    }
    res = desired_from_json(j, d, eb);
    if (res < 0) {
        goto out;
    }
    res = proto_desired_validate(d, eb);
    if (res < 0) {
        goto out;
    }
    memcpy(ret, d, sizeof(*d));
out:
    cJSON_Delete(j);
    free(d);
    return res;
}

/* ---- encoding ---- */

static void desired_nested_to_json(cJSON *obj, const struct proto_instance_desired *in)
{
    cJSON *sync;
    cJSON *names;
    cJSON *config;

    if (in->has_upstream) {
        cJSON *up = json_add_object(obj, "upstream");
        json_add_str(up, "member", in->upstream.member);
        json_add_str(up, "host", in->upstream.host);
        json_add_u64(up, "port", in->upstream.port);
    } else {
        json_add_null(obj, "upstream");
    }
    sync = json_add_object(obj, "sync");
    json_add_u64(sync, "num", in->sync.num);
    names = json_add_array(sync, "names");
    for (uint32_t i = 0; i < in->sync.n_names && i < PROTO_MAX_SYNC; i++) {
        json_add_str(names, NULL, in->sync.names[i]);
    }
    config = json_add_object(obj, "config");
    for (uint32_t i = 0; i < in->n_config && i < PROTO_MAX_CONFIG; i++) {
        json_add_str(config, in->config[i].key, in->config[i].value);
    }
    if (in->has_peers) {
        cJSON *peers = json_add_array(obj, "peers");
        for (uint32_t i = 0; i < in->n_peers && i < PROTO_MAX_PEERS; i++) {
            cJSON *p = json_add_object(peers, NULL);
            json_add_str(p, "name", in->peers[i].name);
            json_add_str(p, "ip", in->peers[i].ip);
            json_add_u64(p, "port", in->peers[i].port);
        }
    }
}

static void desired_instance_to_json(cJSON *obj, const struct proto_instance_desired *in)
{
    cJSON *auth;

    json_add_str(obj, "namespace", in->namespace_);
    json_add_str(obj, "cluster", in->cluster);
    json_add_str(obj, "member", in->member);
    json_add_u64(obj, "epoch", in->epoch);
    json_add_str(obj, "role", proto_role_to_string(in->role));
    json_add_str(obj, "state", proto_state_to_string(in->state));
    json_add_str(obj, "ip", in->ip);
    json_add_u64(obj, "port", in->port);
    desired_nested_to_json(obj, in);
    json_add_u64(obj, "storage_bytes", in->storage_bytes);
    json_add_bool(obj, "maintenance", in->maintenance);
    json_add_bool(obj, "rebuild", in->rebuild);
    json_add_u64(obj, "restart_limit", in->restart_limit);
    json_add_u64(obj, "restart_window_ms", in->restart_window_ms);
    json_add_u64(obj, "lost_timeout_ms", in->lost_timeout_ms);
    auth = json_add_object(obj, "auth");
    json_add_str(auth, "user", in->auth_user);
    json_add_str(auth, "password", in->auth_password);
}

cJSON *proto_desired_to_json(const struct proto_desired *d)
{
    cJSON *j = json_new_object();
    cJSON *list;

    json_add_u64(j, "version", d->version);
    json_add_str(j, "node", d->node);
    json_add_u64(j, "generation", d->generation);
    json_add_u64(j, "heartbeat_ms", d->heartbeat_ms);
    list = json_add_array(j, "instances");
    for (uint32_t i = 0; i < d->n_instances && i < PROTO_MAX_INSTANCES; i++) {
        desired_instance_to_json(json_add_object(list, NULL), &d->instances[i]);
    }
    return j;
}

char *proto_desired_encode(const struct proto_desired *d)
{
    cJSON *j = proto_desired_to_json(d);
    char *text = json_print(j);

    cJSON_Delete(j);
    return text;
}

/*
 * arbiter/spec.c
 *
 * Strict decoding of the OpenGaussCluster spec (see spec.h): one small decoder per field
 * kind (port, quantity, address, path, string map), a table of the top-level fields and
 * their decoders, unknown and repeated keys refused, then the cross-field rules (distinct
 * addresses, read and write ports, remoteiplist on a standby site). Also the member-name
 * map and the immutable-field check of an update.
 *
 * Layer: core
 */
#include "arbiter/spec.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/quantity.h"
#include "common/str.h"

#define NODEPORT_MIN 30000
#define NODEPORT_MAX 32767
#define PORT_MAX     65535

#define HA_SYNC_MAX          (SPEC_MAX_MEMBERS - 1)
#define HA_RESTARTLIMIT_MAX  1000
#define HA_RESTARTWINDOW_MAX 86400 /* s */
#define HA_LOSTTIMEOUT_MAX   3600  /* s */

/* A decoder of one member of obj, at path `at`, into s (and the parse state). */
typedef int (*spec_field_fn)(const cJSON *obj, const struct json_path *at, const char *key,
                             struct spec *s, struct errbuf *eb);

struct spec_field {
    const char *key;
    spec_field_fn fn;
};

/* Settings the agent and arbiter own: a user value would break replication or routing. */
static const char *const spec_reserved_settings[] = {
        "port",
        "listen_addresses",
        "data_directory",
        "config_file",
        "hba_file",
        "ident_file",
        "external_pid_file",
        "primary_conninfo",
        "primary_slot_name",
        "synchronous_standby_names",
        "hot_standby",
        "unix_socket_directory",
        "unix_socket_directories",
};

/* ---- small checks -------------------------------------------------------------------- */

/* Parses an address into canonical text; false when s is not a usable unicast address. */
static bool spec_ip_canonical(const char *s, char *buf, size_t size)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, s, a) == 1) {
        /* 0.0.0.0, multicast 224/4 and broadcast cannot be a member's address. */
        bool zero = a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0;
        bool bcast = a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255;
        if (zero || bcast || (a[0] & 0xf0) == 0xe0) {
            return false;
        }
        return inet_ntop(AF_INET, a, buf, (socklen_t) size) != NULL;
    }
    if (inet_pton(AF_INET6, s, a) == 1) {
        bool zero = true;
        for (int i = 0; i < 16; i++) {
            zero = zero && a[i] == 0;
        }
        if (zero || a[0] == 0xff) {
            return false;
        }
        return inet_ntop(AF_INET6, a, buf, (socklen_t) size) != NULL;
    }
    return false;
}

static bool spec_is_reserved_setting(const char *s)
{
    for (size_t i = 0; i < sizeof(spec_reserved_settings) / sizeof(spec_reserved_settings[0]);
         i++) {
        if (str_eq(s, spec_reserved_settings[i])) {
            return true;
        }
    }
    return str_has_prefix(s, "replconninfo"); /* openGauss' replication channels */
}

/* An absolute path without "." or ".." segments, as printable text. */
static bool spec_is_abs_path(const char *s)
{
    const char *p = s;

    if (s[0] != '/' || !json_is_text(s)) {
        return false;
    }
    while (*p) {
        const char *seg = p + 1, *end = strchr(seg, '/');
        size_t len = end ? (size_t) (end - seg) : strlen(seg);
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            return false;
        }
        p = seg + len;
    }
    return true;
}

/* The value of one base64 digit, or -1. */
static int spec_base64_digit(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 (RFC 4648 §4), padding optional; the decoded text into buf. */
static int spec_base64_decode(const char *s, char *buf, size_t size)
{
    size_t len = strlen(s), out = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    if (strlen(s) - len > 2 || len % 4 == 1) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        int v = spec_base64_digit(s[i]);
        if (v < 0) {
            return -EINVAL;
        }
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits < 8) {
            continue;
        }
        bits -= 8;
        if (out + 1 >= size) {
            return -ENAMETOOLONG;
        }
        buf[out++] = (char) ((acc >> bits) & 0xff);
    }
    buf[out] = '\0';
    return 0;
}

/* Refuses keys of obj not in fields[0..n) and keys given twice. */
static int spec_check_keys(const cJSON *obj, const struct json_path *at, const char *const *keys,
                           size_t n, struct errbuf *eb)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            known = str_eq(c->string, keys[i]);
        }
        if (!known) {
            return json_error(eb, at, c->string, "unknown field");
        }
        for (const cJSON *p = obj->child; p != c; p = p->next) {
            if (str_eq(p->string, c->string)) {
                return json_error(eb, at, c->string, "given twice");
            }
        }
    }
    return 0;
}

/* ---- field decoders ------------------------------------------------------------------ */

static int spec_text(const cJSON *obj, const struct json_path *at, const char *key, char *buf,
                     size_t size, struct errbuf *eb)
{
    int r = json_get_str(obj, at, key, false, buf, size, eb);

    if (r < 0) {
        return r;
    }
    return json_expect(eb, at, key, json_is_text(buf), "printable UTF-8 text", buf);
}

static int f_text(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                  struct errbuf *eb)
{
    char buf[SPEC_TEXT_MAX + 1];

    (void) s;
    return spec_text(obj, at, key, buf, sizeof(buf), eb);
}

static int f_path(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                  struct errbuf *eb)
{
    char buf[SPEC_TEXT_MAX + 1];
    int r = spec_text(obj, at, key, buf, sizeof(buf), eb);

    if (r < 0) {
        return r;
    }
    if (!str_is_empty(buf) && !spec_is_abs_path(buf)) {
        return json_expect(eb, at, key, false, "absolute path without . or .. segments", buf);
    }
    if (str_eq(key, "hostpathroot")) {
        (void) str_copy(s->hostpathroot, sizeof(s->hostpathroot), buf);
    }
    return 0;
}

static int spec_quantity(const cJSON *obj, const struct json_path *at, const char *key,
                         uint64_t *ret_bytes, struct errbuf *eb)
{
    char buf[64];
    uint64_t v = 0;
    int r = json_get_str(obj, at, key, false, buf, sizeof(buf), eb);

    if (r < 0) {
        return r;
    }
    if (str_is_empty(buf)) {
        return 0;
    }
    r = quantity_parse_bytes(buf, &v);
    if (r < 0) {
        return json_expect(eb, at, key, false,
                           r == -ERANGE ? "a quantity that fits 64 bits"
                                        : "quantity like \"3Gi\", \"500m\" or \"2\"",
                           buf);
    }
    if (ret_bytes) {
        *ret_bytes = v;
    }
    return 0;
}

static int f_quantity(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                      struct errbuf *eb)
{
    (void) s;
    return spec_quantity(obj, at, key, NULL, eb);
}

static int f_storage(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                     struct errbuf *eb)
{
    uint64_t v = 0;
    int r = spec_quantity(obj, at, key, &v, eb);

    if (r < 0 || !json_has(obj, key)) {
        return r;
    }
    if (v == 0) {
        return json_error(eb, at, key, "expected a size above 0");
    }
    if (v > JSON_INT_MAX) {
        return json_error(eb, at, key, "expected at most %llu bytes",
                          (unsigned long long) JSON_INT_MAX);
    }
    s->storage_bytes = v;
    return 0;
}

static int f_port(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                  struct errbuf *eb)
{
    bool nodeport = !str_eq(key, "dbport");
    uint32_t v = 0;
    int r;

    if (!json_has(obj, key)) {
        return 0;
    }
    r = json_get_u32(obj, at, key, nodeport ? NODEPORT_MIN : 1, nodeport ? NODEPORT_MAX : PORT_MAX,
                     &v, eb);
    if (r < 0) {
        return r;
    }
    if (str_eq(key, "dbport")) {
        s->dbport = v;
    } else if (str_eq(key, "readport")) {
        s->readport = v;
    } else {
        s->writeport = v;
    }
    return 0;
}

static int f_maintenance(const cJSON *obj, const struct json_path *at, const char *key,
                         struct spec *s, struct errbuf *eb)
{
    return json_has(obj, key) ? json_get_bool(obj, at, key, &s->maintenance, eb) : 0;
}

/* A string member naming one of a few values; absent leaves the default. */
static int spec_choice(const cJSON *obj, const struct json_path *at, const char *key, char *buf,
                       size_t size, const char *expected, struct errbuf *eb)
{
    if (!json_has(obj, key)) {
        buf[0] = '\0';
        return 0;
    }
    if (json_get_str(obj, at, key, true, buf, size, eb) < 0) {
        const char *got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
        return json_expect(eb, at, key, false, expected, got);
    }
    return 0;
}

static int f_localrole(const cJSON *obj, const struct json_path *at, const char *key,
                       struct spec *s, struct errbuf *eb)
{
    const char *expected = "primary or standby";
    char buf[16];
    int r = spec_choice(obj, at, key, buf, sizeof(buf), expected, eb);

    if (r < 0 || str_is_empty(buf)) {
        return r;
    }
    if (spec_localrole_from_string(buf, &s->localrole) < 0) {
        return json_expect(eb, at, key, false, expected, buf);
    }
    return 0;
}

static int f_networkclass(const cJSON *obj, const struct json_path *at, const char *key,
                          struct spec *s, struct errbuf *eb)
{
    const char *expected = "calico or kube-ovn";
    char buf[16];
    int r = spec_choice(obj, at, key, buf, sizeof(buf), expected, eb);

    if (r < 0) {
        return r;
    }
    if (!str_is_empty(buf) && !str_eq(buf, "calico") && !str_eq(buf, "kube-ovn")) {
        return json_expect(eb, at, key, false, expected, buf);
    }
    (void) str_copy(s->networkclass, sizeof(s->networkclass), buf);
    return 0;
}

static int f_dbpasswd(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                      struct errbuf *eb)
{
    char text[4 * PROTO_SECRET_MAX / 3 + 8];
    char plain[PROTO_SECRET_MAX + 1];
    int r;

    if (!json_has(obj, key)) {
        return 0;
    }
    r = json_get_str(obj, at, key, true, text, sizeof(text), eb);
    if (r < 0) {
        return r;
    }
    /* The secret is never echoed back in an error. */
    if (spec_base64_decode(text, plain, sizeof(plain)) < 0) {
        return json_error(eb, at, key, "expected base64 text of at most %d bytes",
                          PROTO_SECRET_MAX);
    }
    if (str_is_empty(plain) || !json_is_text(plain)) {
        return json_error(eb, at, key,
                          "expected the base64 form of a non-empty printable password");
    }
    s->has_password = true;
    (void) str_copy(s->password, sizeof(s->password), plain);
    return 0;
}

/* A JSON object of string values: at most max entries, keys checked by key_ok. */
static int spec_string_map(const cJSON *obj, const struct json_path *at, const char *key,
                           size_t max, bool (*key_ok)(const char *), struct errbuf *eb)
{
    const struct json_path map_at = {.up = at, .key = key};
    const cJSON *map = NULL;
    size_t n = 0;
    int r = json_get_object(obj, at, key, false, &map, eb);

    if (r < 0 || !map) {
        return r;
    }
    for (const cJSON *c = map->child; c; c = c->next) {
        char value[PROTO_VALUE_MAX + 1];
        if (++n > max) {
            return json_error(eb, at, key, "expected at most %zu entries", max);
        }
        if (!key_ok(c->string)) {
            return json_error(eb, &map_at, c->string, "invalid key");
        }
        for (const cJSON *p = map->child; p != c; p = p->next) {
            if (str_eq(p->string, c->string)) {
                return json_error(eb, &map_at, c->string, "given twice");
            }
        }
        r = spec_text(map, &map_at, c->string, value, sizeof(value), eb);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static bool spec_is_map_key(const char *s)
{
    return !str_is_empty(s) && strlen(s) <= STR_DNS_SUBDOMAIN_MAX && json_is_text(s);
}

static int f_map(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                 struct errbuf *eb)
{
    (void) s;
    return spec_string_map(obj, at, key, SPEC_MAP_MAX, spec_is_map_key, eb);
}

static int f_config(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                    struct errbuf *eb)
{
    const struct json_path cfg_at = {.up = at, .key = key};
    const cJSON *map;
    int r = spec_string_map(obj, at, key, PROTO_MAX_CONFIG, proto_is_setting_name, eb);

    if (r < 0) {
        return r;
    }
    map = cJSON_GetObjectItemCaseSensitive(obj, key);
    for (const cJSON *c = map ? map->child : NULL; c; c = c->next) {
        struct proto_kv *kv = &s->config[s->n_config++];
        if (spec_is_reserved_setting(c->string)) {
            return json_error(eb, &cfg_at, c->string, "set by og-operator itself");
        }
        (void) str_copy(kv->key, sizeof(kv->key), c->string);
        (void) str_copy(kv->value, sizeof(kv->value), cJSON_GetStringValue(c));
    }
    return 0;
}

static int spec_ip_field(const cJSON *obj, const struct json_path *at, const char *key,
                         bool required, char *buf, size_t size, struct errbuf *eb)
{
    char raw[64];
    int r = json_get_str(obj, at, key, required, raw, sizeof(raw), eb);

    if (r < 0) {
        return r;
    }
    buf[0] = '\0';
    if (!required && str_is_empty(raw)) {
        return 0;
    }
    if (!spec_ip_canonical(raw, buf, size)) {
        return json_expect(eb, at, key, false, "unicast IPv4 or IPv6 address", raw);
    }
    return 0;
}

static int spec_member(const cJSON *item, const struct json_path *at, struct spec_member *m,
                       struct errbuf *eb)
{
    static const char *const keys[] = {"ip", "nodename", "extendip"};
    int r;

    if (!cJSON_IsObject(item)) {
        return json_error(eb, at, NULL, "expected object, got %s", json_type_name(item));
    }
    r = spec_check_keys(item, at, keys, sizeof(keys) / sizeof(keys[0]), eb);
    if (r == 0) {
        r = spec_ip_field(item, at, "ip", true, m->ip, sizeof(m->ip), eb);
    }
    if (r == 0) {
        r = json_get_str(item, at, "nodename", true, m->nodename, sizeof(m->nodename), eb);
    }
    if (r == 0 && !str_is_dns_subdomain(m->nodename)) {
        r = json_expect(eb, at, "nodename", false, "DNS-1123 subdomain (a node name)", m->nodename);
    }
    if (r == 0) {
        r = spec_ip_field(item, at, "extendip", false, m->extendip, sizeof(m->extendip), eb);
    }
    return r;
}

static int f_iplist(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                    struct errbuf *eb)
{
    const struct json_path list_at = {.up = at, .key = key};
    const cJSON *arr = NULL;
    int n = json_get_array(obj, at, key, true, SPEC_MAX_MEMBERS, &arr, eb);

    if (n < 0) {
        return n;
    }
    if (n == 0) {
        return json_error(eb, at, key, "expected at least 1 member");
    }
    for (int i = 0; i < n; i++) {
        const struct json_path item_at = {.up = &list_at, .index = (size_t) i};
        struct spec_member *m = &s->members[i];
        int r = spec_member(cJSON_GetArrayItem(arr, i), &item_at, m, eb);
        if (r < 0) {
            return r;
        }
        for (int k = 0; k < i; k++) {
            if (str_eq(s->members[k].ip, m->ip)) {
                return json_error(eb, &item_at, "ip", "duplicate address %s", m->ip);
            }
        }
    }
    s->n_members = (uint32_t) n;
    return 0;
}

static int f_remoteiplist(const cJSON *obj, const struct json_path *at, const char *key,
                          struct spec *s, struct errbuf *eb)
{
    const struct json_path list_at = {.up = at, .key = key};
    const cJSON *arr = NULL;
    int n = json_get_array(obj, at, key, false, SPEC_MAX_REMOTE, &arr, eb);
    char ip[PROTO_IP_MAX + 1];

    (void) s;
    for (int i = 0; i < n; i++) {
        const struct json_path item_at = {.up = &list_at, .index = (size_t) i};
        int r = spec_ip_field(cJSON_GetArrayItem(arr, i), &item_at, NULL, true, ip, sizeof(ip), eb);
        if (r < 0) {
            return r;
        }
    }
    return n < 0 ? n : 0;
}

static int spec_count(const cJSON *obj, const struct json_path *at, const char *key, uint64_t max,
                      uint64_t *ret, struct errbuf *eb)
{
    return json_has(obj, key) ? json_get_u64(obj, at, key, 0, max, ret, eb) : 0;
}

static int f_schedule(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                      struct errbuf *eb)
{
    static const char *const keys[] = {
            "processTimeout",       "gracePeriod",   "toleration",
            "mostavailabletimeout", "pollingPeriod", "livenessProbePeriod",
            "readinessProbePeriod", "nodes",         "nodelabels",
    };
    const struct json_path sch_at = {.up = at, .key = key};
    const cJSON *sch = NULL, *nodes = NULL;
    uint64_t v;
    int r = json_get_object(obj, at, key, false, &sch, eb);

    (void) s;
    if (r < 0 || !sch) {
        return r;
    }
    r = spec_check_keys(sch, &sch_at, keys, sizeof(keys) / sizeof(keys[0]), eb);
    for (size_t i = 0; r == 0 && i < 7; i++) {
        r = spec_count(sch, &sch_at, keys[i], JSON_INT_MAX, &v, eb);
    }
    if (r == 0) {
        r = spec_string_map(sch, &sch_at, "nodelabels", SPEC_MAP_MAX, spec_is_map_key, eb);
    }
    if (r == 0) {
        r = json_get_array(sch, &sch_at, "nodes", false, SPEC_MAP_MAX, &nodes, eb);
    }
    for (int i = 0; r >= 0 && nodes && i < cJSON_GetArraySize(nodes); i++) {
        const struct json_path list_at = {.up = &sch_at, .key = "nodes"};
        const struct json_path item_at = {.up = &list_at, .index = (size_t) i};
        const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(nodes, i));
        r = json_expect(eb, &item_at, NULL, name && str_is_dns_subdomain(name),
                        "DNS-1123 subdomain (a node name)", name);
    }
    return r < 0 ? r : 0;
}

static int spec_seconds(const cJSON *obj, const struct json_path *at, const char *key, uint64_t min,
                        uint64_t max, uint64_t *ret_ms, struct errbuf *eb)
{
    uint64_t v;
    int r;

    if (!json_has(obj, key)) {
        return 0;
    }
    r = json_get_u64(obj, at, key, min, max, &v, eb);
    if (r == 0) {
        *ret_ms = v * 1000;
    }
    return r;
}

static int f_ha(const cJSON *obj, const struct json_path *at, const char *key, struct spec *s,
                struct errbuf *eb)
{
    static const char *const keys[] = {"syncreplicas", "restartlimit", "restartwindow",
                                       "losttimeout", "maxlagonfailover"};
    const struct json_path ha_at = {.up = at, .key = key};
    struct spec_ha *ha = &s->ha;
    const cJSON *o = NULL;
    int r = json_get_object(obj, at, key, false, &o, eb);

    if (r < 0 || !o) {
        return r;
    }
    r = spec_check_keys(o, &ha_at, keys, sizeof(keys) / sizeof(keys[0]), eb);
    if (r == 0 && json_has(o, "syncreplicas")) {
        r = json_get_u32(o, &ha_at, "syncreplicas", 0, HA_SYNC_MAX, &ha->sync_replicas, eb);
    }
    if (r == 0 && json_has(o, "restartlimit")) {
        r = json_get_u32(o, &ha_at, "restartlimit", 0, HA_RESTARTLIMIT_MAX, &ha->restart_limit, eb);
    }
    if (r == 0) {
        r = spec_seconds(o, &ha_at, "restartwindow", 1, HA_RESTARTWINDOW_MAX,
                         &ha->restart_window_ms, eb);
    }
    if (r == 0) {
        r = spec_seconds(o, &ha_at, "losttimeout", 1, HA_LOSTTIMEOUT_MAX, &ha->lost_timeout_ms, eb);
    }
    if (r == 0 && json_has(o, "maxlagonfailover")) {
        r = json_get_u64(o, &ha_at, "maxlagonfailover", 0, JSON_INT_MAX, &ha->max_lag_bytes, eb);
    }
    return r;
}

/* The top-level fields, in the order of the original operator's documentation. */
static const struct spec_field spec_fields[] = {
        {"readport", f_port},
        {"writeport", f_port},
        {"dbport", f_port},
        {"dbpasswd", f_dbpasswd},
        {"image", f_text},
        {"localrole", f_localrole},
        {"cpu", f_quantity},
        {"memory", f_quantity},
        {"storage", f_storage},
        {"bandwidth", f_quantity},
        {"iplist", f_iplist},
        {"remoteiplist", f_remoteiplist},
        {"backuppath", f_path},
        {"archivelogpath", f_path},
        {"hostpathroot", f_path},
        {"storageclass", f_text},
        {"sidecarimage", f_text},
        {"sidecarcpu", f_quantity},
        {"sidecarmemory", f_quantity},
        {"sidecarstorage", f_quantity},
        {"maintenance", f_maintenance},
        {"config", f_config},
        {"scriptconfig", f_text},
        {"filebeatconfig", f_text},
        {"restorefile", f_text},
        {"schedule", f_schedule},
        {"customizedenv", f_map},
        {"annotations", f_map},
        {"labels", f_map},
        {"networkclass", f_networkclass},
        {"ha", f_ha},
};

#define SPEC_N_FIELDS (sizeof(spec_fields) / sizeof(spec_fields[0]))

static void spec_defaults(struct spec *s)
{
    uint64_t storage = 0;

    memset(s, 0, sizeof(*s));
    s->dbport = SPEC_DEFAULT_DBPORT;
    s->localrole = SPEC_LOCALROLE_PRIMARY;
    (void) quantity_parse_bytes(SPEC_DEFAULT_STORAGE, &storage);
    s->storage_bytes = storage;
    s->ha.sync_replicas = SPEC_DEFAULT_SYNCREPLICAS;
    s->ha.restart_limit = SPEC_DEFAULT_RESTARTLIMIT;
    s->ha.restart_window_ms = SPEC_DEFAULT_RESTARTWINDOW_S * 1000ULL;
    s->ha.lost_timeout_ms = SPEC_DEFAULT_LOSTTIMEOUT_S * 1000ULL;
    s->ha.max_lag_bytes = SPEC_DEFAULT_MAXLAG;
}

/* Rules across fields, once each field is valid on its own. */
static int spec_check_cross(const cJSON *obj, const struct json_path *at, const struct spec *s,
                            struct errbuf *eb)
{
    if (s->readport != 0 && s->readport == s->writeport) {
        return json_error(eb, at, "writeport", "must differ from readport (%" PRIu32 ")",
                          s->readport);
    }
    if (s->localrole == SPEC_LOCALROLE_STANDBY &&
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(obj, "remoteiplist")) == 0) {
        return json_error(eb, at, "remoteiplist", "required when localrole is standby");
    }
    return 0;
}

int spec_parse(const char *json, size_t len, struct spec *ret, struct errbuf *eb)
{
    const char *keys[SPEC_N_FIELDS];
    const struct json_path at = {.key = "spec"};
    struct spec *s = NULL;
    cJSON *obj = NULL;
    int r;

    for (size_t i = 0; i < SPEC_N_FIELDS; i++) {
        keys[i] = spec_fields[i].key;
    }
    r = json_parse_object(json, len, 0, &obj, eb);
    if (r < 0) {
        return -EBADMSG;
    }
    s = xcalloc(1, sizeof(*s)); /* about 35 KiB: not on a handler thread's stack */
    spec_defaults(s);
    r = spec_check_keys(obj, &at, keys, SPEC_N_FIELDS, eb);
    for (size_t i = 0; r == 0 && i < SPEC_N_FIELDS; i++) {
        r = spec_fields[i].fn(obj, &at, spec_fields[i].key, s, eb);
    }
    if (r == 0 && !json_has(obj, "iplist")) {
        r = json_error(eb, &at, "iplist", "missing");
    }
    if (r == 0) {
        r = spec_check_cross(obj, &at, s, eb);
    }
    if (r == 0) {
        memcpy(ret, s, sizeof(*s));
    }
    free(s);
    cJSON_Delete(obj);
    return r;
}

/* ---- names, updates ------------------------------------------------------------------ */

int spec_check_names(const char *ns, const char *name, struct errbuf *eb)
{
    const struct json_path meta = {.key = "metadata"};

    if (json_expect(eb, &meta, "namespace", str_is_dns_label(ns), "DNS-1123 label", ns) < 0 ||
        json_expect(eb, &meta, "name", str_is_dns_label(name), "DNS-1123 label", name) < 0) {
        return -EINVAL;
    }
    if (strlen(name) > PROTO_NAME_MAX - 4) {
        return json_error(eb, &meta, "name",
                          "expected at most %d characters (member names add \"-<n>\")",
                          PROTO_NAME_MAX - 4);
    }
    return 0;
}

static const struct spec_member *spec_find_ip(const struct spec *s, const char *ip)
{
    for (uint32_t i = 0; i < s->n_members; i++) {
        if (str_eq(s->members[i].ip, ip)) {
            return &s->members[i];
        }
    }
    return NULL;
}

static bool spec_names_known(const struct spec_names *names, const char *ip)
{
    for (uint32_t i = 0; i < names->n; i++) {
        if (str_eq(names->names[i].ip, ip)) {
            return true;
        }
    }
    return false;
}

int spec_check_update(const struct spec *old, const struct spec *new_spec,
                      const struct spec_names *names, struct errbuf *eb)
{
    const struct json_path at = {.key = "spec"};
    const struct json_path list_at = {.up = &at, .key = "iplist"};

    if (old->dbport != new_spec->dbport) {
        return json_error(eb, &at, "dbport", "immutable (%" PRIu32 ")", old->dbport);
    }
    if (!str_eq(old->hostpathroot, new_spec->hostpathroot)) {
        return json_error(eb, &at, "hostpathroot", "immutable (\"%s\")", old->hostpathroot);
    }
    if (!str_is_empty(old->networkclass) && !str_eq(old->networkclass, new_spec->networkclass)) {
        return json_error(eb, &at, "networkclass", "immutable (\"%s\")", old->networkclass);
    }
    if (old->localrole != new_spec->localrole) {
        return json_error(eb, &at, "localrole", "cannot change yet (site switch)");
    }
    if (new_spec->has_password &&
        (!old->has_password || !str_eq(old->password, new_spec->password))) {
        return json_error(eb, &at, "dbpasswd", "immutable");
    }
    for (uint32_t i = 0; i < new_spec->n_members; i++) {
        const struct json_path item_at = {.up = &list_at, .index = i};
        const struct spec_member *m = &new_spec->members[i];
        const struct spec_member *was = spec_find_ip(old, m->ip);
        if (was && spec_names_known(names, m->ip) && !str_eq(was->nodename, m->nodename)) {
            return json_error(eb, &item_at, "nodename",
                              "immutable for %s (its data is on %s); remove the entry and add "
                              "a new address instead",
                              m->ip, was->nodename);
        }
    }
    return 0;
}

static int spec_names_find(const struct spec_names *names, const char *ip)
{
    for (uint32_t i = 0; i < names->n; i++) {
        if (str_eq(names->names[i].ip, ip)) {
            return (int) i;
        }
    }
    return -1;
}

/* Makes room for one more entry: forgets the oldest address spec does not list. */
static int spec_names_evict(struct spec_names *names, const struct spec *spec)
{
    for (uint32_t i = 0; i < names->n; i++) {
        if (!spec_find_ip(spec, names->names[i].ip)) {
            memmove(&names->names[i], &names->names[i + 1],
                    (names->n - i - 1) * sizeof(names->names[0]));
            names->n--;
            return 0;
        }
    }
    return -ENOSPC; /* cannot happen: spec lists at most SPEC_MAX_MEMBERS < SPEC_MAX_NAMES */
}

int spec_names_assign(const char *cluster, const struct spec *spec, struct spec_names *names,
                      char ret_names[][PROTO_NAME_MAX + 1], struct errbuf *eb)
{
    struct spec_names *next = xcalloc(1, sizeof(*next));
    int r = 0;

    memcpy(next, names, sizeof(*next));
    for (uint32_t i = 0; i < spec->n_members && r == 0; i++) {
        int k = spec_names_find(next, spec->members[i].ip);
        char name[PROTO_NAME_MAX + 8];

        if (k >= 0) {
            (void) str_copy(ret_names[i], PROTO_NAME_MAX + 1, next->names[k].name);
            continue;
        }
        (void) snprintf(name, sizeof(name), "%s-%" PRIu32, cluster, next->next_index);
        if (strlen(name) > PROTO_NAME_MAX || !str_is_dns_label(name)) {
            errbuf_set(eb, "metadata.name: member name %s-%" PRIu32 " is not a DNS label", cluster,
                       next->next_index);
            r = -EINVAL;
            break;
        }
        if (next->n == SPEC_MAX_NAMES && spec_names_evict(next, spec) < 0) {
            errbuf_set(eb, "spec.iplist: too many addresses");
            r = -EINVAL;
            break;
        }
        (void) str_copy(next->names[next->n].ip, sizeof(next->names[0].ip), spec->members[i].ip);
        (void) str_copy(next->names[next->n].name, sizeof(next->names[0].name), name);
        next->n++;
        next->next_index++;
        (void) str_copy(ret_names[i], PROTO_NAME_MAX + 1, name);
    }
    if (r == 0) {
        memcpy(names, next, sizeof(*next));
    }
    free(next);
    return r;
}

char *spec_set_maintenance(const char *json, bool on)
{
    cJSON *obj = NULL;
    char *text;

    if (json_parse_object(json, strlen(json), 0, &obj, NULL) < 0) {
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "maintenance");
    json_add_bool(obj, "maintenance", on);
    text = json_print(obj);
    cJSON_Delete(obj);
    return text;
}

const char *spec_localrole_to_string(enum spec_localrole v)
{
    switch (v) {
    case SPEC_LOCALROLE_PRIMARY:
        return "primary";
    case SPEC_LOCALROLE_STANDBY:
        return "standby";
    case SPEC_LOCALROLE_UNKNOWN:
    case _SPEC_LOCALROLE_MAX:
        break;
    }
    return "unknown";
}

int spec_localrole_from_string(const char *s, enum spec_localrole *ret)
{
    for (int v = SPEC_LOCALROLE_UNKNOWN + 1; v < _SPEC_LOCALROLE_MAX; v++) {
        if (str_eq(s, spec_localrole_to_string((enum spec_localrole) v))) {
            *ret = (enum spec_localrole) v;
            return 0;
        }
    }
    return -EINVAL;
}

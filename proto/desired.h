/*
 * proto/desired.h
 *
 * The arbiter's answer to a report: the desired state of every instance on the agent's node
 * (schema DesiredState in proto/openapi.yaml). The agent acts on nothing that has not passed
 * proto_desired_decode: names are DNS-1123 labels before they reach a path or a command
 * line, addresses parse, settings are safe to quote into a configuration file, and the roles
 * are consistent (DESIGN.md "Security", "Members, sites and roles").
 *
 * Wire rules: unknown keys are ignored; required keys are all but, per instance, upstream
 * (null or absent: none), sync (absent: asynchronous), config (absent: none) and peers
 * (absent: not known, as from arbiters before it existed). Counters are JSON numbers up to
 * 2^53 - 1 (common/json.h).
 */
#ifndef OG_PROTO_DESIRED_H
#define OG_PROTO_DESIRED_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "proto/model.h"

#define PROTO_MAX_PEERS        32 /* other members of the cluster named to one instance */
#define PROTO_HEARTBEAT_MIN_MS 10
#define PROTO_HEARTBEAT_MAX_MS 600000

/* Where a standby (or a standby site's leader) replicates from. */
struct proto_upstream {
    char member[PROTO_NAME_MAX + 1]; /* DNS label */
    char host[PROTO_IP_MAX + 1];     /* IPv4 or IPv6 address */
    uint32_t port;                   /* 1..65535 */
};

/* synchronous_standby_names = ANY num (names...); num 0 = asynchronous. num <= n_names. */
struct proto_sync {
    uint32_t num;
    uint32_t n_names;
    char names[PROTO_MAX_SYNC][PROTO_NAME_MAX + 1]; /* DNS labels, distinct, not the member */
};

/*
 * Another member of the instance's cluster (both sites), the addresses its replication
 * connections come from: "peers": [{"name": "demo-1", "ip": "10.0.0.2", "port": 5432}].
 */
struct proto_peer {
    char name[PROTO_NAME_MAX + 1]; /* DNS label, not the member itself, distinct */
    char ip[PROTO_IP_MAX + 1];     /* IPv4 or IPv6 address */
    uint32_t port;                 /* 1..65535 */
};

/* One database setting. Key [a-z_][a-z0-9_.]*; value free text without control characters. */
struct proto_kv {
    char key[PROTO_KEY_MAX + 1];
    char value[PROTO_VALUE_MAX + 1];
};

/* The order for one instance. */
struct proto_instance_desired {
    char namespace_[PROTO_NAME_MAX + 1]; /* DNS labels */
    char cluster[PROTO_NAME_MAX + 1];
    char member[PROTO_NAME_MAX + 1];
    uint64_t epoch;            /* agents refuse orders older than the highest epoch seen */
    enum proto_role role;      /* known */
    enum proto_state state;    /* RUNNING, STOPPED or FENCED: the only orders */
    char ip[PROTO_IP_MAX + 1]; /* listen address, IPv4 or IPv6 */
    uint32_t port;             /* 1..65535 */
    bool has_upstream;         /* never for a PRIMARY; a standby without one idles */
    struct proto_upstream upstream;
    struct proto_sync sync; /* meaningful on a PRIMARY (or a LEADER's cascade) */
    uint64_t storage_bytes;
    bool maintenance;
    bool rebuild; /* rebuild from the upstream (pg_rewind / base backup) before starting */
    uint32_t restart_limit;
    uint64_t restart_window_ms;
    uint64_t lost_timeout_ms;
    char auth_user[PROTO_SECRET_MAX + 1];     /* non-empty text */
    char auth_password[PROTO_SECRET_MAX + 1]; /* text; never echoed in errors */
    uint32_t n_config;
    struct proto_kv config[PROTO_MAX_CONFIG]; /* distinct keys */
    bool has_peers; /* "peers" present (possibly empty); absent: not known */
    uint32_t n_peers;
    struct proto_peer peers[PROTO_MAX_PEERS];
};

/* One desired state. Large (about 750 KiB): keep it on the heap, never on a thread's stack. */
struct proto_desired {
    uint32_t version;              /* PROTO_VERSION */
    char node[PROTO_NODE_MAX + 1]; /* DNS-1123 subdomain: the node this answers */
    uint64_t generation;           /* raised by the arbiter whenever this content changes */
    uint32_t heartbeat_ms;         /* PROTO_HEARTBEAT_MIN_MS..PROTO_HEARTBEAT_MAX_MS */
    uint32_t n_instances;
    struct proto_instance_desired instances[PROTO_MAX_INSTANCES];
};

_Static_assert(sizeof(struct proto_desired) < (size_t) 4 * 1024 * 1024,
               "proto_desired must stay small");

/* Zeroes d and sets its version to PROTO_VERSION. */
void proto_desired_init(struct proto_desired *d);

/*
 * Checks every rule the decoder enforces beyond JSON shape: version, names, addresses,
 * ports, orders, settings, and the cross-field rules (a primary has no upstream; sync names
 * are distinct, not the member itself, and num <= their count; no member (namespace,
 * cluster, member) twice). 0 or -EINVAL with the JSON path in eb. The arbiter calls it
 * before sending, so a bad spec surfaces there and not on every node.
 */
int proto_desired_validate(const struct proto_desired *d, struct errbuf *eb);

/* True for a database setting name as PostgreSQL spells it: [a-z_][a-z0-9_.]*, at most
 * PROTO_KEY_MAX bytes. */
bool proto_is_setting_name(const char *s);

/*
 * Decodes and validates JSON text json[0..len) (no terminator needed) into *ret, written
 * only on success. 0 or -EINVAL with the path and the expectation in eb; never crashes on
 * any input.
 */
int proto_desired_decode(const char *json, size_t len, struct proto_desired *ret,
                         struct errbuf *eb);

/* The JSON tree of d, owned by the caller (cJSON_Delete); for embedding before printing. */
cJSON *proto_desired_to_json(const struct proto_desired *d);
/* Unformatted JSON text of d, owned by the caller (free()). */
char *proto_desired_encode(const struct proto_desired *d);

#endif

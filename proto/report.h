/*
 * proto/report.h
 *
 * The agent's report of its node, POSTed to the arbiter every heartbeat and at once on any
 * change (POST /api/v1/report, DESIGN.md "Data flow" step 2; schema Report in
 * proto/openapi.yaml). Plain bounded structs, JSON text in and out, full validation on the
 * way in: a report that decodes is safe to store and decide on.
 *
 * Wire rules: unknown keys are ignored (newer agents may add some); required keys are all
 * but wait_ms (default 0), and per instance upstream, last_error, sync_standby_names (default
 * "") and replication (default []). Counters are JSON numbers up to 2^53 - 1, system_id is a
 * decimal string, LSNs are "X/Y" text (common/json.h).
 */
#ifndef OG_PROTO_REPORT_H
#define OG_PROTO_REPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "proto/model.h"

#define PROTO_WAIT_MAX_MS 60000 /* longest a report may ask the arbiter to hold it */
#define PROTO_SSN_MAX     511   /* synchronous_standby_names text */

/* One replication peer as its upstream sees it (pg_stat_replication). */
struct proto_replica {
    char name[PROTO_NAME_MAX + 1]; /* application_name = member name, a DNS label */
    enum proto_repl_state state;   /* known */
    enum proto_sync_state sync;    /* known */
    uint64_t sent_lsn;
    uint64_t flush_lsn;
    uint64_t replay_lsn;
};

/* What the agent observes of one instance. */
struct proto_instance_report {
    char namespace_[PROTO_NAME_MAX + 1]; /* DNS labels */
    char cluster[PROTO_NAME_MAX + 1];
    char member[PROTO_NAME_MAX + 1];
    uint64_t epoch;         /* highest epoch the agent has seen for this member */
    enum proto_state state; /* known, and never LOST (the arbiter's verdict) */
    enum proto_role role;   /* UNKNOWN ("unknown") when not probed */
    int32_t pid;            /* 0 when not running */
    uint32_t timeline;
    uint64_t system_id; /* database system identifier, full 64 bits */
    uint64_t current_lsn;
    uint64_t received_lsn;
    uint64_t replayed_lsn;
    char upstream[PROTO_NAME_MAX + 1]; /* member followed, "" for none */
    uint32_t restarts;
    char last_error[PROTO_ERROR_MAX + 1]; /* free text (json_is_text) */
    uint64_t disk_free_bytes;
    bool maintenance;
    char sync_standby_names[PROTO_SSN_MAX + 1]; /* as applied on a primary; free text */
    uint32_t n_replicas;
    struct proto_replica replicas[PROTO_MAX_REPLICAS];
};

/* One report. Large (about 130 KiB): keep it on the heap or in a long-lived object. */
struct proto_report {
    uint32_t version;                /* PROTO_VERSION */
    char node[PROTO_NODE_MAX + 1];   /* DNS-1123 subdomain */
    char agent_id[PROTO_ID_MAX + 1]; /* this agent run: 1-63 of [A-Za-z0-9._-] */
    uint64_t seq;                    /* raised by the agent with every report */
    uint64_t known_generation;       /* generation of the last desired state applied */
    uint32_t wait_ms;                /* 0..PROTO_WAIT_MAX_MS: long-poll while nothing changes */
    uint32_t n_instances;
    struct proto_instance_report instances[PROTO_MAX_INSTANCES];
};

_Static_assert(sizeof(struct proto_report) < (size_t) 4 * 1024 * 1024,
               "proto_report must stay small");

/* Zeroes r and sets its version to PROTO_VERSION. */
void proto_report_init(struct proto_report *r);

/*
 * Checks every rule the decoder enforces beyond JSON shape: version, names (DNS-1123), known
 * enum values, bounds, free text, and no member (namespace, cluster, member) or replica name
 * twice. 0 or -EINVAL with the JSON path in eb. An agent may call it before sending.
 */
int proto_report_validate(const struct proto_report *r, struct errbuf *eb);

/*
 * Decodes and validates JSON text json[0..len) (no terminator needed) into *ret, written
 * only on success. 0 or -EINVAL with the path and the expectation in eb; never crashes on
 * any input.
 */
int proto_report_decode(const char *json, size_t len, struct proto_report *ret, struct errbuf *eb);

/*
 * The JSON tree of r, owned by the caller (cJSON_Delete); for embedding in a larger
 * document before printing. Free text (last_error, sync_standby_names) is written with
 * control characters and invalid UTF-8 replaced by '?' (json_text_sanitize), so that a stray
 * byte from a child's stderr never makes a whole report unacceptable.
 */
cJSON *proto_report_to_json(const struct proto_report *r);
/* Unformatted JSON text of r, owned by the caller (free()). */
char *proto_report_encode(const struct proto_report *r);

#endif

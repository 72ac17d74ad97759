/*
 * agent/probe.h
 *
 * Health probe of one instance over libpq: is it up, hung or down; primary or standby;
 * timeline, system identifier, LSNs; its replicas as pg_stat_replication shows them; its
 * synchronous_standby_names. The whole probe — connection, authentication and queries — is
 * bounded by one monotonic deadline (default PROBE_BUDGET_MS): a frozen postmaster accepts TCP
 * connections and never answers, and with the whole instance frozen an established session
 * hangs as well, so connect_timeout, keepalives, tcp_user_timeout and statement_timeout are
 * set but are not what we rely on.
 *
 * The agent connects over TCP to the instance's own ip:port as the superuser with its password
 * (scram-sha-256): that checks the address clients and standbys use, which a Unix-socket probe
 * would not.
 *
 * Layer: edge (libpq).
 */
#ifndef OG_AGENT_PROBE_H
#define OG_AGENT_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/engine.h"
#include "common/errbuf.h"
#include "proto/model.h"

#define PROBE_BUDGET_MS 1000

/* One walsender as the primary (or a cascading standby) sees it. */
struct probe_replica {
    char application_name[PROTO_NAME_MAX + 1]; /* "" when unknown (gs_ctl query) */
    char client_addr[PROTO_IP_MAX + 1];        /* "" for Unix-socket clients */
    enum proto_repl_state state;
    enum proto_sync_state sync_state;
    uint64_t sent_lsn;
    uint64_t flush_lsn;
    uint64_t replay_lsn;
    bool has_reply_age;    /* PostgreSQL: reply_time known */
    uint64_t reply_age_ms; /* how long ago the standby last replied (its clock against ours:
                              meaningful with synchronised clocks, as on one node) */
};

/* Everything one probe learned; zeroed at the start of every probe. */
struct probe_result {
    bool up;          /* connected, authenticated and answered */
    bool hung;        /* reached at TCP level but no answer before the deadline */
    bool in_recovery; /* standby (pg_is_in_recovery) */
    bool receiving;   /* a standby's WAL receiver is streaming */
    uint32_t timeline;
    uint64_t system_id;
    uint64_t current_lsn;  /* primary: pg_current_wal_lsn() */
    uint64_t received_lsn; /* standby: last WAL received and flushed */
    uint64_t replayed_lsn; /* standby: last WAL replayed */
    uint32_t n_replicas;
    struct probe_replica replicas[PROTO_MAX_REPLICAS];
    char sync_standby_names[PROTO_VALUE_MAX + 1];
    char local_role[32]; /* openGauss: Primary, Standby, Pending, Normal, ... ("" on PG) */
    char db_state[32];   /* openGauss: Normal, Need repair, Starting, ... */
    char detail[64];     /* openGauss: detail_information (Normal, Disconnected, ...) */
    uint64_t elapsed_ms; /* how long the probe took */
    char error[PROTO_ERROR_MAX + 1];
};

/*
 * Probes inst at inst->ip:port as inst->superuser within budget_ms (0: PROBE_BUDGET_MS) and
 * fills *res (always, including error and elapsed_ms). Returns:
 *   0             up; every field read;
 *   -ECONNREFUSED down: refused, no route, no such address, or no TCP answer in time;
 *   -ETIMEDOUT    hung: TCP connected (or a query sent) but no answer by the deadline;
 *   -EAGAIN       the server answered that it is starting up, shutting down or not yet
 *                 accepting connections;
 *   -EACCES       authentication failed;
 *   -EIO          connected but a query failed (res->up is true, the fields read so far set).
 */
int probe_instance(const struct engine_instance *inst, uint64_t budget_ms, struct probe_result *res,
                   struct errbuf *eb);

/* probe_instance behind a table, so tests and the agent loop can use a fake. */
struct probe_ops {
    int (*probe)(const struct engine_instance *inst, uint64_t budget_ms, struct probe_result *res,
                 struct errbuf *eb, void *data);
    void *data;
};

/* The real probe: probe_instance, ignoring data. */
extern const struct probe_ops probe_real;

/* The SQL the probe sends for kind, exposed for review and tests (static text). */
const char *probe_sql(enum engine_kind kind);

#endif

/*
 * proto/model.h
 *
 * The shared vocabulary of agents, arbiter, CLIs and tests: member roles, instance states,
 * replication states. The string forms are the wire and API forms (DESIGN.md, "Members,
 * sites and roles"). Bounds shared by every message live here too.
 */
#ifndef OG_PROTO_MODEL_H
#define OG_PROTO_MODEL_H

#include <stdint.h>

#define PROTO_VERSION 1

#define PROTO_NAME_MAX      63  /* DNS-1123 label: namespace, cluster, member */
#define PROTO_NODE_MAX      253 /* DNS-1123 subdomain: node name */
#define PROTO_IP_MAX        45  /* INET6_ADDRSTRLEN - 1 */
#define PROTO_ERROR_MAX     255 /* last_error text */
#define PROTO_ID_MAX        63  /* agent run id */
#define PROTO_MAX_INSTANCES 32  /* instances one agent reports or is given */
#define PROTO_MAX_REPLICAS  32  /* replication peers one primary reports */
#define PROTO_MAX_SYNC      32  /* names in one synchronous set */
#define PROTO_MAX_CONFIG    64  /* database settings passed through */
#define PROTO_KEY_MAX       63  /* database setting name */
#define PROTO_VALUE_MAX     255 /* database setting value */
#define PROTO_SECRET_MAX    255 /* user names and passwords */

/* What a member is for its site. */
enum proto_role {
    PROTO_ROLE_UNKNOWN = 0,
    PROTO_ROLE_PRIMARY, /* takes writes */
    PROTO_ROLE_STANDBY, /* follows the primary (or the leader on a standby site) */
    PROTO_ROLE_LEADER,  /* head of a standby site, follows the remote primary */
    _PROTO_ROLE_MAX
};

/* Lifecycle state of an instance, as the agent observes it (and "lost" as the arbiter does). */
enum proto_state {
    PROTO_STATE_UNKNOWN = 0,
    PROTO_STATE_CREATING,   /* initdb or base backup under way */
    PROTO_STATE_RUNNING,    /* accepting connections in its role */
    PROTO_STATE_RESTARTING, /* crashed or hung, being restarted within the budget */
    PROTO_STATE_FAILED,     /* restart limit reached, or a role change failed: needs a decision */
    PROTO_STATE_STOPPED,    /* stopped on purpose (order, maintenance, ctl) */
    PROTO_STATE_REBUILDING, /* pg_rewind / base backup from the new upstream under way */
    PROTO_STATE_FENCED,     /* stopped because it may no longer take writes */
    PROTO_STATE_LOST,       /* its agent has been silent for losttimeout (arbiter only) */
    _PROTO_STATE_MAX
};

/* pg_stat_replication.state of one peer, as seen on its upstream. */
enum proto_repl_state {
    PROTO_REPL_STATE_UNKNOWN = 0,
    PROTO_REPL_STATE_STARTUP,
    PROTO_REPL_STATE_CATCHUP,
    PROTO_REPL_STATE_STREAMING,
    PROTO_REPL_STATE_BACKUP,
    PROTO_REPL_STATE_STOPPING,
    _PROTO_REPL_STATE_MAX
};

/* pg_stat_replication.sync_state of one peer. */
enum proto_sync_state {
    PROTO_SYNC_STATE_UNKNOWN = 0,
    PROTO_SYNC_STATE_ASYNC,
    PROTO_SYNC_STATE_POTENTIAL,
    PROTO_SYNC_STATE_SYNC,
    PROTO_SYNC_STATE_QUORUM,
    _PROTO_SYNC_STATE_MAX
};

/* Wire names: "primary", "standby", "leader" ("unknown" for 0). */
const char *proto_role_to_string(enum proto_role v);
/* 0, or -EINVAL for a name that is not a role (including "unknown"). */
int proto_role_from_string(const char *s, enum proto_role *ret);
/* Wire names: "creating", "running", ..., "lost" ("unknown" for 0). */
const char *proto_state_to_string(enum proto_state v);
/* 0, or -EINVAL for a name that is not a state (including "unknown"). */
int proto_state_from_string(const char *s, enum proto_state *ret);
/* PostgreSQL's names: "startup", "catchup", "streaming", "backup", "stopping". */
const char *proto_repl_state_to_string(enum proto_repl_state v);
/* 0, or -EINVAL. */
int proto_repl_state_from_string(const char *s, enum proto_repl_state *ret);
/* PostgreSQL's names: "async", "potential", "sync", "quorum". */
const char *proto_sync_state_to_string(enum proto_sync_state v);
/* 0, or -EINVAL. */
int proto_sync_state_from_string(const char *s, enum proto_sync_state *ret);

#endif

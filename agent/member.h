/*
 * agent/member.h
 *
 * One member's supervisor thread: every probe interval (or at once when kicked) it gathers
 * the facts of its instance (the order, engine_status, the probe, the fencing contacts),
 * lets the pure state machine of agent/instance.h decide, runs the chosen engine operation,
 * and publishes what it observed for the next report. Operations block only this thread, so
 * a base backup or a rebuild never delays heartbeats (agent/uplink.h) or the other members.
 *
 * The fields marked "shared" are read and written under env->mu by the supervisor
 * (agent/supervise.h: desired states in, reports out, ops requests) and by the thread; the
 * rest belongs to the thread.
 *
 * Layer: shell.
 */
#ifndef OG_AGENT_MEMBER_H
#define OG_AGENT_MEMBER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/engine.h"
#include "agent/storage.h"
#include "common/errbuf.h"
#include "common/proc.h"
#include "proto/desired.h"
#include "proto/report.h"

#define MEMBER_QUICK_STOP_MS 1000    /* fencing: pg_ctl stop -m fast -t 1, then ... */
#define MEMBER_QUICK_KILL_MS 1000    /* ... -m immediate -t 1, then SIGKILL */
#define MEMBER_DIVERGE_MS    15000   /* a standby not streaming this long, upstream up: rewind */
#define MEMBER_WAL_GONE_MS   3000    /* ... this long when its log says its WAL is gone there */
#define MEMBER_STRAY_WAIT_MS 2000    /* backends of a dead postmaster: wait, then SIGKILL */
#define MEMBER_WAL_RETRY     "500ms" /* wal_retrieve_retry_interval (PostgreSQL: 5 s) */

/* What every member shares: configuration (read-only) and node-wide state (under mu). */
struct member_env {
    pthread_mutex_t mu;
    pthread_cond_t ops_cond; /* broadcast when a member finished an operator's request */
    char node[PROTO_NODE_MAX + 1];
    char root[ENGINE_PATH_MAX];
    enum engine_kind kind;
    char bindir[ENGINE_PATH_MAX];
    int uid, gid; /* the database user; -1: ours */
    uint64_t probe_interval_ms;
    uint64_t probe_budget_ms;
    uint32_t copy_max_rate_kbps; /* engine_instance.copy_max_rate_kbps */
    struct proc_ops proc;
    /* Under mu. */
    bool maintenance;         /* node-wide (og-agent ctl maintenance on) */
    uint64_t arbiter_ok_ms;   /* last valid desired state received (monotonic) */
    void (*kick)(void *data); /* report now (uplink_kick) */
    void *kick_data;
};

struct member_run; /* the thread's own state (member.c) */

struct member {
    struct member_env *env;
    char ns[PROTO_NAME_MAX + 1];
    char cluster[PROTO_NAME_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    struct storage_paths paths;

    /* Shared, under env->mu. */
    pthread_cond_t cond;
    bool kicked;
    bool stopping;
    bool in_desired;                       /* named by the last desired state */
    bool has_order;                        /* an order was ever accepted in this run */
    struct proto_instance_desired order;   /* the last accepted order */
    uint64_t order_seq;                    /* raised when order changes */
    uint64_t confirmed_ms;                 /* last desired state naming it (monotonic) */
    char order_error[PROTO_ERROR_MAX + 1]; /* why the last order was refused ("") */
    bool ctl_stop;                         /* sticky until ctl start */
    bool ctl_start;                        /* one-shot requests ... */
    bool ctl_restart;
    uint64_t ctl_seq;      /* ... numbered */
    uint64_t ctl_done_seq; /* the last request handled */
    int ctl_result;
    char ctl_error[ERRBUF_SIZE];
    bool published; /* report holds a first observation */
    struct proto_instance_report report;
    bool has_ops_inst; /* ops_inst describes the instance as last configured */
    struct engine_instance ops_inst;

    /* The thread. */
    pthread_t thread;
    bool started;
    bool finished; /* under env->mu */
    struct member_run *run;
};

/*
 * A member for (ns, cluster, name) at paths, not started. When state_file holds a valid state
 * (a restarted agent), its order is used to probe and report the instance until the arbiter
 * sends one. Free with member_free.
 */
struct member *member_new(struct member_env *env, const char *ns, const char *cluster,
                          const char *name, const struct storage_paths *paths);

/* Starts the thread. 0 or -errno. */
int member_start(struct member *m, struct errbuf *eb);

/* Wakes the thread for a tick now. Call with env->mu held. */
void member_kick_locked(struct member *m);

/* Asks the thread to stop (call with env->mu held); it ends after the operation under way. */
void member_stop_locked(struct member *m);

/* Joins a finished thread and frees m. NULL-safe. Only when m->finished (or never started). */
void member_free(struct member *m);

#endif

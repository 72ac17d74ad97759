/*
 * tests/support/sim_fleet.h
 *
 * Simulated databases in front of a real og-arbiter, for arbiter tests: one scripted agent
 * (tests/support/fake_agent.h) per member, on node "node<i+1>", and per member a simulated
 * instance (role, state, epoch, timeline, LSNs, upstream) that the test edits freely. A push
 * writes it into the agent's next report (a running primary lists the standbys streaming
 * from it, with the sync state its order gives them); obeying applies the last order at once
 * (promote, fence, follow, rebuild). No PostgreSQL behind it.
 */
#ifndef OG_TESTS_SIM_FLEET_H
#define OG_TESTS_SIM_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/desired.h"
#include "proto/model.h"
#include "tests/support/fake_agent.h"

#define SIM_FLEET_MAX 8     /* members in one fleet */
#define SIM_FLEET_ALL (~0u) /* a mask naming every member */

/* One member's simulated database. */
struct sim_fleet_db {
    enum proto_role role;
    enum proto_state state;
    uint64_t epoch;
    uint32_t timeline;
    uint64_t current, received, replayed; /* LSNs: a primary's, a standby's */
    char upstream[PROTO_NAME_MAX + 1];    /* member a standby streams from, "" for none */
    bool present;                         /* the agent reports the instance */
};

struct sim_fleet_options {
    const char *base_url; /* the arbiter ("http://127.0.0.1:8080") */
    const char *ns;       /* namespace and cluster of every member */
    const char *cluster;
    const char *const *members; /* n member names; member i is agent i's */
    int n;                      /* 1..SIM_FLEET_MAX */
    uint64_t lsn0;              /* first LSN of a member promoted with nothing received */
    uint64_t system_id;         /* reported by every instance; 0: a fixed default */
    enum proto_sync_state
            unnamed_sync; /* of a standby its primary's order does not name; 0: async */
};

struct sim_fleet {
    int n;
    char ns[PROTO_NAME_MAX + 1];
    char cluster[PROTO_NAME_MAX + 1];
    char members[SIM_FLEET_MAX][PROTO_NAME_MAX + 1];
    uint64_t lsn0;
    uint64_t system_id;
    enum proto_sync_state unnamed_sync;
    struct fake_agent *agents[SIM_FLEET_MAX]; /* agent i plays member i, on node<i+1> */
    struct sim_fleet_db db[SIM_FLEET_MAX];    /* all zero (absent, stopped) after init */
};

/* Sets up f and its agents from opt; 0, or -EINVAL for bad options or an agent not created. */
int sim_fleet_init(struct sim_fleet *f, const struct sim_fleet_options *opt);
/* Frees the agents (waiting for sends in flight); safe on a zeroed or half-initialised f. */
void sim_fleet_done(struct sim_fleet *f);
/* Points every agent at another arbiter URL. */
void sim_fleet_set_url(struct sim_fleet *f, const char *base_url);

/* The index of member name, or -1. */
int sim_fleet_index(const struct sim_fleet *f, const char *name);
/* Agent i's last order for member i, or NULL. */
const struct proto_instance_desired *sim_fleet_order(const struct sim_fleet *f, int i);

/* Writes db[i] into agent i's next report (drops the instance when db[i] is not present). */
void sim_fleet_push(struct sim_fleet *f, int i);
/* Makes db[i] do what agent i's last order says, instantly; no-op without an order. */
void sim_fleet_obey(struct sim_fleet *f, int i);
/* Pushes db[i] and sends agent i's report; the HTTP status or -errno (printed unless 200). */
int sim_fleet_send(struct sim_fleet *f, int i);
/* Rounds of send-and-obey for the members in mask (bit i); false when a send was not 200. */
bool sim_fleet_settle(struct sim_fleet *f, unsigned mask, int rounds);

#endif

/*
 * tests/support/sim_fleet.c
 *
 * Simulated databases behind scripted agents, for arbiter tests (see sim_fleet.h). The
 * simulation is deliberately instant: an order is carried out completely by the next obey,
 * a promoted member takes the highest timeline seen plus one, and a standby that follows a
 * running primary has received and replayed everything the primary wrote.
 *
 * Layer: edge (test support).
 */
#include "tests/support/sim_fleet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/str.h"

#define SIM_FLEET_SYSTEM_ID 7301234567890123456ULL
#define SIM_FLEET_DISK_FREE (1ULL << 34)

int sim_fleet_init(struct sim_fleet *f, const struct sim_fleet_options *opt)
{
    memset(f, 0, sizeof(*f));
    if (opt->n < 1 || opt->n > SIM_FLEET_MAX || str_copy(f->ns, sizeof(f->ns), opt->ns) < 0 ||
        str_copy(f->cluster, sizeof(f->cluster), opt->cluster) < 0) {
        return -EINVAL;
    }
    f->lsn0 = opt->lsn0;
    f->system_id = opt->system_id ? opt->system_id : SIM_FLEET_SYSTEM_ID;
    f->unnamed_sync = opt->unnamed_sync ? opt->unnamed_sync : PROTO_SYNC_STATE_ASYNC;
    for (int i = 0; i < opt->n; i++) {
        char node[16];

        if (str_copy(f->members[i], sizeof(f->members[i]), opt->members[i]) < 0) {
            sim_fleet_done(f);
            return -EINVAL;
        }
        (void) snprintf(node, sizeof(node), "node%d", i + 1);
        f->agents[i] = fake_agent_new(opt->base_url, node);
        f->n = i + 1;
        if (!f->agents[i]) {
            sim_fleet_done(f);
            return -EINVAL;
        }
    }
    return 0;
}

void sim_fleet_done(struct sim_fleet *f)
{
    for (int i = 0; i < f->n; i++) {
        fake_agent_free(f->agents[i]);
        f->agents[i] = NULL;
    }
    f->n = 0;
}

void sim_fleet_set_url(struct sim_fleet *f, const char *base_url)
{
    for (int i = 0; i < f->n; i++) {
        fake_agent_set_url(f->agents[i], base_url);
    }
}

int sim_fleet_index(const struct sim_fleet *f, const char *name)
{
    for (int i = 0; i < f->n; i++) {
        if (str_eq(f->members[i], name)) {
            return i;
        }
    }
    return -1;
}

const struct proto_instance_desired *sim_fleet_order(const struct sim_fleet *f, int i)
{
    return fake_agent_order(f->agents[i], f->members[i]);
}

/* Lists in primary p's report the standbys streaming from it, with their sync state. */
static void sim_fleet_push_replicas(const struct sim_fleet *f, int p,
                                    struct proto_instance_report *in)
{
    const struct proto_instance_desired *order = sim_fleet_order(f, p);

    for (int k = 0; k < f->n; k++) {
        const struct sim_fleet_db *s = &f->db[k];
        struct proto_replica *rp;
        bool named = false;

        if (!s->present || s->state != PROTO_STATE_RUNNING || !str_eq(s->upstream, f->members[p])) {
            continue;
        }
        for (uint32_t n = 0; order && n < order->sync.n_names; n++) {
            named = named || str_eq(order->sync.names[n], f->members[k]);
        }
        rp = &in->replicas[in->n_replicas++];
        memset(rp, 0, sizeof(*rp));
        (void) str_copy(rp->name, sizeof(rp->name), f->members[k]);
        rp->state = PROTO_REPL_STATE_STREAMING;
        rp->sync = named ? PROTO_SYNC_STATE_QUORUM : f->unnamed_sync;
        rp->sent_lsn = rp->flush_lsn = s->received;
        rp->replay_lsn = s->replayed;
    }
}

void sim_fleet_push(struct sim_fleet *f, int i)
{
    const struct sim_fleet_db *s = &f->db[i];
    struct proto_instance_report *in;

    if (!s->present) {
        fake_agent_drop_instance(f->agents[i], f->members[i]);
        return;
    }
    in = fake_agent_instance(f->agents[i], f->ns, f->cluster, f->members[i]);
    in->epoch = s->epoch;
    in->role = s->role;
    in->state = s->state;
    in->pid = s->state == PROTO_STATE_RUNNING ? 1000 + i : 0;
    in->timeline = s->timeline;
    in->system_id = f->system_id;
    in->current_lsn = s->current;
    in->received_lsn = s->received;
    in->replayed_lsn = s->replayed;
    (void) str_copy(in->upstream, sizeof(in->upstream), s->upstream);
    in->disk_free_bytes = SIM_FLEET_DISK_FREE;
    in->n_replicas = 0;
    if (s->role == PROTO_ROLE_PRIMARY && s->state == PROTO_STATE_RUNNING) {
        sim_fleet_push_replicas(f, i, in);
    }
}

static uint32_t sim_fleet_max_timeline(const struct sim_fleet *f)
{
    uint32_t tl = 0;

    for (int i = 0; i < f->n; i++) {
        tl = f->db[i].timeline > tl ? f->db[i].timeline : tl;
    }
    return tl;
}

void sim_fleet_obey(struct sim_fleet *f, int i)
{
    const struct proto_instance_desired *o = sim_fleet_order(f, i);
    struct sim_fleet_db *s = &f->db[i];

    if (!o) {
        return;
    }
    s->present = true;
    s->epoch = o->epoch;
    if (o->state == PROTO_STATE_FENCED || o->state == PROTO_STATE_STOPPED) {
        s->state = o->state; /* stopped in place: role and data kept */
        return;
    }
    if (o->role == PROTO_ROLE_PRIMARY) {
        if (s->role != PROTO_ROLE_PRIMARY) {
            s->timeline = sim_fleet_max_timeline(f) + (s->timeline ? 1 : 0);
            s->timeline = s->timeline ? s->timeline : 1;
            s->current = s->received > f->lsn0 ? s->received : f->lsn0;
        }
        s->role = PROTO_ROLE_PRIMARY;
        s->state = PROTO_STATE_RUNNING;
        s->upstream[0] = '\0';
        s->received = s->replayed = 0;
        return;
    }
    if (o->has_upstream) {
        int up = sim_fleet_index(f, o->upstream.member);

        s->role = PROTO_ROLE_STANDBY;
        s->state = PROTO_STATE_RUNNING;
        (void) str_copy(s->upstream, sizeof(s->upstream), o->upstream.member);
        if (up >= 0 && f->db[up].role == PROTO_ROLE_PRIMARY && f->db[up].current) {
            s->timeline = f->db[up].timeline;
            s->received = s->replayed = f->db[up].current;
        }
        s->current = 0;
    }
}

int sim_fleet_send(struct sim_fleet *f, int i)
{
    int r;

    sim_fleet_push(f, i);
    r = fake_agent_send(f->agents[i], 0);
    if (r != 200) {
        fprintf(stderr, "\n  node%d: send: %d %s\n", i + 1, r, fake_agent_error(f->agents[i]));
    }
    return r;
}

bool sim_fleet_settle(struct sim_fleet *f, unsigned mask, int rounds)
{
    bool ok = true;

    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < f->n; i++) {
            if (!(mask & (1u << i))) {
                continue;
            }
            if (sim_fleet_send(f, i) != 200) {
                ok = false;
                continue;
            }
            sim_fleet_obey(f, i);
        }
    }
    return ok;
}

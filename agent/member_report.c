/*
 * agent/member_report.c
 *
 * The report of a member thread (agent/member.c): the instance report filled from the last
 * status and probe (role, timeline, LSNs, replicas, upstream, restarts, last error), and its
 * publication to the shared fields, with an operator request's result and a kick of the
 * uplink when a field the arbiter must see at once has changed.
 *
 * Layer: shell.
 */
#include <pthread.h>
#include <string.h>

#include "agent/instance.h"
#include "agent/member.h"
#include "agent/member_int.h"
#include "agent/probe.h"
#include "common/str.h"

/* ---- one tick: publish ---- */

static enum proto_role member_role(const struct member_run *run)
{
    if (!run->status.running) {
        return PROTO_ROLE_UNKNOWN;
    }
    if (run->probe_kind != INSTANCE_PROBE_UP) {
        return run->last_up.up ? (run->primary_seen ? PROTO_ROLE_PRIMARY : PROTO_ROLE_STANDBY)
                               : PROTO_ROLE_UNKNOWN;
    }
    if (!run->probe.in_recovery) {
        return PROTO_ROLE_PRIMARY;
    }
    return run->order.role == PROTO_ROLE_LEADER ? PROTO_ROLE_LEADER : PROTO_ROLE_STANDBY;
}

static bool member_replica_listed(const struct proto_instance_report *r, const char *name)
{
    for (uint32_t i = 0; i < r->n_replicas; i++) {
        if (strcmp(r->replicas[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* The replicas the report may carry: named by a DNS label, once, in known states. */
static void member_report_replicas(const struct probe_result *pr, struct proto_instance_report *r)
{
    for (uint32_t i = 0; i < pr->n_replicas && r->n_replicas < PROTO_MAX_REPLICAS; i++) {
        const struct probe_replica *rp = &pr->replicas[i];
        struct proto_replica *out;

        if (!str_is_dns_label(rp->application_name) || rp->state == PROTO_REPL_STATE_UNKNOWN ||
            rp->sync_state == PROTO_SYNC_STATE_UNKNOWN ||
            member_replica_listed(r, rp->application_name)) {
            continue;
        }
        out = &r->replicas[r->n_replicas++];
        (void) str_copy(out->name, sizeof(out->name), rp->application_name);
        out->state = rp->state;
        out->sync = rp->sync_state;
        out->sent_lsn = rp->sent_lsn;
        out->flush_lsn = rp->flush_lsn;
        out->replay_lsn = rp->replay_lsn;
    }
}

static void member_build_report(struct member *m, uint64_t now)
{
    struct member_run *run = m->run;
    struct proto_instance_report *r = &run->report;
    const struct probe_result *pr = run->probe_kind == INSTANCE_PROBE_UP ? &run->probe
                                    : run->status.running                ? &run->last_up
                                                                         : NULL;

    memset(r, 0, sizeof(*r));
    (void) str_copy(r->namespace_, sizeof(r->namespace_), m->ns);
    (void) str_copy(r->cluster, sizeof(r->cluster), m->cluster);
    (void) str_copy(r->member, sizeof(r->member), m->name);
    r->state = run->inst.state;
    r->role = member_role(run);
    r->pid = run->status.running ? run->status.pid : 0;
    if (pr) {
        if (pr->timeline > run->timeline_seen) {
            run->timeline_seen = pr->timeline;
        }
        r->timeline = run->timeline_seen;
        r->system_id = pr->system_id;
        r->current_lsn = pr->current_lsn;
        r->received_lsn = pr->received_lsn;
        r->replayed_lsn = pr->replayed_lsn;
        (void) str_copy(r->sync_standby_names, sizeof(r->sync_standby_names),
                        pr->sync_standby_names);
        member_report_replicas(pr, r);
    } else if (!run->status.running && run->final_lsn != 0) {
        r->current_lsn = run->final_lsn;
    }
    /*
     * The arbiter counts a standby that names an upstream as streaming from it (and will not
     * fail over a silent primary while one does), so name it only while WAL really arrives.
     */
    if (r->role != PROTO_ROLE_PRIMARY && r->role != PROTO_ROLE_UNKNOWN && run->st.has_order &&
        run->st.order.has_upstream && run->st.order.role != PROTO_ROLE_PRIMARY && pr &&
        pr->receiving) {
        (void) str_copy(r->upstream, sizeof(r->upstream), run->st.order.upstream.member);
    }
    r->restarts = instance_restarts(&run->inst, now);
    (void) str_copy(r->last_error, sizeof(r->last_error), run->inst.last_error);
    r->disk_free_bytes = run->disk_free;
    r->maintenance = run->snap.node_maintenance || (run->order_known && run->order.maintenance);
}

/* Fields whose change is reported at once (DESIGN.md: state, role, failure, epoch). */
static bool member_report_differs(const struct proto_instance_report *a,
                                  const struct proto_instance_report *b)
{
    return a->state != b->state || a->role != b->role || a->pid != b->pid ||
           a->timeline != b->timeline || a->restarts != b->restarts ||
           a->maintenance != b->maintenance || strcmp(a->upstream, b->upstream) != 0 ||
           strcmp(a->last_error, b->last_error) != 0 || a->n_replicas != b->n_replicas;
}

void member_publish(struct member *m, uint64_t now, int ctl_rc, const char *ctl_err)
{
    struct member_run *run = m->run;
    bool changed;
    void (*kick)(void *) = NULL;
    void *kick_data = NULL;

    member_build_report(m, now);
    pthread_mutex_lock(&m->env->mu);
    changed = !m->published || member_report_differs(&m->report, &run->report);
    m->report = run->report;
    m->published = true;
    if (run->snap.ctl_seq > m->ctl_done_seq) {
        m->ctl_done_seq = run->snap.ctl_seq;
        m->ctl_result = ctl_rc;
        (void) str_copy(m->ctl_error, sizeof(m->ctl_error), ctl_err ? ctl_err : "");
        pthread_cond_broadcast(&m->env->ops_cond);
    }
    if (changed) {
        kick = m->env->kick;
        kick_data = m->env->kick_data;
    }
    pthread_mutex_unlock(&m->env->mu);
    if (kick) {
        kick(kick_data);
    }
}

/* Publishes the state shown while a long action runs, so the report says so at once. */
void member_publish_doing(struct member *m, const struct instance_plan *p, uint64_t now)
{
    struct member_run *run = m->run;

    if (p->doing == run->inst.state) {
        return;
    }
    instance_set_state(&run->inst, p->doing, p->reason);
    member_publish(m, now, 0, NULL);
}

/*
 * agent/member_act.c
 *
 * The actions of a member thread (agent/member.c): the engine operations that carry out one
 * step of the instance's plan (agent/instance.h): create (initdb or base backup), start,
 * restart, stop, fence, kill, reload, promote, demote, rewind and rebuild. Each records the
 * order it applies in the member's state file first (member_applied).
 *
 * Layer: shell.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/engine.h"
#include "agent/instance.h"
#include "agent/member.h"
#include "agent/member_int.h"
#include "agent/reaper.h"
#include "agent/storage.h"
#include "common/log.h"
#include "common/mem.h"

/* ---- stops ---- */

/* The same instance with the short stop deadlines of hung and fencing stops. */
static int member_quick_stop(struct member *m, struct errbuf *eb)
{
    struct engine_instance *quick = xcalloc(1, sizeof(*quick));
    struct engine e;
    int r;

    *quick = m->run->ei;
    quick->timeouts.stop_ms = MEMBER_QUICK_STOP_MS;
    quick->timeouts.kill_ms = MEMBER_QUICK_KILL_MS;
    r = engine_open(&e, quick, &m->env->proc, eb);
    if (r == 0) {
        r = engine_stop(&e, eb);
    }
    free(quick);
    return r;
}

/*
 * After a stop that returned r: remember where the instance's WAL ends, so the arbiter can
 * wait for a switchover target to replay that far (reported as current_lsn while down).
 * Returns r.
 */
static int member_note_final_lsn(struct member *m, int r)
{
    struct errbuf eb = {{0}};
    uint64_t lsn = 0;

    m->run->final_lsn = 0;
    if (r == 0 && engine_last_lsn(&m->run->e, &lsn, &eb) == 0) {
        m->run->final_lsn = lsn;
    }
    return r;
}

/* ---- actions ---- */

/*
 * Resynchronise from the upstream with pg_rewind; started as a standby. A failed rewind is
 * not followed at once by a full copy from the same upstream (which may just have died):
 * the next tick reads the current order again, and a data directory the rewind may have
 * changed carries the copy marker, so the state machine copies it in full from whichever
 * upstream is named then (rule "recopy"); an intact one is rewound again.
 */
static int member_rejoin(struct member *m, struct errbuf *eb)
{
    struct member_run *run = m->run;
    int r = engine_rewind(&run->e, eb);

    if (r == 0) {
        r = engine_start(&run->e, ENGINE_MODE_STANDBY, eb);
    }
    if (r == 0 || r == -EINPROGRESS) {
        member_set_was_primary(run, false);
    }
    return r;
}

static enum engine_mode member_mode(bool as_primary)
{
    return as_primary ? ENGINE_MODE_PRIMARY : ENGINE_MODE_STANDBY;
}

/* Backends of a dead postmaster hold its shared memory: a start would fail. */
static int member_strays(struct member *m)
{
    struct engine_status st;

    if (engine_status(&m->run->e, &st, NULL) < 0 || st.running) {
        return 0;
    }
    return reaper_kill_strays(m->run->e.data_dir, MEMBER_STRAY_WAIT_MS);
}

/*
 * Before an operation that writes data/ (initdb, base backup, rewind): the instance is
 * stopped, and the tools an earlier agent left running on this member (killed -9 in the
 * middle of a copy) are killed and gone, or they would write into the new copy.
 */
static int member_clear_tools(struct member *m, struct errbuf *eb)
{
    struct member_run *run = m->run;
    int r = engine_stop(&run->e, eb);
    int n;

    if (r < 0) {
        return r;
    }
    n = reaper_kill_tools(m->paths.member_dir, 0, MEMBER_STRAY_WAIT_MS);
    if (n < 0) {
        errbuf_set(eb, "processes left in %s survived SIGKILL", m->paths.member_dir);
        return n;
    }
    if (n > 0) {
        slog_warn(LOG_CTX({"cluster", m->cluster}, {"member", m->name}),
                  "killed %d process(es) left on this member by an earlier agent", n);
    }
    return 0;
}

/* Creation: the storage (after the space check), then initdb or a base backup. */
static int member_create(struct member *m, const struct instance_plan *p, struct errbuf *eb)
{
    struct member_run *run = m->run;
    bool init = p->action == INSTANCE_ACTION_INIT;
    int r = storage_prepare_member(m->env->root, &m->paths, m->env->uid, m->env->gid, eb);

    if (r == 0) {
        r = member_open(m, init, !init, eb);
    }
    if (r == 0) {
        r = member_clear_tools(m, eb);
    }
    if (r < 0) {
        return r;
    }
    member_applied(m);
    if (init) {
        r = engine_init(&run->e, eb);
        if (r == 0) {
            r = engine_start(&run->e, ENGINE_MODE_PRIMARY, eb);
        }
        if (r == 0) {
            member_set_was_primary(run, true);
        }
        return r;
    }
    r = engine_rebuild(&run->e, eb);
    if (r == 0 || r == -EINPROGRESS) {
        member_set_was_primary(run, false);
    }
    return r;
}

static int member_change_role(struct member *m, const struct instance_plan *p, struct errbuf *eb)
{
    struct member_run *run = m->run;
    bool follow = run->order.has_upstream && run->order.role != PROTO_ROLE_PRIMARY;
    int r;

    switch (p->action) {
    case INSTANCE_ACTION_PROMOTE:
        r = member_open(m, true, false, eb);
        if (r == 0) {
            r = engine_promote(&run->e, eb);
        }
        if (r == 0) {
            member_set_was_primary(run, true);
        }
        return r;
    case INSTANCE_ACTION_DEMOTE:
        r = member_open(m, false, follow, eb);
        if (r == 0) {
            member_applied(m);
        }
        if (r == 0) {
            r = engine_stop(&run->e, eb);
        }
        if (r == 0) {
            r = follow ? member_rejoin(m, eb) : engine_start(&run->e, ENGINE_MODE_STANDBY, eb);
        }
        return r;
    case INSTANCE_ACTION_REWIND:
        r = member_open(m, false, true, eb);
        if (r == 0) {
            r = member_clear_tools(m, eb);
        }
        if (r == 0 && !run->st.was_primary) {
            /* A diverged standby: until the rewind completes, its data must not start as a
             * standby again (it would not stream); a failure is followed by a full copy. */
            run->resync_tries++;
            r = engine_copy_begin(&run->e, "pg_rewind of a diverged standby", eb);
        }
        if (r == 0) {
            member_applied(m);
        }
        return r < 0 ? r : member_rejoin(m, eb);
    case INSTANCE_ACTION_REBUILD:
        r = member_open(m, false, true, eb);
        if (r == 0) {
            r = member_clear_tools(m, eb);
        }
        if (r == 0 && strcmp(p->rule, "resync-copy") == 0) {
            run->resync_tries++;
        }
        if (r == 0) {
            member_applied(m);
        }
        if (r == 0) {
            r = engine_rebuild(&run->e, eb);
        }
        if (r == 0 || r == -EINPROGRESS) {
            member_set_was_primary(run, false);
            run->st.rebuilt = true;
            run->st.rebuilt_epoch = run->order.epoch;
            run->st_dirty = true;
        }
        return r;
    default:
        break;
    }
    return -EINVAL;
}

int member_act(struct member *m, const struct instance_plan *p, uint64_t now, struct errbuf *eb)
{
    struct member_run *run = m->run;
    int r = 0;

    switch (p->action) {
    case INSTANCE_ACTION_INIT:
    case INSTANCE_ACTION_CLONE:
        run->timeline_seen = 0; /* new data */
        return member_create(m, p, eb);
    case INSTANCE_ACTION_REWIND:
    case INSTANCE_ACTION_REBUILD:
        run->timeline_seen = 0; /* the data is replaced or rewound to another history */
        return member_change_role(m, p, eb);
    case INSTANCE_ACTION_PROMOTE:
    case INSTANCE_ACTION_DEMOTE:
        return member_change_role(m, p, eb);
    case INSTANCE_ACTION_START:
    case INSTANCE_ACTION_RESTART:
        r = member_open(m, p->as_primary, p->follow, eb);
        if (r == 0) {
            member_applied(m);
        }
        if (r == 0 && p->action == INSTANCE_ACTION_RESTART) {
            r = engine_stop(&run->e, eb);
        }
        if (r == 0 && member_strays(m) > 0) {
            slog_warn(LOG_CTX({"cluster", m->cluster}, {"member", m->name}),
                      "killed processes left by the previous postmaster");
        }
        if (r == 0) {
            r = engine_start(&run->e, member_mode(p->as_primary), eb);
        }
        if (r == 0 || r == -EINPROGRESS) {
            run->final_lsn = 0;
            run->watch_since_ms = now;
        }
        return r;
    case INSTANCE_ACTION_KILL:
        /* Frozen: a fast or immediate shutdown would only wait out its deadline. */
        return engine_kill(&run->e, eb);
    case INSTANCE_ACTION_FENCE:
        return member_note_final_lsn(m, member_quick_stop(m, eb));
    case INSTANCE_ACTION_STOP:
        return member_note_final_lsn(m, engine_stop(&run->e, eb));
    case INSTANCE_ACTION_RELOAD:
        /* run->e describes the running mode (member_gather). */
        member_applied(m);
        return engine_reload(&run->e, eb);
    case INSTANCE_ACTION_FAIL:
    case INSTANCE_ACTION_NONE:
    case INSTANCE_ACTION_WAIT:
    case _INSTANCE_ACTION_MAX:
        break;
    }
    return 0;
}

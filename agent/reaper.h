/*
 * agent/reaper.h
 *
 * Orphans and zombies. The agent starts postmasters through pg_ctl / gs_ctl, which exit once
 * the server runs: the postmaster is orphaned and re-parented. reaper_setup makes the agent a
 * child subreaper (prctl PR_SET_CHILD_SUBREAPER), so its postmasters stay in its process tree
 * (as they do when the agent is a container's PID 1) rather than landing on whatever PID 1
 * the node has; the agent must then reap them, or every crash leaves a zombie behind.
 *
 * It must not steal children from common/proc.c, which waits for its own child by pid (a
 * pidfd, then waitpid(pid)): a waitpid(-1) at the wrong moment would make a pg_ctl run fail
 * with -ECHILD. So every program the agent runs goes through reaper_proc_ops(), which counts
 * the runs in flight, and reaper_reap() calls waitpid(-1, WNOHANG) only while none is in
 * flight, holding the lock that a new run must take before it forks. Every zombie child seen
 * then is an adopted orphan (postmaster, backend, a tool's helper), never a run's own child.
 * During a long run (a base backup) reaping waits; zombies are harmless meanwhile
 * (engine_status does not count a zombie as running).
 *
 * Layer: edge (the process table).
 */
#ifndef OG_AGENT_REAPER_H
#define OG_AGENT_REAPER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "common/proc.h"

struct reaper;

/* A new reaper (no process-wide change yet). Free with reaper_free. */
struct reaper *reaper_new(void);
/* NULL-safe. */
void reaper_free(struct reaper *r);

/* Makes this process a child subreaper. 0 or -errno. */
int reaper_setup(struct reaper *r, struct errbuf *eb);

/* A process runner (proc_run) that counts runs in flight for r; r must outlive its use. */
struct proc_ops reaper_proc_ops(struct reaper *r);

/* Reaps every zombie child when no run is in flight; returns how many were reaped. */
int reaper_reap(struct reaper *r);

/*
 * Processes of a dead instance that are still around: every process whose working directory
 * is dir (a postmaster and its backends chdir to the data directory). A postmaster killed
 * with SIGKILL leaves backends that exit on their own within moments; until they do, they
 * keep its shared memory and a new postmaster refuses to start. Waits up to wait_ms for them
 * to go, then SIGKILLs (and SIGCONTs) those left. Returns how many were killed (>= 0).
 */
int reaper_kill_strays(const char *dir, uint64_t wait_ms);

/*
 * Leftovers of an agent killed during an operation on the member directory dir (initdb,
 * pg_basebackup, pg_rewind, gs_ctl build and their helpers, an initdb's single-user postgres):
 * every process, but ours, our children and grandchildren (this agent's own runs), keep (a
 * running postmaster; 0: none) and its children, whose working directory is dir or lies
 * below it (the tools run in dir, a postgres chdirs to dir/data) or whose command line names
 * a path below dir. They are SIGKILLed (and SIGCONTed) at once, then waited for up to wait_ms
 * (not our children: polled in /proc until gone or a zombie). Returns how many were killed
 * (>= 0), or -ETIMEDOUT when some were still there at the deadline.
 */
int reaper_kill_tools(const char *dir, int keep, uint64_t wait_ms);

#endif

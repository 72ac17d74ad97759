/*
 * agent/engine_int.h
 *
 * What agent/engine.c, agent/engine_copy.c and agent/engine_host.c share, and nothing else
 * may use: the input checks, the managed configuration files, the data directory tests, the
 * data.old-* handling of a rebuild and the pid and lock files. Nothing else includes it.
 *
 * Layer: edge.
 */
#ifndef OG_AGENT_ENGINE_INT_H
#define OG_AGENT_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent/engine.h"
#include "common/errbuf.h"

/* engine.c */

/* True for an absolute path of [A-Za-z0-9/._-] without "..": safe in shell lines and files. */
bool engine_path_is_safe(const char *p);

/* True when s is an IPv4 or IPv6 address literal. */
bool engine_is_ip(const char *s);

/* Writes conf/postgresql.conf, conf/pg_hba.conf and conf/pgpass. 0 or -errno (eb). */
int engine_write_conf_files(struct engine *e, struct errbuf *eb);

/* engine_copy.c */

/* True when dir/name exists. */
bool engine_exists(const char *dir, const char *name);

/* True when the data directory has PG_VERSION and global/pg_control. */
bool engine_data_is_complete(const struct engine *e);

/* mkdir -p dir 0700, owned by the instance's user. 0 or -errno (eb). */
int engine_mkdir_owned(struct engine *e, const char *dir, struct errbuf *eb);

/* The newest <base>/data.old-<seconds> into buf ("" when none). 0 or -errno. */
int engine_find_old(const struct engine *e, char *buf, size_t size);

/* Removes every <base>/data.old-* (their rebuild has completed). 0 or -errno (eb). */
int engine_remove_old(struct engine *e, struct errbuf *eb);

/* Puts data.old-* back when an interrupted rebuild left no complete data. 0 or -errno (eb). */
int engine_restore_old(struct engine *e, struct errbuf *eb);

/* engine_host.c */

/* The pid on the first line of <data>/postmaster.pid into *ret_pid. 0 or -errno. */
int engine_read_pidfile(const struct engine *e, pid_t *ret_pid);

/* Removes postmaster.pid, the socket and its lock file of a postmaster known to be dead. */
void engine_remove_lock_files(struct engine *e);

#endif

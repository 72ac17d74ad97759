/*
 * tests/support/pgserver.h
 *
 * A real, throw-away PostgreSQL 15 server for tests: initdb (data checksums, trust on
 * loopback), pg_ctl start on a free port of a 127.0.0.x address, and a guaranteed cleanup.
 *
 * Cleanup is layered so that no server and no directory outlives its test, however the test
 * ends: pgserver_stop; an atexit handler and SIGTERM/SIGINT/SIGABRT handlers for every server
 * still registered; and a watchdog process per server (outside the test's process tree) that
 * kills the postmaster and removes the directory as soon as the test process is gone, even
 * when it was SIGKILLed.
 *
 * As root the servers run as an unprivileged user (PostgreSQL refuses root): $OG_TEST_PGUSER,
 * default "ogtest" (scripts/deps.sh creates it). Binaries come from pgserver_bindir().
 */
#ifndef OG_TESTS_PGSERVER_H
#define OG_TESTS_PGSERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pgserver {
    char dir[PATH_MAX];     /* temp dir holding data/, the logs and the Unix socket */
    char datadir[PATH_MAX]; /* dir/data */
    char logpath[PATH_MAX]; /* dir/postgresql.log, the server's log */
    char host[64];          /* the 127.0.0.x address listened on */
    uint16_t port;          /* a port that was free on host */
    pid_t postmaster_pid;
    char conninfo[512]; /* "host=... port=... user=postgres dbname=postgres connect_timeout=5" */

    /* Private. */
    pid_t watchdog_pid;
    int watchdog_fd; /* write end of the watchdog's pipe; -1 when none */
    bool as_user;    /* initdb/pg_ctl switch to uid/gid (we are root) */
    uid_t uid;
    gid_t gid;
    bool active;
};

/*
 * Creates and starts a server listening on host (an IPv4 address in 127.0.0.0/8; NULL means
 * 127.0.0.1) and waits until it accepts connections (each step bounded; about a minute at
 * most). pg is overwritten. On success the server is registered for cleanup and 0 is
 * returned; on failure everything created is removed, err holds the reason (with the tail of
 * the server's log when there is one) and -errno is returned (-EINVAL bad host, -ENOENT no
 * unprivileged user while root, -ETIMEDOUT, -EIO a tool failed).
 */
int pgserver_start(struct pgserver *pg, const char *host, char *err, size_t errsize);

/*
 * Stops the server (pg_ctl stop -m immediate, bounded; then SIGKILL of the postmaster if it
 * is still there), removes its directory and releases its watchdog. Idempotent: a stopped or
 * zero-filled pg gives 0. Returns 0 or the first -errno (the watchdog then retries the
 * removal when the test process ends).
 */
int pgserver_stop(struct pgserver *pg);

/* Directory of initdb, pg_ctl and postgres: $OG_PG_BINDIR, else /usr/lib/postgresql/15/bin. */
const char *pgserver_bindir(void);

/*
 * The unprivileged OS user servers run as when we are root: $OG_TEST_PGUSER, default
 * "ogtest". 0 with *ret_uid and *ret_gid set, -ENOENT when the user does not exist, -errno.
 */
int pgserver_run_user(int *ret_uid, int *ret_gid);

#endif

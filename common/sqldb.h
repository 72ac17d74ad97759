/*
 * common/sqldb.h
 *
 * A thin, durable SQLite handle: WAL journal, synchronous=FULL, foreign keys on, a busy
 * timeout, schema migrations numbered by PRAGMA user_version (one transaction each), a cache
 * of prepared statements finalized at close (STYLE.md: prepare once, reset after use), and
 * SQLite result codes mapped to negative errno values with sqlite3_errmsg in the errbuf.
 *
 * Threading: the connection is opened with SQLITE_OPEN_NOMUTEX ("multi-thread" mode). A
 * struct sqldb and the statements it hands out belong to one thread at a time, normally the
 * arbiter's loop thread (STYLE.md "Threads"); the statement cache is not locked, so serialized
 * mode would only hide a bug. Use a second struct sqldb for a second thread.
 *
 * Errors (negative errno): SQLITE_BUSY/LOCKED -EBUSY, CONSTRAINT -EEXIST, CORRUPT/NOTADB
 * -EBADMSG, FULL -ENOSPC, CANTOPEN -ENOENT (or -EACCES when the OS said so), READONLY -EROFS,
 * anything else -EIO.
 */
#ifndef OG_COMMON_SQLDB_H
#define OG_COMMON_SQLDB_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/errbuf.h"

/* Prepared statements one handle can cache; store.c needs a few dozen. */
#define SQLDB_STMT_CACHE_MAX 128
/* The busy timeout set on every connection, in milliseconds. */
#define SQLDB_BUSY_TIMEOUT_MS 5000

/*
 * One schema step. Versions run 1..N, ascending and contiguous; version k's sql brings a
 * database from user_version k-1 to k. The sql may hold several statements but no
 * transaction control (BEGIN/COMMIT): sqldb_open wraps each step in its own transaction, and
 * fails with -EINVAL when a step ended it (found after the fact: the part before the COMMIT
 * stays applied, so this is a guard for developers, not a feature).
 */
struct sqldb_migration {
    int version;
    const char *sql;
};

struct sqldb;

/*
 * Opens (creating if needed) the database file at path, sets journal_mode=WAL (and checks
 * the answer is "wal"; ":memory:" is accepted with journal mode "memory", for tests only),
 * synchronous=FULL, foreign_keys=ON and the busy timeout, then applies every migration whose
 * version is above the file's user_version, each as BEGIN IMMEDIATE; sql; PRAGMA
 * user_version=N; COMMIT. A failing step is rolled back and leaves user_version at the
 * previous step. Two processes migrating at once are safe: the version is re-read inside the
 * write transaction. File descriptors are close-on-exec (SQLite's unix VFS opens with
 * O_CLOEXEC). On success *ret owns the handle (sqldb_close). Returns 0, -EINVAL (migration
 * table not 1..N), -EPROTO (the file's schema is newer than n_migs), or a mapped SQLite error.
 */
int sqldb_open(const char *path, const struct sqldb_migration *migs, size_t n_migs,
               struct sqldb **ret, struct errbuf *eb);
/* Finalizes every cached statement and closes the connection. NULL-safe. */
void sqldb_close(struct sqldb *db);
/* The underlying connection, borrowed (for sqlite3_changes, last_insert_rowid, ...). */
sqlite3 *sqldb_handle(struct sqldb *db);

/* Runs sql (one or several statements) discarding any rows; 0 or a mapped error. */
int sqldb_exec(struct sqldb *db, const char *sql, struct errbuf *eb);
/* BEGIN IMMEDIATE: takes the write lock now, so a later write cannot fail with -EBUSY. */
int sqldb_begin(struct sqldb *db, struct errbuf *eb);
/* COMMIT. On failure the transaction may still be open: call sqldb_rollback. */
int sqldb_commit(struct sqldb *db, struct errbuf *eb);
/* ROLLBACK when a transaction is open, else nothing; 0 or a mapped error. */
int sqldb_rollback(struct sqldb *db);

/*
 * Returns in *ret a prepared statement for sql, owned by db: prepared on first use, and on
 * later calls with the same text (compared by content) the same statement, reset and with
 * its bindings cleared. Do not finalize it; call sqldb_step_done or sqlite3_reset after use,
 * and do not ask for the same text again while still stepping it. sql must be exactly one
 * statement. Returns 0, -EINVAL (several statements or none), -ENOBUFS (cache full:
 * SQLDB_STMT_CACHE_MAX distinct texts) or a mapped SQLite error.
 */
int sqldb_prepare(struct sqldb *db, const char *sql, sqlite3_stmt **ret, struct errbuf *eb);
/*
 * Steps st once expecting SQLITE_DONE (an INSERT, UPDATE, DELETE), then resets it, whatever
 * the outcome. Returns 0, -EINVAL when the statement produced a row, or a mapped error.
 */
int sqldb_step_done(sqlite3_stmt *st, struct errbuf *eb);
/* Reads PRAGMA user_version into *ret; 0 or a mapped error. */
int sqldb_user_version(struct sqldb *db, int *ret);

/* Maps a SQLite result code (primary or extended) to a negative errno; SQLITE_OK gives 0. */
int sqldb_errno(int rc);

#endif

/*
 * common/sqldb.c
 *
 * The SQLite connection of the arbiter's store: opens a file durably (WAL, synchronous=FULL,
 * so a commit that returned survives a kill -9 or a power loss), migrates its schema one
 * user_version at a time, and caches prepared statements so that hot paths never re-parse
 * SQL. Every SQLite failure becomes a negative errno plus sqlite3_errmsg text in the caller's
 * errbuf; nothing here logs.
 *
 * Layer: edge (wraps SQLite).
 */
#include "common/sqldb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/str.h"

struct sqldb_stmt {
    char *sql; /* our copy of the text, the cache key */
    sqlite3_stmt *st;
};

struct sqldb {
    sqlite3 *handle;
    size_t n_stmts;
    struct sqldb_stmt stmts[SQLDB_STMT_CACHE_MAX];
};

int sqldb_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_READONLY:
        return -EROFS;
    default:
        return -EIO;
    }
}

/* Maps rc for a failure on handle, filling eb with the connection's own message. */
static int sqldb_fail(sqlite3 *handle, int rc, struct errbuf *eb)
{
    int r = sqldb_errno(rc);

    if (r == 0) {
        r = -EIO; /* a caller saw an unexpected success code: still a failure */
    }
    if ((rc & 0xff) == SQLITE_CANTOPEN && handle && sqlite3_system_errno(handle) == EACCES) {
        r = -EACCES;
    }
    if (handle && sqlite3_errcode(handle) != SQLITE_OK) {
        errbuf_set(eb, "%s", sqlite3_errmsg(handle));
    } else {
        errbuf_set(eb, "%s", sqlite3_errstr(rc));
    }
    return r;
}

int sqldb_exec(struct sqldb *db, const char *sql, struct errbuf *eb)
{
    char *msg = NULL;
    int rc;
    int r;

    rc = sqlite3_exec(db->handle, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) {
        return 0;
    }
    r = sqldb_fail(db->handle, rc, eb);
    if (msg) {
        errbuf_set(eb, "%s", msg);
    }
    sqlite3_free(msg);
    return r;
}

int sqldb_begin(struct sqldb *db, struct errbuf *eb)
{
    return sqldb_exec(db, "BEGIN IMMEDIATE", eb);
}

int sqldb_commit(struct sqldb *db, struct errbuf *eb)
{
    return sqldb_exec(db, "COMMIT", eb);
}

int sqldb_rollback(struct sqldb *db)
{
    /* Autocommit on means no transaction is open (or SQLite already rolled it back). */
    if (!db || sqlite3_get_autocommit(db->handle)) {
        return 0;
    }
    return sqldb_exec(db, "ROLLBACK", NULL);
}

sqlite3 *sqldb_handle(struct sqldb *db)
{
    return db ? db->handle : NULL;
}

int sqldb_user_version(struct sqldb *db, int *ret)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int r = 0;

    rc = sqlite3_prepare_v2(db->handle, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = sqldb_errno(rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = rc == SQLITE_DONE ? -EIO : sqldb_errno(rc);
        goto out;
    }
    *ret = sqlite3_column_int(st, 0);
out:
    sqlite3_finalize(st);
    return r;
}

/* Runs a PRAGMA that answers one text row and checks the answer (journal_mode). */
static int sqldb_pragma_expect(sqlite3 *handle, const char *sql, const char *want,
                               struct errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    const char *got;
    int rc;
    int r = 0;

    rc = sqlite3_prepare_v2(handle, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = sqldb_fail(handle, rc, eb);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = sqldb_fail(handle, rc, eb);
        goto out;
    }
    got = (const char *) sqlite3_column_text(st, 0);
    if (!got || strcmp(got, want) != 0) {
        errbuf_set(eb, "%s answered \"%s\", expected \"%s\"", sql, got ? got : "", want);
        r = -EIO;
    }
out:
    sqlite3_finalize(st);
    return r;
}

/* Applies one migration in its own write transaction; a no-op when already applied. */
static int sqldb_migrate_one(struct sqldb *db, const struct sqldb_migration *m, struct errbuf *eb)
{
    char set_version[64];
    int version = 0;
    int r;

    r = sqldb_begin(db, eb);
    if (r < 0) {
        return r;
    }
    /* Re-read under the write lock: another process may have migrated meanwhile. */
    r = sqldb_user_version(db, &version);
    if (r < 0) {
        errbuf_set(eb, "%s", sqlite3_errmsg(db->handle));
        goto fail;
    }
    if (version >= m->version) {
        r = sqldb_commit(db, eb);
        if (r < 0) {
            goto fail;
        }
        return 0;
    }
    r = sqldb_exec(db, m->sql, eb);
    if (r < 0) {
        errbuf_prefix(eb, "migration %d", m->version);
        goto fail;
    }
    if (sqlite3_get_autocommit(db->handle)) {
        /* A COMMIT or ROLLBACK in the step would split it: refuse rather than half-apply. */
        errbuf_set(eb, "migration %d: must not contain transaction control", m->version);
        r = -EINVAL;
        goto fail;
    }
    (void) snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", m->version);
    r = sqldb_exec(db, set_version, eb);
    if (r < 0) {
        goto fail;
    }
    r = sqldb_commit(db, eb);
    if (r < 0) {
        errbuf_prefix(eb, "migration %d", m->version);
        goto fail;
    }
    return 0;
fail:
    (void) sqldb_rollback(db);
    return r;
}

static int sqldb_migrate(struct sqldb *db, const struct sqldb_migration *migs, size_t n_migs,
                         struct errbuf *eb)
{
    int version = 0;
    int r;

    for (size_t i = 0; i < n_migs; i++) {
        if (migs[i].version != (int) i + 1 || !migs[i].sql) {
            errbuf_set(eb, "migration table: entry %zu has version %d, expected %zu", i,
                       migs[i].version, i + 1);
            return -EINVAL;
        }
    }
    r = sqldb_user_version(db, &version);
    if (r < 0) {
        errbuf_set(eb, "%s", sqlite3_errmsg(db->handle));
        return r;
    }
    if (version < 0 || (size_t) version > n_migs) {
        errbuf_set(eb, "database schema version %d is newer than this binary (%zu)", version,
                   n_migs);
        return -EPROTO;
    }
    for (size_t i = (size_t) version; i < n_migs; i++) {
        r = sqldb_migrate_one(db, &migs[i], eb);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* The connection settings every handle gets, in an order SQLite accepts. */
static int sqldb_configure(struct sqldb *db, bool in_memory, struct errbuf *eb)
{
    int rc;
    int r;

    rc = sqlite3_busy_timeout(db->handle, SQLDB_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        return sqldb_fail(db->handle, rc, eb);
    }
    /* The first statement that reads the file: a foreign or corrupt file fails here. */
    r = sqldb_pragma_expect(db->handle, "PRAGMA journal_mode = WAL", in_memory ? "memory" : "wal",
                            eb);
    if (r < 0) {
        return r;
    }
    r = sqldb_exec(db, "PRAGMA synchronous = FULL", eb);
    if (r < 0) {
        return r;
    }
    return sqldb_exec(db, "PRAGMA foreign_keys = ON", eb);
}

int sqldb_open(const char *path, const struct sqldb_migration *migs, size_t n_migs,
               struct sqldb **ret, struct errbuf *eb)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                      SQLITE_OPEN_EXRESCODE;
    struct sqldb *db = NULL;
    int rc;
    int r;

    if (str_is_empty(path)) {
        errbuf_set(eb, "empty database path");
        return -EINVAL;
    }
    db = xcalloc(1, sizeof(*db));
    rc = sqlite3_open_v2(path, &db->handle, flags, NULL);
    if (rc != SQLITE_OK) {
        r = sqldb_fail(db->handle, rc, eb);
        errbuf_prefix(eb, "open %s", path);
        goto fail;
    }
    r = sqldb_configure(db, strcmp(path, ":memory:") == 0, eb);
    if (r < 0) {
        errbuf_prefix(eb, "%s", path);
        goto fail;
    }
    r = sqldb_migrate(db, migs, n_migs, eb);
    if (r < 0) {
        errbuf_prefix(eb, "%s", path);
        goto fail;
    }
    *ret = db;
    return 0;
fail:
    sqldb_close(db);
    return r;
}

void sqldb_close(struct sqldb *db)
{
    if (!db) {
        return;
    }
    for (size_t i = 0; i < db->n_stmts; i++) {
        sqlite3_finalize(db->stmts[i].st);
        free(db->stmts[i].sql);
    }
    /* close_v2 never fails on a statement a caller leaked; it closes when that one goes. */
    (void) sqlite3_close_v2(db->handle);
    free(db);
}

int sqldb_prepare(struct sqldb *db, const char *sql, sqlite3_stmt **ret, struct errbuf *eb)
{
    struct sqldb_stmt *e;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc;

    for (size_t i = 0; i < db->n_stmts; i++) {
        e = &db->stmts[i];
        if (strcmp(e->sql, sql) == 0) {
            (void) sqlite3_reset(e->st);
            (void) sqlite3_clear_bindings(e->st);
            *ret = e->st;
            return 0;
        }
    }
    if (db->n_stmts >= SQLDB_STMT_CACHE_MAX) {
        errbuf_set(eb, "statement cache full (%d statements)", SQLDB_STMT_CACHE_MAX);
        return -ENOBUFS;
    }
    rc = sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
    if (rc != SQLITE_OK) {
        return sqldb_fail(db->handle, rc, eb);
    }
    if (!st || (tail && tail[strspn(tail, " \t\r\n;")] != '\0')) {
        sqlite3_finalize(st);
        errbuf_set(eb, "expected exactly one SQL statement: %.200s", sql);
        return -EINVAL;
    }
    e = &db->stmts[db->n_stmts++];
    e->sql = xstrdup(sql);
    e->st = st;
    *ret = st;
    return 0;
}

int sqldb_step_done(sqlite3_stmt *st, struct errbuf *eb)
{
    int rc = sqlite3_step(st);
    int r = 0;

    if (rc == SQLITE_ROW) {
        errbuf_set(eb, "statement returned rows: %.200s", sqlite3_sql(st));
        r = -EINVAL;
    } else if (rc != SQLITE_DONE) {
        r = sqldb_fail(sqlite3_db_handle(st), rc, eb);
    }
    (void) sqlite3_reset(st);
    return r;
}

/*
 * tests/unit/test_sqldb.c
 *
 * common/sqldb against real files in a temporary directory (removed by the suite cleanup,
 * also after a failed assertion): durability settings, migrations, transactions, the
 * statement cache, error mapping, a corrupt file, and a commit that survives kill -9.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sqldb.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

static char tmpdir[] = "/tmp/og-test-sqldb-XXXXXX";
static bool have_tmpdir;

static const struct sqldb_migration migs[] = {
        {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE);"
            "CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id));"},
        {2, "INSERT INTO t (v) VALUES ('two');"},
        {3, "INSERT INTO t (v) VALUES ('three');"},
};

static int suite_init(void)
{
    if (!mkdtemp(tmpdir)) {
        return -1;
    }
    have_tmpdir = true;
    return 0;
}

static int suite_cleanup(void)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d;

    if (!have_tmpdir) {
        return 0;
    }
    d = opendir(tmpdir);
    if (d) {
        /* Flat directory: every file a test made sits directly in it. */
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
            (void) unlink(path);
        }
        closedir(d);
    }
    return rmdir(tmpdir) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t size, const char *name)
{
    (void) snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* The single integer a query answers, or -1000 on any failure. */
static long long query_int(struct sqldb *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1000;

    if (sqlite3_prepare_v2(sqldb_handle(db), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static void test_sqldb_open_sets_durable_pragmas(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "pragmas.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(sqldb_handle(db), "PRAGMA journal_mode", -1, &st, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *) sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CU_ASSERT_EQUAL(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
    CU_ASSERT_EQUAL(query_int(db, "PRAGMA foreign_keys"), 1);
    CU_ASSERT_EQUAL(query_int(db, "PRAGMA busy_timeout"), SQLDB_BUSY_TIMEOUT_MS);
    CU_ASSERT_EQUAL(sqlite3_db_readonly(sqldb_handle(db), "main"), 0);
    sqldb_close(db);
    sqldb_close(NULL);

    /* In memory (tests of other modules): no WAL there, but migrations still run. */
    db = NULL;
    CU_ASSERT_FATAL(sqldb_open(":memory:", migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 1);
    sqldb_close(db);
}

/* Every descriptor open on a file of our temp dir is close-on-exec (db, -wal, -shm). */
static void test_sqldb_fds_are_cloexec(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    char link[PATH_MAX];
    char target[PATH_MAX];
    struct dirent *de;
    unsigned seen = 0;
    DIR *d;

    path_of(path, sizeof(path), "cloexec.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 3, &db, &eb) == 0);
    d = opendir("/proc/self/fd");
    CU_ASSERT_FATAL(d != NULL);
    while ((de = readdir(d)) != NULL) {
        uint32_t fd = 0;
        ssize_t n;

        if (de->d_name[0] == '.') {
            continue;
        }
        (void) snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0) {
            continue;
        }
        target[n] = '\0';
        if (strncmp(target, path, strlen(path)) != 0) {
            continue;
        }
        CU_ASSERT_FATAL(str_to_u32(de->d_name, 0, INT_MAX, &fd) == 0);
        CU_ASSERT(fcntl((int) fd, F_GETFD) & FD_CLOEXEC);
        seen++;
    }
    closedir(d);
    CU_ASSERT(seen >= 2); /* the database and its -wal file at least */
    sqldb_close(db);
}

static void test_sqldb_migrations_apply_once(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    int v = -1;

    path_of(path, sizeof(path), "migrate.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_user_version(db, &v), 0);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 1);
    sqldb_close(db);

    /* Reopening with the same table changes nothing. */
    CU_ASSERT_FATAL(sqldb_open(path, migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_user_version(db, &v), 0);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 1);
    sqldb_close(db);

    /* A newer binary applies only the new step. */
    CU_ASSERT_FATAL(sqldb_open(path, migs, 3, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_user_version(db, &v), 0);
    CU_ASSERT_EQUAL(v, 3);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 2);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t WHERE v = 'three'"), 1);
    sqldb_close(db);
}

static void test_sqldb_failing_migration_rolls_back(void)
{
    /* Step 3 inserts a row, then fails: the row must not survive. */
    const struct sqldb_migration bad[] = {
            migs[0],
            migs[1],
            {3, "INSERT INTO t (v) VALUES ('partial'); CREATE TABLE t (x INTEGER);"},
    };
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    int v = -1;
    int r;

    path_of(path, sizeof(path), "badmig.db");
    r = sqldb_open(path, bad, 3, &db, &eb);
    CU_ASSERT_EQUAL(r, -EIO);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "migration 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "already exists"));

    CU_ASSERT_FATAL(sqldb_open(path, migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_user_version(db, &v), 0);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t WHERE v = 'partial'"), 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 1);
    sqldb_close(db);
}

static void test_sqldb_refuses_newer_schema(void)
{
    const struct sqldb_migration gap[] = {migs[0], {3, "SELECT 1;"}};
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "newer.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 3, &db, &eb) == 0);
    sqldb_close(db);
    db = NULL;
    CU_ASSERT_EQUAL(sqldb_open(path, migs, 2, &db, &eb), -EPROTO);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL(
            strstr(eb.msg, "database schema version 3 is newer than this binary (2)"));
    CU_ASSERT_EQUAL(sqldb_open(path, gap, 2, &db, &eb), -EINVAL);
    CU_ASSERT_PTR_NULL(db);
}

static void test_sqldb_refuses_transaction_control_in_migration(void)
{
    const struct sqldb_migration txn[] = {
            migs[0],
            {2, "INSERT INTO t (v) VALUES ('early'); COMMIT; INSERT INTO t (v) VALUES ('late');"},
    };
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    int v = -1;

    path_of(path, sizeof(path), "txnmig.db");
    CU_ASSERT_EQUAL(sqldb_open(path, txn, 2, &db, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "transaction control"));
    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_user_version(db, &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    sqldb_close(db);
}

static void test_sqldb_transactions(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "txn.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_rollback(db), 0); /* nothing open: harmless */
    CU_ASSERT_EQUAL(sqldb_begin(db, &eb), 0);
    CU_ASSERT_EQUAL(
            sqldb_exec(db, "INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b')", &eb),
            0);
    CU_ASSERT_EQUAL(sqldb_commit(db, &eb), 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 2);

    CU_ASSERT_EQUAL(sqldb_begin(db, &eb), 0);
    CU_ASSERT_EQUAL(sqldb_exec(db, "INSERT INTO t (v) VALUES ('c')", &eb), 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 3);
    CU_ASSERT_EQUAL(sqldb_rollback(db), 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 2);
    CU_ASSERT_NOT_EQUAL(sqlite3_get_autocommit(sqldb_handle(db)), 0);

    CU_ASSERT_EQUAL(sqldb_commit(db, &eb), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "no transaction is active"));
    CU_ASSERT_EQUAL(sqldb_exec(db, "SELEC 1", &eb), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "syntax error"));
    sqldb_close(db);
}

static void test_sqldb_statement_cache(void)
{
    static const char insert[] = "INSERT INTO t (v) VALUES (?1)";
    char copy[sizeof(insert)];
    char value[32];
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    sqlite3_stmt *a = NULL;
    sqlite3_stmt *b = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "cache.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &db, &eb) == 0);
    memcpy(copy, insert, sizeof(insert));
    CU_ASSERT_FATAL(sqldb_prepare(db, insert, &a, &eb) == 0);
    CU_ASSERT_FATAL(sqldb_prepare(db, copy, &b, &eb) == 0); /* same text, other pointer */
    CU_ASSERT_PTR_EQUAL(a, b);

    for (int i = 0; i < 100; i++) {
        CU_ASSERT_FATAL(sqldb_prepare(db, insert, &a, &eb) == 0);
        CU_ASSERT_PTR_EQUAL(a, b);
        (void) snprintf(value, sizeof(value), "row-%d", i);
        CU_ASSERT_EQUAL(sqlite3_bind_text(a, 1, value, -1, SQLITE_TRANSIENT), SQLITE_OK);
        CU_ASSERT_EQUAL(sqldb_step_done(a, &eb), 0);
    }
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t"), 100);

    /* Bindings are cleared on the next prepare: v is NOT NULL, so the step must fail. */
    CU_ASSERT_EQUAL(sqlite3_bind_text(a, 1, "left-over", -1, SQLITE_STATIC), SQLITE_OK);
    CU_ASSERT_FATAL(sqldb_prepare(db, insert, &a, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_step_done(a, &eb), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "NOT NULL"));

    /* A half-read query is reset by the next prepare. */
    CU_ASSERT_FATAL(sqldb_prepare(db, "SELECT v FROM t ORDER BY id", &a, &eb) == 0);
    CU_ASSERT_EQUAL(sqlite3_step(a), SQLITE_ROW);
    CU_ASSERT_EQUAL(sqlite3_step(a), SQLITE_ROW);
    CU_ASSERT_FATAL(sqldb_prepare(db, "SELECT v FROM t ORDER BY id", &b, &eb) == 0);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_EQUAL(sqlite3_step(b), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *) sqlite3_column_text(b, 0), "row-0");
    CU_ASSERT_EQUAL(sqldb_step_done(b, &eb), -EINVAL); /* it returns rows */

    CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT 1; SELECT 2", &a, &eb), -EINVAL);
    CU_ASSERT_EQUAL(sqldb_prepare(db, "  ", &a, &eb), -EINVAL);
    CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT FROM WHERE", &a, &eb), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "syntax error"));
    CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT 1;  ", &a, &eb), 0); /* a trailing ';' is fine */
    sqldb_close(db);                                               /* finalizes all of them */
}

static void test_sqldb_cache_is_bounded(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX];
    char sql[64];
    int r = 0;
    int i;

    path_of(path, sizeof(path), "bounded.db");
    CU_ASSERT_FATAL(sqldb_open(path, NULL, 0, &db, &eb) == 0);
    for (i = 0; i < SQLDB_STMT_CACHE_MAX + 1 && r == 0; i++) {
        (void) snprintf(sql, sizeof(sql), "SELECT %d", i);
        r = sqldb_prepare(db, sql, &st, &eb);
    }
    CU_ASSERT_EQUAL(r, -ENOBUFS);
    CU_ASSERT_EQUAL(i, SQLDB_STMT_CACHE_MAX + 1);
    CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT 0", &st, &eb), 0); /* cached ones still work */
    sqldb_close(db);
}

static void test_sqldb_maps_constraint_errors(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "constraint.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 2, &db, &eb) == 0);
    CU_ASSERT_EQUAL(sqldb_exec(db, "INSERT INTO t (v) VALUES ('two')", &eb), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "UNIQUE constraint failed"));
    CU_ASSERT_FATAL(sqldb_prepare(db, "INSERT INTO c (t_id) VALUES (?)", &st, &eb) == 0);
    CU_ASSERT_EQUAL(sqlite3_bind_int(st, 1, 42), SQLITE_OK);
    CU_ASSERT_EQUAL(sqldb_step_done(st, &eb), -EEXIST); /* foreign_keys is on */
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "FOREIGN KEY"));
    CU_ASSERT_EQUAL(sqlite3_bind_int(st, 1, 1), SQLITE_OK);
    CU_ASSERT_EQUAL(sqldb_step_done(st, &eb), 0);
    sqldb_close(db);

    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_OK), 0);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_CONSTRAINT_PRIMARYKEY), -EEXIST);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_BUSY_SNAPSHOT), -EBUSY);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_LOCKED), -EBUSY);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_CORRUPT), -EBADMSG);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_FULL), -ENOSPC);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_CANTOPEN), -ENOENT);
    CU_ASSERT_EQUAL(sqldb_errno(SQLITE_IOERR_FSYNC), -EIO);
}

static void test_sqldb_corrupt_file(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    char garbage[4096];
    FILE *f;

    path_of(path, sizeof(path), "corrupt.db");
    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (char) (i * 7 + 3);
    }
    f = fopen(path, "we");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(fwrite(garbage, 1, sizeof(garbage), f), sizeof(garbage));
    CU_ASSERT_EQUAL(fclose(f), 0);
    CU_ASSERT_EQUAL(sqldb_open(path, migs, 2, &db, &eb), -EBADMSG);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "not a database"));
}

static void test_sqldb_cannot_open(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "missing-dir/x.db");
    CU_ASSERT_EQUAL(sqldb_open(path, migs, 1, &db, &eb), -ENOENT);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "unable to open"));
    CU_ASSERT_EQUAL(sqldb_open("", migs, 1, &db, &eb), -EINVAL);
}

/* A second writer times out with -EBUSY while the first holds BEGIN IMMEDIATE. */
static void test_sqldb_busy(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *one = NULL;
    struct sqldb *two = NULL;
    char path[PATH_MAX];

    path_of(path, sizeof(path), "busy.db");
    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &one, &eb) == 0);
    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &two, &eb) == 0);
    CU_ASSERT_EQUAL(sqlite3_busy_timeout(sqldb_handle(two), 50), SQLITE_OK);
    CU_ASSERT_EQUAL(sqldb_begin(one, &eb), 0);
    CU_ASSERT_EQUAL(sqldb_begin(two, &eb), -EBUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "locked"));
    CU_ASSERT_EQUAL(sqldb_rollback(one), 0);
    CU_ASSERT_EQUAL(sqldb_begin(two, &eb), 0);
    CU_ASSERT_EQUAL(sqldb_commit(two, &eb), 0);
    sqldb_close(one);
    sqldb_close(two);
}

/* Child: open, commit one row, then die by SIGKILL with no chance to close or checkpoint. */
static void durability_child(const char *path)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;

    if (sqldb_open(path, migs, 1, &db, &eb) < 0) {
        _exit(10);
    }
    if (sqldb_begin(db, &eb) < 0) {
        _exit(11);
    }
    if (sqldb_exec(db, "INSERT INTO t (v) VALUES ('survivor')", &eb) < 0) {
        _exit(12);
    }
    if (sqldb_commit(db, &eb) < 0) {
        _exit(13);
    }
    (void) kill(getpid(), SIGKILL);
    _exit(14);
}

/* Waits up to timeout_ms for pid; kills and reaps it when it overstays. 0 when it exited. */
static int wait_child(pid_t pid, int timeout_ms, int *ret_status)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, ret_status, WNOHANG);

        if (r == pid) {
            return 0;
        }
        if (r < 0) {
            return -errno;
        }
        (void) poll(NULL, 0, 10);
    }
    (void) kill(pid, SIGKILL);
    (void) waitpid(pid, ret_status, 0);
    return -ETIMEDOUT;
}

static void test_sqldb_commit_survives_kill(void)
{
    struct errbuf eb = {{0}};
    struct sqldb *db = NULL;
    char path[PATH_MAX];
    char wal[PATH_MAX];
    struct stat stw;
    int status = 0;
    pid_t pid;

    path_of(path, sizeof(path), "durable.db");
    path_of(wal, sizeof(wal), "durable.db-wal");
    /* Stdio buffers must not be flushed twice by the child. */
    (void) fflush(stdout);
    (void) fflush(stderr);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        durability_child(path);
    }
    CU_ASSERT_EQUAL(wait_child(pid, 20000, &status), 0);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (WIFEXITED(status)) {
        (void) fprintf(stderr, "child exited %d\n", WEXITSTATUS(status));
    }
    /* The row lives only in the WAL: nobody checkpointed. */
    CU_ASSERT_EQUAL(stat(wal, &stw), 0);
    CU_ASSERT(stw.st_size > 0);

    CU_ASSERT_FATAL(sqldb_open(path, migs, 1, &db, &eb) == 0);
    CU_ASSERT_EQUAL(query_int(db, "SELECT count(*) FROM t WHERE v = 'survivor'"), 1);
    sqldb_close(db);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"open sets durable pragmas", test_sqldb_open_sets_durable_pragmas},
            {"fds are cloexec", test_sqldb_fds_are_cloexec},
            {"migrations apply once", test_sqldb_migrations_apply_once},
            {"failing migration rolls back", test_sqldb_failing_migration_rolls_back},
            {"refuses newer schema", test_sqldb_refuses_newer_schema},
            {"transaction control in migration",
             test_sqldb_refuses_transaction_control_in_migration},
            {"transactions", test_sqldb_transactions},
            {"statement cache", test_sqldb_statement_cache},
            {"cache is bounded", test_sqldb_cache_is_bounded},
            {"maps constraint errors", test_sqldb_maps_constraint_errors},
            {"corrupt file", test_sqldb_corrupt_file},
            {"cannot open", test_sqldb_cannot_open},
            {"busy", test_sqldb_busy},
            {"commit survives kill -9", test_sqldb_commit_survives_kill},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("sqldb", tests, suite_init, suite_cleanup);
}

/*
 * arbiter/store.c
 *
 * Layer: edge (SQLite). Schema and statements of the arbiter's database. Each migration is
 * one numbered step applied once (PRAGMA user_version); later issues append steps, never
 * edit released ones.
 */
#include "arbiter/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/sqldb.h"
#include "common/str.h"

struct store {
    struct sqldb *db;
};

static const struct sqldb_migration store_migrations[] = {
        {1, "CREATE TABLE agents ("
            "  node TEXT PRIMARY KEY,"
            "  agent_id TEXT NOT NULL,"
            "  seq INTEGER NOT NULL,"
            "  last_seen_ms INTEGER NOT NULL,"
            "  instances INTEGER NOT NULL,"
            "  report TEXT NOT NULL"
            ");"},
};

static const char sql_agent_upsert[] =
        "INSERT INTO agents (node, agent_id, seq, last_seen_ms, instances, report) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT(node) DO UPDATE SET agent_id = excluded.agent_id, seq = excluded.seq, "
        "last_seen_ms = excluded.last_seen_ms, instances = excluded.instances, "
        "report = excluded.report";

static const char sql_agent_list[] =
        "SELECT node, agent_id, seq, last_seen_ms, instances FROM agents ORDER BY node";

int store_open(const char *path, struct store **ret, struct errbuf *eb)
{
    struct sqldb *db = NULL;
    struct store *st;
    int r;

    r = sqldb_open(path, store_migrations, sizeof(store_migrations) / sizeof(store_migrations[0]),
                   &db, eb);
    if (r < 0)
        return r;
    st = xcalloc(1, sizeof(*st));
    st->db = db;
    *ret = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqldb_close(st->db);
    free(st);
}

int store_agent_save(struct store *st, const struct store_agent *agent, const char *report_json,
                     struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r;

    r = sqldb_begin(st->db, eb);
    if (r < 0)
        return r;
    r = sqldb_prepare(st->db, sql_agent_upsert, &stmt, eb);
    if (r < 0)
        goto out;
    (void) sqlite3_bind_text(stmt, 1, agent->node, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 2, agent->agent_id, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 3, (sqlite3_int64) agent->seq);
    (void) sqlite3_bind_int64(stmt, 4, (sqlite3_int64) agent->last_seen_wall_ms);
    (void) sqlite3_bind_int64(stmt, 5, agent->instances);
    (void) sqlite3_bind_text(stmt, 6, report_json, -1, SQLITE_STATIC);
    r = sqldb_step_done(stmt, eb);
    if (r < 0)
        goto out;
    r = sqldb_commit(st->db, eb);
out:
    if (r < 0)
        (void) sqldb_rollback(st->db);
    return r;
}

int store_agent_list(struct store *st, struct store_agent **ret_agents, uint32_t *ret_n,
                     struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    struct store_agent *list = NULL;
    uint32_t n = 0, cap = 0;
    int r, rc;

    r = sqldb_prepare(st->db, sql_agent_list, &stmt, eb);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_agent *a;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = xrealloc(list, cap * sizeof(*list));
        }
        a = &list[n++];
        memset(a, 0, sizeof(*a));
        (void) str_copy(a->node, sizeof(a->node), (const char *) sqlite3_column_text(stmt, 0));
        (void) str_copy(a->agent_id, sizeof(a->agent_id),
                        (const char *) sqlite3_column_text(stmt, 1));
        a->seq = (uint64_t) sqlite3_column_int64(stmt, 2);
        a->last_seen_wall_ms = (uint64_t) sqlite3_column_int64(stmt, 3);
        a->instances = (uint32_t) sqlite3_column_int(stmt, 4);
    }
    if (rc != SQLITE_DONE) {
        errbuf_set(eb, "list agents: %s", sqlite3_errmsg(sqlite3_db_handle(stmt)));
        (void) sqlite3_reset(stmt);
        free(list);
        return -EIO;
    }
    (void) sqlite3_reset(stmt);
    *ret_agents = list;
    *ret_n = n;
    return 0;
}

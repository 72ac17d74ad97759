/*
 * arbiter/store.c
 *
 * Layer: edge (SQLite). Schema and statements of the arbiter's database. Each migration is
 * one numbered step applied once (PRAGMA user_version); later issues append steps, never
 * edit released ones. Name lists (synchronous sets) are stored as JSON arrays of text.
 */
#include "arbiter/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
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
        /* Issue 4: topology, assignments, history, desired states, backups catalogue. */
        {2, "CREATE TABLE clusters ("
            "  id INTEGER PRIMARY KEY,"
            "  namespace TEXT NOT NULL,"
            "  name TEXT NOT NULL,"
            "  spec TEXT NOT NULL,"
            "  generation INTEGER NOT NULL,"
            "  maintenance INTEGER NOT NULL,"
            "  epoch INTEGER NOT NULL DEFAULT 0,"
            "  primary_member TEXT NOT NULL DEFAULT '',"
            "  sync_num INTEGER NOT NULL DEFAULT 0,"
            "  sync_names TEXT NOT NULL DEFAULT '[]',"
            "  switchover_phase TEXT NOT NULL DEFAULT 'none',"
            "  switchover_target TEXT NOT NULL DEFAULT '',"
            "  switchover_started_ms INTEGER NOT NULL DEFAULT 0,"
            "  switchover_fence_lsn INTEGER NOT NULL DEFAULT 0,"
            "  primary_last_lsn INTEGER NOT NULL DEFAULT 0,"
            "  was_sync TEXT NOT NULL DEFAULT '[]',"
            "  password TEXT NOT NULL,"
            "  next_index INTEGER NOT NULL DEFAULT 0,"
            "  created_ms INTEGER NOT NULL,"
            "  updated_ms INTEGER NOT NULL,"
            "  UNIQUE (namespace, name)"
            ");"
            "CREATE TABLE member_names ("
            "  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,"
            "  seq INTEGER NOT NULL,"
            "  ip TEXT NOT NULL,"
            "  name TEXT NOT NULL,"
            "  PRIMARY KEY (cluster_id, ip),"
            "  UNIQUE (cluster_id, name)"
            ");"
            "CREATE TABLE members ("
            "  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,"
            "  name TEXT NOT NULL,"
            "  ord INTEGER NOT NULL,"
            "  node TEXT NOT NULL,"
            "  ip TEXT NOT NULL,"
            "  port INTEGER NOT NULL,"
            "  reported INTEGER NOT NULL DEFAULT 0,"
            "  PRIMARY KEY (cluster_id, name)"
            ");"
            "CREATE TABLE assignments ("
            "  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,"
            "  member TEXT NOT NULL,"
            "  epoch INTEGER NOT NULL,"
            "  role TEXT NOT NULL,"
            "  state TEXT NOT NULL,"
            "  upstream TEXT NOT NULL,"
            "  rebuild INTEGER NOT NULL,"
            "  PRIMARY KEY (cluster_id, member)"
            ");"
            "CREATE TABLE history ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,"
            "  time_ms INTEGER NOT NULL,"
            "  epoch INTEGER NOT NULL,"
            "  rule TEXT NOT NULL,"
            "  verdict TEXT NOT NULL,"
            "  reason TEXT NOT NULL,"
            "  primary_member TEXT NOT NULL"
            ");"
            "CREATE INDEX history_by_cluster ON history (cluster_id, id);"
            "CREATE TABLE desired ("
            "  node TEXT PRIMARY KEY,"
            "  generation INTEGER NOT NULL,"
            "  content TEXT NOT NULL"
            ");"
            "CREATE TABLE backups ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,"
            "  member TEXT NOT NULL,"
            "  kind TEXT NOT NULL,"
            "  state TEXT NOT NULL,"
            "  path TEXT NOT NULL,"
            "  started_ms INTEGER NOT NULL,"
            "  finished_ms INTEGER NOT NULL DEFAULT 0,"
            "  size_bytes INTEGER NOT NULL DEFAULT 0,"
            "  start_lsn INTEGER NOT NULL DEFAULT 0,"
            "  stop_lsn INTEGER NOT NULL DEFAULT 0,"
            "  message TEXT NOT NULL DEFAULT ''"
            ");"},
        /* A deleted cluster first orders its instances stopped; the row goes once they are. */
        {3, "ALTER TABLE clusters ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;"},
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION names the last migration");

/* ---- statements ---- */

static const char sql_agent_upsert[] =
        "INSERT INTO agents (node, agent_id, seq, last_seen_ms, instances, report) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT(node) DO UPDATE SET agent_id = excluded.agent_id, seq = excluded.seq, "
        "last_seen_ms = excluded.last_seen_ms, instances = excluded.instances, "
        "report = excluded.report";
static const char sql_agent_list[] =
        "SELECT node, agent_id, seq, last_seen_ms, instances FROM agents ORDER BY node";
static const char sql_agent_reports[] = "SELECT node, report FROM agents ORDER BY node";

static const char sql_cluster_insert[] =
        "INSERT INTO clusters (namespace, name, spec, generation, maintenance, password, "
        "next_index, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_cluster_spec[] =
        "UPDATE clusters SET spec = ?2, generation = ?3, maintenance = ?4, next_index = ?5, "
        "updated_ms = ?6 WHERE id = ?1";
static const char sql_cluster_delete[] = "DELETE FROM clusters WHERE id = ?1";
static const char sql_cluster_epoch[] =
        "UPDATE clusters SET epoch = ?2, primary_member = ?3 WHERE id = ?1";
static const char sql_cluster_state[] =
        "UPDATE clusters SET sync_num = ?2, sync_names = ?3, switchover_phase = ?4, "
        "switchover_target = ?5, switchover_started_ms = ?6, switchover_fence_lsn = ?7, "
        "primary_last_lsn = ?8, was_sync = ?9 WHERE id = ?1";
static const char sql_cluster_deleting[] = "UPDATE clusters SET deleting = 1 WHERE id = ?1";
static const char sql_cluster_observed[] =
        "UPDATE clusters SET primary_last_lsn = ?2, was_sync = ?3 WHERE id = ?1";
static const char sql_cluster_load[] =
        "SELECT id, namespace, name, spec, generation, epoch, primary_member, sync_num, "
        "sync_names, switchover_phase, switchover_target, switchover_started_ms, "
        "switchover_fence_lsn, primary_last_lsn, was_sync, password, next_index, created_ms, "
        "updated_ms, deleting FROM clusters ORDER BY namespace, name";

static const char sql_names_clear[] = "DELETE FROM member_names WHERE cluster_id = ?1";
static const char sql_names_insert[] =
        "INSERT INTO member_names (cluster_id, seq, ip, name) VALUES (?1, ?2, ?3, ?4)";
static const char sql_names_load[] =
        "SELECT ip, name FROM member_names WHERE cluster_id = ?1 ORDER BY seq";

static const char sql_members_clear[] = "DELETE FROM members WHERE cluster_id = ?1";
static const char sql_members_insert[] =
        "INSERT INTO members (cluster_id, name, ord, node, ip, port, reported) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_members_load[] =
        "SELECT m.name, m.ord, m.node, m.ip, m.port, m.reported, a.role, a.state, a.upstream, "
        "a.rebuild FROM members m LEFT JOIN assignments a "
        "ON a.cluster_id = m.cluster_id AND a.member = m.name "
        "WHERE m.cluster_id = ?1 ORDER BY m.ord";
static const char sql_member_reported[] =
        "UPDATE members SET reported = 1 WHERE cluster_id = ?1 AND name = ?2";

static const char sql_assign_upsert[] =
        "INSERT INTO assignments (cluster_id, member, epoch, role, state, upstream, rebuild) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(cluster_id, member) DO UPDATE SET "
        "epoch = excluded.epoch, role = excluded.role, state = excluded.state, "
        "upstream = excluded.upstream, rebuild = excluded.rebuild";
static const char sql_assign_prune[] =
        "DELETE FROM assignments WHERE cluster_id = ?1 AND member NOT IN "
        "(SELECT name FROM members WHERE cluster_id = ?1)";

static const char sql_history_insert[] =
        "INSERT INTO history (cluster_id, time_ms, epoch, rule, verdict, reason, primary_member) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_history_list[] =
        "SELECT time_ms, epoch, rule, verdict, reason, primary_member FROM history "
        "WHERE cluster_id = ?1 ORDER BY id DESC LIMIT ?2";

static const char sql_desired_upsert[] =
        "INSERT INTO desired (node, generation, content) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(node) DO UPDATE SET generation = excluded.generation, "
        "content = excluded.content";
static const char sql_desired_list[] = "SELECT node, generation, content FROM desired";

/* ---- helpers ---- */

static const char *col_text(sqlite3_stmt *stmt, int i)
{
    const char *s = (const char *) sqlite3_column_text(stmt, i);

    return s ? s : "";
}

static uint64_t col_u64(sqlite3_stmt *stmt, int i)
{
    return (uint64_t) sqlite3_column_int64(stmt, i);
}

/* A step that did not end in a row or SQLITE_DONE: maps the error and resets. */
static int store_step_error(sqlite3_stmt *stmt, int rc, const char *what, struct errbuf *eb)
{
    errbuf_set(eb, "%s: %s", what, sqlite3_errmsg(sqlite3_db_handle(stmt)));
    (void) sqlite3_reset(stmt);
    return sqldb_errno(rc) < 0 ? sqldb_errno(rc) : -EIO;
}

/* A name list as JSON text ["a","b"], owned by the caller. */
static char *store_names_text(const struct syncnames *s)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;

    for (uint32_t i = 0; i < s->n_names && i < PROTO_MAX_SYNC; i++) {
        json_add_str(arr, NULL, s->names[i]);
    }
    text = json_print(arr);
    cJSON_Delete(arr);
    return text;
}

/* Reads a name list written by store_names_text; bad text leaves an empty list. */
static void store_names_parse(const char *text, struct syncnames *ret)
{
    cJSON *arr = NULL;

    memset(ret, 0, sizeof(*ret));
    if (json_parse(text, strlen(text), 0, &arr, NULL) < 0 || !cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return;
    }
    for (const cJSON *c = arr->child; c && ret->n_names < PROTO_MAX_SYNC; c = c->next) {
        const char *s = cJSON_GetStringValue(c);
        if (s && str_is_dns_label(s)) {
            (void) str_copy(ret->names[ret->n_names++], sizeof(ret->names[0]), s);
        }
    }
    cJSON_Delete(arr);
}

/* ---- open, transactions ---- */

int store_open(const char *path, struct store **ret, struct errbuf *eb)
{
    struct sqldb *db = NULL;
    struct store *st;
    int r;

    r = sqldb_open(path, store_migrations, sizeof(store_migrations) / sizeof(store_migrations[0]),
                   &db, eb);
    if (r < 0) {
        return r;
    }
    st = xcalloc(1, sizeof(*st));
    st->db = db;
    *ret = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st) {
        return;
    }
    sqldb_close(st->db);
    free(st);
}

int store_begin(struct store *st, struct errbuf *eb)
{
    return sqldb_begin(st->db, eb);
}

int store_commit(struct store *st, struct errbuf *eb)
{
    int r = sqldb_commit(st->db, eb);

    if (r < 0) {
        (void) sqldb_rollback(st->db);
    }
    return r;
}

void store_rollback(struct store *st)
{
    (void) sqldb_rollback(st->db);
}

/* ---- agents ---- */

int store_agent_save(struct store *st, const struct store_agent *agent, const char *report_json,
                     struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_agent_upsert, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_text(stmt, 1, agent->node, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 2, agent->agent_id, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 3, (sqlite3_int64) agent->seq);
    (void) sqlite3_bind_int64(stmt, 4, (sqlite3_int64) agent->last_seen_wall_ms);
    (void) sqlite3_bind_int64(stmt, 5, agent->instances);
    (void) sqlite3_bind_text(stmt, 6, report_json, -1, SQLITE_STATIC);
    return sqldb_step_done(stmt, eb);
}

int store_agent_list(struct store *st, struct store_agent **ret_agents, uint32_t *ret_n,
                     struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    struct store_agent *list = NULL;
    uint32_t n = 0, cap = 0;
    int r, rc;

    r = sqldb_prepare(st->db, sql_agent_list, &stmt, eb);
    if (r < 0) {
        return r;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_agent *a;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = xrealloc(list, cap * sizeof(*list));
        }
        a = &list[n++];
        memset(a, 0, sizeof(*a));
        (void) str_copy(a->node, sizeof(a->node), col_text(stmt, 0));
        (void) str_copy(a->agent_id, sizeof(a->agent_id), col_text(stmt, 1));
        a->seq = col_u64(stmt, 2);
        a->last_seen_wall_ms = col_u64(stmt, 3);
        a->instances = (uint32_t) sqlite3_column_int(stmt, 4);
    }
    if (rc != SQLITE_DONE) {
        free(list);
        return store_step_error(stmt, rc, "list agents", eb);
    }
    (void) sqlite3_reset(stmt);
    *ret_agents = list;
    *ret_n = n;
    return 0;
}

int store_agent_reports(struct store *st, store_report_fn fn, void *data, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r, rc;

    r = sqldb_prepare(st->db, sql_agent_reports, &stmt, eb);
    if (r < 0) {
        return r;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn(data, col_text(stmt, 0), col_text(stmt, 1));
        if (r != 0) {
            (void) sqlite3_reset(stmt);
            return r;
        }
    }
    if (rc != SQLITE_DONE) {
        return store_step_error(stmt, rc, "list reports", eb);
    }
    (void) sqlite3_reset(stmt);
    return 0;
}

/* ---- clusters ---- */

static int store_names_write(struct store *st, const struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_names_clear, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    r = sqldb_step_done(stmt, eb);
    for (uint32_t i = 0; r == 0 && i < c->names.n; i++) {
        r = sqldb_prepare(st->db, sql_names_insert, &stmt, eb);
        if (r < 0) {
            return r;
        }
        (void) sqlite3_bind_int64(stmt, 1, c->id);
        (void) sqlite3_bind_int64(stmt, 2, i);
        (void) sqlite3_bind_text(stmt, 3, c->names.names[i].ip, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(stmt, 4, c->names.names[i].name, -1, SQLITE_STATIC);
        r = sqldb_step_done(stmt, eb);
    }
    return r;
}

static int store_members_write(struct store *st, const struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_members_clear, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    r = sqldb_step_done(stmt, eb);
    for (uint32_t i = 0; r == 0 && i < c->n_members; i++) {
        const struct cluster_member *m = &c->members[i];
        r = sqldb_prepare(st->db, sql_members_insert, &stmt, eb);
        if (r < 0) {
            return r;
        }
        (void) sqlite3_bind_int64(stmt, 1, c->id);
        (void) sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(stmt, 3, m->order);
        (void) sqlite3_bind_text(stmt, 4, m->node, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(stmt, 5, m->ip, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(stmt, 6, m->port);
        (void) sqlite3_bind_int(stmt, 7, m->reported);
        r = sqldb_step_done(stmt, eb);
    }
    if (r == 0) {
        r = sqldb_prepare(st->db, sql_assign_prune, &stmt, eb);
    }
    if (r == 0) {
        (void) sqlite3_bind_int64(stmt, 1, c->id);
        r = sqldb_step_done(stmt, eb);
    }
    return r;
}

int store_cluster_insert(struct store *st, struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_cluster_insert, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_text(stmt, 1, c->ns, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 2, c->name, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 3, c->spec_json, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 4, (sqlite3_int64) c->generation);
    (void) sqlite3_bind_int(stmt, 5, c->spec.maintenance);
    (void) sqlite3_bind_text(stmt, 6, c->password, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 7, c->names.next_index);
    (void) sqlite3_bind_int64(stmt, 8, (sqlite3_int64) c->created_wall_ms);
    (void) sqlite3_bind_int64(stmt, 9, (sqlite3_int64) c->updated_wall_ms);
    r = sqldb_step_done(stmt, eb);
    if (r < 0) {
        return r;
    }
    c->id = sqlite3_last_insert_rowid(sqldb_handle(st->db));
    r = store_names_write(st, c, eb);
    return r < 0 ? r : store_members_write(st, c, eb);
}

int store_cluster_update_spec(struct store *st, const struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_cluster_spec, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    (void) sqlite3_bind_text(stmt, 2, c->spec_json, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 3, (sqlite3_int64) c->generation);
    (void) sqlite3_bind_int(stmt, 4, c->spec.maintenance);
    (void) sqlite3_bind_int64(stmt, 5, c->names.next_index);
    (void) sqlite3_bind_int64(stmt, 6, (sqlite3_int64) c->updated_wall_ms);
    r = sqldb_step_done(stmt, eb);
    if (r == 0) {
        r = store_names_write(st, c, eb);
    }
    return r < 0 ? r : store_members_write(st, c, eb);
}

int store_cluster_delete(struct store *st, int64_t id, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_cluster_delete, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, id);
    return sqldb_step_done(stmt, eb);
}

static int store_assignments_write(struct store *st, const struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = 0;

    for (uint32_t i = 0; r == 0 && i < c->n_members; i++) {
        const struct cluster_member *m = &c->members[i];
        r = sqldb_prepare(st->db, sql_assign_upsert, &stmt, eb);
        if (r < 0) {
            return r;
        }
        (void) sqlite3_bind_int64(stmt, 1, c->id);
        (void) sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(stmt, 3, (sqlite3_int64) c->epoch);
        (void) sqlite3_bind_text(stmt, 4, proto_role_to_string(m->desired.role), -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(stmt, 5, proto_state_to_string(m->desired.state), -1,
                                 SQLITE_STATIC);
        (void) sqlite3_bind_text(stmt, 6, m->desired.upstream, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int(stmt, 7, m->desired.rebuild);
        r = sqldb_step_done(stmt, eb);
    }
    return r;
}

int store_cluster_decision(struct store *st, const struct cluster *c, uint64_t switchover_wall_ms,
                           struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    char *sync = NULL, *was = NULL;
    int r;

    /* The epoch first: nothing below is ever stored without the epoch it belongs to. */
    r = sqldb_prepare(st->db, sql_cluster_epoch, &stmt, eb);
    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    (void) sqlite3_bind_int64(stmt, 2, (sqlite3_int64) c->epoch);
    (void) sqlite3_bind_text(stmt, 3, c->primary, -1, SQLITE_STATIC);
    r = sqldb_step_done(stmt, eb);
    if (r == 0) {
        r = sqldb_prepare(st->db, sql_cluster_state, &stmt, eb);
    }
    if (r < 0) {
        return r;
    }
    sync = store_names_text(&c->sync);
    was = store_names_text(&c->was_sync);
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    (void) sqlite3_bind_int64(stmt, 2, c->sync.num);
    (void) sqlite3_bind_text(stmt, 3, sync, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 4, decide_switchover_phase_to_string(c->switchover.phase), -1,
                             SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 5, c->switchover.target, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 6, (sqlite3_int64) switchover_wall_ms);
    (void) sqlite3_bind_int64(stmt, 7, (sqlite3_int64) c->switchover.fence_lsn);
    (void) sqlite3_bind_int64(stmt, 8, (sqlite3_int64) c->primary_last_lsn);
    (void) sqlite3_bind_text(stmt, 9, was, -1, SQLITE_STATIC);
    r = sqldb_step_done(stmt, eb);
    free(sync);
    free(was);
    return r < 0 ? r : store_assignments_write(st, c, eb);
}

int store_cluster_set_deleting(struct store *st, int64_t id, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_cluster_deleting, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, id);
    return sqldb_step_done(stmt, eb);
}

int store_cluster_observed(struct store *st, const struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    char *was;
    int r = sqldb_prepare(st->db, sql_cluster_observed, &stmt, eb);

    if (r < 0) {
        return r;
    }
    was = store_names_text(&c->was_sync);
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    (void) sqlite3_bind_int64(stmt, 2, (sqlite3_int64) c->primary_last_lsn);
    (void) sqlite3_bind_text(stmt, 3, was, -1, SQLITE_STATIC);
    r = sqldb_step_done(stmt, eb);
    free(was);
    return r;
}

int store_member_reported(struct store *st, int64_t cluster_id, const char *member,
                          struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_member_reported, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, cluster_id);
    (void) sqlite3_bind_text(stmt, 2, member, -1, SQLITE_STATIC);
    return sqldb_step_done(stmt, eb);
}

/* The cluster row of the current step of sql_cluster_load; the spec is parsed after. */
static void store_cluster_row(sqlite3_stmt *stmt, struct cluster *c)
{
    enum decide_switchover_phase phase = DECIDE_SWITCHOVER_PHASE_NONE;

    c->id = sqlite3_column_int64(stmt, 0);
    (void) str_copy(c->ns, sizeof(c->ns), col_text(stmt, 1));
    (void) str_copy(c->name, sizeof(c->name), col_text(stmt, 2));
    c->spec_json = xstrdup(col_text(stmt, 3));
    c->generation = col_u64(stmt, 4);
    c->epoch = col_u64(stmt, 5);
    (void) str_copy(c->primary, sizeof(c->primary), col_text(stmt, 6));
    store_names_parse(col_text(stmt, 8), &c->sync);
    c->sync.num = (uint32_t) sqlite3_column_int(stmt, 7);
    if (c->sync.num > c->sync.n_names) {
        c->sync.num = c->sync.n_names;
    }
    (void) decide_switchover_phase_from_string(col_text(stmt, 9), &phase);
    c->switchover.phase = phase;
    (void) str_copy(c->switchover.target, sizeof(c->switchover.target), col_text(stmt, 10));
    c->switchover.started_ms = col_u64(stmt, 11); /* wall time: the caller converts */
    c->switchover.fence_lsn = col_u64(stmt, 12);
    c->primary_last_lsn = col_u64(stmt, 13);
    store_names_parse(col_text(stmt, 14), &c->was_sync);
    (void) str_copy(c->password, sizeof(c->password), col_text(stmt, 15));
    c->names.next_index = (uint32_t) sqlite3_column_int64(stmt, 16);
    c->created_wall_ms = col_u64(stmt, 17);
    c->updated_wall_ms = col_u64(stmt, 18);
    c->deleting = sqlite3_column_int(stmt, 19) != 0;
}

static int store_names_load(struct store *st, struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_names_load, &stmt, eb), rc;

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && c->names.n < SPEC_MAX_NAMES) {
        struct spec_name *n = &c->names.names[c->names.n++];
        (void) str_copy(n->ip, sizeof(n->ip), col_text(stmt, 0));
        (void) str_copy(n->name, sizeof(n->name), col_text(stmt, 1));
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        return store_step_error(stmt, rc, "load member names", eb);
    }
    (void) sqlite3_reset(stmt);
    return 0;
}

static void store_member_row(sqlite3_stmt *stmt, struct cluster_member *m)
{
    enum proto_role role = PROTO_ROLE_UNKNOWN;
    enum proto_state state = PROTO_STATE_UNKNOWN;

    memset(m, 0, sizeof(*m));
    (void) str_copy(m->name, sizeof(m->name), col_text(stmt, 0));
    m->order = (uint32_t) sqlite3_column_int(stmt, 1);
    (void) str_copy(m->node, sizeof(m->node), col_text(stmt, 2));
    (void) str_copy(m->ip, sizeof(m->ip), col_text(stmt, 3));
    m->port = (uint32_t) sqlite3_column_int(stmt, 4);
    m->reported = sqlite3_column_int(stmt, 5) != 0;
    (void) proto_role_from_string(col_text(stmt, 6), &role);
    (void) proto_state_from_string(col_text(stmt, 7), &state);
    m->assigned = role;
    (void) str_copy(m->desired.name, sizeof(m->desired.name), m->name);
    m->desired.role = role;
    m->desired.state = state;
    (void) str_copy(m->desired.upstream, sizeof(m->desired.upstream), col_text(stmt, 8));
    m->desired.rebuild = sqlite3_column_int(stmt, 9) != 0;
}

static int store_members_load(struct store *st, struct cluster *c, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_members_load, &stmt, eb), rc;

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, c->id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && c->n_members < DECIDE_MAX_MEMBERS) {
        store_member_row(stmt, &c->members[c->n_members++]);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        return store_step_error(stmt, rc, "load members", eb);
    }
    (void) sqlite3_reset(stmt);
    return 0;
}

/* Parses c's spec text and loads its names and members. */
static int store_cluster_complete(struct store *st, struct cluster *c, struct errbuf *eb)
{
    struct errbuf why = {{0}};
    int r = spec_parse(c->spec_json, strlen(c->spec_json), &c->spec, &why);

    if (r < 0) {
        errbuf_set(eb, "stored spec of %s/%s: %s", c->ns, c->name, why.msg);
        return -EBADMSG;
    }
    r = store_names_load(st, c, eb);
    return r < 0 ? r : store_members_load(st, c, eb);
}

int store_cluster_load_all(struct store *st, struct cluster ***ret, uint32_t *ret_n,
                           struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    struct cluster **list = NULL;
    uint32_t n = 0;
    int r = sqldb_prepare(st->db, sql_cluster_load, &stmt, eb), rc;

    if (r < 0) {
        return r;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct cluster *c = cluster_new();
        store_cluster_row(stmt, c);
        list = xrealloc(list, (n + 1) * sizeof(struct cluster *));
        list[n++] = c;
    }
    if (rc != SQLITE_DONE) {
        r = store_step_error(stmt, rc, "load clusters", eb);
        goto fail;
    }
    (void) sqlite3_reset(stmt);
    for (uint32_t i = 0; i < n; i++) {
        r = store_cluster_complete(st, list[i], eb);
        if (r < 0) {
            goto fail;
        }
    }
    *ret = list;
    *ret_n = n;
    return 0;
fail:
    for (uint32_t i = 0; i < n; i++) {
        cluster_free(list[i]);
    }
    free(list);
    return r;
}

/* ---- history ---- */

int store_history_add(struct store *st, int64_t cluster_id, const struct store_history *h,
                      struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_history_insert, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, cluster_id);
    (void) sqlite3_bind_int64(stmt, 2, (sqlite3_int64) h->time_wall_ms);
    (void) sqlite3_bind_int64(stmt, 3, (sqlite3_int64) h->epoch);
    (void) sqlite3_bind_text(stmt, 4, h->rule, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 5, h->verdict, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 6, h->reason, -1, SQLITE_STATIC);
    (void) sqlite3_bind_text(stmt, 7, h->primary, -1, SQLITE_STATIC);
    return sqldb_step_done(stmt, eb);
}

int store_history_list(struct store *st, int64_t cluster_id, uint32_t limit,
                       struct store_history **ret, uint32_t *ret_n, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    struct store_history *list = NULL;
    uint32_t n = 0;
    int r = sqldb_prepare(st->db, sql_history_list, &stmt, eb), rc;

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_int64(stmt, 1, cluster_id);
    (void) sqlite3_bind_int64(stmt, 2, limit);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_history *h;
        list = xrealloc(list, (n + 1) * sizeof(*list));
        h = &list[n++];
        memset(h, 0, sizeof(*h));
        h->time_wall_ms = col_u64(stmt, 0);
        h->epoch = col_u64(stmt, 1);
        (void) str_copy(h->rule, sizeof(h->rule), col_text(stmt, 2));
        (void) str_copy(h->verdict, sizeof(h->verdict), col_text(stmt, 3));
        (void) str_copy(h->reason, sizeof(h->reason), col_text(stmt, 4));
        (void) str_copy(h->primary, sizeof(h->primary), col_text(stmt, 5));
    }
    if (rc != SQLITE_DONE) {
        free(list);
        return store_step_error(stmt, rc, "list history", eb);
    }
    (void) sqlite3_reset(stmt);
    *ret = list;
    *ret_n = n;
    return 0;
}

/* ---- desired states ---- */

int store_desired_save(struct store *st, const char *node, uint64_t generation, const char *content,
                       struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_desired_upsert, &stmt, eb);

    if (r < 0) {
        return r;
    }
    (void) sqlite3_bind_text(stmt, 1, node, -1, SQLITE_STATIC);
    (void) sqlite3_bind_int64(stmt, 2, (sqlite3_int64) generation);
    (void) sqlite3_bind_text(stmt, 3, content, -1, SQLITE_STATIC);
    return sqldb_step_done(stmt, eb);
}

int store_desired_list(struct store *st, store_desired_fn fn, void *data, struct errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    int r = sqldb_prepare(st->db, sql_desired_list, &stmt, eb), rc;

    if (r < 0) {
        return r;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn(data, col_text(stmt, 0), col_u64(stmt, 1), col_text(stmt, 2));
        if (r != 0) {
            (void) sqlite3_reset(stmt);
            return r;
        }
    }
    if (rc != SQLITE_DONE) {
        return store_step_error(stmt, rc, "list desired states", eb);
    }
    (void) sqlite3_reset(stmt);
    return 0;
}

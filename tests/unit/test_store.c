/*
 * tests/unit/test_store.c
 *
 * arbiter/store on real SQLite files: the migrations (a fresh file and a version-1 file
 * from the heartbeat issue), and everything the arbiter must find again after a restart:
 * clusters with spec, password, name map, members and `reported`; the decision state
 * (epoch, primary, synchronous set, switchover, the primary's view, assignments); history;
 * desired states. A rolled-back decision leaves nothing behind; a delete cascades.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/cluster.h"
#include "arbiter/spec.h"
#include "arbiter/store.h"
#include "common/mem.h"
#include "common/str.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

static char tmpdir[512];
static char db_path[600];

static const char spec3[] =
        "{\"iplist\":[{\"ip\":\"127.0.0.1\",\"nodename\":\"node1\"},{\"ip\":\"127.0.0.2\","
        "\"nodename\":\"node2\"},{\"ip\":\"127.0.0.3\",\"nodename\":\"node3\"}],"
        "\"ha\":{\"losttimeout\":2}}";

static int sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A cluster default/demo of spec3 as world_cmd_put would build it. */
static struct cluster *demo_cluster(void)
{
    struct cluster *c = cluster_new();
    char names[SPEC_MAX_MEMBERS][PROTO_NAME_MAX + 1];
    struct errbuf eb = {{0}};

    (void) str_copy(c->ns, sizeof(c->ns), "default");
    (void) str_copy(c->name, sizeof(c->name), "demo");
    c->spec_json = xstrdup(spec3);
    CU_ASSERT_FATAL(spec_parse(spec3, strlen(spec3), &c->spec, &eb) == 0);
    CU_ASSERT_FATAL(spec_names_assign("demo", &c->spec, &c->names, names, &eb) == 0);
    cluster_set_members(c, &c->spec, names);
    c->generation = 1;
    c->created_wall_ms = c->updated_wall_ms = 1700000000000ULL;
    (void) str_copy(c->password, sizeof(c->password), "s3cret");
    return c;
}

/* Epoch 3, primary demo-1, ANY 1 (demo-0, demo-2), a switchover to demo-2 in catch-up. */
static void demo_decision(struct cluster *c)
{
    c->epoch = 3;
    (void) str_copy(c->primary, sizeof(c->primary), "demo-1");
    memset(&c->sync, 0, sizeof(c->sync));
    c->sync.num = 1;
    c->sync.n_names = 2;
    (void) str_copy(c->sync.names[0], sizeof(c->sync.names[0]), "demo-0");
    (void) str_copy(c->sync.names[1], sizeof(c->sync.names[1]), "demo-2");
    c->switchover.phase = DECIDE_SWITCHOVER_PHASE_CATCHUP;
    (void) str_copy(c->switchover.target, sizeof(c->switchover.target), "demo-2");
    c->switchover.fence_lsn = 0x3000060;
    c->primary_last_lsn = 0x3000060;
    memset(&c->was_sync, 0, sizeof(c->was_sync));
    c->was_sync.n_names = 1;
    (void) str_copy(c->was_sync.names[0], sizeof(c->was_sync.names[0]), "demo-2");
    for (uint32_t i = 0; i < c->n_members; i++) {
        struct cluster_member *m = &c->members[i];
        bool p = i == 1;
        m->assigned = p ? PROTO_ROLE_PRIMARY : PROTO_ROLE_STANDBY;
        m->desired.role = m->assigned;
        m->desired.state = p ? PROTO_STATE_FENCED : PROTO_STATE_RUNNING;
        (void) str_copy(m->desired.upstream, sizeof(m->desired.upstream), p ? "" : "demo-1");
        m->desired.rebuild = i == 0;
    }
}

static int desired_cb(void *data, const char *node, uint64_t generation, const char *content)
{
    int *count = data;

    CU_ASSERT_STRING_EQUAL(node, "node1");
    CU_ASSERT_EQUAL(generation, 7);
    CU_ASSERT_STRING_EQUAL(content, "{\"x\":1}");
    (*count)++;
    return 0;
}

static void test_store_fresh_schema(void)
{
    struct store *st = NULL;
    struct errbuf eb = {{0}};
    char path[700];

    (void) snprintf(path, sizeof(path), "%s/fresh.db", tmpdir);
    CU_ASSERT_EQUAL_FATAL(store_open(path, &st, &eb), 0);
    store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                  "name IN ('agents', 'clusters', 'members', 'member_names', "
                                  "'assignments', 'history', 'desired', 'backups')"),
                    8);
    /* Opening again applies nothing twice. */
    CU_ASSERT_EQUAL_FATAL(store_open(path, &st, &eb), 0);
    store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void test_store_migrates_version_1(void)
{
    struct store *st = NULL;
    struct store_agent *agents = NULL;
    uint32_t n = 0;
    struct errbuf eb = {{0}};
    sqlite3 *db = NULL;
    char path[700];

    (void) snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_exec(db,
                                 "CREATE TABLE agents (node TEXT PRIMARY KEY, agent_id TEXT NOT "
                                 "NULL, seq INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, "
                                 "instances INTEGER NOT NULL, report TEXT NOT NULL);"
                                 "INSERT INTO agents VALUES ('node1', 'a1', 5, 1, 0, '{}');"
                                 "PRAGMA user_version = 1;",
                                 NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CU_ASSERT_EQUAL_FATAL(store_open(path, &st, &eb), 0);
    CU_ASSERT_EQUAL(store_agent_list(st, &agents, &n, &eb), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT(n == 1 && str_eq(agents[0].node, "node1") && agents[0].seq == 5);
    free(agents);
    store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void write_all(struct store *st, struct cluster *c)
{
    struct store_history h = {.time_wall_ms = 1700000000500ULL, .epoch = 3};
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(store_begin(st, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(store_cluster_insert(st, c, &eb), 0);
    CU_ASSERT(c->id > 0);
    CU_ASSERT_EQUAL(store_history_add(st, c->id, &h, &eb), 0); /* first row: epoch 3, "" */
    CU_ASSERT_EQUAL_FATAL(store_commit(st, &eb), 0);

    demo_decision(c);
    CU_ASSERT_EQUAL_FATAL(store_begin(st, &eb), 0);
    CU_ASSERT_EQUAL(store_cluster_decision(st, c, 1700000000000ULL, &eb), 0);
    (void) str_copy(h.rule, sizeof(h.rule), "R17");
    (void) str_copy(h.verdict, sizeof(h.verdict), "failover");
    (void) str_copy(h.reason, sizeof(h.reason), "primary demo-0 failed; promoting demo-1");
    (void) str_copy(h.primary, sizeof(h.primary), "demo-1");
    h.time_wall_ms++;
    CU_ASSERT_EQUAL(store_history_add(st, c->id, &h, &eb), 0);
    CU_ASSERT_EQUAL(store_member_reported(st, c->id, "demo-2", &eb), 0);
    CU_ASSERT_EQUAL(store_desired_save(st, "node1", 7, "{\"x\":1}", &eb), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(st, &eb), 0);
}

static void check_loaded(const struct cluster *c)
{
    CU_ASSERT_STRING_EQUAL(c->ns, "default");
    CU_ASSERT_STRING_EQUAL(c->name, "demo");
    CU_ASSERT_STRING_EQUAL(c->spec_json, spec3);
    CU_ASSERT_EQUAL(c->spec.ha.lost_timeout_ms, 2000);
    CU_ASSERT_EQUAL(c->generation, 1);
    CU_ASSERT_STRING_EQUAL(c->password, "s3cret");
    CU_ASSERT_EQUAL(c->epoch, 3);
    CU_ASSERT_STRING_EQUAL(c->primary, "demo-1");
    CU_ASSERT_EQUAL(c->sync.num, 1);
    CU_ASSERT_EQUAL(c->sync.n_names, 2);
    CU_ASSERT_STRING_EQUAL(c->sync.names[1], "demo-2");
    CU_ASSERT_EQUAL(c->switchover.phase, DECIDE_SWITCHOVER_PHASE_CATCHUP);
    CU_ASSERT_STRING_EQUAL(c->switchover.target, "demo-2");
    CU_ASSERT_EQUAL(c->switchover.started_ms, 1700000000000ULL); /* wall: the caller converts */
    CU_ASSERT_EQUAL(c->switchover.fence_lsn, 0x3000060);
    CU_ASSERT_EQUAL(c->primary_last_lsn, 0x3000060);
    CU_ASSERT_EQUAL(c->was_sync.n_names, 1);
    CU_ASSERT_EQUAL(c->names.n, 3);
    CU_ASSERT_EQUAL(c->names.next_index, 3);
    CU_ASSERT_STRING_EQUAL(c->names.names[2].ip, "127.0.0.3");
    CU_ASSERT_EQUAL_FATAL(c->n_members, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const struct cluster_member *m = &c->members[i];
        CU_ASSERT_EQUAL(m->order, i);
        CU_ASSERT_EQUAL(m->port, 5432);
        CU_ASSERT_EQUAL(m->reported, i == 2);
        CU_ASSERT_EQUAL(m->assigned, i == 1 ? PROTO_ROLE_PRIMARY : PROTO_ROLE_STANDBY);
        CU_ASSERT_EQUAL(m->desired.state, i == 1 ? PROTO_STATE_FENCED : PROTO_STATE_RUNNING);
        CU_ASSERT_STRING_EQUAL(m->desired.upstream, i == 1 ? "" : "demo-1");
        CU_ASSERT_EQUAL(m->desired.rebuild, i == 0);
    }
    CU_ASSERT_STRING_EQUAL(c->members[2].name, "demo-2");
    CU_ASSERT_STRING_EQUAL(c->members[2].node, "node3");
}

static void test_store_survives_reopen(void)
{
    struct store *st = NULL;
    struct cluster *c = demo_cluster(), **list = NULL;
    struct store_history *h = NULL;
    uint32_t n = 0;
    struct errbuf eb = {{0}};
    int count = 0;

    CU_ASSERT_EQUAL_FATAL(store_open(db_path, &st, &eb), 0);
    write_all(st, c);
    store_close(st);
    cluster_free(c);

    CU_ASSERT_EQUAL_FATAL(store_open(db_path, &st, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(store_cluster_load_all(st, &list, &n, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    check_loaded(list[0]);
    CU_ASSERT_EQUAL(store_history_list(st, list[0]->id, 10, &h, &n, &eb), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(n == 2 && str_eq(h[0].rule, "R17") && h[0].epoch == 3 &&
              str_eq(h[0].primary, "demo-1") && h[1].rule[0] == '\0'); /* newest first */
    free(h);
    CU_ASSERT_EQUAL(store_history_list(st, list[0]->id, 1, &h, &n, &eb), 0);
    CU_ASSERT_EQUAL(n, 1);
    free(h);
    CU_ASSERT_EQUAL(store_desired_list(st, desired_cb, &count, &eb), 0);
    CU_ASSERT_EQUAL(count, 1);
    /* The same (namespace, name) twice is refused. */
    c = demo_cluster();
    CU_ASSERT_EQUAL(store_begin(st, &eb), 0);
    CU_ASSERT_EQUAL(store_cluster_insert(st, c, &eb), -EEXIST);
    store_rollback(st);
    cluster_free(c);
    cluster_free(list[0]);
    free(list);
    store_close(st);
}

static void test_store_rollback_and_delete(void)
{
    struct store *st = NULL;
    struct cluster **list = NULL;
    struct store_history *h = NULL;
    uint32_t n = 0;
    struct errbuf eb = {{0}};
    int64_t id;

    CU_ASSERT_EQUAL_FATAL(store_open(db_path, &st, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(store_cluster_load_all(st, &list, &n, &eb), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    /* A decision that never commits is not there after a reopen. */
    list[0]->epoch = 9;
    (void) str_copy(list[0]->primary, sizeof(list[0]->primary), "demo-0");
    CU_ASSERT_EQUAL(store_begin(st, &eb), 0);
    CU_ASSERT_EQUAL(store_cluster_decision(st, list[0], 0, &eb), 0);
    store_rollback(st);
    id = list[0]->id;
    cluster_free(list[0]);
    free(list);
    store_close(st);
    CU_ASSERT_EQUAL(sql_int(db_path, "SELECT epoch FROM clusters"), 3);

    CU_ASSERT_EQUAL_FATAL(store_open(db_path, &st, &eb), 0);
    CU_ASSERT_EQUAL(store_begin(st, &eb), 0);
    CU_ASSERT_EQUAL(store_cluster_delete(st, id, &eb), 0);
    CU_ASSERT_EQUAL(store_commit(st, &eb), 0);
    CU_ASSERT_EQUAL(store_history_list(st, id, 10, &h, &n, &eb), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(h);
    store_close(st);
    CU_ASSERT_EQUAL(sql_int(db_path, "SELECT count(*) FROM members"), 0);
    CU_ASSERT_EQUAL(sql_int(db_path, "SELECT count(*) FROM assignments"), 0);
    CU_ASSERT_EQUAL(sql_int(db_path, "SELECT count(*) FROM member_names"), 0);
}

static int suite_init(void)
{
    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return -1;
    }
    (void) snprintf(db_path, sizeof(db_path), "%s/arbiter.db", tmpdir);
    return 0;
}

static int suite_cleanup(void)
{
    if (getenv("OG_TEST_KEEP") == NULL) {
        (void) tu_rmtree(tmpdir);
    }
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"fresh schema", test_store_fresh_schema},
            {"migrates a version-1 file", test_store_migrates_version_1},
            {"state survives a reopen", test_store_survives_reopen},
            {"rollback and delete", test_store_rollback_and_delete},
            CU_TEST_INFO_NULL,
    };

    return cu_run_with("store", tests, suite_init, suite_cleanup);
}

/*
 * agent/probe.c
 *
 * One health probe of one instance with libpq's asynchronous API, bounded as a whole by a
 * monotonic deadline: PQconnectStartParams + PQconnectPoll and PQsendQuery + PQconsumeInput,
 * each wait a poll() on PQsocket for no longer than what is left. connect_timeout, keepalives
 * (pg_auto_failover defaults.h: 5 s idle, 2 s x 3), tcp_user_timeout and statement_timeout
 * are set as well, as a second line; the deadline is what guarantees the agent's tick.
 *
 * Down or hung: a refused connection, or no TCP answer at all, is "down"; a connection that
 * was made (the kernel completes the handshake for a frozen postmaster) but got no answer by
 * the deadline is "hung".
 *
 * Layer: edge (libpq).
 */
#include "agent/probe.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/str.h"

/*
 * PostgreSQL 15. Timeline: on a primary the current WAL file's name (its first 8 hex digits
 * are the insert timeline, right after promotion) — pg_control_checkpoint() would lag until
 * the next checkpoint. On a standby the WAL receiver's received_tli while it streams, else
 * the last restartpoint's timeline from pg_control_checkpoint() (possibly stale, the best
 * SQL offers). One round trip: two statements, two results.
 */
static const char probe_sql_pg[] =
        "SELECT pg_is_in_recovery(),"
        " (SELECT system_identifier FROM pg_control_system()),"
        " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END,"
        " pg_last_wal_receive_lsn(),"
        " pg_last_wal_replay_lsn(),"
        " CASE WHEN pg_is_in_recovery() THEN NULL"
        "  ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END,"
        " CASE WHEN pg_is_in_recovery() THEN COALESCE("
        "  (SELECT received_tli FROM pg_stat_wal_receiver),"
        "  (SELECT timeline_id FROM pg_control_checkpoint())) END,"
        " (SELECT status = 'streaming' FROM pg_stat_wal_receiver),"
        " current_setting('synchronous_standby_names'),"
        " NULL::text, NULL::text, NULL::text;"
        "SELECT application_name, client_addr, state, sync_state, sent_lsn, flush_lsn, replay_lsn,"
        " GREATEST(0, (EXTRACT(EPOCH FROM clock_timestamp() - reply_time) * 1000))::bigint"
        " FROM pg_stat_replication ORDER BY application_name LIMIT 32";

/*
 * openGauss (STYLE.md domain notes; not runnable here): gs_ctl query's own functions, the
 * 9.x names of the WAL functions (pg_current_xlog_location returns text), and
 * pg_stat_replication's openGauss columns (sender_sent_location, receiver_*_location).
 */
static const char probe_sql_og[] =
        "SELECT pg_is_in_recovery(),"
        " (SELECT system_identifier FROM pg_control_system()),"
        " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_xlog_location() END,"
        " (SELECT receiver_received_location FROM pg_stat_get_wal_receiver()),"
        " (SELECT receiver_replay_location FROM pg_stat_get_wal_receiver()),"
        " CASE WHEN pg_is_in_recovery() THEN NULL"
        "  ELSE substr(pg_xlogfile_name(pg_current_xlog_location()), 1, 8) END,"
        " CASE WHEN pg_is_in_recovery() THEN"
        "  (SELECT timeline_id FROM pg_control_checkpoint()) END,"
        " (SELECT peer_state = 'Normal' FROM pg_stat_get_wal_receiver()),"
        " current_setting('synchronous_standby_names'),"
        " (SELECT local_role FROM pg_stat_get_stream_replications()),"
        " (SELECT db_state FROM pg_stat_get_stream_replications()),"
        " (SELECT detail_information FROM pg_stat_get_stream_replications());"
        "SELECT application_name, client_addr, state, sync_state, sender_sent_location,"
        " receiver_flush_location, receiver_replay_location, NULL::bigint"
        " FROM pg_stat_replication ORDER BY application_name LIMIT 32";

enum probe_col {
    PROBE_COL_IN_RECOVERY = 0,
    PROBE_COL_SYSTEM_ID,
    PROBE_COL_CURRENT_LSN,
    PROBE_COL_RECEIVED_LSN,
    PROBE_COL_REPLAYED_LSN,
    PROBE_COL_TLI_HEX,
    PROBE_COL_TLI_DEC,
    PROBE_COL_RECEIVING,
    PROBE_COL_SYNC_NAMES,
    PROBE_COL_LOCAL_ROLE,
    PROBE_COL_DB_STATE,
    PROBE_COL_DETAIL,
    _PROBE_COL_MAX
};

const char *probe_sql(enum engine_kind kind)
{
    return kind == ENGINE_KIND_OPENGAUSS ? probe_sql_og : probe_sql_pg;
}

static uint64_t probe_now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Waits until conn's socket is readable (or writable) or the deadline: 1, 0 (deadline), -errno. */
static int probe_wait(PGconn *conn, bool write, uint64_t deadline_ms)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = write ? POLLOUT : POLLIN};

    if (p.fd < 0) {
        return -EBADF;
    }
    for (;;) {
        uint64_t now = probe_now_ms();
        int r;

        if (now >= deadline_ms) {
            return 0;
        }
        r = poll(&p, 1, (int) (deadline_ms - now));
        if (r > 0) {
            return 1;
        }
        if (r == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

/* Copies libpq's message (one line) into eb. */
static void probe_error(struct errbuf *eb, const char *what, PGconn *conn)
{
    char msg[ERRBUF_SIZE];

    (void) str_copy(msg, sizeof(msg), conn ? PQerrorMessage(conn) : "out of memory");
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    for (size_t n = strlen(msg); n > 0 && msg[n - 1] == ' '; n--) {
        msg[n - 1] = '\0';
    }
    errbuf_set(eb, "%s: %s", what, msg);
}

/* A failed connection: refused, auth, or the server saying it cannot take connections now. */
static int probe_classify_failure(PGconn *conn, struct errbuf *eb)
{
    const char *m = PQerrorMessage(conn);

    probe_error(eb, "connect", conn);
    if (strstr(m, "starting up") || strstr(m, "shutting down") ||
        strstr(m, "not yet accepting connections") || strstr(m, "in recovery mode")) {
        return -EAGAIN;
    }
    if (strstr(m, "authentication failed") || strstr(m, "no pg_hba.conf entry") ||
        strstr(m, "password")) {
        return -EACCES;
    }
    return -ECONNREFUSED;
}

static PGconn *probe_start(const struct engine_instance *inst, uint64_t budget_ms)
{
    char port[16], connect_timeout[16], user_timeout[24], options[64];
    uint64_t secs = (budget_ms + 999) / 1000;
    const char *keys[] = {"hostaddr",
                          "port",
                          "user",
                          "password",
                          "dbname",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "options",
                          "application_name",
                          "gssencmode",
                          NULL};
    const char *values[] = {inst->ip,
                            port,
                            inst->superuser,
                            inst->password,
                            "postgres",
                            connect_timeout,
                            "1",
                            "5",
                            "2",
                            "3",
                            user_timeout,
                            options,
                            "og-agent-probe",
                            "disable",
                            NULL};

    (void) snprintf(port, sizeof(port), "%u", inst->port);
    /* libpq treats connect_timeout below 2 s as 2 s. */
    (void) snprintf(connect_timeout, sizeof(connect_timeout), "%llu",
                    (unsigned long long) (secs < 2 ? 2 : secs));
    (void) snprintf(user_timeout, sizeof(user_timeout), "%llu", (unsigned long long) budget_ms);
    (void) snprintf(options, sizeof(options), "-c statement_timeout=%llu",
                    (unsigned long long) budget_ms);
    return PQconnectStartParams(keys, values, 0);
}

/* Connects within the deadline. 0, or the probe_instance error with res->hung set. */
static int probe_connect(PGconn *conn, uint64_t deadline_ms, struct probe_result *res,
                         struct errbuf *eb)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    if (!conn || PQstatus(conn) == CONNECTION_BAD) {
        return conn ? probe_classify_failure(conn, eb) : -ENOMEM;
    }
    while (st != PGRES_POLLING_OK) {
        int w;

        if (st == PGRES_POLLING_FAILED) {
            return probe_classify_failure(conn, eb);
        }
        w = probe_wait(conn, st == PGRES_POLLING_WRITING, deadline_ms);
        if (w == 0) {
            /* Still waiting for the TCP handshake: nobody there. Past it: frozen. */
            if (PQstatus(conn) == CONNECTION_STARTED) {
                errbuf_set(eb, "connect: no TCP answer within the probe budget");
                return -ECONNREFUSED;
            }
            res->hung = true;
            errbuf_set(eb, "connect: connected but no answer within the probe budget");
            return -ETIMEDOUT;
        }
        if (w < 0) {
            errbuf_set(eb, "connect: poll: %s", strerror(-w));
            return w;
        }
        st = PQconnectPoll(conn);
    }
    return 0;
}

static bool probe_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static uint64_t probe_lsn(const PGresult *r, int row, int col)
{
    uint64_t lsn = 0;

    if (!PQgetisnull(r, row, col)) {
        (void) str_parse_lsn(PQgetvalue(r, row, col), &lsn);
    }
    return lsn;
}

static void probe_text(const PGresult *r, int row, int col, char *buf, size_t size)
{
    (void) str_copy(buf, size, PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static void probe_read_scalars(const PGresult *r, struct probe_result *res)
{
    int64_t sysid = 0;
    uint32_t tli = 0;

    res->in_recovery = probe_bool(r, 0, PROBE_COL_IN_RECOVERY);
    /* system_identifier is unsigned in pg_control and shown as a signed bigint. */
    if (str_to_i64(PQgetvalue(r, 0, PROBE_COL_SYSTEM_ID), INT64_MIN, INT64_MAX, &sysid) == 0) {
        res->system_id = (uint64_t) sysid;
    }
    res->current_lsn = probe_lsn(r, 0, PROBE_COL_CURRENT_LSN);
    res->received_lsn = probe_lsn(r, 0, PROBE_COL_RECEIVED_LSN);
    res->replayed_lsn = probe_lsn(r, 0, PROBE_COL_REPLAYED_LSN);
    if (!PQgetisnull(r, 0, PROBE_COL_TLI_HEX)) {
        char *end = NULL;
        unsigned long v = strtoul(PQgetvalue(r, 0, PROBE_COL_TLI_HEX), &end, 16);
        if (end && *end == '\0' && v <= UINT32_MAX) {
            res->timeline = (uint32_t) v;
        }
    } else if (!PQgetisnull(r, 0, PROBE_COL_TLI_DEC) &&
               str_to_u32(PQgetvalue(r, 0, PROBE_COL_TLI_DEC), 0, UINT32_MAX, &tli) == 0) {
        res->timeline = tli;
    }
    res->receiving = probe_bool(r, 0, PROBE_COL_RECEIVING);
    probe_text(r, 0, PROBE_COL_SYNC_NAMES, res->sync_standby_names,
               sizeof(res->sync_standby_names));
    probe_text(r, 0, PROBE_COL_LOCAL_ROLE, res->local_role, sizeof(res->local_role));
    probe_text(r, 0, PROBE_COL_DB_STATE, res->db_state, sizeof(res->db_state));
    probe_text(r, 0, PROBE_COL_DETAIL, res->detail, sizeof(res->detail));
}

static void probe_read_replicas(const PGresult *r, struct probe_result *res)
{
    int rows = PQntuples(r);

    for (int i = 0; i < rows && res->n_replicas < PROTO_MAX_REPLICAS; i++) {
        struct probe_replica *rp = &res->replicas[res->n_replicas++];
        char low[32];

        probe_text(r, i, 0, rp->application_name, sizeof(rp->application_name));
        probe_text(r, i, 1, rp->client_addr, sizeof(rp->client_addr));
        /* openGauss capitalises ("Streaming", "Sync"); PostgreSQL does not. */
        probe_text(r, i, 2, low, sizeof(low));
        for (char *p = low; *p; p++) {
            *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
        (void) proto_repl_state_from_string(low, &rp->state);
        probe_text(r, i, 3, low, sizeof(low));
        for (char *p = low; *p; p++) {
            *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
        (void) proto_sync_state_from_string(low, &rp->sync_state);
        rp->sent_lsn = probe_lsn(r, i, 4);
        rp->flush_lsn = probe_lsn(r, i, 5);
        rp->replay_lsn = probe_lsn(r, i, 6);
        if (PQnfields(r) > 7 && !PQgetisnull(r, i, 7) &&
            str_to_u64(PQgetvalue(r, i, 7), 0, UINT64_MAX, &rp->reply_age_ms) == 0) {
            rp->has_reply_age = true;
        }
    }
}

/* Hands result n (0: scalars, 1: replicas) to the readers; false when it failed. */
static bool probe_take(PGresult *r, int n, struct probe_result *res, struct errbuf *eb,
                       PGconn *conn)
{
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok) {
        probe_error(eb, "query", conn);
    } else if (n == 0 && PQntuples(r) == 1 && PQnfields(r) == _PROBE_COL_MAX) {
        probe_read_scalars(r, res);
    } else if (n == 1) {
        probe_read_replicas(r, res);
    }
    return ok;
}

/* Sends the probe SQL and reads both results before the deadline. */
static int probe_query(PGconn *conn, enum engine_kind kind, uint64_t deadline_ms,
                       struct probe_result *res, struct errbuf *eb)
{
    PGresult *r;
    int n = 0, failed = 0, f;

    if (PQsetnonblocking(conn, 1) != 0 || !PQsendQuery(conn, probe_sql(kind))) {
        probe_error(eb, "query", conn);
        return -EIO;
    }
    while ((f = PQflush(conn)) == 1) {
        if (probe_wait(conn, true, deadline_ms) <= 0) {
            goto hung;
        }
    }
    for (;;) {
        while (PQisBusy(conn)) {
            int w = probe_wait(conn, false, deadline_ms);
            if (w <= 0) {
                goto hung;
            }
            if (!PQconsumeInput(conn)) {
                probe_error(eb, "query", conn);
                return -EIO;
            }
        }
        r = PQgetResult(conn);
        if (!r) {
            break;
        }
        failed += !probe_take(r, n++, res, eb, conn);
        PQclear(r);
    }
    return f < 0 || failed ? -EIO : 0;
hung:
    res->hung = true;
    errbuf_set(eb, "query: no answer within the probe budget");
    return -ETIMEDOUT;
}

int probe_instance(const struct engine_instance *inst, uint64_t budget_ms, struct probe_result *res,
                   struct errbuf *eb)
{
    uint64_t start = probe_now_ms();
    uint64_t budget = budget_ms ? budget_ms : PROBE_BUDGET_MS;
    struct errbuf local;
    PGconn *conn;
    int r;

    if (!eb) {
        eb = &local;
    }
    memset(res, 0, sizeof(*res));
    errbuf_clear(eb);
    conn = probe_start(inst, budget);
    r = probe_connect(conn, start + budget, res, eb);
    if (r == 0) {
        res->up = true;
        r = probe_query(conn, inst->kind, start + budget, res, eb);
        if (r == -ETIMEDOUT) {
            res->up = false;
        }
    }
    PQfinish(conn);
    res->elapsed_ms = probe_now_ms() - start;
    if (r < 0) {
        (void) str_copy(res->error, sizeof(res->error), eb->msg);
    }
    return r;
}

static int probe_real_fn(const struct engine_instance *inst, uint64_t budget_ms,
                         struct probe_result *res, struct errbuf *eb, void *data)
{
    (void) data;
    return probe_instance(inst, budget_ms, res, eb);
}

const struct probe_ops probe_real = {.probe = probe_real_fn, .data = NULL};

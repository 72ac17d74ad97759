/*
 * agent/engine_pg.c
 *
 * The "postgresql" driver of agent/engine.h, for PostgreSQL 15: initdb -k, pg_ctl
 * start/stop/promote/reload with -w and -t, standby.signal and primary_conninfo (with
 * application_name = member) for standbys, pg_rewind and pg_basebackup from the upstream, and
 * the managed postgresql.conf (reference §8: recipes verified on PostgreSQL 15).
 *
 * Layer: edge (runs the PostgreSQL tools through engine_run; argv building is plain data).
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/engine.h"
#include "common/mem.h"

/* Unix socket paths are limited to 107 bytes (sun_path); "/.s.PGSQL.65535.lock" is 21. */
#define PG_SOCKET_DIR_MAX (107 - 21)

/*
 * Settings the agent decides; passthrough may not set them (engine_instance_check).
 * Defaults a user may override (max_wal_senders, wal_keep_size, logging) are not listed.
 */
static const char *const pg_managed_keys[] = {
        "listen_addresses",
        "port",
        "unix_socket_directories",
        "unix_socket_permissions",
        "hba_file",
        "ident_file",
        "data_directory",
        "config_file",
        "include",
        "include_dir",
        "include_if_exists",
        "wal_level",
        "hot_standby",
        "wal_log_hints",
        "full_page_writes",
        "synchronous_standby_names",
        "synchronous_commit",
        "primary_conninfo",
        "primary_slot_name",
        "restore_command",
        "recovery_target_timeline",
        "archive_mode",
        "archive_command",
        "archive_library",
        "password_encryption",
        NULL,
};

static int pg_render_defaults(const struct engine *e, struct engine_text *t)
{
    int r = 0;

    engine_text_printf(t, "\n# Defaults (the cluster's settings below may override them)\n");
    engine_text_printf(t, "max_wal_senders = 16\nmax_replication_slots = 16\n");
    engine_text_printf(t, "wal_keep_size = '1GB'\nlogging_collector = on\n");
    r = engine_text_setting(t, "log_directory", e->log_dir);
    engine_text_printf(t, "log_filename = 'postgresql-%%a.log'\nlog_truncate_on_rotation = on\n");
    engine_text_printf(t, "log_rotation_age = '1d'\nlog_file_mode = 0600\n");
    return r;
}

static int pg_render_passthrough(const struct engine *e, struct engine_text *t)
{
    int r = 0;

    if (e->inst->n_config) {
        engine_text_printf(t, "\n# The cluster's settings (spec.config)\n");
    }
    for (uint32_t i = 0; i < e->inst->n_config && r == 0; i++) {
        r = engine_text_setting(t, e->inst->config[i].key, e->inst->config[i].value);
    }
    return r;
}

static int pg_render_replication(const struct engine *e, struct engine_text *t)
{
    const struct engine_instance *in = e->inst;
    char sync[PROTO_MAX_SYNC * (PROTO_NAME_MAX + 4) + 32];
    char conninfo[ENGINE_PATH_MAX + 512] = "";
    int r;

    r = engine_render_sync_names(&in->sync, sync, sizeof(sync));
    if (r == 0 && in->has_upstream) {
        r = engine_render_conninfo(e, in->upstream.host, in->upstream.port, NULL, conninfo,
                                   sizeof(conninfo));
    }
    if (r < 0) {
        return r;
    }
    engine_text_printf(t, "wal_level = replica\nhot_standby = on\n");
    /* pg_rewind needs hint bits in WAL; data checksums (initdb -k) give them too. */
    engine_text_printf(t, "wal_log_hints = on\nfull_page_writes = on\n");
    r = engine_text_setting(t, "synchronous_standby_names", sync);
    engine_text_printf(t, "synchronous_commit = on\n");
    /* application_name is what synchronous_standby_names and pg_stat_replication name. */
    if (r == 0) {
        r = engine_text_setting(t, "primary_conninfo", conninfo);
    }
    engine_text_printf(t, "recovery_target_timeline = 'latest'\n");
    return r;
}

static int pg_render_conf(const struct engine *e, struct engine_text *t, struct errbuf *eb)
{
    const struct engine_instance *in = e->inst;
    char hba[ENGINE_PATH_MAX + 32];
    char *archive;
    int r;

    (void) snprintf(hba, sizeof(hba), "%s/pg_hba.conf", e->conf_dir);
    r = pg_render_defaults(e, t);
    if (r == 0) {
        r = pg_render_passthrough(e, t);
    }
    if (r < 0) {
        goto out;
    }
    engine_text_printf(t, "\n# Managed by the agent\n");
    r = engine_text_setting(t, "listen_addresses", in->ip);
    engine_text_printf(t, "port = %u\n", in->port);
    /* A socket path too long for sun_path would stop the server: then TCP only. */
    if (r == 0) {
        r = engine_text_setting(t, "unix_socket_directories",
                                strlen(e->run_dir) <= PG_SOCKET_DIR_MAX ? e->run_dir : "");
    }
    engine_text_printf(t, "unix_socket_permissions = 0700\n");
    engine_text_printf(t, "password_encryption = 'scram-sha-256'\n");
    if (r == 0) {
        r = engine_text_setting(t, "hba_file", hba);
    }
    if (r == 0) {
        r = pg_render_replication(e, t);
    }
    if (r < 0) {
        goto out;
    }
    engine_text_printf(t, "archive_mode = on\n");
    archive = xasprintf("test ! -f %s/%%f && cp %%p %s/%%f", e->archive_dir, e->archive_dir);
    r = engine_text_setting(t, "archive_command", archive);
    free(archive);
out:
    if (r < 0) {
        errbuf_set(eb, "postgresql.conf: a value cannot be quoted");
    }
    return r;
}

static int pg_write_role_files(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    char path[ENGINE_PATH_MAX + 32];
    int r;

    /* We never use ALTER SYSTEM; a copied postgresql.auto.conf must not override us. */
    (void) snprintf(path, sizeof(path), "%s/postgresql.auto.conf", e->data_dir);
    r = engine_write_file(e, path, "# Emptied by og-agent: ALTER SYSTEM is not used.\n", eb);
    if (r < 0 || mode == ENGINE_MODE_UNKNOWN) {
        return r;
    }
    (void) snprintf(path, sizeof(path), "%s/standby.signal", e->data_dir);
    if (mode == ENGINE_MODE_STANDBY) {
        return engine_write_file(e, path, "", eb);
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        r = -errno;
        errbuf_set(eb, "unlink %s: %s", path, strerror(-r));
    }
    return r;
}

static int pg_initdb(struct engine *e, const char *pwfile, struct errbuf *eb)
{
    char *pw = xasprintf("--pwfile=%s", pwfile);
    const char *argv[] = {"initdb",
                          "-D",
                          e->data_dir,
                          "-U",
                          e->inst->superuser,
                          pw,
                          "--auth-local=peer",
                          "--auth-host=scram-sha-256",
                          "-E",
                          "UTF8",
                          "--locale=C",
                          "-k",
                          NULL};
    int r = engine_run(e, argv, e->t.build_ms, NULL, NULL, eb);

    free(pw);
    return r;
}

/*
 * Adds the server's own words to eb: pg_ctl only says "could not start server". The last
 * FATAL or PANIC line of the startup log (errors before the logging collector starts: bad
 * settings, address in use, a lock file), else its last line.
 */
static void pg_explain_start(const char *logfile, struct errbuf *eb)
{
    FILE *f = fopen(logfile, "re");
    char line[256];
    char last[256] = "";
    char fatal[256] = "";

    if (!f) {
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0]) {
            continue;
        }
        memcpy(last, line, sizeof(last));
        if (strstr(line, "FATAL:") || strstr(line, "PANIC:")) {
            memcpy(fatal, line, sizeof(fatal));
        }
    }
    fclose(f);
    if (fatal[0] || last[0]) {
        struct errbuf why;

        errbuf_set(&why, "%s", fatal[0] ? fatal : last);
        errbuf_prefix(&why, "%s", eb->msg);
        *eb = why;
    }
}

static int pg_start(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    char secs[24];
    char logfile[ENGINE_PATH_MAX + 32];
    const char *argv[] = {"pg_ctl", "start", "-D", e->data_dir, "-l",
                          logfile,  "-w",    "-t", secs,        NULL};
    int r;

    (void) mode; /* the role is standby.signal, written before */
    engine_seconds_arg(e->t.start_ms, secs, sizeof(secs));
    (void) snprintf(logfile, sizeof(logfile), "%s/startup.log", e->log_dir);
    /* -l: the postmaster must not inherit our capture pipes, or we would wait on them. */
    r = engine_run(e, argv, e->t.start_ms + 5000, NULL, NULL, eb);
    if (r == -EIO && eb) {
        pg_explain_start(logfile, eb);
    }
    return r;
}

static int pg_stop(struct engine *e, const char *mode, uint64_t timeout_ms, struct errbuf *eb)
{
    char secs[24];
    const char *argv[] = {"pg_ctl", "stop", "-D", e->data_dir, "-m", mode, "-w", "-t", secs, NULL};

    engine_seconds_arg(timeout_ms, secs, sizeof(secs));
    return engine_run(e, argv, timeout_ms + 5000, NULL, NULL, eb);
}

static bool pg_is_standby(const struct engine *e)
{
    char path[ENGINE_PATH_MAX + 32];

    (void) snprintf(path, sizeof(path), "%s/standby.signal", e->data_dir);
    return access(path, F_OK) == 0;
}

static int pg_promote(struct engine *e, struct errbuf *eb)
{
    char secs[24];
    const char *argv[] = {"pg_ctl", "promote", "-D", e->data_dir, "-w", "-t", secs, NULL};
    int r;

    /* The server removes standby.signal when it leaves recovery: without it, a primary. */
    if (!pg_is_standby(e)) {
        return 0;
    }
    engine_seconds_arg(e->t.promote_ms, secs, sizeof(secs));
    r = engine_run(e, argv, e->t.promote_ms + 5000, NULL, NULL, eb);
    if (r < 0 && !pg_is_standby(e)) {
        errbuf_clear(eb);
        r = 0;
    }
    return r;
}

/*
 * pg_rewind takes the source's timeline from its pg_control, which a server promoted moments
 * ago only updates at its first checkpoint: without one, pg_rewind sees the same timeline,
 * says "no rewind required" and leaves the target diverged (pg_rewind documentation). So ask
 * the source for a checkpoint first (statement_timeout bounds it; connect_timeout the rest).
 */
static int pg_checkpoint_source(struct engine *e, struct errbuf *eb)
{
    char conninfo[ENGINE_PATH_MAX + 600];
    size_t n;
    PGconn *c;
    PGresult *res;
    int r = 0;

    if (engine_render_conninfo(e, e->inst->upstream.host, e->inst->upstream.port, "postgres",
                               conninfo, sizeof(conninfo) - 64) < 0) {
        errbuf_set(eb, "connection string too long");
        return -ENAMETOOLONG;
    }
    n = strlen(conninfo);
    (void) snprintf(conninfo + n, sizeof(conninfo) - n, " options='-c statement_timeout=%llu'",
                    (unsigned long long) e->t.cmd_ms);
    c = PQconnectdb(conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        errbuf_set(eb, "checkpoint on the rewind source: %s", c ? PQerrorMessage(c) : "no memory");
        PQfinish(c);
        return -ECONNREFUSED;
    }
    res = PQexec(c, "CHECKPOINT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        errbuf_set(eb, "checkpoint on the rewind source: %s", PQerrorMessage(c));
        r = -EIO;
    }
    PQclear(res);
    PQfinish(c);
    return r;
}

static int pg_rewind(struct engine *e, struct errbuf *eb)
{
    char conninfo[ENGINE_PATH_MAX + 512];
    char *target;
    char *source;
    int r = pg_checkpoint_source(e, eb);

    /* From here on pg_rewind may change data/: a failure leaves it for a full copy. */
    if (r == 0) {
        r = engine_copy_begin(e, "pg_rewind", eb);
    }
    if (r < 0) {
        return r;
    }
    target = xasprintf("--target-pgdata=%s", e->data_dir);
    r = engine_render_conninfo(e, e->inst->upstream.host, e->inst->upstream.port, "postgres",
                               conninfo, sizeof(conninfo));
    if (r < 0) {
        free(target);
        errbuf_set(eb, "connection string too long");
        return r;
    }
    /* No -R: primary_conninfo is ours (pg_rewind -R would drop application_name). */
    source = xasprintf("--source-server=%s", conninfo);
    {
        const char *argv[] = {"pg_rewind", target, source, NULL};
        r = engine_run(e, argv, e->t.build_ms, NULL, NULL, eb);
    }
    free(source);
    free(target);
    return r;
}

static int pg_basebackup(struct engine *e, const char *host, uint32_t port, const char *dest,
                         bool tar, struct errbuf *eb)
{
    char conninfo[ENGINE_PATH_MAX + 512];
    uint32_t kbps = e->inst->copy_max_rate_kbps;
    char rate[40];
    const char *stream[] = {"pg_basebackup", "-D", dest,   "-d", conninfo, "-X",
                            "stream",        "-c", "fast", "-w", rate,     NULL};
    const char *tarball[] = {"pg_basebackup", "-D", dest,   "-d", conninfo, "-F", "t", "-z", "-X",
                             "fetch",         "-c", "fast", "-w", NULL};
    int r = engine_render_conninfo(e, host, port, NULL, conninfo, sizeof(conninfo));

    /* Member copies may be throttled (pg_basebackup accepts 32 kB/s .. 1 GB/s). */
    if (kbps > 0) {
        (void) snprintf(rate, sizeof(rate), "--max-rate=%uk",
                        kbps < 32 ? 32 : (kbps > 1048576 ? 1048576 : kbps));
    } else {
        stream[10] = NULL;
    }

    if (r < 0) {
        errbuf_set(eb, "connection string too long");
        return r;
    }
    return engine_run(e, tar ? tarball : stream, e->t.build_ms, NULL, NULL, eb);
}

static int pg_rebuild(struct engine *e, struct errbuf *eb)
{
    /* No -R: standby.signal and primary_conninfo are written by engine_start. */
    return pg_basebackup(e, e->inst->upstream.host, e->inst->upstream.port, e->data_dir, false, eb);
}

static int pg_backup(struct engine *e, const char *host, uint32_t port, const char *dest,
                     struct errbuf *eb)
{
    return pg_basebackup(e, host, port, dest, true, eb);
}

static int pg_reload(struct engine *e, struct errbuf *eb)
{
    const char *argv[] = {"pg_ctl", "reload", "-D", e->data_dir, NULL};

    return engine_run(e, argv, e->t.cmd_ms, NULL, NULL, eb);
}

const struct engine_driver engine_driver_pg = {
        .kind = ENGINE_KIND_POSTGRESQL,
        .hba_method = "scram-sha-256",
        .local_method = "peer",
        .managed_keys = pg_managed_keys,
        .render_conf = pg_render_conf,
        .write_role_files = pg_write_role_files,
        .initdb = pg_initdb,
        .start = pg_start,
        .stop = pg_stop,
        .promote = pg_promote,
        .rewind = pg_rewind,
        .rebuild = pg_rebuild,
        .rebuild_in_place = false,
        .backup = pg_backup,
        .reload = pg_reload,
        .switchover = NULL,
        .query = NULL,
};

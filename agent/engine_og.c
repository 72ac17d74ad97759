/*
 * agent/engine_og.c
 *
 * The "opengauss" driver of agent/engine.h: gs_initdb, gs_ctl start -M primary | standby |
 * pending, stop, failover, switchover, build -b full | incremental, reload and query, and
 * gs_basebackup; the managed postgresql.conf with the replication channels replconninfo1..7
 * written as the original operator does (reference §7.4):
 *   localhost=<self> localport=<p+1> localservice=<p+4> localheartbeatport=<p+5>
 *   remotehost=<peer> remoteport=<q+1> remoteservice=<q+4> remoteheartbeatport=<q+5>
 * and application_name = <member> (openGauss names a standby by its own application_name).
 * It cannot be run here (no openGauss binaries); tests check its exact command lines and parse
 * real `gs_ctl query` samples (tests/data/gs_ctl/). The parser is the fallback for when SQL is
 * unavailable; agent/probe.c asks the same questions over libpq.
 *
 * Layer: edge (runs gs_* through engine_run; argv building and parsing are pure).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/engine.h"
#include "agent/probe.h"
#include "common/mem.h"
#include "common/str.h"

static const char *const og_managed_keys[] = {
        "listen_addresses",
        "port",
        "unix_socket_directory",
        "unix_socket_permissions",
        "hba_file",
        "ident_file",
        "data_directory",
        "config_file",
        "include",
        "include_if_exists",
        "wal_level",
        "hot_standby",
        "replication_type",
        "application_name",
        "synchronous_standby_names",
        "synchronous_commit",
        "archive_mode",
        "archive_command",
        "archive_dest",
        "replconninfo1",
        "replconninfo2",
        "replconninfo3",
        "replconninfo4",
        "replconninfo5",
        "replconninfo6",
        "replconninfo7",
        "replconninfo8",
        NULL,
};

/* ---- configuration ---- */

static void og_render_channel(const struct engine *e, struct engine_text *t, unsigned slot,
                              const char *host, uint32_t port)
{
    const struct engine_instance *in = e->inst;

    engine_text_printf(t,
                       "replconninfo%u = 'localhost=%s localport=%u localservice=%u "
                       "localheartbeatport=%u remotehost=%s remoteport=%u remoteservice=%u "
                       "remoteheartbeatport=%u'\n",
                       slot, in->ip, in->port + 1, in->port + 4, in->port + 5, host, port + 1,
                       port + 4, port + 5);
}

/*
 * One channel per peer, the upstream first (a standby tries them in order), at most
 * ENGINE_OG_REPLCONNINFO_MAX; unused slots are set to '' so no stale channel survives.
 */
static void og_render_channels(const struct engine *e, struct engine_text *t)
{
    const struct engine_instance *in = e->inst;
    unsigned slot = 1;

    if (in->has_upstream) {
        og_render_channel(e, t, slot++, in->upstream.host, in->upstream.port);
    }
    for (uint32_t i = 0; i < in->n_peers && slot <= ENGINE_OG_REPLCONNINFO_MAX; i++) {
        if (in->has_upstream && strcmp(in->peers[i].host, in->upstream.host) == 0 &&
            in->peers[i].port == in->upstream.port) {
            continue;
        }
        og_render_channel(e, t, slot++, in->peers[i].host, in->peers[i].port);
    }
    for (; slot <= ENGINE_OG_REPLCONNINFO_MAX; slot++) {
        engine_text_printf(t, "replconninfo%u = ''\n", slot);
    }
}

static int og_render_conf(const struct engine *e, struct engine_text *t, struct errbuf *eb)
{
    const struct engine_instance *in = e->inst;
    char sync[PROTO_MAX_SYNC * (PROTO_NAME_MAX + 4) + 32];
    char hba[ENGINE_PATH_MAX + 32];
    char *archive;
    int r;

    (void) snprintf(hba, sizeof(hba), "%s/pg_hba.conf", e->conf_dir);
    engine_text_printf(t, "\n# Defaults (the cluster's settings below may override them)\n");
    engine_text_printf(t, "max_wal_senders = 16\nwal_keep_segments = 1024\n");
    /* remote_read_mode needs the OM-installed SSL files; without them startup fails. */
    engine_text_printf(t, "remote_read_mode = off\nlogging_collector = on\n");
    r = engine_text_setting(t, "log_directory", e->log_dir);
    if (r == 0 && in->n_config) {
        engine_text_printf(t, "\n# The cluster's settings (spec.config)\n");
    }
    for (uint32_t i = 0; i < in->n_config && r == 0; i++) {
        r = engine_text_setting(t, in->config[i].key, in->config[i].value);
    }
    if (r == 0) {
        r = engine_render_sync_names(&in->sync, sync, sizeof(sync));
    }
    if (r < 0) {
        goto out;
    }
    engine_text_printf(t, "\n# Managed by the agent\n");
    r = engine_text_setting(t, "listen_addresses", in->ip);
    engine_text_printf(t, "port = %u\n", in->port);
    if (r == 0) {
        r = engine_text_setting(t, "unix_socket_directory", e->run_dir);
    }
    engine_text_printf(t, "unix_socket_permissions = 0700\n");
    if (r == 0) {
        r = engine_text_setting(t, "hba_file", hba);
    }
    engine_text_printf(t, "wal_level = hot_standby\nhot_standby = on\nreplication_type = 1\n");
    if (r == 0) {
        r = engine_text_setting(t, "application_name", in->member);
    }
    if (r == 0) {
        r = engine_text_setting(t, "synchronous_standby_names", sync);
    }
    engine_text_printf(t, "synchronous_commit = on\narchive_mode = on\n");
    archive = xasprintf("test ! -f %s/%%f && cp %%p %s/%%f", e->archive_dir, e->archive_dir);
    if (r == 0) {
        r = engine_text_setting(t, "archive_command", archive);
    }
    free(archive);
    og_render_channels(e, t);
out:
    if (r < 0) {
        errbuf_set(eb, "postgresql.conf: a value cannot be quoted");
    }
    return r;
}

/* ---- commands ---- */

/* gs_initdb --nodename: the member name with '-' as '_' (an identifier). */
static void og_node_name(const struct engine *e, char *buf, size_t size)
{
    (void) str_copy(buf, size, e->inst->member);
    for (char *p = buf; *p; p++) {
        if (*p == '-') {
            *p = '_';
        }
    }
}

static int og_initdb(struct engine *e, const char *pwfile, struct errbuf *eb)
{
    char node[PROTO_NAME_MAX + 1];
    char *nodename;
    char *pw = xasprintf("--pwfile=%s", pwfile);
    int r;

    og_node_name(e, node, sizeof(node));
    nodename = xasprintf("--nodename=%s", node);
    {
        /* --pwfile, not -w <password>: a command line is world-readable in /proc. */
        const char *argv[] = {
                "gs_initdb", "-D", e->data_dir, nodename,     "-U", e->inst->superuser,
                pw,          "-E", "UTF-8",     "--locale=C", NULL};
        r = engine_run(e, argv, e->t.build_ms, NULL, NULL, eb);
    }
    free(nodename);
    free(pw);
    return r;
}

static int og_start(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    char secs[24];
    char logfile[ENGINE_PATH_MAX + 32];
    const char *m = mode == ENGINE_MODE_PRIMARY ? "primary"
                    : e->inst->has_upstream     ? "standby"
                                                : "pending";
    const char *argv[] = {"gs_ctl", "start", "-D", e->data_dir, "-M",    m,
                          "-w",     "-t",    secs, "-l",        logfile, NULL};

    engine_seconds_arg(e->t.start_ms, secs, sizeof(secs));
    (void) snprintf(logfile, sizeof(logfile), "%s/startup.log", e->log_dir);
    return engine_run(e, argv, e->t.start_ms + 5000, NULL, NULL, eb);
}

static int og_stop(struct engine *e, const char *mode, uint64_t timeout_ms, struct errbuf *eb)
{
    char secs[24];
    const char *argv[] = {"gs_ctl", "stop", "-D", e->data_dir, "-m", mode, "-w", "-t", secs, NULL};

    engine_seconds_arg(timeout_ms, secs, sizeof(secs));
    return engine_run(e, argv, timeout_ms + 5000, NULL, NULL, eb);
}

static int og_query(struct engine *e, struct probe_result *res, struct errbuf *eb)
{
    const char *argv[] = {"gs_ctl", "query", "-D", e->data_dir, NULL};
    char *out = NULL;
    int r = engine_run(e, argv, e->t.cmd_ms, NULL, &out, eb);

    if (r == 0 && engine_og_parse_query(out ? out : "", res) < 0) {
        errbuf_set(eb, "gs_ctl query: no HA state in its output");
        r = -EIO;
    }
    free(out);
    return r;
}

/* failover / switchover with -w -t, and -T <term> when the arbiter gave one. */
static int og_role_change(struct engine *e, const char *cmd, bool fast, struct errbuf *eb)
{
    char secs[24];
    char term[24];
    const char *argv[16];
    size_t n = 0;

    engine_seconds_arg(e->t.promote_ms, secs, sizeof(secs));
    (void) snprintf(term, sizeof(term), "%llu", (unsigned long long) e->inst->term);
    argv[n++] = "gs_ctl";
    argv[n++] = cmd;
    argv[n++] = "-D";
    argv[n++] = e->data_dir;
    if (fast) {
        argv[n++] = "-m";
        argv[n++] = "fast";
    }
    argv[n++] = "-w";
    argv[n++] = "-t";
    argv[n++] = secs;
    if (e->inst->term) {
        argv[n++] = "-T";
        argv[n++] = term;
    }
    argv[n] = NULL;
    return engine_run(e, argv, e->t.promote_ms + 5000, NULL, NULL, eb);
}

static bool og_is_primary(struct engine *e)
{
    struct probe_result *res = xcalloc(1, sizeof(*res));
    struct errbuf ignored;
    bool primary = og_query(e, res, &ignored) == 0 && strcmp(res->local_role, "Primary") == 0;

    free(res);
    return primary;
}

static int og_promote(struct engine *e, struct errbuf *eb)
{
    if (og_is_primary(e)) {
        return 0;
    }
    return og_role_change(e, "failover", false, eb);
}

static int og_switchover(struct engine *e, struct errbuf *eb)
{
    return og_role_change(e, "switchover", true, eb);
}

static int og_build(struct engine *e, const char *mode, struct errbuf *eb)
{
    /* gs_ctl build stops the instance, copies from the primary found through replconninfo,
     * and starts it again as a standby. */
    const char *argv[] = {"gs_ctl", "build", "-D", e->data_dir, "-b", mode, "-M", "standby", NULL};

    return engine_run(e, argv, e->t.build_ms, NULL, NULL, eb);
}

static int og_rewind(struct engine *e, struct errbuf *eb)
{
    int r = engine_copy_begin(e, "gs_ctl build -b incremental", eb);

    return r < 0 ? r : og_build(e, "incremental", eb);
}

static int og_rebuild(struct engine *e, struct errbuf *eb)
{
    return og_build(e, "full", eb);
}

static int og_backup(struct engine *e, const char *host, uint32_t port, const char *dest,
                     struct errbuf *eb)
{
    char p[16];
    const char *argv[] = {"gs_basebackup",    "-D", dest,  "-h", host, "-p",    p,   "-U",
                          e->inst->superuser, "-F", "tar", "-z", "-X", "fetch", NULL};

    (void) snprintf(p, sizeof(p), "%u", port);
    return engine_run(e, argv, e->t.build_ms, NULL, NULL, eb);
}

static int og_reload(struct engine *e, struct errbuf *eb)
{
    const char *argv[] = {"gs_ctl", "reload", "-D", e->data_dir, NULL};

    return engine_run(e, argv, e->t.cmd_ms, NULL, NULL, eb);
}

/* ---- gs_ctl query parsing ---- */

enum og_section { OG_SECTION_NONE = 0, OG_SECTION_HA, OG_SECTION_SENDERS, OG_SECTION_RECEIVER };

/* "  key   : value" -> key, value (trimmed). Lines that are not such pairs give false. */
static bool og_split(char *line, char **ret_key, char **ret_value)
{
    char *p = line;
    char *key;
    char *end;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    key = p;
    while (islower((unsigned char) *p) || *p == '_') {
        p++;
    }
    if (p == key) {
        return false;
    }
    end = p;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p != ':') {
        return false;
    }
    *end = '\0';
    p++;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    end = p + strlen(p);
    while (end > p && isspace((unsigned char) end[-1])) {
        *--end = '\0';
    }
    *ret_key = key;
    *ret_value = p;
    return true;
}

static uint64_t og_lsn(const char *s)
{
    uint64_t lsn = 0;

    (void) str_parse_lsn(s, &lsn);
    return lsn;
}

/* "Streaming" -> PROTO_REPL_STATE_STREAMING; "Sync" -> PROTO_SYNC_STATE_SYNC. */
static void og_lower(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    for (; s[i] && i + 1 < size; i++) {
        buf[i] = (char) tolower((unsigned char) s[i]);
    }
    buf[i] = '\0';
}

/* channel "172.18.0.10:6439-->172.18.0.11:52798": the standby's address after "-->". */
static void og_channel_peer(const char *channel, char *buf, size_t size)
{
    const char *p = strstr(channel, "-->");
    const char *colon;
    size_t n;

    buf[0] = '\0';
    if (!p) {
        return;
    }
    p += 3;
    colon = strrchr(p, ':');
    n = colon ? (size_t) (colon - p) : strlen(p);
    if (n < size) {
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
}

static void og_sender_field(struct probe_replica *rp, const char *key, const char *value)
{
    char low[32];

    og_lower(value, low, sizeof(low));
    if (strcmp(key, "state") == 0) {
        (void) proto_repl_state_from_string(low, &rp->state);
    } else if (strcmp(key, "sync_state") == 0) {
        (void) proto_sync_state_from_string(low, &rp->sync_state);
    } else if (strcmp(key, "sender_sent_location") == 0) {
        rp->sent_lsn = og_lsn(value);
    } else if (strcmp(key, "receiver_flush_location") == 0) {
        rp->flush_lsn = og_lsn(value);
    } else if (strcmp(key, "receiver_replay_location") == 0) {
        rp->replay_lsn = og_lsn(value);
    } else if (strcmp(key, "channel") == 0) {
        og_channel_peer(value, rp->client_addr, sizeof(rp->client_addr));
    }
}

static void og_field(struct probe_result *res, enum og_section sec, const char *key,
                     const char *value)
{
    if (sec == OG_SECTION_HA) {
        if (strcmp(key, "local_role") == 0) {
            (void) str_copy(res->local_role, sizeof(res->local_role), value);
        } else if (strcmp(key, "db_state") == 0) {
            (void) str_copy(res->db_state, sizeof(res->db_state), value);
        } else if (strcmp(key, "detail_information") == 0) {
            (void) str_copy(res->detail, sizeof(res->detail), value);
        }
    } else if (sec == OG_SECTION_SENDERS) {
        if (strcmp(key, "sender_pid") == 0 && res->n_replicas < PROTO_MAX_REPLICAS) {
            res->n_replicas++;
        } else if (res->n_replicas > 0) {
            og_sender_field(&res->replicas[res->n_replicas - 1], key, value);
        }
    } else if (sec == OG_SECTION_RECEIVER) {
        if (strcmp(key, "receiver_pid") == 0) {
            res->receiving = true;
        } else if (strcmp(key, "receiver_received_location") == 0) {
            res->received_lsn = og_lsn(value);
        } else if (strcmp(key, "receiver_replay_location") == 0) {
            res->replayed_lsn = og_lsn(value);
        }
    }
}

static enum og_section og_section_of(const char *line, enum og_section cur)
{
    if (strstr(line, "HA state:")) {
        return OG_SECTION_HA;
    }
    if (strstr(line, "Senders info:")) {
        return OG_SECTION_SENDERS;
    }
    if (strstr(line, "Receiver info:")) {
        return OG_SECTION_RECEIVER;
    }
    return cur;
}

int engine_og_parse_query(const char *text, struct probe_result *res)
{
    enum og_section sec = OG_SECTION_NONE;
    bool seen_ha = false;
    char *copy = xstrdup(text);
    char *save = NULL;

    memset(res, 0, sizeof(*res));
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        enum og_section next = og_section_of(line, sec);
        char *key;
        char *value;

        if (next != sec) {
            sec = next;
            seen_ha = seen_ha || sec == OG_SECTION_HA;
            continue;
        }
        if (og_split(line, &key, &value)) {
            og_field(res, sec, key, value);
        }
    }
    free(copy);
    if (!seen_ha) {
        return -EINVAL;
    }
    res->up = true;
    /* Primary and Normal (single node) take writes; Standby, Cascade Standby, Pending do not. */
    res->in_recovery =
            strcmp(res->local_role, "Primary") != 0 && strcmp(res->local_role, "Normal") != 0;
    for (uint32_t i = 0; i < res->n_replicas; i++) {
        if (res->replicas[i].sent_lsn > res->current_lsn) {
            res->current_lsn = res->replicas[i].sent_lsn;
        }
    }
    return 0;
}

const struct engine_driver engine_driver_og = {
        .kind = ENGINE_KIND_OPENGAUSS,
        .hba_method = "sha256",
        /* gs_ctl query/build/switchover connect over the socket as the OS user; the socket
         * directory is 0700, so only that user (and root) can reach it. */
        .local_method = "trust",
        .managed_keys = og_managed_keys,
        .render_conf = og_render_conf,
        .write_role_files = NULL,
        .initdb = og_initdb,
        .start = og_start,
        .stop = og_stop,
        .promote = og_promote,
        .rewind = og_rewind,
        .rebuild = og_rebuild,
        .rebuild_in_place = true,
        .backup = og_backup,
        .reload = og_reload,
        .switchover = og_switchover,
        .query = og_query,
};

/*
 * agent/engine.c
 *
 * The engine-independent half of agent/engine.h: validation of an instance description, the
 * directory paths (engine_open), rendering of the managed pg_hba.conf, pgpass and setting
 * quoting, the process runner with a clean environment, the managed configuration files, and
 * the lifecycle operations (init, start, restart, promote, demote, reload, switchover, query).
 * The directory layout and the data copies (rewind, rebuild, backup, the copy marker) live in
 * engine_copy.c; the on-disk status, the stop escalation and the server log in engine_host.c;
 * the engine-specific commands in engine_pg.c and engine_og.c.
 *
 * Layer: core+edge (rendering is pure; the operations touch files and processes).
 */
#include "agent/engine.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent/engine_int.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/str.h"

#define ENGINE_TAIL_MAX 180 /* bytes of a tool's output quoted into an errbuf */

/* ---- names ---- */

const char *engine_kind_to_string(enum engine_kind v)
{
    switch (v) {
    case ENGINE_KIND_UNKNOWN:
        return "unknown";
    case ENGINE_KIND_POSTGRESQL:
        return "postgresql";
    case ENGINE_KIND_OPENGAUSS:
        return "opengauss";
    case _ENGINE_KIND_MAX:
        break;
    }
    return "unknown";
}

int engine_kind_from_string(const char *s, enum engine_kind *ret)
{
    for (int v = 1; v < _ENGINE_KIND_MAX; v++) {
        if (s && strcmp(s, engine_kind_to_string((enum engine_kind) v)) == 0) {
            *ret = (enum engine_kind) v;
            return 0;
        }
    }
    return -EINVAL;
}

const char *engine_mode_to_string(enum engine_mode v)
{
    switch (v) {
    case ENGINE_MODE_UNKNOWN:
        return "unknown";
    case ENGINE_MODE_PRIMARY:
        return "primary";
    case ENGINE_MODE_STANDBY:
        return "standby";
    case _ENGINE_MODE_MAX:
        break;
    }
    return "unknown";
}

/* ---- validation ---- */

void engine_instance_init(struct engine_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    inst->uid = -1;
    inst->gid = -1;
    inst->timeouts.start_ms = ENGINE_START_TIMEOUT_MS;
    inst->timeouts.stop_ms = ENGINE_STOP_TIMEOUT_MS;
    inst->timeouts.kill_ms = ENGINE_KILL_TIMEOUT_MS;
    inst->timeouts.promote_ms = ENGINE_PROMOTE_TIMEOUT_MS;
    inst->timeouts.build_ms = ENGINE_BUILD_TIMEOUT_MS;
    inst->timeouts.cmd_ms = ENGINE_CMD_TIMEOUT_MS;
}

/*
 * Paths reach archive_command, a shell line the server runs, and several config files: only
 * a conservative character set is accepted, so nothing ever needs shell or config quoting.
 */
bool engine_path_is_safe(const char *p)
{
    size_t n = strlen(p);

    if (n < 2 || n >= ENGINE_BASE_MAX || p[0] != '/') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];
        if (!isalnum(c) && c != '/' && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return strstr(p, "/../") == NULL && strcmp(p + n - 3, "/..") != 0;
}

bool engine_is_ip(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool engine_is_ident(const char *s, bool allow_dot)
{
    if (!s[0] || !(islower((unsigned char) s[0]) || s[0] == '_')) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (!islower(c) && !isdigit(c) && c != '_' && !(allow_dot && c == '.')) {
            return false;
        }
    }
    return strlen(s) <= 63;
}

static bool engine_has_control(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (iscntrl((unsigned char) *p)) {
            return true;
        }
    }
    return false;
}

static const struct engine_driver *engine_driver_of(enum engine_kind kind)
{
    switch (kind) {
    case ENGINE_KIND_POSTGRESQL:
        return &engine_driver_pg;
    case ENGINE_KIND_OPENGAUSS:
        return &engine_driver_og;
    case ENGINE_KIND_UNKNOWN:
    case _ENGINE_KIND_MAX:
        break;
    }
    return NULL;
}

static bool engine_key_is_managed(const struct engine_driver *drv, const char *key)
{
    for (const char *const *k = drv->managed_keys; *k; k++) {
        if (strcmp(*k, key) == 0) {
            return true;
        }
    }
    return false;
}

static int engine_check_endpoint(const char *what, const char *member, const char *host,
                                 uint32_t port, struct errbuf *eb)
{
    if (!str_is_dns_label(member)) {
        errbuf_set(eb, "%s: member name is not a DNS label", what);
        return -EINVAL;
    }
    if (!engine_is_ip(host)) {
        errbuf_set(eb, "%s %s: host is not an IP address", what, member);
        return -EINVAL;
    }
    if (port < 1 || port > 65535) {
        errbuf_set(eb, "%s %s: port %u out of range", what, member, port);
        return -EINVAL;
    }
    return 0;
}

static int engine_check_identity(const struct engine_instance *inst, struct errbuf *eb)
{
    uint32_t max_port = inst->kind == ENGINE_KIND_OPENGAUSS ? 65530 : 65535;

    if (!engine_path_is_safe(inst->bin_dir) || !engine_path_is_safe(inst->base_dir) ||
        (inst->archive_dir[0] && !engine_path_is_safe(inst->archive_dir))) {
        errbuf_set(eb,
                   "bin, base and archive directories must be absolute paths of "
                   "[A-Za-z0-9/._-] shorter than %d bytes",
                   ENGINE_BASE_MAX);
        return -EINVAL;
    }
    if (!str_is_dns_label(inst->member)) {
        errbuf_set(eb, "member name is not a DNS label");
        return -EINVAL;
    }
    if (!engine_is_ip(inst->ip) || inst->port < 1 || inst->port > max_port) {
        errbuf_set(eb, "listen address %s port %u invalid", inst->ip, inst->port);
        return -EINVAL;
    }
    if (!engine_is_ident(inst->superuser, false)) {
        errbuf_set(eb, "superuser name must match [a-z_][a-z0-9_]{0,62}");
        return -EINVAL;
    }
    if (!inst->password[0] || engine_has_control(inst->password)) {
        errbuf_set(eb, "password empty or with control characters");
        return -EINVAL;
    }
    return 0;
}

static int engine_check_topology(const struct engine_instance *inst, struct errbuf *eb)
{
    int r;

    if (inst->has_upstream) {
        r = engine_check_endpoint("upstream", inst->upstream.member, inst->upstream.host,
                                  inst->upstream.port, eb);
        if (r < 0) {
            return r;
        }
    }
    if (inst->n_peers > ENGINE_MAX_PEERS) {
        errbuf_set(eb, "too many peers (%u)", inst->n_peers);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < inst->n_peers; i++) {
        r = engine_check_endpoint("peer", inst->peers[i].member, inst->peers[i].host,
                                  inst->peers[i].port, eb);
        if (r < 0) {
            return r;
        }
    }
    if (inst->sync.n_names > PROTO_MAX_SYNC || inst->sync.num > inst->sync.n_names) {
        errbuf_set(eb, "sync: num %u with %u names", inst->sync.num, inst->sync.n_names);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < inst->sync.n_names; i++) {
        if (!str_is_dns_label(inst->sync.names[i])) {
            errbuf_set(eb, "sync name %u is not a DNS label", i);
            return -EINVAL;
        }
    }
    return 0;
}

static int engine_check_config(const struct engine_instance *inst, const struct engine_driver *drv,
                               struct errbuf *eb)
{
    if (inst->n_config > PROTO_MAX_CONFIG) {
        errbuf_set(eb, "too many settings (%u)", inst->n_config);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < inst->n_config; i++) {
        const struct proto_kv *kv = &inst->config[i];

        if (!engine_is_ident(kv->key, true)) {
            errbuf_set(eb, "setting %u: bad name", i);
            return -EINVAL;
        }
        if (engine_key_is_managed(drv, kv->key)) {
            errbuf_set(eb, "setting %s is managed by the agent", kv->key);
            return -EINVAL;
        }
        if (engine_has_control(kv->value)) {
            errbuf_set(eb, "setting %s: control character in value", kv->key);
            return -EINVAL;
        }
    }
    return 0;
}

int engine_instance_check(const struct engine_instance *inst, struct errbuf *eb)
{
    const struct engine_driver *drv = engine_driver_of(inst->kind);
    int r;

    if (!drv) {
        errbuf_set(eb, "unknown engine kind %d", (int) inst->kind);
        return -EINVAL;
    }
    r = engine_check_identity(inst, eb);
    if (r == 0) {
        r = engine_check_topology(inst, eb);
    }
    if (r == 0) {
        r = engine_check_config(inst, drv, eb);
    }
    return r;
}

static uint64_t engine_or(uint64_t v, uint64_t def)
{
    return v ? v : def;
}

int engine_open(struct engine *e, const struct engine_instance *inst, const struct proc_ops *proc,
                struct errbuf *eb)
{
    const struct engine_timeouts *t = &inst->timeouts;
    const char *base = inst->base_dir;
    int r = engine_instance_check(inst, eb);

    if (r < 0) {
        return r;
    }
    memset(e, 0, sizeof(*e));
    e->inst = inst;
    e->drv = engine_driver_of(inst->kind);
    e->proc = proc ? *proc : proc_real;
    e->t.start_ms = engine_or(t->start_ms, ENGINE_START_TIMEOUT_MS);
    e->t.stop_ms = engine_or(t->stop_ms, ENGINE_STOP_TIMEOUT_MS);
    e->t.kill_ms = engine_or(t->kill_ms, ENGINE_KILL_TIMEOUT_MS);
    e->t.promote_ms = engine_or(t->promote_ms, ENGINE_PROMOTE_TIMEOUT_MS);
    e->t.build_ms = engine_or(t->build_ms, ENGINE_BUILD_TIMEOUT_MS);
    e->t.cmd_ms = engine_or(t->cmd_ms, ENGINE_CMD_TIMEOUT_MS);
    /* Lengths are bounded by ENGINE_BASE_MAX (checked), so none of these truncates. */
    (void) snprintf(e->data_dir, sizeof(e->data_dir), "%s/data", base);
    (void) snprintf(e->conf_dir, sizeof(e->conf_dir), "%s/conf", base);
    (void) snprintf(e->run_dir, sizeof(e->run_dir), "%s/run", base);
    (void) snprintf(e->log_dir, sizeof(e->log_dir), "%s/log", base);
    (void) snprintf(e->backup_dir, sizeof(e->backup_dir), "%s/backup", base);
    if (inst->archive_dir[0]) {
        (void) str_copy(e->archive_dir, sizeof(e->archive_dir), inst->archive_dir);
    } else {
        (void) snprintf(e->archive_dir, sizeof(e->archive_dir), "%s/archive", base);
    }
    return 0;
}

/* ---- text rendering ---- */

void engine_text_printf(struct engine_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if (t->len + (size_t) n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + (size_t) n + 1) {
            cap *= 2;
        }
        t->data = xrealloc(t->data, cap);
        t->cap = cap;
    }
    va_start(ap, fmt);
    (void) vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t) n;
}

void engine_text_done(struct engine_text *t)
{
    if (!t) {
        return;
    }
    free(t->data);
    t->data = NULL;
    t->len = 0;
    t->cap = 0;
}

int engine_conf_quote(const char *value, char *buf, size_t size)
{
    size_t o = 0;

    if (size < 3) {
        return -ENAMETOOLONG;
    }
    buf[o++] = '\'';
    for (const char *p = value; *p; p++) {
        bool twice = *p == '\'' || *p == '\\';

        if (iscntrl((unsigned char) *p)) {
            return -EINVAL;
        }
        if (o + (twice ? 2 : 1) + 2 > size) {
            return -ENAMETOOLONG;
        }
        if (twice) {
            buf[o++] = *p;
        }
        buf[o++] = *p;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return 0;
}

int engine_text_setting(struct engine_text *t, const char *key, const char *value)
{
    char quoted[2 * PROTO_VALUE_MAX + 2 * ENGINE_PATH_MAX + 16];
    int r = engine_conf_quote(value, quoted, sizeof(quoted));

    if (r < 0) {
        return r;
    }
    engine_text_printf(t, "%s = %s\n", key, quoted);
    return 0;
}

int engine_render_sync_names(const struct proto_sync *s, char *buf, size_t size)
{
    size_t o;
    int n;

    if (size == 0) {
        return -ENAMETOOLONG;
    }
    buf[0] = '\0';
    if (s->num == 0 || s->n_names == 0) {
        return 0;
    }
    n = snprintf(buf, size, "ANY %u (", s->num);
    if (n < 0 || (size_t) n >= size) {
        return -ENAMETOOLONG;
    }
    o = (size_t) n;
    for (uint32_t i = 0; i < s->n_names && i < PROTO_MAX_SYNC; i++) {
        n = snprintf(buf + o, size - o, "%s\"%s\"", i ? ", " : "", s->names[i]);
        if (n < 0 || (size_t) n >= size - o) {
            return -ENAMETOOLONG;
        }
        o += (size_t) n;
    }
    n = snprintf(buf + o, size - o, ")");
    return n < 0 || (size_t) n >= size - o ? -ENAMETOOLONG : 0;
}

int engine_render_conninfo(const struct engine *e, const char *host, uint32_t port,
                           const char *dbname, char *buf, size_t size)
{
    /* Every value here was checked to be free of blanks and quotes, so none needs quoting.
     * Keepalives after pg_auto_failover's defaults.h: a dead peer is noticed in ~11 s. */
    int n = snprintf(buf, size,
                     "host=%s port=%u user=%s passfile=%s/pgpass application_name=%s "
                     "connect_timeout=5 keepalives=1 keepalives_idle=5 keepalives_interval=2 "
                     "keepalives_count=3%s%s",
                     host, port, e->inst->superuser, e->conf_dir, e->inst->member,
                     dbname ? " dbname=" : "", dbname ? dbname : "");

    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int engine_render_conf(const struct engine *e, char **ret_text, struct errbuf *eb)
{
    struct engine_text t = {0};
    int r;

    engine_text_printf(&t,
                       "# %s/postgresql.conf of member %s (%s), written by og-agent before\n"
                       "# every start and reload; the data directory's postgresql.conf only\n"
                       "# includes this file. Do not edit: change the cluster resource.\n",
                       e->conf_dir, e->inst->member, engine_kind_to_string(e->inst->kind));
    r = e->drv->render_conf(e, &t, eb);
    if (r < 0) {
        engine_text_done(&t);
        return r;
    }
    *ret_text = t.data;
    return 0;
}

static void engine_hba_line(struct engine_text *t, const char *type, const char *db,
                            const char *user, const char *host, const char *method)
{
    char addr[PROTO_IP_MAX + 8] = "";

    if (host) {
        (void) snprintf(addr, sizeof(addr), "%s/%s", host, strchr(host, ':') ? "128" : "32");
    }
    engine_text_printf(t, "%-7s %-12s %-12s %-24s %s\n", type, db, user, addr, method);
}

int engine_render_hba(const struct engine *e, char **ret_text, struct errbuf *eb)
{
    const struct engine_instance *in = e->inst;
    const char *m = e->drv->hba_method;
    struct engine_text t = {0};

    (void) eb;
    engine_text_printf(&t,
                       "# %s/pg_hba.conf of member %s, written by og-agent before every start\n"
                       "# and reload. The Unix socket lives in a 0700 directory of the\n"
                       "# instance's user; TCP always needs the password.\n",
                       e->conf_dir, in->member);
    engine_hba_line(&t, "local", "all", "all", NULL, e->drv->local_method);
    engine_hba_line(&t, "local", "replication", "all", NULL, e->drv->local_method);
    engine_hba_line(&t, "host", "replication", in->superuser, in->ip, m);
    for (uint32_t i = 0; i < in->n_peers; i++) {
        engine_hba_line(&t, "host", "replication", in->superuser, in->peers[i].host, m);
    }
    if (in->replication_from_any) {
        engine_text_printf(&t, "%-7s %-12s %-12s %-24s %s\n", "host", "replication", in->superuser,
                           "0.0.0.0/0", m);
        engine_text_printf(&t, "%-7s %-12s %-12s %-24s %s\n", "host", "replication", in->superuser,
                           "::/0", m);
    }
    engine_text_printf(&t, "%-7s %-12s %-12s %-24s %s\n", "host", "all", "all", "0.0.0.0/0", m);
    engine_text_printf(&t, "%-7s %-12s %-12s %-24s %s\n", "host", "all", "all", "::/0", m);
    *ret_text = t.data;
    return 0;
}

int engine_render_pgpass(const struct engine *e, char **ret_text, struct errbuf *eb)
{
    struct engine_text t = {0};

    (void) eb;
    /* libpq's pgpass: ':' and '\' in a field are escaped with '\'. */
    engine_text_printf(&t, "*:*:*:%s:", e->inst->superuser);
    for (const char *p = e->inst->password; *p; p++) {
        engine_text_printf(&t, "%s%c", (*p == ':' || *p == '\\') ? "\\" : "", *p);
    }
    engine_text_printf(&t, "\n");
    *ret_text = t.data;
    return 0;
}

/* ---- running programs ---- */

void engine_seconds_arg(uint64_t timeout_ms, char *buf, size_t size)
{
    uint64_t s = (timeout_ms + 999) / 1000;

    (void) snprintf(buf, size, "%llu", (unsigned long long) (s ? s : 1));
}

/* The last ENGINE_TAIL_MAX bytes of text, on one line. */
static void engine_tail(const char *text, size_t len, char *buf, size_t size)
{
    size_t start;
    size_t o = 0;

    while (len > 0 && isspace((unsigned char) text[len - 1])) {
        len--;
    }
    start = len > ENGINE_TAIL_MAX ? len - ENGINE_TAIL_MAX : 0;
    for (size_t i = start; i < len && o + 1 < size; i++) {
        buf[o++] = (text[i] == '\n' || text[i] == '\r' || text[i] == '\t') ? ' ' : text[i];
    }
    if (size) {
        buf[o] = '\0';
    }
}

int engine_run(struct engine *e, const char *const *argv, uint64_t timeout_ms, int *ret_exit_code,
               char **out, struct errbuf *eb)
{
    const struct engine_instance *in = e->inst;
    const char *args[32];
    char *prog = xasprintf("%s/%s", in->bin_dir, argv[0]);
    char *env[10] = {NULL};
    struct proc_spec spec = {0};
    struct proc_result res = {0};
    size_t n = 0, ne = 0;
    int r;

    args[n++] = prog;
    while (argv[n] && n < sizeof(args) / sizeof(args[0]) - 1) {
        args[n] = argv[n];
        n++;
    }
    args[n] = NULL;
    env[ne++] = xasprintf("PATH=%s:/usr/local/bin:/usr/bin:/bin", in->bin_dir);
    env[ne++] = xstrdup("LC_ALL=C");
    env[ne++] = xasprintf("HOME=%s", in->base_dir);
    env[ne++] = xasprintf("PGPASSFILE=%s/pgpass", e->conf_dir);
    if (in->kind == ENGINE_KIND_OPENGAUSS) {
        /* gs_* find their libraries and their local server through these. */
        env[ne++] = xasprintf("GAUSSHOME=%s/..", in->bin_dir);
        env[ne++] = xasprintf("LD_LIBRARY_PATH=%s/../lib", in->bin_dir);
        env[ne++] = xasprintf("PGHOST=%s", e->run_dir);
        env[ne++] = xasprintf("PGPORT=%u", in->port);
    }
    spec.argv = args;
    spec.envp = (const char *const *) env;
    spec.cwd = in->base_dir;
    spec.uid = in->uid;
    spec.gid = in->gid;
    spec.timeout_ms = timeout_ms;
    r = e->proc.run(&spec, &res, eb, e->proc.data);
    if (r == 0 && res.exit_code != 0) {
        char tail[ENGINE_TAIL_MAX + 1];

        if (res.err_len) {
            engine_tail(res.err, res.err_len, tail, sizeof(tail));
        } else {
            engine_tail(res.out ? res.out : "", res.out_len, tail, sizeof(tail));
        }
        if (res.exit_code >= 0) {
            errbuf_set(eb, "%s exit %d: %s", argv[0], res.exit_code, tail);
        } else {
            errbuf_set(eb, "%s killed by signal %d: %s", argv[0], res.term_signal, tail);
        }
        r = -EIO;
    } else if (r == -ETIMEDOUT) {
        errbuf_prefix(eb, "%s timed out after %llu ms", argv[0], (unsigned long long) timeout_ms);
    }
    if (ret_exit_code) {
        *ret_exit_code = res.exit_code;
    }
    if (out && r != -ENOENT && r != -EACCES) {
        *out = res.out;
        res.out = NULL;
    }
    proc_result_done(&res);
    for (size_t i = 0; i < ne; i++) {
        free(env[i]);
    }
    free(prog);
    return r;
}

int engine_write_file(struct engine *e, const char *path, const char *text, struct errbuf *eb)
{
    int r = fs_write_atomic(path, text, strlen(text), 0600, eb);

    if (r == 0 && (e->inst->uid >= 0 || e->inst->gid >= 0) &&
        chown(path, (uid_t) e->inst->uid, (gid_t) e->inst->gid) < 0) {
        r = -errno;
        errbuf_set(eb, "chown %s: %s", path, strerror(-r));
    }
    return r;
}

/* ---- configuration files ---- */

static int engine_write_rendered(struct engine *e, const char *name,
                                 int (*render)(const struct engine *, char **, struct errbuf *),
                                 struct errbuf *eb)
{
    char path[ENGINE_PATH_MAX + 32];
    char *text = NULL;
    int r = render(e, &text, eb);

    if (r < 0) {
        return r;
    }
    (void) snprintf(path, sizeof(path), "%s/%s", e->conf_dir, name);
    r = engine_write_file(e, path, text, eb);
    free(text);
    return r;
}

/* conf/postgresql.conf, conf/pg_hba.conf and conf/pgpass (which the copying tools need). */
int engine_write_conf_files(struct engine *e, struct errbuf *eb)
{
    int r = engine_mkdir_owned(e, e->conf_dir, eb);

    if (r == 0) {
        r = engine_write_rendered(e, "postgresql.conf", engine_render_conf, eb);
    }
    if (r == 0) {
        r = engine_write_rendered(e, "pg_hba.conf", engine_render_hba, eb);
    }
    if (r == 0) {
        r = engine_write_rendered(e, "pgpass", engine_render_pgpass, eb);
    }
    return r;
}

/* The managed files, and the data directory's postgresql.conf reduced to an include. */
static int engine_write_managed(struct engine *e, struct errbuf *eb)
{
    char path[ENGINE_PATH_MAX + 32];
    char *text;
    int r;

    r = engine_write_conf_files(e, eb);
    if (r < 0) {
        return r;
    }
    /* pg_basebackup, pg_rewind and gs_ctl build copy the source's file over this one. */
    text = xasprintf("# Written by og-agent before every start: the settings of this member\n"
                     "# live outside the data directory, where copies from a peer cannot\n"
                     "# overwrite them.\ninclude '%s/postgresql.conf'\n",
                     e->conf_dir);
    (void) snprintf(path, sizeof(path), "%s/postgresql.conf", e->data_dir);
    r = engine_write_file(e, path, text, eb);
    free(text);
    return r;
}

int engine_write_config(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    int r;

    if (access(e->data_dir, F_OK) < 0) {
        errbuf_set(eb, "no data directory %s", e->data_dir);
        return -ENOENT;
    }
    r = engine_write_managed(e, eb);
    if (r == 0 && e->drv->write_role_files) {
        r = e->drv->write_role_files(e, mode, eb);
    }
    return r;
}

/* ---- operations ---- */

int engine_init(struct engine *e, struct errbuf *eb)
{
    char pwfile[ENGINE_PATH_MAX + 32];
    char *pw;
    int r;

    r = engine_prepare(e, eb);
    if (r < 0 || engine_data_is_complete(e)) {
        return r;
    }
    /* Leftovers of an initdb that died half-way; initdb refuses a non-empty directory. */
    r = fs_remove_tree(e->data_dir, eb);
    if (r < 0) {
        return r;
    }
    (void) snprintf(pwfile, sizeof(pwfile), "%s/initdb.pw", e->conf_dir);
    pw = xasprintf("%s\n", e->inst->password);
    r = engine_write_file(e, pwfile, pw, eb);
    free(pw);
    if (r == 0) {
        r = e->drv->initdb(e, pwfile, eb);
    }
    (void) unlink(pwfile);
    return r;
}

int engine_start(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    struct engine_status st;
    struct errbuf ignored;
    int r;

    if (mode != ENGINE_MODE_PRIMARY && mode != ENGINE_MODE_STANDBY) {
        errbuf_set(eb, "start: no mode");
        return -EINVAL;
    }
    r = engine_status(e, &st, eb);
    if (r < 0 || st.running) {
        return r;
    }
    if (engine_exists(e->inst->base_dir, ENGINE_COPY_MARKER)) {
        errbuf_set(eb, "the copy into %s did not complete (%s/%s): it must be copied again",
                   e->data_dir, e->inst->base_dir, ENGINE_COPY_MARKER);
        return -EUCLEAN;
    }
    r = engine_restore_old(e, eb);
    if (r < 0) {
        return r;
    }
    if (!engine_data_is_complete(e)) {
        errbuf_set(eb, "no complete data directory in %s", e->data_dir);
        return -ENOENT;
    }
    r = engine_prepare(e, eb);
    if (r == 0) {
        r = engine_write_config(e, mode, eb);
    }
    if (r == 0 && e->inst->kind == ENGINE_KIND_POSTGRESQL) {
        pid_t stale = 0;

        /* Not running (engine_status above): a pid file left names a dead or foreign pid. */
        if (engine_read_pidfile(e, &stale) == 0) {
            engine_remove_lock_files(e);
        }
    }
    if (r == 0) {
        r = e->drv->start(e, mode, eb);
    }
    if (r == -EINPROGRESS || r == -EIO || r == -ETIMEDOUT) {
        /* pg_ctl gave up waiting; a postmaster that lives on is starting (crash recovery, a
         * standby not yet consistent): the probe follows it from here. */
        struct engine_status now;

        if (engine_status(e, &now, NULL) == 0 && now.running) {
            errbuf_prefix(eb, "started, not yet accepting connections");
            r = -EINPROGRESS;
        }
    }
    if (r == 0 || r == -EINPROGRESS) {
        (void) engine_remove_old(e, &ignored); /* the copy it replaced has started */
    }
    return r;
}

int engine_restart(struct engine *e, enum engine_mode mode, struct errbuf *eb)
{
    int r = engine_stop(e, eb);

    return r < 0 ? r : engine_start(e, mode, eb);
}

static int engine_require_running(struct engine *e, struct errbuf *eb)
{
    struct engine_status st;
    int r = engine_status(e, &st, eb);

    if (r == 0 && !st.running) {
        errbuf_set(eb, "instance %s is not running", e->inst->member);
        r = -ESRCH;
    }
    return r;
}

int engine_promote(struct engine *e, struct errbuf *eb)
{
    int r = engine_require_running(e, eb);

    return r < 0 ? r : e->drv->promote(e, eb);
}

int engine_demote(struct engine *e, struct errbuf *eb)
{
    return engine_restart(e, ENGINE_MODE_STANDBY, eb);
}

int engine_reload(struct engine *e, struct errbuf *eb)
{
    int r = engine_require_running(e, eb);

    if (r == 0) {
        r = engine_write_managed(e, eb);
    }
    return r < 0 ? r : e->drv->reload(e, eb);
}

int engine_switchover(struct engine *e, struct errbuf *eb)
{
    int r;

    if (!e->drv->switchover) {
        errbuf_set(eb, "%s has no switchover command", engine_kind_to_string(e->inst->kind));
        return -EOPNOTSUPP;
    }
    r = engine_require_running(e, eb);
    return r < 0 ? r : e->drv->switchover(e, eb);
}

int engine_query(struct engine *e, struct probe_result *res, struct errbuf *eb)
{
    if (!e->drv->query) {
        errbuf_set(eb, "%s has no query command", engine_kind_to_string(e->inst->kind));
        return -EOPNOTSUPP;
    }
    return e->drv->query(e, res, eb);
}

/*
 * agent/engine.h
 *
 * One interface over the database engines the agent supervises (DESIGN.md "Engines"): create,
 * start, stop, restart, promote, demote, rewind, rebuild, back up, reload and inspect one
 * instance. Two drivers implement it: "postgresql" (initdb, pg_ctl, pg_basebackup, pg_rewind,
 * standby.signal) and "opengauss" (gs_initdb, gs_ctl start -M, failover, switchover, build,
 * query, gs_basebackup). Every program runs through a struct proc_ops (fork/execve with an
 * argument array, never a shell, always with a deadline) as the instance's OS user.
 *
 * Configuration strategy (reference §8.3: pg_basebackup, pg_rewind and gs_ctl build copy the
 * source's postgresql.conf and postgresql.auto.conf, and pg_rewind -R drops application_name):
 * the agent owns every node-specific setting in files OUTSIDE the data directory,
 *   <base>/conf/postgresql.conf   listen address, port, socket, hba_file, replication,
 *                                 synchronous_standby_names, primary_conninfo or replconninfoN,
 *                                 archiving, logging, then the passthrough settings
 *   <base>/conf/pg_hba.conf       peer (PostgreSQL) / trust (openGauss, for gs_ctl) on the
 *                                 member's own 0700 socket directory only; scram-sha-256
 *                                 (openGauss: sha256) over TCP; replication only from members
 *   <base>/conf/pgpass            the password, for primary_conninfo, pg_basebackup, pg_rewind
 * all mode 0600 and owned by the instance's user, and before EVERY start (and reload) rewrites
 * <data>/postgresql.conf to one `include '<base>/conf/postgresql.conf'` line, empties
 * <data>/postgresql.auto.conf (ALTER SYSTEM is never used) and creates or removes
 * <data>/standby.signal for the role. `pg_ctl -o` (a shell inside pg_ctl) is never used.
 * The password never appears on a command line nor in postgresql.conf.
 *
 * Directory layout under base_dir (the member directory): data/ (PGDATA), conf/, run/ (the
 * Unix socket, 0700), log/ (server and pg_ctl logs), archive/ (WAL archive, unless
 * archive_dir says otherwise), backup/. engine_prepare creates them.
 *
 * Health probing over libpq is agent/probe.h; engine_query is the openGauss fallback that
 * scrapes `gs_ctl query` when SQL is unavailable.
 *
 * Layer: core+edge (rendering and argument building are pure; operations run programs).
 */
#ifndef OG_AGENT_ENGINE_H
#define OG_AGENT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "common/proc.h"
#include "proto/desired.h"
#include "proto/model.h"

#define ENGINE_PATH_MAX            512 /* any path the engine builds, with its terminator */
#define ENGINE_BASE_MAX            384 /* base_dir, bin_dir and archive_dir: room for what goes below */
#define ENGINE_MAX_PEERS           PROTO_MAX_INSTANCES
#define ENGINE_OG_REPLCONNINFO_MAX 7 /* replconninfo1..7, as the original operator */
#define ENGINE_BACKUP_OLD_PREFIX   "data.old-"
#define ENGINE_COPY_MARKER         "data.incomplete" /* <base>/: a copy into data/ under way */

/* Default timeouts (milliseconds); engine_instance_init sets them. */
#define ENGINE_START_TIMEOUT_MS   10000 /* pg_ctl start -w -t; a slower start goes on (probe) */
#define ENGINE_STOP_TIMEOUT_MS    30000 /* pg_ctl stop -m fast */
#define ENGINE_KILL_TIMEOUT_MS    10000 /* -m immediate, then SIGKILL by pid */
#define ENGINE_PROMOTE_TIMEOUT_MS 60000
#define ENGINE_BUILD_TIMEOUT_MS   3600000 /* initdb, pg_basebackup, pg_rewind, gs_ctl build */
#define ENGINE_CMD_TIMEOUT_MS     30000   /* reload, query */

enum engine_kind {
    ENGINE_KIND_UNKNOWN = 0,
    ENGINE_KIND_POSTGRESQL,
    ENGINE_KIND_OPENGAUSS,
    _ENGINE_KIND_MAX
};

/* The role an instance is started in. */
enum engine_mode {
    ENGINE_MODE_UNKNOWN = 0,
    ENGINE_MODE_PRIMARY, /* takes writes */
    ENGINE_MODE_STANDBY, /* follows inst->upstream; without one it idles (PG: standby.signal and
                            no primary_conninfo; openGauss: gs_ctl start -M pending) */
    _ENGINE_MODE_MAX
};

/* Another member of the cluster: replication peer (pg_hba, openGauss replconninfoN). */
struct engine_peer {
    char member[PROTO_NAME_MAX + 1];
    char host[PROTO_IP_MAX + 1];
    uint32_t port;
};

/* Deadlines of the operations, milliseconds (0 in a field means its default). */
struct engine_timeouts {
    uint64_t start_ms;   /* pg_ctl start -w -t */
    uint64_t stop_ms;    /* pg_ctl stop -m fast -w -t */
    uint64_t kill_ms;    /* pg_ctl stop -m immediate -w -t, and the SIGKILL wait after it */
    uint64_t promote_ms; /* pg_ctl promote -w -t, gs_ctl failover / switchover */
    uint64_t build_ms;   /* initdb, pg_basebackup, pg_rewind, gs_ctl build, backups */
    uint64_t cmd_ms;     /* reload, gs_ctl query */
};

/*
 * Everything the drivers need to know about one instance. Plain data, trivially copied; the
 * caller owns it and may change it between calls (a new upstream, a new sync set), then call
 * engine_reload or engine_start. Strings are validated by engine_instance_check.
 */
struct engine_instance {
    enum engine_kind kind;
    char bin_dir[ENGINE_PATH_MAX];        /* absolute: where initdb/pg_ctl or gs_* live */
    char base_dir[ENGINE_PATH_MAX];       /* absolute: the member directory (layout above) */
    char archive_dir[ENGINE_PATH_MAX];    /* absolute, or "" for <base>/archive */
    char member[PROTO_NAME_MAX + 1];      /* DNS label; PG application_name, sync names entry */
    char ip[PROTO_IP_MAX + 1];            /* listen address */
    uint32_t port;                        /* 1..65535 (openGauss: ..65530, it uses port+1..+5) */
    int uid, gid;                         /* OS user the programs run as; -1: ours */
    char superuser[PROTO_SECRET_MAX + 1]; /* [a-z_][a-z0-9_]*: database superuser, also the
                                             replication user */
    char password[PROTO_SECRET_MAX + 1];  /* its password (no control characters) */
    uint64_t term;                        /* openGauss -T <term> of failover/switchover; 0 none */
    bool has_upstream;                    /* STANDBY mode follows upstream when set */
    struct proto_upstream upstream;
    uint32_t n_peers; /* every other member (local site first, then remote), for pg_hba and
                         openGauss replconninfoN (at most ENGINE_OG_REPLCONNINFO_MAX used) */
    /* Peers unknown (the desired state does not list them yet): pg_hba admits replication
     * from any address, still with the password (scram-sha-256). */
    bool replication_from_any;
    struct engine_peer peers[ENGINE_MAX_PEERS];
    struct proto_sync sync; /* synchronous_standby_names = ANY num (names); num 0: '' */
    uint32_t n_config;      /* passthrough settings; keys the agent manages are refused */
    struct proto_kv config[PROTO_MAX_CONFIG];
    struct engine_timeouts timeouts;
    uint32_t copy_max_rate_kbps; /* pg_basebackup --max-rate of rebuilds (32..1048576; 0: none) */
};

/*
 * An open instance: the description (borrowed, must outlive e), its driver, the process
 * runner, and the derived paths. Filled by engine_open; no resources to release.
 */
struct engine {
    const struct engine_instance *inst;
    const struct engine_driver *drv;
    struct proc_ops proc;
    struct engine_timeouts t; /* inst->timeouts with the defaults filled in */
    char data_dir[ENGINE_PATH_MAX];
    char conf_dir[ENGINE_PATH_MAX];
    char run_dir[ENGINE_PATH_MAX];
    char log_dir[ENGINE_PATH_MAX];
    char archive_dir[ENGINE_PATH_MAX];
    char backup_dir[ENGINE_PATH_MAX];
};

/* What engine_status found on disk and in the process table. */
struct engine_status {
    bool data_present;    /* <data>/PG_VERSION and <data>/global/pg_control exist */
    bool running;         /* postmaster.pid names a live, non-zombie process of this data dir */
    int pid;              /* that process (0 when not running) */
    bool standby_signal;  /* <data>/standby.signal exists (PostgreSQL) */
    bool rebuild_left;    /* a <base>/data.old-* is left by an unfinished rebuild */
    bool copy_incomplete; /* <base>/data.incomplete: a pg_basebackup, pg_rewind or gs_ctl
                             build into data/ did not complete; data/ must not be started */
};

struct probe_result; /* agent/probe.h */

/* "postgresql", "opengauss" ("unknown" for 0). */
const char *engine_kind_to_string(enum engine_kind v);
/* 0, or -EINVAL for a name that is not an engine. */
int engine_kind_from_string(const char *s, enum engine_kind *ret);
/* "primary", "standby" ("unknown" for 0). */
const char *engine_mode_to_string(enum engine_mode v);

/* Zeroes inst, sets uid/gid to -1 and the default timeouts. */
void engine_instance_init(struct engine_instance *inst);

/*
 * Checks inst before anything is built from it: known kind; absolute paths of [A-Za-z0-9/._-]
 * only (they reach archive_command, a shell line run by the server); member, upstream and
 * sync names DNS labels; addresses IPv4/IPv6; ports; superuser [a-z_][a-z0-9_]*; password
 * without control characters; sync num <= n_names; passthrough keys [a-z_][a-z0-9_.]*, not
 * managed by the agent, values without control characters. 0 or -EINVAL with the field in eb.
 */
int engine_instance_check(const struct engine_instance *inst, struct errbuf *eb);

/*
 * Opens inst with the process runner proc (copied; NULL: proc_real): checks it, picks the
 * driver of inst->kind and derives the paths. inst is borrowed for the life of e.
 * 0 or -EINVAL (eb says why).
 */
int engine_open(struct engine *e, const struct engine_instance *inst, const struct proc_ops *proc,
                struct errbuf *eb);

/*
 * Creates base, conf, run, log, archive and backup directories (0700) owned by the instance's
 * user. Idempotent. 0 or -errno.
 */
int engine_prepare(struct engine *e, struct errbuf *eb);

/*
 * Creates the data directory: initdb with data checksums (-k), scram-sha-256 and the superuser
 * password from a 0600 file removed afterwards (openGauss: gs_initdb). A complete data
 * directory already there is success (idempotent); an incomplete one (a crash during initdb:
 * no PG_VERSION or global/pg_control) is removed first. 0 or -errno.
 */
int engine_init(struct engine *e, struct errbuf *eb);

/*
 * Starts the instance in mode: writes the managed configuration (engine_write_config), then
 * pg_ctl start -w -t (openGauss: gs_ctl start -M primary | standby | pending). Already running:
 * 0 without touching anything (the mode is not checked; see engine_demote). A data directory
 * whose copy did not complete (engine_copy_begin without engine_copy_end) is never started:
 * -EUCLEAN. A missing or incomplete data directory with a data.old-* beside it and no copy
 * marker (an interrupted rebuild of an older agent) is restored first; once started, any
 * data.old-* left is removed. -EINPROGRESS when the start wait (timeouts.start_ms) ran out
 * while the postmaster lives on (crash recovery, a standby not yet consistent): it is
 * started, and the probe says when it accepts connections. 0, -ENOENT (no data directory),
 * -EUCLEAN, -EINPROGRESS, -ETIMEDOUT, -EIO (eb: the tool's last words).
 */
int engine_start(struct engine *e, enum engine_mode mode, struct errbuf *eb);

/*
 * Stops the instance and makes sure it is gone (pg_auto_failover pg_ctl_stop semantics: a
 * missing data directory or a server already down is success; a failed stop after which the
 * server is down is success): pg_ctl stop -m fast -w -t (stop_ms); then -m immediate
 * (kill_ms); then SIGSTOP, SIGKILL and SIGCONT to the postmaster named by postmaster.pid and
 * to each of its children (and their process groups), a wait of up to kill_ms for it to die,
 * and removal of its postmaster.pid and socket lock files (a killed postmaster that its parent
 * has not reaped yet still answers kill(pid, 0), and the next start would refuse).
 * 0 or -ETIMEDOUT.
 */
int engine_stop(struct engine *e, struct errbuf *eb);

/*
 * Kills a hung instance at once: SIGSTOP, SIGKILL and SIGCONT to the postmaster named by
 * postmaster.pid and to its children (engine_stop's last resort, without the fast and
 * immediate attempts a frozen postmaster cannot answer), a wait of up to kill_ms, and removal
 * of its lock files. Like an immediate shutdown, the next start runs crash recovery. Not
 * running: 0. 0 or -ETIMEDOUT.
 */
int engine_kill(struct engine *e, struct errbuf *eb);

/* engine_stop then engine_start(mode). */
int engine_restart(struct engine *e, enum engine_mode mode, struct errbuf *eb);

/*
 * Promotes a standby: pg_ctl promote -w -t (openGauss: gs_ctl failover -w -t [-T term]). An
 * instance that is already a primary gives 0 (PostgreSQL: running without standby.signal;
 * openGauss: gs_ctl query says Primary). -ESRCH when it is not running, -ETIMEDOUT, -EIO.
 */
int engine_promote(struct engine *e, struct errbuf *eb);

/*
 * Turns a primary into a standby of inst->upstream (idle without one): clean stop, then start
 * as a standby. A diverged timeline will not stream: rewind (or rebuild) then. 0 or -errno.
 */
int engine_demote(struct engine *e, struct errbuf *eb);

/*
 * Resynchronises a diverged instance from inst->upstream (required) and leaves it stopped:
 * stop, write the configuration (without standby.signal: pg_rewind's single-user crash
 * recovery refuses it), CHECKPOINT on the source (a just-promoted source shows its new
 * timeline in pg_control only after one, and pg_rewind would otherwise find nothing to do),
 * then pg_rewind --target-pgdata --source-server=<conninfo>, without -R. openGauss: gs_ctl
 * build -b incremental, which restarts it as a standby itself. Start it afterwards with
 * engine_start(ENGINE_MODE_STANDBY). The tool runs inside the copy marker (engine_copy_begin),
 * written once the source answered the CHECKPOINT: a rewind that fails after that point may
 * have changed data/, which then needs a full copy. 0 or -errno.
 */
int engine_rewind(struct engine *e, struct errbuf *eb);

/*
 * Full copy from inst->upstream (required), then started as its standby: stop, write the copy
 * marker, move data/ to data.old-<unix seconds>, pg_basebackup -X stream -c fast, remove the
 * marker, start, remove data.old-*. On a copy failure the partial copy is removed, the marker
 * stays (data/ is not startable) and the old data directory stays aside until a later copy
 * has started. Resumes after a crash: a data.old-* left means the copy is redone from
 * scratch. openGauss: gs_ctl build -b full -M standby (gs_ctl manages the data directory
 * itself), inside the same marker. 0, -EINPROGRESS (copied, started, not yet accepting
 * connections: see engine_start) or -errno.
 */
int engine_rebuild(struct engine *e, struct errbuf *eb);

/*
 * The copy marker <base>/data.incomplete (fsync'ed): written with what (a tool's name) before
 * a tool starts writing into data/ (pg_basebackup, pg_rewind, gs_ctl build), removed by
 * engine_copy_end once it succeeded. While it exists engine_start refuses the data directory
 * and engine_status reports copy_incomplete: an agent killed during a copy, or a copy whose
 * source died, never starts a half-copied or half-rewound directory. 0 or -errno.
 */
int engine_copy_begin(struct engine *e, const char *what, struct errbuf *eb);
/* Removes the copy marker (a missing one is fine). 0 or -errno. */
int engine_copy_end(struct engine *e, struct errbuf *eb);

/*
 * Base backup of from (NULL: this instance) into dest_dir (absolute, must not exist or be
 * empty; created with its parents), as compressed tar: pg_basebackup -F t -z -X fetch -c fast
 * (openGauss: gs_basebackup -F tar -z -X fetch). 0 or -errno.
 */
int engine_backup(struct engine *e, const struct proto_upstream *from, const char *dest_dir,
                  struct errbuf *eb);

/*
 * Rewrites the managed configuration and asks the server to reload it (pg_ctl reload /
 * gs_ctl reload): new sync set, new upstream (PG ≥ 13 reloads primary_conninfo), new
 * passthrough values. Settings that need a restart keep their old value until one.
 * -ESRCH when not running, else 0 or -errno.
 */
int engine_reload(struct engine *e, struct errbuf *eb);

/*
 * Planned switchover run on the standby that takes over: openGauss gs_ctl switchover -m fast
 * -w -t [-T term]. PostgreSQL has no such command: -EOPNOTSUPP (the arbiter composes fence,
 * catch-up, promote and demote instead).
 */
int engine_switchover(struct engine *e, struct errbuf *eb);

/*
 * What the disk and the process table say, without connecting: see struct engine_status.
 * Running is decided as pg_ctl status decides it (postmaster.pid, then kill(pid, 0); its
 * exit 3 "no server running" is running == false here), in-process for both engines, plus
 * two checks pg_ctl lacks: a zombie is not running, and the pid must be this data
 * directory's postmaster (its working directory), not a reused pid. Never fails for a
 * missing data directory (all false). 0.
 */
int engine_status(struct engine *e, struct engine_status *ret, struct errbuf *eb);

/*
 * The last WAL position of a cleanly stopped instance: the location of its shutdown
 * checkpoint (pg_controldata), which a standby has replayed once its replay position passed
 * it. 0; -EAGAIN when the data directory was not shut down cleanly (then no position is
 * final); -EIO/-ENOENT with eb when pg_controldata failed or said nothing usable.
 */
int engine_last_lsn(struct engine *e, uint64_t *ret_lsn, struct errbuf *eb);
/* Parses pg_controldata output (core, for tests): as engine_last_lsn. */
int engine_parse_controldata(const char *text, uint64_t *ret_lsn);

/*
 * Writes the managed files (conf/postgresql.conf, conf/pg_hba.conf, conf/pgpass), points
 * data/postgresql.conf at them, empties data/postgresql.auto.conf and sets standby.signal for
 * mode (PostgreSQL). Needs the data directory. 0 or -errno.
 */
int engine_write_config(struct engine *e, enum engine_mode mode, struct errbuf *eb);

/*
 * Looks in the server's current log (the newest <log>/postgresql-*.log, its last 64 KiB) for
 * the last line containing needle that comes after the last line containing since (NULL:
 * anywhere), and copies it into line[size] (trimmed, truncated). true when found. For
 * diagnosis only: a missing or unreadable log is "not found".
 */
bool engine_log_find(const struct engine *e, const char *needle, const char *since, char *line,
                     size_t size);

/*
 * openGauss fallback when SQL is unavailable: runs gs_ctl query and parses it into res (see
 * engine_og_parse_query). PostgreSQL: -EOPNOTSUPP. 0 or -errno.
 */
int engine_query(struct engine *e, struct probe_result *res, struct errbuf *eb);

/* ---- Pure rendering, exposed for tests and for the ops socket's "show config". ---- */

/*
 * The managed postgresql.conf for e's instance; *ret_text is heap text owned by the caller
 * (free()). 0 or -EINVAL (a value that cannot be quoted).
 */
int engine_render_conf(const struct engine *e, char **ret_text, struct errbuf *eb);
/* The managed pg_hba.conf; *ret_text owned by the caller. 0. */
int engine_render_hba(const struct engine *e, char **ret_text, struct errbuf *eb);
/* The pgpass file ("*:*:*:<user>:<password>" with ':' and '\' escaped); owned by the caller. */
int engine_render_pgpass(const struct engine *e, char **ret_text, struct errbuf *eb);

/*
 * A postgresql.conf string literal: '...' with ' doubled and \ doubled, into buf[size].
 * 0, -EINVAL (control character) or -ENAMETOOLONG.
 */
int engine_conf_quote(const char *value, char *buf, size_t size);

/*
 * The value of synchronous_standby_names for s: `ANY <num> ("a", "b")`, or "" when num or
 * n_names is 0. 0 or -ENAMETOOLONG.
 */
int engine_render_sync_names(const struct proto_sync *s, char *buf, size_t size);

/*
 * A libpq connection string to host:port as the superuser with the pgpass file, the member's
 * application_name, keepalives, and dbname when not NULL, into buf[size]. 0 or -ENAMETOOLONG.
 */
int engine_render_conninfo(const struct engine *e, const char *host, uint32_t port,
                           const char *dbname, char *buf, size_t size);

/*
 * Parses `gs_ctl query` text (HA state, Senders info, Receiver info; any indentation, with or
 * without gs_ctl's log prefixes) into res: up, local_role, db_state, detail, in_recovery (role
 * Standby, Cascade Standby or Pending), the receiver's received/replayed LSNs, one replica per
 * sender (client_addr from the channel, state, sync_state, sent/flush/replay LSNs; gs_ctl
 * does not print application names). Pure. 0, or -EINVAL when there is no "HA state" block.
 */
int engine_og_parse_query(const char *text, struct probe_result *res);

/* ---- Driver interface (engine_pg.c, engine_og.c); not for callers. ---- */

/* A growable text buffer for rendering (inputs are bounded by struct engine_instance). */
struct engine_text {
    char *data;
    size_t len;
    size_t cap;
};

/* Appends formatted text (aborts on OOM like xmalloc). */
void engine_text_printf(struct engine_text *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Appends "key = <quoted value>\n"; 0 or -EINVAL/-ENAMETOOLONG from engine_conf_quote. */
int engine_text_setting(struct engine_text *t, const char *key, const char *value);
/* Frees t's buffer and resets it (NULL-safe). */
void engine_text_done(struct engine_text *t);

/* One engine's commands and rules. Drivers get a configured, validated e. */
struct engine_driver {
    enum engine_kind kind;
    const char *hba_method;          /* TCP authentication method */
    const char *local_method;        /* Unix-socket authentication method */
    const char *const *managed_keys; /* NULL-terminated: settings passthrough may not set */
    /* The body of conf/postgresql.conf. */
    int (*render_conf)(const struct engine *e, struct engine_text *t, struct errbuf *eb);
    /* Role files in the data directory for mode (PG: standby.signal); may be NULL. */
    int (*write_role_files)(struct engine *e, enum engine_mode mode, struct errbuf *eb);
    int (*initdb)(struct engine *e, const char *pwfile, struct errbuf *eb);
    int (*start)(struct engine *e, enum engine_mode mode, struct errbuf *eb);
    /* One stop attempt in mode "fast" or "immediate", bounded by timeout_ms. */
    int (*stop)(struct engine *e, const char *mode, uint64_t timeout_ms, struct errbuf *eb);
    int (*promote)(struct engine *e, struct errbuf *eb);
    int (*rewind)(struct engine *e, struct errbuf *eb);
    /* The copy step of a rebuild; in_place: the driver keeps the data dir (gs_ctl build). */
    int (*rebuild)(struct engine *e, struct errbuf *eb);
    bool rebuild_in_place;
    int (*backup)(struct engine *e, const char *host, uint32_t port, const char *dest,
                  struct errbuf *eb);
    int (*reload)(struct engine *e, struct errbuf *eb);
    int (*switchover)(struct engine *e, struct errbuf *eb); /* NULL: unsupported */
    int (*query)(struct engine *e, struct probe_result *res, struct errbuf *eb); /* NULL */
};

extern const struct engine_driver engine_driver_pg;
extern const struct engine_driver engine_driver_og;

/*
 * Runs bin_dir/<prog> with argv (argv[0] is replaced by the full path) as the instance's user
 * in base_dir, with a clean environment (PATH, LC_ALL=C, HOME, PGPASSFILE, and for openGauss
 * GAUSSHOME and LD_LIBRARY_PATH) and timeout_ms. 0 when it exited 0; -EIO for another exit
 * (*ret_exit_code set when not NULL; eb "<prog> exit N: <output tail>"); -ETIMEDOUT; exec
 * errors as proc_run. When out is not NULL, the captured stdout is returned there (owned).
 */
int engine_run(struct engine *e, const char *const *argv, uint64_t timeout_ms, int *ret_exit_code,
               char **out, struct errbuf *eb);

/* pg_ctl's -t value for a timeout: whole seconds, at least 1, as text into buf. */
void engine_seconds_arg(uint64_t timeout_ms, char *buf, size_t size);

/* Writes text to path with mode 0600 atomically and gives it to the instance's user. */
int engine_write_file(struct engine *e, const char *path, const char *text, struct errbuf *eb);

#endif

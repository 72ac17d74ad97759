/*
 * tests/unit/test_engine_og.c
 *
 * The openGauss driver without openGauss: a fake process runner records every command line
 * and answers from a script, so each operation's exact argv is checked; the managed
 * postgresql.conf carries replconninfoN lines as the original operator writes them (reference
 * §7.4); real `gs_ctl query` samples (tests/data/gs_ctl/) parse into probe results; and the
 * stop escalation is run against a real child process standing in for a frozen postmaster.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/probe.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"
#include "tests/support/testutil.h"

#define FAKE_MAX_CALLS  32
#define FAKE_MAX_SCRIPT 8

/* One scripted answer: the first entry whose match is in the command line is used. */
struct fake_answer {
    const char *match;
    int exit_code;
    const char *out;
    void (*hook)(void);
};

struct fake_proc {
    int n_calls;
    char *lines[FAKE_MAX_CALLS]; /* argv joined with ' ', argv[0] as given */
    char env[1024];              /* envp of the last call, joined with ' ' */
    char cwd[512];
    int uid, gid;
    uint64_t timeout_ms;
    struct fake_answer script[FAKE_MAX_SCRIPT];
    int n_script;
};

static struct fake_proc fake;
static char tmpdir[256];
static char bindir[300];
static pid_t children[8];
static int n_children;

static void fake_reset(void)
{
    for (int i = 0; i < fake.n_calls; i++) {
        free(fake.lines[i]);
    }
    memset(&fake, 0, sizeof(fake));
}

static void fake_answer(const char *match, int exit_code, const char *out, void (*hook)(void))
{
    fake.script[fake.n_script++] = (struct fake_answer){match, exit_code, out, hook};
}

static void fake_join(const char *const *v, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; v && v[i]; i++) {
        int n = snprintf(buf + o, size - o, "%s%s", i ? " " : "", v[i]);
        if (n < 0 || (size_t) n >= size - o) {
            break;
        }
        o += (size_t) n;
    }
}

static int fake_run(const struct proc_spec *spec, struct proc_result *ret, struct errbuf *eb,
                    void *data)
{
    char line[2048];

    (void) data;
    memset(ret, 0, sizeof(*ret));
    fake_join(spec->argv, line, sizeof(line));
    fake_join(spec->envp, fake.env, sizeof(fake.env));
    snprintf(fake.cwd, sizeof(fake.cwd), "%s", spec->cwd ? spec->cwd : "");
    fake.uid = spec->uid;
    fake.gid = spec->gid;
    fake.timeout_ms = spec->timeout_ms;
    if (fake.n_calls < FAKE_MAX_CALLS) {
        fake.lines[fake.n_calls++] = xstrdup(line);
    }
    for (int i = 0; i < fake.n_script; i++) {
        if (!strstr(line, fake.script[i].match)) {
            continue;
        }
        if (fake.script[i].hook) {
            fake.script[i].hook();
        }
        ret->exit_code = fake.script[i].exit_code;
        if (fake.script[i].exit_code < 0) {
            return fake.script[i].exit_code; /* an exec failure: -ENOENT */
        }
        ret->out = xstrdup(fake.script[i].out ? fake.script[i].out : "");
        ret->out_len = strlen(ret->out);
        if (ret->exit_code) {
            errbuf_set(eb, "exit %d", ret->exit_code);
        }
        return 0;
    }
    ret->out = xstrdup("");
    return 0;
}

static const struct proc_ops fake_ops = {.run = fake_run, .data = NULL};

/* The recorded command line i with the test's directories replaced by $BIN and $TMP. */
static const char *fake_line(int i)
{
    static char buf[2048];
    const char *in;
    size_t o = 0;

    if (i >= fake.n_calls) {
        return "<none>";
    }
    in = fake.lines[i];
    while (*in && o + 8 < sizeof(buf)) {
        if (strncmp(in, bindir, strlen(bindir)) == 0) {
            o += (size_t) snprintf(buf + o, sizeof(buf) - o, "$BIN");
            in += strlen(bindir);
        } else if (strncmp(in, tmpdir, strlen(tmpdir)) == 0) {
            o += (size_t) snprintf(buf + o, sizeof(buf) - o, "$TMP");
            in += strlen(tmpdir);
        } else {
            buf[o++] = *in++;
        }
    }
    buf[o] = '\0';
    return buf;
}

#define ASSERT_LINE(i, expected)                                                    \
    do {                                                                            \
        const char *got_ = fake_line(i);                                            \
        if (strcmp(got_, expected) != 0)                                            \
            fprintf(stderr, "\n  call %d: %s\n  want:    %s\n", i, got_, expected); \
        CU_ASSERT_STRING_EQUAL(got_, expected);                                     \
    } while (0)

static void og_instance(struct engine_instance *in)
{
    engine_instance_init(in);
    in->kind = ENGINE_KIND_OPENGAUSS;
    snprintf(in->bin_dir, sizeof(in->bin_dir), "%s", bindir);
    snprintf(in->base_dir, sizeof(in->base_dir), "%s/c-1", tmpdir);
    snprintf(in->member, sizeof(in->member), "c-1");
    snprintf(in->ip, sizeof(in->ip), "10.0.0.1");
    in->port = 5432;
    snprintf(in->superuser, sizeof(in->superuser), "omm");
    snprintf(in->password, sizeof(in->password), "Pa:ss\\w0rd'");
    in->term = 7;
    in->n_peers = 2;
    in->peers[0] = (struct engine_peer){"c-2", "10.0.0.2", 5432};
    in->peers[1] = (struct engine_peer){"c-3", "10.0.0.3", 6432};
    in->timeouts.start_ms = 60000;
    in->timeouts.stop_ms = 3000;
    in->timeouts.kill_ms = 2000;
    in->timeouts.promote_ms = 60000;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A data directory that engine_status calls complete. */
static void make_data(struct engine *e)
{
    char path[1024];

    CU_ASSERT_EQUAL_FATAL(engine_prepare(e, NULL), 0);
    mkdir(e->data_dir, 0700);
    snprintf(path, sizeof(path), "%s/global", e->data_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/PG_VERSION", e->data_dir);
    write_text(path, "9.2\n");
    snprintf(path, sizeof(path), "%s/global/pg_control", e->data_dir);
    write_text(path, "x");
}

/* A child sitting in dir (a postmaster's working directory is its data directory). */
static pid_t spawn_sleeper(const char *dir)
{
    int fds[2];
    char c;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (chdir(dir) < 0) {
            _exit(126);
        }
        (void) write(fds[1], "x", 1);
        close(fds[1]);
        execl("/bin/sleep", "sleep", "60", (char *) NULL);
        _exit(127);
    }
    close(fds[1]);
    CU_ASSERT_EQUAL(read(fds[0], &c, 1), 1);
    close(fds[0]);
    if (n_children < 8) {
        children[n_children++] = pid;
    }
    return pid;
}

static void write_pidfile(struct engine *e, pid_t pid)
{
    char path[1024], text[64];

    snprintf(path, sizeof(path), "%s/postmaster.pid", e->data_dir);
    snprintf(text, sizeof(text), "%d\n%s\n1700000000\n5432\n", (int) pid, e->data_dir);
    write_text(path, text);
}

static void reset_base(void)
{
    char base[512];

    snprintf(base, sizeof(base), "%s/c-1", tmpdir);
    (void) tu_rmtree(base);
    fake_reset();
}

static char *read_conf(struct engine *e, const char *name)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", e->conf_dir, name);
    return tu_read_file(path);
}

/* ---- configuration ---- */

static void test_engine_og_replconninfo_lines(void)
{
    struct engine_instance in;
    struct engine e;
    char *conf = NULL;

    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(engine_render_conf(&e, &conf, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(
            strstr(conf, "\nreplconninfo1 = 'localhost=10.0.0.1 localport=5433 localservice=5436 "
                         "localheartbeatport=5437 remotehost=10.0.0.2 remoteport=5433 "
                         "remoteservice=5436 remoteheartbeatport=5437'\n"));
    CU_ASSERT_PTR_NOT_NULL(
            strstr(conf, "\nreplconninfo2 = 'localhost=10.0.0.1 localport=5433 localservice=5436 "
                         "localheartbeatport=5437 remotehost=10.0.0.3 remoteport=6433 "
                         "remoteservice=6436 remoteheartbeatport=6437'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nreplconninfo3 = ''\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nreplconninfo7 = ''\n"));
    CU_ASSERT_PTR_NULL(strstr(conf, "replconninfo8"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\napplication_name = 'c-1'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nlisten_addresses = '10.0.0.1'\nport = 5432\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nsynchronous_standby_names = ''\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nwal_level = hot_standby\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "/c-1/run'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nunix_socket_directory = '"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "/c-1/archive/%f && cp %p "));
    CU_ASSERT_PTR_NULL(strstr(conf, "Pa:ss")); /* the password stays out */
    free(conf);
}

static void test_engine_og_upstream_first_and_sync(void)
{
    struct engine_instance in;
    struct engine e;
    char *conf = NULL;

    og_instance(&in);
    in.has_upstream = true;
    in.upstream = (struct proto_upstream){"c-3", "10.0.0.3", 6432};
    in.sync.num = 1;
    in.sync.n_names = 2;
    snprintf(in.sync.names[0], sizeof(in.sync.names[0]), "c-2");
    snprintf(in.sync.names[1], sizeof(in.sync.names[1]), "c-3");
    in.n_config = 1;
    snprintf(in.config[0].key, sizeof(in.config[0].key), "shared_buffers");
    snprintf(in.config[0].value, sizeof(in.config[0].value), "1GB'x");
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(engine_render_conf(&e, &conf, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nreplconninfo1 = 'localhost=10.0.0.1 localport=5433 "
                                        "localservice=5436 localheartbeatport=5437 "
                                        "remotehost=10.0.0.3 remoteport=6433"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nreplconninfo2 = 'localhost=10.0.0.1 localport=5433 "
                                        "localservice=5436 localheartbeatport=5437 "
                                        "remotehost=10.0.0.2 remoteport=5433"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nreplconninfo3 = ''\n"));
    CU_ASSERT_PTR_NOT_NULL(
            strstr(conf, "\nsynchronous_standby_names = 'ANY 1 (\"c-2\", \"c-3\")'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\nshared_buffers = '1GB''x'\n"));
    free(conf);
}

static void test_engine_og_hba_and_pgpass(void)
{
    struct engine_instance in;
    struct engine e;
    char *hba = NULL, *pass = NULL;

    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    CU_ASSERT_EQUAL(engine_render_hba(&e, &hba, NULL), 0);
    CU_ASSERT_EQUAL(engine_render_pgpass(&e, &pass, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hba, "\nlocal   all          all"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hba, "host    replication  omm          10.0.0.2/32"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hba, "host    replication  omm          10.0.0.3/32"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hba, "0.0.0.0/0                sha256\n"));
    /* trust only on the local socket (a 0700 directory of the instance's user) */
    for (char *line = hba; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strstr(line, "trust") && strstr(line, "trust") < strchr(line, '\n')) {
            CU_ASSERT_EQUAL(strncmp(line, "local ", 6), 0);
        }
    }
    CU_ASSERT_STRING_EQUAL(pass, "*:*:*:omm:Pa\\:ss\\\\w0rd'\n");
    free(hba);
    free(pass);
}

static void test_engine_og_rejects_bad_instances(void)
{
    struct engine_instance in;
    struct engine e;
    struct errbuf eb;

    og_instance(&in);
    in.n_config = 1;
    snprintf(in.config[0].key, sizeof(in.config[0].key), "replconninfo1");
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "managed"));
    og_instance(&in);
    snprintf(in.base_dir, sizeof(in.base_dir), "%s/a b", tmpdir);
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    snprintf(in.base_dir, sizeof(in.base_dir), "%s/x;rm", tmpdir);
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    in.port = 65533; /* port + 5 would overflow */
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    in.sync.num = 2;
    in.sync.n_names = 1;
    snprintf(in.sync.names[0], sizeof(in.sync.names[0]), "c-2");
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    snprintf(in.superuser, sizeof(in.superuser), "omm; drop");
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    snprintf(in.password, sizeof(in.password), "a\nb");
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
    og_instance(&in);
    snprintf(in.ip, sizeof(in.ip), "10.0.0.256");
    CU_ASSERT_EQUAL(engine_open(&e, &in, &fake_ops, &eb), -EINVAL);
}

/* ---- command lines ---- */

static void test_engine_og_start_modes(void)
{
    struct engine_instance in;
    struct engine e;
    struct stat st;
    char *text;
    char path[1024];

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_PRIMARY, NULL), 0);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_STANDBY, NULL), 0);
    in.has_upstream = true;
    in.upstream = (struct proto_upstream){"c-2", "10.0.0.2", 5432};
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_STANDBY, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 3);
    ASSERT_LINE(0, "$BIN/gs_ctl start -D $TMP/c-1/data -M primary -w -t 60 -l "
                   "$TMP/c-1/log/startup.log");
    ASSERT_LINE(1, "$BIN/gs_ctl start -D $TMP/c-1/data -M pending -w -t 60 -l "
                   "$TMP/c-1/log/startup.log");
    ASSERT_LINE(2, "$BIN/gs_ctl start -D $TMP/c-1/data -M standby -w -t 60 -l "
                   "$TMP/c-1/log/startup.log");
    /* The environment is clean and names the tools' home; programs run in the member dir. */
    CU_ASSERT_PTR_NOT_NULL(strstr(fake.env, "LC_ALL=C"));
    CU_ASSERT_PTR_NOT_NULL(strstr(fake.env, "PGPASSFILE="));
    CU_ASSERT_PTR_NOT_NULL(strstr(fake.env, "GAUSSHOME="));
    CU_ASSERT_PTR_NOT_NULL(strstr(fake.env, "LD_LIBRARY_PATH="));
    CU_ASSERT_PTR_NULL(strstr(fake.env, "Pa:ss"));
    CU_ASSERT_PTR_NOT_NULL(strstr(fake.cwd, "/c-1"));
    CU_ASSERT_EQUAL(fake.uid, -1);
    CU_ASSERT_EQUAL(fake.timeout_ms, 65000);
    /* The data directory's postgresql.conf is one include of the managed file, 0600. */
    snprintf(path, sizeof(path), "%s/postgresql.conf", e.data_dir);
    text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ninclude '"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "/c-1/conf/postgresql.conf'\n"));
    free(text);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/pgpass", e.conf_dir);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    text = read_conf(&e, "postgresql.conf");
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "remotehost=10.0.0.2"));
    free(text);
}

static void test_engine_og_start_needs_data(void)
{
    struct engine_instance in;
    struct engine e;
    struct errbuf eb;

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_PRIMARY, &eb), -ENOENT);
    CU_ASSERT_EQUAL(fake.n_calls, 0);
    /* An exec failure comes back as such. */
    make_data(&e);
    fake_answer("gs_ctl start", -ENOENT, NULL, NULL);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_PRIMARY, &eb), -ENOENT);
    fake_reset();
    fake_answer("gs_ctl start", 1, "gs_ctl: could not start server", NULL);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_PRIMARY, &eb), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "could not start server"));
}

static char initdb_pwfile_seen[256];

static void capture_pwfile(void)
{
    char path[512];
    char *text;

    snprintf(path, sizeof(path), "%s/c-1/conf/initdb.pw", tmpdir);
    text = tu_read_file(path);
    snprintf(initdb_pwfile_seen, sizeof(initdb_pwfile_seen), "%s", text ? text : "<none>");
    free(text);
}

static void test_engine_og_initdb(void)
{
    struct engine_instance in;
    struct engine e;
    char path[512];

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    fake_answer("gs_initdb", 0, "", capture_pwfile);
    CU_ASSERT_EQUAL(engine_init(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 1);
    ASSERT_LINE(0, "$BIN/gs_initdb -D $TMP/c-1/data --nodename=c_1 -U omm "
                   "--pwfile=$TMP/c-1/conf/initdb.pw -E UTF-8 --locale=C");
    CU_ASSERT_STRING_EQUAL(initdb_pwfile_seen, "Pa:ss\\w0rd'\n");
    snprintf(path, sizeof(path), "%s/initdb.pw", e.conf_dir);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* removed afterwards */
    /* A complete data directory: nothing to do. */
    make_data(&e);
    fake_reset();
    CU_ASSERT_EQUAL(engine_init(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 0);
}

static void test_engine_og_build_backup_and_query(void)
{
    struct engine_instance in;
    struct engine e;
    struct errbuf eb;

    reset_base();
    og_instance(&in);
    in.has_upstream = true;
    in.upstream = (struct proto_upstream){"c-2", "10.0.0.2", 5432};
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    CU_ASSERT_EQUAL(engine_rebuild(&e, NULL), 0);
    CU_ASSERT_EQUAL(engine_rewind(&e, NULL), 0);
    CU_ASSERT_EQUAL(engine_backup(&e, &in.upstream, "/backups/c-1/b1", NULL), 0);
    CU_ASSERT_EQUAL(engine_backup(&e, NULL, "/backups/c-1/b2", NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 4);
    ASSERT_LINE(0, "$BIN/gs_ctl build -D $TMP/c-1/data -b full -M standby");
    ASSERT_LINE(1, "$BIN/gs_ctl build -D $TMP/c-1/data -b incremental -M standby");
    ASSERT_LINE(2, "$BIN/gs_basebackup -D /backups/c-1/b1 -h 10.0.0.2 -p 5432 -U omm -F tar -z "
                   "-X fetch");
    ASSERT_LINE(3, "$BIN/gs_basebackup -D /backups/c-1/b2 -h 10.0.0.1 -p 5432 -U omm -F tar -z "
                   "-X fetch");
    CU_ASSERT_EQUAL(engine_backup(&e, NULL, "relative/dir", &eb), -EINVAL);
    in.has_upstream = false;
    CU_ASSERT_EQUAL(engine_rebuild(&e, &eb), -EINVAL); /* nothing to copy from */
    /* Not running: reload and switchover refuse before running anything. */
    fake_reset();
    CU_ASSERT_EQUAL(engine_reload(&e, &eb), -ESRCH);
    CU_ASSERT_EQUAL(engine_switchover(&e, &eb), -ESRCH);
    CU_ASSERT_EQUAL(fake.n_calls, 0);
}

static const char query_standby[] = " HA state:\n"
                                    "     local_role                     : Standby\n"
                                    "     db_state                       : Normal\n";
static const char query_primary[] = " HA state:\n"
                                    "     local_role                     : Primary\n"
                                    "     db_state                       : Normal\n";

static void test_engine_og_running_commands(void)
{
    struct engine_instance in;
    struct engine e;
    struct engine_status st;

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    write_pidfile(&e, spawn_sleeper(e.data_dir));
    CU_ASSERT_EQUAL(engine_status(&e, &st, NULL), 0);
    CU_ASSERT_TRUE(st.running);
    CU_ASSERT_TRUE(st.data_present);
    fake_answer("gs_ctl query", 0, query_standby, NULL);
    CU_ASSERT_EQUAL(engine_promote(&e, NULL), 0);
    CU_ASSERT_EQUAL(engine_switchover(&e, NULL), 0);
    CU_ASSERT_EQUAL(engine_reload(&e, NULL), 0);
    CU_ASSERT_EQUAL(engine_start(&e, ENGINE_MODE_PRIMARY, NULL), 0); /* running: nothing */
    CU_ASSERT_EQUAL(fake.n_calls, 4);
    ASSERT_LINE(0, "$BIN/gs_ctl query -D $TMP/c-1/data");
    ASSERT_LINE(1, "$BIN/gs_ctl failover -D $TMP/c-1/data -w -t 60 -T 7");
    ASSERT_LINE(2, "$BIN/gs_ctl switchover -D $TMP/c-1/data -m fast -w -t 60 -T 7");
    ASSERT_LINE(3, "$BIN/gs_ctl reload -D $TMP/c-1/data");
    /* Already primary: promote is a no-op after the query. */
    fake_reset();
    fake_answer("gs_ctl query", 0, query_primary, NULL);
    CU_ASSERT_EQUAL(engine_promote(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 1);
    /* Without a term, no -T. */
    fake_reset();
    in.term = 0;
    fake_answer("gs_ctl query", 0, query_standby, NULL);
    CU_ASSERT_EQUAL(engine_promote(&e, NULL), 0);
    ASSERT_LINE(1, "$BIN/gs_ctl failover -D $TMP/c-1/data -w -t 60");
}

static pid_t victim;

static void kill_victim(void)
{
    (void) kill(victim, SIGKILL);
}

static void test_engine_og_stop_fast(void)
{
    struct engine_instance in;
    struct engine e;
    int status = 0;

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    /* Not running: success without a command. */
    CU_ASSERT_EQUAL(engine_stop(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 0);
    victim = spawn_sleeper(e.data_dir);
    write_pidfile(&e, victim);
    fake_answer("-m fast", 0, "server stopped", kill_victim);
    CU_ASSERT_EQUAL(engine_stop(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 1);
    ASSERT_LINE(0, "$BIN/gs_ctl stop -D $TMP/c-1/data -m fast -w -t 3");
    CU_ASSERT_EQUAL(waitpid(victim, &status, 0), victim);
}

static void test_engine_og_stop_escalates_to_sigkill(void)
{
    struct engine_instance in;
    struct engine e;
    struct engine_status st;
    uint64_t t0;
    int status = 0;

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    victim = spawn_sleeper(e.data_dir);
    write_pidfile(&e, victim);
    (void) kill(victim, SIGSTOP); /* a frozen postmaster */
    fake_answer("-m fast", 1, "server does not shut down", NULL);
    fake_answer("-m immediate", 1, "server does not shut down", NULL);
    t0 = tu_now_ms();
    CU_ASSERT_EQUAL(engine_stop(&e, NULL), 0);
    CU_ASSERT(tu_now_ms() - t0 < 5000);
    CU_ASSERT_EQUAL(fake.n_calls, 2);
    ASSERT_LINE(0, "$BIN/gs_ctl stop -D $TMP/c-1/data -m fast -w -t 3");
    ASSERT_LINE(1, "$BIN/gs_ctl stop -D $TMP/c-1/data -m immediate -w -t 2");
    CU_ASSERT_EQUAL(waitpid(victim, &status, 0), victim);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CU_ASSERT_EQUAL(engine_status(&e, &st, NULL), 0);
    CU_ASSERT_FALSE(st.running);
}

static void test_engine_og_stale_pidfile(void)
{
    struct engine_instance in;
    struct engine e;
    struct engine_status st;
    pid_t other;

    reset_base();
    og_instance(&in);
    CU_ASSERT_EQUAL_FATAL(engine_open(&e, &in, &fake_ops, NULL), 0);
    make_data(&e);
    /* The pid in the file now belongs to a process elsewhere: not our postmaster. */
    other = spawn_sleeper("/");
    write_pidfile(&e, other);
    CU_ASSERT_EQUAL(engine_status(&e, &st, NULL), 0);
    CU_ASSERT_FALSE(st.running);
    CU_ASSERT_EQUAL(engine_stop(&e, NULL), 0);
    CU_ASSERT_EQUAL(fake.n_calls, 0);
    CU_ASSERT_TRUE(tu_pid_alive(other)); /* untouched */
    /* Our own pid is never taken for the postmaster either. */
    write_pidfile(&e, getpid());
    CU_ASSERT_EQUAL(engine_status(&e, &st, NULL), 0);
    CU_ASSERT_FALSE(st.running);
}

/* ---- gs_ctl query samples ---- */

static struct probe_result *parse_sample(const char *name)
{
    static struct probe_result res;
    char path[512];
    char *text;
    int r;

    snprintf(path, sizeof(path), "%s/gs_ctl/%s", OG_TEST_DATA_DIR, name);
    text = tu_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    r = engine_og_parse_query(text, &res);
    free(text);
    CU_ASSERT_EQUAL(r, 0);
    return &res;
}

static void test_engine_og_parse_primary(void)
{
    struct probe_result *r = parse_sample("query_primary_sync.txt");

    CU_ASSERT_TRUE(r->up);
    CU_ASSERT_FALSE(r->in_recovery);
    CU_ASSERT_STRING_EQUAL(r->local_role, "Primary");
    CU_ASSERT_STRING_EQUAL(r->db_state, "Normal");
    CU_ASSERT_STRING_EQUAL(r->detail, "Normal");
    CU_ASSERT_EQUAL(r->n_replicas, 1);
    CU_ASSERT_EQUAL(r->replicas[0].state, PROTO_REPL_STATE_STREAMING);
    CU_ASSERT_EQUAL(r->replicas[0].sync_state, PROTO_SYNC_STATE_SYNC);
    CU_ASSERT_EQUAL(r->replicas[0].sent_lsn, 0x3000130);
    CU_ASSERT_EQUAL(r->replicas[0].flush_lsn, 0x3000130);
    CU_ASSERT_EQUAL(r->replicas[0].replay_lsn, 0x3000130);
    CU_ASSERT_STRING_EQUAL(r->replicas[0].client_addr, "172.18.0.11");
    CU_ASSERT_EQUAL(r->current_lsn, 0x3000130);
    CU_ASSERT_FALSE(r->receiving);

    r = parse_sample("query_primary_quorum.txt");
    CU_ASSERT_EQUAL(r->n_replicas, 1);
    CU_ASSERT_EQUAL(r->replicas[0].sync_state, PROTO_SYNC_STATE_QUORUM);
    CU_ASSERT_EQUAL(r->replicas[0].flush_lsn, 0x401A080);
    CU_ASSERT_STRING_EQUAL(r->replicas[0].client_addr, "192.168.56.228");
}

static void test_engine_og_parse_two_senders_old_format(void)
{
    struct probe_result *r = parse_sample("query_primary_two_senders.txt");

    CU_ASSERT_STRING_EQUAL(r->local_role, "Primary");
    CU_ASSERT_EQUAL(r->n_replicas, 2);
    CU_ASSERT_EQUAL(r->replicas[0].sync_state, PROTO_SYNC_STATE_SYNC);
    CU_ASSERT_EQUAL(r->replicas[1].sync_state, PROTO_SYNC_STATE_POTENTIAL);
    CU_ASSERT_STRING_EQUAL(r->replicas[0].client_addr, "192.168.1.2");
    CU_ASSERT_STRING_EQUAL(r->replicas[1].client_addr, "192.168.1.3");
    CU_ASSERT_EQUAL(r->replicas[1].replay_lsn, 0x6A000128);
    CU_ASSERT_FALSE(r->receiving); /* "gs_ctl:No information" after a log prefix */
}

static void test_engine_og_parse_standby(void)
{
    struct probe_result *r = parse_sample("query_standby_streaming.txt");

    CU_ASSERT_TRUE(r->in_recovery);
    CU_ASSERT_STRING_EQUAL(r->local_role, "Standby");
    CU_ASSERT_EQUAL(r->n_replicas, 0);
    CU_ASSERT_TRUE(r->receiving);
    CU_ASSERT_EQUAL(r->received_lsn, 0x3000238);
    CU_ASSERT_EQUAL(r->replayed_lsn, 0x3000238);

    r = parse_sample("query_standby_need_repair.txt");
    CU_ASSERT_TRUE(r->in_recovery);
    CU_ASSERT_STRING_EQUAL(r->db_state, "Need repair");
    CU_ASSERT_STRING_EQUAL(r->detail, "Disconnected");
    CU_ASSERT_FALSE(r->receiving);
    CU_ASSERT_EQUAL(r->received_lsn, 0);

    r = parse_sample("query_single_normal.txt");
    CU_ASSERT_STRING_EQUAL(r->local_role, "Normal");
    CU_ASSERT_FALSE(r->in_recovery);
    CU_ASSERT_EQUAL(r->n_replicas, 0);
}

static void test_engine_og_parse_garbage(void)
{
    struct probe_result r;

    CU_ASSERT_EQUAL(engine_og_parse_query("", &r), -EINVAL);
    CU_ASSERT_EQUAL(engine_og_parse_query("gs_ctl: no server running\n", &r), -EINVAL);
    CU_ASSERT_FALSE(r.up);
    CU_ASSERT_EQUAL(engine_og_parse_query(" HA state:\n local_role : Pending\n", &r), 0);
    CU_ASSERT_TRUE(r.in_recovery);
}

static int suite_init(void)
{
    if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
        return 1;
    }
    snprintf(bindir, sizeof(bindir), "/opt/opengauss-test/bin");
    return 0;
}

static int suite_cleanup(void)
{
    for (int i = 0; i < n_children; i++) {
        (void) kill(children[i], SIGKILL);
        (void) kill(children[i], SIGCONT);
        (void) waitpid(children[i], NULL, 0);
    }
    n_children = 0;
    fake_reset();
    return tmpdir[0] ? (tu_rmtree(tmpdir) < 0) : 0;
}

/* The shutdown checkpoint of a cleanly stopped instance is its final WAL position. */
static void test_engine_controldata_final_lsn(void)
{
    static const char clean[] = "pg_control version number:            1300\n"
                                "Database cluster state:               shut down\n"
                                "Latest checkpoint location:           0/3002120\n"
                                "Latest checkpoint's REDO location:    0/3002120\n";
    static const char standby[] = "Database cluster state:               shut down in recovery\n"
                                  "Latest checkpoint location:           1/A0\n";
    static const char crashed[] = "Database cluster state:               in production\n"
                                  "Latest checkpoint location:           0/3002120\n";
    uint64_t lsn = 0;

    CU_ASSERT_EQUAL(engine_parse_controldata(clean, &lsn), 0);
    CU_ASSERT_EQUAL(lsn, 0x3002120ULL);
    CU_ASSERT_EQUAL(engine_parse_controldata(standby, &lsn), 0);
    CU_ASSERT_EQUAL(lsn, 0x1000000A0ULL);
    lsn = 7;
    CU_ASSERT_EQUAL(engine_parse_controldata(crashed, &lsn), -EAGAIN);
    CU_ASSERT_EQUAL(lsn, 7);
    CU_ASSERT_EQUAL(engine_parse_controldata("garbage", &lsn), -EIO);
    CU_ASSERT_EQUAL(engine_parse_controldata(NULL, &lsn), -EIO);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"replconninfo lines", test_engine_og_replconninfo_lines},
            {"upstream first and sync names", test_engine_og_upstream_first_and_sync},
            {"pg_hba and pgpass", test_engine_og_hba_and_pgpass},
            {"rejects bad instances", test_engine_og_rejects_bad_instances},
            {"start modes", test_engine_og_start_modes},
            {"start needs data", test_engine_og_start_needs_data},
            {"gs_initdb", test_engine_og_initdb},
            {"build, backup, refusals", test_engine_og_build_backup_and_query},
            {"failover, switchover, reload", test_engine_og_running_commands},
            {"stop fast", test_engine_og_stop_fast},
            {"stop escalates to SIGKILL", test_engine_og_stop_escalates_to_sigkill},
            {"stale postmaster.pid", test_engine_og_stale_pidfile},
            {"parse primary samples", test_engine_og_parse_primary},
            {"parse two senders, old format", test_engine_og_parse_two_senders_old_format},
            {"parse standby samples", test_engine_og_parse_standby},
            {"parse garbage", test_engine_og_parse_garbage},
            {"controldata final lsn", test_engine_controldata_final_lsn},
            CU_TEST_INFO_NULL,
    };
    return cu_run_with("engine_og", tests, suite_init, suite_cleanup);
}

/*
 * tests/unit/test_cfg.c
 *
 * common/cfg: a table of argv / environment / config file combinations with the values or
 * the error messages they must produce (precedence, every type, bounds, durations, boolean
 * forms, unknown flags, missing values, several errors at once), then positional arguments,
 * the usage text, the redacted JSON dump and subcommand dispatch.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/mem.h"
#include "tests/support/cu_main.h"

struct tcfg {
    char config[256];
    char listen[32];
    char node[16];
    char token[64];
    uint32_t port;
    uint64_t max_lag;
    uint64_t probe_interval_ms;
    bool verbose;
    bool sync;
};

static const struct cfg_opt topts[] = {
        CFG_STR("config", "OG_T_CONFIG", NULL, struct tcfg, config, 0, "FILE",
                "read options from FILE"),
        CFG_STR("listen", "OG_T_LISTEN", "127.0.0.1:8080", struct tcfg, listen, 0, "ADDR",
                "REST listen address"),
        CFG_STR("node", "OG_T_NODE", NULL, struct tcfg, node, CFG_REQUIRED, "NAME",
                "this node's name"),
        CFG_STR("token", "OG_T_TOKEN", NULL, struct tcfg, token, CFG_SECRET, "TOKEN",
                "bearer token"),
        CFG_U32("port", "OG_T_PORT", "5432", 1, 65535, struct tcfg, port, 0, "PORT",
                "database port"),
        CFG_U64("max-lag", NULL, "1048576", 0, 0, struct tcfg, max_lag, 0, "BYTES",
                "largest lag of a candidate"),
        CFG_MS("probe-interval", "OG_T_PROBE", "1s", 100, 60000, struct tcfg, probe_interval_ms, 0,
               NULL, "time between probes"),
        CFG_BOOL("verbose", "OG_T_VERBOSE", "false", struct tcfg, verbose, 0, "chatty logs"),
        CFG_BOOL("sync", NULL, "true", struct tcfg, sync, 0, "synchronous replication"),
};
#define N_TOPTS (sizeof(topts) / sizeof(topts[0]))

/*
 * One row: arguments after argv[0], "NAME=value" environment entries, an optional config
 * file whose path replaces "@" in argv and env, the expected return code and error count
 * (-1: not checked), and substrings expected in the JSON dump (rc 0) or in the errors.
 */
struct cfg_case {
    const char *name;
    const char *argv[8];
    const char *env[6];
    const char *file;
    int rc;
    int n_errors;
    const char *expect[6];
};

static const struct cfg_case cases[] = {
        {"defaults",
         {"--node", "n1"},
         {NULL},
         NULL,
         0,
         0,
         {"\"listen\":\"127.0.0.1:8080\"", "\"port\":5432", "\"probe-interval\":1000",
          "\"verbose\":false", "\"sync\":true", "\"max-lag\":1048576"}},
        {"flag beats env beats file",
         {"--config", "@", "--port=3333"},
         {"OG_T_PORT=2222", "OG_T_LISTEN=env:2"},
         "port = 1111\nlisten = file:1\nnode = filenode\n",
         0,
         0,
         {"\"port\":3333", "\"listen\":\"env:2\"", "\"node\":\"filenode\""}},
        {"config path from env",
         {NULL},
         {"OG_T_CONFIG=@"},
         "# a comment\n\n  port=1111  \r\nnode = n\nmax-lag = 7\n",
         0,
         0,
         {"\"port\":1111", "\"max-lag\":7", "\"node\":\"n\""}},
        {"quoted file value keeps blanks",
         {"--config=@", "--node=n"},
         {NULL},
         "listen = \"  a b  \"\n",
         0,
         0,
         {"\"listen\":\"  a b  \""}},
        {"separate value and last flag wins",
         {"--port", "6000", "--node", "x", "--node=y", "--listen", "-weird-"},
         {NULL},
         NULL,
         0,
         0,
         {"\"port\":6000", "\"node\":\"y\"", "\"listen\":\"-weird-\""}},
        {"bool flag forms",
         {"--node=n", "--verbose", "--no-sync"},
         {NULL},
         NULL,
         0,
         0,
         {"\"verbose\":true", "\"sync\":false"}},
        {"bool explicit values",
         {"--node=n", "--verbose=false", "--sync=yes"},
         {"OG_T_VERBOSE=on"},
         NULL,
         0,
         0,
         {"\"verbose\":false", "\"sync\":true"}},
        {"bool from env and file",
         {"--node=n", "--config=@"},
         {"OG_T_VERBOSE=1"},
         "sync = off\n",
         0,
         0,
         {"\"verbose\":true", "\"sync\":false"}},
        {"durations",
         {"--node=n", "--probe-interval=5s"},
         {NULL},
         NULL,
         0,
         0,
         {"\"probe-interval\":5000"}},
        {"duration in ms and from env",
         {"--node=n"},
         {"OG_T_PROBE=500ms"},
         NULL,
         0,
         0,
         {"\"probe-interval\":500"}},
        {"duration bounds",
         {"--node=n", "--probe-interval=50"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--probe-interval: expected duration in 100ms..1m (e.g. \"500ms\", \"5s\"), got "
          "\"50\""}},
        {"duration above max",
         {"--node=n", "--probe-interval=2m"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"got \"2m\""}},
        {"port not a number",
         {"--node=n", "--port=x"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--port: expected integer in 1..65535, got \"x\""}},
        {"port zero", {"--node=n", "--port", "0"}, {NULL}, NULL, -EINVAL, 1, {"got \"0\""}},
        {"port too big", {"--node=n", "--port=65536"}, {NULL}, NULL, -EINVAL, 1, {"got \"65536\""}},
        {"u64 full range",
         {"--node=n", "--max-lag=18446744073709551615"},
         {NULL},
         NULL,
         0,
         0,
         {"\"max-lag\":\"18446744073709551615\""}},
        {"u64 overflow",
         {"--node=n", "--max-lag=18446744073709551616"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--max-lag: expected integer in 0..18446744073709551615"}},
        {"string too long",
         {"--node=0123456789abcdef"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--node: value longer than 15 characters"}},
        {"unknown flags",
         {"--node=n", "--foo=1", "-x", "--no-port", "--bar"},
         {NULL},
         NULL,
         -EINVAL,
         4,
         {"unknown flag --foo\n", "unknown flag -x\n", "unknown flag --no-port\n",
          "unknown flag --bar\n"}},
        {"missing required",
         {NULL},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--node is required (or OG_T_NODE)"}},
        {"empty env is unset", {NULL}, {"OG_T_NODE="}, NULL, -EINVAL, 1, {"--node is required"}},
        {"empty flag value is not enough",
         {"--node="},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--node is required"}},
        {"missing value", {"--node"}, {NULL}, NULL, -EINVAL, 1, {"--node: missing value\n"}},
        {"negated bool takes no value",
         {"--node=n", "--no-verbose=1"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--no-verbose takes no value"}},
        {"bad bool",
         {"--node=n", "--sync=maybe"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"--sync: expected true or false, got \"maybe\""}},
        {"env errors name the variable",
         {"--node=n"},
         {"OG_T_PORT=abc"},
         NULL,
         -EINVAL,
         1,
         {"OG_T_PORT: expected integer in 1..65535, got \"abc\""}},
        {"file errors name file and line",
         {"--config=@", "--node=n"},
         {NULL},
         "port = abc\nnonsense\nbogus = 1\n# fine\n\nconfig = other\n",
         -EINVAL,
         4,
         {":1: port: expected integer in 1..65535, got \"abc\"", ":2: expected 'name = value'",
          ":3: unknown key 'bogus'", ":6: 'config' cannot be set in a config file"}},
        {"missing config file",
         {"--config=/nonexistent/og.conf", "--node=n"},
         {NULL},
         NULL,
         -EINVAL,
         1,
         {"config file /nonexistent/og.conf: No such file or directory"}},
        {"several errors at once",
         {"--port=x", "--bogus", "--probe-interval=1d"},
         {"OG_T_VERBOSE=maybe"},
         NULL,
         -EINVAL,
         5,
         {"unknown flag --bogus", "OG_T_VERBOSE: expected true or false",
          "--port: expected integer", "--probe-interval: expected duration", "--node is required"}},
        {"bad values are errors even when overridden",
         {"--node=n", "--port=1"},
         {"OG_T_PORT=x"},
         NULL,
         -EINVAL,
         1,
         {"OG_T_PORT: expected integer"}},
        {"help", {"--port=x", "--help"}, {NULL}, NULL, 1, -1, {NULL}},
        {"short help", {"-h"}, {NULL}, NULL, 1, -1, {NULL}},
};

/* "@" in s becomes path; returns a heap copy either way. */
static char *subst(const char *s, const char *path)
{
    const char *at = strchr(s, '@');

    if (!at) {
        return xstrdup(s);
    }
    return xasprintf("%.*s%s%s", (int) (at - s), s, path, at + 1);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    size_t len = strlen(text);
    int r = 0;

    if (!f) {
        return -errno;
    }
    if (fwrite(text, 1, len, f) != len) {
        r = -EIO;
    }
    if (fclose(f) != 0) {
        r = -EIO;
    }
    return r;
}

/* Joins all error messages, each followed by '\n'. */
static void join_errors(const struct cfg_errors *errs, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < errs->n && off < size; i++) {
        off += (size_t) snprintf(buf + off, size - off, "%s\n", errs->msg[i]);
    }
}

static void run_case(const struct cfg_case *c)
{
    char path[] = "/tmp/og-test-cfg-XXXXXX";
    char *argv[10] = {NULL};
    char *env[8] = {NULL};
    char joined[CFG_ERRORS_MAX * CFG_ERROR_LEN];
    struct cfg_errors errs;
    struct tcfg cfg;
    char *dump = NULL;
    int argc = 1;
    int argi = -1;
    int fd = -1;
    int r;

    if (c->file) {
        fd = mkstemp(path);
        CU_ASSERT_FATAL(fd >= 0);
        (void) close(fd);
        CU_ASSERT(write_file(path, c->file) == 0);
    }
    argv[0] = xstrdup("test");
    for (size_t i = 0; c->argv[i]; i++) {
        argv[argc++] = subst(c->argv[i], path);
    }
    for (size_t i = 0; c->env[i]; i++) {
        env[i] = subst(c->env[i], path);
    }

    memset(&cfg, 0xa5, sizeof(cfg));
    r = cfg_load(topts, N_TOPTS, argc, argv, (const char *const *) env, &cfg, &errs, &argi);
    join_errors(&errs, joined, sizeof(joined));
    if (r != c->rc || (c->n_errors >= 0 && errs.n != (unsigned) c->n_errors)) {
        (void) fprintf(stderr, "\ncase '%s': rc %d, %u errors:\n%s", c->name, r, errs.n, joined);
    }
    CU_ASSERT_EQUAL(r, c->rc);
    if (c->n_errors >= 0) {
        CU_ASSERT_EQUAL(errs.n, (unsigned) c->n_errors);
    }
    if (r == 0) {
        CU_ASSERT_EQUAL(argi, argc);
        dump = cfg_dump_json(topts, N_TOPTS, &cfg);
    }
    for (size_t i = 0; i < 6 && c->expect[i]; i++) {
        const char *hay = r == 0 ? dump : joined;

        if (!strstr(hay, c->expect[i])) {
            (void) fprintf(stderr, "\ncase '%s': missing '%s' in:\n%s\n", c->name, c->expect[i],
                           hay);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(hay, c->expect[i]));
    }
    free(dump);
    for (size_t i = 0; i < 10; i++) {
        free(argv[i]);
    }
    for (size_t i = 0; i < 8; i++) {
        free(env[i]);
    }
    if (c->file) {
        (void) unlink(path);
    }
}

static void test_cfg_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

static void test_cfg_positional_stop(void)
{
    char *args1[] = {"switchover", "--node=n", "demo", "--port=1", NULL};
    char *args2[] = {"x", "--node=n", "--", "--port=1", NULL};
    char *args3[] = {"x", "--node=n", "-", NULL};
    struct cfg_errors errs;
    struct tcfg cfg;
    int argi = -1;

    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args1, NULL, &cfg, &errs, &argi), 0);
    CU_ASSERT_EQUAL(argi, 2);
    CU_ASSERT_EQUAL(cfg.port, 5432); /* after the stop, "--port=1" is an argument */
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args2, NULL, &cfg, &errs, &argi), 0);
    CU_ASSERT_EQUAL(argi, 3);
    CU_ASSERT_STRING_EQUAL(args2[argi], "--port=1");
    CU_ASSERT_EQUAL(cfg.port, 5432);
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 3, args3, NULL, &cfg, &errs, &argi), 0);
    CU_ASSERT_EQUAL(argi, 2);

    /* A command without positional arguments passes NULL and gets an error. */
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args1, NULL, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_EQUAL(errs.n, 1);
    CU_ASSERT_STRING_EQUAL(errs.msg[0], "unexpected argument 'demo'");
}

struct badcfg {
    uint32_t n;
    uint32_t any;
};

static void test_cfg_table_mistakes(void)
{
    static const struct cfg_opt bad[] = {
            CFG_U32("n", NULL, "abc", 1, 10, struct badcfg, n, 0, NULL, "a number"),
            CFG_U32("any", NULL, "4294967295", 0, 0, struct badcfg, any, 0, NULL, "max 0"),
    };
    char *args[] = {"x", NULL};
    struct cfg_errors errs;
    struct badcfg cfg;

    CU_ASSERT_EQUAL(cfg_load(bad, 2, 1, args, NULL, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_EQUAL(errs.n, 1);
    CU_ASSERT_STRING_EQUAL(errs.msg[0], "--n: default: expected integer in 1..10, got \"abc\"");
    CU_ASSERT_EQUAL(cfg.any, UINT32_MAX); /* max 0 means the type's maximum */
}

struct pincfg {
    uint32_t pin;
};

static void test_cfg_secret_values_stay_out_of_errors(void)
{
    static const struct cfg_opt opts[] = {
            CFG_U32("pin", "OG_T_PIN", NULL, 1000, 9999, struct pincfg, pin, CFG_SECRET, NULL, ""),
    };
    const char *env[] = {"OG_T_PIN=12345", NULL};
    char *args[] = {"x", NULL};
    struct cfg_errors errs;
    struct pincfg cfg;

    CU_ASSERT_EQUAL(cfg_load(opts, 1, 1, args, env, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_EQUAL(errs.n, 1);
    CU_ASSERT_STRING_EQUAL(errs.msg[0],
                           "OG_T_PIN: expected integer in 1000..9999, got \"<redacted>\"");
}

/* A config file over CFG_FILE_MAX, or with a NUL byte, is refused whole. */
static void test_cfg_file_limits(void)
{
    char path[] = "/tmp/og-test-cfg-XXXXXX";
    char *args[] = {"x", "--node=n", "--config", path, NULL};
    struct cfg_errors errs;
    struct tcfg cfg;
    char *big = xmalloc(CFG_FILE_MAX + 2);
    int fd = mkstemp(path);

    CU_ASSERT_FATAL(fd >= 0);
    (void) close(fd);
    memset(big, '#', CFG_FILE_MAX + 1);
    big[CFG_FILE_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(write_file(path, big), 0);
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args, NULL, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_EQUAL(errs.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs.msg[0], "larger than 65536 bytes"));

    big[CFG_FILE_MAX] = '\0'; /* exactly the limit: fine */
    CU_ASSERT_EQUAL(write_file(path, big), 0);
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args, NULL, &cfg, &errs, NULL), 0);

    CU_ASSERT_EQUAL(write_file(path, "port = 1\n"), 0);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "\0x", 2), 2);
    (void) close(fd);
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, 4, args, NULL, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs.msg[0], "contains a NUL byte"));
    free(big);
    (void) unlink(path);
}

static void test_cfg_errors_are_bounded(void)
{
    char *args[CFG_ERRORS_MAX + 7];
    char names[CFG_ERRORS_MAX + 4][16];
    struct cfg_errors errs;
    struct tcfg cfg;
    int argc = 0;

    args[argc++] = "x";
    args[argc++] = "--node=n";
    for (int i = 0; i < CFG_ERRORS_MAX + 4; i++) {
        (void) snprintf(names[i], sizeof(names[i]), "--bad%d", i);
        args[argc++] = names[i];
    }
    args[argc] = NULL;
    CU_ASSERT_EQUAL(cfg_load(topts, N_TOPTS, argc, args, NULL, &cfg, &errs, NULL), -EINVAL);
    CU_ASSERT_EQUAL(errs.n, CFG_ERRORS_MAX);
    CU_ASSERT_EQUAL(errs.n_dropped, 4);
    CU_ASSERT_STRING_EQUAL(errs.msg[0], "unknown flag --bad0");
}

static void test_cfg_dump_redacts_and_is_json(void)
{
    char *args[] = {"x", "--node=n", "--listen=a\"b\\c\td", NULL};
    const char *env[] = {"OG_T_TOKEN=s3cret-value", NULL};
    struct cfg_errors errs;
    struct tcfg cfg;
    cJSON *root = NULL;
    char *dump = NULL;

    CU_ASSERT_FATAL(cfg_load(topts, N_TOPTS, 3, args, env, &cfg, &errs, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(cfg.token, "s3cret-value");
    dump = cfg_dump_json(topts, N_TOPTS, &cfg);
    CU_ASSERT_PTR_NULL(strstr(dump, "s3cret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "\"token\":\"<redacted>\""));
    root = cJSON_Parse(dump);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(root, "listen")->valuestring, "a\"b\\c\td");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(root, "port")->valuedouble, 5432);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(root, "sync")));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(root), (int) N_TOPTS);
    cJSON_Delete(root);
    free(dump);

    /* An unset secret shows as empty, so its absence is visible. */
    CU_ASSERT_FATAL(cfg_load(topts, N_TOPTS, 2, args, NULL, &cfg, &errs, NULL) == 0);
    dump = cfg_dump_json(topts, N_TOPTS, &cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "\"token\":\"\""));
    free(dump);
}

static void test_cfg_usage_lists_every_flag(void)
{
    static const struct cfg_opt secret_default[] = {
            CFG_STR("token", NULL, "hunter2", struct tcfg, token, CFG_SECRET, NULL, "t"),
    };
    char *text = NULL;
    size_t len = 0;
    char want[128];
    FILE *out = open_memstream(&text, &len);

    CU_ASSERT_FATAL(out != NULL);
    cfg_usage(out, "og-test run [OPTIONS]", "Runs the test.", topts, N_TOPTS);
    cfg_usage(out, "og-test other", NULL, secret_default, 1);
    CU_ASSERT_EQUAL(fclose(out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Usage: og-test run [OPTIONS]\n\nRuns the test.\n"));
    for (size_t i = 0; i < N_TOPTS; i++) {
        if (topts[i].type == CFG_TYPE_BOOL) {
            (void) snprintf(want, sizeof(want), "--[no-]%s", topts[i].name);
        } else {
            (void) snprintf(want, sizeof(want), "--%s ", topts[i].name);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
        if (topts[i].def) {
            (void) snprintf(want, sizeof(want), "(default: %s)", topts[i].def);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
        }
        if (topts[i].env) {
            (void) snprintf(want, sizeof(want), "[env: %s]", topts[i].env);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  --port PORT               database port (default: "
                                        "5432) [env: OG_T_PORT]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--probe-interval DURATION"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "this node's name (required) [env: OG_T_NODE]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "-h, --help"));
    CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(default: <redacted>)"));
    free(text);
}

static void test_cfg_type_names(void)
{
    enum cfg_type t = CFG_TYPE_UNKNOWN;

    for (int i = CFG_TYPE_UNKNOWN + 1; i < _CFG_TYPE_MAX; i++) {
        CU_ASSERT_EQUAL(cfg_type_from_string(cfg_type_to_string((enum cfg_type) i), &t), 0);
        CU_ASSERT_EQUAL(t, (enum cfg_type) i);
    }
    CU_ASSERT_STRING_EQUAL(cfg_type_to_string(CFG_TYPE_MS), "ms");
    CU_ASSERT_EQUAL(cfg_type_from_string("UNKNOWN", &t), -EINVAL);
    CU_ASSERT_EQUAL(cfg_type_from_string(NULL, &t), -EINVAL);
}

/* What the last fake command saw. */
static int seen_argc;
static char seen_argv0[32];
static char seen_argv1[32];

static int fake_serve(int argc, char *argv[])
{
    seen_argc = argc;
    (void) snprintf(seen_argv0, sizeof(seen_argv0), "%s", argv[0]);
    (void) snprintf(seen_argv1, sizeof(seen_argv1), "%s", argc > 1 ? argv[1] : "");
    return 42;
}

static int fake_status(int argc, char *argv[])
{
    (void) argc;
    (void) argv;
    return 7;
}

static const struct cfg_command cmds[] = {
        {"serve", "run the arbiter", fake_serve},
        {"status", "show cluster state", fake_status},
};

/* Runs cfg_dispatch_fp with captured output; returns its result. */
static int dispatch(char **argv, char **ret_out, char **ret_err)
{
    size_t out_len = 0;
    size_t err_len = 0;
    FILE *out = open_memstream(ret_out, &out_len);
    FILE *err = open_memstream(ret_err, &err_len);
    int argc = 0;
    int r;

    while (argv[argc]) {
        argc++;
    }
    seen_argc = -1;
    r = cfg_dispatch_fp(out, err, "og-test", cmds, 2, argc, argv);
    (void) fclose(out);
    (void) fclose(err);
    return r;
}

static void test_cfg_dispatch(void)
{
    char *route[] = {"og-test", "serve", "--listen=x", NULL};
    char *none[] = {"og-test", NULL};
    char *unknown[] = {"og-test", "serv", NULL};
    char *help[] = {"og-test", "--help", NULL};
    char *help_cmd[] = {"og-test", "help", "serve", NULL};
    char *help_bad[] = {"og-test", "help", "nope", NULL};
    char *out = NULL;
    char *err = NULL;

    CU_ASSERT_EQUAL(dispatch(route, &out, &err), 42);
    CU_ASSERT_EQUAL(seen_argc, 2);
    CU_ASSERT_STRING_EQUAL(seen_argv0, "serve");
    CU_ASSERT_STRING_EQUAL(seen_argv1, "--listen=x");
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_STRING_EQUAL(err, "");
    free(out);
    free(err);

    CU_ASSERT_EQUAL(dispatch(none, &out, &err), EXIT_BAD_ARGS);
    CU_ASSERT_EQUAL(seen_argc, -1);
    CU_ASSERT_STRING_EQUAL(err, "og-test: missing command\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "serve"));
    free(out);
    free(err);

    CU_ASSERT_EQUAL(dispatch(unknown, &out, &err), EXIT_BAD_ARGS);
    CU_ASSERT_EQUAL(seen_argc, -1);
    CU_ASSERT_STRING_EQUAL(err, "og-test: unknown command 'serv'\n");
    free(out);
    free(err);

    CU_ASSERT_EQUAL(dispatch(help, &out, &err), EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: og-test COMMAND"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  serve                     run the arbiter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  status                    show cluster state\n"));
    CU_ASSERT_STRING_EQUAL(err, "");
    free(out);
    free(err);

    CU_ASSERT_EQUAL(dispatch(help_cmd, &out, &err), 42);
    CU_ASSERT_EQUAL(seen_argc, 2);
    CU_ASSERT_STRING_EQUAL(seen_argv0, "serve");
    CU_ASSERT_STRING_EQUAL(seen_argv1, "--help");
    free(out);
    free(err);

    CU_ASSERT_EQUAL(dispatch(help_bad, &out, &err), EXIT_BAD_ARGS);
    CU_ASSERT_STRING_EQUAL(err, "og-test: unknown command 'nope'\n");
    free(out);
    free(err);

    /* The stdout/stderr form routes the same way (and prints nothing here). */
    CU_ASSERT_EQUAL(cfg_dispatch("og-test", cmds, 2, 2, (char *[]){"og-test", "status", NULL}), 7);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"table of sources and errors", test_cfg_table},
            {"positional stop", test_cfg_positional_stop},
            {"table mistakes", test_cfg_table_mistakes},
            {"errors are bounded", test_cfg_errors_are_bounded},
            {"secret values stay out of errors", test_cfg_secret_values_stay_out_of_errors},
            {"file limits", test_cfg_file_limits},
            {"dump redacts and is json", test_cfg_dump_redacts_and_is_json},
            {"usage lists every flag", test_cfg_usage_lists_every_flag},
            {"type names", test_cfg_type_names},
            {"dispatch", test_cfg_dispatch},
            CU_TEST_INFO_NULL,
    };
    return cu_run("cfg", tests);
}

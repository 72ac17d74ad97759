/*
 * arbiter/cli.c
 *
 * Layer: shell. The operator commands of og-arbiter (see cli.h): parse the command line,
 * call the REST API with common/httpc, print a table or the API's message, map the HTTP
 * status to an exit code. The only output is stdout (results) and stderr (errors).
 */
#include "arbiter/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/fsutil.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/model.h"

extern char **environ;

#define CLI_TIMEOUT_MS  15000
#define CLI_SPEC_MAX    ((size_t) 1024 * 1024) /* the REST body cap */
#define CLI_URL_MAX     512
#define CLI_ARGS_MAX    16
#define CLI_COLUMNS     7
#define CLI_CELL_MAX    80
#define CLI_MEMBERS_MAX 64

struct cli_config {
    char server[CLI_URL_MAX];
    char token[512];
    char to[PROTO_NAME_MAX + 1];
};

static const struct cfg_opt cli_server_opt[] = {
        CFG_STR("server", "OG_ARBITER_URL", "http://127.0.0.1:8080", struct cli_config, server, 0,
                "URL", "the arbiter's REST API"),
        CFG_STR("token", "OG_ARBITER_TOKEN", "", struct cli_config, token, CFG_SECRET, "TOKEN",
                "bearer token of the REST API (when the arbiter requires one)"),
};

static const struct cfg_opt cli_promote_opts[] = {
        CFG_STR("server", "OG_ARBITER_URL", "http://127.0.0.1:8080", struct cli_config, server, 0,
                "URL", "the arbiter's REST API"),
        CFG_STR("token", "OG_ARBITER_TOKEN", "", struct cli_config, token, CFG_SECRET, "TOKEN",
                "bearer token of the REST API (when the arbiter requires one)"),
        CFG_STR("to", NULL, "", struct cli_config, to, 0, "MEMBER",
                "member to promote (default: the best candidate)"),
};

/* One command's shape: its options, usage line, summary and argument counts. */
struct cli_command {
    const struct cfg_opt *opts;
    size_t n_opts;
    const char *usage;
    const char *summary;
    int min_args, max_args;
};

/* ---- command line ---------------------------------------------------------------------- */

/*
 * Moves the positional arguments after the options (every option but -h/--help takes a
 * value, as "--x v" or "--x=v"), so that flags may follow the arguments; the result is
 * argv[0], options..., "--", positionals... in out[] (at most CLI_ARGS_MAX + 2 entries).
 */
static int cli_reorder(int argc, char *argv[], char *out[], int *ret_n)
{
    char *pos[CLI_ARGS_MAX];
    int n = 0, n_pos = 0;

    if (argc > CLI_ARGS_MAX) {
        return -E2BIG;
    }
    out[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool opt = a[0] == '-' && a[1] != '\0';

        if (str_eq(a, "--")) {
            while (++i < argc) {
                pos[n_pos++] = argv[i];
            }
            break;
        }
        if (!opt) {
            pos[n_pos++] = argv[i];
            continue;
        }
        out[n++] = argv[i];
        if (!strchr(a, '=') && !str_eq(a, "-h") && !str_eq(a, "--help") && i + 1 < argc) {
            out[n++] = argv[++i];
        }
    }
    out[n++] = (char *) "--";
    for (int i = 0; i < n_pos; i++) {
        out[n++] = pos[i];
    }
    out[n] = NULL;
    *ret_n = n;
    return 0;
}

/*
 * Parses the command line of cmd into cfg and the positional arguments. Returns -1 to go
 * on, or the exit code to return now (help printed, or an error). args is the caller's
 * scratch for the reordered command line; *ret_args points into it.
 */
static int cli_parse(const struct cli_command *cmd, int argc, char *argv[], struct cli_config *cfg,
                     char *args[CLI_ARGS_MAX + 3], char ***ret_args, int *ret_n_args)
{
    struct cfg_errors errs = {0};
    int n = 0, argi = 0, r;

    memset(cfg, 0, sizeof(*cfg));
    if (cli_reorder(argc, argv, args, &n) < 0) {
        fprintf(stderr, "og-arbiter %s: too many arguments\n", argv[0]);
        return EXIT_BAD_ARGS;
    }
    r = cfg_load(cmd->opts, cmd->n_opts, n, args, (const char *const *) environ, cfg, &errs, &argi);
    if (r == 1) {
        cfg_usage(stdout, cmd->usage, cmd->summary, cmd->opts, cmd->n_opts);
        return EXIT_OK;
    }
    if (r == 0 && (n - argi < cmd->min_args || n - argi > cmd->max_args)) {
        (void) snprintf(errs.msg[0], sizeof(errs.msg[0]), "expected %d to %d arguments, got %d",
                        cmd->min_args, cmd->max_args, n - argi);
        errs.n = 1;
        r = -EINVAL;
    }
    if (r < 0) {
        for (unsigned i = 0; i < errs.n; i++) {
            fprintf(stderr, "og-arbiter %s: %s\n", argv[0], errs.msg[i]);
        }
        fprintf(stderr, "Usage: %s\nTry 'og-arbiter %s --help'.\n", cmd->usage, argv[0]);
        return EXIT_BAD_ARGS;
    }
    *ret_args = args + argi;
    *ret_n_args = n - argi;
    return -1;
}

/* Splits "ns/name" into its two DNS labels; false (and a message) when it is not one. */
static bool cli_cluster_arg(const char *cmd, const char *arg, char *ns, char *name)
{
    const char *slash = strchr(arg, '/');

    if (slash && (size_t) (slash - arg) <= PROTO_NAME_MAX) {
        memcpy(ns, arg, (size_t) (slash - arg));
        ns[slash - arg] = '\0';
        if (str_copy(name, PROTO_NAME_MAX + 1, slash + 1) == 0 && str_is_dns_label(ns) &&
            str_is_dns_label(name)) {
            return true;
        }
    }
    fprintf(stderr, "og-arbiter %s: expected NAMESPACE/NAME, got \"%s\"\n", cmd, arg);
    return false;
}

static const char *cli_str(const cJSON *o, const char *key, const char *dflt)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

    return s ? s : dflt;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static int cli_exit_for(long status)
{
    if (status >= 200 && status < 300) {
        return EXIT_OK;
    }
    if (status == 400 || status == 404 || status == 405 || status == 422) {
        return EXIT_BAD_ARGS;
    }
    return status == 503 ? EXIT_UNAVAIL : EXIT_RUNTIME;
}

/*
 * Calls the API; on a 2xx answer returns EXIT_OK with *ret_json (may be NULL) and
 * *ret_status; otherwise prints the error and returns the exit code.
 */
static int cli_call(const char *cmd, const struct cli_config *cfg, const char *method,
                    const char *path, const cJSON *body, long *ret_status, cJSON **ret_json)
{
    struct httpc_options opt = {.timeout_ms = CLI_TIMEOUT_MS,
                                .bearer_token = cfg->token[0] ? cfg->token : NULL};
    struct httpc *client = httpc_new(&opt);
    struct errbuf eb = {{0}};
    char url[CLI_URL_MAX + 256];
    const cJSON *err;
    int r, code;

    if (!client) {
        fprintf(stderr, "og-arbiter %s: cannot create an HTTP client\n", cmd);
        return EXIT_FATAL;
    }
    (void) snprintf(url, sizeof(url), "%s%s", cfg->server, path);
    r = httpc_json(client, method, url, body, CLI_TIMEOUT_MS, ret_status, ret_json, &eb);
    httpc_free(client);
    if (r < 0) {
        fprintf(stderr, "og-arbiter %s: %s: %s\n", cmd, cfg->server, eb.msg);
        return r == -EBADMSG ? EXIT_RUNTIME : EXIT_UNAVAIL;
    }
    code = cli_exit_for(*ret_status);
    if (code != EXIT_OK) {
        err = cJSON_GetObjectItemCaseSensitive(*ret_json, "error");
        fprintf(stderr, "og-arbiter %s: %s (HTTP %ld)\n", cmd,
                cli_str(err, "message", "no error message"), *ret_status);
        cJSON_Delete(*ret_json);
        *ret_json = NULL;
    }
    return code;
}

/* ---- status ---------------------------------------------------------------------------- */

/* Formats member m's cells: member, node, address, role, state, LSN, lag. */
static void cli_member_cells(const cJSON *m, char cells[CLI_COLUMNS][CLI_CELL_MAX])
{
    const char *ip = cli_str(m, "ip", "");
    const cJSON *lag = cJSON_GetObjectItemCaseSensitive(m, "lagbytes");
    double port = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "port"));

    (void) snprintf(cells[0], CLI_CELL_MAX, "%s", cli_str(m, "name", "?"));
    (void) snprintf(cells[1], CLI_CELL_MAX, "%s", cli_str(m, "node", "?"));
    (void) snprintf(cells[2], CLI_CELL_MAX, strchr(ip, ':') ? "[%s]:%.0f" : "%s:%.0f", ip, port);
    (void) snprintf(cells[3], CLI_CELL_MAX, "%s", cli_str(m, "role", "?"));
    (void) snprintf(cells[4], CLI_CELL_MAX, "%s", cli_str(m, "state", "?"));
    (void) snprintf(cells[5], CLI_CELL_MAX, "%s", cli_str(m, "lsn", ""));
    if (cJSON_IsNumber(lag)) {
        (void) snprintf(cells[6], CLI_CELL_MAX, "%.0f", cJSON_GetNumberValue(lag));
    } else {
        (void) snprintf(cells[6], CLI_CELL_MAX, "%s",
                        str_eq(cli_str(m, "role", ""), "primary") ? "" : "-");
    }
}

static void cli_rule(FILE *out, const size_t width[CLI_COLUMNS])
{
    for (int c = 0; c < CLI_COLUMNS; c++) {
        fputc('+', out);
        for (size_t i = 0; i < width[c] + 2; i++) {
            fputc('-', out);
        }
    }
    fputs("+\n", out);
}

static void cli_row(FILE *out, const size_t width[CLI_COLUMNS],
                    char cells[CLI_COLUMNS][CLI_CELL_MAX])
{
    for (int c = 0; c < CLI_COLUMNS; c++) {
        fprintf(out, "| %-*s ", (int) width[c], cells[c]);
    }
    fputs("|\n", out);
}

void cli_print_cluster(FILE *out, const cJSON *view)
{
    static const char *const head[CLI_COLUMNS] = {"Member", "Node", "Address", "Role",
                                                  "State",  "LSN",  "Lag"};
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(view, "members");
    int n = cJSON_GetArraySize(members);
    char(*rows)[CLI_COLUMNS][CLI_CELL_MAX] = xcalloc((size_t) n + 1, sizeof(*rows));
    size_t width[CLI_COLUMNS];

    fprintf(out, "Cluster %s/%s (epoch %.0f, state %s, primary %s)\n",
            cli_str(view, "namespace", "?"), cli_str(view, "name", "?"),
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(view, "epoch")),
            cli_str(view, "state", "?"), cli_str(view, "primary", "none"));
    for (int c = 0; c < CLI_COLUMNS; c++) {
        (void) snprintf(rows[n][c], CLI_CELL_MAX, "%s", head[c]);
        width[c] = strlen(head[c]);
    }
    for (int i = 0; i < n; i++) {
        cli_member_cells(cJSON_GetArrayItem(members, i), rows[i]);
        for (int c = 0; c < CLI_COLUMNS; c++) {
            size_t len = strlen(rows[i][c]);
            width[c] = len > width[c] ? len : width[c];
        }
    }
    cli_rule(out, width);
    cli_row(out, width, rows[n]);
    cli_rule(out, width);
    for (int i = 0; i < n; i++) {
        cli_row(out, width, rows[i]);
    }
    cli_rule(out, width);
    if (!str_is_empty(cli_str(view, "message", ""))) {
        fprintf(out, "Last decision: %s\n", cli_str(view, "message", ""));
    }
    free(rows);
}

int cli_status(int argc, char *argv[])
{
    static const struct cli_command cmd = {
            cli_server_opt,
            sizeof(cli_server_opt) / sizeof(cli_server_opt[0]),
            "og-arbiter status [--server URL] [NAMESPACE/NAME]",
            "Show the members of one cluster, or of every cluster, as tables.",
            0,
            1};
    struct cli_config cfg;
    char ns[PROTO_NAME_MAX + 1], name[PROTO_NAME_MAX + 1], path[256];
    char *buf[CLI_ARGS_MAX + 3];
    char **args = NULL;
    int n_args = 0, code = cli_parse(&cmd, argc, argv, &cfg, buf, &args, &n_args);
    cJSON *json = NULL;
    long status = 0;

    if (code >= 0) {
        return code;
    }
    if (n_args == 1) {
        if (!cli_cluster_arg(argv[0], args[0], ns, name)) {
            return EXIT_BAD_ARGS;
        }
        (void) snprintf(path, sizeof(path), "/api/v1/clusters/%s/%s", ns, name);
    } else {
        (void) snprintf(path, sizeof(path), "/api/v1/clusters");
    }
    code = cli_call(argv[0], &cfg, "GET", path, NULL, &status, &json);
    if (code != EXIT_OK) {
        return code;
    }
    if (cJSON_IsArray(json)) {
        for (int i = 0; i < cJSON_GetArraySize(json); i++) {
            fputs(i ? "\n" : "", stdout);
            cli_print_cluster(stdout, cJSON_GetArrayItem(json, i));
        }
        if (cJSON_GetArraySize(json) == 0) {
            puts("No clusters.");
        }
    } else {
        cli_print_cluster(stdout, json);
    }
    cJSON_Delete(json);
    return EXIT_OK;
}

/* ---- operations ------------------------------------------------------------------------ */

static int cli_promote(int argc, char *argv[], const char *op, const char *summary)
{
    char usage[128];
    struct cli_command cmd = {cli_promote_opts,
                              sizeof(cli_promote_opts) / sizeof(cli_promote_opts[0]),
                              usage,
                              summary,
                              1,
                              1};
    struct cli_config cfg;
    char ns[PROTO_NAME_MAX + 1], name[PROTO_NAME_MAX + 1], path[256];
    char *buf[CLI_ARGS_MAX + 3];
    char **args = NULL;
    int n_args = 0, code;
    cJSON *body, *json = NULL;
    long status = 0;

    (void) snprintf(usage, sizeof(usage),
                    "og-arbiter %s [--server URL] NAMESPACE/NAME [--to MEMBER]", op);
    code = cli_parse(&cmd, argc, argv, &cfg, buf, &args, &n_args);
    if (code >= 0) {
        return code;
    }
    if (!cli_cluster_arg(argv[0], args[0], ns, name)) {
        return EXIT_BAD_ARGS;
    }
    (void) snprintf(path, sizeof(path), "/api/v1/clusters/%s/%s/%s", ns, name, op);
    body = json_new_object();
    if (!str_is_empty(cfg.to)) {
        json_add_str(body, "target", cfg.to);
    }
    code = cli_call(argv[0], &cfg, "POST", path, body, &status, &json);
    cJSON_Delete(body);
    if (code == EXIT_OK) {
        printf("%s accepted: %s\n", op, cli_str(json, "message", ""));
    }
    cJSON_Delete(json);
    return code;
}

int cli_switchover(int argc, char *argv[])
{
    return cli_promote(argc, argv, "switchover",
                       "Planned, loss-free change of primary: fence the primary, wait for the "
                       "target to catch up, promote it.");
}

int cli_failover(int argc, char *argv[])
{
    return cli_promote(argc, argv, "failover",
                       "Manual failover when the primary is gone: promote a standby, possibly "
                       "losing the commits it did not receive.");
}

int cli_maintenance(int argc, char *argv[])
{
    static const struct cli_command cmd = {
            cli_server_opt,
            sizeof(cli_server_opt) / sizeof(cli_server_opt[0]),
            "og-arbiter maintenance [--server URL] NAMESPACE/NAME on|off",
            "Turn maintenance on (no automatic restarts or failovers) or off.",
            2,
            2};
    struct cli_config cfg;
    char ns[PROTO_NAME_MAX + 1], name[PROTO_NAME_MAX + 1], path[256];
    char *buf[CLI_ARGS_MAX + 3];
    char **args = NULL;
    int n_args = 0, code = cli_parse(&cmd, argc, argv, &cfg, buf, &args, &n_args);
    cJSON *body, *json = NULL;
    long status = 0;
    bool on = false;

    if (code >= 0) {
        return code;
    }
    if (!cli_cluster_arg(argv[0], args[0], ns, name)) {
        return EXIT_BAD_ARGS;
    }
    if (str_to_bool(args[1], &on) < 0) {
        fprintf(stderr, "og-arbiter %s: expected on or off, got \"%s\"\n", argv[0], args[1]);
        return EXIT_BAD_ARGS;
    }
    (void) snprintf(path, sizeof(path), "/api/v1/clusters/%s/%s/maintenance", ns, name);
    body = json_new_object();
    json_add_bool(body, "enabled", on);
    code = cli_call(argv[0], &cfg, "PUT", path, body, &status, &json);
    cJSON_Delete(body);
    if (code == EXIT_OK) {
        printf("maintenance %s for %s/%s (state %s)\n", on ? "on" : "off", ns, name,
               cli_str(json, "state", "?"));
    }
    cJSON_Delete(json);
    return code;
}

int cli_apply(int argc, char *argv[])
{
    static const struct cli_command cmd = {
            cli_server_opt,
            sizeof(cli_server_opt) / sizeof(cli_server_opt[0]),
            "og-arbiter apply [--server URL] NAMESPACE/NAME FILE.json",
            "Declare or update a cluster (local mode) from a JSON file holding its spec.",
            2,
            2};
    struct cli_config cfg;
    char ns[PROTO_NAME_MAX + 1], name[PROTO_NAME_MAX + 1], path[256];
    struct errbuf eb = {{0}};
    char *buf[CLI_ARGS_MAX + 3];
    char **args = NULL, *text = NULL;
    size_t len = 0;
    int n_args = 0, code = cli_parse(&cmd, argc, argv, &cfg, buf, &args, &n_args);
    cJSON *spec = NULL, *json = NULL;
    long status = 0;

    if (code >= 0) {
        return code;
    }
    if (!cli_cluster_arg(argv[0], args[0], ns, name)) {
        return EXIT_BAD_ARGS;
    }
    if (fs_read_file(args[1], CLI_SPEC_MAX, &text, &len, &eb) < 0 ||
        json_parse_object(text, len, 0, &spec, &eb) < 0) {
        fprintf(stderr, "og-arbiter %s: %s: %s\n", argv[0], args[1], eb.msg);
        free(text);
        return EXIT_BAD_ARGS;
    }
    free(text);
    (void) snprintf(path, sizeof(path), "/api/v1/clusters/%s/%s", ns, name);
    code = cli_call(argv[0], &cfg, "PUT", path, spec, &status, &json);
    cJSON_Delete(spec);
    if (code == EXIT_OK) {
        printf("cluster %s/%s %s (generation %.0f)\n", ns, name,
               status == 201 ? "created" : "configured",
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(json, "generation")));
    }
    cJSON_Delete(json);
    return code;
}

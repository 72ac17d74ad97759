/*
 * common/cfg.h
 *
 * Command-line options from one table per command (Redis static_configs[], pgbouncer CF_ABS):
 * each row names the flag, its environment variable, its type, default, bounds and the field
 * of the caller's config struct it fills. cfg_load merges the sources
 *
 *     defaults  <  config file (--config FILE)  <  environment  <  flags
 *
 * validates every value and collects all errors, not only the first (HAProxy ERR_*), each
 * naming where the bad value came from: the flag, the environment variable or file:line.
 *
 * The environment is passed in as an array (main's envp or `environ`), so the parser never
 * calls getenv and tests pass their own. The config file is the option named "config"
 * (CFG_CONFIG_NAME) when the table has one: its value, from a flag, the environment or the
 * default, is the path of a file of "name = value" lines read by cfg_load itself (the one
 * edge step of this module, see cfg.c).
 *
 * cfg_usage, cfg_dump_json and cfg_dispatch produce text for the command line; cfg_dispatch
 * is the CLI-facing exception that prints to stdout and stderr itself.
 */
#ifndef OG_COMMON_CFG_H
#define OG_COMMON_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type {
    CFG_TYPE_UNKNOWN = 0,
    CFG_TYPE_STR,  /* char field[size] */
    CFG_TYPE_U32,  /* uint32_t in [min, max] */
    CFG_TYPE_U64,  /* uint64_t in [min, max] */
    CFG_TYPE_MS,   /* uint64_t milliseconds in [min, max]; text "500", "500ms", "5s", "2m", "1h" */
    CFG_TYPE_BOOL, /* bool; --name, --no-name, --name=true|false|yes|no|on|off|1|0 */
    _CFG_TYPE_MAX
};

#define CFG_REQUIRED (1u << 0) /* must be set (non-empty) by some source */
#define CFG_SECRET   (1u << 1) /* shown as "<redacted>" in cfg_dump_json and cfg_usage */

/* The option whose value names the config file, when a table has it (a CFG_STR). */
#define CFG_CONFIG_NAME "config"
/* The largest config file cfg_load reads. */
#define CFG_FILE_MAX ((size_t) 64 * 1024)

#define CFG_ERRORS_MAX 16
#define CFG_ERROR_LEN  200

struct cfg_opt {
    const char *name;    /* flag without "--", e.g. "listen"; also the config file key */
    const char *env;     /* e.g. "OG_ARBITER_LISTEN", or NULL */
    enum cfg_type type;  /* the field's type */
    const char *def;     /* default as text, NULL = none (the field is zeroed/emptied) */
    uint64_t min, max;   /* numbers and durations; max 0 means the type's maximum */
    size_t offset;       /* offsetof the field in the caller's config struct */
    size_t size;         /* sizeof the field (char[size] for STR) */
    unsigned flags;      /* CFG_REQUIRED, CFG_SECRET */
    const char *metavar; /* e.g. "ADDR"; NULL gives one from the type */
    const char *help;    /* one line */
};

/*
 * Table rows. The field's type is checked at compile time (_Generic): CFG_STR needs a char
 * array, CFG_U32 a uint32_t, CFG_U64 and CFG_MS a uint64_t, CFG_BOOL a bool. Example:
 *
 *   static const struct cfg_opt serve_opts[] = {
 *       CFG_STR("listen", "OG_ARBITER_LISTEN", "127.0.0.1:8080", struct arbiter_cfg, listen, 0,
 *               "ADDR", "REST listen address"),
 *       CFG_MS("heartbeat", "OG_HEARTBEAT", "1s", 100, 60000, struct arbiter_cfg, heartbeat_ms,
 *              0, NULL, "expected interval between agent reports"),
 *       CFG_BOOL("log-text", NULL, "false", struct arbiter_cfg, log_text, 0, "human log lines"),
 *   };
 */
/* clang-format off */
/* NOLINTBEGIN(bugprone-macro-parentheses): a type name in a _Generic association cannot be
 * parenthesized. */
#define CFG_STR(name, env, def, stype, field, flags, metavar, help)                             \
    {(name), (env), CFG_TYPE_STR, (def), 0, 0, offsetof(stype, field),                         \
     _Generic(&((stype *) 0)->field,                                                            \
              char (*)[sizeof(((stype *) 0)->field)]: sizeof(((stype *) 0)->field)),            \
     (flags), (metavar), (help)}
#define CFG_NUM_(ctype, ttype, name, env, def, min, max, stype, field, flags, metavar, help)    \
    {(name), (env), (ttype), (def), (min), (max), offsetof(stype, field),                       \
     _Generic(((stype *) 0)->field, ctype: sizeof(ctype)),                                      \
     (flags), (metavar), (help)}
/* NOLINTEND(bugprone-macro-parentheses) */
/* clang-format on */
#define CFG_U32(name, env, def, min, max, stype, field, flags, metavar, help) \
    CFG_NUM_(uint32_t, CFG_TYPE_U32, name, env, def, min, max, stype, field, flags, metavar, help)
#define CFG_U64(name, env, def, min, max, stype, field, flags, metavar, help) \
    CFG_NUM_(uint64_t, CFG_TYPE_U64, name, env, def, min, max, stype, field, flags, metavar, help)
#define CFG_MS(name, env, def, min, max, stype, field, flags, metavar, help) \
    CFG_NUM_(uint64_t, CFG_TYPE_MS, name, env, def, min, max, stype, field, flags, metavar, help)
#define CFG_BOOL(name, env, def, stype, field, flags, help) \
    CFG_NUM_(bool, CFG_TYPE_BOOL, name, env, def, 0, 1, stype, field, flags, NULL, help)

/* Every error of one cfg_load, in the order found; n <= CFG_ERRORS_MAX, the rest counted. */
struct cfg_errors {
    unsigned n;
    unsigned n_dropped; /* errors beyond CFG_ERRORS_MAX, not stored */
    char msg[CFG_ERRORS_MAX][CFG_ERROR_LEN];
};

/* "str", "u32", "u64", "ms", "bool" (and "UNKNOWN"). */
const char *cfg_type_to_string(enum cfg_type type);
/* Parses a cfg_type_to_string name; 0 or -EINVAL. */
int cfg_type_from_string(const char *s, enum cfg_type *ret);

/*
 * Fills the fields of cfg named by opts[0..n) from, in rising precedence: defaults, the
 * config file, environ_, and argv[1..] (argv[0] is the program or subcommand name).
 *
 * environ_ is a NULL-terminated array of "NAME=value" strings, normally main's envp or
 * `environ`; NULL means none. An empty value counts as unset.
 * Flags: --name=value and --name value; booleans --name, --no-name, --name=false. Repeating a
 * flag keeps the last. "--" ends the options; the first argument not starting with '-' (or a
 * lone "-") stops parsing too, and *ret_argi is set to the index of the first positional
 * argument (argc when there is none). With ret_argi NULL, positional arguments are errors.
 * Config file: "name = value" lines, blank lines and lines starting with '#' ignored; a value
 * may be wrapped in double quotes to keep leading or trailing blanks.
 *
 * Returns 0; 1 when -h or --help was seen (the caller prints cfg_usage and exits EXIT_OK;
 * nothing else was validated); or -EINVAL with errs->n > 0, each message naming its source,
 * e.g. `--port: expected integer in 1..65535, got "x"`, `unknown flag --foo`,
 * `--node is required (or OG_AGENT_NODE)`, `/etc/og/agent.conf:3: unknown key 'prot'`.
 * A field is written only with a value that passed validation; on error the struct holds the
 * best value found so far and must not be used.
 */
int cfg_load(const struct cfg_opt *opts, size_t n, int argc, char *const argv[],
             const char *const *environ_, void *cfg, struct cfg_errors *errs, int *ret_argi);

/*
 * Prints usage_line (e.g. "og-agent run [OPTIONS]"), summary (may be NULL) and one line per
 * option: "--name METAVAR  help (default: X) [env: Y]", plus -h/--help, to out.
 */
void cfg_usage(FILE *out, const char *usage_line, const char *summary, const struct cfg_opt *opts,
               size_t n);

/*
 * The effective configuration as one JSON object text, {"name": value, ...} in table order:
 * numbers and durations (ms) as numbers (as decimal strings above 2^53 - 1, see common/json.h),
 * booleans as true/false, strings escaped. A non-empty
 * CFG_SECRET value is shown as "<redacted>" (an empty one as "", so a missing secret shows).
 * Returns a string owned by the caller (free()).
 */
char *cfg_dump_json(const struct cfg_opt *opts, size_t n, const void *cfg);

/* One subcommand of a binary: fn receives argc-1 and argv+1, so its argv[0] is the name. */
struct cfg_command {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char *argv[]);
};

/*
 * Runs the subcommand named by argv[1] and returns its result. "-h", "--help" and "help"
 * print the command list to stdout and return EXIT_OK; "help CMD" runs CMD with "--help".
 * No command, or an unknown one, prints a one-line reason ("unknown command 'x'") to stderr
 * and the command list to stdout, and returns EXIT_BAD_ARGS.
 */
int cfg_dispatch(const char *prog, const struct cfg_command *cmds, size_t n, int argc,
                 char *argv[]);
/* cfg_dispatch writing to out and err instead of stdout and stderr (tests). */
int cfg_dispatch_fp(FILE *out, FILE *err, const char *prog, const struct cfg_command *cmds,
                    size_t n, int argc, char *argv[]);

#endif

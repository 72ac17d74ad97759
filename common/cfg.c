/*
 * common/cfg.c
 *
 * The option-table engine behind every og-operator command line: applies defaults, the
 * config file, the environment and the flags in that order of precedence, validates each
 * value against its row (type, bounds, length), and collects every error with its source so
 * one run tells the operator everything that is wrong (HAProxy ERR_* accumulation, keepalived
 * --config-test). Also the usage text, the redacted JSON dump logged at startup, and the
 * subcommand dispatcher.
 *
 * Layer: core, with marked exceptions. The environment arrives as an array, never through
 * getenv. Two functions touch the outside world and say so: cfg_file_read (edge: reads the
 * --config file with stdio, bounded by CFG_FILE_MAX) and the printers cfg_usage and
 * cfg_dispatch_fp, which write to the FILE their caller passes (cfg_dispatch passes stdout and
 * stderr: the CLI-facing exception).
 */
#include "common/cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/exitcode.h"
#include "common/mem.h"
#include "common/str.h"

/* Column where help text starts in cfg_usage and the command list. */
#define CFG_USAGE_COL 28
/* The largest integer cfg_dump_json writes as a JSON number (2^53 - 1). */
#define CFG_JSON_INT_MAX ((UINT64_C(1) << 53) - 1)
/* How much of a rejected value an error message quotes. */
#define CFG_QUOTE_MAX 48

/* One cfg_load run. */
struct cfg_state {
    const struct cfg_opt *opts;
    size_t n;
    void *cfg;
    struct cfg_errors *errs;
    bool *set;             /* [n]: some source gave a value (or a default exists) */
    const char **flag_val; /* [n]: the last value given on the command line */
};

const char *cfg_type_to_string(enum cfg_type type)
{
    switch (type) {
    case CFG_TYPE_STR:
        return "str";
    case CFG_TYPE_U32:
        return "u32";
    case CFG_TYPE_U64:
        return "u64";
    case CFG_TYPE_MS:
        return "ms";
    case CFG_TYPE_BOOL:
        return "bool";
    case CFG_TYPE_UNKNOWN:
    case _CFG_TYPE_MAX:
        break;
    }
    return "UNKNOWN";
}

int cfg_type_from_string(const char *s, enum cfg_type *ret)
{
    for (int t = CFG_TYPE_UNKNOWN + 1; t < _CFG_TYPE_MAX; t++) {
        if (str_eq(s, cfg_type_to_string((enum cfg_type) t))) {
            *ret = (enum cfg_type) t;
            return 0;
        }
    }
    return -EINVAL;
}

static void cfg_error(struct cfg_errors *errs, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void cfg_error(struct cfg_errors *errs, const char *fmt, ...)
{
    va_list ap;

    if (errs->n >= CFG_ERRORS_MAX) {
        errs->n_dropped++;
        return;
    }
    va_start(ap, fmt);
    (void) vsnprintf(errs->msg[errs->n], CFG_ERROR_LEN, fmt, ap);
    va_end(ap);
    errs->n++;
}

/* The row named by name[0..len), or NULL. */
static const struct cfg_opt *cfg_find(const struct cfg_opt *opts, size_t n, const char *name,
                                      size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].name && strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static uint64_t cfg_max(const struct cfg_opt *o)
{
    uint64_t type_max = o->type == CFG_TYPE_U32 ? UINT32_MAX : UINT64_MAX;

    return o->max != 0 && o->max < type_max ? o->max : type_max;
}

/* A duration in the largest unit that divides it: "1h", "90s", "1500ms". */
static void cfg_format_ms(uint64_t ms, char *buf, size_t size)
{
    if (ms != 0 && ms % 3600000 == 0) {
        (void) snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
    } else if (ms != 0 && ms % 60000 == 0) {
        (void) snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
    } else if (ms != 0 && ms % 1000 == 0) {
        (void) snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
    } else {
        (void) snprintf(buf, size, "%" PRIu64 "ms", ms);
    }
}

/*
 * Parses value for row o and stores it in cfg; on failure leaves the field alone and writes
 * the reason (without the source) into why.
 */
static int cfg_parse_value(const struct cfg_opt *o, const char *value, void *cfg, char *why,
                           size_t why_size)
{
    char *field = (char *) cfg + o->offset;
    char lo[32];
    char hi[32];
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    bool b = false;

    switch (o->type) {
    case CFG_TYPE_STR:
        if (o->size == 0) {
            (void) snprintf(why, why_size, "bad option table row (size 0)");
            return -EINVAL;
        }
        if (strlen(value) >= o->size) {
            (void) snprintf(why, why_size, "value longer than %zu characters", o->size - 1);
            return -EINVAL;
        }
        (void) str_copy(field, o->size, value);
        return 0;
    case CFG_TYPE_U32:
        if (str_to_u32(value, (uint32_t) o->min, (uint32_t) cfg_max(o), &u32) < 0) {
            break;
        }
        memcpy(field, &u32, sizeof(u32));
        return 0;
    case CFG_TYPE_U64:
        if (str_to_u64(value, o->min, cfg_max(o), &u64) < 0) {
            break;
        }
        memcpy(field, &u64, sizeof(u64));
        return 0;
    case CFG_TYPE_MS:
        if (str_to_ms(value, &u64) < 0 || u64 < o->min || u64 > cfg_max(o)) {
            break;
        }
        memcpy(field, &u64, sizeof(u64));
        return 0;
    case CFG_TYPE_BOOL:
        if (str_to_bool(value, &b) < 0) {
            break;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    case CFG_TYPE_UNKNOWN:
    case _CFG_TYPE_MAX:
        (void) snprintf(why, why_size, "bad option table row (type %d)", (int) o->type);
        return -EINVAL;
    }
    if (o->flags & CFG_SECRET) {
        value = "<redacted>"; /* a mistyped secret is still a secret */
    }
    if (o->type == CFG_TYPE_MS) {
        cfg_format_ms(o->min, lo, sizeof(lo));
        cfg_format_ms(cfg_max(o), hi, sizeof(hi));
        (void) snprintf(why, why_size,
                        "expected duration in %s..%s (e.g. \"500ms\", \"5s\"), "
                        "got \"%.*s\"",
                        lo, hi, CFG_QUOTE_MAX, value);
    } else if (o->type == CFG_TYPE_BOOL) {
        (void) snprintf(why, why_size, "expected true or false, got \"%.*s\"", CFG_QUOTE_MAX,
                        value);
    } else {
        (void) snprintf(why, why_size, "expected integer in %" PRIu64 "..%" PRIu64 ", got \"%.*s\"",
                        o->min, cfg_max(o), CFG_QUOTE_MAX, value);
    }
    return -EINVAL;
}

/*
 * Applies value to row i; source names where it came from ("--port", "OG_X_PORT",
 * "file:3: port"). A bad value still marks the row set, so it is not also "required".
 */
static void cfg_apply(struct cfg_state *st, size_t i, const char *value, const char *source)
{
    const struct cfg_opt *o = &st->opts[i];
    char why[CFG_ERROR_LEN];

    if (cfg_parse_value(o, value, st->cfg, why, sizeof(why)) < 0) {
        cfg_error(st->errs, "%s: %s", source, why);
        st->set[i] = true;
        return;
    }
    st->set[i] = o->type != CFG_TYPE_STR || value[0] != '\0';
}

/* Every row gets its default, or zero / "" when it has none. */
static void cfg_apply_defaults(struct cfg_state *st)
{
    char source[CFG_ERROR_LEN];

    for (size_t i = 0; i < st->n; i++) {
        const struct cfg_opt *o = &st->opts[i];

        if (!o->name || o->size == 0) {
            cfg_error(st->errs, "bad option table row %zu", i);
            continue;
        }
        memset((char *) st->cfg + o->offset, 0, o->size);
        if (o->def) {
            (void) snprintf(source, sizeof(source), "--%s: default", o->name);
            cfg_apply(st, i, o->def, source);
        }
    }
}

/* The value of name in a "NAME=value" array, or NULL. */
static const char *cfg_env_lookup(const char *const *environ_, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; environ_ && environ_[i]; i++) {
        if (strncmp(environ_[i], name, len) == 0 && environ_[i][len] == '=') {
            return environ_[i] + len + 1;
        }
    }
    return NULL;
}

static void cfg_apply_env(struct cfg_state *st, const char *const *environ_)
{
    for (size_t i = 0; i < st->n; i++) {
        const char *v = st->opts[i].env ? cfg_env_lookup(environ_, st->opts[i].env) : NULL;

        if (v && v[0] != '\0') {
            cfg_apply(st, i, v, st->opts[i].env);
        }
    }
}

static void cfg_apply_flags(struct cfg_state *st)
{
    char source[CFG_ERROR_LEN];

    for (size_t i = 0; i < st->n; i++) {
        if (!st->flag_val[i]) {
            continue;
        }
        (void) snprintf(source, sizeof(source), "--%s", st->opts[i].name);
        cfg_apply(st, i, st->flag_val[i], source);
    }
}

/*
 * Records one "--..." argument (arg without the dashes) in st->flag_val; may take the next
 * argument as its value. Returns the number of arguments consumed (1 or 2).
 */
static int cfg_scan_flag(struct cfg_state *st, const char *arg, const char *next)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t) (eq - arg) : strlen(arg);
    const struct cfg_opt *o = cfg_find(st->opts, st->n, arg, len);
    bool negated = false;

    if (!o && len > 3 && strncmp(arg, "no-", 3) == 0) {
        o = cfg_find(st->opts, st->n, arg + 3, len - 3);
        if (o && o->type != CFG_TYPE_BOOL) {
            o = NULL;
        }
        negated = o != NULL;
    }
    if (!o) {
        cfg_error(st->errs, "unknown flag --%.*s", (int) (len > 64 ? 64 : len), arg);
        return 1;
    }
    if (negated) {
        if (eq) {
            cfg_error(st->errs, "--no-%s takes no value", o->name);
        } else {
            st->flag_val[o - st->opts] = "false";
        }
        return 1;
    }
    if (eq) {
        st->flag_val[o - st->opts] = eq + 1;
        return 1;
    }
    if (o->type == CFG_TYPE_BOOL) {
        st->flag_val[o - st->opts] = "true";
        return 1;
    }
    if (!next) {
        cfg_error(st->errs, "--%s: missing value", o->name);
        st->set[o - st->opts] = true; /* one error is enough: not also "required" */
        return 1;
    }
    st->flag_val[o - st->opts] = next;
    return 2;
}

/* Walks argv; returns 1 on -h/--help, else 0 with *ret_argi at the first positional. */
static int cfg_scan_argv(struct cfg_state *st, int argc, char *const argv[], int *ret_argi)
{
    int i = 1;

    while (i < argc) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return 1;
        }
        if (a[0] != '-' || a[1] == '\0') {
            break;
        }
        if (a[1] != '-') {
            cfg_error(st->errs, "unknown flag %.64s", a);
            i++;
            continue;
        }
        i += cfg_scan_flag(st, a + 2, i + 1 < argc ? argv[i + 1] : NULL);
    }
    *ret_argi = i;
    return 0;
}

/* Strips blanks at both ends of s in place. */
static char *cfg_trim(char *s)
{
    size_t len;

    s += strspn(s, " \t\r");
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) {
        s[--len] = '\0';
    }
    return s;
}

/* Applies one "name = value" line of the config file (line is modified). */
static void cfg_file_line(struct cfg_state *st, const char *path, unsigned lineno, char *line)
{
    char source[CFG_ERROR_LEN];
    const struct cfg_opt *o;
    char *eq;
    char *key;
    char *value;
    size_t vlen;

    line = cfg_trim(line);
    if (line[0] == '\0' || line[0] == '#') {
        return;
    }
    eq = strchr(line, '=');
    if (!eq) {
        cfg_error(st->errs, "%s:%u: expected 'name = value'", path, lineno);
        return;
    }
    *eq = '\0';
    key = cfg_trim(line);
    value = cfg_trim(eq + 1);
    vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        value[vlen - 1] = '\0';
        value++;
    }
    o = cfg_find(st->opts, st->n, key, strlen(key));
    if (!o) {
        cfg_error(st->errs, "%s:%u: unknown key '%.64s'", path, lineno, key);
        return;
    }
    if (strcmp(o->name, CFG_CONFIG_NAME) == 0) {
        cfg_error(st->errs, "%s:%u: '%s' cannot be set in a config file", path, lineno, key);
        return;
    }
    (void) snprintf(source, sizeof(source), "%s:%u: %s", path, lineno, o->name);
    cfg_apply(st, (size_t) (o - st->opts), value, source);
}

/* Core: applies the text of a config file, line by line (text is modified). */
static void cfg_file_parse(struct cfg_state *st, const char *path, char *text)
{
    unsigned lineno = 0;
    char *line = text;

    while (line) {
        char *nl = strchr(line, '\n');

        if (nl) {
            *nl = '\0';
        }
        cfg_file_line(st, path, ++lineno, line);
        line = nl ? nl + 1 : NULL;
    }
}

/*
 * Edge: reads the whole config file, at most CFG_FILE_MAX bytes, into *ret_text (caller
 * frees). The only function of this module that touches the file system.
 */
static int cfg_file_read(const char *path, char **ret_text, char *why, size_t why_size)
{
    char ebuf[128];
    char *text = NULL;
    FILE *f = NULL;
    size_t len;
    int r = 0;

    f = fopen(path, "re"); /* 'e': O_CLOEXEC */
    if (!f) {
        r = -errno;
        (void) snprintf(why, why_size, "%s", strerror_r(errno, ebuf, sizeof(ebuf)));
        goto out;
    }
    text = xmalloc(CFG_FILE_MAX + 2);
    len = fread(text, 1, CFG_FILE_MAX + 1, f);
    if (ferror(f)) {
        r = -EIO;
        (void) snprintf(why, why_size, "read error");
        goto out;
    }
    if (len > CFG_FILE_MAX) {
        r = -EFBIG;
        (void) snprintf(why, why_size, "larger than %zu bytes", CFG_FILE_MAX);
        goto out;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        r = -EINVAL;
        (void) snprintf(why, why_size, "contains a NUL byte");
        goto out;
    }
    *ret_text = text;
    text = NULL;
out:
    free(text);
    if (f) {
        (void) fclose(f);
    }
    return r;
}

/* Reads and applies the config file named by the "config" row, if any. */
static void cfg_apply_file(struct cfg_state *st, const char *const *environ_)
{
    const struct cfg_opt *o = cfg_find(st->opts, st->n, CFG_CONFIG_NAME, strlen(CFG_CONFIG_NAME));
    char why[CFG_ERROR_LEN];
    const char *path = NULL;
    char *text = NULL;

    if (!o || o->type != CFG_TYPE_STR) {
        return;
    }
    path = st->flag_val[o - st->opts];
    if (!path && o->env) {
        path = cfg_env_lookup(environ_, o->env);
        if (path && path[0] == '\0') {
            path = NULL;
        }
    }
    if (!path) {
        path = o->def;
    }
    if (str_is_empty(path)) {
        return;
    }
    if (cfg_file_read(path, &text, why, sizeof(why)) < 0) {
        cfg_error(st->errs, "config file %s: %s", path, why);
        return;
    }
    cfg_file_parse(st, path, text);
    free(text);
}

static void cfg_check_required(struct cfg_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        const struct cfg_opt *o = &st->opts[i];

        if (!(o->flags & CFG_REQUIRED) || st->set[i]) {
            continue;
        }
        if (o->env) {
            cfg_error(st->errs, "--%s is required (or %s)", o->name, o->env);
        } else {
            cfg_error(st->errs, "--%s is required", o->name);
        }
    }
}

int cfg_load(const struct cfg_opt *opts, size_t n, int argc, char *const argv[],
             const char *const *environ_, void *cfg, struct cfg_errors *errs, int *ret_argi)
{
    struct cfg_state st = {opts, n, cfg, errs, NULL, NULL};
    int argi = argc;
    int r = 0;

    memset(errs, 0, sizeof(*errs));
    st.set = xcalloc(n ? n : 1, sizeof(*st.set));
    st.flag_val = xcalloc(n ? n : 1, sizeof(*st.flag_val));
    cfg_apply_defaults(&st);
    if (cfg_scan_argv(&st, argc, argv, &argi) == 1) {
        r = 1;
        goto out;
    }
    if (!ret_argi && argi < argc) {
        cfg_error(errs, "unexpected argument '%.64s'", argv[argi]);
    }
    cfg_apply_file(&st, environ_);
    cfg_apply_env(&st, environ_);
    cfg_apply_flags(&st);
    cfg_check_required(&st);
    if (errs->n > 0) {
        r = -EINVAL;
        goto out;
    }
    if (ret_argi) {
        *ret_argi = argi;
    }
out:
    free(st.set);
    free(st.flag_val);
    return r;
}

/* The placeholder shown after --name in cfg_usage. */
static const char *cfg_metavar(const struct cfg_opt *o)
{
    if (o->metavar) {
        return o->metavar;
    }
    switch (o->type) {
    case CFG_TYPE_U32:
    case CFG_TYPE_U64:
        return "N";
    case CFG_TYPE_MS:
        return "DURATION";
    case CFG_TYPE_STR:
    case CFG_TYPE_BOOL:
    case CFG_TYPE_UNKNOWN:
    case _CFG_TYPE_MAX:
        break;
    }
    return "VALUE";
}

/* Prints "  left" padded to the help column (or on its own line when too wide). */
static void cfg_usage_left(FILE *out, const char *left)
{
    int w = (int) strlen(left) + 2;

    if (w >= CFG_USAGE_COL) {
        (void) fprintf(out, "  %s\n%*s", left, CFG_USAGE_COL, "");
    } else {
        (void) fprintf(out, "  %s%*s", left, CFG_USAGE_COL - w, "");
    }
}

/* Printer: writes to the caller's FILE. */
void cfg_usage(FILE *out, const char *usage_line, const char *summary, const struct cfg_opt *opts,
               size_t n)
{
    char left[160];

    (void) fprintf(out, "Usage: %s\n", usage_line);
    if (summary) {
        (void) fprintf(out, "\n%s\n", summary);
    }
    (void) fprintf(out, "\nOptions:\n");
    for (size_t i = 0; i < n; i++) {
        const struct cfg_opt *o = &opts[i];

        if (o->type == CFG_TYPE_BOOL) {
            (void) snprintf(left, sizeof(left), "--[no-]%s", o->name);
        } else {
            (void) snprintf(left, sizeof(left), "--%s %s", o->name, cfg_metavar(o));
        }
        cfg_usage_left(out, left);
        (void) fprintf(out, "%s", o->help ? o->help : "");
        if (o->flags & CFG_REQUIRED) {
            (void) fprintf(out, " (required)");
        }
        if (o->def && o->def[0]) { /* an empty default is "none": say nothing */
            (void) fprintf(out, " (default: %s)", (o->flags & CFG_SECRET) ? "<redacted>" : o->def);
        }
        if (o->env) {
            (void) fprintf(out, " [env: %s]", o->env);
        }
        (void) fprintf(out, "\n");
    }
    cfg_usage_left(out, "-h, --help");
    (void) fprintf(out, "show this help and exit\n");
}

/* A growing text buffer; bounded by the option table, which is static. */
struct cfg_buf {
    char *p;
    size_t len;
    size_t cap;
};

static void cfg_buf_add(struct cfg_buf *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        while (b->len + len + 1 > b->cap) {
            b->cap = b->cap ? b->cap * 2 : 256;
        }
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void cfg_buf_str(struct cfg_buf *b, const char *s)
{
    cfg_buf_add(b, s, strlen(s));
}

/* Appends s as a JSON string literal (RFC 8259 escapes). */
static void cfg_buf_json_str(struct cfg_buf *b, const char *s)
{
    char esc[8];

    cfg_buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            cfg_buf_add(b, esc, 2);
        } else if (c < 0x20) {
            (void) snprintf(esc, sizeof(esc), "\\u%04x", c);
            cfg_buf_str(b, esc);
        } else {
            cfg_buf_add(b, s, 1);
        }
    }
    cfg_buf_add(b, "\"", 1);
}

/* Appends the JSON value of row o in cfg. */
static void cfg_buf_value(struct cfg_buf *b, const struct cfg_opt *o, const void *cfg)
{
    const char *field = (const char *) cfg + o->offset;
    char num[32];
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    bool v = false;

    switch (o->type) {
    case CFG_TYPE_STR:
        if ((o->flags & CFG_SECRET) && field[0] != '\0') {
            cfg_buf_json_str(b, "<redacted>");
        } else {
            cfg_buf_json_str(b, field);
        }
        return;
    case CFG_TYPE_U32:
        memcpy(&u32, field, sizeof(u32));
        u64 = u32;
        break;
    case CFG_TYPE_U64:
    case CFG_TYPE_MS:
        memcpy(&u64, field, sizeof(u64));
        break;
    case CFG_TYPE_BOOL:
        memcpy(&v, field, sizeof(v));
        cfg_buf_str(b, v ? "true" : "false");
        return;
    case CFG_TYPE_UNKNOWN:
    case _CFG_TYPE_MAX:
        cfg_buf_str(b, "null");
        return;
    }
    if (o->flags & CFG_SECRET) {
        cfg_buf_json_str(b, "<redacted>");
        return;
    }
    (void) snprintf(num, sizeof(num), "%" PRIu64, u64);
    /* Beyond 2^53 - 1 a JSON number is inexact (common/json.h): write a decimal string. */
    if (u64 > CFG_JSON_INT_MAX) {
        cfg_buf_json_str(b, num);
    } else {
        cfg_buf_str(b, num);
    }
}

char *cfg_dump_json(const struct cfg_opt *opts, size_t n, const void *cfg)
{
    struct cfg_buf b = {NULL, 0, 0};

    cfg_buf_str(&b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            cfg_buf_str(&b, ",");
        }
        cfg_buf_json_str(&b, opts[i].name);
        cfg_buf_str(&b, ":");
        cfg_buf_value(&b, &opts[i], cfg);
    }
    cfg_buf_str(&b, "}");
    return b.p;
}

static void cfg_commands_print(FILE *out, const char *prog, const struct cfg_command *cmds,
                               size_t n)
{
    (void) fprintf(out, "Usage: %s COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", prog);
    for (size_t i = 0; i < n; i++) {
        cfg_usage_left(out, cmds[i].name);
        (void) fprintf(out, "%s\n", cmds[i].summary ? cmds[i].summary : "");
    }
    (void) fprintf(out, "\nRun '%s COMMAND --help' for the options of a command.\n", prog);
}

static const struct cfg_command *cfg_command_find(const struct cfg_command *cmds, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (str_eq(cmds[i].name, name)) {
            return &cmds[i];
        }
    }
    return NULL;
}

/* Printer: writes the command list and errors to the caller's FILEs. */
int cfg_dispatch_fp(FILE *out, FILE *err, const char *prog, const struct cfg_command *cmds,
                    size_t n, int argc, char *argv[])
{
    char help_flag[] = "--help";
    const struct cfg_command *c;
    const char *name;

    if (argc < 2) {
        (void) fprintf(err, "%s: missing command\n", prog);
        cfg_commands_print(out, prog, cmds, n);
        return EXIT_BAD_ARGS;
    }
    name = argv[1];
    if (strcmp(name, "help") == 0 && argc >= 3) {
        /* "prog help CMD" is "prog CMD --help". */
        c = cfg_command_find(cmds, n, argv[2]);
        if (c) {
            char *help_argv[] = {argv[2], help_flag, NULL};

            return c->fn(2, help_argv);
        }
        name = argv[2];
    } else if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
               strcmp(name, "-h") == 0) {
        cfg_commands_print(out, prog, cmds, n);
        return EXIT_OK;
    } else {
        c = cfg_command_find(cmds, n, name);
        if (c) {
            return c->fn(argc - 1, argv + 1);
        }
    }
    (void) fprintf(err, "%s: unknown command '%s'\n", prog, name);
    cfg_commands_print(out, prog, cmds, n);
    return EXIT_BAD_ARGS;
}

/* The CLI-facing exception: prints to stdout and stderr. */
int cfg_dispatch(const char *prog, const struct cfg_command *cmds, size_t n, int argc, char *argv[])
{
    return cfg_dispatch_fp(stdout, stderr, prog, cmds, n, argc, argv);
}

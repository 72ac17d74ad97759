/*
 * common/log.c
 *
 * Layer: shell (the only writer of stderr). JSON-lines records built in a stack buffer,
 * escaped here, truncated explicitly, written with one write(2) so that lines from MHD's
 * threads and the main loop never interleave.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_component = "og";
static atomic_int log_min_level = LOG_LEVEL_INFO;
static atomic_int log_fd = STDERR_FILENO;
static atomic_bool log_text;

/* A bounded output cursor: once a chunk does not fit, it and all later ones are dropped. */
struct log_out {
    char *buf;
    size_t cap;
    size_t len;
    bool truncated;
};

const char *log_level_to_string(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_UNKNOWN:
        return "UNKNOWN";
    case LOG_LEVEL_DEBUG:
        return "debug";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_ERROR:
        return "error";
    case _LOG_LEVEL_MAX:
        break;
    }
    return "UNKNOWN";
}

int log_level_from_string(const char *s, enum log_level *ret_level)
{
    if (!s) {
        return -EINVAL;
    }
    for (int l = LOG_LEVEL_DEBUG; l < _LOG_LEVEL_MAX; l++) {
        if (strcasecmp(s, log_level_to_string((enum log_level) l)) == 0) {
            *ret_level = (enum log_level) l;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *ret_level = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

int log_setup(const char *component, const char *level, bool text)
{
    enum log_level l = LOG_LEVEL_INFO;
    int r = 0;

    if (component) {
        log_component = component;
    }
    atomic_store(&log_text, text);
    if (!level) {
        level = getenv("OG_LOG_LEVEL"); /* NOLINT(concurrency-mt-unsafe): at startup */
    }
    if (level && level[0]) {
        r = log_level_from_string(level, &l);
    }
    atomic_store(&log_min_level, r == 0 ? (int) l : (int) LOG_LEVEL_INFO);
    return r;
}

void log_set_level(enum log_level level)
{
    atomic_store(&log_min_level, (int) level);
}

void log_set_fd(int fd)
{
    atomic_store(&log_fd, fd >= 0 ? fd : STDERR_FILENO);
}

bool log_is_enabled(enum log_level level)
{
    return (int) level >= atomic_load(&log_min_level);
}

static void out_raw(struct log_out *o, const char *s, size_t n)
{
    if (o->truncated) {
        return;
    }
    if (n > o->cap - o->len) {
        /* Drop the whole chunk so an escape sequence is never cut in half. */
        o->truncated = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(struct log_out *o, const char *s)
{
    out_raw(o, s, strlen(s));
}

/* JSON string body escaping (RFC 8259); in text mode only control characters are escaped. */
static void out_escaped(struct log_out *o, const char *s)
{
    char tmp[8];

    for (; s && *s && !o->truncated; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' && !atomic_load(&log_text)) {
            out_raw(o, "\\\"", 2);
        } else if (c == '\\' && !atomic_load(&log_text)) {
            out_raw(o, "\\\\", 2);
        } else if (c == '\n') {
            out_raw(o, "\\n", 2);
        } else if (c == '\t') {
            out_raw(o, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            (void) snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            out_str(o, tmp);
        } else {
            out_raw(o, s, 1);
        }
    }
}

static void out_field(struct log_out *o, const char *key, const char *value)
{
    if (atomic_load(&log_text)) {
        out_str(o, " ");
        out_str(o, key);
        out_str(o, "=");
        out_escaped(o, value);
        return;
    }
    out_str(o, ",\"");
    out_escaped(o, key);
    out_str(o, "\":\"");
    out_escaped(o, value);
    out_str(o, "\"");
}

static const char *log_basename(const char *file)
{
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

static void log_head(struct log_out *o, enum log_level level, const char *file, int line)
{
    struct timespec ts;
    char tmp[160];
    struct tm tm;

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    if (atomic_load(&log_text)) {
        (void) gmtime_r(&ts.tv_sec, &tm);
        (void) snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d.%03ld %-5s %s %s:%d ", tm.tm_hour,
                        tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_level_to_string(level),
                        log_component, log_basename(file), line);
        out_str(o, tmp);
        return;
    }
    (void) snprintf(tmp, sizeof(tmp), "{\"ts\":%lld.%03ld,\"level\":\"%s\",\"v\":%d,\"comp\":\"",
                    (long long) ts.tv_sec, ts.tv_nsec / 1000000, log_level_to_string(level),
                    level == LOG_LEVEL_DEBUG ? 4 : 0);
    out_str(o, tmp);
    out_escaped(o, log_component);
    (void) snprintf(tmp, sizeof(tmp), "\",\"src\":\"%s:%d\",\"msg\":\"", log_basename(file), line);
    out_str(o, tmp);
}

static void log_vemit(enum log_level level, const char *file, int line, const struct log_ctx *ctx,
                      int err, const struct errbuf *eb, const char *fmt, va_list ap)
{
    char line_buf[LOG_LINE_MAX];
    char msg[LOG_LINE_MAX];
    char errtxt[ERRBUF_SIZE + 128];
    char num[32];
    struct log_out o = {.buf = line_buf, .cap = sizeof(line_buf) - 8};
    ssize_t w;

    log_head(&o, level, file, line);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    out_escaped(&o, msg);
    if (!atomic_load(&log_text)) {
        out_str(&o, "\"");
    }
    if (err || (eb && eb->msg[0])) {
        char sys[128];
        const char *s = err ? strerror_r(-err, sys, sizeof(sys)) : "";
        if (eb && eb->msg[0]) {
            (void) snprintf(errtxt, sizeof(errtxt), "%s%s%s", eb->msg, err ? ": " : "", s);
        } else {
            (void) snprintf(errtxt, sizeof(errtxt), "%s", s);
        }
        out_field(&o, "err", errtxt);
        if (err) {
            (void) snprintf(num, sizeof(num), "%d", err);
            out_field(&o, "rc", num);
        }
    }
    for (size_t i = 0; ctx && i < ctx->n_kv; i++) {
        out_field(&o, ctx->kv[i].key, ctx->kv[i].value ? ctx->kv[i].value : "");
    }
    if (o.truncated) {
        /* The cap left room for the marker and the closing bytes. */
        o.truncated = false;
        o.cap = sizeof(line_buf);
        out_str(&o, atomic_load(&log_text) ? "…" : "…\"");
    }
    out_str(&o, atomic_load(&log_text) ? "\n" : "}\n");
    w = write(atomic_load(&log_fd), line_buf, o.len);
    (void) w;
}

void log_emit(enum log_level level, const char *file, int line, const struct log_ctx *ctx, int err,
              const struct errbuf *eb, const char *fmt, ...)
{
    va_list ap;

    if (!log_is_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    log_vemit(level, file, line, ctx, err, eb, fmt, ap);
    va_end(ap);
}

int log_emit_errno(enum log_level level, const char *file, int line, const struct log_ctx *ctx,
                   int err, const struct errbuf *eb, const char *fmt, ...)
{
    va_list ap;

    if (!log_is_enabled(level)) {
        return err;
    }
    va_start(ap, fmt);
    log_vemit(level, file, line, ctx, err, eb, fmt, ap);
    va_end(ap);
    return err;
}

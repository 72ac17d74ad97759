/*
 * common/log.h
 *
 * JSON-lines logging to stderr with the Kubernetes "System Logs" keys:
 *   {"ts":1732480000.123,"level":"info","v":0,"comp":"agent","src":"loop.c:88","msg":"...",
 *    "err":"...","rc":-110, <context keys>}
 * One write(2) per record (at most LOG_LINE_MAX bytes, truncated with "…"), no heap use, safe
 * from several threads. Only the shell layer logs at info and above (STYLE.md).
 */
#ifndef OG_COMMON_LOG_H
#define OG_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/errbuf.h"

#define LOG_LINE_MAX 4096

enum log_level {
    LOG_LEVEL_UNKNOWN = 0,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    _LOG_LEVEL_MAX
};

/* One context key and its value; both borrowed for the duration of the call. */
struct log_kv {
    const char *key;
    const char *value;
};

/* A set of context keys (cluster, node, instance, rule, ...) attached to a record. */
struct log_ctx {
    const struct log_kv *kv;
    size_t n_kv;
};

/* Builds a struct log_ctx * from a brace list of {key, value} pairs, valid in the enclosing block.
 */
#define LOG_CTX(...)                                         \
    (&(struct log_ctx){(const struct log_kv[]){__VA_ARGS__}, \
                       sizeof((const struct log_kv[]){__VA_ARGS__}) / sizeof(struct log_kv)})

/* "debug", "info", "warn", "error" (and "UNKNOWN"). */
const char *log_level_to_string(enum log_level level);
/* Parses a level name (also "warning"); 0 or -EINVAL. */
int log_level_from_string(const char *s, enum log_level *ret_level);

/*
 * Configures the process logger: component name (borrowed, must outlive logging), the level
 * name or NULL to use $OG_LOG_LEVEL (else info), and text instead of JSON for humans.
 * Returns 0 or -EINVAL for an unknown level name (the logger then stays at info).
 */
int log_setup(const char *component, const char *level, bool text);
/* Changes the minimum level emitted. */
void log_set_level(enum log_level level);
/* Sends records to fd instead of stderr (tests); -1 restores stderr. */
void log_set_fd(int fd);
/* True when a record at level would be written. */
bool log_is_enabled(enum log_level level);

/* Writes one record; err (negative errno or 0) and eb (NULL-safe) describe a failure. */
void log_emit(enum log_level level, const char *file, int line, const struct log_ctx *ctx, int err,
              const struct errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* log_emit that returns err, for `return log_error_errno(r, &eb, "...")`. */
int log_emit_errno(enum log_level level, const char *file, int line, const struct log_ctx *ctx,
                   int err, const struct errbuf *eb, const char *fmt, ...)
        __attribute__((format(printf, 7, 8)));

#define log_debug(...) log_emit(LOG_LEVEL_DEBUG, __FILE__, __LINE__, NULL, 0, NULL, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_LEVEL_INFO, __FILE__, __LINE__, NULL, 0, NULL, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_LEVEL_WARN, __FILE__, __LINE__, NULL, 0, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_LEVEL_ERROR, __FILE__, __LINE__, NULL, 0, NULL, __VA_ARGS__)

#define slog_debug(ctx, ...) \
    log_emit(LOG_LEVEL_DEBUG, __FILE__, __LINE__, ctx, 0, NULL, __VA_ARGS__)
#define slog_info(ctx, ...) log_emit(LOG_LEVEL_INFO, __FILE__, __LINE__, ctx, 0, NULL, __VA_ARGS__)
#define slog_warn(ctx, ...) log_emit(LOG_LEVEL_WARN, __FILE__, __LINE__, ctx, 0, NULL, __VA_ARGS__)
#define slog_error(ctx, ...) \
    log_emit(LOG_LEVEL_ERROR, __FILE__, __LINE__, ctx, 0, NULL, __VA_ARGS__)

#define log_warn_errno(r, eb, ...) \
    log_emit_errno(LOG_LEVEL_WARN, __FILE__, __LINE__, NULL, r, eb, __VA_ARGS__)
#define log_error_errno(r, eb, ...) \
    log_emit_errno(LOG_LEVEL_ERROR, __FILE__, __LINE__, NULL, r, eb, __VA_ARGS__)
#define slog_warn_errno(ctx, r, eb, ...) \
    log_emit_errno(LOG_LEVEL_WARN, __FILE__, __LINE__, ctx, r, eb, __VA_ARGS__)
#define slog_error_errno(ctx, r, eb, ...) \
    log_emit_errno(LOG_LEVEL_ERROR, __FILE__, __LINE__, ctx, r, eb, __VA_ARGS__)

#endif

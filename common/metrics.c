/*
 * common/metrics.c
 *
 * Layer: core. The Prometheus text builder of common/metrics.h: a buffer that doubles as it
 * grows, names checked before anything is written so a bad call leaves no half line.
 */
#include "common/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

struct metrics {
    char *buf;
    size_t len;
    size_t cap;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    m->cap = 1024;
    m->buf = xcalloc(1, m->cap);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m) {
        return;
    }
    free(m->buf);
    free(m);
}

static void metrics_reserve(struct metrics *m, size_t more)
{
    size_t cap = m->cap;

    while (m->len + more + 1 > cap) {
        cap *= 2;
    }
    if (cap != m->cap) {
        m->buf = xrealloc(m->buf, cap);
        m->cap = cap;
    }
}

static void metrics_put(struct metrics *m, const char *s, size_t n)
{
    metrics_reserve(m, n);
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void metrics_puts(struct metrics *m, const char *s)
{
    metrics_put(m, s, strlen(s));
}

static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9')) {
        return false;
    }
    for (; *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void metrics_escaped(struct metrics *m, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') {
            metrics_puts(m, "\\\\");
        } else if (*s == '\n') {
            metrics_puts(m, "\\n");
        } else if (quote && *s == '"') {
            metrics_puts(m, "\\\"");
        } else {
            metrics_put(m, s, 1);
        }
    }
}

int metrics_family(struct metrics *m, const char *name, const char *type, const char *help)
{
    if (!name_ok(name, true) || !type ||
        (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
         strcmp(type, "untyped") != 0)) {
        return -EINVAL;
    }
    metrics_puts(m, "# HELP ");
    metrics_puts(m, name);
    metrics_puts(m, " ");
    metrics_escaped(m, help ? help : "", false);
    metrics_puts(m, "\n# TYPE ");
    metrics_puts(m, name);
    metrics_puts(m, " ");
    metrics_puts(m, type);
    metrics_puts(m, "\n");
    return 0;
}

static void metrics_value(struct metrics *m, double v)
{
    char num[64];

    if (isnan(v)) {
        metrics_puts(m, "NaN");
        return;
    }
    if (isinf(v)) {
        metrics_puts(m, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Integral and exactly representable: no fraction, no exponent. */
    if (v > -9.007199254740992e15 && v < 9.007199254740992e15 && v == (double) (long long) v) {
        (void) snprintf(num, sizeof(num), "%.0f", v);
    } else {
        (void) snprintf(num, sizeof(num), "%.17g", v);
    }
    metrics_puts(m, num);
}

int metrics_sample(struct metrics *m, const char *name, const char *const labels[][2],
                   size_t n_labels, double value)
{
    if (!name_ok(name, true) || n_labels > METRICS_MAX_LABELS || (n_labels > 0 && !labels)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n_labels; i++) {
        if (!name_ok(labels[i][0], false) || !labels[i][1]) {
            return -EINVAL;
        }
    }
    metrics_puts(m, name);
    if (n_labels > 0) {
        metrics_puts(m, "{");
        for (size_t i = 0; i < n_labels; i++) {
            if (i > 0) {
                metrics_puts(m, ",");
            }
            metrics_puts(m, labels[i][0]);
            metrics_puts(m, "=\"");
            metrics_escaped(m, labels[i][1], true);
            metrics_puts(m, "\"");
        }
        metrics_puts(m, "}");
    }
    metrics_puts(m, " ");
    metrics_value(m, value);
    metrics_puts(m, "\n");
    return 0;
}

const char *metrics_text(const struct metrics *m)
{
    return m->buf;
}

char *metrics_take(struct metrics *m)
{
    char *text = m->buf;

    m->cap = 1024;
    m->len = 0;
    m->buf = xcalloc(1, m->cap);
    return text;
}

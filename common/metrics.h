/*
 * common/metrics.h
 *
 * Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/) for the daemons' GET /metrics: a
 * growing text buffer, one `# HELP` / `# TYPE` pair per family, samples with escaped label values.
 * The daemons gather their figures themselves (from a snapshot) and render them here; nothing is
 * registered globally.
 */
#ifndef OG_COMMON_METRICS_H
#define OG_COMMON_METRICS_H

#include <stddef.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_LABELS   8

struct metrics;

/* An empty exposition; never NULL (allocation failure aborts, common/mem.h). */
struct metrics *metrics_new(void);
/* NULL-safe. */
void metrics_free(struct metrics *m);

/*
 * Starts a family: its HELP and TYPE lines ("counter", "gauge", "untyped"). A name that is
 * not [a-zA-Z_:][a-zA-Z0-9_:]* is refused with -EINVAL and nothing is written.
 */
int metrics_family(struct metrics *m, const char *name, const char *type, const char *help);

/*
 * One sample of name: labels is n_labels pairs {key, value} (keys [a-zA-Z_][a-zA-Z0-9_]*,
 * values escaped: backslash, double quote, newline). Integral values print without a
 * fraction; NaN and infinities as Prometheus spells them. 0, or -EINVAL for a bad name or
 * label key or more than METRICS_MAX_LABELS labels (nothing written).
 */
int metrics_sample(struct metrics *m, const char *name, const char *const labels[][2],
                   size_t n_labels, double value);

/* The text so far (owned by m, valid until the next call on m). */
const char *metrics_text(const struct metrics *m);
/* Hands the text over to the caller (free()) and leaves m empty. */
char *metrics_take(struct metrics *m);

#endif

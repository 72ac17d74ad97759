/*
 * common/errbuf.c
 *
 * Layer: core. See errbuf.h.
 */
#include "common/errbuf.h"

#include <stdio.h>
#include <string.h>

void errbuf_set(struct errbuf *eb, const char *fmt, ...)
{
    va_list ap;

    if (!eb) {
        return;
    }
    va_start(ap, fmt);
    (void) vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
    va_end(ap);
}

void errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
    char prefix[ERRBUF_SIZE];
    char old[ERRBUF_SIZE];
    va_list ap;

    if (!eb) {
        return;
    }
    va_start(ap, fmt);
    (void) vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, eb->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    if (old[0]) {
        (void) snprintf(eb->msg, sizeof(eb->msg), "%s: %s", prefix, old);
    } else {
        (void) snprintf(eb->msg, sizeof(eb->msg), "%s", prefix);
    }
}

void errbuf_clear(struct errbuf *eb)
{
    if (eb) {
        eb->msg[0] = '\0';
    }
}

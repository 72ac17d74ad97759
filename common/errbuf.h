/*
 * common/errbuf.h
 *
 * The caller-owned error text that edge functions fill with the library's own words
 * (curl errbuf, PQerrorMessage, sqlite3_errmsg, a child's stderr tail) while returning
 * a negative errno. The deciding layer logs it once.
 */
#ifndef OG_COMMON_ERRBUF_H
#define OG_COMMON_ERRBUF_H

#include <stdarg.h>

#define ERRBUF_SIZE 256

struct errbuf {
    char msg[ERRBUF_SIZE];
};

/* Formats into eb (NULL-safe: nothing happens); truncates to ERRBUF_SIZE - 1 bytes. */
void errbuf_set(struct errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current text with "<prefix>: " (NULL-safe), keeping the library detail last. */
void errbuf_prefix(struct errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties eb (NULL-safe). */
void errbuf_clear(struct errbuf *eb);

#endif

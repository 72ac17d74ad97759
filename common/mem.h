/*
 * common/mem.h
 *
 * Allocation wrappers that abort on out-of-memory. A daemon that cannot allocate is
 * restarted by its supervisor anyway; aborting removes error paths that are never tested
 * (Redis zmalloc, keepalived xalloc). The only file allowed to call malloc and friends.
 */
#ifndef OG_COMMON_MEM_H
#define OG_COMMON_MEM_H

#include <stdarg.h>
#include <stddef.h>

/* malloc that never returns NULL; size 0 yields a unique 1-byte allocation. */
void *xmalloc(size_t size);
/* calloc that never returns NULL; aborts on n*size overflow. */
void *xcalloc(size_t n, size_t size);
/* realloc that never returns NULL. */
void *xrealloc(void *ptr, size_t size);
/* strdup that never returns NULL; NULL in gives NULL out. */
char *xstrdup(const char *s);
/* strndup that never returns NULL: at most n bytes of s, always terminated. */
char *xstrndup(const char *s, size_t n);
/* Heap-formatted string owned by the caller (free with free()). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* va_list form of xasprintf. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif

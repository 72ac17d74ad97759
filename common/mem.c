/*
 * common/mem.c
 *
 * Layer: core. Abort-on-OOM allocation wrappers; see mem.h for why.
 */
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mem_oom(size_t size)
{
    /* No allocation and no logger here: the logger may be what failed. */
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1); /* ALLOW-BANNED: the wrapper itself */
    if (!p) {
        mem_oom(size);
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p;

    if (size && n > (size_t) -1 / size) {
        mem_oom((size_t) -1);
    }
    p = calloc(n ? n : 1, size ? size : 1); /* ALLOW-BANNED: the wrapper itself */
    if (!p) {
        mem_oom(n * size);
    }
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1); /* ALLOW-BANNED: the wrapper itself */
    if (!p) {
        mem_oom(size);
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n;
    char *p;

    if (!s) {
        return NULL;
    }
    n = strlen(s);
    p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = 0;
    char *p;

    if (!s) {
        return NULL;
    }
    while (len < n && s[len]) {
        len++;
    }
    p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    char *p;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        mem_oom(0);
    }
    p = xmalloc((size_t) n + 1);
    (void) vsnprintf(p, (size_t) n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

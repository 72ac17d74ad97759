/*
 * common/str.c
 *
 * Layer: core. See str.h.
 */
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    unsigned long long v;
    char *end = NULL;

    /* strtoull accepts leading space and a sign; a number from outside must not. */
    if (!s || !isdigit((unsigned char) s[0])) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (errno || !end || *end != '\0') {
        return -EINVAL;
    }
    if (v < min || v > max) {
        return -ERANGE;
    }
    *ret = (uint64_t) v;
    return 0;
}

int str_to_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
    uint64_t v;
    int r = str_to_u64(s, min, max, &v);

    if (r < 0) {
        return r;
    }
    *ret = (uint32_t) v;
    return 0;
}

int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    long long v;
    char *end = NULL;

    if (!s || !(isdigit((unsigned char) s[0]) || (s[0] == '-' && isdigit((unsigned char) s[1])))) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (errno || !end || *end != '\0') {
        return -EINVAL;
    }
    if (v < min || v > max) {
        return -ERANGE;
    }
    *ret = (int64_t) v;
    return 0;
}

int str_to_ms(const char *s, uint64_t *ret_ms)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1}};
    char num[32];
    size_t n = 0;
    uint64_t v;

    if (!s) {
        return -EINVAL;
    }
    while (isdigit((unsigned char) s[n]) && n < sizeof(num) - 1) {
        n++;
    }
    if (n == 0 || n >= sizeof(num) - 1) {
        return -EINVAL;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    if (str_to_u64(num, 0, UINT64_MAX, &v) < 0) {
        return -ERANGE;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s + n, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult) {
                return -ERANGE;
            }
            *ret_ms = v * units[i].mult;
            return 0;
        }
    }
    return -EINVAL;
}

int str_to_bool(const char *s, bool *ret)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};

    if (!s) {
        return -EINVAL;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

int str_copy(char *dst, size_t size, const char *src)
{
    size_t n;

    if (size == 0) {
        return -ENAMETOOLONG;
    }
    if (!src) {
        src = "";
    }
    n = strlen(src);
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -ENAMETOOLONG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

bool str_is_empty(const char *s)
{
    return !s || !s[0];
}

bool str_eq(const char *a, const char *b)
{
    if (!a || !b) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool str_is_label_span(const char *s, size_t n)
{
    if (n == 0 || n > STR_DNS_LABEL_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1)) {
            return false;
        }
    }
    return true;
}

bool str_is_dns_label(const char *s)
{
    return s && str_is_label_span(s, strlen(s));
}

bool str_is_dns_subdomain(const char *s)
{
    size_t len;
    const char *p;

    if (!s) {
        return false;
    }
    len = strlen(s);
    if (len == 0 || len > STR_DNS_SUBDOMAIN_MAX) {
        return false;
    }
    p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t) (dot - p) : strlen(p);
        if (!str_is_label_span(p, n)) {
            return false;
        }
        if (!dot) {
            return true;
        }
        p = dot + 1;
    }
}

void str_format_lsn(uint64_t lsn, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%" PRIX32 "/%" PRIX32, (uint32_t) (lsn >> 32), (uint32_t) lsn);
}

int str_parse_lsn(const char *s, uint64_t *ret_lsn)
{
    unsigned long hi, lo;
    char *end = NULL;

    if (!s || !isxdigit((unsigned char) s[0])) {
        return -EINVAL;
    }
    errno = 0;
    hi = strtoul(s, &end, 16);
    if (errno || !end || *end != '/' || hi > UINT32_MAX || !isxdigit((unsigned char) end[1])) {
        return -EINVAL;
    }
    s = end + 1;
    lo = strtoul(s, &end, 16);
    if (errno || !end || *end != '\0' || lo > UINT32_MAX) {
        return -EINVAL;
    }
    *ret_lsn = ((uint64_t) hi << 32) | (uint64_t) lo;
    return 0;
}

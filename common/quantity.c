/*
 * common/quantity.c
 *
 * Kubernetes quantities as exact integers. A quantity is N * 10^-f * M where N holds every
 * digit (at most 18, so N < 2^60), f the digits after the point, and M the suffix: 2^(10k)
 * for Ki..Ei, 10^e for the SI letters and exponents. The result is N * 2^b * 10^p with
 * p = e - f (+ 3 for thousandths), computed with overflow checks when p >= 0 and as a
 * quotient and remainder, doubled b times, when p < 0, so nothing is ever rounded twice.
 *
 * Layer: core
 */
#include "common/quantity.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define QUANTITY_DIGITS_MAX 18
#define QUANTITY_EXP_MAX    18 /* |e| of an exponent suffix */

/* The suffix: a power of two (binary) and a power of ten (SI, exponent). */
struct quantity_suffix {
    unsigned bits;
    int p10;
};

static const struct {
    const char *text;
    struct quantity_suffix value;
} quantity_suffixes[] = {
        {"Ki", {10, 0}}, {"Mi", {20, 0}}, {"Gi", {30, 0}}, {"Ti", {40, 0}},
        {"Pi", {50, 0}}, {"Ei", {60, 0}}, {"n", {0, -9}},  {"u", {0, -6}},
        {"m", {0, -3}},  {"", {0, 0}},    {"k", {0, 3}},   {"M", {0, 6}},
        {"G", {0, 9}},   {"T", {0, 12}},  {"P", {0, 15}},  {"E", {0, 18}},
};

static uint64_t quantity_pow10(unsigned k)
{
    uint64_t v = 1;

    while (k-- > 0) {
        v *= 10;
    }
    return v;
}

/* An exponent suffix "e3", "E-2", "e+6"; 0 or -EINVAL. */
static int quantity_exponent(const char *s, int *ret)
{
    int sign = 1, v = 0;
    size_t i = 1;

    if (s[i] == '+' || s[i] == '-') {
        sign = s[i] == '-' ? -1 : 1;
        i++;
    }
    if (s[i] == '\0') {
        return -EINVAL;
    }
    for (; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (s[i] - '0');
        if (v > QUANTITY_EXP_MAX) {
            return -EINVAL;
        }
    }
    *ret = sign * v;
    return 0;
}

static int quantity_suffix(const char *s, struct quantity_suffix *ret)
{
    if ((s[0] == 'e' || s[0] == 'E') && s[1] != '\0' && s[1] != 'i') {
        ret->bits = 0;
        return quantity_exponent(s, &ret->p10);
    }
    for (size_t i = 0; i < sizeof(quantity_suffixes) / sizeof(quantity_suffixes[0]); i++) {
        if (strcmp(s, quantity_suffixes[i].text) == 0) {
            *ret = quantity_suffixes[i].value;
            return 0;
        }
    }
    return -EINVAL;
}

/* The number part: every digit into *ret_n, the count after the point into *ret_frac. */
static int quantity_number(const char *s, uint64_t *ret_n, unsigned *ret_frac, size_t *ret_len)
{
    uint64_t n = 0;
    unsigned digits = 0, frac = 0;
    bool point = false;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == '.' && !point) {
            point = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') {
            break;
        }
        if (n == 0 && s[i] == '0' && !point) {
            continue; /* leading zeros are not significant */
        }
        if (++digits > QUANTITY_DIGITS_MAX) {
            return -ERANGE;
        }
        n = n * 10 + (uint64_t) (s[i] - '0');
        frac += point;
    }
    /* At least one digit: "." and "" are not numbers. */
    if (i == 0 || (i == 1 && point)) {
        return -EINVAL;
    }
    *ret_n = n;
    *ret_frac = frac;
    *ret_len = i;
    return 0;
}

/* ceil(n * 2^bits / 10^k), k >= 1. */
static int quantity_divide(uint64_t n, unsigned bits, unsigned k, uint64_t *ret)
{
    bool sticky = false;
    uint64_t d, q, r;

    if (k > 19) {
        /* Pre-divide so the divisor fits; a lost remainder still rounds up. */
        uint64_t pre = k - 19 >= 19 ? 0 : quantity_pow10(k - 19);
        sticky = pre == 0 ? n != 0 : n % pre != 0;
        n = pre == 0 ? 0 : n / pre;
        k = 19;
    }
    d = quantity_pow10(k);
    q = n / d;
    r = n % d;
    for (unsigned i = 0; i < bits; i++) {
        if (q > UINT64_MAX / 2) {
            return -ERANGE;
        }
        q *= 2;
        /* r doubles; 2r >= d carries one into q (written so 2r never overflows). */
        if (r >= d - r) {
            q++;
            r -= d - r;
        } else {
            r *= 2;
        }
    }
    if (r != 0 || sticky) {
        if (q == UINT64_MAX) {
            return -ERANGE;
        }
        q++;
    }
    *ret = q;
    return 0;
}

/* N * 2^bits * 10^p10, rounded up; 0, -EINVAL or -ERANGE. */
static int quantity_parse_scaled(const char *s, int extra_p10, uint64_t *ret)
{
    struct quantity_suffix suf;
    uint64_t n, v;
    unsigned frac;
    size_t len;
    int r, p;

    if (!s) {
        return -EINVAL;
    }
    r = quantity_number(s, &n, &frac, &len);
    if (r < 0) {
        return r;
    }
    r = quantity_suffix(s + len, &suf);
    if (r < 0) {
        return r;
    }
    p = suf.p10 - (int) frac + extra_p10;
    if (p < 0) {
        r = quantity_divide(n, suf.bits, (unsigned) -p, &v);
        if (r < 0) {
            return r;
        }
        *ret = v;
        return 0;
    }
    v = n;
    for (int i = 0; i < p; i++) {
        if (v > UINT64_MAX / 10) {
            return -ERANGE;
        }
        v *= 10;
    }
    if (suf.bits > 0 && v > (UINT64_MAX >> suf.bits)) {
        return -ERANGE;
    }
    *ret = v << suf.bits;
    return 0;
}

int quantity_parse_milli(const char *s, uint64_t *ret_milli)
{
    return quantity_parse_scaled(s, 3, ret_milli);
}

int quantity_parse_bytes(const char *s, uint64_t *ret)
{
    return quantity_parse_scaled(s, 0, ret);
}

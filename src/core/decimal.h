/*
 * Internal: the one number grammar of every command line (the freezebench command and
 * the bench programs).  A leaf header, so tools/ and bench/ read numbers alike without
 * linking anything more.
 *
 * Grammar: decimal digits, and where a fraction is allowed an optional ".digits" and an
 * exponent "e[+-]digits" (1e-3, 0.5, 2., .5).  No sign, no space before or after, no hex,
 * inf or nan.  strtod and strtoull alone take " 0.5", "+1" and "0x10" but not "0.5 ", so
 * each parser built on them accepted a different language.
 */
#ifndef FZ_DECIMAL_H
#define FZ_DECIMAL_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the number at the start of s under the grammar above, 0 if there is none.
 * What follows it is the caller's to judge (a unit suffix, or the end). */
static inline size_t decimal_span(const char *s, bool fraction)
{
    const char *p = s;
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (fraction && *p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        digits += frac;
        p += 1 + frac;
    }
    if (!digits)
        return 0;
    if (fraction && (*p == 'e' || *p == 'E')) {
        const char *e = p + 1 + (p[1] == '+' || p[1] == '-');
        size_t exp = strspn(e, "0123456789");
        if (!exp)
            return 0;   /* "1e" is a typo, not 1 followed by a suffix */
        p = e + exp;
    }
    return (size_t)(p - s);
}

/* A whole number in [min, max], and nothing after it. */
static inline bool parse_whole(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    size_t n = s ? decimal_span(s, false) : 0;
    if (!n || s[n] != '\0')
        return false;
    errno = 0;
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno || x < min || x > max)
        return false;
    *v = (uint64_t)x;
    return true;
}

/* A finite number (>= 0, as the grammar has no sign) in its first `len` characters, which
 * must be exactly one number: len is decimal_span's answer, or strlen(s) to allow no
 * suffix.  Range checks are the caller's. */
static inline bool parse_real_prefix(const char *s, size_t len, double *v)
{
    if (!s || !len || decimal_span(s, true) != len)
        return false;
    errno = 0;
    double x = strtod(s, NULL);   /* stops where the grammar stopped: no sign, hex, inf */
    if (errno || !isfinite(x))
        return false;
    *v = x;
    return true;
}

/* A finite number >= 0, and nothing after it. */
static inline bool parse_real(const char *s, double *v)
{
    return s && parse_real_prefix(s, strlen(s), v);
}

#endif /* FZ_DECIMAL_H */

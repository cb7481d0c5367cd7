#include "units.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Three significant digits of x in [1, 1000): 123, 12.3, 1.23. */
static void three_digits(char *buf, size_t size, double x, const char *prefix,
                         const char *unit)
{
    double ax = fabs(x);
    int decimals = ax >= 99.95 ? 0 : ax >= 9.995 ? 1 : 2;
    /* A bare count (no prefix, no unit) gets no trailing space. */
    snprintf(buf, size, "%.*f%s%s%s", decimals, x, *prefix || *unit ? " " : "", prefix, unit);
}

char *fzb_fmt_si(char *buf, size_t size, double v, const char *unit)
{
    static const char *const prefixes[] = { "p", "n", "µ", "m", "", "k", "M", "G", "T", "P" };
    enum { ONE = 4, LAST = sizeof prefixes / sizeof *prefixes - 1 };
    if (!isfinite(v)) {
        snprintf(buf, size, "-");
        return buf;
    }
    if (v == 0) {
        snprintf(buf, size, "0%s%s", *unit ? " " : "", unit);
        return buf;
    }
    int p = ONE + (int)floor(log10(fabs(v)) / 3);
    p = p < 0 ? 0 : p > LAST ? LAST : p;
    double x = v / pow(1000.0, p - ONE);
    if (fabs(x) >= 999.5 && p < LAST) {   /* 999.7 rounds to 1000: the next prefix up */
        p++;
        x /= 1000;
    }
    three_digits(buf, size, x, prefixes[p], unit);
    return buf;
}

char *fzb_fmt_bytes(char *buf, size_t size, double bytes)
{
    static const char *const prefixes[] = { "", "Ki", "Mi", "Gi", "Ti" };
    enum { LAST = sizeof prefixes / sizeof *prefixes - 1 };
    if (!isfinite(bytes)) {
        snprintf(buf, size, "-");
        return buf;
    }
    int p = 0;
    double x = bytes;
    while (fabs(x) >= 999.5 && p < LAST) {   /* 1000-1023 KiB reads better as 0.98 MiB */
        x /= 1024;
        p++;
    }
    if (p == 0)
        snprintf(buf, size, "%.0f B", x);
    else
        three_digits(buf, size, x, prefixes[p], "B");
    return buf;
}

char *fzb_fmt_percent(char *buf, size_t size, double fraction)
{
    if (!isfinite(fraction)) {
        snprintf(buf, size, "-");
        return buf;
    }
    double pct = 100 * fraction;
    snprintf(buf, size, "%.*f%%", fabs(pct) >= 99.95 ? 0 : 1, pct);
    return buf;
}

char *fzb_fmt_pm(char *buf, size_t size, double median, double lo, double hi)
{
    if (!(median > 0) || isnan(lo) || isnan(hi)) {
        snprintf(buf, size, "n/a");
        return buf;
    }
    double side = fmax(median - lo, hi - median) / median * 100;
    snprintf(buf, size, "±%.*f%%", side >= 9.95 ? 0 : 1, side);
    return buf;
}

char *fzb_fmt_cut_ci(char *buf, size_t size, double cut, double lo, double hi)
{
    if (!isfinite(cut)) {
        snprintf(buf, size, "-");
        return buf;
    }
    if (isnan(lo) || isnan(hi))
        snprintf(buf, size, "%.1f%% [n/a]", 100 * cut);
    else
        snprintf(buf, size, "%.1f%% [%.1f–%.1f]", 100 * cut, 100 * lo, 100 * hi);
    return buf;
}

int fzb_pad(const char *text, int width)
{
    int continuation = 0;   /* UTF-8 bytes 10xxxxxx add no column */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        continuation += (*p & 0xc0) == 0x80;
    return width + continuation;
}

/*
 * Numbers for the tables a person reads (the CSVs keep raw SI values): each value scaled
 * to its own unit prefix with about three significant digits, so a column can hold
 * 12 ns and 3.4 s, or 850 kFLOP and 1.2 TFLOP, and stay readable.
 */
#ifndef FZB_UNITS_H
#define FZB_UNITS_H

#include <stdbool.h>
#include <stddef.h>

/* Big enough for any of the formats below. */
enum { FZB_UNIT_TEXT = 32 };

/* `v` with an SI prefix (p n µ m, k M G T P) and `unit`: 1.594e11, "FLOP/s" ->
 * "159 GFLOP/s"; 1.23e-4, "s" -> "123 µs"; 0 -> "0 s".  NaN or infinite: "-".
 * Returns `buf`. */
char *fzb_fmt_si(char *buf, size_t size, double v, const char *unit);

/* Bytes with a binary prefix: 1536 -> "1.50 KiB"; 3 << 20 -> "3.00 MiB". */
char *fzb_fmt_bytes(char *buf, size_t size, double bytes);

/* A fraction as a percentage with three significant digits (at most one decimal):
 * 0.4523 -> "45.2%", -0.012 -> "-1.2%", 1 -> "100%".  NaN: "-". */
char *fzb_fmt_percent(char *buf, size_t size, double fraction);

/* A median's 95% interval as its larger side relative to the median: [9.8, 10.3] around
 * 10 -> "±3.0%".  No interval (NaN ends): "n/a". */
char *fzb_fmt_pm(char *buf, size_t size, double median, double lo, double hi);

/* A cut or other fraction with its interval: "35.0% [33.8–36.1]"; without an interval
 * "35.0% [n/a]"; NaN cut: "-". */
char *fzb_fmt_cut_ci(char *buf, size_t size, double cut, double lo, double hi);

/* The field width to give printf's %*s so `text` takes `width` columns on a terminal:
 * multi-byte UTF-8 characters (µ) count as one column. */
int fzb_pad(const char *text, int width);

#endif

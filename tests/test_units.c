/* The table formatter: each value scaled to its own prefix with about three significant
 * digits, the edges where rounding crosses a prefix, and the noisy-row rule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "units.h"

static void si(double v, const char *unit, const char *want)
{
    char buf[FZB_UNIT_TEXT];
    const char *got = fzb_fmt_si(buf, sizeof buf, v, unit);
    if (strcmp(got, want) != 0)
        fail_msg("fzb_fmt_si(%g, \"%s\") = \"%s\", want \"%s\"", v, unit, got, want);
}

static void times_scale_from_ns_to_s(void **state)
{
    (void)state;
    si(1.234e-9, "s", "1.23 ns");
    si(12.34e-6, "s", "12.3 µs");
    si(123.4e-3, "s", "123 ms");
    si(2.5, "s", "2.50 s");
    si(0, "s", "0 s");
}

static void rates_and_counts_take_si_prefixes(void **state)
{
    (void)state;
    si(1.594e11, "FLOP/s", "159 GFLOP/s");
    si(656e3, "FLOP", "656 kFLOP");
    si(3.21e8, "FLOP", "321 MFLOP");
    si(1.2e12, "FLOP", "1.20 TFLOP");
    si(544, "", "544");
    si(2.91e6, "", "2.91 M");
    si(-4.2e-3, "s", "-4.20 ms");
}

static void rounding_up_to_1000_moves_to_the_next_prefix(void **state)
{
    (void)state;
    si(999.7e-6, "s", "1.00 ms");
    si(0.9996, "s", "1.00 s");
    si(9.996, "s", "10.0 s");
    si(99.96e9, "FLOP/s", "100 GFLOP/s");
    si(999.4, "B/s", "999 B/s");
}

static void non_finite_values_print_a_dash(void **state)
{
    (void)state;
    char buf[FZB_UNIT_TEXT];
    assert_string_equal(fzb_fmt_si(buf, sizeof buf, NAN, "s"), "-");
    assert_string_equal(fzb_fmt_si(buf, sizeof buf, INFINITY, "s"), "-");
    assert_string_equal(fzb_fmt_percent(buf, sizeof buf, NAN), "-");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, NAN), "-");
}

static void bytes_use_binary_prefixes(void **state)
{
    (void)state;
    char buf[FZB_UNIT_TEXT];
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, 512), "512 B");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, 1536), "1.50 KiB");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, 493568), "482 KiB");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, 3.0 * (1 << 20)), "3.00 MiB");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, 1023.0 * 1024), "1.00 MiB");
    assert_string_equal(fzb_fmt_bytes(buf, sizeof buf, (double)(1u << 30)), "1.00 GiB");
}

static void percentages(void **state)
{
    (void)state;
    char buf[FZB_UNIT_TEXT];
    assert_string_equal(fzb_fmt_percent(buf, sizeof buf, 0.4523), "45.2%");
    assert_string_equal(fzb_fmt_percent(buf, sizeof buf, -0.012), "-1.2%");
    assert_string_equal(fzb_fmt_percent(buf, sizeof buf, 1.0), "100%");
}

static void intervals_print_their_larger_side_or_their_ends(void **state)
{
    (void)state;
    char buf[FZB_UNIT_TEXT];
    /* A median's interval: the larger of its two sides, relative to the median. */
    assert_string_equal(fzb_fmt_pm(buf, sizeof buf, 1.0, 0.98, 1.03), "±3.0%");
    assert_string_equal(fzb_fmt_pm(buf, sizeof buf, 1.0, 0.5, 1.01), "±50%");
    assert_string_equal(fzb_fmt_pm(buf, sizeof buf, 1.0, NAN, NAN), "n/a");
    assert_string_equal(fzb_fmt_pm(buf, sizeof buf, 0, 0, 0), "n/a");
    /* A cut with its ends, as the reader wants it: "35.0% [33.8–36.1]". */
    assert_string_equal(fzb_fmt_cut_ci(buf, sizeof buf, 0.35, 0.338, 0.361), "35.0% [33.8–36.1]");
    assert_string_equal(fzb_fmt_cut_ci(buf, sizeof buf, -0.05, -0.1, 0.02), "-5.0% [-10.0–2.0]");
    assert_string_equal(fzb_fmt_cut_ci(buf, sizeof buf, 0.35, NAN, NAN), "35.0% [n/a]");
    assert_string_equal(fzb_fmt_cut_ci(buf, sizeof buf, NAN, 0, 1), "-");
}

static void padding_counts_columns_not_bytes(void **state)
{
    (void)state;
    assert_int_equal(fzb_pad("12.3 ms", 10), 10);
    assert_int_equal(fzb_pad("12.3 µs", 10), 11);   /* µ is two bytes, one column */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_scale_from_ns_to_s),
        cmocka_unit_test(rates_and_counts_take_si_prefixes),
        cmocka_unit_test(rounding_up_to_1000_moves_to_the_next_prefix),
        cmocka_unit_test(non_finite_values_print_a_dash),
        cmocka_unit_test(bytes_use_binary_prefixes),
        cmocka_unit_test(percentages),
        cmocka_unit_test(intervals_print_their_larger_side_or_their_ends),
        cmocka_unit_test(padding_counts_columns_not_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

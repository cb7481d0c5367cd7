/* split_range: thread shares of [0, n) for the element-wise phases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parallel.h"

static void shares_cover_the_range_in_order_without_overlap(void **state)
{
    (void)state;
    for (size_t n = 0; n < 300; n += 7) {
        for (int nth = 1; nth <= 9; nth++) {
            size_t next = 0;
            for (int ith = 0; ith < nth; ith++) {
                fz_range r = split_range(n, ith, nth);
                assert_int_equal(r.begin, next);
                assert_true(r.end >= r.begin && r.end <= n);
                next = r.end;
            }
            assert_int_equal(next, n);
        }
    }
}

static void shares_start_on_whole_cache_lines(void **state)
{
    (void)state;
    for (int ith = 0; ith < 5; ith++) {
        fz_range r = split_range(1000003, ith, 5);
        assert_int_equal(r.begin % FZ_PARALLEL_ALIGN, 0);
    }
}

static void shares_are_balanced_to_one_line(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    for (int nth = 1; nth <= 7; nth++) {
        size_t lo = n, hi = 0;
        for (int ith = 0; ith < nth; ith++) {
            fz_range r = split_range(n, ith, nth);
            size_t len = r.end - r.begin;
            lo = len < lo ? len : lo;
            hi = len > hi ? len : hi;
        }
        assert_true(hi - lo <= FZ_PARALLEL_ALIGN);
    }
}

static void tile_split_cuts_only_at_whole_tiles(void **state)
{
    (void)state;
    /* M = 100 rows in MR = 6 tiles: every share but the last is whole tiles, so a
     * GEMM sees the same tiles for any thread count. */
    for (int nth = 1; nth <= 5; nth++) {
        size_t next = 0;
        for (int ith = 0; ith < nth; ith++) {
            fz_range r = split_range_by(100, 6, ith, nth);
            assert_int_equal(r.begin, next);
            assert_int_equal(r.begin % 6, 0);
            if (r.end != 100)
                assert_int_equal(r.end % 6, 0);
            next = r.end;
        }
        assert_int_equal(next, 100);
    }
}

static void small_work_runs_on_one_thread(void **state)
{
    (void)state;
    assert_int_equal(threads_for(FZ_PARALLEL_MIN_WORK - 1, 8), 1);
    assert_int_equal(threads_for(FZ_PARALLEL_MIN_WORK, 8), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shares_cover_the_range_in_order_without_overlap),
        cmocka_unit_test(shares_start_on_whole_cache_lines),
        cmocka_unit_test(shares_are_balanced_to_one_line),
        cmocka_unit_test(tile_split_cuts_only_at_whole_tiles),
        cmocka_unit_test(small_work_runs_on_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* GEMM blocking from cache sizes: the working sets fit the cache levels they are for;
 * a product whose C spills half the L2, or three quarters of it beside the A block, gets
 * deeper K blocks, and only such a product. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "blocking.h"

static const fz_cache_sizes zen3 = { 32 << 10, 512 << 10, 32 << 20 };
static const fz_cache_sizes server = { 48 << 10, 1 << 20, 32 << 20 };

static void avx2_tile_on_server_caches_gives_pinned_numbers(void **state)
{
    (void)state;
    /* 48 KiB · 3/4 / (22 floats) = 418 -> 416; 512 KiB / (416·4) = 315 -> 312 (6·52);
     * the 32 MiB L3 counts as 8 MiB: 4 MiB / (416·4) = 2520 -> 2512 (16·157). */
    fz_blocking b = blocking_from_caches(server, 6, 16, sizeof(float));
    assert_int_equal(b.kc, 416);
    assert_int_equal(b.mc, 312);
    assert_int_equal(b.nc, 2512);
}

static void working_sets_fit_their_cache_level(void **state)
{
    (void)state;
    const size_t tiles[][2] = { { 6, 16 }, { 8, 12 }, { 4, 4 }, { 16, 32 } };
    const fz_cache_sizes caches[] = { zen3, server, { 64 << 10, 2 << 20, 0 } };
    for (size_t c = 0; c < 3; c++) {
        for (size_t t = 0; t < 4; t++) {
            size_t mr = tiles[t][0], nr = tiles[t][1], f = sizeof(float);
            fz_blocking b = blocking_from_caches(caches[c], mr, nr, f);
            assert_true((mr + nr) * b.kc * f <= caches[c].l1d / 4 * 3);
            assert_true(b.mc * b.kc * f <= caches[c].l2 / 2);
            if (caches[c].l3) {
                assert_true(b.kc * b.nc * f <= caches[c].l3 / 2);
                assert_true(b.kc * b.nc * f <= FZ_L3_BUDGET_MAX / 2);
            }
            assert_int_equal(b.kc % 8, 0);
            assert_int_equal(b.mc % mr, 0);
            assert_int_equal(b.nc % nr, 0);
        }
    }
}

static void blocks_use_most_of_their_cache(void **state)
{
    (void)state;
    /* Rounding down costs at most one unit of each block. */
    fz_blocking b = blocking_from_caches(zen3, 6, 16, sizeof(float));
    assert_true((6 + 16) * (b.kc + 8) * 4 > zen3.l1d / 4 * 3);
    assert_true((b.mc + 6) * b.kc * 4 > zen3.l2 / 2);
    assert_true(b.kc * (b.nc + 16) * 4 > FZ_L3_BUDGET_MAX / 2);
}

/* hwloc reports a socket's L3 (300 MiB on an Emerald Rapids VM): the B block is sized
 * from at most FZ_L3_BUDGET_MAX of it, and from a smaller L3 as it is. */
static void b_block_is_sized_from_a_core_sized_l3(void **state)
{
    (void)state;
    const fz_cache_sizes socket = { 48 << 10, 2 << 20, 300 << 20 };
    const fz_cache_sizes budget = { 48 << 10, 2 << 20, FZ_L3_BUDGET_MAX };
    const fz_cache_sizes small = { 48 << 10, 2 << 20, 2 << 20 };
    fz_blocking s = blocking_from_caches(socket, 6, 64, sizeof(float));
    fz_blocking b = blocking_from_caches(budget, 6, 64, sizeof(float));
    assert_int_equal(s.nc, b.nc);
    assert_true(s.kc * s.nc * sizeof(float) <= FZ_L3_BUDGET_MAX / 2);
    assert_int_equal(blocking_for_product(socket, 6, 64, sizeof(float), 256, 4096).nc,
                     blocking_for_product(budget, 6, 64, sizeof(float), 256, 4096).nc);
    fz_blocking t = blocking_from_caches(small, 6, 64, sizeof(float));
    assert_int_equal(t.nc, (size_t)(1 << 20) / (t.kc * sizeof(float)) / 64 * 64);
}

static void unreported_caches_get_defaults(void **state)
{
    (void)state;
    fz_blocking none = blocking_from_caches((fz_cache_sizes){ 0, 0, 0 }, 8, 12, 4);
    fz_blocking dflt = blocking_from_caches(
        (fz_cache_sizes){ FZ_DEFAULT_L1D, FZ_DEFAULT_L2, 0 }, 8, 12, 4);
    assert_int_equal(none.kc, dflt.kc);
    assert_int_equal(none.mc, dflt.mc);
    assert_int_equal(none.nc, FZ_DEFAULT_NC - FZ_DEFAULT_NC % 12);
    assert_true(none.kc >= 8 && none.mc >= 8);
}

static void tiny_caches_still_give_one_tile(void **state)
{
    (void)state;
    fz_blocking b = blocking_from_caches((fz_cache_sizes){ 256, 512, 1024 }, 6, 16, 4);
    assert_int_equal(b.kc, 8);
    assert_int_equal(b.mc, 6);
    assert_int_equal(b.nc, 16);
}

static void bigger_tile_means_shorter_kc(void **state)
{
    (void)state;
    fz_blocking small = blocking_from_caches(zen3, 4, 4, 4);
    fz_blocking big = blocking_from_caches(zen3, 6, 16, 4);
    assert_true(big.kc < small.kc);
}

/* Emerald Rapids' caches (48 KiB L1d, 2 MiB L2) and the AVX-512 6×64 tile: C of 256×1024
 * floats (1 MiB, half the L2) keeps the L1-sized KC 128; 257×1024 spills and gets KC
 * 2 MiB / 8 / (64·4) = 1024, MC 1 MiB / (1024·4) = 256 -> 252, NC 4 MiB / (1024·4) =
 * 1024 (the 32 MiB L3 counts as FZ_L3_BUDGET_MAX, 8 MiB).  The AVX2 tile (KC 416) deepens to the 1024 cap; an L2 too small for a deeper
 * sliver than the L1's keeps the L1's; an empty C, or one whose size overflows, does
 * not trip the arithmetic. */
static void k_blocks_deepen_only_where_c_spills_half_the_l2(void **state)
{
    (void)state;
    const fz_cache_sizes emr = { 48 << 10, 2 << 20, 32 << 20 };
    fz_blocking base = blocking_from_caches(emr, 6, 64, sizeof(float));
    assert_int_equal(base.kc, 128);
    fz_blocking fits = blocking_for_product(emr, 6, 64, sizeof(float), 256, 1024);
    assert_int_equal(fits.kc, base.kc);
    assert_int_equal(fits.mc, base.mc);
    assert_int_equal(fits.nc, base.nc);
    fz_blocking deep = blocking_for_product(emr, 6, 64, sizeof(float), 257, 1024);
    assert_int_equal(deep.kc, 1024);
    assert_int_equal(deep.mc, 252);
    assert_int_equal(deep.nc, 1024);

    /* C of 2048×128 floats is half the L2 too, but the 2046-row A block (1 MiB at KC 128)
     * beside it would fill the rest: it deepens; 512×512 (a 256 KiB A block) does not. */
    assert_int_equal(blocking_for_product(emr, 6, 64, sizeof(float), 2048, 128).kc, 1024);
    assert_int_equal(blocking_for_product(emr, 6, 64, sizeof(float), 512, 512).kc, 128);

    assert_int_equal(blocking_for_product(emr, 6, 16, sizeof(float), 1024, 1024).kc, 1024);
    const fz_cache_sizes small_l2 = { 48 << 10, 64 << 10, 1 << 20 };
    assert_int_equal(blocking_for_product(small_l2, 6, 64, sizeof(float), 1024, 1024).kc,
                     blocking_from_caches(small_l2, 6, 64, sizeof(float)).kc);
    assert_int_equal(blocking_for_product(emr, 6, 64, sizeof(float), 0, 1024).kc, 128);
    assert_int_equal(blocking_for_product(emr, 6, 64, sizeof(float), SIZE_MAX / 2,
                                          SIZE_MAX / 2).kc, 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avx2_tile_on_server_caches_gives_pinned_numbers),
        cmocka_unit_test(working_sets_fit_their_cache_level),
        cmocka_unit_test(blocks_use_most_of_their_cache),
        cmocka_unit_test(b_block_is_sized_from_a_core_sized_l3),
        cmocka_unit_test(unreported_caches_get_defaults),
        cmocka_unit_test(tiny_caches_still_give_one_tile),
        cmocka_unit_test(bigger_tile_means_shorter_kc),
        cmocka_unit_test(k_blocks_deepen_only_where_c_spills_half_the_l2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

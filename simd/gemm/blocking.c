/* GEMM block sizes from cache sizes (see blocking.h for the model). */
#include "blocking.h"

static size_t round_down(size_t x, size_t unit, size_t at_least)
{
    x -= x % unit;
    return x < at_least ? at_least : x;
}

size_t blocking_kc(fz_cache_sizes c, size_t mr, size_t nr, size_t elem)
{
    size_t l1d = c.l1d ? c.l1d : FZ_DEFAULT_L1D;
    return round_down(l1d / 4 * 3 / ((mr + nr) * elem), 8, 8);
}

/* The L3 the B block is sized from: the reported one, at most FZ_L3_BUDGET_MAX. */
static size_t l3_budget(fz_cache_sizes c)
{
    return c.l3 < FZ_L3_BUDGET_MAX ? c.l3 : FZ_L3_BUDGET_MAX;
}

fz_blocking blocking_from_caches(fz_cache_sizes c, size_t mr, size_t nr, size_t elem)
{
    size_t l2 = c.l2 ? c.l2 : FZ_DEFAULT_L2;
    fz_blocking b;
    b.kc = blocking_kc(c, mr, nr, elem);
    b.mc = round_down(l2 / 2 / (b.kc * elem), mr, mr);
    b.nc = c.l3 ? round_down(l3_budget(c) / 2 / (b.kc * elem), nr, nr)
                : round_down(FZ_DEFAULT_NC, nr, nr);
    return b;
}

/* The deepest K block measured (see blocking.h). */
#define DEEP_KC_MAX ((size_t)1024)

fz_blocking blocking_for_product(fz_cache_sizes c, size_t mr, size_t nr, size_t elem,
                                 size_t m, size_t n)
{
    fz_blocking b = blocking_from_caches(c, mr, nr, elem);
    size_t l2 = c.l2 ? c.l2 : FZ_DEFAULT_L2;
    if (m == 0 || n == 0)
        return b;
    /* C fits in half the L2 (m·n·elem <= l2 / 2, without overflow), and beside the
     * shallow A block in three quarters of it: K blocks stay L1-sized. */
    if (n <= l2 / 2 / elem / m &&
        m * n * elem + (m < b.mc ? m : b.mc) * b.kc * elem <= l2 / 4 * 3)
        return b;
    size_t kc = round_down(l2 / 8 / (nr * elem), 8, 8);
    kc = kc < DEEP_KC_MAX ? kc : DEEP_KC_MAX;
    if (kc <= b.kc)
        return b;
    b.kc = kc;
    b.mc = round_down(l2 / 2 / (kc * elem), mr, mr);
    b.nc = c.l3 ? round_down(l3_budget(c) / 2 / (kc * elem), nr, nr) : b.nc;
    return b;
}

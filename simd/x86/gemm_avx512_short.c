/*
 * AVX-512 GEMM for short products: a tile of up to 14 rows by 32 columns
 * (gemm_avx512_tile.h) that reads B where it lies, which the loop nest runs instead of
 * the main 6×64 kernel where C has at most 14 rows and op(B)'s rows are contiguous
 * (gemm.c: sgemm_kernel_for_op, the short path).
 *
 * Why: the classifier head's wgrad dYᵀ·X (10×1024×256) fills the 6×64 tile's rows as
 * 6 + 4 of 12, and packs all of B, 256×1024 floats, each of which then feeds only 10
 * FMAs: the copy cost about as much as the product.  With all of C's rows in one tile,
 * each element of B is read exactly once, so packing it buys nothing; the tile computes
 * exactly mr rows (a variant per row count), 2·mr independent FMA chains, and uses
 * 2·mr + 2 of the 32 registers.  A (mr×k) is packed: it is read once per 32 columns, and
 * its rows in place may lie 4 KiB apart, in one set of the L1.  Measured on Zen 4 (see
 * DESIGN.md, "Tuned constants").
 */
#define MR 14
#define NR 32

#include "gemm_avx512_tile.h"

/* With ep->ldb, B is the caller's op(B) (the short path); without, a packed panel, as
 * for any kernel. */
static void sgemm_avx512_short_ukr(size_t k, const float *a, size_t rsa, size_t csa,
                                   const float *b, float *c, size_t ldc, size_t mr,
                                   size_t nr, const fz_tile_epilogue *ep)
{
    if (!ep->ldb || !ep->a_packed) {
        sgemm_avx512_ukr(k, a, rsa, csa, b, c, ldc, mr, nr, ep);
        return;
    }
/* One body per row count and vector count, each with both as constants; the prefetch
 * list's test stays in (a hook's next tile, when it has one): with 2·mr FMA chains
 * the loop has room for it. */
#define BODY(r)                                                                         \
    if (nr <= 16)                                                                       \
        ukr_body(k, a, 1, MR, b, ep->ldb, c, ldc, mr, nr, ep, true, 1, false, r, true,   \
                 false, true);                                                                \
    else                                                                                \
        ukr_body(k, a, 1, MR, b, ep->ldb, c, ldc, mr, nr, ep, true, 2, false, r, true,   \
                 false, true);
#define ROWS(r) case r: BODY(r) break;
    switch (mr) {   /* 1 <= mr <= MR */
    ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7)
    ROWS(8) ROWS(9) ROWS(10) ROWS(11) ROWS(12) ROWS(13)
    default: BODY(MR)
    }
#undef BODY
#undef ROWS
}

FZ_SGEMM_KERNEL(fz_sgemm_avx512_short, "sgemm_avx512_14x32", sgemm_avx512_short_ukr, avx512,
                .stores_transposed = true, .fence = fence_avx512, .reads_b_in_place = true);

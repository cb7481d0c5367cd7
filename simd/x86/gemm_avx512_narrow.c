/*
 * AVX-512 GEMM for narrow products: a 14×16 tile (gemm_avx512_tile.h), which the loop
 * nest runs instead of the main 6×64 kernel where C is at most 16 columns wide
 * (gemm.c: sgemm_kernel_for_op), and which packs its own B when a weight is prepacked
 * for such a product (prepack.c).
 *
 * Why: with C one 16-float vector wide, the 6×64 tile keeps only six accumulators, six
 * independent chains of FMAs, each waiting out the FMA's latency (4 cycles on Zen 4 and
 * Zen 5) before its next step; Zen 5's two 512-bit pipes need at least 8 in flight, and
 * each step also pays one load of B for six FMAs.  Fourteen rows keep 14 chains and
 * 14 FMAs per load of B, and use 14 + 1 of the 32 registers (A's values are broadcast
 * from memory into the FMA).  When A is transposed (DeepBench's 1760×16×1760 TN), the
 * 14 rows of a k step are 14 consecutive floats of one row of A, so each line of A
 * fetched feeds 14 rows instead of 6.  Measured on Zen 4 (see DESIGN.md, "Tuned
 * constants").
 */
#define MR 14
#define NR 16

#include "gemm_avx512_tile.h"

FZ_SGEMM_KERNEL(fz_sgemm_avx512_narrow, "sgemm_avx512_14x16", sgemm_avx512_ukr, avx512,
                .stores_transposed = true, .fence = fence_avx512);

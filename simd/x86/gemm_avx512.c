/*
 * AVX-512 GEMM: the main kernel, a 6×64 tile (the microkernel and its packers are
 * gemm_avx512_tile.h's), with the 14×16 narrow kernel of gemm_avx512_narrow.c for the
 * products whose C is at most 16 columns wide and the short kernel of
 * gemm_avx512_short.c for those whose C has at most 14 rows (gemm.c:
 * sgemm_kernel_for_op).
 */

/* The tile, by measurement on an Emerald Rapids core (two 512-bit FMA pipes, L1d 48 KiB,
 * L2 2 MiB), one thread, fz_sgemm in GFLOP/s (medians of 9-11 interleaved runs on a
 * shared machine, each tile with the team's blocking for it) at 1024³ NN and the
 * batch-256 1024×1024 layer's NT, NN, TN products:
 *   12×32 (24 accumulators, 2 B loads + 12 broadcasts a step):  133  131  133  127
 *   14×32 (28 accumulators):                                     131  128  132  126
 *    8×48 (24 accumulators, 3 + 8 loads):                        128  133  134  126
 *    6×64 (24 accumulators, 4 + 6 loads):                        136+ 137+ 140+ 135+
 *    7×64 (28 accumulators):                                     136  137  143  136
 * 6×64 (oneDNN brgemm's tile) needs the fewest loads per FMA and leaves registers spare;
 * 7×64 gains nothing for 32 of 32 registers.  FZ_AVX512_MR/NR rebuild other tiles.
 * The blocking comes from the caches for this tile (blocking.h); on the core above, KC
 * 128, 192, 256 and 384 measured within 2% of each other. */
#ifndef FZ_AVX512_MR
#define FZ_AVX512_MR 6
#endif
#ifndef FZ_AVX512_NR
#define FZ_AVX512_NR 64
#endif
#define MR FZ_AVX512_MR
#define NR FZ_AVX512_NR

#include "gemm_avx512_tile.h"

#define STR2(x) #x
#define STR(x) STR2(x)

/* Small products with a C 2 to 16 wide run on the AVX2 tile (gemm.c says why); a build
 * without it has none to offer. */
#if FZ_HAVE_AVX2
#define TINY_KERNEL (&fz_sgemm_avx2_6x16)
#else
#define TINY_KERNEL NULL
#endif

FZ_SGEMM_KERNEL(fz_sgemm_avx512, "sgemm_avx512_" STR(MR) "x" STR(NR), sgemm_avx512_ukr,
                avx512, .stores_transposed = true, .fence = fence_avx512,
                .narrow = &fz_sgemm_avx512_narrow, .few_rows = &fz_sgemm_avx512_short,
                .b_in_place_rows = 512,
                .tiny = TINY_KERNEL);

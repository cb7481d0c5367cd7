/*
 * Internal: GEMM block sizes from cache sizes — a pure function, so it is unit-tested
 * on caches this machine does not have.
 *
 * The Goto/BLIS loop nest keeps three working sets in three cache levels:
 *   - an MR×KC sliver of packed A and a KC×NR sliver of packed B: three quarters of L1d
 *     (the rest for C's tile and whatever streams through).  Half of L1d, BLIS's rule,
 *     gave KC 184 on a 32 KiB L1d for the AVX2 6×16 tile; 272 measured 3-6% faster on
 *     Zen 3/4 (fewer passes over C, longer microkernel runs per epilogue);
 *   - the MC×KC block of packed A: about half of L2;
 *   - the KC×NC panel of packed B, shared by the threads of one group: half of that
 *     group's L3 (the rest holds their A blocks and C), and of at most
 *     FZ_L3_BUDGET_MAX.  hwloc reports the whole socket's L3, 300 MiB on the Emerald
 *     Rapids VM and 508 MiB on EPYC VMs, shared with every other core and tenant; a
 *     core's share is a few MiB.  Sized from 300 MiB, the 256×4096×4096 forward's
 *     B block was 16 MiB and each packed sliver came back from memory: with the budget
 *     at 8 MiB (a 4 MiB block) it ran 1.14× (NT) and 1.10-1.15× (NN) as fast on
 *     AVX-512, 1.22× and 1.10× on AVX2 (one thread, alternating calls in one process);
 *     16 MiB gained 1.07-1.10×, 32 MiB nothing; 1024-wide layers are unchanged.
 * A product whose C does not fit in half the L2, or not in three quarters of it beside
 * the A block, reads and writes C from L3 once per K block, so there K blocks are made
 * deeper (blocking_for_product): the KC×NR sliver of
 * B then lives in L2 (an eighth of it, at most 1024 deep) instead of L1, and MC shrinks
 * to keep the A block in half the L2.  On an Emerald Rapids core with the AVX-512 6×64
 * tile (L1-sized KC 128) this measured +6-7% at 1024³ and +3.5-4.5% at 1024×1024×256,
 * and -1 to -8% where C fits the L2 (256 or fewer rows of 1024), so there it is not
 * done; DeepBench's 2048×128×2048, whose C is half the L2 but whose 2046-row A block
 * fills the other half, ran 1.14× as fast deepened.  The AVX2 6×16 tile's KC is 416
 * already, and deeper measured within 2%.
 * KC fixes the order in which K is summed, so it depends on the machine and the product's
 * shape only, never on the thread count: results stay bitwise identical for any number
 * of threads.
 */
#ifndef FZ_BLOCKING_H
#define FZ_BLOCKING_H

#include <stddef.h>

#include "kernels.h"   /* fz_cache_sizes */

typedef struct { size_t kc, mc, nc; } fz_blocking;

/* Used where the topology reports no size: common values of current x86 and Arm cores
 * (32 KiB L1d, 512 KiB L2; NC then defaults to FZ_DEFAULT_NC rounded to NR). */
#define FZ_DEFAULT_L1D ((size_t)32 << 10)
#define FZ_DEFAULT_L2  ((size_t)512 << 10)
#define FZ_DEFAULT_NC  ((size_t)4096)
/* The most L3 a B block is sized from (see above). */
#define FZ_L3_BUDGET_MAX ((size_t)8 << 20)

/* KC a multiple of 8 (at least 8), MC a multiple of MR, NC a multiple of NR (each at
 * least one tile).  mr, nr and elem_size must be >= 1. */
fz_blocking blocking_from_caches(fz_cache_sizes caches, size_t mr, size_t nr,
                                 size_t elem_size);

/* The blocking for a product whose C is m×n: blocking_from_caches's, with deeper K
 * blocks where C does not fit in half the L2, or beside the A block in three quarters of
 * it (see above).  Never a shallower KC. */
fz_blocking blocking_for_product(fz_cache_sizes caches, size_t mr, size_t nr,
                                 size_t elem_size, size_t m, size_t n);

/* blocking_from_caches(...).kc alone: all the small-product path needs to know, so
 * a tiny GEMM does not pay the other divisions (the seed step runs five of them). */
size_t blocking_kc(fz_cache_sizes caches, size_t mr, size_t nr, size_t elem_size);

#endif /* FZ_BLOCKING_H */

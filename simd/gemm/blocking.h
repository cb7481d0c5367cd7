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
 *     group's L3 (the rest holds their A blocks and C).
 * KC fixes the order in which K is summed, so it depends on the machine only, never on
 * the thread count: results stay bitwise identical for any number of threads.
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

/* KC a multiple of 8 (at least 8), MC a multiple of MR, NC a multiple of NR (each at
 * least one tile).  mr, nr and elem_size must be >= 1. */
fz_blocking fz_blocking_from_caches(fz_cache_sizes caches, size_t mr, size_t nr,
                                    size_t elem_size);

/* fz_blocking_from_caches(...).kc alone: all the small-product path needs to know, so
 * a tiny GEMM does not pay the other divisions (the seed step runs five of them). */
size_t fz_blocking_kc(fz_cache_sizes caches, size_t mr, size_t nr, size_t elem_size);

#endif /* FZ_BLOCKING_H */

/*
 * Internal: splitting element-wise work over the thread team (ggml style: thread ith of
 * nth takes one contiguous range, computed in one line).
 *
 * Work is split by element or by column, never along a reduction, so every element is
 * computed by the same operations in the same order whatever the thread count: results
 * are bitwise identical for 1, 2 or 64 threads.
 */
#ifndef FZ_PARALLEL_H
#define FZ_PARALLEL_H

#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements of work a phase runs on one thread: starting the team costs a
 * few microseconds, about what one core needs to stream this much float data. */
#define FZ_PARALLEL_MIN_WORK ((size_t)1 << 15)

/* Ranges start on a multiple of this many elements (16 floats = one 64-byte line), so
 * threads do not write the same cache line and vector loops run whole. */
#define FZ_PARALLEL_ALIGN ((size_t)16)

typedef struct { size_t begin, end; } fz_range;

/* Thread ith of nth's share of [0, n) in whole units of `unit` (only the last share may
 * end on a partial unit): contiguous, the shares of ith = 0..nth-1 covering [0, n) in
 * order, balanced to one unit.  Some may be empty.  A GEMM splitting M by MR (N by NR)
 * this way cuts C into the same register tiles for any thread count. */
static inline fz_range fz_split_by(size_t n, size_t unit, int ith, int nth)
{
    size_t units = (n + unit - 1) / unit;
    size_t b = units * (size_t)ith / (size_t)nth * unit;
    size_t e = units * (size_t)(ith + 1) / (size_t)nth * unit;
    return (fz_range){ b < n ? b : n, e < n ? e : n };
}

/* The element-wise split: shares start on whole cache lines. */
static inline fz_range fz_split(size_t n, int ith, int nth)
{
    return fz_split_by(n, FZ_PARALLEL_ALIGN, ith, nth);
}

/* Threads worth using for `work` elements: 1 below the threshold, else the team. */
static inline int fz_threads_for(size_t work, int team_threads)
{
    return work < FZ_PARALLEL_MIN_WORK ? 1 : team_threads;
}

/* Inside a parallel region: this thread's number and the region's real size (the
 * runtime may give fewer threads than asked for). */
static inline int fz_thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int fz_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

#endif /* FZ_PARALLEL_H */

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

#include <stdbool.h>
#include <stddef.h>

#include "split.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements of work a phase runs on one thread: starting the team costs a
 * few microseconds, about what one core needs to stream this much float data. */
#define FZ_PARALLEL_MIN_WORK ((size_t)1 << 15)

/* Ranges start on a multiple of this many elements (16 floats = one 64-byte line), so
 * threads do not write the same cache line and vector loops run whole. */
#define FZ_PARALLEL_ALIGN ((size_t)16)

/* The element-wise split: shares start on whole cache lines. */
static inline fz_range split_range(size_t n, int ith, int nth)
{
    return split_range_by(n, FZ_PARALLEL_ALIGN, ith, nth);
}

/* Threads worth using for `work` elements: 1 below the threshold, else the team. */
static inline int threads_for(size_t work, int team_threads)
{
    return work < FZ_PARALLEL_MIN_WORK ? 1 : team_threads;
}

/* Inside a parallel region: this thread's number and the region's real size (the
 * runtime may give fewer threads than asked for). */
static inline int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* One thread's share of a pass: slice ith of a team of nth; true if it saw a bad value. */
typedef bool (*team_slice_fn)(void *ctx, int ith, int nth);

/* Runs slice on every thread of a team of nth (on the caller alone for nth <= 1: even an
 * inactive parallel region costs libgomp a team allocation, a visible share of a small
 * network's step); whether any slice returned true. */
static inline bool team_pass(int nth, team_slice_fn slice, void *ctx)
{
    if (nth <= 1)
        return slice(ctx, 0, 1);
    bool bad = false;
#ifdef _OPENMP
#pragma omp parallel num_threads(nth) reduction(|| : bad)
    bad = slice(ctx, thread_num(), thread_count());
#endif
    return bad;
}

#endif /* FZ_PARALLEL_H */

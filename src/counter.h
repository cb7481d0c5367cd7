/*
 * FLOP counters, one cache-line slot per OpenMP thread so that kernels running in a team
 * count without sharing a line.  A kernel adds once per call to its own thread's slot;
 * the total is read after the team has joined.
 */
#ifndef FZ_COUNTER_H
#define FZ_COUNTER_H

#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FZ_MAX_THREADS 256

typedef struct {
    struct { _Alignas(64) uint64_t n; } slot[FZ_MAX_THREADS];
} fz_counter;

static inline void fz_counter_add(fz_counter *c, uint64_t flops)
{
    if (!c)
        return;
#ifdef _OPENMP
    int t = omp_get_thread_num();
    c->slot[t < FZ_MAX_THREADS ? t : FZ_MAX_THREADS - 1].n += flops;
#else
    c->slot[0].n += flops;
#endif
}

static inline uint64_t fz_counter_total(const fz_counter *c)
{
    uint64_t s = 0;
    for (int t = 0; t < FZ_MAX_THREADS; t++)
        s += c->slot[t].n;
    return s;
}

static inline void fz_counter_reset(fz_counter *c) { memset(c, 0, sizeof *c); }

#endif /* FZ_COUNTER_H */

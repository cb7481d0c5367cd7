/*
 * FLOP counters, one cache-line slot per OpenMP thread so that kernels running in a team
 * count without sharing a line.  A kernel adds once per call to its own thread's slot;
 * the total is read after the team has joined.
 */
#ifndef FZ_COUNTER_H
#define FZ_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FZ_MAX_THREADS 256

typedef struct {
    struct { _Alignas(64) uint64_t n; } slot[FZ_MAX_THREADS];
    /* One past the highest slot ever written: reset and total touch only those, so a
     * step on a small team does not clear 256 cache lines, which would cost a small
     * network (the seed's) a quarter of its step.  It only grows (a reset zeroes the
     * slots, not it): set back to 0 each step, every counter's first add of the step
     * was a locked compare-exchange, which drains the store buffer; the seed's step
     * spent about a tenth of its time there.  Written rarely, read once per add. */
    _Alignas(64) atomic_int used;
} fz_counter;

static inline void counter_add(fz_counter *c, uint64_t flops)
{
    if (!c)
        return;
#ifdef _OPENMP
    int t = omp_get_thread_num();
    t = t < FZ_MAX_THREADS ? t : FZ_MAX_THREADS - 1;
#else
    int t = 0;
#endif
    c->slot[t].n += flops;
    int used = atomic_load_explicit(&c->used, memory_order_relaxed);
    while (used <= t && !atomic_compare_exchange_weak_explicit(
               &c->used, &used, t + 1, memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline uint64_t counter_total(const fz_counter *c)
{
    uint64_t s = 0;
    int used = atomic_load_explicit(&((fz_counter *)c)->used, memory_order_relaxed);
    for (int t = 0; t < used; t++)
        s += c->slot[t].n;
    return s;
}

static inline void counter_reset(fz_counter *c)
{
    int used = atomic_load_explicit(&c->used, memory_order_relaxed);
    for (int t = 0; t < used; t++)
        c->slot[t].n = 0;
}

#endif /* FZ_COUNTER_H */

/*
 * Internal: one worker's contiguous share of a range, in whole units.  A leaf header
 * (no dependencies), so the GEMM loop nest and the runtime's element-wise phases cut
 * work the same way.
 */
#ifndef FZ_SPLIT_H
#define FZ_SPLIT_H

#include <stddef.h>

typedef struct { size_t begin, end; } fz_range;

/* Worker ith of nth's share of [0, n) in whole units of `unit` (only the last share may
 * end on a partial unit): contiguous, the shares of ith = 0..nth-1 covering [0, n) in
 * order, balanced to one unit.  Some may be empty.  A GEMM splitting M by MR (N by NR)
 * this way cuts C into the same register tiles for any thread count. */
static inline fz_range split_range_by(size_t n, size_t unit, int ith, int nth)
{
    /* One share is the whole range: no division (a tiny model's step makes dozens of
     * these calls on one thread). */
    if (nth <= 1)
        return (fz_range){ 0, n };
    size_t units = (n + unit - 1) / unit;
    size_t b = units * (size_t)ith / (size_t)nth * unit;
    size_t e = units * (size_t)(ith + 1) / (size_t)nth * unit;
    return (fz_range){ b < n ? b : n, e < n ? e : n };
}

#endif /* FZ_SPLIT_H */

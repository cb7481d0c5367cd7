/* Internal: finding NaNs and infinities in inputs before they are trained on. */
#ifndef FZ_FINITE_H
#define FZ_FINITE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Index of the first element of x that is NaN or infinite, or n if all are finite.
 * The common case (all finite) is one pass of integer operations that vectorise even
 * with plain SSE2: a float is NaN or infinite exactly when its magnitude bits are at
 * least those of infinity (0x7f800000), and adding 0x00800000 to the magnitude carries
 * into bit 31 exactly then (the largest magnitude, 0x7fffffff, does not wrap). */
static inline size_t first_nonfinite(const float *x, size_t n)
{
    /* 16 lanes of flags: the compiler keeps them in several vector registers, so the
     * pass is not one chain of ORs through a single register (a step scans its whole
     * sample this way: 640 floats for the seed network, 256K for an 8×1024 batch). */
    enum { LANES = 16 };
    uint32_t lane[LANES] = { 0 };
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            uint32_t bits;
            memcpy(&bits, &x[i + (size_t)j], sizeof bits);
            lane[j] |= (bits & 0x7fffffffu) + 0x00800000u;
        }
    uint32_t any = 0;
    for (; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        any |= (bits & 0x7fffffffu) + 0x00800000u;
    }
    for (int j = 0; j < LANES; j++)
        any |= lane[j];
    if (!(any & 0x80000000u))
        return n;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

#endif

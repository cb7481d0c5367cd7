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
static inline size_t fz_first_nonfinite(const float *x, size_t n)
{
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        any |= (bits & 0x7fffffffu) + 0x00800000u;
    }
    if (!(any & 0x80000000u))
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

#endif

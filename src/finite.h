/* Internal: finding NaNs and infinities in inputs before they are trained on. */
#ifndef FZ_FINITE_H
#define FZ_FINITE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Index of the first element of x that is NaN or infinite, or n if all are finite.
 * The common case (all finite) is one pass of integer operations the compiler
 * vectorises: a float is NaN or infinite exactly when its magnitude bits are at least
 * those of infinity. */
static inline size_t fz_first_nonfinite(const float *x, size_t n)
{
    uint32_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        bits &= 0x7fffffffu;
        worst = bits > worst ? bits : worst;
    }
    if (worst < 0x7f800000u)
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

#endif

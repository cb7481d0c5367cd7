/* Internal: finding NaNs and infinities in inputs before they are trained on. */
#ifndef FZ_FINITE_H
#define FZ_FINITE_H

#include <math.h>
#include <stddef.h>

/* Index of the first element of x that is NaN or infinite, or n if all are finite.
 * The common case (all finite) is one pass that the compiler can vectorise: the sum of
 * x·0 is 0 exactly when every x is finite. */
static inline size_t fz_first_nonfinite(const float *x, size_t n)
{
    float probe = 0.0f;
    for (size_t i = 0; i < n; i++)
        probe += x[i] * 0.0f;
    if (probe == 0.0f)
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

#endif

/*
 * Internal: one element of the element-wise kernels, as the scalar reference defines it.
 * The scalar kernels are loops over these; the vector kernels (elementwise_tmpl.h) do the
 * same operations in the same order on whole vectors, tails included, so their results
 * are bitwise these.
 */
#ifndef FZ_SIMD_ELEMENTWISE_H
#define FZ_SIMD_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float relu_fwd_elem(float x) { return x > 0.0f ? x : 0.0f; }

/* The gradient passes where the ReLU's output y is positive. */
static inline float relu_bwd_elem(float dy, float y) { return y > 0.0f ? dy : 0.0f; }

/* Element i of torch.optim.SGD (dampening 0, no nesterov): g' = g + wd·p;
 * buf = momentum·buf + g' (when buf is not NULL); p -= lr·(buf or g'). */
static inline void sgd_elem(float *p, const float *g, float *buf, size_t i, float lr,
                            float momentum, float wd)
{
    float d = g[i];
    if (wd != 0.0f)
        d += wd * p[i];
    if (buf) {
        buf[i] = momentum * buf[i] + d;
        d = buf[i];
    }
    p[i] -= lr * d;
}

/* |x|'s bits.  For floats without a sign the integer order of the bits is the numeric
 * order, and every infinity and NaN lies above every finite value: the integer maximum
 * of these is the largest magnitude, and not finite exactly when some x is not. */
static inline uint32_t magnitude_bits(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits & 0x7fffffffu;
}

static inline float float_of_bits(uint32_t bits)
{
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline uint32_t max_bits(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* FLOPs of an SGD update of n elements (../DESIGN.md): 2n, +2n momentum, +2n decay. */
static inline uint64_t sgd_flops(size_t n, const float *buf, float wd)
{
    return (uint64_t)n * (2 + (buf ? 2 : 0) + (wd != 0.0f ? 2 : 0));
}

/* Below this many floats (1 KiB) copy_aside copies through the caches: a few lines
 * there cost little, while a streamed copy must be fenced, and on the seed network (6
 * floats trained) the fences took a measurable share of the step. */
#define FZ_STREAM_MIN_FLOATS 256

#endif

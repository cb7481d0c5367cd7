/*
 * Internal: one element of the element-wise kernels, as the scalar reference defines it.
 * The scalar kernels are loops over these; the vector kernels (elementwise_tmpl.h) do the
 * same operations in the same order on whole vectors, tails included, so their results
 * are bitwise these.
 */
#ifndef FZ_SIMD_ELEMENTWISE_H
#define FZ_SIMD_ELEMENTWISE_H

#include <math.h>
#include <stdbool.h>
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

/* One AdamW step's scalars, as torch.optim.AdamW (1.13, single-tensor path) forms them
 * in double from lr, the betas, eps, weight_decay and the tensor's step count t, then
 * rounds to float where a tensor operation takes them. */
typedef struct {
    float decay;           /* 1 - lr·weight_decay (p.mul_) */
    bool decays;           /* weight_decay != 0 */
    float one_minus_beta1; /* the lerp weight of exp_avg */
    float beta2, one_minus_beta2;
    float bc2_sqrt;        /* sqrt(1 - beta2^t) */
    float eps;
    float step_size;       /* lr / (1 - beta1^t) */
} adamw_step;

/* The scalars of step t (from 1) of a tensor, as torch forms them: Python floats
 * (double) from the float hyperparameters, rounded to float where they meet a tensor. */
static inline adamw_step adamw_step_make(float lr, float beta1, float beta2, float eps,
                                         float weight_decay, uint64_t t)
{
    double bc1 = 1.0 - pow((double)beta1, (double)t), bc2 = 1.0 - pow((double)beta2, (double)t);
    return (adamw_step){
        .decay = (float)(1.0 - (double)lr * (double)weight_decay),
        .decays = weight_decay != 0.0f,
        .one_minus_beta1 = (float)(1.0 - (double)beta1),
        .beta2 = beta2,
        .one_minus_beta2 = (float)(1.0 - (double)beta2),
        .bc2_sqrt = (float)sqrt(bc2),
        .eps = eps,
        .step_size = (float)((double)lr / bc1),
    };
}

/* Element i of torch.optim.AdamW, each operation in torch's order:
 *   p = p·decay;  m = m + (1-b1)·(g - m)  (lerp with a weight below 0.5);
 *   v = v·b2 + ((1-b2)·g)·g  (mul_, then addcmul_);
 *   denom = sqrt(v) / bc2_sqrt + eps;  p = p + ((-step_size)·m) / denom  (addcdiv_). */
static inline void adamw_elem(float *p, const float *g, float *m, float *v, size_t i,
                              const adamw_step *s)
{
    float pv = p[i];
    if (s->decays)
        pv = pv * s->decay;
    float mv = m[i] + s->one_minus_beta1 * (g[i] - m[i]);
    float vv = v[i] * s->beta2;
    vv = vv + s->one_minus_beta2 * g[i] * g[i];
    float denom = sqrtf(vv) / s->bc2_sqrt + s->eps;
    p[i] = pv + -s->step_size * mv / denom;
    m[i] = mv;
    v[i] = vv;
}

/* FLOPs of an AdamW update of n elements (../DESIGN.md): 13n (lerp 3, second moment 4,
 * denominator 3, step 3), +n with weight decay. */
static inline uint64_t adamw_flops(size_t n, bool decays)
{
    return (uint64_t)n * (13 + (decays ? 1 : 0));
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

/*
 * Internal: the element-wise kernels of a vector ISA (ReLU forward and backward, the bias
 * gradient, SGD, the largest magnitude and the streamed copy), written once over vectors of VL floats and
 * included by each ISA's file (dav1d's template style).  Each kernel is one main loop
 * over whole vectors and one partial vector for the tail; what differs by ISA (the
 * vector, how the first lanes of a vector are loaded and stored, the streaming store,
 * and the ReLU where one instruction does it) is all the ISA's file defines.
 *
 * These loops are memory-bound, so they keep the scalar reference's arithmetic
 * (elementwise.h) operation by operation: separate multiply and add, each column's rows
 * summed in ascending order.  Their results are bitwise the reference's, which the tests
 * check; the ISA's build passes -ffp-contract=off so no multiply and add become an FMA.
 * The arithmetic is GCC's vector extension (clang has it too): `a + b`, `s * v` with a
 * scalar s broadcast, which is how GCC defines the intrinsics of all three ISAs.
 *
 * The including file defines first:
 *   ISA_NAME(kernel)   kernel##_<isa>: the names FZ_ISA_TABLE (gemm.h) expects
 *   VL, vf             floats per vector; the vector type
 *   VF_HAS_RELU with vf_relu(x), x > 0 ? x : +0 lane by lane, NaN giving +0
 *                      (relu_fwd_elem), where one instruction does it (x86's max);
 *                      otherwise the template selects x where x > 0
 *   vf_load_part(p, count), vf_store_part(p, v, count)
 *                      the first count (0 < count < VL) lanes: the load reads nothing
 *                      past p[count - 1] and zeroes the other lanes, the store writes
 *                      nothing past it
 *   vu_max(a, b), vu_lanes_max(v)
 *                      the lane-by-lane maximum of two vf_ubits, unsigned (the magnitudes'
 *                      bits), and the largest lane of one, as a uint32_t (the ISA's
 *                      reduction: a loop over the lanes went through the stack, and on
 *                      the seed network's 6 floats it doubled the update's time); macros,
 *                      since vf_ubits is defined here
 *   vf_sqrt(x)         the correctly rounded square root of each lane (AdamW)
 *   VF_STREAM with vf_stream(p, v) (p aligned to a whole vector) and vf_stream_fence(),
 *                      where the ISA has streaming stores; an ISA without them writes
 *                      its own copy_aside.
 */
#ifndef FZ_SIMD_ELEMENTWISE_TMPL_H
#define FZ_SIMD_ELEMENTWISE_TMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "elementwise.h"

/* Unaligned whole vectors: memcpy is what GCC compiles to one unaligned vector move. */
static inline vf vf_load(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vf_store(float *p, vf v)
{
    memcpy(p, &v, sizeof v);
}

/* g where sel > 0, else +0, lane by lane (NaN fails the test), as relu_bwd_elem: the
 * comparison's all-ones lanes keep g's bits.  GCC makes this a compare and an AND, or an
 * opmask and a masked load on AVX-512. */
typedef int32_t vf_bits __attribute__((vector_size(sizeof(vf))));

static inline vf vf_pass_where_positive(vf g, vf sel)
{
    return (vf)((vf_bits)(sel > 0.0f) & (vf_bits)g);
}

#ifndef VF_HAS_RELU
/* x > 0 ? x : +0 as the select of x by itself: the ISA's max keeps a NaN (NEON's vmaxq
 * does). */
static inline vf vf_relu(vf x)
{
    return vf_pass_where_positive(x, x);
}
#endif

/* The first `count` (<= VL) lanes.  Each kernel's vector step is written once in these:
 * the main loop passes VL, a constant, so the test folds into whole-vector moves; the
 * tail passes what is left. */
static inline __attribute__((always_inline)) vf vf_load_first(const float *p, size_t count)
{
    return count == VL ? vf_load(p) : vf_load_part(p, count);
}

static inline __attribute__((always_inline)) void vf_store_first(float *p, vf v, size_t count)
{
    if (count == VL)
        vf_store(p, v);
    else
        vf_store_part(p, v, count);
}

static inline __attribute__((always_inline)) void
relu_fwd_vector(float *y, const float *x, size_t count)
{
    vf_store_first(y, vf_relu(vf_load_first(x, count)), count);
}

static void ISA_NAME(relu_fwd)(float *y, const float *x, size_t n, fz_counter *flops)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        relu_fwd_vector(y + i, x + i, VL);
    if (i < n)   /* tail */
        relu_fwd_vector(y + i, x + i, n - i);
    counter_add(flops, n);
}

static inline __attribute__((always_inline)) void
relu_bwd_vector(float *dx, const float *dy, const float *y, size_t count)
{
    vf_store_first(dx, vf_pass_where_positive(vf_load_first(dy, count),
                                              vf_load_first(y, count)), count);
}

static void ISA_NAME(relu_bwd)(float *dx, const float *dy, const float *y, size_t n,
                               fz_counter *flops)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        relu_bwd_vector(dx + i, dy + i, y + i, VL);
    if (i < n)   /* tail */
        relu_bwd_vector(dx + i, dy + i, y + i, n - i);
    counter_add(flops, n);
}

/* db[0..count) = the sum of the m rows of dy, in ascending order. */
static inline __attribute__((always_inline)) void
colsum_vector(float *db, const float *dy, size_t m, size_t ld, size_t count)
{
    vf s = { 0 };
    for (size_t i = 0; i < m; i++)
        s += vf_load_first(dy + i * ld, count);
    vf_store_first(db, s, count);
}

/* Columns are summed in strips of four vectors (four accumulators) down all rows, so
 * each column still adds its rows in ascending order; then single vectors, then the last
 * n % VL columns as one partial vector a row (a narrow layer's whole bias). */
static void ISA_NAME(colsum)(float *db, const float *dy, size_t m, size_t n, size_t ld,
                             fz_counter *flops)
{
    size_t j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        vf s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
        for (size_t i = 0; i < m; i++) {
            const float *r = dy + i * ld + j;
            s0 += vf_load(r);
            s1 += vf_load(r + VL);
            s2 += vf_load(r + 2 * VL);
            s3 += vf_load(r + 3 * VL);
        }
        vf_store(db + j, s0);
        vf_store(db + j + VL, s1);
        vf_store(db + j + 2 * VL, s2);
        vf_store(db + j + 3 * VL, s3);
    }
    for (; j + VL <= n; j += VL)
        colsum_vector(db + j, dy + j, m, ld, VL);
    if (j < n)   /* tail */
        colsum_vector(db + j, dy + j, m, ld, n - j);
    counter_add(flops, (uint64_t)m * n);
}

/* The magnitudes' bits lane by lane (magnitude_bits) and their running maximum (the
 * ISA's vu_max; vu_lanes_max ends it).  A tail's lanes past its count are zero, magnitude 0, so
 * they never raise a maximum. */
typedef uint32_t vf_ubits __attribute__((vector_size(sizeof(vf))));

static inline vf_ubits vf_magnitude_bits(vf x)
{
    return (vf_ubits)x & 0x7fffffffu;
}


/* sgd_elem on `count` lanes, in its order: d = g + wd·p; buf = momentum·buf + d (when buf
 * is not NULL); p = p - lr·d, each product rounded before its sum.  The magnitudes
 * stored join the running maxima *max_p and *max_buf. */
static inline __attribute__((always_inline)) void
sgd_vector(float *p, const float *g, float *buf, size_t count, float lr, float momentum,
           float wd, bool decay, vf_ubits *max_p, vf_ubits *max_buf)
{
    vf vp = vf_load_first(p, count), d = vf_load_first(g, count);
    if (decay)
        d = d + wd * vp;
    if (buf) {
        d = momentum * vf_load_first(buf, count) + d;
        vf_store_first(buf, d, count);
        *max_buf = vu_max(*max_buf, vf_magnitude_bits(d));
    }
    vp = vp - lr * d;
    vf_store_first(p, vp, count);
    *max_p = vu_max(*max_p, vf_magnitude_bits(vp));
}

/* Always inlined (it is also in the table), so that in sgd_plain its maxima are dead. */
static inline __attribute__((always_inline)) sgd_maxima
ISA_NAME(sgd)(float *p, const float *g, float *buf, size_t n, float lr, float momentum,
              float wd, fz_counter *flops)
{
    const bool decay = wd != 0.0f;
    vf_ubits max_p = { 0 }, max_buf = { 0 };
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        sgd_vector(p + i, g + i, buf ? buf + i : NULL, VL, lr, momentum, wd, decay,
                   &max_p, &max_buf);
    if (i < n)   /* tail */
        sgd_vector(p + i, g + i, buf ? buf + i : NULL, n - i, lr, momentum, wd, decay,
                   &max_p, &max_buf);
    counter_add(flops, sgd_flops(n, buf, wd));
    return (sgd_maxima){ float_of_bits(vu_lanes_max(max_p)),
                         buf ? float_of_bits(vu_lanes_max(max_buf)) : 0.0f };
}

/* sgd over `rows` rows of `cols` elements, p's rows ldp floats apart, g's ldg and buf's
 * ldp: a tile of a weight, whose update the trainer folds into the wgrad GEMM.  One
 * call and one reduction of the maxima for the whole tile, where a call per row cost
 * the 6-row tile twelve horizontal reductions. */
static sgd_maxima ISA_NAME(sgd_rows)(float *p, size_t ldp, const float *g, size_t ldg,
                                     float *buf, size_t rows, size_t cols, float lr,
                                     float momentum, float wd, fz_counter *flops)
{
    const bool decay = wd != 0.0f;
    vf_ubits max_p = { 0 }, max_buf = { 0 };
    for (size_t r = 0; r < rows; r++) {
        float *pr = p + r * ldp, *br = buf ? buf + r * ldp : NULL;
        const float *gr = g + r * ldg;
        size_t i = 0;
        for (; i + VL <= cols; i += VL)
            sgd_vector(pr + i, gr + i, br ? br + i : NULL, VL, lr, momentum, wd, decay,
                       &max_p, &max_buf);
        if (i < cols)   /* tail */
            sgd_vector(pr + i, gr + i, br ? br + i : NULL, cols - i, lr, momentum, wd,
                       decay, &max_p, &max_buf);
    }
    counter_add(flops, sgd_flops(rows * cols, buf, wd));
    return (sgd_maxima){ float_of_bits(vu_lanes_max(max_p)),
                         buf ? float_of_bits(vu_lanes_max(max_buf)) : 0.0f };
}

/* sgd with its maxima unused: once it is inlined here, the compiler drops them. */
static void ISA_NAME(sgd_plain)(float *p, const float *g, float *buf, size_t n, float lr,
                                float momentum, float wd, fz_counter *flops)
{
    (void)ISA_NAME(sgd)(p, g, buf, n, lr, momentum, wd, flops);
}

/* adamw_elem on `count` lanes, in its order; the magnitudes stored join the running
 * maxima of p and v. */
static inline __attribute__((always_inline)) void
adamw_vector(float *p, const float *g, float *m, float *v, size_t count, const adamw_step *s,
             vf_ubits *max_p, vf_ubits *max_v)
{
    vf vp = vf_load_first(p, count), vg = vf_load_first(g, count);
    vf vm = vf_load_first(m, count), vv = vf_load_first(v, count);
    if (s->decays)
        vp = vp * s->decay;
    vm = vm + s->one_minus_beta1 * (vg - vm);
    vv = vv * s->beta2;
    vv = vv + s->one_minus_beta2 * vg * vg;
    vf denom = vf_sqrt(vv) / s->bc2_sqrt + s->eps;
    vp = vp + -s->step_size * vm / denom;
    vf_store_first(p, vp, count);
    vf_store_first(m, vm, count);
    vf_store_first(v, vv, count);
    /* A tail's dead lanes (zeros: 0/0 with eps 0) must not reach the maxima: the live
     * ones are read back, the rest zero. */
    if (count < VL) {
        vp = vf_load_first(p, count);
        vv = vf_load_first(v, count);
    }
    *max_p = vu_max(*max_p, vf_magnitude_bits(vp));
    *max_v = vu_max(*max_v, vf_magnitude_bits(vv));
}

static sgd_maxima ISA_NAME(adamw)(float *p, const float *g, float *m, float *v, size_t n,
                                  const adamw_step *s, fz_counter *flops)
{
    vf_ubits max_p = { 0 }, max_v = { 0 };
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        adamw_vector(p + i, g + i, m + i, v + i, VL, s, &max_p, &max_v);
    if (i < n)   /* tail */
        adamw_vector(p + i, g + i, m + i, v + i, n - i, s, &max_p, &max_v);
    counter_add(flops, adamw_flops(n, s->decays));
    return (sgd_maxima){ float_of_bits(vu_lanes_max(max_p)),
                         float_of_bits(vu_lanes_max(max_v)) };
}

/* Two running maxima, so consecutive vectors do not wait on one another's max. */
static float ISA_NAME(abs_max)(const float *x, size_t n)
{
    vf_ubits max0 = { 0 }, max1 = { 0 };
    size_t i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL) {
        max0 = vu_max(max0, vf_magnitude_bits(vf_load(x + i)));
        max1 = vu_max(max1, vf_magnitude_bits(vf_load(x + i + VL)));
    }
    for (; i + VL <= n; i += VL)
        max0 = vu_max(max0, vf_magnitude_bits(vf_load(x + i)));
    if (i < n)   /* tail */
        max1 = vu_max(max1, vf_magnitude_bits(vf_load_part(x + i, n - i)));
    return float_of_bits(vu_lanes_max(vu_max(max0, max1)));
}

#ifdef VF_STREAM
_Static_assert(FZ_STREAM_MIN_FLOATS >= 2 * VL, "a streamed copy holds its head and a vector");

/* Streaming stores need addresses aligned to the vector: a partial vector up to dst's
 * next boundary, whole vectors streamed, a partial tail; then a fence, since streaming
 * stores are weakly ordered and another thread may read the copy after the team's
 * barrier. */
static void ISA_NAME(copy_aside)(float *dst, const float *src, size_t n)
{
    if (n < FZ_STREAM_MIN_FLOATS) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    size_t i = (size_t)(-(uintptr_t)dst & (sizeof(vf) - 1)) / sizeof(float);
    if (i)   /* head */
        vf_store_part(dst, vf_load_part(src, i), i);
    for (; i + VL <= n; i += VL)
        vf_stream(dst + i, vf_load(src + i));
    if (i < n)   /* tail */
        vf_store_part(dst + i, vf_load_part(src + i, n - i), n - i);
    vf_stream_fence();
}
#endif

#endif

/*
 * The NEON table: ReLU, bias gradient and SGD over whole 4-float vectors with a scalar
 * tail, and the GEMM through the shared loop nest with the 8×12 microkernel.
 *
 * These loops are memory-bound, so they keep the scalar reference's arithmetic exactly
 * (separate multiply and add, the same summation order): their results are bitwise the
 * reference's, which the tests check.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"
#include "cpu.h"
#include "gemm.h"
#include "elementwise.h"

#define VL 4

/* x > 0 ? x : +0 lane by lane, NaN giving 0 (vmaxq would keep the NaN). */
static inline float32x4_t where_positive(float32x4_t sel, float32x4_t x)
{
    uint32x4_t pass = vcgtq_f32(sel, vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vandq_u32(pass, vreinterpretq_u32_f32(x)));
}

static void relu_fwd_neon(float *y, const float *x, size_t n, fz_counter *flops)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(y + i, where_positive(v, v));
    }
    for (; i < n; i++)   /* tail */
        y[i] = relu_fwd_elem(x[i]);
    fz_counter_add(flops, n);
}

static void relu_bwd_neon(float *dx, const float *dy, const float *y, size_t n,
                          fz_counter *flops)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        vst1q_f32(dx + i, where_positive(vld1q_f32(y + i), vld1q_f32(dy + i)));
    for (; i < n; i++)   /* tail */
        dx[i] = relu_bwd_elem(dy[i], y[i]);
    fz_counter_add(flops, n);
}

/* Columns are summed in strips of 16 (four accumulators) down all rows, so each column
 * still adds its rows in ascending order. */
static void colsum_neon(float *db, const float *dy, size_t m, size_t n, size_t ld,
                        fz_counter *flops)
{
    size_t j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (size_t i = 0; i < m; i++) {
            const float *r = dy + i * ld + j;
            s0 = vaddq_f32(s0, vld1q_f32(r));
            s1 = vaddq_f32(s1, vld1q_f32(r + VL));
            s2 = vaddq_f32(s2, vld1q_f32(r + 2 * VL));
            s3 = vaddq_f32(s3, vld1q_f32(r + 3 * VL));
        }
        vst1q_f32(db + j, s0);
        vst1q_f32(db + j + VL, s1);
        vst1q_f32(db + j + 2 * VL, s2);
        vst1q_f32(db + j + 3 * VL, s3);
    }
    for (; j + VL <= n; j += VL) {
        float32x4_t s = vdupq_n_f32(0.0f);
        for (size_t i = 0; i < m; i++)
            s = vaddq_f32(s, vld1q_f32(dy + i * ld + j));
        vst1q_f32(db + j, s);
    }
    for (; j < n; j++) {   /* tail */
        float s = 0.0f;
        for (size_t i = 0; i < m; i++)
            s += dy[i * ld + j];
        db[j] = s;
    }
    fz_counter_add(flops, (uint64_t)m * n);
}

static void sgd_neon(float *p, const float *g, float *buf, size_t n, float lr,
                     float momentum, float wd, fz_counter *flops)
{
    const bool decay = wd != 0.0f;
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        float32x4_t vp = vld1q_f32(p + i), d = vld1q_f32(g + i);
        if (decay)
            d = vaddq_f32(d, vmulq_n_f32(vp, wd));
        if (buf) {
            d = vaddq_f32(vmulq_n_f32(vld1q_f32(buf + i), momentum), d);
            vst1q_f32(buf + i, d);
        }
        vst1q_f32(p + i, vsubq_f32(vp, vmulq_n_f32(d, lr)));
    }
    for (; i < n; i++)   /* tail */
        sgd_elem(p, g, buf, i, lr, momentum, wd);
    fz_counter_add(flops, sgd_flops(n, buf, wd));
}

/* NEON has no non-temporal store in C (only STNP in assembly, a hint cores may ignore):
 * a plain copy. */
static void copy_aside_neon(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
}

FZ_ISA_TABLE(neon, fz_sgemm_neon_8x12);

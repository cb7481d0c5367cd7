/*
 * NEON GEMM: the 8×12 microkernel and its packers (aarch64; Advanced SIMD is part of
 * every such CPU, so no extra flag).
 *
 * 8×12 keeps 24 accumulators of 4 floats in 24 of the 32 vector registers; per k step
 * two loads of packed A (8 floats) and three of B (12) feed 24 FMAs by lane.  Edge tiles
 * go through a small buffer for the columns past nr (NEON has no masked stores) and
 * skip the rows past mr, so C is never touched outside the matrix.
 */
#include <arm_neon.h>

#include "gemm.h"
#include "pack.h"

#define MR 8
#define NR 12
#define NV (NR / 4)   /* vectors per row of the tile */

static inline float32x4_t load_part(const float *p, size_t count)
{
    if (count >= 4)
        return vld1q_f32(p);
    float t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    for (size_t i = 0; i < count; i++)
        t[i] = p[i];
    return vld1q_f32(t);
}

static inline void store_part(float *p, float32x4_t v, size_t count)
{
    if (count >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    for (size_t i = 0; i < count; i++)
        p[i] = t[i];
}

/* x > 0 ? x : +0, NaN included, as the scalar reference (vmaxq would keep a NaN). */
static inline float32x4_t keep_where_positive(float32x4_t x, float32x4_t sel)
{
    uint32x4_t pass = vcgtq_f32(sel, vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vandq_u32(pass, vreinterpretq_u32_f32(x)));
}

/* One row of the tile through the epilogue, in the order of the scalar reference. */
static inline void store_row(float *c, const float *mask, float32x4_t acc0,
                             float32x4_t acc1, float32x4_t acc2, size_t nr,
                             const fz_tile_epilogue *ep)
{
    const float32x4_t acc[NV] = { acc0, acc1, acc2 };
    for (size_t v = 0; v < NV && 4 * v < nr; v++) {
        size_t cnt = nr - 4 * v, j = 4 * v;
        float32x4_t x = vmulq_n_f32(acc[v], ep->alpha);
        if (ep->beta != 0.0f)
            x = vaddq_f32(x, vmulq_n_f32(load_part(c + j, cnt), ep->beta));
        if (ep->bias)
            x = vaddq_f32(x, load_part(ep->bias + j, cnt));
        if (ep->relu)
            x = keep_where_positive(x, x);
        if (mask)
            x = keep_where_positive(x, load_part(mask + j, cnt));
        store_part(c + j, x, cnt);
    }
}

static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t rsa, size_t csa, const float *b, float *c,
         size_t ldc, size_t mr, size_t nr, const fz_tile_epilogue *ep, bool packed,
         bool spread)
{
    /* 24 named accumulators: an array would be kept in memory (its rows are passed on),
     * costing a store per FMA pair. */
#define ZERO(r) float32x4_t c##r##0 = vdupq_n_f32(0.0f), c##r##1 = c##r##0, c##r##2 = c##r##0;
    ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5) ZERO(6) ZERO(7)
#undef ZERO
    /* Rows past mr repeat the last real row: never outside A, and never stored. */
    const float *ar[MR];
    for (size_t r = 0; r < MR; r++)
        ar[r] = a + (r < mr ? r : mr - 1) * rsa;

    size_t o = 0;
    prefetch_spread pf = prefetch_spread_start(ep, k);   /* with `spread`: gemm.h */
    for (size_t p = 0; p < k; p++, o += csa, b += NR) {
        if (spread)
            prefetch_spread_step(&pf, p);
        float32x4_t lo, hi;
        if (packed) {
            lo = vld1q_f32(a + o);
            hi = vld1q_f32(a + o + 4);
        } else {
            float t[MR];
            for (int r = 0; r < MR; r++)
                t[r] = ar[r][o];
            lo = vld1q_f32(t);
            hi = vld1q_f32(t + 4);
        }
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
#define ROW(r, av, lane)                                        \
        c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane);       \
        c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane);       \
        c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane);
        ROW(0, lo, 0) ROW(1, lo, 1) ROW(2, lo, 2) ROW(3, lo, 3)
        ROW(4, hi, 0) ROW(5, hi, 1) ROW(6, hi, 2) ROW(7, hi, 3)
#undef ROW
    }

    if (spread)
        prefetch_spread_finish(&pf);
#define STORE(r)                                                                      \
    if (mr > r)                                                                       \
        store_row(c + r * ldc, ep->mask ? ep->mask + r * ep->ldmask : NULL,           \
                  c##r##0, c##r##1, c##r##2, nr, ep);
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}

static void sgemm_neon_8x12(size_t k, const float *a, size_t rsa, size_t csa,
                            const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                            const fz_tile_epilogue *ep)
{
    if (ep->a_packed && ep->n_prefetch)   /* a hooked product's tile: gemm.c */
        ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, true);
    else if (ep->a_packed)
        ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, false);
    else
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, false);
}

FZ_PACKERS_FROM_PANELS(neon, pack_panels)

/* No transposed store: the small path's tall, narrow products run untransposed here. */
FZ_SGEMM_KERNEL(fz_sgemm_neon_8x12, "sgemm_neon_8x12", sgemm_neon_8x12, neon,
                .stores_transposed = false);

/*
 * AVX2+FMA GEMM: the 6×16 microkernel and its packers (compiled with -mavx2 -mfma).
 *
 * 6×16 keeps 12 accumulators of 8 floats in 12 of the 16 YMM registers; per k step two
 * loads of B and six broadcasts of A feed 12 FMAs, which two FMA pipes retire in six
 * cycles while the loads fit in the load ports.  Edge tiles use masked loads and stores
 * on the columns and skip the rows past mr, so C is never touched outside the matrix.
 */
#include <immintrin.h>

#include "gemm.h"
#include "pack.h"

#define MR 6
#define NR 16

/* BLIS's Haswell/Zen single-precision blocking: a 256-deep B micro-panel is 16 KiB (half
 * of L1), a 144×256 A block 144 KiB (in L2), a 256×4080 B block 4 MiB (in L3). */
#define KC 256
#define MC 144
#define NC 4080

typedef struct {
    __m256i lo, hi;   /* which of the 16 columns exist */
    bool full;
} col_mask;

static inline __m256 load_cols(const float *p, const col_mask *cm, int half)
{
    if (cm->full)
        return _mm256_loadu_ps(p + 8 * half);
    return _mm256_maskload_ps(p + 8 * half, half ? cm->hi : cm->lo);
}

static inline void store_cols(float *p, __m256 v, const col_mask *cm, int half)
{
    if (cm->full)
        _mm256_storeu_ps(p + 8 * half, v);
    else
        _mm256_maskstore_ps(p + 8 * half, half ? cm->hi : cm->lo, v);
}

/* One row of the tile through the epilogue, in the order of the scalar reference. */
static inline void store_row(float *c, const float *mask, __m256 acc0, __m256 acc1,
                             const col_mask *cm, const fz_tile_epilogue *ep)
{
    const __m256 zero = _mm256_setzero_ps(), alpha = _mm256_set1_ps(ep->alpha);
    __m256 v[2] = { _mm256_mul_ps(alpha, acc0), _mm256_mul_ps(alpha, acc1) };
    for (int h = 0; h < 2; h++) {
        if (ep->beta != 0.0f)
            v[h] = _mm256_add_ps(v[h], _mm256_mul_ps(_mm256_set1_ps(ep->beta),
                                                     load_cols(c, cm, h)));
        if (ep->bias)
            v[h] = _mm256_add_ps(v[h], load_cols(ep->bias, cm, h));
        if (ep->relu)
            v[h] = _mm256_max_ps(v[h], zero);   /* max_ps(NaN, 0) is 0, as v > 0 ? v : 0 */
        if (mask)
            v[h] = _mm256_and_ps(v[h], _mm256_cmp_ps(load_cols(mask, cm, h), zero,
                                                      _CMP_GT_OQ));
        store_cols(c, v[h], cm, h);
    }
}

/* The microkernel body; always inlined so that the packed-A call site gets the strides
 * as constants. */
static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t rsa, size_t csa, const float *b, float *c,
         size_t ldc, size_t mr, size_t nr, const fz_tile_epilogue *ep)
{
    /* Rows past mr repeat the last real row: never outside A, and never stored. */
    const float *a0 = a;
    const float *a1 = a + (mr > 1 ? 1 : 0) * rsa;
    const float *a2 = a + (mr > 2 ? 2 : mr - 1) * rsa;
    const float *a3 = a + (mr > 3 ? 3 : mr - 1) * rsa;
    const float *a4 = a + (mr > 4 ? 4 : mr - 1) * rsa;
    const float *a5 = a + (mr > 5 ? 5 : mr - 1) * rsa;

    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    size_t o = 0;
#pragma GCC unroll 4
    for (size_t p = 0; p < k; p++, o += csa, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
        x = _mm256_broadcast_ss(a0 + o);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + o);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + o);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + o);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + o);
        c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + o);
        c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }

    col_mask cm = { .full = nr == NR };
    if (!cm.full) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        cm.lo = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lane);
        cm.hi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lane);
    }
    const float *mk = ep->mask;
    size_t ldm = ep->ldmask;
    store_row(c, mk, c00, c01, &cm, ep);
    if (mr > 1) store_row(c + 1 * ldc, mk ? mk + 1 * ldm : NULL, c10, c11, &cm, ep);
    if (mr > 2) store_row(c + 2 * ldc, mk ? mk + 2 * ldm : NULL, c20, c21, &cm, ep);
    if (mr > 3) store_row(c + 3 * ldc, mk ? mk + 3 * ldm : NULL, c30, c31, &cm, ep);
    if (mr > 4) store_row(c + 4 * ldc, mk ? mk + 4 * ldm : NULL, c40, c41, &cm, ep);
    if (mr > 5) store_row(c + 5 * ldc, mk ? mk + 5 * ldm : NULL, c50, c51, &cm, ep);
}

static void sgemm_avx2_6x16(size_t k, const float *a, size_t rsa, size_t csa,
                            const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                            const fz_tile_epilogue *ep)
{
    if (rsa == 1 && csa == MR)
        ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep);
    else
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep);
}

static void pack_a_avx2(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                        size_t k)
{
    fz_pack_panels(dst, src, ls, ks, lanes, k, MR);
}

static void pack_b_avx2(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                        size_t k)
{
    fz_pack_panels(dst, src, ls, ks, lanes, k, NR);
}

const fz_sgemm_kernel fz_sgemm_avx2_6x16 = {
    .name = "sgemm_avx2_6x16",
    .mr = MR, .nr = NR,
    .kc = KC, .mc = MC, .nc = NC,
    .ukr = sgemm_avx2_6x16,
    .pack_a = pack_a_avx2,
    .pack_b = pack_b_avx2,
};

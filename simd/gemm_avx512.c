/*
 * AVX-512 GEMM: the MR×NR microkernel and its packers (compiled with -mavx512f -mavx512vl
 * -mavx512bw -mavx512dq -mfma).
 *
 * The tile keeps MR·NR/16 accumulators in the 32 ZMM registers; per k step NR/16 loads of
 * B and MR broadcasts of A feed MR·NR/16 FMAs.  Edge tiles use opmasks on the columns
 * (masked loads never fault on masked-off lanes, masked stores never write them) and skip
 * the rows past mr, so C is never touched outside the matrix.
 */
#include <immintrin.h>

#include "gemm.h"
#include "pack.h"

#ifndef FZ_AVX512_MR
#define FZ_AVX512_MR 12
#endif
#ifndef FZ_AVX512_NR
#define FZ_AVX512_NR 32
#endif
#ifndef FZ_AVX512_KC
#define FZ_AVX512_KC 256
#endif
#define MR FZ_AVX512_MR
#define NR FZ_AVX512_NR
#define NV (NR / 16)   /* ZMM vectors per row of the tile */

#define KC FZ_AVX512_KC
#define MC (((size_t)1 << 20) / (KC * sizeof(float)) / MR * MR)
#define NC 4096

_Static_assert(NR % 16 == 0 && NV >= 1 && NV <= 4, "NR is whole ZMM vectors");
_Static_assert(MR <= 16, "the transposed store puts a tile column into one vector");

static inline __mmask16 first_lanes(size_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* r[q] = column q of the 16×16 block whose rows are r[0..15]: 4×4 transposes inside the
 * 128-bit lanes, then a 4×4 transpose of the lanes themselves. */
static inline __attribute__((always_inline)) void transpose16x16(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* u[4R + s], lane L: column 4L + s of rows 4R..4R+3. */
    for (int s = 0; s < 4; s++) {
        __m512 w0 = _mm512_shuffle_f32x4(u[s], u[4 + s], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 w1 = _mm512_shuffle_f32x4(u[s], u[4 + s], _MM_SHUFFLE(3, 1, 3, 1));
        __m512 w2 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 w3 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], _MM_SHUFFLE(3, 1, 3, 1));
        r[s] = _mm512_shuffle_f32x4(w0, w2, _MM_SHUFFLE(2, 0, 2, 0));
        r[8 + s] = _mm512_shuffle_f32x4(w0, w2, _MM_SHUFFLE(3, 1, 3, 1));
        r[4 + s] = _mm512_shuffle_f32x4(w1, w3, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + s] = _mm512_shuffle_f32x4(w1, w3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* The epilogue of the scalar reference on one vector of C: v is alpha·AB, `live` the
 * lanes that exist; c, bias and mask point at the vector's first element. */
static inline __attribute__((always_inline)) __m512
epilogue_vector(__m512 v, __mmask16 live, const float *c, const float *bias,
                const float *mask, const fz_tile_epilogue *e)
{
    const __m512 zero = _mm512_setzero_ps();
    if (e->alpha != 1.0f)
        v = _mm512_mul_ps(_mm512_set1_ps(e->alpha), v);
    if (e->beta != 0.0f)
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(e->beta),
                                           _mm512_maskz_loadu_ps(live, c)));
    if (bias)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, bias));
    if (e->relu)   /* max_ps(NaN, 0) and max_ps(-0, 0) are 0, as v > 0 ? v : 0 */
        v = _mm512_max_ps(v, zero);
    if (mask)
        v = _mm512_maskz_mov_ps(
            _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(live, mask), zero, _CMP_GT_OQ), v);
    return v;
}

/* The tile through the epilogue, row by row; rows past mr are never loaded or stored.
 * `nv` is a constant at each call site, so the unused vectors cost nothing. */
static inline __attribute__((always_inline)) void
store_tile(__m512 acc[MR][NV], float *c, size_t ldc, size_t mr, size_t nr, int nv,
           const fz_tile_epilogue *ep)
{
    /* A local copy: no store to C can make the compiler reload the epilogue. */
    const fz_tile_epilogue e = *ep;
    __mmask16 live[NV];
    for (int v = 0; v < NV; v++)
        live[v] = first_lanes(nr > 16u * v ? nr - 16u * v : 0);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
        if ((size_t)r >= mr)
            break;
        float *cr = c + r * ldc;
        const float *mask = e.mask ? e.mask + r * e.ldmask : NULL;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(cr + 16 * v, live[v],
                                  epilogue_vector(acc[r][v], live[v], cr + 16 * v,
                                                  e.bias ? e.bias + 16 * v : NULL,
                                                  mask ? mask + 16 * v : NULL, &e));
    }
}

/* The tile as Cᵀ (fz_tile_epilogue.transposed): tile row r is C's column r, lane l of
 * vector h is C's row 16h + l.  A 16×16 transpose per vector turns the lanes back into
 * C's rows, each mr floats wide, which then go through the epilogue; bias and mask are
 * read along C's rows. */
static inline __attribute__((always_inline)) void
store_tile_transposed(__m512 acc[MR][NV], float *c, size_t ldc, size_t mr, size_t nr,
                      int nv, const fz_tile_epilogue *ep)
{
    const fz_tile_epilogue e = *ep;
    const __mmask16 live = first_lanes(mr);
#pragma GCC unroll 4
    for (int h = 0; h < nv; h++) {
        __m512 row[16];
        for (int r = 0; r < 16; r++)
            row[r] = r < MR ? acc[r < MR ? r : 0][h] : _mm512_setzero_ps();
        transpose16x16(row);
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++) {
            size_t i = 16u * h + l;
            if (i >= nr)
                break;
            float *ci = c + i * ldc;
            _mm512_mask_storeu_ps(ci, live,
                                  epilogue_vector(row[l], live, ci, e.bias,
                                                  e.mask ? e.mask + i * e.ldmask : NULL, &e));
        }
    }
}

/* The microkernel body; always inlined so that each call site gets the strides, the
 * live vector count and the store as constants. */
static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t rsa, size_t csa, const float *b, float *c,
         size_t ldc, size_t mr, size_t nr, const fz_tile_epilogue *ep, bool packed, int nv,
         bool transposed)
{
    /* A packed panel is zero padded to MR rows; in the caller's matrix, rows past mr
     * repeat the last real row instead: never outside A, and never stored. */
    size_t last = packed ? MR - 1 : mr - 1;
    const float *ar[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
        ar[r] = a + ((size_t)r < last ? (size_t)r : last) * rsa;
    /* The tile of C is written at the end: start fetching its lines now (the small
     * path's C is already in L1; there it would only cost instructions). */
    if (packed)
        for (size_t r = 0; r < mr; r++)
            for (int v = 0; v < NV; v++)
                _mm_prefetch((const char *)(c + r * ldc + 16 * v), _MM_HINT_T0);

    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();

    size_t o = 0;
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++, o += csa, b += NR) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = v < nv ? _mm512_loadu_ps(b + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
            __m512 x = _mm512_set1_ps(ar[r][o]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                if (v < nv)
                    acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }

    if (transposed)
        store_tile_transposed(acc, c, ldc, mr, nr, nv, ep);
    else
        store_tile(acc, c, ldc, mr, nr, nv, ep);
}

static void sgemm_avx512_ukr(size_t k, const float *a, size_t rsa, size_t csa,
                             const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                             const fz_tile_epilogue *ep)
{
    /* The small path's products are nearly all edge tiles: there a narrow one computes
     * only the vectors it has (nr <= 16: one). */
    if (ep->transposed) {   /* the small path's tall, narrow products, as Cᵀ */
        if (nr <= 16)
            ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, 1, true);
        else
            ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, NV, true);
    } else if (rsa == 1 && csa == MR) {
        ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, NV, false);
    } else if (nr <= 16) {
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, 1, false);
    } else {
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, NV, false);
    }
}

/* Lanes [0, lanes) of depth k into panels W lanes wide (see fz_sgemm_pack), 16 lanes at
 * a time with opmasks for the lane and depth tails; the padding lanes are written as
 * zeros by the masked-off loads. */
static inline __attribute__((always_inline)) void
pack_panels_avx512(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                   size_t k, size_t W)
{
    if (ls == 1) {
        /* Lanes contiguous (A transposed, B not): one masked load per depth step and
         * 16 lanes. */
        for (size_t l0 = 0; l0 < lanes; l0 += W, dst += W * k) {
            size_t w = lanes - l0 < W ? lanes - l0 : W;
            for (size_t p = 0; p < k; p++)
                for (size_t g = 0; g < W; g += 16)
                    _mm512_mask_storeu_ps(dst + p * W + g, first_lanes(W - g),
                                          _mm512_maskz_loadu_ps(first_lanes(w > g ? w - g : 0),
                                                                src + l0 + g + p * ks));
        }
        return;
    }
    if (ks != 1) {   /* neither lanes nor depth contiguous: not a layout the library uses */
        fz_pack_panels(dst, src, ls, ks, lanes, k, W);
        return;
    }
    /* Depth contiguous (A not transposed, B transposed): blocks of 16 lanes by 16 depth
     * steps through a register transpose; missing lanes are rows of zeros, the depth
     * tail a masked load. */
    for (size_t l0 = 0; l0 < lanes; l0 += W, dst += W * k) {
        size_t w = lanes - l0 < W ? lanes - l0 : W;
        for (size_t g = 0; g < W; g += 16) {
            size_t rows = w > g ? (w - g < 16 ? w - g : 16) : 0;
            __mmask16 room = first_lanes(W - g);
            for (size_t p = 0; p < k; p += 16) {
                __mmask16 depth = first_lanes(k - p);
                __m512 r[16];
                for (size_t q = 0; q < 16; q++)
                    r[q] = q < rows ? _mm512_maskz_loadu_ps(depth, src + (l0 + g + q) * ls + p)
                                    : _mm512_setzero_ps();
                transpose16x16(r);
                size_t steps = k - p < 16 ? k - p : 16;
                for (size_t q = 0; q < steps; q++)
                    _mm512_mask_storeu_ps(dst + (p + q) * W + g, room, r[q]);
            }
        }
    }
}

static void pack_a_avx512(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                          size_t k)
{
    pack_panels_avx512(dst, src, ls, ks, lanes, k, MR);
}

static void pack_b_avx512(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                          size_t k)
{
    pack_panels_avx512(dst, src, ls, ks, lanes, k, NR);
}

#define STR2(x) #x
#define STR(x) STR2(x)

const fz_sgemm_kernel fz_sgemm_avx512 = {
    .name = "sgemm_avx512_" STR(MR) "x" STR(NR),
    .mr = MR, .nr = NR,
    .kc = KC, .mc = MC, .nc = NC,
    .ukr = sgemm_avx512_ukr,
    .pack_a = pack_a_avx512,
    .pack_b = pack_b_avx512,
    .stores_transposed = true,
};

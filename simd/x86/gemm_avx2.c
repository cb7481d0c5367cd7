/*
 * AVX2+FMA GEMM: the 6×16 microkernel and its packers (compiled with -mavx2 -mfma).
 *
 * 6×16 keeps 12 accumulators of 8 floats in 12 of the 16 YMM registers; per k step two
 * loads of B and six broadcasts of A feed 12 FMAs, which two FMA pipes retire in six
 * cycles while the loads fit in the load ports.  Edge tiles use masked loads on the
 * columns, store in pieces and skip the rows past mr, so C is never touched outside the
 * matrix.
 */
#include <immintrin.h>
#include <stdint.h>

#include "gemm.h"
#include "pack.h"
#include "avx2_partial.h"

typedef __m256 xvec;
#define XV(op) _mm256_##op
#include "transpose_tmpl.h"

#define MR 6
#define NR 16
/* How many k steps ahead the microkernel prefetches a transposed A it reads in place
 * (see sgemm_avx2_6x16 for where).  Zen 3, one thread, N×16×N TN, builds alternating
 * in one process (9 and 11 rounds, each order once), time without over time with:
 * 1760 1.10 and 1.17, 2000 1.19 and 1.26, 3000×13×3000 1.26 and 1.25, 1500 1.31 and
 * 1.03; 600 and 784 (A within the L2 or near it) 0.98-1.01.  24, 32 and 48 steps, and
 * a second line for the tile's last row, within each other's noise. */
#define A_AHEAD 24

typedef struct {
    __m256i lo, hi;   /* which of the 16 columns exist */
    bool full;
} col_mask;

/* The first n (<= NR) of the tile's 16 columns. */
static inline col_mask first_cols(size_t n)
{
    col_mask cm = { .full = n >= NR };
    if (!cm.full) {
        cm.lo = avx2_first_lanes(n);
        cm.hi = n > 8 ? avx2_first_lanes(n - 8) : _mm256_setzero_si256();
    }
    return cm;
}

static inline __m256 load_cols(const float *p, const col_mask *cm, int half)
{
    if (cm->full)
        return _mm256_loadu_ps(p + 8 * half);
    return _mm256_maskload_ps(p + 8 * half, half ? cm->hi : cm->lo);
}

/* The first n (< 16) floats of lo:hi to p: a whole half, then avx2_store_first's pieces
 * (no masked stores: avx2_partial.h). */
static inline void store_first(float *p, __m256 lo, __m256 hi, size_t n)
{
    if (n >= 8) {
        _mm256_storeu_ps(p, lo);
        lo = hi;
        p += 8;
        n -= 8;
    }
    avx2_store_first(p, lo, n);
}

/* r[q] = column q of the 8×8 block whose rows are r[0..7]: 4×4 transposes inside the
 * 128-bit lanes, then the lanes swapped across the two halves. */
static inline void transpose8x8(__m256 r[8])
{
    __m256 u[8];
    transpose4x4_in_lanes(r, u);
    transpose4x4_in_lanes(r + 4, u + 4);
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* The tile through the epilogue, in the order of the scalar reference, one stage at a
 * time over all rows: each stage's test is made once per tile, not once per row (the
 * small network's products are nearly all edge tiles, where that overhead dominated).
 * Rows past mr are computed in registers but never loaded or stored; `halves` is a
 * constant 1 in the narrow variant, so its unused half costs nothing. */
static inline __attribute__((always_inline)) void
store_tile(__m256 acc[MR][2], float *c, size_t ldc, size_t mr, size_t nr, int halves,
           const fz_tile_epilogue *ep)
{
    /* A local copy: no store to C can make the compiler reload the epilogue. */
    const fz_tile_epilogue e = *ep;
    const __m256 zero = _mm256_setzero_ps();
    const col_mask cm = first_cols(nr);
    if (halves == 2 && nr <= 8)
        halves = 1;
#define EACH(body)                                        \
    for (int r = 0; r < MR; r++)                          \
        for (int h = 0; h < 2; h++)                       \
            if (h < halves && (size_t)r < mr) { body; }
    if (e.alpha != 1.0f) {
        const __m256 alpha = _mm256_set1_ps(e.alpha);
        EACH(acc[r][h] = _mm256_mul_ps(alpha, acc[r][h]))
    }
    if (e.beta != 0.0f) {
        const __m256 beta = _mm256_set1_ps(e.beta);
        EACH(acc[r][h] = _mm256_add_ps(acc[r][h],
                                       _mm256_mul_ps(beta, load_cols(c + r * ldc, &cm, h))))
    }
    if (e.bias) {
        const __m256 bias[2] = { load_cols(e.bias, &cm, 0),
                                 halves == 2 ? load_cols(e.bias, &cm, 1) : zero };
        EACH(acc[r][h] = _mm256_add_ps(acc[r][h], bias[h]))
    }
    if (e.relu)   /* max_ps(NaN, 0) is 0, as v > 0 ? v : 0 */
        EACH(acc[r][h] = _mm256_max_ps(acc[r][h], zero))
    if (e.mask)
        EACH(acc[r][h] = _mm256_and_ps(acc[r][h],
                                       _mm256_cmp_ps(load_cols(e.mask + r * e.ldmask, &cm, h),
                                                     zero, _CMP_GT_OQ)))
    if (cm.full && halves == 2 && e.stream && !(((uintptr_t)c | ldc * sizeof(float)) & 63)) {
        /* Each row one whole 64-byte line: past the caches. */
        EACH(_mm256_stream_ps(c + r * ldc + 8 * h, acc[r][h]))
    } else if (cm.full) {
        EACH(_mm256_storeu_ps(c + r * ldc + 8 * h, acc[r][h]))
    } else {
        for (int r = 0; r < MR; r++)
            if ((size_t)r < mr)
                store_first(c + r * ldc, acc[r][0], acc[r][1], nr);
    }
#undef EACH
}

/* The tile as Cᵀ (fz_tile_epilogue.transposed): tile row r is C's column r and lane l
 * C's row l.  Two 8×8 transposes turn the lanes back into C's rows, each mr (<= 6)
 * floats wide, which then go through the epilogue stage by stage, as in store_tile;
 * bias and mask are read along C's rows. */
static inline __attribute__((always_inline)) void
store_tile_transposed(__m256 acc[MR][2], float *c, size_t ldc, size_t mr, size_t nr,
                      int halves, const fz_tile_epilogue *ep)
{
    const fz_tile_epilogue e = *ep;
    const __m256 zero = _mm256_setzero_ps();
    const col_mask cm = {
        .lo = avx2_first_lanes(mr),
        .full = false,
    };
    __m256 row[2 * 8];   /* row[i]: C's row i, its first mr lanes */
    for (int h = 0; h < halves; h++) {
        __m256 *t = row + 8 * h;
        for (int r = 0; r < 8; r++)
            t[r] = r < MR ? acc[r][h] : zero;
        transpose8x8(t);
    }
    int rows = (int)nr;
    /* Unrolled, so that row[] stays in registers; rows past nr are never touched. */
#define EACH(body)                             \
    _Pragma("GCC unroll 16")                   \
    for (int i = 0; i < 8 * halves; i++)       \
        if (i < rows) { body; }
    if (e.alpha != 1.0f) {
        const __m256 alpha = _mm256_set1_ps(e.alpha);
        EACH(row[i] = _mm256_mul_ps(alpha, row[i]))
    }
    if (e.beta != 0.0f) {
        const __m256 beta = _mm256_set1_ps(e.beta);
        EACH(row[i] = _mm256_add_ps(row[i],
                                    _mm256_mul_ps(beta, load_cols(c + i * ldc, &cm, 0))))
    }
    if (e.bias) {
        const __m256 bias = load_cols(e.bias, &cm, 0);
        EACH(row[i] = _mm256_add_ps(row[i], bias))
    }
    if (e.relu)
        EACH(row[i] = _mm256_max_ps(row[i], zero))
    if (e.mask)
        EACH(row[i] = _mm256_and_ps(row[i],
                                    _mm256_cmp_ps(load_cols(e.mask + i * e.ldmask, &cm, 0),
                                                  zero, _CMP_GT_OQ)))
    EACH(store_first(c + i * ldc, row[i], zero, mr))
#undef EACH
}

/* The microkernel body; always inlined so that the packed-A call site gets the strides
 * as constants.  With `spread`, ep's prefetch list is fetched across the k loop
 * (prefetch_spread, gemm.h).  `rows` (mr <= rows <= MR) rows are computed: MR, except in
 * a packed edge tile (packed_edge_rows, gemm.h).  With `ahead`, a transposed A read in
 * place is fetched A_AHEAD k steps ahead. */
static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t rsa, size_t csa, const float *b, float *c,
         size_t ldc, size_t mr, size_t nr, const fz_tile_epilogue *ep, bool packed,
         bool left_half, bool transposed, bool spread, int rows, bool ahead)
{
    /* A packed panel is zero padded to MR rows; in the caller's matrix, rows past mr
     * repeat the last real row instead: never outside A, and never stored. */
    size_t last = packed ? MR - 1 : mr - 1;
    const float *a0 = a;
    const float *a1 = a + (last < 1 ? last : 1) * rsa;
    const float *a2 = a + (last < 2 ? last : 2) * rsa;
    const float *a3 = a + (last < 3 ? last : 3) * rsa;
    const float *a4 = a + (last < 4 ? last : 4) * rsa;
    const float *a5 = a + (last < 5 ? last : 5) * rsa;
    /* The tile of C is written at the end: start fetching its rows now (the small
     * path's C is already in L1; there it would only cost instructions; a streamed
     * tile is not read). */
    if (packed && !ep->stream)
        for (size_t r = 0; r < mr; r++)
            _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);

    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    size_t o = 0;
    prefetch_spread pf = prefetch_spread_start(ep, k);
#pragma GCC unroll 4
    for (size_t p = 0; p < k; p++, o += csa, b += NR) {
        if (spread)
            prefetch_spread_step(&pf, p);
        if (ahead)   /* each k step's rows are a new line of A: fetch it early */
            _mm_prefetch((const char *)(a0 + o + A_AHEAD * csa), _MM_HINT_T0);
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_setzero_ps(), x;
        if (!left_half)
            b1 = _mm256_load_ps(b + 8);
#define ROW(r)                                                  \
        if (r < rows) {                                         \
            x = _mm256_broadcast_ss(a##r + o);                  \
            c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);          \
            if (!left_half)                                     \
                c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);      \
        }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }

    if (spread)
        prefetch_spread_finish(&pf);
    __m256 acc[MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
                          { c30, c31 }, { c40, c41 }, { c50, c51 } };
    if (transposed)
        store_tile_transposed(acc, c, ldc, mr, nr, left_half ? 1 : 2, ep);
    else
        store_tile(acc, c, ldc, mr, nr, left_half ? 1 : 2, ep);
}

static void sgemm_avx2_6x16(size_t k, const float *a, size_t rsa, size_t csa,
                            const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                            const fz_tile_epilogue *ep)
{
/* A packed panel's tile, hooked (spread: a hooked product's tile, gemm.c) or not. */
#define PACKED(spread)                                                                  \
    switch (packed_edge_rows(mr, MR)) {                                                 \
    case 2: ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, false, false, spread, 2,   \
                     false);                                                            \
        break;                                                                          \
    case 4: ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, false, false, spread, 4,   \
                     false);                                                            \
        break;                                                                          \
    default: ukr_body(k, a, 1, MR, b, c, ldc, mr, nr, ep, true, false, false, spread, MR, \
                      false);                                                           \
    }
    if (ep->transposed)   /* the small path's tall, narrow products, as Cᵀ */
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, false, true, false, MR, false);
    else if (ep->a_packed && ep->n_prefetch)
        PACKED(true)
    else if (ep->a_packed)
        PACKED(false)
    else if (nr <= 8)   /* the small path's narrow products: half the work */
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, true, false, false, MR, false);
    else if (rsa == 1 && k > 1 && csa >= 64 / sizeof(float) && !rows_share_l1_sets(csa))
        /* A transposed, where it lies (C one tile wide, gemm.c), each k step's rows on a
         * new line: fetched A_AHEAD steps ahead (the small path's A, whose rows share
         * lines, is in the L1 already).  Not where the rows share one or two L1 sets
         * (rows_share_l1_sets), whose ways the tile's own lines already fill: there the
         * fetched lines evicted them (1024×16×1024 TN 1.30-1.40× as slow). */
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, false, false, false, MR, true);
    else
        ukr_body(k, a, rsa, csa, b, c, ldc, mr, nr, ep, false, false, false, false, MR, false);
#undef PACKED
}

/* A not transposed (depth contiguous, as X and dY are): whole 6-row panels go through
 * 8×8 register transposes (two rows of zeros), the rest through the portable loop. */
static void pack_a_avx2(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                        size_t k)
{
    size_t full = ks == 1 && ls != 1 ? lanes / MR * MR : 0;
    for (size_t l0 = 0; l0 < full; l0 += MR, dst += MR * k) {
        size_t p = 0;
        for (; p + 8 <= k; p += 8) {
            __m256 r[8];
            for (int q = 0; q < MR; q++)
                r[q] = _mm256_loadu_ps(src + (l0 + q) * ls + p);
            r[6] = r[7] = _mm256_setzero_ps();
            transpose8x8(r);
            /* Depth step q is the first 6 floats of r[q]; each store's last two floats
             * are overwritten by the next, the last one is stored short. */
            float *d = dst + p * MR;
            for (int q = 0; q < 7; q++)
                _mm256_storeu_ps(d + q * MR, r[q]);
            _mm_storeu_ps(d + 7 * MR, _mm256_castps256_ps128(r[7]));
            _mm_storel_pi((__m64 *)(d + 7 * MR + 4), _mm256_extractf128_ps(r[7], 1));
        }
        for (; p < k; p++)   /* depth tail */
            for (size_t l = 0; l < MR; l++)
                dst[p * MR + l] = src[(l0 + l) * ls + p];
    }
    if (ls == 1) {
        /* Lanes contiguous (A transposed, the wgrad's dYᵀ): NARROW_PACK_STEPS depth steps
         * across all panels at a time, as the AVX-512 packer does and for the same reason
         * (rows a layer's width apart share a few cache sets).  A plain load where the 8
         * floats stay inside the lanes, else a masked one whose masked-off lanes read as
         * the panel's zero padding; each 8-float store's last two floats are overwritten
         * by the next step's, a panel's last step is stored short. */
        size_t panels = (lanes + MR - 1) / MR;
        size_t whole = narrow_panels_read_whole(lanes, MR);
        for (size_t p0 = 0; p0 < k; p0 += NARROW_PACK_STEPS) {
            size_t p1 = k - p0 < NARROW_PACK_STEPS ? k : p0 + NARROW_PACK_STEPS;
            for (size_t P = 0; P < panels; P++) {
                size_t l0 = P * MR, w = lanes - l0 < MR ? lanes - l0 : MR;
                __m256i live = avx2_first_lanes(w);
                float *d = dst + P * MR * k;
                for (size_t p = p0; p < p1; p++) {
                    const float *sp = src + l0 + p * ks;
                    __m256 v = P < whole ? _mm256_loadu_ps(sp) : _mm256_maskload_ps(sp, live);
                    if (p + 1 < k) {
                        _mm256_storeu_ps(d + p * MR, v);
                    } else {
                        _mm_storeu_ps(d + p * MR, _mm256_castps256_ps128(v));
                        _mm_storel_pi((__m64 *)(d + p * MR + 4), _mm256_extractf128_ps(v, 1));
                    }
                }
            }
        }
        return;
    }
    pack_panels(dst, src + full * ls, ls, ks, lanes - full, k, MR);
}

/* One B panel of w (<= 16) lanes from a depth-contiguous source (lane l, depth p at
 * src[l·ls + p]): 8×8 register transposes, lanes past w as rows of zeros (never read),
 * the depth tail loaded masked so nothing past it is read.  `w` is a constant 16 for
 * the whole panels. */
static inline __attribute__((always_inline)) void
pack_b_panel_transposing(float *dst, const float *src, size_t ls, size_t k, size_t w)
{
    size_t p = 0;
    for (; p + 8 <= k; p += 8)
        for (size_t h = 0; h < NR; h += 8) {
            __m256 r[8];
            for (size_t q = 0; q < 8; q++)
                r[q] = h + q < w ? _mm256_loadu_ps(src + (h + q) * ls + p)
                                 : _mm256_setzero_ps();
            transpose8x8(r);
            for (int q = 0; q < 8; q++)
                _mm256_store_ps(dst + (p + q) * NR + h, r[q]);
        }
    if (p < k) {
        /* Depth tail (all of a small network's depth): the same transpose over the last
         * k - p depth steps. */
        size_t tail = k - p;
        __m256i live = avx2_first_lanes(tail);
        for (size_t h = 0; h < NR; h += 8) {
            __m256 r[8];
            for (size_t q = 0; q < 8; q++)
                r[q] = h + q < w ? _mm256_maskload_ps(src + (h + q) * ls + p, live)
                                 : _mm256_setzero_ps();
            transpose8x8(r);
            for (size_t q = 0; q < tail; q++)
                _mm256_store_ps(dst + (p + q) * NR + h, r[q]);
        }
    }
}

/* B transposed (depth contiguous, as W is in the forward X·Wᵀ): 16-lane panels through
 * 8×8 register transposes, the last one too when it is partial (the seed network's
 * 5-wide layer: the portable loop cost it more than the product); other layouts
 * through the portable loop. */
static void pack_b_avx2(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                        size_t k)
{
    if (ks == 1 && ls != 1) {
        size_t full = lanes / NR * NR;
        for (size_t l0 = 0; l0 < full; l0 += NR, dst += NR * k)
            pack_b_panel_transposing(dst, src + l0 * ls, ls, k, NR);
        if (full < lanes)
            pack_b_panel_transposing(dst, src + full * ls, ls, k, lanes - full);
        return;
    }
    if (ls == 1) {
        /* Lanes contiguous (B not transposed, the dgrad's W): NARROW_PACK_STEPS depth
         * steps across all panels at a time, as pack_a_avx2 does: panel by panel, each
         * depth step was a new row a layer's width away, a new page each at 1024 wide.
         * Plain loads for whole panels; the last panel's masked-off lanes read as zero,
         * which is its padding. */
        size_t panels = (lanes + NR - 1) / NR;
        /* One panel (the seed network's 5-wide B) has no rows to share: one pass. */
        size_t steps = panels > 1 ? NARROW_PACK_STEPS : k;
        for (size_t p0 = 0; p0 < k; p0 += steps) {
            size_t p1 = k - p0 < steps ? k : p0 + steps;
            for (size_t P = 0; P < panels; P++) {
                const col_mask cm = first_cols(lanes - P * NR);
                float *d = dst + P * NR * k;
                const float *sp = src + P * NR;
                for (size_t p = p0; p < p1; p++) {
                    _mm256_store_ps(d + p * NR, load_cols(sp + p * ks, &cm, 0));
                    _mm256_store_ps(d + p * NR + 8, load_cols(sp + p * ks, &cm, 1));
                }
            }
        }
        return;
    }
    pack_panels(dst, src, ls, ks, lanes, k, NR);
}

static void fence_avx2(void)
{
    _mm_sfence();
}

FZ_SGEMM_KERNEL(fz_sgemm_avx2_6x16, "sgemm_avx2_6x16", sgemm_avx2_6x16, avx2,
                .stores_transposed = true, .fence = fence_avx2);

/*
 * Internal: the AVX-512 GEMM microkernel and its packers for an MR×NR tile, written once
 * and included by each file that defines a tile (gemm_avx512.c: 6×64, the main kernel;
 * gemm_avx512_narrow.c: 14×16, for products at most 16 columns wide;
 * gemm_avx512_short.c: 14×32, reading B in place, for C of at most 14 rows).  The
 * including file defines MR and NR first, and is compiled with -mavx512f -mavx512vl
 * -mavx512bw -mavx512dq -mfma -mavx2; every function here is static, so each tile gets
 * its own.
 *
 * The tile keeps MR·NR/16 accumulators in the 32 ZMM registers; per k step NR/16 loads of
 * B and MR broadcasts of A feed MR·NR/16 FMAs.  Edge tiles use opmasks on the columns
 * (masked loads never fault on masked-off lanes, masked stores never write them) and skip
 * the rows past mr, so C is never touched outside the matrix.
 */
#if !defined(MR) || !defined(NR)
#error "define the tile, MR and NR, before including gemm_avx512_tile.h"
#endif

#include <immintrin.h>
#include <stdint.h>

#include "gemm.h"
#include "pack.h"

typedef __m512 xvec;
#define XV(op) _mm512_##op
#include "transpose_tmpl.h"

#define NV (NR / 16)   /* ZMM vectors per row of the tile */
/* How many k steps ahead the microkernel prefetches a transposed A it reads in place.
 * Zen 4, DeepBench's 1760×16×1760 TN on the narrow tile, kernel_bench CPU-time medians
 * of 12: 956 µs at 32 steps, 971 at 64 (1.09 ms at 16, on a busier machine), against
 * 1.07-1.31 ms without (oneDNN 1.32-1.33 ms in the same runs). */
#define A_AHEAD 32

_Static_assert(NR % 16 == 0 && NV >= 1 && NV <= 4, "NR is whole ZMM vectors");
_Static_assert(MR <= 16, "the transposed store puts a row of C into one vector");

static inline __mmask16 first_lanes(size_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* r[q] = column q of the 16×16 block whose rows are r[0..15]: 4×4 transposes inside the
 * 128-bit lanes, then a 4×4 transpose of the lanes themselves. */
static inline __attribute__((always_inline)) void transpose16x16(__m512 r[16])
{
    __m512 u[16];
    for (int i = 0; i < 16; i += 4)
        transpose4x4_in_lanes(r + i, u + i);
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
 * lanes that exist, `bias` the vector's bias (used when has_bias); c and mask point at
 * the vector's first element. */
static inline __attribute__((always_inline)) __m512
epilogue_vector(__m512 v, __mmask16 live, const float *c, bool has_bias, __m512 bias,
                const float *mask, const fz_tile_epilogue *e)
{
    const __m512 zero = _mm512_setzero_ps();
    if (e->alpha != 1.0f)
        v = _mm512_mul_ps(_mm512_set1_ps(e->alpha), v);
    if (e->beta != 0.0f)
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(e->beta),
                                           _mm512_maskz_loadu_ps(live, c)));
    if (has_bias)
        v = _mm512_add_ps(v, bias);
    if (e->relu)   /* max_ps(NaN, 0) and max_ps(-0, 0) are 0, as v > 0 ? v : 0 */
        v = _mm512_max_ps(v, zero);
    if (mask)
        v = _mm512_maskz_mov_ps(
            _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(live, mask), zero, _CMP_GT_OQ), v);
    return v;
}

/* The same on 8 floats (a row of the transposed tile, mr <= 8 wide). */
static inline __attribute__((always_inline)) __m256
epilogue_vector8(__m256 v, __mmask8 live, const float *c, bool has_bias, __m256 bias,
                 const float *mask, const fz_tile_epilogue *e)
{
    const __m256 zero = _mm256_setzero_ps();
    if (e->alpha != 1.0f)
        v = _mm256_mul_ps(_mm256_set1_ps(e->alpha), v);
    if (e->beta != 0.0f)
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(e->beta),
                                           _mm256_maskz_loadu_ps(live, c)));
    if (has_bias)
        v = _mm256_add_ps(v, bias);
    if (e->relu)
        v = _mm256_max_ps(v, zero);
    if (mask)
        v = _mm256_maskz_mov_ps(
            _mm256_cmp_ps_mask(_mm256_maskz_loadu_ps(live, mask), zero, _CMP_GT_OQ), v);
    return v;
}

/* The tile through the epilogue, stage by stage over the whole tile, so that each
 * stage's test is made once per tile (per vector, as epilogue_vector does it for the
 * transposed store, the compiler left five tests and branches on each of the 24
 * vectors: about 400 instructions a tile, a tenth of a KC-128 tile's k loop).  Each
 * element still goes through the reference's operations in its order.  Rows past mr
 * are never loaded or stored; `nv` is a constant at each call site, so the unused
 * vectors cost nothing. */
static inline __attribute__((always_inline)) void
store_tile(__m512 acc[MR][NV], float *c, size_t ldc, size_t mr, size_t nr, int nv,
           const fz_tile_epilogue *ep)
{
    /* A local copy: no store to C can make the compiler reload the epilogue. */
    const fz_tile_epilogue e = *ep;
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 live[NV];
    for (int v = 0; v < NV; v++)
        live[v] = first_lanes(nr > 16u * v ? nr - 16u * v : 0);
#define EACH(body)                                                \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)         \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)      \
            if (v < nv && (size_t)r < mr) { body; }
    if (e.alpha != 1.0f) {
        const __m512 alpha = _mm512_set1_ps(e.alpha);
        EACH(acc[r][v] = _mm512_mul_ps(alpha, acc[r][v]))
    }
    if (e.beta == 1.0f) {   /* a later K block: 1·C is C, bitwise */
        EACH(acc[r][v] = _mm512_add_ps(acc[r][v],
                                       _mm512_maskz_loadu_ps(live[v], c + r * ldc + 16 * v)))
    } else if (e.beta != 0.0f) {
        const __m512 beta = _mm512_set1_ps(e.beta);
        EACH(acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(
                                                      live[v], c + r * ldc + 16 * v))))
    }
    if (e.bias) {
        __m512 bias[NV];
        for (int v = 0; v < NV; v++)
            bias[v] = v < nv ? _mm512_maskz_loadu_ps(live[v], e.bias + 16 * v) : zero;
        EACH(acc[r][v] = _mm512_add_ps(acc[r][v], bias[v]))
    }
    if (e.relu)   /* max_ps(NaN, 0) and max_ps(-0, 0) are 0, as v > 0 ? v : 0 */
        EACH(acc[r][v] = _mm512_max_ps(acc[r][v], zero))
    if (e.mask)
        EACH(acc[r][v] = _mm512_maskz_mov_ps(
                 _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(live[v], e.mask + r * e.ldmask +
                                                                       16 * v),
                                    zero, _CMP_GT_OQ),
                 acc[r][v]))
    if (e.stream && nv == NV && nr == NR && !(((uintptr_t)c | ldc * sizeof(float)) & 63)) {
        /* Whole 64-byte lines: past the caches (there is no masked streaming store). */
        EACH(_mm512_stream_ps(c + r * ldc + 16 * v, acc[r][v]))
    } else {
        EACH(_mm512_mask_storeu_ps(c + r * ldc + 16 * v, live[v], acc[r][v]))
    }
#undef EACH
}

/* C's rows 16h.. of the transposed tile, for MR <= 8: the 8×16 block of tile rows (rows
 * past MR are zeros) transposed into 16 rows of 8 floats, two to a ZMM register, in 30
 * shuffles instead of a 16×16 transpose's 64 (shuffles run on one port).  C's row
 * 16h + 4L + s comes out in half L % 2 of out[2s + L / 2]. */
static inline __attribute__((always_inline)) void
transpose_8x16_to_pairs(__m512 acc[MR][NV], int h, __m512 out[8])
{
    const __m512 zero = _mm512_setzero_ps();
    __m512 a[8], u[8];
    for (int r = 0; r < 8; r++)
        a[r] = r < MR ? acc[r < MR ? r : 0][h] : zero;
    transpose4x4_in_lanes(a, u);
    transpose4x4_in_lanes(a + 4, u + 4);
    /* u[4R + s], 128-bit lane L: column 4L + s of rows 4R..4R+3; a column's 8 rows are
     * lane L of u[s] then lane L of u[4 + s]. */
    const __m512i lanes01 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19,
                                              4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i lanes23 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27,
                                              12, 13, 14, 15, 28, 29, 30, 31);
    for (int s = 0; s < 4; s++) {
        out[2 * s] = _mm512_permutex2var_ps(u[s], lanes01, u[4 + s]);
        out[2 * s + 1] = _mm512_permutex2var_ps(u[s], lanes23, u[4 + s]);
    }
}

/* The tile as Cᵀ (fz_tile_epilogue.transposed): tile row r is C's column r, lane l of
 * vector h is C's row 16h + l.  Transposes turn the lanes back into C's rows, each mr
 * floats wide, which then go through the epilogue; bias and mask are read along C's
 * rows. */
static inline __attribute__((always_inline)) void
store_tile_transposed(__m512 acc[MR][NV], float *c, size_t ldc, size_t mr, size_t nr,
                      int nv, const fz_tile_epilogue *ep)
{
    const fz_tile_epilogue e = *ep;
    if (mr == 1 && ldc == 1 && (!e.mask || e.ldmask == 1)) {
        /* C is one contiguous column (a layer of one output): the tile's row is C's
         * column as it lies, no transpose needed. */
        const __m512 bias = e.bias ? _mm512_set1_ps(*e.bias) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int h = 0; h < nv; h++) {
            __mmask16 live = first_lanes(nr > 16u * h ? nr - 16u * h : 0);
            _mm512_mask_storeu_ps(c + 16 * h, live,
                                  epilogue_vector(acc[0][h], live, c + 16 * h, e.bias, bias,
                                                  e.mask ? e.mask + 16 * h : NULL, &e));
        }
        return;
    }
    if (MR <= 8) {
        const __mmask8 live = (__mmask8)first_lanes(mr);
        const __m256 bias = e.bias ? _mm256_maskz_loadu_ps(live, e.bias)
                                   : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int h = 0; h < nv; h++) {
            __m512 pairs[8];
            transpose_8x16_to_pairs(acc, h, pairs);
#pragma GCC unroll 16
            for (int l = 0; l < 16; l++) {
                size_t i = 16u * h + l;
                if (i >= nr)
                    continue;
                int s = l % 4, L = l / 4;
                __m512 pair = pairs[2 * s + L / 2];
                __m256 row = L % 2 ? _mm512_extractf32x8_ps(pair, 1)
                                   : _mm512_castps512_ps256(pair);
                float *ci = c + i * ldc;
                const float *mask = e.mask ? e.mask + i * e.ldmask : NULL;
                _mm256_mask_storeu_ps(ci, live,
                                      epilogue_vector8(row, live, ci, e.bias, bias, mask, &e));
            }
        }
        return;
    }
    const __mmask16 live = first_lanes(mr);
    const __m512 bias = e.bias ? _mm512_maskz_loadu_ps(live, e.bias) : _mm512_setzero_ps();
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
            const float *mask = e.mask ? e.mask + i * e.ldmask : NULL;
            _mm512_mask_storeu_ps(ci, live,
                                  epilogue_vector(row[l], live, ci, e.bias, bias, mask, &e));
        }
    }
}

/* The microkernel body; always inlined so that each call site gets the strides, the
 * live vector count, the row count and the store as constants.  `rows` (mr <= rows <=
 * MR) rows of A are read and computed: MR, except in a packed edge tile (packed_rows)
 * and the short kernel (gemm_avx512_short.c), which computes exactly mr.  B is a packed
 * panel (b_in_place false: NR floats a k step) or the caller's op(B) itself, its rows
 * ldb apart, read with the columns past nr masked off (a masked load never faults), so
 * nothing past the matrix is touched.  With
 * `spread`, ep's prefetch list is fetched across the k loop (prefetch_spread); without,
 * the loop carries no test for it. */
static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb,
         float *c, size_t ldc, size_t mr, size_t nr, const fz_tile_epilogue *ep,
         bool packed, int nv, bool transposed, int rows, bool b_in_place,
         bool fetch_a_ahead, bool spread)
{
    /* A packed panel is zero padded to MR rows; in the caller's matrix, rows past mr
     * repeat the last real row instead: never outside A, and never stored. */
    size_t last = packed ? MR - 1 : mr - 1;
    const float *ar[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
        ar[r] = a + ((size_t)r < last ? (size_t)r : last) * rsa;
    /* The tile of C is written at the end: start fetching its lines now (the small
     * path's C is already in L1; there it would only cost instructions; a streamed
     * tile is not read). */
    if (packed && !ep->stream)
        for (size_t r = 0; r < mr; r++)
            for (int v = 0; v < NV; v++)
                _mm_prefetch((const char *)(c + r * ldc + 16 * v), _MM_HINT_T0);

    __mmask16 live[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
        live[v] = first_lanes(nr > 16u * v ? nr - 16u * v : 0);
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();

    size_t o = 0;
    size_t b_step = b_in_place ? ldb : NR;
    prefetch_spread pf = prefetch_spread_start(ep, k);
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++, o += csa, b += b_step) {
        if (spread)
            prefetch_spread_step(&pf, p);
        if (fetch_a_ahead) {
            /* A transposed, where it lies: each k step's rows are one line or two of a
             * new row of A, and with KC rows in flight the hardware prefetchers lose
             * track (DeepBench's 1760×16×1760 TN); fetch both lines ahead. */
            _mm_prefetch((const char *)(ar[0] + o + A_AHEAD * csa), _MM_HINT_T0);
            _mm_prefetch((const char *)(ar[MR - 1] + o + A_AHEAD * csa), _MM_HINT_T0);
        }
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = v >= nv ? _mm512_setzero_ps()
                    : b_in_place ? _mm512_maskz_loadu_ps(live[v], b + 16 * v)
                                 : _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
            if (r >= rows)
                break;
            __m512 x = _mm512_set1_ps(ar[r][o]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                if (v < nv)
                    acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }

    if (spread)
        prefetch_spread_finish(&pf);
    if (transposed)
        store_tile_transposed(acc, c, ldc, mr, nr, nv, ep);
    else
        store_tile(acc, c, ldc, mr, nr, nv, ep);
}

/* The B vectors the microkernel reads for a tile nr columns wide: the edge tiles of the
 * small path (nearly all of its tiles) and of C's last panel compute only the vectors
 * they have, in three variants; the packer writes just as many. */
static inline int vectors_read(size_t nr)
{
    return nr <= 16 ? 1 : NV > 2 && nr <= 32 ? 2 : NV;
}

/* The rows a packed tile computes (packed_edge_rows, gemm.h), for the tiles with every
 * vector of B, where nearly all the work is; a narrower edge keeps its three variants.
 * Zen 4, one thread, fz_sgemm 64×512×512 NT 3.4% faster in three alternating runs, the
 * fine-tuning step 2% (ab_builds, each order). */
static inline int packed_rows(size_t mr, size_t nr)
{
    return vectors_read(nr) == NV ? packed_edge_rows(mr, MR) : MR;
}

static void sgemm_avx512_ukr(size_t k, const float *a, size_t rsa, size_t csa,
                             const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                             const fz_tile_epilogue *ep)
{
/* One call per variant, so that each gets its vector count (and row count) as a
 * constant; B is a packed panel (NR floats a k step) or, with `in_place`, the caller's
 * op(B), ep->ldb apart. */
#define BODY(packed, nv, transposed, rows, in_place, ahead, spread)                      \
    ukr_body(k, a, rsa, csa, b, in_place ? ep->ldb : NR, c, ldc, mr, nr, ep, packed, nv, \
             transposed, rows, in_place, ahead, spread)
#define BY_VECTORS(packed, transposed, ahead, spread, in_place)                          \
    switch (vectors_read(nr)) {                                                         \
    case 1: BODY(packed, 1, transposed, MR, in_place, ahead, spread); break;             \
    case 2: BODY(packed, 2, transposed, MR, in_place, ahead, spread); break;             \
    default: BODY(packed, NV, transposed, MR, in_place, ahead, spread);                  \
    }
#define PACKED(spread, in_place)                                                        \
    switch (packed_rows(mr, nr)) {                                                      \
    case 2: BODY(true, NV, false, 2, in_place, false, spread); break;                    \
    case 4: BODY(true, NV, false, 4, in_place, false, spread); break;                    \
    default: BY_VECTORS(true, false, false, spread, in_place)                            \
    }
    if (ep->transposed) {   /* the small path's tall, narrow products, as Cᵀ */
        BY_VECTORS(false, true, false, false, false)
    } else if (ep->a_packed) {
        rsa = 1;    /* constants for the packed panel's addressing */
        csa = MR;
        /* B where it lies (b_in_place_rows), or packed; only the blocked path's tiles
         * carry a prefetch list (a tile hook's), and those read B packed. */
        if (ep->ldb)
            PACKED(false, true)
        else if (ep->n_prefetch)
            PACKED(true, false)
        else
            PACKED(false, false)
    } else if (rsa == 1 && k > 1) {   /* A transposed, where it lies */
        BY_VECTORS(false, false, true, false, false)
    } else {
        BY_VECTORS(false, false, false, false, false)
    }
#undef PACKED
#undef BY_VECTORS
#undef BODY
}

/* Contiguous lanes into panels of at most 8 lanes: A's MR-row panels from a transposed
 * A, the wgrad's dYᵀ, whose depth steps are the batch's rows, a layer's width apart.
 * Packed panel by panel, each panel read one line of every row: with rows 4 KiB apart
 * (a 1024-wide layer) all those lines fall into one set of the L1 and a few of the L2,
 * which hold too few of them for the next panel, so every step went back to the L3; it
 * took 6% of the 1024×1024×256 wgrad.  Here NARROW_PACK_STEPS rows (as many lines a set
 * as the L1 has ways) are read across all the panels before the next rows.  Each copy is
 * a plain 8-float load and store: the store spills 8 - W floats into the next depth
 * step's place in the same panel, written after it; only a panel's last step, whose
 * spill would land in the next panel, and a load past the last lane use opmasks. */
static inline __attribute__((always_inline)) void
pack_narrow_panels_avx512(float *dst, const float *src, size_t ks, size_t lanes, size_t k,
                          size_t W)
{
    size_t panels = (lanes + W - 1) / W;
    size_t whole = narrow_panels_read_whole(lanes, W);
    const __mmask8 panel_lanes = (__mmask8)first_lanes(W);
    for (size_t p0 = 0; p0 < k; p0 += NARROW_PACK_STEPS) {
        size_t p1 = k - p0 < NARROW_PACK_STEPS ? k : p0 + NARROW_PACK_STEPS;
        for (size_t P = 0; P < panels; P++) {
            size_t l0 = P * W;
            const __mmask8 live = (__mmask8)first_lanes(lanes - l0 < W ? lanes - l0 : W);
            float *d = dst + P * W * k;
            for (size_t p = p0; p < p1; p++) {
                const float *s = src + l0 + p * ks;
                __m256 v = P < whole ? _mm256_loadu_ps(s) : _mm256_maskz_loadu_ps(live, s);
                if (p + 1 < k)
                    _mm256_storeu_ps(d + p * W, v);
                else
                    _mm256_mask_storeu_ps(d + p * W, panel_lanes, v);
            }
        }
    }
}

/* Lanes [0, lanes) of depth k into panels W lanes wide (see fz_sgemm_pack), 16 lanes at
 * a time with opmasks for the lane and depth tails; the padding lanes are written as
 * zeros by the masked-off loads.  A B panel (W == NR) is written only as far as the
 * microkernel reads it (vectors_read): padding the seed network's 5-column panels out
 * to 64 floats a depth step cost more than the product. */
static inline __attribute__((always_inline)) void
pack_panels_avx512(float *dst, const float *src, size_t ls, size_t ks, size_t lanes,
                   size_t k, size_t W)
{
    if (ls == 1 && W <= 8) {
        pack_narrow_panels_avx512(dst, src, ks, lanes, k, W);
        return;
    }
    if (ls == 1) {
        /* Lanes contiguous (A transposed, B not): one masked load per depth step and
         * 16 lanes. */
        for (size_t l0 = 0; l0 < lanes; l0 += W, dst += W * k) {
            size_t w = lanes - l0 < W ? lanes - l0 : W;
            size_t span = W == NR ? 16u * vectors_read(w) : W;
            for (size_t p = 0; p < k; p++)
                for (size_t g = 0; g < span; g += 16) {
                    __m512 v = g < w ? _mm512_maskz_loadu_ps(first_lanes(w - g),
                                                             src + l0 + g + p * ks)
                                     : _mm512_setzero_ps();
                    _mm512_mask_storeu_ps(dst + p * W + g, first_lanes(W - g), v);
                }
        }
        return;
    }
    if (ks != 1) {   /* neither lanes nor depth contiguous: not a layout the library uses */
        pack_panels(dst, src, ls, ks, lanes, k, W);
        return;
    }
    /* Depth contiguous (A not transposed, B transposed): blocks of 16 lanes by 16 depth
     * steps through a register transpose; missing lanes are rows of zeros, the depth
     * tail a masked load. */
    for (size_t l0 = 0; l0 < lanes; l0 += W, dst += W * k) {
        size_t w = lanes - l0 < W ? lanes - l0 : W;
        size_t span = W == NR ? 16u * vectors_read(w) : W;
        for (size_t g = 0; g < span; g += 16) {
            size_t rows = w > g ? (w - g < 16 ? w - g : 16) : 0;
            __mmask16 room = first_lanes(W - g);
            if (!rows) {   /* a vector of padding only */
                for (size_t p = 0; p < k; p++)
                    _mm512_mask_storeu_ps(dst + p * W + g, room, _mm512_setzero_ps());
                continue;
            }
            for (size_t p = 0; p < k; p += 16) {
                __mmask16 depth = first_lanes(k - p);
                __m512 r[16];
                for (size_t q = 0; q < 16; q++) {
                    const float *lane = src + (l0 + g + q) * ls + p;
                    r[q] = q < rows ? _mm512_maskz_loadu_ps(depth, lane) : _mm512_setzero_ps();
                }
                transpose16x16(r);
                size_t steps = k - p < 16 ? k - p : 16;
                for (size_t q = 0; q < steps; q++)
                    _mm512_mask_storeu_ps(dst + (p + q) * W + g, room, r[q]);
            }
        }
    }
}

FZ_PACKERS_FROM_PANELS(avx512, pack_panels_avx512)

static void fence_avx512(void)
{
    _mm_sfence();
}

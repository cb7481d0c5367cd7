/*
 * The AVX-512 table: ReLU, bias gradient and SGD over whole 16-float vectors, the tail
 * in one more vector under an opmask (masked loads never fault on masked-off lanes,
 * masked stores never write them), and the GEMM through the shared loop nest with the
 * AVX-512 microkernel.
 *
 * These loops are memory-bound, so they keep the scalar reference's arithmetic exactly
 * (separate multiply and add, the same summation order): their results are bitwise the
 * reference's, which the tests check.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "cpu.h"
#include "gemm.h"
#include "elementwise.h"

#define VL 16

/* The lanes of the vector at element i that lie below n. */
static inline __mmask16 lanes_below(size_t n, size_t i)
{
    return n - i >= VL ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
}

static void relu_fwd_avx512(float *y, const float *x, size_t n, fz_counter *flops)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += VL) {   /* max_ps(NaN, 0) is 0, as the reference */
        __mmask16 live = lanes_below(n, i);
        _mm512_mask_storeu_ps(y + i, live, _mm512_max_ps(_mm512_maskz_loadu_ps(live, x + i),
                                                         zero));
    }
    fz_counter_add(flops, n);
}

static void relu_bwd_avx512(float *dx, const float *dy, const float *y, size_t n,
                            fz_counter *flops)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += VL) {
        __mmask16 live = lanes_below(n, i);
        __mmask16 pass = _mm512_mask_cmp_ps_mask(live, _mm512_maskz_loadu_ps(live, y + i),
                                                 zero, _CMP_GT_OQ);
        /* Lanes that exist but do not pass get 0; lanes past n are not written. */
        _mm512_mask_storeu_ps(dx + i, live, _mm512_maskz_loadu_ps(pass, dy + i));
    }
    fz_counter_add(flops, n);
}

/* Columns are summed in strips of 64 (four accumulators) down all rows, so each column
 * still adds its rows in ascending order. */
static void colsum_avx512(float *db, const float *dy, size_t m, size_t n, size_t ld,
                          fz_counter *flops)
{
    size_t j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
        for (size_t i = 0; i < m; i++) {
            const float *r = dy + i * ld + j;
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(r));
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(r + VL));
            s2 = _mm512_add_ps(s2, _mm512_loadu_ps(r + 2 * VL));
            s3 = _mm512_add_ps(s3, _mm512_loadu_ps(r + 3 * VL));
        }
        _mm512_storeu_ps(db + j, s0);
        _mm512_storeu_ps(db + j + VL, s1);
        _mm512_storeu_ps(db + j + 2 * VL, s2);
        _mm512_storeu_ps(db + j + 3 * VL, s3);
    }
    for (; j < n; j += VL) {   /* the last columns, the final vector masked */
        __mmask16 live = lanes_below(n, j);
        __m512 s = _mm512_setzero_ps();
        for (size_t i = 0; i < m; i++)
            s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(live, dy + i * ld + j));
        _mm512_mask_storeu_ps(db + j, live, s);
    }
    fz_counter_add(flops, (uint64_t)m * n);
}

/* The reference's roundings in its order: d = g + (wd·p); buf = (momentum·buf) + d;
 * p = p - (lr·d), each product rounded before its sum. */
static void sgd_avx512(float *p, const float *g, float *buf, size_t n, float lr,
                       float momentum, float wd, fz_counter *flops)
{
    const __m512 vlr = _mm512_set1_ps(lr), vmom = _mm512_set1_ps(momentum),
                 vwd = _mm512_set1_ps(wd);
    const bool decay = wd != 0.0f;
    for (size_t i = 0; i < n; i += VL) {
        __mmask16 live = lanes_below(n, i);
        __m512 vp = _mm512_maskz_loadu_ps(live, p + i);
        __m512 d = _mm512_maskz_loadu_ps(live, g + i);
        if (decay)
            d = _mm512_add_ps(d, _mm512_mul_ps(vwd, vp));
        if (buf) {
            d = _mm512_add_ps(_mm512_mul_ps(vmom, _mm512_maskz_loadu_ps(live, buf + i)), d);
            _mm512_mask_storeu_ps(buf + i, live, d);
        }
        _mm512_mask_storeu_ps(p + i, live, _mm512_sub_ps(vp, _mm512_mul_ps(vlr, d)));
    }
    fz_counter_add(flops, sgd_flops(n, buf, wd));
}

/* Streaming stores need 64-byte aligned addresses: a masked head up to dst's next line,
 * whole lines streamed, a masked tail; then a fence, since streaming stores are weakly
 * ordered and another thread may read the copy after the team's barrier. */
static void copy_aside_avx512(float *dst, const float *src, size_t n)
{
    if (n < FZ_STREAM_MIN_FLOATS) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    size_t head = (size_t)(-(uintptr_t)dst & 63) / sizeof(float);
    if (head > n)
        head = n;
    if (head) {
        __mmask16 live = (__mmask16)((1u << head) - 1);
        _mm512_mask_storeu_ps(dst, live, _mm512_maskz_loadu_ps(live, src));
    }
    size_t i = head;
    for (; i + VL <= n; i += VL)
        _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
        __mmask16 live = lanes_below(n, i);
        _mm512_mask_storeu_ps(dst + i, live, _mm512_maskz_loadu_ps(live, src + i));
    }
    _mm_sfence();
}

FZ_ISA_TABLE(avx512, fz_sgemm_avx512);

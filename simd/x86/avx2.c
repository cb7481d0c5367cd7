/*
 * The AVX2 table: ReLU, bias gradient and SGD over whole 8-float vectors with a marked
 * tail (scalar; masked loads for the bias gradient, whose narrow layers are all tail),
 * and the GEMM through the shared loop nest with the 6×16 microkernel.
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

#define VL 8

static void relu_fwd_avx2(float *y, const float *x, size_t n, fz_counter *flops)
{
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + VL <= n; i += VL)   /* max_ps(NaN, 0) is 0, as the reference */
        _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), zero));
    for (; i < n; i++)   /* tail */
        y[i] = relu_fwd_elem(x[i]);
    fz_counter_add(flops, n);
}

static void relu_bwd_avx2(float *dx, const float *dy, const float *y, size_t n,
                          fz_counter *flops)
{
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        __m256 pass = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, _mm256_and_ps(pass, _mm256_loadu_ps(dy + i)));
    }
    for (; i < n; i++)   /* tail */
        dx[i] = relu_bwd_elem(dy[i], y[i]);
    fz_counter_add(flops, n);
}

/* Columns are summed in strips of 32 (four accumulators) down all rows, so each column
 * still adds its rows in ascending order. */
static void colsum_avx2(float *db, const float *dy, size_t m, size_t n, size_t ld,
                        fz_counter *flops)
{
    size_t j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        for (size_t i = 0; i < m; i++) {
            const float *r = dy + i * ld + j;
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(r));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(r + VL));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(r + 2 * VL));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(r + 3 * VL));
        }
        _mm256_storeu_ps(db + j, s0);
        _mm256_storeu_ps(db + j + VL, s1);
        _mm256_storeu_ps(db + j + 2 * VL, s2);
        _mm256_storeu_ps(db + j + 3 * VL, s3);
    }
    for (; j + VL <= n; j += VL) {
        __m256 s = _mm256_setzero_ps();
        for (size_t i = 0; i < m; i++)
            s = _mm256_add_ps(s, _mm256_loadu_ps(dy + i * ld + j));
        _mm256_storeu_ps(db + j, s);
    }
    if (j < n) {   /* tail: the last n - j < 8 columns, by masked loads */
        __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - j)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 s = _mm256_setzero_ps();
        for (size_t i = 0; i < m; i++)
            s = _mm256_add_ps(s, _mm256_maskload_ps(dy + i * ld + j, live));
        float sum[VL];
        _mm256_storeu_ps(sum, s);
        for (size_t t = 0; j + t < n; t++)
            db[j + t] = sum[t];
    }
    fz_counter_add(flops, (uint64_t)m * n);
}

static void sgd_avx2(float *p, const float *g, float *buf, size_t n, float lr,
                     float momentum, float wd, fz_counter *flops)
{
    const __m256 vlr = _mm256_set1_ps(lr), vmom = _mm256_set1_ps(momentum),
                 vwd = _mm256_set1_ps(wd);
    const bool decay = wd != 0.0f;
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        __m256 vp = _mm256_loadu_ps(p + i), d = _mm256_loadu_ps(g + i);
        if (decay)
            d = _mm256_add_ps(d, _mm256_mul_ps(vwd, vp));
        if (buf) {
            d = _mm256_add_ps(_mm256_mul_ps(vmom, _mm256_loadu_ps(buf + i)), d);
            _mm256_storeu_ps(buf + i, d);
        }
        _mm256_storeu_ps(p + i, _mm256_sub_ps(vp, _mm256_mul_ps(vlr, d)));
    }
    for (; i < n; i++)   /* tail */
        sgd_elem(p, g, buf, i, lr, momentum, wd);
    fz_counter_add(flops, sgd_flops(n, buf, wd));
}

/* Streaming stores need 32-byte aligned addresses: a plain head up to dst's next
 * boundary, whole vectors streamed, a plain tail; then a fence, since streaming stores
 * are weakly ordered and another thread may read the copy after the team's barrier. */
static void copy_aside_avx2(float *dst, const float *src, size_t n)
{
    if (n < FZ_STREAM_MIN_FLOATS) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    size_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 31); i++)
        dst[i] = src[i];
    for (; i + VL <= n; i += VL)
        _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    for (; i < n; i++)
        dst[i] = src[i];
    _mm_sfence();
}

FZ_ISA_TABLE(avx2, fz_sgemm_avx2_6x16);

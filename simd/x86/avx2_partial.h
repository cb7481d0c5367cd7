/*
 * Internal: the first lanes of an AVX2 vector, for the tails and edge tiles of the AVX2
 * files (avx2.c, gemm_avx2.c): loaded by masked loads, which never fault on masked-off
 * lanes, and stored in pieces, because masked stores are slow on AMD (tens of cycles
 * each) and the tiny products of small networks are nearly all edge tiles.
 */
#ifndef FZ_SIMD_X86_AVX2_PARTIAL_H
#define FZ_SIMD_X86_AVX2_PARTIAL_H

#include <immintrin.h>
#include <stddef.h>

/* The maskload mask of lanes [0, n), n <= 8. */
static inline __m256i avx2_first_lanes(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The first n (< 8) floats at p, the other lanes zero. */
static inline __m256 avx2_load_first(const float *p, size_t n)
{
    return _mm256_maskload_ps(p, avx2_first_lanes(n));
}

/* The first n (< 8) floats of v to p, in pieces of 4, 2 and 1. */
static inline void avx2_store_first(float *p, __m256 v, size_t n)
{
    __m128 x = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(p, x);
        x = _mm256_extractf128_ps(v, 1);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)p, x);
        x = _mm_movehl_ps(x, x);
        p += 2;
        n -= 2;
    }
    if (n)
        _mm_store_ss(p, x);
}

#endif

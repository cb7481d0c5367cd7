/* The AVX2+FMA peak probe; this file alone is compiled with -mavx2 -mfma and only called
 * after fz_cpu_has_avx2_fma() said yes. */
#include <immintrin.h>

#include "probes.h"

uint64_t fzb_fma_loop_avx2(uint64_t rounds)
{
    /* 12 accumulators cover the FMA latency (4-5 cycles) × 2 FMA ports of current cores. */
    __m256 acc[12];
    for (int i = 0; i < 12; i++)
        acc[i] = _mm256_set1_ps((float)i);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, acc[i]);
    volatile float sink = _mm256_cvtss_f32(s);   /* keeps the loop from being dropped */
    (void)sink;
    return rounds * 12 * 8 * 2;
}

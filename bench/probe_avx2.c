/* The AVX2+FMA peak probe; this file alone is compiled with -mavx2 -mfma and only called
 * after fz_cpu_has_avx2_fma() said yes. */
#include <immintrin.h>

#include "probes.h"

/* Independent accumulators: each FMA waits for its own chain's previous one (4-5
 * cycles), so keeping two FMA ports busy needs 8-10 chains in flight; 10 measured 17%
 * under 12 on some cores.  14 chains and the two constants fill the 16 YMM registers
 * exactly, so nothing spills. */
enum { CHAINS = 14 };

uint64_t fzb_fma_loop_avx2(uint64_t rounds)
{
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (uint64_t r = 0; r < rounds; r++) {
        /* Unrolled whatever the optimisation level: a loop over acc[] in memory would
         * measure store forwarding, not the FMA units. */
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm256_add_ps(s, acc[i]);
    volatile float sink = _mm256_cvtss_f32(s);   /* keeps the loop from being dropped */
    (void)sink;
    return rounds * CHAINS * 8 * 2;
}

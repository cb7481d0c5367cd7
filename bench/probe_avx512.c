/* The AVX-512F peak probe; this file alone is compiled with -mavx512f and only called
 * after the CPU and the OS were seen to support ZMM registers (probes.c checks CPUID and
 * XCR0).  On cores with two 512-bit FMA units it measures twice the AVX2 loop's FLOPs
 * per cycle; with one unit (or a lower AVX-512 clock) the gap is smaller. */
#include <immintrin.h>

#include "probes.h"

/* 16 chains: two FMA ports × 4-cycle latency need 8 in flight, the rest is margin for
 * cores with longer 512-bit latency; 16 + 2 constants leave 14 of the 32 ZMM registers
 * free, so nothing spills. */
enum { CHAINS = 16 };

uint64_t fzb_fma_loop_avx512(uint64_t rounds)
{
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (uint64_t r = 0; r < rounds; r++) {
        /* Unrolled whatever the optimisation level: accumulators must stay in registers. */
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s);   /* keeps the loop from being dropped */
    (void)sink;
    return rounds * CHAINS * 16 * 2;
}

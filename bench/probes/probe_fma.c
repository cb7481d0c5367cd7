/* The FMA peak probe of one x86 vector width.  bench/meson.build compiles this file once
 * per width, alone with that width's -m flags and FZB_PROBE_AVX2 or FZB_PROBE_AVX512, so
 * each loop exists only in an object that probes.c calls after it saw the CPU (and, for
 * AVX-512, the OS's saved ZMM state: CPUID and XCR0) support it.  One loop shape for
 * both widths: on cores with two 512-bit FMA units the AVX-512 loop measures twice the
 * AVX2 loop's FLOPs per cycle, with one unit (or a lower AVX-512 clock) less. */
#include <immintrin.h>

#include "probes.h"

/* Independent accumulators: each FMA waits for its own chain's previous one (4-5
 * cycles), so keeping two FMA ports busy needs 8-10 chains in flight. */
#if defined(FZB_PROBE_AVX512)
/* 16 chains leave margin for cores with longer 512-bit latency; 16 + 2 constants use 18
 * of the 32 ZMM registers, so nothing spills. */
enum { CHAINS = 16, LANES = 16 };
typedef __m512 vec;
#define VEC_SET1 _mm512_set1_ps
#define VEC_FMADD _mm512_fmadd_ps
#define VEC_ADD _mm512_add_ps
#define VEC_SUM _mm512_reduce_add_ps
#define FMA_LOOP fzb_fma_loop_avx512
#elif defined(FZB_PROBE_AVX2)
/* 10 chains measured 17% under 12 on some cores; 14 chains and the two constants fill
 * the 16 YMM registers exactly, so nothing spills. */
enum { CHAINS = 14, LANES = 8 };
typedef __m256 vec;
#define VEC_SET1 _mm256_set1_ps
#define VEC_FMADD _mm256_fmadd_ps
#define VEC_ADD _mm256_add_ps
#define VEC_SUM _mm256_cvtss_f32   /* one lane depends on every chain all the same */
#define FMA_LOOP fzb_fma_loop_avx2
#else
#error "compile with FZB_PROBE_AVX2 or FZB_PROBE_AVX512 (bench/meson.build does)"
#endif

uint64_t FMA_LOOP(uint64_t rounds)
{
    vec acc[CHAINS];
    for (int i = 0; i < CHAINS; i++)
        acc[i] = VEC_SET1((float)i);
    const vec a = VEC_SET1(0.999999f), b = VEC_SET1(1e-7f);
    for (uint64_t r = 0; r < rounds; r++) {
        /* Unrolled whatever the optimisation level: a loop over acc[] in memory would
         * measure store forwarding, not the FMA units. */
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = VEC_FMADD(acc[i], a, b);
    }
    vec s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = VEC_ADD(s, acc[i]);
    volatile float sink = VEC_SUM(s);   /* keeps the loop from being dropped */
    (void)sink;
    return rounds * CHAINS * LANES * 2;
}

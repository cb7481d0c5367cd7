/* CPU feature detection and the per-ISA tables, as far as this build has them. */
#ifndef FZ_SIMD_CPU_H
#define FZ_SIMD_CPU_H

#include <stdbool.h>
#include "kernels.h"

#ifndef FZ_HAVE_AVX2
#define FZ_HAVE_AVX2 0
#endif
#ifndef FZ_HAVE_AVX512
#define FZ_HAVE_AVX512 0
#endif
#ifndef FZ_HAVE_NEON
#define FZ_HAVE_NEON 0
#endif

/* True when the CPU executes AVX2 and FMA and the OS saves the YMM state (XCR0). */
bool fz_cpu_has_avx2_fma(void);
/* True when the CPU executes AVX-512 F, VL, BW and DQ (and AVX2+FMA) and the OS saves the
 * opmask and all ZMM state (XCR0 bits 1, 2, 5, 6, 7). */
bool fz_cpu_has_avx512(void);
/* True on AMD family 19h (Zen 3 and Zen 4), whose AVX-512 (Zen 4) runs each 512-bit
 * operation as two 256-bit halves. */
bool fz_cpu_is_amd_family_19h(void);
/* True when the CPU executes Advanced SIMD (always on aarch64 Linux; checked in hwcaps). */
bool fz_cpu_has_neon(void);

#if FZ_HAVE_AVX2
const fz_kernels *fz_kernels_avx2(void);
#endif
#if FZ_HAVE_AVX512
const fz_kernels *fz_kernels_avx512(void);
#endif
#if FZ_HAVE_NEON
const fz_kernels *fz_kernels_neon(void);
#endif

#endif

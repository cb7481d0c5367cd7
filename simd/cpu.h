/* CPU feature detection and each ISA's table init, as far as this build has them. */
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

/* Each ISA's init upgrades the entries of a table that the ISA below it filled (the
 * scalar reference first): dav1d's pattern, so adding an ISA is one init function, its
 * files and one step in fz_kernels_init_for_flags. */
void fz_kernels_init_scalar(fz_kernels *t);
#if FZ_HAVE_AVX2
void fz_kernels_init_avx2(fz_kernels *t);
#endif
#if FZ_HAVE_AVX512
void fz_kernels_init_avx512(fz_kernels *t);
#endif
#if FZ_HAVE_NEON
void fz_kernels_init_neon(fz_kernels *t);
#endif

#endif

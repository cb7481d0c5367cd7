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
bool cpu_has_avx2_fma(void);
/* True when the CPU executes AVX-512 F, VL, BW and DQ (and AVX2+FMA) and the OS saves the
 * opmask and all ZMM state (XCR0 bits 1, 2, 5, 6, 7). */
bool cpu_has_avx512(void);
/* True when the CPU executes Advanced SIMD (always on aarch64 Linux; checked in hwcaps). */
bool cpu_has_neon(void);
/* Whether streaming C's stores past the caches (fz_tile_epilogue.stream) can pay on this
 * CPU: false only where measured to lose, AMD Zen 3 and Zen 3+ as uarch.h's table names
 * them, on which the GEMM's streamed tiles ran 1.2-1.5x slower than cached ones, C cold
 * or warm (DESIGN.md, "Tuned constants"); true elsewhere, and where the table has no
 * name for the CPU. */
bool cpu_streaming_stores_pay(void);
/* The same rule on a microarchitecture's name from uarch.h (NULL: unknown), so it is
 * tested on every CPU, not only on the one the tests run on. */
bool cpu_streaming_stores_pay_on(const char *uarch);

/* Each ISA's table replaces the one of the ISA below it (the scalar reference first)
 * once the CPU is known to run it: dav1d's pattern, so adding an ISA is one table, its
 * files and one step in kernels_init_for_flags.  The tables are constant data
 * because their files are compiled with the ISA's -m flags: any code there, even code
 * that only stores pointers, may use the ISA's instructions (GCC stores a table's
 * fields with VEX moves under -mavx2), and must not run on a CPU without it. */
void kernels_init_scalar(fz_kernels *t);
#if FZ_HAVE_AVX2
extern const fz_kernels fz_kernels_avx2_table;
#endif
#if FZ_HAVE_AVX512
extern const fz_kernels fz_kernels_avx512_table;
#endif
#if FZ_HAVE_NEON
extern const fz_kernels fz_kernels_neon_table;
#endif

#endif

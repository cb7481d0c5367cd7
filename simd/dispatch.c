/*
 * Run-time choice of the kernel table, made once per process.
 *
 * The table starts as the scalar reference and is upgraded one CPU feature at a time,
 * returning early when a feature is missing (dav1d style).  FREEZEBENCH_ISA forces a
 * path; asking for one this CPU or build cannot run is reported and ignored.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "cpu.h"
#include "gemm.h"
#include "../src/error.h"

static const fz_kernels *active;
static fz_status active_status = FZ_OK;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

const fz_kernels *fz_kernels_for(const char *isa)
{
    if (!isa)
        return NULL;
    if (!strcmp(isa, "scalar"))
        return fz_kernels_scalar();
#if FZ_HAVE_AVX2
    if (!strcmp(isa, "avx2"))
        return fz_cpu_has_avx2_fma() ? fz_kernels_avx2() : NULL;
#endif
#if FZ_HAVE_AVX512
    if (!strcmp(isa, "avx512"))
        return fz_cpu_has_avx512() ? fz_kernels_avx512() : NULL;
#endif
#if FZ_HAVE_NEON
    if (!strcmp(isa, "neon"))
        return fz_cpu_has_neon() ? fz_kernels_neon() : NULL;
#endif
    return NULL;
}

const fz_sgemm_kernel *fz_sgemm_kernel_for(const char *isa)
{
    if (!fz_kernels_for(isa))   /* not built, or this CPU lacks it */
        return NULL;
#if FZ_HAVE_AVX2
    if (!strcmp(isa, "avx2"))
        return &fz_sgemm_avx2_6x16;
#endif
#if FZ_HAVE_AVX512
    if (!strcmp(isa, "avx512"))
        return &fz_sgemm_avx512;
#endif
#if FZ_HAVE_NEON
    if (!strcmp(isa, "neon"))
        return &fz_sgemm_neon_8x12;
#endif
    return NULL;
}

/* Whether a CPU with AVX-512 should run it by default rather than AVX2.  Zen 4 (AMD
 * family 19h) executes each 512-bit operation as two 256-bit halves, so there AVX-512
 * buys fewer instructions, opmask tails and 32 registers, not FMA throughput.  Not yet
 * measured on Zen 4, so it is the default there too; should AVX2 measure faster, return
 * !fz_cpu_is_amd_family_19h() here (fz_kernels_for("avx512") still reaches it). */
static bool avx512_is_default(void)
{
    return true;
}

static const fz_kernels *best_available(void)
{
    const fz_kernels *k = fz_kernels_scalar();
#if FZ_HAVE_AVX2
    if (!fz_cpu_has_avx2_fma())
        return k;
    k = fz_kernels_avx2();
#endif
#if FZ_HAVE_AVX512
    if (!fz_cpu_has_avx512() || !avx512_is_default())
        return k;
    k = fz_kernels_avx512();
#endif
#if FZ_HAVE_NEON
    if (!fz_cpu_has_neon())
        return k;
    k = fz_kernels_neon();
#endif
    return k;
}

static void choose(void)
{
    active = best_available();
    const char *forced = getenv("FREEZEBENCH_ISA");
    if (!forced || !*forced)
        return;
    const fz_kernels *k = fz_kernels_for(forced);
    if (k) {
        active = k;
        return;
    }
    active_status = FZ_EINVAL;
    fprintf(stderr, "freezebench: FREEZEBENCH_ISA=%s cannot run here (this CPU or build "
            "lacks it; known: scalar, avx2, avx512, neon); using %s\n", forced,
            active->isa);
}

const fz_kernels *fz_kernels_get(void)
{
    pthread_once(&active_once, choose);
    return active;
}

void fz_kernels_override(const fz_kernels *k)
{
    pthread_once(&active_once, choose);
    active = k ? k : best_available();
}

const char *fz_isa(void) { return fz_kernels_get()->isa; }

fz_status fz_isa_status(void)
{
    const fz_kernels *k = fz_kernels_get();
    if (active_status != FZ_OK)
        fz_set_error(active_status, "fz_isa: FREEZEBENCH_ISA=%s cannot run here; using %s",
                     getenv("FREEZEBENCH_ISA"), k->isa);
    return active_status;
}

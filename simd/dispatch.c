/*
 * Which kernels a set of CPU features allows: the scalar reference, upgraded ISA by ISA
 * (dav1d style).  The choice is a pure function of a flags mask; kernels_best() and
 * kernels_for() apply it to this CPU's flags.  Which table the library runs, and
 * FREEZEBENCH_ISA, are the runtime's business (src/runtime/kernels_active.c).
 */
#include <pthread.h>
#include <string.h>

#include "kernels.h"
#include "cpu.h"

fz_kernels kernels_init_for_flags(unsigned flags)
{
    fz_kernels t;
    kernels_init_scalar(&t);
    (void)flags;   /* a build with no vector ISA reads no flag */
#if FZ_HAVE_AVX2
    if (!(flags & FZ_CPU_AVX2))
        return t;
    t = fz_kernels_avx2_table;
#endif
#if FZ_HAVE_AVX512
    if (!(flags & FZ_CPU_AVX512))   /* its files are built with AVX2 too: after it */
        return t;
    t = fz_kernels_avx512_table;
#endif
#if FZ_HAVE_NEON
    if (!(flags & FZ_CPU_NEON))
        return t;
    t = fz_kernels_neon_table;
#endif
    return t;
}

/* Each ISA by name with the flags that reach it: the tables kernels_for hands out. */
static const struct { const char *isa; unsigned flags; } named[] = {
    { "scalar", 0 },
    { "avx2", FZ_CPU_AVX2 },
    { "avx512", FZ_CPU_AVX2 | FZ_CPU_AVX512 },
    { "neon", FZ_CPU_NEON },
};
#define N_NAMED (sizeof named / sizeof *named)

static fz_kernels named_table[N_NAMED];
static const fz_kernels *best;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (size_t i = 0; i < N_NAMED; i++)
        named_table[i] = kernels_init_for_flags(named[i].flags);
    /* Every ISA the CPU runs, AVX-512 included on Zen 4 (AMD family 19h), which executes
     * each 512-bit operation as two 256-bit halves: there AVX-512 buys no FMA throughput,
     * only fewer instructions per FLOP (half the loads, broadcasts and loop overhead),
     * opmask tails and 32 registers (the 6x64 tile's 24 accumulators), and AMD's own BLIS
     * configuration for Zen 4 (config/zen4) runs 512-bit kernels there too.  kernel_bench
     * runs the AVX2 GEMM beside it (impl freezebench-avx2), so whether that holds on a
     * given CPU is measured, not assumed.  On a Zen 4 VM (ab_builds, one build under
     * FREEZEBENCH_ISA=avx512 and =avx2, one thread, 30 alternating rounds, each order
     * once), the 8×1024 MLP's step at batch 256 was 1.09× [1.00, 1.16] and 1.04×
     * [1.01, 1.08] as fast on AVX-512, and with fc1-fc4 frozen 1.04× and 1.07×; the seed
     * network's 1 µs step was 6% faster on AVX2 in one order ([5%, 7%]) and undecided in
     * the other: a small-product matter (DESIGN.md, "Tuned constants"). */
    const char *isa = kernels_init_for_flags(cpu_flags()).isa;
    best = kernels_scalar();
    /* The same pointer as kernels_for(isa): one table per ISA in the process. */
    for (size_t i = 1; i < N_NAMED; i++)
        if (!strcmp(named_table[i].isa, isa) && !strcmp(named[i].isa, isa))
            best = &named_table[i];
}

const fz_kernels *kernels_best(void)
{
    pthread_once(&tables_once, build_tables);
    return best;
}

const fz_kernels *kernels_for(const char *isa)
{
    if (!isa)
        return NULL;
    if (!strcmp(isa, "scalar"))
        return kernels_scalar();
    pthread_once(&tables_once, build_tables);
    unsigned cpu = cpu_flags();
    for (size_t i = 0; i < N_NAMED; i++)
        /* The table's name tells whether this build has the ISA: without it, the flags
         * leave a table of the ISA below. */
        if (!strcmp(isa, named[i].isa) && (cpu & named[i].flags) == named[i].flags &&
            !strcmp(named_table[i].isa, isa))
            return &named_table[i];
    return NULL;
}

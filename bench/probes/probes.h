/*
 * This CPU's own limits, measured in the same binary as the kernels so every kernel is
 * reported as a fraction of them: the FMA peak of one core (independent FMAs in
 * registers, once per vector width the build and the CPU have: 256-bit AVX2 and 512-bit
 * AVX-512 on x86, NEON on aarch64, the compiler's loop elsewhere) and the streaming
 * bandwidth (a STREAM triad over arrays larger than the last-level cache).
 */
#ifndef FZB_PROBES_H
#define FZB_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gbench.h"

typedef struct {
    double peak_gflops_per_core;   /* the widest loop's FLOP/s ×1e-9: fractions of peak use it */
    double peak_avx2_gflops;       /* the 256-bit loop's; 0 where it did not run */
    double peak_avx512_gflops;     /* the 512-bit loop's; 0 where it did not run */
    double bandwidth_gbytes_per_s; /* one thread's triad, ×1e-9 bytes/s */
    const char *fma_isa;           /* the widest loop that ran: avx512, avx2, neon, scalar */
} fzb_limits;

/* Every probe's name starts with FZB_PROBE_PREFIX; a peak probe's ends with its ISA
 * (probe/peak_fma_avx2, probe/peak_fma_avx512, ...). */
#define FZB_PROBE_PREFIX "probe/"
#define FZB_PROBE_PEAK "probe/peak_fma_"
#define FZB_PROBE_BANDWIDTH "probe/bandwidth_triad"

typedef struct {
    size_t l3_bytes;   /* the last-level cache (0 = unknown); sizes the triad's arrays */
    int repetitions;   /* of each probe; 0: the --benchmark_repetitions default */
    bool quick;        /* small arrays and short runs: seconds, for tests, not for results */
    /* Called after each probe repetition (roughly: runs shorter than half the probe's
     * minimum time are Google Benchmark's trials), so a progress line can count them.
     * May be NULL. */
    void (*on_repetition)(void *ctx);
    void *ctx;
} fzb_probe_options;

typedef struct fzb_probes fzb_probes;

/* Registers the probes (names above) and allocates the triad's arrays now, so an
 * out-of-memory is an error before anything is measured.  NULL on failure, with
 * fz_last_error() naming the probe and the size.  Free after the run. */
fzb_probes *fzb_probes_register(const fzb_probe_options *opt);
void        fzb_probes_free(fzb_probes *p);

/* How many probes were registered (each runs `repetitions` times). */
size_t fzb_probes_count(const fzb_probes *p);

/* Bytes of each of the triad's three arrays for a last-level cache of `l3_bytes`: all
 * three together 4× the cache, at least 192 MiB and at most 1 GiB (virtual machines
 * report host caches of hundreds of MiB; beyond 1 GiB the triad measures nothing new,
 * only takes seconds and memory); quick: 8 MiB. */
size_t fzb_probe_triad_array_bytes(size_t l3_bytes, bool quick);

/* The limits from a finished run: the best repetition of each probe (noise only ever
 * slows a probe down).  Returns 0, or -1 if the bandwidth probe or every peak probe
 * did not run. */
int fzb_probes_read(const fzb_results *r, fzb_limits *out);

/* One line for the table's header: the peaks of each width, the widest first, and the
 * bandwidth; `quick` adds that the quick probes' numbers are not for results. */
void fzb_print_limits(FILE *out, const fzb_limits *lim, bool quick);

/* The FMA loops: `rounds` rounds of a fixed block of independent FMAs; each returns the
 * FLOPs it executed (2 per lane per FMA). */
uint64_t fzb_fma_loop_scalar(uint64_t rounds);
uint64_t fzb_fma_loop_avx2(uint64_t rounds);
uint64_t fzb_fma_loop_avx512(uint64_t rounds);
uint64_t fzb_fma_loop_neon(uint64_t rounds);

#endif

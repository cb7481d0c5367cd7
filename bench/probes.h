/*
 * This CPU's own limits, measured in the same binary as the kernels so every kernel is
 * reported as a fraction of them: the FMA peak of one core (independent FMAs in
 * registers, the widest ISA the build and the CPU have) and the streaming bandwidth
 * (a STREAM triad over arrays far larger than the last-level cache).
 */
#ifndef FZB_PROBES_H
#define FZB_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "gbench.h"

typedef struct {
    double peak_gflops_per_core;   /* FLOP/s of one core's FMA units, ×1e-9 */
    double bandwidth_gbytes_per_s; /* one thread's triad, ×1e-9 bytes/s */
    const char *fma_isa;           /* which loop measured the peak */
} fzb_limits;

#define FZB_PROBE_PEAK "probe/peak_fma"
#define FZB_PROBE_BANDWIDTH "probe/bandwidth_triad"

typedef struct fzb_probes fzb_probes;

/* Registers the two probes (names above), `repetitions` each (0: the flag's default).
 * The triad's arrays are sized from the L3 size (0 = unknown: a fixed size well above
 * common L3s), allocated at the first run and kept, so every run finds them paged in.
 * NULL when out of memory; free after the run. */
fzb_probes *fzb_probes_register(size_t l3_bytes, int repetitions);
void        fzb_probes_free(fzb_probes *p);

/* The limits from a finished run: the best repetition of each probe (noise only ever
 * slows a probe down).  Returns 0, or -1 if a probe did not run. */
int fzb_probes_read(const fzb_results *r, fzb_limits *out);

/* The FMA loops: `rounds` rounds of a fixed block of independent FMAs; each returns the
 * FLOPs it executed (2 per lane per FMA). */
uint64_t fzb_fma_loop_scalar(uint64_t rounds);
uint64_t fzb_fma_loop_avx2(uint64_t rounds);
uint64_t fzb_fma_loop_neon(uint64_t rounds);

#endif

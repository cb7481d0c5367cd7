/*
 * kernel_bench's cases: the kernels one by one, each as a Google Benchmark benchmark.
 *
 *   GEMM in the three training layouts (forward, dgrad, wgrad) at training shapes, square
 *   1024³ and DeepBench training shapes: freezebench's default table, its table of each
 *   other vector ISA this CPU runs (freezebench-avx2 beside an AVX-512 default), and the
 *   references this build found (ref_blas.h: openblas, blis, onednn);
 *   ReLU forward/backward and the SGD update with momentum, against the bandwidth.
 *
 * All cases share one set of operands, sized for the largest, on 64-byte lines and filled
 * with small values of both signs.
 */
#ifndef FZB_KERNEL_CASES_H
#define FZB_KERNEL_CASES_H

#include <stdbool.h>
#include <stdio.h>

#include "probes.h"
#include "results.h"

typedef struct fzb_kernel_cases fzb_kernel_cases;

/* Every case, with its operands allocated and filled; `quick`: one tiny shape per kernel
 * (seconds, for tests).  NULL when out of memory. */
fzb_kernel_cases *fzb_kernel_cases_create(bool quick);

/* Registers every case with Google Benchmark ("<impl>/<phase>", with M, N, K or n as
 * arguments), each at `repetitions` and `min_time` seconds: after the probes, so they
 * are listed first. */
void fzb_kernel_cases_register(fzb_kernel_cases *k, int repetitions, double min_time);

/* One row of `table` per case that ran (a --benchmark_filter may leave some out), each
 * also printed as a line of the table on `out` (NULL: none, for --quiet) with a note on the rows too noisy to
 * trust: the median time with its interval, the rates and the fraction of this CPU's
 * limits `lim` (the FMA peak × `threads` for a GEMM, one core's peak or the bandwidth
 * for the others, which run on one thread). */
fz_status fzb_kernel_cases_add_rows(const fzb_kernel_cases *k, fzb_csv *table,
                                    const fzb_results *res, const fzb_limits *lim,
                                    const fzb_context *ctx, int threads, FILE *out);

void fzb_kernel_cases_free(fzb_kernel_cases *k);

#endif

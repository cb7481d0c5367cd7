/*
 * The kernel dispatch table: the only place the library reaches per-ISA code.
 *
 * fz_kernels_init() fills the table with the scalar reference kernels, then upgrades it
 * one CPU feature at a time (dav1d style), once per process.  Every kernel counts the
 * FLOPs it executes into the fz_counter it is handed (one add per call, into the slot
 * of the calling OpenMP thread), so executed FLOPs are measured, not computed.
 */
#ifndef FZ_SIMD_KERNELS_H
#define FZ_SIMD_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"
#include "counter.h"

/* One GEMM with its epilogue, applied in this order where C is written:
 *   C = alpha·op(A)·op(B) + beta·C      (beta == 0: C is not read)
 *   C += bias (broadcast over rows)      if bias != NULL        (m·n FLOPs)
 *   C = max(C, 0)                        if relu                (m·n FLOPs)
 *   C = mask > 0 ? C : 0                 if mask != NULL        (m·n FLOPs)
 * The mask is an m×n matrix with leading dimension ldmask: the ReLU-backward mask is the
 * ReLU's own output, which is positive exactly where the gradient passes. */
typedef struct {
    fz_trans ta, tb;
    size_t m, n, k;
    float alpha;
    const float *a; size_t lda;
    const float *b; size_t ldb;
    float beta;
    float *c; size_t ldc;
    const float *bias;
    bool relu;
    const float *mask; size_t ldmask;
} fz_gemm_op;

typedef struct {
    const char *isa;   /* "scalar", "avx2", "avx512", "neon" */

    /* The whole GEMM, epilogue included.  Counts 2·m·n·k plus m·n per epilogue stage. */
    void (*sgemm)(const fz_gemm_op *op, fz_counter *flops);

    /* y = max(x, 0), n elements; y may alias x.  Counts n. */
    void (*relu_fwd)(float *y, const float *x, size_t n, fz_counter *flops);
    /* dx = y > 0 ? dy : 0, where y is the ReLU's output; dx may alias dy.  Counts n. */
    void (*relu_bwd)(float *dx, const float *dy, const float *y, size_t n, fz_counter *flops);
    /* db[j] = sum_i dy[i·ld + j] for an m×n matrix (bias gradient).  Counts m·n. */
    void (*colsum)(float *db, const float *dy, size_t m, size_t n, size_t ld,
                   fz_counter *flops);
    /* SGD as torch.optim.SGD (dampening 0, no nesterov) on n elements:
     *   g' = g + wd·p;  buf = momentum·buf + g';  p -= lr·buf
     * buf is NULL when momentum == 0 (then p -= lr·g').  Counts 2n, +2n with momentum,
     * +2n with weight decay. */
    void (*sgd)(float *p, const float *g, float *buf, size_t n,
                float lr, float momentum, float wd, fz_counter *flops);
} fz_kernels;

/* The table in use, initialised on first call (thread-safe).  Never NULL. */
const fz_kernels *fz_kernels_get(void);

/* The table of one ISA by name, or NULL if this build or this CPU cannot run it.  Used
 * by tests and benchmarks to run every available ISA side by side. */
const fz_kernels *fz_kernels_for(const char *isa);

/* The scalar reference table: always available; the oracle of the tests. */
const fz_kernels *fz_kernels_scalar(void);

/* For tests only: makes `k` the table in use (NULL: back to the best this CPU runs), so
 * a whole training run can be compared across ISAs in one process.  Not thread-safe;
 * call it while no kernel runs. */
void fz_kernels_override(const fz_kernels *k);

#endif /* FZ_SIMD_KERNELS_H */

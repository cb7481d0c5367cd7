/*
 * Internal: the kernel table the library runs (kernels_active.c).  simd/ builds the
 * tables and knows nothing of the team; this layer picks one per process.  The GEMM's
 * plan is not the table's business: the caller's execution context (exec.h) carries it.
 */
#ifndef FZ_KERNELS_ACTIVE_H
#define FZ_KERNELS_ACTIVE_H

#include "kernels.h"

/* The table in use, chosen on first call (thread-safe): the best this CPU runs, or
 * FREEZEBENCH_ISA's.  One of simd's constant tables.  Never NULL. */
const fz_kernels *kernels_get(void);

/* For tests only: makes `k` the table in use (NULL: back to the default), so a whole
 * training run can be compared across ISAs in one process.  Swaps which table is in use;
 * the tables themselves never change.  Not thread-safe; call it while no kernel runs. */
void kernels_override(const fz_kernels *k);

#endif /* FZ_KERNELS_ACTIVE_H */

/*
 * Internal: the kernel table the library runs (kernels_active.c).  simd/ builds the
 * tables and knows nothing of the team; this layer picks one per process and hands out a
 * copy whose sgemm runs with the team's plan.
 */
#ifndef FZ_KERNELS_ACTIVE_H
#define FZ_KERNELS_ACTIVE_H

#include "kernels.h"

/* The table in use, chosen on first call (thread-safe): the best this CPU runs, or
 * FREEZEBENCH_ISA's.  Its sgemm runs with the thread team's plan.  Never NULL. */
const fz_kernels *fz_kernels_get(void);

/* For tests only: makes `k` the table in use (NULL: back to the default), so a whole
 * training run can be compared across ISAs in one process.  Not thread-safe; call it
 * while no kernel runs. */
void fz_kernels_override(const fz_kernels *k);

#endif /* FZ_KERNELS_ACTIVE_H */

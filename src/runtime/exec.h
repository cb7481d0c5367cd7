/*
 * Internal: the execution context of one piece of work (a training step, an inference,
 * a call of fz_sgemm), built once and handed down explicitly, as BLIS hands its context
 * and runtime objects down its control tree.  It carries everything the kernels are
 * told from outside: which table runs, and the GEMM's plan (threads, L3 groups, cache
 * sizes, and the caller's progress call).  Nothing below reaches for a global to learn
 * any of it, so a step reads the team and the table once, and a step's listener (the
 * data-parallel hooks) reaches the GEMM through the context, not through the team.
 */
#ifndef FZ_EXEC_H
#define FZ_EXEC_H

#include "kernels.h"

typedef struct {
    const fz_kernels *k;   /* the table whose kernels run (never rewritten in place) */
    fz_gemm_ctx gemm;      /* the team's plan for every GEMM of the work */
} fz_exec;

/* The context of the table in use (kernels_active.h) and the team as they stand now,
 * with `progress` (may be NULL) called between blocks of every GEMM. */
fz_exec exec_now(void (*progress)(void *arg), void *arg);

/* The one route to a GEMM: k's microkernel with the context's plan, reading op's B from
 * `pb` where it fits (NULL packs on the fly), the scalar reference where k has no
 * microkernel.  Bitwise the same result and FLOP count with or without pb. */
void exec_gemm(const fz_exec *x, const fz_gemm_op *op, const fz_sgemm_packed *pb,
               fz_counter *flops);

/* Whether a and b run the same kernels with the same blocking: what decides which
 * frozen weights a plan packs (the pack's layout depends on both). */
bool exec_same_blocking(const fz_exec *a, const fz_exec *b);

#endif /* FZ_EXEC_H */

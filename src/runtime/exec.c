/* The execution context (exec.h). */
#include "exec.h"
#include "kernels_active.h"
#include "team.h"

fz_exec exec_now(void (*progress)(void *arg), void *arg)
{
    fz_exec x = { .k = kernels_get(), .gemm = team_gemm_ctx() };
    x.gemm.progress = progress;
    x.gemm.progress_arg = arg;
    return x;
}

void exec_gemm(const fz_exec *x, const fz_gemm_op *op, const fz_sgemm_packed *pb,
               fz_counter *flops)
{
    sgemm_run_prepacked(x->k->microkernel, op, pb, &x->gemm, flops);
}

bool exec_same_blocking(const fz_exec *a, const fz_exec *b)
{
    return a->k->microkernel == b->k->microkernel && a->gemm.caches.l1d == b->gemm.caches.l1d &&
           a->gemm.caches.l2 == b->gemm.caches.l2 && a->gemm.caches.l3 == b->gemm.caches.l3;
}

/*
 * The kernel table the library runs, chosen once per process: the best this CPU runs
 * (simd/dispatch.c), or the one FREEZEBENCH_ISA forces.  Asking for an ISA this CPU or
 * build cannot run is reported and ignored.
 *
 * The table handed out is a copy of the chosen one whose sgemm runs the chosen ISA's
 * GEMM with the thread team's plan, so callers write k->sgemm(&op, flops) and the
 * kernels never reach for the team themselves.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "kernels.h"
#include "kernels_active.h"
#include "team.h"

static const fz_kernels *chosen;   /* the simd table whose kernels run */
static fz_kernels active;          /* chosen, with sgemm planned by the team */
static fz_status chosen_status = FZ_OK;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void sgemm_with_team(const fz_gemm_op *op, fz_counter *flops)
{
    fz_gemm_ctx ctx = fz_team_gemm_ctx();
    chosen->sgemm_ctx(op, &ctx, flops);
}

static void make_active(const fz_kernels *k)
{
    chosen = k;
    active = *k;
    active.sgemm = sgemm_with_team;
}

static void choose(void)
{
    make_active(fz_kernels_best());
    const char *forced = getenv("FREEZEBENCH_ISA");
    if (!forced || !*forced)
        return;
    const fz_kernels *k = fz_kernels_for(forced);
    if (k) {
        make_active(k);
        return;
    }
    chosen_status = FZ_EINVAL;
    fprintf(stderr, "freezebench: FREEZEBENCH_ISA=%s cannot run here (this CPU or build "
            "lacks it; known: scalar, avx2, avx512, neon); using %s\n", forced,
            chosen->isa);
}

const fz_kernels *fz_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return &active;
}

void fz_kernels_override(const fz_kernels *k)
{
    pthread_once(&chosen_once, choose);
    make_active(k ? k : fz_kernels_best());
}

const char *fz_isa(void) { return fz_kernels_get()->isa; }

fz_status fz_isa_status(void)
{
    const fz_kernels *k = fz_kernels_get();
    if (chosen_status != FZ_OK)
        fz_set_error(chosen_status, "fz_isa: FREEZEBENCH_ISA=%s cannot run here; using %s",
                     getenv("FREEZEBENCH_ISA"), k->isa);
    return chosen_status;
}

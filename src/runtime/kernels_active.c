/*
 * The kernel table the library runs, chosen once per process: the best this CPU runs
 * (simd/dispatch.c), or the one FREEZEBENCH_ISA forces.  Asking for an ISA this CPU or
 * build cannot run is refused (fz_isa_status, and a note) and the best one is used.
 *
 * The table handed out is simd's own constant table: its fields mean the same whoever
 * hands it out, and the GEMM's plan comes from the caller's execution context (exec.h),
 * not from the table.  Choosing another table swaps a pointer; no table is ever
 * rewritten in place.
 */
#include <pthread.h>
#include <stdlib.h>

#include "error.h"
#include "kernels.h"
#include "kernels_active.h"

static const fz_kernels *chosen;   /* the table whose kernels run */
static fz_status chosen_status = FZ_OK;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    chosen = kernels_best();
    const char *forced = getenv("FREEZEBENCH_ISA");
    if (!forced || !*forced)
        return;
    const fz_kernels *k = kernels_for(forced);
    if (k) {
        chosen = k;
        return;
    }
    chosen_status = FZ_EINVAL;
    log_note("FREEZEBENCH_ISA=%s cannot run here (this CPU or build lacks it; known: "
            "scalar, avx2, avx512, neon); using %s", forced, chosen->isa);
}

const fz_kernels *kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

void kernels_override(const fz_kernels *k)
{
    pthread_once(&chosen_once, choose);
    chosen = k ? k : kernels_best();
}

const char *fz_isa(void) { return kernels_get()->isa; }

fz_status fz_isa_status(void)
{
    const fz_kernels *k = kernels_get();
    if (chosen_status != FZ_OK)
        set_error(chosen_status, "fz_isa: FREEZEBENCH_ISA=%s cannot run here; using %s",
                  getenv("FREEZEBENCH_ISA"), k->isa);
    return chosen_status;
}

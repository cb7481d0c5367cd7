/*
 * The thread team: how many OpenMP threads the kernels and the training step use.
 * This and the dispatch table are the library's only global state.
 */
#include <stdlib.h>

#include "freezebench.h"
#include "counter.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int team_threads = -1;   /* -1: not yet read from FREEZEBENCH_THREADS */

static int hardware_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

void fz_set_threads(int n)
{
    if (n <= 0)
        n = hardware_threads();
    if (n > FZ_MAX_THREADS)
        n = FZ_MAX_THREADS;
    team_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int fz_get_threads(void)
{
    if (team_threads < 0) {
        const char *env = getenv("FREEZEBENCH_THREADS");
        fz_set_threads(env ? atoi(env) : 0);
    }
    return team_threads;
}

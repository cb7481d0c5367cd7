/*
 * The thread team: how many OpenMP threads the kernels and the training step use, and
 * how they are laid out.  This and the dispatch table are the library's only global state.
 */
#include <stdlib.h>

#include "freezebench.h"
#include "counter.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static fz_team_config team = { .threads = -1, .groups = 1 };  /* -1: not yet set */

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
    team.threads = n;
    team.groups = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

const fz_team_config *fz_team_get(void)
{
    if (team.threads < 0) {
        const char *env = getenv("FREEZEBENCH_THREADS");
        fz_set_threads(env ? atoi(env) : 0);
    }
    return &team;
}

int fz_get_threads(void) { return fz_team_get()->threads; }

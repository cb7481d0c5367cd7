/*
 * What the MPI launcher told this process, read the same way with or without MPI in
 * the build: the freezebench command and freeze_sweep decide from it whether to
 * initialise MPI at all (a plain run never does).
 */
#include <stdlib.h>

#include "freezebench.h"
#include "freezebench_dp.h"

long fz_dp_launched_ranks(void)
{
    /* Open MPI, then MPICH/Hydra, then PMIx launchers. */
    const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 1;
}

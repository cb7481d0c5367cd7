/* The freezebench command under mpirun (mpi_launch.h). */
#include <stdio.h>

#include "freezebench.h"
#include "freezebench_dp.h"
#include "mpi_launch.h"

#ifdef FZ_TOOLS_MPI
#include <mpi.h>
#endif

static bool parallel;
static int rank, n_ranks = 1;

bool cli_mpi_start(int *argc, char ***argv)
{
    long ranks = fz_dp_launched_ranks();
    if (ranks <= 1)
        return true;
#ifdef FZ_TOOLS_MPI
    int provided;
    fz_dp_tune_mpi_env();   /* read by MPI_Init: Open MPI's faster allreduce on one node */
    /* Only the main thread calls MPI: itself, and as the team's thread 0 the progress
     * calls inside the backward's GEMMs; the other threads of the team never do. */
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    parallel = true;
    return true;
#else
    (void)argc, (void)argv;
    fprintf(stderr, "freezebench: launched as one of %ld ranks, but this build has no MPI "
            "(meson option mpi); run it as one process\n", ranks);
    return false;
#endif
}

bool cli_mpi_parallel(void) { return parallel; }
int cli_mpi_rank(void) { return rank; }
int cli_mpi_ranks(void) { return n_ranks; }

int cli_mpi_agree(int status, const char *msg, const fz_agree_value *v, size_t n)
{
#ifdef FZ_TOOLS_MPI
    if (parallel) {
        return dp_agree_print("freezebench", status, msg, v, n, "every rank must take "
                              "the same steps with the same settings");
    }
#endif
    (void)v, (void)n;
    if (status != 0)
        fprintf(stderr, "freezebench: %s\n", msg && *msg ? msg : "failed");
    return status;
}

void cli_mpi_abort_if_parallel(int code)
{
#ifdef FZ_TOOLS_MPI
    if (parallel) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#else
    (void)code;
#endif
}

void cli_mpi_end(void)
{
#ifdef FZ_TOOLS_MPI
    if (parallel)
        MPI_Finalize();
#endif
}

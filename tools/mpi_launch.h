/*
 * The freezebench command under mpirun.  A run is data-parallel when an MPI launcher
 * started it (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK of other
 * launchers, names more than one rank) and this build has MPI; otherwise every call
 * here is a no-op and the command runs as one process.
 */
#ifndef FZ_MPI_LAUNCH_H
#define FZ_MPI_LAUNCH_H

#include <stdbool.h>

/* Initialises MPI when launched by mpirun with more than one rank; a launch with
 * several ranks in a build without MPI is refused with a message (returns false). */
bool cli_mpi_start(int *argc, char ***argv);
/* Whether this run is data-parallel, and this process's rank (0 otherwise). */
bool cli_mpi_parallel(void);
int cli_mpi_rank(void);
/* After an error message is printed: in a parallel run, ends every rank (MPI_Abort), so
 * no rank waits forever in a collective for the one that failed.  No-op otherwise. */
void cli_mpi_abort_if_parallel(int code);
void cli_mpi_end(void);

#endif

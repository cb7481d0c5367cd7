/*
 * The freezebench command under mpirun.  A run is data-parallel when an MPI launcher
 * started it (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK of other
 * launchers, names more than one rank) and this build has MPI; otherwise every call
 * here is a no-op and the command runs as one process.
 */
#ifndef FZ_MPI_LAUNCH_H
#define FZ_MPI_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "agree.h"

/* Initialises MPI when launched by mpirun with more than one rank; a launch with
 * several ranks in a build without MPI is refused with a message (returns false). */
bool cli_mpi_start(int *argc, char ***argv);
/* Whether this run is data-parallel, this process's rank (0 otherwise) and the number
 * of ranks (1 otherwise). */
bool cli_mpi_parallel(void);
int cli_mpi_rank(void);
int cli_mpi_ranks(void);
/* Every rank's decision before a collective (src/dist/agree.h): `status` is this rank's
 * verdict (0, or the exit status with `msg`), v[0..n) what every rank must share.
 * Returns the decision, the same on every rank, after printing what this rank should
 * ("freezebench: rank N: ...").  In one process: prints msg when status is not 0 and
 * returns status. */
int cli_mpi_agree(int status, const char *msg, const fz_agree_value *v, size_t n);
/* After an error message is printed: in a parallel run, ends every rank (MPI_Abort), so
 * no rank waits forever in a collective for the one that failed.  No-op otherwise. */
void cli_mpi_abort_if_parallel(int code);
void cli_mpi_end(void);

#endif

/*
 * freeze_sweep under mpirun with more than one rank: every configuration trained by an
 * fz_dp (the global --batch split into equal shards) and timed by the sweep's own loop,
 * not Google Benchmark's: every rank must run the same steps in the same order, or the
 * allreduce of one rank waits for a step another never takes.  Built only with MPI.
 */
#ifndef FZB_SWEEP_DP_H
#define FZB_SWEEP_DP_H

/* The whole program for one rank: MPI_Init (after fz_dp_tune_mpi_env), the options, the
 * sweep, and on rank 0 alone the table and the CSV; MPI_Finalize.  Returns the exit
 * status (the same on every rank: 0, 1, or 2 for a refused option or batch).  Before
 * any collective the ranks agree on their options (src/dist/agree.h): a rank whose
 * arguments do not parse or differ from rank 0's in what sets the configurations or
 * their steps prints "freeze_sweep: rank N: ..." and every rank exits 2.  A failure on
 * one rank alone during the sweep prints "freeze_sweep: rank N: ..." and ends every
 * rank by MPI_Abort. */
int fzb_sweep_mpi_main(int argc, char **argv);

#endif

/*
 * freezebench-dp — data-parallel training over MPI, on top of freezebench.h.
 *
 * Its own library (libfreezebench-dp, pkg-config freezebench-dp) so that libfreezebench
 * never links MPI: only a program that trains data-parallel pays for it.  Built where MPI
 * is found (meson option mpi); the header itself needs no MPI.  The conventions are
 * freezebench.h's: errors return an fz_status and leave a message in fz_last_error().
 */
#ifndef FREEZEBENCH_DP_H
#define FREEZEBENCH_DP_H

#include "freezebench.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data-parallel training over MPI ------------------------------------------------ */

/* Each of R ranks (processes of an MPI communicator) holds the same model and trains its
 * shard of a global batch of B rows, B/R rows each (B % R must be 0: unequal shards
 * would weigh rows unequally in the mean).  During the backward, as soon as a layer's
 * gradients are written, the trainable ones join a bucket (4 MiB by default,
 * FREEZEBENCH_DP_BUCKET_BYTES to change it) that is summed over the ranks by an
 * MPI_Iallreduce while the layers below compute, as PyTorch's DDP does (small tensors
 * that lie apart, such as BitFit's biases, are copied into one staged bucket); the
 * step's own GEMMs make the MPI calls that advance it, and the optimizer waits for the
 * last sums.
 * The loss gradient is scaled by the global batch, so the sums are exactly the gradients
 * of the MSE's mean over the global batch: every rank applies the same update and the
 * parameters stay identical.  Tensors the plan does not train are never communicated.
 *
 * The header needs no MPI: the communicator is passed by address (an MPI_Comm *, NULL
 * for MPI_COMM_WORLD).  A build without MPI (meson -Dmpi=disabled) has no
 * libfreezebench-dp; its own programs (the freezebench command, freeze_sweep) link a
 * stand-in (src/dist/dp_none.c) whose fz_dp_create refuses, saying why.  MPI must be initialised by the caller; only the thread that calls
 * fz_dp_step makes MPI calls (MPI_THREAD_FUNNELED suffices; the team's thread 0, which
 * makes the progress calls, is that thread).
 *
 * Every rank must hold the same model architecture and the same freeze flags, and call
 * fz_dp_step the same number of times.  Both are checked: fz_dp_create and every
 * fz_dp_step compare a fingerprint of the shapes and the flags across the ranks (one
 * small allreduce) and return FZ_EINVAL on every rank, before any gradient is sent, when
 * they differ.  A step that fails on one rank alone (bad input, an error) leaves the
 * others waiting in a collective: a program should print fz_last_error() and call
 * MPI_Abort, as tools/freezebench does. */
typedef struct fz_dp fz_dp;

/* Whether this library was built with MPI. */
FZ_API bool        fz_dp_available(void);
/* How many ranks the MPI launcher started this process among (OMPI_COMM_WORLD_SIZE,
 * PMI_SIZE or PMIX_SIZE), 1 when none did: whether a program should initialise MPI.
 * Reads the environment only; works in a build without MPI too. */
FZ_API long        fz_dp_launched_ranks(void);
/* Call before MPI_Init: where Open MPI started every rank on one node, selects the ring
 * algorithm of its non-blocking allreduce (measured faster than its default for the
 * gradient buckets on shared memory) unless OMPI_MCA_coll_libnbc_iallreduce_algorithm
 * is already set.  Does nothing otherwise or without MPI. */
FZ_API void        fz_dp_tune_mpi_env(void);
/* A data-parallel trainer for `m` (as fz_trainer_create, with the global batch).  Rank
 * 0's parameters are broadcast to every rank, so all start identical.  Collective: every
 * rank of the communicator calls it, even one whose model could not be made (m NULL):
 * the ranks agree on the global batch, the optimizer's settings and the bucket size
 * (FREEZEBENCH_DP_BUCKET_BYTES), and a failure on any rank makes every rank return NULL,
 * each with its message. */
FZ_API fz_dp      *fz_dp_create(fz_model *m, size_t global_batch, fz_sgd opt,
                                const void *mpi_comm);
FZ_API void        fz_dp_free(fz_dp *dp);
/* This rank, the number of ranks, and the rows of the global batch this rank trains:
 * rows [first_row, first_row + rows). */
FZ_API int         fz_dp_rank(const fz_dp *dp);
FZ_API int         fz_dp_ranks(const fz_dp *dp);
FZ_API void        fz_dp_shard(const fz_dp *dp, size_t *first_row, size_t *rows);
/* One step on this rank's shard: x (rows×in) and y (rows×out).  *loss receives the
 * global loss (the mean over the global batch, the same on every rank).  Errors as
 * fz_train_step. */
FZ_API fz_status   fz_dp_step(fz_dp *dp, const float *x, const float *y, float *loss);
/* The rank's own trainer: its plan, FLOPs (executed on this rank's shard) and times. */
FZ_API fz_trainer *fz_dp_trainer(fz_dp *dp);

/* Communication of the last completed step, on this rank. */
typedef struct {
    int      ranks;
    uint64_t bytes_planned;   /* 4 × elements of the tensors the plan trains */
    uint64_t bytes_executed;  /* handed to MPI_Iallreduce (counted as sent) */
    double   comm_s;          /* from the first bucket's start until every sum was seen
                               * complete (by a progress call or the final wait) */
    double   wait_s;          /* of the step's time, spent waiting for the sums after the
                               * backward, before the optimizer */
    double   hidden_s;        /* comm_s − wait_s: in flight while the backward computed */
} fz_dp_comm;
FZ_API fz_dp_comm  fz_dp_comm_last(const fz_dp *dp);

#ifdef __cplusplus
}
#endif

#endif /* FREEZEBENCH_DP_H */

/*
 * Data-parallel training over MPI (freezebench.h, "data-parallel training"; DESIGN.md,
 * "Data parallel").  A rank's trainer runs the step; its before_update hook
 * (trainer_hooks.h) sums the plan's trainable gradients over the ranks with blocking
 * MPI_Allreduce calls, one per contiguous run of the trainer's gradient arena (for an
 * MLP whose tensors fill whole cache lines: one call for the whole trainable part).
 * Measured on 2 ranks × 1 thread (DESIGN.md): per-layer MPI_Iallreduce overlapped with
 * the backward moved ~80 MB/s, since Open MPI progresses non-blocking collectives only
 * inside MPI calls on the training thread, and with every core busy computing there is
 * no idle core to hide them on; one large blocking call runs the tuned shared-memory
 * allreduce at full speed.  Which tensors travel is read from the plan.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clock.h"
#include "error.h"
#include "model.h"
#include "plan.h"
#include "trainer_hooks.h"

/* MPI counts are int: a larger tensor goes in pieces of this many floats. */
#define PIECE_FLOATS ((size_t)1 << 30)

struct fz_dp {
    fz_trainer *t;
    fz_model *m;
    MPI_Comm comm;              /* a duplicate, so our traffic never meets the caller's */
    int rank, ranks;
    size_t global_batch, rows;
    double comm_s;              /* this step's time inside MPI_Allreduce */
    uint64_t bytes_sent;
    fz_dp_comm last;
    /* FREEZEBENCH_DP_FAIL=RANK:STEP makes that rank's step fail (tests of the abort). */
    int fail_rank;
    uint64_t fail_step;
};

bool fz_dp_available(void) { return true; }

/* One in-place sum over the ranks of n floats; MPI counts are int, so in pieces. */
static fz_status allreduce(fz_dp *dp, float *g, size_t n)
{
    for (size_t off = 0; off < n; off += PIECE_FLOATS) {
        size_t k = n - off < PIECE_FLOATS ? n - off : PIECE_FLOATS;
        int rc = MPI_Allreduce(MPI_IN_PLACE, g + off, (int)k, MPI_FLOAT, MPI_SUM, dp->comm);
        if (rc != MPI_SUCCESS)
            return fz_set_error(FZ_EIO, "fz_dp_step: rank %d: MPI_Allreduce failed (%d)",
                                dp->rank, rc);
        dp->bytes_sent += k * sizeof(float);
    }
    return FZ_OK;
}

/* The backward is complete: sum every trainable gradient before the optimizer reads it.
 * Tensors whose gradients lie back to back in the trainer's arena (index order, each
 * slot rounded up to a cache line) go in one call, so the per-call latency is paid per
 * run rather than per tensor; a gap of padding ends a run, so no padding byte is sent
 * and bytes_executed stays exactly 4 × trainable elements. */
static fz_status before_update(void *ctx)
{
    fz_dp *dp = ctx;
    const fz_plan *plan;
    trainer_current_plan(dp->t, &plan);   /* current: the step planned before its forward */
    double t0 = fz_now();
    size_t n_tensors = dp->m->n_tensors, i = 0;
    while (i < n_tensors) {
        if (!plan_need_grad(plan, &dp->m->tensors[i])) {
            i++;
            continue;
        }
        float *g = trainer_grad(dp->t, i);
        size_t n = dp->m->tensors[i].numel;
        for (i++; i < n_tensors && plan_need_grad(plan, &dp->m->tensors[i]) &&
                  trainer_grad(dp->t, i) == g + n; i++)
            n += dp->m->tensors[i].numel;
        fz_status st = allreduce(dp, g, n);
        if (st != FZ_OK)
            return st;
    }
    dp->comm_s = fz_now() - t0;
    return FZ_OK;
}

static fz_status fail_injection(fz_dp *dp)
{
    const char *s = getenv("FREEZEBENCH_DP_FAIL");
    dp->fail_rank = -1;
    if (!s || !*s)
        return FZ_OK;
    int r;
    unsigned long long step;
    char end;
    if (sscanf(s, "%d:%llu%c", &r, &step, &end) != 2 || r < 0 || step == 0)
        return fz_set_error(FZ_EINVAL, "fz_dp_create: FREEZEBENCH_DP_FAIL='%s': expected "
                            "RANK:STEP (step from 1)", s);
    dp->fail_rank = r;
    dp->fail_step = step;
    return FZ_OK;
}

fz_dp *fz_dp_create(fz_model *m, size_t global_batch, fz_sgd opt, const void *mpi_comm)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        fz_set_error(FZ_EINVAL, "fz_dp_create: MPI is not initialised (MPI_Init first)");
        return NULL;
    }
    if (!m) {
        fz_set_error(FZ_EINVAL, "fz_dp_create: model is NULL");
        return NULL;
    }
    fz_dp *dp = calloc(1, sizeof *dp);
    if (!dp) {
        fz_set_error(FZ_ENOMEM, "fz_dp_create: out of memory");
        return NULL;
    }
    dp->comm = MPI_COMM_NULL;
    MPI_Comm_dup(mpi_comm ? *(const MPI_Comm *)mpi_comm : MPI_COMM_WORLD, &dp->comm);
    MPI_Comm_rank(dp->comm, &dp->rank);
    MPI_Comm_size(dp->comm, &dp->ranks);
    dp->m = m;
    dp->global_batch = global_batch;
    if (fail_injection(dp) != FZ_OK)
        goto fail;
    if (global_batch == 0 || global_batch % (size_t)dp->ranks != 0) {
        fz_set_error(FZ_EINVAL, "fz_dp_create: global batch %zu is not a positive "
                     "multiple of the %d ranks (every rank trains an equal shard)",
                     global_batch, dp->ranks);
        goto fail;
    }
    dp->rows = global_batch / (size_t)dp->ranks;
    dp->t = fz_trainer_create(m, dp->rows, opt);
    if (!dp->t)
        goto fail;
    /* Rank 0's parameters everywhere: identical models before the first step. */
    for (size_t i = 0; i < m->n_tensors; i++) {
        fz_tensor *tn = &m->tensors[i];
        for (size_t off = 0; off < tn->numel; off += PIECE_FLOATS) {
            size_t n = tn->numel - off < PIECE_FLOATS ? tn->numel - off : PIECE_FLOATS;
            MPI_Bcast(tn->data + off, (int)n, MPI_FLOAT, 0, dp->comm);
        }
        fz_model_touch(m, i);
    }
    trainer_set_hooks(dp->t, &(trainer_hooks){ .ctx = dp, .before_update = before_update,
                                               .mean_over_rows = global_batch });
    dp->last.ranks = dp->ranks;
    return dp;

fail:
    fz_dp_free(dp);
    return NULL;
}

void fz_dp_free(fz_dp *dp)
{
    if (!dp)
        return;
    fz_trainer_free(dp->t);
    if (dp->comm != MPI_COMM_NULL)
        MPI_Comm_free(&dp->comm);
    free(dp);
}

int fz_dp_rank(const fz_dp *dp) { return dp ? dp->rank : 0; }
int fz_dp_ranks(const fz_dp *dp) { return dp ? dp->ranks : 1; }
fz_trainer *fz_dp_trainer(fz_dp *dp) { return dp ? dp->t : NULL; }
fz_dp_comm fz_dp_comm_last(const fz_dp *dp) { return dp ? dp->last : (fz_dp_comm){0}; }

void fz_dp_shard(const fz_dp *dp, size_t *first_row, size_t *rows)
{
    if (first_row)
        *first_row = dp ? (size_t)dp->rank * dp->rows : 0;
    if (rows)
        *rows = dp ? dp->rows : 0;
}

fz_status fz_dp_step(fz_dp *dp, const float *x, const float *y, float *loss)
{
    if (!dp)
        return fz_set_error(FZ_EINVAL, "fz_dp_step: trainer is NULL");
    uint64_t step = fz_trainer_steps(dp->t) + 1;
    if (dp->rank == dp->fail_rank && step == dp->fail_step)
        return fz_set_error(FZ_EIO, "fz_dp_step: rank %d: step %llu: failure injected by "
                            "FREEZEBENCH_DP_FAIL", dp->rank, (unsigned long long)step);
    dp->bytes_sent = 0;
    dp->comm_s = 0;
    float local = 0.0f;
    fz_status st = fz_train_step(dp->t, x, y, &local);
    if (st != FZ_OK)
        return st;
    /* Equal shards: the global mean is the mean of the ranks' means. */
    double sum = local;
    MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, dp->comm);
    if (loss)
        *loss = (float)(sum / dp->ranks);

    const fz_plan *plan;
    trainer_current_plan(dp->t, &plan);
    uint64_t planned = 0;
    for (size_t i = 0; i < dp->m->n_tensors; i++)
        if (plan_need_grad(plan, &dp->m->tensors[i]))
            planned += dp->m->tensors[i].numel * sizeof(float);
    /* Blocking calls after the backward: all of it is waited for, none hidden. */
    dp->last = (fz_dp_comm){ .ranks = dp->ranks, .bytes_planned = planned,
                             .bytes_executed = dp->bytes_sent, .comm_s = dp->comm_s,
                             .wait_s = dp->comm_s, .hidden_s = 0.0 };
    return FZ_OK;
}

/* Open MPI's default allreduce choice for two ranks on one node moved 33 MB in ~40 ms
 * here, its ring algorithm in ~24 ms (DESIGN.md, "Data parallel").  Forced only where
 * every rank shares one node (the ring's 2(R−1) latency terms would hurt small messages
 * across many nodes) and never over the user's own setting (setenv does not overwrite). */
void fz_dp_tune_mpi_env(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!size || !local || strcmp(size, local) != 0 ||
        getenv("OMPI_MCA_coll_tuned_allreduce_algorithm"))
        return;
    setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
    setenv("OMPI_MCA_coll_tuned_allreduce_algorithm", "4", 0);   /* 4: ring */
}

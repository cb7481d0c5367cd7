/*
 * Data-parallel training over MPI (freezebench.h, "data-parallel training"; DESIGN.md,
 * "Data parallel").  A rank's trainer runs the step; its hooks (trainer_hooks.h) start
 * one MPI_Iallreduce per trainable tensor as soon as the backward has written a layer,
 * poke MPI's progress engine after every later layer (Open MPI's non-blocking
 * collectives advance only inside MPI calls), and wait for the rest before the
 * optimizer.  Which tensors travel is read from the plan, as everything freezing skips.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

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
    MPI_Request *req;           /* outstanding allreduces of this step */
    size_t n_req, max_req;
    bool all_done;              /* every started allreduce seen complete */
    double first_start, last_done, wait_s;
    uint64_t bytes_sent;
    fz_dp_comm last;
    /* FREEZEBENCH_DP_FAIL=RANK:STEP makes that rank's step fail (tests of the abort). */
    int fail_rank;
    uint64_t fail_step;
};

bool fz_dp_available(void) { return true; }

static size_t pieces(size_t numel) { return (numel + PIECE_FLOATS - 1) / PIECE_FLOATS; }

/* Drives progress and notes when the last started allreduce completed. */
static void poke(fz_dp *dp)
{
    int done = 0;
    if (dp->n_req && !dp->all_done) {
        MPI_Testall((int)dp->n_req, dp->req, &done, MPI_STATUSES_IGNORE);
        if (done) {
            dp->all_done = true;
            dp->last_done = fz_now();
        }
    }
}

static void layer_done(void *ctx, size_t l)
{
    fz_dp *dp = ctx;
    const fz_plan *plan;
    trainer_current_plan(dp->t, &plan);   /* current: the step planned before its forward */
    poke(dp);
    for (size_t i = 0; i < dp->m->n_tensors; i++) {
        const fz_tensor *tn = &dp->m->tensors[i];
        if (tn->layer != l || !plan_need_grad(plan, tn))
            continue;
        float *g = trainer_grad(dp->t, i);
        for (size_t off = 0; off < tn->numel; off += PIECE_FLOATS) {
            size_t n = tn->numel - off < PIECE_FLOATS ? tn->numel - off : PIECE_FLOATS;
            if (dp->n_req == 0)
                dp->first_start = fz_now();
            MPI_Iallreduce(MPI_IN_PLACE, g + off, (int)n, MPI_FLOAT, MPI_SUM, dp->comm,
                           &dp->req[dp->n_req++]);
            dp->bytes_sent += n * sizeof(float);
            dp->all_done = false;
        }
    }
}

static fz_status before_update(void *ctx)
{
    fz_dp *dp = ctx;
    double w0 = fz_now();
    if (dp->n_req && !dp->all_done) {
        int rc = MPI_Waitall((int)dp->n_req, dp->req, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS)
            return fz_set_error(FZ_EIO, "fz_dp_step: rank %d: MPI_Waitall failed (%d)",
                                dp->rank, rc);
        dp->last_done = fz_now();
    }
    dp->wait_s = fz_now() - w0;
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
    for (size_t i = 0; i < m->n_tensors; i++)
        dp->max_req += pieces(m->tensors[i].numel);
    dp->req = calloc(dp->max_req ? dp->max_req : 1, sizeof *dp->req);
    dp->t = fz_trainer_create(m, dp->rows, opt);
    if (!dp->req || !dp->t) {
        if (!dp->req)
            fz_set_error(FZ_ENOMEM, "fz_dp_create: out of memory");
        goto fail;
    }
    /* Rank 0's parameters everywhere: identical models before the first step. */
    for (size_t i = 0; i < m->n_tensors; i++) {
        fz_tensor *tn = &m->tensors[i];
        for (size_t off = 0; off < tn->numel; off += PIECE_FLOATS) {
            size_t n = tn->numel - off < PIECE_FLOATS ? tn->numel - off : PIECE_FLOATS;
            MPI_Bcast(tn->data + off, (int)n, MPI_FLOAT, 0, dp->comm);
        }
        fz_model_touch(m, i);
    }
    trainer_set_hooks(dp->t, &(trainer_hooks){ .ctx = dp, .layer_done = layer_done,
                                               .before_update = before_update,
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
    free(dp->req);
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
    dp->n_req = 0;
    dp->all_done = true;
    dp->bytes_sent = 0;
    dp->wait_s = 0;
    dp->first_start = dp->last_done = 0;
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
    double comm = dp->n_req ? dp->last_done - dp->first_start : 0.0;
    dp->last = (fz_dp_comm){ .ranks = dp->ranks, .bytes_planned = planned,
                             .bytes_executed = dp->bytes_sent, .comm_s = comm,
                             .wait_s = dp->wait_s,
                             .hidden_s = comm > dp->wait_s ? comm - dp->wait_s : 0.0 };
    return FZ_OK;
}

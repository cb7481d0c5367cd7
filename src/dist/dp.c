/*
 * Data-parallel training over MPI (freezebench.h, "data-parallel training"; DESIGN.md,
 * "Data parallel").  A rank's trainer runs the step and hands us, layer by layer from the
 * top, the gradient buckets its plan (src/train/plan.h) closes there (trainer_hooks.h):
 * runs of gradients that lie back to back in the trainer's arena, each summed over the
 * ranks by an MPI_Iallreduce started at once, so the sum travels while the layers below
 * compute, as PyTorch's DDP does.  Small tensors that lie apart (BitFit's biases) come
 * as staged buckets: copied into a staging buffer that goes as one collective, and
 * copied back once summed.  Open MPI advances a non-blocking collective only inside MPI
 * calls on the calling thread, so the trainer's GEMMs call progress() between blocks,
 * which tests the requests; before the optimizer reads any gradient, before_update
 * waits for all of them.  Frozen tensors are never in a bucket.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clock.h"
#include "decimal.h"
#include "error.h"
#include "freezebench_dp.h"
#include "model.h"
#include "plan.h"
#include "trainer_hooks.h"

/* MPI counts are int: a larger run goes in pieces of this many floats. */
#define PIECE_FLOATS ((size_t)1 << 30)
/* A bucket is started once it holds this much (FREEZEBENCH_DP_BUCKET_BYTES overrides):
 * smaller ones pay the collective's fixed cost more often, larger ones start later and
 * leave less of the backward to hide in. */
#define BUCKET_BYTES ((uint64_t)4 << 20)

typedef struct {
    float *g;       /* the tensor's gradient */
    size_t off, n;  /* where its copy lies in the staging buffer, and its floats */
} staged;

struct fz_dp {
    fz_trainer *t;
    fz_model *m;
    MPI_Comm comm;              /* a duplicate, so our traffic never meets the caller's */
    int rank, ranks;
    size_t global_batch, rows;
    /* This step's buckets in flight, at most one request per piece of each tensor. */
    MPI_Request *reqs;
    size_t n_reqs, cap_reqs;
    uint64_t bucket_bytes;      /* the plan's bucket size */
    /* Staged buckets' gradients, copied here: the floats used this step, and what goes
     * back where once the sums are in. */
    float *stage;
    size_t stage_used, n_staged;
    staged *staged;
    double first_start, done_at, wait_s;
    uint64_t bytes_sent;
    fz_status comm_status;      /* the first failed MPI call of the step */
    fz_dp_comm last;
    /* FREEZEBENCH_DP_FAIL=RANK:STEP makes that rank's step fail (tests of the abort). */
    int fail_rank;
    uint64_t fail_step;
};

bool fz_dp_available(void) { return true; }

static void comm_failed(fz_dp *dp, const char *call, int rc)
{
    if (dp->comm_status == FZ_OK)
        dp->comm_status = set_error(FZ_EIO, "fz_dp_step: rank %d: %s failed (%d)",
                                    dp->rank, call, rc);
}

/* Starts the sum over the ranks of the n floats at g, in place. */
static void start_sum(fz_dp *dp, float *g, size_t n)
{
    if (n == 0)
        return;
    if (dp->n_reqs == 0)
        dp->first_start = clock_now();
    dp->done_at = 0;   /* a new sum in flight: not all complete any more */
    for (size_t off = 0; off < n; off += PIECE_FLOATS) {
        size_t k = n - off < PIECE_FLOATS ? n - off : PIECE_FLOATS;
        if (dp->n_reqs == dp->cap_reqs) {   /* sized at create: cannot happen */
            comm_failed(dp, "bucket bookkeeping", -1);
            return;
        }
        int rc = MPI_Iallreduce(MPI_IN_PLACE, g + off, (int)k, MPI_FLOAT, MPI_SUM,
                                dp->comm, &dp->reqs[dp->n_reqs]);
        if (rc != MPI_SUCCESS) {
            comm_failed(dp, "MPI_Iallreduce", rc);
            return;
        }
        dp->n_reqs++;
        dp->bytes_sent += k * sizeof(float);
    }
}

/* The buckets b[0..n) are final: a run is summed in place; a staged bucket's pieces are
 * copied together into the staging buffer and summed there. */
static void grads_ready(void *ctx, const grad_bucket *b, size_t n)
{
    fz_dp *dp = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!b[i].staged) {
            start_sum(dp, b[i].piece[0].g, b[i].floats);
            continue;
        }
        size_t first = dp->stage_used;
        for (size_t j = 0; j < b[i].n_pieces; j++) {
            const grad_piece *p = &b[i].piece[j];
            memcpy(dp->stage + dp->stage_used, p->g, p->n * sizeof(float));
            dp->staged[dp->n_staged++] = (staged){ p->g, dp->stage_used, p->n };
            dp->stage_used += p->n;
        }
        start_sum(dp, dp->stage + first, b[i].floats);
    }
}

/* Between the backward's blocks: let Open MPI move the buckets in flight. */
static void progress(void *ctx)
{
    fz_dp *dp = ctx;
    if (dp->n_reqs == 0 || dp->done_at > 0)
        return;
    int done = 0;
    int rc = MPI_Testall((int)dp->n_reqs, dp->reqs, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS)
        comm_failed(dp, "MPI_Testall", rc);
    else if (done)
        dp->done_at = clock_now();
}

/* The backward is complete and every bucket started: every sum must have arrived
 * before the optimizer reads a gradient. */
static fz_status before_update(void *ctx)
{
    fz_dp *dp = ctx;
    double t0 = clock_now();
    if (dp->n_reqs && dp->comm_status == FZ_OK) {
        int rc = MPI_Waitall((int)dp->n_reqs, dp->reqs, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS)
            comm_failed(dp, "MPI_Waitall", rc);
    }
    for (size_t i = 0; i < dp->n_staged && dp->comm_status == FZ_OK; i++)
        memcpy(dp->staged[i].g, dp->stage + dp->staged[i].off,
               dp->staged[i].n * sizeof(float));
    double t1 = clock_now();
    dp->wait_s = t1 - t0;
    /* Waitall returned at once when progress() had already seen the sums complete. */
    if (dp->done_at == 0)
        dp->done_at = t1;
    return dp->comm_status;
}

/* What every rank must agree on before tensors are summed: the shapes, which fix every
 * bucket's count, and the freeze flags, which decide which tensors travel (the plan's
 * fingerprint).  FZ_ENOMEM when the plan could not be brought up to date. */
static fz_status model_fingerprint(fz_dp *dp, uint64_t *h)
{
    trainer_plan_summary sum;
    fz_status st = trainer_plan_summary_get(dp->t, &sum);
    *h = sum.fingerprint;
    return st;
}

/* Collective: the minimum and the maximum of v[0..n) over the ranks, in one call (the
 * minimum of v and of ~v). */
enum { MAX_RANGE = 8 };
static int reduce_range(MPI_Comm comm, const uint64_t *v, size_t n, uint64_t *lo,
                        uint64_t *hi)
{
    uint64_t buf[2 * MAX_RANGE];
    for (size_t i = 0; i < n; i++)
        buf[i] = v[i], buf[n + i] = ~v[i];
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)(2 * n), MPI_UINT64_T, MPI_MIN, comm);
    for (size_t i = 0; i < n; i++)
        lo[i] = buf[i], hi[i] = ~buf[n + i];
    return rc;
}

static fz_status models_differ(const char *where, int rank, uint64_t h, uint64_t lo)
{
    return set_error(FZ_EINVAL, "%s: rank %d: the ranks' models differ in shape or in "
                     "which tensors are frozen (this rank's %s); every rank must freeze "
                     "the same tensors", where, rank,
                     h == lo ? "is the lowest fingerprint" : "differs");
}

/* Collective: FZ_OK on every rank when all ranks' models agree, FZ_EINVAL on every rank
 * otherwise. */
static fz_status ranks_agree(fz_dp *dp, const char *where)
{
    uint64_t h, lo, hi;
    /* A rank whose plan failed still joins the collective, with a fingerprint no other
     * rank has, so that all of them stop together. */
    if (model_fingerprint(dp, &h) != FZ_OK)
        h = ~(uint64_t)dp->rank;
    int rc = reduce_range(dp->comm, &h, 1, &lo, &hi);
    if (rc != MPI_SUCCESS)
        return set_error(FZ_EIO, "%s: rank %d: MPI_Allreduce failed (%d)", where,
                         dp->rank, rc);
    return lo == hi ? FZ_OK : models_differ(where, dp->rank, h, lo);
}

/* What fz_dp_create agrees on: whether the rank is ready at all, and what every rank
 * must share for its buckets to match the others' (the shapes and flags, the bucket
 * size: otherwise the sums have other lengths, which MPI reports as a raw error at
 * best) and for the ranks' updates to stay identical (the batch, the optimizer). */
enum { S_READY, S_MODEL, S_BATCH, S_LR, S_MOMENTUM, S_DECAY, S_BUCKET, N_SETTINGS };
static const char *const setting_name[N_SETTINGS] = {
    [S_BATCH] = "global batch", [S_LR] = "lr", [S_MOMENTUM] = "momentum",
    [S_DECAY] = "weight_decay", [S_BUCKET] = "FREEZEBENCH_DP_BUCKET_BYTES",
};

/* Non-negative floats (the trainer refuses others) order as their bits do. */
static uint64_t float_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static void show_setting(int s, uint64_t v, char *out, size_t size)
{
    if (s == S_LR || s == S_MOMENTUM || s == S_DECAY) {
        uint32_t b = (uint32_t)v;
        float f;
        memcpy(&f, &b, sizeof f);
        for (int digits = 6; digits <= 9; digits++) {   /* the fewest that read back */
            snprintf(out, size, "%.*g", digits, (double)f);
            if (strtof(out, NULL) == f)
                break;
        }
    } else {
        snprintf(out, size, "%llu", (unsigned long long)v);
    }
}

/* Collective: every rank's verdict on fz_dp_create, the same on every rank.  A rank
 * that failed keeps its own message; the others say that one did. */
static fz_status agree_on_create(MPI_Comm comm, int rank, fz_status local,
                                 const uint64_t v[N_SETTINGS])
{
    uint64_t lo[N_SETTINGS], hi[N_SETTINGS];
    int rc = reduce_range(comm, v, N_SETTINGS, lo, hi);
    if (rc != MPI_SUCCESS)
        return set_error(FZ_EIO, "fz_dp_create: rank %d: MPI_Allreduce failed (%d)",
                         rank, rc);
    if (local != FZ_OK)
        return local;
    if (lo[S_READY] == 0)
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: another rank could not "
                         "create its trainer (its own message says why), so no rank "
                         "did", rank);
    if (lo[S_MODEL] != hi[S_MODEL])
        return models_differ("fz_dp_create", rank, v[S_MODEL], lo[S_MODEL]);
    for (int s = S_BATCH; s < N_SETTINGS; s++) {
        if (lo[s] == hi[s])
            continue;
        char here[32], low[32], high[32];
        show_setting(s, v[s], here, sizeof here);
        show_setting(s, lo[s], low, sizeof low);
        show_setting(s, hi[s], high, sizeof high);
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: the ranks were given "
                         "different %s (%s on this rank; from %s to %s over the ranks): "
                         "every rank must train with the same settings", rank,
                         setting_name[s], here, low, high);
    }
    return FZ_OK;
}

static fz_status read_env(fz_dp *dp)
{
    const char *b = getenv("FREEZEBENCH_DP_BUCKET_BYTES");
    dp->bucket_bytes = BUCKET_BYTES;
    if (b && *b && !parse_whole(b, 1, UINT64_MAX, &dp->bucket_bytes))
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: "
                         "FREEZEBENCH_DP_BUCKET_BYTES='%s': expected a whole number of "
                         "bytes, at least 1", dp->rank, b);
    const char *s = getenv("FREEZEBENCH_DP_FAIL");
    dp->fail_rank = -1;
    if (!s || !*s)
        return FZ_OK;
    int r;
    unsigned long long step;
    char end;
    if (sscanf(s, "%d:%llu%c", &r, &step, &end) != 2 || r < 0 || step == 0)
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: FREEZEBENCH_DP_FAIL='%s': "
                         "expected RANK:STEP (step from 1)", dp->rank, s);
    dp->fail_rank = r;
    dp->fail_step = step;
    return FZ_OK;
}

/* This rank's part of fz_dp_create, before the ranks agree: everything that may fail. */
static fz_status setup(fz_dp *dp, MPI_Comm comm, fz_model *m, size_t global_batch,
                       fz_sgd opt)
{
    dp->comm = comm;
    MPI_Comm_rank(comm, &dp->rank);
    MPI_Comm_size(comm, &dp->ranks);
    if (!m)
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: model is NULL", dp->rank);
    dp->m = m;
    dp->global_batch = global_batch;
    fz_status st = read_env(dp);
    if (st != FZ_OK)
        return st;
    if (global_batch == 0 || global_batch % (size_t)dp->ranks != 0)
        return set_error(FZ_EINVAL, "fz_dp_create: rank %d: global batch %zu is not a "
                         "positive multiple of the %d ranks (every rank trains an equal "
                         "shard)", dp->rank, global_batch, dp->ranks);
    dp->rows = global_batch / (size_t)dp->ranks;
    dp->t = fz_trainer_create(m, dp->rows, opt);
    if (!dp->t)
        return FZ_EINVAL;   /* with the trainer's message */
    /* One request per piece of each tensor, plus one for the open bucket and one per
     * staging bucket: a bucket's pieces never outnumber its tensors' own. */
    size_t stage_cap = 0;
    dp->cap_reqs = 2;
    for (size_t i = 0; i < m->n_tensors; i++) {
        dp->cap_reqs += m->tensors[i].numel / PIECE_FLOATS + 1;
        if (plan_staged_size(dp->bucket_bytes, m->tensors[i].numel))
            stage_cap += m->tensors[i].numel;
    }
    dp->cap_reqs += stage_cap * sizeof(float) / dp->bucket_bytes + 1;
    dp->reqs = malloc(dp->cap_reqs * sizeof *dp->reqs);
    dp->stage = malloc((stage_cap ? stage_cap : 1) * sizeof *dp->stage);
    dp->staged = malloc((m->n_tensors ? m->n_tensors : 1) * sizeof *dp->staged);
    if (!dp->reqs || !dp->stage || !dp->staged)
        return set_error(FZ_ENOMEM, "fz_dp_create: rank %d: out of memory", dp->rank);
    return FZ_OK;
}

fz_dp *fz_dp_create(fz_model *m, size_t global_batch, fz_sgd opt, const void *mpi_comm)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        set_error(FZ_EINVAL, "fz_dp_create: MPI is not initialised (MPI_Init first)");
        return NULL;
    }
    /* Collective from here on.  A failure on one rank (a bad FREEZEBENCH_DP_BUCKET_BYTES,
     * memory, a model with nothing to train) still goes on to the agreement below, so
     * every rank returns NULL together instead of the others waiting in the broadcast
     * for a rank that left. */
    MPI_Comm comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(mpi_comm ? *(const MPI_Comm *)mpi_comm : MPI_COMM_WORLD, &comm);
    if (rc != MPI_SUCCESS) {
        set_error(FZ_EIO, "fz_dp_create: MPI_Comm_dup failed (%d)", rc);
        return NULL;
    }
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    fz_dp *dp = calloc(1, sizeof *dp);
    fz_status st = dp ? setup(dp, comm, m, global_batch, opt)
                      : set_error(FZ_ENOMEM, "fz_dp_create: rank %d: out of memory", rank);
    uint64_t v[N_SETTINGS] = { 0 };
    if (st == FZ_OK) {
        v[S_READY] = 1;
        if ((st = model_fingerprint(dp, &v[S_MODEL])) != FZ_OK)
            v[S_READY] = 0;
        v[S_BATCH] = global_batch;
        v[S_LR] = float_bits(opt.lr);
        v[S_MOMENTUM] = float_bits(opt.momentum);
        v[S_DECAY] = float_bits(opt.weight_decay);
        v[S_BUCKET] = dp->bucket_bytes;
    }
    /* Shapes before the broadcast below, which needs the same counts on every rank. */
    if (agree_on_create(comm, rank, st, v) != FZ_OK) {
        if (dp)
            fz_dp_free(dp);   /* and the communicator */
        else
            MPI_Comm_free(&comm);
        return NULL;
    }
    /* Rank 0's parameters everywhere: identical models before the first step. */
    for (size_t i = 0; i < m->n_tensors; i++) {
        fz_tensor *tn = &m->tensors[i];
        for (size_t off = 0; off < tn->numel; off += PIECE_FLOATS) {
            size_t n = tn->numel - off < PIECE_FLOATS ? tn->numel - off : PIECE_FLOATS;
            MPI_Bcast(tn->data + off, (int)n, MPI_FLOAT, 0, dp->comm);
        }
        model_touch(m, i);
    }
    trainer_set_hooks(dp->t, &(trainer_hooks){ .ctx = dp, .grads_ready = grads_ready,
                                               .progress = progress,
                                               .before_update = before_update,
                                               .bucket_bytes = dp->bucket_bytes,
                                               .mean_over_rows = global_batch });
    dp->last.ranks = dp->ranks;
    return dp;
}

void fz_dp_free(fz_dp *dp)
{
    if (!dp)
        return;
    fz_trainer_free(dp->t);
    free(dp->reqs);
    free(dp->stage);
    free(dp->staged);
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
        return set_error(FZ_EINVAL, "fz_dp_step: trainer is NULL");
    uint64_t step = fz_trainer_steps(dp->t) + 1;
    if (dp->rank == dp->fail_rank && step == dp->fail_step)
        return set_error(FZ_EIO, "fz_dp_step: rank %d: step %llu: failure injected by "
                         "FREEZEBENCH_DP_FAIL", dp->rank, (unsigned long long)step);
    /* Freezing may change between steps (schedules): checked every step, a few
     * microseconds, before any gradient is sent. */
    fz_status st = ranks_agree(dp, "fz_dp_step");
    if (st != FZ_OK)
        return st;
    dp->n_reqs = 0;
    dp->stage_used = dp->n_staged = 0;
    dp->bytes_sent = 0;
    dp->first_start = dp->done_at = dp->wait_s = 0;
    dp->comm_status = FZ_OK;
    float local = 0.0f;
    st = fz_train_step(dp->t, x, y, &local);
    if (st != FZ_OK)
        return st;
    /* Equal shards: the global mean is the mean of the ranks' means. */
    double sum = local;
    MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, dp->comm);
    if (loss)
        *loss = (float)(sum / dp->ranks);

    trainer_plan_summary plan;
    trainer_plan_summary_get(dp->t, &plan);   /* the step's plan: nothing changed since */
    uint64_t planned = (uint64_t)plan.grad_elems * sizeof(float);
    /* From the first bucket's start to the moment every sum was seen complete; what the
     * optimizer did not wait for ran behind the backward. */
    double span = dp->n_reqs ? dp->done_at - dp->first_start : 0.0;
    dp->last = (fz_dp_comm){ .ranks = dp->ranks, .bytes_planned = planned,
                             .bytes_executed = dp->bytes_sent, .comm_s = span,
                             .wait_s = dp->wait_s,
                             .hidden_s = span > dp->wait_s ? span - dp->wait_s : 0.0 };
    return FZ_OK;
}

/* The buckets' sums are Open MPI's non-blocking allreduce (coll/libnbc), whose default
 * choice for two ranks is a binomial tree: one rank receives the whole bucket, adds and
 * sends it back.  Its ring has each rank send, add and receive half, and measured faster
 * here (DESIGN.md, "Data parallel").  Forced only where every rank shares one node (the
 * ring's 2(R−1) latency terms would hurt small buckets across many nodes) and never over
 * the user's own setting (setenv does not overwrite). */
void fz_dp_tune_mpi_env(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!size || !local || strcmp(size, local) != 0)
        return;
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);   /* 1: ring */
}

/*
 * Data-parallel training (src/dist), run under mpirun with 2 or more ranks:
 *   - the trained parameters equal a single process trained on the same global batch,
 *     within a tolerance (the allreduce adds per-rank partial sums of dW and db, where
 *     the single process has one running sum: the same terms in another order);
 *   - every rank holds bit-identical parameters after every step, and frozen tensors are
 *     bit-identical to their initial values;
 *   - the bytes handed to the allreduce are exactly 4 × trainable elements, for several
 *     specs, so the allreduce cut equals the trainable-parameter cut;
 *   - all of it with the default buckets (every tensor here small enough to be staged),
 *     with one bucket per layer (none staged) and with both in one step;
 *   - ranks that freeze different tensors, or hold different shapes, are refused on
 *     every rank without a hang; so are ranks given different settings (buckets, lr,
 *     momentum, batch) and a rank that fails alone inside fz_dp_create.
 * Every rank runs every check; the exit status is 1 if any rank failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "freezebench_dp.h"
#include "rng.h"

static int failures;
static int rank;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "rank %d: %s:%d: ", rank, __FILE__, __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static const size_t widths[] = { 24, 40, 32, 40, 12 };
#define N_WIDTHS (sizeof widths / sizeof widths[0])
enum { GLOBAL_BATCH = 24, STEPS = 6 };   /* 24: shards for 1, 2, 3, 4 ranks */

/* Whether tensor `name` is bitwise the same on every rank (compared with rank 0's). */
static bool same_on_every_rank(fz_model *m, const char *name)
{
    size_t n;
    float *p = fz_param_data(m, name, &n);
    float *root = malloc(n * sizeof *root);
    memcpy(root, p, n * sizeof *root);
    MPI_Bcast(root, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    int same = memcmp(root, p, n * sizeof *root) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    free(root);
    return all;
}

/* Trains `spec` data-parallel and in one process on the same global batches. */
static void matches_single_process(const char *spec)
{
    fz_sgd opt = { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f };
    /* Each rank seeds differently: fz_dp_create must broadcast rank 0's parameters. */
    fz_model *dm = fz_mlp_create(widths, N_WIDTHS, 11 + (uint64_t)rank);
    fz_model *sm = fz_mlp_create(widths, N_WIDTHS, 11);
    fz_model *init = fz_mlp_create(widths, N_WIDTHS, 11);
    CHECK(fz_freeze(dm, spec) == FZ_OK && fz_freeze(sm, spec) == FZ_OK, "freeze %s", spec);
    fz_dp *dp = fz_dp_create(dm, GLOBAL_BATCH, opt, NULL);
    fz_trainer *st = fz_trainer_create(sm, GLOBAL_BATCH, opt);
    CHECK(dp && st, "create: %s", fz_last_error());
    if (!dp || !st)
        return;
    size_t first, rows, in = widths[0], out = widths[N_WIDTHS - 1];
    fz_dp_shard(dp, &first, &rows);
    CHECK(rows * (size_t)fz_dp_ranks(dp) == GLOBAL_BATCH, "shard rows %zu", rows);
    float *x = malloc(GLOBAL_BATCH * in * sizeof *x), *y = malloc(GLOBAL_BATCH * out * sizeof *y);
    double worst_loss = 0;
    for (int s = 0; s < STEPS; s++) {
        rng_fill(x, GLOBAL_BATCH * in, 100 + (uint64_t)s, -1.0f, 1.0f);
        rng_fill(y, GLOBAL_BATCH * out, 200 + (uint64_t)s, -1.0f, 1.0f);
        float dl = 0, sl = 0;
        CHECK(fz_dp_step(dp, x + first * in, y + first * out, &dl) == FZ_OK, "%s step %d: %s",
              spec, s, fz_last_error());
        CHECK(fz_train_step(st, x, y, &sl) == FZ_OK, "single step: %s", fz_last_error());
        worst_loss = fmax(worst_loss, fabs((double)dl - sl) / fmax(1e-30, fabs((double)sl)));
        for (size_t i = 0; i < fz_param_count(dm); i++)
            CHECK(same_on_every_rank(dm, fz_param_name(dm, i)), "%s step %d: %s differs "
                  "between ranks", spec, s, fz_param_name(dm, i));
    }
    /* Tolerance: each step's gradient differs from the single process's by reassociation
     * only (two partial sums of B/2 rows, added once), a few float32 ulps of the
     * gradient; over STEPS small steps the parameters (|p| < 0.25) drift apart by far
     * less than 1e-5.  Bitwise equality would need the single process to sum in the
     * same two halves, which its GEMM does not. */
    CHECK(worst_loss < 1e-5, "%s: global loss differs from the single process by %g "
          "(relative)", spec, worst_loss);
    double worst = 0;
    for (size_t i = 0; i < fz_param_count(dm); i++) {
        const char *name = fz_param_name(dm, i);
        size_t n;
        float *a = fz_param_data(dm, name, &n), *b = fz_param_data(sm, name, NULL);
        float *p0 = fz_param_data(init, name, NULL);
        for (size_t j = 0; j < n; j++)
            worst = fmax(worst, fabs((double)a[j] - b[j]));
        if (!fz_requires_grad(dm, name))
            CHECK(memcmp(a, p0, n * sizeof *a) == 0, "%s: frozen %s changed", spec, name);
    }
    CHECK(worst < 1e-5, "%s: parameters differ from the single process by %g", spec, worst);
    if (rank == 0)
        printf("%-10s max |p_dp - p_single| = %.3g, loss rel. diff %.3g\n", spec, worst,
               worst_loss);

    /* Bytes: exactly the trainable gradients, nothing of the frozen ones. */
    fz_dp_comm c = fz_dp_comm_last(dp);
    uint64_t trainable = 4 * (uint64_t)fz_trainable_elements(dm);
    CHECK(c.bytes_planned == trainable && c.bytes_executed == trainable,
          "%s: allreduce bytes planned %llu executed %llu, trainable bytes %llu", spec,
          (unsigned long long)c.bytes_planned, (unsigned long long)c.bytes_executed,
          (unsigned long long)trainable);
    CHECK(c.comm_s >= 0 && c.wait_s >= 0 && c.hidden_s >= 0 && c.hidden_s <= c.comm_s,
          "%s: comm %g wait %g hidden %g", spec, c.comm_s, c.wait_s, c.hidden_s);
    free(x);
    free(y);
    fz_dp_free(dp);
    fz_trainer_free(st);
    fz_model_free(dm);
    fz_model_free(sm);
    fz_model_free(init);
}

static void refuses_uneven_batch(void)
{
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    fz_model *m = fz_mlp_create(widths, N_WIDTHS, 1);
    fz_dp *dp = fz_dp_create(m, (size_t)ranks + 1, (fz_sgd){ .lr = 0.1f }, NULL);
    CHECK(ranks == 1 || (!dp && strstr(fz_last_error(), "multiple")),
          "a global batch of ranks + 1 was accepted");
    fz_dp_free(dp);
    fz_model_free(m);
}

/* Ranks that freeze different tensors would send sums of different lengths: every rank
 * refuses the step, naming the cause, and no parameter changes. */
static void refuses_different_freezing(void)
{
    fz_model *m = fz_mlp_create(widths, N_WIDTHS, 5);
    fz_dp *dp = fz_dp_create(m, GLOBAL_BATCH, (fz_sgd){ .lr = 0.1f }, NULL);
    CHECK(dp != NULL, "create: %s", fz_last_error());
    if (!dp)
        return;
    /* After create, which broadcast rank 0's parameters: what a refused step must keep. */
    model_snapshot before = snapshot_take(m);
    CHECK(fz_freeze(m, rank == 0 ? "prefix:1" : "prefix:2") == FZ_OK, "freeze");
    size_t rows, in = widths[0], out = widths[N_WIDTHS - 1];
    fz_dp_shard(dp, NULL, &rows);
    float *x = calloc(rows * in, sizeof *x), *y = calloc(rows * out, sizeof *y);
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    fz_status st = fz_dp_step(dp, x, y, NULL);
    CHECK(ranks == 1 || (st == FZ_EINVAL && strstr(fz_last_error(), "freeze the same")),
          "different freezing: step returned %d: %s", (int)st, fz_last_error());
    for (size_t i = 0; ranks > 1 && i < fz_param_count(m); i++)
        CHECK(snapshot_tensor_same(&before, m, i), "refused step changed %s",
              fz_param_name(m, i));
    /* Agreeing again, the same trainer steps on. */
    CHECK(fz_unfreeze(m, "*") == FZ_OK && fz_freeze(m, "prefix:1") == FZ_OK, "refreeze");
    CHECK(fz_dp_step(dp, x, y, NULL) == FZ_OK, "step after agreeing: %s", fz_last_error());
    free(x);
    free(y);
    fz_dp_free(dp);
    fz_model_free(m);
    snapshot_free(&before);
}

/* Different architectures are refused by fz_dp_create on every rank, before the
 * broadcast that would need equal counts. */
static void refuses_different_shapes(void)
{
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t other[N_WIDTHS];
    memcpy(other, widths, sizeof other);
    if (rank == 1)
        other[2] += 1;
    fz_model *m = fz_mlp_create(other, N_WIDTHS, 5);
    fz_dp *dp = fz_dp_create(m, GLOBAL_BATCH, (fz_sgd){ .lr = 0.1f }, NULL);
    CHECK(ranks == 1 || (!dp && strstr(fz_last_error(), "differ in shape")),
          "different shapes were accepted: %s", dp ? "(created)" : fz_last_error());
    fz_dp_free(dp);
    fz_model_free(m);
}

/* fz_dp_create agrees across the ranks before its broadcast: a setting that differs (a
 * rank's buckets of another size would send sums of other lengths, which Open MPI
 * reports as a raw error; another lr or batch would make the models drift apart) is
 * refused on every rank naming it, and a rank that fails alone (a bad environment
 * variable, no model) makes every rank return NULL instead of leaving the others in the
 * broadcast.  Afterwards the ranks still create trainers together. */
static void create_refuses_what_the_ranks_do_not_share(void)
{
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (ranks == 1)
        return;
    fz_model *m = fz_mlp_create(widths, N_WIDTHS, 5);
    const struct { const char *env, *says; fz_sgd opt; size_t batch; } cases[] = {
        { "1024", "different FREEZEBENCH_DP_BUCKET_BYTES (1024 on this rank", { .lr = 0.1f },
          GLOBAL_BATCH },
        { NULL, "different lr (0.2 on this rank; from 0.1 to 0.2", { .lr = 0.2f }, GLOBAL_BATCH },
        { NULL, "different momentum", { .lr = 0.1f, .momentum = 0.5f }, GLOBAL_BATCH },
        { NULL, "different global batch (48 on this rank", { .lr = 0.1f }, 2 * GLOBAL_BATCH },
        { "lots", "FREEZEBENCH_DP_BUCKET_BYTES='lots'", { .lr = 0.1f }, GLOBAL_BATCH },
        { NULL, "model is NULL", { .lr = 0.1f }, GLOBAL_BATCH },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool odd = rank == 1;   /* rank 1 alone gets the case's setting */
        if (odd && cases[i].env)
            setenv("FREEZEBENCH_DP_BUCKET_BYTES", cases[i].env, 1);
        bool no_model = odd && i == sizeof cases / sizeof *cases - 1;
        fz_dp *dp = fz_dp_create(no_model ? NULL : m, odd ? cases[i].batch : GLOBAL_BATCH,
                                 odd ? cases[i].opt : (fz_sgd){ .lr = 0.1f }, NULL);
        unsetenv("FREEZEBENCH_DP_BUCKET_BYTES");
        const char *err = fz_last_error();
        CHECK(!dp, "case %zu: created although rank 1 differs", i);
        if (odd)
            CHECK(strstr(err, cases[i].says) != NULL, "case %zu: rank 1 says \"%s\", want "
                  "\"%s\"", i, err, cases[i].says);
        else
            CHECK(strstr(err, "rank 1") == NULL && (strstr(err, "different") ||
                  strstr(err, "another rank could not create")),
                  "case %zu: rank %d says \"%s\"", i, rank, err);
        fz_dp_free(dp);
    }
    fz_dp *dp = fz_dp_create(m, GLOBAL_BATCH, (fz_sgd){ .lr = 0.1f }, NULL);
    CHECK(dp != NULL, "create after the refusals: %s", fz_last_error());
    fz_dp_free(dp);
    fz_model_free(m);
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *specs[] = { "none", "prefix:1", "prefix:2", "last", "bitfit", "fc2.*",
                            "*.bias,fc1.weight" };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        matches_single_process(specs[i]);
    /* Again with a bucket per layer: several sums in flight during the backward, runs
     * broken by the padding after the 40-float biases, and the last started after it. */
    setenv("FREEZEBENCH_DP_BUCKET_BYTES", "1", 1);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        matches_single_process(specs[i]);
    /* And with buckets of 12800 bytes, whose staging limit (1/64: 200 bytes) lies
     * between these biases (48-160 bytes) and weights (1920-5120 bytes): biases away
     * from the open bucket are staged and copied back, weights summed in place, in
     * the same step.  (With the default 4 MiB every tensor here is staged.) */
    setenv("FREEZEBENCH_DP_BUCKET_BYTES", "12800", 1);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        matches_single_process(specs[i]);
    unsetenv("FREEZEBENCH_DP_BUCKET_BYTES");
    refuses_uneven_batch();
    refuses_different_freezing();
    refuses_different_shapes();
    create_refuses_what_the_ranks_do_not_share();
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%s: %d failure(s) over all ranks\n", total ? "FAIL" : "PASS", total);
    MPI_Finalize();
    return total ? 1 : 0;
}

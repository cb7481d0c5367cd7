/*
 * dp_step: the data-parallel step measured under mpirun, per freeze spec: the step time
 * (the slowest rank's, median over steps), and the allreduce bytes planned and executed
 * beside the trainable parameters, so the communication cut can be compared with the
 * parameter cut.  One rank trains with a plain fz_trainer (no MPI calls in the step),
 * the baseline of weak scaling:
 *   FREEZEBENCH_THREADS=1 mpirun --bind-to core -np 1 dp_step --batch 256
 *   FREEZEBENCH_THREADS=1 mpirun --bind-to core -np 2 dp_step --batch 512
 *   (FZ_DP_STEP_NO_TUNE=1 keeps Open MPI's default non-blocking allreduce instead of
 *   fz_dp_tune_mpi_env's ring)
 *   usage: dp_step [--width W] [--layers L] [--batch B] [--steps N] [SPEC ...]
 * Defaults: the 8×1024 MLP (--width 1024 --layers 8), --batch 256, 10 steps, the specs
 * none prefix:2 prefix:4 prefix:6 prefix:7 last bitfit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clock.h"
#include "freezebench.h"
#include "rng.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(int rank, const char *what)
{
    fprintf(stderr, "dp_step: rank %d: %s: %s\n", rank, what, fz_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
    if (!getenv("FZ_DP_STEP_NO_TUNE"))   /* the Open MPI default, for comparison */
        fz_dp_tune_mpi_env();
    int provided;   /* only this thread calls MPI (also as the team's thread 0) */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t width = 1024, layers = 8, batch = 256, steps = 10;
    const char *defaults[] = { "none", "prefix:2", "prefix:4", "prefix:6", "prefix:7", "last",
                               "bitfit" };
    const char **specs = defaults;
    size_t n_specs = sizeof defaults / sizeof *defaults;
    int first_spec = argc;
    for (int i = 1; i < argc; i++) {
        size_t *dst = !strcmp(argv[i], "--width") ? &width : !strcmp(argv[i], "--layers")
                      ? &layers : !strcmp(argv[i], "--batch") ? &batch
                      : !strcmp(argv[i], "--steps") ? &steps : NULL;
        if (dst && i + 1 < argc) {
            *dst = strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-') {
            first_spec = i;
            break;
        } else {
            if (rank == 0)
                fprintf(stderr, "dp_step: unknown option %s\n", argv[i]);
            MPI_Finalize();
            return 2;
        }
    }
    if (first_spec < argc) {
        specs = (const char **)(argv + first_spec);
        n_specs = (size_t)(argc - first_spec);
    }
    size_t *widths = malloc((layers + 1) * sizeof *widths);
    for (size_t i = 0; i <= layers; i++)
        widths[i] = width;
    fz_sgd opt = { .lr = 1e-4f, .momentum = 0.9f };
    size_t rows = batch / (size_t)ranks;
    float *x = malloc(rows * width * sizeof *x), *y = malloc(rows * width * sizeof *y);
    fz_rng_fill(x, rows * width, 1 + 2 * (uint64_t)rank, -1.0f, 1.0f);
    fz_rng_fill(y, rows * width, 2 + 2 * (uint64_t)rank, -1.0f, 1.0f);
    double *times = malloc(steps * sizeof *times);
    if (rank == 0)
        printf("%d rank%s x %d thread%s, %zux%zu MLP, global batch %zu (%zu per rank), "
               "median of %zu steps\n%-9s %9s %9s %12s %12s %9s %9s %9s %9s\n", ranks,
               ranks > 1 ? "s" : "", fz_get_threads(), fz_get_threads() > 1 ? "s" : "",
               layers, width, batch, rows, steps, "spec", "step_ms", "param_cut",
               "ar_planned", "ar_executed", "ar_cut", "comm_ms", "wait_ms", "hidden_ms");
    double trainable_none = 0, bytes_none = 0;
    for (size_t s = 0; s < n_specs; s++) {
        fz_model *m = fz_mlp_create(widths, layers + 1, 42);
        if (!m || fz_freeze(m, specs[s]) != FZ_OK)
            die(rank, specs[s]);
        fz_dp *dp = ranks > 1 ? fz_dp_create(m, batch, opt, NULL) : NULL;
        fz_trainer *t = dp ? fz_dp_trainer(dp) : fz_trainer_create(m, batch, opt);
        if (!t)
            die(rank, "create");
        fz_dp_comm sum = { 0 };
        for (size_t k = 0; k < steps + 2; k++) {   /* 2 warm-up steps */
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = fz_now();
            fz_status st = dp ? fz_dp_step(dp, x, y, NULL) : fz_train_step(t, x, y, NULL);
            if (st != FZ_OK)
                die(rank, "step");
            double dt = fz_now() - t0;
            MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (k >= 2) {
                times[k - 2] = dt;
                fz_dp_comm c = fz_dp_comm_last(dp);
                sum.comm_s += c.comm_s, sum.wait_s += c.wait_s, sum.hidden_s += c.hidden_s;
            }
        }
        qsort(times, steps, sizeof *times, cmp_double);
        fz_dp_comm c = fz_dp_comm_last(dp);
        double trainable = (double)fz_trainable_params(m);
        double planned = dp ? (double)c.bytes_planned : 4 * trainable;
        double executed = dp ? (double)c.bytes_executed : 0;
        if (s == 0) {
            trainable_none = trainable;
            bytes_none = planned;
        }
        if (rank == 0)
            printf("%-9s %9.1f %9.4f %12.0f %12.0f %9.4f %9.2f %9.2f %9.2f\n", specs[s],
                   1e3 * times[steps / 2], 1 - trainable / trainable_none, planned, executed,
                   1 - planned / bytes_none, 1e3 * sum.comm_s / (double)steps,
                   1e3 * sum.wait_s / (double)steps, 1e3 * sum.hidden_s / (double)steps);
        if (dp)
            fz_dp_free(dp);
        else
            fz_trainer_free(t);
        fz_model_free(m);
    }
    free(times), free(x), free(y), free(widths);
    MPI_Finalize();
    return 0;
}

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
 * none prefix:2 prefix:4 prefix:6 prefix:7 last bitfit.  Every rank must be given the
 * same arguments (checked before any step: exit 2 otherwise, as for a bad option).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli_common.h"
#include "agree.h"
#include "clock.h"
#include "decimal.h"
#include "freezebench.h"
#include "freezebench_dp.h"
#include "freeze_syntax.h"
#include "rng.h"

static const char usage[] =
"usage: dp_step [--width W] [--layers L] [--batch B] [--steps N] [SPEC ...]\n"
"  under mpirun: FREEZEBENCH_THREADS=1 mpirun --bind-to core -np R dp_step --batch B\n"
"The data-parallel training step per freeze spec: the step time (the slowest rank's,\n"
"median over N steps after 2 warm-up steps), the allreduce bytes planned and executed\n"
"beside the trainable parameters, and the communication times.  One rank trains with\n"
"a plain trainer (the baseline of weak scaling).\n"
"  --width W    every layer's width (default 1024)\n"
"  --layers L   layers (default 8)\n"
"  --batch B    the global batch, a multiple of the ranks (default 256)\n"
"  --steps N    timed steps per spec (default 10)\n"
"  SPEC ...     freeze specs (default: none prefix:2 prefix:4 prefix:6 prefix:7 last\n"
"               bitfit)\n"
"  -h, --help   this text\n"
"  --version    the version and the git revision of the build\n"
"FZ_DP_STEP_NO_TUNE=1 keeps Open MPI's default non-blocking allreduce instead of\n"
"fz_dp_tune_mpi_env's ring.  Every rank must be given the same arguments.\n"
"exit status: 0 success, 1 a failure while training, 2 a usage error.\n";

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

/* The arguments, the same way on every rank: 0, -1 for --help, or 2 with msg. */
typedef struct {
    size_t width, layers, batch, steps;
    const char **specs;
    size_t n_specs;
} options;

static int parse(int argc, char **argv, int ranks, options *o, char *msg, size_t size)
{
    static const char *defaults[] = { "none", "prefix:2", "prefix:4", "prefix:6",
                                      "prefix:7", "last", "bitfit" };
    *o = (options){ 1024, 8, 256, 10, defaults, sizeof defaults / sizeof *defaults };
    int first_spec = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return -1;
        size_t *dst = !strcmp(argv[i], "--width") ? &o->width
                      : !strcmp(argv[i], "--layers") ? &o->layers
                      : !strcmp(argv[i], "--batch") ? &o->batch
                      : !strcmp(argv[i], "--steps") ? &o->steps : NULL;
        uint64_t v;
        if (dst) {
            /* Bounded so that the model and the batch stay far from size_t's limits. */
            if (i + 1 >= argc || !parse_whole(argv[i + 1], 1, 1u << 20, &v)) {
                snprintf(msg, size, "%s: '%s' is not a whole number from 1 to 1048576",
                         argv[i], i + 1 < argc ? argv[i + 1] : "");
                return 2;
            }
            *dst = (size_t)v;
            i++;
        } else if (argv[i][0] != '-') {
            first_spec = first_spec < i ? first_spec : i;
            for (; i < argc && argv[i][0] != '-'; i++) {
                if (freeze_spec_syntax(argv[i]) != FZ_OK) {
                    snprintf(msg, size, "SPEC '%s': %s", argv[i], fz_last_error());
                    return 2;
                }
            }
            if (i < argc) {
                snprintf(msg, size, "%s after the specs: options come first", argv[i]);
                return 2;
            }
        } else {
            snprintf(msg, size, "unknown option %s (see --help)", argv[i]);
            return 2;
        }
    }
    if (first_spec < argc) {
        o->specs = (const char **)(argv + first_spec);
        o->n_specs = (size_t)(argc - first_spec);
    }
    if (o->batch % (size_t)ranks != 0) {
        snprintf(msg, size, "--batch %zu: not a multiple of the %d ranks (each trains an "
                 "equal shard)", o->batch, ranks);
        return 2;
    }
    return 0;
}

/* What every rank must share: the model, the batch, the steps and the specs (or each
 * rank's loop waits at another barrier). */
static size_t option_values(const options *o, bool help, fz_agree_value *v)
{
    size_t n = 0;
    agree_text(&v[n++], "--help", help ? "given" : NULL);
    agree_number(&v[n++], "--width", o->width);
    agree_number(&v[n++], "--layers", o->layers);
    agree_number(&v[n++], "--batch", o->batch);
    agree_number(&v[n++], "--steps", o->steps);
    char specs[512] = "";
    for (size_t i = 0; i < o->n_specs; i++) {
        size_t len = strlen(specs);
        snprintf(specs + len, sizeof specs - len, "%s%s", i ? " " : "", o->specs[i]);
    }
    agree_text(&v[n++], "SPEC", specs);
    return n;
}

int main(int argc, char **argv)
{
    /* Before MPI: a question about the program, answered by each process alone. */
    if (fz_cli_version_asked(argc, argv))
        return fz_cli_print_version(stdout, "dp_step");
    if (!getenv("FZ_DP_STEP_NO_TUNE"))   /* the Open MPI default, for comparison */
        fz_dp_tune_mpi_env();
    int provided;   /* only this thread calls MPI (also as the team's thread 0) */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    options o;
    char msg[FZ_AGREE_MSG] = "";
    int status = parse(argc, argv, ranks, &o, msg, sizeof msg);
    bool help = status == -1;
    fz_agree_value v[FZ_AGREE_MAX];
    size_t n = status > 0 ? 0 : option_values(&o, help, v);
    status = dp_agree_print("dp_step", status > 0 ? status : 0, msg, v, n,
                            "every rank must be given the same arguments");
    if (status || help) {
        if (!status && rank == 0)
            fputs(usage, stdout);
        MPI_Finalize();
        return status;
    }
    size_t width = o.width, layers = o.layers, batch = o.batch, steps = o.steps;
    const char **specs = o.specs;
    size_t n_specs = o.n_specs;
    size_t *widths = malloc((layers + 1) * sizeof *widths);
    fz_sgd opt = { .lr = 1e-4f, .momentum = 0.9f };
    size_t rows = batch / (size_t)ranks;
    float *x = malloc(rows * width * sizeof *x), *y = malloc(rows * width * sizeof *y);
    double *times = malloc(steps * sizeof *times);
    if (!widths || !x || !y || !times) {   /* this rank alone, maybe: end them all */
        fprintf(stderr, "dp_step: rank %d: out of memory for a batch of %zu x %zu\n", rank,
                rows, width);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (size_t i = 0; i <= layers; i++)
        widths[i] = width;
    rng_fill(x, rows * width, 1 + 2 * (uint64_t)rank, -1.0f, 1.0f);
    rng_fill(y, rows * width, 2 + 2 * (uint64_t)rank, -1.0f, 1.0f);
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
            double t0 = clock_now();
            fz_status st = dp ? fz_dp_step(dp, x, y, NULL) : fz_train_step(t, x, y, NULL);
            if (st != FZ_OK)
                die(rank, "step");
            double dt = clock_now() - t0;
            MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (k >= 2) {
                times[k - 2] = dt;
                fz_dp_comm c = fz_dp_comm_last(dp);
                sum.comm_s += c.comm_s, sum.wait_s += c.wait_s, sum.hidden_s += c.hidden_s;
            }
        }
        qsort(times, steps, sizeof *times, cmp_double);
        fz_dp_comm c = fz_dp_comm_last(dp);
        double trainable = (double)fz_trainable_elements(m);
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

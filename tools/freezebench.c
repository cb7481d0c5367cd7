/*
 * The freezebench command: inspect and fine-tune .npz models with frozen parameters.
 * See `freezebench --help` (tools/cli_args.c) for the interface.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#include "clock.h"
#include "cli_args.h"
#include "freezebench.h"
#include "mpi_launch.h"
#include "npz.h"
#include "replace.h"
#include "rng.h"

enum { EXIT_FAILED = 1 };
#define PROGRESS_EVERY_S 5.0

static int fail(void)
{
    if (cli_mpi_parallel())
        fprintf(stderr, "freezebench: rank %d: %s\n", cli_mpi_rank(), fz_last_error());
    else
        fprintf(stderr, "freezebench: %s\n", fz_last_error());
    cli_mpi_abort_if_parallel(EXIT_FAILED);   /* the other ranks would wait for us */
    return EXIT_FAILED;
}

static fz_model *load_frozen_model(const fz_cli_args *a)
{
    fz_npz_import imp = { .map = a->map, .ignore_unknown = a->ignore_unknown };
    fz_model *m = fz_mlp_from_state_dict(a->model, &imp);
    if (m && fz_freeze(m, a->freeze) != FZ_OK) {
        fz_model_free(m);
        return NULL;
    }
    return m;
}

static int cmd_params(const fz_cli_args *a)
{
    fz_model *m = load_frozen_model(a);
    if (!m)
        return fail();
    for (size_t i = 0; i < fz_param_count(m); i++) {
        const char *name = fz_param_state_name(m, i);   /* as named_parameters() */
        size_t rows, cols;
        fz_param_shape(m, name, &rows, &cols);
        char shape[64];
        if (strstr(name, ".bias"))
            snprintf(shape, sizeof shape, "[%zu]", rows);
        else
            snprintf(shape, sizeof shape, "[%zu, %zu]", rows, cols);
        printf("Parameter: %s, Shape: %s, Requires grad: %s\n", name, shape,
               fz_requires_grad(m, name) ? "True" : "False");
    }
    fz_model_free(m);
    return 0;
}

/* x (N×in) and y (N×out) of the data file, checked against the model and the batch. */
typedef struct {
    fz_npz file;
    const fz_npz_array *x, *y;
    size_t n;
} dataset;

static int load_data(const fz_cli_args *a, const fz_model *m, dataset *d)
{
    if (fz_npz_read(a->data, &d->file) != FZ_OK)
        return fail();
    d->x = fz_npz_find(&d->file, "x");
    d->y = fz_npz_find(&d->file, "y");
    const char *problem = NULL;
    char msg[256];
    size_t in = fz_width(m, 0), out = fz_width(m, fz_layer_count(m));
    if (!d->x || !d->y)
        problem = !d->x ? "has no array 'x'" : "has no array 'y'";
    else if (d->x->ndim != 2 || d->x->shape[1] != in) {
        snprintf(msg, sizeof msg, "array 'x' must be N x %zu (the model's inputs)", in);
        problem = msg;
    } else if (d->y->ndim != 2 || d->y->shape[1] != out) {
        snprintf(msg, sizeof msg, "array 'y' must be N x %zu (the model's outputs)", out);
        problem = msg;
    } else if (d->x->shape[0] != d->y->shape[0]) {
        snprintf(msg, sizeof msg, "'x' has %zu samples and 'y' %zu", d->x->shape[0],
                 d->y->shape[0]);
        problem = msg;
    } else if (d->x->shape[0] < a->batch) {
        snprintf(msg, sizeof msg, "%zu samples are fewer than --batch %zu", d->x->shape[0],
                 a->batch);
        problem = msg;
    }
    if (problem) {
        fprintf(stderr, "freezebench: %s: %s\n", a->data, problem);
        fz_npz_free(&d->file);
        return EXIT_FAILED;
    }
    d->n = d->x->shape[0];
    return 0;
}

/* Fisher-Yates over the sample indices, from the --seed generator. */
static void shuffle(size_t *order, size_t n, fz_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(fz_rng_next(rng) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* One step on the global batch x, y: data-parallel (this rank's rows) when dp is set. */
static fz_status step(fz_trainer *t, fz_dp *dp, const float *x, const float *y, size_t in,
                      size_t out, float *loss)
{
    if (!dp)
        return fz_train_step(t, x, y, loss);
    size_t first;
    fz_dp_shard(dp, &first, NULL);
    return fz_dp_step(dp, x + first * in, y + first * out, loss);
}

/* One data-parallel epoch, step by step (fz_epoch_run and its cache are one process's):
 * *loss is the mean of the steps' losses. */
static int dp_epoch(const fz_cli_args *a, fz_trainer *t, fz_dp *dp, const dataset *d,
                    const size_t *order, double *loss)
{
    size_t in = d->x->shape[1], out = d->y->shape[1], steps = d->n / a->batch;
    float *bx = malloc(a->batch * in * sizeof(float)), *by = malloc(a->batch * out * sizeof(float));
    if (!bx || !by) {
        free(bx), free(by);
        fprintf(stderr, "freezebench: out of memory for the batch buffers\n");
        return EXIT_FAILED;
    }
    double sum = 0;
    int rc = 0;
    for (size_t s = 0; s < steps && !rc; s++) {
        const float *x = d->x->data + s * a->batch * in, *y = d->y->data + s * a->batch * out;
        if (order) {   /* gather the batch; in file order it is contiguous */
            for (size_t r = 0; r < a->batch; r++) {
                memcpy(bx + r * in, d->x->data + order[s * a->batch + r] * in, in * sizeof(float));
                memcpy(by + r * out, d->y->data + order[s * a->batch + r] * out, out * sizeof(float));
            }
            x = bx, y = by;
        }
        float l;
        if (step(t, dp, x, y, in, out, &l) != FZ_OK)
            rc = fail();
        sum += l;
    }
    *loss = sum / (double)steps;
    free(bx), free(by);
    return rc;
}

/* The epochs, each over the samples in file order or shuffled by --seed, with the freeze
 * schedule applied at its epoch boundaries; one process runs each as fz_epoch_run (with
 * the frozen-prefix cache when asked). */
static int run_epochs(const fz_cli_args *a, fz_trainer *t, fz_dp *dp, fz_model *m,
                      const dataset *d, const fz_freeze_schedule *sched)
{
    size_t *order = malloc(d->n * sizeof *order);
    if (!order) {
        fprintf(stderr, "freezebench: out of memory for the sample order\n");
        return EXIT_FAILED;
    }
    for (size_t i = 0; i < d->n; i++)
        order[i] = i;
    fz_rng rng;
    fz_rng_seed(&rng, a->seed);
    fz_epoch_opts opts = { .cache_frozen = a->cache_frozen,
                           .cache_max_bytes = a->cache_max_bytes };
    if (dp && a->cache_frozen && cli_mpi_rank() == 0)
        fprintf(stderr, "freezebench: note: --cache-frozen is not used under mpirun\n");
    double start = fz_now(), last_report = start;
    int rc = 0;
    bool noted = false;
    for (unsigned long epoch = 1; epoch <= a->epochs && !rc; epoch++) {
        bool applied = false;
        if (sched && fz_freeze_schedule_apply(sched, m, epoch - 1, &applied) != FZ_OK) {
            rc = fail();
            break;
        }
        if (applied)
            noted = false;   /* a new boundary: say again if its cache does not fit */
        if (a->shuffle)
            shuffle(order, d->n, &rng);
        double loss = 0;
        if (dp) {
            rc = dp_epoch(a, t, dp, d, a->shuffle ? order : NULL, &loss);
        } else {
            fz_epoch_stats st;
            if (fz_epoch_run(t, d->x->data, d->y->data, d->n, a->shuffle ? order : NULL,
                             &opts, &st) != FZ_OK)
                rc = fail();
            if (!rc && st.cache_fallback && !noted) {
                fprintf(stderr, "freezebench: note: %s\n", st.note);
                noted = true;
            }
            loss = st.loss;
        }
        if (!rc && cli_mpi_rank() == 0 && (epoch % a->log_every == 0 || epoch == a->epochs))
            printf("Epoch [%lu/%lu], Loss: %.4f\n", epoch, a->epochs, loss);
        double t_now = fz_now();
        if (t_now - last_report >= PROGRESS_EVERY_S && epoch < a->epochs &&
            cli_mpi_rank() == 0) {
            double per_epoch = (t_now - start) / (double)epoch;
            fprintf(stderr, "freezebench: epoch %lu/%lu, %.1f s elapsed, about %.0f s left\n",
                    epoch, a->epochs, t_now - start, per_epoch * (double)(a->epochs - epoch));
            fflush(stdout);
            last_report = t_now;
        }
    }
    free(order);
    return rc;
}

static int cmd_train(const fz_cli_args *a)
{
    if (a->threads >= 0)
        fz_set_threads(a->threads);
    /* Checked before training, so a long run never ends in "cannot write" (or in
     * replacing a device node or a symlink) with the trained model lost. */
    if (fz_file_check_output(a->out) != FZ_OK) {
        fprintf(stderr, "freezebench: --out: %s (checked before training)\n",
                fz_last_error());
        return FZ_CLI_USAGE_ERROR;
    }
    fz_model *m = load_frozen_model(a);
    if (!m)
        return fail();
    dataset d = { 0 };
    int rc = load_data(a, m, &d);
    if (rc) {
        fz_model_free(m);
        return rc;
    }
    /* The schedule is checked against the model before anything trains; its epoch-0
     * entry applies before the trainer is made, which refuses a model with nothing to
     * train. */
    fz_freeze_schedule *sched = NULL;
    if (a->schedule && (!(sched = fz_freeze_schedule_parse(a->schedule)) ||
                        fz_freeze_schedule_check(sched, m) != FZ_OK ||
                        fz_freeze_schedule_apply(sched, m, 0, NULL) != FZ_OK))
        rc = fail();
    /* Under mpirun: every rank reads the files, trains its shard of each --batch, and
     * rank 0 alone writes the (identical) result. */
    fz_dp *dp = !rc && cli_mpi_parallel() ? fz_dp_create(m, a->batch, a->sgd, NULL) : NULL;
    fz_trainer *t = rc ? NULL : dp ? fz_dp_trainer(dp)
                  : cli_mpi_parallel() ? NULL : fz_trainer_create(m, a->batch, a->sgd);
    if (!rc && !t)
        rc = fail();
    if (!rc)
        rc = run_epochs(a, t, dp, m, &d, sched);
    fz_freeze_schedule_free(sched);
    if (!rc && cli_mpi_rank() == 0 && fz_save_npz(m, a->out) != FZ_OK)
        rc = fail();
    if (dp)
        fz_dp_free(dp);
    else
        fz_trainer_free(t);
    fz_npz_free(&d.file);
    fz_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    fz_cli_args args;
    char err[256];
    if (!cli_mpi_start(&argc, &argv))
        return EXIT_FAILED;
    if (fz_cli_parse(argc, argv, &args, err, sizeof err) != 0) {
        fprintf(stderr, "freezebench: %s\n", err);
        return FZ_CLI_USAGE_ERROR;
    }
    int rc = EXIT_FAILED;
    switch (args.command) {
    case FZ_CLI_HELP:
        fz_cli_usage(stdout);
        rc = 0;
        break;
    case FZ_CLI_PARAMS:
        rc = cmd_params(&args);
        break;
    case FZ_CLI_TRAIN:
        rc = cmd_train(&args);
        break;
    }
    /* Output that never arrived (a full disk, > /dev/full, a closed pipe) is a failure,
     * not a success: what was printed is the result of params. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "freezebench: cannot write to standard output: %s\n",
                strerror(errno));
        cli_mpi_abort_if_parallel(EXIT_FAILED);
        return EXIT_FAILED;
    }
    cli_mpi_end();
    return rc;
}

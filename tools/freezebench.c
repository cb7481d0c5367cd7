/*
 * The freezebench command: inspect and fine-tune .npz models with frozen parameters.
 * See `freezebench --help` (tools/cli_args.c) for the interface.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agree.h"
#include "clock.h"
#include "cli_args.h"
#include "cli_common.h"
#include "cli_data.h"
#include "error.h"
#include "freezebench.h"
#include "freezebench_dp.h"
#include "freeze_syntax.h"
#include "mpi_launch.h"
#include "npz.h"
#include "replace.h"
#include "rng.h"

enum { EXIT_FAILED = 1 };
#define PROGRESS_EVERY_S 5.0

/* A failure while the ranks may be inside a collective (training, writing): ends every
 * rank.  Failures before training go through cli_mpi_agree instead. */
static int fail(void)
{
    if (cli_mpi_parallel())
        fprintf(stderr, "freezebench: rank %d: %s\n", cli_mpi_rank(), fz_last_error());
    else
        fprintf(stderr, "freezebench: %s\n", fz_last_error());
    cli_mpi_abort_if_parallel(EXIT_FAILED);   /* the other ranks would wait for us */
    return EXIT_FAILED;
}

/* Fills msg and returns status: the verdict of a check, for cli_mpi_agree. */
static int verdict(int status, char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int verdict(int status, char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return status;
}

/* What every rank must share before anything is read: the command and, for train, the
 * options that set the number of steps and the updates, and those that set which
 * tensors train (fz_dp_create checks the flags they give, but only once the files are
 * read).  Per-rank options (--threads, paths) are not among them.  Returns the count. */
static size_t command_values(const fz_cli_args *a, fz_agree_value *v)
{
    static const char *const command[] = { [FZ_CLI_HELP] = "help",
                                           [FZ_CLI_PARAMS] = "params",
                                           [FZ_CLI_TRAIN] = "train",
                                           [FZ_CLI_EVAL] = "eval",
                                           [FZ_CLI_VERSION] = "version" };
    size_t n = 0;
    agree_text(&v[n++], "the command", command[a->command]);
    if (a->command == FZ_CLI_HELP || a->command == FZ_CLI_VERSION)
        return n;
    agree_text(&v[n++], "--freeze", a->freeze);
    agree_text(&v[n++], "--map", a->map);
    if (a->command != FZ_CLI_TRAIN)
        return n;
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a->seed);
    const char *bucket = getenv("FREEZEBENCH_DP_BUCKET_BYTES");
    agree_number(&v[n++], "--epochs", a->epochs);
    agree_number(&v[n++], "--batch", a->batch);
    agree_real(&v[n++], "--lr", a->sgd.lr, true);
    agree_real(&v[n++], "--momentum", a->sgd.momentum, true);
    agree_real(&v[n++], "--weight-decay", a->sgd.weight_decay, true);
    agree_text(&v[n++], "--seed", a->shuffle ? seed : NULL);
    agree_text(&v[n++], "--schedule", a->schedule);
    agree_text(&v[n++], "FREEZEBENCH_DP_BUCKET_BYTES", bucket && *bucket ? bucket : NULL);
    return n;
}

/* A model from --model, frozen by --freeze (already checked for syntax): 0, or 1 for a
 * file that cannot be read, 2 for a --freeze that does not fit this model. */
static int load_frozen_model(const fz_cli_args *a, fz_model **out, char *msg, size_t size)
{
    fz_npz_import imp = { .map = a->map, .ignore_unknown = a->ignore_unknown,
                          .architecture = a->architecture };
    fz_model *m = fz_mlp_from_state_dict(a->model, &imp);
    if (!m)
        return verdict(EXIT_FAILED, msg, size, "%s", fz_last_error());
    *out = m;
    fz_status st = fz_freeze(m, a->freeze);
    if (st != FZ_OK)   /* a glob that matches nothing is about the file, prefix:K the option */
        return verdict(st == FZ_EINVAL ? FZ_CLI_USAGE_ERROR : EXIT_FAILED, msg, size,
                       "--freeze: %s", fz_last_error());
    return 0;
}

static int cmd_params(const fz_cli_args *a)
{
    char msg[FZ_AGREE_MSG] = "";
    fz_model *m = NULL;
    int status = freeze_spec_syntax(a->freeze) != FZ_OK
                 ? verdict(FZ_CLI_USAGE_ERROR, msg, sizeof msg, "--freeze: %s", fz_last_error())
                 : load_frozen_model(a, &m, msg, sizeof msg);
    /* Under mpirun every rank reads the model, rank 0 prints it. */
    status = cli_mpi_agree(status, msg, NULL, 0);
    for (size_t i = 0; !status && cli_mpi_rank() == 0 && i < fz_param_count(m); i++) {
        const char *name = fz_param_state_name(m, i);   /* as named_parameters() */
        size_t rows, cols;
        fz_param_shape(m, name, &rows, &cols);
        char shape[64];
        /* The last component says which: "a.bias.weight" is a weight. */
        size_t len = strlen(name);
        if (len >= 5 && !strcmp(name + len - 5, ".bias"))
            snprintf(shape, sizeof shape, "[%zu]", rows);
        else
            snprintf(shape, sizeof shape, "[%zu, %zu]", rows, cols);
        printf("Parameter: %s, Shape: %s, Requires grad: %s\n", name, shape,
               fz_requires_grad(m, name) ? "True" : "False");
    }
    fz_model_free(m);
    return status;
}

/* What every rank must share once the data is read: its samples set the steps, and
 * each rank trains its shard of the same global batches. */
static size_t data_values(const cli_dataset *d, fz_agree_value *v)
{
    agree_number(&v[0], "the sample count of --data", d->n);
    uint64_t h = cli_data_hash(d, FZ_AGREE_HASH0);
    v[1].what = "the contents of --data";
    v[1].value = h;
    snprintf(v[1].text, sizeof v[1].text, "(hash %016llx)", (unsigned long long)h);
    return 2;
}

/* Fisher-Yates over the sample indices, from the --seed generator. */
static void shuffle(size_t *order, size_t n, fz_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(rng) % i);
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
static int dp_epoch(const fz_cli_args *a, fz_trainer *t, fz_dp *dp, const cli_dataset *d,
                    const size_t *order, double *loss)
{
    size_t in = d->x->shape[1], out = d->y->shape[1], steps = d->n / a->batch;
    float *bx = malloc(a->batch * in * sizeof(float)), *by = malloc(a->batch * out * sizeof(float));
    if (!bx || !by) {
        free(bx), free(by);
        set_error(FZ_ENOMEM, "out of memory for the batch buffers");
        return fail();   /* the other ranks may have enough: end them too */
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
                      const cli_dataset *d, const fz_freeze_schedule *sched)
{
    size_t *order = malloc(d->n * sizeof *order);
    if (!order) {
        set_error(FZ_ENOMEM, "out of memory for the sample order");
        return fail();
    }
    for (size_t i = 0; i < d->n; i++)
        order[i] = i;
    fz_rng rng;
    rng_seed(&rng, a->seed);
    fz_epoch_opts opts = { .cache_frozen = a->cache_frozen,
                           .cache_max_bytes = a->cache_max_bytes };
    if (dp && a->cache_frozen && cli_mpi_rank() == 0 && !a->quiet)
        fprintf(stderr, "freezebench: note: --cache-frozen is not used under mpirun\n");
    double start = clock_now(), last_report = start;
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
            fz_status est = d->labels
                ? fz_epoch_run_labels(t, d->x->data, d->labels, d->n,
                                      a->shuffle ? order : NULL, &opts, &st)
                : fz_epoch_run(t, d->x->data, d->y->data, d->n, a->shuffle ? order : NULL,
                               &opts, &st);
            if (est != FZ_OK)
                rc = fail();
            if (!rc && st.cache_fallback && !noted && !a->quiet) {
                fprintf(stderr, "freezebench: note: %s\n", st.note);
                noted = true;
            }
            loss = st.loss;
        }
        if (!rc && cli_mpi_rank() == 0 && !a->quiet &&
            (epoch % a->log_every == 0 || epoch == a->epochs))
            printf("Epoch [%lu/%lu], Loss: %.4f\n", epoch, a->epochs, loss);
        double t_now = clock_now();
        if (t_now - last_report >= PROGRESS_EVERY_S && epoch < a->epochs &&
            cli_mpi_rank() == 0 && !a->quiet) {
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

/* Train's checks that need no file: 0, or 2 (a usage error) with msg.  *sched gets the
 * parsed --schedule. */
static int check_train_options(const fz_cli_args *a, fz_freeze_schedule **sched, char *msg,
                               size_t size)
{
    /* Checked before training, so a long run never ends in "cannot write" (or in
     * replacing a device node or a symlink) with the trained model lost.  Every rank
     * checks its own, though rank 0 alone writes: a path that is unusable on one node is
     * a mistake the run should stop at, whichever rank sees it. */
    if (file_check_output(a->out) != FZ_OK)
        return verdict(FZ_CLI_USAGE_ERROR, msg, size, "--out: %s (checked before training)",
                       fz_last_error());
    int ranks = cli_mpi_ranks();
    if (a->batch % (size_t)ranks != 0)
        return verdict(FZ_CLI_USAGE_ERROR, msg, size, "--batch %zu: not a multiple of the %d "
                       "ranks (under mpirun every rank trains an equal shard of the batch)",
                       a->batch, ranks);
    if (freeze_spec_syntax(a->freeze) != FZ_OK)
        return verdict(FZ_CLI_USAGE_ERROR, msg, size, "--freeze: %s", fz_last_error());
    if (!a->schedule)
        return 0;
    if (!(*sched = fz_freeze_schedule_parse(a->schedule)))
        return verdict(FZ_CLI_USAGE_ERROR, msg, size, "--schedule: %s", fz_last_error());
    unsigned long e;
    const char *spec;
    for (size_t i = 0; fz_freeze_schedule_entry(*sched, i, &e, &spec); i++)
        if (e >= a->epochs)
            return verdict(FZ_CLI_USAGE_ERROR, msg, size, "--schedule: entry %lu:%.64s "
                           "would apply after the last epoch (--epochs %lu runs epochs 0 to "
                           "%lu), so it would never take effect", e, spec, a->epochs,
                           a->epochs - 1);
    return 0;
}

/* Train's files: the model (frozen by --freeze, checked against --schedule, whose epoch-0
 * entry applies before the trainer is made) and the data.  0, or 1 (a file) or 2 (an
 * option that does not fit this model) with msg. */
static int load_train_files(const fz_cli_args *a, const fz_freeze_schedule *sched,
                            fz_model **m, cli_dataset *d, char *msg, size_t size)
{
    int status = load_frozen_model(a, m, msg, size);
    if (status)
        return status;
    fz_status st = FZ_OK;
    if (sched && ((st = fz_freeze_schedule_check(sched, *m)) != FZ_OK ||
                  (st = fz_freeze_schedule_apply(sched, *m, 0, NULL)) != FZ_OK))
        return verdict(st == FZ_EINVAL ? FZ_CLI_USAGE_ERROR : EXIT_FAILED, msg, size,
                       "--schedule: %s", fz_last_error());
    return cli_data_load(a->data, *m, a->loss, a->batch, d, msg, size);
}

static int cmd_train(const fz_cli_args *a)
{
    if (a->threads >= 0)
        fz_set_threads(a->threads);
    /* Under mpirun: every rank checks the options and reads the files, and the ranks
     * agree (cli_mpi_agree) before the first collective, so one rank's failure or other
     * arguments end every rank with its message instead of a hang; then every rank
     * trains its shard of each --batch, and rank 0 alone writes the (identical) result. */
    char msg[FZ_AGREE_MSG] = "";
    fz_agree_value v[2];
    fz_freeze_schedule *sched = NULL;
    fz_model *m = NULL;
    cli_dataset d = { 0 };
    fz_dp *dp = NULL;
    fz_trainer *t = NULL;
    int rc = cli_mpi_agree(check_train_options(a, &sched, msg, sizeof msg), msg, NULL, 0);
    if (!rc) {
        rc = load_train_files(a, sched, &m, &d, msg, sizeof msg);
        size_t n = !rc && cli_mpi_parallel() ? data_values(&d, v) : 0;
        rc = cli_mpi_agree(rc, msg, v, n);
    }
    if (!rc && cli_mpi_parallel() && (a->loss != FZ_LOSS_MSE || a->optim != FZ_OPTIM_SGD))
        rc = cli_mpi_agree(FZ_CLI_USAGE_ERROR, "data-parallel training (mpirun) takes "
                           "--loss mse and --optimizer sgd only", NULL, 0);
    if (!rc && cli_mpi_parallel()) {
        /* fz_dp_create decides alike on every rank: all fail together, and end so. */
        if (!(dp = fz_dp_create(m, a->batch, a->sgd, NULL)))
            rc = cli_mpi_agree(EXIT_FAILED, fz_last_error(), NULL, 0);
        t = fz_dp_trainer(dp);
    } else if (!rc) {
        fz_train_opts o = { .loss = a->loss, .optim = a->optim, .sgd = a->sgd,
                            .adamw = a->adamw };
        if (!(t = fz_trainer_create_opts(m, a->batch, &o)))
            rc = fail();
    }
    if (!rc)
        rc = run_epochs(a, t, dp, m, &d, sched);
    fz_freeze_schedule_free(sched);
    if (!rc && cli_mpi_rank() == 0 && fz_save_npz(m, a->out) != FZ_OK)
        rc = fail();
    if (dp)
        fz_dp_free(dp);
    else
        fz_trainer_free(t);
    cli_data_free(&d);
    fz_model_free(m);
    return rc;
}

/* eval: the loss (and for cross-entropy the accuracy) of --model on --data. */
static int cmd_eval(const fz_cli_args *a)
{
    if (cli_mpi_parallel() && cli_mpi_rank() != 0)
        return 0;   /* one process's answer; the other ranks have nothing to add */
    if (a->threads >= 0)
        fz_set_threads(a->threads);
    char msg[FZ_AGREE_MSG] = "";
    fz_npz_import imp = { .map = a->map, .ignore_unknown = a->ignore_unknown,
                          .architecture = a->architecture };
    fz_model *m = fz_mlp_from_state_dict(a->model, &imp);
    cli_dataset d = { 0 };
    int rc = !m ? verdict(EXIT_FAILED, msg, sizeof msg, "%s", fz_last_error())
                : cli_data_load(a->data, m, a->loss, 1, &d, msg, sizeof msg);
    fz_eval e;
    if (!rc && fz_evaluate(m, a->loss, d.n, d.x->data, d.y ? d.y->data : NULL, d.labels,
                           &e) != FZ_OK)
        rc = verdict(EXIT_FAILED, msg, sizeof msg, "%s", fz_last_error());
    if (rc)
        fprintf(stderr, "freezebench: %s\n", msg);
    else if (a->loss == FZ_LOSS_CROSS_ENTROPY)
        printf("loss %.4f accuracy %.4f\n", e.loss, e.accuracy);
    else
        printf("loss %.4f\n", e.loss);
    cli_data_free(&d);
    fz_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    fz_cli_args args;
    char err[FZ_AGREE_MSG];
    /* The library is silent unless asked; a command tells its user about the fallbacks
     * it takes (a refused FREEZEBENCH_ISA, arrays kept aside), unless the user said 0. */
    setenv("FREEZEBENCH_VERBOSE", "1", 0);
    if (!cli_mpi_start(&argc, &argv))
        return EXIT_FAILED;
    /* A rank whose arguments do not parse, or differ from rank 0's, stops every rank
     * before any of them reads a file. */
    fz_agree_value v[FZ_AGREE_MAX];
    int rc = fz_cli_parse(argc, argv, &args, err, sizeof err);
    /* --quiet: errors only.  The library's notes go too (it reads the variable at each
     * note, so this holds from here on). */
    if (rc == 0 && args.quiet)
        setenv("FREEZEBENCH_VERBOSE", "0", 1);
    rc = cli_mpi_agree(rc, err, v, rc ? 0 : command_values(&args, v));
    if (rc == 0) {
        switch (args.command) {
        case FZ_CLI_HELP:
            if (cli_mpi_rank() == 0)
                fz_cli_usage(stdout);
            break;
        case FZ_CLI_VERSION:
            if (cli_mpi_rank() == 0)
                fz_cli_print_version(stdout, "freezebench");   /* a write error: below */
            break;
        case FZ_CLI_PARAMS:
            rc = cmd_params(&args);
            break;
        case FZ_CLI_TRAIN:
            rc = cmd_train(&args);
            break;
        case FZ_CLI_EVAL:
            rc = cmd_eval(&args);
            break;
        }
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

/*
 * freeze_sweep on R > 1 MPI ranks (sweep_dp.h).  The configurations are sweep.c's, built
 * with an fz_dp per model (fzb_sweep_create_ranks); the rows are sweep.c's too
 * (fzb_sweep_add_rows).  Only the timing is this file's own:
 *
 *   - repetitions run round by round, each round visiting every configuration once in
 *     an order shuffled with the round's seed, the same on every rank (Google Benchmark's
 *     random interleaving, made deterministic);
 *   - a configuration's steps per repetition are fixed at its first visit: one untimed
 *     step, one timed step whose slowest rank's time t gives ceil(--min-time / t) steps
 *     (every rank computes the same count from the same reduced t);
 *   - every timed step starts after a barrier and lasts as long as its slowest rank:
 *     the step and each phase are reduced with MPI_MAX over the ranks, and a
 *     repetition's time is the mean over its steps (as Google Benchmark's is);
 *   - the allreduce's time (fz_dp_comm_last: comm_s, hidden_s) is reduced the same way
 *     per step, and the row carries its median over all timed steps.
 *
 * Only rank 0 prints the table and writes the CSV; the peak and bandwidth probes run on
 * rank 0 alone while the other ranks sleep (not spin) in a non-blocking broadcast.
 */
#include "sweep_dp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "agree.h"
#include "clock.h"
#include "error.h"
#include "publish.h"
#include "rng.h"
#include "sweep_impl.h"

#define MAX_STEPS_PER_REP 100000

static int rank, ranks;

/* A failure of this rank alone: the others may be waiting in a collective. */
static _Noreturn void die(const char *what)
{
    fprintf(stderr, "freeze_sweep: rank %d: %s: %s\n", rank, what, fz_last_error());
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);   /* not reached */
}

/* Every rank's decision (agree.h), with what this rank should say printed. */
static int agree(int status, const char *msg, const fz_agree_value *v, size_t n)
{
    return dp_agree_print("freeze_sweep", status, msg, v, n, "every rank must run the "
                          "same configurations and steps");
}

/* Whether `ok` holds on every rank; a rank that failed prints its message (once for
 * all where every rank failed alike: the same input fails the same way). */
static bool all_ok(bool ok, const char *what)
{
    char msg[FZ_AGREE_MSG] = "";
    if (!ok)
        snprintf(msg, sizeof msg, "%s%s%s", what, *what ? ": " : "", fz_last_error());
    return agree(ok ? 0 : 2, msg, NULL, 0) == 0;
}

/* Appends item to a space-separated list in text, cut where it is full (what a cut
 * hides, the check of the configurations as built still sees: configs_value). */
static void list_add(char *text, size_t size, const char *item)
{
    size_t n = strlen(text);
    if (n + 1 < size)
        snprintf(text + n, size - n, "%s%s", n ? " " : "", item);
}

/* What every rank must share before any collective: what ends the program at once
 * (--help, --machine), the options that set each configuration's steps (--repetitions,
 * --min-time, --epoch-samples) and those that set the configurations, which every rank
 * must visit in the same order.  Returns the count. */
static size_t sweep_values(bool help, const fzb_sweep_args *a, fz_agree_value *v)
{
    size_t n = 0;
    agree_text(&v[n++], "--help", help ? "given" : NULL);
    if (help)
        return n;
    char text[1024] = "", item[128];
    agree_text(&v[n++], "--machine", a->machine ? "given" : NULL);
    agree_number(&v[n++], "--repetitions", (uint64_t)a->repetitions);
    agree_real(&v[n++], "--min-time", a->min_time, false);
    agree_number(&v[n++], "--epoch-samples", a->epoch_samples);
    for (size_t i = 0; i < a->n_models; i++) {
        snprintf(item, sizeof item, "%s@%zu", a->models[i].name, a->models[i].batch);
        list_add(text, sizeof text, item);
    }
    agree_text(&v[n++], "--model", text);
    text[0] = '\0';
    for (size_t i = 0; i < a->n_batches; i++) {
        snprintf(item, sizeof item, "%zu", a->batches[i]);
        list_add(text, sizeof text, item);
    }
    agree_text(&v[n++], "--batch", a->n_batches ? text : NULL);
    text[0] = '\0';
    for (size_t i = 0; i < a->n_threads; i++) {
        snprintf(item, sizeof item, "%d", a->threads[i]);
        list_add(text, sizeof text, item);
    }
    agree_text(&v[n++], "--threads", text);
    text[0] = '\0';
    for (size_t i = 0; !a->fit_default_specs && i < a->n_specs; i++)
        list_add(text, sizeof text, a->specs[i]);
    agree_text(&v[n++], "--spec", a->fit_default_specs ? NULL : text);
    return n;
}

/* The configurations as built, in order: what the rounds visit.  The options agree
 * already; this catches what each node resolves for itself (--threads 0: its cores). */
static void configs_value(const fzb_sweep *s, fz_agree_value *v)
{
    uint64_t h = FZ_AGREE_HASH0;
    for (size_t i = 0; i < s->n_configs; i++)
        h = agree_hash(s->configs[i].name, strlen(s->configs[i].name) + 1, h);
    char threads[16];   /* a long list is cut: the hash tells them apart */
    fzb_sweep_threads_text(s, threads, sizeof threads);
    v->what = "the configurations";
    v->value = h;
    snprintf(v->text, sizeof v->text, "(%zu, threads %.15s)", s->n_configs, threads);
}

/* Rank 0's int on every rank; the others sleep while they wait (rank 0 may be measuring
 * the machine's peak, which a spinning neighbour would disturb). */
static int bcast_sleepy(int value)
{
    MPI_Request req;
    MPI_Ibcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    int done = 0;
    for (MPI_Test(&req, &done, MPI_STATUS_IGNORE); !done;
         MPI_Test(&req, &done, MPI_STATUS_IGNORE))
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    return value;
}

/* Google Benchmark flags other than the two read as --repetitions and --min-time steer
 * Google Benchmark's own runs, which the data-parallel sweep does not use. */
static const char *unsupported_flag(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--benchmark_", 12) == 0 &&
            strncmp(argv[i], "--benchmark_repetitions", 23) != 0 &&
            strncmp(argv[i], "--benchmark_min_time", 20) != 0)
            return argv[i];
    return NULL;
}

/* One step of the configuration on this rank's shard of the model's global batch. */
static void dp_step(config *c)
{
    bench_model *bm = c->bm;
    size_t first, rows;
    fz_dp_shard(bm->dp, &first, &rows);
    size_t in = bm->arg->widths[0], out = bm->arg->widths[bm->arg->n_widths - 1];
    if (fz_dp_step(bm->dp, bm->x + first * in, bm->y + first * out, NULL) != FZ_OK)
        die(c->name);
}

/* Flags and threads as the configuration wants them, then one untimed step (sweep.c's
 * prepare, through the data-parallel trainer). */
static void prepare(config *c)
{
    bench_model *bm = c->bm;
    if (bm->current_spec == c->spec && fz_get_threads() == c->threads)
        return;
    if (bm->current_spec != c->spec && fzb_sweep_set_spec(bm, c->spec) != FZ_OK)
        die(c->name);
    fz_set_threads(c->threads);
    if (fz_get_threads() != c->threads) {
        set_error(FZ_EINVAL, "asked for %d threads, the team has %d", c->threads,
                  fz_get_threads());
        die(c->name);
    }
    dp_step(c);
}

enum { M_STEP, M_FWD, M_BWD, M_OPT, M_COMM, M_HIDDEN, N_MEASURES };

/* One timed step: the slowest rank's step, phases and communication. */
static void timed_step(config *c, double m[N_MEASURES])
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = clock_now();
    dp_step(c);
    m[M_STEP] = clock_now() - t0;
    fz_times t = fz_times_last(c->bm->t);
    fz_dp_comm comm = fz_dp_comm_last(c->bm->dp);
    m[M_FWD] = t.fwd, m[M_BWD] = t.bwd, m[M_OPT] = t.opt;
    m[M_COMM] = comm.comm_s, m[M_HIDDEN] = comm.hidden_s;
    MPI_Allreduce(MPI_IN_PLACE, m, N_MEASURES, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
}

/* Per configuration while it runs: every repetition's phase times and every timed
 * step's communication times. */
typedef struct {
    double *rep[N_PHASES];      /* [repetitions] */
    double *comm, *hidden;      /* [repetitions × steps] */
    size_t n_comm;
} samples;

static void samples_free(samples *sm)
{
    for (int p = 0; p < N_PHASES; p++)
        free(sm->rep[p]);
    free(sm->comm);
    free(sm->hidden);
}

/* One repetition of c: its steps, fixed at the first visit. */
static void repetition(config *c, samples *sm, int reps, double min_time)
{
    prepare(c);
    if (c->steps == 0) {
        double m[N_MEASURES];
        timed_step(c, m);   /* the same reduced time on every rank: the same count */
        double n = m[M_STEP] > 0 ? ceil(min_time / m[M_STEP]) : 1;
        c->steps = n < 1 ? 1 : n > MAX_STEPS_PER_REP ? MAX_STEPS_PER_REP : (size_t)n;
        for (int p = 0; p < N_PHASES; p++)
            sm->rep[p] = malloc((size_t)reps * sizeof *sm->rep[p]);
        sm->comm = malloc((size_t)reps * c->steps * sizeof *sm->comm);
        sm->hidden = malloc((size_t)reps * c->steps * sizeof *sm->hidden);
        if (!sm->rep[FWD] || !sm->rep[BWD] || !sm->rep[OPT] || !sm->rep[STEP] || !sm->comm ||
            !sm->hidden) {
            set_error(FZ_ENOMEM, "out of memory for %zu steps' times", c->steps);
            die(c->name);
        }
    }
    double sum[N_MEASURES] = { 0 };
    for (size_t k = 0; k < c->steps; k++) {
        double m[N_MEASURES];
        timed_step(c, m);
        for (int i = 0; i < N_MEASURES; i++)
            sum[i] += m[i];
        sm->comm[sm->n_comm] = m[M_COMM];
        sm->hidden[sm->n_comm++] = m[M_HIDDEN];
    }
    double n = (double)c->steps;
    sm->rep[FWD][c->reps] = sum[M_FWD] / n;
    sm->rep[BWD][c->reps] = sum[M_BWD] / n;
    sm->rep[OPT][c->reps] = sum[M_OPT] / n;
    sm->rep[STEP][c->reps] = sum[M_STEP] / n;
    c->reps++;
    /* What the step counted, as sweep.c's benchmark function records it. */
    fz_trainer *t = c->bm->t;
    fz_dp_comm comm = fz_dp_comm_last(c->bm->dp);
    c->planned = fz_flops_planned(t);
    c->executed = fz_flops_executed(t);
    c->bwd_planned = fz_bwd_planned(t);
    c->bwd_executed = fz_bwd_executed(t);
    c->mem = fz_memory_used(t);
    c->update = fz_update_last(t);
    c->trainable = fz_trainable_elements(c->bm->m);
    c->frozen = fz_frozen_elements(c->bm->m);
    c->ar_planned = (double)comm.bytes_planned;
    c->ar_executed = (double)comm.bytes_executed;
    c->ran = true;
}

/* Every configuration `reps` times, round by round in a seeded order; then each one's
 * min, median and max over its repetitions and its median communication per step. */
static void run_all(fzb_sweep *s, int reps, double min_time)
{
    size_t n = s->n_configs;
    size_t *order = malloc(n * sizeof *order);
    samples *sm = calloc(n, sizeof *sm);
    if (!order || !sm) {
        set_error(FZ_ENOMEM, "out of memory");
        die("freeze_sweep");
    }
    for (int r = 0; r < reps; r++) {
        fz_rng rng;
        rng_seed(&rng, 0x5eed0000u + (uint64_t)r);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n; i > 1; i--) {   /* Fisher-Yates, the same on every rank */
            size_t j = (size_t)(rng_next(&rng) % i), tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        for (size_t i = 0; i < n; i++) {
            repetition(&s->configs[order[i]], &sm[order[i]], reps, min_time);
            fzb_sweep_repetition_done(s);
        }
    }
    for (size_t i = 0; i < n; i++) {
        config *c = &s->configs[i];
        for (int p = 0; p < N_PHASES; p++)
            if (fzb_sweep_keep_samples(c, p, sm[i].rep[p], (size_t)c->reps) != FZ_OK)
                die(c->name);
        double lo, hi;
        fzb_stats(sm[i].comm, sm[i].n_comm, &lo, &c->comm_s, &hi);
        fzb_stats(sm[i].hidden, sm[i].n_comm, &lo, &c->hidden_s, &hi);
        samples_free(&sm[i]);
    }
    free(sm);
    free(order);
}

/* Options this path refuses or cannot take, and a global batch every rank can share;
 * decided the same way on every rank, printed by rank 0.  Returns 0 or the exit status. */
static int check_args(const fzb_sweep_args *a)
{
    const char *why = NULL;
    char text[256];
    if (a->epoch_samples)
        why = "--epoch-samples: not under mpirun with more than one rank (fz_epoch_run "
              "trains one process); run it without mpirun";
    size_t n_batches = a->n_batches ? a->n_batches : 1;
    for (size_t mi = 0; !why && mi < a->n_models; mi++)
        for (size_t bi = 0; !why && bi < n_batches; bi++) {
            size_t batch = a->n_batches ? a->batches[bi] : a->models[mi].batch;
            if (batch % (size_t)ranks == 0)
                continue;
            snprintf(text, sizeof text, "batch %zu of model %s is not a multiple of the %d "
                     "ranks: under mpirun --batch (and @B) is the global batch, split into "
                     "equal shards of batch/%d rows", batch, a->models[mi].name, ranks, ranks);
            why = text;
        }
    if (why && rank == 0)
        fprintf(stderr, "freeze_sweep: %s\n", why);
    return why ? 2 : 0;
}

/* The sweep itself, after the options: returns the exit status, the same on every rank. */
static int sweep_main(const fzb_sweep_args *args)
{
    /* As in one process: measurements bind the team unless FREEZEBENCH_BIND=0. */
    const char *bind = getenv("FREEZEBENCH_BIND");
    fz_set_binding(!bind || strcmp(bind, "0") != 0);
    fzb_context ctx;
    fzb_context_get(&ctx);
    /* Each rank's memory, then one decision: a rank on a smaller node refusing alone
     * would leave the others waiting in fz_dp_create. */
    if (!all_ok(fzb_sweep_check_memory_here(args, ranks) == FZ_OK, ""))
        return 2;
    fzb_sweep *sweep = NULL;
    /* --quiet: rank 0 too keeps to errors (the CSV is still written). */
    FILE *notes = rank == 0 && !args->quiet ? stderr : NULL;
    fz_status st = fzb_sweep_create_ranks(args, ctx.machine.cores, notes,
                                          ranks, &sweep);
    if (!all_ok(st == FZ_OK, ""))
        return 2;
    fz_agree_value configs;
    configs_value(sweep, &configs);
    if (agree(0, "", &configs, 1) != 0) {
        fzb_sweep_free(sweep);   /* collective, as below */
        return 2;
    }

    /* Rank 0 claims the output and measures the limits; the others wait for its word. */
    fzb_csv *table = NULL;
    fzb_publish publish = { .lock_fd = -1 };
    fzb_probes *probes = NULL;
    fzb_results *res = NULL;
    fzb_limits lim = { 0 };
    int status = 0;
    if (rank == 0) {
        char threads[160];
        fzb_sweep_threads_text(sweep, threads, sizeof threads - 16);
        snprintf(threads + strlen(threads), 16, "-r%d", ranks);
        fzb_publish_opts po = { .output = args->output, .prefix = "", .threads = threads,
                                .append = args->append, .overwrite = args->overwrite,
                                .force = args->force, .allow_dirty = args->allow_dirty };
        fzb_probe_options probe_opt = { .l3_bytes = ctx.machine.l3_bytes, .repetitions = 3,
                                        .quick = args->quick_probes };
        if (!(table = fzb_result_table())) {
            fprintf(stderr, "freeze_sweep: out of memory\n");
            status = 1;
        } else if (args->write_csv &&
                   fzb_publish_begin(&publish, &po, &ctx, table, notes) != FZ_OK) {
            fprintf(stderr, "freeze_sweep: --output: %s\n", fz_last_error());
            status = 2;
        } else if (!(probes = fzb_probes_register(&probe_opt))) {
            fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
            status = 1;
        } else if (!(res = fzb_run_all(args->verbose ? FZB_STDERR : FZB_QUIET)) ||
                   fzb_probes_read(res, &lim)) {
            fprintf(stderr, "freeze_sweep: the probes did not run\n");
            status = 1;
        } else if (notes) {
            fprintf(notes, "freeze_sweep: %d ranks: %zu configurations × %d repetitions, "
                    "global batch split into %d shards (isa %s); progress below, the table "
                    "on stdout\n", ranks, fzb_sweep_count(sweep), args->repetitions, ranks,
                    fz_isa());
        }
    }
    status = bcast_sleepy(status);
    if (status == 0) {
        sweep->min_time = args->min_time;
        sweep->reps_expected = sweep->n_configs * (size_t)args->repetitions;
        sweep->t_start = clock_now();
        run_all(sweep, args->repetitions, args->min_time);
    }
    if (status == 0 && rank == 0) {
        if (fzb_sweep_add_rows(sweep, &lim, &ctx, table) != FZ_OK) {
            fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
            status = 1;
        } else {
            if (!args->quiet) {
                printf("freeze_sweep on %s (%s, isa %s), %d MPI ranks\n",
                       ctx.machine.cpu_model, ctx.machine.arch, fz_isa(), ranks);
                fzb_print_limits(stdout, &lim, args->quick_probes);
                fzb_sweep_print(sweep, stdout);
            }
            if (args->write_csv && fzb_publish_write(&publish, table) != FZ_OK) {
                fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
                status = 1;
            } else if (args->write_csv && notes) {
                fprintf(notes, "freeze_sweep: wrote %zu rows to %s\n", fzb_csv_rows(table),
                        publish.path);
            }
        }
    }
    fzb_publish_end(&publish);
    fzb_results_free(res);
    fzb_probes_free(probes);
    fzb_csv_free(table);
    fzb_sweep_free(sweep);   /* collective: frees each fz_dp's communicator */
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return status;
}

static int mpi_main(int argc, char **argv)
{
    /* Every rank parses its own argv; before any collective the ranks agree on the
     * outcome and on the options (sweep_values), so a rank given other arguments, or
     * whose arguments do not parse, ends every rank with its message, not a hang. */
    char msg[FZ_AGREE_MSG] = "";
    int status = 0;
    const char *flag = unsupported_flag(argc, argv);
    bool help = false;
    for (int i = 1; !flag && i < argc; i++)
        help |= strcmp(argv[i], "--help") == 0;
    fzb_sweep_args args;
    if (flag) {
        snprintf(msg, sizeof msg, "%s: not supported under mpirun with more than one rank "
                 "(the sweep times its own steps there, not through Google Benchmark; "
                 "--repetitions and --min-time are)", flag);
        status = 2;
    } else if (!help) {
        fzb_init_with_defaults(&argc, &argv, NULL, 0, fzb_sweep_usage);   /* for the probes */
        if (fzb_sweep_args_parse(argc, argv, &args) != FZ_OK) {
            snprintf(msg, sizeof msg, "%s", fz_last_error());
            status = 2;
        }
    }
    fz_agree_value v[FZ_AGREE_MAX];
    status = agree(status, msg, v, status ? 0 : sweep_values(help, &args, v));
    if (status)
        return status;
    if (help) {
        if (rank == 0)
            fputs(fzb_sweep_usage, stdout);
        return 0;
    }
    if (args.machine) {
        if (rank != 0)
            return 0;
        fzb_machine_info m;
        fzb_machine_info_get(&m);
        fzb_machine_info_openblas(&m, true);
        fzb_machine_info_json(&m, stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    status = check_args(&args);
    return status ? status : sweep_main(&args);
}

int fzb_sweep_mpi_main(int argc, char **argv)
{
    fz_dp_tune_mpi_env();   /* read by MPI_Init: Open MPI's faster allreduce on one node */
    int provided;
    /* Only the main thread calls MPI; the thread team never does. */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    /* Only rank 0 publishes: the others' stdout goes nowhere (errors still reach stderr). */
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "freeze_sweep: rank %d: cannot silence stdout\n", rank);
    int status = mpi_main(argc, argv);
    fflush(stdout);
    MPI_Finalize();
    return status;
}

/*
 * The sweep's own types, shared by its files and by no one else: sweep.c (building the
 * configurations, timing them with Google Benchmark, the rows), sweep_print.c (the
 * table) and sweep_dp.c (the same configurations timed data-parallel under mpirun).
 */
#ifndef FZB_SWEEP_IMPL_H
#define FZB_SWEEP_IMPL_H

#include "freezebench_dp.h"
#include "sweep.h"

enum { FWD, BWD, OPT, STEP, N_PHASES };

/* What one benchmark iteration is: a training step (four phase rows), or a whole epoch
 * over --epoch-samples samples through fz_epoch_run without or with the frozen-prefix
 * cache (one row each, phase epoch or epoch_cached). */
typedef enum { KIND_STEP, KIND_EPOCH, KIND_EPOCH_CACHED, N_KINDS } config_kind;
extern const char *const fzb_sweep_kind_names[N_KINDS];

/* One model at one batch: shared by every spec and thread count, re-frozen as needed.
 * x and y hold the whole (global) batch; under mpirun each rank trains its shard of
 * them through `dp`, and `t` is the data-parallel trainer's own (fz_dp_trainer). */
typedef struct {
    const fzb_model_arg *arg;
    size_t batch;
    fz_model *m;
    fz_trainer *t;
    fz_dp *dp;                  /* NULL in one process */
    float *x, *y;
    float *ex, *ey;             /* the epoch phases' samples, n_epoch of them, or NULL */
    size_t n_epoch;
    const char *current_spec;   /* what the flags are set to now */
    char fitted[FZB_DEFAULT_SPECS][FZB_SPEC_TEXT];   /* without --spec: this model's specs */
} bench_model;

typedef struct {
    fzb_sweep *sweep;
    bench_model *bm;
    const char *spec;
    int threads;
    config_kind kind;
    char name[192];
    /* From the benchmark function (the last step it ran). */
    bool ran;
    fz_flops planned, executed;
    fz_bwd_split bwd_planned, bwd_executed;
    fz_memory mem;
    size_t trainable, frozen;
    /* Where the last step's update ran: the optimizer row's bytes count only what ran in
     * the optimizer phase (the rest was folded into the backward). */
    fz_update_split update;
    size_t cache_bytes;         /* epoch_cached: the cache's memory */
    /* From the finished runs: every repetition's time per phase (reps of them, in
     * repetition order; NULL for a phase not timed), and what the rows derive from them. */
    int reps;
    double *samples[N_PHASES];
    double tmin[N_PHASES], tmed[N_PHASES], tmax[N_PHASES];
    fzb_interval tmed_ci[N_PHASES];
    double flop_cut[N_PHASES], time_cut[N_PHASES];
    fzb_interval time_cut_ci[N_PHASES];
    /* Data parallel (sweep_dp.c): steps per repetition, and per step the gradient bytes
     * each rank hands to the allreduce and the median communication time. */
    size_t steps;
    double ar_planned, ar_executed, comm_s, hidden_s;
} config;

struct fzb_sweep {
    bench_model *models;
    size_t n_models;
    config *configs;
    size_t n_configs;
    int threads[FZB_SWEEP_MAX];
    size_t n_threads;
    int ranks;                  /* 1, or the MPI ranks training every configuration */
    /* Progress: Google Benchmark reports an interleaved benchmark only when its last
     * repetition is done, so the sweep counts repetitions itself. */
    FILE *progress;
    double min_time;
    size_t reps_expected, reps_done;
    double t_start, t_printed;
};

/* fzb_sweep_create, with every model trained by an fz_dp over MPI_COMM_WORLD when
 * `ranks` > 1 (MPI initialised; collective: every rank calls it with the same args). */
fz_status fzb_sweep_create_ranks(const fzb_sweep_args *a, int cores, FILE *notes, int ranks,
                                 fzb_sweep **out);

/* fzb_sweep_check_memory against what this process may use: 80% of the physical memory,
 * or a lower ulimit -v / -d. */
fz_status fzb_sweep_check_memory_here(const fzb_sweep_args *a, int ranks);

/* Sets the model's flags to `spec`; FZ_OK only if the spec fits and leaves work to do. */
fz_status fzb_sweep_set_spec(bench_model *bm, const char *spec);

/* Keeps n > 0 repetition times of one phase of c (copied) and sets its min, median, max
 * and the median's interval; every phase of c must have the same n (c->reps). */
fz_status fzb_sweep_keep_samples(config *c, int phase, const double *v, size_t n);

/* The configuration of spec `none` with c's model, threads and kind, if it ran. */
const config *fzb_sweep_none_of(const fzb_sweep *s, const config *c);

/* Rows of every configuration that ran, from the times already in the configurations
 * (tmin, tmed, tmax, reps): cuts against `none`, then fzb_result_add.  Under mpirun the
 * rows describe the whole job (results/README.md): FLOPs and optimizer bytes summed over
 * the ranks, the peak of ranks × threads cores. */
fz_status fzb_sweep_add_rows(fzb_sweep *s, const fzb_limits *lim, const fzb_context *ctx,
                             fzb_csv *table);

#endif

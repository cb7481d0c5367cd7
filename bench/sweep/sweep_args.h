/*
 * The freeze sweep's command line: GNU long options, `--opt value` or `--opt=value`.
 * Options (each may be given more than once; values add up):
 *
 *   --model M[@B]    an MLP by its widths: comma-separated items, each a width W or W×R,
 *                    or a user's model archive M.npz (any MLP's state_dict, read as
 *                    fz_mlp_from_state_dict reads it: its own parameters and names)
 *                    (R copies of W, written WxR): "10,5,1", "1024x9" (8 layers of
 *                    1024), "784,1024x3,10".  @B sets its batch (default 64).
 *   --batch B[,B..]  batch sizes; replaces every model's own batch.
 *   --threads T[,T..]  thread counts; 0 = all cores.
 *   --spec S         a freeze spec (see freezebench.h), e.g. --spec prefix:2 --spec 'fc4.*'.
 *                    `none` is always measured: every cut is against it.
 *   --repetitions N  repetitions of every configuration (Google Benchmark's, interleaved;
 *                    set per benchmark: --benchmark_repetitions=N is read as this)
 *   --min-time S     seconds each repetition runs at least (--benchmark_min_time likewise)
 *   --quick-probes   the peak and bandwidth probes on small arrays and short runs (tests)
 *   --output PATH    the CSV file (default results/<system>-<threads>.csv; publish.h
 *                    says what happens when it exists)
 *   --append         keep the rows already in it (same schema and machine)
 *   --overwrite      replace an existing --output
 *   --force          with --append: rows of another machine too
 *   --allow-dirty    write results from a build of a tree with uncommitted changes
 *   --machine        print the system description as JSON and exit
 *   --no-csv         print the table only
 *   --verbose        Google Benchmark's own report of every run on stderr
 *   --epoch-samples N  also time whole epochs over N samples, without and with the
 *                    frozen-prefix cache (phases epoch, epoch_cached)
 *   --help
 *
 * Under mpirun with R > 1 ranks (sweep_dp.h) --batch and @B are the global batch, a
 * multiple of R; --epoch-samples is refused there.
 *
 * Without --model: 10,5,1@64 and 1024x9@256; without --threads: 1 thread and all cores.
 * Without --spec each model gets the default specs fitted to its depth
 * (fzb_default_specs): for 1024x9 none, prefix:2, prefix:4, prefix:6, prefix:7, fc4.*,
 * last, bitfit; for 10,5,1 none, prefix:1, bitfit.
 */
#ifndef FZB_SWEEP_ARGS_H
#define FZB_SWEEP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "freezebench.h"

#define FZB_SWEEP_MAX 32          /* entries of each list */
#define FZB_SWEEP_MAX_WIDTHS 64   /* widths of one model */
#define FZB_SPEC_TEXT 32          /* room for a default spec: "prefix:63", "fc32.*" */
#define FZB_DEFAULT_SPECS 8       /* at most this many default specs per model */

typedef struct {
    char name[96];                /* as given, without @B: "1024x9"; an archive's file name */
    char path[512];               /* a user's model archive (M.npz), or "" for widths */
    size_t widths[FZB_SWEEP_MAX_WIDTHS];
    size_t n_widths;
    size_t batch;
} fzb_model_arg;

typedef struct {
    fzb_model_arg models[FZB_SWEEP_MAX];
    size_t n_models;
    size_t batches[FZB_SWEEP_MAX];   /* empty: each model's own batch */
    size_t n_batches;
    int threads[FZB_SWEEP_MAX];      /* as given: 0 = all cores */
    size_t n_threads;
    const char *specs[FZB_SWEEP_MAX];   /* the --spec values; specs[0] is "none" */
    size_t n_specs;
    bool fit_default_specs;          /* no --spec: each model its fzb_default_specs */
    int repetitions;
    double min_time;
    const char *output;              /* NULL: the default path */
    bool write_csv;
    bool append;                     /* keep the rows already in the output file */
    bool overwrite;                  /* replace an existing output file */
    bool force;                      /* --append across machines */
    bool allow_dirty;                /* write from a -dirty build */
    bool machine;                    /* print the system description and exit */
    bool verbose;
    bool quiet;          /* --quiet: errors only (no progress, notes or table) */
    bool quick_probes;               /* small probe arrays, short probe runs */
    size_t epoch_samples;            /* 0: no epoch phases */
    bool help;
} fzb_sweep_args;

/* Chosen from measured interval widths (README, "The main job"): on a 2-core Zen 4 VM,
 * 10 repetitions of 0.1 s left the headline step cuts ±3-5 points wide, 30 of 0.05 s
 * brought them within ±3 with the default sweep under 2 minutes.  More, shorter
 * repetitions narrow an interval more than fewer, longer ones: the noise here is slow
 * outliers, which a median of many samples sets aside. */
#define FZB_SWEEP_DEFAULT_REPETITIONS 30
#define FZB_SWEEP_DEFAULT_MIN_TIME 0.05

/* Parses the options left after Google Benchmark took its own flags.  FZ_EINVAL with a
 * message naming the option and the value (fz_last_error) on the first bad one;
 * `out` is then unspecified.  Freeze specs are checked for syntax here; whether a spec
 * fits a model is decided when the sweep is built. */
fz_status fzb_sweep_args_parse(int argc, char **argv, fzb_sweep_args *out);

/* The default freeze specs for a model of `layers` layers, into specs[0..n), n <=
 * FZB_DEFAULT_SPECS: none; prefix:K for K = L/4, L/2, 3L/4, L-1 (K >= 1, no repeats);
 * fc(L/2).* and last where L >= 4 (with fewer layers they repeat a prefix); bitfit.
 * Returns n. */
size_t fzb_default_specs(size_t layers, char specs[][FZB_SPEC_TEXT]);

/* Parses one --model value into `m`. */
fz_status fzb_parse_model(const char *text, fzb_model_arg *m);

/* Bytes one rank of `ranks` holds at once for the sweep `a` (all its models and batches
 * live together), from the widths, batches and --epoch-samples alone: per model and
 * batch the parameters, and at spec `none` (every parameter trained, which the sweep
 * always measures) their gradients, the optimizer's undo copies (two with momentum) and
 * momentum; the forward activations kept for the backward, the step's five
 * batch × widest-layer buffers, the caller's x and y, and the epoch samples with their
 * frozen-prefix cache.  The frozen weights' packs never outgrow the gradients they
 * replace, so they add nothing to the peak.  A lower bound of what the run touches
 * (allocator, thread team and Google Benchmark come on top): what exceeds the memory
 * here cannot run. */
double fzb_sweep_planned_bytes(const fzb_sweep_args *a, int ranks);

/* The share of the physical memory a sweep may plan to use: beyond it the run would
 * swap or meet the OOM killer, and its times would measure paging. */
#define FZB_SWEEP_MEMORY_SHARE 0.8

/* FZ_ENOMEM, with a message naming the model and batch that needs the most, what the
 * whole sweep needs and `usable_what`, when fzb_sweep_planned_bytes exceeds
 * `usable_bytes` (0 or less: no limit known, FZ_OK).  Checked before anything is
 * allocated, so an impossible sweep is refused at once instead of after minutes of
 * initialising memory it cannot finish with. */
fz_status fzb_sweep_check_memory(const fzb_sweep_args *a, int ranks, double usable_bytes,
                                 const char *usable_what);

/* The usage text. */
extern const char fzb_sweep_usage[];

#endif

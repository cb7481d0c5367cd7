/*
 * The results CSV schema (results/README.md documents every column): one row per
 * measurement, machine columns first, then configuration, measurement and derived
 * columns.  Everything that writes results — the bench programs here, the PyTorch
 * reference script — writes these columns in this order.
 */
#ifndef FZB_RESULTS_H
#define FZB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "machine_info.h"
#include "stats.h"

#define FZB_SCHEMA_VERSION 4

/* Columns of a file, in order. */
extern const char *const fzb_result_columns[];
extern const size_t fzb_result_n_columns;

/* What a whole file shares: where and when it was measured. */
typedef struct {
    fzb_machine_info machine;
    char utc_time[32];   /* ISO 8601, "2026-11-28T10:24:26Z" */
    const char *isa;
} fzb_context;

void fzb_context_get(fzb_context *c);

/* The system description as one JSON object, with the schema's version and columns, so
 * every other writer of results (bench/pytorch_sweep.py, through freeze_sweep --machine)
 * takes all three from here. */
void fzb_machine_info_json(const fzb_machine_info *m, FILE *out);

/* One measurement.  A double that does not apply is NAN and is written as an empty field. */
typedef struct {
    const char *bench;          /* "freeze_sweep", "kernel_bench" */
    const char *impl;           /* "freezebench", "openblas", "blis", "pytorch" */
    const char *model;          /* "1024x9", "10,5,1"; a kernel's shape "MxNxK" or "n=..." */
    size_t batch;               /* 0 where no batch applies */
    const char *freeze_spec;    /* "" where none applies */
    double trainable_params, frozen_params;
    int threads;
    const char *phase;          /* forward, backward, optimizer, step; or the kernel */
    double flops_planned, flops_executed;                 /* per call / per step */
    double dgrad_flops_planned, dgrad_flops_executed;     /* backward split; 0 elsewhere */
    double wgrad_flops_planned, wgrad_flops_executed;
    double time_min_s, time_median_s, time_max_s;         /* per call, over repetitions */
    int repetitions;
    /* Every repetition's time, in the order of the repetitions (NULL: none kept), and the
     * median's 95% interval (stats.h; NAN ends: none). */
    const double *samples;
    fzb_interval time_median_ci;
    double bytes;               /* bytes moved per call (memory-bound kernels), else 0 */
    double peak_gflops;         /* this CPU's FMA peak for `threads` threads */
    const char *peak_isa;       /* the vector ISA the peak was measured with: "avx512" */
    double bandwidth_gbytes_per_s;   /* this CPU's streaming bandwidth */
    bool memory_bound;          /* fraction_of_peak against bandwidth, not FLOP peak */
    double flop_cut, time_cut;  /* 1 - x/x_none on the same model, batch, threads, phase */
    fzb_interval time_cut_ci;   /* 95% bootstrap interval of time_cut; NAN ends: none */
    double activation_bytes;
    double cache_bytes;         /* epoch_cached rows: the frozen-prefix cache; else 0 */
    /* Data parallel under mpirun (0 = one process, written as 1): gradient bytes per
     * step each rank hands to the allreduce, planned (4 × trainable) and executed, and
     * the communication time per step with the part overlapped with the backward. */
    int ranks;
    double allreduce_bytes_planned, allreduce_bytes_executed;
    double comm_time_s, comm_hidden_s;
} fzb_result;

/* Appends `r` as a row of `table` (made with fzb_result_columns). */
fz_status fzb_result_add(fzb_csv *table, const fzb_context *c, const fzb_result *r);

/* A new table with the schema's columns; NULL when out of memory. */
fzb_csv *fzb_result_table(void);

/* For --append: copies the rows of the results file at `path` (if there is one) into
 * `table`.  FZ_EFORMAT, naming the file and what differs, when the file is of another
 * schema (other columns, or a row of another schema_version); with `same_machine`,
 * FZ_EINVAL when a row was measured on another machine than that context's (NULL: rows
 * of any machine are kept).  On a refusal nothing is added.  Called before a run, so a
 * mismatch costs no measuring. */
fz_status fzb_result_table_append_file(fzb_csv *table, const char *path,
                                       const fzb_context *same_machine);

/* Median, min and max of n values (n >= 1); `v` is sorted in place. */
void fzb_stats(double *v, size_t n, double *min, double *median, double *max);

/* Sets the time columns of `r` from n samples in the order they ran (kept, not copied:
 * they must live until the row is added): min, median, max, repetitions and the
 * median's interval. */
void fzb_result_set_samples(fzb_result *r, const double *samples, size_t n);

#endif

/*
 * The freeze sweep: models × batch × threads × freeze specs, each configuration one
 * Google Benchmark (a training step per iteration), its rows built from the finished runs.
 * Split from the program so the tests can run a tiny sweep in-process.
 */
#ifndef FZB_SWEEP_H
#define FZB_SWEEP_H

#include <stdio.h>

#include "gbench.h"
#include "probes.h"
#include "results.h"
#include "sweep_args.h"

typedef struct fzb_sweep fzb_sweep;

/* Builds every model, trainer and configuration.  A spec that does not fit a model (a
 * prefix deeper than it, a glob naming no parameter of it, every parameter frozen) is
 * skipped for that model with a note on `notes` (may be NULL); a spec that fits no model
 * is FZ_EINVAL.  `cores` resolves thread count 0. */
fz_status fzb_sweep_create(const fzb_sweep_args *a, int cores, FILE *notes, fzb_sweep **out);
void      fzb_sweep_free(fzb_sweep *s);

size_t fzb_sweep_count(const fzb_sweep *s);                 /* configurations */
/* The thread counts, resolved and without repeats, e.g. "1_2" for the file name. */
void   fzb_sweep_threads_text(const fzb_sweep *s, char *out, size_t size);

/* Registers one benchmark per configuration, with the args' repetitions and min time. */
fz_status fzb_sweep_register(fzb_sweep *s, const fzb_sweep_args *a);

/* Counts `n` more repetitions in the progress line's count and time left: the probes',
 * which run among the sweep's; each calls fzb_sweep_repetition_done(sweep) when done. */
void fzb_sweep_expect_extra(fzb_sweep *s, size_t n);
void fzb_sweep_repetition_done(void *sweep);

/* Turns the finished runs into rows of `table` (phases forward, backward, optimizer and
 * step per configuration that ran), cuts against `none` of the same model, batch and
 * thread count.  Configurations the filter left out produce no rows. */
fz_status fzb_sweep_rows(fzb_sweep *s, const fzb_results *r, const fzb_limits *lim,
                         const fzb_context *ctx, fzb_csv *table);

/* The table a person reads, from the rows built above. */
void fzb_sweep_print(const fzb_sweep *s, FILE *out);

#endif

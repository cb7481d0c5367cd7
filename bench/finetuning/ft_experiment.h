/*
 * The fine-tuning experiment itself: the data of both phases, the pretraining (once),
 * and one fine-tuning run per optimizer, freeze setting and cache setting, each starting
 * from the same pretrained hidden layers and the same new head.
 */
#ifndef FT_EXPERIMENT_H
#define FT_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "class_data.h"
#include "ft_args.h"

/* Pretraining: classes 0-4; fine-tuning: classes 5-9 relabelled 0-4; train and test
 * sets of each (test = Fashion-MNIST's t10k split). */
typedef struct {
    fz_class_data pre_train, pre_test, ft_train, ft_test;
} ft_data;

/* One evaluation of one run: an epoch runs in args->evals_per_epoch parts of its steps
 * (ft_part_end), each followed by a test evaluation, so a time to the target is read to
 * within a part, not a whole epoch.  The part's figures are measured when it ends. */
typedef struct {
    unsigned epoch;            /* 1-based: the epoch the part belongs to */
    unsigned evaluation;       /* 1-based: the part within its epoch */
    double epochs_done;        /* epochs trained at the evaluation: epoch - 1 + steps/S */
    double time_s;             /* cumulative training wall time (evaluation excluded) */
    double part_s;             /* this part's training wall time */
    double train_loss;         /* mean of the part's step losses, before each update */
    double test_loss, test_accuracy;
    size_t trainable, frozen;  /* parameter elements during this epoch */
    size_t optimizer_bytes;    /* fz_memory_used().optimizer after the part */
    size_t cache_bytes, steps, cached_steps;   /* after the part; the part's steps */
} ft_eval;

typedef struct {
    fz_optim optim;
    const ft_spec *spec;
    bool cache;
    ft_eval *evals;            /* args->epochs × args->evals_per_epoch, in order */
    size_t n_evals;
    double best_accuracy;      /* over every evaluation */
    double target_accuracy;    /* NAN where the group has no `none` run */
    double time_to_target_s;   /* time_s of the first evaluation at it; NAN: never */
    unsigned target_epoch;     /* that evaluation's epoch; 0: never */
    double target_epochs_done; /* its epochs_done; NAN: never */
} ft_run;

/* Reads both splits from args->data_dir and selects the classes, keeping the first
 * args->max_train / max_test samples of each set where those are set.  FZ_EIO when the
 * files are not there (the caller may skip), else class_data's errors. */
fz_status ft_data_load(const ft_args *a, ft_data *d);
void      ft_data_free(ft_data *d);

/* The sample order of epoch `epoch` (0-based) of n samples: a Fisher-Yates shuffle
 * seeded by the seed and the epoch, the same for every run, so runs differ only by
 * their freeze setting, optimizer and cache. */
void ft_shuffle(size_t *order, size_t n, uint64_t seed, unsigned epoch);

/* Pretrains a model of args->widths on classes 0-4 with AdamW (the defaults) for
 * args->pretrain_epochs; *accuracy is its test accuracy on classes 0-4, *seconds its
 * training time. */
fz_status ft_pretrain(const ft_args *a, const ft_data *d, fz_model **out, double *accuracy,
                      double *seconds);

/* The step after which part j (1..evals) of an epoch of `steps` steps ends: j·steps/evals
 * rounded down, so the parts are nearly equal and the last ends the epoch (the same rule
 * as bench/pytorch_finetune.py's). */
size_t ft_part_end(size_t steps, unsigned evals, unsigned j);

/* One fine-tuning run: a new model whose hidden layers are copies of `pretrained`'s and
 * whose head is drawn from seed+1 (the same head for every run), frozen per run->spec,
 * trained on classes 5-9 for args->epochs, each epoch in args->evals_per_epoch parts
 * with a test evaluation after each.  Fills run->evals (room for epochs × evals_per_epoch)
 * and best_accuracy; FZ_EINVAL when an epoch has fewer steps than evaluations. */
fz_status ft_finetune(const ft_args *a, const ft_data *d, fz_model *pretrained,
                      ft_run *run);

/* Whether `spec` freezes all of fc1 at its first epoch, so the frozen-prefix cache has
 * something to keep (a run with --cache would otherwise repeat the run without it). */
bool ft_spec_caches(const ft_args *a, const ft_spec *spec);

/* Per epoch of a run of `spec` with --cache, whether it asks for the frozen-prefix
 * cache: where a step can read it, in that epoch (the previous epoch's prefix, no deeper
 * than this one's, is still frozen, so fz_epoch_run keeps its cache) or in the next
 * (this epoch's prefix stays frozen then).  use: args->epochs entries. */
fz_status ft_cache_epochs(const ft_args *a, const ft_spec *spec, bool *use);

/* Per optimizer: target = fraction × the best accuracy of its `none` run (without the
 * cache, which `none` has nothing for; a run with the cache shares its spec's target),
 * and each run's first evaluation at or above it. */
void ft_targets(ft_run *runs, size_t n, double fraction);

#endif

/*
 * The fine-tuning benchmark's options (bench/finetune.c): what to pretrain and
 * fine-tune, which freeze specs, optimizers and caches to compare, and where the CSV
 * goes.  `finetune --help` prints ft_usage.
 */
#ifndef FT_ARGS_H
#define FT_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_data.h"
#include "freezebench.h"

#define FT_MAX_WIDTHS 16
#define FT_MAX_SPECS 32
#define FT_CLASSES 5            /* each phase's head: classes 0-4, then 5-9 relabelled */

/* One freeze setting: a plain spec (fz_freeze) or a schedule (fz_freeze_schedule). */
typedef struct {
    char name[64];              /* the CSV's freeze_spec: "prefix:1", "gradual" */
    char text[256];             /* the spec, or the schedule's text */
    bool schedule;
} ft_spec;

typedef struct {
    const char *data_dir;
    size_t widths[FT_MAX_WIDTHS + 1];   /* the hidden stack, then the head (FT_CLASSES) */
    size_t n_widths;                    /* with the head */
    char model_text[256];               /* "784,512,512,512,5" */
    size_t batch;
    unsigned pretrain_epochs, epochs;
    unsigned evals_per_epoch;           /* test evaluations per fine-tuning epoch */
    bool sgd, adamw;                    /* --optimizer */
    ft_spec specs[FT_MAX_SPECS];
    size_t n_specs;
    bool cache;
    int threads;
    uint64_t seed;
    double target_fraction;
    bool quick;
    size_t max_train, max_test;         /* samples per phase; 0: all (--quick: 512, 256) */
    const char *output;
    bool overwrite, allow_dirty, write_csv, help, version;
    bool quiet;                         /* --quiet: errors only (no progress, table) */
} ft_args;

extern const char ft_usage[];

/* AdamW as torch.optim.AdamW's defaults, SGD lr 0.05 momentum 0.9 (no weight decay). */
fz_train_opts ft_optimizer_opts(fz_optim which);
/* "lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0.01": the CSV's optimizer_settings. */
void ft_optimizer_text(fz_optim which, char *out, size_t size);

/* Parses argv (getopt_long, from the start).  FZ_EINVAL with a message for a bad option
 * or value; the defaults are filled in (the default specs need the depth). */
fz_status ft_args_parse(int argc, char **argv, ft_args *a);

/* The default specs for `hidden` hidden layers and `epochs` epochs: none, prefix:1 ..
 * prefix:hidden-1, last (only the head trains), bitfit, and `gradual`: the head alone
 * in the first epoch, then one more layer from the top each epoch. */
void ft_default_specs(ft_args *a);

#endif

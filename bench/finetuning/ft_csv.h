/*
 * The fine-tuning CSV (results/README.md, "The fine-tuning CSV"): its own schema,
 * `finetune-2`, since its rows are evaluations during training runs, not the sweep's
 * phase timings (finetune-1 had one row per epoch; finetune-2 one per evaluation, with
 * evals_per_epoch, evaluation, epochs_done, part_time_s and target_epochs_done).  The
 * system columns are the sweep's, filled by the same code (bench/results), so both
 * files describe a machine identically.
 */
#ifndef FT_CSV_H
#define FT_CSV_H

#include "csv.h"
#include "ft_experiment.h"
#include "results.h"

#define FT_SCHEMA_VERSION "finetune-2"

extern const char *const ft_columns[];
extern const size_t ft_n_columns;

/* A new table with ft_columns; NULL when out of memory. */
fzb_csv *ft_table(void);

/* What every row of a file shares beyond the system description. */
typedef struct {
    const ft_args *args;
    double pretrain_accuracy, pretrain_s;
    size_t train_samples, test_samples;
} ft_file_info;

/* Appends one row per evaluation of `run`. */
fz_status ft_rows_add(fzb_csv *table, const fzb_context *ctx, const ft_file_info *info,
                      const ft_run *run);

#endif

/*
 * The fine-tuning CSV (results/README.md, "The fine-tuning CSV"): its own schema,
 * `finetune-1`, since its rows are epochs of training runs, not the sweep's phase
 * timings.  The system columns are the sweep's, filled by the same code
 * (bench/results), so both files describe a machine identically.
 */
#ifndef FT_CSV_H
#define FT_CSV_H

#include "csv.h"
#include "ft_experiment.h"
#include "results.h"

#define FT_SCHEMA_VERSION "finetune-1"

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

/* Appends one row per epoch of `run`. */
fz_status ft_rows_add(fzb_csv *table, const fzb_context *ctx, const ft_file_info *info,
                      const ft_run *run);

#endif

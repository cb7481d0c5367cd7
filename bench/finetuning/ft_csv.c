#include "ft_csv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* The sweep's system columns (fzb_result_columns up to git_revision), then ours. */
#define N_SYSTEM 31

const char *const ft_columns[] = {
    "schema_version", "utc_time", "system_id", "host", "cpu_vendor", "cpu_family",
    "cpu_model_number", "cpu_stepping", "uarch", "cpu_model", "arch", "vector_isa", "isa",
    "hypervisor", "cores", "smt", "threads", "bound", "l1d_bytes", "l2_bytes", "l3_bytes",
    "cache_source", "memory_bytes", "cpu_mhz", "governor", "os", "kernel", "compiler", "blas",
    "openblas_core", "git_revision",
    /* the experiment */
    "bench", "impl", "model", "batch", "optimizer", "optimizer_settings", "seed",
    "pretrain_epochs", "pretrain_accuracy", "pretrain_s", "train_samples", "test_samples",
    "evals_per_epoch",
    /* the run */
    "freeze_spec", "freeze_schedule", "cache",
    /* the evaluation */
    "epoch", "evaluation", "epochs_done", "time_s", "part_time_s", "train_loss", "test_loss",
    "test_accuracy",
    "trainable_params", "frozen_params", "optimizer_state_bytes", "cache_bytes", "steps",
    "cached_steps",
    /* the run's summary, repeated in each of its rows */
    "best_accuracy", "target_fraction", "target_accuracy", "reached_target",
    "time_to_target_s", "target_epoch", "target_epochs_done",
};
const size_t ft_n_columns = sizeof ft_columns / sizeof *ft_columns;

#define MAX_COLUMNS 72
_Static_assert(sizeof ft_columns / sizeof *ft_columns <= MAX_COLUMNS, "row fits its buffers");

fzb_csv *ft_table(void)
{
    return fzb_csv_new(ft_columns, ft_n_columns);
}

typedef struct {
    const char *fields[MAX_COLUMNS];
    char numbers[MAX_COLUMNS][48];
} row;

static void set_text(row *r, const char *name, const char *v)
{
    for (size_t i = 0; i < ft_n_columns; i++)
        if (!strcmp(ft_columns[i], name))
            r->fields[i] = v;
}

/* As results.c writes numbers: integers in full, others with 17 digits, NaN empty. */
static void set_num(row *r, const char *name, double v)
{
    for (size_t i = 0; i < ft_n_columns; i++) {
        if (strcmp(ft_columns[i], name) != 0)
            continue;
        if (isnan(v))
            r->numbers[i][0] = '\0';
        else if (v == floor(v) && fabs(v) < 1e15)
            snprintf(r->numbers[i], sizeof r->numbers[i], "%.0f", v);
        else
            snprintf(r->numbers[i], sizeof r->numbers[i], "%.17g", v);
        r->fields[i] = r->numbers[i];
    }
}

fz_status ft_rows_add(fzb_csv *table, const fzb_context *ctx, const ft_file_info *info,
                      const ft_run *run)
{
    const ft_args *a = info->args;
    /* The system columns come from a sweep row made by fzb_result_add itself, so this
     * file can never describe the machine differently from freeze_sweep's. */
    fzb_csv *sys = fzb_result_table();
    fzb_result probe = { .bench = "", .impl = "", .model = "", .freeze_spec = "",
                         .phase = "", .threads = fz_get_threads() };
    if (!sys || fzb_result_add(sys, ctx, &probe) != FZ_OK) {
        fzb_csv_free(sys);
        return set_error(FZ_ENOMEM, "writing rows: out of memory");
    }
    char settings[128];
    ft_optimizer_text(run->optim, settings, sizeof settings);
    fz_status st = FZ_OK;
    for (size_t k = 0; k < run->n_evals && st == FZ_OK; k++) {
        const ft_eval *ep = &run->evals[k];
        row r;
        memset(&r, 0, sizeof r);
        for (size_t c = 0; c < N_SYSTEM; c++)
            r.fields[c] = fzb_csv_field(sys, 0, fzb_csv_column(sys, ft_columns[c]));
        set_text(&r, "schema_version", FT_SCHEMA_VERSION);
        set_text(&r, "bench", "finetune");
        set_text(&r, "impl", "freezebench");
        set_text(&r, "model", a->model_text);
        set_num(&r, "batch", (double)a->batch);
        set_text(&r, "optimizer", run->optim == FZ_OPTIM_ADAMW ? "adamw" : "sgd");
        set_text(&r, "optimizer_settings", settings);
        set_num(&r, "seed", (double)a->seed);
        set_num(&r, "pretrain_epochs", a->pretrain_epochs);
        set_num(&r, "pretrain_accuracy", info->pretrain_accuracy);
        set_num(&r, "pretrain_s", info->pretrain_s);
        set_num(&r, "train_samples", (double)info->train_samples);
        set_num(&r, "test_samples", (double)info->test_samples);
        set_num(&r, "evals_per_epoch", a->evals_per_epoch);
        set_text(&r, "freeze_spec", run->spec->name);
        set_text(&r, "freeze_schedule", run->spec->schedule ? run->spec->text : "");
        set_num(&r, "cache", run->cache);
        set_num(&r, "epoch", ep->epoch);
        set_num(&r, "evaluation", ep->evaluation);
        set_num(&r, "epochs_done", ep->epochs_done);
        set_num(&r, "time_s", ep->time_s);
        set_num(&r, "part_time_s", ep->part_s);
        set_num(&r, "train_loss", ep->train_loss);
        set_num(&r, "test_loss", ep->test_loss);
        set_num(&r, "test_accuracy", ep->test_accuracy);
        set_num(&r, "trainable_params", (double)ep->trainable);
        set_num(&r, "frozen_params", (double)ep->frozen);
        set_num(&r, "optimizer_state_bytes", (double)ep->optimizer_bytes);
        set_num(&r, "cache_bytes", (double)ep->cache_bytes);
        set_num(&r, "steps", (double)ep->steps);
        set_num(&r, "cached_steps", (double)ep->cached_steps);
        set_num(&r, "best_accuracy", run->best_accuracy);
        set_num(&r, "target_fraction", a->target_fraction);
        set_num(&r, "target_accuracy", run->target_accuracy);
        set_num(&r, "reached_target", isnan(run->target_accuracy) ? NAN :
                ep->test_accuracy >= run->target_accuracy);
        set_num(&r, "time_to_target_s", run->time_to_target_s);
        set_num(&r, "target_epoch", run->target_epoch ? run->target_epoch : NAN);
        set_num(&r, "target_epochs_done", run->target_epochs_done);
        st = fzb_csv_add_row(table, r.fields);
    }
    fzb_csv_free(sys);
    return st;
}

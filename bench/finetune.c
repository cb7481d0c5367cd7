/*
 * finetune: pretrain an MLP on Fashion-MNIST classes 0-4, then fine-tune it on classes
 * 5-9 with a new head under each freeze spec, optimizer and cache setting, and publish
 * per epoch the cumulative training time, the losses, the test accuracy and the
 * optimizer's memory (results/README.md, "The fine-tuning CSV").  Plain clock timing of
 * whole epochs: an epoch is long enough that Google Benchmark's repetitions would add
 * nothing but hours.  See finetuning/ft_args.c for the options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "ft_args.h"
#include "ft_csv.h"
#include "ft_experiment.h"
#include "ft_print.h"
#include "publish.h"

/* Every spec resolves against the model before any data is read: a typo costs nothing. */
static int check_specs(const ft_args *a)
{
    for (size_t i = 0; i < a->n_specs; i++) {
        const ft_spec *s = &a->specs[i];
        fz_model *m = fz_mlp_create(a->widths, a->n_widths, 0);
        fz_status st = FZ_ENOMEM;
        if (m && s->schedule) {
            fz_freeze_schedule *sc = fz_freeze_schedule_parse(s->text);
            st = sc ? fz_freeze_schedule_check(sc, m) : FZ_EINVAL;
            fz_freeze_schedule_free(sc);
        } else if (m) {
            st = fz_freeze(m, s->text);
            if (st == FZ_OK && fz_trainable_elements(m) == 0) {
                fprintf(stderr, "finetune: --spec '%s': freezes every parameter\n", s->text);
                fz_model_free(m);
                return 2;
            }
        }
        fz_model_free(m);
        if (st != FZ_OK) {
            fprintf(stderr, "finetune: --spec '%s': %s\n", s->text, fz_last_error());
            return 2;
        }
    }
    return 0;
}

/* The runs in order: per optimizer (AdamW first), per spec, without and (--cache, where
 * a prefix is frozen) with the cache. */
static size_t plan_runs(const ft_args *a, ft_run *runs)
{
    size_t n = 0;
    const fz_optim optims[2] = { FZ_OPTIM_ADAMW, FZ_OPTIM_SGD };
    const bool use[2] = { a->adamw, a->sgd };
    for (int o = 0; o < 2; o++) {
        for (size_t s = 0; use[o] && s < a->n_specs; s++) {
            for (int c = 0; c < 2; c++) {
                if (c && !(a->cache && ft_spec_caches(a, &a->specs[s])))
                    continue;
                if (runs)
                    runs[n] = (ft_run){ .optim = optims[o], .spec = &a->specs[s],
                                        .cache = c };
                n++;
            }
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    ft_args a;
    if (ft_args_parse(argc, argv, &a) != FZ_OK) {
        fprintf(stderr, "finetune: %s\n", fz_last_error());
        return 2;
    }
    if (a.help) {
        fputs(ft_usage, stdout);
        return 0;
    }
    if (a.version) {
        return fz_cli_print_version(stdout, "finetune");
    }
    /* --quiet: errors only; the progress, the notes and the table go. */
    FILE *notes = a.quiet ? NULL : stderr, *table_out = a.quiet ? NULL : stdout;
    int rc = check_specs(&a);
    if (rc)
        return rc;
    /* As the sweep: bound threads unless FREEZEBENCH_BIND=0 (the bound column says). */
    const char *bind = getenv("FREEZEBENCH_BIND");
    fz_set_binding(!bind || strcmp(bind, "0") != 0);
    fz_set_threads(a.threads);

    fzb_context ctx;
    fzb_context_get(&ctx);
    fzb_csv *table = ft_table();
    if (!table) {
        fprintf(stderr, "finetune: out of memory\n");
        return 1;
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", fz_get_threads());
    fzb_publish_opts po = { .output = a.output, .prefix = "finetune-", .threads = threads,
                            .overwrite = a.overwrite, .allow_dirty = a.allow_dirty };
    fzb_publish pub = { .lock_fd = -1 };
    if (a.write_csv && fzb_publish_begin(&pub, &po, &ctx, table, notes) != FZ_OK) {
        fprintf(stderr, "finetune: --output: %s\n", fz_last_error());
        fzb_csv_free(table);
        return 2;
    }

    ft_data d;
    size_t n_runs = plan_runs(&a, NULL);
    ft_run *runs = calloc(n_runs, sizeof *runs);
    size_t evals_per_run = (size_t)a.epochs * a.evals_per_epoch;
    ft_eval *evals = calloc(n_runs * evals_per_run, sizeof *evals);
    fz_model *pre = NULL;
    rc = 1;
    if (!runs || !evals) {
        fprintf(stderr, "finetune: out of memory\n");
        goto out_nodata;
    }
    if (ft_data_load(&a, &d) != FZ_OK) {
        fprintf(stderr, "finetune: %s (Debian: apt-get install dataset-fashion-mnist, or "
                "--data-dir)\n", fz_last_error());
        goto out_nodata;
    }
    /* A usage error, though only the data can tell: refused before any training. */
    if (d.ft_train.n / a.batch < a.evals_per_epoch) {
        fprintf(stderr, "finetune: --evals-per-epoch %u: more than the %zu steps of an "
                "epoch (%zu samples at batch %zu)\n", a.evals_per_epoch,
                d.ft_train.n / a.batch, d.ft_train.n, a.batch);
        rc = 2;
        goto out;
    }
    double pre_acc, pre_s;
    if (notes)
        fprintf(notes, "finetune: pretraining %s on classes 0-4 (%zu samples, %u epochs, "
            "AdamW, %d threads, isa %s)\n", a.model_text, d.pre_train.n, a.pretrain_epochs,
            fz_get_threads(), fz_isa());
    if (ft_pretrain(&a, &d, &pre, &pre_acc, &pre_s) != FZ_OK) {
        fprintf(stderr, "finetune: pretraining: %s\n", fz_last_error());
        goto out;
    }
    if (table_out)
        fprintf(table_out, "pretrained %s on classes 0-4: test accuracy %.4f after %u epochs "
                "(%.2f s)\n", a.model_text, pre_acc, a.pretrain_epochs, pre_s);
    plan_runs(&a, runs);
    for (size_t i = 0; i < n_runs; i++) {
        runs[i].evals = evals + i * evals_per_run;
        if (notes)
            fprintf(notes, "finetune: [%zu/%zu] %s %s%s\n", i + 1, n_runs,
                    runs[i].optim == FZ_OPTIM_ADAMW ? "adamw" : "sgd", runs[i].spec->name,
                    runs[i].cache ? " (cache)" : "");
        if (ft_finetune(&a, &d, pre, &runs[i]) != FZ_OK) {
            fprintf(stderr, "finetune: %s: %s\n", runs[i].spec->name, fz_last_error());
            goto out;
        }
    }
    ft_targets(runs, n_runs, a.target_fraction);
    if (table_out) {
        fprintf(table_out, "fine-tuned on classes 5-9 (%zu training, %zu test samples), "
                "batch %zu:\n", d.ft_train.n, d.ft_test.n, a.batch);
        ft_print(table_out, &a, runs, n_runs);
    }
    rc = 0;
    if (a.write_csv) {
        ft_file_info info = { .args = &a, .pretrain_accuracy = pre_acc, .pretrain_s = pre_s,
                              .train_samples = d.ft_train.n, .test_samples = d.ft_test.n };
        for (size_t i = 0; i < n_runs && rc == 0; i++)
            if (ft_rows_add(table, &ctx, &info, &runs[i]) != FZ_OK)
                rc = 1;
        if (rc == 0 && fzb_publish_write(&pub, table) != FZ_OK)
            rc = 1;
        if (rc)
            fprintf(stderr, "finetune: %s\n", fz_last_error());
        else if (notes)
            fprintf(notes, "finetune: wrote %zu rows to %s\n", fzb_csv_rows(table), pub.path);
    }
out:
    fz_model_free(pre);
    ft_data_free(&d);
out_nodata:
    free(runs);
    free(evals);
    fzb_publish_end(&pub);
    fzb_csv_free(table);
    return rc;
}

#include "ft_print.h"

#include <math.h>

void ft_print(FILE *f, const ft_args *a, const ft_run *runs, size_t n)
{
    fprintf(f, "%-6s %-10s %-5s", "optim", "spec", "cache");
    for (unsigned e = 1; e <= a->epochs; e++)
        fprintf(f, "  epoch %-2u acc  time_s", e);
    fprintf(f, "    best  target  reached_at_s  epochs  opt_state\n");
    for (size_t i = 0; i < n; i++) {
        const ft_run *r = &runs[i];
        fprintf(f, "%-6s %-10s %-5s", r->optim == FZ_OPTIM_ADAMW ? "adamw" : "sgd",
                r->spec->name, r->cache ? "yes" : "no");
        /* The epochs' ends only; the CSV has every evaluation. */
        const ft_eval *end = r->evals + a->evals_per_epoch - 1;
        for (unsigned e = 0; e < a->epochs; e++, end += a->evals_per_epoch)
            fprintf(f, "  %12.4f %7.2f", end->test_accuracy, end->time_s);
        fprintf(f, "  %6.4f", r->best_accuracy);
        if (isnan(r->target_accuracy))
            fprintf(f, "  %6s", "-");   /* no `none` run with this optimizer */
        else
            fprintf(f, "  %6.4f", r->target_accuracy);
        if (isnan(r->time_to_target_s))
            fprintf(f, "  %12s  %6s", "never", "-");
        else
            fprintf(f, "  %12.2f  %6.2f", r->time_to_target_s, r->target_epochs_done);
        fprintf(f, "  %6.2f MiB\n",
                (double)r->evals[r->n_evals - 1].optimizer_bytes / (1024.0 * 1024.0));
    }
    fprintf(f, "time_s: cumulative training wall time, evaluation excluded; target: %.2f x "
            "the best accuracy of spec none with the same optimizer, read at %u evaluations "
            "an epoch (the table shows the epochs' ends); epochs: epochs trained when it was "
            "reached\n", a->target_fraction, a->evals_per_epoch);
}

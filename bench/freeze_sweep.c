/*
 * freeze_sweep: what freezing buys, per model, batch, thread count and freeze spec.
 * Every configuration trains for real; Google Benchmark times the steps (interleaved
 * repetitions), the trainer reports the phases and the FLOPs.  See sweep_args.h for the
 * options; with none it runs the embedded default sweep.  Under mpirun with more than
 * one rank it trains data-parallel instead (sweep_dp.h); with one rank it is this plain
 * run, and MPI is never initialised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "freezebench_dp.h"
#include "publish.h"
#include "sweep.h"
#ifdef FZB_SWEEP_MPI
#include "sweep_dp.h"
#endif

int main(int argc, char **argv)
{
    if (fz_cli_version_asked(argc, argv))
        return fz_cli_print_version(stdout, "freeze_sweep");
    long ranks = fz_dp_launched_ranks();
    if (ranks > 1) {
#ifdef FZB_SWEEP_MPI
        return fzb_sweep_mpi_main(argc, argv);
#else
        fprintf(stderr, "freeze_sweep: launched as one of %ld ranks, but this build has no "
                "MPI (meson option mpi); run it as one process\n", ranks);
        return 2;
#endif
    }
    const char *defaults[] = { "--benchmark_enable_random_interleaving=true" };
    fzb_init_with_defaults(&argc, &argv, defaults, 1, fzb_sweep_usage);

    fzb_sweep_args args;
    if (fzb_sweep_args_parse(argc, argv, &args) != FZ_OK) {
        fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
        return 2;
    }
    if (args.help) {
        fputs(fzb_sweep_usage, stdout);
        return 0;
    }
    if (args.quiet && args.verbose) {
        fprintf(stderr, "freeze_sweep: --quiet and --verbose: choose one\n");
        return 2;
    }
    /* --quiet: errors only; progress, notes and the table go (the CSV is still written). */
    FILE *notes = args.quiet ? NULL : stderr, *table_out = args.quiet ? NULL : stdout;
    /* The system description as JSON, for every other writer of results (the PyTorch
     * sweep): one description of a machine, from one program. */
    if (args.machine) {
        fzb_machine_info m;
        fzb_machine_info_get(&m);
        fzb_machine_info_openblas(&m, true);
        fzb_machine_info_json(&m, stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }

    /* Measurements bind the team (unlike the library's default), so runs are repeatable;
     * FREEZEBENCH_BIND=0 measures unbound.  The CSV's bound column records which. */
    const char *bind = getenv("FREEZEBENCH_BIND");
    fz_set_binding(!bind || strcmp(bind, "0") != 0);

    fzb_context ctx;
    fzb_context_get(&ctx);
    fzb_sweep *sweep;
    if (fzb_sweep_create(&args, ctx.machine.cores, notes, &sweep) != FZ_OK) {
        fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
        return 2;
    }
    fzb_csv *table = fzb_result_table();
    if (!table) {
        fprintf(stderr, "freeze_sweep: out of memory\n");
        fzb_sweep_free(sweep);
        return 1;
    }
    char threads[128];
    fzb_sweep_threads_text(sweep, threads, sizeof threads);
    fzb_publish_opts publish_opts = { .output = args.output, .prefix = "", .threads = threads,
                                      .append = args.append, .overwrite = args.overwrite,
                                      .force = args.force, .allow_dirty = args.allow_dirty };
    fzb_publish publish = { .lock_fd = -1 };
    /* --benchmark_list_tests runs and writes nothing: no output file to check or lock. */
    if (args.write_csv && !fzb_list_only() &&
        fzb_publish_begin(&publish, &publish_opts, &ctx, table, notes) != FZ_OK) {
        fprintf(stderr, "freeze_sweep: --output: %s\n", fz_last_error());
        fzb_csv_free(table);
        fzb_sweep_free(sweep);
        return 2;
    }
    if (fzb_sweep_register(sweep, &args) != FZ_OK) {
        fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
        fzb_publish_end(&publish);
        fzb_csv_free(table);
        fzb_sweep_free(sweep);
        return 2;
    }
    /* The probes' repetitions run among the sweep's: the progress line counts them. */
    fzb_probe_options probe_opt = { .l3_bytes = ctx.machine.l3_bytes, .repetitions = 3,
                                    .quick = args.quick_probes,
                                    .on_repetition = fzb_sweep_repetition_done, .ctx = sweep };
    fzb_probes *probes = fzb_probes_register(&probe_opt);
    if (!probes) {
        fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
        fzb_publish_end(&publish);
        fzb_csv_free(table);
        fzb_sweep_free(sweep);
        return 1;
    }
    fzb_sweep_expect_extra(sweep, fzb_probes_count(probes) * (size_t)probe_opt.repetitions);
    if (!fzb_list_only() && notes)
        fprintf(notes, "freeze_sweep: %zu configurations × %d repetitions and %zu probes × %d "
                "(isa %s); progress below (--verbose: every run), the table on stdout\n",
                fzb_sweep_count(sweep), args.repetitions, fzb_probes_count(probes),
                probe_opt.repetitions, fz_isa());

    int status = 1;
    fzb_results *res = fzb_run_all(args.verbose ? FZB_STDERR : FZB_QUIET);
    fzb_limits lim;
    if (!res || !table) {
        fprintf(stderr, "freeze_sweep: out of memory\n");
    } else if (res->n == 0) {   /* --benchmark_list_tests, or a filter that matched nothing */
        if (notes)
            fprintf(notes, "freeze_sweep: nothing ran; no CSV written\n");
        status = 0;
    } else if (fzb_probes_read(res, &lim)) {
        fprintf(stderr, "freeze_sweep: the probes did not run (a --benchmark_filter must let "
                FZB_PROBE_PREFIX " through)\n");
    } else if (fzb_sweep_rows(sweep, res, &lim, &ctx, table) != FZ_OK) {
        fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
    } else {
        if (table_out) {
            fprintf(table_out, "freeze_sweep on %s (%s, isa %s)\n", ctx.machine.cpu_model,
                    ctx.machine.arch, fz_isa());
            fzb_print_limits(table_out, &lim, args.quick_probes);
            fzb_sweep_print(sweep, table_out);
        }
        status = 0;
        if (args.write_csv) {
            if (fzb_publish_write(&publish, table) != FZ_OK) {
                fprintf(stderr, "freeze_sweep: %s\n", fz_last_error());
                status = 1;
            } else if (notes) {
                fprintf(notes, "freeze_sweep: wrote %zu rows to %s\n", fzb_csv_rows(table),
                        publish.path);
            }
        }
    }
    fzb_publish_end(&publish);
    fzb_csv_free(table);
    fzb_results_free(res);
    fzb_probes_free(probes);
    fzb_sweep_free(sweep);
    return status;
}

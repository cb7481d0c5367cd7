/*
 * kernel_bench: the kernels one by one, each as a fraction of this CPU's own limits.
 *
 *   GEMM in the three training layouts at training shapes, square 1024³, and a few DeepBench
 *   training shapes, next to OpenBLAS, BLIS and oneDNN where the build found them (same
 *   threads);
 *   ReLU forward/backward and the SGD update against the streaming bandwidth.
 *
 * The cases and their rows are kernel_cases/; this file is the program: options, the
 * probes, publishing.  Usage: see `usage` below (kernel_bench --help).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "error.h"
#include "gbench.h"
#include "kernel_cases.h"
#include "probes.h"
#include "publish.h"
#include "ref_blas.h"
#include "results.h"

static const char usage[] =
    "usage: kernel_bench [--benchmark_* flags] [options]   (--opt value or --opt=value)\n"
    "  --threads N        threads for every GEMM, ours and the references' (default 0: all cores)\n"
    "  --repetitions N    repetitions of every kernel and probe, in random order (default 10;\n"
    "                     fewer than 6 give no 95% intervals)\n"
    "  --min-time S       seconds each repetition runs at least (default 0.05)\n"
    "  --output PATH      CSV file (default results/kernels-<system>-<threads>.csv, <system>\n"
    "                     being vendor-microarchitecture-isa; an existing default file is\n"
    "                     never replaced: the run writes a new file with the time in its name)\n"
    FZB_PUBLISH_FLAGS_USAGE
    "  --verbose          Google Benchmark's console report of every run, on stderr (by\n"
    "                     default only this program's table, on stdout)\n"
    "  --quick            one tiny shape per kernel and quick probes (small triad arrays,\n"
    "                     short runs): seconds, for tests; its limits are not for results\n"
    "The FMA peak is measured per vector width (probe/peak_fma_avx2, _avx512, ...); fractions\n"
    "of peak are of the widest (the CSV's peak_isa names it).\n"
    "GEMM runs beside the references this build found (openblas, blis, onednn), each at\n"
    "--threads.  OpenBLAS picks its kernel when it loads, before main, from the environment:\n"
    "where OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) are set, it runs that core's kernel, not\n"
    "its own choice.  For its own choice, unset them for this command alone:\n"
    "  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/kernel_bench ...\n"
    "The CSV's openblas_core column records the core it ran.\n"
    "Google Benchmark's flags apply too (--benchmark_filter=REGEX, --benchmark_out=FILE\n"
    "--benchmark_out_format=json, ...); --benchmark_repetitions and --benchmark_min_time are\n"
    "read as --repetitions and --min-time; flags this program cannot honour\n"
    "(--benchmark_format other than console, ..._aggregates_only) are refused.\n";

/* The command line after Google Benchmark took its flags; exits 2 on a bad one. */
typedef struct {
    int threads;
    int repetitions;
    double min_time;
    const char *output;
    bool quick, verbose, append, overwrite, force, allow_dirty, quiet, help;
} options;

/* kernel_bench's own options (the shared ones fill the struct through fzb_run_options). */
enum { THREADS = FZB_OPT_OWN, QUICK, VERBOSE };

static fz_status take_option(int code, const char *value, void *ctx)
{
    options *o = ctx;
    switch (code) {
    case THREADS: return fzb_parse_threads("--threads", value, &o->threads);
    case QUICK: o->quick = true; return FZ_OK;
    case VERBOSE: o->verbose = true; return FZ_OK;
    /* --help is the shim's (with Google Benchmark's flags); -h gets here. */
    case 'h': o->help = true; return FZ_OK;
    }
    return set_error(FZ_EINVAL, "option %d: not handled", code);   /* a bug, not input */
}

static fz_status parse_options(int argc, char **argv, options *o)
{
    /* Ten repetitions give each median a 95% interval (x(2) to x(9)); shorter ones keep
     * the run about as long as three of 0.1 s were. */
    *o = (options){ .repetitions = 10, .min_time = 0.05 };
    static const struct option longopts[] = {
        { "threads", required_argument, NULL, THREADS },
        { "quick", no_argument, NULL, QUICK },
        { "verbose", no_argument, NULL, VERBOSE },
        FZB_RUN_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const fzb_run_options run = { &o->repetitions, &o->min_time, &o->output, &o->append,
                                  &o->overwrite, &o->force, &o->allow_dirty, &o->quiet };
    return fzb_getopt_parse(argc, argv, longopts, &run, take_option, o);
}

int main(int argc, char **argv)
{
    if (fz_cli_version_asked(argc, argv))
        return fz_cli_print_version(stdout, "kernel_bench");
    /* Repetitions interleaved in random order, as the sweep's: on a machine whose speed
     * drifts over a run, the implementations then share its slow and fast minutes
     * instead of the last one in the list taking whatever the end of the run brings. */
    const char *defaults[] = { "--benchmark_enable_random_interleaving=true" };
    fzb_init_with_defaults(&argc, &argv, defaults, 1, usage);

    options opt;
    if (parse_options(argc, argv, &opt) != FZ_OK) {
        fprintf(stderr, "kernel_bench: %s\n", fz_last_error());
        return 2;
    }
    if (opt.help) {
        fputs(usage, stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (opt.quiet && opt.verbose) {
        fprintf(stderr, "kernel_bench: --quiet and --verbose: choose one\n");
        return 2;
    }
    /* --quiet: errors only; the notes, the table and Google Benchmark's report go. */
    FILE *notes = opt.quiet ? NULL : stderr, *table_out = opt.quiet ? NULL : stdout;
    int threads = opt.threads;
    bool quick = opt.quick;

    /* Measurements bind the team (unlike the library's default), so runs are repeatable;
     * FREEZEBENCH_BIND=0 measures unbound.  The CSV's bound column records which. */
    const char *bind = getenv("FREEZEBENCH_BIND");
    fz_set_binding(!bind || strcmp(bind, "0") != 0);

    fzb_context ctx;
    fzb_context_get(&ctx);
    if (threads == 0)
        threads = ctx.machine.cores;
    fz_set_threads(threads);
#ifdef FZB_HAVE_OPENBLAS
    fzb_openblas_set_threads(threads);
#endif
#ifdef FZB_HAVE_BLIS
    fzb_blis_set_threads(threads);
#endif
#ifdef FZB_HAVE_ONEDNN
    fzb_onednn_set_threads(threads);
#endif

    fzb_csv *table = fzb_result_table();
    if (!table) {
        fprintf(stderr, "kernel_bench: out of memory\n");
        return 1;
    }
    char threads_text[16];
    snprintf(threads_text, sizeof threads_text, "%d", threads);
    fzb_publish_opts publish_opts = { .output = opt.output, .prefix = "kernels-",
                                      .threads = threads_text, .append = opt.append,
                                      .overwrite = opt.overwrite, .force = opt.force,
                                      .allow_dirty = opt.allow_dirty };
    fzb_publish publish = { .lock_fd = -1 };
    /* --benchmark_list_tests runs and writes nothing: no output file to check or lock. */
    if (!fzb_list_only()
        && fzb_publish_begin(&publish, &publish_opts, &ctx, table, notes) != FZ_OK) {
        fprintf(stderr, "kernel_bench: --output: %s\n", fz_last_error());
        fzb_csv_free(table);
        return 2;
    }

    /* From here every exit goes through `done`, which frees whatever was made. */
    int status = 1;
    fzb_probes *probes = NULL;
    fzb_results *res = NULL;
    fzb_kernel_cases *cases = fzb_kernel_cases_create(quick);
    if (!cases) {
        fprintf(stderr, "kernel_bench: out of memory\n");
        goto done;
    }
    fzb_probe_options probe_opt = { .l3_bytes = ctx.machine.l3_bytes,
                                    .repetitions = opt.repetitions, .quick = quick };
    probes = fzb_probes_register(&probe_opt);
    if (!probes) {
        fprintf(stderr, "kernel_bench: %s\n", fz_last_error());
        goto done;
    }
    fzb_kernel_cases_register(cases, opt.repetitions, opt.min_time);

    /* Google Benchmark's own table (about 240 lines) only when asked: by default the
     * program's table is the whole of stdout. */
    res = fzb_run_all(opt.verbose ? FZB_STDERR : FZB_QUIET);
    fzb_limits lim;
    if (res && res->n == 0) {   /* --benchmark_list_tests, or a filter that matched nothing */
        if (notes)
            fprintf(notes, "kernel_bench: nothing ran; no CSV written\n");
        status = 0;
        goto done;
    }
    if (!res || fzb_probes_read(res, &lim)) {
        fprintf(stderr, "kernel_bench: the peak and bandwidth probes did not run (a "
                "--benchmark_filter must let " FZB_PROBE_PREFIX " through); no CSV written\n");
        goto done;
    }
    if (table_out)
        fzb_print_limits(table_out, &lim, quick);

    status = fzb_kernel_cases_add_rows(cases, table, res, &lim, &ctx, threads, table_out)
             == FZ_OK ? 0 : 1;
    if (status == 0) {
        if (fzb_publish_write(&publish, table) != FZ_OK) {
            fprintf(stderr, "kernel_bench: %s\n", fz_last_error());
            status = 1;
        } else if (notes) {
            fprintf(notes, "kernel_bench: wrote %s\n", publish.path);
        }
    }
done:
    fzb_publish_end(&publish);
    fzb_csv_free(table);
    fzb_results_free(res);
    fzb_probes_free(probes);
    fzb_kernel_cases_free(cases);
    return status;
}

/*
 * A pure C face of Google Benchmark (1.7.x), so the bench programs stay in C and every
 * timing in the suite goes through one harness.
 *
 *   static void bench_copy(fzb_state *s, void *user) {
 *       while (fzb_keep_running(s)) copy(user, fzb_arg(s, 0));
 *       fzb_counter(s, "bytes", 2.0 * 4 * fzb_arg(s, 0), FZB_RATE);
 *   }
 *   fzb_init(&argc, argv);                       // eats the --benchmark_* flags
 *   fzb_register("copy", bench_copy, buf, (int64_t[]){1 << 20}, (const char *[]){"n"}, 1);
 *   fzb_results *r = fzb_run_all(FZB_STDOUT);        // runs, prints, hands the runs back
 *
 * Every benchmark measures real (wall) time: the kernels run on a thread team, so the
 * main thread's CPU time would say nothing.
 */
#ifndef FZB_GBENCH_H
#define FZB_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fzb_state fzb_state;   /* a benchmark::State, opaque */
typedef struct fzb_bench fzb_bench;   /* a registered benchmark */
typedef void (*fzb_fn)(fzb_state *s, void *user);

/* How Google Benchmark reports a counter value v set once per repetition. */
typedef enum {
    FZB_PLAIN,      /* v as it is */
    FZB_RATE,       /* v is per iteration: reported as v·iterations / seconds (FLOP/s) */
    FZB_PER_ITER,   /* v is a sum over the iterations: reported as v / iterations */
} fzb_counter_kind;

/* Passes argc/argv to benchmark::Initialize, which removes the --benchmark_* flags it
 * knows; the program then parses what is left. */
void fzb_init(int *argc, char **argv);

/* The same, with `defaults` (--benchmark_* flags) read before the command line's own, so
 * a program sets its defaults and the user still overrides any of them.  *argv is
 * replaced by a new array that lives until the process ends.  --help prints `usage`
 * (the program's own options) and then Google Benchmark's flags, and exits.
 *
 * No flag is silently ignored: the programs set repetitions and minimum time per
 * benchmark, so --benchmark_repetitions=N and --benchmark_min_time=S are handed on as
 * the program's own --repetitions=N and --min-time=S (which every caller must take);
 * --benchmark_format other than console, --benchmark_report_aggregates_only,
 * --benchmark_display_aggregates_only, --benchmark_color and
 * --benchmark_counters_tabular, which cannot work through this shim's reporter, exit 2
 * with a message.  Flags Google Benchmark does not know stay for the program to refuse. */
void fzb_init_with_defaults(int *argc, char ***argv, const char *const *defaults, size_t n,
                            const char *usage);

/* Registers fn(state, user) under `name` with n_args integer arguments, each shown with
 * its name (arg_names may be NULL).  Returns NULL if the same name and arguments are
 * already registered. */
fzb_bench *fzb_register(const char *name, fzb_fn fn, void *user,
                        const int64_t *args, const char *const *arg_names, size_t n_args);
/* Per-benchmark settings that override the --benchmark_* defaults.  Settings, not part
 * of any name: Google Benchmark would add "/min_time:…/repeats:…" to the benchmark's
 * name, but the names this shim reports (console, --benchmark_out, fzb_run,
 * --benchmark_list_tests) leave them out, so runs of any length can be compared by name
 * (Google Benchmark's tools/compare.py).  --benchmark_filter still sees them. */
void fzb_set_repetitions(fzb_bench *b, int n);
void fzb_set_min_time(fzb_bench *b, double seconds);

/* Phases of b timed by counters of their own, as entries of their own in the
 * --benchmark_out file (JSON, CSV or console format), so Google Benchmark's tools can
 * compare one phase of two runs, e.g. the backward alone.  counters[i] names a counter
 * b's function sets, FZB_PER_ITER, to the seconds phases[i] took summed over the
 * iterations.  For every run of b, repetition or aggregate, the file then holds besides
 * the run one entry per phase, named as Google Benchmark names a manual-time benchmark:
 *     <name>/<phase>/manual_time      (<name>: the run's name without its time type,
 *                                      "_mean", "_median", ... after it for an aggregate)
 * whose real_time and cpu_time are the counter's value (seconds per iteration) in the
 * run's time unit, with the run's iterations, repetition index, run type and aggregate
 * name, and no counters.  A run that has no such counter (it failed, or its function did
 * not set it) or has it of another kind gets no entry for that phase.  The strings are
 * copied; a later call replaces the phases, n = 0 removes them.  fzb_run_all's results
 * and the console show the counters as they are, without these entries. */
void fzb_set_phase_counters(fzb_bench *b, const char *const *counters, const char *const *phases,
                            size_t n);

/* Inside a benchmark function. */
bool    fzb_keep_running(fzb_state *s);
int64_t fzb_arg(const fzb_state *s, size_t i);
void    fzb_counter(fzb_state *s, const char *name, double value, fzb_counter_kind kind);
void    fzb_skip_with_error(fzb_state *s, const char *message);
void    fzb_pause_timing(fzb_state *s);
void    fzb_resume_timing(fzb_state *s);

typedef struct {
    char *name;
    double value;   /* after the kind's scaling: FZB_RATE is per second */
} fzb_counter_value;

/* One finished run, as Google Benchmark reported it. */
typedef struct {
    char *name;            /* base/arg:value/.../real_time, "_<aggregate>" after it for an
                              aggregate; no repetitions or minimum time in it */
    char *base;            /* the name given to fzb_register */
    void *user;            /* the user pointer given to fzb_register */
    char *aggregate;       /* "" for a repetition, else "mean", "median", "min", "max", ... */
    int64_t repetition;    /* 0-based index of this repetition; -1 for an aggregate */
    int64_t repetitions;   /* repetitions of this benchmark */
    int64_t iterations;
    double real_time_s;    /* per iteration */
    bool error;
    char *error_message;
    fzb_counter_value *counters;
    size_t n_counters;
} fzb_run;

typedef struct {
    fzb_run *runs;
    size_t n;
} fzb_results;

/* Where Google Benchmark's own console report goes. */
typedef enum { FZB_QUIET, FZB_STDOUT, FZB_STDERR } fzb_console;

/* Runs every registered benchmark the --benchmark_filter selects, printing Google
 * Benchmark's console report to `console`, and returns every
 * run and aggregate in the order reported.  NULL if memory runs out.  Aggregates "min"
 * and "max" are computed next to Google Benchmark's own mean/median/stddev/cv.
 * With --benchmark_out=FILE the runs (and fzb_set_phase_counters' entries) go to FILE
 * too, in --benchmark_out_format.  With --benchmark_list_tests it runs nothing: it prints
 * the name of every benchmark the filter selects, one a line, on stdout whatever
 * `console` is, and returns no runs. */
fzb_results *fzb_run_all(fzb_console console);
/* True when --benchmark_list_tests is set (after fzb_init): fzb_run_all will list, not
 * run, so a program can skip what only a run needs (checking and locking its output). */
bool         fzb_list_only(void);
void         fzb_results_free(fzb_results *r);

/* A counter of a run by name; false if the run has none of that name. */
bool fzb_run_counter(const fzb_run *r, const char *name, double *value);

/* Forgets every registered benchmark (tests register several sets in one process). */
void fzb_clear(void);

#ifdef __cplusplus
}
#endif

#endif

/* The C shim over Google Benchmark: a C function registered from C runs, and its runs,
 * counters, errors and aggregates come back to C; names stay the same whatever the
 * repetitions and minimum time, phases get entries of their own in --benchmark_out
 * files, and --benchmark_list_tests lists without running. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gbench.h"

typedef struct {
    int calls;
    int64_t iterations;
} tally;

static void count_iterations(fzb_state *s, void *user)
{
    tally *t = user;
    t->calls++;
    volatile double x = 1.0;
    double here = 0;
    while (fzb_keep_running(s)) {
        for (int i = 0; i < 100; i++)
            x = x * 1.0000001;
        t->iterations++;
        here++;
    }
    fzb_counter(s, "items", 10.0, FZB_PLAIN);
    fzb_counter(s, "ones", here, FZB_PER_ITER);   /* a sum over the iterations, averaged */
    fzb_counter(s, "FLOPS", 1000.0, FZB_RATE);
}

static int reset(void **state)
{
    (void)state;
    fzb_clear();
    return 0;
}

static const fzb_run *find(const fzb_results *r, const char *base, const char *aggregate,
                           int64_t repetition)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->runs[i].base, base) == 0 && strcmp(r->runs[i].aggregate, aggregate) == 0
            && r->runs[i].repetition == repetition)
            return &r->runs[i];
    return NULL;
}

static void c_benchmark_runs_and_returns_its_counters(void **state)
{
    (void)state;
    tally t = {0};
    fzb_bench *b = fzb_register("shim/count", count_iterations, &t, NULL, NULL, 0);
    assert_non_null(b);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.001);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    assert_true(t.calls >= 3);
    assert_true(t.iterations > 0);
    for (int rep = 0; rep < 3; rep++) {
        const fzb_run *run = find(r, "shim/count", "", rep);
        assert_non_null(run);
        assert_ptr_equal(run->user, &t);
        assert_false(run->error);
        assert_int_equal(run->repetitions, 3);
        assert_true(run->iterations > 0);
        assert_true(run->real_time_s > 0);
        double items, flops;
        assert_true(fzb_run_counter(run, "items", &items));
        assert_true(items == 10.0);
        /* A rate counter is per iteration times iterations over the run's real time. */
        assert_true(fzb_run_counter(run, "FLOPS", &flops));
        assert_true(fabs(flops * run->real_time_s - 1000.0) < 1e-3 * 1000.0);
        double ones;
        assert_true(fzb_run_counter(run, "ones", &ones));
        assert_true(fabs(ones - 1.0) < 1e-12);
        assert_false(fzb_run_counter(run, "no such counter", &items));
    }
    fzb_results_free(r);
}

static void repetitions_come_back_with_min_median_max(void **state)
{
    (void)state;
    tally t = {0};
    fzb_bench *b = fzb_register("shim/aggregates", count_iterations, &t, NULL, NULL, 0);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.001);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *mn = find(r, "shim/aggregates", "min", -1);
    const fzb_run *md = find(r, "shim/aggregates", "median", -1);
    const fzb_run *mx = find(r, "shim/aggregates", "max", -1);
    assert_non_null(mn);
    assert_non_null(md);
    assert_non_null(mx);
    assert_true(mn->real_time_s <= md->real_time_s && md->real_time_s <= mx->real_time_s);
    double lo = INFINITY, hi = 0;
    for (int rep = 0; rep < 3; rep++) {
        double v = find(r, "shim/aggregates", "", rep)->real_time_s;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(fabs(mn->real_time_s - lo) <= 1e-9 * lo);
    assert_true(fabs(mx->real_time_s - hi) <= 1e-9 * hi);
    fzb_results_free(r);
}

static void check_args(fzb_state *s, void *user)
{
    (void)user;
    if (fzb_arg(s, 0) != 3 || fzb_arg(s, 1) != 7) {
        fzb_skip_with_error(s, "arguments did not arrive");
        return;
    }
    while (fzb_keep_running(s)) {
    }
}

static void arguments_reach_the_function_and_name_the_run(void **state)
{
    (void)state;
    int64_t args[2] = { 3, 7 };
    const char *names[2] = { "M", "N" };
    int user;
    assert_non_null(fzb_register("shim/args", check_args, &user, args, names, 2));
    /* The same name with other arguments is another benchmark; the same both is refused. */
    int64_t other[2] = { 4, 7 };
    assert_non_null(fzb_register("shim/args", check_args, NULL, other, names, 2));
    assert_null(fzb_register("shim/args", check_args, NULL, args, names, 2));
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *run = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->runs[i].user == &user)
            run = &r->runs[i];
    assert_non_null(run);
    assert_false(run->error);
    assert_non_null(strstr(run->name, "shim/args/M:3/N:7"));
    fzb_results_free(r);
}

static void skip_with_error(fzb_state *s, void *user)
{
    (void)user;
    fzb_skip_with_error(s, "the thing under test is missing");
    while (fzb_keep_running(s)) {
    }
}

static void skipped_benchmark_reports_its_error(void **state)
{
    (void)state;
    assert_non_null(fzb_register("shim/skip", skip_with_error, NULL, NULL, NULL, 0));
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    const fzb_run *run = find(r, "shim/skip", "", 0);
    assert_non_null(run);
    assert_true(run->error);
    assert_string_equal(run->error_message, "the thing under test is missing");
    fzb_results_free(r);
}

/* --- Google Benchmark's flags, as a program's command line would give them --- */

/* Hands `flags` to Google Benchmark as the command line would (later ones win). */
static void set_flags(const char *const *flags, size_t n)
{
    char *argv[8] = { "test_bench_shim" };
    assert_true(n < sizeof argv / sizeof *argv - 1);
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)flags[i];
    int argc = (int)n + 1;
    fzb_init(&argc, argv);
}

/* Back to no out file, no list, every benchmark: the next test starts as main did. */
static int default_flags(void **state)
{
    (void)state;
    static const char *const flags[] = { "--benchmark_out=", "--benchmark_out_format=json",
                                         "--benchmark_list_tests=false", "--benchmark_filter=" };
    set_flags(flags, 4);
    return 0;
}

/* A fresh temporary file's path, for an out file or captured stdout. */
static void temp_path(char path[64])
{
    snprintf(path, 64, "/tmp/test_bench_shim_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* The whole of a file as a string (the caller frees it); removes the file. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t size = 0, cap = 4096;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t got;
    while ((got = fread(text + size, 1, cap - size - 1, f)) > 0) {
        size += got;
        if (cap - size < 2) {
            text = realloc(text, cap *= 2);
            assert_non_null(text);
        }
    }
    text[size] = '\0';
    fclose(f);
    remove(path);
    return text;
}

/* stdout into a temporary file from begin to end; end returns what was written.  Nothing
 * between may fail an assertion, which would leave stdout in the file. */
typedef struct {
    char path[64];
    int saved;
} captured;

static void capture_begin(captured *c)
{
    temp_path(c->path);
    fflush(stdout);
    c->saved = dup(STDOUT_FILENO);
    FILE *f = fopen(c->path, "w");
    assert_true(c->saved >= 0 && f);
    dup2(fileno(f), STDOUT_FILENO);
    fclose(f);
}

static char *capture_end(captured *c)
{
    fflush(stdout);
    dup2(c->saved, STDOUT_FILENO);
    close(c->saved);
    return slurp(c->path);
}

/* --- Google Benchmark's JSON, read loosely: each entry of "benchmarks" is one flat
 * object starting at its "name" --- */

typedef struct {
    char name[160], run_name[160], run_type[16], aggregate[16], time_unit[8];
    long long repetition, iterations;
    double real_time, cpu_time;
} json_entry;

/* The entry whose "name" follows *cursor, read up to its closing brace; false after the
 * last.  Fields it lacks stay empty (strings) or -1. */
static bool next_entry(const char **cursor, json_entry *e)
{
    const char *start = strstr(*cursor, "\"name\": \"");
    if (!start)
        return false;
    const char *end = strchr(start, '}');
    assert_non_null(end);
    char *obj = strndup(start, (size_t)(end - start));
    assert_non_null(obj);
    *e = (json_entry){ .repetition = -1, .iterations = -1, .real_time = -1, .cpu_time = -1 };
    const char *f;
    sscanf(obj, "\"name\": \"%159[^\"]", e->name);
    if ((f = strstr(obj, "\"run_name\": \"")))
        sscanf(f, "\"run_name\": \"%159[^\"]", e->run_name);
    if ((f = strstr(obj, "\"run_type\": \"")))
        sscanf(f, "\"run_type\": \"%15[^\"]", e->run_type);
    if ((f = strstr(obj, "\"aggregate_name\": \"")))
        sscanf(f, "\"aggregate_name\": \"%15[^\"]", e->aggregate);
    if ((f = strstr(obj, "\"time_unit\": \"")))
        sscanf(f, "\"time_unit\": \"%7[^\"]", e->time_unit);
    if ((f = strstr(obj, "\"repetition_index\": ")))
        sscanf(f, "\"repetition_index\": %lld", &e->repetition);
    if ((f = strstr(obj, "\"iterations\": ")))
        sscanf(f, "\"iterations\": %lld", &e->iterations);
    if ((f = strstr(obj, "\"real_time\": ")))
        sscanf(f, "\"real_time\": %lf", &e->real_time);
    if ((f = strstr(obj, "\"cpu_time\": ")))
        sscanf(f, "\"cpu_time\": %lf", &e->cpu_time);
    free(obj);
    *cursor = end;
    return true;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* --- stable names --- */

static void names_leave_out_repetitions_and_min_time(void **state)
{
    (void)state;
    tally t = {0};
    fzb_bench *b = fzb_register("shim/names", count_iterations, &t, (int64_t[]){ 3 },
                                (const char *[]){ "n" }, 1);
    assert_non_null(b);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.002);
    char out[64];
    temp_path(out);
    char out_flag[80];
    snprintf(out_flag, sizeof out_flag, "--benchmark_out=%s", out);
    set_flags((const char *[]){ out_flag, "--benchmark_out_format=json" }, 2);

    captured c;
    capture_begin(&c);
    fzb_results *r = fzb_run_all(FZB_STDOUT);
    char *console = capture_end(&c);
    char *json = slurp(out);

    assert_non_null(r);
    assert_int_equal(r->n, 3 + 6);   /* mean, median, stddev, cv, min, max */
    for (size_t i = 0; i < r->n; i++) {
        char want[64];
        snprintf(want, sizeof want, "shim/names/n:3/real_time%s%s",
                 r->runs[i].aggregate[0] ? "_" : "", r->runs[i].aggregate);
        assert_string_equal(r->runs[i].name, want);
        /* The settings still hold per benchmark. */
        assert_int_equal(r->runs[i].repetitions, 3);
    }
    assert_non_null(strstr(console, "shim/names/n:3/real_time_median"));
    assert_non_null(strstr(json, "\"name\": \"shim/names/n:3/real_time_median\""));
    assert_non_null(strstr(json, "\"run_name\": \"shim/names/n:3/real_time\""));
    const char *texts[] = { console, json };
    for (int i = 0; i < 2; i++) {
        assert_null(strstr(texts[i], "min_time:"));
        assert_null(strstr(texts[i], "repeats:"));
    }
    free(console);
    free(json);
    fzb_results_free(r);
}

/* --- phases as manual-time entries --- */

/* Two phases of known length per iteration, which differs from call to call (so a
 * repetition's entry must carry that repetition's value), and a counter of another kind. */
static void two_phases(fzb_state *s, void *user)
{
    tally *t = user;
    t->calls++;
    double iterations = 0;
    while (fzb_keep_running(s))
        iterations++;
    fzb_counter(s, "alpha_s", iterations * 1e-6 * t->calls, FZB_PER_ITER);
    fzb_counter(s, "beta_s", iterations * 3e-6, FZB_PER_ITER);
    fzb_counter(s, "plain_s", 5e-6, FZB_PLAIN);
}

/* The JSON entry of `name` with this run type and repetition index (or aggregate). */
static bool find_entry(const char *json, const char *name, const char *run_type,
                       long long repetition, const char *aggregate, json_entry *e)
{
    const char *cursor = json;
    while (next_entry(&cursor, e))
        if (strcmp(e->name, name) == 0 && strcmp(e->run_type, run_type) == 0
            && e->repetition == repetition && strcmp(e->aggregate, aggregate) == 0)
            return true;
    return false;
}

static void json_out_has_a_manual_time_entry_per_phase(void **state)
{
    (void)state;
    tally t = {0}, u = {0};
    fzb_bench *b = fzb_register("shim/phases", two_phases, &t, NULL, NULL, 0);
    fzb_bench *other = fzb_register("shim/no_phases", two_phases, &u, NULL, NULL, 0);
    assert_non_null(b);
    assert_non_null(other);
    fzb_set_repetitions(b, 3);
    fzb_set_min_time(b, 0.002);
    fzb_set_repetitions(other, 2);
    fzb_set_min_time(other, 0.002);
    /* plain_s is not per iteration and missing_s is never set: no entries for them. */
    fzb_set_phase_counters(b, (const char *[]){ "alpha_s", "beta_s", "plain_s", "missing_s" },
                           (const char *[]){ "alpha", "beta", "plain", "missing" }, 4);
    char out[64], out_flag[80];
    temp_path(out);
    snprintf(out_flag, sizeof out_flag, "--benchmark_out=%s", out);
    set_flags((const char *[]){ out_flag, "--benchmark_out_format=json" }, 2);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    char *json = slurp(out);

    /* The runs themselves, and nothing of the phases among fzb_run_all's results. */
    assert_int_equal(r->n, (3 + 6) + (2 + 6));
    assert_int_equal(count(json, "\"name\": \"shim/phases/real_time"), 3 + 6);
    for (size_t i = 0; i < r->n; i++)
        assert_null(strstr(r->runs[i].name, "manual_time"));

    /* One entry per phase for every repetition and aggregate, with its counter's value. */
    static const char *const aggregates[] = { "mean", "median", "stddev", "cv", "min", "max" };
    static const char *const phases[] = { "alpha", "beta" };
    for (int p = 0; p < 2; p++) {
        char name[64], counter[16];
        snprintf(name, sizeof name, "shim/phases/%s/manual_time", phases[p]);
        snprintf(counter, sizeof counter, "%s_s", phases[p]);
        json_entry e;
        for (int rep = 0; rep < 3 + 6; rep++) {
            bool aggregate = rep >= 3;
            const char *agg = aggregate ? aggregates[rep - 3] : "";
            const fzb_run *run = find(r, "shim/phases", agg, aggregate ? -1 : rep);
            assert_non_null(run);
            double v;
            assert_true(fzb_run_counter(run, counter, &v));
            char full[80];
            snprintf(full, sizeof full, "%s%s%s", name, aggregate ? "_" : "", agg);
            assert_true(find_entry(json, full, aggregate ? "aggregate" : "iteration",
                                   aggregate ? -1 : rep, agg, &e));
            assert_string_equal(e.run_name, name);
            assert_int_equal(e.iterations, run->iterations);
            if (strcmp(agg, "cv") == 0) {   /* a fraction, as Google Benchmark's own cv */
                assert_true(fabs(e.real_time - v) <= 1e-9 * fabs(v) + 1e-15);
                continue;
            }
            assert_string_equal(e.time_unit, "ns");
            assert_true(fabs(e.real_time - v * 1e9) <= 1e-9 * fabs(v * 1e9) + 1e-9);
            assert_true(e.cpu_time == e.real_time);
        }
        /* Per repetition: alpha differs from call to call, beta is 3 µs throughout. */
        assert_true(find_entry(json, name, "iteration", 0, "", &e));
        if (p == 1)
            assert_true(fabs(e.real_time - 3000.0) < 1e-6);
        assert_int_equal(count(json, name), 3 + 6 + (3 + 6));   /* name and run_name */
    }
    assert_null(strstr(json, "shim/phases/plain"));
    assert_null(strstr(json, "shim/phases/missing"));
    assert_null(strstr(json, "shim/no_phases/alpha"));
    assert_int_equal(count(json, "\"name\": \"shim/no_phases/real_time"), 2 + 6);
    free(json);
    fzb_results_free(r);
}

/* A benchmark with no counters, then one with some: Google Benchmark's CSV writes its
 * header (one column per counter) from the first report it gets, and aborts at a counter
 * not in it unless the shim hands it every run at once. */
static void csv_out_has_stable_names_and_phases(void **state)
{
    (void)state;
    tally t = {0};
    int64_t args[2] = { 3, 7 };
    fzb_bench *first = fzb_register("shim/csv_first", check_args, NULL, args,
                                    (const char *[]){ "M", "N" }, 2);
    fzb_bench *b = fzb_register("shim/csv", two_phases, &t, NULL, NULL, 0);
    assert_non_null(first);
    assert_non_null(b);
    fzb_set_repetitions(first, 2);
    fzb_set_min_time(first, 0.002);
    fzb_set_repetitions(b, 2);
    fzb_set_min_time(b, 0.002);
    fzb_set_phase_counters(b, (const char *[]){ "alpha_s", "beta_s" },
                           (const char *[]){ "alpha", "beta" }, 2);
    char out[64], out_flag[80];
    temp_path(out);
    snprintf(out_flag, sizeof out_flag, "--benchmark_out=%s", out);
    set_flags((const char *[]){ out_flag, "--benchmark_out_format=csv" }, 2);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    char *csv = slurp(out);

    assert_non_null(strstr(csv, "\"alpha_s\""));   /* the header has the later counters */
    assert_int_equal(count(csv, "\n\"shim/csv_first/M:3/N:7/real_time\","), 2);
    assert_int_equal(count(csv, "\n\"shim/csv/real_time\","), 2);
    assert_int_equal(count(csv, "\n\"shim/csv/alpha/manual_time\","), 2);
    assert_int_equal(count(csv, "\n\"shim/csv/beta/manual_time_median\","), 1);
    assert_null(strstr(csv, "min_time:"));
    assert_null(strstr(csv, "repeats:"));
    free(csv);
    fzb_results_free(r);
}

/* --- --benchmark_list_tests --- */

static void list_tests_prints_stable_names_and_runs_nothing(void **state)
{
    (void)state;
    tally t = {0};
    /* "a" is a prefix of "a/epoch", as the sweep's step and epoch configurations are. */
    fzb_bench *bs[4] = {
        fzb_register("shim/list/a", count_iterations, &t, NULL, NULL, 0),
        fzb_register("shim/list/a/epoch", count_iterations, &t, NULL, NULL, 0),
        fzb_register("shim/list/b", count_iterations, &t, (int64_t[]){ 3 },
                     (const char *[]){ "M" }, 1),
        fzb_register("shim/unlisted", count_iterations, &t, NULL, NULL, 0),
    };
    for (int i = 0; i < 4; i++) {
        assert_non_null(bs[i]);
        fzb_set_repetitions(bs[i], 5);
        fzb_set_min_time(bs[i], 0.5);
    }
    static const char want[] = "shim/list/a/real_time\n"
                               "shim/list/a/epoch/real_time\n"
                               "shim/list/b/M:3/real_time\n";
    assert_false(fzb_list_only());
    set_flags((const char *[]){ "--benchmark_list_tests=true", "--benchmark_filter=^shim/list/" },
              2);
    assert_true(fzb_list_only());
    /* On stdout whether or not the console report is quiet, and only once. */
    fzb_console consoles[] = { FZB_QUIET, FZB_STDOUT, FZB_STDERR };
    for (int i = 0; i < 3; i++) {
        captured c;
        capture_begin(&c);
        fzb_results *r = fzb_run_all(consoles[i]);
        char *listed = capture_end(&c);
        assert_non_null(r);
        assert_int_equal(r->n, 0);
        assert_string_equal(listed, want);
        free(listed);
        fzb_results_free(r);
    }
    assert_int_equal(t.calls, 0);
}

int main(int argc, char **argv)
{
    fzb_init(&argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(c_benchmark_runs_and_returns_its_counters, reset),
        cmocka_unit_test_setup(repetitions_come_back_with_min_median_max, reset),
        cmocka_unit_test_setup(arguments_reach_the_function_and_name_the_run, reset),
        cmocka_unit_test_setup(skipped_benchmark_reports_its_error, reset),
        cmocka_unit_test_setup_teardown(names_leave_out_repetitions_and_min_time, reset,
                                        default_flags),
        cmocka_unit_test_setup_teardown(json_out_has_a_manual_time_entry_per_phase, reset,
                                        default_flags),
        cmocka_unit_test_setup_teardown(csv_out_has_stable_names_and_phases, reset, default_flags),
        cmocka_unit_test_setup_teardown(list_tests_prints_stable_names_and_runs_nothing, reset,
                                        default_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

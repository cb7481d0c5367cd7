/* freeze_sweep's command line: the embedded default, the model syntax, and a clear error
 * naming the option and the value for every bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "sweep.h"
#include "sweep_args.h"

static fz_status parse(fzb_sweep_args *a, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return fzb_sweep_args_parse(argc, (char **)argv, a);
}

static void no_arguments_give_the_default_sweep(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", NULL }), FZ_OK);
    assert_int_equal(a.n_models, 2);
    assert_string_equal(a.models[0].name, "10,5,1");
    assert_int_equal(a.models[0].n_widths, 3);
    assert_int_equal(a.models[0].batch, 64);
    assert_string_equal(a.models[1].name, "1024x9");
    assert_int_equal(a.models[1].n_widths, 9);
    assert_int_equal(a.models[1].widths[8], 1024);
    assert_int_equal(a.models[1].batch, 256);
    /* No --spec: each model gets the defaults fitted to it (see below). */
    assert_true(a.fit_default_specs);
    assert_int_equal(a.n_specs, 1);
    assert_string_equal(a.specs[0], "none");
    assert_int_equal(a.n_threads, 2);
    assert_int_equal(a.threads[0], 1);
    assert_int_equal(a.threads[1], 0);   /* all cores */
    assert_int_equal(a.n_batches, 0);
    assert_int_equal(a.repetitions, FZB_SWEEP_DEFAULT_REPETITIONS);
    assert_true(a.write_csv);
    assert_null(a.output);
    assert_false(a.allow_dirty);   /* a dirty build publishes only when told */
}

static void expect_default_specs(size_t layers, const char *const *want, size_t n)
{
    char specs[FZB_DEFAULT_SPECS][FZB_SPEC_TEXT];
    size_t got = fzb_default_specs(layers, specs);
    if (got != n)
        fail_msg("%zu layers: %zu default specs, want %zu", layers, got, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i], want[i]) != 0)
            fail_msg("%zu layers: spec %zu is '%s', want '%s'", layers, i, specs[i], want[i]);
}

static void default_specs_fit_each_model(void **state)
{
    (void)state;
    /* 1024x9 keeps the documented default list. */
    expect_default_specs(8, (const char *[]){ "none", "prefix:2", "prefix:4", "prefix:6",
                                              "prefix:7", "fc4.*", "last", "bitfit" }, 8);
    /* The README's 784,1024x3,10 (4 layers): no prefix:6 and no fc4.*, which do not fit
     * it and would stop the default sweep with a usage error. */
    expect_default_specs(4, (const char *[]){ "none", "prefix:1", "prefix:2", "prefix:3",
                                              "fc2.*", "last", "bitfit" }, 7);
    expect_default_specs(3, (const char *[]){ "none", "prefix:1", "prefix:2", "bitfit" }, 4);
    expect_default_specs(2, (const char *[]){ "none", "prefix:1", "bitfit" }, 3);
    expect_default_specs(1, (const char *[]){ "none", "bitfit" }, 2);
    expect_default_specs(64, (const char *[]){ "none", "prefix:16", "prefix:32", "prefix:48",
                                               "prefix:63", "fc32.*", "last", "bitfit" }, 8);
}

static void readme_example_runs_with_fitted_defaults(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--model", "784,1024x3,10@32",
                                                 "--threads", "1", NULL }), FZ_OK);
    fzb_sweep *s;
    assert_int_equal(fzb_sweep_create(&a, 2, NULL, &s), FZ_OK);
    assert_int_equal(fzb_sweep_count(s), 7);   /* every fitted spec, one thread count */
    fzb_sweep_free(s);
    /* The default models together: each its own list (8 + 3 specs, two thread counts). */
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", NULL }), FZ_OK);
    assert_int_equal(fzb_sweep_create(&a, 2, NULL, &s), FZ_OK);
    assert_int_equal(fzb_sweep_count(s), (8 + 3) * 2);
    fzb_sweep_free(s);
}

static void user_spec_fitting_no_model_names_spec_and_model(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--model", "10,5,1",
                                                 "--spec", "fc3.*", NULL }), FZ_OK);
    fzb_sweep *s;
    assert_int_equal(fzb_sweep_create(&a, 2, NULL, &s), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "fc3.*"));
    assert_non_null(strstr(fz_last_error(), "10,5,1"));
}

static void both_option_forms_are_taken(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){
        "freeze_sweep", "--model=16x4@8", "--batch=8,16", "--threads=1", "--spec=prefix:1",
        "--repetitions=3", "--min-time=0.05s", "--output=x.csv", "--quick-probes",
        "--allow-dirty", NULL }), FZ_OK);
    assert_string_equal(a.models[0].name, "16x4");
    assert_int_equal(a.n_batches, 2);
    assert_int_equal(a.threads[0], 1);
    assert_string_equal(a.specs[1], "prefix:1");
    assert_false(a.fit_default_specs);
    assert_int_equal(a.repetitions, 3);
    assert_true(a.min_time == 0.05);
    assert_string_equal(a.output, "x.csv");
    assert_true(a.quick_probes);
    assert_true(a.allow_dirty);
    /* A stray operand is refused, not skipped. */
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "16x4", NULL }), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "'16x4'"));
}

static void model_items_expand_repeats_and_take_a_batch(void **state)
{
    (void)state;
    fzb_model_arg m;
    assert_int_equal(fzb_parse_model("784,1024x3,10@32", &m), FZ_OK);
    assert_string_equal(m.name, "784,1024x3,10");
    size_t want[] = { 784, 1024, 1024, 1024, 10 };
    assert_int_equal(m.n_widths, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(m.widths[i], want[i]);
    assert_int_equal(m.batch, 32);
}

static void options_add_up_and_none_is_always_first(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){
        "freeze_sweep", "--model", "16x4", "--batch", "8,16", "--threads", "1", "--threads",
        "0,2", "--spec", "prefix:1", "--spec", "none", "--spec", "fc1.*,fc2.bias",
        "--repetitions", "3", "--min-time", "0.05", "--output", "x.csv", "--no-csv", "--verbose", NULL }),
        FZ_OK);
    assert_int_equal(a.n_models, 1);
    assert_int_equal(a.n_batches, 2);
    assert_int_equal(a.batches[1], 16);
    assert_int_equal(a.n_threads, 3);
    assert_int_equal(a.threads[2], 2);
    assert_int_equal(a.n_specs, 3);
    assert_string_equal(a.specs[0], "none");
    assert_string_equal(a.specs[2], "fc1.*,fc2.bias");
    assert_int_equal(a.repetitions, 3);
    assert_true(a.min_time == 0.05);
    assert_string_equal(a.output, "x.csv");
    assert_false(a.write_csv);
    assert_true(a.verbose);
}

static void every_bad_value_is_an_error_naming_option_and_value(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        { "--batch", "0" }, { "--batch", "abc" }, { "--batch", "8,,16" }, { "--batch", "8," },
        { "--threads", "-1" }, { "--threads", "257" }, { "--model", "10" },
        { "--model", "10,,5" }, { "--model", "1024x0" }, { "--model", "10,5@0" },
        { "--model", "10,5,y" }, { "--model", "-3,4" }, { "--spec", "prefix:x" },
        { "--spec", "fc1.weight$" }, { "--spec", "prefix:9" }, { "--repetitions", "0" },
        { "--repetitions", "2.5" }, { "--min-time", "-1" }, { "--min-time", "nan" },
        { "--min-time", "0" }, { "--output", "" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fzb_sweep_args a;
        const char *argv[] = { "freeze_sweep", bad[i][0], bad[i][1], NULL };
        assert_int_equal(parse(&a, argv), FZ_EINVAL);
        const char *msg = fz_last_error();
        if (!strstr(msg, bad[i][0]) || !strstr(msg, bad[i][1]))
            fail_msg("%s %s: message '%s' names not both", bad[i][0], bad[i][1], msg);
    }
}

/* The bench programs read numbers with the freezebench command's grammar (decimal.h):
 * every spelling its tests refuse (tests/test_cli_args.c) is refused here too, by
 * freeze_sweep's options and by kernel_bench's --threads, --repetitions and --min-time
 * (the same cli.c functions), and the plain spellings still pass. */
static void numbers_follow_the_cli_grammar(void **state)
{
    (void)state;
    static const char *const opts[] = { "--threads", "--batch", "--repetitions",
                                        "--min-time" };
    static const char *const bad[] = { " 1", "1 ", "0x10", "+1", "-0", "\t2", "1\n", "1e",
                                       ".", "inf", "nan", "0x1p-1", "" };
    for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            fzb_sweep_args a;
            const char *argv[] = { "freeze_sweep", opts[o], bad[i], NULL };
            if (parse(&a, argv) != FZ_EINVAL)
                fail_msg("freeze_sweep %s '%s' was taken", opts[o], bad[i]);
            assert_non_null(strstr(fz_last_error(), opts[o]));
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int n = -1;
        double t = -1;
        if (fzb_parse_threads("--threads", bad[i], &n) != FZ_EINVAL
            || fzb_parse_repetitions("--repetitions", bad[i], &n) != FZ_EINVAL
            || fzb_parse_min_time("--min-time", bad[i], &t) != FZ_EINVAL)
            fail_msg("kernel_bench took '%s'", bad[i]);
        assert_true(n == -1 && t == -1);   /* a refused value leaves the option alone */
    }
    /* List items and model widths too. */
    static const char *const bad_lists[][2] = {
        { "--batch", "8, 16" }, { "--threads", "1,0x2" }, { "--model", "10, 5,1" },
        { "--model", "10,5,+1" }, { "--model", "10,5@0x40" },
    };
    for (size_t i = 0; i < sizeof bad_lists / sizeof *bad_lists; i++) {
        fzb_sweep_args a;
        const char *argv[] = { "freeze_sweep", bad_lists[i][0], bad_lists[i][1], NULL };
        if (parse(&a, argv) != FZ_EINVAL)
            fail_msg("freeze_sweep %s '%s' was taken", bad_lists[i][0], bad_lists[i][1]);
    }
    int n;
    double t;
    assert_int_equal(fzb_parse_threads("--threads", "16", &n), FZ_OK);
    assert_int_equal(n, 16);
    assert_int_equal(fzb_parse_threads("--threads", "257", &n), FZ_EINVAL);
    assert_int_equal(fzb_parse_repetitions("--repetitions", "1000", &n), FZ_OK);
    assert_int_equal(n, 1000);
    static const struct { const char *text; double seconds; } good_times[] = {
        { "0.5", 0.5 }, { "0.5s", 0.5 }, { "2.", 2.0 }, { ".25", 0.25 }, { "1e-2", 0.01 },
        { "6E+1s", 60.0 },
    };
    for (size_t i = 0; i < sizeof good_times / sizeof *good_times; i++) {
        assert_int_equal(fzb_parse_min_time("--min-time", good_times[i].text, &t), FZ_OK);
        assert_true(t == good_times[i].seconds);
    }
    assert_int_equal(fzb_parse_min_time("--min-time", "s", &t), FZ_EINVAL);
    assert_int_equal(fzb_parse_min_time("--min-time", "0.5ss", &t), FZ_EINVAL);
}

static void option_without_value_is_an_error(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--model", NULL }), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "--model"));
    /* the freezebench command's wording (cli/cli_common.c), one for every program */
    assert_non_null(strstr(fz_last_error(), "--model needs a value"));
}

/* getopt_long would take --mod for --model; an abbreviation is refused as unknown, and
 * a flag given a value says so. */
static void abbreviation_and_flag_value_are_errors(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--mod", "10,5,1", NULL }),
                     FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "unknown option '--mod'"));
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--quiet=1", NULL }),
                     FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "--quiet takes no value"));
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--quiet", NULL }), FZ_OK);
    assert_true(a.quiet);
}

static void unknown_option_is_an_error(void **state)
{
    (void)state;
    fzb_sweep_args a;
    assert_int_equal(parse(&a, (const char *[]){ "freeze_sweep", "--bogus", "1", NULL }), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "'--bogus'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_arguments_give_the_default_sweep),
        cmocka_unit_test(default_specs_fit_each_model),
        cmocka_unit_test(readme_example_runs_with_fitted_defaults),
        cmocka_unit_test(user_spec_fitting_no_model_names_spec_and_model),
        cmocka_unit_test(both_option_forms_are_taken),
        cmocka_unit_test(model_items_expand_repeats_and_take_a_batch),
        cmocka_unit_test(options_add_up_and_none_is_always_first),
        cmocka_unit_test(every_bad_value_is_an_error_naming_option_and_value),
        cmocka_unit_test(numbers_follow_the_cli_grammar),
        cmocka_unit_test(option_without_value_is_an_error),
        cmocka_unit_test(abbreviation_and_flag_value_are_errors),
        cmocka_unit_test(unknown_option_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

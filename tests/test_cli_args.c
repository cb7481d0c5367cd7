/*
 * The freezebench command line: what a good command line parses to, and that every bad
 * argument is a usage error (exit status 2) whose message names the argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli_args.h"

#define ARGV(...) ((char *const[]){ "freezebench", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof ARGV(__VA_ARGS__) / sizeof(char *)))
#define PARSE(args, err, ...) fz_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), args, err, \
                                           sizeof err)

/* A complete train command line with one more option and value appended (either may
 * be NULL). */
static int parse_train_with(fz_cli_args *a, char *err, size_t err_size, const char *o1,
                            const char *v1)
{
    char *argv[32] = { "freezebench", "train", "--model", "in.npz", "--data", "d.npz",
                       "--out", "out.npz", "--epochs", "5", "--batch", "8", "--lr", "0.1" };
    int argc = 14;
    if (o1)
        argv[argc++] = (char *)o1;
    if (v1)
        argv[argc++] = (char *)v1;
    return fz_cli_parse(argc, argv, a, err, err_size);
}

static void expect_usage_error(int rc, const char *err, const char *needle)
{
    assert_int_equal(rc, FZ_CLI_USAGE_ERROR);
    if (!strstr(err, needle))
        fail_msg("message \"%s\" does not name '%s'", err, needle);
}

static void train_line_parses_every_option(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    int rc = PARSE(&a, err, "train", "--model", "in.npz", "--data", "d.npz", "--freeze",
                   "prefix:2", "--epochs", "100", "--batch", "64", "--lr", "0.01",
                   "--momentum=0.9", "--weight-decay", "1e-4", "--seed", "7", "--out",
                   "o.npz", "--log-every", "1", "--threads", "2");
    assert_int_equal(rc, 0);
    assert_int_equal(a.command, FZ_CLI_TRAIN);
    assert_string_equal(a.model, "in.npz");
    assert_string_equal(a.data, "d.npz");
    assert_string_equal(a.out, "o.npz");
    assert_string_equal(a.freeze, "prefix:2");
    assert_int_equal(a.epochs, 100);
    assert_int_equal(a.batch, 64);
    assert_true(a.sgd.lr == 0.01f && a.sgd.momentum == 0.9f && a.sgd.weight_decay == 1e-4f);
    assert_true(a.shuffle);
    assert_int_equal(a.seed, 7);
    assert_int_equal(a.log_every, 1);
    assert_int_equal(a.threads, 2);
}

static void train_defaults_are_no_freeze_no_shuffle_log_every_10(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    assert_int_equal(parse_train_with(&a, err, sizeof err, NULL, NULL), 0);
    assert_string_equal(a.freeze, "none");
    assert_false(a.shuffle);
    assert_int_equal(a.log_every, 10);
    assert_int_equal(a.threads, -1);
    assert_true(a.sgd.momentum == 0.0f && a.sgd.weight_decay == 0.0f);
}

static void params_takes_a_model_and_freeze(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    assert_int_equal(PARSE(&a, err, "params", "m.npz", "--freeze", "bitfit"), 0);
    assert_int_equal(a.command, FZ_CLI_PARAMS);
    assert_string_equal(a.model, "m.npz");
    assert_string_equal(a.freeze, "bitfit");
}

static void help_anywhere_wins(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    assert_int_equal(PARSE(&a, err, "train", "--lr", "x", "--help"), 0);
    assert_int_equal(a.command, FZ_CLI_HELP);
    assert_int_equal(PARSE(&a, err, "-h"), 0);
    assert_int_equal(a.command, FZ_CLI_HELP);
}

static void missing_or_unknown_command_is_usage_error(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    char *const only_program[] = { "freezebench" };
    expect_usage_error(fz_cli_parse(1, only_program, &a, err, sizeof err), err, "command");
    expect_usage_error(PARSE(&a, err, "fit"), err, "'fit'");
}

static void bad_numbers_are_usage_errors_naming_the_option(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    const struct { const char *opt, *value; } bad[] = {
        { "--epochs", "0" }, { "--epochs", "-3" }, { "--epochs", "ten" },
        { "--epochs", "5x" }, { "--batch", "0" }, { "--batch", "" }, { "--lr", "-0.1" },
        { "--lr", "nan" }, { "--lr", "inf" }, { "--lr", "0.1.2" }, { "--momentum", "-1" },
        { "--weight-decay", "abc" }, { "--seed", "-1" }, { "--seed", "1e3" },
        { "--log-every", "0" }, { "--threads", "-2" }, { "--threads", "99999" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* a line of its own: the full train line already holds --epochs, --batch, --lr */
        char *argv[] = { "freezebench", "train", (char *)bad[i].opt, (char *)bad[i].value };
        int rc = fz_cli_parse(4, argv, &a, err, sizeof err);
        expect_usage_error(rc, err, bad[i].opt);
        assert_non_null(strstr(err, bad[i].value));
    }
}

/* One number grammar for every option (src/core/decimal.h, shared with the bench
 * programs): leading and trailing blanks, signs, hex and a bare exponent are refused by
 * each option alike, not by some (strtod would take " 0.5" and --lr 0x10). */
static void every_option_reads_numbers_with_one_decimal_grammar(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    const char *opts[] = { "--epochs", "--batch", "--lr", "--momentum", "--weight-decay",
                           "--seed", "--log-every", "--threads" };
    const char *bad[] = { " 1", "1 ", "0x10", "+1", "\t2", "1\n", "1e", "." };
    for (size_t o = 0; o < sizeof opts / sizeof opts[0]; o++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char *argv[] = { "freezebench", "train", (char *)opts[o], (char *)bad[i] };
            expect_usage_error(fz_cli_parse(4, argv, &a, err, sizeof err), err, opts[o]);
        }
    }
    /* what the grammar takes */
    const char *opt_good[][2] = { { "--momentum", "0.5" }, { "--weight-decay", "1e-4" },
                                  { "--momentum", "2." }, { "--weight-decay", ".5E+1" },
                                  { "--seed", "18446744073709551615" }, { "--threads", "16" },
                                  { "--log-every", "16" } };
    for (size_t i = 0; i < sizeof opt_good / sizeof opt_good[0]; i++)
        assert_int_equal(parse_train_with(&a, err, sizeof err, opt_good[i][0],
                                          opt_good[i][1]), 0);
    assert_true(a.sgd.momentum == 0.0f && a.log_every == 16);
}

static void unknown_option_is_usage_error_naming_it(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--learning-rate", "1"), err,
                       "--learning-rate");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--lr=", NULL), err, "--lr");
}

/* getopt_long's grammar: --opt=value as --opt value; an abbreviation, which getopt_long
 * itself would take, refused as unknown; a single-dash word is an (unknown) short
 * option; after "--" every argument is an operand. */
static void getopt_forms(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    assert_int_equal(PARSE(&a, err, "train", "--model=in.npz", "--data=d.npz", "--out=o.npz",
                           "--epochs=5", "--batch=8", "--lr=0.1", "--quiet"), 0);
    assert_string_equal(a.model, "in.npz");
    assert_int_equal(a.epochs, 5);
    assert_true(a.quiet);
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--mom", "0.9"), err,
                       "unknown option '--mom'");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--quiet=yes", NULL), err,
                       "--quiet takes no value");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "-x", NULL), err, "'-x'");
    expect_usage_error(PARSE(&a, err, "params", "--quiet", "m.npz"), err,
                       "--quiet is not an option of params");
    assert_int_equal(PARSE(&a, err, "params", "--freeze", "bitfit", "--", "-m.npz"), 0);
    assert_string_equal(a.model, "-m.npz");
    /* a value that looks like an option is still the value */
    assert_int_equal(PARSE(&a, err, "params", "--freeze", "--map", "m.npz"), 0);
    assert_string_equal(a.freeze, "--map");
}

/* getopt's state is global: a parse that stopped half-way (a missing value, inside a
 * group of short options) must not leak into the next one. */
static void parses_many_times(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    for (int i = 0; i < 3; i++) {
        expect_usage_error(PARSE(&a, err, "params", "m.npz", "-xy"), err, "-x");
        expect_usage_error(parse_train_with(&a, err, sizeof err, "--momentum", NULL), err,
                           "--momentum needs a value");
        assert_int_equal(PARSE(&a, err, "params", "m.npz", "--freeze", "last"), 0);
        assert_string_equal(a.freeze, "last");
    }
}

static void version_anywhere(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    assert_int_equal(PARSE(&a, err, "train", "--bogus", "--version"), 0);
    assert_int_equal(a.command, FZ_CLI_VERSION);
    assert_int_equal(PARSE(&a, err, "--version", "--help"), 0);   /* --help wins */
    assert_int_equal(a.command, FZ_CLI_HELP);
}

static void option_without_value_is_usage_error(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--momentum", NULL), err,
                       "--momentum needs a value");
}

static void repeated_option_is_usage_error(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--lr", "0.2"), err,
                       "--lr is given twice");
}

static void train_without_required_option_is_usage_error_naming_it(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    expect_usage_error(PARSE(&a, err, "train", "--model", "m.npz", "--data", "d.npz",
                             "--epochs", "1", "--batch", "1", "--lr", "1"), err, "--out");
    expect_usage_error(PARSE(&a, err, "train", "--model", "m.npz", "--data", "d.npz",
                             "--out", "o", "--batch", "1", "--lr", "1"), err, "--epochs");
    expect_usage_error(PARSE(&a, err, "train", "--data", "d.npz", "--out", "o", "--epochs",
                             "1", "--batch", "1", "--lr", "1"), err, "--model");
}

static void cache_schedule_map_options(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    int rc = PARSE(&a, err, "train", "--model", "in.npz", "--data", "d.npz", "--epochs", "5",
                   "--batch", "8", "--lr", "0.1", "--out", "o.npz", "--cache-frozen",
                   "--cache-max-bytes", "4096", "--schedule", "0:prefix:2,3:none",
                   "--map", "fc1=0,fc2=2", "--ignore-unknown");
    assert_int_equal(rc, 0);
    assert_true(a.cache_frozen && a.ignore_unknown);
    assert_int_equal(a.cache_max_bytes, 4096);
    assert_string_equal(a.schedule, "0:prefix:2,3:none");
    assert_string_equal(a.map, "fc1=0,fc2=2");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--cache-max-bytes", "64"),
                       err, "--cache-frozen");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--cache-frozen=1", NULL),
                       err, "--cache-frozen");
    expect_usage_error(parse_train_with(&a, err, sizeof err, "--schedule", ""), err,
                       "--schedule");
    rc = PARSE(&a, err, "params", "m.npz", "--map", "fc1=0", "--ignore-unknown");
    assert_int_equal(rc, 0);
    assert_string_equal(a.map, "fc1=0");
}

/* --map's grammar is checked as it is parsed, before any file is read: fcK=PREFIX for
 * K = 1, 2, ... in order, no empty item (a trailing comma was accepted) or PREFIX. */
static void malformed_map_is_usage_error_naming_the_item(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    const struct { const char *map, *says; } bad[] = {
        { "fc1=0,", "item 2 is empty (a trailing comma)" },
        { ",fc1=0", "item 1 is empty (a leading comma)" },
        { "fc1=0,,fc2=2", "item 2 is empty (two commas in a row)" },
        { "fc1=", "item 1 'fc1=' has no PREFIX" },
        { "fc2=0", "item 1 'fc2=0' should be fc1=PREFIX" },
        { "fc1=0,fc3=4", "item 2 'fc3=4' should be fc2=PREFIX" },
        { "0", "item 1 '0' should be fc1=PREFIX" },
        { "fc1=0,fc1=2", "item 2 'fc1=2' should be fc2=PREFIX" },
        /* Issue 24 item 2: one prefix for two layers, a usage error before any file. */
        { "fc1=0,fc2=2,fc3=4,fc4=0", "fc1 and fc4 both name '0'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_usage_error(parse_train_with(&a, err, sizeof err, "--map", bad[i].map), err,
                           bad[i].says);
        char *map = (char *)bad[i].map;
        expect_usage_error(PARSE(&a, err, "params", "m.npz", "--map", map), err, "--map");
    }
    assert_int_equal(parse_train_with(&a, err, sizeof err, "--map",
                                      "fc1=0,fc2=encoder.lin,fc3=fc3"), 0);
    assert_string_equal(a.map, "fc1=0,fc2=encoder.lin,fc3=fc3");
}

static void params_rejects_train_options_and_extra_arguments(void **state)
{
    (void)state;
    fz_cli_args a;
    char err[256];
    expect_usage_error(PARSE(&a, err, "params", "m.npz", "--lr", "1"), err, "--lr");
    expect_usage_error(PARSE(&a, err, "params", "m.npz", "other.npz"), err, "other.npz");
    expect_usage_error(PARSE(&a, err, "params"), err, "MODEL.npz");
    expect_usage_error(PARSE(&a, err, "params", "m.npz", "--freeze", ""), err, "--freeze");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_line_parses_every_option),
        cmocka_unit_test(train_defaults_are_no_freeze_no_shuffle_log_every_10),
        cmocka_unit_test(params_takes_a_model_and_freeze),
        cmocka_unit_test(help_anywhere_wins),
        cmocka_unit_test(getopt_forms),
        cmocka_unit_test(parses_many_times),
        cmocka_unit_test(version_anywhere),
        cmocka_unit_test(missing_or_unknown_command_is_usage_error),
        cmocka_unit_test(bad_numbers_are_usage_errors_naming_the_option),
        cmocka_unit_test(every_option_reads_numbers_with_one_decimal_grammar),
        cmocka_unit_test(unknown_option_is_usage_error_naming_it),
        cmocka_unit_test(option_without_value_is_usage_error),
        cmocka_unit_test(repeated_option_is_usage_error),
        cmocka_unit_test(train_without_required_option_is_usage_error_naming_it),
        cmocka_unit_test(params_rejects_train_options_and_extra_arguments),
        cmocka_unit_test(cache_schedule_map_options),
        cmocka_unit_test(malformed_map_is_usage_error_naming_the_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

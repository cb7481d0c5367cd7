/* finetune's command line: the defaults (widths with the head, the default specs and the
 * gradual schedule fitted to the depth), --quick, and a refusal naming the option for
 * every bad value; the parts an epoch is evaluated after; and the target rule on
 * made-up runs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ft_args.h"
#include "ft_experiment.h"

static fz_status parse(ft_args *a, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return ft_args_parse(argc, (char **)argv, a);
}

static void defaults(void **state)
{
    (void)state;
    ft_args a;
    assert_int_equal(parse(&a, (const char *[]){ "finetune", NULL }), FZ_OK);
    assert_string_equal(a.model_text, "784,512,512,512,5");
    assert_int_equal(a.batch, 64);
    assert_int_equal(a.pretrain_epochs, 3);
    assert_int_equal(a.epochs, 3);
    assert_int_equal(a.evals_per_epoch, 4);
    assert_true(a.adamw && a.sgd);
    assert_int_equal(a.threads, 1);
    assert_true(fabs(a.target_fraction - 0.95) < 1e-12);
    assert_int_equal(a.max_train, 0);
    const char *names[] = { "none", "prefix:1", "prefix:2", "last", "bitfit", "gradual" };
    assert_int_equal(a.n_specs, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(a.specs[i].name, names[i]);
    assert_true(a.specs[5].schedule);
    assert_string_equal(a.specs[5].text, "0:prefix:3,1:prefix:2,2:prefix:1");
    assert_false(a.specs[3].schedule);
}

static void quick_and_own_values(void **state)
{
    (void)state;
    ft_args a;
    assert_int_equal(parse(&a, (const char *[]){ "finetune", "--quick", NULL }), FZ_OK);
    assert_string_equal(a.model_text, "784,64,64,64,5");
    assert_int_equal(a.max_train, 512);
    assert_int_equal(a.max_test, 256);
    assert_int_equal(a.pretrain_epochs, 1);
    /* gradual follows the depth and stops at the last epoch. */
    assert_int_equal(parse(&a, (const char *[]){ "finetune", "--widths=784,32,32,32,32",
                                                 "--epochs", "2", "--spec", "gradual",
                                                 "--spec", "0:last,1:none", "--optimizer",
                                                 "sgd", "--threads", "0",
                                                 "--evals-per-epoch", "1", NULL }), FZ_OK);
    assert_string_equal(a.model_text, "784,32,32,32,32,5");
    assert_int_equal(a.n_specs, 2);
    assert_string_equal(a.specs[0].text, "0:prefix:4,1:prefix:3");
    assert_true(a.specs[1].schedule);
    assert_string_equal(a.specs[1].name, "0:last,1:none");
    assert_true(a.sgd && !a.adamw);
    assert_int_equal(a.threads, 0);
    assert_int_equal(a.evals_per_epoch, 1);
}

static void refusals_name_the_option(void **state)
{
    (void)state;
    ft_args a;
    const char *const bad[][4] = {
        { "--widths", "784", "--widths" }, { "--widths", "10,5", "784" },
        { "--widths", "784,,5", "--widths" }, { "--batch", "0", "--batch" },
        { "--epochs", "x", "--epochs" }, { "--optimizer", "adam", "--optimizer" },
        { "--target-fraction", "1.5", "--target-fraction" }, { "--threads", "-1", "--threads" },
        { "--spec", "", "--spec" }, { "--bogus", "1", "--bogus" },
        { "--evals-per-epoch", "0", "--evals-per-epoch" },
        { "--evals-per-epoch", "2x", "--evals-per-epoch" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *argv[] = { "finetune", bad[i][0], bad[i][1], NULL };
        assert_int_equal(parse(&a, argv), FZ_EINVAL);
        if (!strstr(fz_last_error(), bad[i][2]))
            fail_msg("'%s %s': message '%s' lacks '%s'", bad[i][0], bad[i][1],
                     fz_last_error(), bad[i][2]);
    }
}

/* An epoch's parts end at j·steps/evals rounded down: nearly equal, the last at the
 * epoch's end, none empty while evals <= steps. */
static void parts_split_the_epoch(void **state)
{
    (void)state;
    const size_t eleven[] = { 0, 3, 7, 11 };
    for (unsigned j = 0; j <= 3; j++)
        assert_int_equal(ft_part_end(11, 3, j), eleven[j]);
    for (unsigned j = 0; j <= 8; j++)
        assert_int_equal(ft_part_end(8, 8, j), j);
    assert_int_equal(ft_part_end(468, 4, 1), 117);   /* the default run: 30000 / 64 */
    assert_int_equal(ft_part_end(468, 1, 1), 468);
}

/* The cache is asked for where a step can read it: every epoch but a one-epoch run's for
 * a plain prefix; not at all for gradual unfreezing; where a schedule deepens the prefix,
 * the epoch before (its cache starts the next epoch's steps while the deeper one fills). */
static void cache_only_where_read(void **state)
{
    (void)state;
    ft_args a;
    assert_int_equal(parse(&a, (const char *[]){ "finetune", "--quick", "--epochs", "3",
                                                 NULL }), FZ_OK);
    const struct { const char *text; bool schedule; bool want[3]; } cases[] = {
        { "prefix:1", false, { true, true, true } },
        { "bitfit", false, { false, false, false } },
        { "0:prefix:3,1:prefix:2,2:prefix:1", true, { false, false, false } },
        { "0:prefix:1,1:prefix:2", true, { true, true, true } },
        { "0:prefix:2,1:prefix:1", true, { false, true, true } },
        { "0:prefix:1,2:none", true, { true, true, false } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ft_spec spec = { .schedule = cases[i].schedule };
        strcpy(spec.text, cases[i].text);
        bool use[3];
        assert_int_equal(ft_cache_epochs(&a, &spec, use), FZ_OK);
        for (int e = 0; e < 3; e++)
            if (use[e] != cases[i].want[e])
                fail_msg("%s, epoch %d: cache %d, expected %d", cases[i].text, e, use[e],
                         cases[i].want[e]);
    }
    assert_int_equal(parse(&a, (const char *[]){ "finetune", "--quick", "--epochs", "1",
                                                 NULL }), FZ_OK);
    ft_spec one = { .text = "prefix:2" };
    bool use1;
    assert_int_equal(ft_cache_epochs(&a, &one, &use1), FZ_OK);
    assert_false(use1);   /* nothing after it to read a cache */
}

/* Targets come from `none` without the cache, per optimizer; the first evaluation at the
 * target gives the time, its epoch and its epochs done. */
static void targets(void **state)
{
    (void)state;
    ft_spec none = { .name = "none" }, last = { .name = "last" };
#define EV(ep, j, acc, t) { .epoch = ep, .evaluation = j, .epochs_done = (ep) - 1 + (j) / 2.0, \
                            .test_accuracy = acc, .time_s = t }
    ft_eval e[4][4] = {
        { EV(1, 1, 0.7, 1), EV(1, 2, 0.8, 2), EV(2, 1, 0.9, 3), EV(2, 2, 0.85, 4) },
        { EV(1, 1, 0.5, 1), EV(1, 2, 0.6, 2), EV(2, 1, 0.86, 3), EV(2, 2, 0.8, 4) },
        { EV(1, 1, 0.5, 1), EV(1, 2, 0.6, 2), EV(2, 1, 0.6, 3), EV(2, 2, 0.6, 4) },
        { EV(1, 1, 0.7, 1), EV(1, 2, 0.7, 2), EV(2, 1, 0.7, 3), EV(2, 2, 0.7, 4) },
    };
#undef EV
    ft_run runs[4] = {
        { .optim = FZ_OPTIM_ADAMW, .spec = &none, .evals = e[0], .n_evals = 4,
          .best_accuracy = 0.9 },
        { .optim = FZ_OPTIM_ADAMW, .spec = &last, .cache = true, .evals = e[1], .n_evals = 4 },
        { .optim = FZ_OPTIM_ADAMW, .spec = &last, .evals = e[2], .n_evals = 4 },
        { .optim = FZ_OPTIM_SGD, .spec = &last, .evals = e[3], .n_evals = 4 },
    };
    ft_targets(runs, 4, 0.95);
    assert_true(fabs(runs[1].target_accuracy - 0.855) < 1e-12);
    assert_int_equal(runs[1].target_epoch, 2);   /* mid-epoch 2, not its end */
    assert_true(runs[1].time_to_target_s == 3);
    assert_true(runs[1].target_epochs_done == 1.5);
    assert_int_equal(runs[2].target_epoch, 0);
    assert_true(isnan(runs[2].time_to_target_s));
    assert_true(isnan(runs[2].target_epochs_done));
    assert_true(isnan(runs[3].target_accuracy));   /* no sgd none */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(quick_and_own_values),
        cmocka_unit_test(refusals_name_the_option),
        cmocka_unit_test(parts_split_the_epoch),
        cmocka_unit_test(cache_only_where_read),
        cmocka_unit_test(targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

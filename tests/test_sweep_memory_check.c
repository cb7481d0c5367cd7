/* A sweep that cannot fit in memory is refused at once, before anything is allocated
 * (issue 24, item 8: `--model 65536,65536 --batch 1` initialised 16 GiB and ran for
 * minutes before failing, and without a limit risked the OOM killer).  The estimate
 * counts what every model and batch holds together; the refusal names the model and
 * batch that need the most, and the limit.  Linked with the malloc wrappers of
 * alloc_fail.c, to see that the refusal allocates nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alloc_fail.h"
#include "sweep.h"
#include "sweep_args.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static void parse(fzb_sweep_args *a, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    assert_int_equal(fzb_sweep_args_parse(argc, (char **)argv, a), FZ_OK);
}

/* Parameters, gradients, two undo copies and momentum: five floats per parameter at
 * spec none, before activations and buffers. */
static void planned_bytes_cover_every_copy_of_the_parameters(void **state)
{
    (void)state;
    fzb_sweep_args a;
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "65536,65536", "--batch", "1",
                                "--spec", "none", NULL });
    double params = 65536.0 * 65536.0 + 65536.0;
    double planned = fzb_sweep_planned_bytes(&a, 1);
    assert_true(planned >= 5 * 4 * params);
    assert_true(planned < 5 * 4 * params * 1.01);   /* batch 1 adds next to nothing */
    /* A second batch is a second model and trainer, alive at the same time. */
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "65536,65536", "--batch", "1,2",
                                NULL });
    assert_true(fzb_sweep_planned_bytes(&a, 1) >= 2 * planned);
}

static void activations_and_epoch_samples_count(void **state)
{
    (void)state;
    fzb_sweep_args a;
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "1024x9@4096", NULL });
    double big_batch = fzb_sweep_planned_bytes(&a, 1);
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "1024x9@1", NULL });
    double small_batch = fzb_sweep_planned_bytes(&a, 1);
    /* 7 kept activations of 1024 per row, at least, for 4095 more rows. */
    assert_true(big_batch - small_batch >= 4095.0 * 7 * 1024 * 4);
    /* On 4 ranks each trains a quarter of the batch. */
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "1024x9@4096", NULL });
    assert_true(fzb_sweep_planned_bytes(&a, 4) < big_batch);
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "1024x9@256", "--epoch-samples",
                                "1000000", NULL });
    assert_true(fzb_sweep_planned_bytes(&a, 1) >= 1e6 * (1024 + 1024) * 4);
}

static void the_refusal_names_the_model_the_need_and_the_limit(void **state)
{
    (void)state;
    fzb_sweep_args a;
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "10,5,1@64", "--model",
                                "65536,65536@1", "--spec", "none", NULL });
    assert_int_equal(fzb_sweep_check_memory(&a, 1, 64 * GIB, "the test's memory"), FZ_ENOMEM);
    const char *msg = fz_last_error();
    assert_non_null(strstr(msg, "--model 65536,65536 at batch 1"));
    assert_non_null(strstr(msg, "needs at least 80.0 GiB"));
    assert_non_null(strstr(msg, "64.0 GiB, the test's memory"));
    /* Room enough, or no limit known: no refusal. */
    assert_int_equal(fzb_sweep_check_memory(&a, 1, 128 * GIB, "more"), FZ_OK);
    assert_int_equal(fzb_sweep_check_memory(&a, 1, 0, "unknown"), FZ_OK);
    /* The default sweep fits a small machine. */
    parse(&a, (const char *[]){ "freeze_sweep", NULL });
    assert_true(fzb_sweep_planned_bytes(&a, 1) < 0.5 * GIB);
    assert_int_equal(fzb_sweep_check_memory(&a, 1, 1 * GIB, "1 GiB"), FZ_OK);
}

/* 63 layers of 65536 × 65536: terabytes, beyond any machine this runs on.  Refused by
 * fzb_sweep_create itself, before a single allocation (without the check the model's
 * own allocation is tried and fails, or worse, succeeds). */
static void an_impossible_sweep_is_refused_before_any_allocation(void **state)
{
    (void)state;
    fzb_sweep_args a;
    parse(&a, (const char *[]){ "freeze_sweep", "--model", "65536x64@1", "--spec", "none",
                                NULL });
    fzb_sweep *s = (fzb_sweep *)&a;   /* must be set to NULL */
    alloc_fail_at(-1);
    assert_int_equal(fzb_sweep_create(&a, 1, NULL, &s), FZ_ENOMEM);
    assert_int_equal(alloc_attempts(), 0);
    assert_null(s);
    assert_non_null(strstr(fz_last_error(), "refused before allocating anything"));
    assert_non_null(strstr(fz_last_error(), "--model 65536x64 at batch 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(planned_bytes_cover_every_copy_of_the_parameters),
        cmocka_unit_test(activations_and_epoch_samples_count),
        cmocka_unit_test(the_refusal_names_the_model_the_need_and_the_limit),
        cmocka_unit_test(an_impossible_sweep_is_refused_before_any_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

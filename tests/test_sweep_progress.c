/* The progress line counts each configuration's repetitions exactly, not Google
 * Benchmark's trial runs (issue 24: during long --epoch-samples runs the line said
 * "~0 s left").  The first repetition of a benchmark grows its iteration count through
 * trial runs; the old count took every run of half --min-time for a repetition, so it ran
 * ahead, reached the total early and stopped there.  A tiny sweep with epoch phases (runs
 * far shorter than --min-time, so every first repetition has trials) must count exactly
 * configurations × repetitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sweep_impl.h"

static void every_repetition_is_counted_once_and_no_trial(void **state)
{
    (void)state;
    const char *argv[] = { "freeze_sweep", "--model", "16x3@4", "--model", "10,5,1@8",
                           "--threads", "1", "--epoch-samples", "16", "--repetitions", "2",
                           "--min-time", "0.02", NULL };
    fzb_sweep_args a;
    assert_int_equal(fzb_sweep_args_parse(sizeof argv / sizeof *argv - 1, (char **)argv, &a),
                     FZ_OK);
    FILE *progress = tmpfile();
    assert_non_null(progress);
    fzb_sweep *s;
    assert_int_equal(fzb_sweep_create(&a, 1, progress, &s), FZ_OK);
    assert_int_equal(fzb_sweep_register(s, &a), FZ_OK);
    size_t configs = fzb_sweep_count(s);
    assert_int_equal(configs, 2 * 3 * 3);   /* models × default specs × kinds */
    /* Room above the total, so a count running ahead shows instead of stopping there. */
    fzb_sweep_expect_extra(s, 1000);
    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_non_null(r);
    if (s->reps_done != configs * 2)
        fail_msg("counted %zu repetitions, ran %zu (%zu configurations × 2)", s->reps_done,
                 configs * 2, configs);
    fzb_results_free(r);
    fzb_sweep_free(s);
    fclose(progress);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_repetition_is_counted_once_and_no_trial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

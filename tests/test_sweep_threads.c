/* The freeze sweep measures each configuration at its own thread count, whatever the
 * thread team was set to before: the count is process-wide, so a sweep over several
 * models must not trust what it last set for one of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "sweep.h"

/* Every repetition of every configuration reports the team size it ran with. */
static void assert_every_run_had(const fzb_results *r, int threads)
{
    assert_non_null(r);
    size_t seen = 0;
    for (size_t i = 0; i < r->n; i++) {
        const fzb_run *run = &r->runs[i];
        if (run->repetition < 0)
            continue;
        if (run->error)
            fail_msg("%s: %s", run->name, run->error_message);
        double t;
        assert_true(fzb_run_counter(run, "threads", &t));
        if ((int)t != threads)
            fail_msg("%s ran with %d threads, not %d", run->name, (int)t, threads);
        seen++;
    }
    assert_int_equal(seen, 2);   /* two models, one spec, one thread count, one repetition */
}

static void a_configuration_runs_at_its_threads_after_the_team_changed(void **state)
{
    (void)state;
    const char *argv[] = {
        "freeze_sweep", "--model", "10,5,1@8", "--model", "16x4@4", "--threads", "1",
        "--spec", "none", "--repetitions", "1", "--min-time", "0.001", NULL,
    };
    fzb_sweep_args a;
    assert_int_equal(fzb_sweep_args_parse(sizeof argv / sizeof *argv - 1, (char **)argv, &a),
                     FZ_OK);
    fzb_sweep *s;
    assert_int_equal(fzb_sweep_create(&a, 2, NULL, &s), FZ_OK);
    assert_int_equal(fzb_sweep_register(s, &a), FZ_OK);

    fzb_results *r = fzb_run_all(FZB_QUIET);
    assert_every_run_had(r, 1);
    fzb_results_free(r);

    /* Something else (another model's configuration, the caller) changes the team; the
     * same configurations, run again, must still run on one thread. */
    fz_set_threads(2);
    r = fzb_run_all(FZB_QUIET);
    assert_every_run_had(r, 1);
    fzb_results_free(r);

    fzb_sweep_free(s);
    fzb_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_configuration_runs_at_its_threads_after_the_team_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

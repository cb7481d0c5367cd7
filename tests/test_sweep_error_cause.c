/* When building a sweep fails inside the library, the sweep's message keeps the
 * library's cause (issue 24, item 11: sweep.c passed fz_last_error() as an argument to
 * set_error, which formats into that very buffer, so the message repeated its own
 * start and the cause was lost), and carries no "freeze_sweep: " of its own: the program
 * adds that prefix once ("freeze_sweep: freeze_sweep: ..." was printed).  Every
 * allocation of fzb_sweep_create is made to fail in turn (alloc_fail.c's wrappers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alloc_fail.h"
#include "sweep.h"
#include "sweep_args.h"

static void library_causes_survive_in_the_sweep_message(void **state)
{
    (void)state;
    const char *argv[] = { "freeze_sweep", "--model", "10,5,1@8", "--threads", "1",
                           "--epoch-samples", "16", NULL };
    fzb_sweep_args a;
    assert_int_equal(fzb_sweep_args_parse(7, (char **)argv, &a), FZ_OK);
    bool model_failed = false, trainer_failed = false;
    for (long n = 0;; n++) {
        alloc_fail_at(n);
        fzb_sweep *s;
        fz_status st = fzb_sweep_create(&a, 1, NULL, &s);
        bool failed = alloc_failed();
        alloc_fail_at(-1);
        if (st == FZ_OK) {
            fzb_sweep_free(s);
            if (!failed)
                break;   /* past the last allocation */
            continue;    /* a failure the sweep recovers from */
        }
        assert_true(failed);
        const char *msg = fz_last_error();
        if (strncmp(msg, "freeze_sweep:", 13) == 0)
            fail_msg("allocation %ld: the message has the program's prefix: %s", n, msg);
        if (strncmp(msg, "cannot create model 10,5,1: ", 28) == 0) {
            model_failed = true;
            if (!strstr(msg, ": fz_mlp_create: "))
                fail_msg("allocation %ld: the model's cause is lost: %s", n, msg);
        }
        if (strncmp(msg, "model 10,5,1 at batch 8: ", 25) == 0) {
            trainer_failed = true;
            if (!strstr(msg, ": fz_trainer_create"))
                fail_msg("allocation %ld: the trainer's cause is lost: %s", n, msg);
        }
    }
    assert_true(model_failed);
    assert_true(trainer_failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(library_causes_survive_in_the_sweep_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

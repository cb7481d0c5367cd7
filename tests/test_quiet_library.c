/*
 * The library writes nothing to stderr unless asked: a normal training run (create,
 * freeze, train steps, an epoch with the frozen-prefix cache, inference, the counting
 * calls) leaves stderr empty, even when the environment makes it take a fallback that
 * leaves a note (a bad FREEZEBENCH_THREADS, an ISA this machine lacks).  The same
 * capture shows the note once FREEZEBENCH_VERBOSE=1 asks for notes, so the check can
 * see a write when there is one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "stderr_testutil.h"

enum { BATCH = 16, SAMPLES = 64, IN = 24, H = 32, OUT = 4 };

static void train_a_little(void *unused)
{
    (void)unused;
    const size_t widths[] = { IN, H, H, OUT };
    fz_model *m = fz_mlp_create(widths, 4, 3);
    assert_non_null(m);
    assert_int_equal(fz_freeze(m, "fc1.*"), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.01f, .momentum = 0.9f });
    assert_non_null(t);
    float *x = random_floats(SAMPLES * IN, 1), *y = random_floats(SAMPLES * OUT, 2);
    float *pred = malloc(BATCH * OUT * sizeof(float));
    assert_true(x && y && pred);
    for (int s = 0; s < 3; s++)
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    fz_epoch_opts o = { .cache_frozen = true };
    fz_epoch_stats st;
    for (int e = 0; e < 2; e++)
        assert_int_equal(fz_epoch_run(t, x, y, SAMPLES, NULL, &o, &st), FZ_OK);
    assert_int_equal(fz_unfreeze(m, "fc1.bias"), FZ_OK);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(fz_forward(m, BATCH, x, pred), FZ_OK);
    (void)fz_flops_planned(t);
    (void)fz_flops_executed(t);
    (void)fz_memory_used(t);
    (void)fz_isa();
    free(x);
    free(y);
    free(pred);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void oversubscribe(void *unused)
{
    (void)unused;
    fz_machine mc;
    assert_int_equal(fz_machine_get(&mc), FZ_OK);
    fz_set_threads(mc.cores + 1);
    fz_set_threads(0);
}

static void a_training_run_writes_nothing_to_stderr(void **state)
{
    (void)state;
    char text[1024];
    capture_stderr(train_a_little, NULL, text, sizeof text);
    assert_string_equal(text, "");
    /* Fallbacks that leave notes stay silent too. */
    capture_stderr(oversubscribe, NULL, text, sizeof text);
    assert_string_equal(text, "");
    assert_int_not_equal(fz_isa_status(), FZ_OK);   /* the forced ISA was refused */
}

static void notes_appear_when_asked_for(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();   /* no team to oversubscribe: the note never arises */
#endif
    setenv("FREEZEBENCH_VERBOSE", "1", 1);
    char text[1024];
    capture_stderr(oversubscribe, NULL, text, sizeof text);
    unsetenv("FREEZEBENCH_VERBOSE");
    assert_non_null(strstr(text, "freezebench: note: "));
}

int main(void)
{
    /* Read at the library's first use: both would leave a note. */
    setenv("FREEZEBENCH_THREADS", "several", 1);
    setenv("FREEZEBENCH_ISA", "no-such-isa", 1);
    unsetenv("FREEZEBENCH_VERBOSE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_training_run_writes_nothing_to_stderr),
        cmocka_unit_test(notes_appear_when_asked_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

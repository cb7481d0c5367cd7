/* Trained parameters are bitwise identical for 1, 2 and 3 threads: work is split by
 * element, by column and (in the GEMM) by rows and columns of C, never along K. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "parallel.h"
#include "team.h"

enum { BATCH = 128, STEPS = 3 };
static const size_t widths[] = { 37, 300, 130, 7 };

/* The parallel paths must really be taken: SGD of the trainable tensors and db of the
 * first hidden layer are above the one-thread threshold. */
_Static_assert(300 * 130 > FZ_PARALLEL_MIN_WORK, "fc2.weight below the threshold");
_Static_assert(BATCH * 300 > FZ_PARALLEL_MIN_WORK, "fc1 db below the threshold");

/* Trains a fresh model for STEPS steps on `threads` threads; returns the model. */
static fz_model *train(int threads, const char *freeze, const float *x, const float *y)
{
    fz_set_threads(threads);
    assert_int_equal(fz_get_threads(), threads);
    fz_model *m = fz_mlp_create(widths, 4, 42);
    assert_non_null(m);
    if (freeze)
        assert_int_equal(fz_freeze(m, freeze), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.05f, .momentum = 0.9f,
                                                         .weight_decay = 1e-3f });
    assert_non_null(t);
    for (int s = 0; s < STEPS; s++) {
        float loss;
        assert_int_equal(fz_train_step(t, x, y, &loss), FZ_OK);
    }
    fz_flops planned = fz_flops_planned(t), done = fz_flops_executed(t);
    assert_true(planned.opt == done.opt);   /* every thread counted its own slices */
    assert_true(planned.bwd == done.bwd);
    fz_trainer_free(t);
    return m;
}

static void assert_same_parameters(fz_model *a, fz_model *b)
{
    for (size_t i = 0; i < fz_param_count(a); i++) {
        const char *name = fz_param_name(a, i);
        size_t na, nb;
        float *pa = fz_param_data(a, name, &na), *pb = fz_param_data(b, name, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(pa, pb, na * sizeof(float));
    }
}

static void same_parameters_for_one_two_and_three_threads(const char *freeze)
{
#ifndef _OPENMP
    skip();   /* built without OpenMP: the team is one thread */
#endif
    float *x = random_floats(BATCH * widths[0], 1), *y = random_floats(BATCH * widths[3], 2);
    assert_non_null(x);
    assert_non_null(y);
    fz_model *one = train(1, freeze, x, y);
    for (int threads = 2; threads <= 3; threads++) {
        fz_model *many = train(threads, freeze, x, y);
        assert_same_parameters(one, many);
        fz_model_free(many);
    }
    fz_model_free(one);
    free(x);
    free(y);
}

static void nothing_frozen_trains_identically_on_any_thread_count(void **state)
{
    (void)state;
    same_parameters_for_one_two_and_three_threads(NULL);
}

static void frozen_prefix_trains_identically_on_any_thread_count(void **state)
{
    (void)state;
    same_parameters_for_one_two_and_three_threads("prefix:1");
}

static void bitfit_trains_identically_on_any_thread_count(void **state)
{
    (void)state;
    same_parameters_for_one_two_and_three_threads("bitfit");
}

static void frozen_middle_weight_trains_identically_on_any_thread_count(void **state)
{
    (void)state;
    same_parameters_for_one_two_and_three_threads("fc2.weight,fc3.bias");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_frozen_trains_identically_on_any_thread_count),
        cmocka_unit_test(frozen_prefix_trains_identically_on_any_thread_count),
        cmocka_unit_test(bitfit_trains_identically_on_any_thread_count),
        cmocka_unit_test(frozen_middle_weight_trains_identically_on_any_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Numbers going bad: NaN or infinite inputs are reported, not trained on; a loss that
 * becomes non-finite stops training with an error naming the step, and the parameters
 * stay those of the last good step.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"

enum { B = 4, IN = 3, OUT = 2 };
static const size_t widths[] = { IN, 5, OUT };

static float *snapshot(fz_model *m, float *buf)
{
    size_t off = 0;
    for (size_t i = 0; i < fz_param_count(m); i++) {
        size_t n;
        float *p = fz_param_data(m, fz_param_name(m, i), &n);
        memcpy(buf + off, p, n * sizeof(float));
        off += n;
    }
    return buf;
}

static void nan_in_x_is_reported_with_its_position_and_not_trained_on(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 3, 1);
    fz_trainer *t = fz_trainer_create(m, B, (fz_sgd){ .lr = 0.1f });
    float x[B * IN] = {0}, y[B * OUT] = {0};
    x[2 * IN + 1] = NAN;
    float before[64], after[64];
    snapshot(m, before);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
    assert_non_null(strstr(fz_last_error(), "x[2][1]"));
    assert_memory_equal(before, snapshot(m, after), 27 * sizeof(float));
    assert_int_equal(fz_trainer_steps(t), 0);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void infinite_target_is_reported_with_its_position(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 3, 1);
    fz_trainer *t = fz_trainer_create(m, B, (fz_sgd){ .lr = 0.1f });
    float x[B * IN] = {0}, y[B * OUT] = {0};
    y[3 * OUT + 0] = -INFINITY;
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
    assert_non_null(strstr(fz_last_error(), "y[3][0]"));
    fz_trainer_free(t);
    fz_model_free(m);
}

static void diverging_loss_stops_training_naming_the_step(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 3, 5);
    /* A learning rate this large makes the loss overflow within a few steps. */
    fz_trainer *t = fz_trainer_create(m, B, (fz_sgd){ .lr = 1e6f });
    float x[B * IN], y[B * OUT];
    for (int i = 0; i < B * IN; i++)
        x[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < B * OUT; i++)
        y[i] = 3.0f;
    fz_status st = FZ_OK;
    int step;
    float before[64], after[64];
    for (step = 1; step <= 100 && st == FZ_OK; step++) {
        snapshot(m, before);
        st = fz_train_step(t, x, y, NULL);
    }
    assert_int_equal(st, FZ_ENONFINITE);
    char expect[32];
    snprintf(expect, sizeof expect, "step %d:", step - 1);
    assert_non_null(strstr(fz_last_error(), expect));
    /* The failing step did not move anything. */
    assert_memory_equal(before, snapshot(m, after), 27 * sizeof(float));
    assert_int_equal(fz_trainer_steps(t), (uint64_t)(step - 2));
    fz_trainer_free(t);
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nan_in_x_is_reported_with_its_position_and_not_trained_on),
        cmocka_unit_test(infinite_target_is_reported_with_its_position),
        cmocka_unit_test(diverging_loss_stops_training_naming_the_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

/* An update that overflows (a huge rate on finite data and a finite loss) is
 * FZ_ENONFINITE with the parameters and the momentum as before the step, never FZ_OK
 * with every weight infinite.  The momentum cannot be
 * read through the API, so a twin trainer that never saw the bad step must reach the
 * very same parameters on the next one. */
static void overflowing_update_is_enonfinite_and_restores_parameters_and_momentum(void **state)
{
    (void)state;
    /* lr·wd = 0.1, so the steps on y = model(x) (zero loss gradient) still move every
     * parameter and fill the momentum. */
    fz_sgd opt = { .lr = 1e20f, .momentum = 0.9f, .weight_decay = 1e-21f };
    fz_model *m = fz_mlp_create(widths, 3, 3), *twin = fz_mlp_create(widths, 3, 3);
    fz_trainer *t = fz_trainer_create(m, B, opt), *tt = fz_trainer_create(twin, B, opt);
    assert_non_null(t);
    assert_non_null(tt);
    float x[B * IN], y[B * OUT], huge[B * OUT];
    for (int i = 0; i < B * IN; i++)
        x[i] = (float)(i % 5) * 0.25f - 0.5f;
    for (int i = 0; i < B * OUT; i++)
        huge[i] = 5e18f;   /* a finite loss (8 terms of 2.5e37), an update of ~5e38 */
    assert_int_equal(fz_forward(m, B, x, y), FZ_OK);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);

    float before[64], after[64];
    snapshot(m, before);
    float loss = 0;
    assert_int_equal(fz_train_step(t, x, huge, &loss), FZ_ENONFINITE);
    assert_non_null(strstr(fz_last_error(), "step 2:"));
    assert_non_null(strstr(fz_last_error(), "the update made"));
    assert_memory_equal(before, snapshot(m, after), 27 * sizeof(float));
    assert_int_equal(fz_trainer_steps(t), 1);

    assert_int_equal(fz_forward(m, B, x, y), FZ_OK);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
    float twin_params[64];
    assert_memory_equal(snapshot(twin, twin_params), snapshot(m, after), 27 * sizeof(float));
    fz_trainer_free(t);
    fz_trainer_free(tt);
    fz_model_free(m);
    fz_model_free(twin);
}

/* An infinite rate, momentum or decay can only produce Inf or NaN: refused up front. */
static void trainer_create_refuses_infinite_hyperparameters(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 3, 1);
    fz_sgd bad[] = { { .lr = INFINITY }, { .lr = 0.1f, .momentum = INFINITY },
                     { .lr = 0.1f, .weight_decay = INFINITY } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(fz_trainer_create(m, B, bad[i]));
        assert_non_null(strstr(fz_last_error(), "finite"));
    }
    fz_model_free(m);
}

/* A failed step changes neither count: before any good step both are 0 (the
 * planned FLOPs must not be the failed step's while the executed ones are its forward
 * part); after a good one both stay that step's. */
static void failed_step_leaves_planned_and_executed_flops_on_the_same_step(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, 3, 5);
    fz_trainer *t = fz_trainer_create(m, B, (fz_sgd){ .lr = 0.1f });
    float x[B * IN], y[B * OUT], inf_loss[B * OUT];
    for (int i = 0; i < B * IN; i++)
        x[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < B * OUT; i++) {
        y[i] = 1.0f;
        inf_loss[i] = 3e38f;   /* finite, but its squared error is not */
    }
    assert_int_equal(fz_train_step(t, x, inf_loss, NULL), FZ_ENONFINITE);
    fz_flops p = fz_flops_planned(t), e = fz_flops_executed(t);
    assert_true(p.fwd == 0 && p.bwd == 0 && p.opt == 0);
    assert_true(e.fwd == 0 && e.bwd == 0 && e.opt == 0);

    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    fz_flops good = fz_flops_executed(t);
    assert_int_equal(fz_train_step(t, x, inf_loss, NULL), FZ_ENONFINITE);
    p = fz_flops_planned(t);
    e = fz_flops_executed(t);
    assert_true(good.fwd > 0 && good.bwd > 0 && good.opt > 0);
    assert_true(e.fwd == good.fwd && e.bwd == good.bwd && e.opt == good.opt);
    assert_true(p.fwd == e.fwd && p.bwd == e.bwd && p.opt == e.opt);
    fz_bwd_split bp = fz_bwd_planned(t), be = fz_bwd_executed(t);
    assert_true(bp.dgrad == be.dgrad && bp.wgrad == be.wgrad);
    fz_trainer_free(t);
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nan_in_x_is_reported_with_its_position_and_not_trained_on),
        cmocka_unit_test(infinite_target_is_reported_with_its_position),
        cmocka_unit_test(diverging_loss_stops_training_naming_the_step),
        cmocka_unit_test(overflowing_update_is_enonfinite_and_restores_parameters_and_momentum),
        cmocka_unit_test(trainer_create_refuses_infinite_hyperparameters),
        cmocka_unit_test(failed_step_leaves_planned_and_executed_flops_on_the_same_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

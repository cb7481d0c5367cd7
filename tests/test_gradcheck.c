/*
 * Gradient check: every gradient of a 3-layer net (4 -> 6 -> 5 -> 3, batch 4) against
 * central finite differences of a double-precision forward + MSE written here.
 *
 * The API does not expose gradients, so they are read off one SGD step with lr = 1,
 * momentum 0, weight decay 0:  p_after = fl(p_before - g), hence g = p_before - p_after
 * up to one rounding of p_after, i.e. |error| <= 2^-24·max(|p_before|, |g|) — about 1e-7
 * here (|p| <= 0.5, |g| < 1), and the subtraction of two floats is exact in double.
 *
 * The library computes in float: each gradient is a sum of at most ~30 products of
 * values below 2 in magnitude, so its rounding error is below 30·2·2^-24 ≈ 4e-6.  The
 * finite differences (h = 1e-6 in double) are accurate to ~1e-9.  Tolerance:
 * 1e-5 + 1e-4·|g|, a few times the float error bound, yet orders of magnitude below
 * what a wrong term would cost (a missing 2/N, a transposed product, a mask off by one
 * unit: all change gradients by O(0.01..1)).
 *
 * ReLU kinks: finite differences across a kink are meaningless, so the data are chosen
 * (by seed, checked below) such that no pre-activation lies within 1e-3 of zero, far more
 * than a 1e-6 step can move it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "gradcheck_testutil.h"
#include "freezebench.h"

static const size_t widths[] = { 4, 6, 5, 3 };
enum { LAYERS = 3, BATCH = 4, IN = 4, OUT = 3 };

#define KINK_MARGIN 1e-3

typedef struct { const float *x, *y; } mse_data;

/* Mean squared error of the double network on (x, y), as nn.MSELoss. */
static double mse_double(const dnet *n, const void *ctx)
{
    const mse_data *d = ctx;
    double out[BATCH * OUT], loss = 0;
    dnet_forward(n, d->x, BATCH, out, NULL);
    for (size_t i = 0; i < BATCH * OUT; i++) {
        double e = out[i] - d->y[i];
        loss += e * e;
    }
    return loss / (BATCH * OUT);
}

/* Picks inputs and targets for which every pre-activation keeps KINK_MARGIN from 0. */
static void data_away_from_kinks(const dnet *n, float *x, float *y)
{
    for (uint64_t seed = 1; seed < 1000; seed++) {
        fill_uniform(x, BATCH * IN, seed, -2.0f, 2.0f);
        fill_uniform(y, BATCH * OUT, seed + 5000, -1.0f, 1.0f);
        double out[BATCH * OUT], min_pre;
        dnet_forward(n, x, BATCH, out, &min_pre);
        if (min_pre > KINK_MARGIN)
            return;
    }
    fail_msg("no data within 1000 seeds keeps every pre-activation away from ReLU kinks");
}

/* Steps the library once with lr = 1 on a `spec`-frozen model and compares every
 * trainable gradient with finite differences; frozen tensors must not move. */
static void check_gradients(const char *spec)
{
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 2024);
    assert_non_null(m);
    assert_int_equal(fz_freeze(m, spec), FZ_OK);
    dnet n = dnet_from_model(m, widths, LAYERS);
    float x[BATCH * IN], y[BATCH * OUT];
    data_away_from_kinks(&n, x, y);
    mse_data d = { x, y };

    model_snapshot before = snapshot_take(m);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 1.0f });
    assert_non_null(t);
    float loss;
    assert_int_equal(fz_train_step(t, x, y, &loss), FZ_OK);
    double loss_ref = mse_double(&n, &d);
    assert_true(fabs(loss - loss_ref) <= 1e-6 * (1 + fabs(loss_ref)));
    gradcheck_after_step(m, &before, &n, mse_double, &d, spec);

    snapshot_free(&before);
    fz_trainer_free(t);
    dnet_free(&n);
    fz_model_free(m);
}

static void every_gradient_matches_finite_differences(void **state)
{
    (void)state;
    check_gradients("none");
}

static void gradients_through_a_frozen_middle_layer_match_finite_differences(void **state)
{
    (void)state;
    /* fc1 only learns through fc2's input gradient, which the plan must still compute. */
    check_gradients("fc2.*");
}

static void bias_gradients_under_bitfit_match_finite_differences(void **state)
{
    (void)state;
    check_gradients("bitfit");
}

static void head_gradients_under_frozen_prefix_match_finite_differences(void **state)
{
    (void)state;
    check_gradients("prefix:2");
}

static void gradients_with_only_a_low_bias_trainable_below_match(void **state)
{
    (void)state;
    check_gradients("fc1.weight,fc2.*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_gradient_matches_finite_differences),
        cmocka_unit_test(gradients_through_a_frozen_middle_layer_match_finite_differences),
        cmocka_unit_test(bias_gradients_under_bitfit_match_finite_differences),
        cmocka_unit_test(head_gradients_under_frozen_prefix_match_finite_differences),
        cmocka_unit_test(gradients_with_only_a_low_bias_trainable_below_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

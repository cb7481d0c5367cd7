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
#include "freezebench.h"

static const size_t widths[] = { 4, 6, 5, 3 };
enum { LAYERS = 3, BATCH = 4, IN = 4, OUT = 3, MAXW = 6 };

#define KINK_MARGIN 1e-3
#define FD_STEP 1e-6

/* The network's parameters in double, in state_dict order: W1, b1, W2, b2, W3, b3. */
typedef struct {
    double *p[2 * LAYERS];
    size_t numel[2 * LAYERS];
} dnet;

/* MSE loss of the double network on (x, y); *min_abs_pre receives the smallest
 * |pre-activation| met before a ReLU, so the caller can keep away from kinks. */
static double loss_double(const dnet *n, const float *x, const float *y, double *min_abs_pre)
{
    double loss = 0, min_pre = INFINITY;
    for (size_t s = 0; s < BATCH; s++) {
        double a[MAXW], z[MAXW];
        for (size_t i = 0; i < IN; i++)
            a[i] = x[s * IN + i];
        for (size_t l = 0; l < LAYERS; l++) {
            size_t I = widths[l], O = widths[l + 1];
            const double *W = n->p[2 * l], *b = n->p[2 * l + 1];
            for (size_t o = 0; o < O; o++) {
                double acc = b[o];
                for (size_t i = 0; i < I; i++)
                    acc += W[o * I + i] * a[i];
                z[o] = acc;
            }
            for (size_t o = 0; o < O; o++) {
                if (l + 1 < LAYERS) {
                    min_pre = fmin(min_pre, fabs(z[o]));
                    a[o] = z[o] > 0 ? z[o] : 0;
                } else {
                    a[o] = z[o];
                }
            }
        }
        for (size_t o = 0; o < OUT; o++) {
            double d = a[o] - y[s * OUT + o];
            loss += d * d;
        }
    }
    if (min_abs_pre)
        *min_abs_pre = min_pre;
    return loss / (BATCH * OUT);
}

static dnet dnet_from_model(fz_model *m)
{
    dnet n;
    for (size_t i = 0; i < 2 * LAYERS; i++) {
        const float *p = fz_param_data(m, fz_param_name(m, i), &n.numel[i]);
        n.p[i] = malloc(n.numel[i] * sizeof(double));
        for (size_t j = 0; j < n.numel[i]; j++)
            n.p[i][j] = p[j];
    }
    return n;
}

static void dnet_free(dnet *n)
{
    for (size_t i = 0; i < 2 * LAYERS; i++)
        free(n->p[i]);
}

/* Picks inputs and targets for which every pre-activation keeps KINK_MARGIN from 0. */
static void data_away_from_kinks(const dnet *n, float *x, float *y)
{
    for (uint64_t seed = 1; seed < 1000; seed++) {
        fill_uniform(x, BATCH * IN, seed, -2.0f, 2.0f);
        fill_uniform(y, BATCH * OUT, seed + 5000, -1.0f, 1.0f);
        double min_pre;
        loss_double(n, x, y, &min_pre);
        if (min_pre > KINK_MARGIN)
            return;
    }
    fail_msg("no data within 1000 seeds keeps every pre-activation away from ReLU kinks");
}

/* Steps the library once with lr = 1 on `spec`-frozen copy of the model and compares
 * every trainable gradient with finite differences; frozen tensors must not move. */
static void check_gradients(const char *spec)
{
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 2024);
    assert_non_null(m);
    assert_int_equal(fz_freeze(m, spec), FZ_OK);
    dnet n = dnet_from_model(m);
    float x[BATCH * IN], y[BATCH * OUT];
    data_away_from_kinks(&n, x, y);

    model_snapshot before = snapshot_take(m);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 1.0f });
    assert_non_null(t);
    float loss;
    assert_int_equal(fz_train_step(t, x, y, &loss), FZ_OK);
    double loss_ref = loss_double(&n, x, y, NULL);
    assert_true(fabs(loss - loss_ref) <= 1e-6 * (1 + fabs(loss_ref)));

    size_t checked = 0;
    for (size_t i = 0; i < 2 * LAYERS; i++) {
        const char *name = fz_param_name(m, i);
        size_t numel;
        const float *after = fz_param_data(m, name, &numel);
        if (!before.requires_grad[i]) {
            if (!snapshot_tensor_same(&before, m, i))
                fail_msg("spec '%s': frozen %s moved", spec, name);
            continue;
        }
        for (size_t j = 0; j < numel; j++) {
            double g_lib = (double)before.data[i][j] - (double)after[j];
            double saved = n.p[i][j];
            n.p[i][j] = saved + FD_STEP;
            double lp = loss_double(&n, x, y, NULL);
            n.p[i][j] = saved - FD_STEP;
            double lm = loss_double(&n, x, y, NULL);
            n.p[i][j] = saved;
            double g_fd = (lp - lm) / (2 * FD_STEP);
            if (fabs(g_lib - g_fd) > 1e-5 + 1e-4 * fabs(g_fd))
                fail_msg("spec '%s': d loss / d %s[%zu]: library %.9g, finite differences "
                         "%.9g", spec, name, j, g_lib, g_fd);
            checked++;
        }
    }
    assert_int_equal(checked, fz_trainable_elements(m));

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

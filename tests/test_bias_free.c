/*
 * Layers without a bias (nn.Linear(..., bias=False)): no fcL.bias tensor, no db in the
 * plan, no bias FLOPs in the forward, executed FLOPs equal to planned, and names from a
 * state_dict kept for fz_param_state_name while fz_param_name stays fcL.*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"

static const size_t widths[] = { 6, 8, 5, 3 };
static const bool has_bias[] = { true, false, true };
enum { BATCH = 4 };

static void bias_free_layer_has_no_tensor_and_no_db(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create_biases(widths, 4, has_bias, 3);
    assert_non_null(m);
    assert_int_equal(fz_param_count(m), 5);
    assert_string_equal(fz_param_name(m, 2), "fc2.weight");
    assert_string_equal(fz_param_name(m, 3), "fc3.weight");
    assert_string_equal(fz_param_state_name(m, 3), "fc3.weight");
    assert_null(fz_param_data(m, "fc2.bias", NULL));
    assert_int_equal(fz_freeze(m, "fc2.bias"), FZ_ENOTFOUND);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.1f, .momentum = 0.9f });
    assert_non_null(t);
    fz_layer_plan p;
    assert_int_equal(fz_layer_plan_get(t, 1, &p), FZ_OK);
    assert_true(p.need_dW && !p.need_db && p.need_dX);
    float x[BATCH * 6], y[BATCH * 3];
    fill_uniform(x, BATCH * 6, 1, -1.0f, 1.0f);
    fill_uniform(y, BATCH * 3, 2, -1.0f, 1.0f);
    for (int s = 0; s < 3; s++)
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    fz_flops pl = fz_flops_planned(t), ex = fz_flops_executed(t);
    assert_true(pl.fwd == ex.fwd && pl.bwd == ex.bwd && pl.opt == ex.opt);
    /* Forward: GEMMs + biases of fc1 and fc3 only + ReLUs + MSE. */
    double B = BATCH, fwd = 2 * B * (6 * 8 + 8 * 5 + 5 * 3) + B * (8 + 3) + B * (8 + 5) +
                            3 * B * 3;
    assert_true(pl.fwd == fwd);
    /* The output of a bias-free forward is X·Wᵀ alone: fz_forward agrees with it. */
    float out[BATCH * 3];
    assert_int_equal(fz_forward(m, BATCH, x, out), FZ_OK);
    fz_trainer_free(t);
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bias_free_layer_has_no_tensor_and_no_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * FLOP accounting: after one step the FLOPs the kernels counted equal the FLOPs planned
 * from the backward plan, and the planned FLOPs equal ../DESIGN.md's formula, evaluated here
 * from the widths and the requires_grad flags alone (this file never calls the planner):
 *
 *   fwd   = sum_l (2·B·I·O + B·O [bias] + B·O [ReLU, not after the last layer]) + 3·B·O_L
 *   dgrad = 2·B·O_L [loss] + sum_l need_dX·(2·B·I·O + B·I [ReLU backward below layer l])
 *   wgrad = sum_l need_dW·2·B·I·O + need_db·B·O
 *   opt   = sum over trainable tensors of numel·(2 + 2[momentum != 0] + 2[wd != 0])
 *
 * with need_dX[l] = some parameter of layers 1..l-1 is trainable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"

static const size_t widths[] = { 6, 8, 7, 5, 3 };
enum { LAYERS = 4, BATCH = 5 };

typedef struct { double fwd, dgrad, wgrad, opt; } formula_flops;

static formula_flops formula(fz_model *m, size_t batch, fz_sgd opt)
{
    formula_flops f = {0};
    double B = (double)batch;
    bool below_trains = false;
    double per_param = 2 + (opt.momentum != 0.0f ? 2 : 0) + (opt.weight_decay != 0.0f ? 2 : 0);
    for (size_t l = 0; l < LAYERS; l++) {
        double I = (double)widths[l], O = (double)widths[l + 1];
        char wname[16], bname[16];
        snprintf(wname, sizeof wname, "fc%zu.weight", l + 1);
        snprintf(bname, sizeof bname, "fc%zu.bias", l + 1);
        bool dW = fz_requires_grad(m, wname), db = fz_requires_grad(m, bname);
        bool dX = below_trains;

        f.fwd += 2 * B * I * O + B * O + (l + 1 < LAYERS ? B * O : 0);
        if (dX)
            f.dgrad += 2 * B * I * O + B * I;
        if (dW) {
            f.wgrad += 2 * B * I * O;
            f.opt += per_param * I * O;
        }
        if (db) {
            f.wgrad += B * O;
            f.opt += per_param * O;
        }
        below_trains = below_trains || dW || db;
    }
    double out = B * (double)widths[LAYERS];
    f.fwd += 3 * out;
    f.dgrad += 2 * out;
    return f;
}

static const char *const specs[] = {
    "none", "prefix:0", "prefix:1", "prefix:2", "prefix:3",
    "fc2.*", "fc2.weight", "fc1.weight,fc2.*", "bitfit", "last",
};
static const fz_sgd optimizers[] = {
    { .lr = 0.01f, .momentum = 0.0f, .weight_decay = 0.0f },
    { .lr = 0.01f, .momentum = 0.9f, .weight_decay = 0.0f },
    { .lr = 0.01f, .momentum = 0.0f, .weight_decay = 0.01f },
    { .lr = 0.01f, .momentum = 0.9f, .weight_decay = 0.01f },
};

#define assert_flops_equal(what, got, want, spec)                                      \
    do {                                                                               \
        if ((got) != (want))                                                           \
            fail_msg("spec '%s': %s is %.0f, expected %.0f", spec, what, (double)(got), \
                     (double)(want));                                                  \
    } while (0)

static void check_every_spec_and_optimizer(void)
{
    float x[BATCH * 6], y[BATCH * 3];
    fill_uniform(x, BATCH * 6, 1, -1.0f, 1.0f);
    fill_uniform(y, BATCH * 3, 2, -1.0f, 1.0f);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        for (size_t o = 0; o < sizeof optimizers / sizeof *optimizers; o++) {
            fz_model *m = fz_mlp_create(widths, LAYERS + 1, 5);
            assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
            fz_trainer *t = fz_trainer_create(m, BATCH, optimizers[o]);
            assert_non_null(t);
            /* Two steps: the counters must be per step, not cumulative. */
            for (int step = 0; step < 2; step++)
                assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);

            formula_flops want = formula(m, BATCH, optimizers[o]);
            fz_flops plan = fz_flops_planned(t), exec = fz_flops_executed(t);
            fz_bwd_split plan_bwd = fz_bwd_planned(t), exec_bwd = fz_bwd_executed(t);
            const char *spec = specs[s];

            assert_flops_equal("planned fwd", plan.fwd, want.fwd, spec);
            assert_flops_equal("planned bwd", plan.bwd, want.dgrad + want.wgrad, spec);
            assert_flops_equal("planned opt", plan.opt, want.opt, spec);
            assert_flops_equal("planned dgrad", plan_bwd.dgrad, want.dgrad, spec);
            assert_flops_equal("planned wgrad", plan_bwd.wgrad, want.wgrad, spec);

            assert_flops_equal("executed fwd", exec.fwd, plan.fwd, spec);
            assert_flops_equal("executed bwd", exec.bwd, plan.bwd, spec);
            assert_flops_equal("executed opt", exec.opt, plan.opt, spec);
            assert_flops_equal("executed dgrad", exec_bwd.dgrad, plan_bwd.dgrad, spec);
            assert_flops_equal("executed wgrad", exec_bwd.wgrad, plan_bwd.wgrad, spec);

            fz_trainer_free(t);
            fz_model_free(m);
        }
    }
}

static void executed_flops_equal_planned_equal_formula_for_every_spec(void **state)
{
    (void)state;
    check_every_spec_and_optimizer();
}

static void executed_flops_do_not_depend_on_the_thread_count(void **state)
{
    (void)state;
    /* Each thread counts into its own slot: a kernel split over threads must still count
     * every FLOP exactly once. */
    int saved = fz_get_threads();
    for (int n = 1; n <= 4; n++) {
        fz_set_threads(n);
        check_every_spec_and_optimizer();
    }
    fz_set_threads(saved);
}

static void flops_are_zero_before_the_first_step(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 5);
    fz_trainer *t = fz_trainer_create(m, BATCH, optimizers[3]);
    fz_flops p = fz_flops_planned(t), e = fz_flops_executed(t);
    assert_true(p.fwd == 0 && p.bwd == 0 && p.opt == 0);
    assert_true(e.fwd == 0 && e.bwd == 0 && e.opt == 0);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void freezing_never_changes_forward_flops(void **state)
{
    (void)state;
    float x[BATCH * 6], y[BATCH * 3];
    fill_uniform(x, BATCH * 6, 3, -1.0f, 1.0f);
    fill_uniform(y, BATCH * 3, 4, -1.0f, 1.0f);
    double fwd_none = 0;
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fz_model *m = fz_mlp_create(widths, LAYERS + 1, 5);
        assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
        fz_trainer *t = fz_trainer_create(m, BATCH, optimizers[0]);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        double fwd = fz_flops_executed(t).fwd;
        if (s == 0)
            fwd_none = fwd;
        assert_flops_equal("executed fwd vs none", fwd, fwd_none, specs[s]);
        fz_trainer_free(t);
        fz_model_free(m);
    }
}

static void longer_frozen_prefix_never_costs_more_backward(void **state)
{
    (void)state;
    /* A sanity check on the direction of the savings, independent of the formula. */
    float x[BATCH * 6], y[BATCH * 3];
    fill_uniform(x, BATCH * 6, 5, -1.0f, 1.0f);
    fill_uniform(y, BATCH * 3, 6, -1.0f, 1.0f);
    double prev = -1;
    for (int k = LAYERS - 1; k >= 0; k--) {
        char spec[16];
        snprintf(spec, sizeof spec, "prefix:%d", k);
        fz_model *m = fz_mlp_create(widths, LAYERS + 1, 5);
        assert_int_equal(fz_freeze(m, spec), FZ_OK);
        fz_trainer *t = fz_trainer_create(m, BATCH, optimizers[3]);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        fz_flops e = fz_flops_executed(t);
        if (!(e.bwd > prev))
            fail_msg("%s: backward %.0f FLOPs, not more than a longer prefix's %.0f", spec,
                     e.bwd, prev);
        prev = e.bwd;
        fz_trainer_free(t);
        fz_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(executed_flops_equal_planned_equal_formula_for_every_spec),
        cmocka_unit_test(executed_flops_do_not_depend_on_the_thread_count),
        cmocka_unit_test(flops_are_zero_before_the_first_step),
        cmocka_unit_test(freezing_never_changes_forward_flops),
        cmocka_unit_test(longer_frozen_prefix_never_costs_more_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Changing flags mid-run: the trainer re-plans before its next step.  Unfreezing makes
 * the plan (and the planned FLOPs) grow and the newly trainable tensors start moving;
 * freezing stops a tensor at once, momentum and weight decay included; and a re-planned
 * trainer steps exactly like a fresh trainer built for the new flags.
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
enum { LAYERS = 4, TENSORS = 2 * LAYERS, BATCH = 4, IN = 6, OUT = 3 };

typedef struct { float x[BATCH * IN], y[BATCH * OUT]; } batch_data;

static batch_data make_batch(uint64_t seed)
{
    batch_data b;
    fill_uniform(b.x, BATCH * IN, seed, -1.0f, 1.0f);
    fill_uniform(b.y, BATCH * OUT, seed + 1000, -1.0f, 1.0f);
    return b;
}

static void steps(fz_trainer *t, int n, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        batch_data b = make_batch(seed + (uint64_t)i);
        assert_int_equal(fz_train_step(t, b.x, b.y, NULL), FZ_OK);
    }
}

/* Layer `layer`, 0-based (fc1 is 0), as the API counts. */
static fz_layer_plan plan_of(fz_trainer *t, size_t layer)
{
    fz_layer_plan p;
    assert_int_equal(fz_layer_plan_get(t, layer, &p), FZ_OK);
    return p;
}

/* Index of a tensor by name, for the snapshot. */
static size_t idx(fz_model *m, const char *name)
{
    for (size_t i = 0; i < fz_param_count(m); i++)
        if (!strcmp(fz_param_name(m, i), name))
            return i;
    fail_msg("no tensor %s", name);
    return 0;
}

static bool moved(const model_snapshot *s, fz_model *m, const char *name)
{
    return !snapshot_tensor_same(s, m, idx(m, name));
}

static void unfreezing_replans_and_the_newly_trainable_tensors_start_moving(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 3);
    assert_int_equal(fz_freeze(m, "prefix:2"), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.05f, .momentum = 0.9f });
    assert_non_null(t);

    model_snapshot s0 = snapshot_take(m);
    steps(t, 3, 10);
    assert_false(moved(&s0, m, "fc1.weight"));
    assert_false(moved(&s0, m, "fc2.weight"));
    assert_false(moved(&s0, m, "fc2.bias"));
    assert_false(plan_of(t, 1).need_dW);
    assert_false(plan_of(t, 2).need_dX);
    double bwd_before = fz_flops_planned(t).bwd;
    size_t grad_before = fz_memory_used(t).gradients;

    /* Unfreeze fc2: visible in the plan before any step, as the header promises. */
    assert_int_equal(fz_unfreeze(m, "fc2.*"), FZ_OK);
    assert_true(plan_of(t, 1).need_dW);
    assert_true(plan_of(t, 1).need_db);
    assert_false(plan_of(t, 1).need_dX);   /* fc1 is still frozen */
    assert_true(plan_of(t, 2).need_dX);
    assert_int_equal(fz_memory_used(t).gradients, grad_before + (8 * 7 + 7) * sizeof(float));

    model_snapshot s1 = snapshot_take(m);
    steps(t, 1, 20);
    assert_true(moved(&s1, m, "fc2.weight"));
    assert_true(moved(&s1, m, "fc2.bias"));
    assert_false(moved(&s0, m, "fc1.weight"));
    assert_false(moved(&s0, m, "fc1.bias"));
    double bwd_after = fz_flops_planned(t).bwd;
    assert_true(bwd_after > bwd_before);
    assert_true(fz_flops_executed(t).bwd == bwd_after);

    /* Unfreeze fc1's weight only: layer 2 now passes dX down, fc1.bias stays put. */
    assert_int_equal(fz_unfreeze(m, "fc1.weight"), FZ_OK);
    assert_true(plan_of(t, 0).need_dW);
    assert_false(plan_of(t, 0).need_db);
    assert_true(plan_of(t, 1).need_dX);
    model_snapshot s2 = snapshot_take(m);
    steps(t, 1, 30);
    assert_true(moved(&s2, m, "fc1.weight"));
    assert_false(moved(&s0, m, "fc1.bias"));
    assert_true(fz_flops_planned(t).bwd > bwd_after);
    assert_true(fz_flops_executed(t).bwd == fz_flops_planned(t).bwd);

    snapshot_free(&s0);
    snapshot_free(&s1);
    snapshot_free(&s2);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void gradual_unfreezing_grows_backward_flops_layer_by_layer(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 4);
    assert_int_equal(fz_freeze(m, "prefix:3"), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.05f });
    steps(t, 2, 40);
    double prev = fz_flops_executed(t).bwd;
    static const char *const order[] = { "fc3.*", "fc2.*", "fc1.*" };
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(fz_unfreeze(m, order[k]), FZ_OK);
        steps(t, 2, 50 + 10 * k);
        fz_flops plan = fz_flops_planned(t), exec = fz_flops_executed(t);
        if (!(plan.bwd > prev) || exec.bwd != plan.bwd)
            fail_msg("after unfreezing %s: planned bwd %.0f, executed %.0f, before %.0f",
                     order[k], plan.bwd, exec.bwd, prev);
        prev = plan.bwd;
    }
    fz_trainer_free(t);
    fz_model_free(m);
}

static void freezing_mid_run_stops_a_tensor_at_once_despite_momentum(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 5);
    fz_trainer *t = fz_trainer_create(m, BATCH,
                                      (fz_sgd){ .lr = 0.05f, .momentum = 0.9f,
                                                .weight_decay = 0.01f });
    /* Build up momentum first: a frozen tensor with a non-zero buffer must still stay. */
    steps(t, 5, 60);
    assert_int_equal(fz_freeze(m, "fc2.weight,fc4.bias"), FZ_OK);
    model_snapshot s = snapshot_take(m);
    steps(t, 5, 70);
    for (size_t i = 0; i < TENSORS; i++) {
        const char *name = fz_param_name(m, i);
        bool frozen = !strcmp(name, "fc2.weight") || !strcmp(name, "fc4.bias");
        if (frozen == moved(&s, m, name))
            fail_msg("%s %s after freezing", name, frozen ? "moved" : "stopped");
    }
    assert_int_equal(fz_memory_used(t).gradients, fz_trainable_elements(m) * sizeof(float));
    snapshot_free(&s);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void change_flags(fz_model *m, const char *freeze, const char *unfreeze)
{
    if (freeze)
        assert_int_equal(fz_freeze(m, freeze), FZ_OK);
    if (unfreeze)
        assert_int_equal(fz_unfreeze(m, unfreeze), FZ_OK);
}

static void planned_flops_describe_the_last_step_until_the_next_one(void **state)
{
    (void)state;
    /* "FLOPs of the last step, as planned and as executed; the two agree": a flag change
     * (and a re-plan it triggers through fz_layer_plan_get or fz_memory_used) must not
     * make the planned figure jump ahead of the executed one before the step runs. */
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 7);
    assert_int_equal(fz_freeze(m, "prefix:2"), FZ_OK);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.05f });
    steps(t, 1, 95);
    fz_flops before = fz_flops_planned(t);
    assert_int_equal(fz_unfreeze(m, "fc1.*"), FZ_OK);
    assert_true(plan_of(t, 0).need_dW);
    (void)fz_memory_used(t);
    fz_flops plan = fz_flops_planned(t), exec = fz_flops_executed(t);
    fz_bwd_split bplan = fz_bwd_planned(t), bexec = fz_bwd_executed(t);
    assert_true(plan.bwd == before.bwd && plan.opt == before.opt);
    assert_true(plan.bwd == exec.bwd && plan.opt == exec.opt && plan.fwd == exec.fwd);
    assert_true(bplan.dgrad == bexec.dgrad && bplan.wgrad == bexec.wgrad);
    steps(t, 1, 96);
    assert_true(fz_flops_planned(t).bwd > before.bwd);
    assert_true(fz_flops_planned(t).bwd == fz_flops_executed(t).bwd);
    fz_trainer_free(t);
    fz_model_free(m);
}

/* Runs three steps from the `start` flags, applies `freeze` then `unfreeze` (either may
 * be NULL), steps once more; a fresh model with the same parameters and flags and a
 * fresh trainer must make exactly the same step.  Momentum 0: no optimizer state, so the
 * plan is the only thing the old trainer carries over. */
static void check_replan_matches_fresh(const char *start, const char *freeze,
                                       const char *unfreeze)
{
    fz_sgd opt = { .lr = 0.05f, .weight_decay = 0.01f };
    fz_model *a = fz_mlp_create(widths, LAYERS + 1, 6);
    fz_model *b = fz_mlp_create(widths, LAYERS + 1, 6);
    assert_int_equal(fz_freeze(a, start), FZ_OK);
    fz_trainer *ta = fz_trainer_create(a, BATCH, opt);
    steps(ta, 3, 80);
    change_flags(a, freeze, unfreeze);
    assert_int_equal(fz_freeze(b, start), FZ_OK);
    change_flags(b, freeze, unfreeze);
    copy_params(b, a);
    fz_trainer *tb = fz_trainer_create(b, BATCH, opt);
    steps(ta, 1, 90);
    steps(tb, 1, 90);
    model_snapshot sa = snapshot_take(a);
    if (!snapshot_model_same(&sa, b))
        fail_msg("start '%s', freeze '%s', unfreeze '%s': the re-planned step differs from "
                 "a fresh trainer's", start, freeze ? freeze : "-", unfreeze ? unfreeze : "-");
    assert_true(fz_flops_planned(ta).bwd == fz_flops_planned(tb).bwd);
    assert_true(fz_memory_used(ta).activations == fz_memory_used(tb).activations);
    snapshot_free(&sa);
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(a);
    fz_model_free(b);
}

static void replanned_trainer_steps_exactly_like_a_fresh_one(void **state)
{
    (void)state;
    check_replan_matches_fresh("none", "fc3.*", NULL);
    check_replan_matches_fresh("none", "prefix:2", NULL);
    check_replan_matches_fresh("prefix:3", NULL, "fc2.*");
    check_replan_matches_fresh("bitfit", "fc1.bias", "fc4.weight");
    check_replan_matches_fresh("last", NULL, "*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unfreezing_replans_and_the_newly_trainable_tensors_start_moving),
        cmocka_unit_test(gradual_unfreezing_grows_backward_flops_layer_by_layer),
        cmocka_unit_test(freezing_mid_run_stops_a_tensor_at_once_despite_momentum),
        cmocka_unit_test(planned_flops_describe_the_last_step_until_the_next_one),
        cmocka_unit_test(replanned_trainer_steps_exactly_like_a_fresh_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

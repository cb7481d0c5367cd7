/*
 * The backward plan: for each freeze spec, the per-layer need_dW / need_db / need_dX that
 * DESIGN.md (at the repository root) defines, and the memory the plan keeps.
 *
 * Expected plans are written out by hand from the definitions (need_dW = weight trainable,
 * need_db = bias trainable, need_dX[l] = some parameter of layers 1..l-1 trainable, so never
 * for layer 1), not derived by calling the library's planner.  Memory is checked against
 * the same definitions: activations = sum of batch·in_l·4 over layers whose input is kept
 * (need_dW or need_dX), gradients = trainable elements·4, optimizer state = trainable
 * elements·4 with momentum and 0 without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"

/* A 4-layer net with distinct widths, so a wrong layer's width cannot pass by accident. */
static const size_t widths[] = { 6, 8, 7, 5, 3 };
enum { LAYERS = 4, BATCH = 3 };

/* One layer's expected plan, as T/F letters per layer: "TTFT" = layers 1,2,4 true. */
typedef struct {
    const char *spec;
    const char *dW, *db, *dX;
} plan_case;

static bool flag_at(const char *letters, size_t l) { return letters[l] == 'T'; }

static size_t expected_trainable(const plan_case *c)
{
    size_t n = 0;
    for (size_t l = 0; l < LAYERS; l++) {
        n += flag_at(c->dW, l) ? widths[l] * widths[l + 1] : 0;
        n += flag_at(c->db, l) ? widths[l + 1] : 0;
    }
    return n;
}

static size_t expected_activation_bytes(const plan_case *c)
{
    size_t bytes = 0;
    for (size_t l = 0; l < LAYERS; l++)
        if (flag_at(c->dW, l) || flag_at(c->dX, l))
            bytes += BATCH * widths[l] * sizeof(float);
    return bytes;
}

/* Builds a trainer for `spec` and checks its plan and memory against the case. */
static void check_plan(const plan_case *c, float momentum)
{
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 11);
    assert_non_null(m);
    assert_int_equal(fz_freeze(m, c->spec), FZ_OK);
    fz_sgd opt = { .lr = 0.01f, .momentum = momentum, .weight_decay = 0.0f };
    fz_trainer *t = fz_trainer_create(m, BATCH, opt);
    assert_non_null(t);

    for (size_t l = 0; l < LAYERS; l++) {
        fz_layer_plan p;
        assert_int_equal(fz_layer_plan_get(t, l, &p), FZ_OK);
        if (p.need_dW != flag_at(c->dW, l) || p.need_db != flag_at(c->db, l) ||
            p.need_dX != flag_at(c->dX, l))
            fail_msg("spec '%s', layer %zu: plan dW=%d db=%d dX=%d, expected %c %c %c",
                     c->spec, l + 1, p.need_dW, p.need_db, p.need_dX, c->dW[l], c->db[l],
                     c->dX[l]);
    }

    size_t trainable = expected_trainable(c);
    assert_int_equal(fz_trainable_elements(m), trainable);
    fz_memory mem = fz_memory_used(t);
    assert_int_equal(mem.activations, expected_activation_bytes(c));
    assert_int_equal(mem.gradients, trainable * sizeof(float));
    assert_int_equal(mem.optimizer, momentum != 0.0f ? trainable * sizeof(float) : 0);

    fz_trainer_free(t);
    fz_model_free(m);
}

static void check_both_optimizers(const plan_case *c)
{
    check_plan(c, 0.0f);
    check_plan(c, 0.9f);
}

static void nothing_frozen_needs_every_gradient_but_the_input_one(void **state)
{
    (void)state;
    check_both_optimizers(&(plan_case){ "none", "TTTT", "TTTT", "FTTT" });
}

static void frozen_prefix_of_every_length_skips_its_work_and_input_grads(void **state)
{
    (void)state;
    /* prefix:K for K = 0..L-1: layers 1..K idle, layer K+1 computes dW/db but no dX
     * (nothing below it trains), layers above K+1 also pass dX down. */
    const plan_case cases[] = {
        { "prefix:0", "TTTT", "TTTT", "FTTT" },
        { "prefix:1", "FTTT", "FTTT", "FFTT" },
        { "prefix:2", "FFTT", "FFTT", "FFFT" },
        { "prefix:3", "FFFT", "FFFT", "FFFF" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_both_optimizers(&cases[i]);
}

static void frozen_prefix_of_all_layers_is_refused_at_trainer_creation(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 11);
    assert_int_equal(fz_freeze(m, "prefix:4"), FZ_OK);
    assert_int_equal(fz_trainable_elements(m), 0);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.01f });
    assert_null(t);
    assert_non_null(strstr(fz_last_error(), "nothing to train"));
    fz_model_free(m);
}

static void freezing_everything_after_creation_refuses_the_step(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, 11);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.01f });
    assert_non_null(t);
    assert_int_equal(fz_freeze(m, "*"), FZ_OK);
    float x[BATCH * 6] = {0}, y[BATCH * 3] = {0};
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "nothing to train"));
    fz_trainer_free(t);
    fz_model_free(m);
}

static void frozen_middle_layer_still_passes_input_grads_through(void **state)
{
    (void)state;
    /* fc2 frozen: no dW/db for it, but fc1 below trains, so fc2 must compute dX (and
     * keep its input as the ReLU mask). */
    check_both_optimizers(&(plan_case){ "fc2.*", "TFTT", "TFTT", "FTTT" });
}

static void frozen_middle_weight_keeps_its_bias_gradient(void **state)
{
    (void)state;
    check_both_optimizers(&(plan_case){ "fc2.weight", "TFTT", "TTTT", "FTTT" });
}

static void trainable_bias_below_frozen_layers_needs_input_grads_down_to_it(void **state)
{
    (void)state;
    /* Only fc1.bias trains among the lower layers: every layer above it passes dX, and
     * layer 1 keeps no input (it needs neither dW nor dX). */
    check_both_optimizers(&(plan_case){ "fc1.weight,fc2.*", "FFTT", "TFTT", "FTTT" });
}

static void bitfit_trains_biases_and_keeps_only_relu_masks(void **state)
{
    (void)state;
    check_both_optimizers(&(plan_case){ "bitfit", "FFFF", "TTTT", "FTTT" });
}

static void last_trains_only_the_head_without_input_grads(void **state)
{
    (void)state;
    check_both_optimizers(&(plan_case){ "last", "FFFT", "FFFT", "FFFF" });
}

static void single_layer_model_has_no_input_gradient_to_compute(void **state)
{
    (void)state;
    /* One Linear layer (no ReLU): nothing lies below it, and "last" freezes nothing. */
    const size_t w1[] = { 5, 2 };
    static const char *const specs[] = { "none", "last", "bitfit", "fc1.bias" };
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fz_model *m = fz_mlp_create(w1, 2, 3);
        assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
        fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.1f });
        assert_non_null(t);
        fz_layer_plan p;
        assert_int_equal(fz_layer_plan_get(t, 0, &p), FZ_OK);
        assert_false(p.need_dX);
        assert_true(p.need_dW == fz_requires_grad(m, "fc1.weight"));
        assert_true(p.need_db == fz_requires_grad(m, "fc1.bias"));
        assert_int_equal(fz_memory_used(t).activations, p.need_dW ? BATCH * 5 * sizeof(float) : 0);
        float x[BATCH * 5] = { 1, 2, 3 }, y[BATCH * 2] = { 1 };
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_true(fz_flops_executed(t).bwd == fz_flops_planned(t).bwd);
        fz_trainer_free(t);
        fz_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_frozen_needs_every_gradient_but_the_input_one),
        cmocka_unit_test(frozen_prefix_of_every_length_skips_its_work_and_input_grads),
        cmocka_unit_test(frozen_prefix_of_all_layers_is_refused_at_trainer_creation),
        cmocka_unit_test(freezing_everything_after_creation_refuses_the_step),
        cmocka_unit_test(frozen_middle_layer_still_passes_input_grads_through),
        cmocka_unit_test(frozen_middle_weight_keeps_its_bias_gradient),
        cmocka_unit_test(trainable_bias_below_frozen_layers_needs_input_grads_down_to_it),
        cmocka_unit_test(bitfit_trains_biases_and_keeps_only_relu_masks),
        cmocka_unit_test(last_trains_only_the_head_without_input_grads),
        cmocka_unit_test(single_layer_model_has_no_input_gradient_to_compute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Bad input: every public call handed NULL pointers, zero or overflowing sizes, malformed
 * or non-matching specs, unknown names or invalid optimizer settings returns its
 * documented status (NULL for constructors), leaves a message that names the culprit, and
 * leaves the model exactly as it was (every value and every flag).
 *
 * Before each call the thread's message is set to a sentinel, so a call that fails
 * without writing its own message cannot pass on a stale one.
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
#include "kernels.h"
#include "kernels_active.h"

static const size_t widths[] = { 4, 5, 3, 2 };
enum { LAYERS = 3, BATCH = 2, IN = 4, OUT = 2 };
#define SENTINEL "sentinel-no-such-tensor"

typedef struct {
    fz_model *m;
    fz_trainer *t;
    model_snapshot before;
    float x[BATCH * IN], y[BATCH * OUT];
} fixture;

/* A model with mixed flags (so both fz_freeze and fz_unfreeze could change something)
 * and a trainer that has stepped once (so it has state a bad call could disturb). */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->m = fz_mlp_create(widths, LAYERS + 1, 9);
    if (!f->m || fz_freeze(f->m, "fc2.weight") != FZ_OK)
        return -1;
    f->t = fz_trainer_create(f->m, BATCH, (fz_sgd){ .lr = 0.1f, .momentum = 0.9f });
    fill_uniform(f->x, BATCH * IN, 1, -1.0f, 1.0f);
    fill_uniform(f->y, BATCH * OUT, 2, -1.0f, 1.0f);
    if (!f->t || fz_train_step(f->t, f->x, f->y, NULL) != FZ_OK)
        return -1;
    f->before = snapshot_take(f->m);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    snapshot_free(&f->before);
    fz_trainer_free(f->t);
    fz_model_free(f->m);
    free(f);
    return 0;
}

static void arm_sentinel(fixture *f)
{
    assert_null(fz_param_data(f->m, SENTINEL, NULL));
    assert_non_null(strstr(fz_last_error(), SENTINEL));
}

/* The last message names `culprit`, is fresh, and the model is untouched. */
static void expect_message(fixture *f, const char *call, const char *culprit)
{
    const char *msg = fz_last_error();
    if (strstr(msg, SENTINEL))
        fail_msg("%s: failed without a message of its own", call);
    if (!strstr(msg, culprit))
        fail_msg("%s: message \"%s\" does not name '%s'", call, msg, culprit);
    if (!snapshot_model_same(&f->before, f->m))
        fail_msg("%s: the model changed", call);
}

#define EXPECT_STATUS(f, expr, status, culprit)                                       \
    do {                                                                              \
        arm_sentinel(f);                                                              \
        fz_status st_ = (expr);                                                       \
        if (st_ != (status))                                                          \
            fail_msg("%s: returned %s, expected %s", #expr, fz_status_name(st_),      \
                     fz_status_name(status));                                         \
        expect_message(f, #expr, culprit);                                            \
    } while (0)

#define EXPECT_NULL(f, expr, culprit)                                                 \
    do {                                                                              \
        arm_sentinel(f);                                                              \
        if ((expr) != NULL)                                                           \
            fail_msg("%s: returned non-NULL", #expr);                                 \
        expect_message(f, #expr, culprit);                                            \
    } while (0)

/* ---- model creation ------------------------------------------------------------- */

static void mlp_create_rejects_null_too_few_and_zero_widths(void **state)
{
    fixture *f = *state;
    const size_t zero_mid[] = { 4, 0, 2 }, zero_out[] = { 4, 3, 0 };
    EXPECT_NULL(f, fz_mlp_create(NULL, 3, 1), "widths");
    EXPECT_NULL(f, fz_mlp_create(widths, 0, 1), "0 widths");
    EXPECT_NULL(f, fz_mlp_create(widths, 1, 1), "1 widths");
    EXPECT_NULL(f, fz_mlp_create(zero_mid, 3, 1), "widths[1]");
    EXPECT_NULL(f, fz_mlp_create(zero_out, 3, 1), "widths[2]");
}

static void mlp_create_rejects_widths_whose_sizes_overflow(void **state)
{
    fixture *f = *state;
    /* The weight's element count overflows. */
    const size_t product[] = { SIZE_MAX / 2, 4, 1 };
    /* Elements fit, bytes do not (a weight of SIZE_MAX/2 elements). */
    const size_t bytes[] = { 2, SIZE_MAX / 4, 1 };
    /* Each layer fits (SIZE_MAX/8 elements at most), the sum over layers does not. */
    const size_t sum[] = { 1, SIZE_MAX / 16, 1, SIZE_MAX / 16, 1 };
    EXPECT_NULL(f, fz_mlp_create(product, 3, 1), "fc1");
    EXPECT_NULL(f, fz_mlp_create(bytes, 3, 1), "fc1");
    EXPECT_NULL(f, fz_mlp_create(sum, 5, 1), "fc3");
}

/* ---- freeze specs --------------------------------------------------------------- */

static void malformed_specs_are_einval_naming_the_item(void **state)
{
    fixture *f = *state;
    static const struct { const char *spec, *culprit; } bad[] = {
        { "", "spec '' is empty" },
        { "  ", "spec '  ' is empty" },
        { ",", "item 1: empty item" },
        { "fc1.*,", "'fc1.*,', item 2: empty item" },
        { "a,,b", "'a,,b', item 2: empty item" },  /* malformed wins over "a matches nothing" */
        { "fc1.*,,fc2.*", "item 2: empty item" },
        { "prefix:", "prefix:" },
        { "prefix:x", "prefix:x" },
        { "prefix:-1", "prefix:-1" },
        { "prefix:99", "prefix:99" },
        { "prefix:4", "prefix:4" },        /* one more than the layer count */
        { "prefix:99999999999999999999999", "prefix:9999" },
        { "fc1.we ight", "fc1.we ight" },
        { "fc1.*,fc2/weight", "fc2/weight" },
        { "fc9.*,prefix:x", "item 2: 'prefix:x'" },  /* a parse error wins over a miss */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char call[96];
        snprintf(call, sizeof call, "fz_freeze(\"%s\")", bad[i].spec);
        arm_sentinel(f);
        fz_status st = fz_freeze(f->m, bad[i].spec);
        if (st != FZ_EINVAL)
            fail_msg("%s: returned %s, expected FZ_EINVAL", call, fz_status_name(st));
        expect_message(f, call, bad[i].culprit);
        snprintf(call, sizeof call, "fz_unfreeze(\"%s\")", bad[i].spec);
        arm_sentinel(f);
        st = fz_unfreeze(f->m, bad[i].spec);
        if (st != FZ_EINVAL)
            fail_msg("%s: returned %s, expected FZ_EINVAL", call, fz_status_name(st));
        expect_message(f, call, bad[i].culprit);
    }
}

static void globs_matching_nothing_are_enotfound_and_change_no_flag(void **state)
{
    fixture *f = *state;
    /* The valid items before the bad one must not take effect either. */
    static const struct { const char *spec, *culprit; } miss[] = {
        { "fc9.*", "fc9.*" },
        { "fc1.*,fc9.weight", "item 2: 'fc9.weight'" },
        { "fc1.weight,fc2.bias,*.gamma", "*.gamma" },
        { "fc1.weights", "fc1.weights" },
        { "FC1.*", "FC1.*" },
    };
    for (size_t i = 0; i < sizeof miss / sizeof *miss; i++) {
        char call[96];
        snprintf(call, sizeof call, "fz_freeze(\"%s\")", miss[i].spec);
        arm_sentinel(f);
        fz_status st = fz_freeze(f->m, miss[i].spec);
        if (st != FZ_ENOTFOUND)
            fail_msg("%s: returned %s, expected FZ_ENOTFOUND", call, fz_status_name(st));
        expect_message(f, call, miss[i].culprit);
        snprintf(call, sizeof call, "fz_unfreeze(\"%s\")", miss[i].spec);
        arm_sentinel(f);
        st = fz_unfreeze(f->m, miss[i].spec);
        if (st != FZ_ENOTFOUND)
            fail_msg("%s: returned %s, expected FZ_ENOTFOUND", call, fz_status_name(st));
        expect_message(f, call, miss[i].culprit);
    }
}

static void freeze_calls_reject_null_model_and_spec(void **state)
{
    fixture *f = *state;
    EXPECT_STATUS(f, fz_freeze(NULL, "none"), FZ_EINVAL, "model");
    EXPECT_STATUS(f, fz_freeze(f->m, NULL), FZ_EINVAL, "spec");
    EXPECT_STATUS(f, fz_unfreeze(NULL, "none"), FZ_EINVAL, "model");
    EXPECT_STATUS(f, fz_unfreeze(f->m, NULL), FZ_EINVAL, "spec");
}

/* ---- parameter access ----------------------------------------------------------- */

static void unknown_parameter_names_are_reported_by_name(void **state)
{
    fixture *f = *state;
    size_t numel = 12345, rows = 777, cols = 888;
    EXPECT_NULL(f, fz_param_data(f->m, "fc9.weight", &numel), "fc9.weight");
    assert_int_equal(numel, 12345);   /* out-parameters untouched on failure */
    EXPECT_NULL(f, fz_param_data(f->m, "fc1.weight ", &numel), "fc1.weight ");
    EXPECT_NULL(f, fz_param_data(f->m, "", &numel), "''");
    EXPECT_STATUS(f, fz_param_shape(f->m, "fc1.gamma", &rows, &cols), FZ_ENOTFOUND,
                  "fc1.gamma");
    assert_int_equal(rows, 777);
    assert_int_equal(cols, 888);
    arm_sentinel(f);
    assert_false(fz_requires_grad(f->m, "fc0.bias"));
    expect_message(f, "fz_requires_grad(fc0.bias)", "fc0.bias");
}

static void parameter_calls_reject_null_model_and_name(void **state)
{
    fixture *f = *state;
    size_t numel, rows, cols;
    EXPECT_NULL(f, fz_param_data(NULL, "fc1.weight", &numel), "model");
    EXPECT_NULL(f, fz_param_data(f->m, NULL, &numel), "name");
    EXPECT_STATUS(f, fz_param_shape(NULL, "fc1.weight", &rows, &cols), FZ_EINVAL, "model");
    EXPECT_STATUS(f, fz_param_shape(f->m, NULL, &rows, &cols), FZ_EINVAL, "name");
    arm_sentinel(f);
    assert_false(fz_requires_grad(NULL, "fc1.weight"));
    expect_message(f, "fz_requires_grad(NULL, ...)", "model");
    arm_sentinel(f);
    assert_false(fz_requires_grad(f->m, NULL));
    expect_message(f, "fz_requires_grad(m, NULL)", "name");
}

static void queries_on_null_objects_return_empty_values(void **state)
{
    (void)state;
    /* Not fallible calls (no status to return): they must simply not crash. */
    assert_int_equal(fz_layer_count(NULL), 0);
    assert_int_equal(fz_width(NULL, 0), 0);
    assert_int_equal(fz_param_count(NULL), 0);
    assert_null(fz_param_name(NULL, 0));
    assert_int_equal(fz_trainable_elements(NULL), 0);
    assert_int_equal(fz_frozen_elements(NULL), 0);
    fz_flops p = fz_flops_planned(NULL), e = fz_flops_executed(NULL);
    assert_true(p.fwd == 0 && p.bwd == 0 && p.opt == 0);
    assert_true(e.fwd == 0 && e.bwd == 0 && e.opt == 0);
    fz_bwd_split bp = fz_bwd_planned(NULL), be = fz_bwd_executed(NULL);
    assert_true(bp.dgrad == 0 && bp.wgrad == 0 && be.dgrad == 0 && be.wgrad == 0);
    fz_memory mem = fz_memory_used(NULL);
    assert_true(mem.activations == 0 && mem.gradients == 0 && mem.optimizer == 0);
    fz_times tm = fz_times_last(NULL);
    assert_true(tm.fwd == 0 && tm.bwd == 0 && tm.opt == 0);
    fz_update_split us = fz_update_last(NULL);
    assert_true(us.optimizer_floats == 0 && us.folded_floats == 0);
    fz_model_free(NULL);
    fz_trainer_free(NULL);
}

static void out_of_range_indices_return_empty_values(void **state)
{
    fixture *f = *state;
    assert_null(fz_param_name(f->m, 2 * LAYERS));
    assert_null(fz_param_name(f->m, SIZE_MAX));
    assert_int_equal(fz_width(f->m, LAYERS + 1), 0);
    assert_true(snapshot_model_same(&f->before, f->m));
}

/* ---- trainer -------------------------------------------------------------------- */

static void trainer_create_rejects_null_zero_and_overflowing_batch(void **state)
{
    fixture *f = *state;
    fz_sgd ok = { .lr = 0.1f };
    EXPECT_NULL(f, fz_trainer_create(NULL, BATCH, ok), "model");
    EXPECT_NULL(f, fz_trainer_create(f->m, 0, ok), "batch");
    EXPECT_NULL(f, fz_trainer_create(f->m, SIZE_MAX / 2, ok), "batch");
}

static void trainer_create_rejects_negative_and_nan_hyperparameters(void **state)
{
    fixture *f = *state;
    EXPECT_NULL(f, fz_trainer_create(f->m, BATCH, (fz_sgd){ .lr = -0.1f }), "lr -0.1");
    EXPECT_NULL(f, fz_trainer_create(f->m, BATCH, (fz_sgd){ .lr = NAN }), "lr nan");
    EXPECT_NULL(f, fz_trainer_create(f->m, BATCH, (fz_sgd){ .lr = 0.1f, .momentum = -0.5f }),
                "momentum -0.5");
    EXPECT_NULL(f, fz_trainer_create(f->m, BATCH, (fz_sgd){ .lr = 0.1f, .momentum = NAN }),
                "momentum nan");
    EXPECT_NULL(f, fz_trainer_create(f->m, BATCH,
                                     (fz_sgd){ .lr = 0.1f, .weight_decay = -1.0f }),
                "weight_decay -1");
}

static void train_step_rejects_null_arguments_without_touching_the_model(void **state)
{
    fixture *f = *state;
    float loss = 123.0f;
    EXPECT_STATUS(f, fz_train_step(NULL, f->x, f->y, &loss), FZ_EINVAL, "trainer");
    EXPECT_STATUS(f, fz_train_step(f->t, NULL, f->y, &loss), FZ_EINVAL, "x");
    EXPECT_STATUS(f, fz_train_step(f->t, f->x, NULL, &loss), FZ_EINVAL, "y");
    assert_true(loss == 123.0f);
    /* The trainer is still usable afterwards. */
    assert_int_equal(fz_train_step(f->t, f->x, f->y, &loss), FZ_OK);
    assert_true(loss != 123.0f);
}

static void layer_plan_rejects_null_and_out_of_range_layers(void **state)
{
    fixture *f = *state;
    fz_layer_plan p = { .need_dW = true, .need_db = true, .need_dX = true };
    EXPECT_STATUS(f, fz_layer_plan_get(NULL, 0, &p), FZ_EINVAL, "trainer");
    EXPECT_STATUS(f, fz_layer_plan_get(f->t, 0, NULL), FZ_EINVAL, "out");
    EXPECT_STATUS(f, fz_layer_plan_get(f->t, LAYERS, &p), FZ_EINVAL, "layer 3");
    EXPECT_STATUS(f, fz_layer_plan_get(f->t, SIZE_MAX, &p), FZ_EINVAL, "out of range");
    assert_true(p.need_dW && p.need_db && p.need_dX);
}

static void forward_rejects_null_zero_and_overflowing_batch(void **state)
{
    fixture *f = *state;
    float out[BATCH * OUT];
    EXPECT_STATUS(f, fz_forward(NULL, BATCH, f->x, out), FZ_EINVAL, "model");
    EXPECT_STATUS(f, fz_forward(f->m, BATCH, NULL, out), FZ_EINVAL, "x");
    EXPECT_STATUS(f, fz_forward(f->m, BATCH, f->x, NULL), FZ_EINVAL, "y");
    EXPECT_STATUS(f, fz_forward(f->m, 0, f->x, out), FZ_EINVAL, "batch");
    EXPECT_STATUS(f, fz_forward(f->m, SIZE_MAX / 2, f->x, out), FZ_ENOMEM, "batch");
}

static void sgemm_with_null_matrices_leaves_c_alone(void **state)
{
    fixture *f = *state;
    /* fz_sgemm returns nothing (its signature is BLAS's), so the contract for bad
     * pointers is: no crash, C untouched, and a message naming the matrix. */
    float a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 0, 0, 1 }, c[4] = { 7, 7, 7, 7 };
    arm_sentinel(f);
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 2, 2, 2, 1.0f, NULL, 2, b, 2, 0.0f, c, 2);
    expect_message(f, "fz_sgemm(a = NULL)", "a is NULL");
    arm_sentinel(f);
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 2, 2, 2, 1.0f, a, 2, NULL, 2, 0.0f, c, 2);
    expect_message(f, "fz_sgemm(b = NULL)", "b is NULL");
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == 7.0f);
    arm_sentinel(f);
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, NULL, 2);
    expect_message(f, "fz_sgemm(c = NULL)", "c is NULL");
    /* The same call with valid pointers works. */
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_true(c[0] == 1 && c[1] == 2 && c[2] == 3 && c[3] == 4);
}

/* Runs `check` with each ISA's kernels in turn: the AVX2 kernel took a k == 0 call
 * with a transposed A down a path that left C alone, the scalar one did not. */
static void on_every_isa(void (*check)(void))
{
    const char *isas[] = { "scalar", "avx2", "avx512", "neon" };
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        const fz_kernels *k = kernels_for(isas[i]);
        if (!k)
            continue;
        kernels_override(k);
        check();
    }
    kernels_override(NULL);
}

/* C = beta·C for k == 0 (BLAS), whatever the transposes, including the transposed call
 * with lda = m, which takes another path through the argument checks. */
static void k_zero_scales_c_by_beta(void)
{
    float a[1] = { NAN }, b[1] = { NAN }, c[6 * 5];
    for (int tr = 0; tr < 4; tr++) {
        fz_trans ta = tr & 1 ? FZ_TRANS : FZ_NOTRANS, tb = tr & 2 ? FZ_TRANS : FZ_NOTRANS;
        size_t lda = ta == FZ_TRANS ? 6 : 1, ldb = tb == FZ_TRANS ? 1 : 5;
        for (size_t i = 0; i < 30; i++)
            c[i] = NAN;   /* beta == 0: C is not read */
        fz_sgemm(ta, tb, 6, 5, 0, 1.0f, a, lda, b, ldb, 0.0f, c, 5);
        for (size_t i = 0; i < 30; i++)
            assert_true(c[i] == 0.0f);
        for (size_t i = 0; i < 30; i++)
            c[i] = (float)i;
        fz_sgemm(ta, tb, 6, 5, 0, 1.0f, a, lda, b, ldb, 2.0f, c, 5);
        for (size_t i = 0; i < 30; i++)
            assert_true(c[i] == 2.0f * (float)i);
    }
}

/* alpha == 0: A and B are not read (BLAS), so their NaNs do not reach C. */
static void alpha_zero_does_not_read_a_or_b(void)
{
    float a[4 * 3], b[3 * 2], c[4 * 2];
    for (size_t i = 0; i < 12; i++)
        a[i] = NAN;
    for (size_t i = 0; i < 6; i++)
        b[i] = INFINITY;
    for (size_t i = 0; i < 8; i++)
        c[i] = (float)i;
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 4, 2, 3, 0.0f, a, 3, b, 2, -1.0f, c, 2);
    for (size_t i = 0; i < 8; i++)
        assert_true(c[i] == -(float)i);
    /* Not read at all: NULL is accepted too. */
    fz_sgemm(FZ_NOTRANS, FZ_NOTRANS, 4, 2, 3, 0.0f, NULL, 3, NULL, 2, 0.0f, c, 2);
    for (size_t i = 0; i < 8; i++)
        assert_true(c[i] == 0.0f);
}

static void sgemm_with_k_zero_scales_c_by_beta(void **state)
{
    (void)state;
    on_every_isa(k_zero_scales_c_by_beta);
}

static void sgemm_with_alpha_zero_does_not_read_a_or_b(void **state)
{
    (void)state;
    on_every_isa(alpha_zero_does_not_read_a_or_b);
}

/* Leading dimensions shorter than a row and unknown transpose flags are refused with a
 * message and C untouched, as BLAS's xerbla refuses them. */
static void sgemm_with_bad_leading_dimension_or_transpose_leaves_c_alone(void **state)
{
    fixture *f = *state;
    float a[6] = { 1, 2, 3, 4, 5, 6 }, b[6] = { 1, 0, 0, 1, 1, 1 }, c[4] = { 7, 7, 7, 7 };
    struct { fz_trans ta, tb; size_t lda, ldb, ldc; const char *culprit; } bad[] = {
        { FZ_NOTRANS, FZ_NOTRANS, 2, 2, 2, "lda" },     /* A is 2×3: lda >= 3 */
        { FZ_TRANS, FZ_NOTRANS, 1, 2, 2, "lda" },       /* A is 3×2: lda >= m = 2 */
        { FZ_NOTRANS, FZ_NOTRANS, 3, 1, 2, "ldb" },     /* B is 3×2: ldb >= 2 */
        { FZ_NOTRANS, FZ_TRANS, 3, 2, 2, "ldb" },       /* B is 2×3: ldb >= k = 3 */
        { FZ_NOTRANS, FZ_NOTRANS, 3, 2, 1, "ldc" },     /* C is 2×2: ldc >= 2 */
        { (fz_trans)2, FZ_NOTRANS, 3, 2, 2, "ta" },
        { FZ_NOTRANS, (fz_trans)-1, 3, 2, 2, "tb" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arm_sentinel(f);
        fz_sgemm(bad[i].ta, bad[i].tb, 2, 2, 3, 1.0f, a, bad[i].lda, b, bad[i].ldb, 0.0f, c,
                 bad[i].ldc);
        expect_message(f, "fz_sgemm(bad argument)", bad[i].culprit);
        for (int j = 0; j < 4; j++)
            assert_true(c[j] == 7.0f);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(mlp_create_rejects_null_too_few_and_zero_widths),
        T(mlp_create_rejects_widths_whose_sizes_overflow),
        T(malformed_specs_are_einval_naming_the_item),
        T(globs_matching_nothing_are_enotfound_and_change_no_flag),
        T(freeze_calls_reject_null_model_and_spec),
        T(unknown_parameter_names_are_reported_by_name),
        T(parameter_calls_reject_null_model_and_name),
        T(queries_on_null_objects_return_empty_values),
        T(out_of_range_indices_return_empty_values),
        T(trainer_create_rejects_null_zero_and_overflowing_batch),
        T(trainer_create_rejects_negative_and_nan_hyperparameters),
        T(train_step_rejects_null_arguments_without_touching_the_model),
        T(layer_plan_rejects_null_and_out_of_range_layers),
        T(forward_rejects_null_zero_and_overflowing_batch),
        T(sgemm_with_null_matrices_leaves_c_alone),
        T(sgemm_with_k_zero_scales_c_by_beta),
        T(sgemm_with_alpha_zero_does_not_read_a_or_b),
        T(sgemm_with_bad_leading_dimension_or_transpose_leaves_c_alone),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

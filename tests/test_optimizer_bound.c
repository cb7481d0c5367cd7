/*
 * The optimizer's bound (update_bound.h): an update shown unable to make a value NaN or
 * infinite runs with no copy aside; any other is copied aside, checked and undone.  Both
 * paths must train bitwise alike, and the exact undo must hold whatever the bound
 * decided: a NaN gradient, an overflowing rate, and a parameter written from outside
 * since the last step (its tracked max |p| stale) all end in FZ_ENONFINITE with every
 * parameter as before.  The momentum cannot be read through the API, so it is compared
 * through the steps that follow: a twin trainer must reach the very same parameters.
 * Each case runs under every kernel table this CPU has (kernels_override), and the
 * unguarded path is compared against FREEZEBENCH_UPDATE_BOUND=0 (every update checked),
 * with trainer_checked_updates saying which path each step took.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"
#include "step.h"
#include "trainer_hooks.h"
#include "update_bound.h"
#include "isa_testutil.h"

#define STEPS 5

typedef struct {
    size_t widths[4], n_widths, batch;
    int threads;
} net_case;

/* Small, with every tail length of every vector width; and large enough (56K
 * parameters) that the optimizer splits each tensor over two threads, whose maxima
 * are merged. */
static const net_case nets[] = {
    { { 12, 33, 17, 3 }, 4, 20, 1 },
    { { 64, 300, 120, 4 }, 4, 16, 2 },
};

static const fz_sgd opts[] = {
    { .lr = 0.05f },
    { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f },
};

/* A trainer whose every update is copied aside and checked (checked) or not. */
static fz_trainer *trainer(fz_model *m, size_t batch, fz_sgd opt, bool checked)
{
    if (checked)
        setenv("FREEZEBENCH_UPDATE_BOUND", "0", 1);
    fz_trainer *t = fz_trainer_create(m, batch, opt);
    unsetenv("FREEZEBENCH_UPDATE_BOUND");
    assert_non_null(t);
    return t;
}

/* Every parameter of a and b bitwise equal. */
static void assert_same_parameters(fz_model *a, fz_model *b)
{
    for (size_t i = 0; i < fz_param_count(a); i++) {
        size_t n;
        const char *name = fz_param_name(a, i);
        const float *pa = fz_param_data(a, name, &n), *pb = fz_param_data(b, name, &n);
        if (memcmp(pa, pb, n * sizeof(float)) != 0)
            fail_msg("%s differs between the two paths", name);
    }
}

/* The whole model, copied out (the caller frees it). */
static float *snapshot(fz_model *m)
{
    size_t total = 0, n;
    for (size_t i = 0; i < fz_param_count(m); i++) {
        fz_param_data(m, fz_param_name(m, i), &n);
        total += n;
    }
    float *s = malloc(total * sizeof(float) + 1), *at = s;
    assert_non_null(s);
    for (size_t i = 0; i < fz_param_count(m); i++) {
        const float *p = fz_param_data(m, fz_param_name(m, i), &n);
        memcpy(at, p, n * sizeof(float));
        at += n;
    }
    return s;
}

/* STEPS steps of two trainers on the same batch, their models bitwise equal after each. */
static void step_twins_alike(fz_trainer *ta, fz_trainer *tb, fz_model *ma, fz_model *mb,
                             const float *x, const float *y)
{
    for (int s = 0; s < STEPS; s++) {
        assert_int_equal(fz_train_step(ta, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tb, x, y, NULL), FZ_OK);
        assert_same_parameters(ma, mb);
    }
}

static void free_twins(fz_trainer *ta, fz_trainer *tb, fz_model *ma, fz_model *mb, float *x,
                       float *y)
{
    free(x);
    free(y);
    fz_trainer_free(ta);
    fz_trainer_free(tb);
    fz_model_free(ma);
    fz_model_free(mb);
}

static void assert_model_equals(fz_model *m, const float *snap)
{
    float *now = snapshot(m);
    size_t total = 0, n;
    for (size_t i = 0; i < fz_param_count(m); i++) {
        fz_param_data(m, fz_param_name(m, i), &n);
        total += n;
    }
    assert_memory_equal(now, snap, total * sizeof(float));
    free(now);
}

/* The unguarded path and the checked one, step by step, plain SGD and with momentum and
 * weight decay: bitwise the same parameters after every step, and no step of the
 * bounded trainer checked. */
static void bounded_updates_train_as_checked_ones(void **state)
{
    isa_use_or_skip(state);
    for (size_t c = 0; c < sizeof nets / sizeof *nets; c++)
        for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
            const net_case *nc = &nets[c];
            fz_set_threads(nc->threads);
            fz_model *ma = fz_mlp_create(nc->widths, nc->n_widths, 7);
            fz_model *mb = fz_mlp_create(nc->widths, nc->n_widths, 7);
            assert_true(ma && mb);
            fz_trainer *ta = trainer(ma, nc->batch, opts[o], false);
            fz_trainer *tb = trainer(mb, nc->batch, opts[o], true);
            size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
            float *x = random_floats(nc->batch * in, 3);
            float *y = random_floats(nc->batch * out, 4);
            assert_true(x && y);
            step_twins_alike(ta, tb, ma, mb, x, y);
            assert_int_equal(trainer_checked_updates(ta), 0);
            assert_int_equal(trainer_checked_updates(tb), STEPS);
            free_twins(ta, tb, ma, mb, x, y);
        }
}

/* A plan that trains fewer than UPDATE_BOUND_MIN_FLOATS floats (the seed network's 6)
 * takes the checked path at every step, bounded or not, and trains as a trainer held to
 * it does. */
static void tiny_update_is_checked_without_a_bound(void **state)
{
    isa_use_or_skip(state);
    const size_t widths[] = { 10, 5, 1 };
    fz_set_threads(1);
    fz_model *ma = fz_mlp_create(widths, 3, 5), *mb = fz_mlp_create(widths, 3, 5);
    assert_true(ma && mb);
    assert_int_equal(fz_freeze(ma, "fc1.*"), FZ_OK);
    assert_int_equal(fz_freeze(mb, "fc1.*"), FZ_OK);
    assert_true(fz_trainable_elements(ma) < UPDATE_BOUND_MIN_FLOATS);
    fz_sgd opt = { .lr = 0.05f, .momentum = 0.9f };
    fz_trainer *ta = trainer(ma, 64, opt, false), *tb = trainer(mb, 64, opt, true);
    float *x = random_floats(64 * 10, 21), *y = random_floats(64, 22);
    assert_true(x && y);
    step_twins_alike(ta, tb, ma, mb, x, y);
    assert_int_equal(trainer_checked_updates(ta), STEPS);
    free_twins(ta, tb, ma, mb, x, y);
}

/* Inputs whose feature 0 is zero, so that fc1.weight's column 0 neither reaches the
 * loss nor gets a gradient: a test may put any finite value there. */
static void inert_first_feature(float *x, size_t batch, size_t in)
{
    for (size_t b = 0; b < batch; b++)
        x[b * in] = 0.0f;
}

/* A parameter written through fz_param_data after a step makes the tracked max |p|
 * stale: the next step must scan it.  Written huge (3e38, with lr·wd = 3 so its own
 * decay term overflows), the update must be checked and undone; trusting the stale max
 * would run it unguarded and return FZ_OK with the weight infinite. */
static void parameter_written_between_steps_is_scanned_again(void **state)
{
    isa_use_or_skip(state);
    const net_case *nc = &nets[0];
    size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
    fz_sgd opt = { .lr = 1.0f, .momentum = 0.5f, .weight_decay = 3.0f };
    fz_model *m = fz_mlp_create(nc->widths, nc->n_widths, 9);
    fz_model *twin = fz_mlp_create(nc->widths, nc->n_widths, 9);
    fz_trainer *t = trainer(m, nc->batch, opt, false);
    fz_trainer *tt = trainer(twin, nc->batch, opt, false);
    float *x = random_floats(nc->batch * in, 5), *y = random_floats(nc->batch * out, 6);
    assert_true(x && y);
    inert_first_feature(x, nc->batch, in);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
    assert_int_equal(trainer_checked_updates(t), 0);

    float *w = fz_param_data(m, "fc1.weight", NULL);
    float old = w[0];
    w[0] = 3e38f;
    float *before = snapshot(m);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
    assert_non_null(strstr(fz_last_error(), "step 2:"));
    assert_non_null(strstr(fz_last_error(), "the update made parameter fc1.weight[0]"));
    assert_model_equals(m, before);
    assert_int_equal(trainer_checked_updates(t), 1);
    assert_int_equal(fz_trainer_steps(t), 1);

    /* Put back, the step goes through unguarded again and the momentum is the twin's. */
    fz_param_data(m, "fc1.weight", NULL)[0] = old;
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
    assert_same_parameters(m, twin);
    assert_int_equal(trainer_checked_updates(t), 1);
    free(before);
    free_twins(t, tt, m, twin, x, y);
}

/* A parameter past the bound's headroom (3e37 > FLT_MAX/16) whose update stays finite:
 * every step is checked, succeeds, and trains exactly as a trainer that checks every
 * step; the max the checked update returns is tracked as the unguarded one's is. */
static void checked_update_that_succeeds_trains_as_the_unguarded_would(void **state)
{
    isa_use_or_skip(state);
    const net_case *nc = &nets[0];
    size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
    fz_sgd opt = { .lr = 0.05f, .momentum = 0.9f };
    fz_model *ma = fz_mlp_create(nc->widths, nc->n_widths, 11);
    fz_model *mb = fz_mlp_create(nc->widths, nc->n_widths, 11);
    fz_trainer *ta = trainer(ma, nc->batch, opt, false);
    fz_trainer *tb = trainer(mb, nc->batch, opt, true);
    float *x = random_floats(nc->batch * in, 7), *y = random_floats(nc->batch * out, 8);
    assert_true(x && y);
    inert_first_feature(x, nc->batch, in);
    fz_param_data(ma, "fc1.weight", NULL)[0] = 3e37f;
    fz_param_data(mb, "fc1.weight", NULL)[0] = 3e37f;
    step_twins_alike(ta, tb, ma, mb, x, y);
    assert_int_equal(trainer_checked_updates(ta), STEPS);
    free_twins(ta, tb, ma, mb, x, y);
}

/* A gradient poisoned after the backward (before_update, the hook a data-parallel sum
 * runs in): the scan finds the NaN before anything changes; the step fails naming a
 * NaN and leaves parameters and momentum as they were. */
typedef struct {
    float *g;      /* the first gradient piece handed out this step */
    bool poison;
} poisoner;

static void remember_first_piece(void *ctx, const grad_bucket *b, size_t n)
{
    poisoner *p = ctx;
    if (!p->g && n)
        p->g = b[0].piece[0].g;
}

static fz_status poison_gradient(void *ctx)
{
    poisoner *p = ctx;
    if (p->poison)
        p->g[0] = NAN;
    p->g = NULL;
    return FZ_OK;
}

static void nan_gradient_is_caught_and_nothing_moves(void **state)
{
    isa_use_or_skip(state);
    for (size_t c = 0; c < sizeof nets / sizeof *nets; c++) {
        const net_case *nc = &nets[c];
        fz_set_threads(nc->threads);
        size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
        fz_sgd opt = opts[1];
        fz_model *m = fz_mlp_create(nc->widths, nc->n_widths, 13);
        fz_model *twin = fz_mlp_create(nc->widths, nc->n_widths, 13);
        fz_trainer *t = trainer(m, nc->batch, opt, false);
        fz_trainer *tt = trainer(twin, nc->batch, opt, false);
        poisoner pm = { 0 }, pt = { 0 };
        trainer_set_hooks(t, &(trainer_hooks){ .ctx = &pm, .grads_ready = remember_first_piece,
                                               .before_update = poison_gradient,
                                               .bucket_bytes = 1 << 16 });
        trainer_set_hooks(tt, &(trainer_hooks){ .ctx = &pt, .grads_ready = remember_first_piece,
                                                .before_update = poison_gradient,
                                                .bucket_bytes = 1 << 16 });
        float *x = random_floats(nc->batch * in, 9), *y = random_floats(nc->batch * out, 10);
        assert_true(x && y);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);

        float *before = snapshot(m);
        pm.poison = true;
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
        assert_non_null(strstr(fz_last_error(), "step 2: the update made parameter"));
        assert_non_null(strstr(fz_last_error(), "nan"));
        assert_model_equals(m, before);
        assert_int_equal(trainer_checked_updates(t), 1);
        pm.poison = false;

        for (int s = 0; s < 2; s++) {
            assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
            assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
            assert_same_parameters(m, twin);
        }
        assert_int_equal(trainer_checked_updates(t), 1);
        free(before);
        free_twins(t, tt, m, twin, x, y);
    }
}

/* A finite loss whose gradient times a huge rate overflows (test_nonfinite's case, here
 * under every table and on two threads): the bound fails, the update is checked, and
 * everything is put back bit for bit, the momentum included. */
static void overflowing_rate_is_undone_bit_for_bit(void **state)
{
    isa_use_or_skip(state);
    for (size_t c = 0; c < sizeof nets / sizeof *nets; c++) {
        const net_case *nc = &nets[c];
        fz_set_threads(nc->threads);
        size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
        /* lr·wd = 0.1: the steps on y = model(x) (zero loss gradient) still move every
         * parameter and fill the momentum, unguarded. */
        fz_sgd opt = { .lr = 1e20f, .momentum = 0.9f, .weight_decay = 1e-21f };
        fz_model *m = fz_mlp_create(nc->widths, nc->n_widths, 15);
        fz_model *twin = fz_mlp_create(nc->widths, nc->n_widths, 15);
        fz_trainer *t = trainer(m, nc->batch, opt, false);
        fz_trainer *tt = trainer(twin, nc->batch, opt, false);
        float *x = random_floats(nc->batch * in, 11), *y = malloc(nc->batch * out * sizeof(float));
        float *huge = malloc(nc->batch * out * sizeof(float));
        assert_true(x && y && huge);
        for (size_t i = 0; i < nc->batch * out; i++)
            huge[i] = 1.5e19f;   /* a finite loss (each d² 2.25e38), an update past FLT_MAX */
        assert_int_equal(fz_forward(m, nc->batch, x, y), FZ_OK);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
        assert_int_equal(trainer_checked_updates(t), 0);

        float *before = snapshot(m);
        assert_int_equal(fz_train_step(t, x, huge, NULL), FZ_ENONFINITE);
        assert_non_null(strstr(fz_last_error(), "step 2: the update made"));
        assert_model_equals(m, before);
        assert_int_equal(trainer_checked_updates(t), 1);

        assert_int_equal(fz_forward(m, nc->batch, x, y), FZ_OK);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
        assert_same_parameters(m, twin);
        free(before);
        free(huge);
        free_twins(t, tt, m, twin, x, y);
    }
}

#define ISA_TEST_R(isa, f) ISA_TEST_WITH(isa, f, isa_restore)
#define ISA_TESTS(isa)                                                          \
    ISA_TEST_R(isa, bounded_updates_train_as_checked_ones),                       \
    ISA_TEST_R(isa, parameter_written_between_steps_is_scanned_again),            \
    ISA_TEST_R(isa, checked_update_that_succeeds_trains_as_the_unguarded_would), \
    ISA_TEST_R(isa, nan_gradient_is_caught_and_nothing_moves),                    \
    ISA_TEST_R(isa, overflowing_rate_is_undone_bit_for_bit),                      \
    ISA_TEST_R(isa, tiny_update_is_checked_without_a_bound)

int main(void)
{
    const struct CMUnitTest tests[] = { ISA_TESTS("scalar"), ISA_TESTS("avx2"),
                                        ISA_TESTS("avx512"), ISA_TESTS("neon") };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

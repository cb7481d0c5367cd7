/*
 * The update folded into the backward (fused_update.h): each trained weight updated in
 * its wgrad GEMM's tiles (FREEZEBENCH_FUSED_UPDATE=1: at any batch) must give bitwise the
 * parameters of the optimizer's separate pass (FREEZEBENCH_FUSED_UPDATE=0), for every freeze spec, with and without momentum
 * and weight decay, on one and two threads, under every kernel table this CPU has; and
 * trainer_fused_updates must show that the folded path really ran.  Where the bound
 * before the backward does not hold (a huge rate, a huge weight written from outside),
 * nothing is folded: the step falls back to the checked update, which undoes it exactly
 * and reports it.
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
#include "isa_testutil.h"

#define STEPS 4

typedef struct {
    size_t widths[5], n_widths, batch;
} net_case;

/* Tails of every vector width in every dimension; a batch of 600 makes the wgrad's K
 * several blocks deep, so the hook sees only each tile's last block; 56K parameters
 * spread each wgrad over two threads. */
static const net_case nets[] = {
    { { 12, 33, 17, 3 }, 3, 20 },
    { { 40, 70, 30, 5, 3 }, 5, 600 },
    { { 64, 300, 120, 4 }, 4, 16 },
};

static const fz_sgd opts[] = {
    { .lr = 0.05f },
    { .lr = 0.05f, .weight_decay = 1e-2f },
    { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f },
};

/* Freeze specs, each with whether it leaves some weight trained (else nothing folds:
 * the biases' update stays in the optimizer's pass, proven bounded all the same). */
typedef struct { const char *spec; bool trains_a_weight; } spec_case;
static const spec_case specs[] = {
    { NULL, true }, { "fc1.*", true }, { "fc1.*,fc2.*", true },
    { "*.weight", false }, { "fc2.weight", true },
};

static const int thread_counts[] = { 1, 2 };

/* A trainer that folds the update into the backward (fold) or never does. */
static fz_trainer *trainer(fz_model *m, size_t batch, fz_sgd opt, bool fold)
{
    /* =1: at these small batches too, below the default's FOLD_MIN_BATCH. */
    setenv("FREEZEBENCH_FUSED_UPDATE", fold ? "1" : "0", 1);
    fz_trainer *t = fz_trainer_create(m, batch, opt);
    unsetenv("FREEZEBENCH_FUSED_UPDATE");
    assert_non_null(t);
    return t;
}

static void assert_same_parameters(fz_model *a, fz_model *b, const char *what)
{
    for (size_t i = 0; i < fz_param_count(a); i++) {
        size_t n;
        const char *name = fz_param_name(a, i);
        const float *pa = fz_param_data(a, name, &n), *pb = fz_param_data(b, name, &n);
        if (memcmp(pa, pb, n * sizeof(float)) != 0)
            fail_msg("%s: %s differs between the folded and the separate update", what,
                     name);
    }
}

/* Two models of the same seed, frozen alike (spec NULL: nothing frozen). */
static void twin_models(const net_case *nc, const char *spec, fz_model **a, fz_model **b)
{
    *a = fz_mlp_create(nc->widths, nc->n_widths, 7);
    *b = fz_mlp_create(nc->widths, nc->n_widths, 7);
    assert_true(*a && *b);
    if (spec) {
        assert_int_equal(fz_freeze(*a, spec), FZ_OK);
        assert_int_equal(fz_freeze(*b, spec), FZ_OK);
    }
}

static void folded_update_trains_as_the_separate_pass(void **state)
{
    isa_use_or_skip(state);
    for (size_t c = 0; c < sizeof nets / sizeof *nets; c++)
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++)
    for (size_t o = 0; o < sizeof opts / sizeof *opts; o++)
    for (size_t th = 0; th < sizeof thread_counts / sizeof *thread_counts; th++) {
        const net_case *nc = &nets[c];
        /* The 3-layer spec fits only the deeper nets. */
        if (nc->n_widths < 4 && specs[s].spec && strstr(specs[s].spec, "fc2.*"))
            continue;
        fz_set_threads(thread_counts[th]);
        fz_model *ma, *mb;
        twin_models(nc, specs[s].spec, &ma, &mb);
        fz_trainer *ta = trainer(ma, nc->batch, opts[o], true);
        fz_trainer *tb = trainer(mb, nc->batch, opts[o], false);
        size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
        float *x = random_floats(nc->batch * in, 3), *y = random_floats(nc->batch * out, 4);
        assert_true(x && y);
        char what[128];
        snprintf(what, sizeof what, "net %zu, spec %s, opt %zu, %d threads", c,
                 specs[s].spec ? specs[s].spec : "none", o, thread_counts[th]);
        for (int step = 0; step < STEPS; step++) {
            assert_int_equal(fz_train_step(ta, x, y, NULL), FZ_OK);
            assert_int_equal(fz_train_step(tb, x, y, NULL), FZ_OK);
            assert_same_parameters(ma, mb, what);
        }
        /* Folded exactly where the bound can be taken at all (UPDATE_BOUND_MIN_FLOATS)
         * and a weight is trained; never in the twin.  Checked only where too small to
         * bound (the small update's path). */
        bool boundable = fz_trainable_elements(ma) >= 256;
        bool foldable = boundable && specs[s].trains_a_weight;
        if (trainer_fused_updates(ta) != (foldable ? STEPS : 0))
            fail_msg("%s: %llu folded steps", what,
                     (unsigned long long)trainer_fused_updates(ta));
        assert_int_equal(trainer_fused_updates(tb), 0);
        assert_int_equal(trainer_checked_updates(ta), boundable ? 0 : STEPS);
        /* fz_update_last: folded, every trained weight's floats; the rest in the
         * optimizer phase. */
        uint64_t weights = 0;
        for (size_t i = 0; i < fz_param_count(ma); i++) {
            const char *name = fz_param_name(ma, i);
            size_t n;
            fz_param_data(ma, name, &n);
            if (fz_requires_grad(ma, name) && strstr(name, ".weight"))
                weights += n;
        }
        fz_update_split ua = fz_update_last(ta), ub = fz_update_last(tb);
        assert_int_equal(ua.folded_floats, foldable ? weights : 0);
        assert_int_equal(ua.optimizer_floats + ua.folded_floats, fz_trainable_elements(ma));
        assert_int_equal(ub.folded_floats, 0);
        assert_int_equal(ub.optimizer_floats, fz_trainable_elements(mb));
        free(x);
        free(y);
        fz_trainer_free(ta);
        fz_trainer_free(tb);
        fz_model_free(ma);
        fz_model_free(mb);
    }
}

/* The model's values, concatenated (the caller frees them). */
static float *values_of(fz_model *m, size_t *total)
{
    size_t n;
    *total = 0;
    for (size_t i = 0; i < fz_param_count(m); i++) {
        fz_param_data(m, fz_param_name(m, i), &n);
        *total += n;
    }
    float *v = malloc(*total * sizeof *v), *at = v;
    assert_non_null(v);
    for (size_t i = 0; i < fz_param_count(m); i++) {
        const float *p = fz_param_data(m, fz_param_name(m, i), &n);
        memcpy(at, p, n * sizeof *p);
        at += n;
    }
    return v;
}

/* A step whose update would overflow: after folded steps, a target so far off that
 * the rate times the gradient passes FLT_MAX.  The bound refuses to fold it, the
 * checked update finds the infinity and puts everything back; the steps after it fold
 * again and match a twin that never saw the bad step (the momentum undone too). */
static void overflowing_step_is_not_folded_and_is_undone(void **state)
{
    isa_use_or_skip(state);
    const net_case *nc = &nets[2];
    for (size_t th = 0; th < sizeof thread_counts / sizeof *thread_counts; th++) {
        fz_set_threads(thread_counts[th]);
        fz_sgd opt = { .lr = 1e20f, .momentum = 0.9f, .weight_decay = 1e-21f };
        fz_model *m, *twin;
        twin_models(nc, NULL, &m, &twin);
        fz_trainer *t = trainer(m, nc->batch, opt, true);
        fz_trainer *tt = trainer(twin, nc->batch, opt, true);
        size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
        float *x = random_floats(nc->batch * in, 11);
        float *y = malloc(nc->batch * out * sizeof(float));
        float *huge = malloc(nc->batch * out * sizeof(float));
        assert_true(x && y && huge);
        for (size_t i = 0; i < nc->batch * out; i++)
            huge[i] = 1.5e19f;   /* a finite loss, an update past FLT_MAX */
        /* y = model(x): a zero loss gradient, so only the decay moves the weights. */
        assert_int_equal(fz_forward(m, nc->batch, x, y), FZ_OK);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
        assert_int_equal(trainer_fused_updates(t), 1);

        size_t total;
        float *before = values_of(m, &total);
        assert_int_equal(fz_train_step(t, x, huge, NULL), FZ_ENONFINITE);
        assert_non_null(strstr(fz_last_error(), "step 2: the update made"));
        float *after = values_of(m, &total);
        assert_memory_equal(after, before, total * sizeof(float));
        assert_int_equal(trainer_fused_updates(t), 1);
        assert_int_equal(trainer_checked_updates(t), 1);

        assert_int_equal(fz_forward(m, nc->batch, x, y), FZ_OK);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
        assert_int_equal(trainer_fused_updates(t), 2);
        assert_same_parameters(m, twin, "after the undone step");
        free(before);
        free(after);
        free(x);
        free(y);
        free(huge);
        fz_trainer_free(t);
        fz_trainer_free(tt);
        fz_model_free(m);
        fz_model_free(twin);
    }
}

/* A weight written between steps (through fz_param_data, so its tracked max is stale)
 * to 3e38, in a column the inputs never reach (feature 0 is zero), with lr·wd = 3 so
 * its own decay overflows: the bound scans it, refuses to fold, and the checked update
 * names the weight it made infinite and leaves every parameter as before. */
static void weight_written_between_steps_is_scanned_and_not_folded(void **state)
{
    isa_use_or_skip(state);
    const net_case *nc = &nets[2];
    fz_sgd opt = { .lr = 1.0f, .momentum = 0.5f, .weight_decay = 3.0f };
    fz_model *m = fz_mlp_create(nc->widths, nc->n_widths, 9);
    assert_non_null(m);
    fz_trainer *t = trainer(m, nc->batch, opt, true);
    size_t in = nc->widths[0], out = nc->widths[nc->n_widths - 1];
    float *x = random_floats(nc->batch * in, 5), *y = random_floats(nc->batch * out, 6);
    assert_true(x && y);
    for (size_t b = 0; b < nc->batch; b++)
        x[b * in] = 0.0f;
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    assert_int_equal(trainer_fused_updates(t), 1);

    fz_param_data(m, "fc1.weight", NULL)[0] = 3e38f;
    size_t total;
    float *before = values_of(m, &total);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
    assert_non_null(strstr(fz_last_error(), "the update made parameter fc1.weight[0]"));
    float *after = values_of(m, &total);
    assert_memory_equal(after, before, total * sizeof(float));
    assert_int_equal(trainer_fused_updates(t), 1);
    assert_int_equal(trainer_checked_updates(t), 1);
    free(before);
    free(after);
    free(x);
    free(y);
    fz_trainer_free(t);
    fz_model_free(m);
}

/* Without FREEZEBENCH_FUSED_UPDATE the update is folded from FOLD_MIN_BATCH (64) rows
 * up, where the wgrad's tiles hide the hook's traffic, and not below. */
static void default_folds_from_64_rows(void **state)
{
    isa_use_or_skip(state);
    const size_t widths[] = { 12, 33, 17, 3 };
    const size_t batches[] = { 63, 64 };
    for (int b = 0; b < 2; b++) {
        fz_model *m = fz_mlp_create(widths, 4, 7);
        assert_non_null(m);
        unsetenv("FREEZEBENCH_FUSED_UPDATE");
        fz_trainer *t = fz_trainer_create(m, batches[b], opts[2]);
        assert_non_null(t);
        float *x = random_floats(batches[b] * 12, 3), *y = random_floats(batches[b] * 3, 4);
        assert_true(x && y);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(trainer_fused_updates(t), b);
        free(x);
        free(y);
        fz_trainer_free(t);
        fz_model_free(m);
    }
}

#define ISA_TEST_R(isa, f) ISA_TEST_WITH(isa, f, isa_restore)
#define ISA_TESTS(isa)                                                  \
    ISA_TEST_R(isa, folded_update_trains_as_the_separate_pass),           \
    ISA_TEST_R(isa, overflowing_step_is_not_folded_and_is_undone),        \
    ISA_TEST_R(isa, weight_written_between_steps_is_scanned_and_not_folded), \
    ISA_TEST_R(isa, default_folds_from_64_rows)

int main(void)
{
    const struct CMUnitTest tests[] = { ISA_TESTS("scalar"), ISA_TESTS("avx2"),
                                        ISA_TESTS("avx512"), ISA_TESTS("neon") };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

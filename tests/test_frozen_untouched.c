/*
 * Frozen means untouched, and freezing changes nothing else.
 *
 * 50 steps of SGD with momentum 0.9 and weight decay 0.01 (the two ways an optimizer can
 * move a tensor that gets no gradient) for several specs:
 *   - every frozen tensor is bit-identical to its initial value;
 *   - every trainable tensor is bit-identical to a run of the library with NOTHING frozen
 *     in which the test undoes the update of the would-be-frozen tensors by hand after
 *     each step (copies their initial values back).  Both runs see the same parameters at
 *     every step, so the trainable tensors' gradients come from the same kernel calls on
 *     the same data: any difference means the plan skipped or corrupted work the
 *     trainable tensors depend on (a missing dX, a stale activation, a wrong ReLU mask,
 *     optimizer state leaking between tensors).
 *   - both runs could share a bug (the same wrong gradient), so the trainable tensors are
 *     also compared with an independent reference trainer written here in double
 *     precision, which skips the frozen tensors by hand (no gradient, no momentum, no
 *     decay for them) and implements torch.optim.SGD's update from its documentation.
 *     Float and double drift apart by rounding only; the tolerance is stated below.
 *   - specs that name the same tensors in different words (prefix:1 and
 *     "fc1.weight,fc1.bias") give bit-identical runs.
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

static const size_t widths[] = { 6, 8, 7, 5, 3 };
enum { LAYERS = 4, TENSORS = 2 * LAYERS, BATCH = 8, IN = 6, OUT = 3, MAXW = 8, STEPS = 50,
       DATA_BATCHES = 5 };
static const fz_sgd sgd = { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f };

static const char *const specs[] = {
    "prefix:1", "prefix:3", "fc2.*", "fc2.weight", "bitfit", "last", "fc1.bias,fc3.weight",
};

/* A few fixed batches, cycled through, so the steps see different data. */
typedef struct { float x[DATA_BATCHES][BATCH * IN], y[DATA_BATCHES][BATCH * OUT]; } dataset;

static void make_data(dataset *d)
{
    for (int b = 0; b < DATA_BATCHES; b++) {
        fill_uniform(d->x[b], BATCH * IN, 100 + b, -1.0f, 1.0f);
        fill_uniform(d->y[b], BATCH * OUT, 200 + b, -1.0f, 1.0f);
    }
}

static fz_model *new_model(void) { return fz_mlp_create(widths, LAYERS + 1, 77); }

/* Trains `m` (flags as they are) for STEPS steps. */
static void train(fz_model *m, const dataset *d)
{
    fz_trainer *t = fz_trainer_create(m, BATCH, sgd);
    assert_non_null(t);
    for (int s = 0; s < STEPS; s++)
        assert_int_equal(fz_train_step(t, d->x[s % DATA_BATCHES], d->y[s % DATA_BATCHES],
                                       NULL), FZ_OK);
    fz_trainer_free(t);
}

static void frozen_tensors_bit_identical_after_50_steps_with_momentum_and_decay(void **state)
{
    (void)state;
    dataset d;
    make_data(&d);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fz_model *m = new_model();
        assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
        model_snapshot init = snapshot_take(m);
        train(m, &d);
        size_t frozen = 0;
        for (size_t i = 0; i < TENSORS; i++) {
            bool same = snapshot_tensor_same(&init, m, i);
            if (!init.requires_grad[i] && !same)
                fail_msg("spec '%s': frozen %s moved", specs[s], fz_param_name(m, i));
            /* The opposite direction keeps the check honest: training did happen. */
            if (init.requires_grad[i] && same)
                fail_msg("spec '%s': trainable %s never moved", specs[s], fz_param_name(m, i));
            frozen += !init.requires_grad[i];
        }
        assert_true(frozen > 0);
        snapshot_free(&init);
        fz_model_free(m);
    }
}

static void trainable_tensors_match_a_run_that_undoes_frozen_updates_by_hand(void **state)
{
    (void)state;
    dataset d;
    make_data(&d);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fz_model *frozen = new_model(), *by_hand = new_model();
        assert_int_equal(fz_freeze(frozen, specs[s]), FZ_OK);
        model_snapshot init = snapshot_take(frozen);

        fz_trainer *t = fz_trainer_create(by_hand, BATCH, sgd);
        for (int step = 0; step < STEPS; step++) {
            assert_int_equal(fz_train_step(t, d.x[step % DATA_BATCHES],
                                           d.y[step % DATA_BATCHES], NULL), FZ_OK);
            for (size_t i = 0; i < TENSORS; i++) {
                if (init.requires_grad[i])
                    continue;
                float *p = fz_param_data(by_hand, fz_param_name(by_hand, i), NULL);
                memcpy(p, init.data[i], init.numel[i] * sizeof(float));
            }
        }
        fz_trainer_free(t);
        train(frozen, &d);

        for (size_t i = 0; i < TENSORS; i++) {
            size_t n;
            const char *name = fz_param_name(frozen, i);
            const float *a = fz_param_data(frozen, name, &n);
            const float *b = fz_param_data(by_hand, name, NULL);
            if (memcmp(a, b, n * sizeof(float)))
                fail_msg("spec '%s': %s differs from the run frozen by hand", specs[s], name);
        }
        snapshot_free(&init);
        fz_model_free(frozen);
        fz_model_free(by_hand);
    }
}

/* ---- the double-precision reference trainer ------------------------------------- */

typedef struct {
    double *p[TENSORS], *mom[TENSORS], *grad[TENSORS];
    size_t numel[TENSORS];
    bool trainable[TENSORS];
} ref_net;

static ref_net ref_from_model(fz_model *m)
{
    ref_net r;
    for (size_t i = 0; i < TENSORS; i++) {
        const char *name = fz_param_name(m, i);
        const float *p = fz_param_data(m, name, &r.numel[i]);
        r.p[i] = malloc(r.numel[i] * sizeof(double));
        r.mom[i] = calloc(r.numel[i], sizeof(double));
        r.grad[i] = malloc(r.numel[i] * sizeof(double));
        for (size_t j = 0; j < r.numel[i]; j++)
            r.p[i][j] = p[j];
        r.trainable[i] = fz_requires_grad(m, name);
    }
    return r;
}

static void ref_free(ref_net *r)
{
    for (size_t i = 0; i < TENSORS; i++) {
        free(r->p[i]);
        free(r->mom[i]);
        free(r->grad[i]);
    }
}

/* One step: forward keeping every layer's input, MSE, full backward, then SGD on the
 * trainable tensors only. */
static void ref_step(ref_net *r, const float *x, const float *y)
{
    double act[LAYERS + 1][BATCH][MAXW]; /* act[l] = input of layer l; act[L] = output */
    for (size_t s = 0; s < BATCH; s++)
        for (size_t i = 0; i < IN; i++)
            act[0][s][i] = x[s * IN + i];
    for (size_t l = 0; l < LAYERS; l++) {
        size_t I = widths[l], O = widths[l + 1];
        const double *W = r->p[2 * l], *b = r->p[2 * l + 1];
        for (size_t s = 0; s < BATCH; s++) {
            for (size_t o = 0; o < O; o++) {
                double z = b[o];
                for (size_t i = 0; i < I; i++)
                    z += W[o * I + i] * act[l][s][i];
                act[l + 1][s][o] = l + 1 < LAYERS && z < 0 ? 0 : z;
            }
        }
    }

    double dy[BATCH][MAXW], dx[BATCH][MAXW];
    for (size_t s = 0; s < BATCH; s++)
        for (size_t o = 0; o < OUT; o++)
            dy[s][o] = 2.0 * (act[LAYERS][s][o] - y[s * OUT + o]) / (BATCH * OUT);
    for (size_t l = LAYERS; l-- > 0;) {
        size_t I = widths[l], O = widths[l + 1];
        double *gW = r->grad[2 * l], *gb = r->grad[2 * l + 1];
        const double *W = r->p[2 * l];
        for (size_t o = 0; o < O; o++) {
            gb[o] = 0;
            for (size_t i = 0; i < I; i++)
                gW[o * I + i] = 0;
            for (size_t s = 0; s < BATCH; s++) {
                gb[o] += dy[s][o];
                for (size_t i = 0; i < I; i++)
                    gW[o * I + i] += dy[s][o] * act[l][s][i];
            }
        }
        for (size_t s = 0; s < BATCH; s++) {
            for (size_t i = 0; i < I; i++) {
                double g = 0;
                for (size_t o = 0; o < O; o++)
                    g += dy[s][o] * W[o * I + i];
                dx[s][i] = act[l][s][i] > 0 ? g : 0;   /* ReLU below: its output > 0 */
            }
        }
        memcpy(dy, dx, sizeof dy);
    }

    /* torch.optim.SGD: g += wd·p; buf = momentum·buf + g (buf = g at first); p -= lr·buf */
    for (size_t i = 0; i < TENSORS; i++) {
        if (!r->trainable[i])
            continue;
        for (size_t j = 0; j < r->numel[i]; j++) {
            double g = r->grad[i][j] + (double)sgd.weight_decay * r->p[i][j];
            r->mom[i][j] = (double)sgd.momentum * r->mom[i][j] + g;
            r->p[i][j] -= (double)sgd.lr * r->mom[i][j];
        }
    }
}

/* After 50 steps float and double differ by accumulated rounding only: 1.3e-7 at most
 * with the scalar kernels (parameters of size ~0.5).  1e-5 leaves two orders of magnitude
 * for other summation orders (FMA, blocked sums), while a wrong optimizer formula (decay
 * applied after momentum or scaled, dampening, Nesterov, a momentum buffer shared between
 * tensors) shifts parameters by 1e-3 or more within 50 steps. */
#define REF_TOLERANCE 1e-5

static void trainable_tensors_match_a_double_reference_that_skips_frozen_ones(void **state)
{
    (void)state;
    dataset d;
    make_data(&d);
    for (size_t s = 0; s < sizeof specs / sizeof *specs + 1; s++) {
        const char *spec = s < sizeof specs / sizeof *specs ? specs[s] : "none";
        fz_model *m = new_model();
        assert_int_equal(fz_freeze(m, spec), FZ_OK);
        ref_net r = ref_from_model(m);
        for (int step = 0; step < STEPS; step++)
            ref_step(&r, d.x[step % DATA_BATCHES], d.y[step % DATA_BATCHES]);
        train(m, &d);

        for (size_t i = 0; i < TENSORS; i++) {
            const char *name = fz_param_name(m, i);
            const float *p = fz_param_data(m, name, NULL);
            for (size_t j = 0; j < r.numel[i]; j++)
                if (fabs((double)p[j] - r.p[i][j]) > REF_TOLERANCE)
                    fail_msg("spec '%s': %s[%zu] is %.9g after %d steps, the double "
                             "reference %.9g", spec, name, j, (double)p[j], STEPS, r.p[i][j]);
        }
        ref_free(&r);
        fz_model_free(m);
    }
}

static void specs_naming_the_same_tensors_train_identically(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        { "prefix:1", "fc1.weight,fc1.bias" },
        { "bitfit", "*.weight" },
        { "last", "fc1.*, fc2.*, fc3.*" },
        { "prefix:2", "fc[12].*" },
    };
    dataset d;
    make_data(&d);
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
        fz_model *a = new_model(), *b = new_model();
        assert_int_equal(fz_freeze(a, pairs[p][0]), FZ_OK);
        assert_int_equal(fz_freeze(b, pairs[p][1]), FZ_OK);
        train(a, &d);
        train(b, &d);
        model_snapshot sa = snapshot_take(a);
        if (!snapshot_model_same(&sa, b))
            fail_msg("'%s' and '%s' trained differently", pairs[p][0], pairs[p][1]);
        snapshot_free(&sa);
        fz_model_free(a);
        fz_model_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_tensors_bit_identical_after_50_steps_with_momentum_and_decay),
        cmocka_unit_test(trainable_tensors_match_a_run_that_undoes_frozen_updates_by_hand),
        cmocka_unit_test(trainable_tensors_match_a_double_reference_that_skips_frozen_ones),
        cmocka_unit_test(specs_naming_the_same_tensors_train_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Cross-entropy training and evaluation (fz_train_step_labels, fz_evaluate) against a
 * double-precision reference written here: forward, log-softmax and NLL mean, the way
 * nn.CrossEntropyLoss defines them.
 *
 * Gradients are not exposed, so they are read off one SGD step with lr = 1, momentum 0,
 * weight decay 0:  p_after = fl(p_before - g), so g = p_before - p_after up to one
 * rounding of p_after, |error| <= 2^-24·max(|p|, |g|) ≈ 6e-8 here (|p| < 0.5, |g| < 1);
 * the subtraction of two floats is exact in double.
 *
 * Tolerance of a gradient: 1e-5 + 1e-4·|g|.  The library works in float: a gradient is a
 * sum of at most ~50 products of values below 2 (softmax − one-hot is below 1, divided
 * by the batch), rounding error below 50·2·2^-24 ≈ 6e-6; central differences with
 * h = 1e-6 in double are good to ~1e-9.  A wrong term costs far more: a missing 1/B
 * multiplies every gradient by 6, a one-hot subtracted at the wrong class or not at all
 * moves gradients by O(0.1).
 *
 * ReLU kinks: finite differences across one are meaningless, so the inputs are chosen (by
 * seed, checked) such that no pre-activation lies within 1e-3 of zero.
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
#include "gradcheck_testutil.h"
#include "freezebench.h"

static const size_t widths[] = { 5, 7, 4 };
enum { LAYERS = 2, BATCH = 6, IN = 5, OUT = 4 };
/* Every class appears, one of them twice and another three times. */
static const int32_t labels[BATCH] = { 0, 1, 2, 3, 1, 1 };

#define KINK_MARGIN 1e-3

/* ---- the reference ---------------------------------------------------------------- */

/* Mean over rows of -log softmax(z)[label], computed stably: log Σ exp(z - max) −
 * (z[label] − max), in double. */
static double xent_double(const double *z, const int32_t *lab, size_t rows, size_t classes)
{
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const double *v = z + r * classes;
        double max = v[0];
        for (size_t j = 1; j < classes; j++)
            max = fmax(max, v[j]);
        double sum = 0;
        for (size_t j = 0; j < classes; j++)
            sum += exp(v[j] - max);
        total += log(sum) - (v[lab[r]] - max);
    }
    return total / (double)rows;
}

/* The same of float logits. */
static double xent_of_floats(const float *z, const int32_t *lab, size_t rows, size_t classes)
{
    double *d = malloc(rows * classes * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < rows * classes; i++)
        d[i] = z[i];
    double l = xent_double(d, lab, rows, classes);
    free(d);
    return l;
}

/* Cross-entropy of the double network on the inputs ctx (the labels above). */
static double loss_double(const dnet *n, const void *ctx)
{
    double logits[BATCH * OUT];
    dnet_forward(n, ctx, BATCH, logits, NULL);
    return xent_double(logits, labels, BATCH, OUT);
}

/* Inputs for which every pre-activation keeps KINK_MARGIN from 0. */
static void data_away_from_kinks(const dnet *n, float *x)
{
    for (uint64_t seed = 1; seed < 1000; seed++) {
        fill_uniform(x, BATCH * IN, seed, -2.0f, 2.0f);
        double logits[BATCH * OUT], min_pre;
        dnet_forward(n, x, BATCH, logits, &min_pre);
        if (min_pre > KINK_MARGIN)
            return;
    }
    fail_msg("no data within 1000 seeds keeps every pre-activation away from ReLU kinks");
}

static fz_model *model(uint64_t seed)
{
    fz_model *m = fz_mlp_create(widths, LAYERS + 1, seed);
    assert_non_null(m);
    return m;
}

static fz_trainer *xent_sgd(fz_model *m, fz_sgd sgd)
{
    fz_train_opts o = { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = FZ_OPTIM_SGD, .sgd = sgd };
    fz_trainer *t = fz_trainer_create_opts(m, BATCH, &o);
    assert_non_null(t);
    return t;
}

/* ---- gradients and the loss --------------------------------------------------------- */

static void check_gradients(const char *spec)
{
    fz_model *m = model(77);
    assert_int_equal(fz_freeze(m, spec), FZ_OK);
    dnet n = dnet_from_model(m, widths, LAYERS);
    float x[BATCH * IN];
    data_away_from_kinks(&n, x);

    model_snapshot before = snapshot_take(m);
    fz_trainer *t = xent_sgd(m, (fz_sgd){ .lr = 1.0f });
    float loss = NAN;
    assert_int_equal(fz_train_step_labels(t, x, labels, &loss), FZ_OK);
    double loss_ref = loss_double(&n, x);
    if (!(fabs(loss - loss_ref) <= 1e-6 * fabs(loss_ref)))
        fail_msg("spec '%s': loss %.9g, reference %.9g", spec, (double)loss, loss_ref);

    gradcheck_after_step(m, &before, &n, loss_double, x, spec);
    snapshot_free(&before);
    fz_trainer_free(t);
    dnet_free(&n);
    fz_model_free(m);
}

static void cross_entropy_gradients_match_finite_differences(void **state)
{
    (void)state;
    check_gradients("none");
}

static void cross_entropy_gradients_under_a_frozen_head_match_finite_differences(void **state)
{
    (void)state;
    /* fc1 learns only through the softmax gradient passed down by a frozen fc2. */
    check_gradients("fc2.*");
}

/* Scales the last layer's weight, so the logits grow about `scale` times (its bias,
 * below 0.5, stays as it was, so that its gradient can be read off a step). */
static void scale_head(fz_model *m, float scale)
{
    size_t n;
    float *W = fz_param_data(m, "fc2.weight", &n);
    for (size_t i = 0; i < n; i++)
        W[i] *= scale;
}

/* Logits of magnitude ~1e4 and ~1e30: exp of any of them overflows, so only a loss that
 * subtracts each row's max stays finite.  The loss must equal the stable reference on
 * the logits the model computes (those of fz_forward), every parameter must stay finite,
 * and the bias gradient of the head (its rows' softmax − one-hot, averaged; the bias
 * trains at lr 1 while the huge weight is frozen) must be the reference's. */
static void huge_logits_give_a_finite_loss_and_gradient(void **state)
{
    (void)state;
    const float scales[] = { 3e4f, 1e30f };
    for (size_t c = 0; c < sizeof scales / sizeof *scales; c++) {
        fz_model *m = model(5);
        scale_head(m, scales[c]);
        float x[BATCH * IN], z[BATCH * OUT];
        fill_uniform(x, BATCH * IN, 11, -2.0f, 2.0f);
        assert_int_equal(fz_forward(m, BATCH, x, z), FZ_OK);
        float zmax = 0;
        for (size_t i = 0; i < BATCH * OUT; i++) {
            assert_true(isfinite(z[i]));
            zmax = fmaxf(zmax, fabsf(z[i]));
        }
        assert_true(zmax > scales[c] * 0.1f);   /* the logits really are huge */
        double ref = xent_of_floats(z, labels, BATCH, OUT);
        assert_true(isfinite(ref) && ref > 0);

        /* softmax − one-hot, averaged over the batch, in double: the head bias's
         * gradient. */
        double db[OUT] = {0};
        for (size_t r = 0; r < BATCH; r++) {
            const float *v = z + r * OUT;
            double max = v[0], sum = 0;
            for (size_t j = 1; j < OUT; j++)
                max = fmax(max, v[j]);
            for (size_t j = 0; j < OUT; j++)
                sum += exp((double)v[j] - max);
            for (size_t j = 0; j < OUT; j++)
                db[j] += (exp((double)v[j] - max) / sum - (j == (size_t)labels[r])) / BATCH;
        }

        assert_int_equal(fz_freeze(m, "fc2.weight"), FZ_OK);
        size_t nb;
        float b_before[OUT];
        memcpy(b_before, fz_param_data(m, "fc2.bias", &nb), sizeof b_before);
        fz_trainer *t = xent_sgd(m, (fz_sgd){ .lr = 1.0f });
        float loss = NAN;
        assert_int_equal(fz_train_step_labels(t, x, labels, &loss), FZ_OK);
        if (!(isfinite(loss) && fabs(loss - ref) <= 1e-6 * ref))
            fail_msg("logits ~%g: loss %.9g, stable reference %.9g", (double)scales[c],
                     (double)loss, ref);
        for (size_t i = 0; i < fz_param_count(m); i++) {
            size_t n;
            const float *p = fz_param_data(m, fz_param_name(m, i), &n);
            for (size_t j = 0; j < n; j++)
                if (!isfinite(p[j]))
                    fail_msg("logits ~%g: %s[%zu] is %g after the step", (double)scales[c],
                             fz_param_name(m, i), j, (double)p[j]);
        }
        const float *b = fz_param_data(m, "fc2.bias", &nb);
        /* As in the gradient check: g = b_before − b_after up to a rounding of b. */
        for (size_t j = 0; j < OUT; j++) {
            double g = (double)b_before[j] - (double)b[j];
            double tol = 1e-6;
            if (!(fabs(g - db[j]) <= tol))
                fail_msg("logits ~%g: d loss / d fc2.bias[%zu]: library %.9g, reference %.9g",
                         (double)scales[c], j, g, db[j]);
        }
        fz_trainer_free(t);
        fz_model_free(m);
    }
}

/* On a network large enough (56K parameters) for SGD's update to be folded into the
 * backward's wgrad GEMMs (its bound taken from the softmax gradient), five steps train
 * bitwise as with the fold turned off (FREEZEBENCH_FUSED_UPDATE=1 and 0 at creation). */
static void folded_update_trains_cross_entropy_bitwise_as_the_unfolded(void **state)
{
    (void)state;
    const size_t w[] = { 64, 300, 120, 10 };
    enum { B = 16, STEPS = 5 };
    fz_model *m[2];
    fz_trainer *t[2];
    for (int k = 0; k < 2; k++) {
        m[k] = fz_mlp_create(w, 4, 5);
        assert_non_null(m[k]);
        assert_int_equal(fz_freeze(m[k], "fc1.bias"), FZ_OK);
        /* =1 folds at this batch of 16, below the default's minimum. */
        setenv("FREEZEBENCH_FUSED_UPDATE", k == 1 ? "0" : "1", 1);
        fz_train_opts o = { .loss = FZ_LOSS_CROSS_ENTROPY,
                            .sgd = { .lr = 0.05f, .momentum = 0.9f } };
        t[k] = fz_trainer_create_opts(m[k], B, &o);
        unsetenv("FREEZEBENCH_FUSED_UPDATE");
        assert_non_null(t[k]);
    }
    float x[B * 64];
    int32_t lab[B];
    for (int s = 0; s < STEPS; s++) {
        fill_uniform(x, B * 64, 40 + (uint64_t)s, -1.0f, 1.0f);
        for (int i = 0; i < B; i++)
            lab[i] = (i * 3 + s) % 10;
        float loss[2];
        for (int k = 0; k < 2; k++)
            assert_int_equal(fz_train_step_labels(t[k], x, lab, &loss[k]), FZ_OK);
        assert_true(loss[0] == loss[1]);
        assert_true(fz_update_last(t[0]).folded_floats > 0);
        assert_int_equal(fz_update_last(t[1]).folded_floats, 0);
        const char *differs = first_differing_param(m[0], m[1]);
        if (differs)
            fail_msg("step %d: %s differs between the folded and the unfolded update", s + 1,
                     differs);
    }
    for (int k = 0; k < 2; k++) {
        fz_trainer_free(t[k]);
        fz_model_free(m[k]);
    }
}

/* ---- refusals ---------------------------------------------------------------------- */

/* A refused step: FZ_EINVAL, a message containing `says`, the model bit for bit as it
 * was, and no step counted. */
static void assert_refused_step(fz_status st, fz_trainer *t, const model_snapshot *s,
                                fz_model *m, const char *says)
{
    assert_int_equal(st, FZ_EINVAL);
    if (!strstr(fz_last_error(), says))
        fail_msg("message '%s' does not say '%s'", fz_last_error(), says);
    assert_true(snapshot_model_same(s, m));
    assert_int_equal(fz_trainer_steps(t), 0);
}

static void labels_out_of_range_or_missing_are_refused_and_nothing_moves(void **state)
{
    (void)state;
    fz_model *m = model(3);
    fz_trainer *t = xent_sgd(m, (fz_sgd){ .lr = 0.1f, .momentum = 0.9f });
    float x[BATCH * IN], y[BATCH * OUT] = {0};
    fill_uniform(x, BATCH * IN, 1, -1.0f, 1.0f);
    model_snapshot s = snapshot_take(m);
    int32_t bad[BATCH];

    memcpy(bad, labels, sizeof bad);
    bad[4] = -1;
    assert_refused_step(fz_train_step_labels(t, x, bad, NULL), t, &s, m, "label[4] is -1");
    bad[4] = OUT;
    assert_refused_step(fz_train_step_labels(t, x, bad, NULL), t, &s, m, "label[4] is 4");
    bad[4] = INT32_MAX;
    assert_refused_step(fz_train_step_labels(t, x, bad, NULL), t, &s, m, "label[4]");
    assert_refused_step(fz_train_step_labels(t, x, NULL, NULL), t, &s, m, "labels is NULL");
    /* A cross-entropy trainer does not take float targets. */
    assert_refused_step(fz_train_step(t, x, y, NULL), t, &s, m, "cross-entropy");

    /* And the trainer still trains afterwards. */
    assert_int_equal(fz_train_step_labels(t, x, labels, NULL), FZ_OK);
    assert_false(snapshot_model_same(&s, m));
    snapshot_free(&s);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void mse_trainer_refuses_labels_and_nothing_moves(void **state)
{
    (void)state;
    fz_model *m = model(3);
    fz_trainer *t = fz_trainer_create(m, BATCH, (fz_sgd){ .lr = 0.1f });
    assert_non_null(t);
    float x[BATCH * IN];
    fill_uniform(x, BATCH * IN, 1, -1.0f, 1.0f);
    model_snapshot s = snapshot_take(m);
    assert_refused_step(fz_train_step_labels(t, x, labels, NULL), t, &s, m, "MSE");
    snapshot_free(&s);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void create_refuses_one_output_and_bad_enums(void **state)
{
    (void)state;
    const size_t w1[] = { 3, 1 };
    fz_model *one = fz_mlp_create(w1, 2, 1);
    assert_non_null(one);
    fz_train_opts o = { .loss = FZ_LOSS_CROSS_ENTROPY, .sgd = { .lr = 0.1f } };
    assert_null(fz_trainer_create_opts(one, 4, &o));
    assert_non_null(strstr(fz_last_error(), "at least 2 outputs"));
    /* MSE on that model is fine. */
    o.loss = FZ_LOSS_MSE;
    fz_trainer *ok = fz_trainer_create_opts(one, 4, &o);
    assert_non_null(ok);
    fz_trainer_free(ok);
    fz_model_free(one);

    fz_model *m = model(1);
    o = (fz_train_opts){ .loss = (fz_loss)7, .sgd = { .lr = 0.1f } };
    assert_null(fz_trainer_create_opts(m, BATCH, &o));
    assert_non_null(strstr(fz_last_error(), "loss 7"));
    o = (fz_train_opts){ .loss = (fz_loss)-1, .sgd = { .lr = 0.1f } };
    assert_null(fz_trainer_create_opts(m, BATCH, &o));
    assert_non_null(strstr(fz_last_error(), "loss -1"));
    o = (fz_train_opts){ .loss = FZ_LOSS_CROSS_ENTROPY, .optim = (fz_optim)2,
                         .sgd = { .lr = 0.1f } };
    assert_null(fz_trainer_create_opts(m, BATCH, &o));
    assert_non_null(strstr(fz_last_error(), "optimizer 2"));
    assert_null(fz_trainer_create_opts(m, BATCH, NULL));
    assert_non_null(strstr(fz_last_error(), "NULL"));
    fz_model_free(m);
}

/* ---- FLOPs ------------------------------------------------------------------------- */

static void flops_planned_equal_executed_after_a_cross_entropy_step(void **state)
{
    (void)state;
    const fz_train_opts opts[] = {
        { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = FZ_OPTIM_SGD, .sgd = { .lr = 0.1f } },
        { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = FZ_OPTIM_SGD,
          .sgd = { .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-3f } },
        { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = FZ_OPTIM_ADAMW,
          .adamw = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f } },
        { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = FZ_OPTIM_ADAMW,
          .adamw = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f } },
    };
    const char *specs[] = { "none", "fc1.weight", "prefix:1" };
    float x[BATCH * IN];
    fill_uniform(x, BATCH * IN, 9, -1.0f, 1.0f);
    for (size_t c = 0; c < sizeof opts / sizeof *opts; c++) {
        for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
            fz_model *m = model(2);
            assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
            fz_trainer *t = fz_trainer_create_opts(m, BATCH, &opts[c]);
            assert_non_null(t);
            for (int k = 0; k < 2; k++) {
                assert_int_equal(fz_train_step_labels(t, x, labels, NULL), FZ_OK);
                fz_flops p = fz_flops_planned(t), e = fz_flops_executed(t);
                if (p.fwd != e.fwd || p.bwd != e.bwd || p.opt != e.opt)
                    fail_msg("opts %zu, spec '%s': planned %g/%g/%g, executed %g/%g/%g", c,
                             specs[s], p.fwd, p.bwd, p.opt, e.fwd, e.bwd, e.opt);
                /* The cross-entropy's own share (DESIGN.md): 4·classes + 3 a row forward,
                 * 2·classes + 2 backward, on top of the layers'. */
                assert_true(p.fwd >= BATCH * (4.0 * OUT + 3));
                assert_true(p.bwd >= BATCH * (2.0 * OUT + 2));
                assert_true(p.opt > 0);
            }
            fz_trainer_free(t);
            fz_model_free(m);
        }
    }
}

/* ---- fz_evaluate --------------------------------------------------------------------- */

/* A one-layer model 3 -> 3 whose weight is the identity and bias zero: its logits are
 * its inputs, exactly. */
static fz_model *identity_model(void)
{
    const size_t w[] = { 3, 3 };
    fz_model *m = fz_mlp_create(w, 2, 1);
    assert_non_null(m);
    size_t n;
    float *W = fz_param_data(m, "fc1.weight", &n);
    for (size_t i = 0; i < n; i++)
        W[i] = i % 4 == 0 ? 1.0f : 0.0f;
    float *b = fz_param_data(m, "fc1.bias", &n);
    memset(b, 0, n * sizeof *b);
    return m;
}

static void evaluate_counts_accuracy_first_max_winning_ties(void **state)
{
    (void)state;
    fz_model *m = identity_model();
    enum { N = 8 };
    const float x[N * 3] = {
        1, 2, 0,     /* max at 1 */
        3, 3, 1,     /* tie 0 and 1: 0 */
        3, 3, 1,     /* the same */
        0, 0, 0,     /* all tie: 0 */
        0, 0, 0,     /* the same */
        -1, 5, 5,    /* tie 1 and 2: 1 */
        2, -1, 0,    /* max at 0 */
        -4, -3, -2,  /* max at 2 */
    };
    const int32_t lab[N] = { 1, 0, 1, 0, 2, 2, 2, 2 };
    /* Right: rows 0, 1, 3, 7.  Wrong: 2 (tie goes to 0), 4 (to 0), 5 (to 1), 6. */
    fz_eval e = { .loss = -1 };
    assert_int_equal(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, N, x, NULL, lab, &e), FZ_OK);
    assert_int_equal(e.samples, N);
    assert_true(e.accuracy == 4.0 / 8.0);
    double ref = xent_of_floats(x, lab, N, 3);
    if (!(fabs(e.loss - ref) <= 1e-6 * ref))
        fail_msg("loss %.9g, reference %.9g", e.loss, ref);

    /* Each row alone: 1 or 0. */
    for (size_t r = 0; r < N; r++) {
        assert_int_equal(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, 1, x + 3 * r, NULL, lab + r,
                                     &e), FZ_OK);
        bool right = r == 0 || r == 1 || r == 3 || r == 7;
        if (e.accuracy != (right ? 1.0 : 0.0))
            fail_msg("row %zu: accuracy %g", r, e.accuracy);
    }
    fz_model_free(m);
}

/* More samples than one forward batch (the library's are 256 rows): the loss and the
 * accuracy over every sample, against fz_forward's outputs counted here. */
static void evaluate_over_many_batches_matches_the_reference(void **state)
{
    (void)state;
    enum { N = 517 };
    fz_model *m = model(21);
    float *x = malloc(N * IN * sizeof *x), *z = malloc(N * OUT * sizeof *z);
    int32_t *lab = malloc(N * sizeof *lab);
    assert_true(x && z && lab);
    fill_uniform(x, N * IN, 4, -2.0f, 2.0f);
    assert_int_equal(fz_forward(m, N, x, z), FZ_OK);
    size_t right = 0;
    for (size_t r = 0; r < N; r++) {
        lab[r] = (int32_t)((r * 7 + r / 5) % OUT);
        size_t best = 0;
        for (size_t j = 1; j < OUT; j++)
            if (z[r * OUT + j] > z[r * OUT + best])
                best = j;
        right += best == (size_t)lab[r];
    }
    assert_true(right > 0 && right < N);
    fz_eval e;
    assert_int_equal(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, N, x, NULL, lab, &e), FZ_OK);
    assert_int_equal(e.samples, N);
    assert_true(e.accuracy == (double)right / N);
    double ref = xent_of_floats(z, lab, N, OUT);
    if (!(fabs(e.loss - ref) <= 1e-6 * ref))
        fail_msg("loss %.9g, reference %.9g", e.loss, ref);

    /* MSE: the mean of the squared differences over every output, no accuracy. */
    float *y = malloc(N * OUT * sizeof *y);
    assert_non_null(y);
    fill_uniform(y, N * OUT, 8, -1.0f, 1.0f);
    double se = 0;
    for (size_t i = 0; i < N * OUT; i++)
        se += ((double)z[i] - y[i]) * ((double)z[i] - y[i]);
    assert_int_equal(fz_evaluate(m, FZ_LOSS_MSE, N, x, y, NULL, &e), FZ_OK);
    assert_int_equal(e.samples, N);
    assert_true(isnan(e.accuracy));
    if (!(fabs(e.loss - se / (N * OUT)) <= 1e-9 * (se / (N * OUT))))
        fail_msg("MSE %.12g, reference %.12g", e.loss, se / (N * OUT));
    free(y);
    free(x);
    free(z);
    free(lab);
    fz_model_free(m);
}

static void evaluate_refuses_bad_labels_null_and_no_samples(void **state)
{
    (void)state;
    fz_model *m = model(1);
    float x[BATCH * IN], y[BATCH * OUT] = {0};
    fill_uniform(x, BATCH * IN, 1, -1.0f, 1.0f);
    int32_t bad[BATCH];
    const fz_eval untouched = { .loss = 42, .accuracy = 43, .samples = 44 };
    fz_eval e = untouched;
#define REFUSED(call, says)                                                         \
    do {                                                                            \
        e = untouched;                                                              \
        assert_int_equal((call), FZ_EINVAL);                                        \
        if (!strstr(fz_last_error(), (says)))                                       \
            fail_msg("message '%s' does not say '%s'", fz_last_error(), (says));    \
        assert_true(e.loss == 42 && e.accuracy == 43 && e.samples == 44);          \
    } while (0)

    memcpy(bad, labels, sizeof bad);
    bad[2] = -1;
    REFUSED(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, BATCH, x, NULL, bad, &e), "label[2] is -1");
    bad[2] = OUT;
    REFUSED(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, BATCH, x, NULL, bad, &e), "label[2] is 4");
    REFUSED(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, BATCH, x, y, NULL, &e), "labels is NULL");
    REFUSED(fz_evaluate(m, FZ_LOSS_MSE, BATCH, x, NULL, labels, &e), "y is NULL");
    REFUSED(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, BATCH, NULL, NULL, labels, &e), "x is NULL");
    REFUSED(fz_evaluate(NULL, FZ_LOSS_CROSS_ENTROPY, BATCH, x, NULL, labels, &e),
            "model is NULL");
    assert_int_equal(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, BATCH, x, NULL, labels, NULL),
                     FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "out is NULL"));
    REFUSED(fz_evaluate(m, FZ_LOSS_CROSS_ENTROPY, 0, x, NULL, labels, &e), "n is 0");
    REFUSED(fz_evaluate(m, FZ_LOSS_MSE, 0, x, y, NULL, &e), "n is 0");
    REFUSED(fz_evaluate(m, (fz_loss)9, BATCH, x, y, labels, &e), "loss 9");

    /* A one-output model has no classes to tell apart. */
    const size_t w1[] = { IN, 1 };
    fz_model *one = fz_mlp_create(w1, 2, 1);
    assert_non_null(one);
    const int32_t zeros[BATCH] = {0};
    REFUSED(fz_evaluate(one, FZ_LOSS_CROSS_ENTROPY, BATCH, x, NULL, zeros, &e),
            "at least 2 outputs");
#undef REFUSED
    fz_model_free(one);
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_entropy_gradients_match_finite_differences),
        cmocka_unit_test(cross_entropy_gradients_under_a_frozen_head_match_finite_differences),
        cmocka_unit_test(huge_logits_give_a_finite_loss_and_gradient),
        cmocka_unit_test(folded_update_trains_cross_entropy_bitwise_as_the_unfolded),
        cmocka_unit_test(labels_out_of_range_or_missing_are_refused_and_nothing_moves),
        cmocka_unit_test(mse_trainer_refuses_labels_and_nothing_moves),
        cmocka_unit_test(create_refuses_one_output_and_bad_enums),
        cmocka_unit_test(flops_planned_equal_executed_after_a_cross_entropy_step),
        cmocka_unit_test(evaluate_counts_accuracy_first_max_winning_ties),
        cmocka_unit_test(evaluate_over_many_batches_matches_the_reference),
        cmocka_unit_test(evaluate_refuses_bad_labels_null_and_no_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

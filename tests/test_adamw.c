/*
 * AdamW (fz_trainer_create_opts with FZ_OPTIM_ADAMW) against a reference written here in
 * double, torch.optim.AdamW's formula with amsgrad off:
 *     p *= 1 - lr·wd;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
 *     p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps),
 * with t counted per tensor from its first update, and state (m, v, t) kept while a
 * tensor is frozen.
 *
 * The reference is applied to the gradients the library computes.  They are not exposed,
 * so before every AdamW step a twin of the model (same parameters, same flags) takes one
 * SGD step with lr 1: g = p_before − p_after, up to one rounding of p_after, i.e.
 * |δg| <= 2^-24·max(|p|, |g|) (the subtraction of two floats is exact in double).
 *
 * Tolerance: the reference carries that δg through its m and v as intervals (|δm| and
 * |δv| bounds, step by step), and the update's ratio m̂/(√v̂+eps) is bounded over them;
 * on top, the library's float arithmetic: two roundings of p (the decay and the step,
 * 2^-23·|p| together, doubled) and a few roundings of the ratio (4e-6 of the update).  A
 * dropped bias correction changes the first update by a factor 0.03 to 3, a step count
 * shared between tensors by ~0.64, a state not kept by O(1): all orders of magnitude
 * above this.
 *
 * Each ISA this CPU runs is tested (kernels_override); a missing one is skipped.
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
#include "step.h"
#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"
#include "isa_testutil.h"

enum { FC1_SMALL = 6 * 9 };   /* fc1.weight's elements in the small network */

/* The networks: a small one (every tensor within one chunk of the update, one thread)
 * and one of 56K parameters, whose tensors span several of the update's chunks and whose
 * update is split over two threads. */
typedef struct {
    size_t widths[4], n_widths, batch;
    int threads;
} net_case;

enum { MAX_T = 6, MAX_X = 16 * 64, MAX_Y = 16 * 4 };   /* the largest network's */
static const net_case small_net = { { 6, 9, 3 }, 3, 5, 1 };
static const net_case big_net = { { 64, 300, 120, 4 }, 4, 16, 2 };
static const net_case *net = &small_net;   /* the one in use */

static size_t n_t(void) { return 2 * (net->n_widths - 1); }
static size_t batch(void) { return net->batch; }
static size_t in_w(void) { return net->widths[0]; }
static size_t out_w(void) { return net->widths[net->n_widths - 1]; }

static void use_net(const net_case *c)
{
    net = c;
    fz_set_threads(c->threads);
}

/* ---- kernels ------------------------------------------------------------------------ */

static int restore_kernels(void **state)
{
    use_net(&small_net);
    return isa_restore(state);
}

/* ---- models and data ----------------------------------------------------------------- */

static fz_model *model(uint64_t seed)
{
    fz_model *m = fz_mlp_create(net->widths, net->n_widths, seed);
    assert_non_null(m);
    return m;
}

static fz_trainer *adamw_trainer(fz_model *m, fz_adamw a)
{
    fz_train_opts o = { .loss = FZ_LOSS_MSE, .optim = FZ_OPTIM_ADAMW, .adamw = a };
    fz_trainer *t = fz_trainer_create_opts(m, batch(), &o);
    assert_non_null(t);
    return t;
}

/* Step k's batch: different data every step, so the gradients change from step to step
 * and the moments' history matters. */
static void batch_of(int k, float *x, float *y)
{
    fill_uniform(x, batch() * in_w(), 100 + (uint64_t)k, -1.5f, 1.5f);
    fill_uniform(y, batch() * out_w(), 200 + (uint64_t)k, -1.0f, 1.0f);
}

/* Sets every flag: the spec's tensors frozen, the rest trainable. */
static void set_frozen(fz_model *m, const char *spec)
{
    assert_int_equal(fz_unfreeze(m, "*"), FZ_OK);
    assert_int_equal(fz_freeze(m, spec), FZ_OK);
}

/* The gradient of every trainable tensor of m on (x, y) as the library computes it, read
 * off an SGD step with lr 1 of a twin (NULL for frozen tensors; the caller frees). */
static void library_gradients(fz_model *m, const float *x, const float *y, double *g[MAX_T])
{
    fz_model *twin = model(1);
    copy_params(twin, m);
    for (size_t i = 0; i < n_t(); i++) {
        const char *name = fz_param_name(m, i);
        assert_int_equal(fz_requires_grad(m, name) ? fz_unfreeze(twin, name)
                                                   : fz_freeze(twin, name), FZ_OK);
    }
    fz_trainer *t = fz_trainer_create(twin, batch(), (fz_sgd){ .lr = 1.0f });
    assert_non_null(t);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
    for (size_t i = 0; i < n_t(); i++) {
        g[i] = NULL;
        const char *name = fz_param_name(m, i);
        if (!fz_requires_grad(m, name))
            continue;
        size_t n;
        const float *before = fz_param_data(m, name, &n), *after = fz_param_data(twin, name, &n);
        g[i] = malloc(n * sizeof(double));
        assert_non_null(g[i]);
        for (size_t j = 0; j < n; j++)
            g[i][j] = (double)before[j] - (double)after[j];
    }
    fz_trainer_free(t);
    fz_model_free(twin);
}

/* ---- the reference ---------------------------------------------------------------- */

typedef struct {
    fz_adamw opt;
    size_t numel[MAX_T];
    double *m[MAX_T], *v[MAX_T];    /* NULL until the tensor's first update */
    double *dm[MAX_T], *dv[MAX_T];  /* bounds on |m − m_exact|, |v − v_exact| from δg */
    uint64_t t[MAX_T];
} adam_ref;

static adam_ref ref_new(fz_model *mod, fz_adamw opt)
{
    adam_ref r = { .opt = opt };
    for (size_t i = 0; i < n_t(); i++)
        fz_param_data(mod, fz_param_name(mod, i), &r.numel[i]);
    return r;
}

static void ref_free(adam_ref *r)
{
    for (size_t i = 0; i < n_t(); i++) {
        free(r->m[i]);
        free(r->v[i]);
        free(r->dm[i]);
        free(r->dv[i]);
    }
}

/* The ratio m̂/(√v̂ + eps) of the reference, and a bound on how far the exact-gradient
 * ratio may lie from it (over m ± dm, v ± dv). */
static double ratio(const adam_ref *r, double m, double v, double bc1, double bc2)
{
    return (m / bc1) / (sqrt(v) / sqrt(bc2) + (double)r->opt.eps);
}

static double ratio_spread(const adam_ref *r, double m, double v, double dm, double dv,
                           double bc1, double bc2)
{
    double mid = ratio(r, m, v, bc1, bc2), worst = 0;
    for (int a = -1; a <= 1; a += 2)
        for (int b = -1; b <= 1; b += 2) {
            double vv = fmax(v + b * dv, 0.0);
            worst = fmax(worst, fabs(ratio(r, m + a * dm, vv, bc1, bc2) - mid));
        }
    return worst;
}

/* One AdamW step of the library on (x, y) with the model's current flags, checked
 * against the reference: every trainable tensor within the tolerance, every frozen one
 * bitwise as before.  `moved` (if not NULL) receives fc1.weight's |p_after − p_before|
 * and its |g|, for the callers' own assertions. */
static void step_and_check(fz_trainer *t, fz_model *mod, adam_ref *r, int k,
                           double *moved, double *gabs)
{
    float x[MAX_X], y[MAX_Y];
    batch_of(k, x, y);
    double *g[MAX_T];
    library_gradients(mod, x, y, g);
    model_snapshot before = snapshot_take(mod);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);

    const fz_adamw o = r->opt;
    const double lr = o.lr, b1 = o.beta1, b2 = o.beta2;
    for (size_t i = 0; i < n_t(); i++) {
        const char *name = fz_param_name(mod, i);
        size_t n;
        const float *after = fz_param_data(mod, name, &n);
        if (!g[i]) {
            if (!snapshot_tensor_same(&before, mod, i))
                fail_msg("step %d: frozen %s moved", k, name);
            continue;
        }
        if (!r->m[i]) {   /* first update: zero state */
            r->m[i] = calloc(n, sizeof(double));
            r->v[i] = calloc(n, sizeof(double));
            r->dm[i] = calloc(n, sizeof(double));
            r->dv[i] = calloc(n, sizeof(double));
            assert_true(r->m[i] && r->v[i] && r->dm[i] && r->dv[i]);
        }
        uint64_t tt = ++r->t[i];
        double bc1 = 1.0 - pow(b1, (double)tt), bc2 = 1.0 - pow(b2, (double)tt);
        for (size_t j = 0; j < n; j++) {
            double p0 = before.data[i][j], gj = g[i][j];
            double dg = ldexp(fmax(fabs(p0), fabs(gj)), -24);
            r->m[i][j] = b1 * r->m[i][j] + (1 - b1) * gj;
            r->dm[i][j] = b1 * r->dm[i][j] + (1 - b1) * dg;
            r->v[i][j] = b2 * r->v[i][j] + (1 - b2) * gj * gj;
            r->dv[i][j] = b2 * r->dv[i][j] + (1 - b2) * (2 * fabs(gj) * dg + dg * dg);
            double rat = ratio(r, r->m[i][j], r->v[i][j], bc1, bc2);
            double p = p0 * (1.0 - lr * (double)o.weight_decay) - lr * rat;
            double tol = 2 * ldexp(fmax(fabs(p0), fabs(p)), -23) +
                         lr * (2 * ratio_spread(r, r->m[i][j], r->v[i][j], r->dm[i][j],
                                                r->dv[i][j], bc1, bc2) + 4e-6 * fabs(rat));
            if (!(fabs((double)after[j] - p) <= tol))
                fail_msg("step %d (t = %llu of %s): %s[%zu] is %.9g, reference %.9g "
                         "(tolerance %.3g; g %.9g)", k, (unsigned long long)tt, name, name,
                         j, (double)after[j], p, tol, gj);
            if (i == 0 && moved) {
                moved[j] = fabs((double)after[j] - p0);
                gabs[j] = fabs(gj);
            }
        }
    }
    for (size_t i = 0; i < n_t(); i++)
        free(g[i]);
    snapshot_free(&before);
}

/* Runs `steps` steps with the freeze spec specs[k] before step k, each against the
 * reference. */
static void run_schedule(fz_adamw opt, const char *const *specs, int steps)
{
    fz_model *m = model(31);
    set_frozen(m, specs[0]);
    fz_trainer *t = adamw_trainer(m, opt);
    adam_ref r = ref_new(m, opt);
    for (int k = 0; k < steps; k++) {
        set_frozen(m, specs[k]);
        step_and_check(t, m, &r, k, NULL, NULL);
    }
    ref_free(&r);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void adamw_matches_the_reference_over_three_steps(void **state)
{
    isa_use_or_skip(state);
    const fz_adamw opts[] = {
        { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f },
        { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f },
        { .lr = 3e-2f, .beta1 = 0.5f, .beta2 = 0.9f, .eps = 1e-3f, .weight_decay = 0.3f },
    };
    const char *const all[] = { "none", "none", "none" };
    const char *const bitfit[] = { "bitfit", "bitfit", "bitfit" };
    for (size_t c = 0; c < sizeof opts / sizeof *opts; c++) {
        run_schedule(opts[c], all, 3);
        run_schedule(opts[c], bitfit, 3);
    }
    /* PyTorch's defaults. */
    run_schedule(fz_adamw_defaults(), all, 3);
}

/* The same on the network whose tensors span several chunks and whose update is split
 * over two threads. */
static void adamw_matches_the_reference_over_chunks_and_threads(void **state)
{
    isa_use_or_skip(state);
    use_net(&big_net);
    const char *const all[] = { "none", "none", "none" };
    const char *const some[] = { "fc1.weight,fc3.bias", "fc1.weight,fc3.bias", "fc2.*" };
    run_schedule(fz_adamw_defaults(), all, 3);
    run_schedule(fz_adamw_defaults(), some, 3);
}

/* fc1 frozen for two steps, then trained: its first update has t = 1 and zero state, so
 * with weight_decay 0 each element moves by lr·|g|/(|g| + eps) ≈ lr wherever |g| ≫ eps;
 * a step count shared with fc2 (t = 3) would move it by ≈ 0.64·lr. */
static void tensor_trained_later_starts_with_zero_state_and_its_own_step_count(void **state)
{
    isa_use_or_skip(state);
    const fz_adamw opt = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
    fz_model *m = model(31);
    set_frozen(m, "fc1.*");
    fz_trainer *t = adamw_trainer(m, opt);
    adam_ref r = ref_new(m, opt);
    step_and_check(t, m, &r, 0, NULL, NULL);
    step_and_check(t, m, &r, 1, NULL, NULL);
    assert_int_equal(fz_unfreeze(m, "fc1.*"), FZ_OK);
    double moved[FC1_SMALL], gabs[FC1_SMALL];
    step_and_check(t, m, &r, 2, moved, gabs);
    assert_int_equal(r.t[0], 1);
    assert_int_equal(r.t[2], 3);
    size_t checked = 0;
    const double lr = opt.lr;
    for (size_t j = 0; j < FC1_SMALL; j++) {
        if (gabs[j] < 1e-4)   /* eps/|g| <= 1e-4: the move is within 1e-4 of lr */
            continue;
        /* |p| < 1 after the step: reading the move costs at most half an ulp (2^-24)
         * of p each side, 1.2e-7 = 1.2e-6·lr. */
        double read = ldexp(1.0, -23);
        if (!(moved[j] >= lr * (1 - 1e-3) - read && moved[j] <= lr * (1 + 1e-6) + read))
            fail_msg("fc1.weight[%zu] moved by %.9g on its first update (|g| %.3g), not "
                     "lr = %g", j, moved[j], gabs[j], lr);
        checked++;
    }
    assert_true(checked >= FC1_SMALL / 2);
    ref_free(&r);
    fz_trainer_free(t);
    fz_model_free(m);
}

/* fc1 trained for two steps, frozen for two, trained again: it resumes its moments and
 * its step count (t = 3 on its next update), as torch keeps a parameter's state while
 * it gets no gradient.  The reference says where it must land; and since the batches
 * change every step, most elements must move by something other than the ≈ lr of a
 * fresh start, which a reset state would give them. */
static void tensor_frozen_and_trained_again_resumes_its_state(void **state)
{
    isa_use_or_skip(state);
    const fz_adamw opt = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
    fz_model *m = model(31);
    fz_trainer *t = adamw_trainer(m, opt);
    adam_ref r = ref_new(m, opt);
    step_and_check(t, m, &r, 0, NULL, NULL);
    step_and_check(t, m, &r, 1, NULL, NULL);
    assert_int_equal(fz_freeze(m, "fc1.*"), FZ_OK);
    step_and_check(t, m, &r, 2, NULL, NULL);
    step_and_check(t, m, &r, 3, NULL, NULL);
    assert_int_equal(fz_unfreeze(m, "fc1.*"), FZ_OK);
    double moved[FC1_SMALL], gabs[FC1_SMALL];
    step_and_check(t, m, &r, 4, moved, gabs);
    assert_int_equal(r.t[0], 3);
    size_t unlike_fresh = 0;
    for (size_t j = 0; j < FC1_SMALL; j++)
        unlike_fresh += fabs(moved[j] - opt.lr) > 1e-3 * opt.lr;
    if (unlike_fresh < FC1_SMALL / 2)
        fail_msg("only %zu of %d fc1.weight elements moved unlike a fresh start",
                 unlike_fresh, FC1_SMALL);
    ref_free(&r);
    fz_trainer_free(t);
    fz_model_free(m);
}

/* ---- optimizer memory ---------------------------------------------------------------- */

static void optimizer_state_exists_only_for_trained_tensors(void **state)
{
    (void)state;
    const char *specs[] = { "none", "fc1.*", "bitfit", "last", "fc2.bias", "fc1.weight" };
    float x[MAX_X], y[MAX_Y];
    batch_of(0, x, y);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        const fz_train_opts opts[] = {
            { .optim = FZ_OPTIM_ADAMW, .adamw = fz_adamw_defaults() },
            { .optim = FZ_OPTIM_SGD, .sgd = { .lr = 0.1f } },
            { .optim = FZ_OPTIM_SGD, .sgd = { .lr = 0.1f, .momentum = 0.9f } },
        };
        const size_t floats_per_element[] = { 2, 0, 1 };
        for (size_t c = 0; c < 3; c++) {
            fz_model *m = model(3);
            assert_int_equal(fz_freeze(m, specs[s]), FZ_OK);
            size_t trainable = fz_trainable_elements(m);
            fz_trainer *t = fz_trainer_create_opts(m, batch(), &opts[c]);
            assert_non_null(t);
            assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
            size_t want = floats_per_element[c] * sizeof(float) * trainable;
            if (fz_memory_used(t).optimizer != want)
                fail_msg("spec '%s', optimizer %zu: %zu bytes of state, want %zu", specs[s],
                         c, fz_memory_used(t).optimizer, want);
            /* Frozen afterwards, a tensor keeps its state (to resume it): every tensor
             * trained in either step has state after the second. */
            bool was[MAX_T];
            for (size_t i = 0; i < n_t(); i++)
                was[i] = fz_requires_grad(m, fz_param_name(m, i));
            assert_int_equal(fz_unfreeze(m, "*"), FZ_OK);
            assert_int_equal(fz_freeze(m, "fc2.weight"), FZ_OK);
            assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
            size_t ever = 0;
            for (size_t i = 0; i < n_t(); i++) {
                size_t n;
                const char *name = fz_param_name(m, i);
                fz_param_data(m, name, &n);
                if (was[i] || fz_requires_grad(m, name))
                    ever += n;
            }
            want = floats_per_element[c] * sizeof(float) * ever;
            if (fz_memory_used(t).optimizer != want)
                fail_msg("spec '%s' then fc2.weight, optimizer %zu: %zu bytes, want %zu",
                         specs[s], c, fz_memory_used(t).optimizer, want);
            fz_trainer_free(t);
            fz_model_free(m);
        }
    }
}

/* ---- an overflowing update is undone exactly ------------------------------------- */

/* Two good steps, then one whose gradients square past FLT_MAX in the second moment
 * (inputs ×1000, targets 1.5e19 off: the loss, 2.25e38, is still finite, but
 * (1-β2)·g·g is not), then three good steps: the bad step is refused with every
 * parameter bitwise as before, and a twin that never saw it reaches bitwise the same
 * parameters, so the moments and the step count were put back too. */
static void check_overflow_undone(void)
{
    const fz_adamw opt = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .weight_decay = 0.01f };
    fz_model *m = model(7), *twin = model(7);
    fz_trainer *t = adamw_trainer(m, opt), *tt = adamw_trainer(twin, opt);
    float x[MAX_X], y[MAX_Y];
    for (int k = 0; k < 2; k++) {
        batch_of(k, x, y);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
    }
    float xb[MAX_X], yb[MAX_Y];
    batch_of(9, xb, yb);
    for (size_t i = 0; i < batch() * in_w(); i++)
        xb[i] *= 1000.0f;
    assert_int_equal(fz_forward(m, batch(), xb, yb), FZ_OK);
    for (size_t i = 0; i < batch() * out_w(); i++)
        yb[i] += 1.5e19f;
    fz_flops flops = fz_flops_executed(t);
    model_snapshot before = snapshot_take(m);
    float loss = 0;
    assert_int_equal(fz_train_step(t, xb, yb, &loss), FZ_ENONFINITE);
    if (!strstr(fz_last_error(), "step 3") || !strstr(fz_last_error(), "exp_avg_sq"))
        fail_msg("message: %s", fz_last_error());
    assert_int_equal(trainer_checked_updates(t), 1);   /* the bound refused it */
    assert_true(snapshot_model_same(&before, m));
    assert_int_equal(fz_trainer_steps(t), 2);
    fz_flops now = fz_flops_executed(t);
    assert_true(now.fwd == flops.fwd && now.bwd == flops.bwd && now.opt == flops.opt);
    for (int k = 2; k < 5; k++) {
        batch_of(k, x, y);
        assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
        assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
        const char *differs = first_differing_param(m, twin);
        if (differs)
            fail_msg("step %d: %s differs from the twin that never saw the bad step", k + 1,
                     differs);
    }
    snapshot_free(&before);
    fz_trainer_free(t);
    fz_trainer_free(tt);
    fz_model_free(m);
    fz_model_free(twin);
}

static void overflowing_second_moment_is_undone_exactly(void **state)
{
    isa_use_or_skip(state);
    check_overflow_undone();
}

static void overflowing_second_moment_is_undone_exactly_over_threads(void **state)
{
    isa_use_or_skip(state);
    use_net(&big_net);
    check_overflow_undone();
}

/* The bounded path (nothing copied aside) trains bitwise as a trainer that copies
 * aside and checks every update (FREEZEBENCH_UPDATE_BOUND=0), on both nets, and takes
 * no checked step; the overflowing step of check_overflow_undone was the bound's
 * refusal (one checked step), so both paths are exercised. */
static void bounded_updates_train_as_checked_ones(void **state)
{
    isa_use_or_skip(state);
    for (int big = 0; big < 2; big++) {
        use_net(big ? &big_net : &small_net);
        fz_adamw opt = fz_adamw_defaults();
        fz_model *m = model(11), *twin = model(11);
        fz_trainer *t = adamw_trainer(m, opt);
        setenv("FREEZEBENCH_UPDATE_BOUND", "0", 1);
        fz_trainer *tt = adamw_trainer(twin, opt);
        unsetenv("FREEZEBENCH_UPDATE_BOUND");
        float x[MAX_X], y[MAX_Y];
        for (int k = 0; k < 4; k++) {
            batch_of(k, x, y);
            assert_int_equal(fz_train_step(t, x, y, NULL), FZ_OK);
            assert_int_equal(fz_train_step(tt, x, y, NULL), FZ_OK);
            const char *differs = first_differing_param(m, twin);
            if (differs)
                fail_msg("step %d: %s differs between the bounded and checked paths", k + 1,
                         differs);
        }
        assert_int_equal(trainer_checked_updates(t), 0);
        assert_int_equal(trainer_checked_updates(tt), 4);
        fz_trainer_free(t);
        fz_trainer_free(tt);
        fz_model_free(m);
        fz_model_free(twin);
    }
}

/* A rate so large that lr/(1-β1) overflows: the update makes parameters infinite; the
 * step is refused naming a parameter, and nothing moves. */
static void overflowing_parameter_is_undone_and_named(void **state)
{
    isa_use_or_skip(state);
    const fz_adamw opt = { .lr = 1e38f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
    fz_model *m = model(7);
    fz_trainer *t = adamw_trainer(m, opt);
    float x[MAX_X], y[MAX_Y];
    batch_of(0, x, y);
    model_snapshot before = snapshot_take(m);
    assert_int_equal(fz_train_step(t, x, y, NULL), FZ_ENONFINITE);
    if (!strstr(fz_last_error(), "step 1") || !strstr(fz_last_error(), "made parameter fc"))
        fail_msg("message: %s", fz_last_error());
    assert_true(snapshot_model_same(&before, m));
    assert_int_equal(fz_trainer_steps(t), 0);
    snapshot_free(&before);
    fz_trainer_free(t);
    fz_model_free(m);
}

/* ---- settings torch.optim.AdamW refuses --------------------------------------------- */

static void create_refuses_adamw_settings_torch_refuses(void **state)
{
    (void)state;
    const fz_adamw d = { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                         .weight_decay = 0.01f };
    struct { fz_adamw a; const char *says; } bad[] = {
        { { d.lr, 1.0f, d.beta2, d.eps, d.weight_decay }, "betas 1 and" },
        { { d.lr, -0.1f, d.beta2, d.eps, d.weight_decay }, "betas -0.1 and" },
        { { d.lr, NAN, d.beta2, d.eps, d.weight_decay }, "betas nan and" },
        { { d.lr, d.beta1, 1.0f, d.eps, d.weight_decay }, "and 1, eps" },
        { { d.lr, d.beta1, 1.5f, d.eps, d.weight_decay }, "and 1.5, eps" },
        { { d.lr, d.beta1, -1e-3f, d.eps, d.weight_decay }, "and -0.001, eps" },
        { { d.lr, d.beta1, d.beta2, -1e-8f, d.weight_decay }, "eps -1e-08" },
        { { d.lr, d.beta1, d.beta2, NAN, d.weight_decay }, "eps nan" },
        { { d.lr, d.beta1, d.beta2, INFINITY, d.weight_decay }, "eps inf" },
        { { -1e-3f, d.beta1, d.beta2, d.eps, d.weight_decay }, "lr -0.001" },
        { { NAN, d.beta1, d.beta2, d.eps, d.weight_decay }, "lr nan" },
        { { INFINITY, d.beta1, d.beta2, d.eps, d.weight_decay }, "lr inf" },
        { { d.lr, d.beta1, d.beta2, d.eps, -0.01f }, "weight_decay -0.01" },
        { { d.lr, d.beta1, d.beta2, d.eps, NAN }, "weight_decay nan" },
    };
    fz_model *m = model(1);
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        fz_train_opts o = { .optim = FZ_OPTIM_ADAMW, .adamw = bad[c].a };
        fz_trainer *t = fz_trainer_create_opts(m, batch(), &o);
        if (t || !strstr(fz_last_error(), bad[c].says) || !strstr(fz_last_error(), "AdamW"))
            fail_msg("case %zu: %s, message '%s' (want '%s')", c, t ? "accepted" : "refused",
                     fz_last_error(), bad[c].says);
        /* The same settings under SGD are ignored. */
        o.optim = FZ_OPTIM_SGD;
        o.sgd = (fz_sgd){ .lr = 0.1f };
        t = fz_trainer_create_opts(m, batch(), &o);
        assert_non_null(t);
        fz_trainer_free(t);
    }
    /* The edges torch accepts: betas 0, eps, lr and weight_decay 0. */
    fz_train_opts o = { .optim = FZ_OPTIM_ADAMW, .adamw = { 0, 0, 0, 0, 0 } };
    fz_trainer *t = fz_trainer_create_opts(m, batch(), &o);
    assert_non_null(t);
    fz_trainer_free(t);
    fz_model_free(m);
}

#define ISA_TEST_R(isa, f) ISA_TEST_WITH(isa, f, restore_kernels)
#define ISA_TESTS(isa)                                                                  \
    ISA_TEST_R(isa, adamw_matches_the_reference_over_three_steps),                        \
    ISA_TEST_R(isa, adamw_matches_the_reference_over_chunks_and_threads),                 \
    ISA_TEST_R(isa, tensor_trained_later_starts_with_zero_state_and_its_own_step_count),  \
    ISA_TEST_R(isa, tensor_frozen_and_trained_again_resumes_its_state),                   \
    ISA_TEST_R(isa, overflowing_second_moment_is_undone_exactly),                         \
    ISA_TEST_R(isa, overflowing_second_moment_is_undone_exactly_over_threads),            \
    ISA_TEST_R(isa, overflowing_parameter_is_undone_and_named),                           \
    ISA_TEST_R(isa, bounded_updates_train_as_checked_ones)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ISA_TESTS("scalar"), ISA_TESTS("avx2"), ISA_TESTS("avx512"), ISA_TESTS("neon"),
        cmocka_unit_test(optimizer_state_exists_only_for_trained_tensors),
        cmocka_unit_test(create_refuses_adamw_settings_torch_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

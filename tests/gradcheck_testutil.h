/*
 * Gradients against central finite differences, shared by the MSE and cross-entropy
 * checks.  The API does not expose gradients, so they are read off one SGD step with
 * lr = 1, momentum 0, weight decay 0: p_after = fl(p_before - g), hence g = p_before -
 * p_after up to one rounding of p_after (|error| <= 2^-24·max(|p|, |g|)); the
 * subtraction of two floats is exact in double.  The reference is a double-precision
 * forward of the same MLP (ReLU between Linear layers, none after the last); each test
 * supplies its loss on the outputs.  Header-only (static functions) so each test stays
 * one executable.
 */
#ifndef FZ_GRADCHECK_TESTUTIL_H
#define FZ_GRADCHECK_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"

enum { DNET_MAX_LAYERS = 4, DNET_MAX_WIDTH = 8 };
/* Central differences with this step in double are good to ~1e-9 on these nets. */
#define GRADCHECK_FD_STEP 1e-6

/* The network's parameters in double, in state_dict order: W1, b1, W2, b2, ... */
typedef struct {
    const size_t *widths;
    size_t layers;
    double *p[2 * DNET_MAX_LAYERS];
    size_t numel[2 * DNET_MAX_LAYERS];
} dnet;

static inline dnet dnet_from_model(fz_model *m, const size_t *widths, size_t layers)
{
    assert_true(layers <= DNET_MAX_LAYERS);
    dnet n = { .widths = widths, .layers = layers };
    for (size_t i = 0; i < 2 * layers; i++) {
        assert_true(widths[i / 2] <= DNET_MAX_WIDTH && widths[i / 2 + 1] <= DNET_MAX_WIDTH);
        const float *p = fz_param_data(m, fz_param_name(m, i), &n.numel[i]);
        n.p[i] = malloc(n.numel[i] * sizeof(double));
        assert_non_null(n.p[i]);
        for (size_t j = 0; j < n.numel[i]; j++)
            n.p[i][j] = p[j];
    }
    return n;
}

static inline void dnet_free(dnet *n)
{
    for (size_t i = 0; i < 2 * n->layers; i++)
        free(n->p[i]);
}

/* out[rows × widths[layers]]: the double network on x; *min_abs_pre (may be NULL)
 * receives the smallest |pre-activation| met before a ReLU, so a caller can pick data
 * away from the kinks, where finite differences are meaningless. */
static inline void dnet_forward(const dnet *n, const float *x, size_t rows, double *out,
                                double *min_abs_pre)
{
    double min_pre = INFINITY;
    size_t in = n->widths[0], outw = n->widths[n->layers];
    for (size_t s = 0; s < rows; s++) {
        double a[DNET_MAX_WIDTH], z[DNET_MAX_WIDTH];
        for (size_t i = 0; i < in; i++)
            a[i] = x[s * in + i];
        for (size_t l = 0; l < n->layers; l++) {
            size_t I = n->widths[l], O = n->widths[l + 1];
            const double *W = n->p[2 * l], *b = n->p[2 * l + 1];
            for (size_t o = 0; o < O; o++) {
                double acc = b[o];
                for (size_t i = 0; i < I; i++)
                    acc += W[o * I + i] * a[i];
                z[o] = acc;
            }
            for (size_t o = 0; o < O; o++) {
                if (l + 1 < n->layers) {
                    min_pre = fmin(min_pre, fabs(z[o]));
                    a[o] = z[o] > 0 ? z[o] : 0;
                } else {
                    a[o] = z[o];
                }
            }
        }
        for (size_t o = 0; o < outw; o++)
            out[s * outw + o] = a[o];
    }
    if (min_abs_pre)
        *min_abs_pre = min_pre;
}

/* The test's loss of the double network on its own data (ctx). */
typedef double (*dnet_loss_fn)(const dnet *n, const void *ctx);

/* After one lr = 1 step of the library from `before` (the model as n was taken from
 * it): every trainable gradient against central differences of `loss`, within
 * 1e-5 + 1e-4·|g|; every frozen tensor bit for bit as before.  `spec` names the case in
 * failures.  Checks that exactly the trainable elements were compared. */
static inline void gradcheck_after_step(fz_model *m, const model_snapshot *before, dnet *n,
                                        dnet_loss_fn loss, const void *ctx, const char *spec)
{
    size_t checked = 0;
    for (size_t i = 0; i < 2 * n->layers; i++) {
        const char *name = fz_param_name(m, i);
        size_t numel;
        const float *after = fz_param_data(m, name, &numel);
        if (!before->requires_grad[i]) {
            if (!snapshot_tensor_same(before, m, i))
                fail_msg("spec '%s': frozen %s moved", spec, name);
            continue;
        }
        for (size_t j = 0; j < numel; j++) {
            double g_lib = (double)before->data[i][j] - (double)after[j];
            double saved = n->p[i][j];
            n->p[i][j] = saved + GRADCHECK_FD_STEP;
            double lp = loss(n, ctx);
            n->p[i][j] = saved - GRADCHECK_FD_STEP;
            double lm = loss(n, ctx);
            n->p[i][j] = saved;
            double g_fd = (lp - lm) / (2 * GRADCHECK_FD_STEP);
            if (fabs(g_lib - g_fd) > 1e-5 + 1e-4 * fabs(g_fd))
                fail_msg("spec '%s': d loss / d %s[%zu]: library %.9g, finite differences "
                         "%.9g", spec, name, j, g_lib, g_fd);
            checked++;
        }
    }
    assert_int_equal(checked, fz_trainable_elements(m));
}

#endif

/*
 * The seed example (SimpleNet 10 -> 5 -> ReLU -> 1, fc1 frozen, 64 random samples,
 * 100 full-batch steps of SGD lr 0.01 on MSE) learns, and fc1 stays bit for bit.
 *
 * With fc1 frozen the hidden features are fixed, so the problem left is least squares
 * in fc2: a convex quadratic whose curvature is at most 2·max eigenvalue of the features'
 * second moment (well below 10 for features of size ~0.5).  Full-batch gradient descent
 * with lr 0.01 < 2/curvature therefore lowers the loss at every step, by ~lr·|g|², far
 * above float rounding — so the test asks for a strict decrease at every step, not only
 * first > last.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"

enum { SAMPLES = 64, IN = 10, HIDDEN = 5, OUT = 1, EPOCHS = 100 };

/* Standard normal samples, like torch.randn (Box-Muller). */
static void randn(float *x, size_t n, uint64_t seed)
{
    fz_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double u1 = ((double)(rng_next(&r) >> 11) + 0.5) / 9007199254740992.0;
        double u2 = ((double)(rng_next(&r) >> 11) + 0.5) / 9007199254740992.0;
        x[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

static void run_seed(uint64_t seed)
{
    const size_t widths[] = { IN, HIDDEN, OUT };
    fz_model *m = fz_mlp_create(widths, 3, seed);
    assert_non_null(m);
    assert_int_equal(fz_freeze(m, "fc1.*"), FZ_OK);
    assert_false(fz_requires_grad(m, "fc1.weight"));
    assert_false(fz_requires_grad(m, "fc1.bias"));
    assert_true(fz_requires_grad(m, "fc2.weight"));
    assert_true(fz_requires_grad(m, "fc2.bias"));
    model_snapshot init = snapshot_take(m);

    float x[SAMPLES * IN], y[SAMPLES * OUT];
    randn(x, SAMPLES * IN, seed + 1);
    randn(y, SAMPLES * OUT, seed + 2);
    fz_trainer *t = fz_trainer_create(m, SAMPLES, (fz_sgd){ .lr = 0.01f });
    assert_non_null(t);

    float first = 0, prev = INFINITY, loss = 0;
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        assert_int_equal(fz_train_step(t, x, y, &loss), FZ_OK);
        if (epoch == 0)
            first = loss;
        if (!(loss < prev))
            fail_msg("seed %llu, epoch %d: loss %.7f did not fall below %.7f",
                     (unsigned long long)seed, epoch + 1, (double)loss, (double)prev);
        prev = loss;
    }
    assert_true(loss < first);
    assert_true(snapshot_tensor_same(&init, m, 0));   /* fc1.weight */
    assert_true(snapshot_tensor_same(&init, m, 1));   /* fc1.bias */
    assert_false(snapshot_tensor_same(&init, m, 2));  /* fc2.weight trained */

    snapshot_free(&init);
    fz_trainer_free(t);
    fz_model_free(m);
}

static void seed_example_loss_decreases_and_fc1_stays_bit_identical(void **state)
{
    (void)state;
    /* The example's default seed, and a few others so one lucky draw cannot pass it. */
    const uint64_t seeds[] = { 42, 1, 2, 3 };
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++)
        run_seed(seeds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_example_loss_decreases_and_fc1_stays_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * A model with a BatchNorm layer is refused by design, and the message says why
 * (issue 24, item 15): freezebench trains Linear/ReLU MLPs and its forward would skip
 * the BatchNorm.  Before, its int64 num_batches_tracked was refused as a dtype, with or
 * without --ignore-unknown, and nothing said the forward would not be the model's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "freezebench.h"
#include "npz.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif

#define FIXTURE(name) FZ_TEST_DATA "/" name

static void assert_says_why(const char *what)
{
    const char *msg = fz_last_error();
    const char *needles[] = { "'1.", "BatchNorm layer ('1')", "Linear/ReLU",
                              "forward would skip the BatchNorm", "refused by design" };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (!strstr(msg, needles[i]))
            fail_msg("%s: \"%s\" does not say '%s'", what, msg, needles[i]);
}

/* nn.Sequential(Linear(4, 3), BatchNorm1d(3), ReLU(), Linear(3, 2)), int64 buffer and
 * all (tests/data/make_npz_fixtures.py). */
static void batchnorm_state_dict_is_refused_saying_why(void **state)
{
    (void)state;
    for (int keep = 0; keep < 2; keep++) {
        fz_npz_import opts = { .ignore_unknown = keep };
        assert_null(fz_mlp_from_state_dict(FIXTURE("batchnorm.npz"), &opts));
        assert_says_why(keep ? "--ignore-unknown" : "no options");
    }
    assert_null(fz_mlp_from_npz(FIXTURE("batchnorm.npz")));
    assert_says_why("fz_mlp_from_npz");
}

/* fz_load_npz into a model of the right widths: the same reason, the model unchanged. */
static void loading_batchnorm_into_a_model_is_refused_saying_why(void **state)
{
    (void)state;
    const size_t widths[] = { 4, 3, 2 };
    fz_model *m = fz_mlp_create(widths, 3, 5), *same = fz_mlp_create(widths, 3, 5);
    assert_int_equal(fz_load_npz(m, FIXTURE("batchnorm.npz")), FZ_EFORMAT);
    assert_says_why("fz_load_npz");
    for (size_t i = 0; i < fz_param_count(m); i++) {
        size_t n;
        const float *p = fz_param_data(m, fz_param_name(m, i), &n);
        assert_memory_equal(p, fz_param_data(same, fz_param_name(same, i), NULL),
                            n * sizeof(float));
    }
    fz_model_free(m);
    fz_model_free(same);
}

/* Running statistics alone, all float32 (num_batches_tracked dropped): still a
 * BatchNorm, refused by its name, not kept as an unknown buffer. */
static void float32_running_statistics_are_refused_too(void **state)
{
    (void)state;
    char dir[] = "/tmp/fz_bn_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bn.npz", dir);
    static float w[12], b[3];
    fz_npz_array a[] = {
        { .name = "0.weight", .ndim = 2, .shape = { 3, 4 }, .numel = 12, .data = w },
        { .name = "0.bias", .ndim = 1, .shape = { 3 }, .numel = 3, .data = b },
        { .name = "1.running_var", .ndim = 1, .shape = { 3 }, .numel = 3, .data = b },
    };
    assert_int_equal(npz_write(path, a, 3), FZ_OK);
    fz_npz_import opts = { .ignore_unknown = true };
    assert_null(fz_mlp_from_state_dict(path, &opts));
    assert_non_null(strstr(fz_last_error(), "'1.running_var' is a buffer of a BatchNorm"));
    assert_non_null(strstr(fz_last_error(), "forward would skip the BatchNorm"));
    unlink(path);
    rmdir(dir);
}

/* Other buffers are no BatchNorm: --ignore-unknown still keeps them. */
static void other_buffers_are_still_kept_with_ignore_unknown(void **state)
{
    (void)state;
    fz_npz_import opts = { .ignore_unknown = true };
    fz_model *m = fz_mlp_from_state_dict(FIXTURE("unknown_tensor.npz"), &opts);
    if (!m)
        fail_msg("%s", fz_last_error());
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batchnorm_state_dict_is_refused_saying_why),
        cmocka_unit_test(loading_batchnorm_into_a_model_is_refused_saying_why),
        cmocka_unit_test(float32_running_statistics_are_refused_too),
        cmocka_unit_test(other_buffers_are_still_kept_with_ignore_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Name lookups (fz_param_data, fz_param_shape, fz_requires_grad) on a model from a
 * state_dict take the archive's names only (issue 24, item 3): in an archive of layers
 * fc0, fc1, fc2, "fc1.weight" is the archive's fc1 (8x8), never the library's fc1 (the
 * archive's fc0, 8x10); `freezebench params` printed the library layer's flag under the
 * archive's name.  A name the model lacks is refused listing the names it has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif

static void fc_named_archive_answers_to_its_own_names(void **state)
{
    (void)state;
    fz_npz_import opts = { .map = "fc1=fc0,fc2=fc1,fc3=fc2" };
    fz_model *m = fz_mlp_from_state_dict(FZ_TEST_DATA "/fc0_fc1_fc2.npz", &opts);
    if (!m)
        fail_msg("%s", fz_last_error());
    assert_int_equal(fz_freeze(m, "fc1.*"), FZ_OK);
    assert_true(fz_requires_grad(m, "fc0.weight"));
    assert_false(fz_requires_grad(m, "fc1.weight"));
    assert_false(fz_requires_grad(m, "fc1.bias"));
    assert_true(fz_requires_grad(m, "fc2.weight"));
    size_t rows, cols, n;
    assert_int_equal(fz_param_shape(m, "fc1.weight", &rows, &cols), FZ_OK);
    assert_int_equal(rows, 8);
    assert_int_equal(cols, 8);
    assert_int_equal(fz_param_shape(m, "fc0.weight", &rows, &cols), FZ_OK);
    assert_int_equal(cols, 10);
    /* element i of the archive's fc1.weight is (i % 7 - 3) / 8 + 1 */
    const float *w = fz_param_data(m, "fc1.weight", &n);
    assert_int_equal(n, 64);
    assert_true(w[0] == 1 - 3.0f / 8);
    /* the library's name of the last layer is none of this model's */
    assert_null(fz_param_data(m, "fc3.weight", NULL));
    assert_non_null(strstr(fz_last_error(), "'fc0.weight'"));
    assert_null(strstr(fz_last_error(), "fc1..fc3"));
    fz_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fc_named_archive_answers_to_its_own_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

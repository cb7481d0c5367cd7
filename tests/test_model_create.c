/* fz_mlp_create: shapes, names and init range of a new model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "freezebench.h"

static void names_follow_state_dict_order(void **state)
{
    (void)state;
    const size_t w[] = { 10, 5, 1 };
    fz_model *m = fz_mlp_create(w, 3, 1);
    assert_non_null(m);
    assert_int_equal(fz_param_count(m), 4);
    assert_string_equal(fz_param_name(m, 0), "fc1.weight");
    assert_string_equal(fz_param_name(m, 1), "fc1.bias");
    assert_string_equal(fz_param_name(m, 2), "fc2.weight");
    assert_string_equal(fz_param_name(m, 3), "fc2.bias");
    assert_null(fz_param_name(m, 4));
    fz_model_free(m);
}

static void weights_have_out_by_in_shape_and_init_bound(void **state)
{
    (void)state;
    const size_t w[] = { 16, 8, 3 };
    fz_model *m = fz_mlp_create(w, 3, 7);
    size_t rows, cols, n;
    assert_int_equal(fz_param_shape(m, "fc1.weight", &rows, &cols), FZ_OK);
    assert_int_equal(rows, 8);
    assert_int_equal(cols, 16);
    float *p = fz_param_data(m, "fc1.weight", &n);
    assert_int_equal(n, 128);
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(p[i]) <= 1.0f / 4.0f);
    p = fz_param_data(m, "fc2.bias", &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(p[i]) <= 1.0f / sqrtf(8.0f));
    fz_model_free(m);
}

static void same_seed_gives_same_model(void **state)
{
    (void)state;
    const size_t w[] = { 4, 3, 2 };
    fz_model *a = fz_mlp_create(w, 3, 99), *b = fz_mlp_create(w, 3, 99),
             *c = fz_mlp_create(w, 3, 100);
    size_t n;
    float *pa = fz_param_data(a, "fc1.weight", &n), *pb = fz_param_data(b, "fc1.weight", &n),
          *pc = fz_param_data(c, "fc1.weight", &n);
    assert_memory_equal(pa, pb, n * sizeof(float));
    assert_memory_not_equal(pa, pc, n * sizeof(float));
    fz_model_free(a);
    fz_model_free(b);
    fz_model_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_follow_state_dict_order),
        cmocka_unit_test(weights_have_out_by_in_shape_and_init_bound),
        cmocka_unit_test(same_seed_gives_same_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Classification data sets from IDX image and label files: pixels scaled to [0, 1],
 * labels as int32, the checks that tie the two files together (equal counts, labels
 * below the class count), the selection of a class range with and without relabelling,
 * and the real Fashion-MNIST test set where Debian's dataset-fashion-mnist is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "class_data.h"
#include "freezebench.h"
#include "tmpdir_testutil.h"
#include "idx_testutil.h"

enum { N = 6, ROWS = 2, COLS = 3 };
static const unsigned char LABELS[N] = { 7, 1, 5, 9, 0, 5 };

/* Sample i's pixels are i*40 + p (p the pixel's index): each row tells its sample. */
static unsigned char pixel(size_t i, size_t p)
{
    return (unsigned char)(i * 40 + p);
}

/* Writes the images (gzip'd) and `n_labels` labels (not gzip'd) into the scratch
 * folder, as "images.gz" and "labels.idx". */
static void write_set(void **state, const unsigned char *labels, size_t n_labels)
{
    unsigned char pixels[N * ROWS * COLS];
    for (size_t i = 0; i < N; i++)
        for (size_t p = 0; p < ROWS * COLS; p++)
            pixels[i * ROWS * COLS + p] = pixel(i, p);
    pixels[0] = 255;
    const uint32_t image_dims[] = { N, ROWS, COLS }, label_dims[] = { (uint32_t)n_labels };
    byte_buf images = idx_file(0x08, image_dims, 3, pixels, sizeof pixels);
    byte_buf gz = gzip_of(&images);
    write_bytes(tmp_file(state, "images.gz"), &gz);
    byte_buf lab = idx_file(0x08, label_dims, 1, labels, n_labels);
    write_bytes(tmp_file(state, "labels.idx"), &lab);
    byte_buf_free(&lab);
    byte_buf_free(&gz);
    byte_buf_free(&images);
}

static fz_status load(void **state, size_t classes, fz_class_data *d)
{
    char images[256];
    snprintf(images, sizeof images, "%s", tmp_file(state, "images.gz"));
    return class_data_from_idx(images, tmp_file(state, "labels.idx"), classes, d);
}

static void loads_scaled_pixels_and_labels(void **state)
{
    write_set(state, LABELS, N);
    fz_class_data d;
    assert_int_equal(load(state, 10, &d), FZ_OK);
    assert_int_equal(d.n, N);
    assert_int_equal(d.features, ROWS * COLS);
    assert_int_equal(d.classes, 10);
    assert_true(d.x[0] == 1.0f);                       /* 255 is exactly 1 */
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(d.y[i], LABELS[i]);
        for (size_t p = i == 0; p < ROWS * COLS; p++)
            assert_true(d.x[i * ROWS * COLS + p] == (float)pixel(i, p) / 255.0f);
    }
    for (size_t k = 0; k < N * ROWS * COLS; k++)
        assert_true(d.x[k] >= 0.0f && d.x[k] <= 1.0f);
    class_data_free(&d);
}

static void refuses_counts_that_differ(void **state)
{
    write_set(state, LABELS, N - 1);
    fz_class_data d;
    assert_int_equal(load(state, 10, &d), FZ_EFORMAT);
    assert_null(d.x);
    const char *msg = fz_last_error();
    if (!strstr(msg, "images.gz holds 6 images") || !strstr(msg, "labels.idx holds 5"))
        fail_msg("%s", msg);
}

static void refuses_a_label_beyond_the_classes(void **state)
{
    write_set(state, LABELS, N);
    fz_class_data d;
    assert_int_equal(load(state, 9, &d), FZ_EFORMAT);     /* LABELS[3] is 9 */
    assert_null(d.y);
    const char *msg = fz_last_error();
    if (!strstr(msg, "labels.idx: label 9 at index 3 (byte 11)") ||
        !strstr(msg, "not below the 9 classes"))
        fail_msg("%s", msg);
    assert_int_equal(load(state, 0, &d), FZ_EINVAL);
}

static void refuses_swapped_files(void **state)
{
    write_set(state, LABELS, N);
    char labels[256];
    snprintf(labels, sizeof labels, "%s", tmp_file(state, "labels.idx"));
    fz_class_data d;
    assert_int_equal(class_data_from_idx(labels, tmp_file(state, "images.gz"), 10, &d),
                     FZ_EFORMAT);
    assert_non_null(strstr(fz_last_error(), "dimension count at byte 3 is 1"));
    assert_null(d.x);
}

static void selects_a_class_range(void **state)
{
    write_set(state, LABELS, N);
    fz_class_data d, low;
    assert_int_equal(load(state, 10, &d), FZ_OK);
    assert_int_equal(class_data_select(&d, 0, 5, false, &low), FZ_OK);
    /* Classes 0-4: samples 1 (label 1) and 4 (label 0), in their order. */
    assert_int_equal(low.n, 2);
    assert_int_equal(low.classes, 10);
    assert_int_equal(low.y[0], 1);
    assert_int_equal(low.y[1], 0);
    assert_memory_equal(low.x, d.x + 1 * d.features, d.features * sizeof(float));
    assert_memory_equal(low.x + low.features, d.x + 4 * d.features,
                        d.features * sizeof(float));
    class_data_free(&low);
    class_data_free(&d);
}

static void selects_and_relabels_the_upper_classes(void **state)
{
    write_set(state, LABELS, N);
    fz_class_data d, high;
    assert_int_equal(load(state, 10, &d), FZ_OK);
    assert_int_equal(class_data_select(&d, 5, 10, true, &high), FZ_OK);
    /* Classes 5-9 as 0-4: samples 0 (7), 2 (5), 3 (9), 5 (5). */
    const int32_t want[] = { 2, 0, 4, 0 };
    const size_t from[] = { 0, 2, 3, 5 };
    assert_int_equal(high.n, 4);
    assert_int_equal(high.classes, 5);
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(high.y[k], want[k]);
        assert_memory_equal(high.x + k * high.features, d.x + from[k] * d.features,
                            d.features * sizeof(float));
    }
    for (size_t i = 0; i < N; i++)          /* the source is untouched */
        assert_int_equal(d.y[i], LABELS[i]);
    class_data_free(&high);
    class_data_free(&d);
}

static void refuses_a_selection_that_is_empty_or_out_of_range(void **state)
{
    write_set(state, LABELS, N);
    fz_class_data d, s;
    assert_int_equal(load(state, 10, &d), FZ_OK);
    assert_int_equal(class_data_select(&d, 5, 5, true, &s), FZ_EINVAL);
    assert_int_equal(class_data_select(&d, 6, 5, true, &s), FZ_EINVAL);
    assert_int_equal(class_data_select(&d, 5, 11, true, &s), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "[5, 11)"));
    assert_int_equal(class_data_select(&d, 2, 4, true, &s), FZ_EINVAL);  /* no 2 or 3 */
    assert_non_null(strstr(fz_last_error(), "no sample"));
    assert_null(s.x);
    assert_int_equal(class_data_select(NULL, 0, 5, true, &s), FZ_EINVAL);
    class_data_free(&d);
}

/* Debian's dataset-fashion-mnist: t10k holds 10000 28×28 images, the first an ankle
 * boot (class 9). */
static void reads_the_real_fashion_mnist_test_set(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(FZ_FASHION_MNIST_DIR, &sb) != 0) {
        print_message("skipped: %s is absent (apt-get install dataset-fashion-mnist)\n",
                      FZ_FASHION_MNIST_DIR);
        skip();
    }
    fz_class_data d;
    if (class_data_fashion_mnist(NULL, "t10k", &d) != FZ_OK)
        fail_msg("%s", fz_last_error());
    assert_int_equal(d.n, 10000);
    assert_int_equal(d.features, 784);
    assert_int_equal(d.classes, 10);
    assert_int_equal(d.y[0], 9);
    size_t per_class[10] = { 0 };
    for (size_t i = 0; i < d.n; i++)
        per_class[d.y[i]]++;
    for (size_t c = 0; c < 10; c++)        /* the test set is balanced */
        assert_int_equal(per_class[c], 1000);
    fz_class_data upper;
    assert_int_equal(class_data_select(&d, 5, 10, true, &upper), FZ_OK);
    assert_int_equal(upper.n, 5000);
    assert_int_equal(upper.y[0], 4);
    class_data_free(&upper);
    class_data_free(&d);
    assert_int_equal(class_data_fashion_mnist(NULL, "test", &d), FZ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(loads_scaled_pixels_and_labels, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_counts_that_differ, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_label_beyond_the_classes, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_swapped_files, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(selects_a_class_range, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(selects_and_relabels_the_upper_classes, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_selection_that_is_empty_or_out_of_range,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test(reads_the_real_fashion_mnist_test_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

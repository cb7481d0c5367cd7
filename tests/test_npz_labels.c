/*
 * Integer class labels in a data .npz: the array y as int64, int32 or uint8 of shape
 * (N,) comes back as int32; a float y, a 2-D y, a big-endian y, a negative label or one
 * above INT32_MAX, and a missing y are refused with a message naming the array (and the
 * label's index).  The archives are written here, member by member, since numpy is not
 * needed to make them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "npz.h"
#include "tmpdir_testutil.h"
#include "zip.h"

/* A .npy of `len` bytes of little-endian data, with the header numpy would write for
 * `descr` and `shape` (a Python tuple, "(4,)"). */
static unsigned char *npy_bytes(const char *descr, const char *shape, const void *data,
                                size_t len, size_t *total)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                     "'shape': %s, }", descr, shape);
    size_t header = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
    unsigned char *b = malloc(header + len + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((header - 10) & 0xff);
    b[9] = (unsigned char)((header - 10) >> 8);
    memcpy(b + 10, dict, (size_t)n);
    memset(b + 10 + n, ' ', header - 10 - (size_t)n - 1);
    b[header - 1] = '\n';
    memcpy(b + header, data, len);
    *total = header + len;
    return b;
}

/* An archive with x (two float32s, unread here) and y as given. */
static const char *write_data(void **state, const char *descr, const char *shape,
                              const void *y, size_t y_len)
{
    const float x[] = { 1, 2 };
    size_t x_len, yn_len;
    unsigned char *xb = npy_bytes("<f4", "(2,)", x, sizeof x, &x_len);
    unsigned char *yb = npy_bytes(descr, shape, y, y_len, &yn_len);
    /* Each member whole as the prefix; the empty body still points somewhere, as
     * fwrite wants. */
    const fz_zip_entry entries[] = { { "x.npy", xb, x_len, xb, 0 },
                                     { "y.npy", yb, yn_len, yb, 0 } };
    const char *path = tmp_file(state, "data.npz");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(zip_write(f, entries, 2, path), FZ_OK);
    assert_int_equal(fclose(f), 0);
    free(xb);
    free(yb);
    return path;
}

/* y's labels through either reader: npz_read_labels alone (via 0), or the float read
 * that leaves y out and npz_skipped_labels on what it kept (via 1), which must say the
 * same without reading the file again. */
static fz_status read_y(const char *path, int via, int32_t **labels, size_t *n)
{
    if (via == 0)
        return npz_read_labels(path, "y", labels, n);
    fz_npz z;
    fz_status st = npz_read_except(path, "y", &z);
    if (st == FZ_OK)
        st = npz_skipped_labels(&z, path, "y", labels, n);
    else
        *labels = NULL, *n = 0;
    npz_free(&z);
    return st;
}

static void assert_labels(const char *path, const int32_t *want, size_t n)
{
    for (int via = 0; via < 2; via++) {
        int32_t *labels;
        size_t got;
        if (read_y(path, via, &labels, &got) != FZ_OK)
            fail_msg("reader %d: %s", via, fz_last_error());
        assert_int_equal(got, n);
        assert_memory_equal(labels, want, n * sizeof *want);
        free(labels);
    }
}

/* Both reads fail with `status`, return nothing, and the message holds both needles. */
static void assert_refused(const char *path, fz_status status, const char *needle,
                           const char *needle2)
{
    for (int via = 0; via < 2; via++) {
        int32_t *labels = (int32_t *)&labels;
        size_t n = 99;
        assert_int_equal(read_y(path, via, &labels, &n), status);
        assert_null(labels);
        assert_int_equal(n, 0);
        const char *msg = fz_last_error();
        if (!strstr(msg, needle) || (needle2 && !strstr(msg, needle2)))
            fail_msg("reader %d: message \"%s\" lacks \"%s\" or \"%s\"", via, msg, needle,
                     needle2 ? needle2 : "");
    }
}

static const int32_t WANT[] = { 3, 0, 9, 2147483647 };

static void reads_int64_labels(void **state)
{
    /* Little-endian bytes, so the test means the same on any host. */
    unsigned char y[4 * 8] = { 0 };
    for (size_t i = 0; i < 4; i++)
        for (size_t b = 0; b < 4; b++)
            y[8 * i + b] = (unsigned char)((uint32_t)WANT[i] >> (8 * b));
    assert_labels(write_data(state, "<i8", "(4,)", y, sizeof y), WANT, 4);
}

static void reads_int32_labels(void **state)
{
    unsigned char y[4 * 4];
    for (size_t i = 0; i < 4; i++)
        for (size_t b = 0; b < 4; b++)
            y[4 * i + b] = (unsigned char)((uint32_t)WANT[i] >> (8 * b));
    assert_labels(write_data(state, "<i4", "(4,)", y, sizeof y), WANT, 4);
}

static void reads_uint8_labels(void **state)
{
    const unsigned char y[] = { 3, 0, 9, 255 };
    const int32_t want[] = { 3, 0, 9, 255 };
    assert_labels(write_data(state, "|u1", "(4,)", y, sizeof y), want, 4);
    assert_labels(write_data(state, "<u1", "(4,)", y, sizeof y), want, 4);
    assert_labels(write_data(state, "|u1", "(0,)", y, 0), want, 0);
}

static void refuses_float_labels(void **state)
{
    const float y[] = { 1, 0 };
    assert_refused(write_data(state, "<f4", "(2,)", y, sizeof y), FZ_EFORMAT,
                   "array 'y': dtype '<f4' is not an integer type", "int64");
    const double yd[] = { 1, 0 };
    assert_refused(write_data(state, "<f8", "(2,)", yd, sizeof yd), FZ_EFORMAT,
                   "'<f8' is not an integer type", NULL);
}

static void refuses_a_negative_label(void **state)
{
    unsigned char y[3 * 8] = { 1, 0, 0, 0, 0, 0, 0, 0,  2, 0, 0, 0, 0, 0, 0, 0 };
    memset(y + 16, 0xff, 8);                       /* -1 */
    assert_refused(write_data(state, "<i8", "(3,)", y, sizeof y), FZ_EFORMAT,
                   "label -1 at index 2 is negative", "data.npz: array 'y'");
    unsigned char y4[2 * 4] = { 5, 0, 0, 0, 0, 0, 0, 0x80 };   /* INT32_MIN */
    assert_refused(write_data(state, "<i4", "(2,)", y4, sizeof y4), FZ_EFORMAT,
                   "label -2147483648 at index 1 is negative", NULL);
}

static void refuses_a_label_above_int32_max(void **state)
{
    unsigned char y[8] = { 0, 0, 0, 0x80, 0, 0, 0, 0 };        /* 2^31 */
    assert_refused(write_data(state, "<i8", "(1,)", y, sizeof y), FZ_EFORMAT,
                   "label 2147483648 at index 0 is above INT32_MAX", NULL);
}

static void refuses_a_2d_y(void **state)
{
    const unsigned char y[4] = { 1, 2, 3, 4 };
    assert_refused(write_data(state, "|u1", "(2, 2)", y, sizeof y), FZ_EFORMAT,
                   "class labels need shape (N,)", "2 dimensions");
    const float yf[4] = { 1, 2, 3, 4 };        /* a regression target, not labels */
    assert_refused(write_data(state, "<f4", "(2, 2)", yf, sizeof yf), FZ_EFORMAT,
                   "not an integer type", NULL);
}

static void refuses_big_endian_and_short_data(void **state)
{
    unsigned char y[8] = { 0 };
    assert_refused(write_data(state, ">i8", "(1,)", y, sizeof y), FZ_EFORMAT,
                   "byte order: dtype '>i8' is big-endian", NULL);
    assert_refused(write_data(state, "<i8", "(2,)", y, sizeof y), FZ_EFORMAT,
                   "data is 8 bytes", "2 elements of 8 bytes");
}

static void refuses_a_missing_y_and_bad_arguments(void **state)
{
    const unsigned char y[] = { 1 };
    const char *path = write_data(state, "|u1", "(1,)", y, sizeof y);
    int32_t *labels;
    size_t n;
    assert_int_equal(npz_read_labels(path, "labels", &labels, &n), FZ_ENOTFOUND);
    assert_non_null(strstr(fz_last_error(), "no array 'labels'"));
    assert_null(labels);
    /* The same from a float read that left out no member called "labels". */
    fz_npz kept;
    assert_int_equal(npz_read_except(path, "labels", &kept), FZ_EFORMAT);   /* y: not float */
    assert_int_equal(npz_read_except(path, "y", &kept), FZ_OK);
    /* Labels only of the array the read left out: y's are not another name's. */
    assert_int_equal(npz_skipped_labels(&kept, path, "labels", &labels, &n), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "left out 'y', not 'labels'"));
    assert_null(labels);
    npz_free(&kept);
    assert_int_equal(npz_read_labels(path, NULL, &labels, &n), FZ_EINVAL);
    assert_int_equal(npz_read_labels(tmp_file(state, "absent.npz"), "y", &labels, &n),
                     FZ_EIO);
    /* x is float32, and the float reader still says so about a labels array. */
    fz_npz z;
    assert_int_equal(npz_read(tmp_file(state, "data.npz"), &z), FZ_EFORMAT);
    assert_non_null(strstr(fz_last_error(), "'|u1' is not float32"));
    /* Left out but absent (data.npz rewritten with floats only): as npz_read_labels says it. */
    const float yf[] = { 1, 2 };
    const char *floats = write_data(state, "<f4", "(2,)", yf, sizeof yf);
    assert_int_equal(npz_read_except(floats, "labels", &kept), FZ_OK);
    assert_int_equal(npz_skipped_labels(&kept, floats, "labels", &labels, &n), FZ_ENOTFOUND);
    assert_non_null(strstr(fz_last_error(), "no array 'labels'"));
    assert_null(labels);
    npz_free(&kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_int64_labels, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reads_int32_labels, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reads_uint8_labels, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_float_labels, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_negative_label, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_label_above_int32_max, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_2d_y, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_big_endian_and_short_data, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_missing_y_and_bad_arguments, make_tmpdir,
                                        remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

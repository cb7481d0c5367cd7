/*
 * The IDX reader: tiny files, gzip'd and not, read back exactly; and every refusal —
 * bad magic, an element type other than unsigned byte, the wrong dimension count,
 * sizes that overflow, data shorter than declared (with the offset where it ran out),
 * trailing bytes, a corrupt or truncated gzip stream — returns FZ_EFORMAT with a
 * message naming the file, the field and the offset, and leaves the output empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "freezebench.h"
#include "idx.h"
#include "tmpdir_testutil.h"
#include "idx_testutil.h"

static const unsigned char LABELS[] = { 9, 0, 0, 3, 0, 2 };
static const uint32_t LABEL_DIMS[] = { 6 };

static byte_buf labels_file(void)
{
    return idx_file(0x08, LABEL_DIMS, 1, LABELS, sizeof LABELS);
}

/* Writes `b` as `name` (gzip'd first when asked) and reads it back. */
static fz_status write_and_read(void **state, const char *name, const byte_buf *b,
                                int gzip, size_t want_ndim, fz_idx_array *out)
{
    byte_buf z = gzip ? gzip_of(b) : (byte_buf){ 0 };
    const char *path = tmp_file(state, name);
    write_bytes(path, gzip ? &z : b);
    byte_buf_free(&z);
    return idx_read(path, want_ndim, out);
}

/* The read failed with FZ_EFORMAT, left *a empty, and the message names the file and
 * holds every needle. */
static void assert_refused(fz_status st, const fz_idx_array *a, const char *path,
                           const char *needle, const char *needle2)
{
    const char *msg = fz_last_error();
    assert_int_equal(st, FZ_EFORMAT);
    assert_null(a->data);
    assert_int_equal(a->count, 0);
    if (!strstr(msg, path) || !strstr(msg, needle) || (needle2 && !strstr(msg, needle2)))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", msg, needle, needle2 ? needle2 : "");
}

static void reads_uncompressed_labels(void **state)
{
    byte_buf b = labels_file();
    fz_idx_array a;
    assert_int_equal(write_and_read(state, "labels.idx", &b, 0, 1, &a), FZ_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.dims[0], 6);
    assert_int_equal(a.count, 6);
    assert_memory_equal(a.data, LABELS, sizeof LABELS);
    idx_free(&a);
    byte_buf_free(&b);
}

static void reads_gzipped_images(void **state)
{
    unsigned char pixels[2 * 3 * 4];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (unsigned char)(i * 11);
    const uint32_t dims[] = { 2, 3, 4 };
    byte_buf b = idx_file(0x08, dims, 3, pixels, sizeof pixels);
    fz_idx_array a;
    assert_int_equal(write_and_read(state, "images.idx.gz", &b, 1, 3, &a), FZ_OK);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.dims[0], 2);
    assert_int_equal(a.dims[1], 3);
    assert_int_equal(a.dims[2], 4);
    assert_int_equal(a.count, sizeof pixels);
    assert_memory_equal(a.data, pixels, sizeof pixels);
    idx_free(&a);
    byte_buf_free(&b);
}

/* More data than FIRST_CHUNK (1 MiB), gzip'd: the buffer grows as the stream delivers. */
static void reads_gzipped_data_larger_than_the_first_buffer(void **state)
{
    const uint32_t dims[] = { 3000, 20, 30 };
    size_t n = 3000 * 20 * 30;
    unsigned char *pixels = malloc(n);
    assert_non_null(pixels);
    for (size_t i = 0; i < n; i++)
        pixels[i] = (unsigned char)(i * 7 + i / 251);
    byte_buf b = idx_file(0x08, dims, 3, pixels, n);
    fz_idx_array a;
    assert_int_equal(write_and_read(state, "big.gz", &b, 1, 3, &a), FZ_OK);
    assert_int_equal(a.count, n);
    assert_memory_equal(a.data, pixels, n);
    idx_free(&a);
    byte_buf_free(&b);
    free(pixels);
}

static void reads_an_empty_set(void **state)
{
    const uint32_t dims[] = { 0 };
    byte_buf b = idx_file(0x08, dims, 1, NULL, 0);
    fz_idx_array a;
    assert_int_equal(write_and_read(state, "empty.gz", &b, 1, 1, &a), FZ_OK);
    assert_int_equal(a.count, 0);
    assert_non_null(a.data);
    idx_free(&a);
    byte_buf_free(&b);
}

static void refuses_a_bad_magic(void **state)
{
    byte_buf b = labels_file();
    b.bytes[1] = 0x01;
    fz_idx_array a;
    fz_status st = write_and_read(state, "magic.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "magic.idx", "magic at byte 0", "00 01");
    /* A .npz handed over by mistake. */
    memcpy(b.bytes, "PK\3\4", 4);
    st = write_and_read(state, "zip.idx", &b, 1, 1, &a);
    assert_refused(st, &a, "zip.idx", "not an IDX file", "50 4b");
    byte_buf_free(&b);
}

static void refuses_types_other_than_unsigned_byte(void **state)
{
    const float values[] = { 1, 2 };
    const uint32_t dims[] = { 2 };
    byte_buf b = idx_file(0x0d, dims, 1, (const unsigned char *)values, sizeof values);
    fz_idx_array a;
    fz_status st = write_and_read(state, "float.gz", &b, 1, 1, &a);
    assert_refused(st, &a, "float.gz", "type at byte 2 is 0x0d (float)", "only 0x08");
    b.bytes[2] = 0x42;
    st = write_and_read(state, "nonsense.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "nonsense.idx", "0x42 (not an IDX type)", NULL);
    byte_buf_free(&b);
}

static void refuses_the_wrong_dimension_count(void **state)
{
    byte_buf b = labels_file();
    fz_idx_array a;
    fz_status st = write_and_read(state, "labels.gz", &b, 1, 3, &a);
    assert_refused(st, &a, "labels.gz", "dimension count at byte 3 is 1", "3 wanted");
    byte_buf_free(&b);
}

static void refuses_sizes_whose_product_overflows(void **state)
{
    const uint32_t dims[] = { 0xffffffffu, 0xffffffffu, 0xffffffffu };
    byte_buf b = idx_file(0x08, dims, 3, (const unsigned char *)"abc", 3);
    fz_idx_array a;
    fz_status st = write_and_read(state, "overflow.idx", &b, 0, 3, &a);
    if (SIZE_MAX > 0xffffffffu)   /* on 64 bits the third size overflows */
        assert_refused(st, &a, "overflow.idx", "sizes overflow: dimension 2", "at byte 12");
    else
        assert_refused(st, &a, "overflow.idx", "sizes overflow: dimension 1", "at byte 8");
    byte_buf_free(&b);
}

/* Declared 6 labels, 4 present: the data starts at byte 8 and ran out at byte 12. */
static void refuses_data_shorter_than_declared(void **state)
{
    byte_buf b = idx_file(0x08, LABEL_DIMS, 1, LABELS, 4);
    fz_idx_array a;
    fz_status st = write_and_read(state, "short.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "short.idx", "6 bytes of data from byte 8",
                   "stream ends at byte 12");
    st = write_and_read(state, "short.gz", &b, 1, 1, &a);
    assert_refused(st, &a, "short.gz", "6 bytes of data from byte 8",
                   "stream ends at byte 12");
    byte_buf_free(&b);
}

static void refuses_a_truncated_header(void **state)
{
    byte_buf b = labels_file();
    b.len = 6;
    fz_idx_array a;
    fz_status st = write_and_read(state, "header.gz", &b, 1, 1, &a);
    assert_refused(st, &a, "header.gz", "size of dimension 0 at byte 4 needs 4 bytes",
                   "stream ends at byte 6");
    b.len = 2;
    st = write_and_read(state, "magic.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "magic.idx", "IDX magic at byte 0 needs 4 bytes",
                   "stream ends at byte 2");
    b.len = 0;
    st = write_and_read(state, "empty.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "empty.idx", "IDX magic at byte 0", "stream ends at byte 0");
    byte_buf_free(&b);
}

static void refuses_trailing_bytes(void **state)
{
    unsigned char more[sizeof LABELS + 2];
    memcpy(more, LABELS, sizeof LABELS);
    more[sizeof LABELS] = more[sizeof LABELS + 1] = 7;
    byte_buf b = idx_file(0x08, LABEL_DIMS, 1, more, sizeof more);
    fz_idx_array a;
    fz_status st = write_and_read(state, "trailing.idx", &b, 0, 1, &a);
    assert_refused(st, &a, "trailing.idx", "trailing bytes: the data ends at byte 14", NULL);
    st = write_and_read(state, "trailing.gz", &b, 1, 1, &a);
    assert_refused(st, &a, "trailing.gz", "trailing bytes: the data ends at byte 14", NULL);
    byte_buf_free(&b);
}

/* A second gzip member (or garbage) after the first: bytes no check looked at. */
static void refuses_bytes_after_the_gzip_stream(void **state)
{
    byte_buf b = labels_file();
    byte_buf z = gzip_of(&b);
    size_t one = z.len;
    unsigned char *two = malloc(2 * one);
    assert_non_null(two);
    memcpy(two, z.bytes, one);
    memcpy(two + one, z.bytes, one);
    byte_buf twice = { two, 2 * one };
    const char *path = tmp_file(state, "two_members.gz");
    write_bytes(path, &twice);
    fz_idx_array a;
    fz_status st = idx_read(path, 1, &a);
    char needle[64];
    snprintf(needle, sizeof needle, "%zu bytes follow the gzip stream at file byte %zu",
             one, one);
    assert_refused(st, &a, "two_members.gz", needle, NULL);
    byte_buf_free(&twice);
    byte_buf_free(&z);
    byte_buf_free(&b);
}

/* The last 8 bytes of a gzip member are the CRC-32 and the length of the data. */
static void refuses_a_crc_mismatch(void **state)
{
    byte_buf b = labels_file();
    byte_buf z = gzip_of(&b);
    z.bytes[z.len - 8] ^= 0x01;
    const char *path = tmp_file(state, "crc.gz");
    write_bytes(path, &z);
    fz_idx_array a;
    fz_status st = idx_read(path, 1, &a);
    assert_refused(st, &a, "crc.gz", "gzip stream is corrupt", "incorrect data check");
    z.bytes[z.len - 8] ^= 0x01;
    z.bytes[z.len - 1] ^= 0x01;    /* the length instead */
    write_bytes(path, &z);
    st = idx_read(path, 1, &a);
    assert_refused(st, &a, "crc.gz", "gzip stream is corrupt", "incorrect length check");
    byte_buf_free(&z);
    byte_buf_free(&b);
}

static void refuses_corrupt_deflate_data(void **state)
{
    byte_buf b = labels_file();
    byte_buf z = gzip_of(&b);
    z.bytes[10] = 0xff;             /* the first deflate block header: a reserved type */
    const char *path = tmp_file(state, "corrupt.gz");
    write_bytes(path, &z);
    fz_idx_array a;
    fz_status st = idx_read(path, 1, &a);
    assert_refused(st, &a, "corrupt.gz", "gzip stream is corrupt at file byte", "zlib:");
    byte_buf_free(&z);
    byte_buf_free(&b);
}

/* Cut anywhere — in the header, the data or the trailer — a gzip stream is refused. */
static void refuses_a_truncated_gzip_stream(void **state)
{
    byte_buf b = labels_file();
    byte_buf z = gzip_of(&b);
    const char *path = tmp_file(state, "cut.gz");
    for (size_t keep = 2; keep < z.len; keep++) {
        byte_buf cut = { z.bytes, keep };
        write_bytes(path, &cut);
        fz_idx_array a;
        fz_status st = idx_read(path, 1, &a);
        assert_int_equal(st, FZ_EFORMAT);
        assert_null(a.data);
        const char *msg = fz_last_error();
        if (!strstr(msg, "cut.gz") || (!strstr(msg, "truncated") && !strstr(msg, "corrupt")))
            fail_msg("cut at %zu of %zu: \"%s\"", keep, z.len, msg);
    }
    byte_buf cut = { z.bytes, z.len - 4 };    /* the length of the data gone */
    write_bytes(path, &cut);
    fz_idx_array a;
    fz_status st = idx_read(path, 1, &a);
    assert_refused(st, &a, "cut.gz", "gzip stream is truncated", "after byte 14");
    byte_buf_free(&z);
    byte_buf_free(&b);
}

static void refuses_what_cannot_be_read(void **state)
{
    fz_idx_array a;
    assert_int_equal(idx_read(tmp_file(state, "absent.gz"), 1, &a), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), "absent.gz"));
    tmp_ctx *c = *state;
    assert_int_equal(idx_read(c->dir, 1, &a), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), "directory"));
    assert_int_equal(idx_read(NULL, 1, &a), FZ_EINVAL);
    byte_buf b = labels_file();
    assert_int_equal(write_and_read(state, "l.idx", &b, 0, 0, &a), FZ_EINVAL);
    assert_int_equal(write_and_read(state, "l.idx", &b, 0, 4, &a), FZ_EINVAL);
    assert_null(a.data);
    byte_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_uncompressed_labels, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reads_gzipped_images, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reads_gzipped_data_larger_than_the_first_buffer,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reads_an_empty_set, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_bad_magic, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_types_other_than_unsigned_byte, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_the_wrong_dimension_count, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_sizes_whose_product_overflows, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_data_shorter_than_declared, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_truncated_header, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_trailing_bytes, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_bytes_after_the_gzip_stream, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_crc_mismatch, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_corrupt_deflate_data, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_a_truncated_gzip_stream, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(refuses_what_cannot_be_read, make_tmpdir,
                                        remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

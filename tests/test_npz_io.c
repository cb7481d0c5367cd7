/*
 * .npz parameter files: reading what numpy writes (np.savez, np.savez_compressed, .npy
 * format 1.0/2.0/3.0), the round trip through fz_save_npz, and every rejected file —
 * each returns its documented status, names the tensor or the offset, and leaves the
 * model exactly as it was.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "freezebench.h"
#include "npz.h"
#include "tmpdir_testutil.h"
#include "zip.h"

#ifndef FZ_TEST_DATA
#error "FZ_TEST_DATA must name tests/data"
#endif





static const char *fixture(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", FZ_TEST_DATA, name);
    return path;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void write_all(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* The fixtures' 4 -> 3 -> 2 model (see tests/data/make_npz_fixtures.py). */
static fz_model *fixture_shaped_model(void)
{
    const size_t widths[] = { 4, 3, 2 };
    fz_model *m = fz_mlp_create(widths, 3, 7);
    assert_non_null(m);
    return m;
}

static void assert_fixture_values(fz_model *m)
{
    size_t n;
    float *w1 = fz_param_data(m, "fc1.weight", &n);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < 12; i++)
        assert_true(w1[i] == (float)i / 4 - 1);
    const float b1[] = { 0.5f, -0.5f, 1.5f }, b2[] = { 3, -3 };
    assert_memory_equal(fz_param_data(m, "fc1.bias", &n), b1, sizeof b1);
    float *w2 = fz_param_data(m, "fc2.weight", &n);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_true(w2[i] == -(float)i / 8);
    assert_memory_equal(fz_param_data(m, "fc2.bias", &n), b2, sizeof b2);
}

static void load_fixture_and_check(const char *name)
{
    fz_model *m = fixture_shaped_model();
    assert_int_equal(fz_load_npz(m, fixture(name)), FZ_OK);
    assert_fixture_values(m);
    fz_model_free(m);
}

static void reads_numpy_savez(void **state)
{
    (void)state;
    load_fixture_and_check("good_savez.npz");
}

static void reads_numpy_savez_compressed(void **state)
{
    (void)state;
    load_fixture_and_check("good_savez_compressed.npz");
}

static void reads_npy_format_versions_2_and_3(void **state)
{
    (void)state;
    load_fixture_and_check("good_npy_v2.npz");
    load_fixture_and_check("good_npy_v3.npz");
}

static void reads_zip64_extra_fields_of_the_central_directory(void **state)
{
    (void)state;
    load_fixture_and_check("good_zip64_central.npz");
}

static void mlp_from_npz_infers_widths_from_weights(void **state)
{
    (void)state;
    fz_model *m = fz_mlp_from_npz(fixture("good_savez_compressed.npz"));
    assert_non_null(m);
    assert_int_equal(fz_layer_count(m), 2);
    assert_int_equal(fz_width(m, 0), 4);
    assert_int_equal(fz_width(m, 1), 3);
    assert_int_equal(fz_width(m, 2), 2);
    assert_true(fz_requires_grad(m, "fc1.weight"));
    assert_fixture_values(m);
    fz_model_free(m);
}

static void round_trip_is_bit_exact(void **state)
{
    const size_t widths[] = { 10, 7, 5, 1 };
    fz_model *a = fz_mlp_create(widths, 4, 1), *b = fz_mlp_create(widths, 4, 2);
    const char *path = tmp_file(state, "round.npz");
    assert_int_equal(fz_save_npz(a, path), FZ_OK);
    assert_int_equal(fz_load_npz(b, path), FZ_OK);
    for (size_t i = 0; i < fz_param_count(a); i++) {
        const char *name = fz_param_name(a, i);
        size_t na, nb;
        float *pa = fz_param_data(a, name, &na), *pb = fz_param_data(b, name, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(pa, pb, na * sizeof(float));
    }
    /* the arrays carry state_dict shapes: (O, I) weights, (O,) biases */
    fz_npz z;
    assert_int_equal(npz_read(path, &z), FZ_OK);
    assert_int_equal(z.count, 6);
    const fz_npz_array *w2 = npz_find(&z, "fc2.weight"), *b3 = npz_find(&z, "fc3.bias");
    assert_non_null(w2);
    assert_non_null(b3);
    assert_int_equal(w2->ndim, 2);
    assert_int_equal(w2->shape[0], 5);
    assert_int_equal(w2->shape[1], 7);
    assert_int_equal(b3->ndim, 1);
    assert_int_equal(b3->shape[0], 1);
    npz_free(&z);
    fz_model_free(a);
    fz_model_free(b);
}

static void save_leaves_no_temporary_file(void **state)
{
    const size_t widths[] = { 3, 2 };
    fz_model *m = fz_mlp_create(widths, 2, 1);
    tmp_ctx *c = *state;
    assert_int_equal(fz_save_npz(m, tmp_file(state, "only.npz")), FZ_OK);
    assert_int_equal(fz_save_npz(m, tmp_file(state, "only.npz")), FZ_OK);
    size_t entries = 0;
    DIR *d = opendir(c->dir);
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    fz_model_free(m);
}

static void save_into_missing_directory_is_eio(void **state)
{
    (void)state;
    const size_t widths[] = { 3, 2 };
    fz_model *m = fz_mlp_create(widths, 2, 1);
    assert_int_equal(fz_save_npz(m, "/nonexistent-dir/x.npz"), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), "/nonexistent-dir/x.npz"));
    fz_model_free(m);
}

/* Loads `path` into a fixture-shaped model and checks the status, that the message
 * holds every `needles` string, and that no parameter changed. */
static void assert_rejected(const char *path, fz_status want, const char *needle1,
                            const char *needle2)
{
    fz_model *m = fixture_shaped_model(), *same = fixture_shaped_model();
    fz_status got = fz_load_npz(m, path);
    const char *msg = fz_last_error();
    if (got != want || !strstr(msg, needle1) || (needle2 && !strstr(msg, needle2)))
        fail_msg("%s: got %s \"%s\", want %s naming '%s'", path, fz_status_name(got), msg,
                 fz_status_name(want), needle1);
    for (size_t i = 0; i < fz_param_count(m); i++) {
        const char *name = fz_param_name(m, i);
        size_t n;
        float *p = fz_param_data(m, name, &n);
        assert_memory_equal(p, fz_param_data(same, name, NULL), n * sizeof(float));
    }
    fz_model_free(m);
    fz_model_free(same);
}

static void unknown_tensor_is_enotfound_naming_it(void **state)
{
    (void)state;
    assert_rejected(fixture("unknown_tensor.npz"), FZ_ENOTFOUND, "fc1.scale", "unknown");
}

static void missing_tensor_is_enotfound_naming_it(void **state)
{
    (void)state;
    assert_rejected(fixture("missing_tensor.npz"), FZ_ENOTFOUND, "fc2.bias", "missing");
}

static void misshaped_tensor_is_eformat_naming_both_shapes(void **state)
{
    (void)state;
    assert_rejected(fixture("misshaped_tensor.npz"), FZ_EFORMAT, "fc1.weight", "(4, 3)");
}

static void float64_is_a_dtype_error(void **state)
{
    (void)state;
    assert_rejected(fixture("dtype_f8.npz"), FZ_EFORMAT, "fc2.weight", "'<f8'");
}

static void big_endian_is_a_byte_order_error(void **state)
{
    (void)state;
    assert_rejected(fixture("byteorder_be.npz"), FZ_EFORMAT, "fc2.weight", "byte order");
}

static void fortran_order_is_rejected(void **state)
{
    (void)state;
    assert_rejected(fixture("fortran_order.npz"), FZ_EFORMAT, "fc1.weight", "fortran_order");
}

static void truncated_archive_is_eformat(void **state)
{
    size_t len;
    unsigned char *buf = read_all(fixture("good_savez.npz"), &len);
    const char *path = tmp_file(state, "truncated.npz");
    const size_t cuts[] = { len - 1, len - 30, len / 2, 10, 0 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_all(path, buf, cuts[i]);
        assert_rejected(path, FZ_EFORMAT, path, "truncated");
    }
    free(buf);
}

static size_t find_first(const unsigned char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(buf + i, s, n))
            return i;
    fail_msg("'%s' not found", s);
    return 0;
}

static void corrupt_data_fails_the_crc_check(void **state)
{
    size_t len;
    unsigned char *buf = read_all(fixture("good_savez.npz"), &len);
    /* the last float of fc2.bias ends right where the central directory starts */
    size_t cd = find_first(buf, len, "PK\x01\x02");
    buf[cd - 1] ^= 0x40;
    const char *path = tmp_file(state, "crc.npz");
    write_all(path, buf, len);
    assert_rejected(path, FZ_EFORMAT, "CRC-32", "offset");
    free(buf);
}

static void corrupt_deflate_stream_is_eformat(void **state)
{
    size_t len;
    unsigned char *buf = read_all(fixture("good_savez_compressed.npz"), &len);
    /* the first member's compressed data begins after its 30-byte header, its name and
     * its extra field */
    size_t data = 30 + (buf[26] | buf[27] << 8) + (buf[28] | buf[29] << 8);
    for (size_t i = data; i < data + 8; i++)
        buf[i] ^= 0xa5;
    const char *path = tmp_file(state, "deflate.npz");
    write_all(path, buf, len);
    assert_rejected(path, FZ_EFORMAT, "fc1.weight", NULL);
    free(buf);
}

/* Flips every byte of a numpy-written archive in turn: each result either loads the
 * exact fixture values (the byte was one the reader may ignore, such as a timestamp) or
 * is rejected with a message and the model untouched — never a crash or wrong values. */
static void flip_every_byte(void **state, const char *name)
{
    size_t len;
    unsigned char *buf = read_all(fixture(name), &len);
    const char *path = tmp_file(state, "flipped.npz");
    size_t loaded = 0;
    for (size_t at = 0; at < len; at++) {
        buf[at] ^= 0xff;
        write_all(path, buf, len);
        buf[at] ^= 0xff;
        fz_model *m = fixture_shaped_model(), *same = fixture_shaped_model();
        fz_status st = fz_load_npz(m, path);
        if (st == FZ_OK) {
            assert_fixture_values(m);
            loaded++;
        } else {
            assert_true(st == FZ_EFORMAT || st == FZ_ENOTFOUND);
            assert_true(strlen(fz_last_error()) > 0);
            for (size_t i = 0; i < fz_param_count(m); i++) {
                const char *pn = fz_param_name(m, i);
                size_t n;
                float *p = fz_param_data(m, pn, &n);
                assert_memory_equal(p, fz_param_data(same, pn, NULL), n * sizeof(float));
            }
        }
        fz_model_free(m);
        fz_model_free(same);
    }
    /* most bytes matter: data and headers are covered by the CRC or checked directly */
    assert_true(loaded < len / 2);
    free(buf);
}

static void every_single_byte_corruption_is_caught_or_harmless(void **state)
{
    flip_every_byte(state, "good_savez.npz");
    flip_every_byte(state, "good_savez_compressed.npz");
}

static void missing_file_is_eio(void **state)
{
    assert_rejected(tmp_file(state, "absent.npz"), FZ_EIO, "absent.npz", NULL);
}

static void not_a_zip_is_eformat(void **state)
{
    const char *path = tmp_file(state, "text.npz");
    const char text[] = "this is not an archive, just some text that is long enough";
    write_all(path, (const unsigned char *)text, sizeof text);
    assert_rejected(path, FZ_EFORMAT, "end-of-central-directory", NULL);
}

static void mlp_from_npz_rejects_inconsistent_layers(void **state)
{
    (void)state;
    /* fc1.weight is (4, 3) here: 4 outputs, while fc2.weight takes 3 inputs */
    assert_null(fz_mlp_from_npz(fixture("misshaped_tensor.npz")));
    assert_non_null(strstr(fz_last_error(), "fc2.weight"));
    assert_null(fz_mlp_from_npz(fixture("byteorder_be.npz")));
    assert_non_null(strstr(fz_last_error(), "byte order"));
}

/* ---- hostile files and outputs --------------------------------------------------- */

/* fc1.weight[0][0] NaN: refused on load, naming the tensor and the element. */
static void nan_parameter_is_refused_naming_tensor_and_element(void **state)
{
    fz_model *m = fixture_shaped_model();
    size_t n;
    fz_param_data(m, "fc2.weight", &n)[4] = NAN;   /* row 1, column 1 of 2×3 */
    const char *path = tmp_file(state, "nan.npz");
    assert_int_equal(fz_save_npz(m, path), FZ_OK);
    fz_model_free(m);
    assert_rejected(path, FZ_ENONFINITE, "fc2.weight", "[1, 1]");
    assert_null(fz_mlp_from_npz(path));
    assert_non_null(strstr(fz_last_error(), "fc2.weight"));
}

/* An end record counting 2 of the directory's 4 entries is corrupt, not a 1-layer model. */
static void end_record_counting_fewer_members_than_the_directory_is_corrupt(void **state)
{
    size_t len;
    unsigned char *buf = read_all(fixture("good_savez.npz"), &len);
    const char *path = tmp_file(state, "count2.npz");
    size_t eocd = len - 22;
    assert_true(buf[eocd] == 'P' && buf[eocd + 1] == 'K' && buf[eocd + 10] == 4);
    buf[eocd + 8] = buf[eocd + 10] = 2;
    write_all(path, buf, len);
    assert_rejected(path, FZ_EFORMAT, "counts 2 members", "corrupt archive");
    free(buf);
}

static void directory_as_archive_is_eio_saying_so(void **state)
{
    tmp_ctx *c = *state;
    assert_rejected(c->dir, FZ_EIO, c->dir, "directory");
}

/* /dev/zero is not a zip archive: refused after its first bytes, not read forever. */
static void endless_device_is_refused_after_its_first_bytes(void **state)
{
    (void)state;
    assert_rejected("/dev/zero", FZ_EFORMAT, "/dev/zero", "not a zip archive");
}

static void save_to_empty_path_is_einval(void **state)
{
    (void)state;
    fz_model *m = fixture_shaped_model();
    assert_int_equal(fz_save_npz(m, ""), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "empty"));
    fz_model_free(m);
}

/* A symlink, a FIFO or a directory at the output is refused and left as it was, never
 * replaced by a regular file. */
static void save_refuses_symlink_fifo_and_directory_outputs(void **state)
{
    tmp_ctx *c = *state;
    fz_model *m = fixture_shaped_model();
    char target[128], link[128], fifo[128], dir[128];
    snprintf(target, sizeof target, "%s/target", c->dir);
    snprintf(link, sizeof link, "%s/link.npz", c->dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.npz", c->dir);
    snprintf(dir, sizeof dir, "%s/dir.npz", c->dir);
    write_all(target, (const unsigned char *)"keep", 4);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *outs[] = { link, fifo, dir };
    const char *kinds[] = { "symbolic link", "FIFO", "directory" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fz_save_npz(m, outs[i]), FZ_EIO);
        assert_non_null(strstr(fz_last_error(), kinds[i]));
    }
    struct stat sb;
    assert_true(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    assert_true(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    assert_true(lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    assert_true(stat(target, &sb) == 0 && sb.st_size == 4);
    assert_int_equal(rmdir(dir), 0);
    fz_model_free(m);
}

/* A new file follows the umask, a replaced one keeps its mode (both were 0644). */
static void save_honours_the_umask_and_keeps_a_replaced_files_mode(void **state)
{
    fz_model *m = fixture_shaped_model();
    const char *path = tmp_file(state, "mode.npz");
    mode_t old_mask = umask(077);
    fz_status st = fz_save_npz(m, path);
    umask(old_mask);
    assert_int_equal(st, FZ_OK);
    struct stat sb;
    assert_true(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(fz_save_npz(m, path), FZ_OK);
    assert_true(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    fz_model_free(m);
}

/* A temporary file whose writer is gone (SIGKILL) is removed by the next save; one of a
 * writer still running is not. */
static void save_removes_temporaries_of_killed_writers(void **state)
{
    tmp_ctx *c = *state;
    fz_model *m = fixture_shaped_model();
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    char stale[160], live[160];
    snprintf(stale, sizeof stale, "%s/out.npz.tmp-%ld-0", c->dir, (long)child);
    snprintf(live, sizeof live, "%s/out.npz.tmp-%ld-0", c->dir, (long)getppid());
    write_all(stale, (const unsigned char *)"half", 4);
    write_all(live, (const unsigned char *)"half", 4);
    assert_int_equal(fz_save_npz(m, tmp_file(state, "out.npz")), FZ_OK);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    fz_model_free(m);
}

/* A 255-byte name is valid: the temporary name beside it must fit too. */
static void save_to_a_name_of_255_bytes_works(void **state)
{
    tmp_ctx *c = *state;
    fz_model *m = fixture_shaped_model();
    char path[512];
    int n = snprintf(path, sizeof path, "%s/", c->dir);
    memset(path + n, 'n', 251);
    strcpy(path + n + 251, ".npz");
    assert_int_equal(fz_save_npz(m, path), FZ_OK);
    assert_int_equal(fz_load_npz(m, path), FZ_OK);
    memset(path + n, 'n', 252);   /* 256 bytes: refused before anything is written */
    strcpy(path + n + 252, ".npz");
    assert_int_equal(fz_save_npz(m, path), FZ_EIO);
    assert_non_null(strstr(fz_last_error(), "file name is 256 bytes"));
    fz_model_free(m);
}

/* A full disk names its cause (the message was "write error in member ..." alone). */
static void write_error_names_the_system_reason(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "wb");
    if (!full)
        skip();
    static unsigned char body[1 << 16];
    fz_zip_entry e = { "big.npy", body, 16, body, sizeof body };
    fz_status st = zip_write(full, &e, 1, "full.npz");
    fclose(full);
    assert_int_equal(st, FZ_EIO);
    assert_non_null(strstr(fz_last_error(), strerror(ENOSPC)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_numpy_savez),
        cmocka_unit_test(reads_numpy_savez_compressed),
        cmocka_unit_test(reads_npy_format_versions_2_and_3),
        cmocka_unit_test(reads_zip64_extra_fields_of_the_central_directory),
        cmocka_unit_test(mlp_from_npz_infers_widths_from_weights),
        cmocka_unit_test_setup_teardown(round_trip_is_bit_exact, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(save_leaves_no_temporary_file, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test(save_into_missing_directory_is_eio),
        cmocka_unit_test(unknown_tensor_is_enotfound_naming_it),
        cmocka_unit_test(missing_tensor_is_enotfound_naming_it),
        cmocka_unit_test(misshaped_tensor_is_eformat_naming_both_shapes),
        cmocka_unit_test(float64_is_a_dtype_error),
        cmocka_unit_test(big_endian_is_a_byte_order_error),
        cmocka_unit_test(fortran_order_is_rejected),
        cmocka_unit_test_setup_teardown(truncated_archive_is_eformat, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(corrupt_data_fails_the_crc_check, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(corrupt_deflate_stream_is_eformat, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(every_single_byte_corruption_is_caught_or_harmless,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(missing_file_is_eio, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(not_a_zip_is_eformat, make_tmpdir, remove_tmpdir),
        cmocka_unit_test(mlp_from_npz_rejects_inconsistent_layers),
#define TMP(fn) cmocka_unit_test_setup_teardown(fn, make_tmpdir, remove_tmpdir)
        TMP(nan_parameter_is_refused_naming_tensor_and_element),
        TMP(end_record_counting_fewer_members_than_the_directory_is_corrupt),
        TMP(directory_as_archive_is_eio_saying_so),
        cmocka_unit_test(endless_device_is_refused_after_its_first_bytes),
        cmocka_unit_test(save_to_empty_path_is_einval),
        TMP(save_refuses_symlink_fifo_and_directory_outputs),
        TMP(save_honours_the_umask_and_keeps_a_replaced_files_mode),
        TMP(save_removes_temporaries_of_killed_writers),
        TMP(save_to_a_name_of_255_bytes_works),
        cmocka_unit_test(write_error_names_the_system_reason),
#undef TMP
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

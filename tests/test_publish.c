/* Publishing results without destroying any: default names per system, no silent
 * overwrite, no rows of two machines mixed unasked, no second writer, and every refusal
 * decided before measuring (bench/results/publish.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "publish.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

typedef struct {
    char dir[64];
    fzb_context ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/fzb_publishXXXXXX");
    if (!mkdtemp(f->dir) || chdir(f->dir) != 0 || mkdir("results", 0755) != 0)
        return -1;
    fzb_context_get(&f->ctx);
    /* A committed build's revision, whatever tree these tests were built from: the
     * dirty-tree refusal has a test of its own. */
    snprintf(f->ctx.machine.git_revision, sizeof f->ctx.machine.git_revision, "0123abc");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (chdir("/") != 0 || system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A results file of one row measured on `ctx`'s machine, with `host` replaced if given. */
static void write_results(const char *path, const fzb_context *ctx, const char *host)
{
    fzb_context c = *ctx;
    if (host)
        snprintf(c.machine.host, sizeof c.machine.host, "%s", host);
    fzb_csv *t = fzb_result_table();
    fzb_result r = { .bench = "freeze_sweep", .impl = "freezebench", .model = "10,5,1",
                     .batch = 8, .freeze_spec = "none", .threads = 1, .phase = "step",
                     .repetitions = 1, .time_min_s = 1, .time_median_s = 1, .time_max_s = 1 };
    assert_int_equal(fzb_result_add(t, &c, &r), FZ_OK);
    assert_int_equal(fzb_csv_write(t, path), FZ_OK);
    fzb_csv_free(t);
}

static void default_name_is_per_system_and_threads(void **state)
{
    fixture *f = *state;
    fzb_publish p;
    fzb_publish_opts o = { .prefix = "", .threads = "1_2" };
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_publish_begin(&p, &o, &f->ctx, t, NULL), FZ_OK);
    char want[256];
    snprintf(want, sizeof want, "results/%s-1_2.csv", f->ctx.machine.system_id);
    assert_string_equal(p.path, want);
    fzb_publish_end(&p);
    fzb_csv_free(t);
}

static void published_default_file_is_never_replaced(void **state)
{
    fixture *f = *state;
    char published[256];
    snprintf(published, sizeof published, "results/%s-1.csv", f->ctx.machine.system_id);
    write_text(published, "precious\n");
    fzb_publish p;
    fzb_publish_opts o = { .prefix = "", .threads = "1" };
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_publish_begin(&p, &o, &f->ctx, t, NULL), FZ_OK);
    assert_string_not_equal(p.path, published);
    assert_int_equal(strncmp(p.path, published, strlen(published) - 4), 0);   /* dated */
    assert_int_equal(fzb_publish_write(&p, t), FZ_OK);
    fzb_publish_end(&p);
    FILE *fp = fopen(published, "r");
    char line[32] = "";
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_string_equal(line, "precious\n");
    fzb_csv_free(t);
}

static void existing_output_is_refused_without_append_or_overwrite(void **state)
{
    (void)state;
    write_text("mine.csv", "x\n");
    fzb_publish p;
    fzb_publish_opts o = { .output = "mine.csv", .threads = "1" };
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_publish_begin(&p, &o, &((fixture *)*state)->ctx, t, NULL),
                     FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "--overwrite"));
    o.overwrite = true;
    assert_int_equal(fzb_publish_begin(&p, &o, &((fixture *)*state)->ctx, t, NULL), FZ_OK);
    assert_int_equal(fzb_publish_write(&p, t), FZ_OK);
    fzb_publish_end(&p);
    fzb_csv_free(t);
}

static void non_regular_outputs_are_refused(void **state)
{
    (void)state;
    assert_int_equal(mkfifo("fifo.csv", 0644), 0);
    assert_int_equal(symlink("target.csv", "link.csv"), 0);
    assert_int_equal(mkdir("dir.csv", 0755), 0);
    write_text("file.csv", "x\n");
    const char *bad[] = { "fifo.csv", "link.csv", "dir.csv", "dir.csv/", "file.csv/x.csv",
                          "no-such-dir/x.csv", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(fzb_publish_check_path(bad[i]), FZ_EINVAL);
        assert_non_null(strstr(fz_last_error(), bad[i]));
    }
    struct stat st;
    assert_int_equal(lstat("link.csv", &st), 0);
    assert_true(S_ISLNK(st.st_mode));   /* untouched */
    assert_int_equal(fzb_publish_check_path("new.csv"), FZ_OK);
    assert_int_equal(fzb_publish_check_path("file.csv"), FZ_OK);
}

/* The temporary file's name is cut to fit (file_replace), so every valid name can be
 * written, the longest too; only names no file system takes are refused. */
static void every_valid_name_is_written(void **state)
{
    (void)state;
    char name[NAME_MAX + 2];
    memset(name, 'a', NAME_MAX - 4);
    strcpy(name + NAME_MAX - 4, ".csv");   /* NAME_MAX bytes */
    assert_int_equal(fzb_publish_check_path(name), FZ_OK);
    fzb_csv *t = fzb_result_table();
    assert_non_null(t);
    assert_int_equal(fzb_csv_write(t, name), FZ_OK);
    assert_int_equal(unlink(name), 0);
    fzb_csv_free(t);
    memset(name, 'a', NAME_MAX + 1);
    name[NAME_MAX + 1] = '\0';
    assert_int_equal(fzb_publish_check_path(name), FZ_EINVAL);
}

static void append_refuses_rows_of_another_machine_unless_forced(void **state)
{
    fixture *f = *state;
    write_results("other.csv", &f->ctx, "another-host");
    write_results("same.csv", &f->ctx, NULL);
    fzb_publish p;
    fzb_csv *t = fzb_result_table();
    fzb_publish_opts o = { .output = "other.csv", .threads = "1", .append = true };
    assert_int_equal(fzb_publish_begin(&p, &o, &f->ctx, t, NULL), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "another-host"));
    assert_int_equal(fzb_csv_rows(t), 0);
    assert_int_equal(access(".other.csv.lock", F_OK), -1);   /* refusal holds nothing */
    o.force = true;
    assert_int_equal(fzb_publish_begin(&p, &o, &f->ctx, t, NULL), FZ_OK);
    assert_int_equal(fzb_csv_rows(t), 1);
    fzb_publish_end(&p);
    fzb_csv_free(t);

    t = fzb_result_table();
    fzb_publish_opts same = { .output = "same.csv", .threads = "1", .append = true };
    assert_int_equal(fzb_publish_begin(&p, &same, &f->ctx, t, NULL), FZ_OK);
    assert_int_equal(fzb_csv_rows(t), 1);
    fzb_publish_end(&p);
    fzb_csv_free(t);
}

static void a_second_writer_of_the_same_file_is_refused(void **state)
{
    fixture *f = *state;
    fzb_publish first, second;
    fzb_csv *t = fzb_result_table();
    fzb_publish_opts o = { .output = "shared.csv", .threads = "1", .append = true };
    assert_int_equal(fzb_publish_begin(&first, &o, &f->ctx, t, NULL), FZ_OK);
    assert_int_equal(fzb_publish_begin(&second, &o, &f->ctx, t, NULL), FZ_EINVAL);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    assert_non_null(strstr(fz_last_error(), pid));
    fzb_publish_end(&first);
    assert_int_equal(fzb_publish_begin(&second, &o, &f->ctx, t, NULL), FZ_OK);
    fzb_publish_end(&second);
    fzb_publish_end(&second);   /* twice is harmless */
    fzb_csv_free(t);
}

static void a_dirty_build_publishes_only_when_allowed(void **state)
{
    fixture *f = *state;
    assert_false(fzb_revision_is_dirty("0123abc"));
    assert_false(fzb_revision_is_dirty("dirty"));
    assert_true(fzb_revision_is_dirty("0123abc-dirty"));
    fzb_context dirty = f->ctx;
    snprintf(dirty.machine.git_revision, sizeof dirty.machine.git_revision, "0123abc-dirty");
    fzb_publish p;
    fzb_publish_opts o = { .output = "dirty.csv", .threads = "1" };
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_publish_begin(&p, &o, &dirty, t, NULL), FZ_EINVAL);
    assert_non_null(strstr(fz_last_error(), "0123abc-dirty"));
    assert_non_null(strstr(fz_last_error(), "--allow-dirty"));
    assert_int_equal(access("dirty.csv", F_OK), -1);   /* refused before anything is held */
    assert_int_equal(access(".dirty.csv.lock", F_OK), -1);
    o.allow_dirty = true;
    assert_int_equal(fzb_publish_begin(&p, &o, &dirty, t, NULL), FZ_OK);
    assert_int_equal(fzb_publish_write(&p, t), FZ_OK);
    fzb_publish_end(&p);
    assert_int_equal(access("dirty.csv", F_OK), 0);
    fzb_csv_free(t);
}

/* Three runs within one second all find the default file there: each writes its own
 * dated file, none replaces another's. */
static void runs_in_the_same_second_get_their_own_files(void **state)
{
    fixture *f = *state;
    char published[256], seen[3][1024];
    snprintf(published, sizeof published, "results/%s-1.csv", f->ctx.machine.system_id);
    write_text(published, "first\n");
    for (int i = 0; i < 3; i++) {
        fzb_publish p;
        fzb_publish_opts o = { .prefix = "", .threads = "1" };
        fzb_csv *t = fzb_result_table();
        assert_int_equal(fzb_publish_begin(&p, &o, &f->ctx, t, NULL), FZ_OK);
        snprintf(seen[i], sizeof seen[i], "%s", p.path);
        assert_int_equal(access(p.path, F_OK), -1);   /* a name nobody has written */
        assert_int_equal(fzb_publish_write(&p, t), FZ_OK);
        fzb_publish_end(&p);
        fzb_csv_free(t);
    }
    assert_string_not_equal(seen[0], seen[1]);
    assert_string_not_equal(seen[1], seen[2]);
    assert_string_not_equal(seen[0], seen[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_name_is_per_system_and_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(published_default_file_is_never_replaced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(existing_output_is_refused_without_append_or_overwrite,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(non_regular_outputs_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(every_valid_name_is_written,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(append_refuses_rows_of_another_machine_unless_forced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_writer_of_the_same_file_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_dirty_build_publishes_only_when_allowed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(runs_in_the_same_second_get_their_own_files, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

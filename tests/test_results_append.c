/* freeze_sweep --append: rows of an existing results file are kept, and a file of another
 * schema is refused before any measuring, with nothing added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "csv.h"
#include "results.h"

static char path[64];

static int make_path(void **state)
{
    (void)state;
    strcpy(path, "/tmp/fz_append_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    return 0;
}

static int remove_path(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A table of one row of this schema, every field "7" but the version. */
static fzb_csv *one_row_table(const char *version)
{
    fzb_csv *t = fzb_result_table();
    const char *fields[fzb_result_n_columns];
    for (size_t c = 0; c < fzb_result_n_columns; c++)
        fields[c] = strcmp(fzb_result_columns[c], "schema_version") ? "7" : version;
    assert_int_equal(fzb_csv_add_row(t, fields), FZ_OK);
    return t;
}

static void append_to_a_missing_file_starts_it(void **state)
{
    (void)state;
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_result_table_append_file(t, path, NULL), FZ_OK);
    assert_int_equal(fzb_csv_rows(t), 0);
    fzb_csv_free(t);
}

static void append_keeps_the_rows_of_the_same_schema(void **state)
{
    (void)state;
    char version[8];
    snprintf(version, sizeof version, "%d", FZB_SCHEMA_VERSION);
    fzb_csv *old = one_row_table(version);
    assert_int_equal(fzb_csv_write(old, path), FZ_OK);
    fzb_csv_free(old);
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_result_table_append_file(t, path, NULL), FZ_OK);
    assert_int_equal(fzb_csv_rows(t), 1);
    fzb_csv_free(t);
}

static void append_refuses_a_row_of_another_schema_version(void **state)
{
    (void)state;
    fzb_csv *old = one_row_table("0");
    assert_int_equal(fzb_csv_write(old, path), FZ_OK);
    fzb_csv_free(old);
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_result_table_append_file(t, path, NULL), FZ_EFORMAT);
    assert_non_null(strstr(fz_last_error(), "schema version '0'"));
    assert_int_equal(fzb_csv_rows(t), 0);
    fzb_csv_free(t);
}

static void append_refuses_other_columns(void **state)
{
    (void)state;
    write_text("schema_version,something_else\r\n1,2\r\n");
    fzb_csv *t = fzb_result_table();
    assert_int_equal(fzb_result_table_append_file(t, path, NULL), FZ_EFORMAT);
    assert_non_null(strstr(fz_last_error(), "refusing to append"));
    assert_int_equal(fzb_csv_rows(t), 0);
    fzb_csv_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_to_a_missing_file_starts_it, make_path, remove_path),
        cmocka_unit_test_setup_teardown(append_keeps_the_rows_of_the_same_schema, make_path, remove_path),
        cmocka_unit_test_setup_teardown(append_refuses_a_row_of_another_schema_version, make_path, remove_path),
        cmocka_unit_test_setup_teardown(append_refuses_other_columns, make_path, remove_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

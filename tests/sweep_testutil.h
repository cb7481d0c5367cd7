/* For the sweep tests: a sweep run in-process from command-line arguments, its rows
 * written as the CSV the program writes and read back, and field access by column name. */
#ifndef FZB_SWEEP_TESTUTIL_H
#define FZB_SWEEP_TESTUTIL_H

#include <stdlib.h>
#include <unistd.h>

#include "sweep.h"

/* Runs the sweep that `argv` (argc arguments, argv[0] the program) describes on `cores`
 * cores, with fixed limits, and reads its CSV back into *out.  0, or -1 on any failure. */
static inline int sweep_run_and_read(int argc, const char **argv, int cores,
                                     fzb_csv **out)
{
    fzb_sweep_args a;
    if (fzb_sweep_args_parse(argc, (char **)argv, &a) != FZ_OK)
        return -1;
    fzb_sweep *s;
    if (fzb_sweep_create(&a, cores, NULL, &s) != FZ_OK || fzb_sweep_register(s, &a) != FZ_OK)
        return -1;
    fzb_results *r = fzb_run_all(FZB_QUIET);
    fzb_limits lim = { .peak_gflops_per_core = 10, .bandwidth_gbytes_per_s = 5,
                       .fma_isa = "avx512" };
    fzb_context ctx;
    fzb_context_get(&ctx);
    fzb_csv *t = fzb_result_table();
    char path[] = "/tmp/fzb_sweep_XXXXXX";
    int fd = mkstemp(path);
    int ok = r && t && fd >= 0 && fzb_sweep_rows(s, r, &lim, &ctx, t) == FZ_OK
             && fzb_csv_write(t, path) == FZ_OK && fzb_csv_read(path, out) == FZ_OK;
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    fzb_csv_free(t);
    fzb_results_free(r);
    fzb_sweep_free(s);
    return ok ? 0 : -1;
}

/* Field `col` of row `row`; fails the test if there is no such column. */
static inline const char *sweep_field(const fzb_csv *rows, size_t row, const char *col)
{
    size_t c = fzb_csv_column(rows, col);
    assert_true(c != (size_t)-1);
    return fzb_csv_field(rows, row, c);
}

#endif

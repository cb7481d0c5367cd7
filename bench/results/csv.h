/*
 * A table of text fields and its CSV file (RFC 4180: comma separated, CRLF line ends,
 * a field quoted when it holds a comma, quote, CR or LF, quotes doubled inside).
 * Files are written whole: into a temporary file next to the target, flushed to disk,
 * then renamed over it, so a reader sees the old file or the new one, never half.
 */
#ifndef FZB_CSV_H
#define FZB_CSV_H

#include <stddef.h>

#include "freezebench.h"

typedef struct fzb_csv fzb_csv;

/* An empty table with these column names (copied).  NULL when out of memory. */
fzb_csv *fzb_csv_new(const char *const *columns, size_t n_columns);
void     fzb_csv_free(fzb_csv *t);

/* Appends a row of exactly n_columns fields (copied; NULL is written as empty). */
fz_status fzb_csv_add_row(fzb_csv *t, const char *const *fields);

size_t      fzb_csv_rows(const fzb_csv *t);
size_t      fzb_csv_columns(const fzb_csv *t);
const char *fzb_csv_column_name(const fzb_csv *t, size_t col);
/* Index of a column by name, or (size_t)-1. */
size_t      fzb_csv_column(const fzb_csv *t, const char *name);
const char *fzb_csv_field(const fzb_csv *t, size_t row, size_t col);

/* Writes header and rows to `path` whole.  FZ_EIO (naming the path and the reason) if any
 * step fails; the file at `path` is then as it was. */
fz_status fzb_csv_write(const fzb_csv *t, const char *path);

/* Reads a file written as above (any RFC 4180 file with a header row, every record
 * ending in a line end).  FZ_EIO if it cannot be read (a directory among others),
 * FZ_EFORMAT as for fzb_csv_parse. */
fz_status fzb_csv_read(const char *path, fzb_csv **out);

/* The same from len bytes of text in memory (`what` names it in messages).  Besides the
 * field counts, FZ_EFORMAT for an empty text, a NUL byte, and a text cut short: one whose
 * last record has no line end or that ends inside a quoted field. */
fz_status fzb_csv_parse(const char *text, size_t len, const char *what, fzb_csv **out);

#endif

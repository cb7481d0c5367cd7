/*
 * Internal: writing a file so that readers see the old one or the new one whole, never a
 * part: the content goes to a temporary file beside the output, is flushed to disk, and
 * is renamed over the output.  Every file the library and the bench programs write goes
 * through here (.npz archives, results CSVs).
 */
#ifndef FZ_IO_REPLACE_H
#define FZ_IO_REPLACE_H

#include <stddef.h>
#include <stdio.h>

#include "freezebench.h"

/* Writes the content into `f`; a failure leaves its message (fz_set_error) and returns
 * its status, and the output is left as it was. */
typedef fz_status fz_file_writer(FILE *f, void *ctx);

/* Replaces `path` by what `write` writes.  The temporary file is "<name>.tmp-<pid>-<n>"
 * (the name cut to 200 bytes, so any valid name has room for the suffix); ones that a
 * killed writer left behind are removed first.  A new file gets mode 0666 less the
 * umask, as open(2) would give it; a replaced file keeps its mode.  FZ_EIO, with path and
 * reason, when a step fails. */
fz_status fz_file_replace(const char *path, fz_file_writer *write, void *ctx);

/* The length of path's directory part, its slash included (0 when there is none). */
size_t fz_path_dir_len(const char *path);

#endif /* FZ_IO_REPLACE_H */

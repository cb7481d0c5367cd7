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
#include <sys/types.h>

#include "freezebench.h"

/* Writes the content into `f`; a failure leaves its message (set_error) and returns
 * its status, and the output is left as it was. */
typedef fz_status fz_file_writer(FILE *f, void *ctx);

/* Replaces `path` by what `write` writes.  The temporary file is "<name>.tmp-<pid>-<n>"
 * (the name cut to 200 bytes, so any valid name has room for the suffix); ones that a
 * killed writer left behind are removed first.  While the write runs, a SIGINT, SIGTERM
 * or SIGHUP whose action is the default removes the temporary file and then ends the
 * process by that signal as it would have; one the program ignores or handles is left
 * to it (replace.c says why).  A new file gets mode 0666 less the umask, as open(2)
 * would give it; a replaced file keeps its mode.  FZ_EIO, with path and reason, when a
 * step fails. */
fz_status file_replace(const char *path, fz_file_writer *write, void *ctx);

/* Whether `path` can take an output now, so a program can ask before hours of work:
 * FZ_EINVAL for an empty path; FZ_EIO, naming the reason, for a name that is a
 * directory or longer than NAME_MAX, an existing entry that is not a regular file
 * (directory, symlink, FIFO, device node: refused, never replaced — replacing one by a
 * regular file destroys what it was, and a rename cannot write through it), a path
 * through a non-directory, or a directory that does not take new files. */
fz_status file_check_output(const char *path);

/* "a directory", "a symbolic link", "a FIFO", ...: what a file of this mode is, for
 * messages. */
const char *file_kind(mode_t mode);

/* The length of path's directory part, its slash included (0 when there is none). */
size_t path_dir_len(const char *path);

#endif /* FZ_IO_REPLACE_H */

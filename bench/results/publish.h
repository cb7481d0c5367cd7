/*
 * Publishing a results file without destroying one.  Results under results/ are compared
 * across machines, so a run must never replace another machine's file silently, never
 * mix two machines' rows in one file without being told to, never lose rows to a second
 * run appending at the same time, and never measure for an hour to fail at the write.
 *
 * The rules (the programs' --help repeats them):
 *   - The default path is results/<prefix><system_id>-<threads>.csv.  If a file is there
 *     and neither --append nor --overwrite was given, the run writes a new file with the
 *     UTC time in its name and says so: a published file is never replaced unasked.
 *   - An explicit --output that exists is refused unless --append or --overwrite.
 *   - --append keeps the file's rows; rows measured on another machine (their system
 *     columns differ) are refused unless --force.
 *   - The output must be a regular file or absent: a directory, symlink, FIFO or device
 *     node is refused (as sqlite3 and most build tools refuse to replace them), since the
 *     file is replaced by rename and would not write through them anyway.
 *   - While a run holds the file (from reading it for --append to writing it), a second
 *     run on the same path is refused, naming the process that holds it.
 *   - A build from a tree with uncommitted changes (git_revision ends in "-dirty") writes
 *     nothing unless --allow-dirty: a published number must name the code that made it.
 *   - A dated name that exists already (two runs in one second) gets -2, -3, ... added.
 * Every check happens in fzb_publish_begin, before any measuring.
 */
#ifndef FZB_PUBLISH_H
#define FZB_PUBLISH_H

#include <stdbool.h>
#include <stdio.h>

#include "csv.h"
#include "results.h"

typedef struct {
    const char *output;    /* --output, or NULL for the default path */
    const char *prefix;    /* file name prefix: "" (sweep), "kernels-" */
    const char *threads;   /* the thread counts as text: "1_2" */
    bool append, overwrite, force;
    bool allow_dirty;      /* write even from a build whose git_revision ends in -dirty */
} fzb_publish_opts;

typedef struct {
    char path[1024];       /* where the file will be written */
    char lock_path[2080];  /* <dir>/.<name>.lock */
    int lock_fd;           /* -1 when no lock is held */
} fzb_publish;

/* Decides the path, checks it can be written, takes the lock and, with --append, reads
 * the existing rows into `table` (made with fzb_result_table).  Notes for the user (a
 * new dated name) go to `note`.  FZ_EINVAL/FZ_EIO/FZ_EFORMAT with a message naming the
 * path and the rule; then nothing is held and `table` is unchanged. */
fz_status fzb_publish_begin(fzb_publish *p, const fzb_publish_opts *o,
                            const fzb_context *ctx, fzb_csv *table, FILE *note);

/* Writes `table` to the path whole (temporary file, fsync, rename). */
fz_status fzb_publish_write(const fzb_publish *p, const fzb_csv *table);

/* Releases the lock (removing the lock file).  Safe to call twice. */
void fzb_publish_end(fzb_publish *p);

/* Whether a git_revision names a build from a tree with uncommitted changes. */
bool fzb_revision_is_dirty(const char *git_revision);

/* FZ_OK if `path` can take an output (file_check_output, src/io/replace.h: absent
 * or a regular file, in a directory that takes new files); else FZ_EINVAL naming the
 * reason. */
fz_status fzb_publish_check_path(const char *path);

#endif

/*
 * Internal: named float32 arrays in a NumPy .npz archive — the parameter files and the
 * training data (x, y) of the freezebench command — and integer class labels.
 */
#ifndef FZ_NPZ_H
#define FZ_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"
#include "npy.h"

typedef struct {
    char *name;                      /* key as np.load shows it: the member minus ".npy" */
    size_t ndim;
    size_t shape[FZ_NPY_MAX_DIM];
    size_t numel;
    float *data;                     /* numel floats, host order, malloc'd */
    /* npz_write only: when set, the array is numel bytes ('|u1', e.g. a text record such
     * as the architecture's) taken from here, and data is not read. */
    const unsigned char *bytes;
} fz_npz_array;

typedef struct {
    fz_npz_array *arrays;
    size_t count;
    /* The member a filtered read left out (npz_read_filtered's `skip`, its name in
     * skipped_name), undecoded, so npz_skipped_labels decodes it without reading the
     * file again: a copy of its .npy bytes (NULL: no such member), and how many members
     * had that name. */
    char *skipped_name;
    unsigned char *skipped;
    size_t skipped_size, skipped_count;
} fz_npz;

/* Reads every array of the archive at `path`.  Each member must be a '<f4', C-order
 * .npy (see npy.h); every member's CRC-32 is checked.  FZ_EIO if the file cannot be read,
 * FZ_EFORMAT if anything in it is malformed or unsupported (the message names the array
 * or the offset), FZ_ENOMEM.  On failure *out is empty. */
fz_status npz_read(const char *path, fz_npz *out);
void      npz_free(fz_npz *z);

/* Called with each array's name (the member's, less ".npy") before any array is
 * decoded; a status other than FZ_OK, with its message, ends the read with nothing
 * returned. */
typedef fz_status fz_npz_name_check(const char *path, const char *name, void *ctx);
/* npz_read, with `check` (if not NULL) run over the names first. */
fz_status npz_read_checked(const char *path, fz_npz_name_check *check, void *ctx,
                           fz_npz *out);

/* npz_read_checked, leaving out the array `skip` (NULL: none). */
fz_status npz_read_filtered(const char *path, fz_npz_name_check *check, void *ctx,
                            const char *skip, fz_npz *out);

/* npz_read, leaving out the array `skip` (not decoded: it may be of a dtype npz_read
 * refuses, such as a data archive's integer labels "y"). */
fz_status npz_read_except(const char *path, const char *skip, fz_npz *out);

/* The class labels in the array `name` that a filtered read of `path` left out (z's
 * skipped member), with npz_read_labels' checks and messages, without a second read of
 * the file.  FZ_EINVAL if the read left out another name (or none). */
fz_status npz_skipped_labels(const fz_npz *z, const char *path, const char *name,
                             int32_t **labels, size_t *n);

/* The class labels of the archive at `path`: its array `name` (the data's "y"), of dtype
 * int64, int32 or uint8 and shape (N,), as N int32s in a malloc'd *labels.  Only that
 * member is decoded (the archive's other members may be of any dtype), after every
 * member's CRC-32 is checked.  FZ_ENOTFOUND if there is no such array, FZ_EFORMAT for
 * a float or 2-D array or a label that is negative or above INT32_MAX (the message names
 * its index), FZ_EIO, FZ_ENOMEM.  On failure *labels is NULL and *n is 0. */
fz_status npz_read_labels(const char *path, const char *name, int32_t **labels, size_t *n);

/* The array named `name`, or NULL. */
const fz_npz_array *npz_find(const fz_npz *z, const char *name);

/* Writes the arrays as a stored (uncompressed) .npz that np.load reads: to a temporary
 * file "<name>.tmp-<pid>-<n>" in the same directory, renamed over `path` only once it is
 * complete, so `path` is never left half-written; a SIGINT, SIGTERM or SIGHUP that ends
 * the process during the write removes it first, and one left by a writer that was
 * killed (SIGKILL, a crash) is removed by the next write to the same name (replace.h).
 * A new file gets mode 0666 less the umask, a replaced one keeps its mode.  Checks
 * file_check_output (src/io/replace.h) first. */
fz_status npz_write(const char *path, const fz_npz_array *arrays, size_t count);


#endif

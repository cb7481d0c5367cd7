/*
 * Internal: the IDX format of the MNIST family of data sets (Fashion-MNIST as Debian's
 * dataset-fashion-mnist ships it), gzip'd or not.  An IDX file is a 4-byte magic
 * (0x00 0x00, the element type, the number of dimensions), one big-endian uint32 size
 * per dimension, then the elements in row-major order and nothing after them.  Only
 * unsigned bytes (type 0x08) are read: that is what every MNIST-style file holds.
 */
#ifndef FZ_IDX_H
#define FZ_IDX_H

#include <stddef.h>

#include "freezebench.h"

/* Labels have one dimension, images three (count, rows, columns). */
#define FZ_IDX_MAX_DIM 3

typedef struct {
    size_t ndim;
    size_t dims[FZ_IDX_MAX_DIM];
    size_t count;           /* the product of the dims: the number of bytes in data */
    unsigned char *data;    /* malloc'd (never NULL after a success, even when empty) */
} fz_idx_array;

/* Parses an IDX file held in memory: gzip'd (it starts with 1f 8b) or not.  `what`
 * names it in messages (the path), `want_ndim` (1 to FZ_IDX_MAX_DIM) is the number of
 * dimensions the caller needs.  Every field is checked: the magic, the type, the
 * dimension count, the sizes (their product must fit in size_t), the data (a declared
 * size the stream cannot fill is an error naming the byte offset where it ran out), and
 * nothing may follow the data, nor the gzip stream.  A gzip stream that is truncated or
 * fails its CRC-32 or length check is refused with zlib's reason.  Offsets in messages
 * are those of the decompressed stream.  FZ_EFORMAT for a malformed or unsupported file,
 * FZ_EINVAL for a bad argument, FZ_ENOMEM.  On failure *out is empty. */
fz_status idx_parse(const unsigned char *buf, size_t len, const char *what,
                    size_t want_ndim, fz_idx_array *out);

/* idx_parse of the file at `path`.  FZ_EIO if it cannot be opened or read. */
fz_status idx_read(const char *path, size_t want_ndim, fz_idx_array *out);

void idx_free(fz_idx_array *a);

#endif

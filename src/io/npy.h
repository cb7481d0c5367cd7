/*
 * Internal: the .npy format of one array inside a .npz archive (format versions 1.0, 2.0
 * and 3.0).  Only little-endian float32 in C order ('<f4', fortran_order False) is
 * accepted, since that is what the parameters and data are (fortran_order True is
 * accepted for 0-D and 1-D arrays only, where both orders are the same bytes).
 */
#ifndef FZ_NPY_H
#define FZ_NPY_H

#include <stddef.h>

#include "freezebench.h"

#define FZ_NPY_MAX_DIM 8

typedef struct {
    size_t ndim;
    size_t shape[FZ_NPY_MAX_DIM];
    size_t numel;
    const unsigned char *data;   /* numel little-endian float32s, inside the parsed bytes */
} fz_npy_view;

/* Parses the header of a .npy held in `buf` and checks that the data that follows is
 * exactly numel float32s.  `what` names the array in messages.  FZ_EFORMAT for a bad
 * magic or header, a dtype other than '<f4' (a big-endian '>f4' is reported as a
 * byte-order error), fortran_order True, or a data size that does not match the shape. */
fz_status npy_parse(const unsigned char *buf, size_t len, const char *what,
                    fz_npy_view *out);

/* Formats a version 1.0 header for a '<f4' C-order array of the given shape, padded with
 * spaces and a newline so that the data starts on a 64-byte boundary, as numpy does.
 * Returns the header length, or 0 if it would not fit in `cap` bytes. */
size_t npy_header(unsigned char *dst, size_t cap, const size_t *shape, size_t ndim);

#endif

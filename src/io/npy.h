/*
 * Internal: the .npy format of one array inside a .npz archive (format versions 1.0, 2.0
 * and 3.0).  Parameters and inputs are little-endian float32 in C order ('<f4',
 * fortran_order False); class labels may also be little-endian int64, int32 or uint8
 * (fortran_order True is accepted for 0-D and 1-D arrays only, where both orders are
 * the same bytes).
 */
#ifndef FZ_NPY_H
#define FZ_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"

#define FZ_NPY_MAX_DIM 8

typedef enum { FZ_NPY_F4, FZ_NPY_I8, FZ_NPY_I4, FZ_NPY_U1 } fz_npy_dtype;

typedef struct {
    size_t ndim;
    size_t shape[FZ_NPY_MAX_DIM];
    size_t numel;
    fz_npy_dtype dtype;
    size_t elem_size;            /* bytes per element of dtype */
    const unsigned char *data;   /* numel little-endian elements, inside the parsed bytes */
} fz_npy_view;

/* Parses the header of a .npy held in `buf` and checks that the data that follows is
 * exactly numel float32s.  `what` names the array in messages.  FZ_EFORMAT for a bad
 * magic or header, a dtype other than '<f4' (a big-endian '>f4' is reported as a
 * byte-order error), fortran_order True, or a data size that does not match the shape. */
fz_status npy_parse(const unsigned char *buf, size_t len, const char *what,
                    fz_npy_view *out);

/* npy_parse for an array of class labels: dtype '<i8', '<i4' or '|u1' (or '<u1') and
 * shape (N,).  FZ_EFORMAT, naming the array, for any other dtype (a float array says it
 * is not an integer type) or shape, and as npy_parse for the rest. */
fz_status npy_parse_labels(const unsigned char *buf, size_t len, const char *what,
                           fz_npy_view *out);

/* The labels of a view from npy_parse_labels, as int32 into dst (numel of them).  A
 * label that is negative or above INT32_MAX is FZ_EFORMAT naming its index (dst is then
 * partly written: the caller owns and discards it). */
fz_status npy_labels_to_int32(const fz_npy_view *v, const char *what, int32_t *dst);

/* Formats a version 1.0 header for a C-order array of dtype descr ('<f4', '|u1') and the
 * given shape, padded with
 * spaces and a newline so that the data starts on a 64-byte boundary, as numpy does.
 * Returns the header length, or 0 if it would not fit in `cap` bytes. */
size_t npy_header(unsigned char *dst, size_t cap, const char *descr, const size_t *shape,
                  size_t ndim);

#endif

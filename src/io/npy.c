/*
 * The .npy header: magic, version, a little-endian length, then a Python dict literal
 * such as {'descr': '<f4', 'fortran_order': False, 'shape': (5, 10), }.  The parser
 * accepts the literal numpy writes and the small variations a hand-written file may have
 * (either quote, any key order, extra spaces, a trailing comma); anything else is an
 * error that says where in the header it stopped.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "npy.h"

static const unsigned char MAGIC[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

typedef struct {
    const char *p, *end, *start;
    const char *what;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static fz_status bad(const cursor *c, const char *expected)
{
    return set_error(FZ_EFORMAT, "%s: .npy header: expected %s at header byte %td",
                     c->what, expected, c->p - c->start);
}

/* A quoted string, copied into dst (truncated to cap-1). */
static fz_status parse_string(cursor *c, char *dst, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return bad(c, "a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (n + 1 < cap)
            dst[n++] = *c->p;
        c->p++;
    }
    if (c->p >= c->end)
        return bad(c, "a closing quote");
    c->p++;
    dst[n] = '\0';
    return FZ_OK;
}

static fz_status parse_bool(cursor *c, bool *v)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && !memcmp(c->p, "True", 4)) {
        c->p += 4;
        *v = true;
        return FZ_OK;
    }
    if (left >= 5 && !memcmp(c->p, "False", 5)) {
        c->p += 5;
        *v = false;
        return FZ_OK;
    }
    return bad(c, "True or False");
}

/* A tuple of non-negative integers: (), (5,), (5, 10). */
static fz_status parse_shape(cursor *c, fz_npy_view *v)
{
    if (!take(c, '('))
        return bad(c, "'(' opening the shape");
    v->ndim = 0;
    while (!take(c, ')')) {
        skip_space(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return bad(c, "a dimension (a non-negative integer)");
        size_t d = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (!size_mul_ok(d, 10, &d) || !size_add_ok(d, (size_t)(*c->p - '0'), &d))
                return bad(c, "a dimension that fits in size_t");
            c->p++;
        }
        if (v->ndim == FZ_NPY_MAX_DIM)
            return bad(c, "at most 8 dimensions");
        v->shape[v->ndim++] = d;
        if (!take(c, ',') && !(skip_space(c), c->p < c->end && *c->p == ')'))
            return bad(c, "',' or ')' in the shape");
    }
    return FZ_OK;
}

static fz_status check_descr(const char *descr, const char *what, fz_npy_view *v)
{
    if (!strcmp(descr, "<f4")) {
        v->dtype = FZ_NPY_F4;
        v->elem_size = 4;
        return FZ_OK;
    }
    if (!strcmp(descr, ">f4"))
        return set_error(FZ_EFORMAT, "%s: byte order: dtype '>f4' is big-endian float32; "
                         "only little-endian '<f4' is read (use arr.astype('<f4'))", what);
    return set_error(FZ_EFORMAT, "%s: dtype '%s' is not float32: only '<f4' is read "
                     "(use arr.astype(np.float32))", what, descr);
}

/* Decides whether an array of dtype `descr` (and the shape already in *v) is wanted,
 * and sets v->dtype and v->elem_size if so. */
typedef fz_status descr_check(const char *descr, const char *what, fz_npy_view *v);

static fz_status parse_dict(cursor *c, descr_check *check, fz_npy_view *v)
{
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    char descr[32] = "";
    if (!take(c, '{'))
        return bad(c, "'{' opening the header dict");
    while (!take(c, '}')) {
        char key[32];
        fz_status st = parse_string(c, key, sizeof key);
        if (st == FZ_OK && !take(c, ':'))
            st = bad(c, "':' after a key");
        if (st != FZ_OK)
            return st;
        if (!strcmp(key, "descr")) {
            st = parse_string(c, descr, sizeof descr);
            have_descr = true;
        } else if (!strcmp(key, "fortran_order")) {
            st = parse_bool(c, &fortran);
            have_order = true;
        } else if (!strcmp(key, "shape")) {
            st = parse_shape(c, v);
            have_shape = true;
        } else {
            return set_error(FZ_EFORMAT, "%s: .npy header: unknown key '%s'", c->what, key);
        }
        if (st != FZ_OK)
            return st;
        if (!take(c, ',') && !(skip_space(c), c->p < c->end && *c->p == '}'))
            return bad(c, "',' or '}' in the header dict");
    }
    if (!have_descr || !have_order || !have_shape)
        return set_error(FZ_EFORMAT, "%s: .npy header lacks '%s'", c->what,
                         !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    fz_status st = check(descr, c->what, v);
    if (st != FZ_OK)
        return st;
    if (fortran && v->ndim > 1)
        return set_error(FZ_EFORMAT, "%s: fortran_order is True (column-major); only C "
                         "order is read (use np.ascontiguousarray)", c->what);
    return FZ_OK;
}

/* The header, checked by `check`, and the data, which must be exactly the shape's
 * elements of the dtype's size. */
static fz_status parse(const unsigned char *buf, size_t len, const char *what,
                       descr_check *check, fz_npy_view *out)
{
    if (len < 10 || memcmp(buf, MAGIC, sizeof MAGIC))
        return set_error(FZ_EFORMAT, "%s: not a .npy array (no \\x93NUMPY magic)", what);
    unsigned major = buf[6], minor = buf[7];
    size_t header_len, header_at;
    if (major == 1) {
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8;
        header_at = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return set_error(FZ_EFORMAT, "%s: .npy header truncated", what);
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                     (size_t)buf[11] << 24;
        header_at = 12;
    } else {
        return set_error(FZ_EFORMAT, "%s: .npy format version %u.%u is not supported "
                         "(1.0, 2.0, 3.0 are)", what, major, minor);
    }
    if (header_len > len - header_at)
        return set_error(FZ_EFORMAT, "%s: .npy header of %zu bytes runs past the end of "
                         "the %zu-byte member (truncated)", what, header_len, len);
    cursor c = { (const char *)buf + header_at, (const char *)buf + header_at + header_len,
                 (const char *)buf + header_at, what };
    fz_npy_view v = { 0 };
    fz_status st = parse_dict(&c, check, &v);
    if (st != FZ_OK)
        return st;
    v.numel = 1;
    for (size_t i = 0; i < v.ndim; i++)
        if (!size_mul_ok(v.numel, v.shape[i], &v.numel))
            return set_error(FZ_EFORMAT, "%s: shape overflows size_t", what);
    size_t data_len = len - header_at - header_len, want;
    if (!size_mul_ok(v.numel, v.elem_size, &want) || data_len != want)
        return set_error(FZ_EFORMAT, "%s: data is %zu bytes at member offset %zu, the "
                         "shape needs %zu elements of %zu bytes (truncated or corrupt)",
                         what, data_len, header_at + header_len, v.numel, v.elem_size);
    v.data = buf + header_at + header_len;
    *out = v;
    return FZ_OK;
}

fz_status npy_parse(const unsigned char *buf, size_t len, const char *what,
                    fz_npy_view *out)
{
    return parse(buf, len, what, check_descr, out);
}

/* Integer dtypes a class label array may have, as numpy writes them on a little-endian
 * machine ('|u1': a byte has no order; numpy also accepts '<u1'). */
static const struct {
    const char *descr;
    fz_npy_dtype dtype;
    size_t size;
} LABEL_DTYPES[] = {
    { "<i8", FZ_NPY_I8, 8 }, { "<i4", FZ_NPY_I4, 4 }, { "|u1", FZ_NPY_U1, 1 },
    { "<u1", FZ_NPY_U1, 1 },
};

static fz_status check_label_descr(const char *descr, const char *what, fz_npy_view *v)
{
    for (size_t i = 0; i < sizeof LABEL_DTYPES / sizeof LABEL_DTYPES[0]; i++)
        if (!strcmp(descr, LABEL_DTYPES[i].descr)) {
            v->dtype = LABEL_DTYPES[i].dtype;
            v->elem_size = LABEL_DTYPES[i].size;
            if (v->ndim != 1)
                return set_error(FZ_EFORMAT, "%s: class labels need shape (N,), the array "
                                 "has %zu dimensions", what, v->ndim);
            return FZ_OK;
        }
    if (descr[0] == '>')
        return set_error(FZ_EFORMAT, "%s: byte order: dtype '%s' is big-endian; class "
                         "labels are read as little-endian int64, int32 or uint8 (use "
                         "arr.astype('<i8'))", what, descr);
    return set_error(FZ_EFORMAT, "%s: dtype '%s' is not an integer type: class labels are "
                     "read as int64 ('<i8'), int32 ('<i4') or uint8 ('|u1')", what, descr);
}

fz_status npy_parse_labels(const unsigned char *buf, size_t len, const char *what,
                           fz_npy_view *out)
{
    return parse(buf, len, what, check_label_descr, out);
}

static int64_t label_at(const fz_npy_view *v, size_t i)
{
    const unsigned char *p = v->data + i * v->elem_size;
    uint64_t bits = 0;
    for (size_t b = 0; b < v->elem_size; b++)   /* little-endian bytes */
        bits |= (uint64_t)p[b] << (8 * b);
    switch (v->dtype) {
    case FZ_NPY_I8: return (int64_t)bits;
    case FZ_NPY_I4: return (int32_t)(uint32_t)bits;
    default:        return (int64_t)bits;        /* FZ_NPY_U1 */
    }
}

fz_status npy_labels_to_int32(const fz_npy_view *v, const char *what, int32_t *dst)
{
    if (v->dtype != FZ_NPY_I8 && v->dtype != FZ_NPY_I4 && v->dtype != FZ_NPY_U1)
        return set_error(FZ_EINVAL, "%s: npy_labels_to_int32: not a label array", what);
    for (size_t i = 0; i < v->numel; i++) {
        int64_t label = label_at(v, i);
        if (label < 0 || label > INT32_MAX)
            return set_error(FZ_EFORMAT, "%s: label %" PRId64 " at index %zu is %s", what,
                             label, i, label < 0 ? "negative" : "above INT32_MAX");
        dst[i] = (int32_t)label;
    }
    return FZ_OK;
}

size_t npy_header(unsigned char *dst, size_t cap, const char *descr, const size_t *shape,
                  size_t ndim)
{
    char dict[512], dims[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < ndim; i++) {
        int n = snprintf(dims + used, sizeof dims - used, i + 1 == ndim && ndim > 1 ?
                         "%zu" : "%zu,", shape[i]);
        if (n < 0 || (size_t)n >= sizeof dims - used)
            return 0;
        used += (size_t)n;
        if (i + 1 < ndim && used + 1 < sizeof dims)
            dims[used++] = ' ', dims[used] = '\0';
    }
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                     "'shape': (%s), }", descr, dims);
    if (n < 0 || (size_t)n >= sizeof dict)
        return 0;
    size_t total = 10 + (size_t)n + 1;          /* magic, version, length, dict, '\n' */
    total = (total + 63) / 64 * 64;
    if (total > cap || total - 10 > 0xffff)
        return 0;
    memcpy(dst, MAGIC, sizeof MAGIC);
    dst[6] = 1;
    dst[7] = 0;
    dst[8] = (unsigned char)((total - 10) & 0xff);
    dst[9] = (unsigned char)((total - 10) >> 8);
    memcpy(dst + 10, dict, (size_t)n);
    memset(dst + 10 + n, ' ', total - 10 - (size_t)n - 1);
    dst[total - 1] = '\n';
    return total;
}

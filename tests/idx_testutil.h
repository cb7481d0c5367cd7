/*
 * Tiny IDX files for the tests that read them: the bytes of a header and its data,
 * gzip'd through zlib when asked, written into the test's scratch folder.  Header-only;
 * include after cmocka.h and tmpdir_testutil.h.
 */
#ifndef FZ_IDX_TESTUTIL_H
#define FZ_IDX_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    unsigned char *bytes;
    size_t len;
} byte_buf;

/* An IDX file of unsigned bytes: magic, big-endian sizes, then `data_len` bytes of data
 * (which need not be what the sizes declare: the tests lie on purpose). */
static byte_buf idx_file(unsigned type, const uint32_t *dims, size_t ndim,
                         const unsigned char *data, size_t data_len)
{
    byte_buf b = { malloc(4 + 4 * ndim + data_len + 1), 4 + 4 * ndim + data_len };
    assert_non_null(b.bytes);
    b.bytes[0] = 0;
    b.bytes[1] = 0;
    b.bytes[2] = (unsigned char)type;
    b.bytes[3] = (unsigned char)ndim;
    for (size_t i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++)
            b.bytes[4 + 4 * i + (size_t)k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    if (data_len)
        memcpy(b.bytes + 4 + 4 * ndim, data, data_len);
    return b;
}

/* `in` as one gzip member, as gzip(1) writes it. */
static byte_buf gzip_of(const byte_buf *in)
{
    z_stream zs = { 0 };
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    uLong cap = deflateBound(&zs, (uLong)in->len) + 64;
    byte_buf out = { malloc(cap), 0 };
    assert_non_null(out.bytes);
    zs.next_in = in->bytes;
    zs.avail_in = (uInt)in->len;
    zs.next_out = out.bytes;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void write_bytes(const char *path, const byte_buf *b)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->bytes, 1, b->len, f), b->len);
    assert_int_equal(fclose(f), 0);
}

static void byte_buf_free(byte_buf *b)
{
    free(b->bytes);
    *b = (byte_buf){ 0 };
}

#endif

/*
 * IDX files, gzip'd or not, read from memory.  The stream (the file's bytes, or what
 * zlib inflates from them) is consumed front to back through one `source`, which counts
 * the decompressed bytes it delivered: that count is the offset every message names, so
 * a message means the same whether the file was gzip'd or not.  The data buffer is sized
 * from the header but, for a gzip'd file, only grown as the stream really delivers, so a
 * header that lies about its sizes costs at most twice the bytes the stream holds.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "idx.h"
#include "read_file.h"

enum { TYPE_UBYTE = 0x08, MAGIC_SIZE = 4, DIM_SIZE = 4 };
/* The most read from a pipe or a device, whose size is not known in advance: the
 * largest gzip'd IDX file of the MNIST family is under 30 MB. */
#define STREAM_MAX ((size_t)1 << 30)
/* The data buffer of a gzip'd file starts at this size and doubles as data arrives. */
#define FIRST_CHUNK ((size_t)1 << 20)

typedef struct {
    const char *what;
    const unsigned char *in;
    size_t in_len;
    size_t in_pos;      /* raw: the next byte; gzip: the bytes handed to zlib so far */
    bool gzip;
    bool ended;         /* gzip: zlib reported the end of the stream, CRC checked */
    z_stream zs;
    size_t offset;      /* decompressed bytes delivered so far */
} source;

static fz_status source_open(source *s, const unsigned char *buf, size_t len,
                             const char *what)
{
    *s = (source){ .what = what, .in = buf, .in_len = len };
    s->gzip = len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    /* 16 + MAX_WBITS: a gzip wrapper (header, CRC-32, length), nothing else. */
    if (s->gzip && inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
        return set_error(FZ_ENOMEM, "%s: zlib could not start inflating", what);
    return FZ_OK;
}

static void source_close(source *s)
{
    if (s->gzip)
        inflateEnd(&s->zs);
}

/* The byte of the file zlib has reached, for messages about the compressed stream. */
static size_t source_file_pos(const source *s)
{
    return s->in_pos - s->zs.avail_in;
}

static fz_status inflate_failed(const source *s, int rc)
{
    if (rc == Z_MEM_ERROR)
        return set_error(FZ_ENOMEM, "%s: out of memory inflating", s->what);
    return set_error(FZ_EFORMAT, "%s: gzip stream is corrupt at file byte %zu, after byte "
                     "%zu of the decompressed stream (zlib: %s)", s->what,
                     source_file_pos(s), s->offset, s->zs.msg ? s->zs.msg : "no reason");
}

/* Up to n (> 0) bytes of the stream into dst; *got < n only at the end of the stream. */
static fz_status source_read(source *s, unsigned char *dst, size_t n, size_t *got)
{
    if (!s->gzip) {
        size_t take = s->in_len - s->in_pos < n ? s->in_len - s->in_pos : n;
        memcpy(dst, s->in + s->in_pos, take);
        s->in_pos += take;
        s->offset += take;
        *got = take;
        return FZ_OK;
    }
    size_t done = 0;
    while (done < n && !s->ended) {
        /* zlib counts in uInt: feed and drain in pieces, so any size works. */
        if (s->zs.avail_in == 0 && s->in_pos < s->in_len) {
            size_t piece = s->in_len - s->in_pos;
            s->zs.next_in = (unsigned char *)s->in + s->in_pos;   /* zlib only reads it */
            s->zs.avail_in = piece > UINT_MAX ? UINT_MAX : (uInt)piece;
            s->in_pos += s->zs.avail_in;
        }
        size_t want = n - done > UINT_MAX ? UINT_MAX : n - done;
        s->zs.next_out = dst + done;
        s->zs.avail_out = (uInt)want;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        size_t produced = want - s->zs.avail_out;
        done += produced;
        s->offset += produced;
        if (rc == Z_STREAM_END)
            s->ended = true;
        else if (rc == Z_BUF_ERROR && s->zs.avail_in == 0 && s->in_pos == s->in_len)
            return set_error(FZ_EFORMAT, "%s: gzip stream is truncated: the file ends "
                             "(at file byte %zu) before the stream does, after byte %zu "
                             "of the decompressed stream", s->what, s->in_len, s->offset);
        else if (rc != Z_OK)
            return inflate_failed(s, rc);
    }
    *got = done;
    return FZ_OK;
}

/* Exactly n bytes of the header, or an error naming the field and where it ran out. */
static fz_status read_field(source *s, unsigned char *dst, size_t n, const char *field)
{
    size_t at = s->offset, got;
    fz_status st = source_read(s, dst, n, &got);
    if (st == FZ_OK && got < n)
        st = set_error(FZ_EFORMAT, "%s: truncated: %s at byte %zu needs %zu bytes, the "
                       "stream ends at byte %zu", s->what, field, at, n, s->offset);
    return st;
}

static const char *type_name(unsigned type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0b: return "short";
    case 0x0c: return "int";
    case 0x0d: return "float";
    case 0x0e: return "double";
    default: return "not an IDX type";
    }
}

/* Magic, type, dimension count and sizes: fills a->ndim, a->dims and a->count. */
static fz_status read_header(source *s, size_t want_ndim, fz_idx_array *a)
{
    unsigned char magic[MAGIC_SIZE];
    fz_status st = read_field(s, magic, sizeof magic, "the IDX magic");
    if (st != FZ_OK)
        return st;
    if (magic[0] != 0 || magic[1] != 0)
        return set_error(FZ_EFORMAT, "%s: not an IDX file: the magic at byte 0 is %02x %02x, "
                         "not 00 00", s->what, magic[0], magic[1]);
    if (magic[2] != TYPE_UBYTE)
        return set_error(FZ_EFORMAT, "%s: IDX element type at byte 2 is 0x%02x (%s); only "
                         "0x08 (unsigned byte) is read", s->what, magic[2],
                         type_name(magic[2]));
    if (magic[3] != want_ndim)
        return set_error(FZ_EFORMAT, "%s: IDX dimension count at byte 3 is %u, %zu wanted "
                         "(1 for labels, 3 for images)", s->what, magic[3], want_ndim);
    a->ndim = want_ndim;
    a->count = 1;
    for (size_t i = 0; i < want_ndim; i++) {
        size_t at = s->offset;
        unsigned char be[DIM_SIZE];
        char field[64];
        snprintf(field, sizeof field, "the size of dimension %zu", i);
        st = read_field(s, be, sizeof be, field);
        if (st != FZ_OK)
            return st;
        uint32_t size = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 |
                        (uint32_t)be[2] << 8 | be[3];
        a->dims[i] = size;
        if (!size_mul_ok(a->count, size, &a->count))
            return set_error(FZ_EFORMAT, "%s: IDX sizes overflow: dimension %zu (%" PRIu32
                             " at byte %zu) makes the element count exceed %zu", s->what,
                             i, size, at, SIZE_MAX);
    }
    return FZ_OK;
}

/* a->count bytes of data into a->data. */
static fz_status read_data(source *s, fz_idx_array *a)
{
    size_t at = s->offset, avail = s->in_len - s->in_pos;
    /* Uncompressed, the bytes are all there to count before anything is allocated. */
    size_t cap = !s->gzip ? a->count : a->count < FIRST_CHUNK ? a->count : FIRST_CHUNK;
    if (!s->gzip && a->count > avail)
        return set_error(FZ_EFORMAT, "%s: truncated: the sizes declare %zu bytes of data "
                         "from byte %zu, the stream ends at byte %zu", s->what, a->count,
                         at, at + avail);
    a->data = malloc(cap ? cap : 1);
    if (!a->data)
        return set_error(FZ_ENOMEM, "%s: out of memory for %zu bytes of data", s->what, cap);
    size_t have = 0;
    while (have < a->count) {
        if (have == cap) {
            size_t grown_cap = cap > a->count / 2 ? a->count : cap * 2;
            unsigned char *grown = realloc(a->data, grown_cap);
            if (!grown)
                return set_error(FZ_ENOMEM, "%s: out of memory for %zu bytes of data",
                                 s->what, grown_cap);
            a->data = grown;
            cap = grown_cap;
        }
        size_t got;
        fz_status st = source_read(s, a->data + have, cap - have, &got);
        if (st != FZ_OK)
            return st;
        have += got;
        if (have < cap)
            return set_error(FZ_EFORMAT, "%s: truncated: the sizes declare %zu bytes of "
                             "data from byte %zu, the stream ends at byte %zu", s->what,
                             a->count, at, s->offset);
    }
    return FZ_OK;
}

/* Nothing may follow the data: neither more decompressed bytes nor, after a gzip
 * stream, more file (a second gzip member would be data this reader never looked at). */
static fz_status check_end(source *s)
{
    size_t at = s->offset, got;
    unsigned char extra;
    fz_status st = source_read(s, &extra, 1, &got);
    if (st != FZ_OK)
        return st;
    if (got != 0)
        return set_error(FZ_EFORMAT, "%s: trailing bytes: the data ends at byte %zu but "
                         "the stream goes on", s->what, at);
    if (s->gzip && source_file_pos(s) != s->in_len)
        return set_error(FZ_EFORMAT, "%s: trailing bytes: %zu bytes follow the gzip stream "
                         "at file byte %zu", s->what, s->in_len - source_file_pos(s),
                         source_file_pos(s));
    return FZ_OK;
}

fz_status idx_parse(const unsigned char *buf, size_t len, const char *what,
                    size_t want_ndim, fz_idx_array *out)
{
    if (!out)
        return set_error(FZ_EINVAL, "idx_parse: out is NULL");
    *out = (fz_idx_array){ 0 };
    if (!what)
        what = "IDX data";
    if (!buf && len)
        return set_error(FZ_EINVAL, "%s: idx_parse: buf is NULL", what);
    if (want_ndim < 1 || want_ndim > FZ_IDX_MAX_DIM)
        return set_error(FZ_EINVAL, "%s: idx_parse: %zu dimensions wanted, 1 to %d are read",
                         what, want_ndim, FZ_IDX_MAX_DIM);
    source s;
    fz_status st = source_open(&s, buf ? buf : (const unsigned char *)"", len, what);
    if (st != FZ_OK)
        return st;
    fz_idx_array a = { 0 };
    st = read_header(&s, want_ndim, &a);
    if (st == FZ_OK)
        st = read_data(&s, &a);
    if (st == FZ_OK)
        st = check_end(&s);
    source_close(&s);
    if (st != FZ_OK) {
        idx_free(&a);
        return st;
    }
    *out = a;
    return FZ_OK;
}

fz_status idx_read(const char *path, size_t want_ndim, fz_idx_array *out)
{
    if (!path || !out)
        return set_error(FZ_EINVAL, "idx_read: %s is NULL", !path ? "path" : "out");
    *out = (fz_idx_array){ 0 };
    unsigned char *buf = NULL;
    size_t len = 0;
    fz_status st = read_whole_file(path, "an IDX file", STREAM_MAX, NULL, 0, &buf, &len);
    if (st != FZ_OK)
        return st;
    st = idx_parse(buf, len, path, want_ndim, out);
    free(buf);
    return st;
}

void idx_free(fz_idx_array *a)
{
    if (!a)
        return;
    free(a->data);
    *a = (fz_idx_array){ 0 };
}

/*
 * The zip container, read from memory and written to a stream.  The central directory is
 * the authority on sizes and CRCs (numpy's local headers carry zip64 extras whose sizes
 * may be placeholders); a local header is only read to find where the data starts.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "zip.h"

enum {
    SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50,
    SIG_EOCD64_LOCATOR = 0x07064b50,
    LOCAL_SIZE = 30, CENTRAL_SIZE = 46, EOCD_SIZE = 22,
    METHOD_STORED = 0, METHOD_DEFLATE = 8,
    ZIP64_EXTRA_ID = 0x0001,
};
#define U32_SENTINEL 0xffffffffu
#define U16_SENTINEL 0xffffu

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* A central-directory entry as it matters to us, zip64 extras applied. */
typedef struct {
    uint32_t flags, method, crc;
    uint64_t csize, usize, offset;
    const unsigned char *name;
    size_t name_len;
} central_entry;

/* The end-of-central-directory record: the last signature whose comment length reaches
 * exactly the end of the file (a comment may itself contain the signature bytes). */
static long find_eocd(const unsigned char *buf, size_t len)
{
    if (len < EOCD_SIZE)
        return -1;
    size_t lowest = len - EOCD_SIZE > 0xffff ? len - EOCD_SIZE - 0xffff : 0;
    for (size_t at = len - EOCD_SIZE + 1; at-- > lowest;)
        if (rd32(buf + at) == SIG_EOCD && at + EOCD_SIZE + rd16(buf + at + 20) == len)
            return (long)at;
    return -1;
}

/* Replaces the sentinel fields of `e` by the values of its zip64 extra field, in the
 * order the zip spec gives them: uncompressed size, compressed size, header offset. */
static fz_status apply_zip64(central_entry *e, const unsigned char *extra, size_t len,
                             size_t at, const char *what)
{
    while (len >= 4) {
        uint32_t id = rd16(extra), size = rd16(extra + 2);
        if (size > len - 4)
            break;
        if (id == ZIP64_EXTRA_ID) {
            const unsigned char *p = extra + 4, *end = p + size;
            uint64_t *fields[] = { &e->usize, &e->csize, &e->offset };
            for (size_t i = 0; i < 3; i++) {
                if (*fields[i] != U32_SENTINEL)
                    continue;
                if (end - p < 8)
                    return set_error(FZ_EFORMAT, "%s: zip64 extra field of the central "
                                     "directory entry at offset %zu is too short", what, at);
                *fields[i] = rd64(p);
                p += 8;
            }
            return FZ_OK;
        }
        extra += 4 + size;
        len -= 4 + size;
    }
    if (e->usize == U32_SENTINEL || e->csize == U32_SENTINEL || e->offset == U32_SENTINEL)
        return set_error(FZ_EFORMAT, "%s: central directory entry at offset %zu needs a "
                         "zip64 extra field and has none", what, at);
    return FZ_OK;
}

static fz_status read_central(const unsigned char *buf, size_t len, size_t at,
                              const char *what, central_entry *e, size_t *next)
{
    if (len - at < CENTRAL_SIZE || rd32(buf + at) != SIG_CENTRAL)
        return set_error(FZ_EFORMAT, "%s: no central directory entry at offset %zu "
                         "(corrupt or truncated archive)", what, at);
    const unsigned char *h = buf + at;
    size_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
    if (len - at - CENTRAL_SIZE < name_len + extra_len + comment_len)
        return set_error(FZ_EFORMAT, "%s: central directory entry at offset %zu runs past "
                         "the end of the file", what, at);
    *e = (central_entry){ .flags = rd16(h + 8), .method = rd16(h + 10), .crc = rd32(h + 16),
                          .csize = rd32(h + 20), .usize = rd32(h + 24),
                          .offset = rd32(h + 42), .name = h + CENTRAL_SIZE,
                          .name_len = name_len };
    *next = at + CENTRAL_SIZE + name_len + extra_len + comment_len;
    return apply_zip64(e, h + CENTRAL_SIZE + name_len, extra_len, at, what);
}

static fz_status inflate_raw(const unsigned char *src, size_t csize, unsigned char *dst,
                             size_t usize, const char *what, const char *name)
{
    z_stream zs = { 0 };
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return set_error(FZ_ENOMEM, "%s: zlib could not start inflating '%s'", what, name);
    fz_status st = FZ_OK;
    /* zlib counts in uInt; feed and drain in chunks so members over 4 GiB also work. */
    size_t in_left = csize, out_left = usize;
    int rc;
    zs.next_in = (unsigned char *)src;
    zs.next_out = dst;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0 && out_left > 0) {
            zs.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
            out_left -= zs.avail_out;
        }
        rc = inflate(&zs, Z_NO_FLUSH);
        /* Z_BUF_ERROR only means "no progress possible now": fatal unless we can refill
         * (a stream longer than its recorded size ends up here with the output full). */
        bool can_refill = (zs.avail_in == 0 && in_left > 0) ||
                          (zs.avail_out == 0 && out_left > 0);
        if (rc == Z_STREAM_END || (rc != Z_OK && !(rc == Z_BUF_ERROR && can_refill)))
            break;
    }
    if (rc != Z_STREAM_END)
        st = set_error(FZ_EFORMAT, "%s: member '%s': deflate stream is corrupt or does "
                       "not match its recorded size (%s)", what, name,
                       zs.msg ? zs.msg : "ended early or overran");
    else if (zs.total_out != usize)
        st = set_error(FZ_EFORMAT, "%s: member '%s' inflates to %lu bytes, the directory "
                       "says %zu", what, name, (unsigned long)zs.total_out, usize);
    inflateEnd(&zs);
    return st;
}

/* Decompresses and checks one member into m (name and data malloc'd). */
static fz_status read_member(const unsigned char *buf, size_t len, const central_entry *e,
                             const char *what, fz_zip_member *m)
{
    char name[256];
    size_t n = e->name_len < sizeof name - 1 ? e->name_len : sizeof name - 1;
    memcpy(name, e->name, n);
    name[n] = '\0';
    if (e->flags & 1)
        return set_error(FZ_EFORMAT, "%s: member '%s' is encrypted", what, name);
    if (e->method != METHOD_STORED && e->method != METHOD_DEFLATE)
        return set_error(FZ_EFORMAT, "%s: member '%s' uses compression method %u; only "
                         "stored (0) and deflate (8) are supported", what, name, e->method);
    size_t off = (size_t)e->offset;
    if (e->offset >= len || len - off < LOCAL_SIZE || rd32(buf + off) != SIG_LOCAL)
        return set_error(FZ_EFORMAT, "%s: member '%s': no local header at offset %zu "
                         "(corrupt or truncated archive)", what, name, off);
    size_t local_name_len = rd16(buf + off + 26);
    if (local_name_len != e->name_len || len - off - LOCAL_SIZE < local_name_len ||
        memcmp(buf + off + LOCAL_SIZE, e->name, e->name_len))
        return set_error(FZ_EFORMAT, "%s: member '%s': the local header at offset %zu "
                         "names another member (corrupt archive)", what, name, off);
    size_t data_at = off + LOCAL_SIZE + local_name_len + rd16(buf + off + 28);
    if (data_at > len || len - data_at < e->csize)
        return set_error(FZ_EFORMAT, "%s: member '%s': %llu bytes of data at offset %zu "
                         "run past the end of the %zu-byte file (truncated)", what, name,
                         (unsigned long long)e->csize, data_at, len);
    if (e->method == METHOD_STORED && e->csize != e->usize)
        return set_error(FZ_EFORMAT, "%s: stored member '%s' has compressed size %llu "
                         "and size %llu", what, name, (unsigned long long)e->csize,
                         (unsigned long long)e->usize);
    /* deflate cannot expand data by more than 1032:1, so a larger recorded size is
     * corruption; checking it here keeps a flipped size byte from allocating gigabytes */
    if (e->method == METHOD_DEFLATE && e->usize / 1032 > e->csize + 1)
        return set_error(FZ_EFORMAT, "%s: member '%s' claims %llu bytes from %llu "
                         "compressed, more than deflate can expand (corrupt directory "
                         "entry)", what, name, (unsigned long long)e->usize,
                         (unsigned long long)e->csize);
    if (e->usize > SIZE_MAX - 1)
        return set_error(FZ_ENOMEM, "%s: member '%s' is too large", what, name);

    m->name = malloc(e->name_len + 1);
    m->data = malloc(e->usize ? (size_t)e->usize : 1);
    if (!m->name || !m->data) {
        free(m->name);
        free(m->data);
        return set_error(FZ_ENOMEM, "%s: out of memory for member '%s' (%llu bytes)",
                         what, name, (unsigned long long)e->usize);
    }
    memcpy(m->name, e->name, e->name_len);
    m->name[e->name_len] = '\0';
    m->size = (size_t)e->usize;
    m->header_offset = off;
    fz_status st = FZ_OK;
    if (e->method == METHOD_STORED)
        memcpy(m->data, buf + data_at, m->size);
    else
        st = inflate_raw(buf + data_at, (size_t)e->csize, m->data, m->size, what, name);
    if (st == FZ_OK) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t done = 0; done < m->size;) {
            uInt chunk = m->size - done > UINT_MAX ? UINT_MAX : (uInt)(m->size - done);
            crc = crc32(crc, m->data + done, chunk);
            done += chunk;
        }
        if ((uint32_t)crc != e->crc)
            st = set_error(FZ_EFORMAT, "%s: member '%s' (data at offset %zu) fails its "
                           "CRC-32 check: stored %08x, computed %08x (corrupt archive)",
                           what, name, data_at, e->crc, (uint32_t)crc);
    }
    if (st != FZ_OK) {
        free(m->name);
        free(m->data);
    }
    return st;
}

fz_status zip_parse(const unsigned char *buf, size_t len, const char *what, fz_zip *out)
{
    *out = (fz_zip){ 0 };
    long eocd = find_eocd(buf, len);
    if (eocd < 0)
        return set_error(FZ_EFORMAT, "%s: no zip end-of-central-directory record in the "
                         "%zu-byte file (truncated, or not a .npz archive)", what, len);
    const unsigned char *e = buf + eocd;
    size_t count = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_offset = rd32(e + 16);
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != count)
        return set_error(FZ_EFORMAT, "%s: multi-disk zip archives are not supported "
                         "(end record at offset %ld)", what, eocd);
    if (count == U16_SENTINEL || cd_size == U32_SENTINEL || cd_offset == U32_SENTINEL ||
        (eocd >= 20 && rd32(buf + eocd - 20) == SIG_EOCD64_LOCATOR))
        return set_error(FZ_EFORMAT, "%s: zip64 end-of-central-directory record (an "
                         "archive over 2 GiB or 65535 members) is not supported", what);
    if ((size_t)cd_offset > (size_t)eocd || (size_t)eocd - cd_offset < cd_size)
        return set_error(FZ_EFORMAT, "%s: central directory (offset %u, %u bytes) does "
                         "not end before the end record at offset %ld (corrupt archive)",
                         what, cd_offset, cd_size, eocd);

    fz_zip_member *members = calloc(count ? count : 1, sizeof *members);
    if (!members)
        return set_error(FZ_ENOMEM, "%s: out of memory for %zu members", what, count);
    fz_status st = FZ_OK;
    size_t at = cd_offset, done = 0;   /* members[0..done) hold decoded members */
    while (done < count) {
        central_entry ce = { 0 };
        st = read_central(buf, (size_t)eocd, at, what, &ce, &at);
        if (st == FZ_OK)
            st = read_member(buf, len, &ce, what, &members[done]);
        if (st != FZ_OK)
            break;
        done++;
    }
    /* The end record's count and the directory's size must describe the same entries:
     * a count too small would silently drop the members after it (numpy reads them). */
    if (st == FZ_OK && at - cd_offset != cd_size)
        st = set_error(FZ_EFORMAT, "%s: the end record counts %zu members in a central "
                       "directory of %u bytes at offset %u, but those entries take %zu "
                       "bytes (corrupt archive)", what, count, cd_size, cd_offset,
                       at - (size_t)cd_offset);
    if (st != FZ_OK) {
        fz_zip partial = { members, done };
        zip_free(&partial);
        return st;
    }
    *out = (fz_zip){ members, count };
    return FZ_OK;
}

void zip_free(fz_zip *z)
{
    for (size_t i = 0; z && i < z->count; i++) {
        free(z->members[i].name);
        free(z->members[i].data);
    }
    if (z)
        free(z->members);
}

/* ---- writing ------------------------------------------------------------------------ */

static void put16(unsigned char *p, uint32_t v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

static uint32_t crc_of(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* The fields the local and central headers share, from "version needed" to the
 * extra-field length.  The date is 1980-01-01 00:00, as numpy writes it, so that the
 * same parameters always give the same bytes. */
static void common_fields(unsigned char *p, uint32_t crc, uint32_t size, size_t name_len)
{
    put16(p + 0, 20);          /* version needed: 2.0 */
    put16(p + 2, 0);           /* flags */
    put16(p + 4, METHOD_STORED);
    put16(p + 6, 0);           /* time */
    put16(p + 8, 0x21);        /* date */
    put32(p + 10, crc);
    put32(p + 14, size);
    put32(p + 18, size);
    put16(p + 22, (uint32_t)name_len);
    put16(p + 24, 0);          /* extra length */
}

fz_status zip_write(FILE *file, const fz_zip_entry *entries, size_t count,
                    const char *what)
{
    if (count >= U16_SENTINEL)
        return set_error(FZ_EINVAL, "%s: %zu members need zip64, which is not written",
                         what, count);
    uint32_t *crcs = malloc((count ? count : 1) * sizeof *crcs);
    uint64_t *offsets = malloc((count ? count : 1) * sizeof *offsets);
    if (!crcs || !offsets) {
        free(crcs);
        free(offsets);
        return set_error(FZ_ENOMEM, "%s: out of memory", what);
    }
    fz_status st = FZ_OK;
    uint64_t pos = 0;
    for (size_t i = 0; i < count && st == FZ_OK; i++) {
        const fz_zip_entry *en = &entries[i];
        uint64_t size = (uint64_t)en->prefix_size + en->body_size;
        size_t name_len = strlen(en->name);
        if (size >= U32_SENTINEL || pos + LOCAL_SIZE + name_len + size >= U32_SENTINEL ||
            name_len > 0xffff) {
            st = set_error(FZ_EINVAL, "%s: member '%s' (%llu bytes) would need zip64, "
                           "which is not written", what, en->name,
                           (unsigned long long)size);
            break;
        }
        crcs[i] = crc_of(crc_of(0, en->prefix, en->prefix_size), en->body, en->body_size);
        offsets[i] = pos;
        unsigned char h[LOCAL_SIZE];
        put32(h, SIG_LOCAL);
        common_fields(h + 4, crcs[i], (uint32_t)size, name_len);
        if (fwrite(h, 1, sizeof h, file) != sizeof h ||
            fwrite(en->name, 1, name_len, file) != name_len ||
            fwrite(en->prefix, 1, en->prefix_size, file) != en->prefix_size ||
            fwrite(en->body, 1, en->body_size, file) != en->body_size)
            st = set_error(FZ_EIO, "%s: write error in member '%s': %s", what, en->name,
                           strerror(errno));
        pos += LOCAL_SIZE + name_len + size;
    }
    uint64_t cd_start = pos;
    for (size_t i = 0; i < count && st == FZ_OK; i++) {
        const fz_zip_entry *en = &entries[i];
        size_t name_len = strlen(en->name);
        unsigned char h[CENTRAL_SIZE] = { 0 };
        put32(h, SIG_CENTRAL);
        put16(h + 4, 20);      /* version made by: MS-DOS, 2.0 */
        common_fields(h + 6, crcs[i], (uint32_t)(en->prefix_size + en->body_size), name_len);
        put32(h + 38, 0x01800000u);  /* external attributes: a regular file, mode 0600 */
        put32(h + 42, (uint32_t)offsets[i]);
        if (fwrite(h, 1, sizeof h, file) != sizeof h ||
            fwrite(en->name, 1, name_len, file) != name_len)
            st = set_error(FZ_EIO, "%s: write error in the central directory: %s", what,
                           strerror(errno));
        pos += CENTRAL_SIZE + name_len;
    }
    if (st == FZ_OK && (cd_start >= U32_SENTINEL || pos - cd_start >= U32_SENTINEL))
        st = set_error(FZ_EINVAL, "%s: archive would need zip64, which is not written",
                       what);
    if (st == FZ_OK) {
        unsigned char h[EOCD_SIZE] = { 0 };
        put32(h, SIG_EOCD);
        put16(h + 8, (uint32_t)count);
        put16(h + 10, (uint32_t)count);
        put32(h + 12, (uint32_t)(pos - cd_start));
        put32(h + 16, (uint32_t)cd_start);
        if (fwrite(h, 1, sizeof h, file) != sizeof h)
            st = set_error(FZ_EIO, "%s: write error in the end record: %s", what,
                           strerror(errno));
    }
    free(crcs);
    free(offsets);
    return st;
}

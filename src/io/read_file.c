/* read_whole_file: one reader for every file format the library parses (read_file.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "read_file.h"
#include "replace.h"

fz_status read_whole_file(const char *path, const char *format, size_t stream_max,
                          read_file_head_check check, size_t head_len,
                          unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return set_error(FZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || S_ISDIR(sb.st_mode)) {
        fz_status bad = S_ISDIR(sb.st_mode)
            ? set_error(FZ_EIO, "%s: cannot read: it is a directory, not %s", path, format)
            : set_error(FZ_EIO, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return bad;
    }
    bool regular = S_ISREG(sb.st_mode);
    size_t limit = regular ? (size_t)sb.st_size : stream_max;
    /* A regular file's size is known: one allocation, and one byte more to see growth.
     * A stream grows its buffer by doubling. */
    size_t cap = regular ? limit + 1 : (size_t)1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    fz_status st = b ? FZ_OK : set_error(FZ_ENOMEM, "%s: out of memory for %zu bytes",
                                         path, cap);
    while (st == FZ_OK) {
        if (n == cap) {
            size_t grown_cap = cap > SIZE_MAX / 2 || cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            unsigned char *grown = realloc(b, grown_cap);
            if (!grown) {
                st = set_error(FZ_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
                break;
            }
            b = grown;
            cap = grown_cap;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (!regular && check && n >= head_len && n - got < head_len &&
            (st = check(path, file_kind(sb.st_mode), b)) != FZ_OK)
            break;
        if (n > limit) {
            if (regular) {   /* it grew while read: what was there at the open is it */
                n = limit;
                break;
            }
            st = set_error(FZ_EFORMAT, "%s: %s longer than %zu bytes: refused", path,
                           file_kind(sb.st_mode), limit);
        } else if (got == 0) {
            if (ferror(f))
                st = set_error(FZ_EIO, "%s: read error after %zu bytes: %s", path, n,
                               strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != FZ_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return FZ_OK;
}

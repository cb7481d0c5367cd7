/*
 * Named float32 arrays from and to .npz files.  A whole archive is read into memory and
 * decoded before anything is returned, so a caller never sees half of a bad file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "npz.h"
#include "read_file.h"
#include "replace.h"
#include "zip.h"

#ifndef NAME_MAX
#define NAME_MAX 255
#endif
/* The most read from a pipe or a device, whose size is not known in advance: far above
 * any model this library trains, far below what would exhaust memory. */
#define STREAM_MAX ((size_t)1 << 30)

/* A pipe or a device (/dev/zero) must start as a zip archive does, so one that does not
 * is refused after four bytes rather than read up to STREAM_MAX. */
static fz_status zip_head(const char *path, const char *kind, const unsigned char *b)
{
    if (!memcmp(b, "PK\3\4", 4) || !memcmp(b, "PK\5\6", 4))
        return FZ_OK;
    return set_error(FZ_EFORMAT, "%s: not a zip archive (%s starting with %02x %02x %02x "
                     "%02x)", path, kind, b[0], b[1], b[2], b[3]);
}

static const char NPY_SUFFIX[] = ".npy";

static fz_status decode_member(const fz_zip_member *zm, const char *path, fz_npz_array *a)
{
    size_t name_len = strlen(zm->name), suffix = sizeof NPY_SUFFIX - 1;
    if (name_len <= suffix || strcmp(zm->name + name_len - suffix, NPY_SUFFIX))
        return set_error(FZ_EFORMAT, "%s: member '%s' (local header at offset %zu) is not "
                         "a .npy array", path, zm->name, zm->header_offset);
    char what[512];
    snprintf(what, sizeof what, "%s: array '%.*s'", path, (int)(name_len - suffix), zm->name);
    fz_npy_view v;
    fz_status st = npy_parse(zm->data, zm->size, what, &v);
    if (st != FZ_OK)
        return st;
    a->name = malloc(name_len - suffix + 1);
    a->data = malloc(v.numel ? v.numel * sizeof(float) : 1);
    if (!a->name || !a->data) {
        free(a->name);
        free(a->data);
        return set_error(FZ_ENOMEM, "%s: out of memory", what);
    }
    memcpy(a->name, zm->name, name_len - suffix);
    a->name[name_len - suffix] = '\0';
    a->ndim = v.ndim;
    memcpy(a->shape, v.shape, sizeof a->shape);
    a->numel = v.numel;
    for (size_t i = 0; i < v.numel; i++) {   /* little-endian bytes to host floats */
        const unsigned char *p = v.data + 4 * i;
        uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24;
        memcpy(&a->data[i], &bits, sizeof bits);
    }
    return FZ_OK;
}

fz_status npz_read(const char *path, fz_npz *out)
{
    return npz_read_checked(path, NULL, NULL, out);
}

/* Whether zip member `member` is the array `name` (the member's name less ".npy"). */
static bool member_is(const char *member, const char *name)
{
    size_t nl = strlen(name), ml = strlen(member), suffix = sizeof NPY_SUFFIX - 1;
    return ml == nl + suffix && !strncmp(member, name, nl) && !strcmp(member + nl, NPY_SUFFIX);
}

fz_status npz_read_checked(const char *path, fz_npz_name_check *check, void *ctx,
                           fz_npz *out)
{
    return npz_read_filtered(path, check, ctx, NULL, out);
}

fz_status npz_read_except(const char *path, const char *skip, fz_npz *out)
{
    return npz_read_filtered(path, NULL, NULL, skip, out);
}

fz_status npz_read_filtered(const char *path, fz_npz_name_check *check, void *ctx,
                            const char *skip, fz_npz *out)
{
    if (!path || !out)
        return set_error(FZ_EINVAL, "npz_read: %s is NULL", !path ? "path" : "out");
    *out = (fz_npz){ 0 };
    unsigned char *buf = NULL;
    size_t len = 0;
    fz_status st = read_whole_file(path, "a .npz file", STREAM_MAX, zip_head, 4, &buf,
                                   &len);
    if (st != FZ_OK)
        return st;
    fz_zip zip;
    st = zip_parse(buf, len, path, &zip);
    free(buf);
    if (st != FZ_OK)
        return st;
    /* The names before any member is decoded: a member the decoder would refuse (an
     * int64 buffer) may say more about the archive by its name than by its dtype. */
    for (size_t i = 0; check && i < zip.count; i++) {
        const char *name = zip.members[i].name;
        size_t nl = strlen(name), suffix = sizeof NPY_SUFFIX - 1;
        char key[512];
        if (nl > suffix && nl - suffix < sizeof key &&
            !strcmp(name + nl - suffix, NPY_SUFFIX)) {
            memcpy(key, name, nl - suffix);
            key[nl - suffix] = '\0';
            name = key;
        }
        st = check(path, name, ctx);
        if (st != FZ_OK) {
            zip_free(&zip);
            return st;
        }
    }

    fz_npz z = { .arrays = calloc(zip.count ? zip.count : 1, sizeof *z.arrays),
                 .skipped_name = skip ? malloc(strlen(skip) + 1) : NULL };
    if (!z.arrays || (skip && !z.skipped_name))
        st = set_error(FZ_ENOMEM, "%s: out of memory", path);
    else if (skip)
        memcpy(z.skipped_name, skip, strlen(skip) + 1);
    for (size_t i = 0; st == FZ_OK && i < zip.count; i++) {
        const fz_zip_member *zm = &zip.members[i];
        if (skip && member_is(zm->name, skip)) {
            /* Kept undecoded for its own reader (npz_skipped_labels). */
            if (z.skipped_count++ == 0) {
                if (!(z.skipped = malloc(zm->size ? zm->size : 1)))
                    st = set_error(FZ_ENOMEM, "%s: out of memory", path);
                else
                    memcpy(z.skipped, zm->data, zm->size);
                z.skipped_size = zm->size;
            }
            continue;
        }
        st = decode_member(&zip.members[i], path, &z.arrays[z.count]);
        if (st != FZ_OK)
            break;
        z.count++;
        if (npz_find(&(fz_npz){ .arrays = z.arrays, .count = z.count - 1 },
                     z.arrays[z.count - 1].name))
            st = set_error(FZ_EFORMAT, "%s: array '%s' appears twice", path,
                           z.arrays[z.count - 1].name);
    }
    zip_free(&zip);
    if (st != FZ_OK) {
        npz_free(&z);
        return st;
    }
    *out = z;
    return FZ_OK;
}

void npz_free(fz_npz *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->count; i++) {
        free(z->arrays[i].name);
        free(z->arrays[i].data);
    }
    free(z->arrays);
    free(z->skipped);
    free(z->skipped_name);
    *z = (fz_npz){ 0 };
}

const fz_npz_array *npz_find(const fz_npz *z, const char *name)
{
    for (size_t i = 0; z && name && i < z->count; i++)
        if (!strcmp(z->arrays[i].name, name))
            return &z->arrays[i];
    return NULL;
}

/* The labels in the .npy bytes of the array `name` (found: how many members had that
 * name), as npz_read_labels promises them. */
static fz_status decode_labels(const unsigned char *data, size_t size, size_t found,
                               const char *path, const char *name, int32_t **labels,
                               size_t *n)
{
    char what[1024];
    snprintf(what, sizeof what, "%s: array '%s'", path, name);
    if (found > 1)
        return set_error(FZ_EFORMAT, "%s appears twice", what);
    if (found == 0)
        return set_error(FZ_ENOTFOUND, "%s: no array '%s' (the class labels)", path, name);
    fz_npy_view v;
    fz_status st = npy_parse_labels(data, size, what, &v);
    int32_t *out = NULL;
    size_t bytes;
    if (st == FZ_OK && (!size_mul_ok(v.numel, sizeof *out, &bytes) ||
                        !(out = malloc(bytes ? bytes : 1))))
        st = set_error(FZ_ENOMEM, "%s: out of memory for %zu labels", what, v.numel);
    if (st == FZ_OK)
        st = npy_labels_to_int32(&v, what, out);
    if (st != FZ_OK) {
        free(out);
        return st;
    }
    *labels = out;
    *n = v.numel;
    return FZ_OK;
}

fz_status npz_read_labels(const char *path, const char *name, int32_t **labels, size_t *n)
{
    if (!path || !name || !labels || !n)
        return set_error(FZ_EINVAL, "npz_read_labels: %s is NULL", !path ? "path" :
                         !name ? "name" : !labels ? "labels" : "n");
    *labels = NULL;
    *n = 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    fz_status st = read_whole_file(path, "a .npz file", STREAM_MAX, zip_head, 4, &buf,
                                   &len);
    if (st != FZ_OK)
        return st;
    fz_zip zip;
    st = zip_parse(buf, len, path, &zip);
    free(buf);
    if (st != FZ_OK)
        return st;
    const fz_zip_member *zm = NULL;
    size_t found = 0;
    for (size_t i = 0; i < zip.count; i++)
        if (member_is(zip.members[i].name, name) && found++ == 0)
            zm = &zip.members[i];
    st = decode_labels(zm ? zm->data : NULL, zm ? zm->size : 0, found, path, name, labels, n);
    zip_free(&zip);
    return st;
}

fz_status npz_skipped_labels(const fz_npz *z, const char *path, const char *name,
                             int32_t **labels, size_t *n)
{
    if (!z || !path || !name || !labels || !n)
        return set_error(FZ_EINVAL, "npz_skipped_labels: an argument is NULL");
    *labels = NULL;
    *n = 0;
    if (!z->skipped_name || strcmp(z->skipped_name, name))
        return set_error(FZ_EINVAL, "npz_skipped_labels: %s: the read left out %s%s%s, "
                         "not '%s'", path, z->skipped_name ? "'" : "no array",
                         z->skipped_name ? z->skipped_name : "",
                         z->skipped_name ? "'" : "", name);
    return decode_labels(z->skipped, z->skipped_size, z->skipped_count, path, name, labels,
                         n);
}

/* ---- writing ------------------------------------------------------------------------ */

enum { HEADER_CAP = 512 };

/* Array data as the little-endian bytes .npy wants: the floats themselves on a
 * little-endian host, a swapped copy elsewhere. */
static const unsigned char *le_bytes(const fz_npz_array *a, unsigned char **copy)
{
    *copy = NULL;
    const uint32_t probe = 1;
    if (*(const unsigned char *)&probe == 1)
        return (const unsigned char *)a->data;
    *copy = malloc(a->numel * 4 + 1);
    for (size_t i = 0; *copy && i < a->numel; i++) {
        uint32_t bits;
        memcpy(&bits, &a->data[i], 4);
        for (int b = 0; b < 4; b++)
            (*copy)[4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
    }
    return *copy;
}

static fz_status write_arrays(FILE *f, const char *path, const fz_npz_array *arrays,
                              size_t count)
{
    fz_zip_entry *entries = calloc(count ? count : 1, sizeof *entries);
    unsigned char *headers = malloc((count ? count : 1) * HEADER_CAP);
    char *names = malloc((count ? count : 1) * 256);
    unsigned char **copies = calloc(count ? count : 1, sizeof *copies);
    fz_status st = entries && headers && names && copies ? FZ_OK
                 : set_error(FZ_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; st == FZ_OK && i < count; i++) {
        const fz_npz_array *a = &arrays[i];
        size_t hl = npy_header(headers + i * HEADER_CAP, HEADER_CAP, a->bytes ? "|u1" : "<f4",
                               a->shape, a->ndim);
        int nl = snprintf(names + i * 256, 256, "%s%s", a->name, NPY_SUFFIX);
        const unsigned char *body = a->bytes ? a->bytes : le_bytes(a, &copies[i]);
        if (hl == 0 || nl < 0 || nl >= 256)
            st = set_error(FZ_EINVAL, "%s: array '%s': name or shape too long for the "
                           "header", path, a->name);
        else if (!body)
            st = set_error(FZ_ENOMEM, "%s: out of memory", path);
        else
            entries[i] = (fz_zip_entry){ names + i * 256, headers + i * HEADER_CAP, hl,
                                         body, a->numel * (a->bytes ? 1 : sizeof(float)) };
    }
    if (st == FZ_OK)
        st = zip_write(f, entries, count, path);
    for (size_t i = 0; copies && i < count; i++)
        free(copies[i]);
    free(copies);
    free(names);
    free(headers);
    free(entries);
    return st;
}

/* npz_write's content, for file_replace. */
typedef struct {
    const char *path;
    const fz_npz_array *arrays;
    size_t count;
} write_job;

static fz_status write_job_run(FILE *f, void *ctx)
{
    const write_job *j = ctx;
    return write_arrays(f, j->path, j->arrays, j->count);
}

fz_status npz_write(const char *path, const fz_npz_array *arrays, size_t count)
{
    if (!path || (!arrays && count))
        return set_error(FZ_EINVAL, "npz_write: %s is NULL", !path ? "path" : "arrays");
    for (size_t i = 0; i < count; i++) {
        size_t numel = 1;
        for (size_t d = 0; d < arrays[i].ndim; d++)
            numel *= arrays[i].shape[d];
        if (!arrays[i].name || arrays[i].ndim > FZ_NPY_MAX_DIM || numel != arrays[i].numel)
            return set_error(FZ_EINVAL, "npz_write: array %zu has no name or a shape "
                             "that does not match its %zu elements", i, arrays[i].numel);
    }
    fz_status st = file_check_output(path);
    if (st != FZ_OK)
        return st;
    write_job job = { path, arrays, count };
    return file_replace(path, write_job_run, &job);
}

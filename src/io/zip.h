/*
 * Internal: the zip container of a .npz archive.  Reads what np.savez (stored) and
 * np.savez_compressed (deflate) write, including the zip64 extra fields numpy adds with
 * force_zip64; writes stored (uncompressed) archives.  Every member's CRC-32 is checked.
 */
#ifndef FZ_ZIP_H
#define FZ_ZIP_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "freezebench.h"

typedef struct {
    char *name;            /* member name as stored, NUL-terminated */
    unsigned char *data;   /* uncompressed bytes (malloc'd) */
    size_t size;
    size_t header_offset;  /* offset of the member's local header, for messages */
} fz_zip_member;

typedef struct {
    fz_zip_member *members;
    size_t count;
} fz_zip;

/* Parses an archive held in memory (`what` names it in messages, e.g. the path).
 * Every member is decompressed and CRC-checked; on failure nothing is allocated and the
 * message names the member or the byte offset.  FZ_EFORMAT for anything malformed or
 * unsupported, FZ_ENOMEM for allocations. */
fz_status zip_parse(const unsigned char *buf, size_t len, const char *what, fz_zip *out);
void      zip_free(fz_zip *z);

/* Writes a stored (uncompressed) archive of `count` members to an open stream.
 * FZ_EIO on a write error, FZ_EINVAL for a member too big for a non-zip64 archive. */
typedef struct {
    const char *name;
    const unsigned char *prefix;  /* member bytes: prefix, then body */
    size_t prefix_size;
    const unsigned char *body;
    size_t body_size;
} fz_zip_entry;
fz_status zip_write(FILE *file, const fz_zip_entry *entries, size_t count,
                    const char *what);

#endif

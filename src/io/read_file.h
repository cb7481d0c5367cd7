/*
 * A whole file read into memory for a parser (the .npz and IDX readers): a regular file
 * up to the size it had when opened (one that grows meanwhile is cut there, so a writer
 * cannot make the read run on), anything else (a pipe, a device) up to a limit, refused
 * past it.  Errors name the path and what went wrong.
 */
#ifndef FZ_READ_FILE_H
#define FZ_READ_FILE_H

#include <stddef.h>

#include "freezebench.h"

/* Looks at a stream's first head_len bytes as soon as they arrive, so a stream of
 * another kind (/dev/zero is not a zip archive) is refused before it is read whole.
 * `kind` says what the path is ("a character device"); returns FZ_OK to go on, or an
 * error it has set. */
typedef fz_status (*read_file_head_check)(const char *path, const char *kind,
                                          const unsigned char *head);

/* *buf (malloc'd, the caller frees it) and *len: the file's bytes.  `format` names what
 * the file should be, for the message about a directory ("a .npz file").  check may be
 * NULL; it sees the first head_len bytes of a stream that is not a regular file. */
fz_status read_whole_file(const char *path, const char *format, size_t stream_max,
                          read_file_head_check check, size_t head_len,
                          unsigned char **buf, size_t *len);

#endif

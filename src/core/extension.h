/*
 * Internal: the few internal functions libfreezebench.so exports for libfreezebench-dp
 * (src/dist), which links against it instead of carrying a second copy of the core (a
 * second thread team, kernel table or thread-local last error would be a bug).
 *
 * These are no part of the API: the header that declares each is not installed, and they
 * carry no stability promise (DESIGN.md section 1, "Packaging").  Each is renamed to an
 * fz_ext_ symbol by its header, so an exported name cannot collide with a program's own
 * set_error or the like (a default-visibility symbol can be interposed).  tests/
 * check_exports.py lists them by name.
 */
#ifndef FZ_EXTENSION_H
#define FZ_EXTENSION_H

#if defined(__GNUC__) || defined(__clang__)
#define FZ_DP_EXTENSION __attribute__((visibility("default")))
#else
#define FZ_DP_EXTENSION
#endif

#endif

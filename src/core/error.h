/* Internal: record the last failure of the calling thread. */
#ifndef FZ_ERROR_H
#define FZ_ERROR_H

#include "extension.h"
#include "freezebench.h"

/* Formats the message into the calling thread's error buffer and returns `s`, so a
 * failing path reads `return set_error(FZ_EINVAL, "fz_freeze: ...", ...);`. */
#define set_error fz_ext_set_error   /* exported for libfreezebench-dp (extension.h) */
FZ_DP_EXTENSION fz_status set_error(fz_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A note for whoever runs the program (a fallback taken, an input kept aside): written
 * to stderr, as "freezebench: note: ...", only when FREEZEBENCH_VERBOSE=1 is set.  The
 * library is otherwise silent: what went wrong goes through fz_last_error, and every
 * note's content can also be read from the API (fz_machine_get, fz_isa_status, ...).
 * Read at each call, so no state is kept; notes are rare, never per step. */
void log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* a·b, or false when the product overflows size_t. */
static inline bool size_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool size_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

#endif

/*
 * Internal: whether a freeze spec is well formed, before any model exists.  A program
 * checks its --freeze and --schedule with it before it reads a model or data file, so a
 * typo is a usage error found at once rather than after a large file has been read.
 * Defined in freeze_schedule.c, whose parser checks every entry's spec with it.
 */
#ifndef FZ_FREEZE_SYNTAX_H
#define FZ_FREEZE_SYNTAX_H

#include "freezebench.h"

/* FZ_OK when every item of `spec` is a shorthand (none, last, bitfit, prefix:K) or a
 * glob made of name characters; FZ_EINVAL naming the offending item otherwise (the
 * message is fz_freeze's own).  What needs the model (K beyond its layer count, a glob
 * that matches nothing) is left to fz_freeze. */
fz_status freeze_spec_syntax(const char *spec);

#endif

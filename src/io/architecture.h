/*
 * Internal: what a model archive says its network computes, checked against what
 * freezebench runs (Linear layers with ReLU between them, nothing else).
 *
 * The record is text, tokens separated by spaces, in forward order: "linear:NAME" for a
 * Linear module (NAME its state_dict prefix, as "0" or "encoder.fc"), and the kind of
 * any other step, lower case, optionally ":NAME" ("relu", "tanh:1", "layernorm:2",
 * "flatten").  scripts/export_mlp.py writes it from torch.fx's trace into the archive as
 * the uint8 array ARCH_ARRAY; a user may give the same text on the command line
 * (--architecture).  Names may be left out ("linear relu linear"); then only the kinds
 * are checked.
 */
#ifndef FZ_ARCHITECTURE_H
#define FZ_ARCHITECTURE_H

#include <stddef.h>

#include "freezebench.h"

/* The archive member that holds the record (bytes of the text). */
#define ARCH_ARRAY "_freezebench_architecture"

/* Whether `text` describes exactly n Linear layers with ReLU between them (an optional
 * leading "flatten" aside), whose named Linear steps are, in order, the layers
 * prefixes[0..n) found in the archive.  FZ_EFORMAT naming the first step that differs
 * (a Tanh between layers, a LayerNorm, a ReLU after the last layer, another order) and
 * where it came from (`source`: the archive's record or --architecture). */
fz_status architecture_check(const char *text, const char *const *prefixes, size_t n,
                             const char *path, const char *source);

#endif

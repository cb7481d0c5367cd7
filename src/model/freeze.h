/* Internal: freeze specs. */
#ifndef FZ_FREEZE_H
#define FZ_FREEZE_H

#include "model.h"

/* Resolves `spec` against the model's tensors: selected[i] is set for every tensor the
 * spec names (selected has fz_param_count(m) entries and is cleared first).  Touches
 * nothing else; on failure the message names the offending item. */
fz_status spec_select(const fz_model *m, const char *spec, bool *selected);

#endif

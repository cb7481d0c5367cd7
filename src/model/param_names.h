/*
 * Internal: the names a model answers to, for messages.  A model loaded from a
 * state_dict answers only to the state_dict's names (tensor_state_name): its own
 * fcK names are never matched, so that an archive whose layers are called fc0, fc1, fc2
 * cannot have 'fc1.weight' mean two tensors.  A message that says which names exist
 * must therefore list the user's names, not "fc1..fcL".
 */
#ifndef FZ_PARAM_NAMES_H
#define FZ_PARAM_NAMES_H

#include <stdio.h>
#include <string.h>

#include "model.h"

/* "fc1..fc3 .weight/.bias" for a model of the library's own names; otherwise the
 * state_dict names, quoted, as many as fit in `cap` bytes, then "...". */
static inline void describe_param_names(const fz_model *m, char *dst, size_t cap)
{
    bool own = true;
    for (size_t i = 0; i < m->n_tensors; i++)
        own = own && !m->tensors[i].ext[0];
    if (own) {
        snprintf(dst, cap, "fc1..fc%zu .weight/.bias", m->n_layers);
        return;
    }
    size_t used = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < m->n_tensors; i++) {
        const char *name = tensor_state_name(&m->tensors[i]);
        /* room for this name, its quotes and comma, and a final ", ..." */
        if (used + strlen(name) + 4 + 5 >= cap) {
            if (used + 5 < cap)
                snprintf(dst + used, cap - used, "%s...", used ? ", " : "");
            return;
        }
        used += (size_t)snprintf(dst + used, cap - used, "%s'%s'", used ? ", " : "", name);
    }
}

#endif /* FZ_PARAM_NAMES_H */

/*
 * Fuzz target: freeze specs.  Any byte string is handed to fz_freeze and fz_unfreeze;
 * whatever it is, the call must not crash, and a failing call must leave every flag as
 * it was (the spec is resolved whole before anything changes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "freezebench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_unchanged(fz_model *m, const bool *before)
{
    for (size_t i = 0; i < fz_param_count(m); i++)
        if (fz_requires_grad(m, fz_param_name(m, i)) != before[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t widths[] = { 3, 4, 4, 2 };
    fz_model *m = fz_mlp_create(widths, 4, 1);
    if (!m)
        return 0;
    char *spec = malloc(size + 1);
    if (!spec) {
        fz_model_free(m);
        return 0;
    }
    memcpy(spec, data, size);
    spec[size] = '\0';

    /* Start from a mixed state so both directions can change something. */
    fz_freeze(m, "fc2.*");
    bool before[6];
    for (size_t i = 0; i < 6; i++)
        before[i] = fz_requires_grad(m, fz_param_name(m, i));
    if (fz_freeze(m, spec) != FZ_OK) {
        if (!fz_last_error()[0])
            abort();   /* a failure must say why */
        check_unchanged(m, before);
    }
    for (size_t i = 0; i < 6; i++)
        before[i] = fz_requires_grad(m, fz_param_name(m, i));
    if (fz_unfreeze(m, spec) != FZ_OK)
        check_unchanged(m, before);

    free(spec);
    fz_model_free(m);
    return 0;
}

/*
 * Fuzz target: the .npz reader.  Any bytes are parsed as a zip archive; every member
 * that comes out is parsed as a .npy of floats and as one of class labels.  Nothing may
 * crash, and a failure must say why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "npy.h"
#include "zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_zip z;
    if (zip_parse(data, size, "fuzz.npz", &z) != FZ_OK) {
        if (!fz_last_error()[0])
            abort();
        return 0;
    }
    for (size_t i = 0; i < z.count; i++) {
        fz_npy_view v;
        if (npy_parse(z.members[i].data, z.members[i].size, z.members[i].name, &v) !=
                FZ_OK && !fz_last_error()[0])
            abort();
        /* The same member as class labels (a data archive's y). */
        if (npy_parse_labels(z.members[i].data, z.members[i].size, z.members[i].name,
                             &v) != FZ_OK) {
            if (!fz_last_error()[0])
                abort();
            continue;
        }
        int32_t *labels = malloc(v.numel ? v.numel * sizeof *labels : 1);
        if (labels && npy_labels_to_int32(&v, z.members[i].name, labels) != FZ_OK &&
            !fz_last_error()[0])
            abort();
        free(labels);
    }
    zip_free(&z);
    return 0;
}

/*
 * Fuzz target: the IDX reader.  Any bytes are parsed as an IDX file, gzip'd or not, as
 * labels (1 dimension) and as images (3); a success must hold exactly what its sizes
 * declare.  Nothing may crash, and a failure must say why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t wanted[] = { 1, 3 };
    for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
        fz_idx_array a;
        if (idx_parse(data, size, "fuzz.idx", wanted[w], &a) != FZ_OK) {
            if (!fz_last_error()[0] || a.data)
                abort();
            continue;
        }
        size_t count = 1;
        for (size_t i = 0; i < a.ndim; i++)
            count *= a.dims[i];
        if (a.ndim != wanted[w] || count != a.count || !a.data)
            abort();
        size_t sum = 0;   /* every byte must be readable (ASan checks each load) */
        for (size_t i = 0; i < a.count; i++)
            sum += a.data[i];
        if (sum / 255 > a.count)
            abort();
        idx_free(&a);
    }
    return 0;
}

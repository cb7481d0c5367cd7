/*
 * Fuzz target: the CSV reader behind the bench programs' --append.  Any bytes are parsed
 * as a CSV text; nothing may crash, a failure must say why, and a table that comes out
 * must be rectangular (every row as wide as the header).
 */
#include <stdint.h>
#include <stdlib.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzb_csv *t;
    if (fzb_csv_parse((const char *)data, size, "fuzz.csv", &t) != FZ_OK) {
        if (!fz_last_error()[0] || t)
            abort();
        return 0;
    }
    size_t cols = fzb_csv_columns(t);
    for (size_t r = 0; r < fzb_csv_rows(t); r++)
        for (size_t c = 0; c < cols; c++)
            if (!fzb_csv_field(t, r, c))
                abort();
    fzb_csv_free(t);
    return 0;
}

/*
 * The freezebench command's data file: x (N×in floats) and y, either N×out floats (MSE)
 * or N class labels (cross-entropy), checked against the model.
 */
#ifndef FZ_CLI_DATA_H
#define FZ_CLI_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"
#include "npz.h"

typedef struct {
    fz_npz file;               /* every float array of the archive (y too, for MSE) */
    const fz_npz_array *x, *y; /* y NULL for cross-entropy */
    int32_t *labels;           /* cross-entropy: N labels; NULL for MSE */
    size_t n;
} cli_dataset;

/* Reads `path` for model m and `loss`: 0, or 1 with a message in msg naming the file and
 * what is wrong (an array missing, a shape that does not fit the model, fewer than
 * min_samples samples, a label outside the model's classes). */
int cli_data_load(const char *path, const fz_model *m, fz_loss loss, size_t min_samples,
                  cli_dataset *d, char *msg, size_t size);
void cli_data_free(cli_dataset *d);

/* A hash of every sample (x and y or the labels), for the ranks to compare. */
uint64_t cli_data_hash(const cli_dataset *d, uint64_t h);

#endif

/* The freezebench command's data file (cli_data.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agree.h"
#include "cli_data.h"
#include "error.h"

/* 64-bit words of `bytes` bytes (the tail too), mixed: cheap beside a single epoch. */
static uint64_t hash_bytes(const void *p, size_t bytes, uint64_t h)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, sizeof w);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return agree_hash(b + i, bytes - i, h);
}

uint64_t cli_data_hash(const cli_dataset *d, uint64_t h)
{
    h = hash_bytes(d->x->data, d->n * d->x->shape[1] * sizeof(float), h);
    if (d->labels)
        return hash_bytes(d->labels, d->n * sizeof *d->labels, h);
    return hash_bytes(d->y->data, d->n * d->y->shape[1] * sizeof(float), h);
}

void cli_data_free(cli_dataset *d)
{
    npz_free(&d->file);
    free(d->labels);
    *d = (cli_dataset){ 0 };
}

/* The shape problem of y (or of the labels) against the model, or NULL. */
static const char *target_problem(const cli_dataset *d, fz_loss loss, size_t out,
                                  size_t n_labels, char *text, size_t size)
{
    if (loss == FZ_LOSS_CROSS_ENTROPY) {
        if (n_labels != d->x->shape[0]) {
            snprintf(text, size, "'x' has %zu samples and the labels 'y' %zu",
                     d->x->shape[0], n_labels);
            return text;
        }
        for (size_t i = 0; i < n_labels; i++)
            if ((size_t)d->labels[i] >= out) {
                snprintf(text, size, "label y[%zu] is %ld, not one of the model's %zu "
                         "classes (0..%zu)", i, (long)d->labels[i], out, out - 1);
                return text;
            }
        return NULL;
    }
    if (!d->y)
        return "has no array 'y'";
    if (d->y->ndim != 2 || d->y->shape[1] != out) {
        snprintf(text, size, "array 'y' must be N x %zu (the model's outputs)", out);
        return text;
    }
    if (d->x->shape[0] != d->y->shape[0]) {
        snprintf(text, size, "'x' has %zu samples and 'y' %zu", d->x->shape[0],
                 d->y->shape[0]);
        return text;
    }
    return NULL;
}

int cli_data_load(const char *path, const fz_model *m, fz_loss loss, size_t min_samples,
                  cli_dataset *d, char *msg, size_t size)
{
    *d = (cli_dataset){ 0 };
    bool xent = loss == FZ_LOSS_CROSS_ENTROPY;
    size_t n_labels = 0;
    /* Labels are integers, which the float reader refuses: left out of it, and decoded
     * from the same read of the file. */
    fz_status st = xent ? npz_read_except(path, "y", &d->file) : npz_read(path, &d->file);
    if (st == FZ_OK && xent) {
        st = npz_skipped_labels(&d->file, path, "y", &d->labels, &n_labels);
        if (st == FZ_ENOTFOUND)
            st = set_error(FZ_EFORMAT, "%s: has no array 'y' (the class labels, N int64, "
                           "int32 or uint8, for --loss cross-entropy)", path);
    }
    if (st != FZ_OK) {
        snprintf(msg, size, "%s", fz_last_error());
        cli_data_free(d);
        return 1;
    }
    d->x = npz_find(&d->file, "x");
    d->y = xent ? NULL : npz_find(&d->file, "y");
    const char *problem = NULL;
    char text[256];
    size_t in = fz_width(m, 0), out = fz_width(m, fz_layer_count(m));
    if (!d->x)
        problem = "has no array 'x'";
    else if (d->x->ndim != 2 || d->x->shape[1] != in) {
        snprintf(text, sizeof text, "array 'x' must be N x %zu (the model's inputs)", in);
        problem = text;
    } else if (!(problem = target_problem(d, loss, out, n_labels, text, sizeof text)) &&
               d->x->shape[0] < min_samples) {
        snprintf(text, sizeof text, "%zu samples are fewer than --batch %zu",
                 d->x->shape[0], min_samples);
        problem = text;
    } else if (!problem && d->x->shape[0] == 0) {
        problem = "holds no samples";
    }
    if (problem) {
        snprintf(msg, size, "%s: %s", path, problem);
        cli_data_free(d);
        return 1;
    }
    d->n = d->x->shape[0];
    return 0;
}

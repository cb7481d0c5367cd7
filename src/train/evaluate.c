/* fz_evaluate: a loss and an accuracy over a data set, by forward passes in batches. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "loss.h"
#include "model.h"

/* Rows a forward pass takes at a time: big enough for the GEMMs' blocking, small enough
 * that the outputs stay a few MiB whatever n is. */
#define EVAL_ROWS 256

/* Index of the largest of n values, the first on a tie (torch.argmax's choice). */
static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

fz_status fz_evaluate(fz_model *m, fz_loss loss, size_t n, const float *x, const float *y,
                      const int32_t *labels, fz_eval *out)
{
    bool xent = loss == FZ_LOSS_CROSS_ENTROPY;
    if (!m || !x || !out || (xent ? !labels : !y))
        return set_error(FZ_EINVAL, "fz_evaluate: %s is NULL",
                         !m ? "model" : !x ? "x" : !out ? "out" : xent ? "labels" : "y");
    if (loss != FZ_LOSS_MSE && !xent)
        return set_error(FZ_EINVAL, "fz_evaluate: loss %d is neither FZ_LOSS_MSE nor "
                         "FZ_LOSS_CROSS_ENTROPY", (int)loss);
    if (n == 0)
        return set_error(FZ_EINVAL, "fz_evaluate: no samples (n is 0)");
    size_t in_w = m->widths[0], out_w = m->widths[m->n_layers];
    if (xent && out_w < 2)
        return set_error(FZ_EINVAL, "fz_evaluate: cross-entropy needs at least 2 outputs "
                         "(classes); the model has %zu", out_w);
    for (size_t i = 0; xent && i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= out_w)
            return set_error(FZ_EINVAL, "fz_evaluate: label[%zu] is %ld, not a class in "
                             "[0, %zu)", i, (long)labels[i], out_w);
    size_t rows = n < EVAL_ROWS ? n : EVAL_ROWS;
    float *pred = malloc(rows * out_w * sizeof *pred);
    if (!pred)
        return set_error(FZ_ENOMEM, "fz_evaluate: out of memory for %zu outputs",
                         rows * out_w);
    double total = 0.0;
    size_t correct = 0;
    for (size_t at = 0; at < n; at += rows) {
        size_t r = n - at < rows ? n - at : rows;
        fz_status st = fz_forward(m, r, x + at * in_w, pred);
        if (st != FZ_OK) {
            free(pred);
            return st;
        }
        if (xent) {
            /* The mean over one row is the sum: the division comes once, below. */
            total += (double)xent_forward_backward(pred, labels + at, r, out_w, 1, NULL,
                                                   NULL, NULL);
            for (size_t i = 0; i < r; i++)
                correct += argmax(pred + i * out_w, out_w) == (size_t)labels[at + i];
        } else {
            const float *yt = y + at * out_w;
            for (size_t i = 0; i < r * out_w; i++) {
                double d = (double)pred[i] - (double)yt[i];
                total += d * d;
            }
        }
    }
    free(pred);
    *out = (fz_eval){ .loss = total / (double)(xent ? n : n * out_w),
                      .accuracy = xent ? (double)correct / (double)n : NAN, .samples = n };
    return FZ_OK;
}

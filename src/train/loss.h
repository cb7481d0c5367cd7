/* Internal: the losses: MSE as nn.MSELoss and cross-entropy as nn.CrossEntropyLoss, both
 * with reduction='mean'. */
#ifndef FZ_LOSS_H
#define FZ_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "counter.h"

/* Mean of (out - y)² over n elements.  Counts 3n. */
float mse_forward(const float *out, const float *y, size_t n, fz_counter *flops);
/* dout = 2·(out - y)/mean_over for n elements: the gradient of a mean over mean_over
 * elements of which these are n (mean_over = n, or more for one shard of a data-parallel
 * batch).  Counts 2n. */
void mse_backward(float *dout, const float *out, const float *y, size_t n,
                  size_t mean_over, fz_counter *flops);

/* FLOPs of the cross-entropy over `rows` rows of `classes` logits (../DESIGN.md §4):
 * the forward 4·classes + 3 a row (max, shift, exp, sum; log, the label's term, the
 * mean), the backward 2·classes + 2 a row (the softmax's scale and the mean's, the
 * reciprocal, the label's one). */
static inline uint64_t xent_forward_flops(size_t rows, size_t classes)
{
    return (uint64_t)rows * (4 * (uint64_t)classes + 3);
}
static inline uint64_t xent_backward_flops(size_t rows, size_t classes)
{
    return (uint64_t)rows * (2 * (uint64_t)classes + 2);
}

/* Cross-entropy of `rows` rows of `classes` logits against their labels (each in
 * [0, classes), checked by the caller), the mean over mean_over_rows rows, as
 * nn.CrossEntropyLoss(reduction='mean') fuses log-softmax and the negative
 * log-likelihood: each row's max is subtracted before exp, so nothing overflows, and
 * the sums run in double.  Returns the loss of these rows (their sum / mean_over_rows);
 * when dlogits is not NULL also writes the gradient, softmax − one-hot over
 * mean_over_rows.  Counts the forward into fwd and the backward into bwd. */
float xent_forward_backward(const float *logits, const int32_t *labels, size_t rows,
                            size_t classes, size_t mean_over_rows, float *dlogits,
                            fz_counter *fwd, fz_counter *bwd);

#endif

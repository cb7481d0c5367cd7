/* Internal: the MSE loss, as nn.MSELoss with reduction='mean'. */
#ifndef FZ_LOSS_H
#define FZ_LOSS_H

#include <stddef.h>
#include "counter.h"

/* Mean of (out - y)² over n elements.  Counts 3n. */
float mse_forward(const float *out, const float *y, size_t n, fz_counter *flops);
/* dout = 2·(out - y)/mean_over for n elements: the gradient of a mean over mean_over
 * elements of which these are n (mean_over = n, or more for one shard of a data-parallel
 * batch).  Counts 2n. */
void mse_backward(float *dout, const float *out, const float *y, size_t n,
                  size_t mean_over, fz_counter *flops);

#endif
